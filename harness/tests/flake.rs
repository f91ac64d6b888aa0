//! Flake control end to end: `ftpspec run --repeat 3` with a client that fails every other
//! run (a real download, of which it keeps only half the second time), `--shuffle --seed`,
//! and `--quarantine` keeping that case out of the exit status. Needs root; CI runs it as
//! root.

use std::path::Path;
use std::process::{Command, Output};

use ftpspec::results::RunResults;
use ftpspec::Verdict;

const SCENARIO: &str = "passive/reply-extra-text";

/// A download with Python's ftplib that, every other run (counted in a file), keeps only
/// half of what it downloaded, as a client with a write bug would.
const FLIPPER: &str = r#"import ftplib, os, sys, urllib.parse
url, local, counter = sys.argv[1:4]
n = int(open(counter).read()) if os.path.exists(counter) else 0
with open(counter, "w") as f:
    f.write(str(n + 1))
u = urllib.parse.urlsplit(url)
ftp = ftplib.FTP(timeout=10)
ftp.connect(u.hostname, u.port or 21)
ftp.login(urllib.parse.unquote(u.username), urllib.parse.unquote(u.password))
with open(local, "wb") as f:
    ftp.retrbinary("RETR " + urllib.parse.unquote(u.path), f.write)
ftp.quit()
if n % 2 == 1:
    with open(local, "r+b") as f:
        f.truncate(os.path.getsize(local) // 2)
"#;

fn ftpspec(dir: &Path, out: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ftpspec"))
        .args(["run", "--filter", SCENARIO, "--jobs", "1", "--repeat", "3"])
        .arg("--client-file")
        .arg(dir.join("flipper.toml"))
        .arg("--out")
        .arg(dir.join(out))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn repeat_finds_a_flaky_client_and_quarantine_keeps_it_out_of_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let counter = d.join("counter");
    std::fs::write(d.join("flipper.py"), FLIPPER).unwrap();
    std::fs::write(
        d.join("flipper.toml"),
        format!(
            "name = \"flipper\"\nversion_command = \"python3 --version\"\n[actions]\ndownload = \"python3 {} {{url}} {{local_file}} {}\"\n",
            d.join("flipper.py").display(),
            counter.display()
        ),
    )
    .unwrap();
    // A baseline in which the case passed.
    let baseline = d.join("baseline.json");
    std::fs::write(
        &baseline,
        format!(
            r#"{{"schema":1,"ftpspec_version":"0.1.0","clients":[],"results":[{{"client":"flipper","client_version":"1","scenario":"{SCENARIO}","title":"t","requirement":"r","references":[],"verdict":"pass","reason":"because","duration_ms":1,"observations":{{"command":[],"exit_code":null,"client_ok":false,"client_error":null,"timed_out":false,"client_ms":1,"stdout":"","stderr":"","bytes_ok":null,"bytes":null,"dialogue":"","transcript":"","data_connections":[],"data_tls":null,"active_targets":[],"attempts":[],"topology":"direct","server_addr":null,"server_own_addr":null}}}}]}}"#
        ),
    )
    .unwrap();
    let base = ["--baseline", baseline.to_str().unwrap()];

    // Against the baseline, the flaky case is a regression: exit 1.
    let args = [&base[..], &["--shuffle", "--seed", "7"]].concat();
    let out = ftpspec(d, "a", &args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("each 3 times, shuffled (replay: --shuffle --seed 7)"),
        "{stderr}"
    );
    for n in 1..=3 {
        assert!(
            stderr.contains(&format!("[  {n}/3] run {n}/3 flipper ")),
            "{stderr}"
        );
    }
    assert!(
        stdout.contains("(1 flaky) in")
            && stdout.contains("  flaky: flipper passive/reply-extra-text: 2 pass, 1 fail")
            && stdout.contains("1 regression(s)")
            && stdout.contains("flipper passive/reply-extra-text: pass -> flaky fail"),
        "{stdout}"
    );
    let results = RunResults::read(&d.join("a/results.json")).unwrap();
    assert_eq!((results.repeat, results.seed), (3, Some(7)));
    let r = &results.results[0];
    let verdicts: Vec<Verdict> = r.runs.iter().map(|o| o.verdict).collect();
    assert_eq!(
        verdicts,
        [Verdict::Pass, Verdict::Fail, Verdict::Pass],
        "{:?}",
        r.runs
    );
    assert!(r.flaky && r.verdict == Verdict::Fail, "{r:?}");
    assert_eq!(r.reason, r.runs[1].reason, "the worst run's reason");
    assert!(r.quarantined.is_none());
    let junit = std::fs::read_to_string(d.join("a/junit.xml")).unwrap();
    assert!(
        junit.contains("<flakyFailure") && !junit.contains("<failure"),
        "mostly passing: a success with a flaky failure: {junit}"
    );
    assert!(junit.contains("flaky: 2 pass, 1 fail"), "{junit}");
    let html = std::fs::read_to_string(d.join("a/index.html")).unwrap();
    assert!(html.contains("flaky<span class=\"flaky-word\">2 pass, 1 fail</span>"));

    // Quarantined, the same regression does not count: exit 0.
    let quarantine = d.join("quarantine.toml");
    std::fs::write(
        &quarantine,
        format!("[[quarantine]]\nscenario = \"{SCENARIO}\"\nclient = \"flipper\"\nreason = \"flipper#1: keeps half the file every other time\"\n"),
    )
    .unwrap();
    std::fs::remove_file(&counter).unwrap();
    let args = [&base[..], &["--quarantine", quarantine.to_str().unwrap()]].concat();
    let out = ftpspec(d, "b", &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("(1 flaky, 1 quarantined) in")
            && stdout.contains("no regression against the baseline but quarantined ones")
            && stdout.contains("[quarantined, not counted: flipper#1"),
        "{stdout}"
    );
    let results = RunResults::read(&d.join("b/results.json")).unwrap();
    assert_eq!(results.seed, None, "no --shuffle: catalogue order");
    let r = &results.results[0];
    assert!(r.flaky);
    assert_eq!(
        r.quarantined.as_deref(),
        Some("flipper#1: keeps half the file every other time")
    );
    let junit = std::fs::read_to_string(d.join("b/junit.xml")).unwrap();
    assert!(junit.contains("quarantined: flipper#1"), "{junit}");

    // A quarantine file naming no scenario: bad input, at its line and column.
    std::fs::write(
        &quarantine,
        "[[quarantine]]\nscenario = \"passive/nope\"\nreason = \"r\"\n",
    )
    .unwrap();
    let out = ftpspec(d, "c", &["--quarantine", quarantine.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("quarantine.toml:2:12: quarantine.scenario: no scenario \"passive/nope\""),
        "{stderr}"
    );
}

#[test]
fn repeat_must_be_at_least_one_and_seed_needs_shuffle() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ftpspec"))
            .arg("run")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--repeat", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--repeat"));
    let out = run(&["--seed", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shuffle"));
}
