//! Shared pieces of ftpspec's benchmarks: a small in-process FTP client on tokio (so a bench
//! measures the server, not a client program), the ceilings (raw TCP and raw rustls streams
//! of the same bytes), an optional vsftpd peer, and the ratio table printed at the end.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Bytes moved per iteration.
pub const MIB: u64 = 1 << 20;

/// A buffer size for reading and writing data (what the mock uses too).
pub const CHUNK: usize = 256 * 1024;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How the client gets its data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// EPSV.
    Passive,
    /// EPRT to a listener of the client's.
    Active,
}

/// A minimal FTP client: one control connection, binary transfers.
pub struct FtpClient {
    ctl: BufReader<Box<dyn Io>>,
    tls: Option<Arc<rustls::ClientConfig>>,
    server: SocketAddr,
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// A rustls client config trusting `ca_pem`.
pub fn client_tls(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.expect("CA PEM")).expect("CA");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

impl FtpClient {
    /// Connects, logs in, TYPE I; with `tls`, AUTH TLS + PBSZ 0 + PROT P first.
    pub async fn connect(
        server: SocketAddr,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> std::io::Result<FtpClient> {
        Self::connect_as(server, tls, "bench", "bench").await
    }

    /// [`FtpClient::connect`] with a user and password.
    pub async fn connect_as(
        server: SocketAddr,
        tls: Option<Arc<rustls::ClientConfig>>,
        user: &str,
        password: &str,
    ) -> std::io::Result<FtpClient> {
        let tcp = TcpStream::connect(server).await?;
        tcp.set_nodelay(true)?;
        let mut c = FtpClient {
            ctl: BufReader::new(Box::new(tcp)),
            tls: None,
            server,
        };
        c.expect(220).await?;
        if let Some(cfg) = tls {
            c.cmd("AUTH TLS", 234).await?;
            let io = std::mem::replace(&mut c.ctl, BufReader::new(Box::new(empty::EmptyDuplex)));
            let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                .connect(
                    ServerName::try_from("localhost").map_err(io_err)?,
                    io.into_inner(),
                )
                .await?;
            c.ctl = BufReader::new(Box::new(tls));
            c.tls = Some(cfg);
        }
        c.cmd(&format!("USER {user}"), 331).await?;
        c.cmd(&format!("PASS {password}"), 230).await?;
        if c.tls.is_some() {
            c.cmd("PBSZ 0", 200).await?;
            c.cmd("PROT P", 200).await?;
        }
        c.cmd("TYPE I", 200).await?;
        Ok(c)
    }

    async fn reply(&mut self) -> std::io::Result<(u16, String)> {
        let mut line = String::new();
        if self.ctl.read_line(&mut line).await? == 0 {
            return Err(io_err("control connection closed"));
        }
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if line.as_bytes().get(3) == Some(&b'-') {
            loop {
                let mut next = String::new();
                if self.ctl.read_line(&mut next).await? == 0
                    || next.starts_with(&format!("{code} "))
                {
                    break;
                }
            }
        }
        Ok((code, line))
    }

    async fn expect(&mut self, code: u16) -> std::io::Result<String> {
        let (got, text) = self.reply().await?;
        if got != code {
            return Err(io_err(format!("expected {code}, got {}", text.trim_end())));
        }
        Ok(text)
    }

    async fn cmd(&mut self, line: &str, code: u16) -> std::io::Result<String> {
        self.ctl
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await?;
        self.ctl.get_mut().flush().await?;
        self.expect(code).await
    }

    async fn data(&mut self, mode: DataMode, line: &str) -> std::io::Result<Box<dyn Io>> {
        let tcp = match mode {
            DataMode::Passive => {
                let text = self.cmd("EPSV", 229).await?;
                let port: u16 = text
                    .split("|||")
                    .nth(1)
                    .and_then(|r| r.split('|').next())
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| io_err(format!("bad 229: {text}")))?;
                let tcp = TcpStream::connect(SocketAddr::new(self.server.ip(), port)).await?;
                self.cmd(line, 150).await?;
                tcp
            }
            DataMode::Active => {
                let local = self.local_ip();
                let listener = TcpListener::bind(SocketAddr::new(local, 0)).await?;
                let port = listener.local_addr()?.port();
                self.cmd(&format!("EPRT |1|{local}|{port}|"), 200).await?;
                self.ctl
                    .get_mut()
                    .write_all(format!("{line}\r\n").as_bytes())
                    .await?;
                let (tcp, _) = listener.accept().await?;
                self.expect(150).await?;
                tcp
            }
        };
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some(cfg) => {
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(ServerName::try_from("localhost").map_err(io_err)?, tcp)
                    .await?;
                Ok(Box::new(tls))
            }
        }
    }

    fn local_ip(&self) -> std::net::IpAddr {
        // The control connection's local address is where the server can reach us.
        match self.server.ip() {
            std::net::IpAddr::V4(v4) if v4.is_loopback() => "127.0.0.1".parse().expect("ip"),
            _ => std::env::var("FTPSPEC_BENCH_CLIENT_IP")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| "127.0.0.1".parse().expect("ip")),
        }
    }

    /// RETR `path`, reading everything into a fixed buffer; returns the bytes.
    pub async fn retr(&mut self, mode: DataMode, path: &str) -> std::io::Result<u64> {
        let mut data = self.data(mode, &format!("RETR {path}")).await?;
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            match data.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => total += n as u64,
                // A TLS peer that closes without close_notify after sending everything.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
        }
        self.expect(226).await?;
        Ok(total)
    }

    /// STOR `size` bytes to `path`.
    pub async fn stor(&mut self, mode: DataMode, path: &str, size: u64) -> std::io::Result<()> {
        let mut data = self.data(mode, &format!("STOR {path}")).await?;
        write_static(&mut data, size).await?;
        data.shutdown().await?;
        drop(data);
        self.expect(226).await?;
        Ok(())
    }
}

/// A stream that is empty both ways (placeholder while the control stream is upgraded).
mod empty {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    pub struct EmptyDuplex;

    impl AsyncRead for EmptyDuplex {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for EmptyDuplex {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            b: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
}

/// The ceiling for plain transfers: a tokio TCP server writing `size` bytes of a static
/// buffer to one connection; the client reads them as [`FtpClient::retr`] does. It runs on
/// its own runtime, as the mock does (`on_own_runtime`).
pub struct RawTcp {
    addr: SocketAddr,
}

impl RawTcp {
    /// Starts the sender on `bind`.
    pub async fn start(bind: SocketAddr, size: u64) -> RawTcp {
        let addr = on_own_runtime(bind, move |listener| async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = s.set_nodelay(true);
                    let _ = write_static(&mut s, size).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        RawTcp { addr }
    }

    /// Reads one stream to its end.
    pub async fn fetch(&self) -> u64 {
        fetch_from(self.addr).await
    }
}

/// The ceiling for plain uploads: a tokio TCP server reading each connection to its end into
/// a fixed buffer and dropping the bytes, then closing; the client writes as
/// [`FtpClient::stor`] does and waits for that close (as STOR waits for 226). It runs on its
/// own runtime, as the mock does (`on_own_runtime`).
pub struct RawTcpSink {
    addr: SocketAddr,
}

impl RawTcpSink {
    /// Starts the receiver on `bind`.
    pub async fn start(bind: SocketAddr) -> RawTcpSink {
        let addr = on_own_runtime(bind, |listener| async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = s.set_nodelay(true);
                    let mut buf = vec![0u8; CHUNK];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                    }
                    let _ = s.shutdown().await;
                });
            }
        });
        RawTcpSink { addr }
    }

    /// Sends `size` bytes and waits until the receiver has read them all.
    pub async fn send(&self, size: u64) {
        let mut s = TcpStream::connect(self.addr).await.expect("connect");
        let _ = s.set_nodelay(true);
        write_static(&mut s, size).await.expect("write");
        s.shutdown().await.expect("shutdown");
        let mut end = [0u8; 1];
        assert_eq!(s.read(&mut end).await.expect("read"), 0);
    }
}

/// Binds `bind` here (in this thread's network namespace) and runs `serve` with the
/// listener on a thread of its own, with its own two-worker tokio runtime: how the mock
/// server runs (ftpspec-mock's server thread), and how any real server runs apart from its
/// client. A ceiling on the client's own runtime would hand each wake-up to the thread
/// already running (sender and reader alternate on one worker), a shortcut no server has:
/// measured on 2 cores, the reader then woke about 700 times a second instead of about
/// 10,000, and the raw stream looked a quarter faster than any separate server can be.
/// The thread lives as long as the process.
fn on_own_runtime<F, Fut>(bind: SocketAddr, serve: F) -> SocketAddr
where
    F: FnOnce(TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let listener = std::net::TcpListener::bind(bind).expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("addr");
    std::thread::Builder::new()
        .name("bench-ceiling".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                serve(TcpListener::from_std(listener).expect("listener")).await;
            });
        })
        .expect("thread");
    addr
}

/// Writes `size` bytes of a static buffer in [`CHUNK`]s.
async fn write_static<W: AsyncWrite + Unpin + ?Sized>(w: &mut W, size: u64) -> std::io::Result<()> {
    let buf = vec![0x5au8; CHUNK];
    let mut left = size;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        w.write_all(&buf[..n]).await?;
        left -= n as u64;
    }
    Ok(())
}

/// A field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`), in KiB; `pid` `None` is this process.
pub fn status_kib(pid: Option<u32>, field: &str) -> u64 {
    let path = pid.map_or_else(
        || "/proc/self/status".to_owned(),
        |p| format!("/proc/{p}/status"),
    );
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Reads one plain TCP stream from `addr` to its end.
pub async fn fetch_from(addr: SocketAddr) -> u64 {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        let n = s.read(&mut buf).await.expect("read");
        if n == 0 {
            return total;
        }
        total += n as u64;
    }
}

/// The ceiling for PROT P: the same over a rustls stream with the mock's certificate.
pub struct RawTls {
    addr: SocketAddr,
    client: Arc<rustls::ClientConfig>,
}

impl RawTls {
    /// Starts the sender with a certificate from ftpspec-mock's test PKI generator.
    pub async fn start(size: u64) -> RawTls {
        let id =
            ftpspec_mock::tls::generate_identity(&["localhost", "127.0.0.1"]).expect("identity");
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(id.chain_pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("chain");
        let key =
            rustls::pki_types::PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).expect("key");
        let client = client_tls(&id.ca_pem);
        let server = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("cert"),
        );
        let acceptor = tokio_rustls::TlsAcceptor::from(server);
        let bind = "127.0.0.1:0".parse().expect("address");
        let addr = on_own_runtime(bind, move |listener| async move {
            while let Ok((s, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = s.set_nodelay(true);
                    let Ok(mut s) = acceptor.accept(s).await else {
                        return;
                    };
                    let _ = write_static(&mut s, size).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        RawTls { addr, client }
    }

    /// Reads one stream to its end.
    pub async fn fetch(&self) -> u64 {
        let tcp = TcpStream::connect(self.addr).await.expect("connect");
        let _ = tcp.set_nodelay(true);
        let mut s = tokio_rustls::TlsConnector::from(self.client.clone())
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await
            .expect("tls");
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0;
        loop {
            match s.read(&mut buf).await {
                Ok(0) => return total,
                Ok(n) => total += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return total,
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

/// Per-iteration times of each benchmark, recorded by [`record`] for the ratio table.
static TIMES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

/// Records that one iteration of `name` took `d`.
pub fn record(name: &str, d: Duration) {
    TIMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name.to_owned())
        .or_default()
        .push(d.as_secs_f64());
}

/// Median seconds per iteration of `name`.
pub fn median(name: &str) -> Option<f64> {
    let times = TIMES.lock().unwrap_or_else(|e| e.into_inner());
    spread(times.get(name)?.clone()).map(|(mid, _, _)| mid)
}

/// The median, lowest and highest of `v`; `None` when it is empty.
fn spread(mut v: Vec<f64>) -> Option<(f64, f64, f64)> {
    v.sort_by(|a, b| a.total_cmp(b));
    Some((*v.get(v.len() / 2)?, v[0], v[v.len() - 1]))
}

/// (transfer, ceiling) -> each round's (transfer seconds, ceiling seconds).
type Rounds = BTreeMap<(String, String), Vec<(f64, f64)>>;

/// Per-round times of a transfer and its ceiling, timed one right after the other.
static PAIRED: Mutex<Rounds> = Mutex::new(BTreeMap::new());

/// Records one round of `name` (taking `d`) next to its `ceiling` (taking `ceiling_d`).
pub fn record_pair(name: &str, ceiling: &str, d: Duration, ceiling_d: Duration) {
    push_round(&PAIRED, name, ceiling, d, ceiling_d);
}

/// Adds one round of `name` and its `ceiling` to `rounds`.
fn push_round(rounds: &Mutex<Rounds>, name: &str, ceiling: &str, d: Duration, ceiling_d: Duration) {
    rounds
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((name.to_owned(), ceiling.to_owned()))
        .or_default()
        .push((d.as_secs_f64(), ceiling_d.as_secs_f64()));
}

/// `name`'s median speed over its paired rounds, the median, lowest and highest of the
/// per-round ratios to `ceiling` (the ceiling's time over the transfer's), and the ratio of
/// the best rounds (the ceiling's fastest time over the transfer's fastest): noise on a
/// shared machine only ever adds time, so the fastest round of each is the closest to what
/// it can do.
pub fn paired_line(name: &str, bytes: u64, ceiling: &str) -> Option<String> {
    let paired = PAIRED.lock().unwrap_or_else(|e| e.into_inner());
    let rounds = paired.get(&(name.to_owned(), ceiling.to_owned()))?;
    let (secs, fastest, _) = spread(rounds.iter().map(|r| r.0).collect())?;
    let (_, ceiling_fastest, _) = spread(rounds.iter().map(|r| r.1).collect())?;
    let (ratio, lo, hi) = spread(rounds.iter().map(|r| r.1 / r.0).collect())?;
    let mbs = bytes as f64 / secs / MIB as f64;
    let best = ceiling_fastest / fastest;
    Some(format!(
        "{name:<40} {mbs:>8.0} MiB/s   {ratio:>5.2}x {ceiling}  ({lo:.2}-{hi:.2}; best rounds {best:.2}x)"
    ))
}

/// CPU time this process's threads have run so far (user and system, from each thread's
/// `/proc/self/task/*/schedstat`, in nanoseconds; threads that have ended are not counted,
/// and the benches' threads live as long as the process). Wall time on a shared machine
/// carries its noise; the CPU a transfer costs does not.
pub fn process_cpu() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

/// (transfer, ceiling) -> each round's (transfer CPU seconds, ceiling CPU seconds).
static PAIRED_CPU: Mutex<Rounds> = Mutex::new(BTreeMap::new());

/// Records the CPU one round of `name` and of its `ceiling` cost (the whole process: client
/// and server sides of the same bytes).
pub fn record_pair_cpu(name: &str, ceiling: &str, cpu: Duration, ceiling_cpu: Duration) {
    push_round(&PAIRED_CPU, name, ceiling, cpu, ceiling_cpu);
}

/// `name`'s CPU per GiB over its paired rounds (median) and the ratio of medians to its
/// `ceiling`'s (the ceiling's CPU over the transfer's: 1.00x costs the same, 0.50x twice as
/// much).
pub fn cpu_line(name: &str, bytes: u64, ceiling: &str) -> Option<String> {
    let paired = PAIRED_CPU.lock().unwrap_or_else(|e| e.into_inner());
    let rounds = paired.get(&(name.to_owned(), ceiling.to_owned()))?;
    let (cpu, _, _) = spread(rounds.iter().map(|r| r.0).collect())?;
    let (ceiling_cpu, _, _) = spread(rounds.iter().map(|r| r.1).collect())?;
    let per_gib = cpu * (1u64 << 30) as f64 / bytes as f64 * 1000.0;
    Some(format!(
        "{name:<40} {per_gib:>8.0} ms CPU/GiB   {:>5.2}x {ceiling}",
        ceiling_cpu / cpu
    ))
}

/// Times `f` once and records it under `name`.
pub async fn timed<F: std::future::Future<Output = T>, T>(name: &str, f: F) -> (Duration, T) {
    let t = Instant::now();
    let out = f.await;
    let d = t.elapsed();
    record(name, d);
    (d, out)
}

/// Prints `name`'s median throughput and its ratio to `ceiling`'s.
pub fn ratio_line(name: &str, bytes: u64, ceiling: &str) -> String {
    let mbs = |n: &str| median(n).map(|s| bytes as f64 / s / MIB as f64);
    match (mbs(name), mbs(ceiling)) {
        (Some(a), Some(c)) => format!("{name:<40} {a:>8.0} MiB/s   {:>5.2}x {ceiling}", a / c),
        (Some(a), None) => format!("{name:<40} {a:>8.0} MiB/s   (no {ceiling})"),
        _ => format!("{name:<40} not measured"),
    }
}

/// The benches' tokio runtime: two workers (the machines they run on have few cores).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Whether this process is root (the network benchmarks need it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
