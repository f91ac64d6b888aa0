//! The server personalities of the catalogue (`scenarios/personalities/*.toml`): each file's
//! `[server]` table is a [`ServerSpec`] that builds, and real clients on loopback (Python's
//! ftplib and curl: list, download, upload; curl again over explicit FTPS) work against it,
//! while the event log shows the personality's quirks were really served: its banner, SYST
//! and FEAT, MLSD refused or served, DOS LIST lines, 125 instead of 150, the IP-match policy,
//! and its TLS policy (session reuse required, tickets on data connections, close_notify
//! omitted).
//!
//! A personality's `[server.tls]` is a TLS *policy*: it applies to scenarios that run FTPS and
//! does not turn FTPS on for a plain one; the plain sessions here drop it, the FTPS ones add
//! `mode = "explicit"` to it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use ftpspec_mock::{generated, EventLog, FtpsMode, MockServer, ServerSpec};
use rstest::rstest;
use serde::Deserialize;

const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// A personality file: the agreed format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Personality {
    title: String,
    description: String,
    references: Vec<String>,
    server: ServerSpec,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/personalities")
}

fn load(name: &str) -> Personality {
    let path = dir().join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const NAMES: [&str; 5] = [
    "filezilla-like",
    "iis-like",
    "proftpd-like",
    "pure-ftpd-like",
    "vsftpd-like",
];

#[test]
fn the_five_personalities_parse_and_build() {
    let mut found: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, NAMES);
    for name in NAMES {
        let p = load(name);
        assert!(
            !p.title.is_empty() && p.description.len() > 200,
            "{name}: a title and a description of what it reproduces"
        );
        assert!(p.references.len() >= 3, "{name}: cite the sources");
        let tls = p.server.tls.clone().expect("each states its TLS policy");
        assert_eq!(tls.mode, None, "{name}: a policy, not FTPS turned on");
        MockServer::builder()
            .spec(&p.server)
            .build()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        MockServer::builder()
            .spec(&plain(&p))
            .build()
            .unwrap_or_else(|e| panic!("{name} without TLS: {e}"));
    }
}

/// The personality's server without its TLS policy (a plain scenario).
fn plain(p: &Personality) -> ServerSpec {
    ServerSpec {
        tls: None,
        ..p.server.clone()
    }
}

/// The personality's server with explicit FTPS (an FTPS scenario).
fn explicit(p: &Personality) -> ServerSpec {
    let mut spec = p.server.clone();
    spec.tls.as_mut().unwrap().mode = Some(FtpsMode::Explicit);
    spec
}

async fn start(spec: &ServerSpec) -> MockServer {
    MockServer::builder()
        .file("/pub/readme.txt", "Hello from a personality\n")
        .dir("/incoming")
        .spec(spec)
        .data_timeout(Duration::from_secs(5))
        .start()
        .await
        .unwrap()
}

async fn run(tool: &str, args: &[&str], cwd: &Path) -> Output {
    common::require(tool);
    let mut cmd = tokio::process::Command::new(tool);
    cmd.args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    tokio::time::timeout(CLIENT_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{tool} {args:?} did not finish in {CLIENT_TIMEOUT:?}"))
        .unwrap()
}

fn log(server: &MockServer) -> EventLog {
    server.wait_idle_blocking(Duration::from_secs(5));
    server.events()
}

#[track_caller]
fn ok(out: &Output, server: &MockServer, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\nstdout: {}\nstderr: {}\nserver transcript:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        log(server).transcript()
    );
}

/// A whole ftplib session: the banner, SYST, FEAT, LIST, MLSD (which may be refused), a
/// download and an upload; prints what it saw as `key<TAB>value` lines.
const FTPLIB_SESSION: &str = r#"
import ftplib, io, sys
port = int(sys.argv[1])
f = ftplib.FTP()
print("welcome\t" + f.connect("127.0.0.1", port, timeout=20).replace("\r\n", "|"))
f.login("test", "test")
print("syst\t" + f.sendcmd("SYST"))
print("feat\t" + f.sendcmd("FEAT").replace("\n", "|"))
lines = []
f.retrlines("LIST /pub", lines.append)
print("list\t" + lines[0])
try:
    names = [n for n, _ in f.mlsd("/pub")]
    print("mlsd\t" + ",".join(names))
except ftplib.error_perm as e:
    print("mlsd\trefused " + str(e))
got = io.BytesIO()
f.retrbinary("RETR /gen/100K", got.write)
print("retr\t%d" % len(got.getvalue()))
print("stor\t" + f.storbinary("STOR /incoming/up.bin", io.BytesIO(b"x" * 5000)))
f.quit()
"#;

/// What each personality must have served to Python's ftplib: greeting, SYST, a FEAT line,
/// the first LIST line's start, MLSD (`refused 500` or the names), the preliminary code.
#[rstest]
#[case::vsftpd(
    "vsftpd-like",
    "(vsFTPd 3.0.3)",
    "215 UNIX Type: L8",
    " AUTH TLS|",
    "-rw",
    "refused 500 Unknown command.",
    150
)]
#[case::proftpd(
    "proftpd-like",
    "ProFTPD Server (Debian)",
    "215 UNIX Type: L8",
    " MLST modify*;perm*;",
    "-rw",
    "readme.txt",
    150
)]
#[case::pure_ftpd(
    "pure-ftpd-like",
    "Welcome to Pure-FTPd",
    "215 UNIX Type: L8",
    "211-Extensions supported:",
    "-rw",
    "readme.txt",
    150
)]
#[case::filezilla(
    "filezilla-like",
    "FileZilla Server version 0.9.41 beta",
    "215 UNIX emulated by FileZilla",
    " MLST type*;size*;modify*;",
    "-rw",
    "readme.txt",
    150
)]
#[case::iis(
    "iis-like",
    "Microsoft FTP Service",
    "215 Windows_NT",
    " AUTH TLS;TLS-C;SSL;TLS-P;",
    "01-01-",
    "refused 500 'MLSD': command not understood",
    125
)]
#[tokio::test]
async fn ftplib_sees_the_personality(
    #[case] name: &str,
    #[case] greeting: &str,
    #[case] syst: &str,
    #[case] feat: &str,
    #[case] list_start: &str,
    #[case] mlsd: &str,
    #[case] preliminary: u16,
) {
    let p = load(name);
    let server = start(&plain(&p)).await;
    let tmp = tempfile::tempdir().unwrap();
    let port = server.addr().port().to_string();
    let out = run("python3", &["-c", FTPLIB_SESSION, &port], tmp.path()).await;
    ok(&out, &server, name);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: BTreeMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('\t')).collect();
    let transcript = log(&server).transcript();
    assert!(seen["welcome"].contains(greeting), "{name}: {seen:?}");
    assert_eq!(seen["syst"], syst, "{name}");
    assert!(seen["feat"].contains(feat), "{name}: {seen:?}");
    assert!(
        seen["list"].starts_with(list_start),
        "{name}: {seen:?}\n{transcript}"
    );
    if mlsd.starts_with("refused") {
        assert!(seen["mlsd"].starts_with(mlsd), "{name}: {seen:?}");
    } else {
        assert!(
            seen["mlsd"].split(',').any(|n| n == mlsd),
            "{name}: {seen:?}"
        );
    }
    assert_eq!(seen["retr"], "102400", "{name}");
    assert!(seen["stor"].starts_with("226"), "{name}: {seen:?}");
    assert_eq!(server.file("/incoming/up.bin").unwrap().len(), 5000);
    // Every transfer's preliminary reply has the personality's code (the refused MLSD has none).
    let codes = log(&server).reply_codes();
    let preliminaries: Vec<u16> = codes
        .iter()
        .copied()
        .filter(|c| *c == 125 || *c == 150)
        .collect();
    let transfers = if mlsd.starts_with("refused") { 3 } else { 4 };
    assert_eq!(
        preliminaries,
        vec![preliminary; transfers],
        "{name}\n{transcript}"
    );
}

/// curl (EPSV, then PASV) lists, downloads and uploads; where the personality requires IP
/// match, the data connections came from the control connection's address and none was
/// refused.
#[rstest]
#[tokio::test]
async fn curl_lists_downloads_and_uploads(
    #[values(
        "vsftpd-like",
        "proftpd-like",
        "pure-ftpd-like",
        "filezilla-like",
        "iis-like"
    )]
    name: &str,
    #[values(false, true)] disable_epsv: bool,
) {
    let p = load(name);
    let server = start(&plain(&p)).await;
    let tmp = tempfile::tempdir().unwrap();
    let base = server.url();
    let mut common = vec!["-sS", "--max-time", "20"];
    if disable_epsv {
        common.push("--disable-epsv");
    }
    let listing = format!("{base}/pub/");
    let out = run(
        "curl",
        &[&common[..], &[listing.as_str()]].concat(),
        tmp.path(),
    )
    .await;
    ok(&out, &server, "curl list");
    assert!(String::from_utf8_lossy(&out.stdout).contains("readme.txt"));
    let file = format!("{base}/gen/1M");
    let args = [&common[..], &["-o", "got.bin", file.as_str()]].concat();
    ok(&run("curl", &args, tmp.path()).await, &server, "curl get");
    let got = std::fs::read(tmp.path().join("got.bin")).unwrap();
    assert_eq!((got.len(), generated::verify(0, &got)), (1 << 20, Ok(())));
    std::fs::write(tmp.path().join("up.bin"), vec![7u8; 70_000]).unwrap();
    let target = format!("{base}/incoming/up.bin");
    let args = [&common[..], &["-T", "up.bin", target.as_str()]].concat();
    ok(&run("curl", &args, tmp.path()).await, &server, "curl put");
    assert_eq!(server.file("/incoming/up.bin").unwrap(), vec![7u8; 70_000]);
    let log = log(&server);
    assert_eq!(log.data_connections().len(), 3, "{}", log.transcript());
    assert!(log.data_peers_refused().is_empty());
    let verb = if disable_epsv { "PASV" } else { "EPSV" };
    assert!(
        log.verbs().iter().any(|v| v == verb),
        "{}",
        log.transcript()
    );
}

/// curl over explicit FTPS: the TLS policy was served. vsftpd and ProFTPD require reuse
/// (curl resumes) and send two TLS 1.3 tickets on each data connection; IIS closes data
/// connections without close_notify; the others send it.
#[rstest]
#[case::vsftpd("vsftpd-like", 2, true)]
#[case::proftpd("proftpd-like", 2, true)]
#[case::pure_ftpd("pure-ftpd-like", 0, true)]
#[case::filezilla("filezilla-like", 0, true)]
#[case::iis("iis-like", 0, false)]
#[tokio::test]
async fn curl_over_explicit_ftps_meets_the_tls_policy(
    #[case] name: &str,
    #[case] tickets: u32,
    #[case] close_notify: bool,
) {
    let p = load(name);
    let server = start(&explicit(&p)).await;
    let tmp = tempfile::tempdir().unwrap();
    let tls = server.tls().unwrap();
    tls.write_ca_pem(tmp.path().join("ca.pem")).unwrap();
    let base = server.url().replace("127.0.0.1", "localhost");
    let file = format!("{base}/gen/256K");
    let common = [
        "-sS",
        "--max-time",
        "20",
        "--ssl-reqd",
        "--cacert",
        "ca.pem",
    ];
    let args = [&common[..], &["-o", "got.bin", file.as_str()]].concat();
    ok(&run("curl", &args, tmp.path()).await, &server, "curl get");
    let got = std::fs::read(tmp.path().join("got.bin")).unwrap();
    assert_eq!((got.len(), generated::verify(0, &got)), (256 << 10, Ok(())));
    let log = log(&server);
    let data = log.data_connections();
    assert_eq!(data.len(), 1, "{}", log.transcript());
    let d = &data[0];
    let info = d.tls.as_ref().expect("PROT P");
    assert!(
        info.resumed,
        "curl resumes the control connection's session"
    );
    if info.version.contains("1.3") {
        assert_eq!(info.tickets_sent, tickets, "{name}\n{}", log.transcript());
    }
    assert_eq!(
        d.server_close_notify,
        Some(close_notify),
        "{name}\n{}",
        log.transcript()
    );
}

/// Python's ftplib does not resume the control connection's TLS session on its data
/// connections, and waits for the server's close_notify after a download: the personalities
/// that require reuse (vsftpd's require_ssl_reuse=YES, ProFTPD's mod_tls default) refuse its
/// transfer with 522, IIS (no close_notify) leaves it with an error after the whole file
/// arrived (python/cpython#78738), the others serve it.
#[rstest]
#[case::vsftpd("vsftpd-like", "522")]
#[case::proftpd("proftpd-like", "522")]
#[case::pure_ftpd("pure-ftpd-like", "ok")]
#[case::filezilla("filezilla-like", "ok")]
#[case::iis("iis-like", "no close_notify")]
#[tokio::test]
async fn the_tls_policy_meets_ftplib(#[case] name: &str, #[case] outcome: &str) {
    let p = load(name);
    let server = start(&explicit(&p)).await;
    let tmp = tempfile::tempdir().unwrap();
    server
        .tls()
        .unwrap()
        .write_ca_pem(tmp.path().join("ca.pem"))
        .unwrap();
    let script = r#"
import ftplib, io, ssl, sys
ctx = ssl.create_default_context(cafile="ca.pem")
f = ftplib.FTP_TLS(context=ctx)
f.connect("localhost", int(sys.argv[1]), timeout=20)
f.login("test", "test")
f.prot_p()
got = io.BytesIO()
try:
    f.retrbinary("RETR /gen/10K", got.write)
    print("ok %d" % len(got.getvalue()))
except Exception as e:
    print("error %d %s" % (len(got.getvalue()), e))
"#;
    let port = server.addr().port().to_string();
    let out = run("python3", &["-c", script, &port], tmp.path()).await;
    ok(&out, &server, name);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = log(&server);
    let data = log.data_connections();
    let explain = format!("{name}: {stdout}\n{}", log.transcript());
    let resumed = data[0].tls.as_ref().map(|t| t.resumed);
    assert_eq!(resumed, Some(false), "ftplib does not resume: {explain}");
    match outcome {
        "522" => {
            assert!(stdout.starts_with("error 0"), "{explain}");
            assert!(log.reply_codes().contains(&522), "{explain}");
        }
        "no close_notify" => {
            assert!(stdout.starts_with("error 10240"), "{explain}");
            assert_eq!(data[0].server_close_notify, Some(false), "{explain}");
            assert_eq!(data[0].bytes_sent, 10240, "{explain}");
        }
        _ => assert_eq!(stdout.trim(), "ok 10240", "{explain}"),
    }
}
