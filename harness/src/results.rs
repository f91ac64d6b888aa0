//! What a run writes: `results.json` (schema 1), `junit.xml`, and a first `index.html`.
//!
//! `results.json`:
//!
//! ```json
//! {
//!   "schema": 1,
//!   "ftpspec_version": "0.1.0",
//!   "clients": [{"name": "curl", "version": "curl 7.88.1 ..."}],
//!   "missing_clients": ["tnftp"],
//!   "interrupted": false,
//!   "results": [{
//!     "client": "curl", "client_version": "curl 7.88.1 ...",
//!     "scenario": "passive/unroutable-address", "title": "...", "requirement": "...",
//!     "references": ["RFC 1123 §4.1.2.6"],
//!     "verdict": "pass",            // pass | fail | informational | unsupported | error
//!     "reason": "one plain sentence",
//!     "duration_ms": 1234,
//!     "observations": {
//!       "command": ["curl", "..."], "exit_code": 0, "client_ok": true, "client_error": null,
//!       "timed_out": false, "client_ms": 812, "stdout": "...", "stderr": "...",
//!       "bytes_ok": true, "bytes": 65536, "dialogue": "C: USER ...", "transcript": "...",
//!       "data_connections": ["passive 10.0.0.2:50003 <-> 203.0.113.10:41234, ..."],
//!       "data_tls": false, "active_targets": ["198.51.100.1:50100"],
//!       "attempts": [{"host": "nat", "outcome": "dropped", "from": "203.0.113.10", "to": "10.0.0.2:50003"}],
//!       "topology": "server-nat", "server_addr": "203.0.113.1", "server_own_addr": "10.0.0.2"
//!     }
//!   }]
//! }
//! ```
//! Results are ordered by scenario id, then client name. Fields are only ever added within
//! a schema version.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::runner::{CaseResult, Verdict};

/// The schema version of `results.json`.
pub const SCHEMA: u32 = 1;

/// A client in a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientInfo {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// A whole run: the content of `results.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResults {
    /// [`SCHEMA`].
    pub schema: u32,
    /// The ftpspec that made it.
    pub ftpspec_version: String,
    /// The clients run.
    pub clients: Vec<ClientInfo>,
    /// Built-in clients asked for (or defaulted to) but not installed.
    pub missing_clients: Vec<String>,
    /// The run was interrupted: the results are those collected so far.
    pub interrupted: bool,
    /// The results, by scenario then client.
    pub results: Vec<CaseResult>,
}

impl RunResults {
    /// Sorts the results (scenario, then client).
    pub fn sort(&mut self) {
        self.results
            .sort_by(|a, b| (&a.scenario, &a.client).cmp(&(&b.scenario, &b.client)));
    }

    /// Counts per verdict.
    pub fn counts(&self) -> BTreeMap<Verdict, usize> {
        let mut c = BTreeMap::new();
        for r in &self.results {
            *c.entry(r.verdict).or_default() += 1;
        }
        c
    }

    /// Writes `results.json`, `junit.xml` and `index.html` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("results.json"), json + "\n")?;
        std::fs::write(dir.join("junit.xml"), self.junit()?)?;
        std::fs::write(dir.join("index.html"), self.html())?;
        Ok(())
    }

    /// Reads a `results.json`.
    pub fn read(path: &Path) -> Result<RunResults, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let r: RunResults =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if r.schema != SCHEMA {
            return Err(format!(
                "{}: schema {} (this ftpspec reads {SCHEMA})",
                path.display(),
                r.schema
            ));
        }
        Ok(r)
    }

    /// JUnit XML: one testsuite per client, one testcase per scenario.
    pub fn junit(&self) -> std::io::Result<String> {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new("ftpspec");
        let mut by_client: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
        for r in &self.results {
            by_client.entry(&r.client).or_default().push(r);
        }
        for (client, cases) in by_client {
            let mut suite = TestSuite::new(client);
            for r in cases {
                let status = match r.verdict {
                    Verdict::Pass | Verdict::Informational => TestCaseStatus::success(),
                    Verdict::Unsupported => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(r.reason.clone());
                        s
                    }
                    Verdict::Fail | Verdict::Error => {
                        let kind = if r.verdict == Verdict::Fail {
                            NonSuccessKind::Failure
                        } else {
                            NonSuccessKind::Error
                        };
                        let mut s = TestCaseStatus::non_success(kind);
                        s.set_message(r.reason.clone());
                        s.set_description(format!(
                            "{}\n\nrequirement: {}\n\ncommand: {}\n\nserver transcript:\n{}\nrouters: {:?}\n\nstderr:\n{}",
                            r.reason,
                            r.requirement,
                            r.observations.command.join(" "),
                            r.observations.transcript,
                            r.observations.attempts.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                            r.observations.stderr
                        ));
                        s
                    }
                };
                let mut case = TestCase::new(r.scenario.clone(), status);
                case.set_classname(format!(
                    "{}.{}",
                    client,
                    r.scenario.split('/').next().unwrap_or("")
                ));
                case.set_time(std::time::Duration::from_millis(r.duration_ms));
                if r.verdict == Verdict::Informational {
                    case.set_system_out(format!("informational: {}", r.reason));
                }
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        report.to_string().map_err(std::io::Error::other)
    }

    /// A readable matrix (the reports issue makes it good).
    pub fn html(&self) -> String {
        let mut clients: Vec<&str> = self.results.iter().map(|r| r.client.as_str()).collect();
        clients.sort();
        clients.dedup();
        let mut by_scenario: BTreeMap<&str, BTreeMap<&str, &CaseResult>> = BTreeMap::new();
        for r in &self.results {
            by_scenario
                .entry(&r.scenario)
                .or_default()
                .insert(&r.client, r);
        }
        let mut h = String::from(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ftpspec results</title><style>\
             body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}\
             .pass{background:#cfc}.fail{background:#fcc}.error{background:#f99}.informational{background:#cdf}.unsupported{background:#eee}\
             details pre{white-space:pre-wrap;max-width:60em;font-size:.85em}</style></head><body><h1>ftpspec results</h1>",
        );
        let counts: Vec<String> = self
            .counts()
            .iter()
            .map(|(v, n)| format!("{n} {}", v.as_str()))
            .collect();
        let _ = write!(
            h,
            "<p>{}{}</p>",
            esc(&counts.join(", ")),
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        );
        h.push_str("<table><tr><th>scenario</th>");
        for c in &clients {
            let _ = write!(h, "<th>{}</th>", esc(c));
        }
        h.push_str("</tr>");
        for (scenario, row) in &by_scenario {
            let title = row.values().next().map(|r| r.title.as_str()).unwrap_or("");
            let _ = write!(h, "<tr><td><b>{}</b><br>{}</td>", esc(scenario), esc(title));
            for c in &clients {
                match row.get(c) {
                    Some(r) => {
                        let _ = write!(
                            h,
                            "<td class=\"{v}\"><b>{v}</b><details><summary>why</summary><p>{reason}</p><pre>{cmd}</pre><pre>{dialogue}</pre></details></td>",
                            v = r.verdict.as_str(),
                            reason = esc(&r.reason),
                            cmd = esc(&r.observations.command.join(" ")),
                            dialogue = esc(&r.observations.dialogue),
                        );
                    }
                    None => h.push_str("<td></td>"),
                }
            }
            h.push_str("</tr>");
        }
        h.push_str("</table></body></html>\n");
        h
    }

    /// A plain-text matrix for the terminal.
    pub fn table(&self) -> String {
        let mut clients: Vec<&str> = self.results.iter().map(|r| r.client.as_str()).collect();
        clients.sort();
        clients.dedup();
        let mut by_scenario: BTreeMap<&str, BTreeMap<&str, Verdict>> = BTreeMap::new();
        for r in &self.results {
            by_scenario
                .entry(&r.scenario)
                .or_default()
                .insert(&r.client, r.verdict);
        }
        let width = by_scenario
            .keys()
            .map(|s| s.len())
            .max()
            .unwrap_or(8)
            .max(8);
        let cw: Vec<usize> = clients.iter().map(|c| c.len().max(13)).collect();
        let mut out = format!("{:<width$}", "scenario");
        for (c, w) in clients.iter().zip(&cw) {
            let _ = write!(out, "  {c:<w$}");
        }
        out.push('\n');
        for (s, row) in &by_scenario {
            let _ = write!(out, "{s:<width$}");
            for (c, w) in clients.iter().zip(&cw) {
                let v = row.get(c).map(|v| v.as_str()).unwrap_or("-");
                let _ = write!(out, "  {v:<w$}");
            }
            out.push('\n');
        }
        out
    }
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
