//! Server scenarios: cases that test an FTP *server* (`ftpspec run --server NAME`), the
//! catalogue's `server/` group. The network is the same as a client case's; the server under
//! test runs in the server host with the settings the case needs, a root holding the files
//! the case uses, and ftpspec's probe ([`crate::probe`]) plays the client.
//!
//! ```toml
//! title = "Behind NAT, with its external address set, the server advertises it"
//! requirement = "..."
//! references = ["vsftpd.conf(5) pasv_address"]
//! informational = false          # true: record what the server does, no pass or fail
//! timeout_secs = 60              # the probe is stopped after this long
//!
//! [topology]                     # as in a client scenario
//! preset = "server-nat"
//!
//! [server]
//! needs = ["external_ip"]        # settings of the server file the case renders; a server
//!                                # without one of them is `unsupported`
//! files = [{ path = "file.bin", size = "1M" }]   # the root: generated content (see
//!                                # ftpspec_mock::generated); `from` = sparse, zeros before
//!
//! [probe]                        # the steps, see crate::probe
//! tls = "none"
//! steps = [{ login = true }, { retr = "file.bin", via = "pasv", expect = "226" }]
//!
//! [client]                       # optional: a real client after the probe's steps
//! name = "lftp"                  # a built-in client (default curl); it must succeed and
//! action = "download"            # its download (upload, listing) be right
//! path = "file.bin"
//! settings = ["disable_epsv"]
//!
//! [expect]                       # beyond every step's own `expect`
//! advertised = "public"          # every 227 names the address the probe was given
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::file::{Action, Mode, Setting, Size, TopologyFile};
use super::network::Network;
use crate::error::{from_toml, Error, Result};
use crate::probe::ProbeSpec;
use crate::servers::ServerSetting;

/// The catalogue's group of server cases, and the id prefix that marks one.
pub const GROUP: &str = "server";

/// A loaded server scenario.
#[derive(Debug, Clone)]
pub struct ServerScenario {
    /// `server/name`.
    pub id: String,
    /// Where it came from (`catalogue:server/x.toml` or a path).
    pub origin: String,
    /// Its content.
    pub file: ServerScenarioFile,
}

impl ServerScenario {
    /// The network.
    pub fn network(&self) -> Result<Network> {
        self.file.topology.network()
    }
}

/// A server scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerScenarioFile {
    /// One line.
    pub title: String,
    /// The rule or documented behaviour checked, with its source.
    pub requirement: String,
    /// RFC sections, CVEs, documentation pages.
    #[serde(default)]
    pub references: Vec<String>,
    /// Record the behaviour only: the verdict is `informational`.
    #[serde(default)]
    pub informational: bool,
    /// The probe is stopped after this long (default 60).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The network.
    pub topology: TopologyFile,
    /// What the server under test is given.
    #[serde(default)]
    pub server: ServerNeeds,
    /// What the probe does.
    pub probe: ProbeSpec,
    /// A real client run after the probe's steps, as a second probe: a client program's
    /// own way of doing a transfer (its command order, its TLS library) against the server.
    pub client: Option<RealClient>,
    /// What must hold beyond the steps' own expectations.
    #[serde(default)]
    pub expect: ServerExpect,
}

fn default_timeout() -> u64 {
    60
}

/// `[server]` of a server scenario.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerNeeds {
    /// The settings of the server file the case renders (`pasv_ports`, `external_ip`,
    /// `ftps_explicit`, ...): the passive range is the network's, the external address the
    /// one the probe is given for the server, the certificate one for the server's
    /// addresses signed by a CA of the case's own.
    #[serde(default)]
    pub needs: Vec<ServerSetting>,
    /// The files in the server's root.
    #[serde(default)]
    pub files: Vec<RootFile>,
}

/// A file in the server's root: `size` bytes of generated content (byte `i` is byte `i` of
/// `/gen`, see [`ftpspec_mock::generated`]); with `from`, zeros before that offset (a
/// sparse file: a 12 GB file costs nothing on disk).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RootFile {
    /// Its path under the root (`dir/file.bin`).
    pub path: String,
    /// Its size: bytes or `64K`, `1M`, `12G`.
    pub size: Size,
    /// The first byte of content; zeros (a hole) before it.
    pub from: Option<u64>,
}

/// `[client]` of a server scenario: a built-in client that downloads, uploads or lists once
/// the probe is done. It must succeed, a download's bytes must be the file's, an upload's
/// must be stored.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RealClient {
    /// A built-in client (`ftpspec run --client`'s names; default curl).
    #[serde(default = "default_client")]
    pub name: String,
    /// `download`, `upload` or `list`.
    pub action: Action,
    /// The path under the server's root (relative, as the probe's).
    #[serde(default)]
    pub path: String,
    /// Passive (default) or active.
    #[serde(default)]
    pub mode: Mode,
    /// Settings the client is given (`ftps_explicit`, `disable_epsv`, ...).
    #[serde(default)]
    pub settings: Vec<Setting>,
    /// An upload's size (default 64K).
    pub size: Option<Size>,
}

fn default_client() -> String {
    "curl".into()
}

/// Where every 227 must point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Advertised {
    /// The address the probe was given for the server (behind a NAT: the NAT's).
    Public,
    /// The server's own address.
    Own,
}

/// `[expect]` of a server scenario: each key a check on what the probe and the routers
/// recorded. Every step's own `expect` is checked too.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerExpect {
    /// Every 227 names this address.
    pub advertised: Option<Advertised>,
    /// Every port a 227 or 229 names is in the network's passive range.
    #[serde(default)]
    pub ports_in_range: bool,
    /// Nothing reached the decoy.
    #[serde(default)]
    pub decoy_unreached: bool,
    /// Every upload is in the root afterwards, byte for byte.
    #[serde(default)]
    pub uploads_stored: bool,
    /// Every FEAT reply is well-formed (RFC 2389 §3.2: `211-` first line, one feature per
    /// line each starting with a space, `211 ` last line).
    #[serde(default)]
    pub feat_well_formed: bool,
    /// After ABOR during a download: 426 then 226, or 226 alone (RFC 959 §4.1.3), and the
    /// session still answers.
    #[serde(default)]
    pub abor_replies: bool,
}

/// The built-in server cases (the catalogue's `server/` group), in id order.
pub fn catalogue() -> Result<Vec<ServerScenario>> {
    super::load::parse_catalogue(ftpspec_scenarios::server_files(), &parse)
}

/// Parses and checks one server scenario file.
pub fn parse(id: &str, origin: &str, text: &str) -> Result<ServerScenario> {
    let file: ServerScenarioFile = from_toml(origin, text)?;
    let bad = |key: &str, message: String| Error::at_key(origin, text, key, message);
    for f in &file.server.files {
        if let Err(why) = check_root_path(&f.path) {
            return Err(bad("files", why));
        }
        if f.from.is_some_and(|from| from > f.size.0) {
            return Err(bad(
                "files",
                format!("{}: `from` is past the end of the file", f.path),
            ));
        }
    }
    if let Some(c) = &file.client {
        if !matches!(c.action, Action::Download | Action::Upload | Action::List) {
            return Err(bad(
                "action",
                "[client] action: a real client here downloads, uploads or lists".into(),
            ));
        }
    }
    file.topology.network()?;
    Ok(ServerScenario {
        id: id.to_owned(),
        origin: origin.to_owned(),
        file,
    })
}

/// A path in the root: relative, no `..`, no empty part.
fn check_root_path(path: &str) -> std::result::Result<(), String> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..");
    match bad {
        true => Err(format!(
            "{path:?}: a file's path is relative to the root, without `.` or `..` (e.g. \"dir/file.bin\")"
        )),
        false => Ok(()),
    }
}

/// The server scenarios of a directory's `server/` folder (`<dir>/server/<name>.toml`).
pub fn load_dir(dir: &Path) -> Result<Vec<ServerScenario>> {
    let only_server = |group: &Path| group.ends_with(GROUP);
    Ok(super::load::read_tree(dir, &only_server, &parse)?
        .into_values()
        .collect())
}

/// The catalogue's server cases plus those in `extra` directories' `server/` folders (which
/// replace catalogue cases of the same id), filtered by id prefixes (none: all).
pub fn select(extra: &[PathBuf], filters: &[String]) -> Result<Vec<ServerScenario>> {
    super::load::merge_select(catalogue()?, extra, &load_dir, filters, |s| &s.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const HEAD: &str = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n[probe]\nsteps = [{ login = true }]\n";

    #[test]
    fn the_catalogue_loads_and_has_the_issues_ids() {
        let all = catalogue().unwrap();
        let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        for id in [
            "server/nat-external-address",
            "server/nat-unconfigured",
            "server/pasv-port-range",
            "server/bounce-port-refused",
            "server/port-low-port-refused",
            "server/epsv",
            "server/epsv-all",
            "server/smart-firewall-plain",
            "server/ftps-explicit",
            "server/ftps-session-reuse-enforced",
            "server/ftps-ccc",
            "server/tls13-data-tickets",
            "server/data-close-notify",
            "server/rest-beyond-4gib",
            "server/feat-format",
            "server/abor",
            "server/concurrent-sessions",
            "server/slowloris",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
    }

    #[rstest]
    #[case(
        "[server]\nfiles = [{ path = \"/abs\", size = 1 }]\n",
        "relative to the root"
    )]
    #[case(
        "[server]\nfiles = [{ path = \"a/../b\", size = 1 }]\n",
        "without `.` or `..`"
    )]
    #[case(
        "[server]\nfiles = [{ path = \"a\", size = 1, from = 2 }]\n",
        "past the end"
    )]
    #[case("[server]\nneeds = [\"telepathy\"]\n", "telepathy")]
    #[case("[expect]\nadvertised = \"somewhere\"\n", "somewhere")]
    #[case("[expect]\nnonsense = true\n", "nonsense")]
    #[case("[client]\naction = \"mirror\"\n", "downloads, uploads or lists")]
    #[case("[client]\naction = \"download\"\nflavour = 1\n", "flavour")]
    fn bad_files_say_what_and_where(#[case] tail: &str, #[case] says: &str) {
        let e = parse("server/x", "x.toml", &format!("{HEAD}{tail}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{e}");
        assert!(e.contains("x.toml:"), "{e}");
    }

    #[test]
    fn a_good_file_reads() {
        let text = format!("{HEAD}[server]\nneeds = [\"pasv_ports\"]\nfiles = [{{ path = \"d/big.bin\", size = \"12G\", from = 12345678910 }}]\n[expect]\nports_in_range = true\n");
        let s = parse("server/x", "x.toml", &text).unwrap();
        assert_eq!(s.file.server.needs, vec![ServerSetting::PasvPorts]);
        assert_eq!(s.file.server.files[0].size.0, 12 << 30);
        assert!(s.file.expect.ports_in_range);
    }
}
