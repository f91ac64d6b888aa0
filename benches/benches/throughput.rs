//! Data-channel throughput of ftpspec-mock, with the ceilings measured in the same run on
//! the same path: raw tokio TCP sending (RETR) and receiving (STOR), raw rustls (PROT P), and
//! vsftpd where installed (`scripts/install-deps`). Uploads go into the mock's sink
//! (`/sink/...`: checksummed as they arrive, nothing kept) and, for comparison, into memory.
//! Over loopback, and across a server-nat topology (veth + NAT; needs root). The client is
//! in-process, so the numbers are the server's. A ratio table is printed at the end.
//!
//! `cargo bench -p ftpspec-benches --bench throughput`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ftpspec_benches::{
    cpu_line, median, paired_line, ratio_line, record, record_pair, record_pair_cpu, DataMode,
    FtpClient, RawTcp, RawTcpSink, RawTls, MIB,
};
use ftpspec_mock::{Ftps, MockServer};

/// One kind of transfer the loopback group times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// The plain ceiling: a raw TCP stream of `size` bytes, read.
    RawTcp,
    /// The upload ceiling: `size` bytes written to a raw TCP receiver.
    RawTcpRecv,
    /// The PROT P ceiling: a raw rustls stream, read.
    RawRustls,
    /// A transfer through the mock: the index of its [`Mode`].
    Mock(usize),
    /// RETR from vsftpd.
    Vsftpd,
}

/// A transfer through the mock.
struct Mode {
    name: &'static str,
    data: DataMode,
    /// STOR to this path; RETR of the `/gen` file otherwise.
    stor_to: Option<&'static str>,
    /// Its logged-in client (on the PROT P server when it has TLS).
    client: FtpClient,
}

/// Everything the loopback group talks to.
struct Loopback {
    size: u64,
    path: String,
    raw: RawTcp,
    raw_recv: Option<RawTcpSink>,
    raw_tls: Option<RawTls>,
    modes: Vec<Mode>,
    vsftpd: Option<(FtpClient, Vsftpd)>,
    _servers: [MockServer; 2],
}

impl Loopback {
    fn start(rt: &tokio::runtime::Runtime, size: u64, full: bool) -> Loopback {
        let (plain, tls) = rt.block_on(async {
            let plain = MockServer::builder()
                .upload_limit(u64::MAX)
                .start()
                .await
                .expect("mock");
            let tls = MockServer::builder()
                .ftps(Ftps::explicit())
                .upload_limit(1)
                .start()
                .await
                .expect("mock");
            (plain, tls)
        });
        // (name, mode, PROT P, STOR to)
        let mut wanted = vec![("mock-retr-passive", DataMode::Passive, false, None)];
        if full {
            wanted.push(("mock-retr-active", DataMode::Active, false, None));
            wanted.push((
                "mock-stor-sink",
                DataMode::Passive,
                false,
                Some("/sink/upload.bin"),
            ));
            wanted.push((
                "mock-stor-memory",
                DataMode::Passive,
                false,
                Some("/upload.bin"),
            ));
            wanted.push(("mock-retr-prot-p", DataMode::Passive, true, None));
        }
        let modes = wanted
            .into_iter()
            .map(|(name, data, use_tls, stor_to)| {
                let server = if use_tls { &tls } else { &plain };
                let cfg = use_tls
                    .then(|| ftpspec_benches::client_tls(server.tls().expect("tls").ca_pem()));
                let client = rt
                    .block_on(FtpClient::connect(server.addr(), cfg))
                    .expect("login");
                Mode {
                    name,
                    data,
                    stor_to,
                    client,
                }
            })
            .collect();
        let vsftpd = if full { Vsftpd::start(size) } else { None };
        let vsftpd = vsftpd.map(|v| {
            let client = rt
                .block_on(FtpClient::connect_as(v.addr, None, "anonymous", "bench@"))
                .expect("vsftpd login");
            (client, v)
        });
        if full && vsftpd.is_none() {
            eprintln!(
                "throughput: vsftpd is not installed, so it is not compared (scripts/install-deps)"
            );
        }
        Loopback {
            size,
            path: format!("/gen/{}M", size / MIB),
            raw: rt.block_on(RawTcp::start("127.0.0.1:0".parse().unwrap(), size)),
            raw_recv: full.then(|| rt.block_on(RawTcpSink::start("127.0.0.1:0".parse().unwrap()))),
            raw_tls: full.then(|| rt.block_on(RawTls::start(size))),
            modes,
            vsftpd,
            _servers: [plain, tls],
        }
    }

    /// The transfers to time, by name, ceilings first.
    fn ops(&self) -> Vec<(&'static str, Op)> {
        let mut ops = vec![("raw-tcp", Op::RawTcp)];
        if self.raw_recv.is_some() {
            ops.push(("raw-tcp-recv", Op::RawTcpRecv));
        }
        if self.raw_tls.is_some() {
            ops.push(("raw-rustls", Op::RawRustls));
        }
        ops.extend(
            self.modes
                .iter()
                .enumerate()
                .map(|(i, m)| (m.name, Op::Mock(i))),
        );
        if self.vsftpd.is_some() {
            ops.push(("vsftpd-retr-passive", Op::Vsftpd));
        }
        ops
    }

    /// One transfer of `op`: how long it took, and the CPU this process spent on it.
    async fn once_cpu(&mut self, op: Op) -> (Duration, Duration) {
        let cpu = ftpspec_benches::process_cpu();
        let wall = self.once(op).await;
        (wall, ftpspec_benches::process_cpu().saturating_sub(cpu))
    }

    /// One transfer of `op`; how long it took.
    async fn once(&mut self, op: Op) -> Duration {
        let size = self.size;
        let t = Instant::now();
        match op {
            Op::RawTcp => assert_eq!(self.raw.fetch().await, size),
            Op::RawTcpRecv => self.raw_recv.as_ref().expect("receiver").send(size).await,
            Op::RawRustls => assert_eq!(self.raw_tls.as_ref().expect("rustls").fetch().await, size),
            Op::Mock(i) => {
                let m = &mut self.modes[i];
                match m.stor_to {
                    Some(to) => m.client.stor(m.data, to, size).await.expect("STOR"),
                    None => {
                        let n = m.client.retr(m.data, &self.path).await.expect("RETR");
                        assert_eq!(n, size);
                    }
                }
            }
            Op::Vsftpd => {
                let (client, _) = self.vsftpd.as_mut().expect("vsftpd");
                let n = client
                    .retr(DataMode::Passive, "/file.bin")
                    .await
                    .expect("vsftpd RETR");
                assert_eq!(n, size);
            }
        }
        t.elapsed()
    }
}

/// Each transfer against its ceiling, for the closing table.
const PAIRS: [(&str, &str); 6] = [
    ("mock-retr-passive", "raw-tcp"),
    ("mock-retr-active", "raw-tcp"),
    ("mock-stor-sink", "raw-tcp-recv"),
    ("mock-stor-memory", "raw-tcp-recv"),
    ("mock-retr-prot-p", "raw-rustls"),
    ("vsftpd-retr-passive", "raw-tcp"),
];

/// Rounds of the paired measurement (`FTPSPEC_BENCH_PAIRS`, default 15).
fn pair_rounds() -> usize {
    std::env::var("FTPSPEC_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15)
}

fn loopback(c: &mut Criterion, rt: &tokio::runtime::Runtime, size: u64, label: &str, full: bool) {
    if !c_filter_matches(label) {
        return;
    }
    let mut lb = Loopback::start(rt, size, full);
    let ops = lb.ops();
    let mut g = c.benchmark_group(label);
    g.throughput(Throughput::Bytes(size));
    if size > 256 * MIB {
        g.sample_size(10).measurement_time(Duration::from_secs(10));
    }
    for &(bench, op) in &ops {
        let name = format!("{label}/{bench}");
        g.bench_function(bench, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let d = lb.once(op).await;
                        record(&name, d);
                        total += d;
                    }
                    total
                })
            })
        });
    }
    g.finish();
    // The ratios again, each transfer timed right after (or before: the order alternates)
    // its ceiling, so that a machine busy with other work slows both alike.
    let find = |n: &str| ops.iter().find(|(o, _)| *o == n).map(|&(_, op)| op);
    let pairs: Vec<_> = PAIRS
        .iter()
        .filter(|(b, c)| selected(&format!("{label}/{b}")) && selected(&format!("{label}/{c}")))
        .filter_map(|&(b, c)| Some(((b, find(b)?), (c, find(c)?))))
        .collect();
    rt.block_on(async {
        for round in 0..pair_rounds() {
            for &((bench, b), (ceiling, c)) in &pairs {
                let ((tb, cb), (tc, cc)) = if round % 2 == 0 {
                    let tc = lb.once_cpu(c).await;
                    (lb.once_cpu(b).await, tc)
                } else {
                    let tb = lb.once_cpu(b).await;
                    (tb, lb.once_cpu(c).await)
                };
                let (bench, ceiling) = (format!("{label}/{bench}"), format!("{label}/{ceiling}"));
                record_pair(&bench, &ceiling, tb, tc);
                // vsftpd is another process: its CPU is not this process's.
                if b != Op::Vsftpd {
                    record_pair_cpu(&bench, &ceiling, cb, cc);
                }
            }
        }
    });
}

/// Whether criterion's filter (the command line's positional argument, a regular expression)
/// selects any bench of the group `label`, so that a filtered run does not set up, or pair,
/// what it does not measure.
fn c_filter_matches(label: &str) -> bool {
    let names = [
        "raw-tcp",
        "raw-tcp-recv",
        "raw-rustls",
        "vsftpd-retr-passive",
    ];
    names
        .into_iter()
        .chain(PAIRS.map(|(b, _)| b))
        .any(|n| selected(&format!("{label}/{n}")))
}

/// Whether criterion's filter selects the bench `id` (`group/bench`); true without a filter.
fn selected(id: &str) -> bool {
    // Options of criterion that take a value (the value is not the filter).
    const WITH_VALUE: [&str; 14] = [
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--save-baseline",
        "--baseline",
        "--load-baseline",
        "--output-format",
        "--color",
        "--profile-time",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--nresamples",
        "--plotting-backend",
    ];
    let mut args = std::env::args().skip(1);
    let mut filter = None;
    while let Some(a) = args.next() {
        if WITH_VALUE.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') {
            filter = Some(a);
        }
    }
    let Some(filter) = filter else { return true };
    regex::Regex::new(&filter).map_or(true, |re| re.is_match(id))
}

fn through_nat(c: &mut Criterion) {
    if !c_filter_matches("server-nat-64MiB") {
        return;
    }
    if !ftpspec_benches::is_root() {
        eprintln!("throughput: the server-nat path needs root (network namespaces); not measured");
        return;
    }
    use ftpspec_netns::{PresetName, PresetOptions, Topology};
    let size = 64 * MIB;
    let preset = PresetName::ServerNat
        .build(&PresetOptions::default())
        .expect("preset");
    let topo = Topology::build(&preset.spec).expect("topology");
    let server_host = topo.host(&preset.roles.server).expect("server");
    let client_host = topo.host(&preset.roles.client).expect("client");
    // The mock server (passive range 50000-50010, forwarded) and a raw TCP sender on a
    // forwarded port, both in the server host.
    let (mock, raw_port) = server_host
        .in_thread(move || {
            let rt = ftpspec_benches::runtime();
            let mock = rt.block_on(async {
                MockServer::builder()
                    .bind("0.0.0.0:21".parse().unwrap())
                    .pasv_ports(50000..=50009)
                    .start()
                    .await
                    .expect("mock")
            });
            // The raw sender runs on a thread of its own for the rest of the process.
            rt.block_on(RawTcp::start("0.0.0.0:50010".parse().unwrap(), size));
            (mock, 50010u16)
        })
        .expect("server host");
    let server_addr = preset.roles.server_addr;
    let mut g = c.benchmark_group("server-nat-64MiB");
    g.throughput(Throughput::Bytes(size));
    for bench in ["raw-tcp", "mock-retr-passive"] {
        let client_host = client_host.clone();
        g.bench_function(bench, |b| {
            b.iter_custom(|iters| {
                let client_host = client_host.clone();
                client_host
                    .in_thread(move || {
                        let rt = ftpspec_benches::runtime();
                        rt.block_on(async move {
                            let mut total = Duration::ZERO;
                            let mut client = if bench == "raw-tcp" {
                                None
                            } else {
                                Some(
                                    FtpClient::connect(SocketAddr::new(server_addr, 21), None)
                                        .await
                                        .expect("login"),
                                )
                            };
                            for _ in 0..iters {
                                let t = Instant::now();
                                let n = match &mut client {
                                    None => {
                                        ftpspec_benches::fetch_from(SocketAddr::new(
                                            server_addr,
                                            raw_port,
                                        ))
                                        .await
                                    }
                                    Some(c) => {
                                        c.retr(DataMode::Passive, "/gen/64M").await.expect("RETR")
                                    }
                                };
                                assert_eq!(n, size);
                                let d = t.elapsed();
                                record(&format!("server-nat-64MiB/{bench}"), d);
                                total += d;
                            }
                            total
                        })
                    })
                    .expect("client host")
            })
        });
    }
    g.finish();
    // Paired rounds, as on loopback: the raw stream and the RETR one right after the other.
    let rounds = pair_rounds();
    client_host
        .in_thread(move || {
            let rt = ftpspec_benches::runtime();
            rt.block_on(async move {
                let mut client = FtpClient::connect(SocketAddr::new(server_addr, 21), None)
                    .await
                    .expect("login");
                let raw = SocketAddr::new(server_addr, raw_port);
                for round in 0..rounds {
                    let mut times = [Duration::ZERO; 2];
                    for k in [round % 2, 1 - round % 2] {
                        let t = Instant::now();
                        let n = if k == 0 {
                            ftpspec_benches::fetch_from(raw).await
                        } else {
                            client
                                .retr(DataMode::Passive, "/gen/64M")
                                .await
                                .expect("RETR")
                        };
                        assert_eq!(n, size);
                        times[k] = t.elapsed();
                    }
                    record_pair(
                        "server-nat-64MiB/mock-retr-passive",
                        "server-nat-64MiB/raw-tcp",
                        times[1],
                        times[0],
                    );
                }
            })
        })
        .expect("client host");
    drop(mock);
    topo.destroy().expect("teardown");
}

/// vsftpd serving a file of `size` bytes on loopback, when installed.
struct Vsftpd {
    addr: SocketAddr,
    child: std::process::Child,
    _dir: tempfile_dir::Dir,
}

mod tempfile_dir {
    /// A directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Vsftpd {
    fn start(size: u64) -> Option<Vsftpd> {
        let exe = ["/usr/sbin/vsftpd", "/usr/bin/vsftpd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        let dir = std::env::temp_dir().join(format!("ftpspec-bench-vsftpd-{}", std::process::id()));
        let root = dir.join("root");
        let empty = dir.join("empty");
        std::fs::create_dir_all(&root).ok()?;
        std::fs::create_dir_all(&empty).ok()?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(root.join("file.bin")).ok()?;
            let buf = vec![0x5au8; 1 << 20];
            for _ in 0..size / (1 << 20) {
                f.write_all(&buf).ok()?;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let conf = dir.join("vsftpd.conf");
        std::fs::write(
            &conf,
            format!(
                "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n\
                 anonymous_enable=YES\nlocal_enable=NO\nanon_root={}\n\
                 secure_chroot_dir={}\nseccomp_sandbox=NO\nxferlog_enable=NO\npasv_enable=YES\n\
                 pasv_min_port=52000\npasv_max_port=52100\n",
                root.display(),
                empty.display()
            ),
        )
        .ok()?;
        let child = std::process::Command::new(exe)
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().ok()?;
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return Some(Vsftpd {
                    addr,
                    child,
                    _dir: tempfile_dir::Dir(dir),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Vsftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    let rt = ftpspec_benches::runtime();
    let mut c = Criterion::default()
        .sample_size(15)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .configure_from_args();
    loopback(&mut c, &rt, 64 * MIB, "loopback-64MiB", true);
    loopback(&mut c, &rt, 1024 * MIB, "loopback-1GiB", false);
    through_nat(&mut c);
    c.final_summary();

    println!("\nthroughput: criterion's medians, and ratios to the ceiling's median in this run");
    let groups = [
        ("loopback-64MiB", 64 * MIB),
        ("loopback-1GiB", 1024 * MIB),
        ("server-nat-64MiB", 64 * MIB),
    ];
    for (label, size) in groups {
        let n = |b: &str| format!("{label}/{b}");
        for (bench, ceiling) in PAIRS {
            if median(&n(bench)).is_some() {
                println!("{}", ratio_line(&n(bench), size, &n(ceiling)));
            }
        }
        if median(&n("vsftpd-retr-passive")).is_some() {
            println!(
                "{}",
                ratio_line(&n("mock-retr-passive"), size, &n("vsftpd-retr-passive"))
            );
        }
    }
    println!(
        "\nthroughput: paired rounds (each transfer next to its ceiling, {} rounds): median ratio (min-max; the fastest rounds' ratio)",
        pair_rounds()
    );
    for (label, size) in groups {
        let n = |b: &str| format!("{label}/{b}");
        for (bench, ceiling) in PAIRS {
            if let Some(line) = paired_line(&n(bench), size, &n(ceiling)) {
                println!("{line}");
            }
        }
    }
    println!(
        "\nthroughput: CPU per transfer in the paired rounds (this process, client and server sides together): median, and the ceiling's over the transfer's"
    );
    for (label, size) in groups {
        let n = |b: &str| format!("{label}/{b}");
        for (bench, ceiling) in PAIRS {
            if let Some(line) = cpu_line(&n(bench), size, &n(ceiling)) {
                println!("{line}");
            }
        }
    }
}
