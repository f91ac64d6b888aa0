//! Load on one ftpspec-mock server over loopback: 10,000 idle control connections (logged in)
//! and, alongside them, 1,000 sessions downloading `/gen/1M` at once. Prints the server's
//! memory per session (the RSS of its process, which runs apart from the clients: this
//! program re-executed as the server) and the slowest session's throughput, ratioed against a
//! single session's in the same run. Printed, not asserted:
//!
//! `cargo bench -p ftpspec-benches --bench load`
//!
//! `FTPSPEC_LOAD_IDLE`, `FTPSPEC_LOAD_ACTIVE`, `FTPSPEC_LOAD_ROUNDS` change the counts
//! (defaults 10000, 1000, 5). Needs about idle + 2 x active + 100 file descriptors on each
//! side; the soft limit is raised to the hard one.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ftpspec_benches::{status_kib, DataMode, FtpClient, MIB};
use ftpspec_mock::MockServer;

/// Set in the re-executed child: serve, print the port, run until stdin closes.
const SERVER_ROLE: &str = "FTPSPEC_LOAD_SERVER";

/// What each downloading session fetches.
const FILE: &str = "/gen/1M";
const FILE_SIZE: u64 = MIB;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn raise_nofile() -> u64 {
    let (_, hard) = rlimit::Resource::NOFILE.get().expect("getrlimit");
    let _ = rlimit::Resource::NOFILE.set(hard, hard);
    rlimit::Resource::NOFILE.get().map(|(s, _)| s).unwrap_or(0)
}

/// The server process: every event kept (so the memory figure includes the log a real run
/// keeps), sessions never time out during the run.
fn serve() {
    raise_nofile();
    let rt = ftpspec_benches::runtime();
    let server = rt.block_on(async {
        MockServer::builder()
            .idle_timeout(Duration::from_secs(3600))
            .max_events(10_000_000)
            .start()
            .await
            .expect("mock")
    });
    println!("{}", server.addr().port());
    std::io::stdout().flush().expect("stdout");
    // Until the parent goes away.
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    drop(server);
}

/// The server child: its process and address.
struct Server {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .env(SERVER_ROLE, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        let port: u16 = line.trim().parse().expect("a port");
        Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn kib(&self, field: &str) -> u64 {
        status_kib(Some(self.child.id()), field)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Logs in `n` sessions, at most 100 handshakes at a time.
async fn sessions(addr: SocketAddr, n: usize) -> Vec<FtpClient> {
    let gate = Arc::new(tokio::sync::Semaphore::new(100));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire().await.expect("semaphore");
                FtpClient::connect(addr, None).await.expect("login")
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

fn mibs(secs: f64) -> f64 {
    FILE_SIZE as f64 / MIB as f64 / secs
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One round: every session downloads at once; (each session's seconds, wall seconds).
async fn round(clients: Vec<FtpClient>) -> (Vec<FtpClient>, Vec<f64>, f64) {
    let start = Arc::new(tokio::sync::Barrier::new(clients.len() + 1));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let t = Instant::now();
                let n = c.retr(DataMode::Passive, FILE).await.expect("RETR");
                assert_eq!(n, FILE_SIZE);
                (c, t.elapsed().as_secs_f64())
            })
        })
        .collect();
    start.wait().await;
    let wall = Instant::now();
    let mut clients = Vec::new();
    let mut times = Vec::new();
    for t in tasks {
        let (c, s) = t.await.expect("task");
        clients.push(c);
        times.push(s);
    }
    (clients, times, wall.elapsed().as_secs_f64())
}

fn main() {
    if std::env::var_os(SERVER_ROLE).is_some() {
        return serve();
    }
    if std::env::args().any(|a| a == "--list") {
        return; // nothing for `cargo bench -- --list`
    }
    let idle_n = count("FTPSPEC_LOAD_IDLE", 10_000);
    let active_n = count("FTPSPEC_LOAD_ACTIVE", 1_000);
    let rounds = count("FTPSPEC_LOAD_ROUNDS", 5).max(1);
    let nofile = raise_nofile();
    let wanted = (idle_n + 2 * active_n + 100) as u64;
    if nofile < wanted {
        eprintln!("load: the open-file limit is {nofile}, under the {wanted} wanted; expect failures (ulimit -n)");
    }
    let server = Server::start();
    let rt = ftpspec_benches::runtime();
    rt.block_on(async {
        // A single session, alone: the reference.
        let mut one = FtpClient::connect(server.addr, None).await.expect("login");
        let mut single: Vec<f64> = Vec::new();
        for _ in 0..(10 * rounds) {
            let t = Instant::now();
            assert_eq!(one.retr(DataMode::Passive, FILE).await.expect("RETR"), FILE_SIZE);
            single.push(t.elapsed().as_secs_f64());
        }
        let single = mibs(median(&mut single));

        let base = server.kib("VmRSS:");
        let t = Instant::now();
        let idle = sessions(server.addr, idle_n).await;
        let idle_rss = server.kib("VmRSS:");
        println!(
            "load: {idle_n} idle logged-in sessions in {:.1} s; server RSS {base} -> {idle_rss} KiB",
            t.elapsed().as_secs_f64()
        );

        let mut active = sessions(server.addr, active_n).await;
        let logged_in = server.kib("VmRSS:");
        let mut slowest = Vec::new();
        let mut aggregate = Vec::new();
        let mut fair = Vec::new();
        for r in 0..rounds {
            let (back, mut times, wall) = round(active).await;
            active = back;
            let worst = times.iter().copied().fold(0.0, f64::max);
            let agg = active_n as f64 * FILE_SIZE as f64 / MIB as f64 / wall;
            println!(
                "load: round {}: {active_n} x {FILE} in {wall:.2} s wall: aggregate {agg:.0} MiB/s; per session median {:.1} MiB/s, slowest {:.1} MiB/s",
                r + 1,
                mibs(median(&mut times)),
                mibs(worst),
            );
            slowest.push(mibs(worst));
            aggregate.push(agg);
            fair.push(mibs(worst) / (agg / active_n as f64));
        }
        let peak = server.kib("VmHWM:");
        assert_eq!(idle.len(), idle_n);
        drop(idle);
        drop(active);

        let idle_per = idle_rss.saturating_sub(base) as f64 / idle_n as f64;
        let active_per = peak.saturating_sub(idle_rss) as f64 / active_n as f64;
        let spread = |v: &[f64], digits: usize| {
            let lo = v.iter().copied().fold(f64::MAX, f64::min);
            let hi = v.iter().copied().fold(0.0, f64::max);
            format!("{lo:.digits$}-{hi:.digits$}")
        };
        let slow = median(&mut slowest.clone());
        println!("\nload: medians over {rounds} rounds (spread min-max), server process only, loopback");
        println!("{:<52} {:>10.1} MiB/s", "single session, alone (RETR /gen/1M)", single);
        println!(
            "{:<52} {:>10.0} MiB/s   {:>6.2}x single  ({})",
            format!("{active_n} sessions at once, aggregate"),
            median(&mut aggregate.clone()),
            median(&mut aggregate.clone()) / single,
            spread(&aggregate.iter().map(|a| a / single).collect::<Vec<_>>(), 2)
        );
        println!(
            "{:<52} {:>10.2} MiB/s   {:>6.4}x single  ({})",
            format!("{active_n} sessions at once, the slowest"),
            slow,
            slow / single,
            spread(&slowest.iter().map(|s| s / single).collect::<Vec<_>>(), 4)
        );
        println!(
            "{:<52} {:>10.2}x of a fair share (aggregate / {active_n})  ({})",
            "  the slowest against its fair share",
            median(&mut fair.clone()),
            spread(&fair, 2)
        );
        println!(
            "{:<52} {:>10.1} KiB per session (RSS +{} KiB)",
            format!("{idle_n} idle logged-in sessions"),
            idle_per,
            idle_rss.saturating_sub(base)
        );
        println!(
            "{:<52} {:>10.1} KiB per session (peak RSS +{} KiB; logged in: +{} KiB)",
            format!("{active_n} downloading sessions, beside the idle"),
            active_per,
            peak.saturating_sub(idle_rss),
            logged_in.saturating_sub(idle_rss)
        );
    });
}
