//! Coverage: what the catalogue's `references` name, which scenarios cite each, and how the
//! clients fared on them. Computed from a run's results (nothing of it is stored in
//! `results.json`), for the report's coverage section.
//!
//! A reference is parsed into a [`Key`] (what is cited) and a note (how one scenario cites
//! it): `RFC 959 §4.1.2 (PORT)` and `RFC 959 §4.1.2` are the same section, the first with
//! the note `PORT`. Forms understood:
//!
//! - `RFC 959`, `RFC 959 §4.1.2`, `RFC 8446 §C.4`, `rfc959 section 4.1.2`, each optionally
//!   followed by a note (`(PORT)`, `and Appendix II`); sections sort by their numbers
//!   (`§4.1.2` < `§4.1.2.6` < `§4.2` < `§10.2`), appendices after. An RFC reference whose
//!   section cannot be read stays under its RFC number with its exact text.
//! - `CVE-2021-22946`, also with a product before it (`curl CVE-2020-8284`: the note is
//!   `curl`).
//! - `owner/repo#N` (an issue) and `owner/repo PR #N` (a pull request), linked to GitHub;
//!   `repo#N` without an owner is kept, unlinked.
//! - Anything else (a documentation page, a setting: `vsftpd require_ssl_reuse`) under its
//!   exact text.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{RunResults, Verdict};

/// What a reference cites, the thing the coverage section groups by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// A section of an RFC.
    Rfc {
        /// The RFC's number.
        number: u32,
        /// The section.
        section: Section,
    },
    /// A CVE.
    Cve {
        /// The year part.
        year: u32,
        /// The sequence number.
        number: u32,
    },
    /// An issue or a pull request on GitHub.
    Issue {
        /// `owner/repo` as written, or the bare repository name when the owner is missing.
        repo: String,
        /// The issue or pull request number.
        number: u64,
        /// A pull request (`owner/repo PR #N`).
        pull: bool,
    },
    /// Anything else, by its exact text.
    Other(String),
}

/// The part of an RFC a reference cites.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// The whole RFC (`RFC 1918`).
    Whole,
    /// A section: `4.1.2` is `[Num(4), Num(1), Num(2)]`, `C.4` is `[Name("C"), Num(4)]`.
    Numbered(Vec<Part>),
    /// A section that could not be read: the reference's exact text.
    Text(String),
}

/// One component of a section number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// A number (sorts before names, so appendices come after the numbered sections).
    Num(u32),
    /// A letter, as in appendix `C.4`.
    Name(String),
}

/// A parsed reference: what it cites and how (the note: `PORT` of `RFC 959 §4.1.2 (PORT)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cited {
    /// What is cited.
    pub key: Key,
    /// The rest of the reference, if any, without its parentheses.
    pub note: Option<String>,
}

/// Parses one reference; never fails: what it cannot read is [`Key::Other`] (or, for an
/// RFC with a number, [`Section::Text`]), with the exact text.
///
/// ```
/// use ftpspec_report::coverage::{parse, Key, Part, Section};
/// let c = parse("RFC 959 §4.1.2 (PORT)");
/// assert_eq!(c.key, Key::Rfc { number: 959, section: Section::Numbered(vec![Part::Num(4), Part::Num(1), Part::Num(2)]) });
/// assert_eq!(c.note.as_deref(), Some("PORT"));
/// assert_eq!(parse("curl/curl PR #12841").key, Key::Issue { repo: "curl/curl".into(), number: 12841, pull: true });
/// ```
pub fn parse(text: &str) -> Cited {
    let t = text.trim();
    let other = || Cited {
        key: Key::Other(t.to_owned()),
        note: None,
    };
    if let Some(c) = rfc(t).or_else(|| cve(t)).or_else(|| issue(t)) {
        return c;
    }
    other()
}

fn rfc(t: &str) -> Option<Cited> {
    let rest = t.get(..3).filter(|p| p.eq_ignore_ascii_case("rfc"))?;
    let rest = t[rest.len()..].trim_start_matches([' ', '-']);
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let number: u32 = rest[..digits].parse().ok()?;
    let rest = &rest[digits..];
    if rest.starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    let whole = |section| Cited {
        key: Key::Rfc { number, section },
        note: None,
    };
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Some(whole(Section::Whole));
    }
    if rest.starts_with('(') {
        return Some(Cited {
            key: Key::Rfc {
                number,
                section: Section::Whole,
            },
            note: note(rest),
        });
    }
    let after = strip_prefix_ci(rest, "§")
        .or_else(|| strip_prefix_ci(rest, "section"))
        .or_else(|| strip_prefix_ci(rest, "sec."))
        .map(str::trim_start);
    let Some(after) = after else {
        return Some(whole(Section::Text(t.to_owned())));
    };
    let len = after.len()
        - after
            .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '.')
            .len();
    let token = after[..len].trim_end_matches('.');
    let parts: Option<Vec<Part>> = token
        .split('.')
        .map(|p| {
            if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) {
                p.parse().ok().map(Part::Num)
            } else if (1..=2).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()) {
                Some(Part::Name(p.to_ascii_uppercase()))
            } else {
                None
            }
        })
        .collect();
    let rest = &after[len..];
    match parts {
        // A section number ends the token: `§4.1.2x` or `§4.1.2/3` is not one.
        Some(parts) if rest.is_empty() || rest.starts_with([' ', '(', ',', ';']) => Some(Cited {
            key: Key::Rfc {
                number,
                section: Section::Numbered(parts),
            },
            note: note(rest),
        }),
        _ => Some(whole(Section::Text(t.to_owned()))),
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The note after what a reference cites: `(PORT)` is `PORT`; other text is kept as is.
fn note(rest: &str) -> Option<String> {
    let rest = rest.trim().trim_start_matches([',', ';']).trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rest)
        .trim();
    (!inner.is_empty()).then(|| inner.to_owned())
}

fn cve(t: &str) -> Option<Cited> {
    let words: Vec<&str> = t.split_whitespace().collect();
    let is_cve = |w: &str| -> Option<(u32, u32)> {
        let rest = strip_prefix_ci(w, "CVE-")?;
        let (year, number) = rest.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        (year.len() == 4 && digits(year) && number.len() >= 4 && digits(number))
            .then(|| Some((year.parse().ok()?, number.parse().ok()?)))
            .flatten()
    };
    let found: Vec<(usize, (u32, u32))> = words
        .iter()
        .enumerate()
        .filter_map(|(i, w)| is_cve(w).map(|c| (i, c)))
        .collect();
    let [(at, (year, number))] = found[..] else {
        return None;
    };
    let rest: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != at)
        .map(|(_, w)| *w)
        .collect();
    Some(Cited {
        key: Key::Cve { year, number },
        note: note(&rest.join(" ")),
    })
}

fn issue(t: &str) -> Option<Cited> {
    let (left, number) = t.rsplit_once('#')?;
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let number: u64 = number.parse().ok()?;
    let left = left.trim_end();
    let (repo, pull) = match left.len().checked_sub(3).and_then(|i| left.get(i..)) {
        Some(tail) if tail.eq_ignore_ascii_case(" PR") => (left[..left.len() - 3].trim_end(), true),
        _ => (left, false),
    };
    let name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    let ok = match repo.split_once('/') {
        Some((owner, name_)) => name(owner) && name(name_),
        None => name(repo),
    };
    ok.then(|| Cited {
        key: Key::Issue {
            repo: repo.to_owned(),
            number,
            pull,
        },
        note: None,
    })
}

impl Key {
    /// How the coverage section names it: `§4.1.2` (under its RFC), `RFC 1918` (whole),
    /// `CVE-2021-22946`, `curl/curl#4654`, `curl/curl PR #12841`, or the exact text.
    pub fn label(&self) -> String {
        match self {
            Key::Rfc { number, section } => match section {
                Section::Whole => format!("RFC {number}"),
                Section::Numbered(parts) => format!("§{}", section_number(parts)),
                Section::Text(t) => t.clone(),
            },
            Key::Cve { year, number } => format!("CVE-{year}-{number:04}"),
            Key::Issue {
                repo,
                number,
                pull: false,
            } => format!("{repo}#{number}"),
            Key::Issue {
                repo,
                number,
                pull: true,
            } => format!("{repo} PR #{number}"),
            Key::Other(t) => t.clone(),
        }
    }

    /// Where to read it, when there is a well-known address: the RFC (at the section, for a
    /// numbered one) at rfc-editor.org, the CVE record at cve.org, the issue or pull request
    /// on GitHub (only with an owner). The report links out; it never fetches.
    pub fn url(&self) -> Option<String> {
        match self {
            Key::Rfc { number, section } => Some(match section {
                Section::Numbered(parts) => {
                    let kind = match parts.first() {
                        Some(Part::Name(_)) => "appendix",
                        _ => "section",
                    };
                    format!(
                        "https://www.rfc-editor.org/rfc/rfc{number}#{kind}-{}",
                        section_number(parts)
                    )
                }
                _ => format!("https://www.rfc-editor.org/rfc/rfc{number}"),
            }),
            Key::Cve { .. } => Some(format!("https://www.cve.org/CVERecord?id={}", self.label())),
            Key::Issue { repo, number, pull } => repo.contains('/').then(|| {
                let kind = if *pull { "pull" } else { "issues" };
                format!("https://github.com/{repo}/{kind}/{number}")
            }),
            Key::Other(_) => None,
        }
    }
}

fn section_number(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Num(n) => n.to_string(),
            Part::Name(s) => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A scenario that cites a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation<'a> {
    /// Its title.
    pub title: &'a str,
    /// How it cites the reference (`PORT`), every distinct note, in order.
    pub notes: BTreeSet<String>,
}

/// One reference in the coverage section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// What is cited.
    pub key: Key,
    /// The scenarios that cite it, by id.
    pub scenarios: BTreeMap<&'a str, Citation<'a>>,
    /// Per client, how many of those scenarios ended in each verdict.
    pub tally: BTreeMap<&'a str, BTreeMap<Verdict, usize>>,
}

/// Every reference a run's scenarios cite, grouped for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage<'a> {
    /// Per RFC number (ascending), its cited sections: the whole RFC first, then by section
    /// number, then those under their exact text.
    pub rfcs: Vec<(u32, Vec<Entry<'a>>)>,
    /// CVEs, by year and number.
    pub cves: Vec<Entry<'a>>,
    /// Issues and pull requests, by repository (ignoring case), then number.
    pub issues: Vec<Entry<'a>>,
    /// Everything else (documentation pages, settings), by text (ignoring case).
    pub other: Vec<Entry<'a>>,
}

impl Coverage<'_> {
    /// No scenario cites anything.
    pub fn is_empty(&self) -> bool {
        self.rfcs.is_empty()
            && self.cves.is_empty()
            && self.issues.is_empty()
            && self.other.is_empty()
    }

    /// How many distinct references there are.
    pub fn len(&self) -> usize {
        self.rfcs.iter().map(|(_, e)| e.len()).sum::<usize>()
            + self.cves.len()
            + self.issues.len()
            + self.other.len()
    }
}

/// The coverage of a run: each case counts once for each distinct reference its scenario
/// cites (two spellings of one section count once).
pub fn coverage(run: &RunResults) -> Coverage<'_> {
    let mut entries: BTreeMap<Key, Entry<'_>> = BTreeMap::new();
    for r in &run.results {
        let mut cited: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
        for text in &r.references {
            let c = parse(text);
            cited.entry(c.key).or_default().extend(c.note);
        }
        for (key, notes) in cited {
            let e = entries.entry(key.clone()).or_insert_with(|| Entry {
                key,
                scenarios: BTreeMap::new(),
                tally: BTreeMap::new(),
            });
            e.scenarios
                .entry(&r.scenario)
                .or_insert_with(|| Citation {
                    title: &r.title,
                    notes: BTreeSet::new(),
                })
                .notes
                .extend(notes);
            *e.tally
                .entry(&r.client)
                .or_default()
                .entry(r.verdict)
                .or_default() += 1;
        }
    }
    let mut cov = Coverage::default();
    for (key, e) in entries {
        match key {
            Key::Rfc { number, .. } => match cov.rfcs.last_mut() {
                Some((n, list)) if *n == number => list.push(e),
                _ => cov.rfcs.push((number, vec![e])),
            },
            Key::Cve { .. } => cov.cves.push(e),
            Key::Issue { .. } => cov.issues.push(e),
            Key::Other(_) => cov.other.push(e),
        }
    }
    // The map's order is exact; people expect `aio-libs` before `SamKirkland`.
    cov.issues.sort_by_cached_key(|e| match &e.key {
        Key::Issue { repo, number, pull } => (repo.to_lowercase(), *number, *pull),
        _ => unreachable!("only issues here"),
    });
    cov.other
        .sort_by_cached_key(|e| (e.key.label().to_lowercase(), e.key.label()));
    cov
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use Part::{Name, Num};

    fn rfc(number: u32, parts: &[Part]) -> Key {
        Key::Rfc {
            number,
            section: Section::Numbered(parts.to_vec()),
        }
    }

    fn n(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    // Every form in the catalogue (`grep -h references scenarios/*/*.toml`), and a few it
    // may grow.
    #[rstest]
    #[case("RFC 959 §4.1.2", rfc(959, &[Num(4), Num(1), Num(2)]), None)]
    #[case("RFC 959 §4.1.2 (PORT)", rfc(959, &[Num(4), Num(1), Num(2)]), n("PORT"))]
    #[case("RFC 959 §4.1.2 and Appendix II", rfc(959, &[Num(4), Num(1), Num(2)]), n("and Appendix II"))]
    #[case("RFC 959 §4.2 (450)", rfc(959, &[Num(4), Num(2)]), n("450"))]
    #[case("RFC 959 §5.4 (230)", rfc(959, &[Num(5), Num(4)]), n("230"))]
    #[case("RFC 959 §3.1.1.1", rfc(959, &[Num(3), Num(1), Num(1), Num(1)]), None)]
    #[case("RFC 1123 §4.1.2.6", rfc(1123, &[Num(4), Num(1), Num(2), Num(6)]), None)]
    #[case("RFC 8446 §C.4", rfc(8446, &[Name("C".into()), Num(4)]), None)]
    #[case("RFC 4217 §6 (CCC, and why firewalls need it)", rfc(4217, &[Num(6)]), n("CCC, and why firewalls need it"))]
    #[case("RFC 4217 §1 (implicit FTPS, historical)", rfc(4217, &[Num(1)]), n("implicit FTPS, historical"))]
    #[case("RFC 2595 §3.1 (STARTTLS: discard data before the handshake)", rfc(2595, &[Num(3), Num(1)]), n("STARTTLS: discard data before the handshake"))]
    #[case("RFC 5382 §5 (REQ-5)", rfc(5382, &[Num(5)]), n("REQ-5"))]
    #[case("RFC 3659 §7 (MLSD)", rfc(3659, &[Num(7)]), n("MLSD"))]
    #[case("RFC 2428", Key::Rfc { number: 2428, section: Section::Whole }, None)]
    #[case("RFC 1918", Key::Rfc { number: 1918, section: Section::Whole }, None)]
    #[case("rfc959 section 4.1.2.", rfc(959, &[Num(4), Num(1), Num(2)]), None)]
    #[case("RFC 959 § 4.1.2", rfc(959, &[Num(4), Num(1), Num(2)]), None)]
    #[case("RFC 959 (FTP)", Key::Rfc { number: 959, section: Section::Whole }, n("FTP"))]
    #[case("RFC 959 §", Key::Rfc { number: 959, section: Section::Text("RFC 959 §".into()) }, None)]
    #[case("RFC 959 §4.1.2x", Key::Rfc { number: 959, section: Section::Text("RFC 959 §4.1.2x".into()) }, None)]
    #[case("RFC 959 Appendix II", Key::Rfc { number: 959, section: Section::Text("RFC 959 Appendix II".into()) }, None)]
    #[case("RFC abc", Key::Other("RFC abc".into()), None)]
    #[case("RFC959x §1", Key::Other("RFC959x §1".into()), None)]
    #[case("RFCs of the world", Key::Other("RFCs of the world".into()), None)]
    #[case("CVE-2021-22946", Key::Cve { year: 2021, number: 22946 }, None)]
    #[case("CVE-2000-0973", Key::Cve { year: 2000, number: 973 }, None)]
    #[case("curl CVE-2020-8284", Key::Cve { year: 2020, number: 8284 }, n("curl"))]
    #[case("Python CVE-2021-4189", Key::Cve { year: 2021, number: 4189 }, n("Python"))]
    #[case("CVE-21-1", Key::Other("CVE-21-1".into()), None)]
    #[case("curl/curl#4654", Key::Issue { repo: "curl/curl".into(), number: 4654, pull: false }, None)]
    #[case("robinrodricks/FluentFTP#1222", Key::Issue { repo: "robinrodricks/FluentFTP".into(), number: 1222, pull: false }, None)]
    #[case("SamKirkland/FTP-Deploy-Action#412", Key::Issue { repo: "SamKirkland/FTP-Deploy-Action".into(), number: 412, pull: false }, None)]
    #[case("FujiNetWIFI/fujinet-firmware#790", Key::Issue { repo: "FujiNetWIFI/fujinet-firmware".into(), number: 790, pull: false }, None)]
    #[case("Castaglia/proftpd-mod_proxy#335", Key::Issue { repo: "Castaglia/proftpd-mod_proxy".into(), number: 335, pull: false }, None)]
    #[case("curl/curl PR #20949", Key::Issue { repo: "curl/curl".into(), number: 20949, pull: true }, None)]
    #[case("iterate-ch/cyberduck PR #18399", Key::Issue { repo: "iterate-ch/cyberduck".into(), number: 18399, pull: true }, None)]
    #[case("suppaftp#55", Key::Issue { repo: "suppaftp".into(), number: 55, pull: false }, None)]
    #[case("curl -P", Key::Other("curl -P".into()), None)]
    #[case("curl --disable-epsv", Key::Other("curl --disable-epsv".into()), None)]
    #[case("vsftpd require_ssl_reuse", Key::Other("vsftpd require_ssl_reuse".into()), None)]
    #[case("Linux nf_conntrack_ftp", Key::Other("Linux nf_conntrack_ftp".into()), None)]
    #[case("IIS FTP directory listing style", Key::Other("IIS FTP directory listing style".into()), None)]
    #[case("lftp ftp:port-range", Key::Other("lftp ftp:port-range".into()), None)]
    #[case("  a/b c#1 ", Key::Other("a/b c#1".into()), None)]
    #[case("#5", Key::Other("#5".into()), None)]
    fn parses(#[case] text: &str, #[case] key: Key, #[case] note: Option<String>) {
        assert_eq!(parse(text), Cited { key, note }, "{text:?}");
    }

    #[rstest]
    #[case(
        "RFC 959 §4.1.2 (PORT)",
        "§4.1.2",
        Some("https://www.rfc-editor.org/rfc/rfc959#section-4.1.2")
    )]
    #[case(
        "RFC 8446 §C.4",
        "§C.4",
        Some("https://www.rfc-editor.org/rfc/rfc8446#appendix-C.4")
    )]
    #[case("RFC 2428", "RFC 2428", Some("https://www.rfc-editor.org/rfc/rfc2428"))]
    #[case(
        "RFC 959 §",
        "RFC 959 §",
        Some("https://www.rfc-editor.org/rfc/rfc959")
    )]
    #[case(
        "curl CVE-2000-0973",
        "CVE-2000-0973",
        Some("https://www.cve.org/CVERecord?id=CVE-2000-0973")
    )]
    #[case(
        "curl/curl#4654",
        "curl/curl#4654",
        Some("https://github.com/curl/curl/issues/4654")
    )]
    #[case(
        "curl/curl PR #12841",
        "curl/curl PR #12841",
        Some("https://github.com/curl/curl/pull/12841")
    )]
    #[case("suppaftp#55", "suppaftp#55", None)]
    #[case("curl -P", "curl -P", None)]
    fn labels_and_links(#[case] text: &str, #[case] label: &str, #[case] url: Option<&str>) {
        let key = parse(text).key;
        assert_eq!((key.label().as_str(), key.url().as_deref()), (label, url));
    }

    fn case(client: &str, scenario: &str, verdict: Verdict, refs: &[&str]) -> crate::CaseResult {
        crate::CaseResult {
            title: format!("title of {scenario}"),
            references: refs.iter().map(|s| (*s).to_owned()).collect(),
            ..crate::CaseResult::new(client, scenario, verdict)
        }
    }

    #[test]
    fn groups_sorts_and_tallies() {
        use Verdict::*;
        let refs_a = [
            "RFC 959 §4.1.2 (PORT)",
            "RFC 959 §4.1.2",
            "RFC 2428 §3",
            "Linux nf_conntrack_ftp",
        ];
        let refs_b = [
            "RFC 959 §10.2",
            "RFC 959 §4.1.2.6",
            "RFC 959",
            "RFC 959 §C.1",
            "RFC 959 §?",
            "CVE-2021-22946",
            "curl CVE-2020-8284",
        ];
        let refs_c = [
            "RFC 959 §4.1.2 (PASV)",
            "SamKirkland/FTP-Deploy-Action#412",
            "aio-libs/aioftp#142",
            "curl/curl PR #12841",
            "curl/curl#12823",
            "curl -P",
        ];
        let mut run = RunResults::new(
            String::new(),
            vec![
                case("curl", "g/a", Pass, &refs_a),
                case("wget", "g/a", Fail, &refs_a),
                case("curl", "g/b", Unsupported, &refs_b),
                case("curl", "g/c", Informational, &refs_c),
                case("wget", "g/c", Pass, &refs_c),
            ],
        );
        run.sort();
        let cov = coverage(&run);
        let labels = |es: &[Entry]| es.iter().map(|e| e.key.label()).collect::<Vec<_>>();
        let rfcs: Vec<(u32, Vec<String>)> =
            cov.rfcs.iter().map(|(n, es)| (*n, labels(es))).collect();
        assert_eq!(
            rfcs,
            [
                (
                    959,
                    vec![
                        "RFC 959".into(),
                        "§4.1.2".into(),
                        "§4.1.2.6".into(),
                        "§10.2".into(),
                        "§C.1".into(),
                        "RFC 959 §?".into()
                    ]
                ),
                (2428, vec!["§3".into()]),
            ]
        );
        assert_eq!(labels(&cov.cves), ["CVE-2020-8284", "CVE-2021-22946"]);
        assert_eq!(
            labels(&cov.issues),
            [
                "aio-libs/aioftp#142",
                "curl/curl#12823",
                "curl/curl PR #12841",
                "SamKirkland/FTP-Deploy-Action#412"
            ]
        );
        assert_eq!(labels(&cov.other), ["curl -P", "Linux nf_conntrack_ftp"]);
        assert_eq!(cov.len(), 15);

        // §4.1.2: g/a cites it twice (once with a note), g/c once; each case counts once.
        let s = &cov.rfcs[0].1[1];
        let notes: Vec<(&str, Vec<&str>)> = s
            .scenarios
            .iter()
            .map(|(id, c)| (*id, c.notes.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(notes, [("g/a", vec!["PORT"]), ("g/c", vec!["PASV"])]);
        assert_eq!(s.scenarios["g/a"].title, "title of g/a");
        let tally = |client: &str| {
            s.tally[client]
                .iter()
                .map(|(v, n)| (*v, *n))
                .collect::<Vec<_>>()
        };
        assert_eq!(tally("curl"), [(Pass, 1), (Informational, 1)]);
        assert_eq!(tally("wget"), [(Pass, 1), (Fail, 1)]);
        assert_eq!(
            cov.cves[0].scenarios["g/b"]
                .notes
                .iter()
                .collect::<Vec<_>>(),
            ["curl"]
        );
        assert!(
            !cov.cves[0].tally.contains_key("wget"),
            "wget did not run g/b"
        );
    }

    #[test]
    fn no_references_no_coverage() {
        let run = RunResults::new(String::new(), vec![case("curl", "g/a", Verdict::Pass, &[])]);
        let cov = coverage(&run);
        assert!(cov.is_empty());
        assert_eq!(cov.len(), 0);
    }
}
