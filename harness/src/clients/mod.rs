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

mod adapter;
mod file;
mod ftp_commands;
mod in_process;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

pub use adapter::{
    cache_dir, ClientAdapter, ClientError, InProcess, Invocation, Launch, SessionStep, Target,
};
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
    inetutils_ftp => InetutilsFtp,
    ncftp => Ncftp,
    ftp_ssl => FtpSsl,
    perl_net_ftp => PerlNetFtp,
    php_ftp => PhpFtp,
    ruby_net_ftp => RubyNetFtp,
    commons_net => CommonsNet,
    go_ftp => GoFtp,
    basic_ftp => BasicFtp,
    aioftp => Aioftp,
}

/// One FTP client under test: a shared [`ClientAdapter`], prepared at most once.
#[derive(Clone)]
pub struct Client(
    Arc<dyn ClientAdapter>,
    Arc<std::sync::OnceLock<Result<(), ClientError>>>,
);

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
        Client::from_arc(Arc::new(adapter))
    }

    fn from_arc(adapter: Arc<dyn ClientAdapter>) -> Client {
        Client(adapter, Arc::default())
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
            .map(Client::from_arc)
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
        self.program().is_none_or(|p| adapter::which(&p))
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
        let lacks = self.0.lacks(mode, settings);
        (!lacks.is_empty()).then(|| format!("{name} has no setting for {}", lacks.join(", ")))
    }

    /// Which of `optional` (settings a case can do without: its `informational_without`)
    /// this client has no way to follow, in this mode.
    pub fn lacking(&self, mode: Mode, optional: &[Setting]) -> Vec<Setting> {
        optional
            .iter()
            .copied()
            .filter(|s| self.0.lacks(mode, &[*s]).iter().any(|l| l == s.as_str()))
            .collect()
    }

    /// Gets it ready (builds its program, say), once for this client and its clones; blocks
    /// while that runs. Why it cannot run, if it cannot.
    pub fn prepare(&self) -> Result<(), ClientError> {
        self.1.get_or_init(|| self.0.prepare()).clone()
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::Duration;

    pub(crate) fn target(action: Action, mode: Mode, settings: &[Setting]) -> Target {
        Target {
            host: "203.0.113.1".parse().unwrap(),
            port: 21,
            user: "test".into(),
            password: "test".into(),
            path: "/gen/64K".into(),
            local_file: "/tmp/x/out.bin".into(),
            local_dir: "/tmp/x/mirror".into(),
            action,
            mode,
            settings: settings.to_vec(),
            ca_file: Some("/tmp/x/ca.pem".into()),
            active_ports: 50100..=50110,
            client_addr: "192.168.1.2".parse().unwrap(),
            client_public_addr: "198.51.100.1".parse().unwrap(),
            timeout: Duration::from_secs(30),
            reply_timeout: None,
            work_dir: "/tmp/x".into(),
            steps: Vec::new(),
            script_file: None,
        }
    }

    /// A session: list /pub, download /gen/64K, upload /incoming/s3.bin.
    pub(crate) fn session_target(settings: &[Setting]) -> Target {
        let mut t = target(Action::Session, Mode::Passive, settings);
        let step = |action, path: &str, local: &str| SessionStep {
            action,
            path: path.into(),
            local_file: format!("/tmp/x/{local}").into(),
        };
        t.steps = vec![
            step(Action::List, "/pub", "step1.txt"),
            step(Action::Download, "/gen/64K", "step2.bin"),
            step(Action::Upload, "/incoming/s3.bin", "step3.bin"),
        ];
        t.script_file = Some("/tmp/x/steps.txt".into());
        t
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
    fn lacking_names_only_the_optional_settings_a_client_has_no_knob_for() {
        let optional = [Setting::Retry];
        for (name, lacks) in [
            ("curl", false),
            ("lftp", false),
            ("wget", false),
            ("python-ftplib", true),
            ("suppaftp", true),
        ] {
            let client = Client::builtin(name).unwrap();
            let got = client.lacking(Mode::Passive, &optional);
            assert_eq!(got.is_empty(), !lacks, "{name}: {got:?}");
        }
        let ftplib = Client::builtin("python-ftplib").unwrap();
        assert_eq!(ftplib.lacking(Mode::Passive, &[]), []);
        assert_eq!(
            ftplib.lacking(Mode::Passive, &[Setting::Retry, Setting::ForcePasvIp]),
            [Setting::Retry]
        );
    }

    #[test]
    fn every_builtin_is_found_by_its_name() {
        for name in BUILTIN {
            assert_eq!(Client::builtin(name).unwrap().name(), *name);
        }
        assert_eq!(Client::builtin("ftplib").unwrap().name(), "python-ftplib");
        assert!(Client::builtin("nosuchftp").is_none());
    }

    #[test]
    fn urls_bracket_ipv6_and_end_listings_with_a_slash() {
        let mut t = target(Action::List, Mode::Passive, &[Setting::FtpsImplicit]);
        t.host = "fd00:f7::20".parse().unwrap();
        t.path = "/pub".into();
        assert_eq!(t.url(t.scheme()), "ftps://test:test@[fd00:f7::20]:21/pub/");
    }
}
