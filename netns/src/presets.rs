//! Named topologies for the situations FTP meets in the field. "Public" addresses come from
//! the documentation ranges (198.51.100.0/24, 203.0.113.0/24, 192.0.2.0/24, and
//! 2001:db8::/32 for IPv6), private ones from RFC 1918; all exist only inside the namespaces.
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
    /// The server on a private LAN behind a NAT that forwards ports 21 and 990 (implicit FTPS)
    /// (and, for `server-nat`, the passive range); `server-smart-firewall` forwards only those
    /// and runs the kernel's
    /// conntrack FTP helper on it, which rewrites the server's 227 replies and opens the
    /// passive ports it names, as long as it can read the control connection.
    ///
    /// ```text
    /// client 203.0.113.10 ──── 203.0.113.1 [nat] 10.0.0.1 ──── 10.0.0.2 server
    ///                         DNAT 21, 990 (+ passive range) -> 10.0.0.2; masquerade out
    /// ```
    ServerNat,
    /// As `server-nat`, but only ports 21 and 990 are forwarded: passive data connections
    /// cannot get in.
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
    /// As `client-nat`, but the NAT pools two public addresses and gives each new connection
    /// the next one in turn (nftables `snat to numgen inc mod 2 map`): RFC 4787 §4.1's
    /// "arbitrary" IP address pooling, where the kernel's own `snat to A-B` range would keep
    /// one address per pair of hosts ("paired"). A server that requires a data connection to
    /// come from the control connection's address sees every other connection come from the
    /// wrong one. The NAT records the address each connection left with (a `translated`
    /// attempt whose `from` is the public address).
    ///
    /// ```text
    /// client 192.168.1.2 ──── 192.168.1.1 [nat] 198.51.100.1 ──── 198.51.100.10 server
    ///                                           198.51.100.3
    ///                  SNAT new connections to .1, .3, .1, ... in turn
    /// ```
    ClientNatPooled,
    /// Both behind NATs: the client's masquerades, the server's forwards 21, 990 and the
    /// passive range.
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
    /// As `direct`, over IPv6 only.
    ///
    /// ```text
    /// client 2001:db8:1::10 ──── 2001:db8:1::20 server
    /// ```
    DirectV6,
    /// As `client-strict-firewall`, over IPv6 only: the same policy in the ip6 family (the
    /// firewall admits new inbound connections to the client only on the active-mode port
    /// range, and records what it forwards and drops), so active mode has to use EPRT.
    ///
    /// ```text
    /// client 2001:db8:51::10 ── 2001:db8:51::1 [fw] 2001:db8:203::1 ── 2001:db8:203::10 server
    ///                                  inbound to the client: only the active range
    /// ```
    ClientStrictFirewallV6,
    /// Client and server on one private LAN (a switch), with a load balancer on it that
    /// forwards only port 21 of its own address to the server (DNAT, and SNAT to itself so
    /// the replies come back through it, as a one-arm balancer does). The client is given
    /// the balancer's address; the server's private address in a 227 is right (the client
    /// reaches it directly), while a data connection to the balancer's address is dropped
    /// and recorded by the balancer. The server sees the control connection come from the
    /// balancer (10.0.0.20), the data connections from the client (10.0.0.10).
    ///
    /// ```text
    /// client 10.0.0.10 ──┐
    /// server 10.0.0.2  ──┼── [lan switch]
    /// balancer 10.0.0.20 ┘   DNAT 10.0.0.20:21 -> 10.0.0.2:21 (+ SNAT); other ports dropped
    /// ```
    LanBalancer,
}

impl PresetName {
    /// Every preset, in a stable order.
    pub const ALL: [PresetName; 12] = [
        PresetName::Direct,
        PresetName::ServerNat,
        PresetName::ServerNatNoRange,
        PresetName::ClientNat,
        PresetName::ClientNatPooled,
        PresetName::BothNat,
        PresetName::ServerSmartFirewall,
        PresetName::ClientSmartFirewall,
        PresetName::ClientStrictFirewall,
        PresetName::DirectV6,
        PresetName::ClientStrictFirewallV6,
        PresetName::LanBalancer,
    ];

    /// The name used on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            PresetName::Direct => "direct",
            PresetName::ServerNat => "server-nat",
            PresetName::ServerNatNoRange => "server-nat-no-range",
            PresetName::ClientNat => "client-nat",
            PresetName::ClientNatPooled => "client-nat-pooled",
            PresetName::BothNat => "both-nat",
            PresetName::ServerSmartFirewall => "server-smart-firewall",
            PresetName::ClientSmartFirewall => "client-smart-firewall",
            PresetName::ClientStrictFirewall => "client-strict-firewall",
            PresetName::DirectV6 => "direct-v6",
            PresetName::ClientStrictFirewallV6 => "client-strict-firewall-v6",
            PresetName::LanBalancer => "lan-balancer",
        }
    }

    /// Builds the preset.
    pub fn build(self, opts: &PresetOptions) -> Result<Preset, Error> {
        opts.check()?;
        let mut p = match self {
            PresetName::Direct => direct(),
            PresetName::DirectV6 => direct_v6(),
            PresetName::ServerNat => server_nat(opts, true, false),
            PresetName::ServerNatNoRange => server_nat(opts, false, false),
            PresetName::ServerSmartFirewall => server_nat(opts, false, true),
            PresetName::ClientNat => client_nat(opts, false),
            PresetName::ClientNatPooled => client_nat_pooled(),
            PresetName::ClientSmartFirewall => client_nat(opts, true),
            PresetName::BothNat => both_nat(opts),
            PresetName::ClientStrictFirewall => client_strict_firewall(opts, Family::V4),
            PresetName::ClientStrictFirewallV6 => client_strict_firewall(opts, Family::V6),
            PresetName::LanBalancer => lan_balancer(),
        };
        if opts.decoy {
            add_decoy(&mut p);
        }
        // An option the preset cannot take: say which, and why.
        let refused = |what: String, e: Error| match e {
            Error::Invalid(why) => Error::Invalid(format!("{what}: {why}")),
            e => e,
        };
        if let Some(addr) = opts.server_second_addr {
            p.spec
                .add_address(&p.roles.server, addr)
                .map_err(|e| refused(format!("preset {self}, server_second_addr"), e))?;
            p.roles.server_second_addr = Some(addr);
        }
        if let Some(secs) = opts.nat_idle_timeout_secs {
            p.spec
                .nat_idle_timeout(secs)
                .map_err(|e| refused(format!("preset {self}, nat_idle_timeout_secs"), e))?;
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
    /// Adds a decoy host (default false); see [`Roles::decoy`]. The decoy is IPv4
    /// (192.0.2.66) in every preset.
    pub decoy: bool,
    /// Every NAT host forgets idle TCP connections after this many seconds and drops what it
    /// no longer tracks (see [`crate::HostSpec::idle_timeout_secs`]); an error for a preset
    /// without a NAT (`direct`, `direct-v6`, the strict firewalls). Default: none (the
    /// kernel's 5 days).
    pub nat_idle_timeout_secs: Option<u32>,
    /// A second address for the server, on its link towards the client (it must lie in that
    /// link's subnet, e.g. 198.51.100.21 in `direct`), so the server can open connections
    /// from another source ([`Roles::server_second_addr`]). Default: none.
    pub server_second_addr: Option<IpAddr>,
}

impl Default for PresetOptions {
    fn default() -> Self {
        PresetOptions {
            pasv_ports: 50000..=50010,
            active_ports: 50100..=50110,
            forward_active_ports: false,
            decoy: false,
            nat_idle_timeout_secs: None,
            server_second_addr: None,
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
    /// The server's second address ([`PresetOptions::server_second_addr`]).
    pub server_second_addr: Option<IpAddr>,
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

/// The address family a router's rules and observation sets are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    /// The nft payload keyword (`ip saddr`, `ip6 saddr`).
    fn ip(self) -> &'static str {
        match self {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }

    /// The observation sets every router has (see [`crate::Attempt`]).
    fn sets(self) -> String {
        let t = match self {
            Family::V4 => "ipv4_addr",
            Family::V6 => "ipv6_addr",
        };
        format!(
            "  set forwarded {{ type {t} . {t} . inet_service; flags dynamic; }}
  set dropped {{ type {t} . {t} . inet_service; flags dynamic; }}
"
        )
    }

    /// Records a TCP packet's connection in `set`.
    fn record(self, set: &str) -> String {
        let ip = self.ip();
        format!("meta l4proto tcp update @{set} {{ {ip} saddr . {ip} daddr . tcp dport }}")
    }
}

/// A forward chain: established traffic passes; new and related connections are recorded;
/// new connections from `outside` into `inside` pass only when `admit` (an nft match) holds.
fn forward_chain(
    family: Family,
    outside: &str,
    inside: &str,
    admit: &str,
    helper_port: Option<u16>,
) -> String {
    let helper = helper_port
        .map(|p| format!("    tcp dport {p} ct helper set \"ftp-{p}\"\n"))
        .unwrap_or_default();
    let (fwd, drop) = (family.record("forwarded"), family.record("dropped"));
    format!(
        "  chain filter_forward {{
    type filter hook forward priority filter; policy accept;
{helper}    ct state established accept
    ct state related {fwd} accept
    ct state new iifname \"{outside}\" oifname \"{inside}\" {admit} {fwd} accept
    ct state new iifname \"{outside}\" oifname \"{inside}\" {drop} drop
    ct state new {fwd} accept
  }}
"
    )
}

/// An input chain: new TCP connections from `outside` to the router itself are dropped (and
/// recorded), as a firewall that offers no services does; a port it does not forward is
/// filtered, not refused.
fn input_chain(family: Family, outside: &str) -> String {
    format!(
        "  chain filter_input {{
    type filter hook input priority filter; policy accept;
    ct state new iifname \"{outside}\" {drop} drop
  }}
",
        drop = family.record("dropped")
    )
}

/// The control ports a server NAT forwards: FTP's, and implicit FTPS's (RFC 4217 leaves
/// 990 to practice; ftpspec's mock listens there for implicit FTPS).
const CONTROL_PORTS: &str = "{ 21, 990 }";

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
{sets}{helpers}  chain nat_pre {{
    type nat hook prerouting priority dstnat;
{pre}  }}
  chain nat_post {{
    type nat hook postrouting priority srcnat;
    oifname \"wan\" masquerade
  }}
{forward}{input}}}
",
        sets = Family::V4.sets(),
        helpers = if helper {
            helper_object(21)
        } else {
            String::new()
        },
        forward = forward_chain(
            Family::V4,
            "wan",
            "lan",
            "ct status dnat",
            helper.then_some(21)
        ),
        input = input_chain(Family::V4, "wan"),
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
            server_second_addr: None,
        },
    }
}

fn server_nat(opts: &PresetOptions, forward_range: bool, helper: bool) -> Preset {
    let mut dnat = vec![(CONTROL_PORTS.to_owned(), "10.0.0.2")];
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
            server_second_addr: None,
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
            server_second_addr: None,
        },
    }
}

/// The two public addresses of `client-nat-pooled`, in the order connections get them.
pub const POOLED_PUBLIC_ADDRS: [&str; 2] = ["198.51.100.1", "198.51.100.3"];

/// `client-nat-pooled`: `client-nat` whose masquerading is replaced by an SNAT that
/// alternates between two addresses per new connection, with a record of the address each
/// connection left with.
fn client_nat_pooled() -> Preset {
    let [first, second] = POOLED_PUBLIC_ADDRS;
    let nft = format!(
        "table inet ftpspec {{
{sets}  set translated {{ type ipv4_addr . ipv4_addr . inet_service; flags dynamic; }}
  chain nat_post {{
    type nat hook postrouting priority srcnat;
    oifname \"wan\" meta nfproto ipv4 snat ip to numgen inc mod 2 map {{ 0 : {first}, 1 : {second} }}
  }}
  chain record_post {{
    type filter hook postrouting priority srcnat + 10; policy accept;
    oifname \"wan\" ct state new {translated}
  }}
{forward}{input}}}
",
        sets = Family::V4.sets(),
        translated = Family::V4.record("translated"),
        forward = forward_chain(Family::V4, "wan", "lan", "ct status dnat", None),
        input = input_chain(Family::V4, "wan"),
    );
    let mut p = client_nat(&PresetOptions::default(), false);
    debug_assert_eq!(p.roles.client_public_addr, ip(first));
    p.spec
        .add_address("nat", ip(second))
        .expect("the pool's second address is on the NAT's public subnet");
    p.spec
        .hosts
        .insert("nat".into(), router_with(nft, true, false, true));
    p
}

fn both_nat(opts: &PresetOptions) -> Preset {
    let cnat = nat_ruleset(&[], false);
    let snat = nat_ruleset(
        &[
            (CONTROL_PORTS.to_owned(), "10.0.0.2"),
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
            server_second_addr: None,
        },
    }
}

fn direct_v6() -> Preset {
    let spec = TopologySpec::new()
        .host("client", HostSpec::default())
        .host("server", HostSpec::default())
        .link(
            ("client", "eth0", &["2001:db8:1::10/64"]),
            ("server", "eth0", &["2001:db8:1::20/64"]),
        );
    Preset {
        spec,
        roles: Roles {
            client: "client".into(),
            server: "server".into(),
            server_addr: ip("2001:db8:1::20"),
            server_own_addr: ip("2001:db8:1::20"),
            client_addr: ip("2001:db8:1::10"),
            client_public_addr: ip("2001:db8:1::10"),
            routers: vec![],
            decoy: None,
            server_second_addr: None,
        },
    }
}

fn client_strict_firewall(opts: &PresetOptions, family: Family) -> Preset {
    let nft = format!(
        "table inet ftpspec {{
{sets}{forward}{input}}}
",
        sets = family.sets(),
        forward = forward_chain(
            family,
            "wan",
            "lan",
            &format!("tcp dport {}", range(&opts.active_ports)),
            None
        ),
        input = input_chain(family, "wan"),
    );
    // (client, fw's lan, fw's wan, server), each with its prefix.
    let [client, lan, wan, server] = match family {
        Family::V4 => [
            "198.51.100.10/24",
            "198.51.100.1/24",
            "203.0.113.1/24",
            "203.0.113.10/24",
        ],
        Family::V6 => [
            "2001:db8:51::10/64",
            "2001:db8:51::1/64",
            "2001:db8:203::1/64",
            "2001:db8:203::10/64",
        ],
    };
    let bare = |a: &'static str| a.split('/').next().expect("an address");
    let spec = TopologySpec::new()
        .host("client", HostSpec::default())
        .host("fw", router_with(nft, false, false, true))
        .host("server", HostSpec::default())
        .link(("client", "eth0", &[client]), ("fw", "lan", &[lan]))
        .link(("fw", "wan", &[wan]), ("server", "eth0", &[server]))
        .route("client", None, bare(lan))
        .route("server", None, bare(wan));
    Preset {
        spec,
        roles: Roles {
            client: "client".into(),
            server: "server".into(),
            server_addr: ip(bare(server)),
            server_own_addr: ip(bare(server)),
            client_addr: ip(bare(client)),
            client_public_addr: ip(bare(client)),
            routers: vec!["fw".into()],
            decoy: None,
            server_second_addr: None,
        },
    }
}

/// The balancer's ruleset: DNAT of its own port 21 to the server and SNAT of what it
/// translated (one arm: in and out on the same interface), the observation sets, and
/// nothing else forwarded or served: a new connection to another port of it is dropped and
/// recorded.
fn balancer_ruleset() -> String {
    let v4 = Family::V4;
    format!(
        "table inet ftpspec {{
{sets}  chain nat_pre {{
    type nat hook prerouting priority dstnat;
    iifname \"eth0\" ip daddr 10.0.0.20 tcp dport 21 dnat ip to 10.0.0.2
  }}
  chain nat_post {{
    type nat hook postrouting priority srcnat;
    oifname \"eth0\" ct status dnat masquerade
  }}
  chain filter_forward {{
    type filter hook forward priority filter; policy accept;
    ct state established accept
    ct state new ct status dnat {fwd} accept
    ct state new {drop} drop
  }}
{input}}}
",
        sets = v4.sets(),
        fwd = v4.record("forwarded"),
        drop = v4.record("dropped"),
        input = input_chain(v4, "eth0"),
    )
}

fn lan_balancer() -> Preset {
    let spec = TopologySpec::new()
        .host("client", HostSpec::default())
        .host("server", HostSpec::default())
        .host(
            "balancer",
            router_with(balancer_ruleset(), true, false, true),
        )
        .host(
            "lan",
            HostSpec {
                switch: true,
                ..HostSpec::default()
            },
        )
        .link(("client", "eth0", &["10.0.0.10/24"]), ("lan", "p1", &[]))
        .link(("server", "eth0", &["10.0.0.2/24"]), ("lan", "p2", &[]))
        .link(("balancer", "eth0", &["10.0.0.20/24"]), ("lan", "p3", &[]));
    Preset {
        spec,
        roles: Roles {
            client: "client".into(),
            server: "server".into(),
            server_addr: ip("10.0.0.20"),
            server_own_addr: ip("10.0.0.2"),
            client_addr: ip("10.0.0.10"),
            client_public_addr: ip("10.0.0.10"),
            routers: vec!["balancer".into()],
            decoy: None,
            server_second_addr: None,
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
                // The rules and the observation sets are of the network's family.
                let v6 = name.as_str().ends_with("-v6");
                if h.nft.is_some() {
                    assert_eq!(nft.contains("ipv6_addr"), v6, "{name} {host}: sets");
                    assert_eq!(nft.contains("ip6 saddr"), v6, "{name} {host}: rules");
                    assert_eq!(nft.contains("ip saddr"), !v6, "{name} {host}: rules");
                }
            }
        }
    }

    #[test]
    fn the_ipv6_presets_are_ipv6_and_the_balancer_fronts_the_server() {
        for name in [PresetName::DirectV6, PresetName::ClientStrictFirewallV6] {
            let r = name.build(&PresetOptions::default()).unwrap().roles;
            for a in [
                r.server_addr,
                r.server_own_addr,
                r.client_addr,
                r.client_public_addr,
            ] {
                assert!(a.is_ipv6(), "{name}: {a}");
            }
        }
        let p = PresetName::LanBalancer
            .build(&PresetOptions::default())
            .unwrap();
        assert_eq!(p.roles.server_addr, ip("10.0.0.20"));
        assert_eq!(p.roles.server_own_addr, ip("10.0.0.2"));
        assert_eq!(p.roles.client_addr, ip("10.0.0.10"));
        assert!(p.spec.hosts["lan"].switch);
        let nft = p.spec.hosts["balancer"].nft.as_deref().unwrap();
        assert!(nft.contains("tcp dport 21 dnat ip to 10.0.0.2"), "{nft}");
    }

    #[test]
    fn options_go_where_they_belong() {
        let opts = PresetOptions {
            nat_idle_timeout_secs: Some(20),
            server_second_addr: Some(ip("10.0.0.3")),
            ..PresetOptions::default()
        };
        let p = PresetName::BothNat.build(&opts).unwrap();
        for (host, h) in &p.spec.hosts {
            assert_eq!(h.idle_timeout_secs.is_some(), h.nat, "{host}");
        }
        assert_eq!(p.roles.server_second_addr, Some(ip("10.0.0.3")));
        let server_end = p.spec.links[2].b.clone();
        assert_eq!(server_end.host, "server");
        assert_eq!(server_end.addrs[1].to_string(), "10.0.0.3/24");
        let e = PresetName::Direct
            .build(&PresetOptions {
                server_second_addr: Some(ip("10.0.0.3")),
                ..PresetOptions::default()
            })
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "server_second_addr: 10.0.0.3 is on no subnet of host server (198.51.100.0/24)"
            ),
            "{e}"
        );
        let e = PresetName::Direct
            .build(&PresetOptions {
                server_second_addr: Some(ip("198.51.100.10")),
                ..PresetOptions::default()
            })
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("have address 198.51.100.10"),
            "the client's: {e}"
        );
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
