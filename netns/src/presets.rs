//! Named topologies for the situations FTP meets in the field. "Public" addresses come from
//! the documentation ranges (198.51.100.0/24, 203.0.113.0/24, 192.0.2.0/24), private ones from
//! RFC 1918; all exist only inside the namespaces.
//!
//! Every router records, in nftables sets, each new TCP connection it forwarded or dropped
//! (see [`crate::Attempt`]); a router facing the server's or client's private network drops
//! what arrives from outside for a private address it did not translate, as a real NAT in
//! front of the internet does, so a client that tries a private address it cannot reach is
//! seen trying.

use std::net::IpAddr;
use std::ops::RangeInclusive;

use crate::spec::{HostSpec, TopologySpec};
use crate::Error;

/// The presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PresetName {
    /// Client and server on one link.
    ///
    /// ```text
    /// client 198.51.100.10 ──── 198.51.100.20 server
    /// ```
    Direct,
    /// The server on a private LAN behind a NAT that forwards port 21 (and, for `server-nat`,
    /// the passive range); `server-smart-firewall` forwards only 21 and runs the kernel's
    /// conntrack FTP helper on it, which rewrites the server's 227 replies and opens the
    /// passive ports it names, as long as it can read the control connection.
    ///
    /// ```text
    /// client 203.0.113.10 ──── 203.0.113.1 [nat] 10.0.0.1 ──── 10.0.0.2 server
    ///                         DNAT 21 (+ passive range) -> 10.0.0.2; masquerade out
    /// ```
    ServerNat,
    /// As `server-nat`, but only port 21 is forwarded: passive data connections cannot get in.
    ServerNatNoRange,
    /// The client on a private LAN behind a masquerading NAT, which forwards the client's
    /// active-mode range to it when asked (`forward_active_ports`); `client-smart-firewall`
    /// runs the conntrack FTP helper on outgoing port 21 instead, which rewrites the client's
    /// PORT/EPRT to the NAT's address and lets the server's connection back in.
    ///
    /// ```text
    /// client 192.168.1.2 ──── 192.168.1.1 [nat] 198.51.100.1 ──── 198.51.100.10 server
    ///                               masquerade out; DNAT active range -> 192.168.1.2 (optional)
    /// ```
    ClientNat,
    /// Both behind NATs: the client's masquerades, the server's forwards 21 and the passive
    /// range.
    ///
    /// ```text
    /// client 192.168.1.2 ── [cnat] 198.51.100.1 ──── 198.51.100.2 [snat] ── 10.0.0.2 server
    /// ```
    BothNat,
    /// As `server-nat-no-range`, plus the kernel's conntrack FTP helper on port 21 (an
    /// nftables `ct helper` of type "ftp", with nf_nat_ftp): it rewrites the server's private
    /// 227 address to the NAT's and opens the passive port it names, for plain FTP. Under
    /// FTPS it cannot read the control connection, so it cannot help.
    ServerSmartFirewall,
    /// As `client-nat` (without forwarding), plus the conntrack FTP helper on outgoing port
    /// 21: it rewrites the client's PORT/EPRT to the NAT's address and lets the server's
    /// connection back in, for plain FTP.
    ClientSmartFirewall,
    /// No NAT; a firewall in front of the client admits new inbound connections only on the
    /// active-mode port range.
    ///
    /// ```text
    /// client 198.51.100.10 ──── 198.51.100.1 [fw] 203.0.113.1 ──── 203.0.113.10 server
    ///                                  inbound to the client: only the active range
    /// ```
    ClientStrictFirewall,
}

impl PresetName {
    /// Every preset, in a stable order.
    pub const ALL: [PresetName; 8] = [
        PresetName::Direct,
        PresetName::ServerNat,
        PresetName::ServerNatNoRange,
        PresetName::ClientNat,
        PresetName::BothNat,
        PresetName::ServerSmartFirewall,
        PresetName::ClientSmartFirewall,
        PresetName::ClientStrictFirewall,
    ];

    /// The name used on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            PresetName::Direct => "direct",
            PresetName::ServerNat => "server-nat",
            PresetName::ServerNatNoRange => "server-nat-no-range",
            PresetName::ClientNat => "client-nat",
            PresetName::BothNat => "both-nat",
            PresetName::ServerSmartFirewall => "server-smart-firewall",
            PresetName::ClientSmartFirewall => "client-smart-firewall",
            PresetName::ClientStrictFirewall => "client-strict-firewall",
        }
    }

    /// Builds the preset.
    pub fn build(self, opts: &PresetOptions) -> Result<Preset, Error> {
        opts.check()?;
        let mut p = match self {
            PresetName::Direct => direct(),
            PresetName::ServerNat => server_nat(opts, true, false),
            PresetName::ServerNatNoRange => server_nat(opts, false, false),
            PresetName::ServerSmartFirewall => server_nat(opts, false, true),
            PresetName::ClientNat => client_nat(opts, false),
            PresetName::ClientSmartFirewall => client_nat(opts, true),
            PresetName::BothNat => both_nat(opts),
            PresetName::ClientStrictFirewall => client_strict_firewall(opts),
        };
        if opts.decoy {
            add_decoy(&mut p);
        }
        p.spec.check()?;
        Ok(p)
    }
}

impl std::fmt::Display for PresetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PresetName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        PresetName::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::UnknownPreset {
                name: s.to_owned(),
                known: PresetName::ALL.map(|p| p.as_str()).join(", "),
            })
    }
}

/// In files, a preset is its name (`preset = "server-nat"`); an unknown name is an error at
/// the value's line and column.
impl<'de> serde::Deserialize<'de> for PresetName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Knobs of the presets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetOptions {
    /// The server's passive port range, forwarded by `server-nat` and `both-nat` (default
    /// 50000-50010).
    pub pasv_ports: RangeInclusive<u16>,
    /// The client's active-mode port range: forwarded by `client-nat` when
    /// [`PresetOptions::forward_active_ports`], and the only inbound ports
    /// `client-strict-firewall` admits (default 50100-50110).
    pub active_ports: RangeInclusive<u16>,
    /// `client-nat` forwards `active_ports` to the client (default false).
    pub forward_active_ports: bool,
    /// Adds a decoy host (default false); see [`Roles::decoy`].
    pub decoy: bool,
}

impl Default for PresetOptions {
    fn default() -> Self {
        PresetOptions {
            pasv_ports: 50000..=50010,
            active_ports: 50100..=50110,
            forward_active_ports: false,
            decoy: false,
        }
    }
}

impl PresetOptions {
    fn check(&self) -> Result<(), Error> {
        for (what, r) in [
            ("pasv_ports", &self.pasv_ports),
            ("active_ports", &self.active_ports),
        ] {
            if r.is_empty() || *r.start() == 0 {
                return Err(Error::Invalid(format!(
                    "{what} {}-{} is not a port range: it needs 1 <= MIN <= MAX",
                    r.start(),
                    r.end()
                )));
            }
        }
        Ok(())
    }
}

/// Who is who in a preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    /// The client's host.
    pub client: String,
    /// The server's host.
    pub server: String,
    /// The address the client connects to for the server (its public address).
    pub server_addr: IpAddr,
    /// The server's own address (private behind a NAT; else the same as `server_addr`).
    pub server_own_addr: IpAddr,
    /// The client's own address.
    pub client_addr: IpAddr,
    /// The client's address as the server sees it (the NAT's, behind one).
    pub client_public_addr: IpAddr,
    /// The routers and firewalls, client side first.
    pub routers: Vec<String>,
    /// A "public" host that accepts TCP on every port and records each attempt, reachable
    /// from the client, for third-party-address cases ([`PresetOptions::decoy`]).
    pub decoy: Option<IpAddr>,
}

/// A preset: its topology and roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// The topology.
    pub spec: TopologySpec,
    /// Who is who.
    pub roles: Roles,
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("preset addresses are valid")
}

fn router() -> HostSpec {
    HostSpec {
        forward: true,
        ..HostSpec::default()
    }
}

/// A router with this ruleset, and what the ruleset does.
fn router_with(nft: String, nat: bool, ftp_helper: bool, firewall: bool) -> HostSpec {
    HostSpec {
        nft: Some(nft),
        nat,
        ftp_helper,
        firewall,
        ..router()
    }
}

fn range(r: &RangeInclusive<u16>) -> String {
    format!("{}-{}", r.start(), r.end())
}

/// The observation sets every router has (see [`crate::Attempt`]).
const SETS: &str = "  set forwarded { type ipv4_addr . ipv4_addr . inet_service; flags dynamic; }
  set dropped { type ipv4_addr . ipv4_addr . inet_service; flags dynamic; }
";

/// A forward chain: established traffic passes; new and related connections are recorded;
/// new connections from `outside` into `inside` pass only when `admit` (an nft match) holds.
fn forward_chain(outside: &str, inside: &str, admit: &str, helper_port: Option<u16>) -> String {
    let helper = helper_port
        .map(|p| format!("    tcp dport {p} ct helper set \"ftp-{p}\"\n"))
        .unwrap_or_default();
    format!(
        "  chain filter_forward {{
    type filter hook forward priority filter; policy accept;
{helper}    ct state established accept
    ct state related meta l4proto tcp update @forwarded {{ ip saddr . ip daddr . tcp dport }} accept
    ct state new iifname \"{outside}\" oifname \"{inside}\" {admit} meta l4proto tcp update @forwarded {{ ip saddr . ip daddr . tcp dport }} accept
    ct state new iifname \"{outside}\" oifname \"{inside}\" meta l4proto tcp update @dropped {{ ip saddr . ip daddr . tcp dport }} drop
    ct state new meta l4proto tcp update @forwarded {{ ip saddr . ip daddr . tcp dport }} accept
  }}
"
    )
}

/// An input chain: new TCP connections from `outside` to the router itself are dropped (and
/// recorded), as a firewall that offers no services does; a port it does not forward is
/// filtered, not refused.
fn input_chain(outside: &str) -> String {
    format!(
        "  chain filter_input {{
    type filter hook input priority filter; policy accept;
    ct state new iifname \"{outside}\" meta l4proto tcp update @dropped {{ ip saddr . ip daddr . tcp dport }} drop
  }}
"
    )
}

/// A NAT's ruleset: masquerade out of "wan", DNAT of each `(ports, address)` coming in on
/// "wan", the observation sets, a forward chain that lets in from outside only what was
/// translated, the input chain, and the conntrack FTP helper on port 21 when `helper`.
fn nat_ruleset(dnat: &[(String, &str)], helper: bool) -> String {
    let pre: String = dnat
        .iter()
        .map(|(ports, to)| format!("    iifname \"wan\" tcp dport {ports} dnat ip to {to}\n"))
        .collect();
    format!(
        "table inet ftpspec {{
{SETS}{helpers}  chain nat_pre {{
    type nat hook prerouting priority dstnat;
{pre}  }}
  chain nat_post {{
    type nat hook postrouting priority srcnat;
    oifname \"wan\" masquerade
  }}
{forward}{input}}}
",
        helpers = if helper {
            helper_object(21)
        } else {
            String::new()
        },
        forward = forward_chain("wan", "lan", "ct status dnat", helper.then_some(21)),
        input = input_chain("wan"),
    )
}

fn helper_object(port: u16) -> String {
    format!("  ct helper ftp-{port} {{ type \"ftp\" protocol tcp; }}\n")
}

fn direct() -> Preset {
    let spec = TopologySpec::new()
        .host("client", HostSpec::default())
        .host("server", HostSpec::default())
        .link(
            ("client", "eth0", &["198.51.100.10/24"]),
            ("server", "eth0", &["198.51.100.20/24"]),
        );
    Preset {
        spec,
        roles: Roles {
            client: "client".into(),
            server: "server".into(),
            server_addr: ip("198.51.100.20"),
            server_own_addr: ip("198.51.100.20"),
            client_addr: ip("198.51.100.10"),
            client_public_addr: ip("198.51.100.10"),
            routers: vec![],
            decoy: None,
        },
    }
}

fn server_nat(opts: &PresetOptions, forward_range: bool, helper: bool) -> Preset {
    let mut dnat = vec![("21".to_owned(), "10.0.0.2")];
    if forward_range {
        dnat.push((range(&opts.pasv_ports), "10.0.0.2"));
    }
    let nft = nat_ruleset(&dnat, helper);
    let spec = TopologySpec::new()
        .host("client", HostSpec::default())
        .host("nat", router_with(nft, true, helper, true))
        .host("server", HostSpec::default())
        .link(
            ("client", "eth0", &["203.0.113.10/24"]),
            ("nat", "wan", &["203.0.113.1/24"]),
        )
        .link(
            ("nat", "lan", &["10.0.0.1/24"]),
            ("server", "eth0", &["10.0.0.2/24"]),
        )
        .route("client", None, "203.0.113.1")
        .route("server", None, "10.0.0.1");
    Preset {
        spec,
        roles: Roles {
            client: "client".into(),
            server: "server".into(),
            server_addr: ip("203.0.113.1"),
            server_own_addr: ip("10.0.0.2"),
            client_addr: ip("203.0.113.10"),
            client_public_addr: ip("203.0.113.10"),
            routers: vec!["nat".into()],
            decoy: None,
        },
    }
}

fn client_nat(opts: &PresetOptions, helper: bool) -> Preset {
    let dnat = if opts.forward_active_ports && !helper {
        vec![(range(&opts.active_ports), "192.168.1.2")]
    } else {
        vec![]
    };
    let nft = nat_ruleset(&dnat, helper);
    let spec = TopologySpec::new()
        .host("client", HostSpec::default())
        .host("nat", router_with(nft, true, helper, true))
        .host("server", HostSpec::default())
        .link(
            ("client", "eth0", &["192.168.1.2/24"]),
            ("nat", "lan", &["192.168.1.1/24"]),
        )
        .link(
            ("nat", "wan", &["198.51.100.1/24"]),
            ("server", "eth0", &["198.51.100.10/24"]),
        )
        .route("client", None, "192.168.1.1")
        .route("server", None, "198.51.100.1");
    Preset {
        spec,
        roles: Roles {
            client: "client".into(),
            server: "server".into(),
            server_addr: ip("198.51.100.10"),
            server_own_addr: ip("198.51.100.10"),
            client_addr: ip("192.168.1.2"),
            client_public_addr: ip("198.51.100.1"),
            routers: vec!["nat".into()],
            decoy: None,
        },
    }
}

fn both_nat(opts: &PresetOptions) -> Preset {
    let cnat = nat_ruleset(&[], false);
    let snat = nat_ruleset(
        &[
            ("21".to_owned(), "10.0.0.2"),
            (range(&opts.pasv_ports), "10.0.0.2"),
        ],
        false,
    );
    let spec = TopologySpec::new()
        .host("client", HostSpec::default())
        .host("cnat", router_with(cnat, true, false, true))
        .host("snat", router_with(snat, true, false, true))
        .host("server", HostSpec::default())
        .link(
            ("client", "eth0", &["192.168.1.2/24"]),
            ("cnat", "lan", &["192.168.1.1/24"]),
        )
        .link(
            ("cnat", "wan", &["198.51.100.1/24"]),
            ("snat", "wan", &["198.51.100.2/24"]),
        )
        .link(
            ("snat", "lan", &["10.0.0.1/24"]),
            ("server", "eth0", &["10.0.0.2/24"]),
        )
        .route("client", None, "192.168.1.1")
        .route("cnat", None, "198.51.100.2")
        .route("snat", None, "198.51.100.1")
        .route("server", None, "10.0.0.1");
    Preset {
        spec,
        roles: Roles {
            client: "client".into(),
            server: "server".into(),
            server_addr: ip("198.51.100.2"),
            server_own_addr: ip("10.0.0.2"),
            client_addr: ip("192.168.1.2"),
            client_public_addr: ip("198.51.100.1"),
            routers: vec!["cnat".into(), "snat".into()],
            decoy: None,
        },
    }
}

fn client_strict_firewall(opts: &PresetOptions) -> Preset {
    let nft = format!(
        "table inet ftpspec {{
{SETS}{forward}{input}}}
",
        forward = forward_chain(
            "wan",
            "lan",
            &format!("tcp dport {}", range(&opts.active_ports)),
            None
        ),
        input = input_chain("wan"),
    );
    let spec = TopologySpec::new()
        .host("client", HostSpec::default())
        .host("fw", router_with(nft, false, false, true))
        .host("server", HostSpec::default())
        .link(
            ("client", "eth0", &["198.51.100.10/24"]),
            ("fw", "lan", &["198.51.100.1/24"]),
        )
        .link(
            ("fw", "wan", &["203.0.113.1/24"]),
            ("server", "eth0", &["203.0.113.10/24"]),
        )
        .route("client", None, "198.51.100.1")
        .route("server", None, "203.0.113.1");
    Preset {
        spec,
        roles: Roles {
            client: "client".into(),
            server: "server".into(),
            server_addr: ip("203.0.113.10"),
            server_own_addr: ip("203.0.113.10"),
            client_addr: ip("198.51.100.10"),
            client_public_addr: ip("198.51.100.10"),
            routers: vec!["fw".into()],
            decoy: None,
        },
    }
}

/// The decoy: a host on its own link from the client, 192.0.2.66, that accepts TCP on every
/// port and records each attempt (source, destination, port).
///
/// ```text
/// client 192.0.2.1 ──── 192.0.2.66 decoy
/// ```
fn add_decoy(p: &mut Preset) {
    let client = p.roles.client.clone();
    let spec = std::mem::take(&mut p.spec)
        .host(
            "decoy",
            HostSpec {
                decoy: true,
                ..HostSpec::default()
            },
        )
        .link(
            (&client, "dcy0", &["192.0.2.1/24"]),
            ("decoy", "eth0", &["192.0.2.66/24"]),
        );
    p.spec = spec;
    p.roles.decoy = Some(ip("192.0.2.66"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routers_declare_what_their_rulesets_do() {
        for name in PresetName::ALL {
            let opts = PresetOptions {
                decoy: true,
                ..PresetOptions::default()
            };
            for (host, h) in name.build(&opts).unwrap().spec.hosts {
                let nft = h.nft.as_deref().unwrap_or("");
                let nat = nft.contains("masquerade") || nft.contains("dnat");
                assert_eq!(h.nat, nat, "{name} {host}: nat");
                assert_eq!(h.ftp_helper, nft.contains("ct helper"), "{name} {host}");
                assert_eq!(h.firewall, nft.contains(" drop"), "{name} {host}: firewall");
            }
        }
    }

    #[test]
    fn every_preset_is_a_valid_topology() {
        for name in PresetName::ALL {
            for decoy in [false, true] {
                let opts = PresetOptions {
                    decoy,
                    forward_active_ports: true,
                    ..PresetOptions::default()
                };
                let p = name.build(&opts).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(p.spec.hosts.contains_key(&p.roles.client));
                assert!(p.spec.hosts.contains_key(&p.roles.server));
                assert_eq!(p.roles.decoy.is_some(), decoy);
                assert_eq!(name.as_str().parse::<PresetName>().unwrap(), name);
            }
        }
    }

    #[test]
    #[allow(clippy::reversed_empty_ranges)] // the inverted range is the point
    fn bad_options_and_names_are_refused() {
        let opts = PresetOptions {
            pasv_ports: 50010..=50000,
            ..PresetOptions::default()
        };
        let e = PresetName::ServerNat.build(&opts).unwrap_err().to_string();
        assert!(
            e.contains("pasv_ports 50010-50000 is not a port range"),
            "{e}"
        );
        let e = "server-nmat".parse::<PresetName>().unwrap_err().to_string();
        assert!(e.contains("the presets are: direct, server-nat"), "{e}");
    }
}
