//! Reply shaping: preliminary replies, early and late final replies, pipelined bytes, padded
//! replies, pre-authenticated and password-less logins, LF line ends, and the EarlyCommand
//! record of a client that did not wait. Each knob over a real socket, from Rust and TOML.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Ctl, TIMEOUT};
use ftpspec_mock::script::{command, proceed, reply, transfer, Mock};
use ftpspec_mock::{generated, DataEnd, EventKind, LineEnding, MockServer, ServerSpec};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn with(mock: Mock) -> MockServer {
    MockServer::builder().mount(mock).start().await.unwrap()
}

async fn from_toml(text: &str) -> MockServer {
    let spec: ServerSpec = toml::from_str(text).unwrap();
    MockServer::builder().spec(&spec).start().await.unwrap()
}

/// The event log once the server has logged what it just wrote (a reply is logged right
/// after its write, so a fast client can read it first).
async fn settled(server: &MockServer) -> ftpspec_mock::EventLog {
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.events()
}

async fn read_all(data: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    tokio::time::timeout(TIMEOUT, data.read_to_end(&mut buf))
        .await
        .expect("data read timed out")
        .unwrap();
    buf
}

fn assert_generated(data: &[u8], size: usize) {
    assert_eq!(data.len(), size);
    assert_eq!(generated::verify(0, data), Ok(()), "content differs");
}

/// The events that follow the first `Reply` whose text starts with `prefix`.
fn after_reply<'a>(log: &'a ftpspec_mock::EventLog, prefix: &str) -> Vec<&'a EventKind> {
    log.events
        .iter()
        .map(|e| &e.kind)
        .skip_while(|k| !matches!(k, EventKind::Reply { text, .. } if text.starts_with(prefix)))
        .skip(1)
        .collect()
}

#[tokio::test]
async fn a_125_preliminary_reply_and_the_transfer_completes() {
    let server = with(Mock::given(command("RETR")).respond_with(
        transfer().preliminary(125, "Data connection already open; transfer starting."),
    ))
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    let (code, text) = c.cmd("RETR /gen/64K").await;
    assert_eq!(
        (code, text.as_str()),
        (
            125,
            "125 Data connection already open; transfer starting.\r\n"
        )
    );
    assert_generated(&read_all(&mut data).await, 64 << 10);
    assert_eq!(c.reply().await.0, 226);
    assert!(!settled(&server).await.reply_codes().contains(&150));
}

#[tokio::test]
async fn early_final_reply_passive_comes_in_one_read_and_the_data_still_arrives() {
    let server = from_toml(
        "[[script]]\ncommand = \"RETR\"\ntransfer = { early_final_reply = true, preliminary = \"125 Transfer starting.\" }",
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    c.send(b"RETR /gen/1M\r\n").await;
    // Let the data flow stall on the client's full window: the replies came first anyway.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = String::from_utf8(c.read_some().await).unwrap();
    assert_eq!(got, "125 Transfer starting.\r\n226 Transfer complete.\r\n");
    assert_generated(&read_all(&mut data).await, 1 << 20);
    assert_eq!(c.cmd("NOOP").await.0, 200, "no other reply followed");
    let log = settled(&server).await;
    let conn = &log.data_connections()[0];
    assert_eq!(conn.end, Some(DataEnd::Completed));
    assert_eq!(conn.bytes_sent, 1 << 20);
    // Two Reply events, logged from one write; then the data connection closes.
    let codes = log.reply_codes();
    assert!(codes.ends_with(&[125, 226, 200]), "{codes:?}");
}

#[tokio::test]
async fn early_final_reply_active_goes_out_before_the_server_dials() {
    let server =
        with(Mock::given(command("LIST")).respond_with(transfer().early_final_reply())).await;
    let mut c = Ctl::login(server.addr()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let SocketAddr::V4(v4) = listener.local_addr().unwrap() else {
        unreachable!()
    };
    let port = format!("PORT {}", ftpspec_mock::wire::format_host_port(v4));
    assert_eq!(c.cmd(&port).await.0, 200);
    c.send(b"LIST\r\n").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = String::from_utf8(c.read_some().await).unwrap();
    assert!(
        got.starts_with("150 ") && got.ends_with("\r\n226 Transfer complete.\r\n"),
        "{got:?}"
    );
    assert_eq!(got.matches("\r\n").count(), 2, "{got:?}");
    let (mut data, _) = tokio::time::timeout(TIMEOUT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let listing = read_all(&mut data).await;
    assert!(String::from_utf8(listing).unwrap().contains("gen"));
    assert_eq!(c.cmd("NOOP").await.0, 200);
    let kinds: Vec<_> = settled(&server)
        .await
        .events
        .into_iter()
        .map(|e| e.kind)
        .collect();
    let reply226 = kinds
        .iter()
        .position(|k| matches!(k, EventKind::Reply { code: 226, .. }))
        .unwrap();
    let opened = kinds
        .iter()
        .position(|k| matches!(k, EventKind::DataOpened { .. }))
        .unwrap();
    assert!(reply226 < opened, "226 before the dial: {kinds:?}");
}

#[tokio::test]
async fn early_final_reply_on_an_upload_is_a_script_error_and_normal() {
    let server =
        with(Mock::given(command("STOR")).respond_with(transfer().early_final_reply())).await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.upload("STOR /up", b"abc").await, 226);
    assert_eq!(server.file("/up").unwrap(), b"abc");
    let log = settled(&server).await;
    assert!(log
        .warnings()
        .iter()
        .any(|w| w.contains("early_final_reply") && w.contains("not uploads")));
}

#[tokio::test]
async fn final_reply_delay_after_an_upload() {
    let server =
        from_toml("[[script]]\ncommand = \"STOR\"\ntransfer = { final_reply_delay_ms = 400 }")
            .await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    assert_eq!(c.cmd("STOR /slow").await.0, 150);
    data.write_all(b"payload").await.unwrap();
    drop(data);
    let closed = Instant::now();
    assert_eq!(c.reply().await.0, 226);
    assert!(
        closed.elapsed() >= Duration::from_millis(350),
        "{:?}",
        closed.elapsed()
    );
    assert_eq!(server.file("/slow").unwrap(), b"payload");
    let log = settled(&server).await;
    let at =
        |pred: &dyn Fn(&EventKind) -> bool| log.events.iter().find(|e| pred(&e.kind)).unwrap().at;
    let gap = at(&|k| matches!(k, EventKind::Reply { code: 226, .. }))
        - at(&|k| matches!(k, EventKind::DataClosed { .. }));
    assert!(gap >= Duration::from_millis(400), "{gap:?}");
}

#[tokio::test]
async fn pipelined_bytes_follow_a_cwd_reply_in_the_same_write() {
    let server = with(
        Mock::given(command("CWD")).respond_with(proceed().pipeline("250 An extra reply.\r\n")),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    c.send(b"CWD /gen\r\n").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let got = String::from_utf8(c.read_some().await).unwrap();
    assert_eq!(
        got,
        "250 Directory successfully changed.\r\n250 An extra reply.\r\n"
    );
    let log = settled(&server).await;
    assert!(matches!(
        after_reply(&log, "250 Directory")[0],
        EventKind::Reply { code: 0, text } if text == "250 An extra reply.\r\n"
    ));
    assert!(log.dialogue().contains("S: 250 An extra reply."));
}

#[tokio::test]
async fn pipelined_bytes_follow_a_scripted_reply() {
    let server = from_toml(
        "[[script]]\ncommand = \"NOOP\"\nreply = \"200 ok\"\npipeline = \"226 Out of the blue.\\r\\n\"",
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    c.send(b"NOOP\r\n").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let got = String::from_utf8(c.read_some().await).unwrap();
    assert_eq!(got, "200 ok\r\n226 Out of the blue.\r\n");
}

fn tls_client(server: &MockServer) -> tokio_rustls::TlsConnector {
    let tls = server.tls().expect("an FTPS server");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(tls.ca_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

/// CVE-2021-22947's trigger: a reply pipelined after 234, in plaintext, before the handshake.
#[tokio::test]
async fn pipelined_bytes_after_auth_tls_come_with_the_234_and_the_handshake_works() {
    let spec: ServerSpec = toml::from_str(
        "[tls]\nmode = \"explicit\"\n[[script]]\ncommand = \"AUTH\"\nproceed = true\npipeline = \"230 Forged before TLS.\\r\\n\"",
    )
    .unwrap();
    let server = MockServer::builder().spec(&spec).start().await.unwrap();
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"220 "));
    tcp.write_all(b"AUTH TLS\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let n = tokio::time::timeout(TIMEOUT, tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        "234 AUTH TLS ok; start the TLS handshake.\r\n230 Forged before TLS.\r\n"
    );
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = tokio::time::timeout(TIMEOUT, tls_client(&server).connect(name, tcp))
        .await
        .unwrap()
        .expect("the handshake still works");
    tls.write_all(b"USER test\r\n").await.unwrap();
    let n = tokio::time::timeout(TIMEOUT, tls.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf[..n].starts_with(b"331 "), "{:?}", &buf[..n]);
    let log = settled(&server).await;
    assert_eq!(log.control_tls().len(), 1);
    assert!(matches!(
        after_reply(&log, "234 ")[0],
        EventKind::Reply { code: 0, text } if text == "230 Forged before TLS.\r\n"
    ));
    assert!(log.warnings().is_empty(), "{:?}", log.warnings());
}

#[tokio::test]
async fn a_padded_reply_of_1000_lines_parses_as_one_reply() {
    let server =
        with(Mock::given(command("SYST")).respond_with(reply(215, "UNIX Type: L8").pad(1000, 60)))
            .await;
    let mut c = Ctl::login(server.addr()).await;
    let (code, text) = c.cmd("SYST").await;
    assert_eq!(code, 215);
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 1001);
    assert!(lines[..1000]
        .iter()
        .all(|l| l.len() == 64 && l.starts_with("215-")));
    assert_eq!(lines[1000], "215 UNIX Type: L8");
    assert_eq!(c.cmd("NOOP").await.0, 200, "framing holds after it");
}

#[tokio::test]
async fn a_padded_reply_with_a_20000_byte_line_under_proceed() {
    let server = from_toml(
        "[[script]]\ncommand = \"PWD\"\ntimes = 1\nproceed = true\npad = { lines = 1, line_bytes = 20000 }",
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let (code, text) = c.cmd("PWD").await;
    assert_eq!(code, 257);
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].len(), 20004);
    assert!(lines[0].len() > 16 << 10);
    assert!(lines[1].starts_with("257 \"/\""), "{}", lines[1]);
    assert_eq!(
        c.cmd("PWD").await.1,
        lines[1].to_owned() + "\r\n",
        "padding once"
    );
}

#[tokio::test]
async fn preauth_greets_with_230_and_starts_logged_in() {
    let server = MockServer::builder()
        .preauth(true)
        .greeting("Welcome, already logged in.")
        .start()
        .await
        .unwrap();
    let (mut c, greeting) = Ctl::connect_greeted(server.addr()).await;
    assert_eq!(
        greeting,
        (230, "230 Welcome, already logged in.\r\n".into())
    );
    assert_eq!(c.cmd("PWD").await.0, 257);
    assert_eq!(c.download("RETR /gen/1K").await.1, 226);
    assert_eq!(c.cmd("USER test").await.0, 331);
    assert_eq!(c.cmd("PASS test").await.0, 230);
}

#[tokio::test]
async fn preauth_from_toml_with_ftps_still_does_auth_tls() {
    let server = from_toml("preauth = true\n[tls]\nmode = \"explicit\"").await;
    let (mut c, greeting) = Ctl::connect_greeted(server.addr()).await;
    assert_eq!(greeting.0, 230);
    assert_eq!(c.cmd("AUTH TLS").await.0, 234);
}

#[tokio::test]
async fn login_on_user_logs_in_at_user_and_answers_pass_with_503() {
    let server = from_toml("login_on_user = true").await;
    let mut c = Ctl::connect(server.addr()).await;
    assert_eq!(c.cmd("USER anonymous").await.0, 230);
    assert_eq!(c.cmd("PASS secret").await.0, 503);
    assert_eq!(c.cmd("PWD").await.0, 257, "still logged in");
    assert_eq!(c.download("RETR /gen/1K").await.1, 226);
}

#[tokio::test]
async fn line_ending_lf_ends_every_reply_line_with_lf_only() {
    let server = MockServer::builder()
        .line_ending(LineEnding::Lf)
        .start()
        .await
        .unwrap();
    let (mut c, (_, greeting)) = Ctl::connect_greeted(server.addr()).await;
    let mut seen = greeting;
    for line in ["USER a", "PASS b", "FEAT", "SYST"] {
        seen.push_str(&c.cmd(line).await.1);
    }
    seen.push_str(&c.cmd("EPSV").await.1);
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    let (code, text) = c.cmd("RETR /gen/1K").await;
    assert_eq!(code, 150);
    seen.push_str(&text);
    read_all(&mut data).await;
    seen.push_str(&c.reply().await.1);
    assert!(seen.contains("211-") && seen.contains("226 "), "{seen}");
    assert!(!seen.contains('\r'), "{seen:?}");
    let spec: ServerSpec = toml::from_str("line_ending = \"lf\"").unwrap();
    assert_eq!(spec.line_ending, Some(LineEnding::Lf));
}

#[tokio::test]
async fn early_command_is_logged_when_the_client_does_not_wait() {
    let server = with(
        Mock::given(command("NOOP")).respond_with(proceed().delay(Duration::from_millis(200))),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    c.send(b"NOOP\r\n").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.send(b"PWD\r\n").await;
    assert_eq!(c.reply().await.0, 200);
    assert_eq!(c.reply().await.0, 257);
    let log = settled(&server).await;
    assert_eq!(log.early_commands(), vec![("NOOP", "PWD")]);
    // Logged before the reply it precedes.
    assert!(
        matches!(
            after_reply(&log, "230 ")[..],
            [
                EventKind::Command { .. },
                EventKind::ScriptMatched { .. },
                EventKind::EarlyCommand { .. },
                EventKind::Reply { code: 200, .. },
                ..
            ]
        ),
        "{}",
        log.transcript()
    );
    assert!(log
        .transcript()
        .contains("early: \"PWD\" arrived before the reply to \"NOOP\""));
    assert!(log.dialogue().contains("== early: \"PWD\""));
}

#[tokio::test]
async fn no_early_command_for_a_client_that_waits() {
    let server = with(
        Mock::given(command("NOOP")).respond_with(proceed().delay(Duration::from_millis(100))),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("NOOP").await.0, 200);
    assert_eq!(c.cmd("PWD").await.0, 257);
    c.download("RETR /gen/1K").await;
    assert_eq!(
        settled(&server).await.early_commands(),
        Vec::<(&str, &str)>::new()
    );
}

/// A client that took a pipelined 226 for the end of a transfer sends its next command before
/// the real final reply.
#[tokio::test]
async fn early_command_before_a_transfers_final_reply() {
    let server = from_toml(
        "[[script]]\ncommand = \"RETR\"\ntransfer = { final_reply_delay_ms = 300 }\npipeline = \"226 Forged.\\r\\n\"",
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    c.send(b"RETR /gen/1K\r\n").await;
    assert_eq!(c.reply().await.0, 150);
    assert_eq!(c.reply().await, (226, "226 Forged.\r\n".into()));
    read_all(&mut data).await;
    c.send(b"PWD\r\n").await;
    assert_eq!(c.reply().await.1, "226 Transfer complete.\r\n");
    assert_eq!(c.reply().await.0, 257);
    assert_eq!(
        settled(&server).await.early_commands(),
        vec![("RETR /gen/1K", "PWD")]
    );
}

/// The forged-reply scenario over AUTH TLS: the client takes the pipelined 230 as the answer
/// to USER and goes on; the real (delayed) reply to USER comes after its next command.
#[tokio::test]
async fn early_command_after_a_forged_pipelined_reply_under_tls() {
    let spec: ServerSpec = toml::from_str(
        "[tls]\nmode = \"explicit\"\n[[script]]\ncommand = \"AUTH\"\nproceed = true\npipeline = \"230 Forged.\\r\\n\"\n[[script]]\ncommand = \"USER\"\ndelay_ms = 300",
    )
    .unwrap();
    let server = MockServer::builder().spec(&spec).start().await.unwrap();
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let _ = tcp.read(&mut buf).await.unwrap();
    tcp.write_all(b"AUTH TLS\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = tcp.read(&mut buf).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = tls_client(&server).connect(name, tcp).await.unwrap();
    // A client that trusted the cached 230 sends USER and goes straight on.
    tls.write_all(b"USER test\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    tls.write_all(b"NOOP\r\n").await.unwrap();
    let mut got = String::new();
    while !got.contains("200 ") {
        let n = tokio::time::timeout(TIMEOUT, tls.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{got:?}\n{}", server.events().transcript()))
            .unwrap();
        assert!(n > 0);
        got.push_str(std::str::from_utf8(&buf[..n]).unwrap());
    }
    assert!(got.starts_with("331 "), "{got}");
    assert_eq!(
        settled(&server).await.early_commands(),
        vec![("USER test", "NOOP")]
    );
}

#[test]
fn shaping_knobs_are_checked_by_build() {
    let build = |mock: Mock| {
        MockServer::builder()
            .mount(mock)
            .build()
            .unwrap_err()
            .to_string()
    };
    let e = build(Mock::given(command("RETR")).respond_with(transfer().preliminary(226, "x")));
    assert!(
        e.contains("transfer.preliminary: 226 is not a preliminary (1xx)"),
        "{e}"
    );
    let e = build(Mock::given(command("NOOP")).respond_with(proceed().pad(0, 10)));
    assert!(e.contains("pad.lines = 0"), "{e}");
    let e = build(Mock::given(command("NOOP")).respond_with(proceed().pad(1 << 20, 1 << 20)));
    assert!(e.contains("over the cap"), "{e}");
    let e = build(
        Mock::given(command("NOOP"))
            .respond_with(ftpspec_mock::script::close_control().pipeline("x")),
    );
    assert!(e.contains("cannot go with close"), "{e}");
}
