//! What a case saw, typed: the mock server's event log, the routers' records, how the client
//! ended and what it ended up with. Verdicts are judged from this
//! ([`crate::verdict::judge`]); the report's [`Observations`] are rendered from it.

use std::time::Duration;

use ftpspec_mock::{DataMode, EventLog};
use ftpspec_netns::{Attempt, AttemptOutcome, TopologySpec};
use ftpspec_report::{HostSummary, LinkSummary, NetworkSummary, Observations, Role};

use crate::scenario::{Action, Network};

/// How the client ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEnd {
    /// It reported success (exit 0, or `Ok` from an in-process client).
    Succeeded,
    /// It exited with this failure code (`None`: killed by a signal).
    Exited(Option<i32>),
    /// An in-process client returned this error.
    Failed(String),
    /// An in-process client panicked.
    Panicked,
    /// It was still running at the case's time limit and was killed.
    TimedOut,
}

/// The client's run.
#[derive(Debug, Clone)]
pub struct ClientRun {
    /// Its command line (empty for in-process clients).
    pub command: Vec<String>,
    /// How it ended.
    pub end: ClientEnd,
    /// How long it ran.
    pub elapsed: Duration,
    /// Its stdout, cut at 16 KiB.
    pub stdout: String,
    /// Its stderr, cut at 16 KiB.
    pub stderr: String,
}

impl ClientRun {
    /// Whether it reported success.
    pub fn succeeded(&self) -> bool {
        self.end == ClientEnd::Succeeded
    }
}

/// What the client ended up with: the bytes it downloaded or listed, or that the server
/// kept from its upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// How many bytes (`None`: no file at all).
    pub bytes: Option<u64>,
    /// Whether they are the right ones (for a session: every step's).
    pub right: bool,
    /// What is wrong with them, in words, when the harness can tell (the size, the first
    /// wrong byte, a missing file of a mirror).
    pub wrong: Option<String>,
    /// A session's steps, in order (empty for other actions).
    pub steps: Vec<StepOutcome>,
}

/// How one step of a session went, judged from the server's records and the local files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    /// `download /gen/64K`.
    pub step: String,
    /// Its action.
    pub action: Action,
    /// The bytes the client downloaded or the server kept (`None`: no file; a listing).
    pub bytes: Option<u64>,
    /// For an upload, the bytes sent.
    pub expected: Option<u64>,
    /// Whether the right bytes arrived (a listing: the server sent it whole).
    pub right: bool,
}

impl StepOutcome {
    /// One line: `download /gen/64K: 65536 bytes, right`.
    pub fn line(&self) -> String {
        let how = match (self.action, self.bytes, self.right) {
            (Action::List, _, true) => "the server sent the listing whole".to_owned(),
            (Action::List, _, false) => "no whole listing was sent".to_owned(),
            (Action::Upload, None, _) => "the server stored nothing".to_owned(),
            (Action::Upload, Some(n), right) => format!(
                "the server stored {n} of {} bytes{}",
                self.expected.unwrap_or(0),
                if right { ", right" } else { ", wrong" }
            ),
            (_, None, _) => "no local file".to_owned(),
            (_, Some(n), right) => {
                format!("{n} bytes{}", if right { ", right" } else { ", wrong" })
            }
        };
        format!("{}: {how}", self.step)
    }
}

/// Everything a case saw.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The mock server's events: commands, replies, data connections, TLS.
    pub log: EventLog,
    /// What the routers forwarded or dropped, and what reached the decoy.
    pub attempts: Vec<Attempt>,
    /// The client's run.
    pub client: ClientRun,
    /// What it ended up with.
    pub received: Received,
}

impl Evidence {
    /// The attempts the routers dropped towards the server's own address, when the client
    /// was given another one: the client tried the server's private address.
    pub fn private_tries<'a>(&'a self, net: &'a Network) -> impl Iterator<Item = &'a Attempt> {
        let r = &net.roles;
        self.attempts.iter().filter(move |a| {
            a.outcome == AttemptOutcome::Dropped
                && a.to.ip() == r.server_own_addr
                && r.server_addr != r.server_own_addr
        })
    }

    /// The connections that reached the decoy.
    pub fn decoy_hits(&self) -> impl Iterator<Item = &Attempt> {
        let hits = self.attempts.iter();
        hits.filter(|a| a.outcome == AttemptOutcome::ReachedDecoy)
    }

    /// The client succeeded and the bytes are right.
    pub fn transferred(&self) -> bool {
        self.client.succeeded() && self.received.right
    }

    /// The report's view of it.
    pub fn observations(&self, net: &Network) -> Observations {
        let c = &self.client;
        let data = self.log.data_connections();
        Observations {
            command: c.command.clone(),
            exit_code: match c.end {
                ClientEnd::Succeeded if !c.command.is_empty() => Some(0),
                ClientEnd::Exited(code) => code,
                _ => None,
            },
            client_ok: c.succeeded(),
            client_error: match &c.end {
                ClientEnd::Failed(e) => Some(e.clone()),
                ClientEnd::Panicked => Some("the client panicked".into()),
                _ => None,
            },
            timed_out: c.end == ClientEnd::TimedOut,
            client_ms: c.elapsed.as_millis() as u64,
            stdout: c.stdout.clone(),
            stderr: c.stderr.clone(),
            bytes_ok: Some(self.received.right),
            bytes: self.received.bytes,
            steps: self.received.steps.iter().map(StepOutcome::line).collect(),
            dialogue: self.log.dialogue(),
            transcript: self.log.transcript(),
            data_connections: data.iter().map(data_line).collect(),
            data_tls: (!data.is_empty()).then(|| data.iter().all(|d| d.tls.is_some())),
            active_targets: self.log.active_targets(),
            attempts: self.attempts.iter().map(report_attempt).collect(),
            ..network_observations(net)
        }
    }
}

/// What a case records of its network alone (the topology, its summary, the server's
/// addresses): all there is when the case ends before any evidence, and the network part
/// of every case's observations, client and server cases alike.
pub fn network_observations(net: &Network) -> Observations {
    Observations {
        topology: net.name.clone(),
        network: Some(summary(&net.spec, &net.roles)),
        server_addr: Some(net.roles.server_addr),
        server_own_addr: Some(net.roles.server_own_addr),
        ..Observations::default()
    }
}

/// One data connection, one line.
pub fn data_line(d: &ftpspec_mock::DataConnection) -> String {
    let mode = match d.mode {
        DataMode::Passive => "passive",
        DataMode::Active => "active",
    };
    let tls = d.tls.as_ref().map(|t| {
        let notify = |who, sent: Option<bool>| match sent {
            Some(true) => format!(", close_notify from {who}"),
            Some(false) => format!(", no close_notify from {who}"),
            None => String::new(),
        };
        format!(
            ", {}{}{}",
            t.version,
            notify("client", d.client_close_notify),
            notify("server", d.server_close_notify)
        )
    });
    let end = d.end.as_ref().map(|e| format!(", {e:?}"));
    format!(
        "{mode} {} <-> {}, {} bytes sent, {} received{}{}",
        d.local,
        d.peer,
        d.bytes_sent,
        d.bytes_received,
        tls.unwrap_or_default(),
        end.unwrap_or_default()
    )
}

pub(crate) fn report_attempt(a: &Attempt) -> ftpspec_report::Attempt {
    use ftpspec_report::AttemptOutcome as Report;
    ftpspec_report::Attempt {
        host: a.host.clone(),
        outcome: match a.outcome {
            AttemptOutcome::Forwarded => Report::Forwarded,
            AttemptOutcome::Dropped => Report::Dropped,
            AttemptOutcome::ReachedDecoy => Report::ReachedDecoy,
            AttemptOutcome::Translated => Report::Translated,
        },
        from: a.from,
        to: a.to,
    }
}

/// The network, for the report's diagram.
pub(crate) fn summary(spec: &TopologySpec, roles: &ftpspec_netns::Roles) -> NetworkSummary {
    let role = |name: &str, h: &ftpspec_netns::HostSpec| {
        if name == roles.client {
            Role::Client
        } else if name == roles.server {
            Role::Server
        } else if h.decoy {
            Role::Decoy
        } else if h.forward {
            Role::Router
        } else {
            Role::Other
        }
    };
    let addrs = |e: &ftpspec_netns::LinkEnd| e.addrs.iter().map(|a| a.addr().to_string()).collect();
    NetworkSummary {
        hosts: spec
            .hosts
            .iter()
            .map(|(name, h)| HostSummary {
                name: name.clone(),
                role: role(name, h),
                nat: h.nat,
                helper: h.ftp_helper,
                firewall: h.firewall,
            })
            .collect(),
        links: spec
            .links
            .iter()
            .map(|l| LinkSummary {
                a: l.a.host.clone(),
                a_addrs: addrs(&l.a),
                b: l.b.host.clone(),
                b_addrs: addrs(&l.b),
            })
            .collect(),
    }
}

/// What a server case saw: the probe's record, what the routers and the decoy recorded, and
/// what the server printed.
#[derive(Debug)]
pub struct ServerEvidence {
    /// The probe's record.
    pub probe: crate::probe::ProbeRecord,
    /// The routers' and the decoy's records.
    pub attempts: Vec<Attempt>,
    /// The server's output and exit status.
    pub exit: crate::servers::ServerExit,
    /// Each upload's file in the root after the case: its path, and whether it holds what
    /// the probe sent (`None`: absent).
    pub stored: Vec<(String, Option<bool>)>,
    /// The scenario's real client, when it has one: how it ran and what it ended up with.
    pub client: Option<RealClientRun>,
}

/// A real client's run in a server case.
#[derive(Debug, Clone)]
pub struct RealClientRun {
    /// Its name.
    pub name: String,
    /// How it ran.
    pub run: ClientRun,
    /// Whether its download (or listing, or the server's copy of its upload) is right;
    /// `None` when there is nothing to compare.
    pub right: Option<bool>,
    /// The TLS secrets it wrote to `SSLKEYLOGFILE` (NSS key log text; empty if none).
    pub keys: String,
}

impl ServerEvidence {
    /// Every TLS secret of the case's clients (the probe's, the real client's), as NSS key
    /// log text for the packet capture.
    pub fn tls_keys(&self) -> String {
        let client = self.client.as_ref().map_or("", |c| c.keys.as_str());
        format!("{}{client}", self.probe.tls_keys)
    }
}
