//! One check per `[expect]` key (see [`crate::scenario::Expect`]), in the order their
//! failures are reported. A check returns the failure in one sentence (expected vs
//! observed), or `None` when it holds or was not asked for.
//!
//! Adding an expectation: a field in `Expect`, a function here, and its line in [`CHECKS`].

use crate::evidence::Evidence;
use crate::scenario::{transcript, Expect, Network, Scenario, TransferOutcome};

/// What a check sees.
pub struct Ctx<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Its network (roles, port ranges).
    pub net: &'a Network,
    /// The client's name.
    pub client: &'a str,
    /// What the case saw.
    pub ev: &'a Evidence,
    /// How the client ended, in words ("curl exited 28 after 10.0 s: \"...\"").
    pub how_ended: String,
}

/// A check: the `[expect]` key it judges, and how.
pub struct Check {
    /// The key in `[expect]`.
    pub key: &'static str,
    /// The failure, if the check was asked for and does not hold.
    pub judge: fn(&Expect, &Ctx) -> Option<String>,
}

/// Every check, in report order.
pub const CHECKS: &[Check] = &[
    Check {
        key: "transfer",
        judge: transfer,
    },
    Check {
        key: "data_via_control_address",
        judge: data_via_control_address,
    },
    Check {
        key: "no_decoy_connection",
        judge: no_decoy_connection,
    },
    Check {
        key: "active_ports_in_range",
        judge: active_ports_in_range,
    },
    Check {
        key: "active_address_public",
        judge: active_address_public,
    },
    Check {
        key: "pasv_after_refused_epsv",
        judge: pasv_after_refused_epsv,
    },
    Check {
        key: "ends_within_secs",
        judge: ends_within_secs,
    },
    Check {
        key: "min_control_connections",
        judge: min_control_connections,
    },
    Check {
        key: "data_tls",
        judge: data_tls,
    },
    Check {
        key: "client_close_notify",
        judge: client_close_notify,
    },
    Check {
        key: "only_auth_before_tls",
        judge: only_auth_before_tls,
    },
    Check {
        key: "no_early_commands",
        judge: no_early_commands,
    },
    Check {
        key: "no_crash",
        judge: no_crash,
    },
    Check {
        key: "no_command",
        judge: no_command,
    },
    Check {
        key: "commands",
        judge: commands,
    },
];

/// `transfer = "ok"`: succeeded with the right bytes; `"failed"`: reported a failure.
fn transfer(e: &Expect, c: &Ctx) -> Option<String> {
    let ev = c.ev;
    let (client, how) = (c.client, &c.how_ended);
    let bytes = ev.received.bytes.unwrap_or(0);
    let wrong_data = ev.client.succeeded() && !ev.received.right;
    match e.transfer? {
        TransferOutcome::Ok if !ev.transferred() => {
            let detail = if let Some(a) = ev.private_tries(c.net).next() {
                format!("; it tried {}, which is unroutable from its network", a.to)
            } else if let Some(a) = ev.decoy_hits().next() {
                format!(
                    "; it connected to {}, the third host named in the 227 reply",
                    a.to
                )
            } else if let Some((i, step)) =
                ev.received.steps.iter().enumerate().find(|(_, s)| !s.right)
            {
                format!("; step {} ({})", i + 1, step.line())
            } else if let (true, Some(why)) = (wrong_data, &ev.received.wrong) {
                format!("; but the data was wrong: {why}")
            } else if wrong_data {
                format!("; but the data was wrong ({bytes} bytes)")
            } else {
                String::new()
            };
            let noun = c.scenario.file.client.action.noun();
            Some(format!("expected the {noun} to complete; {how}{detail}"))
        }
        TransferOutcome::Failed if ev.client.succeeded() => {
            let what = if wrong_data {
                format!(" although the data is incomplete ({bytes} bytes)")
            } else {
                String::new()
            };
            Some(format!(
                "expected {client} to report a failure; it reported success{what}"
            ))
        }
        _ => None,
    }
}

/// Data connections go to the address of the control connection, not the server's own.
fn data_via_control_address(e: &Expect, c: &Ctx) -> Option<String> {
    e.data_via_control_address?;
    let ev = c.ev;
    if let Some(a) = ev.private_tries(c.net).next() {
        return Some(format!(
            "expected the data connection via the control address {}; {} tried {}, unroutable from its network",
            c.net.roles.server_addr, c.client, a.to
        ));
    }
    if !ev.log.data_connections().is_empty() {
        return None;
    }
    // A failed transfer already explains the missing data connection.
    let transfer_failed = e.transfer == Some(TransferOutcome::Ok) && !ev.transferred();
    (!transfer_failed).then(|| {
        format!(
            "expected a data connection via the control address; {} without one",
            c.how_ended
        )
    })
}

/// The client never connected to the third host a hostile 227 named.
fn no_decoy_connection(e: &Expect, c: &Ctx) -> Option<String> {
    e.no_decoy_connection?;
    let a = c.ev.decoy_hits().next()?;
    Some(format!(
        "expected no connection to the third host named in the 227 reply; {} connected to {}",
        c.client, a.to
    ))
}

/// Every PORT/EPRT port lies in the scenario's active range.
fn active_ports_in_range(e: &Expect, c: &Ctx) -> Option<String> {
    e.active_ports_in_range?;
    let range = &c.net.active_ports;
    let targets = c.ev.log.active_targets();
    if let Some(bad) = targets.iter().find(|t| !range.contains(&t.port())) {
        let (min, max) = (range.start(), range.end());
        return Some(format!(
            "expected PORT/EPRT ports in {min}-{max}; {} announced {bad}",
            c.client
        ));
    }
    targets.is_empty().then(|| {
        format!(
            "expected PORT/EPRT with a port in range; {} sent none ({})",
            c.client, c.how_ended
        )
    })
}

/// Every PORT/EPRT carried the client's public address.
fn active_address_public(e: &Expect, c: &Ctx) -> Option<String> {
    e.active_address_public?;
    let public = c.net.roles.client_public_addr;
    let targets = c.ev.log.active_targets();
    if let Some(bad) = targets.iter().find(|t| t.ip() != public) {
        return Some(format!(
            "expected PORT/EPRT to carry the public address {public}; {} announced {bad}",
            c.client
        ));
    }
    targets.is_empty().then(|| {
        format!(
            "expected PORT/EPRT with the public address; {} sent none ({})",
            c.client, c.how_ended
        )
    })
}

/// After a refused EPSV, the client sent PASV.
fn pasv_after_refused_epsv(e: &Expect, c: &Ctx) -> Option<String> {
    e.pasv_after_refused_epsv?;
    let verbs = c.ev.log.verbs();
    let i = verbs.iter().position(|v| v == "EPSV")?;
    (!verbs[i..].iter().any(|v| v == "PASV")).then(|| {
        format!(
            "expected PASV after the refused EPSV; {} did not send it ({})",
            c.client, c.how_ended
        )
    })
}

/// The client ended by itself within the limit.
fn ends_within_secs(e: &Expect, c: &Ctx) -> Option<String> {
    let limit = e.ends_within_secs?;
    let client = &c.ev.client;
    let late = client.end == crate::evidence::ClientEnd::TimedOut
        || client.elapsed.as_millis() as u64 > limit * 1000;
    late.then(|| {
        format!(
            "expected {} to end within {limit} s; {}",
            c.client, c.how_ended
        )
    })
}

/// The server saw at least this many control connections (the client connected again).
fn min_control_connections(e: &Expect, c: &Ctx) -> Option<String> {
    let min = e.min_control_connections?;
    let n = c.ev.log.control_connections();
    (n < min).then(|| {
        format!(
            "expected at least {min} control connections (connecting again after the refusal); {} made {n}; {}",
            c.client, c.how_ended
        )
    })
}

/// The data connections used TLS (PROT P).
fn data_tls(e: &Expect, c: &Ctx) -> Option<String> {
    e.data_tls?;
    let data = c.ev.log.data_connections();
    let plaintext = !data.is_empty() && data.iter().any(|d| d.tls.is_none());
    plaintext.then(|| {
        format!(
            "expected TLS on the data connections (PROT P); {} used plaintext",
            c.client
        )
    })
}

/// The client ended its TLS data connections with close_notify.
fn client_close_notify(e: &Expect, c: &Ctx) -> Option<String> {
    e.client_close_notify?;
    let data = c.ev.log.data_connections();
    let tls: Vec<_> = data.iter().filter(|d| d.tls.is_some()).collect();
    if let Some(d) = tls.iter().find(|d| d.client_close_notify == Some(false)) {
        return Some(format!(
            "expected {} to end each TLS data connection with close_notify; the one from {} ended without it ({} bytes received)",
            c.client, d.peer, d.bytes_received
        ));
    }
    let uploads = tls.iter().filter(|d| d.bytes_received > 0);
    let seen = uploads.clone().any(|d| d.client_close_notify == Some(true));
    (!seen).then(|| {
        format!(
            "expected an upload over a TLS data connection ended with close_notify; {} made none ({})",
            c.client, c.how_ended
        )
    })
}

/// Before TLS on the control connection, only AUTH, FEAT (which tells whether AUTH TLS is
/// offered, and carries nothing of the user's) or QUIT.
fn only_auth_before_tls(e: &Expect, c: &Ctx) -> Option<String> {
    e.only_auth_before_tls?;
    let before = c.ev.log.commands_before_control_tls();
    let bad = before.iter().find(|line| {
        let verb = line.split(' ').next().unwrap_or("");
        !["AUTH", "FEAT", "QUIT"].contains(&verb.to_ascii_uppercase().as_str())
    })?;
    let shown = if bad.to_ascii_uppercase().starts_with("PASS ") {
        "PASS ****"
    } else {
        bad
    };
    Some(format!(
        "expected nothing but AUTH (or FEAT, QUIT) before TLS; {} sent {shown:?} in the clear",
        c.client
    ))
}

/// No command before the reply to the previous one.
fn no_early_commands(e: &Expect, c: &Ctx) -> Option<String> {
    e.no_early_commands?;
    let (answering, line) = c.ev.log.early_commands().into_iter().next()?;
    Some(format!(
        "expected {} to wait for each reply; it sent {line:?} before the server had answered {answering:?}, so it took another reply for that answer",
        c.client
    ))
}

/// No death by signal, no panic.
fn no_crash(e: &Expect, c: &Ctx) -> Option<String> {
    use crate::evidence::ClientEnd;
    e.no_crash?;
    match c.ev.client.end {
        ClientEnd::Exited(None) => Some(format!(
            "expected {} not to crash; it died of a signal",
            c.client
        )),
        ClientEnd::Panicked => Some(format!("expected {} not to crash; it panicked", c.client)),
        _ => None,
    }
}

/// The injected command never reached the server as one.
fn no_command(e: &Expect, c: &Ctx) -> Option<String> {
    let injected = e.no_command.as_deref()?;
    let commands = c.ev.log.commands();
    let line = commands
        .iter()
        .find(|line| command_parts(line).any(|p| starts_with_command(p, injected)))?;
    Some(format!(
        "expected {injected:?} never to reach the server as a command; {} sent {line:?}",
        c.client
    ))
}

/// The command lines, normalised and stripped, match the transcript exactly.
fn commands(e: &Expect, c: &Ctx) -> Option<String> {
    let expected = e.commands.as_ref()?;
    let strip = e.strip.as_deref().unwrap_or_default();
    let lines = transcript::prepare(&c.ev.log.commands(), strip);
    expected.diff(&lines)
}

/// The parts of a received line that a server ending lines at CR, LF or NUL would take for
/// commands (a CR followed by NUL is Telnet's way to send a CR inside a line, not an end).
fn command_parts(line: &str) -> impl Iterator<Item = &str> {
    let bytes = line.as_bytes();
    let mut starts = vec![0];
    for (i, b) in bytes.iter().enumerate() {
        let end = match b {
            b'\r' => bytes.get(i + 1) != Some(&0),
            0 => i == 0 || bytes[i - 1] != b'\r',
            b'\n' => true,
            _ => false,
        };
        if end {
            starts.push(i + 1);
        }
    }
    starts.into_iter().map(move |s| &line[s..])
}

fn starts_with_command(part: &str, command: &str) -> bool {
    part.trim_start_matches(['\0', ' '])
        .get(..command.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(command))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_judges_a_key_of_the_schema() {
        for check in CHECKS {
            let value = match check.key {
                "transfer" => "\"ok\"",
                "ends_within_secs" | "min_control_connections" => "5",
                "no_command" => "\"DELE /x\"",
                "commands" => "[\"USER *\", \"?/^(EPSV|PASV)$/\"]",
                _ => "true",
            };
            let text = format!("{} = {value}", check.key);
            let e: Expect = toml::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_ne!(e, Expect::default(), "{text}");
        }
    }

    /// A scenario up to its `[expect]` table, which starts on line 8.
    const SCENARIO: &str = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n[client]\naction = \"download\"\n[expect]\n";

    /// The `commands` check's failure for these `[expect]` lines and received commands.
    fn commands_check(expect: &str, received: &[&str]) -> Option<String> {
        use ftpspec_mock::{Event, EventKind};
        let text = format!("{SCENARIO}{expect}\n");
        let scenario = crate::scenario::parse("t/commands", "test", &text).unwrap();
        let net = scenario.network().unwrap();
        let command = |(k, line): (usize, &&str)| Event {
            at: std::time::Duration::from_millis(k as u64),
            session: 1 + (k >= 3) as u64,
            kind: EventKind::Command {
                line: line.to_string(),
            },
        };
        let events = received.iter().enumerate().map(command).collect();
        let ev = evidence(events, crate::evidence::ClientEnd::Succeeded);
        let ctx = Ctx {
            scenario: &scenario,
            net: &net,
            client: "curl",
            ev: &ev,
            how_ended: "curl reported success".into(),
        };
        commands(&scenario.file.expect, &ctx)
    }

    /// Evidence of a client that ended so, with these server events.
    fn evidence(events: Vec<ftpspec_mock::Event>, end: crate::evidence::ClientEnd) -> Evidence {
        use crate::evidence::{ClientRun, Received};
        Evidence {
            log: ftpspec_mock::EventLog { events, dropped: 0 },
            attempts: Vec::new(),
            client: ClientRun {
                command: Vec::new(),
                end,
                elapsed: std::time::Duration::ZERO,
                stdout: String::new(),
                stderr: String::new(),
            },
            received: Received::default(),
        }
    }

    #[test]
    fn min_control_connections_counts_connections() {
        use ftpspec_mock::{Event, EventKind};
        let text = format!("{SCENARIO}min_control_connections = 2\n");
        let scenario = crate::scenario::parse("t/reconnect", "test", &text).unwrap();
        let net = scenario.network().unwrap();
        let connected = |session| Event {
            at: std::time::Duration::ZERO,
            session,
            kind: EventKind::Connected {
                peer: "203.0.113.9:40000".parse().unwrap(),
                local: "203.0.113.1:21".parse().unwrap(),
            },
        };
        let judged = |sessions: &[u64]| {
            let events = sessions.iter().map(|s| connected(*s)).collect();
            let ev = evidence(events, crate::evidence::ClientEnd::Exited(Some(1)));
            let ctx = Ctx {
                scenario: &scenario,
                net: &net,
                client: "wget",
                ev: &ev,
                how_ended: "wget exited 1".into(),
            };
            min_control_connections(&scenario.file.expect, &ctx)
        };
        assert_eq!(judged(&[1, 2]), None);
        assert_eq!(judged(&[1, 2, 3]), None);
        let one = judged(&[1]).unwrap();
        assert!(
            one.starts_with("expected at least 2 control connections")
                && one.contains("wget made 1"),
            "{one}"
        );
    }

    const DOWNLOAD: &str = r#"commands = ["USER *", "PASS *", "?FEAT", "?SYST", "TYPE I", "/^(EPSV|PASV)$/", "RETR /gen/64K", "?QUIT"]"#;

    #[test]
    fn commands_pass_with_or_without_optional_lines() {
        let full = [
            "USER anonymous",
            "PASS ftp@",
            "FEAT",
            "SYST",
            "TYPE I",
            "EPSV",
            "RETR /gen/64K",
            "QUIT",
        ];
        assert_eq!(commands_check(DOWNLOAD, &full), None);
        let bare = [
            "user anonymous",
            "PASS ftp@",
            "TYPE I",
            "PASV",
            "RETR /gen/64K",
        ];
        assert_eq!(commands_check(DOWNLOAD, &bare), None);
    }

    #[test]
    fn commands_fail_on_a_missing_line() {
        let got = ["USER a", "PASS b", "EPSV", "RETR /gen/64K", "QUIT"];
        let why = commands_check(DOWNLOAD, &got).unwrap();
        assert!(
            why.starts_with("expected the commands to match; first difference at line 3: expected \"TYPE I\", got \"EPSV\"\n"),
            "{why}"
        );
        assert!(why.contains("\n- TYPE I\n  EPSV\n"), "{why}");
    }

    #[test]
    fn commands_fail_on_an_extra_line() {
        let got = ["USER a", "PASS b", "TYPE I", "PWD", "EPSV", "RETR /gen/64K"];
        let why = commands_check(DOWNLOAD, &got).unwrap();
        assert!(
            why.contains("line 4: expected \"/^(EPSV|PASV)$/\", got \"PWD\""),
            "{why}"
        );
        assert!(why.contains("\n+ PWD\n"), "{why}");
        let after = [
            "USER a",
            "PASS b",
            "TYPE I",
            "EPSV",
            "RETR /gen/64K",
            "QUIT",
            "NOOP",
        ];
        let why = commands_check(DOWNLOAD, &after).unwrap();
        assert!(
            why.contains("line 7: expected no more commands, got \"NOOP\""),
            "{why}"
        );
    }

    #[test]
    fn commands_fail_on_the_wrong_order() {
        let got = ["USER a", "PASS b", "EPSV", "TYPE I", "RETR /gen/64K"];
        let why = commands_check(DOWNLOAD, &got).unwrap();
        assert!(
            why.contains("line 3: expected \"TYPE I\", got \"EPSV\""),
            "{why}"
        );
        assert!(why.contains("- TYPE I\n  EPSV\n+ TYPE I"), "{why}");
    }

    #[test]
    fn commands_fail_when_a_required_line_never_came() {
        let got = ["USER a", "PASS b", "TYPE I", "PASV"];
        let why = commands_check(DOWNLOAD, &got).unwrap();
        assert!(
            why.contains("line 5: expected \"RETR /gen/64K\", got no more commands"),
            "{why}"
        );
    }

    #[test]
    fn commands_regexes_match_whole_lines() {
        let got = ["USER a", "PASS b", "TYPE I", "EPSV ALL", "RETR /gen/64K"];
        let why = commands_check(DOWNLOAD, &got).unwrap();
        assert!(why.contains("got \"EPSV ALL\""), "{why}");
    }

    #[test]
    fn commands_are_normalised_and_stripped() {
        let expect = r#"commands = ["USER *", "PASS *", "TYPE I", "PORT *", "/^EPRT \\*$/", "RETR /gen/64K"]
strip = ["^NOOP$"]"#;
        let got = [
            "USER a",
            "NOOP",
            "PASS b",
            "TYPE I",
            "PORT 192,168,1,2,195,80",
            "EPRT |1|198.51.100.10|50100|",
            "NOOP",
            "RETR /gen/64K",
        ];
        assert_eq!(commands_check(expect, &got), None);
        let noop_with_argument = [
            "USER a",
            "PASS b",
            "NOOP x",
            "TYPE I",
            "PORT 1,2,3,4,5,6",
            "EPRT |1|1.2.3.4|5|",
            "RETR /gen/64K",
        ];
        let why = commands_check(expect, &noop_with_argument).unwrap();
        assert!(why.contains("got \"NOOP x\""), "{why}");
        // The listing shows the lines as matched: ports normalised, NOOPs gone.
        let unstripped = ["USER a", "NOOP", "PASS b", "TYPE A", "PORT 1,2,3,4,5,6"];
        let why = commands_check(expect, &unstripped).unwrap();
        assert!(
            why.contains("line 3: expected \"TYPE I\", got \"TYPE A\""),
            "{why}"
        );
        assert!(why.contains("  PORT *"), "{why}");
        assert!(!why.contains("1,2,3"), "{why}");
    }

    #[test]
    fn bad_commands_and_strip_are_refused_at_their_line_and_column() {
        let scenario = |expect: &str| {
            let text = format!("{SCENARIO}{expect}\n");
            crate::scenario::parse("t/bad", "bad.toml", &text)
                .unwrap_err()
                .to_string()
        };
        let bad_regex = scenario(r#"commands = ["USER *", "/(EPSV/"]"#);
        assert!(bad_regex.contains("bad.toml:8:"), "{bad_regex}");
        assert!(bad_regex.contains("bad regex /(EPSV/"), "{bad_regex}");
        let empty = scenario(r#"commands = ["USER *", ""]"#);
        assert!(empty.contains("bad.toml:8:"), "{empty}");
        assert!(empty.contains("is empty"), "{empty}");
        let strip = scenario("commands = [\"QUIT\"]\nstrip = [\"(\"]");
        assert!(strip.contains("bad.toml:9:"), "{strip}");
        let alone = scenario(r#"strip = ["^NOOP$"]"#);
        assert!(alone.contains("bad.toml:8:1"), "{alone}");
        assert!(alone.contains("give commands"), "{alone}");
    }

    #[test]
    fn injected_commands_are_found_after_cr_lf_and_nul_but_not_after_cr_nul() {
        let found = |line: &str| command_parts(line).any(|p| starts_with_command(p, "DELE /x"));
        assert!(found("DELE /x"));
        assert!(found("CWD /a\rDELE /x\r"));
        assert!(found("CWD /a\0DELE /x"));
        assert!(found("CWD /a\r\nDELE /x"));
        assert!(!found("CWD /a\r\0DELE /x\r\0"));
        assert!(!found("CWD /a DELE /x"));
        assert!(!found("RETR DELE /x"));
    }
}
