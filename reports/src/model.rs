//! The result data: the `results.json` schema (version [`SCHEMA`]).
//!
//! ```json
//! {
//!   "schema": 1,
//!   "ftpspec_version": "0.1.0",
//!   "clients": [{"name": "curl", "version": "curl 7.88.1 ...", "role": "client"},
//!               {"name": "vsftpd", "version": "vsftpd: version 3.0.3", "role": "server"}],
//!   "missing_clients": ["tnftp"],
//!   "interrupted": false,
//!   "results": [{
//!     "client": "curl", "client_version": "curl 7.88.1 ...",
//!     "role": "client",             // client | server (`ftpspec run --server`: the server's
//!                                   // name is in "client"); absent in older files: client
//!     "scenario": "passive/unroutable-address", "title": "...", "requirement": "...",
//!     "references": ["RFC 1123 §4.1.2.6"],
//!     "verdict": "pass",            // pass | fail | informational | unsupported | error
//!     "reason": "one plain sentence",
//!     "duration_ms": 1234,
//!     "runs": [{"verdict": "pass", "reason": "...", "duration_ms": 1200}, ...],  // --repeat N > 1
//!     "flaky": false,               // the verdict changed between runs
//!     "quarantined": "why",         // only for a case the --quarantine file names
//!     "observations": {
//!       "command": ["curl", "..."], "exit_code": 0, "client_ok": true, "client_error": null,
//!       "timed_out": false, "client_ms": 812, "stdout": "...", "stderr": "...",
//!       "bytes_ok": true, "bytes": 65536, "dialogue": "C: USER ...", "transcript": "...",
//!       "data_connections": ["passive 10.0.0.2:50003 <-> 203.0.113.10:41234, ..."],
//!       "data_tls": false, "active_targets": ["198.51.100.1:50100"],
//!       "attempts": [{"host": "nat", "outcome": "dropped", "from": "203.0.113.10", "to": "10.0.0.2:50003"}],
//!       "topology": "server-nat", "server_addr": "203.0.113.1", "server_own_addr": "10.0.0.2",
//!       "network": {"hosts": [{"name": "nat", "role": "router", "nat": true, "helper": false, "firewall": true}],
//!                   "links": [{"a": "client", "a_addrs": ["203.0.113.10/24"], "b": "nat", "b_addrs": ["203.0.113.1/24"]}]}
//!     },
//!     // a network case that failed, was informational or erred: its bundle, beside results.json
//!     "diagnostics": "cases/curl/passive_2funroutable-address/diagnostics.txt",
//!     // its packet capture (pcapng, TLS keys inside), when one was kept (`--capture`)
//!     "capture": "cases/curl/passive_2funroutable-address/capture.pcapng"
//!   }]
//! }
//! ```
//!
//! The run itself may also carry `"repeat": 5` (each case ran 5 times; absent: once) and
//! `"seed": 1234` (the cases ran in the order this seed shuffles them into; absent: in
//! catalogue order), `"partition": "hash:2/4"` (it ran only that share of the cases:
//! `--partition`), and, when `ftpspec merge` made it, `"merged_from"`: the runs joined, each
//! with its `source` directory, `partition`, `seed`, `clients` (name and version),
//! `interrupted` and number of `cases`. A run (not a merge) has `"timing"`: its `jobs`,
//! `wall_ms` and `cases_ms` (the cases' durations added up; `cases_ms / (wall_ms x jobs)`
//! is the parallel efficiency, [`Timing::efficiency`]).
//!
//! Results are ordered by scenario id, then client name; no field holds a date or a time of day (durations only).
//! Within a schema version fields are only ever added (readers ignore unknown ones), and
//! every added field has a default, so older files still load: `runs`, `flaky`,
//! `quarantined`, `repeat`, `seed`, `diagnostics`, `partition`, `merged_from`, `capture` and `timing`
//! were added this way to schema 1.
//!
//! A case that ran more than once ([`CaseResult::combine`]) takes its `verdict` from its
//! worst run (by [`Verdict::rank`]; the first such run), and its `reason`, `duration_ms`
//! and `observations` from that same run, so the transcript shown explains the verdict;
//! `runs` keeps every run's verdict, reason and duration, in run order.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The schema version of `results.json`.
pub const SCHEMA: u32 = 1;

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every expectation held.
    Pass,
    /// An expectation did not hold (the reason says which and what happened).
    Fail,
    /// Behaviour recorded, no right answer.
    Informational,
    /// The client has no way to do what the case needs.
    Unsupported,
    /// The harness itself failed; never the client's fault.
    Error,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 5] = [
        Verdict::Fail,
        Verdict::Error,
        Verdict::Pass,
        Verdict::Informational,
        Verdict::Unsupported,
    ];

    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Informational => "informational",
            Verdict::Unsupported => "unsupported",
            Verdict::Error => "error",
        }
    }

    /// For regressions: pass > informational, unsupported > fail > error.
    pub fn rank(self) -> u8 {
        match self {
            Verdict::Pass => 3,
            Verdict::Informational | Verdict::Unsupported => 2,
            Verdict::Fail => 1,
            Verdict::Error => 0,
        }
    }
}

/// A connection attempt a router, firewall or decoy recorded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Attempt {
    /// The host that saw it.
    pub host: String,
    /// What happened to it.
    pub outcome: AttemptOutcome,
    /// Source address.
    pub from: IpAddr,
    /// Destination (after the router's own DNAT, when forwarded).
    pub to: SocketAddr,
}

/// What happened to an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptOutcome {
    /// Let through.
    Forwarded,
    /// Dropped.
    Dropped,
    /// Reached the decoy.
    ReachedDecoy,
    /// Left a source-NAT router with `from` as its source (the public address it was given).
    Translated,
}

/// A host's part in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The FTP client's host.
    Client,
    /// The FTP server's host.
    Server,
    /// A router, NAT or firewall.
    Router,
    /// The decoy.
    Decoy,
    /// Anything else.
    Other,
}

/// A host, for the diagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSummary {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Translates addresses.
    #[serde(default)]
    pub nat: bool,
    /// Runs the conntrack FTP helper.
    #[serde(default)]
    pub helper: bool,
    /// Drops some connections.
    #[serde(default)]
    pub firewall: bool,
}

/// A link, for the diagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSummary {
    /// One host.
    pub a: String,
    /// Its addresses on the link.
    pub a_addrs: Vec<String>,
    /// The other host.
    pub b: String,
    /// Its addresses on the link.
    pub b_addrs: Vec<String>,
}

/// The network of a case, for the diagram.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSummary {
    /// Hosts.
    pub hosts: Vec<HostSummary>,
    /// Links.
    pub links: Vec<LinkSummary>,
}

/// What was seen during a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observations {
    /// The client's command line (empty for in-process clients).
    pub command: Vec<String>,
    /// Its exit code (`None`: killed, or in-process).
    pub exit_code: Option<i32>,
    /// Whether it succeeded by its own account.
    pub client_ok: bool,
    /// The in-process client's error.
    pub client_error: Option<String>,
    /// Killed at the scenario's timeout.
    pub timed_out: bool,
    /// How long the client ran, in milliseconds.
    pub client_ms: u64,
    /// Its stdout (truncated).
    pub stdout: String,
    /// Its stderr (truncated).
    pub stderr: String,
    /// The transferred bytes were right.
    pub bytes_ok: Option<bool>,
    /// Bytes the client ended up with (download) or the server kept (upload).
    pub bytes: Option<u64>,
    /// A session's steps, one line each, with how each went.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// The control dialogue (`C:`/`S:` lines, `==` marks for TLS and CCC).
    pub dialogue: String,
    /// The server's full event log as text.
    pub transcript: String,
    /// Data connections, one line each.
    pub data_connections: Vec<String>,
    /// Whether every data connection used TLS (`None`: none made).
    pub data_tls: Option<bool>,
    /// Addresses announced with PORT/EPRT.
    pub active_targets: Vec<SocketAddr>,
    /// What the routers and the decoy recorded.
    pub attempts: Vec<Attempt>,
    /// The preset's name, or `inline`.
    pub topology: String,
    /// The address the client was given for the server.
    pub server_addr: Option<IpAddr>,
    /// The server's own address.
    pub server_own_addr: Option<IpAddr>,
    /// The network, for the diagram.
    #[serde(default)]
    pub network: Option<NetworkSummary>,
}

/// Which side of FTP a case tests: a client against ftpspec's mock server, or a server
/// (`ftpspec run --server`) driven by ftpspec's probe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseRole {
    /// A client under test.
    #[default]
    Client,
    /// A server under test.
    Server,
}

impl CaseRole {
    /// `client` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseRole::Client => "client",
            CaseRole::Server => "server",
        }
    }
}

/// The result of one (client, scenario) case, or (server, server scenario) case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The implementation under test: the client's name, or the server's when `role` is
    /// `server` (the field keeps its name, so results.json stays schema 1).
    pub client: String,
    /// Which side the implementation is (absent in older files: `client`).
    #[serde(default)]
    pub role: CaseRole,
    /// Its version.
    pub client_version: String,
    /// The case's id: the scenario's, with a variant's axis values after `@`
    /// (`transfer/x@ip=6,tls=explicit`).
    pub scenario: String,
    /// The variant's axis values (`{"tls": "explicit"}`); empty for a scenario as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub axes: BTreeMap<String, String>,
    /// Its title.
    pub title: String,
    /// Its requirement.
    pub requirement: String,
    /// Its references.
    pub references: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// One plain sentence: expected vs observed.
    pub reason: String,
    /// Wall time of the whole case, in milliseconds.
    pub duration_ms: u64,
    /// Every run of the case, in run order, when it ran more than once (`--repeat`); empty
    /// otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunOutcome>,
    /// The verdict changed between runs (always false for a case run once).
    #[serde(default)]
    pub flaky: bool,
    /// The reason the quarantine file gives, when the case is quarantined: it ran, but its
    /// verdict does not count toward the exit status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantined: Option<String>,
    /// What was seen.
    pub observations: Observations,
    /// The diagnostics bundle's path, relative to the results directory, with `/`
    /// separators ([`crate::paths::diagnostics_path`]: `cases/<client>/<scenario>/diagnostics.txt`):
    /// each router's ruleset and conntrack table and each host's sockets at the end of a
    /// network case that failed, was informational or erred. Absent: none was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    /// The bundle's text, which [`RunResults::write`] writes to `diagnostics` (not part of
    /// `results.json`; `None` in results read back from it).
    #[serde(skip)]
    pub diagnostics_text: Option<String>,
    /// The packet capture's path, relative to the results directory, with `/` separators
    /// ([`crate::paths::capture_path`]: `cases/<client>/<scenario>/capture.pcapng`): every
    /// interface of the case's network, with the TLS keys inside, written by `ftpspec run`
    /// as the case ends (`--capture`). Absent: none was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// Where the capture is on disk now when that is not beside this run's `results.json`
    /// (a run read back for `ftpspec merge`): [`RunResults::write`] copies it to `capture`
    /// (not part of `results.json`).
    #[serde(skip)]
    pub capture_from: Option<std::path::PathBuf>,
}

/// One run of a case that ran several times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Its verdict.
    pub verdict: Verdict,
    /// Its reason.
    pub reason: String,
    /// Its wall time, in milliseconds.
    pub duration_ms: u64,
}

impl CaseResult {
    /// The result of `client` on `scenario` with `verdict`, and nothing else known yet
    /// (no title, reason, time, observation or kept file): what every producer starts from,
    /// naming only the fields it knows.
    pub fn new(client: impl Into<String>, scenario: impl Into<String>, verdict: Verdict) -> Self {
        CaseResult {
            client: client.into(),
            role: CaseRole::Client,
            client_version: String::new(),
            scenario: scenario.into(),
            axes: BTreeMap::new(),
            title: String::new(),
            requirement: String::new(),
            references: Vec::new(),
            verdict,
            reason: String::new(),
            duration_ms: 0,
            runs: Vec::new(),
            flaky: false,
            quarantined: None,
            observations: Observations::default(),
            diagnostics: None,
            diagnostics_text: None,
            capture: None,
            capture_from: None,
        }
    }

    /// One result from several runs of the same case (in run order): the verdict, reason,
    /// duration and observations of the worst run (the lowest [`Verdict::rank`], the first
    /// of equals), every run in `runs`, and `flaky` when the runs' verdicts differ. One run
    /// comes back as it is (no `runs`).
    pub fn combine(runs: Vec<CaseResult>) -> Option<CaseResult> {
        if runs.len() <= 1 {
            return runs.into_iter().next();
        }
        let outcomes: Vec<RunOutcome> = runs
            .iter()
            .map(|r| RunOutcome {
                verdict: r.verdict,
                reason: r.reason.clone(),
                duration_ms: r.duration_ms,
            })
            .collect();
        let flaky = outcomes.iter().any(|o| o.verdict != outcomes[0].verdict);
        // min_by_key keeps the first of equals.
        let worst = runs
            .into_iter()
            .min_by_key(|r| r.verdict.rank())
            .expect("two runs or more");
        Some(CaseResult {
            runs: outcomes,
            flaky,
            ..worst
        })
    }

    /// How many runs ended in each verdict, passes first, e.g. `3 pass, 2 fail`; the
    /// verdict alone for a case run once.
    pub fn run_counts(&self) -> String {
        if self.runs.is_empty() {
            return self.verdict.as_str().to_owned();
        }
        let order = [Verdict::Pass, Verdict::Fail, Verdict::Error];
        order
            .iter()
            .chain(&[Verdict::Informational, Verdict::Unsupported])
            .filter_map(|v| {
                let n = self.runs.iter().filter(|o| o.verdict == *v).count();
                (n > 0).then(|| format!("{n} {}", v.as_str()))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Keeps a diagnostics bundle with the case: its text, and the path
    /// [`RunResults::write`] will write it to.
    pub fn keep_diagnostics(&mut self, text: String) {
        self.diagnostics = Some(crate::paths::diagnostics_path(&self.client, &self.scenario));
        self.diagnostics_text = Some(text);
    }

    /// The scenario's group (`passive` of `passive/x`).
    pub fn group(&self) -> &str {
        self.scenario.split('/').next().unwrap_or("")
    }
}

/// A client in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// Its name.
    pub name: String,
    /// A client, or a server under test (absent in older files: `client`).
    #[serde(default)]
    pub role: CaseRole,
    /// Its version.
    pub version: String,
}

/// A whole run: the content of `results.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResults {
    /// [`SCHEMA`].
    pub schema: u32,
    /// The ftpspec that made it.
    pub ftpspec_version: String,
    /// The clients run.
    pub clients: Vec<ClientInfo>,
    /// Built-in clients not installed, so not run.
    #[serde(default)]
    pub missing_clients: Vec<String>,
    /// The run was interrupted: the results are those collected so far.
    #[serde(default)]
    pub interrupted: bool,
    /// How many times each case ran (`--repeat`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub repeat: u32,
    /// The seed the case order was shuffled with (`--shuffle`); `None`: catalogue order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The share of the cases this run had (`--partition`, e.g. `hash:2/4`); `None`: every
    /// case selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// A run made by `ftpspec merge`: the runs it joined, in the order given (empty: a run
    /// of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<MergedRun>,
    /// How long the run took and how busy its jobs were (absent: a merged run, or an older
    /// file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
    /// The results, by scenario then client.
    pub results: Vec<CaseResult>,
}

/// A run's timing: `"timing": {"jobs": 16, "wall_ms": 112000, "cases_ms": 1219000}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Cases run at once (`--jobs`).
    pub jobs: usize,
    /// The run's wall time, first case started to last case ended.
    pub wall_ms: u64,
    /// The cases' durations added up (every run of a repeated case).
    pub cases_ms: u64,
}

impl Timing {
    /// How busy the jobs were: `cases_ms / (wall_ms x jobs)` (1.0: no job ever idle; 0 for
    /// an empty run).
    pub fn efficiency(&self) -> f64 {
        let capacity = self.wall_ms as f64 * self.jobs.max(1) as f64;
        if capacity > 0.0 {
            self.cases_ms as f64 / capacity
        } else {
            0.0
        }
    }
}

/// One of the runs `ftpspec merge` joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedRun {
    /// Where it came from: the directory (or file) given to `ftpspec merge`.
    pub source: String,
    /// Its `--partition`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Its `--shuffle` seed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The clients it ran, with their versions.
    pub clients: Vec<ClientInfo>,
    /// It was interrupted.
    #[serde(default)]
    pub interrupted: bool,
    /// How many cases it had.
    pub cases: usize,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl RunResults {
    /// A run of [`SCHEMA`] by this `ftpspec_version` holding `results`, with nothing else
    /// known (no clients, run once, no seed, partition, merge or timing): what tests and
    /// tools start from, naming only the fields they know.
    pub fn new(ftpspec_version: impl Into<String>, results: Vec<CaseResult>) -> Self {
        RunResults {
            schema: SCHEMA,
            ftpspec_version: ftpspec_version.into(),
            clients: Vec::new(),
            missing_clients: Vec::new(),
            interrupted: false,
            repeat: 1,
            seed: None,
            partition: None,
            merged_from: Vec::new(),
            timing: None,
            results,
        }
    }

    /// Sorts the results (scenario, then client) and the clients (name).
    pub fn sort(&mut self) {
        self.results
            .sort_by(|a, b| (&a.scenario, &a.client).cmp(&(&b.scenario, &b.client)));
        self.clients.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// Counts per verdict.
    pub fn counts(&self) -> BTreeMap<Verdict, usize> {
        let mut c = BTreeMap::new();
        for r in &self.results {
            *c.entry(r.verdict).or_default() += 1;
        }
        c
    }

    /// How many cases are flaky.
    pub fn flaky(&self) -> usize {
        self.results.iter().filter(|r| r.flaky).count()
    }

    /// The quarantined cases.
    pub fn quarantined(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter(|r| r.quarantined.is_some())
    }

    /// The result of one case.
    pub fn get(&self, client: &str, scenario: &str) -> Option<&CaseResult> {
        self.results
            .iter()
            .find(|r| r.client == client && r.scenario == scenario)
    }

    /// The clients that have results, in name order.
    pub fn client_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.results.iter().map(|r| r.client.as_str()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Reads a `results.json`, refusing other schema versions.
    pub fn read(path: &Path) -> Result<RunResults, Error> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
            path: path.to_owned(),
            error,
        })?;
        Self::from_json(&text).map_err(|e| e.in_file(path))
    }

    /// Parses `results.json` text.
    pub fn from_json(text: &str) -> Result<RunResults, Error> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|error| Error::NotJson { path: None, error })?;
        match v.get("schema").and_then(|s| s.as_u64()) {
            Some(s) if s == u64::from(SCHEMA) => {}
            Some(found) => {
                return Err(Error::Schema {
                    path: None,
                    found,
                    reads: SCHEMA,
                })
            }
            None => return Err(Error::NoSchema { path: None }),
        }
        serde_json::from_value(v).map_err(|error| Error::NotResults { path: None, error })
    }

    /// The JSON text (pretty, stable field order).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("results serialize") + "\n"
    }

    /// A plain-text matrix for the terminal.
    pub fn table(&self) -> String {
        let clients = self.client_names();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(verdict: Verdict, reason: &str, ms: u64) -> CaseResult {
        CaseResult {
            client_version: "curl 1".into(),
            reason: reason.into(),
            duration_ms: ms,
            observations: Observations {
                stdout: reason.into(),
                ..Observations::default()
            },
            ..CaseResult::new("curl", "passive/x", verdict)
        }
    }

    #[test]
    fn one_run_is_kept_as_it_is() {
        let r = run(Verdict::Fail, "once", 5);
        assert_eq!(CaseResult::combine(vec![r.clone()]), Some(r));
        assert_eq!(CaseResult::combine(Vec::new()), None);
    }

    #[test]
    fn steady_runs_are_not_flaky() {
        let r = CaseResult::combine(vec![run(Verdict::Pass, "a", 1), run(Verdict::Pass, "b", 2)])
            .unwrap();
        assert!(!r.flaky);
        assert_eq!(r.verdict, Verdict::Pass);
        assert_eq!(r.reason, "a", "the first of equals");
        assert_eq!(r.runs.len(), 2);
        assert_eq!(r.run_counts(), "2 pass");
    }

    #[test]
    fn a_flaky_case_takes_its_worst_run() {
        let r = CaseResult::combine(vec![
            run(Verdict::Pass, "ok 1", 1),
            run(Verdict::Fail, "fail 2", 2),
            run(Verdict::Pass, "ok 3", 3),
            run(Verdict::Fail, "fail 4", 4),
            run(Verdict::Pass, "ok 5", 5),
        ])
        .unwrap();
        assert!(r.flaky);
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(
            (
                r.reason.as_str(),
                r.duration_ms,
                r.observations.stdout.as_str()
            ),
            ("fail 2", 2, "fail 2"),
            "reason, time and observations all come from the run the verdict does"
        );
        let verdicts: Vec<Verdict> = r.runs.iter().map(|o| o.verdict).collect();
        use Verdict::*;
        assert_eq!(verdicts, [Pass, Fail, Pass, Fail, Pass], "in run order");
        assert_eq!(r.runs[3].reason, "fail 4");
        assert_eq!(r.run_counts(), "3 pass, 2 fail");
        // An error is worse than a failure.
        let r = CaseResult::combine(vec![
            run(Fail, "f", 1),
            run(Error, "e", 1),
            run(Pass, "p", 1),
        ])
        .unwrap();
        assert_eq!((r.verdict, r.reason.as_str()), (Error, "e"));
        assert_eq!(r.run_counts(), "1 pass, 1 fail, 1 error");
    }

    #[test]
    fn older_results_still_load() {
        let r: CaseResult = serde_json::from_str(
            r#"{"client":"c","client_version":"1","scenario":"g/s","title":"","requirement":"","references":[],"verdict":"pass","reason":"","duration_ms":1,"observations":{"command":[],"exit_code":null,"client_ok":true,"client_error":null,"timed_out":false,"client_ms":1,"stdout":"","stderr":"","bytes_ok":null,"bytes":null,"dialogue":"","transcript":"","data_connections":[],"data_tls":null,"active_targets":[],"attempts":[],"topology":"","server_addr":null,"server_own_addr":null}}"#,
        )
        .unwrap();
        assert!(r.runs.is_empty() && !r.flaky && r.quarantined.is_none());
        assert_eq!(r.diagnostics, None);
        let run: RunResults =
            serde_json::from_str(r#"{"schema":1,"ftpspec_version":"0","clients":[],"results":[]}"#)
                .unwrap();
        assert_eq!((run.repeat, run.seed), (1, None));
        assert!(run.partition.is_none() && run.merged_from.is_empty());
    }
}
