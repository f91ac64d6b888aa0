//! `ftpspec run --partition` and `ftpspec merge` as CI uses them: a whole run, the same
//! cases as three `hash:K/3` jobs, merged: the same verdicts, case by case. And what is left
//! after `kill -9` of a run: no client process, and no namespace once the next run starts.
//! Needs root; CI runs it as root.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ftpspec::results::RunResults;
use ftpspec::Verdict;

fn ftpspec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ftpspec"))
}

/// Fast, steady cases with two clients.
const SELECTION: [&str; 13] = [
    "run",
    "--client",
    "curl",
    "--client",
    "wget",
    "--filter",
    "passive/multiline-227",
    "--filter",
    "passive/reply-extra-text",
    "--filter",
    "passive/unroutable-address",
    "--filter",
    "robustness/data-closed-before-226",
];

fn run(extra: &[&str], out: &Path) -> Output {
    let o = ftpspec()
        .args(SELECTION)
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn verdicts(run: &RunResults) -> BTreeMap<(String, String), Verdict> {
    run.results
        .iter()
        .map(|r| ((r.scenario.clone(), r.client.clone()), r.verdict))
        .collect()
}

#[test]
fn three_partitions_merged_equal_one_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    run(&[], &whole);
    let whole = RunResults::read(&whole.join("results.json")).unwrap();
    assert_eq!(whole.results.len(), 8, "4 scenarios x 2 clients");
    let mut parts = Vec::new();
    let mut seen = BTreeMap::new();
    for k in 1..=3 {
        let out = dir.path().join(format!("part-{k}"));
        let o = run(&["--partition", &format!("hash:{k}/3")], &out);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains(&format!("only partition hash:{k}/3")),
            "{stderr}"
        );
        let part = RunResults::read(&out.join("results.json")).unwrap();
        assert_eq!(
            part.partition.as_deref(),
            Some(format!("hash:{k}/3").as_str())
        );
        for case in verdicts(&part).into_keys() {
            assert!(
                seen.insert(case.clone(), k).is_none(),
                "{case:?} in two partitions"
            );
        }
        parts.push(out);
    }
    let merged = dir.path().join("merged");
    let o = ftpspec()
        .arg("merge")
        .args(&parts)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("ftpspec merge: 3 runs, 8 cases"),
        "{stdout}"
    );
    let m = RunResults::read(&merged.join("results.json")).unwrap();
    assert_eq!(
        verdicts(&m),
        verdicts(&whole),
        "the merged verdicts are the whole run's"
    );
    assert_eq!(seen.len(), whole.results.len(), "no case missing");
    let used: std::collections::BTreeSet<_> = seen.values().collect();
    assert!(used.len() >= 2, "the cases are spread: {seen:?}");
    let from: Vec<Option<&str>> = m
        .merged_from
        .iter()
        .map(|p| p.partition.as_deref())
        .collect();
    assert_eq!(from, [Some("hash:1/3"), Some("hash:2/3"), Some("hash:3/3")]);
    assert_eq!(m.clients.len(), 2);
    let html = std::fs::read_to_string(merged.join("index.html")).unwrap();
    assert!(
        html.contains("merged from 3 runs"),
        "the report says it is a merge"
    );
    let junit = std::fs::read_to_string(merged.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), 8);

    // A run given twice: each overlapping case named, with both directories.
    let o = ftpspec()
        .arg("merge")
        .args([&parts[0], &whole_dir(dir.path())])
        .arg("--out")
        .arg(dir.path().join("twice"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ftpspec merge: error: cannot merge: the case ")
            && stderr.contains(&format!(
                "is in both {} and {}",
                parts[0].display(),
                whole_dir(dir.path()).display()
            )),
        "{stderr}"
    );
    assert!(!dir.path().join("twice").exists(), "nothing written");
}

fn whole_dir(dir: &Path) -> std::path::PathBuf {
    dir.join("whole")
}

#[test]
fn bad_partitions_and_merges_get_clear_errors() {
    let fails_with = |args: &[&str], message: &str| {
        let o = ftpspec().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    };
    fails_with(
        &["run", "--partition", "hash:4/3"],
        "K = 4 is not between 1 and N = 3; the form is hash:K/N or count:K/N",
    );
    fails_with(&["run", "--partition", "rr:1/2"], "unknown scheme \"rr\"");
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old");
    std::fs::create_dir(&old).unwrap();
    std::fs::write(
        old.join("results.json"),
        r#"{"schema": 2, "ftpspec_version": "9", "clients": [], "results": []}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    fails_with(
        &[
            "merge",
            old.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "results.json: schema 2; this ftpspec reads schema 1",
    );
    fails_with(
        &[
            "merge",
            old.to_str().unwrap(),
            "--out",
            old.to_str().unwrap(),
        ],
        "is one of the runs to merge",
    );
    fails_with(&["merge", "--out", out.to_str().unwrap()], "required");
}

/// The namespaces whose names start with `prefix`.
fn namespaces(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// The processes inside a namespace.
fn pids_in(netns: &str) -> Vec<i32> {
    let out = Command::new("ip")
        .args(["netns", "pids", netns])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|&p| running(p))
        .collect()
}

/// Running: neither gone nor a zombie (this machine's init may not reap orphans).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn nothing_is_left_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    // curl waits here for minutes: the NAT forgets the idle control connection.
    let mut runner = ftpspec()
        .args([
            "run",
            "--client",
            "curl",
            "--filter",
            "nat/idle-control-default",
        ])
        .arg("--out")
        .arg(dir.path().join("killed"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mine = format!("ftpspec-{}-", runner.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    let curl = loop {
        let found = namespaces(&mine)
            .iter()
            .filter(|n| n.ends_with("-client"))
            .flat_map(|n| pids_in(n))
            .find(|&p| comm(p) == "curl");
        if let Some(pid) = found {
            break pid;
        }
        assert!(Instant::now() < deadline, "curl never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    runner.kill().unwrap(); // SIGKILL: no handler, no destructor runs
    runner.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(curl) {
        assert!(
            Instant::now() < deadline,
            "curl ({curl}) outlived its runner"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !namespaces(&mine).is_empty(),
        "SIGKILL leaves the namespaces"
    );
    // The next run sweeps them (and ends anything still inside) before building its own.
    let o = ftpspec()
        .args([
            "run",
            "--client",
            "curl",
            "--filter",
            "passive/unroutable-address",
        ])
        .arg("--out")
        .arg(dir.path().join("next"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        namespaces(&mine),
        Vec::<String>::new(),
        "the killed run's namespaces"
    );
}
