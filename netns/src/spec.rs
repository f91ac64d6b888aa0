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
    /// and `dropped` (type `ipv4_addr . ipv4_addr . inet_service`) in table `inet ftpspec`
    /// are read back as [`crate::Attempt`]s.
    pub nft: Option<String>,
    /// A decoy: accepts TCP connections on every port and records each (its own ruleset).
    pub decoy: bool,
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
            for net in link.a.addrs.iter().chain(&link.b.addrs) {
                let net = net.trunc();
                if let Some((other, j)) = subnets
                    .iter()
                    .find(|(o, j)| *j != i && (o.contains(&net) || net.contains(o)))
                {
                    return fail(
                        Place::LinkHost(i, 0),
                        format!("subnet {net} overlaps {other} of link {}: each link needs a subnet of its own", j + 1),
                    );
                }
                subnets.push((net, i));
            }
            for a in &link.a.addrs {
                if link.b.addrs.iter().any(|b| b.addr() == a.addr()) {
                    return fail(
                        Place::LinkHost(i, 1),
                        format!("both ends of link {} have address {}", i + 1, a.addr()),
                    );
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
        }
        Ok(())
    }
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

    #[test]
    fn bad_host_names_are_refused() {
        let e = TopologySpec::new()
            .host("no_underscores", HostSpec::default())
            .check()
            .unwrap_err();
        assert!(e.to_string().contains("host name"), "{e}");
    }
}
