//! [`ProbeTarget`]: the server the probe talks to, and the probe's own side of the network.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

/// Where and as whom the probe connects, and what it may use on its own side.
///
/// ```
/// use ftpspec::probe::ProbeTarget;
/// let target = ProbeTarget::new("127.0.0.1:2121".parse().unwrap(), "alice", "secret");
/// assert_eq!(target.timeout, std::time::Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// The server's control port: where every session (and every idle connection) connects.
    pub control: SocketAddr,
    /// The user name `login` sends (and `{user}` renders).
    pub user: String,
    /// The password `login` sends (and `{password}` renders); masked in the record.
    pub password: String,
    /// The test CA (PEM) the server's certificate is signed by; the name checked is the
    /// control IP (certificates carry IP SANs). `None`: any certificate is accepted.
    pub ca_pem: Option<String>,
    /// The probe's own address, for PORT/EPRT and `{own_...}` placeholders. Unspecified
    /// (`0.0.0.0`, the default): the local address of the session's control connection.
    pub local_ip: IpAddr,
    /// Ports the probe listens on for active (PORT/EPRT) data connections.
    pub active_ports: RangeInclusive<u16>,
    /// The third-party address `{decoy_port_args}` and `{decoy_eprt}` name (FXP/bounce cases).
    pub decoy: Option<SocketAddr>,
    /// How long the probe waits for each reply, each data connection and each data read.
    pub timeout: Duration,
}

impl ProbeTarget {
    /// A target with the defaults: no CA (no verification), the control connection's local
    /// address for active mode, active ports 40000..=40999, no decoy, a 10 s timeout.
    pub fn new(control: SocketAddr, user: &str, password: &str) -> ProbeTarget {
        ProbeTarget {
            control,
            user: user.to_owned(),
            password: password.to_owned(),
            ca_pem: None,
            local_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            active_ports: 40000..=40999,
            decoy: None,
            timeout: Duration::from_secs(10),
        }
    }
}
