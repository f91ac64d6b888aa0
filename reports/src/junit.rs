//! JUnit XML through quick-junit: one testsuite per client, one testcase per scenario, so CI
//! systems (GitHub, GitLab, Jenkins) show each case. `fail` is a failure and `error` an
//! error, both with the reason as message and the transcript as description; `unsupported`
//! is skipped; `informational` passes, with its record in system-out.

use std::collections::BTreeMap;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

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
            let status = match r.verdict {
                Verdict::Pass | Verdict::Informational => TestCaseStatus::success(),
                Verdict::Unsupported => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(reason.clone());
                    s
                }
                Verdict::Fail | Verdict::Error => {
                    let kind = if r.verdict == Verdict::Fail {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(reason.clone());
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
                    s
                }
            };
            let mut case = TestCase::new(r.scenario.clone(), status);
            case.set_classname(format!("{client}.{}", r.group()));
            case.set_time(std::time::Duration::from_millis(r.duration_ms));
            if r.verdict == Verdict::Informational {
                case.set_system_out(format!("informational: {reason}"));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit serialization failed: {e} -->\n"))
}
