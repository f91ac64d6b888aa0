//! `[expect]`: what must hold for a pass. Each key is judged by one check in
//! [`crate::verdict::checks`]; this is the schema.

use serde::{Deserialize, Serialize};

use super::transcript::{LineRegex, Transcript};

/// `[expect]`: checks on the observations. Every check given must hold.
///
/// A check is asked for by giving its key; the keys that are flags take only `true` (a
/// `false` would be silently the same as leaving the key out, so it is refused at its line
/// and column).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `ok`: the client succeeded and the bytes match; `failed`: it reported failure.
    pub transfer: Option<TransferOutcome>,
    /// Every data connection reached the server through the address the client connected
    /// the control connection to, never through the server's own (private) address.
    pub data_via_control_address: Option<Flag>,
    /// The client never connected to the decoy.
    pub no_decoy_connection: Option<Flag>,
    /// Every PORT/EPRT port lies in the scenario's active range.
    pub active_ports_in_range: Option<Flag>,
    /// Every PORT/EPRT carried the client's public address (the NAT's).
    pub active_address_public: Option<Flag>,
    /// When the client sent EPSV (refused), it then sent PASV.
    pub pasv_after_refused_epsv: Option<Flag>,
    /// The client ended (by itself) within this many seconds.
    pub ends_within_secs: Option<u64>,
    /// The server accepted at least this many control connections (a client that connects
    /// again after a refused greeting makes two).
    pub min_control_connections: Option<usize>,
    /// Data connections used TLS (PROT P).
    pub data_tls: Option<Flag>,
    /// Every TLS data connection that carried an upload ended with the client's
    /// close_notify (RFC 4217 §12.6), and so did every other whose end the server saw.
    pub client_close_notify: Option<Flag>,
    /// Before its control connection turned TLS, the client sent nothing but AUTH (or FEAT,
    /// or QUIT): no USER, PASS or transfer in the clear, whatever the greeting said.
    pub only_auth_before_tls: Option<Flag>,
    /// The client never sent a command before the server had replied to its previous one
    /// (as a client does that takes a forged or pipelined reply for the answer).
    pub no_early_commands: Option<Flag>,
    /// The client did not die of a signal or panic (a crash, whatever it printed).
    pub no_crash: Option<Flag>,
    /// This command line never reached the server as a command: not as a line of its own,
    /// nor after a bare CR or a NUL inside another line (servers that end lines there
    /// would run it).
    pub no_command: Option<String>,
    /// The client's command lines, from every control connection in order, are exactly
    /// these (curl's `<protocol>`): `"TYPE I"` exactly (the verb in any case), `"USER *"`
    /// with any argument, `"/^(EPSV|PASV)$/"` a regex over the whole line, and a leading `?`
    /// for an item that may be absent. PORT/EPRT/LPRT arguments are compared as `*`
    /// ([`super::transcript::NORMALISED`]). An empty item or a bad regex is refused at its
    /// line and column.
    pub commands: Option<Transcript>,
    /// With `commands`: regexes (searched anywhere in a line, `"^NOOP$"` to anchor) of the
    /// lines to drop before matching, like keepalive NOOPs (curl's `<strip>`).
    pub strip: Option<Vec<LineRegex>>,
}

/// `transfer` outcomes.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TransferOutcome {
    /// Succeeded with the right bytes.
    Ok,
    /// Reported failure (non-zero exit).
    Failed,
}

/// A check that is asked for with `key = true`; `false` is refused when the file is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flag;

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if bool::deserialize(d)? {
            Ok(Flag)
        } else {
            Err(serde::de::Error::custom(
                "only `true` asks for this check; `false` would check nothing, so leave the key out",
            ))
        }
    }
}
