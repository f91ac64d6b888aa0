//! Scripted behaviour: every responder, from the Rust builder and from TOML.

mod common;

use std::time::{Duration, Instant};

use common::Ctl;
use ftpspec_mock::script::{
    arg, close_control, command, passive_reply, proceed, raw, reply, transfer, FaultAction,
    FaultPoint, Mock,
};
use ftpspec_mock::{generated, DataEnd, EventKind, MockServer, ServerSpec};
use rstest::rstest;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

async fn with(mock: Mock) -> MockServer {
    MockServer::builder()
        .file("/f.txt", "hello")
        .mount(mock)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn reply_overrides_and_up_to_n_times_falls_through() {
    let server = with(
        Mock::given(command("EPSV"))
            .respond_with(reply(502, "EPSV not allowed"))
            .up_to_n_times(1),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(
        c.cmd("EPSV").await,
        (502, "502 EPSV not allowed\r\n".into())
    );
    assert_eq!(
        c.cmd("EPSV").await.0,
        229,
        "the second EPSV gets normal handling"
    );
    let log = server.events();
    assert!(log
        .events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::ScriptMatched { mock } if mock == "#1")));
}

#[tokio::test]
async fn matchers_combine_and_arguments_match() {
    let mock = Mock::given(command("RETR"))
        .and(arg("/f.txt"))
        .respond_with(reply(550, "scripted"))
        .named("no-f");
    let server = with(mock).await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("RETR /f.txt").await.0, 550);
    assert_eq!(c.download("RETR /gen/10").await.1, 226);
}

#[tokio::test]
async fn multi_line_and_raw_replies() {
    let server = MockServer::builder()
        .mount(Mock::given(command("SYST")).respond_with(reply(215, "first\nUNIX Type: L8")))
        .mount(Mock::given(command("NOOP")).respond_with(raw("200 no line end")))
        .start()
        .await
        .unwrap();
    let mut c = Ctl::connect(server.addr()).await;
    assert_eq!(c.cmd("SYST").await.1, "215-first\r\n215 UNIX Type: L8\r\n");
    c.send(b"NOOP\r\n").await;
    c.send(b"QUIT\r\n").await;
    let (_, text) = c.reply().await;
    assert_eq!(
        text, "200 no line end221 Goodbye.\r\n",
        "raw text is sent byte for byte"
    );
}

#[tokio::test]
async fn service_closing_mid_session_with_421() {
    let server = with(
        Mock::given(command("RETR"))
            .respond_with(reply(421, "Service not available, closing").then_close()),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("RETR /f.txt").await.0, 421);
    assert_eq!(c.reply().await.0, 0, "closed after 421");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.events().events.iter().any(|e| matches!(
        &e.kind,
        EventKind::Disconnected {
            end: ftpspec_mock::ControlEnd::Script
        }
    )));
}

#[tokio::test]
async fn close_control_without_reply() {
    let server = with(Mock::given(command("PASV")).respond_with(close_control())).await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("PASV").await.0, 0);
}

#[tokio::test]
async fn delays_then_proceeds() {
    let server = with(
        Mock::given(command("NOOP")).respond_with(proceed().delay(Duration::from_millis(300))),
    )
    .await;
    let mut c = Ctl::connect(server.addr()).await;
    let start = Instant::now();
    assert_eq!(c.cmd("NOOP").await.0, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[rstest]
#[case::no_parentheses("227 Entering Passive Mode {h1},{h2},{h3},{h4},{p1},{p2}")]
#[case::extra_text(
    "227 Entering Passive Mode. Connect to ({h1},{h2},{h3},{h4},{p1},{p2}) now, please."
)]
#[case::zero_address("227 Entering Passive Mode (0,0,0,0,{p1},{p2})")]
#[tokio::test]
async fn malformed_pasv_replies_keep_a_real_listener(#[case] template: &str) {
    let server = with(Mock::given(command("PASV")).respond_with(passive_reply(template))).await;
    let mut c = Ctl::login(server.addr()).await;
    let (code, text) = c.cmd("PASV").await;
    assert_eq!(code, 227);
    assert!(!text.contains('{'), "{text}");
    // The advertised port is real: connect to it on the control address, as a fixing client would.
    let port = ftpspec_mock::wire::parse_227(text.trim_end())
        .unwrap()
        .port();
    let mut data = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    assert_eq!(c.cmd("RETR /f.txt").await.0, 150);
    let mut buf = Vec::new();
    data.read_to_end(&mut buf).await.unwrap();
    assert_eq!((buf.as_slice(), c.reply().await.0), (&b"hello"[..], 226));
}

#[tokio::test]
async fn out_of_range_pasv_reply_still_has_a_listener_on_its_port() {
    let server = with(Mock::given(command("PASV")).respond_with(passive_reply(
        "227 Entering Passive Mode (256,0,0,1,{p1},{p2})",
    )))
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let (_, text) = c.cmd("PASV").await;
    assert!(ftpspec_mock::wire::parse_227(text.trim_end()).is_err());
    let log = server.events();
    let listening = log.events.iter().find_map(|e| match e.kind {
        EventKind::PassiveListening { local, .. } => Some(local),
        _ => None,
    });
    let port = listening.unwrap().port();
    assert!(
        text.contains(&format!("{},{})", port >> 8, port & 0xff)),
        "{text}"
    );
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the listener stands");
}

#[tokio::test]
async fn odd_epsv_reply() {
    let server = with(Mock::given(command("EPSV")).respond_with(passive_reply(
        "229 Entering Extended Passive Mode (!!!{port}!)",
    )))
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let (_, text) = c.cmd("EPSV").await;
    let port = ftpspec_mock::wire::parse_229(text.trim_end()).unwrap();
    TcpStream::connect(("127.0.0.1", port)).await.unwrap();
}

#[tokio::test]
async fn never_accepting_sends_no_150() {
    let server = with(Mock::given(command("RETR")).respond_with(transfer().never_accept())).await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let _data = TcpStream::connect(addr)
        .await
        .expect("the kernel still completes the handshake");
    c.send(b"RETR /f.txt\r\n").await;
    let quiet = tokio::time::timeout(Duration::from_millis(500), c.reply()).await;
    assert!(
        quiet.is_err(),
        "no reply while the data connection is never accepted"
    );
}

#[tokio::test]
async fn accepting_late() {
    let server = with(
        Mock::given(command("RETR"))
            .respond_with(transfer().accept_after(Duration::from_millis(300))),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let start = Instant::now();
    let (data, code) = c.download("RETR /f.txt").await;
    assert_eq!((data.as_slice(), code), (&b"hello"[..], 226));
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn closing_data_before_150_gives_425() {
    let server = with(
        Mock::given(command("RETR"))
            .respond_with(transfer().fault(FaultPoint::Before150, FaultAction::CloseData)),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    assert_eq!(c.cmd("RETR /f.txt").await.0, 425);
    let mut buf = Vec::new();
    assert_eq!(data.read_to_end(&mut buf).await.unwrap_or(0), 0);
    let conns = server.events().data_connections();
    assert_eq!(conns[0].end, Some(DataEnd::ClosedByScript));
}

#[tokio::test]
async fn closing_data_mid_transfer_gives_426_and_counts_bytes() {
    let server =
        with(Mock::given(command("RETR")).respond_with(transfer().close_data_after(100_000))).await;
    let mut c = Ctl::login(server.addr()).await;
    let (data, code) = c.download("RETR /gen/1M").await;
    assert_eq!((data.len(), code), (100_000, 426));
    assert!(generated::verify(0, &data).is_ok());
    let conns = server.events().data_connections();
    assert_eq!(
        (conns[0].bytes_sent, conns[0].end.clone()),
        (100_000, Some(DataEnd::ClosedByScript))
    );
}

#[tokio::test]
async fn a_lying_226_after_a_short_transfer() {
    let server = with(
        Mock::given(command("RETR")).respond_with(
            transfer()
                .close_data_after(10)
                .final_reply(226, "All good (not)"),
        ),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(
        c.download("RETR /gen/1K").await,
        (generated_prefix(10), 226)
    );
}

fn generated_prefix(n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    generated::fill(0, &mut v);
    v
}

#[tokio::test]
async fn closing_control_mid_upload_keeps_the_partial_file() {
    let server =
        with(Mock::given(command("STOR")).respond_with(transfer().close_control_after(1000))).await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    assert_eq!(c.cmd("STOR /up").await.0, 150);
    use tokio::io::AsyncWriteExt;
    let _ = data.write_all(&[7u8; 5000]).await;
    assert_eq!(c.reply().await.0, 0, "control closed without a final reply");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.file("/up").unwrap(), vec![7u8; 1000]);
}

#[tokio::test]
async fn closing_control_before_226() {
    let server = with(
        Mock::given(command("RETR"))
            .respond_with(transfer().fault(FaultPoint::Before226, FaultAction::CloseControl)),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let (data, code) = c.download("RETR /f.txt").await;
    assert_eq!(
        (data.as_slice(), code),
        (&b"hello"[..], 0),
        "all data, then the control closes instead of 226"
    );
}

#[tokio::test]
async fn stalling_mid_transfer_holds_both_connections() {
    let server = with(
        Mock::given(command("RETR"))
            .respond_with(transfer().fault(FaultPoint::MidTransfer(10), FaultAction::Stall)),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    assert_eq!(c.cmd("RETR /gen/1K").await.0, 150);
    let mut buf = [0u8; 64];
    let mut got = 0;
    let more = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            match data.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got += n,
            }
        }
    })
    .await;
    assert!(more.is_err(), "the data connection stays open");
    assert_eq!(got, 10);
    // ABOR still works on a stalled transfer.
    assert_eq!(c.cmd("ABOR").await.0, 426);
    assert_eq!(c.reply().await.0, 226);
}

#[tokio::test]
async fn a_transfer_script_on_a_wrong_command_says_so() {
    let server = with(Mock::given(command("NOOP")).respond_with(transfer().never_accept())).await;
    let mut c = Ctl::connect(server.addr()).await;
    let (code, text) = c.cmd("NOOP").await;
    assert_eq!(code, 451);
    assert!(text.contains("script error"), "{text}");
}

#[test]
fn unmet_expectations_fail_verify_with_the_transcript() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = with(
            Mock::given(command("EPSV"))
                .respond_with(reply(502, "no"))
                .expect(1)
                .named("epsv-refusal"),
        )
        .await;
        let mut c = Ctl::login(server.addr()).await;
        c.cmd("PASV").await;
        let err = server.verify().unwrap_err();
        assert!(matches!(err, ftpspec_mock::Error::Unmet { .. }), "{err}");
        let err = err.to_string();
        assert!(
            err.contains("mock epsv-refusal was expected to match exactly 1 times, matched 0"),
            "{err}"
        );
        assert!(
            err.contains("C> PASV"),
            "the transcript is in the message: {err}"
        );
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(server)));
        assert!(caught.is_err(), "dropping an unverified server panics");
    });
}

#[tokio::test]
async fn the_same_script_from_toml() {
    let spec: ServerSpec = toml::from_str(
        r#"
        [files]
        "/f.txt" = "hello"

        [[script]]
        name = "refuse-epsv"
        command = "EPSV"
        reply = "502 EPSV not allowed"
        expect = "1.."

        [[script]]
        command = "PASV"
        passive = "227 Entering Passive Mode {h1},{h2},{h3},{h4},{p1},{p2}"

        [[script]]
        command = "RETR"
        arg = "/gen/1M"
        transfer = { fault = "close-data", at = "mid-transfer", after_bytes = 1000 }

        [[script]]
        command = "NOOP"
        delay_ms = 100
        "#,
    )
    .unwrap();
    let server = MockServer::builder().spec(&spec).start().await.unwrap();
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("EPSV").await.0, 502);
    let (data, code) = c.download("RETR /gen/1M").await;
    assert_eq!((data.len(), code), (1000, 426));
    let (data, code) = c.download("RETR /f.txt").await;
    assert_eq!((data.as_slice(), code), (&b"hello"[..], 226));
    assert_eq!(c.cmd("NOOP").await.0, 200);
    server.verify().unwrap();
}

#[tokio::test]
async fn close_data_before_226_from_rust_is_a_normal_end_not_a_hang() {
    let server = with(
        Mock::given(command("RETR"))
            .respond_with(transfer().fault(FaultPoint::Before226, FaultAction::CloseData)),
    )
    .await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.download("RETR /f.txt").await, (b"hello".to_vec(), 226));
}
