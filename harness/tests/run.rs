//! The harness end to end: verdicts of real clients on catalogue scenarios, a client file,
//! `ftpspec run` and `ftpspec list` as a user runs them (files written, exit codes, baseline,
//! bad input, Ctrl-C). Needs root; CI runs it as root.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use ftpspec::clients::Client;
use ftpspec::results::RunResults;
use ftpspec::run_scenario;
use ftpspec::Verdict;
use rstest::rstest;

fn ftpspec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ftpspec"))
}

#[rstest]
#[case::curl_fixes_the_private_227(
    "curl",
    "passive/unroutable-address",
    Verdict::Pass,
    "reported success"
)]
#[case::wget_trusts_it(
    "wget",
    "passive/unroutable-address",
    Verdict::Fail,
    "it tried 10.0.0.2:"
)]
#[case::wget_cannot_upload(
    "wget",
    "upload/passive-upload",
    Verdict::Unsupported,
    "wget cannot upload"
)]
#[case::lftp_trusts_a_public_third_party(
    "lftp",
    "passive/third-party-address",
    Verdict::Fail,
    "connected to 192.0.2.66:"
)]
#[case::curl_ignores_the_third_party(
    "curl",
    "passive/third-party-address",
    Verdict::Pass,
    "reported success"
)]
#[case::curl_checks_the_size("curl", "robustness/data-closed-before-226", Verdict::Pass, "exited")]
#[case::ftplib_takes_a_short_file(
    "python-ftplib",
    "robustness/data-closed-before-226",
    Verdict::Fail,
    "incomplete (20000 bytes)"
)]
#[case::ftplib_does_not_resume_tls(
    "python-ftplib",
    "ftps/session-reuse-required",
    Verdict::Fail,
    "expected the download to complete"
)]
#[case::curl_port_range(
    "curl",
    "active/port-range",
    Verdict::Pass,
    "data connection to 198.51.100.10:501"
)]
#[case::lftp_external_ip(
    "lftp",
    "active/external-ip",
    Verdict::Pass,
    "data connection to 198.51.100.1:501"
)]
#[case::tnftp_has_no_port_range(
    "tnftp",
    "active/port-range",
    Verdict::Unsupported,
    "tnftp has no setting for port_range"
)]
#[case::helper_rewrites_227(
    "curl",
    "smart-firewall/plain-passive",
    Verdict::Pass,
    "reported success"
)]
#[case::suppaftp_force_ip("suppaftp", "passive/force-ip", Verdict::Pass, "reported success")]
#[tokio::test]
async fn verdicts(
    #[case] client: &str,
    #[case] id: &str,
    #[case] verdict: Verdict,
    #[case] reason: &str,
) {
    let c = Client::builtin(client).unwrap();
    assert!(
        c.available(),
        "{client} is not installed (scripts/install-deps installs it)"
    );
    let r = run_scenario(id, &c).await.unwrap();
    assert_eq!(
        r.verdict, verdict,
        "{client} {id}: {}\n{}",
        r.reason, r.observations.transcript
    );
    assert!(
        r.reason.contains(reason),
        "{client} {id}: {:?} should contain {reason:?}",
        r.reason
    );
    // A case that did not pass keeps its network's diagnostics bundle (every network has
    // at least the hosts' sockets); a pass or an unsupported case none.
    let kept = matches!(verdict, Verdict::Fail | Verdict::Informational);
    assert_eq!(r.diagnostics.is_some(), kept, "{client} {id}");
    if let Some(text) = &r.diagnostics_text {
        assert!(text.contains(": ss -tanpo ==\n"), "{text}");
    }
}

#[tokio::test]
async fn the_curl_dialogue_behind_a_nat() {
    let r = run_scenario(
        "passive/unroutable-address",
        &Client::builtin("curl").unwrap(),
    )
    .await
    .unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"\((\d+),(\d+),(\d+),(\d+),\d+,\d+\)",
        "($1,$2,$3,$4,<p1>,<p2>)",
    );
    settings.add_filter(r"\|\|\|\d+\|", "|||<port>|");
    settings.bind(|| insta::assert_snapshot!("curl_unroutable_address", r.observations.dialogue));
}

#[tokio::test]
async fn a_client_file_works_like_a_builtin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("curl-as-file.toml");
    std::fs::write(
        &file,
        r#"name = "curl-file"
version_command = "curl --version"
[actions]
download = "curl -sS --max-time 20 -o {local_file} ftp://{user}:{password}@{host}:{port}{path}"
upload = "curl -sS --max-time 20 -T {local_file} ftp://{user}:{password}@{host}:{port}{path}"
[settings]
active = "--disable-eprt"
port_range = "-P {ip}:{min}-{max}"
external_ip = "-P {ip}"
disable_epsv = "--disable-epsv"
"#,
    )
    .unwrap();
    let c = Client::from_file(&file).unwrap();
    for (id, verdict) in [
        ("passive/unroutable-address", Verdict::Pass),
        ("active/port-range", Verdict::Pass),
        ("passive/force-ip", Verdict::Unsupported),
    ] {
        let r = run_scenario(id, &c).await.unwrap();
        assert_eq!(
            r.verdict, verdict,
            "{id}: {}\n{}",
            r.reason, r.observations.stderr
        );
        assert_eq!(r.client, "curl-file");
        assert!(
            r.client_version.starts_with("curl "),
            "{}",
            r.client_version
        );
    }
}

#[test]
fn run_writes_results_junit_and_html() {
    let out = tempfile::tempdir().unwrap();
    let status = ftpspec()
        .args([
            "run",
            "--client",
            "curl",
            "--client",
            "wget",
            "--filter",
            "passive/unroutable",
            "--filter",
            "upload/passive",
        ])
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&status.stdout);
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("2 scenario(s) x 2 client(s)") && stderr.contains("[  4/4]"),
        "progress: {stderr}"
    );
    assert!(
        stdout.contains("passive/unroutable-address  pass"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 fail") || stdout.contains("1 fail"),
        "{stdout}"
    );
    let results = RunResults::read(&out.path().join("results.json")).unwrap();
    assert_eq!(results.schema, 1);
    assert_eq!(results.results.len(), 4);
    let ids: Vec<(&str, &str)> = results
        .results
        .iter()
        .map(|r| (r.scenario.as_str(), r.client.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("passive/unroutable-address", "curl"),
            ("passive/unroutable-address", "wget"),
            ("upload/passive-upload", "curl"),
            ("upload/passive-upload", "wget"),
        ]
    );
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testsuite name=\"curl\"") && junit.contains("<failure"),
        "{junit}"
    );
    assert!(
        junit.contains("<skipped"),
        "unsupported cases are skipped: {junit}"
    );
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    // The case details as a browser shows them once opened.
    let html = ftpspec_report::html::unpack(&html).unwrap();
    assert!(
        html.contains("class=\"cell v-fail \" data-client=\"wget\" data-verdict=\"fail\""),
        "the matrix shows wget's failure"
    );
    assert!(
        html.contains("id=\"case-wget--passive-unroutable-address\""),
        "and its detail"
    );
    // wget's failure keeps the network's diagnostics bundle beside the report, linked from
    // its detail; curl's pass and wget's unsupported case keep none.
    let bundle = "cases/wget/passive_2funroutable-address/diagnostics.txt";
    let wget = results.get("wget", "passive/unroutable-address").unwrap();
    assert_eq!(wget.diagnostics.as_deref(), Some(bundle));
    for (client, id) in [
        ("curl", "passive/unroutable-address"),
        ("wget", "upload/passive-upload"),
    ] {
        assert_eq!(
            results.get(client, id).unwrap().diagnostics,
            None,
            "{client} {id}"
        );
    }
    assert!(html.contains(&format!("<a class=\"diagnostics\" href=\"{bundle}\">")));
    // Its ladder: wget's data connection to the address of the 227 ends at the NAT, dropped.
    let start = html
        .find("id=\"case-wget--passive-unroutable-address\"")
        .unwrap();
    let view = &html[start..start + html[start..].find("</article>").unwrap()];
    let drop = view
        .find("<g class=\"arrow drop\" data-from=\"client\" data-to=\"nat\">")
        .unwrap_or_else(|| panic!("no drop at the NAT in wget's ladder: {view}"));
    let pasv = view
        .find(">227 Entering Passive Mode")
        .expect("the 227 on the ladder");
    assert!(pasv < drop, "the drop comes after the 227");
    let text = std::fs::read_to_string(out.path().join(bundle)).unwrap();
    assert!(
        text.starts_with("# wget · passive/unroutable-address: fail: expected the download"),
        "{text}"
    );
    // What explains the failure: the NAT's rules and what they dropped (wget's try of the
    // private address), its conntrack table, what was listening.
    for part in [
        "== nat: nft list ruleset ==",
        "== nat: conntrack -L -o extended ==",
        "== nat: conntrack -L expect ==",
        "== client: ss -tanpo ==",
        "== server: ss -tanpo ==",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(
        text.contains("elements = { 203.0.113.10 . 10.0.0.2 . 500"),
        "{text}"
    );
    assert!(
        text.contains("dport=21 src=10.0.0.2"),
        "the control connection: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("LISTEN") && l.contains("0.0.0.0:21 ")),
        "{text}"
    );
    assert!(
        !text.contains("not run:"),
        "every tool is installed: {text}"
    );

    // The same run against a baseline where wget passed: a regression, exit 1.
    let mut base = results.clone();
    for r in &mut base.results {
        r.verdict = Verdict::Pass;
    }
    let base_file = out.path().join("base.json");
    std::fs::write(&base_file, serde_json::to_string(&base).unwrap()).unwrap();
    let again = ftpspec()
        .args(["run", "--client", "wget", "--filter", "passive/unroutable"])
        .arg("--out")
        .arg(out.path().join("again"))
        .arg("--baseline")
        .arg(&base_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("1 regression(s)")
            && stdout.contains("wget passive/unroutable-address: pass -> fail"),
        "{stdout}"
    );
}

#[test]
fn list_shows_the_catalogue() {
    let out = ftpspec()
        .args(["list", "--filter", "ftps/"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("ftps/session-reuse-required\n    FTPS server requiring TLS session reuse"),
        "{stdout}"
    );
    let ftps = ftpspec::scenario::catalogue()
        .unwrap()
        .into_iter()
        .filter(|s| s.id.starts_with("ftps/"))
        .count();
    assert!(ftps >= 9, "{ftps}");
    assert!(
        stdout.contains(&format!("{ftps} client scenario(s), 0 server scenario(s)")),
        "{stdout}"
    );
    assert!(!stdout.contains("Server cases"), "{stdout}");
    // The server cases, apart, under their own heading.
    let out = ftpspec()
        .args(["list", "--filter", "server/"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let servers = ftpspec::scenario::server::catalogue().unwrap().len();
    assert!(servers >= 18, "{servers}");
    assert!(
        stdout.starts_with("Server cases (ftpspec run --server NAME"),
        "{stdout}"
    );
    assert!(!stdout.contains("Client cases"), "{stdout}");
    assert!(
        stdout.contains("server/epsv-all\n    After EPSV ALL"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    server settings: require_session_reuse"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "0 client scenario(s), {servers} server scenario(s)"
        )),
        "{stdout}"
    );
}

fn fails_with(args: &[&str], message: &str) {
    let out = ftpspec().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?} should say {message:?}: {stderr}"
    );
}

#[test]
fn bad_input_gets_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    fails_with(
        &["run", "--client", "nosuchftp"],
        "unknown client \"nosuchftp\"; the built-in clients are curl",
    );
    let client = dir.path().join("c.toml");
    std::fs::write(&client, "name = \"x\"\n[actions]\ndownload = \"x {uri}\"\n").unwrap();
    fails_with(
        &["run", "--client-file", client.to_str().unwrap()],
        "c.toml:3:12: actions.download: unknown placeholder {uri}",
    );
    fails_with(
        &["run", "--scenarios", "/nonexistent-dir"],
        "/nonexistent-dir: No such file or directory",
    );
    let scenarios = dir.path().join("mine/group");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::write(
        scenarios.join("bad.toml"),
        "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"server-natt\"\n[client]\naction = \"download\"\n",
    )
    .unwrap();
    fails_with(
        &[
            "run",
            "--scenarios",
            dir.path().join("mine").to_str().unwrap(),
        ],
        "group/bad.toml:4:10: unknown preset \"server-natt\"",
    );
    fails_with(&["run", "--filter", "nothing/"], "no scenario matches");
    // Servers under test: an unknown name, a bad server file, no server case matching.
    fails_with(
        &["run", "--server", "nosuchd"],
        "unknown server \"nosuchd\"; the built-in servers are vsftpd, proftpd, pure-ftpd, pyftpdlib",
    );
    let file = dir.path().join("myserver.toml");
    std::fs::write(&file, "name = \"x\"\nstart = \"x --port {prot}\"\n").unwrap();
    fails_with(
        &["run", "--server-file", file.to_str().unwrap()],
        "myserver.toml:2:",
    );
    fails_with(
        &["run", "--server", "vsftpd", "--filter", "server/nothing"],
        "no server case matches",
    );
}

#[test]
fn ctrl_c_tears_down_and_writes_what_it_has() {
    let out = tempfile::tempdir().unwrap();
    let mut child = ftpspec()
        .args([
            "run",
            "--client",
            "curl",
            "--client",
            "wget",
            "--filter",
            "passive/unroutable",
            "--filter",
            "passive/epsv-blocked",
            "--jobs",
            "1",
            // The quick case first, then the slow one to interrupt.
            "--order",
            "catalogue",
        ])
        .arg("--out")
        .arg(out.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    // Wait for the first finished case, then interrupt the slow rest.
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the run ended before a case finished"
        );
        if line.starts_with("[  1/4]") {
            break;
        }
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let results = RunResults::read(&out.path().join("results.json")).unwrap();
    assert!(results.interrupted);
    assert!(
        !results.results.is_empty() && results.results.len() < 4,
        "{}",
        results.results.len()
    );
    let left = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let left = String::from_utf8_lossy(&left.stdout);
    let mine = format!("ftpspec-{}-", child.id());
    assert!(!left.contains(&mine), "namespaces left: {left}");
}

#[test]
fn diff_shows_regressions_first_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let case = |client: &str, verdict: &str| {
        format!(
            r#"{{"client":"{client}","client_version":"1","scenario":"passive/unroutable-address","title":"t","requirement":"r","references":[],"verdict":"{verdict}","reason":"because","duration_ms":1,"observations":{{"command":[],"exit_code":null,"client_ok":false,"client_error":null,"timed_out":false,"client_ms":1,"stdout":"","stderr":"","bytes_ok":null,"bytes":null,"dialogue":"","transcript":"","data_connections":[],"data_tls":null,"active_targets":[],"attempts":[],"topology":"server-nat","server_addr":null,"server_own_addr":null}}}}"#
        )
    };
    let run = |cases: &[String]| {
        format!(
            r#"{{"schema":1,"ftpspec_version":"0.1.0","clients":[],"results":[{}]}}"#,
            cases.join(",")
        )
    };
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    std::fs::write(&old, run(&[case("curl", "pass"), case("wget", "fail")])).unwrap();
    std::fs::write(&new, run(&[case("curl", "fail"), case("wget", "pass")])).unwrap();
    let html = dir.path().join("diff.html");
    let out = ftpspec()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("1 regressions:\n  curl passive/unroutable-address: pass -> fail"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 improvements:\n  wget passive/unroutable-address: fail -> pass"),
        "{stdout}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("1 regression(s)") && page.contains("▼ was pass"));
    let same = ftpspec().arg("diff").arg(&new).arg(&new).output().unwrap();
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&same.stdout), "no change\n");
    fails_with(
        &["diff", "/nonexistent.json", new.to_str().unwrap()],
        "/nonexistent.json: No such file",
    );
    std::fs::write(&old, "{\"schema\": 7}").unwrap();
    fails_with(
        &["diff", old.to_str().unwrap(), new.to_str().unwrap()],
        "schema 7; this ftpspec reads schema 1",
    );
}
