//! A scenario's network: a preset with its options, or an inline topology.

use std::net::IpAddr;
use std::ops::RangeInclusive;

use ftpspec_netns::{PresetOptions, Roles, TopologySpec};

use super::file::{Scenario, TopologyFile};
use crate::error::{Error, Result};

/// A scenario's network: the topology, who is who, and the port ranges.
#[derive(Debug, Clone)]
pub struct Network {
    /// The preset's name, or `inline`.
    pub name: String,
    /// The topology.
    pub spec: TopologySpec,
    /// Who is who.
    pub roles: Roles,
    /// The server's passive range.
    pub pasv_ports: RangeInclusive<u16>,
    /// The client's active range.
    pub active_ports: RangeInclusive<u16>,
    /// The NATs forget idle TCP connections after this many seconds (`None`: they do not).
    pub nat_idle_timeout_secs: Option<u32>,
}

impl Scenario {
    /// The network: a preset with its options, or the inline topology.
    pub fn network(&self) -> Result<Network> {
        self.file.topology.network()
    }
}

impl TopologyFile {
    /// The network: a preset with its options, or the inline topology.
    pub fn network(&self) -> Result<Network> {
        let mut opts = PresetOptions {
            forward_active_ports: self.forward_active_ports,
            decoy: self.decoy,
            nat_idle_timeout_secs: self.nat_idle_timeout_secs,
            server_second_addr: self.server_second_addr,
            ..PresetOptions::default()
        };
        if let Some(r) = &self.pasv_ports {
            opts.pasv_ports = r.0.clone();
        }
        if let Some(r) = &self.active_ports {
            opts.active_ports = r.0.clone();
        }
        let inline = self.hosts.is_some() || self.link.is_some() || self.route.is_some();
        match (self.preset, inline) {
            (Some(_), true) => Err(Error::Topology(
                "give either a preset or an inline topology (hosts, link, route), not both".into(),
            )),
            (None, false) => Err(Error::Topology(
                "[topology] needs a preset, or an inline topology (hosts, link, route with client, server, server_addr)".into(),
            )),
            (Some(name), false) => {
                let preset = name.build(&opts)?;
                Ok(Network {
                    name: name.to_string(),
                    spec: preset.spec,
                    roles: preset.roles,
                    pasv_ports: opts.pasv_ports,
                    active_ports: opts.active_ports,
                    nat_idle_timeout_secs: self.nat_idle_timeout_secs,
                })
            }
            (None, true) => {
                let mut spec = self.inline_spec()?;
                let mut roles = self.inline_roles(&spec)?;
                if let Some(secs) = self.nat_idle_timeout_secs {
                    spec.nat_idle_timeout(secs)
                        .map_err(|e| refused("nat_idle_timeout_secs", e))?;
                }
                if let Some(addr) = self.server_second_addr {
                    spec.add_address(&roles.server, addr)
                        .map_err(|e| refused("server_second_addr", e))?;
                    roles.server_second_addr = Some(addr);
                }
                Ok(Network {
                    name: "inline".into(),
                    roles,
                    spec,
                    pasv_ports: opts.pasv_ports,
                    active_ports: opts.active_ports,
                    nat_idle_timeout_secs: self.nat_idle_timeout_secs,
                })
            }
        }
    }

    /// The inline `hosts`, `link` and `route`, read as an ftpspec-netns topology file.
    fn inline_spec(&self) -> Result<TopologySpec> {
        let mut table = toml::Table::new();
        if let Some(h) = &self.hosts {
            table.insert("hosts".into(), toml::Value::Table(h.clone()));
        }
        for (key, list) in [("link", &self.link), ("route", &self.route)] {
            if let Some(l) = list {
                let items = l.iter().cloned().map(toml::Value::Table).collect();
                table.insert(key.into(), toml::Value::Array(items));
            }
        }
        let text = toml::to_string(&table).map_err(|e| Error::Topology(e.to_string()))?;
        Ok(TopologySpec::from_toml(&text, "the inline topology")?)
    }

    /// Who is who in an inline topology, from `client`, `server` and the addresses.
    fn inline_roles(&self, spec: &TopologySpec) -> Result<Roles> {
        let need = |v: &Option<String>, key: &str| {
            v.clone()
                .ok_or_else(|| Error::Topology(format!("an inline topology needs topology.{key}")))
        };
        let client = need(&self.client, "client")?;
        let server = need(&self.server, "server")?;
        let server_addr = self.server_addr.ok_or_else(|| {
            Error::Topology("an inline topology needs topology.server_addr".into())
        })?;
        for h in [&client, &server] {
            if !spec.hosts.contains_key(h) {
                return Err(Error::Topology(format!(
                    "topology: no host {h:?} in the inline topology"
                )));
            }
        }
        let client_addr = first_addr(spec, &client)
            .ok_or_else(|| Error::Topology(format!("topology: host {client} has no address")))?;
        let decoy = spec
            .hosts
            .iter()
            .find(|(_, h)| h.decoy)
            .and_then(|(n, _)| first_addr(spec, n));
        let routers = spec.hosts.iter().filter(|(_, h)| h.forward);
        Ok(Roles {
            client,
            server,
            server_addr,
            server_own_addr: self.server_own_addr.unwrap_or(server_addr),
            client_addr,
            client_public_addr: self.client_public_addr.unwrap_or(client_addr),
            routers: routers.map(|(n, _)| n.clone()).collect(),
            decoy,
            server_second_addr: None,
        })
    }
}

/// An option the inline topology cannot take: which, and why.
fn refused(key: &str, e: ftpspec_netns::Error) -> Error {
    match e {
        ftpspec_netns::Error::Invalid(why) => Error::Topology(format!("topology.{key}: {why}")),
        e => e.into(),
    }
}

/// A host's first address on any link.
fn first_addr(spec: &TopologySpec, host: &str) -> Option<IpAddr> {
    spec.links
        .iter()
        .flat_map(|l| [&l.a, &l.b])
        .find(|e| e.host == host)
        .and_then(|e| e.addrs.first())
        .map(|a| a.addr())
}

#[cfg(test)]
mod tests {
    use super::super::load::parse;

    const HEAD: &str = "title = \"t\"\nrequirement = \"r\"\n[client]\naction = \"download\"\n";

    #[test]
    fn the_nat_idle_timeout_reaches_every_nat() {
        let text = format!("{HEAD}[topology]\npreset = \"both-nat\"\nnat_idle_timeout_secs = 20\n");
        let net = parse("x/y", "x/y.toml", &text).unwrap().network().unwrap();
        assert_eq!(net.nat_idle_timeout_secs, Some(20));
        assert_eq!(net.spec.hosts["cnat"].idle_timeout_secs, Some(20));
        assert_eq!(net.spec.hosts["snat"].idle_timeout_secs, Some(20));
        assert_eq!(net.spec.hosts["server"].idle_timeout_secs, None);
        let text = format!("{HEAD}[topology]\npreset = \"direct\"\nnat_idle_timeout_secs = 20\n");
        let e = parse("x/y", "x/y.toml", &text).unwrap_err().to_string();
        assert!(e.contains("needs a NAT host"), "{e}");
        let text =
            format!("{HEAD}[topology]\npreset = \"server-nat\"\nnat_idle_timeout_secs = \"20s\"\n");
        let e = parse("x/y", "x/y.toml", &text).unwrap_err().to_string();
        assert!(
            e.contains("invalid type: string \"20s\", expected u32"),
            "{e}"
        );
    }

    #[test]
    fn a_second_server_address_in_a_preset_and_inline() {
        let text = format!(
            "{HEAD}[topology]\npreset = \"direct\"\nserver_second_addr = \"198.51.100.21\"\n"
        );
        let net = parse("x/y", "x/y.toml", &text).unwrap().network().unwrap();
        assert_eq!(
            net.roles.server_second_addr,
            Some("198.51.100.21".parse().unwrap())
        );
        let inline = format!("{HEAD}[topology]\nclient = \"c\"\nserver = \"s\"\nserver_addr = \"fd00:7::2\"\nserver_second_addr = \"fd00:7::3\"\n[topology.hosts.c]\n[topology.hosts.s]\n[[topology.link]]\na = {{ host = \"c\", iface = \"eth0\", addr = [\"fd00:7::1/64\"] }}\nb = {{ host = \"s\", iface = \"eth0\", addr = [\"fd00:7::2/64\"] }}\n");
        let net = parse("x/y", "x/y.toml", &inline)
            .unwrap()
            .network()
            .unwrap();
        assert_eq!(
            net.roles.server_second_addr,
            Some("fd00:7::3".parse().unwrap())
        );
        assert_eq!(net.spec.links[0].b.addrs.len(), 2);
        let off = inline.replace(
            "server_second_addr = \"fd00:7::3\"",
            "server_second_addr = \"fd00:8::3\"",
        );
        let e = parse("x/y", "x/y.toml", &off).unwrap_err().to_string();
        assert!(
            e.contains("topology.server_second_addr: fd00:8::3 is on no subnet of host s"),
            "{e}"
        );
    }

    #[test]
    fn the_new_presets_by_name() {
        for name in ["direct-v6", "client-strict-firewall-v6", "lan-balancer"] {
            let text = format!("{HEAD}[topology]\npreset = \"{name}\"\n");
            let net = parse("x/y", "x/y.toml", &text).unwrap().network().unwrap();
            assert_eq!(net.name, name);
        }
    }
}
