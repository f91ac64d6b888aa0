//! Variants end to end (`ftpspec run --axis`, `--personality`): real curl against the mock,
//! checking from the server's log that the variant really changed what happened: TLS on the
//! control and data connections, connections over IPv6, the personality's greeting. Needs
//! root; CI runs it as root.

use std::path::Path;
use std::process::Command;

use ftpspec::results::RunResults;
use ftpspec::{CaseResult, Verdict};

const SCENARIO: &str = "transfer/zero-byte-download";

fn run(out: &Path, extra: &[&str]) -> RunResults {
    let status = Command::new(env!("CARGO_BIN_EXE_ftpspec"))
        .args([
            "run", "--client", "curl", "--jobs", "2", "--filter", SCENARIO,
        ])
        .arg("--out")
        .arg(out)
        .args(extra)
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    RunResults::read(&out.join("results.json")).unwrap()
}

fn case<'r>(run: &'r RunResults, id: &str) -> &'r CaseResult {
    let ids: Vec<&str> = run.results.iter().map(|r| r.scenario.as_str()).collect();
    let r = run.results.iter().find(|r| r.scenario == id);
    r.unwrap_or_else(|| panic!("no case {id} in {ids:?}"))
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn tls_and_ip_variants_really_use_tls_and_ipv6() {
    if !installed("curl") {
        eprintln!("curl is not installed; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = run(
        dir.path(),
        &["--axis", "tls=plain,explicit", "--axis", "ip=6"],
    );
    let ids: Vec<&str> = run.results.iter().map(|r| r.scenario.as_str()).collect();
    assert_eq!(
        ids,
        [
            "transfer/zero-byte-download@ip=6,tls=explicit",
            "transfer/zero-byte-download@ip=6,tls=plain"
        ]
    );
    for r in &run.results {
        assert_eq!(r.verdict, Verdict::Pass, "{}: {}", r.scenario, r.reason);
        let o = &r.observations;
        assert_eq!(o.topology, "direct-v6");
        assert!(o.server_addr.unwrap().is_ipv6(), "{:?}", o.server_addr);
        assert!(
            o.transcript.contains("connected [2001:db8:1::10]"),
            "{}",
            o.transcript
        );
        assert_eq!(r.axes["ip"], "6");
    }
    let tls = case(&run, "transfer/zero-byte-download@ip=6,tls=explicit");
    assert_eq!(tls.axes["tls"], "explicit");
    let t = &tls.observations.transcript;
    assert!(t.contains("C> AUTH") && t.contains("tls: Control"), "{t}");
    assert!(
        tls.observations
            .data_connections
            .iter()
            .all(|d| d.contains("TLS")),
        "{:?}",
        tls.observations.data_connections
    );
    assert!(!tls.observations.data_connections.is_empty());
    let plain = case(&run, "transfer/zero-byte-download@ip=6,tls=plain");
    assert!(
        !plain.observations.transcript.contains("tls:"),
        "{}",
        plain.observations.transcript
    );
}

#[test]
fn a_personality_file_serves_every_scenario() {
    if !installed("curl") {
        eprintln!("curl is not installed; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fixture-personality.toml");
    let fixture = fixture.to_str().unwrap();
    let run = run(
        dir.path(),
        &["--personality", fixture, "--axis", "tls=implicit"],
    );
    let r = case(
        &run,
        "transfer/zero-byte-download@personality=fixture-personality,tls=implicit",
    );
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert_eq!(r.axes["personality"], "fixture-personality");
    let t = &r.observations.transcript;
    assert!(t.contains("S< 220 fixture personality ready"), "{t}");
    assert!(t.contains("tls: Control"), "{t}");
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let html = ftpspec_report::html::unpack(&html).unwrap();
    assert!(html.contains("personality = fixture-personality, tls = implicit"));
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("personality=fixture-personality,tls=implicit"),
        "{junit}"
    );
}
