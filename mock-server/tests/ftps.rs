//! FTPS (RFC 2228, RFC 4217) with a raw TLS driver: exact replies, the order rules, every
//! policy on both of its sides, the CCC handover byte for byte, and bad input. Real clients
//! are in `ftps_clients.rs`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ftpspec_mock::tls::RecordReader;
use ftpspec_mock::{generated, Channel, ClientAuth, Ftps, MockServer, TlsVersion};
use rstest::rstest;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::either::Either;

use common::TIMEOUT;

type ControlTls = tokio_rustls::client::TlsStream<RecordReader<TcpStream>>;
type Io = Either<TcpStream, Box<ControlTls>>;

const README: &str = "Hello over TLS\n";

async fn server(ftps: Ftps) -> MockServer {
    MockServer::builder()
        .ftps(ftps)
        .file("/pub/readme.txt", README)
        .dir("/incoming")
        .data_timeout(Duration::from_secs(2))
        .start()
        .await
        .unwrap()
}

/// What the test client presents and accepts.
#[derive(Clone, Copy, Default)]
struct Opts {
    no_resumption: bool,
    client_cert: bool,
    tls13_only: bool,
    tls12_only: bool,
}

fn client_config(server: &MockServer, opts: Opts) -> Arc<rustls::ClientConfig> {
    let tls = server.tls().expect("an FTPS server");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(tls.ca_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider);
    let builder = if opts.tls13_only {
        builder.with_protocol_versions(&[&rustls::version::TLS13])
    } else if opts.tls12_only {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .unwrap()
    .with_root_certificates(roots);
    let mut cfg = if opts.client_cert {
        let chain = CertificateDer::pem_slice_iter(tls.client_cert_pem().as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(tls.client_key_pem().as_bytes()).unwrap();
        builder.with_client_auth_cert(chain, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    if opts.no_resumption {
        cfg.resumption = rustls::client::Resumption::disabled();
    }
    Arc::new(cfg)
}

fn name() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

/// A raw FTPS client: every step explicit, so each test pins one behaviour.
struct Client {
    io: Option<BufReader<Io>>,
    tls: Arc<rustls::ClientConfig>,
}

impl Client {
    async fn plain(server: &MockServer, tls: Arc<rustls::ClientConfig>) -> Client {
        let tcp = TcpStream::connect(server.addr()).await.unwrap();
        let mut c = Client {
            io: Some(BufReader::new(Either::Left(tcp))),
            tls,
        };
        assert_eq!(c.reply().await.0, 220);
        c
    }

    async fn implicit(server: &MockServer, tls: Arc<rustls::ClientConfig>) -> Client {
        let tcp = TcpStream::connect(server.addr()).await.unwrap();
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name(), RecordReader::new(tcp))
            .await
            .unwrap();
        let mut c = Client {
            io: Some(BufReader::new(Either::Right(Box::new(stream)))),
            tls,
        };
        assert_eq!(c.reply().await.0, 220);
        c
    }

    fn io(&mut self) -> &mut BufReader<Io> {
        self.io.as_mut().expect("control connection in place")
    }

    async fn send(&mut self, bytes: &[u8]) {
        let io = self.io().get_mut();
        io.write_all(bytes).await.unwrap();
        io.flush().await.unwrap();
    }

    async fn reply(&mut self) -> (u16, String) {
        let read = async {
            let mut text = String::new();
            let mut line = String::new();
            if self.io().read_line(&mut line).await.unwrap_or(0) == 0 {
                return (0, String::new());
            }
            text.push_str(&line);
            let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            if line.as_bytes().get(3) == Some(&b'-') {
                loop {
                    let mut next = String::new();
                    if self.io().read_line(&mut next).await.unwrap_or(0) == 0 {
                        break;
                    }
                    text.push_str(&next);
                    if next.starts_with(&format!("{code} ")) {
                        break;
                    }
                }
            }
            (code, text)
        };
        tokio::time::timeout(TIMEOUT, read)
            .await
            .expect("no reply within the test timeout")
    }

    async fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    async fn expect(&mut self, line: &str, code: u16) -> String {
        let (got, text) = self.cmd(line).await;
        assert_eq!(got, code, "{line} -> {text}");
        text
    }

    /// The control connection, out of its buffer (which must be empty).
    fn take(&mut self) -> Io {
        let io = self.io.take().unwrap();
        assert!(io.buffer().is_empty(), "unread bytes: {:?}", io.buffer());
        io.into_inner()
    }

    async fn auth(&mut self) {
        self.expect("AUTH TLS", 234).await;
        let Either::Left(tcp) = self.take() else {
            panic!("already TLS")
        };
        let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name(), RecordReader::new(tcp))
            .await
            .unwrap();
        self.io = Some(BufReader::new(Either::Right(Box::new(stream))));
    }

    async fn login(&mut self) {
        self.expect("USER test", 331).await;
        self.expect("PASS test", 230).await;
    }

    async fn protect(&mut self) {
        self.expect("PBSZ 0", 200).await;
        self.expect("PROT P", 200).await;
    }

    /// CCC: read the 200 under TLS, optionally send our close_notify, read the server's, and
    /// go on in plaintext on the same socket. `pipelined` is sent under TLS right after CCC.
    async fn ccc(
        &mut self,
        close_notify: bool,
        pipelined: Option<&str>,
        plaintext_at_once: Option<&str>,
    ) {
        let mut bytes = b"CCC\r\n".to_vec();
        if let Some(line) = pipelined {
            bytes.extend_from_slice(format!("{line}\r\n").as_bytes());
        }
        self.send(&bytes).await;
        let (code, text) = self.reply().await;
        assert_eq!(code, 200, "{text}");
        let Either::Right(mut tls) = self.take() else {
            panic!("CCC on a plain connection")
        };
        if close_notify {
            tls.get_mut().1.send_close_notify();
            tls.flush().await.unwrap();
        }
        if let Some(line) = plaintext_at_once {
            // close_notify and the first plaintext command in one segment: the server must
            // not swallow the command into its TLS layer.
            let (records, conn) = tls.get_mut();
            conn.send_close_notify();
            let mut wire = Vec::new();
            conn.write_tls(&mut wire).unwrap();
            wire.extend_from_slice(format!("{line}\r\n").as_bytes());
            records.get_mut().write_all(&wire).await.unwrap();
        }
        let mut rest = Vec::new();
        tokio::time::timeout(TIMEOUT, tls.read_to_end(&mut rest))
            .await
            .expect("no close_notify from the server")
            .expect("the server's close_notify");
        assert!(rest.is_empty(), "protected bytes after CCC's 200: {rest:?}");
        let (records, _) = (*tls).into_inner();
        self.io = Some(BufReader::new(Either::Left(records.into_inner())));
    }

    async fn pasv(&mut self) -> SocketAddr {
        let text = self.expect("PASV", 227).await;
        SocketAddr::V4(ftpspec_mock::wire::parse_227(text.trim_end()).unwrap())
    }

    /// PASV + `line`; TLS on the data connection with `data_tls`. Returns what was read (or
    /// the error) and the final reply.
    async fn download(
        &mut self,
        line: &str,
        data_tls: Option<Arc<rustls::ClientConfig>>,
    ) -> (std::io::Result<Vec<u8>>, (u16, String)) {
        let addr = self.pasv().await;
        let tcp = TcpStream::connect(addr).await.unwrap();
        self.expect(line, 150).await;
        let mut buf = Vec::new();
        let read = match data_tls {
            None => {
                let mut tcp = tcp;
                tokio::time::timeout(TIMEOUT, tcp.read_to_end(&mut buf)).await
            }
            Some(cfg) => {
                let connect = tokio_rustls::TlsConnector::from(cfg).connect(name(), tcp);
                match tokio::time::timeout(TIMEOUT, connect).await.unwrap() {
                    Ok(mut s) => tokio::time::timeout(TIMEOUT, s.read_to_end(&mut buf)).await,
                    Err(e) => Ok(Err(e)),
                }
            }
        };
        let read = read.expect("data read timed out").map(|_| buf);
        (read, self.reply().await)
    }
}

fn assert_readme(read: std::io::Result<Vec<u8>>, reply: (u16, String)) {
    assert_eq!(reply.0, 226, "{}", reply.1);
    assert_eq!(read.unwrap(), README.as_bytes());
}

// ---------------------------------------------------------------- the protocol

#[tokio::test]
async fn explicit_session_with_prot_p_prot_c_and_ccc() {
    let server = server(Ftps::explicit()).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    let (read, reply) = c.download("RETR /pub/readme.txt", Some(tls.clone())).await;
    assert_readme(read, reply);
    c.expect("PROT C", 200).await;
    let (read, reply) = c.download("RETR /pub/readme.txt", None).await;
    assert_readme(read, reply);
    c.expect("PROT P", 200).await;
    c.ccc(true, None, None).await;
    c.expect("PWD", 257).await;
    // CCC leaves the data protection as negotiated (RFC 4217 §6).
    let (read, reply) = c.download("RETR /pub/readme.txt", Some(tls)).await;
    assert_readme(read, reply);
    c.expect("QUIT", 221).await;
    wait_for(&server, |log| {
        log.events
            .iter()
            .any(|e| matches!(e.kind, ftpspec_mock::EventKind::Disconnected { .. }))
    })
    .await;

    let log = server.events();
    let control = log.control_tls();
    assert_eq!(control.len(), 1, "{}", log.transcript());
    assert!(!control[0].1.resumed);
    let data = log.data_connections();
    let tls_of: Vec<Option<bool>> = data
        .iter()
        .map(|d| d.tls.as_ref().map(|t| t.resumed))
        .collect();
    assert_eq!(
        tls_of,
        [Some(true), None, Some(true)],
        "{}",
        log.transcript()
    );
    assert_eq!(log.control_cleared(), [true]);
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in common::redactions() {
        settings.add_filter(pattern, replacement);
    }
    settings.bind(|| insta::assert_snapshot!("explicit_ftps_dialogue", log.dialogue()));
}

#[tokio::test]
async fn implicit_session_starts_with_tls() {
    let server = server(Ftps::implicit()).await;
    assert!(server.url().starts_with("ftps://127.0.0.1:"));
    let tls = client_config(&server, Opts::default());
    let mut c = Client::implicit(&server, tls.clone()).await;
    c.expect("FEAT", 211).await;
    c.login().await;
    c.protect().await;
    let (read, reply) = c.download("RETR /pub/readme.txt", Some(tls)).await;
    assert_readme(read, reply);
    c.expect("QUIT", 221).await;
    let log = server.events();
    let first_tls = log
        .events
        .iter()
        .position(|e| matches!(e.kind, ftpspec_mock::EventKind::TlsEstablished { .. }))
        .unwrap();
    let first_reply = log
        .events
        .iter()
        .position(|e| matches!(e.kind, ftpspec_mock::EventKind::Reply { .. }))
        .unwrap();
    assert!(first_tls < first_reply, "{}", log.transcript());
    assert!(
        !log.dialogue().contains("AUTH TLS"),
        "implicit FEAT lists no AUTH"
    );
}

#[tokio::test]
async fn commands_in_the_wrong_order_or_with_bad_arguments() {
    let plain_server = MockServer::start().await;
    let mut c = Client {
        io: Some(BufReader::new(Either::Left(
            TcpStream::connect(plain_server.addr()).await.unwrap(),
        ))),
        tls: Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        ),
    };
    c.reply().await;
    c.expect("AUTH TLS", 502).await;
    assert!(!c.expect("FEAT", 211).await.contains("AUTH"));

    let server = server(Ftps::explicit()).await;
    let mut c = Client::plain(&server, client_config(&server, Opts::default())).await;
    let feat = c.expect("FEAT", 211).await;
    for f in [" AUTH TLS", " PBSZ", " PROT", " CCC"] {
        assert!(feat.contains(f), "{feat}");
    }
    c.expect("PBSZ 0", 503).await;
    c.expect("PROT P", 503).await;
    c.expect("AUTH KERBEROS_V4", 504).await;
    c.expect("CCC", 530).await;
    c.login().await;
    c.expect("CCC", 533).await;
    c.auth().await;
    // RFC 2228 §3: after AUTH the user logs in again.
    c.expect("PWD", 530).await;
    c.login().await;
    c.expect("PROT P", 503).await;
    c.expect("PBSZ lots", 501).await;
    c.expect("PBSZ 0", 200).await;
    c.expect("PROT S", 536).await;
    c.expect("PROT E", 536).await;
    c.expect("PROT Q", 504).await;
    c.expect("PROT P", 200).await;
    c.expect("AUTH TLS", 503).await;
    c.expect("NOOP", 200).await;
}

#[tokio::test]
async fn require_control_tls_refuses_login_in_plaintext() {
    let server = server(Ftps::explicit().require_control_tls(true)).await;
    let mut c = Client::plain(&server, client_config(&server, Opts::default())).await;
    let text = c.expect("USER test", 530).await;
    assert!(text.contains("AUTH TLS"), "{text}");
    c.expect("PASS test", 530).await;
    c.auth().await;
    c.login().await;
}

#[tokio::test]
async fn require_data_tls_refuses_clear_transfers_with_521() {
    let server = server(Ftps::explicit().require_data_tls(true)).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.pasv().await;
    let text = c.expect("RETR /pub/readme.txt", 521).await;
    assert!(text.contains("PROT P"), "{text}");
    c.expect("PBSZ 0", 200).await;
    c.expect("PROT C", 200).await;
    c.pasv().await;
    c.expect("LIST", 521).await;
    c.expect("PROT P", 200).await;
    let (read, reply) = c.download("RETR /pub/readme.txt", Some(tls)).await;
    assert_readme(read, reply);
}

#[rstest]
#[case::resumed_with_policy(true, true, 226)]
#[case::new_session_with_policy(true, false, 522)]
#[case::new_session_without_policy(false, false, 226)]
#[tokio::test]
async fn session_reuse_policy(#[case] required: bool, #[case] resume: bool, #[case] code: u16) {
    let server = server(Ftps::explicit().require_session_reuse(required)).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    let data_tls = if resume {
        tls.clone()
    } else {
        client_config(
            &server,
            Opts {
                no_resumption: true,
                ..Opts::default()
            },
        )
    };
    let (read, (got, text)) = c.download("RETR /pub/readme.txt", Some(data_tls)).await;
    assert_eq!(got, code, "{text}");
    let log = server.events();
    let data = &log.data_connections()[0];
    assert_eq!(
        data.tls.as_ref().map(|t| t.resumed),
        Some(resume),
        "{}",
        log.transcript()
    );
    if code == 226 {
        assert_eq!(read.unwrap(), README.as_bytes());
    } else {
        assert!(text.contains("session reuse required"), "{text}");
        assert!(
            read.map_or(true, |b| b.is_empty()),
            "no file data without reuse"
        );
        let failures = log.tls_failures();
        assert_eq!(failures.len(), 1, "{}", log.transcript());
        assert_eq!(failures[0].0, Channel::Data);
    }
    // A second transfer on the same control connection resumes too (reusable tickets).
    if resume {
        let (read, reply) = c.download("RETR /pub/readme.txt", Some(tls)).await;
        assert_readme(read, reply);
        assert_eq!(
            server.events().data_connections()[1]
                .tls
                .as_ref()
                .map(|t| t.resumed),
            Some(true)
        );
    }
}

#[rstest]
#[case::client_close_notify(true, None, false)]
#[case::no_client_close_notify(false, None, false)]
#[case::pipelined_with_close_notify(true, Some("PWD"), false)]
#[case::pipelined_without_close_notify(false, Some("PWD"), false)]
#[case::close_notify_and_plaintext_in_one_segment(false, None, true)]
#[tokio::test]
async fn ccc_hands_over_exactly(
    #[case] close_notify: bool,
    #[case] pipelined: Option<&str>,
    #[case] plaintext_at_once: bool,
) {
    let server = server(Ftps::explicit()).await;
    let mut c = Client::plain(&server, client_config(&server, Opts::default())).await;
    c.auth().await;
    c.login().await;
    c.ccc(close_notify, pipelined, plaintext_at_once.then_some("PWD"))
        .await;
    if pipelined.is_some() || plaintext_at_once {
        // The command sent under TLS before the switch is answered, in plaintext.
        assert_eq!(c.reply().await.0, 257);
    }
    c.expect("PWD", 257).await;
    c.expect("NOOP", 200).await;
    c.expect("QUIT", 221).await;
    let log = server.events();
    assert_eq!(
        log.control_cleared(),
        [close_notify || plaintext_at_once],
        "{}",
        log.transcript()
    );
    assert!(log.warnings().is_empty(), "{}", log.transcript());
}

#[tokio::test]
async fn ccc_refused_by_policy_keeps_tls() {
    let server = server(Ftps::explicit().allow_ccc(false)).await;
    let mut c = Client::plain(&server, client_config(&server, Opts::default())).await;
    assert!(!c.expect("FEAT", 211).await.contains("CCC"));
    c.auth().await;
    c.login().await;
    c.expect("CCC", 534).await;
    c.expect("PWD", 257).await;
    assert!(server.events().control_cleared().is_empty());
}

#[tokio::test]
async fn tls_versions_offered() {
    let server = server(Ftps::explicit().versions(&[TlsVersion::Tls12])).await;
    let mut c = Client::plain(&server, client_config(&server, Opts::default())).await;
    c.auth().await;
    c.expect("NOOP", 200).await;
    assert_eq!(server.events().control_tls()[0].1.version, "TLSv1.2");

    let mut c = Client::plain(
        &server,
        client_config(
            &server,
            Opts {
                tls13_only: true,
                ..Opts::default()
            },
        ),
    )
    .await;
    c.expect("AUTH TLS", 234).await;
    let Either::Left(tcp) = c.take() else {
        panic!()
    };
    let err = tokio_rustls::TlsConnector::from(c.tls.clone())
        .connect(name(), tcp)
        .await
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("version"), "{err}");
    wait_for(&server, |log| log.tls_failures().len() == 1).await;
    // The server goes on serving.
    let mut c = Client::plain(&server, client_config(&server, Opts::default())).await;
    c.auth().await;
    c.expect("NOOP", 200).await;
}

#[rstest]
#[case::required_with_cert(ClientAuth::Required, true, true)]
#[case::required_without_cert(ClientAuth::Required, false, false)]
#[case::optional_without_cert(ClientAuth::Optional, false, true)]
#[tokio::test]
async fn client_certificates(#[case] policy: ClientAuth, #[case] present: bool, #[case] ok: bool) {
    let server = server(Ftps::implicit().client_auth(policy)).await;
    let tls = client_config(
        &server,
        Opts {
            client_cert: present,
            ..Opts::default()
        },
    );
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name(), RecordReader::new(tcp))
        .await
        .unwrap();
    // With TLS 1.3 the client learns of a refused certificate when it reads.
    let mut first = [0u8; 3];
    let read = tokio::time::timeout(TIMEOUT, stream.read_exact(&mut first))
        .await
        .unwrap();
    assert_eq!(read.is_ok(), ok, "{read:?}");
    if ok {
        assert_eq!(&first, b"220");
        let log = server.events();
        assert_eq!(log.control_tls()[0].1.client_certificate, present);
    } else {
        wait_for(&server, |log| log.tls_failures().len() == 1).await;
        let log = server.events();
        assert_eq!(log.tls_failures()[0].0, Channel::Control);
    }
}

// ---------------------------------------------------------------- bad input

#[tokio::test]
async fn plaintext_on_the_implicit_port_is_closed_and_logged() {
    let server = server(Ftps::implicit()).await;
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    tcp.write_all(b"USER anonymous\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(TIMEOUT, tcp.read_to_end(&mut buf))
        .await
        .expect("closed");
    assert!(
        !buf.starts_with(b"220"),
        "no FTP reply in plaintext: {buf:?}"
    );
    wait_for(&server, |log| log.tls_failures().len() == 1).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::implicit(&server, tls).await;
    c.login().await;
}

#[tokio::test]
async fn a_tls_handshake_on_the_plain_port_gets_500_and_a_close() {
    let server = server(Ftps::explicit()).await;
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    let mut greeting = [0u8; 5];
    tcp.read_exact(&mut greeting).await.unwrap();
    let tls = client_config(&server, Opts::default());
    let err = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(name(), tcp)
        .await
        .unwrap_err();
    assert!(!err.to_string().is_empty());
    // The warning is logged before the 500 goes out; wait for both.
    wait_for(&server, |log| {
        !log.warnings().is_empty() && log.reply_codes().contains(&500)
    })
    .await;
    let log = server.events();
    assert!(log.reply_codes().contains(&500), "{}", log.transcript());
    assert!(
        log.warnings()
            .iter()
            .any(|w| w.contains("TLS handshake on a plaintext control connection")),
        "{}",
        log.transcript()
    );
    let mut c = Client::plain(&server, tls).await;
    c.auth().await;
}

#[tokio::test]
async fn an_aborted_handshake_is_logged_and_others_are_served() {
    let server = server(Ftps::explicit()).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::plain(&server, tls.clone()).await;
    c.expect("AUTH TLS", 234).await;
    let Either::Left(mut tcp) = c.take() else {
        panic!()
    };
    tcp.write_all(b"\x16\x03\x01\x00\x40not a client hello")
        .await
        .unwrap();
    drop(tcp);
    wait_for(&server, |log| log.tls_failures().len() == 1).await;
    let mut c = Client::plain(&server, tls).await;
    c.auth().await;
    c.login().await;
}

#[tokio::test]
async fn plaintext_pipelined_after_auth_is_discarded() {
    let server = server(Ftps::explicit()).await;
    let mut c = Client::plain(&server, client_config(&server, Opts::default())).await;
    c.send(b"AUTH TLS\r\nUSER injected\r\n").await;
    assert_eq!(c.reply().await.0, 234);
    let Either::Left(tcp) = c.take() else {
        panic!()
    };
    let stream = tokio_rustls::TlsConnector::from(c.tls.clone())
        .connect(name(), RecordReader::new(tcp))
        .await
        .unwrap();
    c.io = Some(BufReader::new(Either::Right(Box::new(stream))));
    c.expect("PWD", 530).await;
    let log = server.events();
    assert!(
        !log.commands().contains(&"USER injected"),
        "{}",
        log.transcript()
    );
    assert!(
        log.warnings().iter().any(|w| w.contains("after AUTH")),
        "{}",
        log.transcript()
    );
}

#[tokio::test]
async fn a_data_connection_without_handshake_gets_522() {
    let server = server(Ftps::explicit()).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::plain(&server, tls).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    let addr = c.pasv().await;
    let _silent = TcpStream::connect(addr).await.unwrap();
    c.expect("RETR /pub/readme.txt", 150).await;
    let (code, text) = c.reply().await;
    assert_eq!(code, 522, "{text}");
    let log = server.events();
    assert_eq!(
        log.tls_failures(),
        [(Channel::Data, "no TLS handshake within 2s")]
    );
    c.expect("NOOP", 200).await;
}

#[tokio::test]
async fn an_upload_without_close_notify_is_kept_and_flagged() {
    let server = server(Ftps::explicit()).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    let addr = c.pasv().await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    c.expect("STOR /incoming/up.bin", 150).await;
    let mut data = tokio_rustls::TlsConnector::from(tls)
        .connect(name(), tcp)
        .await
        .unwrap();
    let mut content = vec![0u8; 100_000];
    generated::fill(0, &mut content);
    data.write_all(&content).await.unwrap();
    data.flush().await.unwrap();
    // Close the TCP connection under the TLS layer: no close_notify.
    let (mut tcp, _) = data.into_inner();
    tcp.shutdown().await.unwrap();
    drop(tcp);
    assert_eq!(c.reply().await.0, 226);
    assert_eq!(server.file("/incoming/up.bin").unwrap(), content);
    let log = server.events();
    assert!(
        log.warnings()
            .iter()
            .any(|w| w.contains("without close_notify")),
        "{}",
        log.transcript()
    );
}

async fn wait_for(server: &MockServer, check: impl Fn(&ftpspec_mock::EventLog) -> bool) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !check(&server.events()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting; transcript:\n{}",
            server.events().transcript()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ------------------------------------------------- the data channel's TLS knobs (FIELD 33-37)

/// A client session store that counts the TLS 1.3 tickets received.
#[derive(Debug)]
struct CountingStore {
    inner: rustls::client::ClientSessionMemoryCache,
    tickets: std::sync::atomic::AtomicUsize,
}

impl CountingStore {
    fn tickets(&self) -> usize {
        self.tickets.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl rustls::client::ClientSessionStore for CountingStore {
    fn set_kx_hint(&self, name: ServerName<'static>, group: rustls::NamedGroup) {
        self.inner.set_kx_hint(name, group)
    }
    fn kx_hint(&self, name: &ServerName<'_>) -> Option<rustls::NamedGroup> {
        self.inner.kx_hint(name)
    }
    fn set_tls12_session(
        &self,
        name: ServerName<'static>,
        value: rustls::client::Tls12ClientSessionValue,
    ) {
        self.inner.set_tls12_session(name, value)
    }
    fn tls12_session(
        &self,
        name: &ServerName<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        self.inner.tls12_session(name)
    }
    fn remove_tls12_session(&self, name: &ServerName<'static>) {
        self.inner.remove_tls12_session(name)
    }
    fn insert_tls13_ticket(
        &self,
        name: ServerName<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        self.tickets
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.insert_tls13_ticket(name, value)
    }
    fn take_tls13_ticket(
        &self,
        name: &ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        self.inner.take_tls13_ticket(name)
    }
}

/// A TLS 1.3 client whose session store counts the tickets it receives.
fn counting_client(server: &MockServer) -> (Arc<rustls::ClientConfig>, Arc<CountingStore>) {
    let store = Arc::new(CountingStore {
        inner: rustls::client::ClientSessionMemoryCache::new(8),
        tickets: Default::default(),
    });
    let opts = Opts {
        tls13_only: true,
        ..Opts::default()
    };
    let mut cfg = (*client_config(server, opts)).clone();
    cfg.resumption = rustls::client::Resumption::store(store.clone());
    (Arc::new(cfg), store)
}

/// The data channel's TLS facts, in order.
fn data_tls(log: &ftpspec_mock::EventLog) -> Vec<ftpspec_mock::TlsInfo> {
    log.data_connections()
        .into_iter()
        .filter_map(|d| d.tls)
        .collect()
}

/// Data tickets reach the client, and it resumes the next data connection from them: with
/// 2 tickets per data connection every transfer resumes; with none, the control
/// connection's two are used up and the third transfer gets a full handshake (522).
#[rstest]
#[case::two_tickets(2, [226, 226, 226], 2 + 3 * 2)]
#[case::no_tickets(0, [226, 226, 522], 2)]
#[tokio::test]
async fn data_tickets_are_sent_and_resumed_from(
    #[case] tickets: u32,
    #[case] codes: [u16; 3],
    #[case] received: usize,
) {
    let server = server(
        Ftps::explicit()
            .data_tickets(tickets)
            .require_session_reuse(true),
    )
    .await;
    let (tls, store) = counting_client(&server);
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    assert_eq!(
        store.tickets(),
        2,
        "rustls sends 2 tickets on the control connection"
    );
    for code in codes {
        let (read, (got, text)) = c.download("RETR /pub/readme.txt", Some(tls.clone())).await;
        assert_eq!(got, code, "{text}");
        if code == 226 {
            assert_eq!(read.unwrap(), README.as_bytes());
        }
    }
    assert_eq!(store.tickets(), received);
    let log = server.events();
    assert_eq!(log.control_tls()[0].1.tickets_sent, 2);
    let data = data_tls(&log);
    assert_eq!(data.len(), 3, "{}", log.transcript());
    assert!(data.iter().all(|t| t.tickets_sent == tickets), "{data:?}");
    let resumed: Vec<bool> = data.iter().map(|t| t.resumed).collect();
    assert_eq!(resumed, codes.map(|c| c == 226));
    if tickets > 0 {
        assert!(
            log.transcript().contains("2 tickets sent"),
            "{}",
            log.transcript()
        );
        assert!(log
            .dialogue()
            .contains("== data TLS: TLSv1.3, resumed session, 2 tickets sent"));
    } else {
        assert!(
            !log.dialogue().contains("tickets sent"),
            "{}",
            log.dialogue()
        );
    }
}

/// TLS 1.2: rustls offers the same session ID on every data connection. Reusable sessions
/// resume each time; single-use ones resume once, then the server does a full handshake and
/// refuses it (522) under require_session_reuse.
#[rstest]
#[case::reusable(false, 226)]
#[case::single_use(true, 522)]
#[tokio::test]
async fn single_use_tls12_sessions_resume_once(#[case] single_use: bool, #[case] second: u16) {
    let server = server(
        Ftps::explicit()
            .single_use_tickets(single_use)
            .require_session_reuse(true),
    )
    .await;
    let opts = Opts {
        tls12_only: true,
        ..Opts::default()
    };
    let tls = client_config(&server, opts);
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    let (read, reply) = c.download("RETR /pub/readme.txt", Some(tls.clone())).await;
    assert_readme(read, reply);
    let (_, (got, text)) = c.download("RETR /pub/readme.txt", Some(tls.clone())).await;
    assert_eq!(got, second, "{text}");
    let log = server.events();
    let resumed: Vec<bool> = data_tls(&log).iter().map(|t| t.resumed).collect();
    assert_eq!(resumed, [true, !single_use], "{}", log.transcript());
    assert!(data_tls(&log).iter().all(|t| t.tickets_sent == 0));
    c.expect("NOOP", 200).await;
}

/// An upload over TLS, ended with the client's close_notify or by a bare TCP close. Returns
/// the final reply and what the client read after its end (the server's close_notify: `Ok`).
async fn tls_upload(
    c: &mut Client,
    tls: Arc<rustls::ClientConfig>,
    path: &str,
    content: &[u8],
    close_notify: bool,
) -> ((u16, String), Option<std::io::Result<usize>>) {
    let addr = c.pasv().await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    c.expect(&format!("STOR {path}"), 150).await;
    let mut data = tokio_rustls::TlsConnector::from(tls)
        .connect(name(), tcp)
        .await
        .unwrap();
    data.write_all(content).await.unwrap();
    data.flush().await.unwrap();
    if !close_notify {
        let (mut tcp, _) = data.into_inner();
        tcp.shutdown().await.unwrap();
        drop(tcp);
        return (c.reply().await, None);
    }
    data.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let end = tokio::time::timeout(TIMEOUT, data.read_to_end(&mut rest))
        .await
        .expect("the server closes the data connection");
    (c.reply().await, Some(end))
}

fn stored(log: &ftpspec_mock::EventLog) -> Vec<(String, bool)> {
    log.events
        .iter()
        .filter_map(|e| match &e.kind {
            ftpspec_mock::EventKind::Stored { path, complete, .. } => {
                Some((path.clone(), *complete))
            }
            _ => None,
        })
        .collect()
}

#[rstest]
#[case::required_and_missing(true, false, 426)]
#[case::required_and_sent(true, true, 226)]
#[case::lenient_and_missing(false, false, 226)]
#[tokio::test]
async fn require_close_notify_refuses_uploads_without_it(
    #[case] required: bool,
    #[case] close_notify: bool,
    #[case] code: u16,
) {
    let server = server(Ftps::explicit().require_close_notify(required)).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    let mut content = vec![0u8; 100_000];
    generated::fill(0, &mut content);
    let ((got, text), end) =
        tls_upload(&mut c, tls, "/incoming/up.bin", &content, close_notify).await;
    assert_eq!(got, code, "{text}");
    if code == 426 {
        assert!(text.contains("without TLS close_notify"), "{text}");
    }
    if let Some(end) = end {
        end.expect("the server's close_notify after the client's");
    }
    // Kept as received either way.
    assert_eq!(server.file("/incoming/up.bin").unwrap(), content);
    let log = server.events();
    assert_eq!(
        stored(&log),
        [("/incoming/up.bin".to_owned(), code == 226)],
        "{}",
        log.transcript()
    );
    let data = &log.data_connections()[0];
    assert_eq!(data.client_close_notify, Some(close_notify));
    assert_eq!(data.server_close_notify, Some(true));
    assert_eq!(
        log.dialogue()
            .contains("== data TLS closed: no close_notify from client"),
        !close_notify,
        "{}",
        log.dialogue()
    );
    if code == 426 {
        assert!(
            log.transcript().contains("INCOMPLETE"),
            "{}",
            log.transcript()
        );
    }
    c.expect("NOOP", 200).await;
}

/// Without the server's close_notify (as IIS): a download ends in a bare EOF, which rustls
/// reports as UnexpectedEof; after an upload the client's close_notify is not answered.
#[tokio::test]
async fn omit_close_notify_closes_data_connections_without_the_alert() {
    let server = server(Ftps::explicit().omit_close_notify(true)).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    let (read, (code, text)) = c.download("RETR /pub/readme.txt", Some(tls.clone())).await;
    assert_eq!(code, 226, "{text}");
    let e = read.expect_err("EOF without close_notify");
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    let ((code, text), end) = tls_upload(&mut c, tls, "/incoming/up.txt", b"up\n", true).await;
    assert_eq!(code, 226, "{text}");
    let e = end.unwrap().expect_err("EOF without close_notify");
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    let log = server.events();
    let data = log.data_connections();
    let notify: Vec<_> = data
        .iter()
        .map(|d| (d.client_close_notify, d.server_close_notify))
        .collect();
    assert_eq!(
        notify,
        [(None, Some(false)), (Some(true), Some(false))],
        "{}",
        log.transcript()
    );
    assert_eq!(stored(&log), [("/incoming/up.txt".to_owned(), true)]);
    assert!(log.transcript().contains("no close_notify from server"));
}

/// By default the server sends close_notify, and plaintext connections have no such facts.
#[tokio::test]
async fn close_notify_facts_default() {
    let server = server(Ftps::explicit()).await;
    let tls = client_config(&server, Opts::default());
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    let (read, reply) = c.download("RETR /pub/readme.txt", Some(tls)).await;
    assert_readme(read, reply);
    c.expect("PROT C", 200).await;
    let (read, reply) = c.download("RETR /pub/readme.txt", None).await;
    assert_readme(read, reply);
    let log = server.events();
    let notify: Vec<_> = log
        .data_connections()
        .iter()
        .map(|d| (d.client_close_notify, d.server_close_notify))
        .collect();
    assert_eq!(notify, [(None, Some(true)), (None, None)]);
    assert!(
        !log.dialogue().contains("data TLS closed"),
        "{}",
        log.dialogue()
    );
}

/// Records what is written through it: the ClientHello, to send again.
struct Tap {
    tcp: TcpStream,
    written: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl tokio::io::AsyncRead for Tap {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Tap {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let n = std::task::ready!(std::pin::Pin::new(&mut this.tcp).poll_write(cx, buf))?;
        this.written.lock().unwrap().extend_from_slice(&buf[..n]);
        std::task::Poll::Ready(Ok(n))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// Whether a TLS 1.3 ServerHello (the first record of `wire`) accepts a PSK: it carries the
/// pre_shared_key extension (41) only when the server resumes.
fn server_hello_resumes(wire: &[u8]) -> bool {
    assert_eq!(wire[0], 22, "a handshake record");
    let hs = &wire[5..];
    assert_eq!(hs[0], 2, "a ServerHello");
    let mut at = 4 + 2 + 32;
    at += 1 + usize::from(hs[at]); // legacy_session_id
    at += 2 + 1; // cipher suite, compression
    let end = at + 2 + usize::from(u16::from_be_bytes([hs[at], hs[at + 1]]));
    at += 2;
    while at < end {
        let kind = u16::from_be_bytes([hs[at], hs[at + 1]]);
        if kind == 41 {
            return true;
        }
        at += 4 + usize::from(u16::from_be_bytes([hs[at + 2], hs[at + 3]]));
    }
    false
}

/// TLS 1.3: a rustls client never offers a ticket twice, so the test sends the first data
/// connection's ClientHello again, byte for byte, on the second (its PSK binder stays
/// valid), and reads whether the ServerHello resumes.
#[rstest]
#[case::reusable(false)]
#[case::single_use(true)]
#[tokio::test]
async fn single_use_tls13_tickets_resume_once(#[case] single_use: bool) {
    let server = server(Ftps::explicit().single_use_tickets(single_use)).await;
    let opts = Opts {
        tls13_only: true,
        ..Opts::default()
    };
    let tls = client_config(&server, opts);
    let mut c = Client::plain(&server, tls.clone()).await;
    c.auth().await;
    c.login().await;
    c.protect().await;
    let addr = c.pasv().await;
    let written = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tcp = TcpStream::connect(addr).await.unwrap();
    c.expect("RETR /pub/readme.txt", 150).await;
    let tap = Tap {
        tcp,
        written: written.clone(),
    };
    let mut data = tokio_rustls::TlsConnector::from(tls)
        .connect(name(), tap)
        .await
        .unwrap();
    let mut buf = Vec::new();
    data.read_to_end(&mut buf).await.unwrap();
    assert_eq!(buf, README.as_bytes());
    drop(data);
    assert_eq!(c.reply().await.0, 226);
    let hello = {
        let w = written.lock().unwrap();
        let len = usize::from(u16::from_be_bytes([w[3], w[4]]));
        w[..5 + len].to_vec()
    };
    // The same ClientHello, on the next data connection.
    let addr = c.pasv().await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    c.expect("RETR /pub/readme.txt", 150).await;
    tcp.write_all(&hello).await.unwrap();
    let mut wire = vec![0u8; 5];
    tokio::time::timeout(TIMEOUT, tcp.read_exact(&mut wire))
        .await
        .unwrap()
        .unwrap();
    let len = usize::from(u16::from_be_bytes([wire[3], wire[4]]));
    wire.resize(5 + len, 0);
    tcp.read_exact(&mut wire[5..]).await.unwrap();
    assert_eq!(server_hello_resumes(&wire), !single_use);
    drop(tcp);
    let (code, text) = c.reply().await;
    assert_eq!(code, 522, "the replay cannot finish its handshake: {text}");
    let log = server.events();
    assert_eq!(
        data_tls(&log).iter().map(|t| t.resumed).collect::<Vec<_>>(),
        [true],
        "{}",
        log.transcript()
    );
    c.expect("NOOP", 200).await;
}
