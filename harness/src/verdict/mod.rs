//! The verdict of a case, from its typed [`Evidence`]: each `[expect]` key is one check in
//! [`checks`]; the verdict is informational for record-only scenarios, fail when a check
//! failed (the first failure is the reason), pass otherwise.

pub mod checks;
pub mod server;

pub use checks::Ctx;

use ftpspec_report::Verdict;

use crate::evidence::{ClientEnd, Evidence};
use crate::scenario::{Mode, Network, Scenario};

/// The verdict and its one-sentence reason.
pub fn judge(scenario: &Scenario, net: &Network, client: &str, ev: &Evidence) -> (Verdict, String) {
    let ctx = Ctx {
        scenario,
        net,
        client,
        ev,
        how_ended: how_ended(client, scenario, ev),
    };
    let expect = &scenario.file.expect;
    let failures: Vec<String> = checks::CHECKS
        .iter()
        .filter_map(|c| (c.judge)(expect, &ctx))
        .collect();
    if scenario.file.informational {
        return (Verdict::Informational, informational(&ctx, &failures));
    }
    if let Some(reason) = first_failure(&failures) {
        return (Verdict::Fail, reason);
    }
    (Verdict::Pass, passed(&ctx))
}

/// A failed case's reason: its first failure, and how many more there are.
fn first_failure(failures: &[String]) -> Option<String> {
    let first = failures.first()?;
    Some(match failures.len() {
        1 => first.clone(),
        n => format!("{first} (and {} more)", n - 1),
    })
}

/// The last line a client printed that is not curl's protocol trace.
fn said_line(text: &str) -> Option<&str> {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with(['*', '>', '<', '{', '}']))
        .map(str::trim)
}

/// When a case's verdict is decided before its client ends, so that the client may be
/// killed then rather than at `timeout_secs`: a scenario that is not informational and
/// expects the client to end within `ends_within_secs` fails once the client has run
/// longer, whatever the client does next (the verdict is the worst check's, and that check
/// has failed). The client is killed 1 s past the limit, plainly late. `None`: the client
/// runs to `timeout_secs`; an informational scenario records what the client does, so it
/// is never cut short. Only the verdict is decided: the reason may name another check that
/// the kill made fail first (a transfer the client would have finished later).
pub fn decided_after_secs(scenario: &Scenario) -> Option<u64> {
    let f = &scenario.file;
    let limit = f.expect.ends_within_secs?;
    (!f.informational && limit + 1 < f.timeout_secs).then_some(limit + 1)
}

/// After how long the case's client is killed: [`decided_after_secs`], else `timeout_secs`.
pub fn kill_after_secs(scenario: &Scenario) -> u64 {
    decided_after_secs(scenario).unwrap_or(scenario.file.timeout_secs)
}

fn how_ended(client: &str, scenario: &Scenario, ev: &Evidence) -> String {
    let c = &ev.client;
    let secs = c.elapsed.as_millis() as f64 / 1000.0;
    let last = said_line(&c.stderr).or_else(|| said_line(&c.stdout));
    match &c.end {
        ClientEnd::TimedOut => {
            let said = last
                .map(|l| format!("; its last words: \"{l}\""))
                .unwrap_or_default();
            let secs = kill_after_secs(scenario);
            let decided = match decided_after_secs(scenario) {
                Some(_) => " (its verdict decided: it ran past ends_within_secs)",
                None => "",
            };
            format!("{client} was still running after {secs} s and was killed{decided}{said}")
        }
        ClientEnd::Failed(err) => format!("{client} failed after {secs:.1} s: {err}"),
        ClientEnd::Panicked => format!("{client} failed after {secs:.1} s: the client panicked"),
        ClientEnd::Succeeded => format!("{client} reported success after {secs:.1} s"),
        ClientEnd::Exited(code) => {
            let said = last
                .filter(|l| !l.is_empty())
                .map(|l| format!(": \"{l}\""))
                .unwrap_or_default();
            let code = code.map_or("abnormally".into(), |c| c.to_string());
            format!("{client} exited {code} after {secs:.1} s{said}")
        }
    }
}

/// A record-only scenario: what the client did, and what a check noted.
fn informational(ctx: &Ctx, failures: &[String]) -> String {
    let ev = ctx.ev;
    let mut text = ctx.how_ended.clone();
    if let Some(a) = ev.private_tries(ctx.net).next() {
        text.push_str(&format!("; it tried {}", a.to));
    }
    let targets = ev.log.active_targets();
    if !targets.is_empty() {
        let t: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
        text.push_str(&format!("; it announced {}", t.join(", ")));
    }
    let n = ev.log.data_connections().len();
    text.push_str(&format!("; {n} data connection(s)"));
    let controls = ev.log.control_connections();
    if controls > 1 {
        text.push_str(&format!("; {controls} control connections"));
    }
    if !failures.is_empty() {
        text.push_str(&format!("; noted: {}", failures.join("; ")));
    }
    text
}

/// A pass: how the client ended, the bytes, and the data connection.
fn passed(ctx: &Ctx) -> String {
    let ev = ctx.ev;
    let mut text = ctx.how_ended.clone();
    match ev.received.bytes {
        Some(n) if ev.received.right => text.push_str(&format!(", {n} bytes right")),
        // A case that expects a failure passes with what the client was left with.
        Some(n) => text.push_str(&format!(", {n} bytes, not all the data")),
        None => {}
    }
    let controls = ev.log.control_connections();
    if controls > 1 {
        text.push_str(&format!(", {controls} control connections"));
    }
    let steps = &ev.received.steps;
    if !steps.is_empty() {
        let right = steps.iter().filter(|s| s.right).count();
        text.push_str(&format!(", {right} of {} steps right", steps.len()));
        let n = ev.log.data_connections().len();
        text.push_str(&format!(", {n} data connection(s)"));
        return text;
    }
    if ctx.scenario.file.client.mode == Mode::Active {
        if let Some(t) = ev.log.active_targets().last() {
            text.push_str(&format!(", data connection to {t}"));
        }
    } else if let Some(d) = ev.log.data_connections().first() {
        let line = crate::evidence::data_line(d);
        text.push_str(&format!(", data connection {line}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    // Fails once past 75 s whatever the client does next: killed at 76 s, not 90 s.
    #[case::decided("smart-firewall/ftps-passive", Some(76), 76)]
    #[case::decided_default_timeout("list/empty-directory", Some(21), 21)]
    // Informational: what the client does to the end is the record; never cut.
    #[case::informational("passive/epsv-blocked", None, 90)]
    #[case::informational_nat("nat/idle-control-default", None, 70)]
    // No ends_within_secs: nothing is decided before the client ends.
    #[case::no_limit("robustness/slow-226-after-upload", None, 100)]
    fn a_client_is_killed_once_the_verdict_is_decided(
        #[case] id: &str,
        #[case] decided: Option<u64>,
        #[case] killed: u64,
    ) {
        let all = crate::scenario::catalogue().unwrap();
        let s = all.iter().find(|s| s.id == id).expect("in the catalogue");
        assert_eq!(decided_after_secs(s), decided, "{id}");
        assert_eq!(kill_after_secs(s), killed, "{id}");
    }

    #[test]
    fn a_limit_at_the_timeout_is_no_cut() {
        let all = crate::scenario::catalogue().unwrap();
        let mut s = all
            .into_iter()
            .find(|s| s.id == "list/empty-directory")
            .unwrap();
        s.file.timeout_secs = 21;
        assert_eq!(decided_after_secs(&s), None, "21 s is the timeout already");
        s.file.timeout_secs = 22;
        assert_eq!(decided_after_secs(&s), Some(21));
    }
}
