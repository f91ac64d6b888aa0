//! Comparing two runs: which cases got worse, better, or appeared or went.

use crate::model::{RunResults, Verdict};

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
            None => d.added.push(Change {
                client: r.client.clone(),
                scenario: r.scenario.clone(),
                old: None,
                new: Some(r.verdict),
                reason: r.reason.clone(),
            }),
            Some(o) if o.verdict != r.verdict => {
                let c = Change {
                    client: r.client.clone(),
                    scenario: r.scenario.clone(),
                    old: Some(o.verdict),
                    new: Some(r.verdict),
                    reason: r.reason.clone(),
                };
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
            d.removed.push(Change {
                client: o.client.clone(),
                scenario: o.scenario.clone(),
                old: Some(o.verdict),
                new: None,
                reason: o.reason.clone(),
            });
        }
    }
    d
}

impl Diff {
    /// Whether any case got worse.
    pub fn has_regressions(&self) -> bool {
        !self.regressions.is_empty()
    }

    /// The changes as text, regressions first.
    pub fn text(&self) -> String {
        let v = |x: Option<Verdict>| x.map_or("-", Verdict::as_str);
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
                out.push_str(&format!(
                    "  {} {}: {} -> {}  ({})\n",
                    c.client,
                    c.scenario,
                    v(c.old),
                    v(c.new),
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
