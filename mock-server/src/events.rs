//! The event log: everything the server saw and did, with timestamps.
//!
//! Every verdict ftpspec gives is made from this log, so it records facts, not interpretations:
//! the lines received, the replies sent (exact text), each data connection with its addresses,
//! byte counts and how it ended.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::sink::{GenCheck, SinkDigest};

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Time since the server started.
    pub at: Duration,
    /// The control connection it belongs to (1, 2, ...; 0 for server-wide events).
    pub session: u64,
    /// What happened.
    pub kind: EventKind,
}

/// Passive (the client connected to us) or active (we connected to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataMode {
    /// PASV/EPSV: the client connected to the server.
    Passive,
    /// PORT/EPRT: the server connected to the client.
    Active,
}

/// The control connection or a data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// The control connection.
    Control,
    /// A data connection.
    Data,
}

/// A completed TLS handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// Whether the handshake resumed an earlier session. On a data connection the server's
    /// session cache is per control connection, so `true` means it resumed a session of
    /// *this* control connection (what vsftpd's `require_ssl_reuse` checks).
    pub resumed: bool,
    /// Whether the client presented a certificate.
    pub client_certificate: bool,
    /// TLS 1.3 NewSessionTickets the server sent right after this handshake (0 for TLS 1.2,
    /// and 0 on data connections unless [`crate::Ftps::data_tickets`] is set).
    pub tickets_sent: u32,
}

/// How a data connection ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "how", content = "detail")]
pub enum DataEnd {
    /// All data moved and the connection closed normally.
    Completed,
    /// The server closed it on purpose, as a script asked.
    ClosedByScript,
    /// The client sent ABOR.
    Aborted,
    /// The control connection went away while it was open.
    ControlGone,
    /// An I/O error (the client reset or vanished).
    Error(String),
}

/// Who closed the control connection, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "by", content = "detail")]
pub enum ControlEnd {
    /// The client sent QUIT.
    Quit,
    /// The client closed the connection.
    ClientClosed,
    /// The idle timeout expired (421 sent).
    IdleTimeout,
    /// A script closed it.
    Script,
    /// The server shut down.
    Shutdown,
    /// An I/O error.
    Error(String),
}

/// The kinds of event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum EventKind {
    /// A control connection was accepted.
    Connected {
        /// The client's address.
        peer: SocketAddr,
        /// The server's address on this connection.
        local: SocketAddr,
    },
    /// A line arrived (PASS arguments are kept: this is a test server).
    Command {
        /// The line without its line end, as received: a bare CR or a NUL inside it is
        /// kept (displays show them as `\r`, `\0`). Lines that were not valid are recorded
        /// as `<too long>`, or with invalid bytes replaced by U+FFFD.
        line: String,
    },
    /// A reply went out.
    Reply {
        /// The reply code (0 when a script sent raw text without one, and for the bytes a
        /// script's `pipeline` wrote right after a reply, in the same write).
        code: u16,
        /// The exact text sent, line ends included.
        text: String,
    },
    /// A scripted mock matched a command.
    ScriptMatched {
        /// The mock's name (or its index in mount order).
        mock: String,
    },
    /// A passive listener was opened for PASV/EPSV.
    PassiveListening {
        /// The address the listener is bound to.
        local: SocketAddr,
        /// The address advertised in the reply (for EPSV, the control address with the port).
        advertised: SocketAddr,
    },
    /// The client announced an address with PORT/EPRT.
    ActiveTarget {
        /// The address the server will connect to.
        target: SocketAddr,
        /// Whether the server refused it (bounce protection or safety).
        refused: bool,
    },
    /// A data connection was established.
    DataOpened {
        /// Passive or active.
        mode: DataMode,
        /// The server's end.
        local: SocketAddr,
        /// The client's end.
        peer: SocketAddr,
    },
    /// A data transfer is throttled (the server's `data_rate`, or a transfer script's
    /// `rate`): logged when its data starts to move, after [`EventKind::DataOpened`].
    Throttled {
        /// Bytes per second, in the direction the data moves.
        bytes_per_sec: u64,
    },
    /// A data connection could not be established.
    DataFailed {
        /// Passive or active.
        mode: DataMode,
        /// The address awaited (passive) or dialled (active).
        addr: SocketAddr,
        /// Why.
        error: String,
    },
    /// A passive data connection came from another address than the control connection's
    /// peer, and the server requires them to match ([`crate::Builder::data_ip_match`]): it
    /// was closed at once and the transfer command got 425. No `DataOpened` is logged for it.
    DataPeerRefused {
        /// The listener's end.
        local: SocketAddr,
        /// The address the data connection came from.
        peer: SocketAddr,
        /// The control connection's peer, which it had to match.
        control_peer: SocketAddr,
    },
    /// A data connection closed.
    DataClosed {
        /// Passive or active.
        mode: DataMode,
        /// The server's end.
        local: SocketAddr,
        /// The client's end.
        peer: SocketAddr,
        /// Bytes the server sent.
        bytes_sent: u64,
        /// Bytes the server received.
        bytes_received: u64,
        /// How it ended.
        end: DataEnd,
        /// `None` on plaintext. Under TLS: `Some(true)` if the client's close_notify arrived,
        /// `Some(false)` if the connection ended (EOF, reset) without it, `None` if the server
        /// did not read to the end (a download, which the server closes first).
        client_close_notify: Option<bool>,
        /// `None` on plaintext. Under TLS: whether the server sent its close_notify.
        server_close_notify: Option<bool>,
    },
    /// An upload was stored (or refused for the size cap).
    Stored {
        /// Its path.
        path: String,
        /// Its size after the upload.
        size: u64,
        /// False when the data was not kept: the cap was reached, or the path is in the
        /// sink (then `sink` is set).
        kept: bool,
        /// False when the server judged the upload incomplete: it ended without the client's
        /// TLS close_notify under [`crate::Ftps::require_close_notify`], on an I/O error, or
        /// at a scripted fault mid-transfer. What was received is stored all the same.
        complete: bool,
        /// An upload into the sink (`/sink/...`, see [`crate::sink`]): the checksum of the bytes
        /// received and, for `/sink/gen/SIZE`, whether they were `/gen/SIZE`'s.
        #[serde(skip_serializing_if = "Option::is_none")]
        sink: Option<SinkDigest>,
    },
    /// The control connection closed.
    Disconnected {
        /// Who closed it.
        end: ControlEnd,
    },
    /// A TLS handshake completed (AUTH TLS, implicit FTPS, or a PROT P data connection).
    TlsEstablished {
        /// Control or data.
        channel: Channel,
        /// The client's end.
        peer: SocketAddr,
        /// What was negotiated.
        tls: TlsInfo,
    },
    /// A TLS handshake failed; the connection was closed (control) or refused (data).
    TlsFailed {
        /// Control or data.
        channel: Channel,
        /// The client's end.
        peer: SocketAddr,
        /// Why, as rustls or the OS said it (or the policy that refused it).
        error: String,
    },
    /// CCC (RFC 4217 §6): the control connection went back to plaintext.
    ControlCleared {
        /// Whether the client sent its TLS close_notify before continuing in plaintext.
        client_close_notify: bool,
    },
    /// The client sent its next line before the server wrote the reply to `answering` (for
    /// a transfer, its final reply): it did not wait, or took something else for the reply
    /// (a pipelined forged reply). Legitimate pipelining shows here too. Logged before that
    /// reply; the line is handled as usual afterwards.
    EarlyCommand {
        /// The command being answered.
        answering: String,
        /// The next line, already received (as [`EventKind::Command`] would show it).
        line: String,
    },
    /// Something the server refused to do or could not do outside the protocol (a script that
    /// does not fit the command, a refused safety check, an accept error).
    Warning {
        /// What happened.
        message: String,
    },
}

/// A command line for display: a CR or NUL inside it (kept as received in the log) shown
/// as `\r` and `\0`.
fn shown(line: &str) -> std::borrow::Cow<'_, str> {
    if line.contains(['\r', '\0']) {
        line.replace('\r', "\\r").replace('\0', "\\0").into()
    } else {
        line.into()
    }
}

/// A snapshot of the event log, with queries and a transcript for failure messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventLog {
    /// The events, in order.
    pub events: Vec<Event>,
    /// Events dropped because the log reached its cap.
    pub dropped: u64,
}

/// A data connection, summarised from its open and close events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataConnection {
    /// The control connection it belongs to.
    pub session: u64,
    /// Passive or active.
    pub mode: DataMode,
    /// The server's end.
    pub local: SocketAddr,
    /// The client's end.
    pub peer: SocketAddr,
    /// Bytes the server sent.
    pub bytes_sent: u64,
    /// Bytes the server received.
    pub bytes_received: u64,
    /// How it ended (`None` while still open).
    pub end: Option<DataEnd>,
    /// Its TLS handshake, under PROT P (`None`: plaintext).
    pub tls: Option<TlsInfo>,
    /// See [`EventKind::DataClosed`] (`None` while still open).
    pub client_close_notify: Option<bool>,
    /// See [`EventKind::DataClosed`] (`None` while still open).
    pub server_close_notify: Option<bool>,
}

impl EventLog {
    /// The command lines received, in order, across all sessions.
    pub fn commands(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Command { line } => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }

    /// How many control connections the server accepted (a client that reconnects after a
    /// refused greeting makes two or more).
    pub fn control_connections(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Connected { .. }))
            .count()
    }

    /// The verbs received (upper-cased), in order.
    pub fn verbs(&self) -> Vec<String> {
        self.commands()
            .iter()
            .map(|l| l.split(' ').next().unwrap_or("").to_ascii_uppercase())
            .collect()
    }

    /// The reply codes sent, in order.
    pub fn reply_codes(&self) -> Vec<u16> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Reply { code, .. } => Some(*code),
                _ => None,
            })
            .collect()
    }

    /// Every data connection that was opened, with its final byte counts.
    pub fn data_connections(&self) -> Vec<DataConnection> {
        let mut out: Vec<DataConnection> = Vec::new();
        for e in &self.events {
            match &e.kind {
                EventKind::DataOpened { mode, local, peer } => out.push(DataConnection {
                    session: e.session,
                    mode: *mode,
                    local: *local,
                    peer: *peer,
                    bytes_sent: 0,
                    bytes_received: 0,
                    end: None,
                    tls: None,
                    client_close_notify: None,
                    server_close_notify: None,
                }),
                EventKind::TlsEstablished {
                    channel: Channel::Data,
                    peer,
                    tls,
                } => {
                    if let Some(c) = out
                        .iter_mut()
                        .rev()
                        .find(|c| c.session == e.session && c.peer == *peer && c.end.is_none())
                    {
                        c.tls = Some(tls.clone());
                    }
                }
                EventKind::DataClosed {
                    local,
                    peer,
                    bytes_sent,
                    bytes_received,
                    end,
                    client_close_notify,
                    server_close_notify,
                    ..
                } => {
                    if let Some(c) = out.iter_mut().rev().find(|c| {
                        c.session == e.session
                            && c.local == *local
                            && c.peer == *peer
                            && c.end.is_none()
                    }) {
                        c.bytes_sent = *bytes_sent;
                        c.bytes_received = *bytes_received;
                        c.end = Some(end.clone());
                        c.client_close_notify = *client_close_notify;
                        c.server_close_notify = *server_close_notify;
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The TLS handshakes of control connections, in order, with their session numbers.
    pub fn control_tls(&self) -> Vec<(u64, TlsInfo)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::TlsEstablished {
                    channel: Channel::Control,
                    tls,
                    ..
                } => Some((e.session, tls.clone())),
                _ => None,
            })
            .collect()
    }

    /// The failed TLS handshakes: channel and error.
    pub fn tls_failures(&self) -> Vec<(Channel, &str)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::TlsFailed { channel, error, .. } => Some((*channel, error.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Whether a CCC took effect, and for each whether the client sent close_notify.
    pub fn control_cleared(&self) -> Vec<bool> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ControlCleared {
                    client_close_notify,
                } => Some(*client_close_notify),
                _ => None,
            })
            .collect()
    }

    /// The addresses the client announced with PORT/EPRT, refused or not.
    pub fn active_targets(&self) -> Vec<SocketAddr> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ActiveTarget { target, .. } => Some(*target),
                _ => None,
            })
            .collect()
    }

    /// The [`EventKind::EarlyCommand`]s: the command being answered and the line that came
    /// before its reply.
    pub fn early_commands(&self) -> Vec<(&str, &str)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::EarlyCommand { answering, line } => {
                    Some((answering.as_str(), line.as_str()))
                }
                _ => None,
            })
            .collect()
    }

    /// The passive data connections refused by [`crate::Builder::data_ip_match`]: (the
    /// address the connection came from, the control connection's peer).
    pub fn data_peers_refused(&self) -> Vec<(SocketAddr, SocketAddr)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::DataPeerRefused {
                    peer, control_peer, ..
                } => Some((*peer, *control_peer)),
                _ => None,
            })
            .collect()
    }

    /// Whether the last upload stored at `path` was complete (false when none was).
    pub fn stored_complete(&self, path: &str) -> bool {
        let mut stores = self.events.iter().filter_map(|e| match &e.kind {
            EventKind::Stored {
                path: p, complete, ..
            } if p == path => Some(*complete),
            _ => None,
        });
        stores.next_back().unwrap_or(false)
    }

    /// The size and the sink's record of the last upload stored at `path`, if it went into
    /// the sink (see [`crate::sink`]).
    pub fn sink_upload(&self, path: &str) -> Option<(u64, &SinkDigest)> {
        self.events.iter().rev().find_map(|e| match &e.kind {
            EventKind::Stored {
                path: p,
                size,
                sink,
                ..
            } if p == path => Some((*size, sink.as_ref()?)),
            _ => None,
        })
    }

    /// How many listings (LIST, NLST, MLSD) went out whole: data connections that completed
    /// with bytes sent, for a listing command of their control connection.
    pub fn listings_sent(&self) -> usize {
        let mut last_verb: std::collections::HashMap<u64, String> = Default::default();
        let mut count = 0;
        for e in &self.events {
            match &e.kind {
                EventKind::Command { line } => {
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    if ["LIST", "NLST", "MLSD", "RETR", "STOR", "APPE"].contains(&verb.as_str()) {
                        last_verb.insert(e.session, verb);
                    }
                }
                EventKind::DataClosed {
                    bytes_sent, end, ..
                } if *end == DataEnd::Completed && *bytes_sent > 0 => {
                    let verb = last_verb.get(&e.session).map(String::as_str);
                    if matches!(verb, Some("LIST" | "NLST" | "MLSD")) {
                        count += 1;
                    }
                }
                _ => {}
            }
        }
        count
    }

    /// Each control connection's command lines before its TLS handshake (all of them, for
    /// one that never turned TLS), in order.
    pub fn commands_before_control_tls(&self) -> Vec<&str> {
        let mut secured = std::collections::HashSet::new();
        let mut before = Vec::new();
        for e in &self.events {
            match &e.kind {
                EventKind::TlsEstablished {
                    channel: Channel::Control,
                    ..
                } => {
                    secured.insert(e.session);
                }
                EventKind::Command { line } if !secured.contains(&e.session) => {
                    before.push(line.as_str())
                }
                _ => {}
            }
        }
        before
    }

    /// Whether any event is a [`EventKind::Warning`].
    pub fn warnings(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Warning { message } => Some(message.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The log as text, one event a line: `[session] C> command`, `[session] S< reply`, and
    /// data connection lines. Used in every failure message.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            let _ = writeln!(out, "{e}");
        }
        if self.dropped > 0 {
            let _ = writeln!(
                out,
                "... {} later events dropped (event log cap reached)",
                self.dropped
            );
        }
        out
    }

    /// The control-channel dialogue only (commands and replies, no timestamps), e.g. for
    /// snapshots: `C: USER anonymous` / `S: 331 ...`, with `==` lines where TLS starts on a
    /// connection, fails, or ends on the control connection (CCC).
    pub fn dialogue(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            match &e.kind {
                EventKind::Command { line } => {
                    let _ = writeln!(out, "C: {}", shown(line));
                }
                EventKind::Reply { text, .. } => {
                    for line in text.trim_end_matches(['\r', '\n']).split("\r\n") {
                        let _ = writeln!(out, "S: {line}");
                    }
                }
                EventKind::TlsEstablished { channel, tls, .. } => {
                    let _ = writeln!(
                        out,
                        "== {} TLS: {}, {}{}",
                        match channel {
                            Channel::Control => "control",
                            Channel::Data => "data",
                        },
                        tls.version,
                        if tls.resumed {
                            "resumed session"
                        } else {
                            "new session"
                        },
                        // Control connections always get rustls's tickets; only data
                        // connections' are news.
                        match (channel, tls.tickets_sent) {
                            (Channel::Data, n @ 1..) => format!(", {}", tickets(n)),
                            _ => String::new(),
                        }
                    );
                }
                EventKind::DataClosed {
                    client_close_notify,
                    server_close_notify,
                    ..
                } => {
                    if let Some(notes) =
                        close_notify_notes(*client_close_notify, *server_close_notify, false)
                    {
                        let _ = writeln!(out, "== data TLS closed: {notes}");
                    }
                }
                EventKind::TlsFailed { channel, .. } => {
                    let _ = writeln!(out, "== {channel:?} TLS handshake failed");
                }
                EventKind::ControlCleared { .. } => {
                    let _ = writeln!(out, "== CCC: control connection back to plaintext");
                }
                EventKind::EarlyCommand { line, .. } => {
                    let _ = writeln!(out, "== early: {line:?} arrived before this reply");
                }
                _ => {}
            }
        }
        out
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.at.as_millis();
        write!(f, "{:>4}.{:03}s #{} ", ms / 1000, ms % 1000, self.session)?;
        match &self.kind {
            EventKind::Connected { peer, local } => write!(f, "connected {peer} -> {local}"),
            EventKind::Command { line } => write!(f, "C> {}", shown(line)),
            EventKind::Reply { text, .. } => {
                write!(f, "S< {}", text.trim_end_matches(['\r', '\n']).replace("\r\n", "\n             S< "))
            }
            EventKind::ScriptMatched { mock } => write!(f, "script: mock {mock} matched"),
            EventKind::PassiveListening { local, advertised } => {
                write!(f, "data: passive listener on {local}, advertised as {advertised}")
            }
            EventKind::ActiveTarget { target, refused } => {
                write!(f, "data: client announced {target}{}", if *refused { " (refused)" } else { "" })
            }
            EventKind::DataOpened { mode, local, peer } => write!(f, "data: {mode:?} connection {peer} <-> {local} open"),
            EventKind::Throttled { bytes_per_sec } => write!(f, "data: throttled to {bytes_per_sec} bytes/s"),
            EventKind::DataFailed { mode, addr, error } => write!(f, "data: {mode:?} connection to/at {addr} failed: {error}"),
            EventKind::DataPeerRefused { local, peer, control_peer } => write!(
                f,
                "data: passive connection from {peer} to {local} refused: not from the control connection's peer {control_peer} (data_ip_match)"
            ),
            EventKind::DataClosed { mode, peer, bytes_sent, bytes_received, end, client_close_notify, server_close_notify, .. } => write!(
                f,
                "data: {mode:?} connection with {peer} closed ({end:?}), {bytes_sent} bytes sent, {bytes_received} received{}",
                close_notify_notes(*client_close_notify, *server_close_notify, true).map(|n| format!("; {n}")).unwrap_or_default()
            ),
            EventKind::Stored { path, size, kept, complete, sink } => write!(
                f,
                "stored {path} ({size} bytes){}{}",
                match (sink, kept) {
                    (Some(d), _) => format!(", into the sink: checksum {}{}", d.checksum, match d.gen {
                        None => String::new(),
                        Some(GenCheck::Match) => ", equal to /gen".into(),
                        Some(GenCheck::Mismatch { at }) => format!(", NOT equal to /gen from byte {at}"),
                    }),
                    (None, true) => String::new(),
                    (None, false) => ", NOT kept: upload cap reached".into(),
                },
                if *complete { "" } else { ", INCOMPLETE" }
            ),
            EventKind::Disconnected { end } => write!(f, "control connection closed: {end:?}"),
            EventKind::TlsEstablished { channel, peer, tls } => write!(
                f,
                "tls: {channel:?} with {peer}: {} {}{}{}{}",
                tls.version,
                tls.cipher,
                if tls.resumed { ", resumed session" } else { ", new session" },
                if tls.client_certificate { ", client certificate" } else { "" },
                if tls.tickets_sent > 0 { format!(", {}", tickets(tls.tickets_sent)) } else { String::new() }
            ),
            EventKind::TlsFailed { channel, peer, error } => {
                write!(f, "tls: {channel:?} handshake with {peer} failed: {error}")
            }
            EventKind::ControlCleared { client_close_notify } => write!(
                f,
                "tls: CCC: control connection back to plaintext ({})",
                if *client_close_notify { "client sent close_notify" } else { "client sent no close_notify" }
            ),
            EventKind::EarlyCommand { answering, line } => {
                write!(f, "early: {line:?} arrived before the reply to {answering:?}")
            }
            EventKind::Warning { message } => write!(f, "warning: {message}"),
        }
    }
}

/// "1 ticket sent", "3 tickets sent".
fn tickets(n: u32) -> String {
    format!("{n} ticket{} sent", if n == 1 { "" } else { "s" })
}

/// The close_notify facts of a TLS data connection in words: all of them (`all`, for the
/// transcript), or only the missing alerts (for the dialogue); `None` on plaintext or when
/// there is nothing to say.
fn close_notify_notes(client: Option<bool>, server: Option<bool>, all: bool) -> Option<String> {
    server?;
    let mut notes = Vec::new();
    match client {
        Some(true) if all => notes.push("client sent close_notify"),
        Some(false) => notes.push("no close_notify from client"),
        None if all => notes.push("client close_notify not awaited"),
        _ => {}
    }
    match server {
        Some(true) if all => notes.push("server sent close_notify"),
        Some(false) => notes.push("no close_notify from server"),
        _ => {}
    }
    (!notes.is_empty()).then(|| notes.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(kinds: Vec<(u64, EventKind)>) -> EventLog {
        let events = kinds.into_iter().map(|(session, kind)| Event {
            at: Duration::ZERO,
            session,
            kind,
        });
        EventLog {
            events: events.collect(),
            dropped: 0,
        }
    }

    fn command(line: &str) -> EventKind {
        EventKind::Command { line: line.into() }
    }

    fn closed(bytes_sent: u64, end: DataEnd) -> EventKind {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        EventKind::DataClosed {
            mode: DataMode::Passive,
            local: addr,
            peer: addr,
            bytes_sent,
            bytes_received: 0,
            end,
            client_close_notify: None,
            server_close_notify: None,
        }
    }

    fn stored(path: &str, complete: bool) -> EventKind {
        EventKind::Stored {
            path: path.into(),
            size: 1,
            kept: true,
            complete,
            sink: None,
        }
    }

    #[test]
    fn listings_sent_counts_whole_listings_only() {
        let l = log(vec![
            (1, command("LIST /gen")),
            (1, closed(200, DataEnd::Completed)),
            (1, command("RETR /gen/1K")),
            (1, closed(1024, DataEnd::Completed)),
            (2, command("mlsd")),
            (1, command("NLST")),
            (2, closed(50, DataEnd::Error("reset".into()))),
            (1, closed(0, DataEnd::Completed)),
        ]);
        assert_eq!(l.listings_sent(), 1);
    }

    #[test]
    fn stored_complete_takes_the_last_store_of_the_path() {
        let l = log(vec![
            (1, stored("/a", false)),
            (1, stored("/b", false)),
            (1, stored("/a", true)),
        ]);
        assert!(l.stored_complete("/a"));
        assert!(!l.stored_complete("/b"));
        assert!(!l.stored_complete("/c"));
    }

    #[test]
    fn commands_before_control_tls_per_connection() {
        let tls = EventKind::TlsEstablished {
            channel: Channel::Control,
            peer: "127.0.0.1:1".parse().unwrap(),
            tls: TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "x".into(),
                resumed: false,
                client_certificate: false,
                tickets_sent: 2,
            },
        };
        let l = log(vec![
            (1, command("AUTH TLS")),
            (1, tls),
            (1, command("USER a")),
            (2, command("USER b")),
        ]);
        assert_eq!(l.commands_before_control_tls(), ["AUTH TLS", "USER b"]);
    }
}
