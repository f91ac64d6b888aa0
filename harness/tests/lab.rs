//! `ftpspec lab` as a user runs it: a command in the client host with the mock server in the
//! server host, its exit code passed on, clear errors, and teardown also on SIGTERM. Needs
//! root; CI runs it as root.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

fn ftpspec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ftpspec"))
}

fn namespaces_of(id: &str) -> usize {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("{id}-"))
                })
                .count()
        })
        .unwrap_or(0)
}

fn lab_id(header: &str) -> String {
    let start = header
        .find("(ftpspec-")
        .expect("the header names the topology")
        + 1;
    header[start..].split(')').next().unwrap().to_owned()
}

#[test]
fn runs_a_client_command_against_the_mock_server_and_cleans_up() {
    let out = ftpspec()
        .args(["lab", "server-nat", "--", "sh", "-c"])
        .arg("curl -sS --disable-epsv ftp://203.0.113.1/gen/1K | wc -c; exit 7")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(7),
        "the command's exit code: {stdout}"
    );
    for expected in [
        "ftpspec lab: server-nat (ftpspec-",
        "client:eth0 203.0.113.10/24  <->  nat:wan 203.0.113.1/24",
        "the client reaches the server at 203.0.113.1 (the server's own address: 10.0.0.2)",
        "mock server: ftp://203.0.113.1:21",
        "\n1024\n",
        "the mock server saw",
        "nat: 203.0.113.10 -> 10.0.0.2:21 forwarded",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert_eq!(namespaces_of(&lab_id(&stdout)), 0, "torn down");
}

#[test]
fn bad_input_gets_clear_errors() {
    let out = ftpspec().args(["lab", "server-nmat"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("unknown preset \"server-nmat\"; the presets are: direct, server-nat"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.toml");
    std::fs::write(
        &file,
        "[hosts.a]\n[hosts.b]\n[[link]]\na = { host = \"a\", iface = \"eth0\", addr = [\"10.0.0.1/33\"] }\nb = { host = \"b\", iface = \"eth0\" }\n",
    )
    .unwrap();
    let out = ftpspec()
        .args(["lab", "--topology"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("t.toml:4:43: not an address with a prefix"),
        "{stderr}"
    );

    let out = ftpspec()
        .args([
            "lab",
            "server-nat",
            "--pasv-ports",
            "50010-50000",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a port range"));
}

#[test]
fn sigterm_tears_down() {
    let mut child = ftpspec()
        .args(["lab", "direct", "--server", "none", "--", "sleep", "60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut header = String::new();
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "no header: {header}");
        header.push_str(&line);
        if line.contains("other hosts:") {
            break;
        }
    }
    let id = lab_id(&header);
    assert_eq!(namespaces_of(&id), 2);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert_eq!(namespaces_of(&id), 0, "torn down on SIGTERM");
}

#[test]
fn runs_unprivileged_in_a_user_namespace() {
    // As user nobody: the lab re-runs itself in a user namespace of its own. A copy of the
    // binary where nobody can reach it (the checkout may be in a private directory).
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("ftpspec");
    std::fs::copy(env!("CARGO_BIN_EXE_ftpspec"), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&exe)
        .args(["lab", "server-smart-firewall", "--", "sh", "-c"])
        .arg("curl -sS --disable-epsv --no-ftp-skip-pasv-ip ftp://203.0.113.1/gen/1K | wc -c")
        .current_dir("/")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("\n1024\n"), "{stdout}");
    assert!(stdout.contains("from the command's shell only"), "{stdout}");
    // Nothing of it is visible, or left, outside.
    assert_eq!(namespaces_of(&lab_id(&stdout)), 0);
}
