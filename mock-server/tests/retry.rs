//! "Fail N times, then succeed" (curl's test-suite COUNT) and replies a byte at a time
//! (curl's SLOWDOWN): a scripted greeting, `times` counted over connections, and
//! `reply_byte_delay`.

mod common;

use std::time::{Duration, Instant};

use common::{Ctl, TIMEOUT};
use ftpspec_mock::script::{close_control, command, greeting, proceed, reply, transfer, Mock};
use ftpspec_mock::{generated, ControlEnd, EventKind, MockServer, ServerSpec};
use rstest::rstest;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const BUSY: &str = "There are too many connected users, please try later.";

async fn from_toml(text: &str) -> MockServer {
    let spec: ServerSpec = toml::from_str(text).unwrap();
    MockServer::builder().spec(&spec).start().await.unwrap()
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(addr: std::net::SocketAddr) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut buf))
        .await
        .expect("the server did not close the connection")
        .unwrap();
    buf
}

async fn idle(server: &MockServer) -> ftpspec_mock::EventLog {
    server.wait_idle(Duration::from_secs(5)).await;
    server.events()
}

/// Each session's events, one a line, without times and ports; session by session (each
/// in its own order): how two sessions' events interleave is up to the scheduler (the
/// first session's close may be logged after the second one's greeting).
fn sessions(log: &ftpspec_mock::EventLog) -> String {
    let mut out = String::new();
    let mut events: Vec<_> = log.events.iter().collect();
    events.sort_by_key(|e| e.session);
    for e in events {
        let what = match &e.kind {
            EventKind::Connected { .. } => "connected".to_owned(),
            EventKind::ScriptMatched { mock } => format!("script: mock {mock} matched"),
            EventKind::Command { line } => format!("C: {line}"),
            EventKind::Reply { text, .. } => format!("S: {}", text.trim_end()),
            EventKind::Disconnected { end } => format!("closed: {end:?}"),
            _ => continue,
        };
        out.push_str(&format!("#{} {what}\n", e.session));
    }
    out
}

#[tokio::test]
async fn a_421_greeting_refuses_the_first_connection_and_the_next_one_is_served() {
    let server = MockServer::builder()
        .mount(
            Mock::given(greeting())
                .respond_with(reply(421, BUSY).then_close())
                .up_to_n_times(1)
                .expect(1)
                .named("busy"),
        )
        .start()
        .await
        .unwrap();
    let first = read_to_close(server.addr()).await;
    assert_eq!(String::from_utf8(first).unwrap(), format!("421 {BUSY}\r\n"));
    let mut c = Ctl::login(server.addr()).await;
    c.cmd("QUIT").await;
    drop(c);
    let log = idle(&server).await;
    assert_eq!(log.control_connections(), 2);
    insta::assert_snapshot!(sessions(&log), @r"
    #1 connected
    #1 script: mock busy matched
    #1 S: 421 There are too many connected users, please try later.
    #1 closed: Script
    #2 connected
    #2 S: 220 ftpspec-mock ready
    #2 C: USER test
    #2 S: 331 Please specify the password.
    #2 C: PASS test
    #2 S: 230 Login successful.
    #2 C: QUIT
    #2 S: 221 Goodbye.
    #2 closed: Quit
    ");
    server.verify().unwrap();
}

#[tokio::test]
async fn times_on_the_greeting_counts_over_connections_from_toml() {
    let server = from_toml(&format!(
        "[[script]]\nname = \"busy\"\ngreeting = true\ntimes = 2\nreply = \"421 {BUSY}\"\nthen_close = true\n"
    ))
    .await;
    for _ in 0..2 {
        let bytes = read_to_close(server.addr()).await;
        assert!(bytes.starts_with(b"421 "), "{bytes:?}");
    }
    let (_, (code, _)) = Ctl::connect_greeted(server.addr()).await;
    assert_eq!(code, 220, "the third connection is served");
}

#[tokio::test]
async fn times_on_a_command_counts_over_connections() {
    // The first RETR, whatever its connection, gets 421 and the connection closes; the
    // second connection's RETR is served: "fail once, then succeed".
    let server = MockServer::builder()
        .mount(
            Mock::given(command("RETR"))
                .respond_with(reply(421, "Service not available.").then_close())
                .up_to_n_times(1),
        )
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let _data = c.pasv().await;
    assert_eq!(c.cmd("RETR /gen/1K").await.0, 421);
    assert_eq!(c.reply().await, (0, String::new()), "then closed");
    let mut c = Ctl::login(server.addr()).await;
    let (data, code) = c.download("RETR /gen/1K").await;
    assert_eq!(code, 226);
    assert_eq!(generated::verify(0, &data), Ok(()));
}

#[tokio::test]
async fn a_closed_greeting_sends_nothing_and_a_delayed_one_is_normal() {
    let server = MockServer::builder()
        .mount(
            Mock::given(greeting())
                .respond_with(close_control())
                .up_to_n_times(1),
        )
        .mount(Mock::given(greeting()).respond_with(proceed().delay(Duration::from_millis(300))))
        .start()
        .await
        .unwrap();
    assert!(read_to_close(server.addr()).await.is_empty());
    let started = Instant::now();
    let (_, (code, _)) = Ctl::connect_greeted(server.addr()).await;
    assert_eq!(code, 220);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[rstest]
#[case(
    "greeting = true\ncommand = \"USER\"\nreply = \"421 x\"",
    "command and greeting = true"
)]
#[case("greeting = false\nreply = \"421 x\"", "greeting = false")]
#[case("reply = \"421 x\"", "no matcher")]
#[case(
    "greeting = true\narg = \"x\"\nreply = \"421 x\"",
    "no command or arg matcher"
)]
#[case(
    "greeting = true\ntransfer = { rate = \"1K\" }",
    "the greeting takes reply, raw, close or proceed"
)]
#[case(
    "greeting = true\npassive = \"227 ({h1},{h2},{h3},{h4},{p1},{p2})\"",
    "passive and transfer answer commands"
)]
fn bad_greeting_scripts_name_the_key(#[case] table: &str, #[case] message: &str) {
    let spec: ServerSpec = toml::from_str(&format!("[[script]]\n{table}\n")).unwrap();
    let err = MockServer::builder()
        .spec(&spec)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("script entry 1") && err.contains(message),
        "{err}"
    );
}

#[test]
fn a_greeting_mock_made_in_rust_is_checked_by_build() {
    let built = MockServer::builder()
        .mount(
            Mock::given(greeting())
                .and(command("USER"))
                .respond_with(reply(421, "x")),
        )
        .build();
    let err = built.unwrap_err().to_string();
    assert!(err.contains("no command or arg matcher"), "{err}");
    let built = MockServer::builder()
        .mount(Mock::given(greeting()).respond_with(transfer().rate(5)))
        .build();
    assert!(built.is_err());
}

/// Reads until `n` bytes came, counting the reads.
async fn read_counted(stream: &mut TcpStream, n: usize) -> (Vec<u8>, usize) {
    let mut got = Vec::new();
    let mut reads = 0;
    while got.len() < n {
        let mut buf = [0u8; 4096];
        let k = tokio::time::timeout(TIMEOUT, stream.read(&mut buf))
            .await
            .expect("no byte within the test timeout")
            .unwrap();
        assert!(k > 0, "closed after {got:?}");
        reads += 1;
        got.extend_from_slice(&buf[..k]);
    }
    (got, reads)
}

#[tokio::test]
async fn replies_come_a_byte_at_a_time_each_in_its_own_segment() {
    let server = MockServer::builder()
        .reply_byte_delay(Duration::from_millis(5))
        .start()
        .await
        .unwrap();
    let expected = b"220 ftpspec-mock ready\r\n";
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let (got, reads) = read_counted(&mut stream, expected.len()).await;
    assert_eq!(got, expected);
    // A reader that reads as soon as bytes arrive sees (almost) every byte alone: with
    // TCP_NODELAY, one segment per write.
    assert!(
        reads >= expected.len() * 3 / 4,
        "{reads} reads for {} bytes",
        expected.len()
    );
    assert!(started.elapsed() >= Duration::from_millis(5 * (expected.len() as u64 - 1)));
}

#[tokio::test]
async fn a_whole_session_works_byte_at_a_time_from_toml() {
    let server = from_toml("reply_byte_delay_ms = 1\n").await;
    let mut c = Ctl::login(server.addr()).await;
    let (data, code) = c.download("RETR /gen/64K").await;
    assert_eq!(code, 226);
    assert_eq!(data.len(), 64 << 10);
    assert_eq!(generated::verify(0, &data), Ok(()));
    c.cmd("QUIT").await;
    drop(c);
    let log = idle(&server).await;
    assert!(log.events.iter().any(|e| matches!(
        e.kind,
        EventKind::Disconnected {
            end: ControlEnd::Quit
        }
    )));
}

#[test]
fn reply_byte_delay_is_a_typed_key() {
    let err = toml::from_str::<ServerSpec>("reply_byte_delay_ms = \"2\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 1, column") && err.contains("invalid type"),
        "{err}"
    );
}
