//! The quarantine file (`ftpspec run --quarantine FILE`): cases that run as usual, but whose
//! verdicts do not count toward the exit status (an error, a regression against a baseline).
//!
//! ```toml
//! [[quarantine]]
//! scenario = "ftps/session-reuse-required" # a scenario id (required)
//! client = "curl"                          # one client (optional; default: every client)
//! reason = "curl#12345: no session reuse on the data connection"   # required
//! ```
//!
//! Unknown keys, an empty reason and a scenario the catalogue does not have are errors, at
//! the file's line and column. An entry for a scenario covers its variants
//! (`ftpspec run --axis`): `x` covers `x@tls=explicit`; an entry for the variant's own id
//! comes first.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use ftpspec_report::RunResults;

use crate::error::{from_toml, Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuarantineFile {
    #[serde(default)]
    quarantine: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    scenario: Spanned<String>,
    client: Option<String>,
    reason: Spanned<String>,
}

/// One entry: a scenario, for one client or all of them, and why it is quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The scenario id.
    pub scenario: String,
    /// The client (`None`: every client).
    pub client: Option<String>,
    /// Why.
    pub reason: String,
}

/// A quarantine file's entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quarantine {
    /// The entries, in file order.
    pub entries: Vec<Entry>,
}

impl Quarantine {
    /// Reads a quarantine file; `exists` says whether a scenario id is in the catalogue.
    pub fn read(path: &Path, exists: impl Fn(&str) -> bool) -> Result<Quarantine> {
        let text = std::fs::read_to_string(path).map_err(crate::error::io_at(path))?;
        Self::parse(&path.display().to_string(), &text, exists)
    }

    /// Parses quarantine-file text from `origin` (for errors).
    pub fn parse(origin: &str, text: &str, exists: impl Fn(&str) -> bool) -> Result<Quarantine> {
        let file: QuarantineFile = from_toml(origin, text)?;
        let invalid = |span: std::ops::Range<usize>, message: String| {
            Error::at(origin, text, span.start, message)
        };
        let mut entries = Vec::new();
        for e in file.quarantine {
            if !exists(crate::scenario::base_id(e.scenario.get_ref())) {
                return Err(invalid(
                    e.scenario.span(),
                    format!(
                        "quarantine.scenario: no scenario {:?} (ftpspec list shows them)",
                        e.scenario.get_ref()
                    ),
                ));
            }
            if e.reason.get_ref().trim().is_empty() {
                return Err(invalid(
                    e.reason.span(),
                    "quarantine.reason: empty; say why the case is quarantined".into(),
                ));
            }
            entries.push(Entry {
                scenario: e.scenario.into_inner(),
                client: e.client,
                reason: e.reason.into_inner(),
            });
        }
        Ok(Quarantine { entries })
    }

    /// Why the case is quarantined, if it is: an entry for its exact id (a variant's
    /// `x@tls=explicit`) before one for its scenario (`x`, which covers every variant); of
    /// each, one naming its client before one for every client; the first in the file.
    pub fn reason(&self, client: &str, scenario: &str) -> Option<&str> {
        self.reason_of(client, scenario).or_else(|| {
            let base = crate::scenario::base_id(scenario);
            (base != scenario)
                .then(|| self.reason_of(client, base))
                .flatten()
        })
    }

    fn reason_of(&self, client: &str, scenario: &str) -> Option<&str> {
        let of = |e: &&Entry| e.scenario == scenario;
        let mine = self
            .entries
            .iter()
            .filter(of)
            .find(|e| e.client.as_deref() == Some(client));
        mine.or_else(|| self.entries.iter().filter(of).find(|e| e.client.is_none()))
            .map(|e| e.reason.as_str())
    }

    /// Marks the run's quarantined cases with their reasons.
    pub fn apply(&self, run: &mut RunResults) {
        for r in &mut run.results {
            r.quarantined = self.reason(&r.client, &r.scenario).map(str::to_owned);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Quarantine> {
        Quarantine::parse("q.toml", text, |id| {
            ["ftps/reuse-every-transfer", "passive/x"].contains(&id)
        })
    }

    #[test]
    fn entries_for_one_client_or_all() {
        let q = parse(
            r#"
[[quarantine]]
scenario = "passive/x"
reason = "everyone"

[[quarantine]]
scenario = "passive/x"
client = "curl"
reason = "curl's own"

[[quarantine]]
scenario = "ftps/reuse-every-transfer"
client = "wget"
reason = "wget#1"
"#,
        )
        .unwrap();
        assert_eq!(q.entries.len(), 3);
        assert_eq!(q.reason("curl", "passive/x"), Some("curl's own"));
        assert_eq!(q.reason("lftp", "passive/x"), Some("everyone"));
        assert_eq!(
            q.reason("wget", "ftps/reuse-every-transfer"),
            Some("wget#1")
        );
        assert_eq!(q.reason("curl", "ftps/reuse-every-transfer"), None);
        assert_eq!(parse("").unwrap(), Quarantine::default());
    }

    #[test]
    fn an_entry_for_a_scenario_covers_its_variants() {
        let q = parse(
            "[[quarantine]]\nscenario = \"passive/x\"\nreason = \"all\"\n[[quarantine]]\nscenario = \"passive/x@tls=explicit\"\nclient = \"curl\"\nreason = \"curl over TLS\"\n",
        )
        .unwrap();
        assert_eq!(
            q.reason("curl", "passive/x@tls=explicit"),
            Some("curl over TLS")
        );
        assert_eq!(q.reason("lftp", "passive/x@tls=explicit"), Some("all"));
        assert_eq!(q.reason("curl", "passive/x@ip=6"), Some("all"));
        assert_eq!(q.reason("curl", "passive/xy@ip=6"), None);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let e = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            e("[[quarantine]]\nscenario = \"passive/y\"\nreason = \"r\"\n"),
            "q.toml:2:12: quarantine.scenario: no scenario \"passive/y\" (ftpspec list shows them)"
        );
        let unknown =
            e("[[quarantine]]\nscenario = \"passive/x\"\nreason = \"r\"\nclients = \"curl\"\n");
        assert!(
            unknown.starts_with("q.toml:4:1: unknown field `clients`, expected one of `scenario`, `client`, `reason`"),
            "{unknown}"
        );
        let missing = e("[[quarantine]]\nscenario = \"passive/x\"\n");
        assert!(
            missing.starts_with("q.toml:1:1:") && missing.contains("missing field `reason`"),
            "{missing}"
        );
        assert_eq!(
            e("[[quarantine]]\nscenario = \"passive/x\"\nreason = \" \"\n"),
            "q.toml:3:10: quarantine.reason: empty; say why the case is quarantined"
        );
        let top = e("[[quarantined]]\nscenario = \"passive/x\"\n");
        assert!(
            top.starts_with("q.toml:1:3: unknown field `quarantined`"),
            "{top}"
        );
    }
}
