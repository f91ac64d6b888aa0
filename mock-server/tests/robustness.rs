//! Load and abuse: 1,000 concurrent control connections, clients vanishing mid-transfer, and
//! checks that nothing leaks (sessions, sockets, memory). One test function, so the process-wide
//! measurements (open file descriptors, resident memory) are not disturbed by parallel tests.

mod common;

use std::time::Duration;

use common::Ctl;
use ftpspec_mock::{generated, DataEnd, MockServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn settle(server: &MockServer) {
    assert!(
        server.wait_idle(Duration::from_secs(5)).await,
        "{} sessions never ended",
        server.active_sessions()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_abuse_and_leaks() {
    rlimit::increase_nofile_limit(8192).unwrap();
    let server = MockServer::builder()
        .max_events(1_000_000)
        .start()
        .await
        .unwrap();
    let fds_before = open_fds();

    // 1,000 concurrent control connections, each greeted and served.
    let mut clients = Vec::new();
    for _ in 0..1000 {
        clients.push(Ctl::connect(server.addr()).await);
    }
    assert_eq!(server.active_sessions(), 1000);
    for c in clients.iter_mut() {
        assert_eq!(c.cmd("NOOP").await.0, 200);
    }
    drop(clients);
    settle(&server).await;

    // Clients vanishing mid-transfer, downloads and uploads, passive and active.
    for i in 0..20 {
        let mut c = Ctl::login(server.addr()).await;
        let addr = c.pasv().await;
        let mut data = TcpStream::connect(addr).await.unwrap();
        if i % 2 == 0 {
            c.send(b"RETR /gen/1G\r\n").await;
            let mut buf = vec![0u8; 100_000];
            data.read_exact(&mut buf).await.unwrap();
        } else {
            c.send(b"STOR /vanish\r\n").await;
            data.write_all(&[1u8; 100_000]).await.unwrap();
        }
        drop(data);
        drop(c);
    }
    settle(&server).await;
    // The server goes on serving.
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.download("RETR /gen/1K").await.1, 226);
    drop(c);
    settle(&server).await;
    let ends: Vec<_> = server
        .events()
        .data_connections()
        .into_iter()
        .filter_map(|c| c.end)
        .collect();
    assert!(
        ends.iter()
            .any(|e| matches!(e, DataEnd::Error(_) | DataEnd::ControlGone)),
        "{ends:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fds_after = open_fds();
    assert!(
        fds_after <= fds_before + 2,
        "file descriptors leaked: {fds_before} before, {fds_after} after"
    );

    // A 1 GiB generated download streams in constant memory.
    let rss_before = rss_kib();
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    assert_eq!(c.cmd("RETR /gen/1G").await.0, 150);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    let mut checked = false;
    loop {
        let n = data.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        if !checked && n >= 4096 {
            assert!(generated::verify(total, &buf[..n]).is_ok());
            checked = true;
        }
        total += n as u64;
    }
    assert_eq!(total, 1 << 30);
    assert_eq!(c.reply().await.0, 226);
    let grown = rss_kib().saturating_sub(rss_before);
    assert!(
        grown < 64 * 1024,
        "resident memory grew by {grown} KiB during a 1 GiB download"
    );
}
