//! Scripting: matchers + responders, in the style of wiremock-rs.
//!
//! A [`Mock`] is matched against every command line before the server's own handling. The first
//! mounted mock (in mount order) whose matchers all match, and that has not used up its
//! [`Mock::up_to_n_times`], decides what happens:
//!
//! ```
//! use ftpspec_mock::script::{command, reply, passive_reply, transfer, Mock};
//! // Refuse EPSV so the client must fall back to PASV.
//! let refuse = Mock::given(command("EPSV")).respond_with(reply(502, "EPSV not allowed"));
//! // A 227 without parentheses; a real listener stands behind the port.
//! let odd = Mock::given(command("PASV"))
//!     .respond_with(passive_reply("227 Entering Passive Mode {h1},{h2},{h3},{h4},{p1},{p2}"));
//! // Close the data connection after 1000 bytes of a download.
//! let cut = Mock::given(command("RETR")).respond_with(transfer().close_data_after(1000));
//! ```
//!
//! The same mocks in TOML (the `[[script]]` tables of a server file or a scenario):
//!
//! ```toml
//! [[script]]
//! command = "EPSV"
//! reply = "502 EPSV not allowed"
//!
//! [[script]]
//! command = "PASV"
//! passive = "227 Entering Passive Mode {h1},{h2},{h3},{h4},{p1},{p2}"
//!
//! [[script]]
//! command = "RETR"
//! transfer = { fault = "close-data", at = "mid-transfer", after_bytes = 1000 }
//! ```
//!
//! Keys of a `[[script]]` table: `name`; matchers `command` (a verb, or `"*"` for any line),
//! `arg` (exact argument), `arg_contains`, or instead of them `greeting = true` (the
//! connection's opening, see [`greeting`]: the responder replaces the 220); limits `times`
//! (respond to at most N matches, then fall through; counted over every connection of the
//! server, so `times = 2` on a 421 fails the first two connections or commands and lets the
//! third succeed, curl's test-suite COUNT) and `expect` (`3`, `"1.."`, `"..=2"`, `"2..=4"`: checked by
//! [`crate::MockServer::verify`]); `delay_ms` before responding; exactly one action: `reply`
//! (`"CODE text"`, `\n` for multi-line), `raw` (sent byte for byte: include `\r\n`), `close =
//! true` (drop the control connection, no reply), `proceed = true` (normal handling, e.g. after
//! a delay), `passive` (a 227/229 template, see [`passive_reply`]), `transfer` (a table, see
//! [`TransferScript`]); and `then_close = true` to drop the control connection after replying.
//! Shaping of the first reply written for the command (with `reply`, `proceed`, `raw`,
//! `passive` or `transfer`; alone they imply `proceed`): `pipeline = "TEXT"` (exact bytes
//! written right after the reply, in the same write: see [`Responder::pipeline`]) and `pad =
//! { lines = N, line_bytes = M }` (N filler lines `CODE-` + M bytes before the final line: see
//! [`Responder::pad`]).
//!
//! ```toml
//! [[script]]
//! command = "AUTH"
//! proceed = true
//! pipeline = "230 Logged in before TLS.\r\n"   # CVE-2021-22947's trigger
//!
//! [[script]]
//! command = "RETR"
//! transfer = { preliminary = "125 Data connection already open; transfer starting.", early_final_reply = true }
//!
//! [[script]]
//! command = "STOR"
//! transfer = { final_reply_delay_ms = 65000 }
//!
//! [[script]]
//! command = "RETR"
//! transfer = { rate = "20K" }   # this download at 20 KiB/s
//! ```
//!
//! A server that refuses the first connection, as vsftpd does past `max_clients` ("421
//! There are too many connected users, please try later.") and ProFTPD past `MaxClients`;
//! the event log shows `script: mock busy matched` on that session, then its 421 and its
//! disconnection (`control connection closed: Script`):
//!
//! ```toml
//! [[script]]
//! name = "busy"
//! greeting = true
//! times = 1
//! reply = "421 There are too many connected users, please try later."
//! then_close = true
//! ```
//!
//! Whether a client waited for a reply shows in the event log: a line it sent before the
//! reply to its command (for a transfer, the final reply) is an `EarlyCommand` event
//! ([`crate::EventLog::early_commands`]). With `delay_ms` on the next command, a client that
//! took a pipelined forged reply as its answer is seen going on without the real one.

use std::ops::{Bound, RangeBounds};
use std::time::Duration;

use serde::Deserialize;

use crate::control::reply::Reply;
use crate::error::Error;

/// What a mock matches on. Combine with [`MockBuilder::and`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher(MatchKind);

#[derive(Debug, Clone, PartialEq, Eq)]
enum MatchKind {
    Verb(String),
    Arg(String),
    ArgContains(String),
    Any,
    Greeting,
}

impl Matcher {
    pub(crate) fn matches(&self, verb: &str, arg: &str) -> bool {
        match &self.0 {
            MatchKind::Verb(v) => v.eq_ignore_ascii_case(verb),
            MatchKind::Arg(a) => a == arg,
            MatchKind::ArgContains(a) => arg.contains(a.as_str()),
            MatchKind::Any => true,
            MatchKind::Greeting => false,
        }
    }
}

/// Matches a command verb, case-insensitively (`command("RETR")`). Any verb works, including
/// ones the server does not implement (`command("SITE")`).
pub fn command(verb: &str) -> Matcher {
    Matcher(MatchKind::Verb(verb.to_owned()))
}

/// Matches an exact argument (`arg("/gen/1M")`).
pub fn arg(exact: &str) -> Matcher {
    Matcher(MatchKind::Arg(exact.to_owned()))
}

/// Matches an argument containing `part`.
pub fn arg_contains(part: &str) -> Matcher {
    Matcher(MatchKind::ArgContains(part.to_owned()))
}

/// Matches every line.
pub fn any_command() -> Matcher {
    Matcher(MatchKind::Any)
}

/// Matches the opening of a control connection, where the server writes its greeting (RFC
/// 959 §5.4: 220, or 421 from a server that refuses the connection), instead of a command
/// line. No line matcher combines with it ([`crate::Builder::build`] refuses that). Its
/// responder replaces the greeting: [`reply`] (e.g. 421, with [`Responder::then_close`], as
/// vsftpd answers past `max_clients`), [`raw`], [`close_control`] (no greeting at all), or
/// [`proceed`] (the normal greeting, after [`Responder::delay`]). With
/// [`Mock::up_to_n_times`], which counts over every connection of the server, the first N
/// connections are refused and the next ones served: "fail N times, then succeed".
///
/// ```
/// use ftpspec_mock::script::{greeting, reply, Mock};
/// let busy = Mock::given(greeting())
///     .respond_with(reply(421, "There are too many connected users, please try later.").then_close())
///     .up_to_n_times(1);
/// ```
pub fn greeting() -> Matcher {
    Matcher(MatchKind::Greeting)
}

/// How many times a mock is expected to match, checked by [`crate::MockServer::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    min: u64,
    max: Option<u64>,
}

impl Times {
    pub(crate) fn contains(&self, n: u64) -> bool {
        n >= self.min && self.max.is_none_or(|m| n <= m)
    }
}

impl std::fmt::Display for Times {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.max {
            Some(max) if max == self.min => write!(f, "exactly {max}"),
            Some(max) => write!(f, "between {} and {max}", self.min),
            None => write!(f, "at least {}", self.min),
        }
    }
}

impl From<u64> for Times {
    fn from(n: u64) -> Self {
        Times {
            min: n,
            max: Some(n),
        }
    }
}

macro_rules! times_from_range {
    ($($t:ty),*) => {$(
        impl From<$t> for Times {
            fn from(r: $t) -> Self {
                let min = match r.start_bound() {
                    Bound::Included(n) => *n,
                    Bound::Excluded(n) => n + 1,
                    Bound::Unbounded => 0,
                };
                let max = match r.end_bound() {
                    Bound::Included(n) => Some(*n),
                    Bound::Excluded(n) => Some(n.saturating_sub(1)),
                    Bound::Unbounded => None,
                };
                Times { min, max }
            }
        }
    )*};
}
times_from_range!(
    std::ops::Range<u64>,
    std::ops::RangeInclusive<u64>,
    std::ops::RangeFrom<u64>,
    std::ops::RangeTo<u64>,
    std::ops::RangeToInclusive<u64>
);

/// When the data connection is accepted (passive) or dialled (active).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accept {
    /// At once (the default).
    #[default]
    Normal,
    /// Never: the passive listener stays open but is never accepted from (the kernel still
    /// completes the TCP handshake), or the active connection is never dialled. No 150 is sent.
    Never,
    /// After a delay.
    After(Duration),
}

/// A point in a transfer where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// The data connection is open, 150 not yet sent.
    Before150,
    /// After this many bytes have moved on the data connection.
    MidTransfer(u64),
    /// All data moved and the data connection closed, 226 not yet sent. (`CloseData` here is
    /// a no-op: the data connection is already closed.)
    Before226,
}

/// What happens at a [`FaultPoint`]. In TOML: `fault = "close-data" | "close-control" |
/// "stall"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    /// Close the data connection; the control connection then gets 425 (before 150) or 426
    /// (mid-transfer), unless [`TransferScript::final_reply`] says otherwise.
    CloseData,
    /// Close the control connection (and the data connection with it).
    CloseControl,
    /// Hold everything open and send nothing more (tests a client's timeouts).
    Stall,
}

/// Scripted behaviour of one data transfer (RETR, STOR, APPE, LIST, NLST, MLSD).
///
/// TOML (`transfer = { ... }`): `accept = "normal" | "never"`, `accept_delay_ms`,
/// `fault = "close-data" | "close-control" | "stall"`, `at = "before-150" | "mid-transfer" |
/// "before-226"`, `after_bytes` (with `mid-transfer`), `final_reply = "CODE text"`,
/// `preliminary = "125 text"` (any 1xx, instead of 150), `early_final_reply = true`
/// (downloads and listings), `final_reply_delay_ms`, `rate = "20K"` (bytes per second).
///
/// ```
/// use std::time::Duration;
/// use ftpspec_mock::script::transfer;
/// // Microsoft FTP Service style: 125, and the 226 in the same segment, before any data.
/// let iis = transfer()
///     .preliminary(125, "Data connection already open; Transfer starting.")
///     .early_final_reply();
/// // A server slow to confirm an upload.
/// let slow = transfer().final_reply_delay(Duration::from_secs(65));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "a transfer script does nothing until it is the responder of a mounted mock"]
pub struct TransferScript {
    pub(crate) accept: Accept,
    pub(crate) fault: Option<(FaultPoint, FaultAction)>,
    pub(crate) final_reply: Option<Reply>,
    /// Sent instead of the 150 (a 1xx reply, checked by `build()`).
    pub(crate) preliminary: Option<Reply>,
    /// The final reply goes out with the preliminary one, before any data moves.
    pub(crate) early_final_reply: bool,
    /// The final reply waits this long after the data connection closed.
    pub(crate) final_reply_delay: Option<Duration>,
    /// Bytes per second for this transfer (wins over the server's `data_rate`).
    pub(crate) rate: Option<u64>,
}

/// A transfer with normal behaviour, to be changed with the methods of [`TransferScript`].
pub fn transfer() -> TransferScript {
    TransferScript::default()
}

impl TransferScript {
    /// Never accept (passive) or dial (active) the data connection.
    pub fn never_accept(mut self) -> Self {
        self.accept = Accept::Never;
        self
    }

    /// Accept or dial the data connection only after `delay`.
    pub fn accept_after(mut self, delay: Duration) -> Self {
        self.accept = Accept::After(delay);
        self
    }

    /// Inject `action` at `point`.
    pub fn fault(mut self, point: FaultPoint, action: FaultAction) -> Self {
        self.fault = Some((point, action));
        self
    }

    /// Close the data connection after `bytes` bytes (426 follows).
    pub fn close_data_after(self, bytes: u64) -> Self {
        self.fault(FaultPoint::MidTransfer(bytes), FaultAction::CloseData)
    }

    /// Close the control connection after `bytes` bytes of data.
    pub fn close_control_after(self, bytes: u64) -> Self {
        self.fault(FaultPoint::MidTransfer(bytes), FaultAction::CloseControl)
    }

    /// Replace the final reply (226, or 426 after a data fault) with this one.
    pub fn final_reply(mut self, code: u16, text: &str) -> Self {
        self.final_reply = Some(Reply::new(code, text));
        self
    }

    /// Send this preliminary reply instead of 150 (any 1xx code, e.g. 125 as the Microsoft
    /// FTP Service sends; [`crate::Builder::build`] refuses other codes).
    pub fn preliminary(mut self, code: u16, text: &str) -> Self {
        self.preliminary = Some(Reply::new(code, text));
        self
    }

    /// Send the final reply (226, or [`TransferScript::final_reply`]) in the same write as the
    /// preliminary reply, before any data moves: passive, right after the accept; active,
    /// before the server dials the client. The data then moves in full and the data
    /// connection closes; no other reply follows. Downloads and listings only: on an upload
    /// the server logs a Warning and behaves normally. Wins over
    /// [`TransferScript::final_reply_delay`].
    pub fn early_final_reply(mut self) -> Self {
        self.early_final_reply = true;
        self
    }

    /// Send the final reply this long after the data connection closed (a server slow to
    /// confirm an upload).
    pub fn final_reply_delay(mut self, delay: Duration) -> Self {
        self.final_reply_delay = Some(delay);
        self
    }

    /// Throttle this transfer to `bytes_per_sec`, either direction (wins over
    /// [`crate::Builder::data_rate`]): a transfer of N bytes lasts about N / rate seconds.
    /// 0 is refused by `build()`.
    ///
    /// ```
    /// use ftpspec_mock::script::{command, transfer, Mock};
    /// // A 900 KiB download that lasts 45 s.
    /// let slow = Mock::given(command("RETR")).respond_with(transfer().rate(20 * 1024));
    /// ```
    pub fn rate(mut self, bytes_per_sec: u64) -> Self {
        self.rate = Some(bytes_per_sec);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Reply(Reply),
    Raw(String),
    Close,
    Proceed,
    Passive(String),
    Transfer(TransferScript),
}

/// What a mock does when it matches. Made by [`reply`], [`raw`], [`close_control`],
/// [`proceed`], [`passive_reply`] or a [`TransferScript`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a responder does nothing until passed to respond_with"]
pub struct Responder {
    pub(crate) action: Action,
    pub(crate) delay: Option<Duration>,
    pub(crate) then_close: bool,
    /// How the first reply to the command is shaped on the wire (padding, pipelined bytes).
    pub(crate) shape: Shape,
}

/// Filler lines that make a reply multi-line: see [`Responder::pad`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad {
    /// How many filler lines.
    pub lines: usize,
    /// Filler bytes on each line, after `CODE-`.
    pub line_bytes: usize,
}

/// The most filler one reply may carry (lines times bytes), so a typo cannot exhaust memory.
pub const MAX_PAD_BYTES: usize = 64 << 20;

/// How the first reply written for a command goes on the wire, apart from its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Filler lines before the reply's final line.
    pub(crate) pad: Option<Pad>,
    /// Bytes written right after the reply, in the same write.
    pub(crate) pipeline: Option<String>,
}

impl Shape {
    pub(crate) fn is_empty(&self) -> bool {
        self.pad.is_none() && self.pipeline.is_none()
    }
}

impl From<Action> for Responder {
    fn from(action: Action) -> Self {
        Responder {
            action,
            delay: None,
            then_close: false,
            shape: Shape::default(),
        }
    }
}

impl From<TransferScript> for Responder {
    fn from(script: TransferScript) -> Self {
        Action::Transfer(script).into()
    }
}

impl Responder {
    /// Wait this long before responding.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Close the control connection right after responding (e.g. `reply(421, ...)`).
    pub fn then_close(mut self) -> Self {
        self.then_close = true;
        self
    }

    /// Write `text` (exact bytes: write the `\r\n` yourself) right after the reply, in the
    /// same write: unsolicited extra replies (two replies to one CWD) or, after the 234 of
    /// `AUTH TLS`, plaintext replies sent before the TLS handshake (CVE-2021-22947). The
    /// bytes follow the first reply written for the command (for a transfer, its preliminary
    /// reply) and are logged as a `Reply` event with code 0.
    ///
    /// ```
    /// use ftpspec_mock::script::{command, proceed, Mock};
    /// let forged = Mock::given(command("AUTH"))
    ///     .respond_with(proceed().pipeline("230 Logged in (forged before TLS).\r\n"));
    /// ```
    pub fn pipeline(mut self, text: &str) -> Self {
        self.shape.pipeline = Some(text.to_owned());
        self
    }

    /// Make the reply multi-line: `lines` filler lines, each `CODE-` and `line_bytes` filler
    /// bytes, before its final line (`pad(1000, 60)`: a long reply; `pad(1, 20_000)`: one line
    /// over 16 KiB). Applies to the first reply written for the command. At most
    /// [`MAX_PAD_BYTES`] of filler (checked by `build()`).
    pub fn pad(mut self, lines: usize, line_bytes: usize) -> Self {
        self.shape.pad = Some(Pad { lines, line_bytes });
        self
    }
}

/// Reply with this code and text (newlines make a multi-line reply) instead of the normal
/// handling.
pub fn reply(code: u16, text: &str) -> Responder {
    Action::Reply(Reply::new(code, text)).into()
}

/// Send `text` exactly as given (include the `\r\n` yourself; leave it out to test clients
/// against broken line ends).
pub fn raw(text: &str) -> Responder {
    Action::Raw(text.to_owned()).into()
}

/// Close the control connection without a reply.
pub fn close_control() -> Responder {
    Action::Close.into()
}

/// Handle the command normally (useful with [`Responder::delay`]).
pub fn proceed() -> Responder {
    Action::Proceed.into()
}

/// For PASV or EPSV: open the passive listener as usual, but reply with `template`, where
/// `{h1}`..`{h4}` are the octets of the address that would have been advertised, `{p1}` `{p2}`
/// the port's high and low bytes, `{port}` the port. The listener stands behind the port
/// whatever the text says. Examples:
///
/// | case | template |
/// |---|---|
/// | no parentheses | `227 Entering Passive Mode {h1},{h2},{h3},{h4},{p1},{p2}` |
/// | extra text | `227 Entering Passive Mode. Connect to ({h1},{h2},{h3},{h4},{p1},{p2}) now, please.` |
/// | zero address | `227 Entering Passive Mode (0,0,0,0,{p1},{p2})` |
/// | out of range | `227 Entering Passive Mode (256,0,0,1,{p1},{p2})` |
/// | odd EPSV | `229 Entering Extended Passive Mode (!!!{port}!)` |
/// | multi-line | `227-listen socket created\r\n227 Entering Passive Mode ({h1},{h2},{h3},{h4},{p1},{p2})` |
///
/// Outside an ftpspec network namespace, a template whose address is not loopback (or
/// 0.0.0.0/8) is refused by `build()`, like any other non-loopback advertised address. A
/// multi-line template is read as a client reads it (the address is on the last line, after
/// the reply code), and an address on any of its lines must be loopback.
pub fn passive_reply(template: &str) -> Responder {
    Action::Passive(template.to_owned()).into()
}

/// Fills a passive-reply template: `{h1}`..`{h4}`, `{p1}`, `{p2}`, `{port}`.
pub(crate) fn render_template(template: &str, ip: std::net::Ipv4Addr, port: u16) -> String {
    let [h1, h2, h3, h4] = ip.octets();
    template
        .replace("{h1}", &h1.to_string())
        .replace("{h2}", &h2.to_string())
        .replace("{h3}", &h3.to_string())
        .replace("{h4}", &h4.to_string())
        .replace("{p1}", &(port >> 8).to_string())
        .replace("{p2}", &(port & 0xff).to_string())
        .replace("{port}", &port.to_string())
}

/// Starts a mock: `Mock::given(command("PASV"))`.
#[derive(Debug, Clone)]
#[must_use = "a mock needs a responder: call respond_with"]
pub struct MockBuilder {
    matchers: Vec<Matcher>,
}

impl MockBuilder {
    /// Adds a matcher; all must match.
    pub fn and(mut self, matcher: Matcher) -> Self {
        self.matchers.push(matcher);
        self
    }

    /// Completes the mock.
    pub fn respond_with(self, responder: impl Into<Responder>) -> Mock {
        Mock {
            matchers: self.matchers,
            responder: responder.into(),
            limit: None,
            expect: None,
            name: None,
        }
    }
}

/// A scripted behaviour: matchers plus a responder. Mount it with
/// [`crate::Builder::mount`] or [`crate::MockServer::mount`].
#[derive(Debug, Clone)]
#[must_use = "a mock does nothing until it is mounted"]
pub struct Mock {
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) responder: Responder,
    pub(crate) limit: Option<u64>,
    pub(crate) expect: Option<Times>,
    pub(crate) name: Option<String>,
}

impl Mock {
    /// Starts a mock with its first matcher.
    pub fn given(matcher: Matcher) -> MockBuilder {
        MockBuilder {
            matchers: vec![matcher],
        }
    }

    /// Respond to at most `n` matches; later matches fall through to the next mock or to the
    /// normal handling.
    pub fn up_to_n_times(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Expect this many matches (`1`, `1..`, `..=2`); checked on verify and on drop.
    pub fn expect(mut self, times: impl Into<Times>) -> Self {
        self.expect = Some(times.into());
        self
    }

    /// A name for failure messages and the event log.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub(crate) fn matches(&self, verb: &str, arg: &str) -> bool {
        self.matchers.iter().all(|m| m.matches(verb, arg))
    }

    /// Whether this mock answers the connection's opening ([`greeting`]) rather than lines.
    pub(crate) fn on_greeting(&self) -> bool {
        self.matchers.iter().any(|m| m.0 == MatchKind::Greeting)
    }
}

/// One `[[script]]` table, as written in TOML.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MockSpec {
    /// A name for messages.
    pub name: Option<String>,
    /// The verb to match, or `"*"` for any line (or `greeting = true` instead).
    pub command: Option<String>,
    /// `true`: match the connection's opening instead of a line (see [`greeting`]).
    pub greeting: Option<bool>,
    /// Exact argument.
    pub arg: Option<String>,
    /// Substring of the argument.
    pub arg_contains: Option<String>,
    /// Respond at most this many times.
    pub times: Option<u64>,
    /// Expected number of matches.
    pub expect: Option<TimesSpec>,
    /// Delay before responding, in milliseconds.
    pub delay_ms: Option<u64>,
    /// `"CODE text"`.
    pub reply: Option<String>,
    /// Exact bytes to send.
    pub raw: Option<String>,
    /// Drop the control connection.
    pub close: Option<bool>,
    /// Normal handling.
    pub proceed: Option<bool>,
    /// A 227/229 template.
    pub passive: Option<String>,
    /// A data transfer script.
    pub transfer: Option<TransferSpec>,
    /// Drop the control connection after responding.
    pub then_close: Option<bool>,
    /// Exact bytes written right after the reply, in the same write.
    pub pipeline: Option<String>,
    /// Filler lines that make the reply multi-line.
    pub pad: Option<PadSpec>,
}

/// `pad = { lines = N, line_bytes = M }`: see [`Responder::pad`].
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PadSpec {
    /// How many filler lines (at least 1).
    pub lines: usize,
    /// Filler bytes on each line, after `CODE-`.
    pub line_bytes: usize,
}

/// `expect = 2` or `expect = "1.."`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum TimesSpec {
    /// Exactly this many.
    Exactly(u64),
    /// A Rust-style range: `"1.."`, `"..=2"`, `"2..=4"`, `"2..5"`.
    Range(String),
}

/// The `transfer = { ... }` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TransferSpec {
    /// `"normal"` or `"never"`.
    pub accept: Option<AcceptSpec>,
    /// Accept after this many milliseconds.
    pub accept_delay_ms: Option<u64>,
    /// `"close-data"`, `"close-control"` or `"stall"`.
    pub fault: Option<FaultAction>,
    /// `"before-150"`, `"mid-transfer"` or `"before-226"`.
    pub at: Option<FaultPointSpec>,
    /// With `mid-transfer`: after this many bytes.
    pub after_bytes: Option<u64>,
    /// `"CODE text"` to send instead of the final reply.
    pub final_reply: Option<String>,
    /// `"1xx text"` to send instead of the 150.
    pub preliminary: Option<String>,
    /// Send the final reply with the preliminary one, before any data moves.
    pub early_final_reply: Option<bool>,
    /// Send the final reply this many milliseconds after the data connection closed.
    pub final_reply_delay_ms: Option<u64>,
    /// Bytes per second for this transfer, e.g. `"20K"` (K = 1024).
    pub rate: Option<String>,
}

/// `accept = "normal" | "never"` in a `transfer` table (a delay is `accept_delay_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcceptSpec {
    /// Accept (or dial) the data connection as usual.
    Normal,
    /// Never accept or dial it: see [`Accept::Never`].
    Never,
}

/// `at = "before-150" | "mid-transfer" | "before-226"` in a `transfer` table (the byte count
/// of `mid-transfer` is `after_bytes`): see [`FaultPoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FaultPointSpec {
    /// [`FaultPoint::Before150`].
    #[serde(rename = "before-150")]
    Before150,
    /// [`FaultPoint::MidTransfer`].
    #[serde(rename = "mid-transfer")]
    MidTransfer,
    /// [`FaultPoint::Before226`].
    #[serde(rename = "before-226")]
    Before226,
}

/// Reads `"CODE text"` into a reply.
pub(crate) fn parse_reply_text(text: &str) -> Result<Reply, String> {
    let code = text
        .get(..3)
        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()) && !c.starts_with('0'));
    match (code, text.as_bytes().get(3)) {
        (Some(code), None | Some(b' ')) => Ok(Reply::new(code.parse::<u16>().expect("three digits"), text.get(4..).unwrap_or(""))),
        _ => Err(format!("{text:?} does not start with a three-digit reply code and a space (e.g. \"502 Not allowed\")")),
    }
}

fn parse_times(spec: &TimesSpec) -> Result<Times, String> {
    let text = match spec {
        TimesSpec::Exactly(n) => return Ok((*n).into()),
        TimesSpec::Range(t) => t.trim(),
    };
    let bad =
        || format!("expect = {text:?} is not a count or a range like \"1..\", \"..=2\", \"2..=4\"");
    let num = |s: &str| -> Result<Option<u64>, String> {
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse().map(Some).map_err(|_| bad())
        }
    };
    if let Some((lo, hi)) = text.split_once("..=") {
        let hi = num(hi)?.ok_or_else(bad)?;
        Ok(Times {
            min: num(lo)?.unwrap_or(0),
            max: Some(hi),
        })
    } else if let Some((lo, hi)) = text.split_once("..") {
        let max = match num(hi)? {
            Some(0) => return Err(bad()),
            Some(h) => Some(h - 1),
            None => None,
        };
        Ok(Times {
            min: num(lo)?.unwrap_or(0),
            max,
        })
    } else {
        num(text)?.map(Times::from).ok_or_else(bad)
    }
}

/// The rules of a transfer script that span its knobs (for TOML and for `build()`).
fn check_transfer(script: &TransferScript) -> Result<(), String> {
    if script.rate == Some(0) {
        return Err("transfer.rate = 0: give at least 1 byte per second".into());
    }
    if let Some(p) = &script.preliminary {
        if !(100..200).contains(&p.code) {
            return Err(format!(
                "transfer.preliminary: {} is not a preliminary (1xx) reply code",
                p.code
            ));
        }
    }
    Ok(())
}

/// The rules of a mock that span its matchers and responder, naming the TOML key that is
/// wrong (checked for TOML mocks and by [`crate::Builder::build`] for mocks made in Rust).
pub(crate) fn check_mock(mock: &Mock) -> Result<(), String> {
    check_responder(&mock.responder)?;
    if !mock.on_greeting() {
        return Ok(());
    }
    if mock.matchers.len() > 1 {
        return Err(
            "greeting matches the connection's opening: no command or arg matcher goes with it"
                .into(),
        );
    }
    match mock.responder.action {
        Action::Passive(_) | Action::Transfer(_) => Err(
            "greeting: passive and transfer answer commands; the greeting takes reply, raw, close or proceed"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// The rules of a responder that span its knobs, naming the TOML key that is wrong.
fn check_responder(r: &Responder) -> Result<(), String> {
    if let Action::Transfer(script) = &r.action {
        check_transfer(script)?;
    }
    if r.action == Action::Close && !r.shape.is_empty() {
        return Err("pipeline and pad need a reply to shape: they cannot go with close".into());
    }
    if r.shape.pipeline.as_deref() == Some("") {
        return Err("pipeline is empty: give the bytes to send, e.g. \"250 extra\\r\\n\"".into());
    }
    if let Some(Pad { lines, line_bytes }) = r.shape.pad {
        if lines == 0 {
            return Err("pad.lines = 0: give at least one filler line".into());
        }
        let total = lines.checked_mul(line_bytes.saturating_add(6));
        if total.is_none_or(|t| t > MAX_PAD_BYTES) {
            return Err(format!(
                "pad: {lines} lines of {line_bytes} bytes is over the cap of {MAX_PAD_BYTES} bytes of filler"
            ));
        }
    }
    Ok(())
}

impl TransferSpec {
    fn to_script(&self) -> Result<TransferScript, String> {
        let mut script = transfer();
        match (self.accept, self.accept_delay_ms) {
            (None | Some(AcceptSpec::Normal), None) => {}
            (None | Some(AcceptSpec::Normal), Some(ms)) => {
                script = script.accept_after(Duration::from_millis(ms))
            }
            (Some(AcceptSpec::Never), None) => script = script.never_accept(),
            (Some(AcceptSpec::Never), Some(_)) => {
                return Err("transfer.accept = \"never\" cannot have accept_delay_ms".into())
            }
        }
        let action = self.fault;
        let point = match (self.at, self.after_bytes) {
            (None, None) => None,
            (Some(FaultPointSpec::Before150), None) => Some(FaultPoint::Before150),
            (Some(FaultPointSpec::Before226), None) => Some(FaultPoint::Before226),
            (Some(FaultPointSpec::MidTransfer), Some(n)) => Some(FaultPoint::MidTransfer(n)),
            (Some(FaultPointSpec::MidTransfer), None) => {
                return Err("transfer.at = \"mid-transfer\" needs after_bytes".into())
            }
            (Some(FaultPointSpec::Before150 | FaultPointSpec::Before226), Some(_)) => {
                return Err("transfer.after_bytes only goes with at = \"mid-transfer\"".into())
            }
            (None, Some(_)) => {
                return Err("transfer.after_bytes needs at = \"mid-transfer\"".into())
            }
        };
        match (point, action) {
            (None, None) => {}
            (Some(FaultPoint::Before226), Some(FaultAction::CloseData)) => {
                return Err("transfer.fault = \"close-data\" cannot be at \"before-226\": the data connection is already closed there".into())
            }
            (Some(p), Some(a)) => script = script.fault(p, a),
            (Some(_), None) => return Err("transfer.at needs a fault".into()),
            (None, Some(_)) => return Err("transfer.fault needs at".into()),
        }
        if let Some(text) = &self.final_reply {
            script.final_reply =
                Some(parse_reply_text(text).map_err(|e| format!("transfer.final_reply: {e}"))?);
        }
        if let Some(text) = &self.preliminary {
            let reply = parse_reply_text(text).map_err(|e| format!("transfer.preliminary: {e}"))?;
            script = script.preliminary(reply.code, &reply.text());
        }
        if self.early_final_reply == Some(true) {
            script = script.early_final_reply();
        }
        if let Some(ms) = self.final_reply_delay_ms {
            if script.early_final_reply {
                return Err("transfer.final_reply_delay_ms cannot go with early_final_reply: the final reply is sent before the data moves".into());
            }
            script = script.final_reply_delay(Duration::from_millis(ms));
        }
        if let Some(text) = &self.rate {
            let rate =
                crate::generated::parse_rate(text).map_err(|e| format!("transfer.rate: {e}"))?;
            script = script.rate(rate);
        }
        check_transfer(&script)?;
        Ok(script)
    }
}

impl MockSpec {
    /// Turns the table into a [`Mock`]; `index` (from 1) names it in errors.
    pub fn to_mock(&self, index: usize) -> Result<Mock, Error> {
        let err = |message: String| Error::Script {
            index,
            name: self.name.clone(),
            message,
        };
        let first = match (&self.command, self.greeting) {
            (Some(_), Some(true)) => {
                return Err(err(
                    "command and greeting = true: a mock matches lines or the greeting, give one"
                        .into(),
                ))
            }
            (_, Some(false)) => {
                return Err(err(
                    "greeting = false: only `true` asks for the greeting; leave the key out".into(),
                ))
            }
            (None, Some(true)) => greeting(),
            (None, None) => {
                return Err(err(
                    "no matcher: give command = \"VERB\" (or \"*\"), or greeting = true".into(),
                ))
            }
            (Some(c), None) if c.trim().is_empty() || c.contains(' ') => {
                return Err(err(format!(
                    "command = {c:?}: expected one verb such as \"PASV\", or \"*\""
                )));
            }
            (Some(c), None) if c == "*" => any_command(),
            (Some(c), None) => command(c),
        };
        let mut builder = Mock::given(first);
        if let Some(a) = &self.arg {
            builder = builder.and(arg(a));
        }
        if let Some(a) = &self.arg_contains {
            builder = builder.and(arg_contains(a));
        }
        let mut actions: Vec<(&str, Action)> = Vec::new();
        if let Some(text) = &self.reply {
            actions.push((
                "reply",
                Action::Reply(parse_reply_text(text).map_err(|e| err(format!("reply: {e}")))?),
            ));
        }
        if let Some(text) = &self.raw {
            actions.push(("raw", Action::Raw(text.clone())));
        }
        if self.close == Some(true) {
            actions.push(("close", Action::Close));
        }
        if self.proceed == Some(true) {
            actions.push(("proceed", Action::Proceed));
        }
        if let Some(t) = &self.passive {
            actions.push(("passive", Action::Passive(t.clone())));
        }
        if let Some(t) = &self.transfer {
            actions.push(("transfer", Action::Transfer(t.to_script().map_err(err)?)));
        }
        let shaped = self.pipeline.is_some() || self.pad.is_some();
        let action = match actions.len() {
            0 if self.delay_ms.is_some() || self.then_close == Some(true) || shaped => {
                Action::Proceed
            }
            0 => {
                return Err(err(
                    "no action: give one of reply, raw, close, proceed, passive, transfer".into(),
                ))
            }
            1 => actions.pop().expect("one").1,
            _ => {
                let keys: Vec<&str> = actions.iter().map(|(k, _)| *k).collect();
                return Err(err(format!(
                    "more than one action ({}): give exactly one",
                    keys.join(", ")
                )));
            }
        };
        let mut responder = Responder::from(action);
        if let Some(ms) = self.delay_ms {
            responder = responder.delay(Duration::from_millis(ms));
        }
        if self.then_close == Some(true) {
            responder = responder.then_close();
        }
        if let Some(text) = &self.pipeline {
            responder = responder.pipeline(text);
        }
        if let Some(p) = self.pad {
            responder = responder.pad(p.lines, p.line_bytes);
        }
        let mut mock = builder.respond_with(responder);
        if let Some(n) = self.times {
            mock = mock.up_to_n_times(n);
        }
        if let Some(t) = &self.expect {
            mock = mock.expect(parse_times(t).map_err(err)?);
        }
        if let Some(n) = &self.name {
            mock = mock.named(n);
        }
        check_mock(&mock).map_err(err)?;
        Ok(mock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn spec(toml_text: &str) -> Result<Mock, String> {
        let spec: MockSpec = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        spec.to_mock(1).map_err(|e| e.to_string())
    }

    #[test]
    fn reply_spec() {
        let mock = spec(
            "command = \"EPSV\"\nreply = \"502 EPSV not allowed\"\ntimes = 2\nexpect = \"1..\"",
        )
        .unwrap();
        assert!(mock.matches("epsv", ""));
        assert_eq!(
            mock.responder.action,
            Action::Reply(Reply::new(502u16, "EPSV not allowed"))
        );
        assert_eq!(mock.limit, Some(2));
        assert_eq!(mock.expect, Some(Times { min: 1, max: None }));
    }

    #[test]
    fn transfer_spec() {
        let mock = spec("command = \"RETR\"\ntransfer = { fault = \"close-data\", at = \"mid-transfer\", after_bytes = 10, final_reply = \"226 lies\" }").unwrap();
        assert_eq!(
            mock.responder.action,
            Action::Transfer(transfer().close_data_after(10).final_reply(226, "lies"))
        );
    }

    #[rstest]
    #[case("command = \"PASV\"", "no action")]
    #[case("command = \"PASV\"\nreply = \"hello\"", "three-digit reply code")]
    #[case(
        "command = \"PASV\"\nreply = \"227 x\"\nclose = true",
        "more than one action (reply, close)"
    )]
    #[case(
        "command = \"RETR\"\ntransfer = { fault = \"close-data\" }",
        "transfer.fault needs at"
    )]
    #[case(
        "command = \"RETR\"\ntransfer = { fault = \"close-data\", at = \"before-226\" }",
        "cannot be at \"before-226\""
    )]
    #[case(
        "command = \"RETR\"\ntransfer = { fault = \"explode\", at = \"before-150\" }",
        "unknown variant `explode`, expected one of `close-data`, `close-control`, `stall`"
    )]
    #[case(
        "command = \"RETR\"\ntransfer = { at = \"mid-transfer\", fault = \"stall\" }",
        "needs after_bytes"
    )]
    #[case(
        "command = \"RETR\"\ntransfer = { accept = \"never\", accept_delay_ms = 5 }",
        "cannot have accept_delay_ms"
    )]
    #[case(
        "command = \"RETR\"\nproceed = true\nexpect = \"x..\"",
        "expect = \"x..\""
    )]
    #[case("command = \"RETR STOR\"\nproceed = true", "one verb")]
    #[case("command = \"RETR\"\nrepl = \"200 x\"", "unknown field `repl`")]
    fn spec_errors_name_the_key(#[case] text: &str, #[case] message: &str) {
        let err = spec(text).unwrap_err();
        assert!(err.contains(message), "{err:?} should contain {message:?}");
    }

    #[test]
    fn renders() {
        let t = "227 ({h1},{h2},{h3},{h4},{p1},{p2}) port {port}";
        assert_eq!(
            render_template(t, std::net::Ipv4Addr::new(10, 0, 0, 2), 50007),
            "227 (10,0,0,2,195,87) port 50007"
        );
    }

    /// Typed keys: a bad value is refused by the TOML parser, which names the line and column
    /// and the values it expected.
    #[rstest]
    #[case(
        "transfer = { accept = \"later\" }",
        "unknown variant `later`, expected `normal` or `never`"
    )]
    #[case(
        "transfer = { fault = \"close\", at = \"before-150\" }",
        "unknown variant `close`, expected one of `close-data`, `close-control`, `stall`"
    )]
    #[case(
        "transfer = { fault = \"stall\", at = \"before150\" }",
        "unknown variant `before150`, expected one of `before-150`, `mid-transfer`, `before-226`"
    )]
    fn bad_transfer_values_name_line_column_and_expected(
        #[case] line: &str,
        #[case] message: &str,
    ) {
        let err = spec(&format!("command = \"RETR\"\n{line}")).unwrap_err();
        assert!(err.contains("line 2, column"), "{err}");
        assert!(err.contains(message), "{err:?} should contain {message:?}");
    }

    #[test]
    fn transfer_values_keep_their_spellings() {
        for (text, script) in [
            ("{ accept = \"never\" }", transfer().never_accept()),
            (
                "{ accept = \"normal\", accept_delay_ms = 5 }",
                transfer().accept_after(Duration::from_millis(5)),
            ),
            (
                "{ fault = \"close-control\", at = \"before-150\" }",
                transfer().fault(FaultPoint::Before150, FaultAction::CloseControl),
            ),
            (
                "{ fault = \"stall\", at = \"before-226\" }",
                transfer().fault(FaultPoint::Before226, FaultAction::Stall),
            ),
            (
                "{ fault = \"close-data\", at = \"mid-transfer\", after_bytes = 3 }",
                transfer().close_data_after(3),
            ),
        ] {
            let mock = spec(&format!("command = \"RETR\"\ntransfer = {text}")).unwrap();
            assert_eq!(mock.responder.action, Action::Transfer(script), "{text}");
        }
    }

    #[test]
    fn shaping_keys() {
        let mock = spec(
            "command = \"AUTH\"\nproceed = true\npipeline = \"230 forged\\r\\n\"\npad = { lines = 1000, line_bytes = 60 }",
        )
        .unwrap();
        assert_eq!(
            mock.responder,
            proceed().pipeline("230 forged\r\n").pad(1000, 60)
        );
        // A pipeline or pad alone implies proceed, as a delay does.
        let mock = spec("command = \"CWD\"\npipeline = \"250 extra\\r\\n\"").unwrap();
        assert_eq!(mock.responder, proceed().pipeline("250 extra\r\n"));
        let mock =
            spec("command = \"SYST\"\nreply = \"215 x\"\npad = { lines = 1, line_bytes = 20000 }")
                .unwrap();
        assert_eq!(mock.responder, reply(215, "x").pad(1, 20_000));
    }

    #[test]
    fn transfer_shaping_keys() {
        let mock = spec(
            "command = \"RETR\"\ntransfer = { preliminary = \"125 Data connection already open; transfer starting.\", early_final_reply = true }",
        )
        .unwrap();
        assert_eq!(
            mock.responder.action,
            Action::Transfer(
                transfer()
                    .preliminary(125, "Data connection already open; transfer starting.")
                    .early_final_reply()
            )
        );
        let mock =
            spec("command = \"STOR\"\ntransfer = { final_reply_delay_ms = 65000, early_final_reply = false }")
                .unwrap();
        assert_eq!(
            mock.responder.action,
            Action::Transfer(transfer().final_reply_delay(Duration::from_secs(65)))
        );
    }

    #[rstest]
    #[case(
        "transfer = { preliminary = \"226 done\" }",
        "transfer.preliminary: 226 is not a preliminary (1xx) reply code"
    )]
    #[case(
        "transfer = { preliminary = \"12 x\" }",
        "transfer.preliminary: \"12 x\" does not start with a three-digit reply code"
    )]
    #[case(
        "transfer = { early_final_reply = true, final_reply_delay_ms = 5 }",
        "final_reply_delay_ms cannot go with early_final_reply"
    )]
    #[case("pad = { lines = 0, line_bytes = 5 }", "pad.lines = 0")]
    #[case("pad = { lines = 100000, line_bytes = 100000 }", "over the cap")]
    #[case("close = true\npipeline = \"x\"", "cannot go with close")]
    #[case("pipeline = \"\"", "pipeline is empty")]
    #[case(
        "reply = \"200 x\"\nraw = \"y\"\npad = { lines = 1, line_bytes = 1 }",
        "more than one action (reply, raw)"
    )]
    fn shaping_errors_name_the_key(#[case] line: &str, #[case] message: &str) {
        let err = spec(&format!("command = \"RETR\"\n{line}")).unwrap_err();
        assert!(err.contains(message), "{err:?} should contain {message:?}");
    }

    /// Typed shaping keys: unknown keys and wrong types are refused at their line and column.
    #[rstest]
    #[case(
        "pad = { lines = 1, bytes = 2 }",
        "unknown field `bytes`, expected `lines` or `line_bytes`"
    )]
    #[case("pad = { lines = 1 }", "missing field `line_bytes`")]
    #[case("pad = 3", "invalid type: integer `3`")]
    #[case("pipline = \"x\"", "unknown field `pipline`")]
    #[case("transfer = { early_final = true }", "unknown field `early_final`")]
    #[case(
        "transfer = { final_reply_delay_ms = -1 }",
        "invalid value: integer `-1`"
    )]
    #[case(
        "transfer = { early_final_reply = \"yes\" }",
        "invalid type: string \"yes\", expected a boolean"
    )]
    fn bad_shaping_keys_name_line_and_column(#[case] line: &str, #[case] message: &str) {
        let err = spec(&format!("command = \"RETR\"\n{line}")).unwrap_err();
        assert!(err.contains("line 2, column"), "{err}");
        assert!(err.contains(message), "{err:?} should contain {message:?}");
    }

    #[test]
    fn transfer_rate_key() {
        let mock = spec("command = \"RETR\"\ntransfer = { rate = \"20K\" }").unwrap();
        assert_eq!(
            mock.responder.action,
            Action::Transfer(transfer().rate(20 * 1024))
        );
        for (text, message) in [
            (
                "{ rate = \"0\" }",
                "transfer.rate: \"0\" is not a rate in bytes per second",
            ),
            (
                "{ rate = \"quick\" }",
                "transfer.rate: \"quick\" is not a rate",
            ),
            (
                "{ rate = 5 }",
                "invalid type: integer `5`, expected a string",
            ),
            ("{ rates = \"5\" }", "unknown field `rates`"),
        ] {
            let err = spec(&format!("command = \"RETR\"\ntransfer = {text}")).unwrap_err();
            assert!(err.contains(message), "{err:?} should contain {message:?}");
        }
        let zero = Mock::given(command("RETR")).respond_with(transfer().rate(0));
        let built = crate::MockServer::builder().mount(zero).build();
        assert!(
            built.is_err_and(|e| e.to_string().contains("transfer.rate = 0")),
            "a zero rate from Rust is refused by build()"
        );
    }

    #[rstest]
    #[case(TimesSpec::Exactly(2), 2, 2)]
    #[case(TimesSpec::Range("1..".into()), 1, u64::MAX)]
    #[case(TimesSpec::Range("..=2".into()), 0, 2)]
    #[case(TimesSpec::Range("2..5".into()), 2, 4)]
    fn times(#[case] spec: TimesSpec, #[case] lo: u64, #[case] hi: u64) {
        let t = parse_times(&spec).unwrap();
        assert!(t.contains(lo) && t.contains(hi));
        assert!(lo == 0 || !t.contains(lo - 1));
        assert!(hi == u64::MAX || !t.contains(hi + 1));
    }
}
