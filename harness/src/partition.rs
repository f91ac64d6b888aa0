//! `--partition`: one share of a run's cases, so CI can spread a run over machines (each job
//! runs `--partition hash:K/N`, a last job joins the results with `ftpspec merge`).
//!
//! - `hash:K/N`: a case belongs to partition `mix(FNV-1a-64(key)) mod N + 1`, where the key
//!   is the UTF-8 text `<scenario id> <client name>` (the full id, variants such as
//!   `passive/x@tls=explicit` included), FNV-1a has its published 64-bit offset basis and
//!   prime, and `mix` is SplitMix64's finalizer (FNV-1a's low bits depend only on the low
//!   bits of each byte, so without it `mod 4` would see two bits of each character). Both
//!   are written out here, with no random keys (unlike std's `RandomState`), so a case stays
//!   in its partition across versions, machines and catalogues: adding scenarios or clients
//!   moves no other case. The shares are balanced only on average.
//! - `count:K/N`: the cases in catalogue order (scenario, then client), dealt round-robin:
//!   case `i` (from 0) belongs to partition `i mod N + 1`. The counts differ by at most one,
//!   and the slow groups are spread, but a case's partition depends on every case before it:
//!   every job must run the same ftpspec with the same scenarios and clients.

use std::fmt;
use std::str::FromStr;

/// How the cases are shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// By a fixed hash of the case: stable when cases are added.
    Hash,
    /// Round-robin over the ordered cases: balanced counts.
    Count,
}

/// Partition `k` of `n` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// How cases are shared out.
    pub scheme: Scheme,
    /// Which share (1..=n).
    pub k: u32,
    /// How many shares.
    pub n: u32,
}

impl Partition {
    /// The partition (1..=n) a case falls in under `hash:_/n`.
    pub fn hash_share(scenario: &str, client: &str, n: u32) -> u32 {
        let key = format!("{scenario} {client}");
        (mix(fnv1a64(key.as_bytes())) % u64::from(n.max(1))) as u32 + 1
    }

    /// The cases of `cases` (in catalogue order, as `(scenario id, client name)`) that are
    /// in this partition: their indexes.
    pub fn select<'a>(&self, cases: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<usize> {
        cases
            .into_iter()
            .enumerate()
            .filter(|(i, (scenario, client))| match self.scheme {
                Scheme::Hash => Self::hash_share(scenario, client, self.n) == self.k,
                Scheme::Count => (*i as u64 % u64::from(self.n)) as u32 + 1 == self.k,
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// FNV-1a, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3): fixed, so a
/// case's partition never changes.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64's finalizer: every bit of the input reaches the low bits.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Hash => "hash",
            Scheme::Count => "count",
        };
        write!(f, "{scheme}:{}/{}", self.k, self.n)
    }
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Partition, String> {
        let usage = "the form is hash:K/N or count:K/N, with 1 <= K <= N (e.g. hash:2/4)";
        let Some((scheme, share)) = s.split_once(':') else {
            return Err(format!("{s:?}: no scheme; {usage}"));
        };
        let scheme = match scheme {
            "hash" => Scheme::Hash,
            "count" => Scheme::Count,
            other => return Err(format!("unknown scheme {other:?}; {usage}")),
        };
        let Some((k, n)) = share.split_once('/') else {
            return Err(format!("{share:?}: no K/N; {usage}"));
        };
        let number = |what: &str, t: &str| {
            t.parse::<u32>()
                .map_err(|_| format!("{what} {t:?} is not a whole number; {usage}"))
        };
        let (k, n) = (number("K", k)?, number("N", n)?);
        if n == 0 {
            return Err(format!("N must be at least 1; {usage}"));
        }
        if k == 0 || k > n {
            return Err(format!("K = {k} is not between 1 and N = {n}; {usage}"));
        }
        Ok(Partition { scheme, k, n })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn a_case_keeps_its_hash_partition() {
        // Pinned: a case's partition must never change, or CI jobs would run other cases
        // after an upgrade. Changing these means changing fnv1a64 or the key: don't.
        let shares: Vec<(&str, &str, u32)> = [
            ("passive/unroutable-address", "curl"),
            ("passive/unroutable-address", "lftp"),
            ("robustness/slow-server", "wget"),
            ("ftps/explicit", "python-ftplib"),
            ("passive/x@tls=explicit", "curl"),
        ]
        .into_iter()
        .map(|(s, c)| (s, c, Partition::hash_share(s, c, 4)))
        .collect();
        insta::assert_debug_snapshot!(shares);
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        // The published FNV-1a 64 test vector.
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn adding_cases_moves_no_hashed_case() {
        let p = Partition {
            scheme: Scheme::Hash,
            k: 2,
            n: 3,
        };
        let few = [("a/1", "curl"), ("a/2", "curl"), ("b/1", "wget")];
        let mut more = vec![("0/new", "curl")];
        more.extend(few);
        more.push(("z/new", "lftp"));
        let picked = |cases: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
            p.select(cases.iter().copied())
                .into_iter()
                .map(|i| cases[i])
                .filter(|c| few.contains(c))
                .collect()
        };
        assert_eq!(picked(&few), picked(&more));
    }

    #[rstest]
    #[case::even(12, 4)]
    #[case::uneven(10, 3)]
    #[case::fewer_cases_than_shares(2, 5)]
    fn count_partitions_are_balanced_and_cover_every_case(#[case] cases: usize, #[case] n: u32) {
        let names: Vec<String> = (0..cases).map(|i| format!("g/{i}")).collect();
        let list: Vec<(&str, &str)> = names.iter().map(|s| (s.as_str(), "curl")).collect();
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        for k in 1..=n {
            let p = Partition {
                scheme: Scheme::Count,
                k,
                n,
            };
            let got = p.select(list.iter().copied());
            sizes.push(got.len());
            seen.extend(got);
        }
        seen.sort();
        assert_eq!(
            seen,
            (0..cases).collect::<Vec<_>>(),
            "each case exactly once"
        );
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(max - min <= 1, "{sizes:?}");
    }

    #[test]
    fn hash_partitions_cover_every_case_once() {
        let names: Vec<String> = (0..200).map(|i| format!("g/{i}")).collect();
        let list: Vec<(&str, &str)> = names.iter().map(|s| (s.as_str(), "curl")).collect();
        let mut seen = Vec::new();
        for k in 1..=4 {
            let p = Partition {
                scheme: Scheme::Hash,
                k,
                n: 4,
            };
            let got = p.select(list.iter().copied());
            assert!(got.len() > 25, "share {k} has {} of 200", got.len());
            seen.extend(got);
        }
        seen.sort();
        assert_eq!(seen, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn hash_shares_of_the_catalogue_are_near_even() {
        let all = crate::scenario::catalogue().unwrap();
        let clients = crate::clients::BUILTIN;
        let cases: Vec<(&str, &str)> = all
            .iter()
            .flat_map(|s| clients.iter().map(move |c| (s.id.as_str(), *c)))
            .collect();
        for n in [2, 3, 4, 8] {
            for k in 1..=n {
                let p = Partition {
                    scheme: Scheme::Hash,
                    k,
                    n,
                };
                let share = p.select(cases.iter().copied()).len() as f64 / cases.len() as f64;
                let even = 1.0 / f64::from(n);
                assert!(
                    (share - even).abs() < even * 0.3,
                    "{p}: {share:.3} of {} cases",
                    cases.len()
                );
            }
        }
    }

    #[rstest]
    #[case::hash("hash:2/4", Ok("hash:2/4"))]
    #[case::count("count:1/1", Ok("count:1/1"))]
    #[case::zero_k("hash:0/4", Err("K = 0 is not between 1 and N = 4"))]
    #[case::k_over_n("count:5/4", Err("K = 5 is not between 1 and N = 4"))]
    #[case::zero_n("hash:1/0", Err("N must be at least 1"))]
    #[case::scheme("modulo:1/2", Err("unknown scheme \"modulo\""))]
    #[case::no_scheme("1/2", Err("no scheme"))]
    #[case::no_slash("hash:3", Err("no K/N"))]
    #[case::not_a_number("hash:x/2", Err("K \"x\" is not a whole number"))]
    #[case::negative("hash:1/-2", Err("N \"-2\" is not a whole number"))]
    fn parses(#[case] text: &str, #[case] expected: Result<&str, &str>) {
        match (text.parse::<Partition>(), expected) {
            (Ok(p), Ok(shown)) => assert_eq!(p.to_string(), shown),
            (Err(e), Err(part)) => {
                assert!(e.contains(part), "{e}");
                assert!(e.contains("hash:K/N or count:K/N"), "{e}");
            }
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }
}
