//! Comparing two runs: which cases got worse, better, or appeared or went.
//!
//! Verdicts are compared by [`Verdict::rank`]. A flaky case is compared by its own verdict,
//! its worst run's (see [`crate::model`]): a case that passed before and now fails one run
//! in five is a regression; a case whose verdict stays but that became flaky or steady is
//! listed as changed, neither better nor worse. A regression of a case the new run
//! quarantined is listed, but does not count in [`Diff::has_regressions`].

use crate::model::{CaseResult, RunResults, Verdict};

/// One case that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The client.
    pub client: String,
    /// The scenario.
    pub scenario: String,
    /// The old verdict (`None`: new case).
    pub old: Option<Verdict>,
    /// The new verdict (`None`: the case is gone).
    pub new: Option<Verdict>,
    /// The new reason (or the old one, for a case that is gone).
    pub reason: String,
    /// The old run found the case flaky.
    pub old_flaky: bool,
    /// The new run found the case flaky.
    pub new_flaky: bool,
    /// The new run quarantined the case, for this reason.
    pub quarantined: Option<String>,
}

impl Change {
    fn new(old: Option<&CaseResult>, new: Option<&CaseResult>) -> Change {
        let r = new.or(old).expect("a change has a case");
        Change {
            client: r.client.clone(),
            scenario: r.scenario.clone(),
            old: old.map(|o| o.verdict),
            new: new.map(|n| n.verdict),
            reason: r.reason.clone(),
            old_flaky: old.is_some_and(|o| o.flaky),
            new_flaky: new.is_some_and(|n| n.flaky),
            quarantined: new.and_then(|n| n.quarantined.clone()),
        }
    }

    /// The old verdict as reports show it: `-`, `fail`, or `flaky fail`.
    pub fn old_text(&self) -> String {
        verdict_text(self.old, self.old_flaky)
    }

    /// The new verdict as reports show it.
    pub fn new_text(&self) -> String {
        verdict_text(self.new, self.new_flaky)
    }
}

fn verdict_text(v: Option<Verdict>, flaky: bool) -> String {
    match v {
        None => "-".into(),
        Some(v) if flaky => format!("flaky {}", v.as_str()),
        Some(v) => v.as_str().into(),
    }
}

/// The difference between two runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Cases whose verdict got worse.
    pub regressions: Vec<Change>,
    /// Cases whose verdict got better.
    pub improvements: Vec<Change>,
    /// Cases whose verdict changed without getting better or worse (e.g. informational to
    /// unsupported).
    pub changed: Vec<Change>,
    /// Cases only in the new run.
    pub added: Vec<Change>,
    /// Cases only in the old run.
    pub removed: Vec<Change>,
}

/// Compares `old` with `new`.
pub fn diff(old: &RunResults, new: &RunResults) -> Diff {
    let mut d = Diff::default();
    for r in &new.results {
        match old.get(&r.client, &r.scenario) {
            None => d.added.push(Change::new(None, Some(r))),
            Some(o) if o.verdict != r.verdict || o.flaky != r.flaky => {
                let c = Change::new(Some(o), Some(r));
                match r.verdict.rank().cmp(&o.verdict.rank()) {
                    std::cmp::Ordering::Less => d.regressions.push(c),
                    std::cmp::Ordering::Greater => d.improvements.push(c),
                    std::cmp::Ordering::Equal => d.changed.push(c),
                }
            }
            Some(_) => {}
        }
    }
    for o in &old.results {
        if new.get(&o.client, &o.scenario).is_none() {
            d.removed.push(Change::new(Some(o), None));
        }
    }
    d
}

impl Diff {
    /// Whether any case the new run did not quarantine got worse.
    pub fn has_regressions(&self) -> bool {
        self.counted_regressions().next().is_some()
    }

    /// The regressions that count: those of cases not quarantined.
    pub fn counted_regressions(&self) -> impl Iterator<Item = &Change> {
        self.regressions.iter().filter(|c| c.quarantined.is_none())
    }

    /// The changes as text, regressions first.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (title, list) in [
            ("regressions", &self.regressions),
            ("improvements", &self.improvements),
            ("changed", &self.changed),
            ("new cases", &self.added),
            ("cases gone", &self.removed),
        ] {
            if list.is_empty() {
                continue;
            }
            out.push_str(&format!("{} {title}:\n", list.len()));
            for c in list {
                let quarantined = c
                    .quarantined
                    .as_ref()
                    .map(|q| format!(" [quarantined: {q}]"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "  {} {}: {} -> {}  ({}){quarantined}\n",
                    c.client,
                    c.scenario,
                    c.old_text(),
                    c.new_text(),
                    c.reason
                ));
            }
        }
        if out.is_empty() {
            out.push_str("no change\n");
        }
        out
    }
}
