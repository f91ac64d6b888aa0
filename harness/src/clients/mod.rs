//! Client adapters: how each FTP client is told to do a scenario's action with its settings.
//!
//! Every client is a [`ClientAdapter`]: a name, a version, the actions and settings it
//! supports, and how to launch it for a [`Target`] (a command line run inside the client
//! host, or Rust code run on a thread there). Built in, one file each: `curl`, `lftp`,
//! `wget`, `python-ftplib` (a script shipped in the crate), `tnftp` and `suppaftp` (linked
//! in). A user's own client comes in as a TOML client file ([`ClientFile`]), from Rust as a
//! closure ([`Client::from_fn`]), or as their own [`ClientAdapter`] ([`Client::new`]).
//!
//! Adding a built-in client: one file here with a type that implements [`ClientAdapter`], and
//! one line in the `builtin_clients!` list below.

mod file;
mod in_process;

use std::future::Future;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use file::ClientFile;

use crate::scenario::{Action, Mode, Setting};

/// The built-in clients: `module => Type`, in the order runs list them. Each type has a
/// `NAME` and implements [`ClientAdapter`].
macro_rules! builtin_clients {
    ($($module:ident => $ty:ident,)*) => {
        $(mod $module;)*
        /// The built-in client names.
        pub const BUILTIN: &[&str] = &[$($module::$ty::NAME),*];
        fn builtin_adapters() -> Vec<Arc<dyn ClientAdapter>> {
            vec![$(Arc::new($module::$ty)),*]
        }
    };
}

builtin_clients! {
    curl => Curl,
    lftp => Lftp,
    wget => Wget,
    ftplib => Ftplib,
    tnftp => Tnftp,
    suppaftp => Suppaftp,
}

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
    /// A directory the client may use.
    pub work_dir: PathBuf,
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

    /// The time limit in whole seconds (at least 5).
    pub fn secs(&self) -> u64 {
        self.timeout.as_secs().max(5)
    }

    /// The connect timeout clients are given: 10 s, or less when the case is shorter.
    pub fn connect_secs(&self) -> u64 {
        10.min(self.secs())
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

    /// `scheme://user:password@host:port/path`; a listing's path ends in `/`.
    pub fn url(&self, scheme: &str) -> String {
        let mut path = self.path.clone();
        if self.action == Action::List && !path.ends_with('/') {
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
}

impl Invocation {
    /// A command line from its words.
    pub fn new(argv: Vec<String>) -> Invocation {
        Invocation { argv, stdin: None }
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
    /// How to launch it for this target.
    fn launch(&self, t: &Target) -> Launch;
}

/// One FTP client under test: a shared [`ClientAdapter`].
#[derive(Clone)]
pub struct Client(Arc<dyn ClientAdapter>);

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client from your own adapter.
    pub fn new(adapter: impl ClientAdapter + 'static) -> Client {
        Client(Arc::new(adapter))
    }

    /// A built-in client by name (see [`BUILTIN`]; `ftplib` also names `python-ftplib`).
    pub fn builtin(name: &str) -> Option<Client> {
        let name = if name == "ftplib" {
            ftplib::Ftplib::NAME
        } else {
            name
        };
        builtin_adapters()
            .into_iter()
            .find(|a| a.name() == name)
            .map(Client)
    }

    /// A client from a TOML client file.
    pub fn from_file(path: &Path) -> crate::Result<Client> {
        Ok(Client::new(ClientFile::read(path)?))
    }

    /// A client written in Rust: `run` gets the [`Target`] and runs, as a future, on a thread
    /// inside the client host (so its sockets are there). Declare the actions and settings it
    /// supports; others make a scenario `unsupported`.
    pub fn from_fn<F, Fut>(
        name: &str,
        version: &str,
        actions: &[Action],
        settings: &[Setting],
        run: F,
    ) -> Client
    where
        F: Fn(Target) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ClientError>> + Send + 'static,
    {
        Client::new(in_process::FnClient::new(
            name, version, actions, settings, run,
        ))
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// The program it needs on the machine (for command-line clients).
    pub fn program(&self) -> Option<String> {
        self.0.program()
    }

    /// Whether the program is installed.
    pub fn available(&self) -> bool {
        self.program().is_none_or(|p| which(&p))
    }

    /// Its version, as it reports it.
    pub fn version(&self) -> String {
        self.0.version()
    }

    /// Why this client cannot run a case with this action and these settings, if it cannot.
    pub fn unsupported(&self, action: Action, mode: Mode, settings: &[Setting]) -> Option<String> {
        let name = self.name();
        if !self.0.actions().contains(&action) {
            return Some(format!("{name} cannot {}", action.phrase()));
        }
        if mode == Mode::Active && !self.0.active_mode() {
            return Some(format!("{name} has no setting for active mode"));
        }
        let supported = self.0.settings();
        let missing: Vec<&str> = settings
            .iter()
            .filter(|s| !supported.contains(s))
            .map(|s| s.as_str())
            .collect();
        if !missing.is_empty() {
            return Some(format!("{name} has no setting for {}", missing.join(", ")));
        }
        None
    }

    /// How to launch it for a target.
    pub fn launch(&self, t: &Target) -> Launch {
        self.0.launch(t)
    }

    /// The command line for a target (command-line clients); `None` for in-process ones.
    pub fn invocation(&self, t: &Target) -> Option<Invocation> {
        match self.launch(t) {
            Launch::Command(inv) => Some(inv),
            Launch::InProcess(_) => None,
        }
    }
}

/// Whether a program is on the PATH (or, given with a `/`, is a file).
fn which(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// The first line a command prints (stdout, else stderr): how most clients tell their version.
fn version_line(argv: &[&str]) -> String {
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
fn s(v: impl ToString) -> String {
    v.to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn target(action: Action, mode: Mode, settings: &[Setting]) -> Target {
        Target {
            host: "203.0.113.1".parse().unwrap(),
            port: 21,
            user: "test".into(),
            password: "test".into(),
            path: "/gen/64K".into(),
            local_file: "/tmp/x/out.bin".into(),
            action,
            mode,
            settings: settings.to_vec(),
            ca_file: Some("/tmp/x/ca.pem".into()),
            active_ports: 50100..=50110,
            client_addr: "192.168.1.2".parse().unwrap(),
            client_public_addr: "198.51.100.1".parse().unwrap(),
            timeout: Duration::from_secs(30),
            work_dir: "/tmp/x".into(),
        }
    }

    #[test]
    fn support_is_declared() {
        let wget = Client::builtin("wget").unwrap();
        assert_eq!(
            wget.unsupported(Action::Upload, Mode::Passive, &[]),
            Some("wget cannot upload".into())
        );
        assert_eq!(
            wget.unsupported(Action::Download, Mode::Active, &[Setting::PortRange]),
            Some("wget has no setting for port_range".into())
        );
        assert_eq!(
            Client::builtin("curl").unwrap().unsupported(
                Action::Upload,
                Mode::Active,
                &[Setting::PortRange]
            ),
            None
        );
    }

    #[test]
    fn every_builtin_is_found_by_its_name() {
        for name in BUILTIN {
            assert_eq!(Client::builtin(name).unwrap().name(), *name);
        }
        assert_eq!(Client::builtin("ftplib").unwrap().name(), "python-ftplib");
        assert!(Client::builtin("ncftp").is_none());
    }

    #[test]
    fn urls_bracket_ipv6_and_end_listings_with_a_slash() {
        let mut t = target(Action::List, Mode::Passive, &[Setting::FtpsImplicit]);
        t.host = "fd00:f7::20".parse().unwrap();
        t.path = "/pub".into();
        assert_eq!(t.url(t.scheme()), "ftps://test:test@[fd00:f7::20]:21/pub/");
    }
}
