//! Memory of the mock server: its process's resident set while serving a 10 MiB and then a
//! 10 GiB generated file (the same, if streaming works), and with 500 idle sessions.
//! Printed, not asserted: `cargo bench -p ftpspec-benches --bench memory`.

use std::time::Instant;

use ftpspec_benches::{DataMode, FtpClient, MIB};
use ftpspec_mock::MockServer;

fn rss_kib(field: &str) -> u64 {
    ftpspec_benches::status_kib(None, field)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // nothing for `cargo bench -- --list`
    }
    let rt = ftpspec_benches::runtime();
    rt.block_on(async {
        let server = MockServer::builder().idle_timeout(std::time::Duration::from_secs(600)).start().await.expect("mock");
        let mut client = FtpClient::connect(server.addr(), None).await.expect("login");
        let base = rss_kib("VmRSS:");
        println!("memory: process RSS at start (server + this client): {} KiB", base);
        for (label, size) in [("10 MiB", 10 * MIB), ("10 GiB", 10 * 1024 * MIB)] {
            let t = Instant::now();
            let n = client
                .retr(DataMode::Passive, &format!("/gen/{}M", size / MIB))
                .await
                .expect("RETR");
            assert_eq!(n, size);
            println!(
                "memory: after RETR of {label} ({:.1} s): RSS {} KiB, peak RSS so far {} KiB",
                t.elapsed().as_secs_f64(),
                rss_kib("VmRSS:"),
                rss_kib("VmHWM:")
            );
        }
        let before = rss_kib("VmRSS:");
        let mut idle = Vec::new();
        for _ in 0..500 {
            idle.push(FtpClient::connect(server.addr(), None).await.expect("login"));
        }
        let after = rss_kib("VmRSS:");
        println!(
            "memory: 500 idle logged-in sessions (both ends in this process): RSS +{} KiB, {:.1} KiB per session",
            after.saturating_sub(before),
            after.saturating_sub(before) as f64 / 500.0
        );
        assert_eq!(server.active_sessions(), 501);
        drop(idle);
    });
}
