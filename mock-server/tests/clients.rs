//! Real FTP clients as peers, on loopback: curl, lftp, wget, python3's ftplib, tnftp (CLI
//! programs) and the Rust crate suppaftp (in-process). Each case checks the bytes that moved and,
//! from the event log, how the client did it (EPSV or PASV, PORT or EPRT, REST).
//!
//! A missing client is a failure with the install command, never a silent skip: `.ci/run`
//! installs them all.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::require;
use ftpspec_mock::{generated, DataMode, EventLog, MockServer};
use rstest::rstest;

const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

async fn server() -> MockServer {
    MockServer::builder()
        .file("/pub/readme.txt", "Hello from ftpspec\n")
        .file("/pub/notes.txt", "notes\n")
        .dir("/incoming")
        .data_timeout(Duration::from_secs(10))
        .start()
        .await
        .unwrap()
}

/// Runs a client to completion; panics with its output and the server transcript on failure.
async fn run(server: &MockServer, tool: &str, args: &[&str]) -> Output {
    require(tool);
    let mut cmd = tokio::process::Command::new(tool);
    cmd.args(args)
        .env("HOME", std::env::temp_dir())
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    let out = match tokio::time::timeout(CLIENT_TIMEOUT, cmd.output()).await {
        Ok(out) => out.unwrap(),
        Err(_) => panic!(
            "{tool} {args:?} did not finish in {CLIENT_TIMEOUT:?}\n{}",
            server.events().transcript()
        ),
    };
    if !out.status.success() {
        panic!(
            "{tool} {args:?} failed: {}\nstdout: {}\nstderr: {}\nserver transcript:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            server.events().transcript()
        );
    }
    out
}

fn verbs(log: &EventLog) -> Vec<String> {
    log.verbs()
}

#[track_caller]
fn assert_sent(log: &EventLog, verb: &str) {
    assert!(
        verbs(log).iter().any(|v| v == verb),
        "expected the client to send {verb}\n{}",
        log.transcript()
    );
}

#[track_caller]
fn assert_not_sent(log: &EventLog, verb: &str) {
    assert!(
        !verbs(log).iter().any(|v| v == verb),
        "expected the client not to send {verb}\n{}",
        log.transcript()
    );
}

#[track_caller]
fn assert_generated(path: &Path, offset: u64, len: u64) {
    let data = std::fs::read(path).unwrap();
    assert_eq!(
        data.len() as u64,
        len,
        "{} has the wrong size",
        path.display()
    );
    assert_eq!(
        generated::verify(offset, &data),
        Ok(()),
        "{} differs from the generated content",
        path.display()
    );
}

#[track_caller]
fn assert_modes(log: &EventLog, mode: DataMode) {
    let conns = log.data_connections();
    assert!(
        !conns.is_empty() && conns.iter().all(|c| c.mode == mode),
        "expected only {mode:?} data connections\n{}",
        log.transcript()
    );
}

fn partial_file(dir: &Path, name: &str, len: usize) -> std::path::PathBuf {
    let mut head = vec![0u8; len];
    generated::fill(0, &mut head);
    let path = dir.join(name);
    std::fs::write(&path, head).unwrap();
    path
}

fn upload_source(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let content: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let path = dir.join("upload.bin");
    std::fs::write(&path, &content).unwrap();
    (path, content)
}

// ---------------------------------------------------------------- curl

#[rstest]
#[case::epsv(&[], "EPSV", "PASV")]
#[case::pasv(&["--disable-epsv"], "PASV", "EPSV")]
#[tokio::test]
async fn curl_passive_download(#[case] extra: &[&str], #[case] sent: &str, #[case] not_sent: &str) {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("1M");
    let url = format!("{}/gen/1M", server.url());
    let mut args = vec!["-sS", "--max-time", "30", "-o", out.to_str().unwrap(), &url];
    args.extend_from_slice(extra);
    run(&server, "curl", &args).await;
    assert_generated(&out, 0, 1 << 20);
    let log = server.events();
    assert_sent(&log, sent);
    assert_not_sent(&log, not_sent);
    assert_modes(&log, DataMode::Passive);
}

#[rstest]
#[case::eprt(&[], "EPRT")]
#[case::port(&["--disable-eprt"], "PORT")]
#[tokio::test]
async fn curl_active_download(#[case] extra: &[&str], #[case] sent: &str) {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("64K");
    let url = format!("{}/gen/64K", server.url());
    let mut args = vec![
        "-sS",
        "--max-time",
        "30",
        "-P",
        "127.0.0.1",
        "-o",
        out.to_str().unwrap(),
        &url,
    ];
    args.extend_from_slice(extra);
    run(&server, "curl", &args).await;
    assert_generated(&out, 0, 64 << 10);
    let log = server.events();
    assert_sent(&log, sent);
    assert_modes(&log, DataMode::Active);
}

#[tokio::test]
async fn curl_list_upload_resume() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let listing = run(
        &server,
        "curl",
        &["-sS", "--max-time", "30", &format!("{}/pub/", server.url())],
    )
    .await;
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("readme.txt") && listing.contains("notes.txt"),
        "{listing}"
    );

    let (src, content) = upload_source(dir.path());
    run(
        &server,
        "curl",
        &[
            "-sS",
            "--max-time",
            "30",
            "-T",
            src.to_str().unwrap(),
            &format!("{}/incoming/up.bin", server.url()),
        ],
    )
    .await;
    assert_eq!(server.file("/incoming/up.bin").unwrap(), content);

    let out = partial_file(dir.path(), "64K", 1000);
    let url = format!("{}/gen/64K", server.url());
    run(
        &server,
        "curl",
        &[
            "-sS",
            "--max-time",
            "30",
            "-C",
            "-",
            "-o",
            out.to_str().unwrap(),
            &url,
        ],
    )
    .await;
    assert_generated(&out, 0, 64 << 10);
    let log = server.events();
    assert!(
        log.commands().contains(&"REST 1000"),
        "{}",
        log.transcript()
    );
    assert_sent(&log, "STOR");
    assert_sent(&log, "LIST");
}

// ---------------------------------------------------------------- lftp

fn lftp_script(server: &MockServer, body: &str) -> String {
    format!(
        "set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1; set ftp:ssl-allow no; \
         open -u test,test -p {} 127.0.0.1; {body}; bye",
        server.addr().port()
    )
}

#[rstest]
#[case::pasv("", "PASV", DataMode::Passive)]
#[case::epsv("set ftp:prefer-epsv yes;", "EPSV", DataMode::Passive)]
#[case::active("set ftp:passive-mode off;", "PORT", DataMode::Active)]
#[tokio::test]
async fn lftp_download(#[case] settings: &str, #[case] sent: &str, #[case] mode: DataMode) {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("1M");
    let script = lftp_script(
        &server,
        &format!("{settings} get /gen/1M -o {}", out.display()),
    );
    run(&server, "lftp", &["-c", &script]).await;
    assert_generated(&out, 0, 1 << 20);
    let log = server.events();
    assert_sent(&log, sent);
    assert_modes(&log, mode);
}

#[tokio::test]
async fn lftp_list_upload_resume() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (src, content) = upload_source(dir.path());
    let partial = partial_file(dir.path(), "64K", 1000);
    let body = format!(
        "cls -1 /pub; put {} -o /incoming/up.bin; get -c /gen/64K -o {}",
        src.display(),
        partial.display()
    );
    let out = run(&server, "lftp", &["-c", &lftp_script(&server, &body)]).await;
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("readme.txt") && listing.contains("notes.txt"),
        "{listing}"
    );
    assert_eq!(server.file("/incoming/up.bin").unwrap(), content);
    assert_generated(&partial, 0, 64 << 10);
    let log = server.events();
    assert!(
        log.commands().contains(&"REST 1000"),
        "{}",
        log.transcript()
    );
}

// ---------------------------------------------------------------- wget (downloads only: wget cannot upload)

#[rstest]
#[case::passive(&[], "PASV", DataMode::Passive)]
#[case::active(&["--no-passive-ftp"], "PORT", DataMode::Active)]
#[tokio::test]
async fn wget_download(#[case] extra: &[&str], #[case] sent: &str, #[case] mode: DataMode) {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("1M");
    let url = format!("{}/gen/1M", server.url());
    let mut args = vec![
        "-q",
        "--tries=1",
        "--timeout=20",
        "-O",
        out.to_str().unwrap(),
        &url,
    ];
    args.extend_from_slice(extra);
    run(&server, "wget", &args).await;
    assert_generated(&out, 0, 1 << 20);
    let log = server.events();
    assert_sent(&log, sent);
    assert_modes(&log, mode);
}

#[tokio::test]
async fn wget_list_and_resume() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index.html");
    run(
        &server,
        "wget",
        &[
            "-q",
            "--tries=1",
            "--timeout=20",
            "-O",
            index.to_str().unwrap(),
            &format!("{}/pub/", server.url()),
        ],
    )
    .await;
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(
        html.contains("readme.txt") && html.contains("notes.txt"),
        "{html}"
    );
    partial_file(dir.path(), "64K", 1000);
    let url = format!("{}/gen/64K", server.url());
    run(
        &server,
        "wget",
        &[
            "-q",
            "--tries=1",
            "--timeout=20",
            "-c",
            "-P",
            dir.path().to_str().unwrap(),
            &url,
        ],
    )
    .await;
    assert_generated(&dir.path().join("64K"), 0, 64 << 10);
    let log = server.events();
    assert_sent(&log, "LIST");
    assert!(
        log.commands().contains(&"REST 1000"),
        "{}",
        log.transcript()
    );
}

// ---------------------------------------------------------------- python3 ftplib

const FTPLIB_SCRIPT: &str = r#"
import ftplib, io, socket, sys
host, port, passive, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "passive", sys.argv[4]
f = ftplib.FTP()
f.connect(host, port, timeout=20)
f.login("test", "test")
f.set_pasv(passive)
names = f.nlst("/pub")
assert any(n.endswith("readme.txt") for n in names), names
facts = dict(f.mlsd("/pub"))
assert facts["readme.txt"]["size"] == "19", facts
buf = io.BytesIO()
f.retrbinary("RETR /gen/1M", buf.write)
open(outdir + "/1M", "wb").write(buf.getvalue())
buf = io.BytesIO()
f.retrbinary("RETR /gen/64K", buf.write, rest=1000)
open(outdir + "/64K-from-1000", "wb").write(buf.getvalue())
f.storbinary("STOR /incoming/up.bin", open(outdir + "/upload.bin", "rb"))
f.quit()
"#;

#[rstest]
#[case::ipv4_passive("127.0.0.1", "passive", "PASV", DataMode::Passive)]
#[case::ipv4_active("127.0.0.1", "active", "PORT", DataMode::Active)]
#[case::ipv6_passive("::1", "passive", "EPSV", DataMode::Passive)]
#[case::ipv6_active("::1", "active", "EPRT", DataMode::Active)]
#[tokio::test]
async fn python_ftplib(
    #[case] host: &str,
    #[case] passive: &str,
    #[case] sent: &str,
    #[case] mode: DataMode,
) {
    let bind = format!("[{}]:0", host.trim_start_matches('['));
    let bind = if host.contains(':') {
        bind
    } else {
        format!("{host}:0")
    };
    let server = MockServer::builder()
        .bind(bind.parse().unwrap())
        .file("/pub/readme.txt", "Hello from ftpspec\n")
        .dir("/incoming")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, content) = upload_source(dir.path());
    let port = server.addr().port().to_string();
    run(
        &server,
        "python3",
        &[
            "-c",
            FTPLIB_SCRIPT,
            host,
            &port,
            passive,
            dir.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_generated(&dir.path().join("1M"), 0, 1 << 20);
    assert_generated(&dir.path().join("64K-from-1000"), 1000, (64 << 10) - 1000);
    assert_eq!(server.file("/incoming/up.bin").unwrap(), content);
    let log = server.events();
    assert_sent(&log, sent);
    assert_sent(&log, "MLSD");
    assert!(
        log.commands().contains(&"REST 1000"),
        "{}",
        log.transcript()
    );
    assert_modes(&log, mode);
}

/// Issue 16: a scripted multi-line 227 (`227-` lines, then the `227 ` line with the address)
/// is accepted on loopback, and real clients read the address from its last line.
#[tokio::test]
async fn a_multi_line_227_on_loopback_works_with_curl_and_ftplib() {
    let spec: ftpspec_mock::ServerSpec = toml::from_str(
        r#"
        [[script]]
        name = "multi-line 227"
        command = "PASV"
        passive = "227-listen socket created\r\n227 Entering Passive Mode ({h1},{h2},{h3},{h4},{p1},{p2})"
        expect = 2
        "#,
    )
    .unwrap();
    let server = MockServer::builder().spec(&spec).start().await.unwrap();
    let url = format!("ftp://127.0.0.1:{}/gen/1K", server.addr().port());
    let out = run(&server, "curl", &["-s", "--disable-epsv", &url]).await;
    assert_eq!(out.stdout.len(), 1024, "{}", server.events().transcript());
    assert_eq!(generated::verify(0, &out.stdout), Ok(()));
    let port = server.addr().port().to_string();
    let script = "import ftplib, sys\n\
        f = ftplib.FTP()\n\
        f.connect('127.0.0.1', int(sys.argv[1]), timeout=20)\n\
        f.login()\n\
        data = bytearray()\n\
        f.retrbinary('RETR /gen/1K', data.extend)\n\
        f.quit()\n\
        assert len(data) == 1024, len(data)\n";
    run(&server, "python3", &["-c", script, &port]).await;
    let log = server.events();
    assert_modes(&log, DataMode::Passive);
    assert_eq!(log.data_connections().len(), 2, "{}", log.transcript());
    server.verify().unwrap();
}

// ---------------------------------------------------------------- tnftp

#[rstest]
#[case::passive(&[], "EPSV", DataMode::Passive)]
#[case::active(&["-A"], "EPRT", DataMode::Active)]
#[tokio::test]
async fn tnftp_download(#[case] extra: &[&str], #[case] sent: &str, #[case] mode: DataMode) {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("1M");
    let url = format!("ftp://test:test@{}/gen/1M", server.addr());
    let mut args: Vec<&str> = extra.to_vec();
    args.extend_from_slice(&["-V", "-q", "20", "-o", out.to_str().unwrap(), &url]);
    run(&server, "tnftp", &args).await;
    assert_generated(&out, 0, 1 << 20);
    let log = server.events();
    assert_sent(&log, sent);
    assert_modes(&log, mode);
}

// ---------------------------------------------------------------- suppaftp (in-process)

#[rstest]
#[case::passive(suppaftp::Mode::Passive, "PASV", DataMode::Passive)]
#[case::extended_passive(suppaftp::Mode::ExtendedPassive, "EPSV", DataMode::Passive)]
#[case::active(suppaftp::Mode::Active, "PORT", DataMode::Active)]
#[tokio::test]
async fn suppaftp_client(
    #[case] mode: suppaftp::Mode,
    #[case] sent: &str,
    #[case] data_mode: DataMode,
) {
    let server = server().await;
    let addr = server.addr();
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let upload = content.clone();
    tokio::task::spawn_blocking(move || {
        let mut ftp = suppaftp::FtpStream::connect(addr).unwrap();
        ftp.login("test", "test").unwrap();
        ftp.set_mode(mode);
        ftp.transfer_type(suppaftp::types::FileType::Binary)
            .unwrap();
        let names = ftp.nlst(Some("/pub")).unwrap();
        assert!(names.iter().any(|n| n.ends_with("readme.txt")), "{names:?}");
        let lines = ftp.list(Some("/pub")).unwrap();
        assert!(lines.iter().any(|l| l.ends_with("notes.txt")), "{lines:?}");
        let data = ftp.retr_as_buffer("/gen/1M").unwrap().into_inner();
        assert_eq!(data.len(), 1 << 20);
        assert_eq!(generated::verify(0, &data), Ok(()));
        ftp.resume_transfer(1000).unwrap();
        let data = ftp.retr_as_buffer("/gen/64K").unwrap().into_inner();
        assert_eq!(generated::verify(1000, &data), Ok(()));
        assert_eq!(data.len(), (64 << 10) - 1000);
        ftp.put_file("/incoming/up.bin", &mut std::io::Cursor::new(upload))
            .unwrap();
        assert_eq!(ftp.size("/incoming/up.bin").unwrap(), 100_000);
        ftp.quit().unwrap();
    })
    .await
    .unwrap();
    assert_eq!(server.file("/incoming/up.bin").unwrap(), content);
    let log = server.events();
    assert_sent(&log, sent);
    assert!(
        log.commands().contains(&"REST 1000"),
        "{}",
        log.transcript()
    );
    assert_modes(&log, data_mode);
}
