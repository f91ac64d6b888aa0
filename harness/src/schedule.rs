//! The order cases start in, and what a run's timing came to.
//!
//! A run's wall time is at least its longest case, and with `jobs` at a time a long case
//! started last keeps the run going on its own after every other job has ended. So by
//! default the cases start longest-expected first (LPT scheduling): each case's expected
//! duration is
//!
//! 1. its `duration_ms` in a previous results.json (`ftpspec run --durations FILE`; else the
//!    `--baseline`; else the results.json already in `--out`), the same scenario id and
//!    client; else
//! 2. the same for the scenario's base id (a variant `x@tls=explicit` takes `x`'s); else
//! 3. [`estimate`]: a cheap static guess from the scenario's own timings.
//!
//! Cases with equal expectations keep catalogue order (the sort is stable). A `--shuffle`
//! seed overrides this: the cases run in the seed's shuffled order and nothing is sorted,
//! so a seed replays one order. `--partition` chooses the cases first (on catalogue order,
//! so a case's share does not depend on durations), then they are ordered. With `--repeat`
//! each round runs in the same longest-first order.

use std::collections::BTreeMap;
use std::time::Duration;

use ftpspec_report::{CaseResult, RunResults, Timing};

use crate::scenario::Scenario;

/// Expected durations from a previous run: by `(scenario id, client name)`, in ms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Durations(BTreeMap<(String, String), u64>);

impl Durations {
    /// The durations of a run's cases (a case run several times: its longest run).
    pub fn from_results(run: &RunResults) -> Self {
        let cases = run.results.iter().map(|r| {
            let longest = r.runs.iter().map(|o| o.duration_ms).max();
            let ms = longest.unwrap_or(0).max(r.duration_ms);
            ((r.scenario.clone(), r.client.clone()), ms)
        });
        Durations(cases.collect())
    }

    /// The expected duration of `scenario` run by `client`: see the module's doc.
    pub fn expected(&self, scenario: &Scenario, client: &str) -> Duration {
        let known = |id: &str| self.0.get(&(id.to_owned(), client.to_owned())).copied();
        let base = crate::scenario::base_id(&scenario.id);
        match known(&scenario.id).or_else(|| known(base)) {
            Some(ms) => Duration::from_millis(ms),
            None => estimate(scenario),
        }
    }
}

impl Durations {
    /// The expected duration of a server case: its previous duration, else a tenth of its
    /// timeout (at least 2 s: a server starts and stops).
    pub fn expected_server(
        &self,
        scenario: &crate::scenario::server::ServerScenario,
        server: &str,
    ) -> Duration {
        match self.0.get(&(scenario.id.clone(), server.to_owned())) {
            Some(&ms) => Duration::from_millis(ms),
            None => Duration::from_millis((scenario.file.timeout_secs * 100).max(2000)),
        }
    }
}

/// How long a scenario's case should take, from the scenario alone: the waits it scripts
/// (reply and accept delays, a late final reply; a `"*"` or unbounded delay counted for ten
/// commands), twice a NAT idle timeout plus the 10 s connect timeout (an idle-timeout case
/// waits for the NAT to forget, then for the client to notice), at least a tenth of
/// `timeout_secs` (a scenario given a long timeout expects a long case) and one second,
/// and never more than `timeout_secs` (the client is killed then).
pub fn estimate(scenario: &Scenario) -> Duration {
    let f = &scenario.file;
    let mut ms: u64 = 1000;
    for m in &f.server.script {
        let times = m.times.unwrap_or(10).min(10);
        ms += m.delay_ms.unwrap_or(0) * times;
        if let Some(t) = &m.transfer {
            ms += t.accept_delay_ms.unwrap_or(0) + t.final_reply_delay_ms.unwrap_or(0);
        }
    }
    if let Some(idle) = f.topology.nat_idle_timeout_secs {
        ms += (2 * u64::from(idle) + 10) * 1000;
    }
    let limit = f.timeout_secs * 1000;
    Duration::from_millis(ms.max(limit / 10).min(limit.max(1000)))
}

/// Sorts `cases` longest-expected first; equal ones keep their order. Each case's
/// expectation is computed once (a lookup by owned id, or an estimate).
pub fn longest_first<T>(cases: &mut [T], expected: impl Fn(&T) -> Duration) {
    cases.sort_by_cached_key(|c| std::cmp::Reverse(expected(c)));
}

/// The timing part of a run's closing line: `112 s (cases 1,219 s, 16 jobs, efficiency 0.68)`.
pub fn timing_line(t: &Timing) -> String {
    let secs = |ms: u64| thousands((ms as f64 / 1000.0).round() as u64);
    format!(
        "{} s (cases {} s, {} job{}, efficiency {:.2})",
        secs(t.wall_ms),
        secs(t.cases_ms),
        t.jobs,
        if t.jobs == 1 { "" } else { "s" },
        t.efficiency()
    )
}

/// A run's [`Timing`]: `wall`, `jobs`, and its cases' durations added up (every run of a
/// repeated case).
pub fn timing(results: &[CaseResult], wall: Duration, jobs: usize) -> Timing {
    let cases_ms = results
        .iter()
        .map(|r| match r.runs.is_empty() {
            true => r.duration_ms,
            false => r.runs.iter().map(|o| o.duration_ms).sum(),
        })
        .sum();
    Timing {
        jobs,
        wall_ms: wall.as_millis() as u64,
        cases_ms,
    }
}

/// `1219` → `1,219`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rstest::rstest;

    /// A passed case of `ms`, for tests.
    pub(crate) fn result(scenario: &str, client: &str, ms: u64) -> CaseResult {
        CaseResult {
            duration_ms: ms,
            ..CaseResult::new(client, scenario, ftpspec_report::Verdict::Pass)
        }
    }

    fn scenario(id: &str) -> Scenario {
        let all = crate::scenario::catalogue().unwrap();
        all.into_iter()
            .find(|s| s.id == id)
            .expect("in the catalogue")
    }

    #[rstest]
    #[case::equal_keep_order(&[5, 5, 5], &[0, 1, 2])]
    #[case::longest_first(&[1, 92, 10, 72], &[1, 3, 2, 0])]
    #[case::ties_stable(&[10, 30, 10, 30], &[1, 3, 0, 2])]
    #[case::empty(&[], &[])]
    fn cases_start_longest_expected_first(#[case] secs: &[u64], #[case] order: &[usize]) {
        let mut cases: Vec<usize> = (0..secs.len()).collect();
        longest_first(&mut cases, |&i| Duration::from_secs(secs[i]));
        assert_eq!(cases, order);
    }

    #[rstest]
    // Scripted: a 65 s late final reply.
    #[case::late_226("robustness/slow-226-after-upload", 66, 67)]
    // A NAT idle timeout of 20 s: 2 x 20 + 10 + 1.
    #[case::nat_idle("nat/idle-control-default", 51, 52)]
    // Every reply 1.5 s late, counted for ten commands.
    #[case::slow_replies("robustness/slow-server", 16, 17)]
    // Nothing scripted, a 90 s timeout: a tenth of it.
    #[case::long_timeout("passive/epsv-blocked", 9, 10)]
    // Nothing at all: the minimum (a 30 s timeout: 3 s).
    #[case::plain("passive/unroutable-address", 3, 3)]
    fn the_estimate_follows_the_scenario(
        #[case] id: &str,
        #[case] at_least: u64,
        #[case] at_most: u64,
    ) {
        let e = estimate(&scenario(id)).as_secs();
        assert!((at_least..=at_most).contains(&e), "{id}: {e} s");
    }

    #[test]
    fn known_durations_win_over_the_estimate_and_variants_take_their_base() {
        let mut run: RunResults =
            serde_json::from_str(r#"{"schema":1,"ftpspec_version":"0","clients":[],"results":[]}"#)
                .unwrap();
        run.results
            .push(result("passive/unroutable-address", "curl", 42_000));
        let d = Durations::from_results(&run);
        let s = scenario("passive/unroutable-address");
        assert_eq!(d.expected(&s, "curl"), Duration::from_secs(42));
        assert_eq!(
            d.expected(&s, "wget"),
            estimate(&s),
            "another client: estimated"
        );
        let mut v = s.clone();
        v.id = "passive/unroutable-address@tls=explicit".into();
        assert_eq!(
            d.expected(&v, "curl"),
            Duration::from_secs(42),
            "the base id's"
        );
    }

    #[rstest]
    #[case::brief(112, 1219, 16, "112 s (cases 1,219 s, 16 jobs, efficiency 0.68)")]
    #[case::one_job(10, 10, 1, "10 s (cases 10 s, 1 job, efficiency 1.00)")]
    #[case::empty(0, 0, 4, "0 s (cases 0 s, 4 jobs, efficiency 0.00)")]
    #[case::long(
        3600,
        1_234_567,
        24,
        "3,600 s (cases 1,234,567 s, 24 jobs, efficiency 14.29)"
    )]
    fn the_timing_line(
        #[case] wall: u64,
        #[case] cases: u64,
        #[case] jobs: usize,
        #[case] line: &str,
    ) {
        let t = Timing {
            jobs,
            wall_ms: wall * 1000,
            cases_ms: cases * 1000,
        };
        assert_eq!(timing_line(&t), line);
    }

    #[test]
    fn the_cases_add_up_every_run() {
        let mut once = result("a/b", "curl", 1500);
        let mut twice = result("a/c", "curl", 900);
        twice.runs = [400, 900]
            .map(|ms| ftpspec_report::RunOutcome {
                verdict: ftpspec_report::Verdict::Pass,
                reason: String::new(),
                duration_ms: ms,
            })
            .to_vec();
        once.runs.clear();
        let t = timing(&[once, twice], Duration::from_millis(1400), 2);
        assert_eq!((t.jobs, t.wall_ms, t.cases_ms), (2, 1400, 2800));
        assert_eq!(t.efficiency(), 1.0);
    }
}
