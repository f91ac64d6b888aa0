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
                })
            }
            (None, true) => {
                let spec = self.inline_spec()?;
                Ok(Network {
                    name: "inline".into(),
                    roles: self.inline_roles(&spec)?,
                    spec,
                    pasv_ports: opts.pasv_ports,
                    active_ports: opts.active_ports,
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
        })
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
