//! Servers under test, for real: each built-in server started in a fresh topology's server
//! host, a raw FTP session from the client host (plain, explicit and implicit FTPS, the
//! passive range and external address), then stopped: nothing left in the namespace, the
//! port closed. Also a closure's server (ftpspec-mock) and servers that fail to start.
//! Needs root (network namespaces) and `scripts/install-deps` (the servers).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ftpspec::netns::{Host, PresetName, PresetOptions, Topology};
use ftpspec::servers::{RunningServer, ServerSetting, ServerSetup, ServerUnderTest, TlsFiles};
use rstest::rstest;

/// What the root holds: `hello.bin`, 100 kB of a pattern.
fn content() -> Vec<u8> {
    (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

/// A fresh `direct` topology with a case directory (the root and the work directory).
struct Lab {
    _topo: Topology,
    server: Host,
    client: Host,
    server_addr: IpAddr,
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let preset = PresetName::Direct.build(&PresetOptions::default()).unwrap();
        let topo = Topology::build(&preset.spec).unwrap();
        let server = topo.host(&preset.roles.server).unwrap();
        let client = topo.host(&preset.roles.client).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("hello.bin"), content()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
        Lab {
            _topo: topo,
            server,
            client,
            server_addr: preset.roles.server_addr,
            dir,
        }
    }

    fn setup(&self, port: u16, settings: &[ServerSetting]) -> ServerSetup {
        let id = ftpspec::mock::tls::generate_identity(&[self.server_addr.to_string()]).unwrap();
        ServerSetup {
            port,
            root: self.dir.path().join("root"),
            user: "tester".into(),
            password: "s3cret".into(),
            work_dir: self.dir.path().join("work"),
            pasv_ports: Some(40100..=40109),
            external_ip: Some("203.0.113.7".parse().unwrap()),
            tls: Some(TlsFiles {
                cert_pem: id.chain_pem,
                key_pem: id.key_pem,
                ca_pem: id.ca_pem,
            }),
            settings: settings.to_vec(),
        }
    }
}

impl Lab {
    /// Starts `server` in the server host and downloads `hello.bin` from the client host.
    fn serve(
        &self,
        server: &ServerUnderTest,
        setup: &ServerSetup,
        mode: Mode,
        pasv: bool,
    ) -> (tokio::runtime::Runtime, RunningServer, Seen) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let running = rt.block_on(server.start(&self.server, setup)).unwrap();
        let addr = SocketAddr::new(self.server_addr, setup.port);
        let s2 = setup.clone();
        let seen = self
            .client
            .in_thread(move || session(addr, &s2, mode, pasv))
            .unwrap();
        assert!(
            seen.data == content(),
            "{}: the download differs",
            server.name()
        );
        (rt, running, seen)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Whatever a failed test left running in the server host goes before the namespace.
        self.server.end_processes();
    }
}

/// The built-in server, or `None` (test skipped) when it is not installed; under CI, a
/// missing server fails the test.
fn builtin(name: &str) -> Option<ServerUnderTest> {
    let server = ServerUnderTest::builtin(name).unwrap();
    if server.available() {
        return Some(server);
    }
    let why = format!(
        "{name} is not installed ({:?} missing): run scripts/install-deps",
        server.program()
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("skipped: {why}");
    None
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Plain,
    Explicit,
    Implicit,
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A control connection: replies read line by line (multi-line replies joined).
struct Control {
    conn: BufReader<Box<dyn Stream>>,
    transcript: Vec<String>,
}

impl Control {
    fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self.conn.read_line(&mut line).unwrap_or(0);
            assert!(
                n > 0,
                "the server closed the control connection: {:?}",
                self.transcript
            );
            self.transcript.push(line.trim_end().to_owned());
            text.push_str(&line);
            let b = line.as_bytes();
            if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' {
                // The last line of a reply, whose code starts the first.
                if text.as_bytes()[..3] == b[..3] {
                    return (line[..3].parse().unwrap(), text);
                }
            }
        }
    }

    fn cmd(&mut self, line: &str, want: &[u16]) -> String {
        self.transcript.push(format!("> {line}"));
        let w = self.conn.get_mut();
        w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        w.flush().unwrap();
        let (code, text) = self.reply();
        assert!(
            want.contains(&code),
            "{line}: got {text:?}, wanted {want:?}; transcript {:?}",
            self.transcript
        );
        text
    }
}

fn tls_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

fn wrap(tcp: TcpStream, config: &Arc<rustls::ClientConfig>, host: IpAddr) -> Box<dyn Stream> {
    let name = rustls::pki_types::ServerName::IpAddress(host.into());
    let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    Box::new(rustls::StreamOwned::new(conn, tcp))
}

/// What a session saw.
struct Seen {
    pasv: Option<String>,
    epsv_port: u16,
    data: Vec<u8>,
    /// The control connection, still logged in (to check the server's stop ends it).
    control: Control,
}

/// Logs in, optionally asks PASV (not used), downloads `hello.bin` through EPSV (over TLS
/// unless plain: PROT P, the data connection resuming the control's session).
fn session(addr: SocketAddr, setup: &ServerSetup, mode: Mode, pasv: bool) -> Seen {
    let config = tls_config(&setup.tls.as_ref().unwrap().ca_pem);
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let first: Box<dyn Stream> = match mode {
        Mode::Implicit => wrap(tcp.try_clone().unwrap(), &config, addr.ip()),
        _ => Box::new(tcp.try_clone().unwrap()),
    };
    let mut c = Control {
        conn: BufReader::new(first),
        transcript: Vec::new(),
    };
    assert_eq!(c.reply().0, 220, "{:?}", c.transcript);
    if mode == Mode::Explicit {
        c.cmd("AUTH TLS", &[234]);
        c.conn = BufReader::new(wrap(tcp, &config, addr.ip()));
    }
    c.cmd(&format!("USER {}", setup.user), &[331]);
    c.cmd(&format!("PASS {}", setup.password), &[230]);
    c.cmd("TYPE I", &[200]);
    if mode != Mode::Plain {
        c.cmd("PBSZ 0", &[200]);
        c.cmd("PROT P", &[200]);
    }
    let pasv = pasv.then(|| c.cmd("PASV", &[227]));
    let epsv = c.cmd("EPSV", &[229]);
    let epsv_port = ftpspec::mock::wire::parse_229(epsv.trim_end()).unwrap();
    let data = TcpStream::connect_timeout(
        &SocketAddr::new(addr.ip(), epsv_port),
        Duration::from_secs(5),
    )
    .unwrap();
    data.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // RETR before the data connection's handshake (rustls starts it on the first read), as
    // ftplib does: what pyftpdlib 1.5.7 needs (pyftpdlib#604).
    c.cmd("RETR hello.bin", &[150, 125]);
    let mut data: Box<dyn Stream> = match mode {
        Mode::Plain => Box::new(data),
        _ => wrap(data, &config, addr.ip()),
    };
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    drop(data);
    assert_eq!(c.reply().0, 226, "{:?}", c.transcript);
    Seen {
        pasv,
        epsv_port,
        data: got,
        control: c,
    }
}

/// The port accepts inside the host.
fn accepts(host: &Host, port: u16) -> bool {
    host.in_thread(move || {
        TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(1),
        )
        .is_ok()
    })
    .unwrap()
}

#[rstest]
#[case::vsftpd("vsftpd")]
#[case::proftpd("proftpd")]
#[case::pure_ftpd("pure-ftpd")]
#[case::pyftpdlib("pyftpdlib")]
fn builtin_serves_plain_and_ftps_and_stops_with_everything(
    #[case] name: &str,
    #[values(Mode::Plain, Mode::Explicit, Mode::Implicit)] mode: Mode,
) {
    let Some(server) = builtin(name) else { return };
    let settings = match mode {
        Mode::Plain => vec![],
        Mode::Explicit => vec![ServerSetting::FtpsExplicit],
        Mode::Implicit => vec![ServerSetting::FtpsImplicit],
    };
    if !server.lacking(&settings).is_empty() {
        assert_eq!(
            (name, mode),
            ("pure-ftpd", Mode::Implicit),
            "only this one lacks"
        );
        return;
    }
    let port = if mode == Mode::Implicit { 990 } else { 21 };
    let lab = Lab::new();
    let setup = lab.setup(port, &settings);
    let (rt, running, seen) = lab.serve(&server, &setup, mode, false);
    assert!(running.pid().is_some());
    // The session stays logged in while the server stops: vsftpd's and pure-ftpd's
    // session processes outlive the daemon's SIGTERM (vsftpd's even leave the namespace), so
    // only killing the process tree and everything in the namespace ends them.
    assert!(!lab.server.processes().is_empty());
    let exit = rt.block_on(running.stop());
    let left = lab.server.processes();
    assert!(left.is_empty(), "{name}: processes left: {left:?}");
    assert!(
        !accepts(&lab.server, port),
        "{name}: port {port} still accepts"
    );
    let mut control = seen.control;
    let mut rest = String::new();
    let ended = match control.conn.read_line(&mut rest) {
        Ok(n) => n == 0,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    assert!(ended, "{name}: the session goes on after stop: {rest:?}");
    assert!(exit.status.is_some(), "{name}: no exit status: {exit:?}");
    if name == "vsftpd" {
        assert!(
            exit.output.contains("--- server.conf.log ---"),
            "{}",
            exit.output
        );
        assert!(exit.output.contains("RETR hello.bin"), "{}", exit.output);
    }
    if name == "proftpd" || name == "pyftpdlib" {
        assert!(
            exit.output.contains("tester"),
            "{name} logs to stderr: {}",
            exit.output
        );
    }
}

#[rstest]
#[case::vsftpd("vsftpd")]
#[case::proftpd("proftpd")]
#[case::pure_ftpd("pure-ftpd")]
#[case::pyftpdlib("pyftpdlib")]
fn builtin_honours_the_passive_range_and_external_address(#[case] name: &str) {
    let Some(server) = builtin(name) else { return };
    let lab = Lab::new();
    let setup = lab.setup(21, &[ServerSetting::PasvPorts, ServerSetting::ExternalIp]);
    let (rt, running, seen) = lab.serve(&server, &setup, Mode::Plain, true);
    let pasv = seen.pasv.unwrap();
    let announced = ftpspec::mock::wire::parse_227(&pasv).unwrap();
    assert_eq!(announced.ip().to_string(), "203.0.113.7", "{name}: {pasv}");
    assert!(
        (40100..=40109).contains(&announced.port()),
        "{name}: {pasv}"
    );
    assert!(
        (40100..=40109).contains(&seen.epsv_port),
        "{name}: EPSV {}",
        seen.epsv_port
    );
    assert!(seen.data == content());
    drop(seen.control);
    rt.block_on(running.stop());
    assert!(lab.server.processes().is_empty());
}

#[test]
fn a_closure_starts_the_mock_server_in_the_host() {
    let server = ServerUnderTest::from_fn("mock", "0", &[], |setup| {
        let server = ftpspec::mock::MockServer::builder()
            .bind(SocketAddr::from(([0, 0, 0, 0], setup.port)))
            .credentials(&setup.user, &setup.password)
            .file("/hello.bin", content())
            .start_blocking()
            .map_err(|e| e.to_string())?;
        Ok(Box::new(server) as Box<dyn std::any::Any + Send>)
    });
    let lab = Lab::new();
    let setup = lab.setup(21, &[]);
    let (rt, running, seen) = lab.serve(&server, &setup, Mode::Plain, false);
    assert_eq!(running.pid(), None);
    drop(seen.control);
    let exit = rt.block_on(running.stop());
    assert_eq!(exit.status, None);
    assert!(!accepts(&lab.server, 21), "the guard's drop stops the mock");
}

#[test]
fn a_closure_that_fails_says_why() {
    let server = ServerUnderTest::from_fn("broken", "0", &[], |_| Err("no port for you".into()));
    let lab = Lab::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt
        .block_on(server.start(&lab.server, &lab.setup(21, &[])))
        .unwrap_err();
    assert_eq!(e.to_string(), "broken did not start: no port for you");
}

#[rstest]
#[case::exits(
    "start = \"sh -c 'echo 500 OOPS: bad config >&2; exit 2'\"",
    "oops exited with status 2 before accepting on port 21: 500 OOPS: bad config"
)]
#[case::never_listens(
    "start = \"sh -c 'echo waiting; sleep 60 & sleep 60'\"",
    "oops did not accept on port 21 within 10 s: waiting"
)]
fn a_server_that_does_not_accept_is_an_error_with_its_output(
    #[case] start: &str,
    #[case] error: &str,
) {
    let file = format!("name = \"oops\"\n{start}\n");
    let server = ServerUnderTest::parse("oops.toml", &file).unwrap();
    let lab = Lab::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt
        .block_on(server.start(&lab.server, &lab.setup(21, &[])))
        .unwrap_err();
    assert_eq!(e.to_string(), error);
    assert!(lab.server.processes().is_empty(), "what it started is gone");
}

#[test]
fn the_config_and_certificates_are_written_to_the_work_directory() {
    let server = ServerUnderTest::parse(
        "w.toml",
        "name = \"w\"\nstart = \"sh -c 'cat {cert_file} {config_file} >&2; exit 3'\"\nconfig = \"port={port} root={root}\"\n",
    )
    .unwrap();
    let lab = Lab::new();
    let setup = lab.setup(2121, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt.block_on(server.start(&lab.server, &setup)).unwrap_err();
    let root: PathBuf = setup.root.clone();
    let e = e.to_string();
    assert!(
        e.contains(&format!("port=2121 root={}", root.display())),
        "{e}"
    );
    assert!(e.contains("-----END CERTIFICATE-----"), "{e}");
}

#[rstest]
#[case::vsftpd("vsftpd", "vsftpd: version 3.")]
#[case::proftpd("proftpd", "ProFTPD Version 1.3.")]
#[case::pure_ftpd("pure-ftpd", "pure-ftpd v1.0.")]
#[case::pyftpdlib("pyftpdlib", "1.")]
fn builtin_versions_come_from_the_servers(#[case] name: &str, #[case] starts: &str) {
    let Some(server) = builtin(name) else { return };
    let version = server.version();
    assert!(version.starts_with(starts), "{name}: {version:?}");
}

#[rstest]
#[case::vsftpd("vsftpd")]
#[case::proftpd("proftpd")]
#[case::pure_ftpd("pure-ftpd")]
#[case::pyftpdlib("pyftpdlib")]
fn builtin_require_tls_refuses_a_plain_login_and_serves_ftps(#[case] name: &str) {
    let Some(server) = builtin(name) else { return };
    let lab = Lab::new();
    let setup = lab.setup(21, &[ServerSetting::RequireTls]);
    let (rt, running, seen) = lab.serve(&server, &setup, Mode::Explicit, false);
    drop(seen.control);
    let addr = SocketAddr::new(lab.server_addr, 21);
    let (user, pass) = (setup.user.clone(), setup.password.clone());
    let transcript = lab
        .client
        .in_thread(move || {
            let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut c = Control {
                conn: BufReader::new(Box::new(tcp) as Box<dyn Stream>),
                transcript: Vec::new(),
            };
            c.reply();
            let user = c.cmd(
                &format!("USER {user}"),
                &[331, 421, 500, 503, 521, 530, 550],
            );
            if user.starts_with("331") {
                c.cmd(&format!("PASS {pass}"), &[421, 500, 503, 521, 530, 550]);
            }
            c.transcript
        })
        .unwrap();
    assert!(
        !transcript.iter().any(|l| l.starts_with("230")),
        "{name}: {transcript:?}"
    );
    rt.block_on(running.stop());
    assert!(lab.server.processes().is_empty());
}
