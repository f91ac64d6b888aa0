//! `[expect] commands`: the client's exact command lines, in the style of curl's test suite
//! (`<protocol>` with `<strip>`). The items are checked when the file is read (an empty item
//! or a bad regex is an error at its line and column); [`Transcript::diff`] matches received
//! lines against them.
//!
//! An item is one of:
//! - `USER anonymous`: the line exactly, the verb in any case;
//! - `USER *`: the verb (any case) with any argument, or none;
//! - `/^(EPSV|PASV)$/`: a regex over the whole line (anchored at both ends);
//! - any of these after `?`: optional, the line may be absent at that point.
//!
//! Before matching, the received lines are normalised by [`NORMALISED`] (addresses and
//! ports that differ from run to run become `*`) and then the `[expect] strip` regexes drop
//! whole lines (keepalive NOOPs): items, strip regexes and the failure's listing all see the
//! lines as normalised.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer};

/// The built-in normalisation: a line whose verb (any case) is listed here has its argument
/// replaced by `*` (`PORT 192,168,1,2,195,80` becomes `PORT *`), with the reason.
pub const NORMALISED: &[(&str, &str)] = &[
    (
        "PORT",
        "an address and port that differ from run to run (RFC 959 §4.1.2)",
    ),
    (
        "EPRT",
        "an address and port that differ from run to run (RFC 2428 §2)",
    ),
    (
        "LPRT",
        "an address and port that differ from run to run (RFC 1639 §2)",
    ),
];

/// The most a failure's listing shows, in characters (the reason stays readable).
const LISTING_MAX: usize = 1_200;
/// The most of one line a listing shows, in characters.
const LINE_MAX: usize = 72;
/// Unchanged lines kept around each difference in a listing.
const CONTEXT: usize = 2;

/// A regex as written in a scenario file, compiled when the file is read.
#[derive(Debug, Clone)]
pub struct LineRegex {
    source: String,
    regex: Regex,
}

impl LineRegex {
    /// Compiles `source` as is (`anchored`: over the whole line).
    fn new(source: &str, anchored: bool) -> Result<Self, String> {
        if source.is_empty() {
            return Err("an empty regex matches anything; write the line it should match".into());
        }
        let pattern = if anchored {
            format!("^(?:{source})$")
        } else {
            source.to_owned()
        };
        let regex = Regex::new(&pattern).map_err(|e| format!("bad regex /{source}/: {e}"))?;
        Ok(LineRegex {
            source: source.to_owned(),
            regex,
        })
    }

    /// Whether it matches the line (anywhere, unless it was compiled anchored).
    pub fn is_match(&self, line: &str) -> bool {
        self.regex.is_match(line)
    }
}

impl PartialEq for LineRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for LineRegex {}

impl<'de> Deserialize<'de> for LineRegex {
    /// An `[expect] strip` item: a regex, searched anywhere in the line (`^NOOP$` to anchor).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = String::deserialize(d)?;
        LineRegex::new(&source, false).map_err(serde::de::Error::custom)
    }
}

/// How an item matches a line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// The line exactly, the verb in any case.
    Exact { verb: String, rest: String },
    /// The verb (any case) with any argument or none.
    AnyArgument { verb: String },
    /// A regex over the whole line.
    Regex(LineRegex),
}

/// One item of `[expect] commands`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// As written (shown in failures).
    text: String,
    /// May be absent (written with a leading `?`).
    optional: bool,
    pattern: Pattern,
}

impl Item {
    /// Parses an item; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (optional, body) = match text.strip_prefix('?') {
            Some(b) => (true, b),
            None => (false, text),
        };
        if body.trim().is_empty() {
            return Err(format!(
                "the item {text:?} is empty; write the command line it should match, like \"TYPE I\""
            ));
        }
        let pattern = if body.len() >= 2 && body.starts_with('/') && body.ends_with('/') {
            Pattern::Regex(LineRegex::new(&body[1..body.len() - 1], true)?)
        } else {
            let (verb, rest) = split_verb(body);
            if rest == Some("*") {
                Pattern::AnyArgument { verb: verb.into() }
            } else {
                Pattern::Exact {
                    verb: verb.into(),
                    rest: rest.unwrap_or("").into(),
                }
            }
        };
        Ok(Item {
            text: text.to_owned(),
            optional,
            pattern,
        })
    }

    /// Whether it matches a (normalised) line.
    pub fn matches(&self, line: &str) -> bool {
        let (verb, rest) = split_verb(line);
        match &self.pattern {
            Pattern::Exact { verb: v, rest: r } => {
                verb.eq_ignore_ascii_case(v) && rest.unwrap_or("") == r
            }
            Pattern::AnyArgument { verb: v } => verb.eq_ignore_ascii_case(v),
            Pattern::Regex(re) => re.is_match(line),
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `VERB rest` at the first space (`rest` is `None` without one).
fn split_verb(line: &str) -> (&str, Option<&str>) {
    match line.split_once(' ') {
        Some((verb, rest)) => (verb, Some(rest)),
        None => (line, None),
    }
}

/// `[expect] commands`: the items, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript(pub Vec<Item>);

impl<'de> Deserialize<'de> for Transcript {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<String>::deserialize(d)?;
        let parsed = items.iter().map(|t| Item::parse(t));
        let items = parsed
            .collect::<Result<Vec<_>, _>>()
            .map_err(serde::de::Error::custom)?;
        Ok(Transcript(items))
    }
}

/// A received line after [`NORMALISED`] (`PORT 10,0,0,1,4,1` -> `PORT *`).
pub fn normalise(line: &str) -> String {
    let (verb, rest) = split_verb(line);
    let listed = NORMALISED.iter().any(|(v, _)| verb.eq_ignore_ascii_case(v));
    match rest {
        Some(_) if listed => format!("{verb} *"),
        _ => line.to_owned(),
    }
}

/// The lines the items are matched against: normalised, then without the stripped ones.
pub fn prepare(lines: &[&str], strip: &[LineRegex]) -> Vec<String> {
    let lines = lines.iter().map(|l| normalise(l));
    lines
        .filter(|l| !strip.iter().any(|re| re.is_match(l)))
        .collect()
}

/// One step of an alignment of items with lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Item i matched line j.
    Same(usize, usize),
    /// Optional item i was absent.
    Absent(usize),
    /// Required item i was missing.
    Missing(usize),
    /// Line j was not expected.
    Extra(usize),
}

impl Transcript {
    /// Whether the lines match the items exactly.
    pub fn matches(&self, lines: &[String]) -> bool {
        self.costs(lines)[0][0] == 0
    }

    /// `costs[i][j]`: the fewest missing items plus extra lines that align `items[i..]`
    /// with `lines[j..]` (an absent optional item costs nothing). The lines match iff
    /// `costs[0][0] == 0`; the table also gives the listing of a failure.
    fn costs(&self, lines: &[String]) -> Vec<Vec<usize>> {
        let (n, m) = (self.0.len(), lines.len());
        let mut c = vec![vec![0; m + 1]; n + 1];
        for j in (0..m).rev() {
            c[n][j] = m - j;
        }
        for i in (0..n).rev() {
            let skip = usize::from(!self.0[i].optional);
            c[i][m] = c[i + 1][m] + skip;
            for j in (0..m).rev() {
                let mut best = (c[i + 1][j] + skip).min(c[i][j + 1] + 1);
                if self.0[i].matches(&lines[j]) {
                    best = best.min(c[i + 1][j + 1]);
                }
                c[i][j] = best;
            }
        }
        c
    }

    /// An alignment of least cost, preferring a match, then a skipped item, then an extra
    /// line (so a wrong line reads as `-expected` then `+received`).
    fn align(&self, lines: &[String]) -> Vec<Op> {
        let c = self.costs(lines);
        let (n, m) = (self.0.len(), lines.len());
        let (mut i, mut j, mut ops) = (0, 0, Vec::new());
        while i < n || j < m {
            let skip = i < n && {
                let cost = usize::from(!self.0[i].optional);
                c[i + 1][j] + cost == c[i][j]
            };
            if i < n && j < m && self.0[i].matches(&lines[j]) && c[i + 1][j + 1] == c[i][j] {
                ops.push(Op::Same(i, j));
                (i, j) = (i + 1, j + 1);
            } else if skip {
                let op = if self.0[i].optional {
                    Op::Absent(i)
                } else {
                    Op::Missing(i)
                };
                ops.push(op);
                i += 1;
            } else {
                ops.push(Op::Extra(j));
                j += 1;
            }
        }
        ops
    }

    /// `None` when the lines match; otherwise the failure: one sentence naming the first
    /// difference, then a listing (`  ` same, `- ` expected but missing, `+ ` received but
    /// not expected), with long runs of unchanged lines elided.
    pub fn diff(&self, lines: &[String]) -> Option<String> {
        if self.matches(lines) {
            return None;
        }
        let ops = self.align(lines);
        let first = ops
            .iter()
            .position(|op| matches!(op, Op::Missing(_) | Op::Extra(_)))?;
        // The received line at the first difference (1-based), and what was expected there:
        // the next required item from that point.
        let (i, j) = ops[..first].iter().fold((0, 0), |(i, j), op| match op {
            Op::Same(a, b) => (a + 1, b + 1),
            Op::Absent(a) | Op::Missing(a) => (a + 1, j),
            Op::Extra(b) => (i, b + 1),
        });
        let expected = self.0[i..]
            .iter()
            .find(|it| !it.optional)
            .map_or("no more commands".to_owned(), |it| format!("{:?}", it.text));
        let got = lines.get(j).map_or("no more commands".to_owned(), |l| {
            format!("{:?}", shorten(l))
        });
        let sentence = format!(
            "expected the commands to match; first difference at line {}: expected {expected}, got {got}",
            j + 1
        );
        Some(format!("{sentence}\n{}", self.listing(&ops, lines)))
    }

    /// The unified-diff-like listing of an alignment.
    fn listing(&self, ops: &[Op], lines: &[String]) -> String {
        let rows: Vec<(char, String)> = ops
            .iter()
            .filter_map(|op| match *op {
                Op::Same(_, j) => Some((' ', shorten(&lines[j]))),
                Op::Missing(i) => Some(('-', shorten(&self.0[i].text))),
                Op::Extra(j) => Some(('+', shorten(&lines[j]))),
                Op::Absent(_) => None,
            })
            .collect();
        let near_change = |k: usize| {
            let lo = k.saturating_sub(CONTEXT);
            let hi = (k + CONTEXT).min(rows.len() - 1);
            rows[lo..=hi].iter().any(|(mark, _)| *mark != ' ')
        };
        let mut out = String::new();
        let mut elided = false;
        for (k, (mark, text)) in rows.iter().enumerate() {
            if !near_change(k) {
                if !elided {
                    out.push_str("  ...\n");
                    elided = true;
                }
                continue;
            }
            elided = false;
            let row = format!("{mark} {text}\n");
            if out.len() + row.len() > LISTING_MAX {
                let left = rows.len() - k;
                out.push_str(&format!("  ... ({left} more lines)\n"));
                break;
            }
            out.push_str(&row);
        }
        out.trim_end().to_owned()
    }
}

/// A line for display: control characters escaped (`\r`, `\0`), cut at [`LINE_MAX`].
fn shorten(line: &str) -> String {
    let shown: String = line.escape_debug().collect();
    match shown.char_indices().nth(LINE_MAX) {
        Some((at, _)) => format!("{}...", &shown[..at]),
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn transcript(items: &[&str]) -> Transcript {
        Transcript(items.iter().map(|t| Item::parse(t).unwrap()).collect())
    }

    fn owned(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn items_match_exactly_by_wildcard_and_by_regex() {
        let t = transcript(&["USER *", "type I", "/^(EPSV|PASV)$/", "?FEAT", "RETR /a"]);
        assert!(t.matches(&owned(&["user bob", "TYPE I", "PASV", "RETR /a"])));
        assert!(t.matches(&owned(&["USER", "Type I", "EPSV", "FEAT", "RETR /a"])));
        assert!(!t.matches(&owned(&["USER bob", "TYPE i", "PASV", "RETR /a"])));
        assert!(!t.matches(&owned(&["USER bob", "TYPE I", "EPSV ALL", "RETR /a"])));
        assert!(!t.matches(&owned(&["USER bob", "TYPE I", "PASV", "RETR /A"])));
    }

    #[test]
    fn bad_items_are_refused() {
        for bad in ["", "?", "  ", "/(/", "?/[a/"] {
            assert!(Item::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            Item::parse("/").is_ok(),
            "a lone slash is a line, not a regex"
        );
    }

    #[test]
    fn ports_and_addresses_are_normalised() {
        assert_eq!(normalise("PORT 192,168,1,2,195,80"), "PORT *");
        assert_eq!(normalise("eprt |1|198.51.100.10|50100|"), "eprt *");
        assert_eq!(normalise("PORT"), "PORT");
        assert_eq!(normalise("PASV"), "PASV");
        let strip = [LineRegex::new("^NOOP$", false).unwrap()];
        let lines = prepare(&["NOOP", "PORT 1,2,3,4,5,6", "NOOP x"], &strip);
        assert_eq!(lines, ["PORT *", "NOOP x"]);
    }

    #[test]
    fn a_wrong_line_is_shown_as_expected_then_received() {
        let t = transcript(&["USER *", "PASS *", "TYPE I", "PASV", "RETR /gen/64K"]);
        let got = owned(&["USER a", "PASS b", "TYPE A", "PASV", "RETR /gen/64K"]);
        let diff = t.diff(&got).unwrap();
        assert_eq!(
            diff,
            "expected the commands to match; first difference at line 3: expected \"TYPE I\", got \"TYPE A\"\n  USER a\n  PASS b\n- TYPE I\n+ TYPE A\n  PASV\n  RETR /gen/64K"
        );
    }

    #[test]
    fn long_listings_are_elided_and_capped() {
        let many: Vec<String> = (0..500).map(|k| format!("NOOP {k}")).collect();
        let items: Vec<&str> = many.iter().map(String::as_str).collect();
        let t = transcript(&items);
        let mut got = many.clone();
        got[250] = "QUIT".into();
        let diff = t.diff(&got).unwrap();
        assert!(diff.contains("line 251"), "{diff}");
        assert!(diff.contains("  ...\n"), "{diff}");
        assert!(diff.lines().count() < 12, "{diff}");
        let extra: Vec<String> = (0..500).map(|k| format!("XTRA {k}")).collect();
        let diff = transcript(&["QUIT"]).diff(&extra).unwrap();
        assert!(diff.len() < 1_500, "{} chars", diff.len());
    }

    fn line() -> impl Strategy<Value = String> {
        "[A-Z]{3,4}( [a-z/0-9]{1,6})?"
    }

    proptest! {
        #[test]
        fn exact_items_match_their_own_lines(lines in prop::collection::vec(line(), 0..12)) {
            let items: Vec<&str> = lines.iter().map(String::as_str).collect();
            prop_assert!(transcript(&items).matches(&lines));
        }

        #[test]
        fn an_optional_items_line_may_be_left_out(
            lines in prop::collection::vec(line(), 1..12),
            optional in prop::collection::vec(any::<bool>(), 12),
            drop in prop::collection::vec(any::<bool>(), 12),
        ) {
            let items: Vec<String> = lines.iter().zip(&optional)
                .map(|(l, &o)| if o { format!("?{l}") } else { l.clone() })
                .collect();
            let t = transcript(&items.iter().map(String::as_str).collect::<Vec<_>>());
            let kept: Vec<String> = lines.iter().enumerate()
                .filter(|(k, _)| !(optional[*k] && drop[*k]))
                .map(|(_, l)| l.clone())
                .collect();
            prop_assert!(t.matches(&kept));
            prop_assert!(t.diff(&kept).is_none());
        }

        #[test]
        fn an_unexpected_line_never_matches(
            lines in prop::collection::vec(line(), 0..12),
            optional in prop::collection::vec(any::<bool>(), 12),
            at in 0usize..13,
        ) {
            let items: Vec<String> = lines.iter().zip(&optional)
                .map(|(l, &o)| if o { format!("?{l}") } else { l.clone() })
                .collect();
            let t = transcript(&items.iter().map(String::as_str).collect::<Vec<_>>());
            let mut got = lines.clone();
            got.insert(at.min(got.len()), "XUNEXPECTED".into());
            prop_assert!(!t.matches(&got));
            let diff = t.diff(&got);
            prop_assert!(diff.as_deref().is_some_and(|d| d.contains("XUNEXPECTED")));
        }
    }
}
