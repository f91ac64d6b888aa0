//! What every client adapter is made of: the [`Target`] of a case, the [`ClientAdapter`]
//! trait, how a client is launched, and the helpers adapters share.

use std::future::Future;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::scenario::{Action, Mode, Setting};

/// Everything a client needs to know to run a case.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's address as the client reaches it.
    pub host: IpAddr,
    /// The control port (21, or 990 for implicit FTPS).
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// The server path.
    pub path: String,
    /// The local file: where a download goes, or what an upload sends.
    pub local_file: PathBuf,
    /// Where a mirror writes the tree (its files go directly in it; it exists, empty).
    pub local_dir: PathBuf,
    /// What to do.
    pub action: Action,
    /// Passive or active.
    pub mode: Mode,
    /// The settings the scenario needs.
    pub settings: Vec<Setting>,
    /// The test CA to trust, under FTPS.
    pub ca_file: Option<PathBuf>,
    /// The client's active-mode port range.
    pub active_ports: RangeInclusive<u16>,
    /// The client's own address.
    pub client_addr: IpAddr,
    /// The client's public address (its NAT's).
    pub client_public_addr: IpAddr,
    /// The scenario's time limit.
    pub timeout: Duration,
    /// How long the client is to wait for a reply, when the scenario says (`None`: the
    /// connect timeout).
    pub reply_timeout: Option<Duration>,
    /// A directory the client may use.
    pub work_dir: PathBuf,
    /// A session's steps, each with its local file (empty for other actions).
    pub steps: Vec<SessionStep>,
    /// A session's steps as a text file, one a line: `list PATH`, `download PATH
    /// LOCAL_FILE`, `upload LOCAL_FILE PATH` (`None` for other actions).
    pub script_file: Option<PathBuf>,
}

/// One step of a session, with its local file: where a download goes, what an upload
/// sends, where a listing may be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStep {
    /// `list`, `download` or `upload`.
    pub action: Action,
    /// The server path.
    pub path: String,
    /// The local file.
    pub local_file: PathBuf,
}

impl SessionStep {
    /// Its line in the script file.
    pub fn script_line(&self) -> String {
        let local = self.local_file.display();
        match self.action {
            Action::Download => format!("download {} {local}", self.path),
            Action::Upload => format!("upload {local} {}", self.path),
            _ => format!("list {}", self.path),
        }
    }

    /// The local file as an argument.
    pub fn local(&self) -> String {
        self.local_file.display().to_string()
    }
}

impl Target {
    /// Whether the scenario needs this setting.
    pub fn has(&self, s: Setting) -> bool {
        self.settings.contains(&s)
    }

    /// Whether the case uses FTPS (explicit or implicit).
    pub fn ftps(&self) -> bool {
        self.has(Setting::FtpsExplicit) || self.has(Setting::FtpsImplicit)
    }

    /// How often a client with the `keepalive` setting is to keep the control connection
    /// alive (NOOP or TCP keepalive probes), in seconds: 5, well inside the idle timeout of
    /// the NATs that forget idle connections (20 s in the catalogue).
    pub fn keepalive_secs(&self) -> u64 {
        5
    }

    /// How long a client with the `retry` setting is to wait before it tries again, in
    /// seconds (where it lets us say): 1, so a case of a few refusals stays short.
    pub fn retry_delay_secs(&self) -> u64 {
        1
    }

    /// How many times a client with the `retry` setting is to try again: 3.
    pub fn retries(&self) -> u32 {
        3
    }

    /// The time limit in whole seconds (at least 5).
    pub fn secs(&self) -> u64 {
        self.timeout.as_secs().max(5)
    }

    /// The connect timeout clients are given: 10 s, or less when the case is shorter.
    pub fn connect_secs(&self) -> u64 {
        10.min(self.secs())
    }

    /// How long a client is told to wait for a reply, in seconds: the connect timeout, or
    /// the scenario's `reply_timeout_secs` (a server slow to answer). Clients with one
    /// timeout for everything get this one.
    pub fn reply_secs(&self) -> u64 {
        self.reply_timeout
            .map_or(self.connect_secs(), |d| d.as_secs().max(1))
    }

    /// The address the client announces in PORT/EPRT: the public one when the case asks
    /// for the external address, its own otherwise.
    pub fn announced_addr(&self) -> IpAddr {
        if self.has(Setting::ExternalIp) {
            self.client_public_addr
        } else {
            self.client_addr
        }
    }

    /// The server's host as it stands in a URL: IPv6 in brackets.
    pub fn url_host(&self) -> String {
        match self.host {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        }
    }

    /// `ftps` for implicit FTPS, `ftp` otherwise.
    pub fn scheme(&self) -> &'static str {
        if self.has(Setting::FtpsImplicit) {
            "ftps"
        } else {
            "ftp"
        }
    }

    /// `scheme://user:password@host:port/path`; a listing's or a mirror's path ends in `/`.
    pub fn url(&self, scheme: &str) -> String {
        self.url_of(scheme, self.action, &self.path)
    }

    /// The URL of `path` for `action` (a session's step).
    pub fn url_of(&self, scheme: &str, action: Action, path: &str) -> String {
        let mut path = path.to_owned();
        if matches!(action, Action::List | Action::Mirror) && !path.ends_with('/') {
            path.push('/');
        }
        format!(
            "{scheme}://{}:{}@{}:{}{path}",
            self.user,
            self.password,
            self.url_host(),
            self.port
        )
    }

    /// The local file as an argument.
    pub fn local(&self) -> String {
        self.local_file.display().to_string()
    }

    /// The mirror's local directory as an argument.
    pub fn dir(&self) -> String {
        self.local_dir.display().to_string()
    }

    /// The session's script file as an argument (empty for other actions).
    pub fn script(&self) -> String {
        self.script_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    /// The CA file as an argument, when the case uses FTPS.
    pub fn ca_for_ftps(&self) -> Option<String> {
        self.ca_file
            .as_ref()
            .filter(|_| self.ftps())
            .map(|c| c.display().to_string())
    }
}

/// A command line to run inside the client host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Written to the program's stdin (then closed).
    pub stdin: Option<String>,
    /// A listing comes on the program's stdout, not in the local file.
    pub listing_on_stdout: bool,
}

impl Invocation {
    /// A command line from its words.
    pub fn new(argv: Vec<String>) -> Invocation {
        Invocation {
            argv,
            stdin: None,
            listing_on_stdout: false,
        }
    }
}

/// Why an in-process client failed, in its own words.
pub type ClientError = String;

/// An in-process client: runs on a thread inside the client host's network namespace.
pub type InProcess = Arc<
    dyn Fn(Target) -> Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send>> + Send + Sync,
>;

/// How a client is launched for a target.
#[derive(Clone)]
pub enum Launch {
    /// A command line, run inside the client host.
    Command(Invocation),
    /// Rust code, run on a thread inside the client host.
    InProcess(InProcess),
}

/// One FTP client, as ftpspec drives it.
pub trait ClientAdapter: Send + Sync {
    /// Its name in results (`curl`).
    fn name(&self) -> &str;
    /// The program it needs on the machine (`None`: nothing to install).
    fn program(&self) -> Option<String>;
    /// Its version, as it reports it.
    fn version(&self) -> String;
    /// The actions it can do.
    fn actions(&self) -> Vec<Action>;
    /// The settings it has a way to follow.
    fn settings(&self) -> Vec<Setting>;
    /// Whether it can use active mode (PORT/EPRT).
    fn active_mode(&self) -> bool {
        true
    }
    /// What it lacks for a case in this mode with these settings: `active mode` or setting
    /// names; empty when it can run the case.
    fn lacks(&self, mode: Mode, settings: &[Setting]) -> Vec<String> {
        if mode == Mode::Active && !self.active_mode() {
            return vec!["active mode".into()];
        }
        let supported = self.settings();
        let missing = settings.iter().filter(|s| !supported.contains(s));
        missing.map(|s| s.as_str().to_owned()).collect()
    }
    /// Gets it ready to run, once per run before any case (a program to build, say);
    /// idempotent and offline. Why it cannot run, if it cannot.
    fn prepare(&self) -> Result<(), ClientError> {
        Ok(())
    }
    /// How to launch it for this target.
    fn launch(&self, t: &Target) -> Launch;
}

/// The names whose condition holds: a client program's flags.
pub(crate) fn flags_where(pairs: &[(bool, &str)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, f)| s(f))
        .collect()
}

/// The command line of one of ftpspec's small client programs (`clients/scripts/`):
/// `program` (an interpreter with the script, or a built binary, and anything it needs
/// first), then the arguments they all take: host port user password action path
/// local_file timeout ca_file flags. The timeout is [`Target::reply_secs`], the CA is given
/// under FTPS only (else empty), and the flags are comma-separated. A session's local file is
/// its script of steps; a mirror's, its local directory.
pub(crate) fn script_invocation(
    mut program: Vec<String>,
    t: &Target,
    flags: &[String],
) -> Invocation {
    program.extend([
        t.host.to_string(),
        t.port.to_string(),
        t.user.clone(),
        t.password.clone(),
        s(t.action),
        // A session's "path" is `-`, and its "local file" the script of steps.
        if t.action == Action::Session {
            s("-")
        } else {
            t.path.clone()
        },
        match t.action {
            Action::Session => t.script(),
            Action::Mirror => t.dir(),
            _ => t.local(),
        },
        s(t.reply_secs()),
        t.ca_for_ftps().unwrap_or_default(),
        flags.join(","),
    ]);
    Invocation::new(program)
}

/// Builds a client's program into `dir`, once: `build` fills a fresh directory beside it,
/// which then takes `dir`'s place, so a build cut short never leaves a half-built `dir`.
/// `artifact` (a file in `dir`) says whether the build worked.
pub(crate) fn build_into(
    dir: &Path,
    artifact: &str,
    client: &str,
    build: impl FnOnce(&Path) -> Result<(), ClientError>,
) -> Result<(), ClientError> {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.with_file_name(format!("{name}.tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    if let Err(e) = build(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if dir.exists() {
        // A leftover without the artifact (the caller found none).
        let _ = std::fs::remove_dir_all(dir);
    }
    let moved = std::fs::rename(&tmp, dir);
    let _ = std::fs::remove_dir_all(&tmp);
    if dir.join(artifact).is_file() {
        Ok(())
    } else {
        Err(format!(
            "{client} client not built in {}: {}",
            dir.display(),
            moved.err().map(|e| e.to_string()).unwrap_or_default()
        ))
    }
}

/// A directory of ftpspec's own for a client's built program, named after the client and a
/// hash of its source, so a changed source builds anew: `$XDG_CACHE_HOME/ftpspec/…`, else
/// `$HOME/.cache/ftpspec/…`, else the temporary directory.
pub fn cache_dir(client: &str, source: &str) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut h);
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("ftpspec")
        .join(format!("{client}-{:016x}", h.finish()))
}

/// Whether a program is on the PATH (or, given with a `/`, is a file).
pub(crate) fn which(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// The first line a command prints (stdout, else stderr): how most clients tell their version.
pub(crate) fn version_line(argv: &[&str]) -> String {
    std::process::Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// Shorthand for building argument lists.
pub(crate) fn s(v: impl ToString) -> String {
    v.to_string()
}
