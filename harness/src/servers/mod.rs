//! Servers under test: the server file format, the four built-in adapters (vsftpd, proftpd,
//! pure-ftpd, pyftpdlib), servers started from a Rust closure, and starting and stopping one
//! inside a topology host.
//!
//! The format, as issue 13 gives it:
//!
//! ```toml
//! name = "myserver"
//! version_command = "myserverd --version"       # optional
//! start = "myserverd --config {config_file}"     # runs in the foreground in the server host
//! config = """                                   # optional: written to {config_file} first
//! listen_port={port}
//! {settings}
//! """
//! [settings]   # rendered when a case needs them, joined into {settings}
//!              # (appended to `start` when neither `start` nor `config` says {settings})
//! pasv_ports            = "pasv_min_port={min}\npasv_max_port={max}"
//! external_ip           = "pasv_address={ip}"
//! ftps_explicit         = "ssl_enable=YES\nrsa_cert_file={cert_file}\nrsa_private_key_file={key_file}"
//! ftps_implicit         = "..."
//! require_tls           = "..."
//! require_session_reuse = "..."
//! ```
//!
//! Placeholders: `{port} {root} {user} {password} {config_file} {cert_file} {key_file}
//! {ca_file} {settings}`; in settings also `{min} {max} {ip}`. A setting a case needs that
//! the file lacks makes the case `unsupported` ([`ServerUnderTest::lacking`]). Unknown keys
//! and placeholders are errors with line:column.
//!
//! How the text is rendered (see [`mod@file`]): a placeholder is `{word}` (letters, digits, `_`)
//! and is replaced as plain text, so other braces (a Python dict in a config) stay as they
//! are; values are not quoted (pass them to `sh -c '...' {user}` as positional parameters, as
//! the built-in files do). The settings a case needs are rendered in the order of
//! [`ServerSetting::ALL`] and joined with newlines into `{settings}` (with spaces when
//! `{settings}` ends up in `start`, a command line). `{config_file}` is `server.conf` in the
//! case's work directory, and `{cert_file} {key_file} {ca_file}` are `cert.pem`, `key.pem`,
//! `ca.pem` there.
//!
//! Settings must not be combined blindly: a repeated key resolves differently per server
//! (vsftpd keeps the last value, proftpd and pure-ftpd the first). The built-in TLS settings
//! are therefore each self-contained (each turns TLS on and names the certificate): a case
//! renders one of them.
//!
//! `start` runs with `/bin/sh -c` in the server host ([`ftpspec_netns::Host::command`], so it
//! dies with ftpspec), in a process group of its own, with stdout and stderr captured; see
//! [`RunningServer::stop`] for how it ends (servers fork a process per session, and vsftpd's
//! sessions even leave the process group: every process left in the host's namespace is
//! killed).
//!
//! The built-in pyftpdlib is Debian 12's 1.5.7 as shipped: it closes a TLS data connection
//! whose handshake starts before RETR/STOR/LIST (pyftpdlib#604, fixed in 1.5.8), which is a
//! real finding the catalogue shows. The built-in file carries the workaround switched off
//! (`FIX_604 = False` in its script): a copy with `FIX_604 = True`, given as a server file,
//! measures the fixed server.
//!
//! The built-ins need `scripts/install-deps` (vsftpd and pyftpdlib from apt, proftpd and
//! pure-ftpd unpacked into `/opt/ftpspec-servers`, the PAM file `/etc/pam.d/ftpspec-vsftpd`).

pub mod file;
mod launch;
mod setup;

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
pub use file::ServerFile;
pub use launch::{RunningServer, ServerExit};
pub use setup::{ServerSetting, ServerSetup, StartFn, TlsFiles};

/// The built-in servers' names.
pub const BUILTIN: [&str; 4] = ["vsftpd", "proftpd", "pure-ftpd", "pyftpdlib"];

/// The built-in server files, by name.
const BUILTIN_FILES: [(&str, &str); 4] = [
    ("vsftpd", include_str!("builtin/vsftpd.toml")),
    ("proftpd", include_str!("builtin/proftpd.toml")),
    ("pure-ftpd", include_str!("builtin/pure-ftpd.toml")),
    ("pyftpdlib", include_str!("builtin/pyftpdlib.toml")),
];

/// A server under test: a server file (built in or given), or a Rust closure.
#[derive(Clone)]
pub struct ServerUnderTest {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    File(Arc<ServerFile>),
    Fn {
        name: String,
        version: String,
        supports: Vec<ServerSetting>,
        start: Arc<StartFn>,
    },
}

impl std::fmt::Debug for ServerUnderTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::File(file) => f.debug_tuple("ServerUnderTest").field(file).finish(),
            Kind::Fn { name, .. } => write!(f, "ServerUnderTest({name}, a closure)"),
        }
    }
}

impl ServerUnderTest {
    /// A built-in server ([`BUILTIN`]).
    pub fn builtin(name: &str) -> Option<ServerUnderTest> {
        let (_, text) = BUILTIN_FILES.iter().find(|(n, _)| *n == name)?;
        let file = ServerFile::parse(&format!("builtin:{name}.toml"), text)
            .expect("the built-in server files are valid (tested)");
        Some(ServerUnderTest::from_server_file(file))
    }

    /// Reads and checks a server file; errors name the file, line and column (unknown keys,
    /// unknown placeholders, unknown settings).
    pub fn from_file(path: &Path) -> Result<ServerUnderTest> {
        Ok(ServerUnderTest::from_server_file(ServerFile::read(path)?))
    }

    /// Parses a server file's text; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<ServerUnderTest> {
        Ok(ServerUnderTest::from_server_file(ServerFile::parse(
            origin, text,
        )?))
    }

    fn from_server_file(file: ServerFile) -> ServerUnderTest {
        ServerUnderTest {
            kind: Kind::File(Arc::new(file)),
        }
    }

    /// A server started by a Rust closure: the `cargo test` API for Rust server authors
    /// (libunftp users, for example). `start` runs on a thread inside the server host's
    /// network namespace with the case's setup (bind `0.0.0.0:{port}`), and returns a guard;
    /// dropping the guard stops the server (it is dropped on that same thread). `supports`
    /// lists the settings it honours.
    ///
    /// ```no_run
    /// use ftpspec::servers::{ServerSetting, ServerUnderTest};
    /// let server = ServerUnderTest::from_fn("mock", "1.0", &[ServerSetting::PasvPorts], |setup| {
    ///     let addr = std::net::SocketAddr::from(([0, 0, 0, 0], setup.port));
    ///     let server = ftpspec::mock::MockServer::builder()
    ///         .bind(addr)
    ///         .credentials(&setup.user, &setup.password)
    ///         .start_blocking()
    ///         .map_err(|e| e.to_string())?;
    ///     Ok(Box::new(server) as Box<dyn std::any::Any + Send>)
    /// });
    /// assert!(server.lacking(&[ServerSetting::PasvPorts]).is_empty());
    /// ```
    pub fn from_fn(
        name: &str,
        version: &str,
        supports: &[ServerSetting],
        start: impl Fn(&ServerSetup) -> std::result::Result<Box<dyn Any + Send>, String>
            + Send
            + Sync
            + 'static,
    ) -> ServerUnderTest {
        ServerUnderTest {
            kind: Kind::Fn {
                name: name.to_owned(),
                version: version.to_owned(),
                supports: supports.to_vec(),
                start: Arc::new(start),
            },
        }
    }

    /// Its name in results.
    pub fn name(&self) -> &str {
        match &self.kind {
            Kind::File(f) => &f.name,
            Kind::Fn { name, .. } => name,
        }
    }

    /// Its version: the first line `version_command` prints, or `unknown`.
    pub fn version(&self) -> String {
        match &self.kind {
            Kind::File(f) => f.version(),
            Kind::Fn { version, .. } => version.clone(),
        }
    }

    /// Whether the program `start` runs exists (always true for a closure).
    pub fn available(&self) -> bool {
        match &self.kind {
            Kind::File(_) => self.program().is_some_and(|p| file::find_program(&p)),
            Kind::Fn { .. } => true,
        }
    }

    /// The program `start` runs: its first word once rendered, or for `sh -c 'SCRIPT' ...`,
    /// the program the script `exec`s last. `None` for a closure.
    pub fn program(&self) -> Option<String> {
        match &self.kind {
            Kind::File(f) => f.program(),
            Kind::Fn { .. } => None,
        }
    }

    /// The settings among `needs` that it has no snippet for (a case needing them is
    /// `unsupported`).
    pub fn lacking(&self, needs: &[ServerSetting]) -> Vec<ServerSetting> {
        let has = |s: &ServerSetting| match &self.kind {
            Kind::File(f) => f.settings.contains_key(s),
            Kind::Fn { supports, .. } => supports.contains(s),
        };
        let mut lacking: Vec<ServerSetting> = needs.iter().copied().filter(|s| !has(s)).collect();
        lacking.sort();
        lacking.dedup();
        lacking
    }

    /// Starts it in `host` with `setup` and waits (up to 10 s) until `127.0.0.1:{port}`
    /// accepts inside the host. An error says why, with the tail of what it printed (it
    /// exited first, or never accepted in time).
    pub async fn start(
        &self,
        host: &ftpspec_netns::Host,
        setup: &ServerSetup,
    ) -> Result<RunningServer> {
        match &self.kind {
            Kind::File(f) => launch::start_file(f, host, setup).await,
            Kind::Fn { name, start, .. } => {
                launch::start_fn(name, start.clone(), host, setup).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_names_itself() {
        for name in BUILTIN {
            let s = ServerUnderTest::builtin(name).unwrap();
            assert_eq!(s.name(), name);
        }
        assert!(ServerUnderTest::builtin("ftpd").is_none());
    }

    #[rstest::rstest]
    #[case("vsftpd", &[])]
    #[case("proftpd", &[])]
    #[case("pure-ftpd", &[ServerSetting::FtpsImplicit, ServerSetting::RequireSessionReuse])]
    #[case("pyftpdlib", &[ServerSetting::RequireSessionReuse])]
    fn what_each_builtin_lacks(#[case] name: &str, #[case] lacks: &[ServerSetting]) {
        let s = ServerUnderTest::builtin(name).unwrap();
        assert_eq!(s.lacking(&ServerSetting::ALL), lacks);
        assert!(s
            .lacking(&[ServerSetting::PasvPorts, ServerSetting::ExternalIp])
            .is_empty());
    }

    #[rstest::rstest]
    #[case("vsftpd", "vsftpd")]
    #[case("proftpd", "/opt/ftpspec-servers/usr/sbin/proftpd")]
    #[case("pure-ftpd", "/opt/ftpspec-servers/usr/sbin/pure-ftpd")]
    #[case("pyftpdlib", "/usr/bin/python3")]
    fn each_builtin_names_its_program(#[case] name: &str, #[case] program: &str) {
        let s = ServerUnderTest::builtin(name).unwrap();
        assert_eq!(s.program().as_deref(), Some(program));
    }

    #[test]
    fn a_closure_lacks_what_it_does_not_list() {
        let s = ServerUnderTest::from_fn("x", "1", &[ServerSetting::PasvPorts], |_| {
            Ok(Box::new(()) as Box<dyn Any + Send>)
        });
        assert_eq!(
            s.lacking(&[ServerSetting::ExternalIp, ServerSetting::PasvPorts]),
            [ServerSetting::ExternalIp]
        );
        assert!(s.available());
        assert_eq!(
            (s.name(), s.version(), s.program()),
            ("x", "1".into(), None)
        );
    }

    #[test]
    fn setting_names_round_trip() {
        for s in ServerSetting::ALL {
            assert_eq!(ServerSetting::from_name(s.as_str()), Some(s));
            let parsed: ServerSetting =
                serde::Deserialize::deserialize(serde::de::value::StrDeserializer::<
                    serde::de::value::Error,
                >::new(s.as_str()))
                .unwrap();
            assert_eq!(parsed, s);
        }
        assert_eq!(ServerSetting::from_name("pasv"), None);
    }
}
