//! The topology model: hosts (each a network namespace), links (veth pairs) with their
//! addresses, routes, forwarding and per-host nftables rulesets. Built from Rust or read
//! from TOML, and checked before anything is created.
//!
//! ```toml
//! [hosts.client]
//! [hosts.router]
//! forward = true              # a router
//! nft = """
//! table inet ftpspec {
//!   chain post { type nat hook postrouting priority srcnat; oifname "wan" masquerade; }
//! }
//! """
//! [hosts.server]
//! # [hosts.decoy] with decoy = true: accepts TCP on every port, records each attempt
//! # [hosts.lan] with switch = true: a switch joining its links into one LAN (no addresses)
//! # idle_timeout_secs = 20 on a router: its conntrack forgets idle TCP connections after
//! # 20 s and it drops what it no longer tracks
//!
//! [[link]]
//! a = { host = "client", iface = "eth0", addr = ["192.168.1.2/24"] }
//! b = { host = "router", iface = "lan", addr = ["192.168.1.1/24"] }
//!
//! [[link]]
//! a = { host = "router", iface = "wan", addr = ["198.51.100.1/24"] }
//! b = { host = "server", iface = "eth0", addr = ["198.51.100.10/24"] }
//!
//! [[route]]
//! host = "client"
//! to = "default"
//! via = "192.168.1.1"
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use crate::Error;

/// The bridge of a switch host.
pub(crate) const BRIDGE: &str = "br0";

/// A whole topology.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopologySpec {
    /// Hosts by name (letters, digits and `-`; at most 12 characters).
    pub hosts: BTreeMap<String, HostSpec>,
    /// Point-to-point links between two hosts.
    pub links: Vec<LinkSpec>,
    /// Static routes.
    pub routes: Vec<RouteSpec>,
}

/// One host: a network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSpec {
    /// Whether it forwards packets between its interfaces (a router).
    pub forward: bool,
    /// An nftables ruleset (`nft -f` syntax) loaded into the host. Sets named `forwarded`
    /// and `dropped` in table `inet ftpspec`, of type `ipv4_addr . ipv4_addr . inet_service`
    /// (or `ipv6_addr . ipv6_addr . inet_service`; a dual-stack router names its IPv6 sets
    /// `forwarded6` and `dropped6`), are read back as [`crate::Attempt`]s.
    pub nft: Option<String>,
    /// A decoy: accepts TCP connections on every port and records each (its own ruleset).
    pub decoy: bool,
    /// A switch: the host's link interfaces are joined in one bridge, so every host linked
    /// to it is on one LAN (one subnet across those links). Its ends carry no addresses.
    pub switch: bool,
    /// Forget idle TCP connections after this many seconds, as a home router does: the
    /// host's own conntrack (per namespace) gets `nf_conntrack_tcp_timeout_established` =
    /// this and `nf_conntrack_tcp_loose` = 0 (a mid-stream packet of a forgotten connection
    /// is not picked up again), and an extra table `inet ftpspec_idle` drops TCP packets in
    /// conntrack state invalid on the forward and input paths. A packet of a forgotten
    /// connection is then dropped in both directions: the connection hangs until the
    /// endpoints time it out. See [`TopologySpec::nat_idle_timeout`].
    pub idle_timeout_secs: Option<u32>,
    /// What the ruleset does, as reports and verdicts need to know it (the presets set these;
    /// a topology file may declare them): it translates addresses (NAT).
    pub nat: bool,
    /// It runs the conntrack FTP helper.
    pub ftp_helper: bool,
    /// It drops some new connections (a firewall).
    pub firewall: bool,
}

/// One end of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEnd {
    /// The host.
    pub host: String,
    /// The interface name inside the host (at most 15 characters).
    pub iface: String,
    /// Addresses with their prefix, e.g. `10.0.0.2/24`, `fd00::2/64`.
    pub addrs: Vec<IpNet>,
}

/// A veth pair between two hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    /// One end.
    pub a: LinkEnd,
    /// The other end.
    pub b: LinkEnd,
}

/// A static route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The host it is added to.
    pub host: String,
    /// The destination (`None`: the default route).
    pub to: Option<IpNet>,
    /// The gateway.
    pub via: IpAddr,
}

impl TopologySpec {
    /// An empty topology, to fill with [`TopologySpec::host`], [`TopologySpec::link`] and
    /// [`TopologySpec::route`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a host.
    pub fn host(mut self, name: &str, spec: HostSpec) -> Self {
        self.hosts.insert(name.to_owned(), spec);
        self
    }

    /// Adds a link between `a` = (host, iface, addresses) and `b`.
    pub fn link(mut self, a: (&str, &str, &[&str]), b: (&str, &str, &[&str])) -> Self {
        let end = |(host, iface, addrs): (&str, &str, &[&str])| LinkEnd {
            host: host.to_owned(),
            iface: iface.to_owned(),
            addrs: addrs
                .iter()
                .map(|a| {
                    a.parse().unwrap_or_else(|_| {
                        panic!("{a:?} is not an address with a prefix, like 10.0.0.2/24")
                    })
                })
                .collect(),
        };
        self.links.push(LinkSpec {
            a: end(a),
            b: end(b),
        });
        self
    }

    /// Adds a route on `host` to `to` (`None`: default) via `via`.
    pub fn route(mut self, host: &str, to: Option<&str>, via: &str) -> Self {
        self.routes.push(RouteSpec {
            host: host.to_owned(),
            to: to.map(|t| {
                t.parse()
                    .unwrap_or_else(|_| panic!("{t:?} is not a network like 10.0.0.0/24"))
            }),
            via: via
                .parse()
                .unwrap_or_else(|_| panic!("{via:?} is not an IP address")),
        });
        self
    }

    /// Makes every NAT host (`nat = true`) forget idle TCP connections after `secs` seconds
    /// and drop what it no longer tracks (see [`HostSpec::idle_timeout_secs`]). An error
    /// when the topology has no NAT host, or `secs` is 0.
    ///
    /// ```
    /// use ftpspec_netns::{PresetName, PresetOptions};
    /// let mut spec = PresetName::ServerNat.build(&PresetOptions::default())?.spec;
    /// spec.nat_idle_timeout(20)?;
    /// assert_eq!(spec.hosts["nat"].idle_timeout_secs, Some(20));
    /// assert!(PresetName::Direct.build(&PresetOptions::default())?.spec.nat_idle_timeout(20).is_err());
    /// # Ok::<(), ftpspec_netns::Error>(())
    /// ```
    pub fn nat_idle_timeout(&mut self, secs: u32) -> Result<(), Error> {
        if secs == 0 {
            return Err(Error::Invalid(
                "a NAT idle timeout of 0 s: give at least 1 (seconds)".into(),
            ));
        }
        let mut any = false;
        for host in self.hosts.values_mut().filter(|h| h.nat) {
            host.idle_timeout_secs = Some(secs);
            any = true;
        }
        if !any {
            return Err(Error::Invalid(
                "a NAT idle timeout needs a NAT host (nat = true), and this network has none: \
                 use a NAT preset (server-nat, client-nat, both-nat, ...) or declare the NAT"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Gives `host` one more address, `addr`, on its link whose subnet holds it (with that
    /// subnet's prefix); nothing to do when the host has it already. An error when no link
    /// of the host has a subnet holding `addr`, or another host on it has `addr`.
    ///
    /// ```
    /// use ftpspec_netns::{PresetName, PresetOptions};
    /// let mut spec = PresetName::Direct.build(&PresetOptions::default())?.spec;
    /// spec.add_address("server", "198.51.100.21".parse().unwrap())?;
    /// assert_eq!(spec.links[0].b.addrs.len(), 2);
    /// assert!(spec.add_address("server", "10.9.9.9".parse().unwrap()).is_err());
    /// # Ok::<(), ftpspec_netns::Error>(())
    /// ```
    pub fn add_address(&mut self, host: &str, addr: IpAddr) -> Result<(), Error> {
        let mine = |e: &LinkEnd| e.host == host;
        if self
            .links
            .iter()
            .flat_map(|l| [&l.a, &l.b])
            .any(|e| mine(e) && e.addrs.iter().any(|n| n.addr() == addr))
        {
            return Ok(());
        }
        let nets: Vec<IpNet> = self
            .links
            .iter()
            .flat_map(|l| [&l.a, &l.b])
            .filter(|e| mine(e))
            .flat_map(|e| e.addrs.iter().copied())
            .collect();
        let Some(net) = nets.iter().find(|n| n.contains(&addr)) else {
            let on = nets
                .iter()
                .map(|n| n.trunc().to_string())
                .collect::<Vec<_>>();
            return Err(Error::Invalid(format!(
                "{addr} is on no subnet of host {host} ({}): pick a free address on one of them",
                if on.is_empty() {
                    "it has none".to_owned()
                } else {
                    on.join(", ")
                }
            )));
        };
        let with_prefix = IpNet::new(addr, net.prefix_len()).expect("the prefix of a valid net");
        let net = *net;
        let mut trial = self.clone();
        trial
            .links
            .iter_mut()
            .flat_map(|l| [&mut l.a, &mut l.b])
            .find(|e| e.host == host && e.addrs.contains(&net))
            .expect("the end the subnet came from")
            .addrs
            .push(with_prefix);
        trial.check()?;
        *self = trial;
        Ok(())
    }

    /// Reads a topology file.
    pub fn from_file(path: &Path) -> Result<TopologySpec, Error> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
            path: path.to_owned(),
            error,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses and checks a topology from TOML; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<TopologySpec, Error> {
        let file: FileSpec = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            Error::Spec {
                origin: origin.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        let at = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = line_col(text, span.start);
            Error::Spec {
                origin: origin.to_owned(),
                line,
                column,
                message,
            }
        };
        let mut spec = TopologySpec::new();
        for (name, host) in file.hosts {
            spec.hosts.insert(
                name,
                HostSpec {
                    forward: host.forward,
                    nft: host.nft,
                    decoy: host.decoy,
                    nat: host.nat,
                    ftp_helper: host.ftp_helper,
                    firewall: host.firewall,
                    switch: host.switch,
                    idle_timeout_secs: host.idle_timeout_secs,
                },
            );
        }
        let end = |e: EndFile| -> Result<LinkEnd, Error> {
            let mut addrs = Vec::new();
            for a in e.addr {
                let span = a.span();
                addrs.push(a.into_inner().parse().map_err(|_| {
                    at(
                        span,
                        "not an address with a prefix, like 10.0.0.2/24 or fd00::2/64".into(),
                    )
                })?);
            }
            Ok(LinkEnd {
                host: e.host.into_inner(),
                iface: e.iface.into_inner(),
                addrs,
            })
        };
        let mut spans = Vec::new();
        for link in file.link {
            spans.push((
                (link.a.host.span(), link.a.iface.span()),
                (link.b.host.span(), link.b.iface.span()),
            ));
            spec.links.push(LinkSpec {
                a: end(link.a)?,
                b: end(link.b)?,
            });
        }
        let mut route_spans = Vec::new();
        for r in file.route {
            route_spans.push(r.host.span());
            let to = match r.to.get_ref().as_str() {
                "default" => None,
                t => Some(t.parse().map_err(|_| {
                    at(
                        r.to.span(),
                        format!("{t:?} is not \"default\" or a network like 10.0.0.0/24"),
                    )
                })?),
            };
            let via = r.via.get_ref().parse().map_err(|_| {
                at(
                    r.via.span(),
                    format!("{:?} is not an IP address", r.via.get_ref()),
                )
            })?;
            spec.routes.push(RouteSpec {
                host: r.host.into_inner(),
                to,
                via,
            });
        }
        spec.check_with(|problem| match problem.place {
            Place::LinkHost(i, side) => {
                let s = if side == 0 {
                    spans[i].0 .0.clone()
                } else {
                    spans[i].1 .0.clone()
                };
                at(s, problem.message)
            }
            Place::LinkIface(i, side) => {
                let s = if side == 0 {
                    spans[i].0 .1.clone()
                } else {
                    spans[i].1 .1.clone()
                };
                at(s, problem.message)
            }
            Place::Route(i) => at(route_spans[i].clone(), problem.message),
            Place::Whole => Error::Invalid(format!("{origin}: {}", problem.message)),
        })?;
        Ok(spec)
    }

    /// Checks the topology: host names, known hosts, interface names, no subnet used on two
    /// links, gateways reachable. Nothing is created before this passes.
    pub fn check(&self) -> Result<(), Error> {
        self.check_with(|p| Error::Invalid(p.message))
    }

    fn check_with(&self, to_error: impl Fn(Problem) -> Error) -> Result<(), Error> {
        let fail = |place, message: String| Err(to_error(Problem { place, message }));
        if self.hosts.is_empty() {
            return fail(Place::Whole, "the topology has no hosts".into());
        }
        for name in self.hosts.keys() {
            if name.is_empty()
                || name.len() > 12
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return fail(
                    Place::Whole,
                    format!("host name {name:?}: use 1 to 12 letters, digits or '-'"),
                );
            }
        }
        let mut subnets: Vec<(IpNet, usize)> = Vec::new();
        let mut ifaces: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (i, link) in self.links.iter().enumerate() {
            for (side, end) in [(0, &link.a), (1, &link.b)] {
                if !self.hosts.contains_key(&end.host) {
                    return fail(
                        Place::LinkHost(i, side),
                        format!(
                            "unknown host {:?}: declare it under [hosts.{}]",
                            end.host, end.host
                        ),
                    );
                }
                if end.iface.is_empty()
                    || end.iface.len() > 15
                    || !end
                        .iface
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    || end.iface == "lo"
                {
                    return fail(
                        Place::LinkIface(i, side),
                        format!(
                            "interface name {:?}: use 1 to 15 letters, digits, '-' or '_' (not lo)",
                            end.iface
                        ),
                    );
                }
                if self.hosts[&end.host].switch && end.iface == BRIDGE {
                    return fail(
                        Place::LinkIface(i, side),
                        format!(
                            "interface name {:?} on switch {}: the switch's bridge has it; pick another",
                            end.iface, end.host
                        ),
                    );
                }
                if let Some(other) = ifaces.insert((&end.host, &end.iface), i) {
                    return fail(
                        Place::LinkIface(i, side),
                        format!(
                            "interface {} on host {} is already used by link {}",
                            end.iface,
                            end.host,
                            other + 1
                        ),
                    );
                }
            }
            if link.a.host == link.b.host {
                return fail(
                    Place::LinkHost(i, 1),
                    "a link must join two different hosts".into(),
                );
            }
            // The links of one switch form one LAN: a subnet of their own, shared.
            let switch = |end: &LinkEnd| self.hosts[&end.host].switch;
            let segment = match (switch(&link.a), switch(&link.b)) {
                (true, true) => {
                    return fail(
                        Place::LinkHost(i, 1),
                        "a link cannot join two switches: link each host to one switch".into(),
                    )
                }
                (true, false) => Some(&link.a.host),
                (false, true) => Some(&link.b.host),
                (false, false) => None,
            };
            for (side, end) in [(0, &link.a), (1, &link.b)] {
                if switch(end) && !end.addrs.is_empty() {
                    return fail(
                        Place::LinkHost(i, side),
                        format!(
                            "host {} is a switch: its ends of links carry no addresses",
                            end.host
                        ),
                    );
                }
            }
            let same_lan = |j: usize| {
                j == i || (segment.is_some() && segment == lan_of(&self.links[j], &self.hosts))
            };
            for net in link.a.addrs.iter().chain(&link.b.addrs) {
                let net = net.trunc();
                if let Some((other, j)) = subnets
                    .iter()
                    .find(|(o, j)| !same_lan(*j) && (o.contains(&net) || net.contains(o)))
                {
                    return fail(
                        Place::LinkHost(i, 0),
                        format!("subnet {net} overlaps {other} of link {}: each link (or switch) needs a subnet of its own", j + 1),
                    );
                }
                subnets.push((net, i));
            }
            for (side, end) in [(0, &link.a), (1, &link.b)] {
                for a in &end.addrs {
                    let twice = |l: &LinkSpec| {
                        [&l.a, &l.b]
                            .into_iter()
                            .flat_map(|e| &e.addrs)
                            .filter(|b| b.addr() == a.addr())
                            .count()
                    };
                    let seen: usize = match segment {
                        None => twice(link),
                        Some(_) => (0..=i)
                            .filter(|&j| same_lan(j))
                            .map(|j| twice(&self.links[j]))
                            .sum(),
                    };
                    if seen > 1 {
                        let on = segment.map_or(format!("both ends of link {}", i + 1), |s| {
                            format!("two hosts on switch {s}")
                        });
                        return fail(
                            Place::LinkHost(i, side),
                            format!("{on} have address {}", a.addr()),
                        );
                    }
                }
            }
        }
        for (i, r) in self.routes.iter().enumerate() {
            if !self.hosts.contains_key(&r.host) {
                return fail(
                    Place::Route(i),
                    format!(
                        "unknown host {:?}: declare it under [hosts.{}]",
                        r.host, r.host
                    ),
                );
            }
            let reachable = self
                .links
                .iter()
                .flat_map(|l| [&l.a, &l.b])
                .any(|e| e.host == r.host && e.addrs.iter().any(|n| n.contains(&r.via)));
            if !reachable {
                return fail(
                    Place::Route(i),
                    format!("gateway {} is not on any subnet of host {}", r.via, r.host),
                );
            }
        }
        for (name, host) in &self.hosts {
            if host.decoy && host.nft.is_some() {
                return fail(
                    Place::Whole,
                    format!("host {name}: a decoy brings its own ruleset; drop its nft"),
                );
            }
            if host.switch && (host.forward || host.decoy || host.nft.is_some()) {
                return fail(
                    Place::Whole,
                    format!(
                        "host {name}: a switch only joins its links; drop forward, nft and decoy"
                    ),
                );
            }
            if host.switch && host.idle_timeout_secs.is_some() {
                return fail(
                    Place::Whole,
                    format!("host {name}: a switch tracks no connections; put idle_timeout_secs on a router"),
                );
            }
            if host.idle_timeout_secs == Some(0) {
                return fail(
                    Place::Whole,
                    format!("host {name}: idle_timeout_secs = 0; give at least 1 (seconds)"),
                );
            }
        }
        Ok(())
    }
}

/// The switch a link joins, if it joins one.
fn lan_of<'a>(link: &'a LinkSpec, hosts: &BTreeMap<String, HostSpec>) -> Option<&'a String> {
    [&link.a, &link.b]
        .into_iter()
        .find(|e| hosts.get(&e.host).is_some_and(|h| h.switch))
        .map(|e| &e.host)
}

struct Problem {
    place: Place,
    message: String,
}

enum Place {
    LinkHost(usize, usize),
    LinkIface(usize, usize),
    Route(usize),
    Whole,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    hosts: BTreeMap<String, HostFile>,
    #[serde(default)]
    link: Vec<LinkFile>,
    #[serde(default)]
    route: Vec<RouteFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostFile {
    #[serde(default)]
    forward: bool,
    nft: Option<String>,
    #[serde(default)]
    decoy: bool,
    #[serde(default)]
    nat: bool,
    #[serde(default)]
    ftp_helper: bool,
    #[serde(default)]
    firewall: bool,
    #[serde(default)]
    switch: bool,
    idle_timeout_secs: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkFile {
    a: EndFile,
    b: EndFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndFile {
    host: Spanned<String>,
    iface: Spanned<String>,
    #[serde(default)]
    addr: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    host: Spanned<String>,
    to: Spanned<String>,
    via: Spanned<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const GOOD: &str = r#"
[hosts.client]
[hosts.router]
forward = true
[hosts.server]

[[link]]
a = { host = "client", iface = "eth0", addr = ["192.168.1.2/24", "fd00:1::2/64"] }
b = { host = "router", iface = "lan", addr = ["192.168.1.1/24", "fd00:1::1/64"] }

[[link]]
a = { host = "router", iface = "wan", addr = ["198.51.100.1/24"] }
b = { host = "server", iface = "eth0", addr = ["198.51.100.10/24"] }

[[route]]
host = "client"
to = "default"
via = "192.168.1.1"
"#;

    #[test]
    fn reads_a_good_file() {
        let spec = TopologySpec::from_toml(GOOD, "good.toml").unwrap();
        assert_eq!(spec.hosts.len(), 3);
        assert!(spec.hosts["router"].forward);
        assert_eq!(spec.links[0].a.addrs.len(), 2);
        assert_eq!(spec.routes[0].to, None);
    }

    #[rstest]
    #[case("[hosts.a]\nforwrd = true", 2, "unknown field `forwrd`")]
    #[case(GOOD.replace("host = \"server\"", "host = \"sever\""), 13, "unknown host \"sever\"")]
    #[case(GOOD.replace("198.51.100.10/24", "198.51.100.300/24"), 13, "not an address with a prefix")]
    #[case(GOOD.replace("198.51.100.1/24", "192.168.1.5/24"), 12, "overlaps 192.168.1.0/24 of link 1")]
    #[case(GOOD.replace("via = \"192.168.1.1\"", "via = \"10.9.9.9\""), 16, "gateway 10.9.9.9 is not on any subnet")]
    #[case(GOOD.replace("iface = \"wan\"", "iface = \"a-very-long-interface\""), 12, "interface name")]
    #[case(GOOD.replace("iface = \"wan\"", "iface = \"lan\""), 12, "already used by link 1")]
    #[case(GOOD.replace("to = \"default\"", "to = \"everywhere\""), 17, "not \"default\" or a network")]
    fn refuses_bad_files(#[case] text: String, #[case] line: usize, #[case] message: &str) {
        let e = TopologySpec::from_toml(&text, "t.toml").unwrap_err();
        let s = e.to_string();
        assert!(s.contains(message), "{s}");
        assert!(s.starts_with(&format!("t.toml:{line}:")), "{s}");
    }

    const LAN: &str = r#"
[hosts.a]
[hosts.b]
[hosts.nat]
forward = true
nat = true
idle_timeout_secs = 20
[hosts.sw]
switch = true

[[link]]
a = { host = "a", iface = "eth0", addr = ["10.0.0.10/24"] }
b = { host = "sw", iface = "p1" }

[[link]]
a = { host = "b", iface = "eth0", addr = ["10.0.0.2/24"] }
b = { host = "sw", iface = "p2" }

[[link]]
a = { host = "nat", iface = "eth0", addr = ["10.0.0.1/24"] }
b = { host = "sw", iface = "p3" }
"#;

    #[test]
    fn a_switch_joins_its_links_in_one_lan() {
        let spec = TopologySpec::from_toml(LAN, "lan.toml").unwrap();
        assert!(spec.hosts["sw"].switch);
        assert_eq!(spec.hosts["nat"].idle_timeout_secs, Some(20));
    }

    #[rstest]
    #[case(LAN.replace("b = { host = \"sw\", iface = \"p2\" }", "b = { host = \"sw\", iface = \"p2\", addr = [\"10.0.0.3/24\"] }"), "host sw is a switch: its ends of links carry no addresses")]
    #[case(LAN.replace("10.0.0.2/24", "10.0.0.10/24"), "two hosts on switch sw have address 10.0.0.10")]
    #[case(LAN.replace("switch = true", "switch = true\nforward = true"), "a switch only joins its links")]
    #[case(LAN.replace("iface = \"p3\"", "iface = \"br0\""), "the switch's bridge has it")]
    #[case(LAN.replace("idle_timeout_secs = 20", "idle_timeout_secs = 0"), "idle_timeout_secs = 0; give at least 1")]
    #[case(LAN.replace("idle_timeout_secs = 20", "idle_timeout_secs = \"20\""), "invalid type: string \"20\", expected u32")]
    fn refuses_bad_lans(#[case] text: String, #[case] message: &str) {
        let e = TopologySpec::from_toml(&text, "lan.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains(message), "{e}");
    }

    #[test]
    fn a_lan_still_needs_a_subnet_of_its_own() {
        let text = format!(
            "{LAN}\n[[link]]\na = {{ host = \"nat\", iface = \"wan\", addr = [\"10.0.0.200/25\"] }}\nb = {{ host = \"b\", iface = \"eth1\", addr = [\"10.0.0.201/25\"] }}\n"
        );
        let e = TopologySpec::from_toml(&text, "lan.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlaps 10.0.0.0/24 of link 1"), "{e}");
    }

    #[test]
    fn bad_host_names_are_refused() {
        let e = TopologySpec::new()
            .host("no_underscores", HostSpec::default())
            .check()
            .unwrap_err();
        assert!(e.to_string().contains("host name"), "{e}");
    }
}
