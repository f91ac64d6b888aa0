//! The server side of RFC 959/1123/2428/3659, driven by a raw client so every byte is known.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{redactions, Ctl};
use ftpspec_mock::{generated, DataEnd, EventKind, MockServer};
use rstest::rstest;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

async fn server() -> MockServer {
    MockServer::builder()
        .file("/docs/readme.txt", "line one\nline two\r\nline three\n")
        .file("/docs/we\"ird name.txt", "x")
        .dir("/incoming")
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_whole_session_reads_as_expected() {
    let server = server().await;
    let mut c = Ctl::connect(server.addr()).await;
    for line in [
        "SYST",
        "FEAT",
        "USER anonymous",
        "PASS guest@",
        "PWD",
        "CWD /docs",
        "PWD",
        "TYPE I",
        "SIZE readme.txt",
        "MDTM readme.txt",
        "MLST readme.txt",
        "CDUP",
        "MKD /incoming/new",
        "RNFR /incoming/new",
        "RNTO /incoming/renamed",
        "RMD /incoming/renamed",
        "HELP",
        "NOOP",
        "OPTS UTF8 ON",
        "MODE S",
        "STRU F",
        "ALLO 100",
        "ACCT x",
    ] {
        c.cmd(line).await;
    }
    let (listing, code) = c.download("LIST /docs").await;
    assert_eq!(code, 226);
    let (names, _) = c.download("NLST").await;
    let (mlsd, _) = c.download("MLSD /").await;
    c.cmd("QUIT").await;
    drop(c);
    wait_until_idle(&server).await;
    insta::with_settings!({ filters => redactions() }, {
        insta::assert_snapshot!("session_dialogue", server.events().dialogue());
        insta::assert_snapshot!("listings", format!("LIST:\n{}\nNLST:\n{}\nMLSD:\n{}",
            String::from_utf8_lossy(&listing), String::from_utf8_lossy(&names), String::from_utf8_lossy(&mlsd)));
    });
}

async fn wait_until_idle(server: &MockServer) {
    for _ in 0..200 {
        if server.active_sessions() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("sessions still open:\n{}", server.events().transcript());
}

#[rstest]
#[case("RETR /x", 530)]
#[case("PASV", 530)]
#[case("PASS nobody-asked", 503)]
#[case("XYZZY", 502)]
#[case("SITE CHMOD 777 x", 502)]
#[case("USER", 501)]
#[case("PWD now", 501)]
#[case("", 500)]
#[tokio::test]
async fn before_login(#[case] line: &str, #[case] code: u16) {
    let server = server().await;
    let mut c = Ctl::connect(server.addr()).await;
    assert_eq!(c.cmd(line).await.0, code);
    assert_eq!(c.cmd("NOOP").await.0, 200, "the session goes on");
}

#[rstest]
#[case("RNTO /b", 503)]
#[case("RETR /nope", 550)]
#[case("RETR /docs", 550)]
#[case("RETR /docs/readme.txt", 425)]
#[case("CWD /docs/readme.txt", 550)]
#[case("CWD /../../../etc", 550)]
#[case("RETR ../../../etc/passwd", 550)]
#[case("TYPE E", 504)]
#[case("TYPE Z", 501)]
#[case("MODE B", 504)]
#[case("STRU R", 504)]
#[case("REST -5", 501)]
#[case("REST abc", 501)]
#[case("PORT 127,0,0,1,300,1", 501)]
#[case("PORT 127,0,0,1,1", 501)]
#[case("PORT 127,0,0,2,200,1", 500)]
#[case("PORT 127,0,0,1,0,21", 500)]
#[case("EPRT |3|127.0.0.1|5000|", 522)]
#[case("EPRT |1|127.0.0.1|99999|", 501)]
#[case("EPRT garbage", 501)]
#[case("EPSV 2", 522)]
#[case("EPSV 7", 501)]
#[case("MKD /gen/x", 553)]
#[case("DELE /gen/1K", 553)]
#[case("STOR /gen/1K", 553)]
#[case("STOR /nowhere/x", 553)]
#[case("RMD /docs", 550)]
#[case("SIZE /docs", 550)]
#[case("OPTS FOO", 501)]
#[case("ABOR", 225)]
#[case("MLSD /docs/readme.txt", 501)]
#[tokio::test]
async fn refusals(#[case] line: &str, #[case] code: u16) {
    let server = server().await;
    let mut c = Ctl::login(server.addr()).await;
    if line.starts_with("MLSD") {
        c.pasv().await;
    }
    let (got, text) = c.cmd(line).await;
    assert_eq!(got, code, "{line} -> {text}");
    assert_eq!(c.cmd("NOOP").await.0, 200, "the session goes on");
}

#[tokio::test]
async fn bad_lines_get_replies_and_the_session_goes_on() {
    let server = MockServer::builder().max_line(100).start().await.unwrap();
    let mut c = Ctl::connect(server.addr()).await;
    let mut long = vec![b'A'; 5000];
    long.extend_from_slice(b"\r\n");
    c.send(&long).await;
    assert_eq!(c.reply().await.0, 500);
    c.send(b"USER \xc3\x28\r\n").await;
    assert_eq!(c.reply().await.0, 500);
    c.send(b"US\rER x\r\n").await;
    assert_eq!(c.reply().await.0, 500);
    c.send(b"NOOP\n").await;
    assert_eq!(c.reply().await.0, 200, "LF-only line ends are accepted");
    c.send(b"\xff\xf4\xff\xf2NOOP\r\n").await;
    assert_eq!(c.reply().await.0, 200, "Telnet IAC sequences are skipped");
    let commands = server
        .events()
        .commands()
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    assert_eq!(commands[0], "<too long>");
}

#[tokio::test]
async fn ascii_mode_converts_line_ends_both_ways() {
    let server = server().await;
    let mut c = Ctl::login(server.addr()).await;
    c.cmd("TYPE A").await;
    assert_eq!(c.cmd("SIZE /docs/readme.txt").await.1.trim(), "213 32");
    let (data, code) = c.download("RETR /docs/readme.txt").await;
    assert_eq!(
        (data.as_slice(), code),
        (&b"line one\r\nline two\r\nline three\r\n"[..], 226)
    );
    assert_eq!(
        c.upload("STOR /incoming/a.txt", b"a\r\nb\r\n\rc").await,
        226
    );
    assert_eq!(server.file("/incoming/a.txt").unwrap(), b"a\nb\n\rc");
    c.cmd("TYPE I").await;
    let (data, _) = c.download("RETR /docs/readme.txt").await;
    assert_eq!(data, b"line one\nline two\r\nline three\n");
}

#[tokio::test]
async fn rest_resumes_downloads_and_uploads() {
    let server = server().await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("REST 1000").await.0, 350);
    let (data, code) = c.download("RETR /gen/4K").await;
    assert_eq!((data.len(), code), (3096, 226));
    assert!(generated::verify(1000, &data).is_ok());
    // 10 GiB: resuming near the end proves sizes past 4 GiB work without moving them.
    let ten_g = 10u64 << 30;
    assert_eq!(
        c.cmd("SIZE /gen/10G").await.1.trim(),
        format!("213 {ten_g}")
    );
    c.cmd(&format!("REST {}", ten_g - 5000)).await;
    let (data, _) = c.download("RETR /gen/10G").await;
    assert_eq!(data.len(), 5000);
    assert!(generated::verify(ten_g - 5000, &data).is_ok());
    // REST + STOR overwrites from the offset; APPE appends.
    c.upload("STOR /incoming/f", b"0123456789").await;
    c.cmd("REST 4").await;
    c.upload("STOR /incoming/f", b"abc").await;
    assert_eq!(server.file("/incoming/f").unwrap(), b"0123abc");
    c.upload("APPE /incoming/f", b"XYZ").await;
    assert_eq!(server.file("/incoming/f").unwrap(), b"0123abcXYZ");
    c.cmd("REST 99").await;
    assert_eq!(c.cmd("RETR /incoming/f").await.0, 553);
}

#[tokio::test]
async fn active_mode_port_and_eprt() {
    let server = server().await;
    let mut c = Ctl::login(server.addr()).await;
    for (verb, fmt) in [("PORT", 0), ("EPRT", 1)] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let line = if fmt == 0 {
            let SocketAddr::V4(v4) = addr else {
                unreachable!()
            };
            format!("PORT {}", ftpspec_mock::wire::format_host_port(v4))
        } else {
            format!("EPRT {}", ftpspec_mock::wire::format_eprt(addr))
        };
        assert_eq!(c.cmd(&line).await.0, 200, "{verb}");
        c.send(b"RETR /gen/100K\r\n").await;
        let (mut data, _) = listener.accept().await.unwrap();
        assert_eq!(c.reply().await.0, 150);
        let mut buf = Vec::new();
        data.read_to_end(&mut buf).await.unwrap();
        assert_eq!(buf.len(), 100 << 10);
        assert_eq!(c.reply().await.0, 226);
    }
    let conns = server.events().data_connections();
    assert_eq!(conns.len(), 2);
    assert!(conns
        .iter()
        .all(|c| c.mode == ftpspec_mock::DataMode::Active && c.end == Some(DataEnd::Completed)));
}

#[tokio::test]
async fn bounce_protection_can_be_lifted() {
    let server = MockServer::builder()
        .allow_foreign_data_address(true)
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("PORT 127,0,0,2,200,1").await.0, 200);
    let log = server.events();
    assert_eq!(
        log.active_targets(),
        vec!["127.0.0.2:51201".parse().unwrap()]
    );
}

#[tokio::test]
async fn ipv6_epsv_and_eprt() {
    let Ok(server) = MockServer::builder()
        .bind("[::1]:0".parse().unwrap())
        .start()
        .await
    else {
        panic!("this machine has no IPv6 loopback; the server must be testable on ::1");
    };
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(
        c.cmd("PASV").await.0,
        425,
        "PASV cannot carry an IPv6 address"
    );
    assert_eq!(c.cmd("EPSV 1").await.0, 522);
    let addr = c.epsv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    assert_eq!(c.cmd("RETR /gen/1K").await.0, 150);
    let mut buf = Vec::new();
    data.read_to_end(&mut buf).await.unwrap();
    assert_eq!((buf.len(), c.reply().await.0), (1024, 226));
    let listener = TcpListener::bind("[::1]:0").await.unwrap();
    let line = format!(
        "EPRT {}",
        ftpspec_mock::wire::format_eprt(listener.local_addr().unwrap())
    );
    assert_eq!(c.cmd(&line).await.0, 200);
    assert_eq!(c.cmd("EPSV ALL").await.0, 200);
    assert_eq!(
        c.cmd("EPRT |2|::1|5000|").await.0,
        503,
        "EPSV ALL forbids other setups"
    );
}

#[tokio::test]
async fn abor_stops_a_transfer_with_426_then_226() {
    let server = server().await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    assert_eq!(c.cmd("RETR /gen/10G").await.0, 150);
    let mut buf = vec![0u8; 65536];
    data.read_exact(&mut buf).await.unwrap();
    c.send(b"\xff\xf4\xff\xf2ABOR\r\n").await;
    assert_eq!(c.reply().await.0, 426);
    assert_eq!(c.reply().await.0, 226);
    assert_eq!(c.cmd("NOOP").await.0, 200);
    let conns = server.events().data_connections();
    assert_eq!(
        conns[0].end,
        Some(DataEnd::Aborted),
        "{}",
        server.events().transcript()
    );
    assert!(conns[0].bytes_sent >= 65536 && conns[0].bytes_sent < 10 << 30);
}

#[tokio::test]
async fn commands_during_a_transfer_wait_for_it() {
    let server = server().await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    assert_eq!(c.cmd("RETR /gen/8M").await.0, 150);
    c.send(b"NOOP\r\n").await;
    let mut buf = Vec::new();
    data.read_to_end(&mut buf).await.unwrap();
    assert_eq!(
        c.reply().await.0,
        226,
        "226 comes before the queued command's reply"
    );
    assert_eq!(c.reply().await.0, 200);
}

#[tokio::test]
async fn idle_timeout_sends_421() {
    let server = MockServer::builder()
        .idle_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let mut c = Ctl::connect(server.addr()).await;
    let (code, _) = c.reply().await;
    assert_eq!(code, 421);
    assert_eq!(c.reply().await.0, 0, "then the connection closes");
}

#[tokio::test]
async fn data_timeout_gives_425_when_nobody_connects() {
    let server = MockServer::builder()
        .data_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    c.pasv().await;
    let (code, text) = c.cmd("RETR /gen/1K").await;
    assert_eq!(code, 425, "{text}");
    assert!(server
        .events()
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::DataFailed { .. })));
}

#[tokio::test]
async fn credentials_are_checked() {
    let server = MockServer::builder()
        .credentials("alice", "secret")
        .start()
        .await
        .unwrap();
    let mut c = Ctl::connect(server.addr()).await;
    c.cmd("USER alice").await;
    assert_eq!(c.cmd("PASS wrong").await.0, 530);
    c.cmd("USER alice").await;
    assert_eq!(c.cmd("PASS secret").await.0, 230);
}

#[tokio::test]
async fn upload_limit_refuses_to_keep_but_drains() {
    let server = MockServer::builder()
        .upload_limit(1000)
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.upload("STOR /small", &[1u8; 600]).await, 226);
    assert_eq!(c.upload("STOR /big", &[2u8; 600]).await, 552);
    assert!(server.file("/big").is_none());
    assert_eq!(server.file("/small").unwrap().len(), 600);
    assert!(server.events().events.iter().any(
        |e| matches!(&e.kind, EventKind::Stored { path, kept: false, size: 600, .. } if path == "/big")
    ));
}

#[tokio::test]
async fn pasv_port_range_is_respected() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = probe.local_addr().unwrap().port();
    drop(probe);
    let range = base..=base.saturating_add(2);
    let server = MockServer::builder()
        .pasv_ports(range.clone())
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    for _ in 0..6 {
        let addr = c.pasv().await;
        assert!(range.contains(&addr.port()), "{addr} outside {range:?}");
    }
}

#[tokio::test]
async fn active_connections_come_from_port_20_when_asked() {
    let server = MockServer::builder()
        .active_source(ftpspec_mock::ActiveSource::Port20)
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let line = format!(
        "EPRT {}",
        ftpspec_mock::wire::format_eprt(listener.local_addr().unwrap())
    );
    assert_eq!(c.cmd(&line).await.0, 200);
    c.send(b"RETR /gen/1K\r\n").await;
    let is_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    if is_root {
        let (_data, from) = listener.accept().await.unwrap();
        assert_eq!(from.port(), 20, "RFC 959 L-1: the server's data port is 20");
        assert_eq!(c.reply().await.0, 150);
    } else {
        // Binding port 20 needs privilege: the failure must be a clear 425, not a hang.
        let (code, text) = c.reply().await;
        assert_eq!(code, 425, "{text}");
        assert!(text.contains("ermission"), "{text}");
    }
}

#[tokio::test]
async fn active_never_dial_sends_nothing() {
    use ftpspec_mock::script::{command, transfer, Mock};
    let server = MockServer::builder()
        .mount(Mock::given(command("RETR")).respond_with(transfer().never_accept()))
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let line = format!(
        "EPRT {}",
        ftpspec_mock::wire::format_eprt(listener.local_addr().unwrap())
    );
    c.cmd(&line).await;
    c.send(b"RETR /gen/1K\r\n").await;
    let dialled = tokio::time::timeout(Duration::from_millis(500), listener.accept()).await;
    assert!(dialled.is_err(), "the server must not connect");
}

mod random_input {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// Any bytes on the control connection get replies or a clean close, and the server
        /// keeps serving others.
        #[test]
        fn any_bytes_never_take_the_server_down(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..8)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let server = MockServer::builder().max_line(128).idle_timeout(Duration::from_secs(5)).start().await.unwrap();
                let mut c = Ctl::login(server.addr()).await;
                for chunk in &chunks {
                    c.send(chunk).await;
                }
                c.send(b"\r\n").await;
                drop(c);
                let mut other = Ctl::login(server.addr()).await;
                assert_eq!(other.cmd("NOOP").await.0, 200);
            });
        }
    }
}
