//! Data-channel throughput of ftpspec-mock, with the ceilings measured in the same run on
//! the same path: raw tokio TCP sending (RETR) and receiving (STOR), raw rustls (PROT P), and
//! vsftpd where installed (`scripts/install-deps --bench`). Uploads go into the mock's sink
//! (`/sink/...`: hashed as they arrive, nothing kept) and, for comparison, into memory.
//! Over loopback, and across a server-nat topology (veth + NAT; needs root). The client is
//! in-process, so the numbers are the server's. A ratio table is printed at the end.
//!
//! `cargo bench -p ftpspec-benches --bench throughput`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ftpspec_benches::{
    median, ratio_line, record, DataMode, FtpClient, RawTcp, RawTcpSink, RawTls, MIB,
};
use ftpspec_mock::{Ftps, MockServer};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn loopback(c: &mut Criterion, rt: &tokio::runtime::Runtime, size: u64, label: &str, full: bool) {
    let path = format!("/gen/{}M", size / MIB);
    let plain = rt.block_on(async {
        MockServer::builder()
            .upload_limit(u64::MAX)
            .start()
            .await
            .expect("mock")
    });
    let tls = rt.block_on(async {
        MockServer::builder()
            .ftps(Ftps::explicit())
            .upload_limit(1)
            .start()
            .await
            .expect("mock")
    });
    let raw = rt.block_on(RawTcp::start("127.0.0.1:0".parse().unwrap(), size));
    let raw_recv = full.then(|| rt.block_on(RawTcpSink::start("127.0.0.1:0".parse().unwrap())));
    let raw_tls = full.then(|| rt.block_on(RawTls::start(size)));
    let vsftpd = if full { Vsftpd::start(size) } else { None };

    let mut g = c.benchmark_group(label);
    g.throughput(Throughput::Bytes(size));
    if size > 256 * MIB {
        g.sample_size(10).measurement_time(Duration::from_secs(10));
    }
    let name = |n: &str| format!("{label}/{n}");
    g.bench_function("raw-tcp", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (d, n) = ftpspec_benches::timed(&name("raw-tcp"), raw.fetch()).await;
                    assert_eq!(n, size);
                    total += d;
                }
                total
            })
        })
    });
    if let Some(raw_recv) = &raw_recv {
        g.bench_function("raw-tcp-recv", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += ftpspec_benches::timed(&name("raw-tcp-recv"), raw_recv.send(size))
                            .await
                            .0;
                    }
                    total
                })
            })
        });
    }
    // (bench, mode, PROT P, STOR to this path)
    let mut modes = vec![("mock-retr-passive", DataMode::Passive, false, None)];
    if full {
        modes.push(("mock-retr-active", DataMode::Active, false, None));
        modes.push(("mock-stor-sink", DataMode::Passive, false, Some("/sink/upload.bin")));
        modes.push(("mock-stor-memory", DataMode::Passive, false, Some("/upload.bin")));
        modes.push(("mock-retr-prot-p", DataMode::Passive, true, None));
    }
    for (bench, mode, use_tls, upload) in modes {
        let server = if use_tls { &tls } else { &plain };
        let cfg = use_tls.then(|| ftpspec_benches::client_tls(server.tls().expect("tls").ca_pem()));
        let mut client = rt
            .block_on(FtpClient::connect(server.addr(), cfg))
            .expect("login");
        g.bench_function(bench, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        if let Some(to) = upload {
                            client.stor(mode, to, size).await.expect("STOR");
                        } else {
                            let n = client.retr(mode, &path).await.expect("RETR");
                            assert_eq!(n, size);
                        }
                        let d = t.elapsed();
                        record(&name(bench), d);
                        total += d;
                    }
                    total
                })
            })
        });
    }
    if let Some(raw_tls) = &raw_tls {
        g.bench_function("raw-rustls", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (d, n) =
                            ftpspec_benches::timed(&name("raw-rustls"), raw_tls.fetch()).await;
                        assert_eq!(n, size);
                        total += d;
                    }
                    total
                })
            })
        });
    }
    if let Some(v) = &vsftpd {
        let mut client = rt
            .block_on(FtpClient::connect_as(v.addr, None, "anonymous", "bench@"))
            .expect("vsftpd login");
        g.bench_function("vsftpd-retr-passive", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        let n = client
                            .retr(DataMode::Passive, "/file.bin")
                            .await
                            .expect("vsftpd RETR");
                        assert_eq!(n, size);
                        let d = t.elapsed();
                        record(&name("vsftpd-retr-passive"), d);
                        total += d;
                    }
                    total
                })
            })
        });
    } else if full {
        eprintln!(
            "throughput: vsftpd is not installed, so it is not compared (apt-get install vsftpd)"
        );
    }
    g.finish();
    drop(vsftpd);
}

fn through_nat(c: &mut Criterion) {
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
            let rt = rt();
            let mock = rt.block_on(async {
                MockServer::builder()
                    .bind("0.0.0.0:21".parse().unwrap())
                    .pasv_ports(50000..=50009)
                    .start()
                    .await
                    .expect("mock")
            });
            let raw = rt.block_on(RawTcp::start("0.0.0.0:50010".parse().unwrap(), size));
            // Keep the raw sender's runtime alive with it.
            std::mem::forget(raw);
            std::mem::forget(rt);
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
                        let rt = rt();
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
    let rt = rt();
    let mut c = Criterion::default()
        .sample_size(15)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .configure_from_args();
    loopback(&mut c, &rt, 64 * MIB, "loopback-64MiB", true);
    loopback(&mut c, &rt, 1024 * MIB, "loopback-1GiB", false);
    through_nat(&mut c);
    c.final_summary();

    println!("\nthroughput: medians, and ratios to the ceiling measured in this run");
    for (label, size) in [
        ("loopback-64MiB", 64 * MIB),
        ("loopback-1GiB", 1024 * MIB),
        ("server-nat-64MiB", 64 * MIB),
    ] {
        let n = |b: &str| format!("{label}/{b}");
        if median(&n("raw-tcp")).is_none() {
            continue;
        }
        for (bench, ceiling) in [
            ("mock-retr-passive", "raw-tcp"),
            ("mock-retr-active", "raw-tcp"),
            ("mock-stor-sink", "raw-tcp-recv"),
            ("mock-stor-memory", "raw-tcp-recv"),
        ] {
            if median(&n(bench)).is_some() {
                println!("{}", ratio_line(&n(bench), size, &n(ceiling)));
            }
        }
        if median(&n("mock-retr-prot-p")).is_some() {
            println!(
                "{}",
                ratio_line(&n("mock-retr-prot-p"), size, &n("raw-rustls"))
            );
        }
        if median(&n("vsftpd-retr-passive")).is_some() {
            println!(
                "{}",
                ratio_line(&n("vsftpd-retr-passive"), size, &n("raw-tcp"))
            );
            println!(
                "{}",
                ratio_line(&n("mock-retr-passive"), size, &n("vsftpd-retr-passive"))
            );
        }
    }
}
