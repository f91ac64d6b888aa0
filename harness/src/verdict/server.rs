//! The verdict of a server case, from what the probe and the routers recorded: every step's
//! own `expect`, every download's bytes, then each `[expect]` key of the scenario. An
//! informational case records what the server did, in one line per thing observed.

use std::fmt::Write as _;

use ftpspec_report::{Observations, Verdict};

use crate::evidence::{ClientEnd, RealClientRun, ServerEvidence};
use crate::probe::{DataRecord, ProbeStep, StepRecord, Via};
use crate::scenario::server::{Advertised, ServerScenario};
use crate::scenario::Network;

/// The verdict and its reason.
pub fn judge(scenario: &ServerScenario, net: &Network, ev: &ServerEvidence) -> (Verdict, String) {
    let failures = failures(scenario, net, ev);
    let seen = summary(scenario, ev);
    if scenario.file.informational {
        let also = match failures.first() {
            Some(f) => format!("; also: {f}"),
            None => String::new(),
        };
        return (
            Verdict::Informational,
            format!("informational: {seen}{also}"),
        );
    }
    match super::first_failure(&failures) {
        Some(reason) => (Verdict::Fail, reason),
        None => (Verdict::Pass, format!("as expected: {seen}")),
    }
}

/// Every check that failed, the steps' first.
fn failures(scenario: &ServerScenario, net: &Network, ev: &ServerEvidence) -> Vec<String> {
    let mut out = Vec::new();
    let steps = &scenario.file.probe.steps;
    let sessions = &ev.probe.sessions;
    let mut failed = sessions
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, session_failure(s, steps)?)));
    if let Some((i, why)) = failed.next() {
        out.push(match sessions.len() > 1 {
            true => format!(
                "{} of {} sessions failed; session {}: {why}",
                1 + failed.count(),
                sessions.len(),
                i + 1
            ),
            false => why,
        });
    }
    if let Some(c) = &ev.client {
        if let Some(why) = client_problem(c) {
            out.push(why);
        }
    }
    let e = &scenario.file.expect;
    let data: Vec<(&StepRecord, &DataRecord)> = ev
        .probe
        .sessions
        .iter()
        .flat_map(|s| &s.steps)
        .filter_map(|st| st.data.as_ref().map(|d| (st, d)))
        .collect();
    if let Some(want) = e.advertised {
        let ip = match want {
            Advertised::Public => net.roles.server_addr,
            Advertised::Own => net.roles.server_own_addr,
        };
        for (st, d) in &data {
            let pasv = matches!(step_via(steps, st), Some(Via::Pasv));
            match d.advertised {
                Some(a) if pasv && a.ip() != ip => {
                    out.push(format!("the 227 named {a}, not {ip}"));
                    break;
                }
                _ => {}
            }
        }
    }
    if e.ports_in_range {
        let range = &net.pasv_ports;
        if let Some(a) = data
            .iter()
            .filter_map(|(_, d)| d.advertised)
            .find(|a| !range.contains(&a.port()))
        {
            out.push(format!(
                "a passive reply named port {}, outside the range {}-{} the server was given",
                a.port(),
                range.start(),
                range.end()
            ));
        }
    }
    if e.decoy_unreached {
        let hits: Vec<String> = ev
            .attempts
            .iter()
            .filter(|a| {
                a.outcome == ftpspec_netns::AttemptOutcome::ReachedDecoy
                    || Some(a.to.ip()) == net.roles.decoy
            })
            .map(|a| format!("{} -> {}", a.from, a.to))
            .collect();
        if !hits.is_empty() {
            out.push(format!(
                "the server connected to the decoy (a third party): {}",
                hits.join(", ")
            ));
        }
    }
    if e.uploads_stored {
        for (path, held) in &ev.stored {
            match held {
                Some(true) => {}
                Some(false) => out.push(format!("{path} in the root is not what was uploaded")),
                None => out.push(format!("{path} is not in the root after the upload")),
            }
        }
    }
    if e.feat_well_formed {
        for st in ev.probe.sessions.iter().flat_map(|s| &s.steps) {
            if !st.sent.iter().any(|l| l.eq_ignore_ascii_case("FEAT")) {
                continue;
            }
            if let Some(why) = st.replies.last().and_then(feat_problem) {
                out.push(format!("FEAT: {why}"));
            }
        }
    }
    if e.abor_replies {
        for st in ev.probe.sessions.iter().flat_map(|s| &s.steps) {
            let Some(ProbeStep::AborDuring { path, .. }) = steps.get(st.step) else {
                continue;
            };
            if let Some(why) = abor_problem(st, path, &scenario.file.server.files) {
                out.push(why);
            }
        }
    }
    out
}

/// What is wrong with the replies to an ABOR during a download (RFC 959 §4.1.3): after the
/// preliminary reply, 426 then 226 (or 225), or 226 alone; and the download must have been
/// cut short (a server that reads no command during a transfer sends the whole file first).
fn abor_problem(
    st: &StepRecord,
    path: &str,
    files: &[crate::scenario::server::RootFile],
) -> Option<String> {
    let codes: Vec<u16> = st.replies.iter().map(|r| r.code).collect();
    let last_prelim = codes.iter().rposition(|c| (100..200).contains(c));
    let after: Vec<u16> = match last_prelim {
        Some(i) => codes[i + 1..].to_vec(),
        None => {
            return Some(format!(
                "the download never started: the replies were {codes:?}"
            ))
        }
    };
    let size = files.iter().find(|f| f.path == path).map(|f| f.size.0);
    let received = st.data.as_ref().map_or(0, |d| d.bytes);
    if size.is_some_and(|s| received >= s) {
        return Some(format!(
            "the server sent the whole file ({received} bytes) before answering ABOR ({after:?}): it did not abort the transfer"
        ));
    }
    match after.as_slice() {
        [426, 226] | [426, 225] | [226] | [225] => None,
        _ => Some(format!(
            "after ABOR the replies were {after:?}, not 426 then 226 (or 226 alone){}",
            st.error
                .as_ref()
                .map_or(String::new(), |e| format!(" ({e})"))
        )),
    }
}

/// What went wrong with the real client's run, if anything: it failed by its own account,
/// or what it ended up with is not right.
fn client_problem(c: &RealClientRun) -> Option<String> {
    let said = super::said_line(&c.run.stderr)
        .map(|l| format!(": {l}"))
        .unwrap_or_default();
    match (&c.run.end, c.right) {
        (ClientEnd::Succeeded, Some(false)) => Some(format!(
            "{} (the real client) succeeded, but its transfer is wrong or missing",
            c.name
        )),
        (ClientEnd::Succeeded, _) => None,
        (ClientEnd::TimedOut, _) => Some(format!("{} (the real client) timed out{said}", c.name)),
        (ClientEnd::Exited(code), _) => Some(format!(
            "{} (the real client) failed with exit status {}{said}",
            c.name,
            code.map_or("unknown".into(), |c| c.to_string())
        )),
        (end, _) => Some(format!(
            "{} (the real client) failed: {end:?}{said}",
            c.name
        )),
    }
}

/// Why a session did not go as its steps expected: the first step that missed its `expect`,
/// a download whose bytes were wrong, or the session's own error.
fn session_failure(s: &crate::probe::SessionRecord, steps: &[ProbeStep]) -> Option<String> {
    for st in &s.steps {
        let what = step_text(steps, st);
        if st.met == Some(false) {
            let got = match st.replies.last() {
                Some(r) => format!("got {}", reply_text(r)),
                None => match &st.error {
                    Some(e) => format!("got no reply ({e})"),
                    None => "got no reply".into(),
                },
            };
            let wanted = st
                .expected
                .as_ref()
                .map_or(String::new(), |e| format!("wanted {e}, "));
            return Some(format!("{what}: {wanted}{got}"));
        }
        // An aborted download's bytes stop anywhere: what matters there is the replies.
        let aborted = is_abort(steps, st);
        if let Some(d) = st.data.as_ref().filter(|_| !aborted) {
            if d.verified == Some(false) {
                let at = d
                    .first_mismatch
                    .map_or(String::new(), |at| format!(" from byte {at}"));
                return Some(format!("{what}: the bytes received were wrong{at}"));
            }
        }
    }
    s.error.as_ref().map(|e| format!("the session ended: {e}"))
}

/// What the probe saw, briefly: the replies that matter and the data connections.
fn summary(scenario: &ServerScenario, ev: &ServerEvidence) -> String {
    let steps = &scenario.file.probe.steps;
    let mut parts: Vec<String> = Vec::new();
    let Some(first) = ev.probe.sessions.first() else {
        return "no session ran".into();
    };
    if ev.probe.sessions.len() > 1 {
        let ok = ev
            .probe
            .sessions
            .iter()
            .filter(|s| session_failure(s, steps).is_none())
            .count();
        parts.push(format!(
            "{ok} of {} concurrent sessions went as expected",
            ev.probe.sessions.len()
        ));
    }
    if ev.probe.idle_opened > 0 || ev.probe.idle_refused > 0 {
        parts.push(format!(
            "{} idle connections held open ({} refused)",
            ev.probe.idle_opened, ev.probe.idle_refused
        ));
    }
    for st in &first.steps {
        if matches!(steps.get(st.step), Some(ProbeStep::Login { .. })) && st.met != Some(false) {
            continue;
        }
        let mut line = step_text(steps, st);
        let replies: Vec<String> = st.replies.iter().map(reply_text).collect();
        if !replies.is_empty() {
            let _ = write!(line, " -> {}", replies.join(", "));
        }
        if let Some(d) = &st.data {
            let _ = write!(line, " [{}]", data_text(d, is_abort(steps, st)));
        }
        if let Some(e) = &st.error {
            let _ = write!(line, " (error: {e})");
        }
        parts.push(line);
    }
    if let Some(e) = &first.error {
        parts.push(format!("session ended: {e}"));
    }
    if let Some(c) = &ev.client {
        parts.push(match client_problem(c) {
            None => format!("{} (the real client) succeeded", c.name),
            Some(why) => why,
        });
    }
    parts.join("; ")
}

/// The step, as the scenario gave it and as sent.
fn step_text(steps: &[ProbeStep], st: &StepRecord) -> String {
    let sent = st
        .sent
        .iter()
        .filter(|l| !l.starts_with("PASS"))
        .cloned()
        .collect::<Vec<_>>()
        .join(" / ");
    match steps.get(st.step) {
        Some(s) if sent.is_empty() => format!("step {} ({})", st.step + 1, s.kind()),
        Some(s) => format!("step {} ({}: {sent})", st.step + 1, s.kind()),
        None => format!("step {}", st.step + 1),
    }
}

/// Whether the step is an ABOR during a download.
fn is_abort(steps: &[ProbeStep], st: &StepRecord) -> bool {
    matches!(steps.get(st.step), Some(ProbeStep::AborDuring { .. }))
}

/// How a step got its data connection, if it makes one.
fn step_via(steps: &[ProbeStep], st: &StepRecord) -> Option<Via> {
    steps.get(st.step).and_then(ProbeStep::via)
}

/// `226 Transfer complete` (a multi-line reply: its first line and how many more).
fn reply_text(r: &crate::probe::Reply) -> String {
    let first = r.lines.first().map_or("", |l| l.as_str());
    let text = first.trim_start_matches(|c: char| c.is_ascii_digit());
    let text = text.trim_start_matches(['-', ' ']);
    match r.lines.len() {
        0 | 1 => format!("{} {text}", r.code),
        n => format!("{} {text} (+{} lines)", r.code, n - 1),
    }
}

/// A data connection: where it went, bytes (and whether right, unless the download was
/// aborted on purpose), and its TLS.
fn data_text(d: &DataRecord, aborted: bool) -> String {
    let mut s = String::new();
    if let Some(a) = d.advertised {
        let _ = write!(s, "advertised {a}; ");
    }
    if let Some(c) = d.connected {
        let _ = write!(s, "connected {c}; ");
    }
    let _ = write!(s, "{} bytes", d.bytes);
    match d.verified {
        _ if aborted => s.push_str(" before the abort"),
        Some(true) => s.push_str(", right"),
        Some(false) => s.push_str(", WRONG"),
        None => {}
    }
    if let Some(t) = &d.tls {
        let _ = write!(
            s,
            "; {} {}, {} session ticket(s) on it, {}",
            t.version,
            if t.resumed {
                "resumed"
            } else {
                "full handshake"
            },
            t.tickets,
            if t.close_notify {
                "closed with close_notify"
            } else {
                "closed WITHOUT close_notify"
            }
        );
    }
    if let Some(e) = &d.error {
        let _ = write!(s, "; error: {e}");
    }
    s
}

/// What is wrong with a FEAT reply (RFC 2389 §3.2), if anything. A one-line `211` (no
/// features) is well-formed.
fn feat_problem(r: &crate::probe::Reply) -> Option<String> {
    if r.code != 211 {
        return Some(format!("the reply is {}, not 211", reply_text(r)));
    }
    let lines = &r.lines;
    if lines.len() < 2 {
        return None;
    }
    if !lines[0].starts_with("211-") {
        return Some(format!(
            "the first line {:?} does not start with 211-",
            lines[0]
        ));
    }
    let last = &lines[lines.len() - 1];
    if !last.starts_with("211 ") {
        return Some(format!(
            "the last line {last:?} does not start with \"211 \""
        ));
    }
    lines[1..lines.len() - 1]
        .iter()
        .find(|l| !l.starts_with(' '))
        .map(|l| format!("the feature line {l:?} does not start with a space"))
}

/// The case's observations for the report: the probe's dialogue as `C:`/`S:` lines, its
/// steps, its data connections, the routers' records and the server's output.
pub fn observe(scenario: &ServerScenario, ev: &ServerEvidence, obs: &mut Observations) {
    let steps = &scenario.file.probe.steps;
    let Some(first) = ev.probe.sessions.first() else {
        return;
    };
    let mut dialogue = String::new();
    if let Some(g) = &first.greeting {
        for l in &g.lines {
            let _ = writeln!(dialogue, "S: {l}");
        }
    }
    for st in &first.steps {
        for l in &st.sent {
            let _ = writeln!(dialogue, "C: {l}");
        }
        for r in &st.replies {
            for l in &r.lines {
                let _ = writeln!(dialogue, "S: {l}");
            }
        }
        if let Some(d) = &st.data {
            obs.data_connections.push(data_text(d, is_abort(steps, st)));
        }
        obs.steps.push(format!(
            "{}: {}",
            match st.met {
                Some(true) => "ok",
                Some(false) => "FAILED",
                None => "done",
            },
            st.sent.join(" / ")
        ));
    }
    obs.dialogue = dialogue;
    obs.data_tls = {
        let d: Vec<&DataRecord> = first.steps.iter().filter_map(|s| s.data.as_ref()).collect();
        (!d.is_empty()).then(|| d.iter().all(|d| d.tls.is_some()))
    };
    obs.attempts = ev
        .attempts
        .iter()
        .map(crate::evidence::report_attempt)
        .collect();
    obs.client_ms = ev.probe.elapsed.as_millis() as u64;
    obs.client_ok = ev.probe.sessions.iter().all(|s| s.error.is_none());
    // The server's own output and log files are its event log here.
    obs.transcript = ev.exit.output.clone();
    obs.exit_code = ev.exit.status;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Reply;
    use rstest::rstest;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[rstest]
    #[case(reply(211, &["211-Features:", " EPSV", " MDTM", "211 End"]), None)]
    #[case(reply(211, &["211 No features"]), None)]
    #[case(reply(500, &["500 Unknown command"]), Some("not 211"))]
    #[case(reply(211, &["211-Features:", "EPSV", "211 End"]), Some("does not start with a space"))]
    #[case(reply(211, &["211-Features:", " EPSV", "211-End"]), Some("last line"))]
    fn feat_replies(#[case] r: Reply, #[case] problem: Option<&str>) {
        match (feat_problem(&r), problem) {
            (None, None) => {}
            (Some(got), Some(want)) => assert!(got.contains(want), "{got}"),
            (got, want) => panic!("{got:?} vs {want:?}"),
        }
    }
}
