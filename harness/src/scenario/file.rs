//! The scenario file's shape: every key and value typed, so that a wrong one is an error at
//! its line and column.

use std::net::IpAddr;
use std::ops::RangeInclusive;

use ftpspec_mock::ServerSpec;
use ftpspec_netns::PresetName;
use serde::{Deserialize, Serialize};

use super::axis::{Axis, Variant};
use super::expect::Expect;

/// A loaded scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `group/name`.
    pub id: String,
    /// Where it came from (`catalogue:passive/x.toml` or a path).
    pub origin: String,
    /// Its content (`server`: the personality's merged with the file's own keys).
    pub file: ScenarioFile,
    /// The personality the file names in `[server] personality` (it keeps it in every run).
    pub personality: Option<String>,
    /// The variant this is (all `None`: the scenario as written).
    pub variant: Variant,
    /// The file's own `[server]` keys, for a variant to lay on another personality.
    pub(crate) own_server: toml::Table,
}

impl Scenario {
    /// The group (`passive` of `passive/x`).
    pub fn group(&self) -> &str {
        self.id.split('/').next().unwrap_or("")
    }
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
    /// The axes this scenario can be rerun on (`ftpspec run --axis`): `tls`, `ip`.
    #[serde(default)]
    pub axes: Vec<Axis>,
    /// The network.
    pub topology: TopologyFile,
    /// The mock server (ftpspec-mock's server file), plus `personality = "NAME"`: a server
    /// personality as the base of the file's own keys (see [`super::personality`]).
    #[serde(default)]
    pub server: ServerSpec,
    /// What the client does.
    pub client: ClientTask,
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
    /// A preset; or leave it out and describe the network inline (`hosts`, `link`,
    /// `route` as in an ftpspec-netns topology file) with `client`, `server` and
    /// `server_addr`.
    pub preset: Option<PresetName>,
    /// The server's passive range (`MIN-MAX`; default 50000-50010).
    pub pasv_ports: Option<PortRange>,
    /// The client's active range (`MIN-MAX`; default 50100-50110).
    pub active_ports: Option<PortRange>,
    /// client-nat: forward the active range to the client.
    #[serde(default)]
    pub forward_active_ports: bool,
    /// Add the decoy host.
    #[serde(default)]
    pub decoy: bool,
    /// Every NAT host forgets idle TCP connections after this many seconds and drops what
    /// it no longer tracks (a preset with a NAT, or an inline topology with a `nat = true`
    /// host; see ftpspec-netns's `HostSpec::idle_timeout_secs`).
    pub nat_idle_timeout_secs: Option<u32>,
    /// A second address for the server on its link towards the client (in that link's
    /// subnet, e.g. 198.51.100.21 with `direct`), added to the preset's server host; in an
    /// inline topology, one of the server's addresses, or a free one on its link's subnet.
    pub server_second_addr: Option<IpAddr>,
    /// Inline: the client's host.
    pub client: Option<String>,
    /// Inline: the server's host.
    pub server: Option<String>,
    /// Inline: the address the client connects to for the server.
    pub server_addr: Option<IpAddr>,
    /// Inline: the server's own address, when a NAT stands between (default `server_addr`).
    pub server_own_addr: Option<IpAddr>,
    /// Inline: the client's address as the server sees it (default its own).
    pub client_public_addr: Option<IpAddr>,
    /// Inline: hosts (see ftpspec-netns).
    pub hosts: Option<toml::Table>,
    /// Inline: links.
    pub link: Option<Vec<toml::Table>>,
    /// Inline: routes.
    pub route: Option<Vec<toml::Table>>,
}

/// A port range in a file, `MIN-MAX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRange(pub RangeInclusive<u16>);

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ftpspec_mock::parse_port_range(&text)
            .map(PortRange)
            .map_err(serde::de::Error::custom)
    }
}

/// A size in a file: a byte count with an optional binary suffix (`64K`, `1M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a size: a byte count, or text such as \"64K\" or \"1M\""
        )]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Bytes(n) => return Ok(Size(n)),
            Raw::Text(t) => t,
        };
        ftpspec_mock::generated::parse_size(&text)
            .map(Size)
            .ok_or_else(|| {
                serde::de::Error::custom(format!("{text:?} is not a size such as 64K or 1M"))
            })
    }
}

/// `[client]`: what the client is to do in the case.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientTask {
    /// What to do.
    pub action: Action,
    /// The server path (download, list) or target path (upload).
    #[serde(default = "default_path")]
    pub path: String,
    /// Upload size, e.g. `64K` (default 64K).
    pub size: Option<Size>,
    /// With `action = "session"`: the steps, in order, on one control connection
    /// (`"list PATH"`, `"download PATH"`, `"upload PATH"`).
    #[serde(default)]
    pub steps: Vec<Step>,
    /// How long the client is told to wait for a reply, for a server slow to answer
    /// (default: the connect timeout, 10 s); clients with one timeout for everything get it.
    pub reply_timeout_secs: Option<u64>,
    /// Passive (default) or active.
    #[serde(default)]
    pub mode: Mode,
    /// Settings the client must be given.
    #[serde(default)]
    pub settings: Vec<Setting>,
    /// Settings (each one of `settings`) that a client may lack: a client without one runs
    /// the case without it and gets `informational`, recording what it did, instead of
    /// `unsupported` (a retry case: a client that cannot retry has no right answer).
    #[serde(default)]
    pub informational_without: Vec<Setting>,
    /// A download that continues a partial local file: before the client runs, the local
    /// file holds the served file's first this many bytes (see
    /// [`crate::local::write_partial`]; sparse beyond 64 MiB). Bytes, or a size such as
    /// `"400K"`.
    pub resume_offset: Option<Size>,
}

impl ClientTask {
    /// What [`ClientTask::informational_without`] names that `settings` does not: each must
    /// be a setting the case asks for. The message, for the key's line and column.
    pub fn check_informational_without(&self) -> Result<(), String> {
        match self
            .informational_without
            .iter()
            .find(|s| !self.settings.contains(s))
        {
            Some(s) => Err(format!(
                "informational_without names {}, which settings does not ask for; add it to settings = [...]",
                s.as_str()
            )),
            None => Ok(()),
        }
    }

    /// The upload size (default 64 KiB).
    pub fn upload_size(&self) -> u64 {
        self.size.map_or(64 << 10, |s| s.0)
    }
}

fn default_path() -> String {
    "/gen/64K".into()
}

/// The client action.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// List a directory.
    List,
    /// Download a file.
    Download,
    /// Upload a file.
    Upload,
    /// Several of the above, in order, on one control connection (the scenario's `steps`).
    Session,
    /// Download the directory `path` recursively, walking its listings, into a local
    /// directory ([`crate::clients::Target::local_dir`]).
    Mirror,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 5] = [
        Action::List,
        Action::Download,
        Action::Upload,
        Action::Session,
        Action::Mirror,
    ];

    /// Every action but `mirror`: what a client does that does not walk directory trees.
    pub const NON_RECURSIVE: [Action; 4] = [
        Action::List,
        Action::Download,
        Action::Upload,
        Action::Session,
    ];

    /// The actions of one transfer: list, download, upload.
    pub const SINGLE: [Action; 3] = [Action::List, Action::Download, Action::Upload];

    /// Its name in files: `list`, `download`, `upload`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Download => "download",
            Action::Upload => "upload",
            Action::Session => "session",
            Action::Mirror => "mirror",
        }
    }

    /// What it produces, in a sentence: `listing`, `download`, `upload`.
    pub fn noun(self) -> &'static str {
        match self {
            Action::List => "listing",
            other => other.as_str(),
        }
    }

    /// What a client does, after "cannot": `list a directory`, `download`, `upload`.
    pub fn phrase(self) -> &'static str {
        match self {
            Action::List => "list a directory",
            Action::Session => "make several transfers on one control connection",
            Action::Mirror => "download a directory tree recursively",
            other => other.as_str(),
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a `session`: `"list PATH"`, `"download PATH"` or `"upload PATH"` (no spaces in
/// PATH; an absolute server path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `list`, `download` or `upload`.
    pub action: Action,
    /// The server path.
    pub path: String,
}

impl std::str::FromStr for Step {
    type Err = String;

    fn from_str(text: &str) -> Result<Step, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let action = match words.first().copied() {
            Some("list") => Action::List,
            Some("download") => Action::Download,
            Some("upload") => Action::Upload,
            _ => {
                return Err(format!(
                    "{text:?} is not a step; a step is \"list PATH\", \"download PATH\" or \"upload PATH\""
                ))
            }
        };
        match words[1..] {
            [path] if path.starts_with('/') => Ok(Step {
                action,
                path: path.to_owned(),
            }),
            _ => Err(format!(
                "{text:?}: a step names one absolute server path without spaces, like \"{} /gen/64K\"",
                action.as_str()
            )),
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.action, self.path)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
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
    /// Keep the control connection alive during a long transfer (NOOP, or TCP keepalive),
    /// every [`crate::clients::Target::keepalive_secs`] seconds, so that a NAT does not
    /// forget it while the data flows.
    Keepalive,
    /// Continue a partial local file (REST) instead of downloading it again.
    Resume,
    /// Transfer in TYPE A, writing the text with this system's line ends (LF).
    Ascii,
    /// Try again, by itself, when the server refuses the connection or a command with a
    /// transient (4xx) reply such as a 421 greeting: connect anew a few times, about
    /// [`crate::clients::Target::retry_delay_secs`] apart. Only clients with a knob of their
    /// own declare it (ftpspec adds no retry loop to its client scripts).
    Retry,
}

impl Setting {
    /// Every setting.
    pub const ALL: [Setting; 13] = [
        Setting::DisableEpsv,
        Setting::PreferEpsv,
        Setting::DisableEprt,
        Setting::ForcePasvIp,
        Setting::PortRange,
        Setting::ExternalIp,
        Setting::FtpsExplicit,
        Setting::FtpsImplicit,
        Setting::Ccc,
        Setting::Keepalive,
        Setting::Resume,
        Setting::Ascii,
        Setting::Retry,
    ];

    /// The settings of how to connect: modes, addresses, FTPS (every setting but
    /// `keepalive`, `resume`, `ascii` and `retry`, which are about the transfer).
    pub const CONNECTION: [Setting; 9] = [
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

    /// Whether it makes the case FTPS (explicit or implicit).
    pub fn is_ftps(self) -> bool {
        matches!(self, Setting::FtpsExplicit | Setting::FtpsImplicit)
    }

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
            Setting::Keepalive => "keepalive",
            Setting::Resume => "resume",
            Setting::Ascii => "ascii",
            Setting::Retry => "retry",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n[client]\naction = \"download\"\n";

    #[test]
    fn informational_without_names_settings_the_case_asks_for() {
        let ok = format!("{HEAD}settings = [\"retry\"]\ninformational_without = [\"retry\"]\n");
        let s = crate::scenario::parse("a/b", "a/b.toml", &ok).unwrap();
        assert_eq!(s.file.client.informational_without, [Setting::Retry]);
        let bad = format!("{HEAD}settings = [\"resume\"]\ninformational_without = [\"retry\"]\n");
        let e = crate::scenario::parse("a/b", "a/b.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("a/b.toml:8:1:") && e.contains("informational_without names retry"),
            "{e}"
        );
        let typo = format!("{HEAD}informational_without = [\"retries\"]\n");
        let e = crate::scenario::parse("a/b", "a/b.toml", &typo)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("a/b.toml:7:26:") && e.contains("unknown variant `retries`"),
            "{e}"
        );
    }
}
