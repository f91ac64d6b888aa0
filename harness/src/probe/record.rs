//! What the probe recorded: per run, per session, per step, per data connection. The runner
//! judges a server from these.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use super::steps::Expect;

/// One reply: its code and its lines, as sent (without CRLF). A multi-line reply (RFC 959
/// §4.2: `code-` ... `code `) keeps every line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// The reply code.
    pub code: u16,
    /// The lines, the first with its code (`227 Entering Passive Mode (...)`).
    pub lines: Vec<String>,
}

impl Reply {
    /// The lines joined with CRLF (what the `wire` parsers read).
    pub fn text(&self) -> String {
        self.lines.join("\r\n")
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines.join(" | "))
    }
}

/// What one call of [`crate::probe::run`] recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProbeRecord {
    /// One per session, in order.
    pub sessions: Vec<SessionRecord>,
    /// Idle connections opened.
    pub idle_opened: u32,
    /// Idle connections that could not be opened (refused, reset or timed out).
    pub idle_refused: u32,
    /// Idle connections the server closed before the sessions ended.
    pub idle_closed: u32,
    /// From the first connection to the end of the last session.
    pub elapsed: Duration,
    /// The TLS secrets of every connection, as NSS key log text (for a packet capture).
    #[serde(skip)]
    pub tls_keys: String,
}

/// One session: one control connection running the steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    /// The server's greeting (the last of them, after any 120).
    pub greeting: Option<Reply>,
    /// The steps run, in order (the session stops at a step that lost the control
    /// connection).
    pub steps: Vec<StepRecord>,
    /// Why the session ended early (connection refused or closed, timeout, a reply that is
    /// not a reply); `None` when every step ran.
    pub error: Option<String>,
}

impl SessionRecord {
    /// Whether the session sent `STOR path` (whatever the server answered).
    pub fn uploaded(&self, path: &str) -> bool {
        let line = format!("STOR {path}");
        self.steps.iter().any(|st| st.sent.contains(&line))
    }
}

/// One step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    /// The step's index in `steps` (from 0).
    pub step: usize,
    /// Command lines sent (PASS masked), without CRLF.
    pub sent: Vec<String>,
    /// Replies read, in order.
    pub replies: Vec<Reply>,
    /// The data connection, for transfer steps that got as far as making one.
    pub data: Option<DataRecord>,
    /// A change of the control connection's protection (AUTH TLS, CCC).
    pub control: Option<ControlChange>,
    /// The step's `expect`.
    pub expected: Option<Expect>,
    /// Whether the reply the expectation is checked against matched (`None`: no `expect`).
    pub met: Option<bool>,
    /// What went wrong (the session may go on).
    pub error: Option<String>,
}

/// A change of the control connection's protection during a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "change")]
pub enum ControlChange {
    /// TLS started (AUTH TLS answered 234, or implicit FTPS).
    TlsStarted {
        /// `TLSv1.2` or `TLSv1.3`.
        version: String,
    },
    /// CCC answered 2xx: the probe sent close_notify and continued in plaintext.
    TlsCleared {
        /// Whether the server sent its close_notify (within the timeout).
        server_close_notify: bool,
    },
}

/// One data connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DataRecord {
    /// What the 227/229 named (227: its address and port; 229: the control IP and its port).
    pub advertised: Option<SocketAddr>,
    /// Where the probe connected (passive), or who connected to it (active).
    pub connected: Option<SocketAddr>,
    /// Bytes moved (read for downloads and listings, written for uploads).
    pub bytes: u64,
    /// Downloads: whether the bytes are the generated content from the offset.
    pub verified: Option<bool>,
    /// Downloads: the absolute offset of the first byte that is not the generated content.
    pub first_mismatch: Option<u64>,
    /// Listings: the text (up to 64 KiB, lossy UTF-8).
    pub listing: Option<String>,
    /// TLS on the data connection.
    pub tls: Option<DataTls>,
    /// What went wrong on the data connection.
    pub error: Option<String>,
}

/// TLS on one data connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DataTls {
    /// Whether the handshake resumed a session.
    pub resumed: bool,
    /// TLS 1.3 NewSessionTickets received on this data connection.
    pub tickets: u32,
    /// Whether the server ended the data TLS with close_notify (false: TCP closed without).
    pub close_notify: bool,
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
}
