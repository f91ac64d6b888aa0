//! Scenario files: one TOML file per case, `scenarios/<group>/<name>.toml`, the id being the
//! path without `.toml`. The catalogue is embedded in the crate; a user's own directory can
//! add to it or replace cases (same id).
//!
//! ```toml
//! title = "Server behind NAT advertises its private address"
//! requirement = "A client must not connect to an unroutable 227 address ..."
//! references = ["RFC 1123 §4.1.2.6", "curl CVE-2020-8284"]
//! informational = false        # true: record the behaviour, no pass or fail
//! timeout_secs = 30            # the client is killed after this long
//!
//! [topology]                   # a preset and its options (see ftpspec-netns)
//! preset = "server-nat"
//! decoy = false
//!
//! [server]                     # the ftpspec-mock server file: advertise, epsv, [[script]], [tls]
//! epsv = false
//!
//! [client]
//! action = "download"          # list | download | upload
//! path = "/gen/64K"
//! mode = "passive"             # passive | active
//! settings = ["disable_epsv"]  # what the case needs the client to be told
//!
//! [expect]                     # checks on observations; all must hold for a pass
//! transfer = "ok"              # ok | failed
//! data_via_control_address = true
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ftpspec_mock::ServerSpec;
use ftpspec_netns::{PresetName, PresetOptions};
use serde::{Deserialize, Serialize};

/// The catalogue shipped with ftpspec.
static CATALOGUE: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/scenarios");

/// A loaded scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `group/name`.
    pub id: String,
    /// Where it came from (`catalogue:passive/x.toml` or a path).
    pub origin: String,
    /// Its content.
    pub file: ScenarioFile,
}

/// A scenario file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// One line.
    pub title: String,
    /// The rule or documented behaviour checked, quoted or paraphrased, with its source.
    pub requirement: String,
    /// RFC sections, CVEs, documentation pages.
    #[serde(default)]
    pub references: Vec<String>,
    /// Record the behaviour only: the verdict is `informational`.
    #[serde(default)]
    pub informational: bool,
    /// The client is killed after this long (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The network.
    pub topology: TopologyFile,
    /// The mock server (ftpspec-mock's server file).
    #[serde(default)]
    pub server: ServerSpec,
    /// What the client does.
    pub client: ClientFile,
    /// What must hold.
    #[serde(default)]
    pub expect: Expect,
}

fn default_timeout() -> u64 {
    30
}

/// `[topology]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    /// A preset name; or leave it out and describe the network inline (`hosts`, `link`,
    /// `route` as in an ftpspec-netns topology file) with `client`, `server` and
    /// `server_addr`.
    pub preset: Option<String>,
    /// The server's passive range (`MIN-MAX`; default 50000-50010).
    pub pasv_ports: Option<String>,
    /// The client's active range (`MIN-MAX`; default 50100-50110).
    pub active_ports: Option<String>,
    /// client-nat: forward the active range to the client.
    #[serde(default)]
    pub forward_active_ports: bool,
    /// Add the decoy host.
    #[serde(default)]
    pub decoy: bool,
    /// Inline: the client's host.
    pub client: Option<String>,
    /// Inline: the server's host.
    pub server: Option<String>,
    /// Inline: the address the client connects to for the server.
    pub server_addr: Option<std::net::IpAddr>,
    /// Inline: the server's own address, when a NAT stands between (default `server_addr`).
    pub server_own_addr: Option<std::net::IpAddr>,
    /// Inline: the client's address as the server sees it (default its own).
    pub client_public_addr: Option<std::net::IpAddr>,
    /// Inline: hosts (see ftpspec-netns).
    pub hosts: Option<toml::Table>,
    /// Inline: links.
    pub link: Option<Vec<toml::Table>>,
    /// Inline: routes.
    pub route: Option<Vec<toml::Table>>,
}

/// A scenario's network: the topology, who is who, and the port ranges.
#[derive(Debug, Clone)]
pub struct Network {
    /// The preset's name, or `inline`.
    pub name: String,
    /// The topology.
    pub spec: ftpspec_netns::TopologySpec,
    /// Who is who.
    pub roles: ftpspec_netns::Roles,
    /// The server's passive range.
    pub pasv_ports: std::ops::RangeInclusive<u16>,
    /// The client's active range.
    pub active_ports: std::ops::RangeInclusive<u16>,
}

/// `[client]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    /// What to do.
    pub action: Action,
    /// The server path (download, list) or target path (upload).
    #[serde(default = "default_path")]
    pub path: String,
    /// Upload size, e.g. `64K` (default 64K).
    pub size: Option<String>,
    /// Passive (default) or active.
    #[serde(default)]
    pub mode: Mode,
    /// Settings the client must be given.
    #[serde(default)]
    pub settings: Vec<Setting>,
}

fn default_path() -> String {
    "/gen/64K".into()
}

/// The client action.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// List a directory.
    List,
    /// Download a file.
    Download,
    /// Upload a file.
    Upload,
}

/// Passive or active data connections.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// PASV/EPSV.
    #[default]
    Passive,
    /// PORT/EPRT.
    Active,
}

/// A client setting a scenario may need. A client that has no way to do it gets
/// `unsupported` for that scenario.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// Never send EPSV (use PASV).
    DisableEpsv,
    /// Use EPSV (RFC 2428) for passive mode, also on IPv4.
    PreferEpsv,
    /// Never send EPRT (use PORT).
    DisableEprt,
    /// Ignore the 227 address and use the control connection's ("force IP").
    ForcePasvIp,
    /// Listen for active-mode connections only on the scenario's active port range.
    PortRange,
    /// Announce the NAT's public address in PORT/EPRT.
    ExternalIp,
    /// Explicit FTPS (AUTH TLS), data protected.
    FtpsExplicit,
    /// Implicit FTPS.
    FtpsImplicit,
    /// CCC after login.
    Ccc,
}

impl Setting {
    /// Every setting.
    pub const ALL: [Setting; 9] = [
        Setting::DisableEpsv,
        Setting::PreferEpsv,
        Setting::DisableEprt,
        Setting::ForcePasvIp,
        Setting::PortRange,
        Setting::ExternalIp,
        Setting::FtpsExplicit,
        Setting::FtpsImplicit,
        Setting::Ccc,
    ];

    /// The setting with this name in files.
    pub fn from_name(name: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::DisableEpsv => "disable_epsv",
            Setting::PreferEpsv => "prefer_epsv",
            Setting::DisableEprt => "disable_eprt",
            Setting::ForcePasvIp => "force_pasv_ip",
            Setting::PortRange => "port_range",
            Setting::ExternalIp => "external_ip",
            Setting::FtpsExplicit => "ftps_explicit",
            Setting::FtpsImplicit => "ftps_implicit",
            Setting::Ccc => "ccc",
        }
    }
}

/// `[expect]`: checks on the observations. Every check given must hold.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `ok`: the client succeeded and the bytes match; `failed`: it reported failure.
    pub transfer: Option<Outcome>,
    /// Every data connection reached the server through the address the client connected
    /// the control connection to, never through the server's own (private) address.
    pub data_via_control_address: Option<bool>,
    /// The client never connected to the decoy.
    pub no_decoy_connection: Option<bool>,
    /// Every PORT/EPRT port lies in the scenario's active range.
    pub active_ports_in_range: Option<bool>,
    /// Every PORT/EPRT carried the client's public address (the NAT's).
    pub active_address_public: Option<bool>,
    /// When the client sent EPSV (refused), it then sent PASV.
    pub pasv_after_refused_epsv: Option<bool>,
    /// The client ended (by itself) within this many seconds.
    pub ends_within_secs: Option<u64>,
    /// Data connections used TLS (PROT P).
    pub data_tls: Option<bool>,
}

/// `transfer` outcomes.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Succeeded with the right bytes.
    Ok,
    /// Reported failure (non-zero exit).
    Failed,
}

impl Scenario {
    /// The group (`passive` of `passive/x`).
    pub fn group(&self) -> &str {
        self.id.split('/').next().unwrap_or("")
    }

    /// The network: a preset with its options, or the inline topology.
    pub fn network(&self) -> Result<Network, String> {
        let t = &self.file.topology;
        let mut opts = PresetOptions {
            forward_active_ports: t.forward_active_ports,
            decoy: t.decoy,
            ..PresetOptions::default()
        };
        if let Some(r) = &t.pasv_ports {
            opts.pasv_ports = ftpspec_mock::parse_port_range(r)
                .map_err(|e| format!("topology.pasv_ports: {e}"))?;
        }
        if let Some(r) = &t.active_ports {
            opts.active_ports = ftpspec_mock::parse_port_range(r)
                .map_err(|e| format!("topology.active_ports: {e}"))?;
        }
        let inline = t.hosts.is_some() || t.link.is_some() || t.route.is_some();
        match (&t.preset, inline) {
            (Some(_), true) => Err("give either a preset or an inline topology (hosts, link, route), not both".into()),
            (None, false) => Err("[topology] needs a preset, or an inline topology (hosts, link, route with client, server, server_addr)".into()),
            (Some(p), false) => {
                let name: PresetName = p.parse()?;
                let preset = name.build(&opts).map_err(|e| e.to_string())?;
                Ok(Network {
                    name: name.to_string(),
                    spec: preset.spec,
                    roles: preset.roles,
                    pasv_ports: opts.pasv_ports,
                    active_ports: opts.active_ports,
                })
            }
            (None, true) => {
                let mut table = toml::Table::new();
                if let Some(h) = &t.hosts {
                    table.insert("hosts".into(), toml::Value::Table(h.clone()));
                }
                for (key, list) in [("link", &t.link), ("route", &t.route)] {
                    if let Some(l) = list {
                        table.insert(key.into(), toml::Value::Array(l.iter().cloned().map(toml::Value::Table).collect()));
                    }
                }
                let text = toml::to_string(&table).map_err(|e| e.to_string())?;
                let spec = ftpspec_netns::TopologySpec::from_toml(&text, "the inline topology")
                    .map_err(|e| e.to_string())?;
                let need = |v: &Option<String>, key: &str| {
                    v.clone().ok_or_else(|| format!("an inline topology needs topology.{key}"))
                };
                let client = need(&t.client, "client")?;
                let server = need(&t.server, "server")?;
                let server_addr = t.server_addr.ok_or("an inline topology needs topology.server_addr")?;
                let first_addr = |host: &str| {
                    spec.links
                        .iter()
                        .flat_map(|l| [&l.a, &l.b])
                        .find(|e| e.host == host)
                        .and_then(|e| e.addrs.first())
                        .map(|a| a.addr())
                };
                for h in [&client, &server] {
                    if !spec.hosts.contains_key(h) {
                        return Err(format!("topology: no host {h:?} in the inline topology"));
                    }
                }
                let client_addr = first_addr(&client).ok_or_else(|| format!("topology: host {client} has no address"))?;
                let decoy = spec.hosts.iter().find(|(_, h)| h.decoy).and_then(|(n, _)| first_addr(n));
                Ok(Network {
                    name: "inline".into(),
                    roles: ftpspec_netns::Roles {
                        client,
                        server,
                        server_addr,
                        server_own_addr: t.server_own_addr.unwrap_or(server_addr),
                        client_addr,
                        client_public_addr: t.client_public_addr.unwrap_or(client_addr),
                        routers: spec.hosts.iter().filter(|(_, h)| h.forward).map(|(n, _)| n.clone()).collect(),
                        decoy,
                    },
                    spec,
                    pasv_ports: opts.pasv_ports,
                    active_ports: opts.active_ports,
                })
            }
        }
    }
}

/// Why scenarios could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file is not a valid scenario.
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        origin: String,
        /// 1-based line (0 when not known).
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A directory or file could not be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
}

/// Parses and checks one scenario file.
pub fn parse(id: &str, origin: &str, text: &str) -> Result<Scenario, LoadError> {
    let file: ScenarioFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        LoadError::Invalid {
            origin: origin.to_owned(),
            line,
            column,
            message: e.message().to_owned(),
        }
    })?;
    let scenario = Scenario {
        id: id.to_owned(),
        origin: origin.to_owned(),
        file,
    };
    let bad = |key: &str, message: String| {
        let (line, column) = find_key(text, key);
        LoadError::Invalid {
            origin: origin.to_owned(),
            line,
            column,
            message,
        }
    };
    let key = if scenario.file.topology.preset.is_some() {
        "preset"
    } else {
        "topology"
    };
    scenario.network().map_err(|e| bad(key, e))?;
    ftpspec_mock::MockServer::builder()
        .spec(&scenario.file.server)
        .build()
        .map(|_| ())
        .or_else(|e| match e {
            // The safety rule applies where the server runs: inside the namespaces.
            ftpspec_mock::Error::UnsafeAddress { .. } => Ok(()),
            other => Err(other),
        })
        .map_err(|e| bad("server", format!("[server]: {e}")))?;
    if let Some(size) = &scenario.file.client.size {
        if ftpspec_mock::generated::parse_size(size).is_none() {
            return Err(bad(
                "size",
                format!("client.size = {size:?} is not a size such as 64K"),
            ));
        }
    }
    if !scenario.file.client.path.starts_with('/') {
        return Err(bad(
            "path",
            "client.path must be absolute, like /gen/64K".into(),
        ));
    }
    Ok(scenario)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    (
        before.matches('\n').count() + 1,
        before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
    )
}

/// The line and column of a key, for errors found after parsing.
fn find_key(text: &str, key: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with(key) && t[key.len()..].trim_start().starts_with(['=', ']']) {
            return (i + 1, line.len() - t.len() + 1);
        }
        if t.starts_with(&format!("[{key}")) || t.starts_with(&format!("[[{key}")) {
            return (i + 1, line.len() - t.len() + 1);
        }
    }
    (0, 0)
}

/// The built-in catalogue, in id order.
pub fn catalogue() -> Result<Vec<Scenario>, LoadError> {
    let mut out = BTreeMap::new();
    let mut stack = vec![&CATALOGUE];
    while let Some(dir) = stack.pop() {
        for entry in dir.entries() {
            match entry {
                include_dir::DirEntry::Dir(d) => stack.push(d),
                include_dir::DirEntry::File(f) => {
                    let path = f.path().to_string_lossy().replace('\\', "/");
                    let Some(id) = path.strip_suffix(".toml") else {
                        continue;
                    };
                    let text = f.contents_utf8().unwrap_or_default();
                    out.insert(
                        id.to_owned(),
                        parse(id, &format!("catalogue:{path}"), text)?,
                    );
                }
            }
        }
    }
    Ok(out.into_values().collect())
}

/// Scenarios from a directory (`<dir>/<group>/<name>.toml`), in id order.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, LoadError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| LoadError::Io { path, error }
    };
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io(&d))? {
            let entry = entry.map_err(io(&d))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let rel = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
                let id = rel.to_string_lossy().replace('\\', "/");
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                out.insert(id.clone(), parse(&id, &path.display().to_string(), &text)?);
            }
        }
    }
    Ok(out.into_values().collect())
}

/// The catalogue plus the scenarios in `extra` (which replace catalogue cases of the same
/// id), filtered by id prefixes (none: all).
pub fn select(extra: &[PathBuf], filters: &[String]) -> Result<Vec<Scenario>, LoadError> {
    let mut all: BTreeMap<String, Scenario> = catalogue()?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    for dir in extra {
        for s in load_dir(dir)? {
            all.insert(s.id.clone(), s);
        }
    }
    Ok(all
        .into_values()
        .filter(|s| filters.is_empty() || filters.iter().any(|f| s.id.starts_with(f.as_str())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_loads() {
        let all = catalogue().unwrap();
        assert!(all.len() >= 20, "{}", all.len());
        for s in &all {
            assert!(s.id.contains('/'), "{}", s.id);
            assert!(!s.file.requirement.is_empty(), "{}", s.id);
        }
    }

    #[test]
    fn inline_topologies() {
        let head = "title = \"t\"\nrequirement = \"r\"\n[client]\naction = \"download\"\n";
        let good = format!("{head}[topology]\nclient = \"c\"\nserver = \"s\"\nserver_addr = \"10.7.0.2\"\n[topology.hosts.c]\n[topology.hosts.s]\n[[topology.link]]\na = {{ host = \"c\", iface = \"eth0\", addr = [\"10.7.0.1/24\"] }}\nb = {{ host = \"s\", iface = \"eth0\", addr = [\"10.7.0.2/24\"] }}\n");
        let s = parse("x/y", "x/y.toml", &good).unwrap();
        let n = s.network().unwrap();
        assert_eq!(n.name, "inline");
        assert_eq!(n.roles.client_addr.to_string(), "10.7.0.1");
        let missing = good.replace("server_addr = \"10.7.0.2\"\n", "");
        let e = parse("x/y", "x/y.toml", &missing).unwrap_err().to_string();
        assert!(e.contains("needs topology.server_addr"), "{e}");
        let both = good.replace("client = \"c\"", "preset = \"direct\"\nclient = \"c\"");
        let e = parse("x/y", "x/y.toml", &both).unwrap_err().to_string();
        assert!(e.contains("either a preset or an inline topology"), "{e}");
        let unknown = good.replace("host = \"s\"", "host = \"q\"");
        let e = parse("x/y", "x/y.toml", &unknown).unwrap_err().to_string();
        assert!(e.contains("unknown host \"q\""), "{e}");
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let text = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"server-nat\"\n[client]\naction = \"dowload\"\n";
        let e = parse("a/b", "a/b.toml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("a/b.toml:6:10:") && e.contains("unknown variant `dowload`"),
            "{e}"
        );
        let text = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"server-mat\"\n[client]\naction = \"download\"\n";
        let e = parse("a/b", "a/b.toml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("a/b.toml:4:1:") && e.contains("unknown preset \"server-mat\""),
            "{e}"
        );
        let text = "title = \"t\"\nrequirement = \"r\"\ncolour = 1\n[topology]\npreset = \"direct\"\n[client]\naction = \"list\"\n";
        let e = parse("a/b", "a/b.toml", text).unwrap_err().to_string();
        assert!(
            e.contains("a/b.toml:3:1:") && e.contains("unknown field `colour`"),
            "{e}"
        );
        let text = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n[server]\npasv_ports = \"9-1\"\n[client]\naction = \"list\"\n";
        let e = parse("a/b", "a/b.toml", text).unwrap_err().to_string();
        assert!(
            e.contains("a/b.toml:5:1:") && e.contains("pasv_ports"),
            "{e}"
        );
    }
}
