//! Packet captures as a user gets them (`ftpspec run --capture`, `ftpspec lab --capture`),
//! read back with tshark (Wireshark's command line, installed by scripts/install-deps): the
//! interfaces named host:link, the control commands, the data connection attempts (one
//! dropped at the NAT), and FTPS decrypted by the keys inside the file alone. Needs root; CI
//! runs it as root.

use std::path::Path;
use std::process::Command;

use ftpspec::results::RunResults;
use ftpspec::Verdict;

fn ftpspec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ftpspec"))
}

/// tshark's fields (`-T fields`, tab-separated) of the packets matching `filter`, one line
/// each. No key log file is given: only the capture's own Decryption Secrets Block can
/// decrypt TLS.
fn tshark(file: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n")
        .arg("-r")
        .arg(file)
        .args(["-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark runs (scripts/install-deps installs it: Debian package tshark)");
    assert!(
        out.status.success(),
        "tshark -Y {filter:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `ftpspec run ARGS --out DIR`, which must exit 0 (a failed case is not an error of the
/// run), and its results.
fn run_ftpspec(args: &[&str], dir: &Path) -> RunResults {
    let out = ftpspec()
        .arg("run")
        .args(args)
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    RunResults::read(&dir.join("results.json")).unwrap()
}

#[test]
fn a_failing_ftps_case_keeps_a_capture_that_tshark_reads_decrypted() {
    let dir = tempfile::tempdir().unwrap();
    // The default keeps the captures of failing cases only: wget trusts the private 227
    // address (its data connection dies at the NAT), curl does not and passes.
    let run = run_ftpspec(
        &[
            "--client",
            "wget",
            "--client",
            "curl",
            "--filter",
            "passive/unroutable-address",
            "--axis",
            "tls=explicit",
        ],
        dir.path(),
    );
    let id = "passive/unroutable-address@tls=explicit";
    let wget = run.get("wget", id).unwrap();
    assert_eq!(wget.verdict, Verdict::Fail, "{}", wget.reason);
    let rel = wget
        .capture
        .as_deref()
        .expect("a failing case keeps its capture");
    assert_eq!(
        rel,
        "cases/wget/passive_2funroutable-address@tls=explicit/capture.pcapng"
    );
    let curl = run.get("curl", id).unwrap();
    assert_eq!(curl.verdict, Verdict::Pass, "{}", curl.reason);
    assert_eq!(curl.capture, None, "a passing case keeps none by default");
    // The case view is packed in the page (unpacked by its script when opened).
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let html = ftpspec_report::html::unpack(&html).unwrap();
    assert!(
        html.contains(&format!("href=\"{rel}\"")),
        "the case view links it"
    );
    let file = dir.path().join(rel);

    // Every interface of the network, named host:link, in one file.
    let mut names = tshark(&file, "frame", &["frame.interface_name"]);
    names.sort();
    names.dedup();
    assert_eq!(names, ["client:eth0", "nat:lan", "nat:wan", "server:eth0"]);

    // The control commands: AUTH in the clear, on the client's link.
    let auth = tshark(
        &file,
        "ftp.request.command == \"AUTH\"",
        &["frame.interface_name", "ftp.request.arg"],
    );
    assert!(auth.contains(&"client:eth0\tTLS".to_owned()), "{auth:?}");

    // After AUTH TLS, commands only show decrypted: PASV, and its 227 naming the server's
    // private address.
    let pasv = tshark(&file, "ftp.request.command == \"PASV\"", &["ip.dst"]);
    assert!(!pasv.is_empty(), "the PASV inside TLS decrypted");
    let reply = tshark(&file, "ftp.response.code == 227", &["ftp.response.arg"]);
    let arg = reply.first().expect("the 227, decrypted");
    let nums: Vec<u16> = arg
        .split(['(', ')'])
        .nth(1)
        .expect("227 (h1,h2,h3,h4,p1,p2)")
        .split(',')
        .map(|n| n.trim().parse().unwrap())
        .collect();
    assert_eq!(&nums[..4], [10, 0, 0, 2], "{arg}");
    let port = nums[4] * 256 + nums[5];

    // The data connection attempts: SYNs to 10.0.0.2:<port>, seen leaving the client and
    // reaching the NAT, never past it.
    let syns = tshark(
        &file,
        &format!("tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.dst == 10.0.0.2 && tcp.dstport == {port}"),
        &["frame.interface_name"],
    );
    assert!(syns.iter().any(|i| i == "client:eth0"), "{syns:?}");
    assert!(syns.iter().any(|i| i == "nat:wan"), "{syns:?}");
    assert!(
        !syns.iter().any(|i| i == "nat:lan" || i == "server:eth0"),
        "dropped at the NAT: {syns:?}"
    );

    // Without its secrets the same file shows no PASV: the Decryption Secrets Block is what
    // decrypted it.
    let bare = dir.path().join("bare.pcapng");
    let stripped = Command::new("editcap")
        .arg("--discard-all-secrets")
        .arg(&file)
        .arg(&bare)
        .status()
        .expect("editcap runs (package tshark)");
    assert!(stripped.success());
    assert!(tshark(&bare, "ftp.request.command == \"PASV\"", &["ip.dst"]).is_empty());
}

#[test]
fn capture_all_keeps_passing_cases_and_none_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_ftpspec(
        &[
            "--client",
            "curl",
            "--filter",
            "passive/unroutable-address",
            "--capture",
        ],
        dir.path(),
    );
    let r = run.get("curl", "passive/unroutable-address").unwrap();
    assert_eq!(r.verdict, Verdict::Pass);
    let file = dir
        .path()
        .join(r.capture.as_deref().expect("--capture keeps every case's"));
    // Plain FTP: the commands, and the data connection through the NAT to the server.
    let cmds = tshark(&file, "ftp.request.command", &["ftp.request.command"]);
    for c in ["USER", "PASS", "PASV", "RETR"] {
        assert!(cmds.iter().any(|x| x == c), "{c} in {cmds:?}");
    }
    let data = tshark(
        &file,
        "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport >= 50000",
        &["frame.interface_name"],
    );
    assert!(data.iter().any(|i| i == "server:eth0"), "{data:?}");

    let none = tempfile::tempdir().unwrap();
    let run = run_ftpspec(
        &[
            "--client",
            "wget",
            "--filter",
            "passive/unroutable-address",
            "--capture",
            "none",
        ],
        none.path(),
    );
    let r = run.get("wget", "passive/unroutable-address").unwrap();
    assert_eq!((r.verdict, r.capture.as_deref()), (Verdict::Fail, None));
    assert!(r.diagnostics.is_some(), "the bundle is kept all the same");
}

#[test]
fn lab_capture_writes_the_session_decrypted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lab.pcapng");
    // CPython's ftplib: AUTH TLS, then PWD inside TLS.
    let script = "import ftplib; f = ftplib.FTP_TLS('203.0.113.1', timeout=10); f.login('u', 'p'); f.prot_p(); print(f.pwd()); f.quit()";
    let out = ftpspec()
        .args(["lab", "server-nat", "--ftps", "explicit", "--capture"])
        .arg(&file)
        .args(["--", "python3", "-c", script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ftpspec lab: wrote "), "{stdout}");
    let pwd = tshark(
        &file,
        "ftp.request.command == \"PWD\"",
        &["frame.interface_name"],
    );
    assert!(
        pwd.iter().any(|i| i == "client:eth0"),
        "PWD decrypted: {pwd:?}"
    );
}
