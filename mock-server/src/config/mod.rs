//! Server configuration: the checked [`Config`] and its knobs ([`Advertise`],
//! [`ActiveSource`], [`parse_port_range`]), made by the [`Builder`] (`builder`) from Rust or
//! from TOML ([`ServerSpec`], `spec`), with file trees copied from disk (`disk`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::control::reply::LineEnding;
use crate::encoding::NameEncoding;
use crate::error::{Error, Result};
use crate::listing::{ListFormat, MlsdStyle};
use crate::script::Mock;
use crate::tls::TlsSetup;
use crate::vfs::Vfs;

mod builder;
mod disk;
mod spec;

pub(crate) use builder::check_safety;
pub use builder::Builder;
pub use spec::{FileSpec, ServerSpec, TreeSpec};

/// The address put in 227 replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Advertise {
    /// The server's own address: its bind address, or when that is a wildcard, the local
    /// address of the control connection. Behind a NAT this is the private address: the
    /// classic misconfiguration.
    #[default]
    Own,
    /// Always the local address of the control connection the command came on.
    ControlAddress,
    /// A fixed address (e.g. a NAT's public address, or a wrong one).
    Ip(Ipv4Addr),
}

/// What [`Advertise`] accepts, for error messages.
const ADVERTISE_EXPECTED: &str = "\"own\", \"control-address\" or an IPv4 address";

impl std::str::FromStr for Advertise {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "own" => Ok(Advertise::Own),
            "control" | "control-address" => Ok(Advertise::ControlAddress),
            ip => ip.parse().map(Advertise::Ip).map_err(|_| Error::BadValue {
                value: s.to_owned(),
                expected: ADVERTISE_EXPECTED,
            }),
        }
    }
}

/// `advertise = "own" | "control-address" | "203.0.113.10"` (a string; a bad one is an error
/// at its line and column).
impl<'de> Deserialize<'de> for Advertise {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&text),
                &format!("one of {ADVERTISE_EXPECTED}").as_str(),
            )
        })
    }
}

/// The source port of active-mode data connections. In TOML: `active_source_port = "any" |
/// "20"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActiveSource {
    /// Any free port (the default; needs no privilege).
    #[default]
    Any,
    /// Port 20, as RFC 959 §3.2 describes (L-1); needs root or CAP_NET_BIND_SERVICE.
    #[serde(rename = "20")]
    Port20,
}

/// A checked configuration, from [`Builder::build`]. Start it with [`crate::MockServer::start_with`].
#[derive(Debug)]
pub struct Config {
    /// The control listener's address (unless `listener` is given).
    pub(crate) bind: SocketAddr,
    /// A listener the caller bound; taken when the server starts.
    pub(crate) listener: Option<std::net::TcpListener>,
    /// The address put in 227 replies.
    pub(crate) advertise: Advertise,
    /// The passive port range; `None`: any free port.
    pub(crate) pasv_ports: Option<RangeInclusive<u16>>,
    /// Whether EPSV is implemented.
    pub(crate) epsv: bool,
    /// The source port of active data connections.
    pub(crate) active_source: ActiveSource,
    /// The source address of active data connections; `None`: the control connection's
    /// local address.
    pub(crate) active_source_addr: Option<IpAddr>,
    /// Accept PORT/EPRT to third-party addresses and low ports.
    pub(crate) allow_foreign_data: bool,
    /// Refuse a passive data connection from another address than the control connection's
    /// peer (vsftpd's `pasv_promiscuous=NO`, ftpserverlib's `IPMatchRequired`).
    pub(crate) data_ip_match: bool,
    /// Bytes per second of every data transfer, both directions; `None`: as fast as the
    /// network goes.
    pub(crate) data_rate: Option<u64>,
    /// How LIST lines are written.
    pub(crate) list_format: ListFormat,
    /// How MLSD and MLST fact lines are written.
    pub(crate) mlsd_style: MlsdStyle,
    /// The character set of names (and all text) on the wire.
    pub(crate) name_encoding: NameEncoding,
    /// The only user and password accepted; `None`: any.
    pub(crate) credentials: Option<(String, String)>,
    /// Idle control connections are closed after this.
    pub(crate) idle_timeout: Duration,
    /// How long to wait for a data connection or a TLS handshake.
    pub(crate) data_timeout: Duration,
    /// Longest control line accepted, in bytes.
    pub(crate) max_line: usize,
    /// Bytes of uploads kept in memory over the server's life.
    pub(crate) upload_limit: u64,
    /// The text of the 220 greeting.
    pub(crate) greeting: String,
    /// The greeting is 230 and sessions start logged in.
    pub(crate) preauth: bool,
    /// USER alone logs in (230); a PASS after it gets 503.
    pub(crate) login_on_user: bool,
    /// How reply lines end.
    pub(crate) line_ending: LineEnding,
    /// Every control reply is written one byte per write, this long apart; `None`: each
    /// reply in one write.
    pub(crate) reply_byte_delay: Option<Duration>,
    /// Most events kept in the log.
    pub(crate) max_events: usize,
    /// The file tree to serve (moved into the shared state at start).
    pub(crate) vfs: Vfs,
    /// Mounted mocks, in order (moved into the shared state at start).
    pub(crate) mocks: Vec<Mock>,
    /// Whether the server runs in an ftpspec network namespace (the safety rule is off).
    pub(crate) in_netns: bool,
    /// FTPS: the policy and the certificates and rustls configuration built from it.
    pub(crate) tls: Option<TlsSetup>,
}

pub use crate::generated::parse_rate;

/// Reads `MIN-MAX` (1 <= MIN <= MAX).
///
/// ```
/// assert_eq!(ftpspec_mock::parse_port_range("50000-50010").unwrap(), 50000..=50010);
/// assert!(ftpspec_mock::parse_port_range("10-5").is_err());
/// ```
pub fn parse_port_range(text: &str) -> Result<RangeInclusive<u16>> {
    let bad = || Error::BadValue {
        value: text.to_owned(),
        expected: "a port range MIN-MAX with 1 <= MIN <= MAX <= 65535",
    };
    let (lo, hi) = text.split_once('-').ok_or_else(bad)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo == 0 || lo > hi {
        return Err(bad());
    }
    Ok(lo..=hi)
}
