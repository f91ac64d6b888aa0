//! `ftpspec serve` as a user runs it: what it prints, what it logs, how it stops, and what it
//! says when given something wrong.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

fn ftpspec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ftpspec"))
}

fn reply(r: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    line
}

/// `ftpspec serve` with these arguments: the child, its stdout after the first line, and the
/// address it listens on (the test fails with its stderr if it did not start).
fn serve(args: &[&str]) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = ftpspec()
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    if !first.starts_with("ftpspec serve: listening on ftp://127.0.0.1:") {
        let _ = child.kill();
        let mut stderr = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
        panic!("the server did not start: {first}{stderr}");
    }
    let addr = first.split("ftp://").nth(1).unwrap();
    let addr = addr.split_whitespace().next().unwrap().to_owned();
    (child, stdout, addr)
}

/// A control connection after the greeting: the writer and the reply reader.
fn connect(addr: &str) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    assert!(reply(&mut r).starts_with("220"));
    (w, r)
}

#[test]
fn serves_logs_and_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree.toml");
    std::fs::write(
        &tree,
        "dirs = [\"/incoming\"]\n[files]\n\"/readme.txt\" = \"Hello\\n\"\n",
    )
    .unwrap();
    let (mut child, mut stdout, addr) = serve(&[
        "--port",
        "0",
        "--pasv-ports",
        "40000-40100",
        "--tree",
        tree.to_str().unwrap(),
    ]);
    let (mut w, mut r) = connect(&addr);
    for (line, code) in [
        ("USER me", "331"),
        ("PASS x", "230"),
        ("SIZE /readme.txt", "213 6"),
        ("PASV", "227"),
        ("QUIT", "221"),
    ] {
        w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let got = reply(&mut r);
        assert!(got.starts_with(code), "{line} -> {got}");
        if line == "PASV" {
            let addr = ftpspec_mock::wire::parse_227(got.trim_end()).unwrap();
            assert!((40000..=40100).contains(&addr.port()), "{got}");
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(
        rest.contains("stopped after 1 control connection(s), 5 command(s)"),
        "{rest}"
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("C> SIZE /readme.txt") && stderr.contains("S< 213 6"),
        "every command is logged: {stderr}"
    );
}

#[test]
fn serves_ftps_and_prints_a_working_curl_command() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let mut child = ftpspec()
        .args([
            "serve",
            "--port",
            "0",
            "--ftps",
            "explicit",
            "--require-tls",
        ])
        .args(["--cert-out", ca.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line);
    }
    assert!(
        lines[0].starts_with("ftpspec serve: listening on ftp://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains(&format!("test CA written to {}", ca.display())),
        "{lines:?}"
    );
    let try_line = lines[2].trim();
    assert!(
        try_line.starts_with("try: curl -s --ssl-reqd --cacert"),
        "{try_line}"
    );
    let out = Command::new("sh")
        .args(["-c", try_line.trim_start_matches("try: ")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1024",
        "{out:?}"
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("tls: Control with") && stderr.contains("tls: Data with"),
        "{stderr}"
    );
    // ftpspec's own log only: rustls' records (ClientHello dumps at TRACE) need -v.
    for line in stderr.lines() {
        assert!(
            line.trim_start().starts_with("INFO"),
            "a record not of ftpspec's: {line}"
        );
    }
}

fn fails_with(args: &[&str], message: &str) {
    let out = ftpspec().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?} should say {message:?}, said: {stderr}"
    );
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "links = 3\n[files]\n\"/a\" = \"x\"\n").unwrap();
    let bad_file = dir.path().join("bad-file.toml");
    std::fs::write(&bad_file, "[files]\n\"/a\" = 3\n").unwrap();
    let bad = bad.to_str().unwrap();
    let missing = dir.path().join("missing.toml");
    let missing = missing.to_str().unwrap();
    fails_with(
        &["serve", "--port", "0", "--pasv-address", "10.0.0.2"],
        "refusing to advertise 10.0.0.2",
    );
    fails_with(
        &["serve", "--port", "0", "--pasv-address", "nat"],
        "not \"own\", \"control-address\" or an IPv4 address",
    );
    fails_with(
        &["serve", "--port", "0", "--pasv-ports", "10-5"],
        "is not a port range MIN-MAX",
    );
    fails_with(&["serve", "--port", "0", "--tree", missing], "missing.toml");
    fails_with(
        &["serve", "--port", "0", "--tree", bad],
        "unknown field `links`",
    );
    fails_with(
        &["serve", "--port", "0", "--tree", bad_file.to_str().unwrap()],
        "line 2, column 8",
    );
    fails_with(
        &["serve", "--port", "0", "--tree", bad_file.to_str().unwrap()],
        "or { generated = \"SIZE\" }",
    );
    fails_with(
        &["serve", "--port", "0", "--root", "/nonexistent-dir"],
        "/nonexistent-dir",
    );
    fails_with(
        &["serve", "--port", "0", "--active-source-port", "21"],
        "expected any or 20",
    );
    fails_with(&["serve", "--port", "0", "--require-tls"], "--ftps");
    fails_with(
        &[
            "serve",
            "--port",
            "0",
            "--ftps",
            "explicit",
            "--tls-versions",
            "1.4",
        ],
        "is not a TLS version: use \"1.2\" or \"1.3\"",
    );
    fails_with(
        &[
            "serve",
            "--port",
            "0",
            "--ftps",
            "implicit",
            "--client-cert",
            "maybe",
        ],
        "not a client certificate policy",
    );
    fails_with(
        &[
            "serve",
            "--port",
            "0",
            "--ftps",
            "explicit",
            "--cert-out",
            "/nonexistent-dir/ca.pem",
        ],
        "cannot write the CA certificate to /nonexistent-dir/ca.pem",
    );
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let junk = junk.to_str().unwrap();
    fails_with(
        &[
            "serve",
            "--port",
            "0",
            "--ftps",
            "explicit",
            "--tls-cert",
            junk,
            "--tls-key",
            junk,
        ],
        "certificate PEM",
    );
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    fails_with(
        &["serve", "--port", &port],
        "the port is in use; pass --port 0",
    );
}

/// Issue 16: a server file whose scripted 227 is multi-line starts on loopback, and its PASV
/// reply carries the loopback address on the last line.
#[test]
fn serves_a_config_with_a_multi_line_227() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("f.toml");
    std::fs::write(
        &config,
        r#"[[script]]
command = "PASV"
passive = "227-listen socket created\r\n227 Entering Passive Mode ({h1},{h2},{h3},{h4},{p1},{p2})"
"#,
    )
    .unwrap();
    let (mut child, _stdout, addr) = serve(&["--port", "0", "--config", config.to_str().unwrap()]);
    let (mut w, mut r) = connect(&addr);
    for (line, code) in [("USER me", "331"), ("PASS x", "230")] {
        w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let got = reply(&mut r);
        assert!(got.starts_with(code), "{line} -> {got}");
    }
    w.write_all(b"PASV\r\n").unwrap();
    let mut whole = reply(&mut r);
    assert_eq!(whole, "227-listen socket created\r\n");
    whole.push_str(&reply(&mut r));
    let addr = ftpspec_mock::wire::parse_227(&whole).unwrap();
    assert_eq!(*addr.ip(), std::net::Ipv4Addr::LOCALHOST, "{whole}");
    w.write_all(b"QUIT\r\n").unwrap();
    assert!(reply(&mut r).starts_with("221"));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}
