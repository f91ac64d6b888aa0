//! The ladder diagram of a case: one lane per host (the client, each router on the way to
//! the server, the server, then any decoy) and, in time order down the page, what went
//! between them: the control connection, each command and reply, TLS handshakes and CCC,
//! data connections, and the connection attempts a router dropped (ending at that router,
//! marked with a red X) or that reached the decoy.
//!
//! It is drawn from what a case result already holds, so it works for any `results.json`
//! (no capture needed): the server's event log ([`Observations::transcript`], one timed
//! event a line) gives the order and the times; the routers' records
//! ([`Observations::attempts`]) give the drops. Those records carry no time (they are
//! nftables sets), so a dropped or decoy attempt is placed just after the reply that
//! followed the announcement of its target (the 227/229 reply for a passive address, the
//! reply to PORT/EPRT for an active one), and its time shows as `after`. An attempt whose
//! target nobody announced goes at the end.
//!
//! Long sessions stay readable: repeats of the same arrow in a row collapse into one
//! (`×N`), labels are cut (the full text is the arrow's tooltip), and after [`MAX_ARROWS`]
//! the rest is counted, not drawn.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use maud::{html as m, Markup};

use crate::model::{AttemptOutcome, HostSummary, NetworkSummary, Observations, Role};

/// Arrows drawn at most; later events are counted in [`Ladder::more`].
pub const MAX_ARROWS: usize = 150;

/// Characters of a label shown on an arrow (the whole label is its tooltip).
const LABEL_CHARS: usize = 52;

/// A lane: one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The host's name.
    pub name: String,
    /// Its part.
    pub role: Role,
    /// What it is, under its name: `FTP client`, `NAT + FTP helper`, `firewall`, `decoy`.
    pub label: String,
}

/// What an arrow stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The control connection opened (client to server).
    Connect,
    /// A command (client to server).
    Command,
    /// A reply (server to client).
    Reply,
    /// A TLS handshake (control or data), or CCC.
    Tls,
    /// A TLS handshake that failed.
    TlsFailed,
    /// A data connection opened, or closed with its byte counts.
    Data,
    /// A data connection the server saw fail.
    DataFailed,
    /// A connection a router dropped: the arrow ends at the router.
    Dropped,
    /// A connection that reached the decoy.
    Decoy,
    /// The control connection closed.
    Closed,
    /// Anything else the server recorded (a stored upload, a warning): a note on its lane.
    Note,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Connect | Kind::Closed => "conn",
            Kind::Command => "cmd",
            Kind::Reply => "reply",
            Kind::Tls => "tls",
            Kind::TlsFailed | Kind::DataFailed | Kind::Dropped => "drop",
            Kind::Data => "data",
            Kind::Decoy => "decoy",
            Kind::Note => "note",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Kind::Connect | Kind::Closed | Kind::Note => "#57606a",
            Kind::Command => "#0550ae",
            Kind::Reply => "#1f2328",
            Kind::Tls => "#8250df",
            Kind::TlsFailed | Kind::DataFailed | Kind::Dropped => "#cf222e",
            Kind::Data => "#1a7f37",
            Kind::Decoy => "#8250df",
        }
    }
}

/// One arrow (or, when `from == to`, a note on a lane).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrow {
    /// When, in milliseconds since the server started (`None`: a router's record placed by
    /// what announced its target; see the module's documentation).
    pub at_ms: Option<u64>,
    /// The lane it starts at.
    pub from: usize,
    /// The lane it ends at.
    pub to: usize,
    /// What it is.
    pub kind: Kind,
    /// Its text.
    pub label: String,
    /// How many times it happened in a row (collapsed into this one).
    pub count: usize,
}

/// A case's ladder: lanes left to right, arrows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    /// The hosts.
    pub lanes: Vec<Lane>,
    /// What went between them, in order.
    pub arrows: Vec<Arrow>,
    /// Events past [`MAX_ARROWS`], not drawn.
    pub more: usize,
}

/// The hosts of a network in drawing order: a walk along the links from the client (so
/// routers come in the order a packet meets them, the server last), then hosts the walk
/// did not reach; decoys apart.
pub(crate) fn host_order(net: &NetworkSummary) -> (Vec<&str>, BTreeSet<&str>) {
    let decoys: BTreeSet<&str> = net
        .hosts
        .iter()
        .filter(|h| h.role == Role::Decoy)
        .map(|h| h.name.as_str())
        .collect();
    let mut order: Vec<&str> = Vec::new();
    if let Some(start) = net.hosts.iter().find(|h| h.role == Role::Client) {
        order.push(&start.name);
        let mut i = 0;
        while i < order.len() {
            let cur = order[i];
            for l in &net.links {
                for (x, y) in [(&l.a, &l.b), (&l.b, &l.a)] {
                    if x == cur && !order.contains(&y.as_str()) && !decoys.contains(y.as_str()) {
                        order.push(y);
                    }
                }
            }
            i += 1;
        }
    }
    for h in &net.hosts {
        if !order.contains(&h.name.as_str()) && !decoys.contains(h.name.as_str()) {
            order.push(&h.name);
        }
    }
    (order, decoys)
}

/// One event of the server's log: its time, and the text after the session number.
fn event(line: &str) -> Option<(u64, &str)> {
    let line = line.trim_start();
    let (time, rest) = line.split_once("s #")?;
    let (secs, millis) = time.split_once('.')?;
    let ms = secs.parse::<u64>().ok()? * 1000 + millis.parse::<u64>().ok()?;
    let (_session, text) = rest.split_once(' ')?;
    Some((ms, text))
}

/// The ladder of a case, or `None` when it has no network (an in-process case without one).
pub fn ladder(o: &Observations) -> Option<Ladder> {
    let net = o.network.as_ref()?;
    let (order, decoys) = host_order(net);
    let lanes: Vec<Lane> = order
        .iter()
        .chain(decoys.iter())
        .map(|name| {
            let host = net.hosts.iter().find(|h| h.name == *name);
            Lane {
                name: (*name).to_owned(),
                role: host.map_or(Role::Other, |h| h.role),
                label: host.map(host_label).unwrap_or_default(),
            }
        })
        .collect();
    let lane_of_role = |role: Role| lanes.iter().position(|l| l.role == role);
    let client = lane_of_role(Role::Client).unwrap_or(0);
    let server = lane_of_role(Role::Server).unwrap_or(lanes.len().saturating_sub(1));
    let lane_of_host = |name: &str| lanes.iter().position(|l| l.name == name);
    // The lane whose host has `ip` on one of its links.
    let lane_of_ip = |ip: IpAddr| {
        net.links.iter().find_map(|l| {
            let has = |addrs: &[String]| addrs.iter().any(|a| a.parse::<IpAddr>() == Ok(ip));
            if has(&l.a_addrs) {
                lane_of_host(&l.a)
            } else if has(&l.b_addrs) {
                lane_of_host(&l.b)
            } else {
                None
            }
        })
    };

    let mut arrows: Vec<Arrow> = Vec::new();
    // Targets announced (passive advertised, active announced) and not yet followed by a
    // reply; then, once replied to, the arrow index each target's attempts go after.
    let mut announced: Vec<SocketAddr> = Vec::new();
    let mut anchors: Vec<(SocketAddr, usize, u64)> = Vec::new();
    let arrow = |at, from, to, kind, label: &str| Arrow {
        at_ms: Some(at),
        from,
        to,
        kind,
        label: label.to_owned(),
        count: 1,
    };
    for line in o.transcript.lines() {
        let Some((at, text)) = event(line) else {
            continue;
        };
        let a = if let Some(rest) = text.strip_prefix("C> ") {
            arrow(at, client, server, Kind::Command, rest)
        } else if let Some(rest) = text.strip_prefix("S< ") {
            for target in announced.drain(..) {
                anchors.push((target, arrows.len() + 1, at));
            }
            arrow(at, server, client, Kind::Reply, rest)
        } else if let Some(rest) = text.strip_prefix("connected ") {
            let to = rest.split(" -> ").nth(1).unwrap_or(rest);
            arrow(at, client, server, Kind::Connect, &format!("connect {to}"))
        } else if let Some(rest) = text.strip_prefix("control connection closed: ") {
            arrow(
                at,
                client,
                server,
                Kind::Closed,
                &format!("control closed ({rest})"),
            )
        } else if let Some(rest) = text.strip_prefix("data: passive listener on ") {
            if let Some(adv) = rest.split(", advertised as ").nth(1) {
                announced.extend(adv.parse::<SocketAddr>().ok());
            }
            continue;
        } else if let Some(rest) = text.strip_prefix("data: client announced ") {
            let target = rest.trim_end_matches(" (refused)");
            announced.extend(target.parse::<SocketAddr>().ok());
            continue;
        } else if text.starts_with("data: ") && text.contains(" failed: ") {
            arrow(
                at,
                server,
                server,
                Kind::DataFailed,
                &text["data: ".len()..],
            )
        } else if let Some(rest) = text.strip_prefix("data: Passive connection ") {
            data_arrow(at, client, server, rest)
        } else if let Some(rest) = text.strip_prefix("data: Active connection ") {
            data_arrow(at, server, client, rest)
        } else if text.starts_with("data: passive connection from ") {
            arrow(
                at,
                client,
                server,
                Kind::DataFailed,
                &text["data: ".len()..],
            )
        } else if let Some(rest) = text.strip_prefix("tls: CCC: ") {
            arrow(at, client, server, Kind::Tls, &format!("CCC: {rest}"))
        } else if let Some(rest) = text.strip_prefix("tls: ") {
            let (channel, rest) = rest.split_once(" with ").unwrap_or(("", rest));
            let channel = channel.trim_end_matches(" handshake");
            let detail = rest.split_once(": ").map_or(rest, |(_, d)| d);
            if rest.contains(" failed: ") {
                let why = rest.split_once(" failed: ").map_or("", |(_, w)| w);
                arrow(
                    at,
                    client,
                    server,
                    Kind::TlsFailed,
                    &format!("{channel} TLS handshake failed: {why}"),
                )
            } else {
                arrow(
                    at,
                    client,
                    server,
                    Kind::Tls,
                    &format!("{channel} TLS: {detail}"),
                )
            }
        } else if text.starts_with("data: throttled") || text.starts_with("script: ") {
            continue;
        } else {
            arrow(at, server, server, Kind::Note, text)
        };
        arrows.push(a);
    }
    // The routers' drops and the decoy's hits, each after the reply that followed the
    // announcement of its target (the latest such), or at the end.
    let mut placed: Vec<(usize, Arrow)> = Vec::new();
    for att in &o.attempts {
        let (kind, end) = match att.outcome {
            AttemptOutcome::Dropped => (Kind::Dropped, lane_of_host(&att.host)),
            AttemptOutcome::ReachedDecoy => (Kind::Decoy, lane_of_host(&att.host)),
            AttemptOutcome::Forwarded | AttemptOutcome::Translated => continue,
        };
        let Some(end) = end else { continue };
        let anchor = anchors.iter().rev().find(|(t, ..)| *t == att.to);
        let from = lane_of_ip(att.from).filter(|l| *l != end).unwrap_or(
            if anchor.is_some_and(|(t, ..)| o.active_targets.contains(t)) {
                server
            } else {
                client
            },
        );
        let verb = if kind == Kind::Dropped {
            "dropped"
        } else {
            "reached the decoy"
        };
        placed.push((
            anchor.map_or(arrows.len(), |(_, i, _)| *i),
            Arrow {
                at_ms: None,
                from,
                to: end,
                kind,
                label: format!("connect {}: {verb}", att.to),
                count: 1,
            },
        ));
    }
    // Insert from the back, so earlier positions stay right; equal positions keep their order.
    placed.sort_by_key(|(i, _)| *i);
    for (i, a) in placed.into_iter().rev() {
        arrows.insert(i.min(arrows.len()), a);
    }
    let mut collapsed: Vec<Arrow> = Vec::new();
    for a in arrows {
        match collapsed.last_mut() {
            Some(last)
                if (last.from, last.to, last.kind, &last.label)
                    == (a.from, a.to, a.kind, &a.label) =>
            {
                last.count += 1;
            }
            _ => collapsed.push(a),
        }
    }
    let more = collapsed.len().saturating_sub(MAX_ARROWS);
    collapsed.truncate(MAX_ARROWS);
    Some(Ladder {
        lanes,
        arrows: collapsed,
        more,
    })
}

/// A data connection's open or close event, as an arrow in the direction it was opened.
fn data_arrow(at: u64, from: usize, to: usize, rest: &str) -> Arrow {
    // "P <-> L open" or "with P closed (End), N bytes sent, M received..."
    let label = if let Some(open) = rest.strip_suffix(" open") {
        format!("data connection {open}")
    } else {
        let rest = rest.strip_prefix("with ").unwrap_or(rest);
        format!("data {rest}")
    };
    Arrow {
        at_ms: Some(at),
        from,
        to,
        kind: Kind::Data,
        label,
        count: 1,
    }
}

/// The text shown on an arrow: the label cut to [`LABEL_CHARS`], with its count.
fn shown(a: &Arrow) -> String {
    let mut t: String = a.label.chars().take(LABEL_CHARS).collect();
    if a.label.chars().count() > LABEL_CHARS {
        t.push('…');
    }
    if a.count > 1 {
        t = format!("{t} ×{}", a.count);
    }
    t
}

/// The ladder as inline SVG: lane names on top, times on the left, one row an arrow.
pub fn svg(l: &Ladder) -> Markup {
    let (left, gap, top, row) = (70.0_f64, 200.0_f64, 44.0_f64, 22.0_f64);
    let x = |lane: usize| left + 30.0 + lane as f64 * gap;
    let rows = l.arrows.len() + usize::from(l.more > 0);
    let width = x(l.lanes.len().saturating_sub(1)) + 100.0;
    let height = top + rows as f64 * row + 16.0;
    let y = |i: usize| top + 14.0 + i as f64 * row;
    m! {
        svg.ladder xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (width) " " (height)} width=(width) height=(height) role="img" aria-label="ladder diagram" {
            @for (i, lane) in l.lanes.iter().enumerate() {
                text x=(x(i)) y="16" font-size="12" font-weight="600" text-anchor="middle" { (lane.name) }
                text x=(x(i)) y="30" font-size="10" fill="#57606a" text-anchor="middle" { (lane.label) }
                line x1=(x(i)) y1=(top - 8.0) x2=(x(i)) y2=(height - 4.0) stroke="#d0d7de" stroke-width="2" {}
            }
            @for (i, a) in l.arrows.iter().enumerate() {
                @let (yy, c) = (y(i), a.kind.colour());
                @let (x1, x2) = (x(a.from), x(a.to));
                g class={"arrow " (a.kind.class())} data-from=(l.lanes[a.from].name) data-to=(l.lanes[a.to].name) {
                    title { (a.label) @if a.count > 1 { " (×" (a.count) ")" } }
                    text x=(left) y=(yy + 4.0) font-size="10" fill="#57606a" text-anchor="end" {
                        @match a.at_ms { Some(ms) => { (format!("{:.3}s", ms as f64 / 1000.0)) } None => { "after" } }
                    }
                    @if a.from == a.to {
                        circle cx=(x1) cy=(yy) r="3" fill=(c) {}
                        text x=(x1 + 8.0) y=(yy + 4.0) font-size="10" fill=(c) font-style="italic" { (shown(a)) }
                    } @else {
                        @let dir = if x2 > x1 { 1.0 } else { -1.0 };
                        line x1=(x1) y1=(yy) x2=(x2) y2=(yy) stroke=(c) stroke-width="1.5" stroke-dasharray=[(a.kind == Kind::Reply).then_some("4 2")] {}
                        @if a.kind == Kind::Dropped {
                            g.x stroke=(c) stroke-width="2.5" { line x1=(x2 - 6.0) y1=(yy - 6.0) x2=(x2 + 6.0) y2=(yy + 6.0) {} line x1=(x2 - 6.0) y1=(yy + 6.0) x2=(x2 + 6.0) y2=(yy - 6.0) {} }
                        } @else {
                            polygon points={(x2) "," (yy) " " (x2 - 7.0 * dir) "," (yy - 4.0) " " (x2 - 7.0 * dir) "," (yy + 4.0)} fill=(c) {}
                        }
                        text x=((x1 + x2) / 2.0) y=(yy - 4.0) font-size="10" fill=(c) text-anchor="middle" { (shown(a)) }
                    }
                }
            }
            @if l.more > 0 {
                text x=(left + 30.0) y=(y(l.arrows.len()) + 4.0) font-size="10" fill="#57606a" font-style="italic" { "… " (l.more) " more events: see the server event log" }
            }
        }
    }
}

/// What a host is, in a word or three: `FTP client`, `NAT + FTP helper`, `firewall`.
pub(crate) fn host_label(h: &HostSummary) -> String {
    match h.role {
        Role::Router => {
            let mut parts = Vec::new();
            if h.nat {
                parts.push("NAT");
            }
            if h.firewall && !h.nat {
                parts.push("firewall");
            }
            if h.helper {
                parts.push("FTP helper");
            }
            if parts.is_empty() {
                "router".into()
            } else {
                parts.join(" + ")
            }
        }
        Role::Client => "FTP client".into(),
        Role::Server => "FTP server".into(),
        Role::Decoy => "decoy".into(),
        Role::Other => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attempt, LinkSummary};

    /// wget in passive/unroutable-address: a NAT in front of the server, a decoy beside the
    /// client; the 227 names the server's own address, which the NAT drops.
    fn wget_unroutable() -> Observations {
        let host = |name: &str, role, nat| HostSummary {
            name: name.into(),
            role,
            nat,
            helper: false,
            firewall: nat,
        };
        let link = |a: &str, aa: &str, b: &str, ba: &str| LinkSummary {
            a: a.into(),
            a_addrs: vec![aa.into()],
            b: b.into(),
            b_addrs: vec![ba.into()],
        };
        let attempt = |host: &str, outcome, from: &str, to: &str| Attempt {
            host: host.into(),
            outcome,
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
        };
        Observations {
            transcript: "   0.008s #1 connected 203.0.113.10:55720 -> 10.0.0.2:21
   0.009s #1 S< 220 ftpspec-mock ready
   0.009s #1 C> USER ftpspec
   0.009s #1 S< 331 Please specify the password.
   0.009s #1 C> PASV
   0.009s #1 data: passive listener on 10.0.0.2:50000, advertised as 10.0.0.2:50000
   0.010s #1 S< 227 Entering Passive Mode (10,0,0,2,195,80).
  10.010s #1 control connection closed: ClientClosed
"
            .into(),
            attempts: vec![
                attempt(
                    "nat",
                    AttemptOutcome::Forwarded,
                    "203.0.113.10",
                    "10.0.0.2:21",
                ),
                attempt(
                    "nat",
                    AttemptOutcome::Dropped,
                    "203.0.113.10",
                    "10.0.0.2:50000",
                ),
            ],
            network: Some(NetworkSummary {
                hosts: vec![
                    host("client", Role::Client, false),
                    host("decoy", Role::Decoy, false),
                    host("nat", Role::Router, true),
                    host("server", Role::Server, false),
                ],
                links: vec![
                    link("client", "203.0.113.10", "nat", "203.0.113.1"),
                    link("nat", "10.0.0.1", "server", "10.0.0.2"),
                    link("client", "192.0.2.1", "decoy", "192.0.2.66"),
                ],
            }),
            ..Observations::default()
        }
    }

    fn rows(l: &Ladder) -> Vec<(Option<u64>, &str, &str, Kind, &str)> {
        l.arrows
            .iter()
            .map(|a| {
                let lane = |i: usize| l.lanes[i].name.as_str();
                (a.at_ms, lane(a.from), lane(a.to), a.kind, a.label.as_str())
            })
            .collect()
    }

    #[test]
    fn lanes_follow_the_path_then_the_decoy() {
        let l = ladder(&wget_unroutable()).unwrap();
        let lanes: Vec<(&str, &str)> = l
            .lanes
            .iter()
            .map(|l| (l.name.as_str(), l.label.as_str()))
            .collect();
        assert_eq!(
            lanes,
            [
                ("client", "FTP client"),
                ("nat", "NAT"),
                ("server", "FTP server"),
                ("decoy", "decoy")
            ]
        );
        assert!(
            ladder(&Observations::default()).is_none(),
            "no network, no ladder"
        );
    }

    #[test]
    fn the_drop_ends_at_the_nat_right_after_the_227() {
        let l = ladder(&wget_unroutable()).unwrap();
        use Kind::*;
        assert_eq!(
            rows(&l),
            [
                (Some(8), "client", "server", Connect, "connect 10.0.0.2:21"),
                (Some(9), "server", "client", Reply, "220 ftpspec-mock ready"),
                (Some(9), "client", "server", Command, "USER ftpspec"),
                (
                    Some(9),
                    "server",
                    "client",
                    Reply,
                    "331 Please specify the password."
                ),
                (Some(9), "client", "server", Command, "PASV"),
                (
                    Some(10),
                    "server",
                    "client",
                    Reply,
                    "227 Entering Passive Mode (10,0,0,2,195,80)."
                ),
                (
                    None,
                    "client",
                    "nat",
                    Dropped,
                    "connect 10.0.0.2:50000: dropped"
                ),
                (
                    Some(10010),
                    "client",
                    "server",
                    Closed,
                    "control closed (ClientClosed)"
                ),
            ]
        );
        assert_eq!(l.more, 0);
    }

    #[test]
    fn active_drops_come_from_the_server_and_decoy_hits_reach_the_decoy() {
        let mut o = wget_unroutable();
        o.transcript = "   0.010s #1 C> PORT 192,0,2,66,195,81
   0.010s #1 data: client announced 192.0.2.66:50001
   0.011s #1 S< 200 PORT command successful.
   0.012s #1 data: Active connection to/at 192.0.2.66:50001 failed: timed out
"
        .into();
        o.active_targets = vec!["192.0.2.66:50001".parse().unwrap()];
        o.attempts = vec![Attempt {
            host: "decoy".into(),
            outcome: AttemptOutcome::ReachedDecoy,
            from: "10.0.0.2".parse().unwrap(),
            to: "192.0.2.66:50001".parse().unwrap(),
        }];
        let l = ladder(&o).unwrap();
        let r = rows(&l);
        assert_eq!(
            (r[2].1, r[2].2, r[2].3),
            ("server", "decoy", Kind::Decoy),
            "{r:?}"
        );
        assert_eq!(
            (r[3].1, r[3].2, r[3].3),
            ("server", "server", Kind::DataFailed)
        );
    }

    #[test]
    fn repeats_collapse_and_long_sessions_are_capped() {
        let mut o = wget_unroutable();
        let mut t = String::new();
        for i in 0..3 {
            t.push_str(&format!("   0.00{i}s #1 C> NOOP\n"));
        }
        for i in 0..400 {
            t.push_str(&format!("   1.000s #1 C> RETR f{i}\n"));
        }
        o.transcript = t;
        o.attempts.clear();
        let l = ladder(&o).unwrap();
        assert_eq!((l.arrows[0].label.as_str(), l.arrows[0].count), ("NOOP", 3));
        assert_eq!(l.arrows.len(), MAX_ARROWS);
        assert_eq!(l.more, 401 - MAX_ARROWS);
        let svg = svg(&l).into_string();
        assert!(svg.contains("NOOP ×3"), "{svg}");
        assert!(svg.contains(&format!("… {} more events", 401 - MAX_ARROWS)));
    }

    #[test]
    fn tls_ccc_and_data_connections() {
        let mut o = wget_unroutable();
        o.transcript = "   0.001s #1 tls: Control with 203.0.113.10:5: TLSv1.3 AES, new session
   0.002s #1 data: Passive connection 203.0.113.10:6 <-> 10.0.0.2:50000 open
   0.003s #1 tls: Data handshake with 203.0.113.10:6 failed: bad cert
   0.004s #1 data: Passive connection with 203.0.113.10:6 closed (Eof), 0 bytes sent, 0 received
   0.005s #1 tls: CCC: control connection back to plaintext (client sent close_notify)
"
        .into();
        o.attempts.clear();
        let l = ladder(&o).unwrap();
        let labels: Vec<(Kind, &str)> = l
            .arrows
            .iter()
            .map(|a| (a.kind, a.label.as_str()))
            .collect();
        use Kind::*;
        assert_eq!(
            labels,
            [
                (Tls, "Control TLS: TLSv1.3 AES, new session"),
                (Data, "data connection 203.0.113.10:6 <-> 10.0.0.2:50000"),
                (TlsFailed, "Data TLS handshake failed: bad cert"),
                (
                    Data,
                    "data 203.0.113.10:6 closed (Eof), 0 bytes sent, 0 received"
                ),
                (
                    Tls,
                    "CCC: control connection back to plaintext (client sent close_notify)"
                ),
            ]
        );
    }

    #[test]
    fn svg_snapshot() {
        let svg = svg(&ladder(&wget_unroutable()).unwrap()).into_string();
        insta::assert_snapshot!("ladder_wget_unroutable", svg.replace("><", ">\n<"));
    }
}
