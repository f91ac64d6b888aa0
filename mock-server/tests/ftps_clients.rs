//! Real FTPS clients against ftpspec-mock on loopback: curl, lftp, wget, Python's ftplib and
//! suppaftp (rustls). Each downloads and uploads under PROT P, and each policy is tried with
//! at least one client on each side of it. Where a client fails for a known reason, the test
//! asserts that reason as the event log shows it.

use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use ftpspec_mock::{generated, Channel, ClientAuth, EventLog, Ftps, MockServer};
use rstest::rstest;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

struct Setup {
    server: MockServer,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn new(ftps: Ftps) -> Setup {
        let server = MockServer::builder()
            .ftps(ftps)
            .file("/pub/readme.txt", "Hello over TLS\n")
            .dir("/incoming")
            .data_timeout(Duration::from_secs(3))
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tls = server.tls().unwrap();
        tls.write_ca_pem(dir.path().join("ca.pem")).unwrap();
        std::fs::write(dir.path().join("client.pem"), tls.client_cert_pem()).unwrap();
        std::fs::write(dir.path().join("client.key"), tls.client_key_pem()).unwrap();
        let mut upload = vec![0u8; 300_000];
        generated::fill(7, &mut upload);
        std::fs::write(dir.path().join("upload.bin"), &upload).unwrap();
        Setup { server, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn upload_content(&self) -> Vec<u8> {
        std::fs::read(self.path("upload.bin")).unwrap()
    }

    /// `ftp://localhost:PORT` (or ftps://): the name the certificate is for.
    fn url(&self) -> String {
        self.server.url().replace("127.0.0.1", "localhost")
    }

    /// The event log, once the server is done with the connections of clients that have
    /// ended (a client can exit before the server has logged the last of its session).
    fn log(&self) -> EventLog {
        self.server.wait_idle_blocking(Duration::from_secs(5));
        self.server.events()
    }

    /// Runs a client to its end (bounded) and returns its output, success or not.
    async fn run(&self, tool: &str, args: &[&str]) -> Output {
        let found = std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        assert!(found, "the FTP client `{tool}` is not installed: apt-get install {tool} (.ci/run installs every client the tests use)");
        let mut cmd = tokio::process::Command::new(tool);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .kill_on_drop(true)
            .stdin(std::process::Stdio::null());
        match tokio::time::timeout(CLIENT_TIMEOUT, cmd.output()).await {
            Ok(out) => out.unwrap(),
            Err(_) => panic!(
                "{tool} {args:?} did not finish in {CLIENT_TIMEOUT:?}\n{}",
                self.log().transcript()
            ),
        }
    }

    /// Like [`Setup::run`], and panics with everything known unless the client succeeded.
    async fn ok(&self, tool: &str, args: &[&str]) -> Output {
        let out = self.run(tool, args).await;
        assert!(out.status.success(), "{}", self.explain(tool, args, &out));
        out
    }

    fn explain(&self, tool: &str, args: &[&str], out: &Output) -> String {
        format!(
            "{tool} {args:?}: {}\nstdout: {}\nstderr: {}\nserver transcript:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log().transcript()
        )
    }

    fn assert_download(&self, name: &str, len: u64) {
        let data = std::fs::read(self.path(name)).unwrap_or_else(|e| {
            panic!(
                "{name} was not downloaded: {e}\n{}",
                self.log().transcript()
            )
        });
        assert_eq!(data.len() as u64, len);
        assert_eq!(generated::verify(0, &data), Ok(()));
    }

    fn assert_upload(&self, path: &str) {
        let kept = self
            .server
            .file(path)
            .unwrap_or_else(|| panic!("{path} was not uploaded\n{}", self.log().transcript()));
        assert!(
            kept == self.upload_content(),
            "{path} differs from what was sent"
        );
    }

    /// Every data connection was TLS; returns whether each resumed the session.
    fn data_tls(&self) -> Vec<bool> {
        let log = self.log();
        let data = log.data_connections();
        assert!(!data.is_empty(), "no data connection\n{}", log.transcript());
        data.iter()
            .map(|d| {
                d.tls
                    .as_ref()
                    .unwrap_or_else(|| panic!("a plaintext data connection\n{}", log.transcript()))
                    .resumed
            })
            .collect()
    }
}

fn curl_version() -> (u32, u32) {
    let out = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(1).unwrap_or("0.0");
    let mut parts = version.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

// ---------------------------------------------------------------- curl

#[rstest]
#[case::epsv(&[])]
#[case::pasv(&["--disable-epsv"])]
#[case::active(&["-P", "127.0.0.1"])]
#[tokio::test]
async fn curl_explicit(#[case] mode: &[&str]) {
    let s = Setup::new(Ftps::explicit()).await;
    let ca = s.p("ca.pem");
    let url = format!("{}/gen/1M", s.url());
    let mut args = vec!["-sS", "--ssl-reqd", "--cacert", &ca, "--max-time", "20"];
    args.extend_from_slice(mode);
    let mut download = args.clone();
    download.extend(["-o", "got.bin", url.as_str()]);
    if mode.contains(&"-P") && curl_version() < (8, 0) {
        // curl 7.87-7.88 never starts TLS on an active-mode data connection
        // (curl/curl#10666, fixed in 8.0): the server waits for a ClientHello, then gives up.
        let out = s.run("curl", &download).await;
        assert!(
            !out.status.success(),
            "{}",
            s.explain("curl", &download, &out)
        );
        let log = s.log();
        assert_eq!(
            log.tls_failures(),
            [(Channel::Data, "no TLS handshake within 3s")]
        );
        assert!(log.reply_codes().contains(&522), "{}", log.transcript());
        return;
    }
    s.ok("curl", &download).await;
    s.assert_download("got.bin", 1 << 20);
    let target = format!("{}/incoming/up.bin", s.url());
    let mut upload = args.clone();
    upload.extend(["-T", "upload.bin", target.as_str()]);
    s.ok("curl", &upload).await;
    s.assert_upload("/incoming/up.bin");
    // curl passes the control connection's session to its data connections.
    assert_eq!(s.data_tls(), [true, true]);
}

#[rstest]
#[case::ccc_mode_passive("passive", false)]
#[case::ccc_mode_active("active", true)]
#[tokio::test]
async fn curl_ccc(#[case] ccc_mode: &str, #[case] sends_close_notify: bool) {
    let s = Setup::new(Ftps::explicit()).await;
    let ca = s.p("ca.pem");
    let url = format!("{}/gen/64K", s.url());
    s.ok(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "--ftp-ssl-ccc",
            "--ftp-ssl-ccc-mode",
            ccc_mode,
            "--cacert",
            &ca,
            "-o",
            "got.bin",
            &url,
        ],
    )
    .await;
    s.assert_download("got.bin", 64 << 10);
    let log = s.log();
    assert_eq!(
        log.control_cleared(),
        [sends_close_notify],
        "{}",
        log.transcript()
    );
    // After CCC, the control channel is plaintext but the data stays protected.
    let ccc_at = log.commands().iter().position(|c| *c == "CCC").unwrap();
    assert!(
        log.commands()[ccc_at..].contains(&"RETR 64K"),
        "{}",
        log.transcript()
    );
    assert_eq!(s.data_tls().len(), 1);
}

#[tokio::test]
async fn curl_implicit() {
    let s = Setup::new(Ftps::implicit()).await;
    assert!(s.url().starts_with("ftps://"));
    let ca = s.p("ca.pem");
    let url = format!("{}/gen/1M", s.url());
    s.ok("curl", &["-sS", "--cacert", &ca, "-o", "got.bin", &url])
        .await;
    s.assert_download("got.bin", 1 << 20);
    let target = format!("{}/incoming/up.bin", s.url());
    s.ok(
        "curl",
        &["-sS", "--cacert", &ca, "-T", "upload.bin", &target],
    )
    .await;
    s.assert_upload("/incoming/up.bin");
    let log = s.log();
    assert!(
        !log.commands().contains(&"AUTH TLS"),
        "{}",
        log.transcript()
    );
    assert_eq!(log.control_tls().len(), 2);
    assert_eq!(s.data_tls(), [true, true]);
}

#[tokio::test]
async fn curl_against_the_policies() {
    // Session reuse required: curl resumes, so it passes.
    let s = Setup::new(Ftps::explicit().require_session_reuse(true)).await;
    let ca = s.p("ca.pem");
    let url = format!("{}/pub/readme.txt", s.url());
    s.ok(
        "curl",
        &["-sS", "--ssl-reqd", "--cacert", &ca, "-o", "r.txt", &url],
    )
    .await;
    assert_eq!(s.data_tls(), [true]);

    // TLS required on control and data.
    let s = Setup::new(Ftps::explicit().require_tls()).await;
    let ca = s.p("ca.pem");
    let url = format!("{}/pub/readme.txt", s.url());
    let out = s.run("curl", &["-sS", &url]).await;
    assert_eq!(
        out.status.code(),
        Some(67),
        "{}",
        s.explain("curl", &[], &out)
    );
    let out = s
        .run("curl", &["-sS", "--ftp-ssl-control", "--cacert", &ca, &url])
        .await;
    assert_eq!(
        out.status.code(),
        Some(19),
        "{}",
        s.explain("curl", &[], &out)
    );
    let codes = s.log().reply_codes();
    assert!(
        codes.contains(&530) && codes.contains(&521),
        "{}",
        s.log().transcript()
    );
    s.ok(
        "curl",
        &["-sS", "--ssl-reqd", "--cacert", &ca, "-o", "r.txt", &url],
    )
    .await;

    // CCC refused: curl carries on under TLS.
    let s = Setup::new(Ftps::explicit().allow_ccc(false)).await;
    let ca = s.p("ca.pem");
    let url = format!("{}/pub/readme.txt", s.url());
    s.ok(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "--ftp-ssl-ccc",
            "--cacert",
            &ca,
            "-o",
            "r.txt",
            &url,
        ],
    )
    .await;
    let log = s.log();
    assert!(log.reply_codes().contains(&534) && log.control_cleared().is_empty());
}

#[tokio::test]
async fn curl_client_certificate() {
    let s = Setup::new(Ftps::explicit().client_auth(ClientAuth::Required)).await;
    let (ca, cert, key) = (s.p("ca.pem"), s.p("client.pem"), s.p("client.key"));
    let url = format!("{}/pub/readme.txt", s.url());
    let out = s
        .run("curl", &["-sS", "--ssl-reqd", "--cacert", &ca, &url])
        .await;
    assert!(!out.status.success());
    assert_eq!(s.log().tls_failures().len(), 1, "{}", s.log().transcript());
    s.ok(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "--cacert",
            &ca,
            "--cert",
            &cert,
            "--key",
            &key,
            "-o",
            "r.txt",
            &url,
        ],
    )
    .await;
    let control = s.log().control_tls();
    assert_eq!(control.len(), 1);
    assert!(control[0].1.client_certificate);
}

// ---------------------------------------------------------------- lftp

fn lftp_settings(s: &Setup, extra: &str) -> String {
    format!(
        "set ssl:ca-file {}; set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1; {extra}",
        s.p("ca.pem")
    )
}

#[tokio::test]
async fn lftp_explicit_download_upload_and_ccc() {
    let s = Setup::new(Ftps::explicit().require_tls().require_session_reuse(true)).await;
    let port = s.server.addr().port().to_string();
    let script = format!(
        "{} get /gen/1M -o got.bin; put upload.bin -o /incoming/up.bin; bye",
        lftp_settings(&s, "set ftp:ssl-force yes; set ftp:ssl-protect-data yes;")
    );
    s.ok(
        "lftp",
        &["-e", &script, "-u", "test,test", "-p", &port, "localhost"],
    )
    .await;
    s.assert_download("got.bin", 1 << 20);
    s.assert_upload("/incoming/up.bin");
    assert_eq!(s.data_tls(), [true, true]);

    let s = Setup::new(Ftps::explicit()).await;
    let port = s.server.addr().port().to_string();
    let script = format!(
        "{} get /gen/64K -o got.bin; ls /pub; bye",
        lftp_settings(&s, "set ftp:ssl-force yes; set ftp:ssl-use-ccc yes;")
    );
    let out = s
        .ok(
            "lftp",
            &["-e", &script, "-u", "test,test", "-p", &port, "localhost"],
        )
        .await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("readme.txt"));
    s.assert_download("got.bin", 64 << 10);
    assert_eq!(
        s.log().control_cleared(),
        [true],
        "{}",
        s.log().transcript()
    );
}

#[tokio::test]
async fn lftp_implicit() {
    let s = Setup::new(Ftps::implicit()).await;
    let script = format!(
        "{} get /gen/1M -o got.bin; put upload.bin -o /incoming/up.bin; bye",
        lftp_settings(&s, "")
    );
    s.ok("lftp", &["-e", &script, "-u", "test,test", &s.url()])
        .await;
    s.assert_download("got.bin", 1 << 20);
    s.assert_upload("/incoming/up.bin");
    assert_eq!(s.data_tls().len(), 2);
}

// ---------------------------------------------------------------- wget

#[rstest]
#[case::explicit(false)]
#[case::implicit(true)]
#[tokio::test]
async fn wget_download(#[case] implicit: bool) {
    let ftps = if implicit {
        Ftps::implicit()
    } else {
        Ftps::explicit()
    };
    let s = Setup::new(ftps.require_session_reuse(true)).await;
    let ca = format!("--ca-certificate={}", s.p("ca.pem"));
    let url = format!("{}/gen/1M", s.url()).replace("ftp://", "ftps://");
    let mut args = vec!["-q", "--tries=1", "--timeout=10", &ca, "-O", "got.bin"];
    if implicit {
        args.push("--ftps-implicit");
    }
    args.push(&url);
    s.ok("wget", &args).await;
    s.assert_download("got.bin", 1 << 20);
    assert_eq!(s.data_tls(), [true]);
}

// ---------------------------------------------------------------- Python ftplib

const FTPLIB: &str = r#"
import ftplib, io, ssl, sys
port, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
f = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=ca), timeout=10)
f.connect("localhost", port)
f.login("test", "test")
if mode != "clear":
    f.prot_p()
buf = io.BytesIO()
f.retrbinary("RETR /gen/1M", buf.write)
assert len(buf.getvalue()) == 1 << 20, len(buf.getvalue())
open("got.bin", "wb").write(buf.getvalue())
f.storbinary("STOR /incoming/up.bin", open("upload.bin", "rb"))
if mode == "ccc":
    f.ccc()
    print(f.pwd())
f.quit()
"#;

#[rstest]
#[case::prot_p("private")]
#[case::prot_c("clear")]
#[case::ccc("ccc")]
#[tokio::test]
async fn python_ftplib(#[case] mode: &str) {
    let s = Setup::new(Ftps::explicit()).await;
    let port = s.server.addr().port().to_string();
    s.ok("python3", &["-c", FTPLIB, &port, &s.p("ca.pem"), mode])
        .await;
    s.assert_download("got.bin", 1 << 20);
    s.assert_upload("/incoming/up.bin");
    let log = s.log();
    if mode == "clear" {
        assert!(log.data_connections().iter().all(|d| d.tls.is_none()));
    } else {
        // ftplib does not pass the control connection's session to its data connections.
        assert_eq!(s.data_tls(), [false, false]);
    }
    assert_eq!(
        log.control_cleared(),
        if mode == "ccc" { vec![true] } else { vec![] }
    );
}

#[rstest]
#[case::session_reuse_required(Ftps::explicit().require_session_reuse(true), "private", 522)]
#[case::data_tls_required(Ftps::explicit().require_data_tls(true), "clear", 521)]
#[tokio::test]
async fn python_ftplib_refused(#[case] ftps: Ftps, #[case] mode: &str, #[case] code: u16) {
    let s = Setup::new(ftps).await;
    let port = s.server.addr().port().to_string();
    let out = s
        .run("python3", &["-c", FTPLIB, &port, &s.p("ca.pem"), mode])
        .await;
    assert!(!out.status.success(), "{}", s.explain("python3", &[], &out));
    let log = s.log();
    assert!(log.reply_codes().contains(&code), "{}", log.transcript());
    if code == 522 {
        assert_eq!(log.tls_failures().len(), 1, "{}", log.transcript());
        assert!(log.tls_failures()[0].1.contains("did not resume"));
    }
}

// ---------------------------------------------------------------- suppaftp (rustls)

fn suppaftp_connector(ca_pem: &str) -> suppaftp::RustlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    suppaftp::RustlsConnector::from(Arc::new(config))
}

#[rstest]
#[case::default_policies(Ftps::explicit(), false)]
#[case::session_reuse_required(Ftps::explicit().require_session_reuse(true).require_tls(), false)]
#[case::ccc(Ftps::explicit(), true)]
#[tokio::test]
async fn suppaftp_rustls(#[case] ftps: Ftps, #[case] ccc: bool) {
    let s = Setup::new(ftps).await;
    let addr = s.server.addr();
    let ca = s.server.tls().unwrap().ca_pem().to_owned();
    let upload = s.upload_content();
    let sent = upload.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let step = |what: &'static str| move |e: suppaftp::FtpError| format!("{what}: {e:?}");
        let ftp = suppaftp::RustlsFtpStream::connect(addr).map_err(step("connect"))?;
        let mut ftp = ftp
            .into_secure(suppaftp_connector(&ca), "localhost")
            .map_err(step("into_secure"))?;
        ftp.login("test", "test").map_err(step("login"))?;
        if ccc {
            ftp = ftp
                .clear_command_channel()
                .map_err(step("clear_command_channel"))?;
        }
        ftp.transfer_type(suppaftp::types::FileType::Binary)
            .map_err(step("TYPE I"))?;
        let data = ftp
            .retr_as_buffer("/gen/1M")
            .map_err(step("RETR"))?
            .into_inner();
        assert_eq!(generated::verify(0, &data), Ok(()));
        ftp.put_file("/incoming/up.bin", &mut std::io::Cursor::new(sent))
            .map_err(step("STOR"))?;
        ftp.quit().map_err(step("QUIT"))?;
        Ok(())
    })
    .await
    .unwrap();
    if let Err(e) = result {
        panic!("suppaftp failed at {e}\n{}", s.log().transcript());
    }
    s.assert_upload("/incoming/up.bin");
    // suppaftp reuses its rustls config, so its data connections resume the session.
    assert_eq!(s.data_tls(), [true, true]);
    // suppaftp 12's CCC drops TLS without close_notify and goes straight on in plaintext; the
    // server sees plaintext within its wait and sends no close_notify of its own (one would
    // be taken for the reply to the next command).
    let cleared: &[bool] = if ccc { &[false] } else { &[] };
    assert_eq!(s.log().control_cleared(), cleared);
}
