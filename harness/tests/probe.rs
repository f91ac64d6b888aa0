//! The probe against the real mock server (and against servers that misbehave on purpose),
//! on loopback.

use std::time::Duration;

use ftpspec::mock::{Ftps, MockServer};
use ftpspec::probe::{
    run, ControlChange, DataRecord, ProbeRecord, ProbeSpec, ProbeTarget, SessionRecord, StepRecord,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

fn spec(text: &str) -> ProbeSpec {
    toml::from_str(text).unwrap_or_else(|e| panic!("bad spec: {e}\n{text}"))
}

fn target(server: &MockServer) -> ProbeTarget {
    let mut t = ProbeTarget::new(server.addr(), "alice", "secret");
    t.ca_pem = server.tls().map(|m| m.ca_pem().to_owned());
    t.timeout = Duration::from_secs(10);
    t
}

/// The only session, which must have run every step.
fn whole(record: &ProbeRecord) -> &SessionRecord {
    assert_eq!(record.sessions.len(), 1);
    let s = &record.sessions[0];
    assert_eq!(s.error, None, "{s:#?}");
    s
}

fn data(step: &StepRecord) -> &DataRecord {
    step.data
        .as_ref()
        .unwrap_or_else(|| panic!("no data record: {step:#?}"))
}

fn codes(step: &StepRecord) -> Vec<u16> {
    step.replies.iter().map(|r| r.code).collect()
}

async fn mock() -> MockServer {
    MockServer::builder()
        .credentials("alice", "secret")
        .file("/hello.txt", "Hello\n")
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn epsv_download_is_verified_and_the_password_masked() {
    let server = mock().await;
    let record = run(
        &spec(r#"steps = [{ login = true, expect = "230" }, { retr = "/gen/1M", via = "epsv", expect = "226" }]"#),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    assert_eq!(s.greeting.as_ref().unwrap().code, 220);
    assert_eq!(s.steps[0].sent, ["USER alice", "PASS ****"]);
    assert_eq!(s.steps[0].met, Some(true));
    let retr = &s.steps[1];
    assert_eq!(retr.sent, ["TYPE I", "EPSV", "RETR /gen/1M"]);
    assert_eq!(codes(retr), [200, 229, 150, 226]);
    assert_eq!(retr.met, Some(true));
    let d = data(retr);
    assert_eq!(
        (d.bytes, d.verified, d.first_mismatch),
        (1 << 20, Some(true), None)
    );
    assert_eq!(d.advertised, d.connected);
    assert_eq!(d.connected.unwrap().ip(), server.addr().ip());
    assert_eq!(d.tls, None);
    assert_eq!(d.error, None);
}

#[tokio::test]
async fn pasv_with_an_offset_and_an_unmet_expectation() {
    let server = mock().await;
    let record = run(
        &spec(r#"steps = [{ login = true }, { retr = "/gen/64K", via = "pasv", offset = 1000, expect = "5" }, { send = "NOOP", expect = "200" }]"#),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    let retr = &s.steps[1];
    assert_eq!(retr.sent, ["TYPE I", "PASV", "REST 1000", "RETR /gen/64K"]);
    assert_eq!(codes(retr), [200, 227, 350, 150, 226]);
    assert_eq!(retr.met, Some(false), "226 is not a 5xx");
    let d = data(retr);
    assert_eq!((d.bytes, d.verified), (65536 - 1000, Some(true)));
    assert_eq!(d.advertised, d.connected);
    assert_eq!(
        s.steps[2].met,
        Some(true),
        "a failed expectation does not stop the session"
    );
}

#[tokio::test]
async fn port_and_eprt_downloads_are_accepted_from_the_server() {
    let server = mock().await;
    let record = run(
        &spec(r#"steps = [{ login = true }, { retr = "/gen/64K", via = "port" }, { retr = "/gen/64K", via = "eprt" }]"#),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    let targets = server.events().active_targets();
    assert_eq!(targets.len(), 2, "{targets:?}");
    for (step, verb) in [(&s.steps[1], "PORT "), (&s.steps[2], "EPRT |1|127.0.0.1|")] {
        assert!(
            step.sent.iter().any(|l| l.starts_with(verb)),
            "{:?}",
            step.sent
        );
        assert!(codes(step).ends_with(&[200, 150, 226]), "{step:#?}");
        let d = data(step);
        assert_eq!(
            (d.bytes, d.verified),
            (65536, Some(true)),
            "{step:#?}\n{}",
            server.events().transcript()
        );
        assert_eq!(d.connected.unwrap().ip(), server.addr().ip());
        assert_eq!(d.advertised, None);
    }
    assert!((40000..=40999).contains(&targets[0].port()));
}

#[tokio::test]
async fn upload_into_the_sink_is_what_the_mock_checks() {
    let server = mock().await;
    let record = run(
        &spec(r#"steps = [{ login = true }, { stor = "/sink/gen/64K", via = "epsv", size = "64K", expect = "226" }]"#),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    assert_eq!(s.steps[1].met, Some(true));
    assert_eq!(data(&s.steps[1]).bytes, 65536);
    let log = server.events();
    let (size, digest) = log.sink_upload("/sink/gen/64K").unwrap();
    assert_eq!(size, 65536);
    assert_eq!(digest.gen, Some(ftpspec::mock::sink::GenCheck::Match));
}

#[tokio::test]
async fn listing_is_kept() {
    let server = mock().await;
    let record = run(
        &spec(r#"steps = [{ login = true }, { list = "/", via = "epsv", expect = "226" }, { list = "", via = "pasv" }]"#),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    assert_eq!(
        s.steps[1].sent,
        ["EPSV", "LIST /"],
        "no TYPE I for a listing"
    );
    let listing = data(&s.steps[1]).listing.clone().unwrap();
    assert!(listing.contains("hello.txt"), "{listing}");
    assert_eq!(s.steps[2].sent, ["PASV", "LIST"]);
    assert!(data(&s.steps[2])
        .listing
        .as_ref()
        .unwrap()
        .contains("hello.txt"));
}

#[tokio::test]
async fn abor_during_a_download_records_both_replies() {
    let server = mock().await;
    let record = run(
        &spec(r#"steps = [{ login = true }, { abor_during = "/gen/64M", via = "epsv", after = "1M" }, { send = "NOOP", expect = "200" }]"#),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    let abor = &s.steps[1];
    assert_eq!(abor.sent, ["TYPE I", "EPSV", "RETR /gen/64M", "ABOR"]);
    let after_150: Vec<u16> = codes(abor)[3..].to_vec();
    assert!(
        after_150 == [426, 226] || after_150 == [226],
        "{:#?}",
        abor.replies
    );
    let d = data(abor);
    assert!(d.bytes >= 1 << 20 && d.bytes < 64 << 20, "{}", d.bytes);
    assert_eq!(d.verified, Some(true));
    assert_eq!(s.steps[2].met, Some(true), "replies stayed in step");
}

fn ftps_spec() -> ProbeSpec {
    spec(
        r#"
        tls = "explicit"
        steps = [
          { login = true, expect = "230" },
          { retr = "/gen/1M", via = "epsv", expect = "226" },
          { retr = "/gen/64K", via = "pasv", expect = "226" },
          { stor = "/sink/gen/64K", via = "epsv", size = "64K", expect = "226" },
        ]"#,
    )
}

#[tokio::test]
async fn explicit_ftps_resumes_the_session_on_data_connections() {
    // The control connection brings two TLS 1.3 tickets and the probe uses each once (as
    // rustls does): the third data connection resumes from a ticket of a data connection.
    let server = MockServer::builder()
        .credentials("alice", "secret")
        .ftps(
            Ftps::explicit()
                .require_tls()
                .require_session_reuse(true)
                .data_tickets(1),
        )
        .start()
        .await
        .unwrap();
    let record = run(&ftps_spec(), &target(&server)).await;
    let s = whole(&record);
    let login = &s.steps[0];
    assert_eq!(
        login.sent,
        ["AUTH TLS", "USER alice", "PASS ****", "PBSZ 0", "PROT P"]
    );
    assert_eq!(login.met, Some(true), "checked against PASS's 230");
    assert_eq!(
        login.control,
        Some(ControlChange::TlsStarted {
            version: "TLSv1.3".into()
        })
    );
    for step in &s.steps[1..] {
        assert_eq!(step.met, Some(true), "{step:#?}");
        let tls = data(step).tls.clone().unwrap();
        assert!(tls.resumed, "{step:#?}");
        assert_eq!(tls.version, "TLSv1.3");
        assert!(tls.close_notify, "{step:#?}");
    }
    assert_eq!(data(&s.steps[1]).verified, Some(true));
    // The secrets of every connection, as the server knows them too: a capture can carry
    // them (each line LABEL client_random secret).
    assert!(!record.tls_keys.is_empty());
    for line in record.tls_keys.lines() {
        assert_eq!(line.split(' ').count(), 3, "{line}");
    }
    let server_keys = server.tls_key_log().unwrap_or_default();
    let probe_first = record.tls_keys.lines().next().unwrap();
    assert!(
        server_keys.lines().any(|l| l == probe_first),
        "{server_keys}"
    );
    let log = server.events();
    assert_eq!(
        log.sink_upload("/sink/gen/64K").unwrap().1.gen,
        Some(ftpspec::mock::sink::GenCheck::Match)
    );
    assert!(
        log.stored_complete("/sink/gen/64K"),
        "the probe sent close_notify"
    );
}

#[tokio::test]
async fn a_data_connection_that_does_not_resume_is_refused_where_reuse_is_required() {
    let server = MockServer::builder()
        .ftps(Ftps::explicit().require_session_reuse(true))
        .start()
        .await
        .unwrap();
    let record = run(
        &spec(
            r#"
            tls = "explicit"
            steps = [
              { login = true },
              { retr = "/gen/64K", via = "epsv", tls_resume = false, expect = "522" },
              { retr = "/gen/64K", via = "epsv", expect = "226" },
            ]"#,
        ),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    let refused = &s.steps[1];
    assert_eq!(refused.met, Some(true), "{refused:#?}");
    let d = data(refused);
    assert!(!d.tls.as_ref().unwrap().resumed);
    assert_eq!(d.verified, None, "no byte came");
    assert_eq!(s.steps[2].met, Some(true), "{:#?}", s.steps[2]);
    assert!(data(&s.steps[2]).tls.as_ref().unwrap().resumed);
}

#[tokio::test]
async fn tickets_on_data_connections_are_counted() {
    for (tickets, want) in [(0, 0), (3, 3)] {
        let server = MockServer::builder()
            .ftps(Ftps::explicit().data_tickets(tickets))
            .start()
            .await
            .unwrap();
        let record = run(&ftps_spec(), &target(&server)).await;
        let s = whole(&record);
        for step in &s.steps[1..] {
            let tls = data(step).tls.clone().unwrap();
            assert_eq!(tls.tickets, want, "data_tickets({tickets}): {step:#?}");
        }
        // The control connection's two tickets serve two data connections; a third
        // resumes only from a ticket a data connection brought.
        let third = data(&s.steps[3]).tls.clone().unwrap();
        assert_eq!(third.resumed, tickets > 0, "{:#?}", s.steps[3]);
    }
}

#[tokio::test]
async fn a_server_that_omits_close_notify_is_seen() {
    let server = MockServer::builder()
        .ftps(Ftps::explicit().omit_close_notify(true))
        .start()
        .await
        .unwrap();
    let record = run(&ftps_spec(), &target(&server)).await;
    let s = whole(&record);
    for step in &s.steps[1..] {
        let d = data(step);
        assert!(!d.tls.as_ref().unwrap().close_notify, "{step:#?}");
        assert_eq!(
            d.error, None,
            "a missing close_notify is recorded, not an error"
        );
    }
    assert_eq!(data(&s.steps[1]).verified, Some(true));
}

#[tokio::test]
async fn implicit_ftps() {
    let server = MockServer::builder()
        .ftps(Ftps::implicit())
        .file("/hello.txt", "Hello\n")
        .start()
        .await
        .unwrap();
    let record = run(
        &spec(
            r#"tls = "implicit"
steps = [{ login = true }, { list = "/", via = "epsv", expect = "226" }]"#,
        ),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    assert_eq!(
        s.steps[0].sent,
        ["USER alice", "PASS ****", "PBSZ 0", "PROT P"]
    );
    let d = data(&s.steps[1]);
    assert!(d.listing.as_ref().unwrap().contains("hello.txt"));
    assert!(d.tls.as_ref().unwrap().resumed);
    assert_eq!(server.events().control_tls().len(), 1);
}

#[tokio::test]
async fn auth_tls_and_ccc_as_steps() {
    let server = MockServer::builder()
        .ftps(Ftps::explicit())
        .start()
        .await
        .unwrap();
    let record = run(
        &spec(
            r#"
            steps = [
              { send = "AUTH TLS", expect = "234" },
              { login = true },
              { send = "PBSZ 0", expect = "200" },
              { send = "PROT P", expect = "200" },
              { send = "CCC", expect = "200" },
              { send = "PWD", expect = "257" },
              { retr = "/gen/64K", via = "epsv", expect = "226" },
            ]"#,
        ),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    assert!(matches!(
        s.steps[0].control,
        Some(ControlChange::TlsStarted { .. })
    ));
    assert_eq!(
        s.steps[4].control,
        Some(ControlChange::TlsCleared {
            server_close_notify: true
        })
    );
    assert!(s.steps.iter().all(|st| st.met != Some(false)), "{s:#?}");
    let d = data(&s.steps[6]);
    assert!(d.tls.is_some(), "data stays protected after CCC");
    assert_eq!(d.verified, Some(true));
    assert_eq!(
        server.events().control_cleared(),
        [true],
        "the probe sent close_notify"
    );
}

#[tokio::test]
async fn placeholders_and_a_missing_decoy() {
    let server = mock().await;
    let mut t = target(&server);
    let record = run(
        &spec(r#"steps = [{ login = true }, { send = "PORT {decoy_port_args}" }, { send = "EPRT {own_eprt_22}" }]"#),
        &t,
    )
    .await;
    let s = whole(&record);
    assert!(s.steps[1].error.as_ref().unwrap().contains("no decoy"));
    assert!(s.steps[1].sent.is_empty());
    assert_eq!(s.steps[2].sent, ["EPRT |1|127.0.0.1|22|"]);
    t.decoy = Some("127.0.0.1:2121".parse().unwrap());
    let record = run(
        &spec(r#"steps = [{ login = true }, { send = "PORT {decoy_port_args}" }]"#),
        &t,
    )
    .await;
    assert_eq!(whole(&record).steps[1].sent, ["PORT 127,0,0,1,8,73"]);
}

/// A server that sends `greeting` (or nothing) and then nothing more, on one connection.
async fn rogue(greeting: &'static [u8]) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let _ = tcp.write_all(greeting).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    addr
}

#[tokio::test]
async fn misbehaving_servers_are_recorded_not_waited_for() {
    let steps = spec(r#"steps = [{ login = true }, { send = "NOOP" }]"#);
    let cases: [(&'static [u8], &str, usize); 4] = [
        (b"", "greeting: control connection: no reply within", 0),
        (
            b"hello there, have some junk\r\n",
            "not an FTP reply line",
            0,
        ),
        (b"220-start\r\n", "no reply within", 0),
        (b"220 hi\r\n", "no reply within", 1),
    ];
    for (greeting, error, steps_run) in cases {
        let mut t = ProbeTarget::new(rogue(greeting).await, "u", "p");
        t.timeout = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let record = run(&steps, &t).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        let s = &record.sessions[0];
        assert!(
            s.error.as_deref().unwrap_or("").contains(error),
            "{greeting:?}: {s:#?}"
        );
        assert_eq!(s.steps.len(), steps_run, "{s:#?}");
    }
    let huge: &'static [u8] = Box::leak(vec![b'2'; 200_000].into_boxed_slice());
    let mut t = ProbeTarget::new(rogue(huge).await, "u", "p");
    t.timeout = Duration::from_millis(300);
    let record = run(&steps, &t).await;
    let error = record.sessions[0].error.clone().unwrap();
    assert!(error.contains("longer than 65536 bytes"), "{error}");
}

#[tokio::test]
async fn nothing_listening() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let record = run(
        &spec("idle_connections = 3\nsteps = [{ login = true }]"),
        &ProbeTarget::new(addr, "u", "p"),
    )
    .await;
    assert_eq!((record.idle_opened, record.idle_refused), (0, 3));
    assert!(record.sessions[0]
        .error
        .as_ref()
        .unwrap()
        .contains("connecting"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_sessions() {
    let server = mock().await;
    let record = run(
        &spec(
            r#"sessions = 200
steps = [{ login = true }, { retr = "/gen/1M", via = "epsv", expect = "226" }]"#,
        ),
        &target(&server),
    )
    .await;
    assert_eq!(record.sessions.len(), 200);
    for s in &record.sessions {
        assert_eq!(s.error, None, "{s:#?}");
        let d = data(&s.steps[1]);
        assert_eq!((d.bytes, d.verified), (1 << 20, Some(true)), "{s:#?}");
    }
    assert_eq!(server.events().control_connections(), 200);
}

#[tokio::test]
async fn idle_connections_are_held_while_the_sessions_run() {
    let server = mock().await;
    let record = run(
        &spec(
            r#"idle_connections = 100
steps = [{ login = true }, { sleep_ms = 300 }, { send = "NOOP", expect = "200" }]"#,
        ),
        &target(&server),
    )
    .await;
    let s = whole(&record);
    assert_eq!(s.steps[2].met, Some(true));
    assert_eq!(
        (record.idle_opened, record.idle_refused, record.idle_closed),
        (100, 0, 0)
    );
    assert_eq!(server.events().control_connections(), 101);
    assert!(record.elapsed >= Duration::from_millis(300));
}
