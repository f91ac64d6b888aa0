//! JUnit XML through quick-junit: one testsuite per client, one testcase per scenario, so CI
//! systems (GitHub, GitLab, Jenkins) show each case. `fail` is a failure and `error` an
//! error, both with the reason as message and the transcript as description; `unsupported`
//! is skipped; `informational` passes, with its record in system-out.
//!
//! A case run several times (`--repeat`) follows Maven Surefire's rerun convention, which
//! CI systems that know it (Jenkins, Buildkite, ...) show as flaky: when more than half of
//! its runs succeeded (pass or informational), it is a success with one `<flakyFailure>`
//! (or `<flakyError>`) per failed run; otherwise it is the `<failure>` (or `<error>`) of its
//! worst run, the case's verdict, with one `<rerunFailure>` (or `<rerunError>`) per other
//! failed run. So JUnit can call a mostly passing flaky case a success where its verdict,
//! in `results.json` and the report, is its worst run's. A flaky case's system-out lists
//! every run.
//!
//! A quarantined case that JUnit would show as a failure or an error is `<skipped
//! message="quarantined: REASON; fail: ...">` instead, so CI is not failed by it, matching
//! the exit status; one that succeeded stays a success, with the quarantine in system-out.

use std::collections::BTreeMap;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};

use crate::model::{CaseResult, RunResults, Verdict};
use crate::text::{clean, truncate};

/// The JUnit XML of a run.
pub fn junit(run: &RunResults) -> String {
    let mut report = Report::new("ftpspec");
    let mut by_client: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for r in &run.results {
        by_client.entry(&r.client).or_default().push(r);
    }
    for (client, cases) in by_client {
        let mut suite = TestSuite::new(client);
        for r in cases {
            let reason = clean(&truncate(&r.reason, 4096));
            let mut status = status_of(r, &reason);
            if let (Some(q), TestCaseStatus::NonSuccess { .. }) = (&r.quarantined, &status) {
                let mut s = TestCaseStatus::skipped();
                s.set_message(clean(&truncate(
                    &format!("quarantined: {q}; {}: {}", r.verdict.as_str(), r.reason),
                    4096,
                )));
                status = s;
            }
            let mut out = Vec::new();
            if r.verdict == Verdict::Informational {
                out.push(format!("informational: {reason}"));
            }
            if let Some(q) = &r.quarantined {
                out.push(format!("quarantined: {}", clean(q)));
            }
            if r.flaky {
                out.push(format!("flaky: {}", r.run_counts()));
                for (i, o) in r.runs.iter().enumerate() {
                    out.push(format!(
                        "run {}: {} ({:.1} s): {}",
                        i + 1,
                        o.verdict.as_str(),
                        o.duration_ms as f64 / 1000.0,
                        clean(&truncate(&o.reason, 1024))
                    ));
                }
            }
            let mut case = TestCase::new(r.scenario.clone(), status);
            case.set_classname(format!("{client}.{}", r.group()));
            case.set_time(std::time::Duration::from_millis(r.duration_ms));
            if !out.is_empty() {
                case.set_system_out(out.join("\n"));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit serialization failed: {e} -->\n"))
}

/// The case's status before quarantine: its verdict, with its other runs as Surefire reruns.
fn status_of(r: &CaseResult, reason: &str) -> TestCaseStatus {
    let succeeded = |v: Verdict| matches!(v, Verdict::Pass | Verdict::Informational);
    let failed_kind = |v: Verdict| match v {
        Verdict::Fail => Some(NonSuccessKind::Failure),
        Verdict::Error => Some(NonSuccessKind::Error),
        _ => None,
    };
    let rerun = |i: usize| {
        let o = &r.runs[i];
        let mut rerun = TestRerun::new(failed_kind(o.verdict).expect("a failed run"));
        rerun.set_message(clean(&truncate(
            &format!("run {}: {}", i + 1, o.reason),
            4096,
        )));
        rerun.set_time(std::time::Duration::from_millis(o.duration_ms));
        rerun
    };
    let failed_runs = || (0..r.runs.len()).filter(|&i| failed_kind(r.runs[i].verdict).is_some());
    let successes = r.runs.iter().filter(|o| succeeded(o.verdict)).count();
    if r.flaky && successes * 2 > r.runs.len() {
        let mut s = TestCaseStatus::success();
        s.add_reruns(failed_runs().map(rerun));
        return s;
    }
    match r.verdict {
        Verdict::Pass | Verdict::Informational => TestCaseStatus::success(),
        Verdict::Unsupported => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(reason.to_owned());
            s
        }
        Verdict::Fail | Verdict::Error => {
            let kind = failed_kind(r.verdict).expect("fail or error");
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(reason.to_owned());
            let o = &r.observations;
            s.set_description(clean(&truncate(
                &format!(
                    "{}\n\nrequirement: {}\n\ncommand: {}\nexit: {}\n\ncontrol connection:\n{}\nrouters saw:\n{}\n\nstderr:\n{}",
                    r.reason,
                    r.requirement,
                    o.command.join(" "),
                    o.exit_code.map_or("none".into(), |c| c.to_string()),
                    o.dialogue,
                    o.attempts
                        .iter()
                        .map(|a| format!("  {} {:?} {} -> {}", a.host, a.outcome, a.from, a.to))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    o.stderr
                ),
                64 * 1024,
            )));
            // The case's own run is the first of its verdict; the others are reruns.
            let own = r.runs.iter().position(|o| o.verdict == r.verdict);
            s.add_reruns(failed_runs().filter(|&i| Some(i) != own).map(rerun));
            s
        }
    }
}
