//! What a case gives a server under test: the settings it needs, and its setup.

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use serde::Deserialize;

/// A setting a server case may need (its `[settings]` key in a server file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerSetting {
    /// Passive data ports from a range (`{min}`..=`{max}`).
    PasvPorts,
    /// Announce this address (`{ip}`) in 227 replies: a server behind NAT.
    ExternalIp,
    /// Offer explicit FTPS (AUTH TLS) with the case's certificate; plain stays allowed.
    FtpsExplicit,
    /// Implicit FTPS: TLS from the first byte on the port.
    FtpsImplicit,
    /// Refuse logins and data without TLS.
    RequireTls,
    /// Refuse TLS data connections that do not resume the control connection's session.
    RequireSessionReuse,
}

impl ServerSetting {
    /// Every setting, in the order they are rendered.
    pub const ALL: [ServerSetting; 6] = [
        ServerSetting::PasvPorts,
        ServerSetting::ExternalIp,
        ServerSetting::FtpsExplicit,
        ServerSetting::FtpsImplicit,
        ServerSetting::RequireTls,
        ServerSetting::RequireSessionReuse,
    ];

    /// Its name in server files.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerSetting::PasvPorts => "pasv_ports",
            ServerSetting::ExternalIp => "external_ip",
            ServerSetting::FtpsExplicit => "ftps_explicit",
            ServerSetting::FtpsImplicit => "ftps_implicit",
            ServerSetting::RequireTls => "require_tls",
            ServerSetting::RequireSessionReuse => "require_session_reuse",
        }
    }

    /// The setting with this name.
    pub fn from_name(name: &str) -> Option<ServerSetting> {
        ServerSetting::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether it turns TLS on (and so needs [`ServerSetup::tls`]).
    pub fn is_tls(self) -> bool {
        !matches!(self, ServerSetting::PasvPorts | ServerSetting::ExternalIp)
    }
}

impl std::fmt::Display for ServerSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a case gives the server it starts.
#[derive(Debug, Clone)]
pub struct ServerSetup {
    /// The control port: 21, or 990 for implicit FTPS.
    pub port: u16,
    /// The directory it serves, created and filled by the runner (files 0644, directories
    /// 0777).
    pub root: PathBuf,
    /// The user the probe logs in as.
    pub user: String,
    /// Its password.
    pub password: String,
    /// The case's temporary directory: `{config_file}`, the certificate files and the
    /// server's logs go here.
    pub work_dir: PathBuf,
    /// The passive port range (`pasv_ports`).
    pub pasv_ports: Option<RangeInclusive<u16>>,
    /// The address to announce (`external_ip`).
    pub external_ip: Option<IpAddr>,
    /// The certificate and key to serve, and the CA (PEM), for the TLS settings.
    pub tls: Option<TlsFiles>,
    /// The settings to render into `{settings}`.
    pub settings: Vec<ServerSetting>,
}

/// A server's certificate material, PEM text; written to `cert.pem`, `key.pem` and `ca.pem`
/// in the work directory (`{cert_file} {key_file} {ca_file}`).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert_pem: String,
    /// The private key.
    pub key_pem: String,
    /// The CA that signed it.
    pub ca_pem: String,
}

impl ServerSetup {
    /// `{config_file}`: `server.conf` in the work directory.
    pub fn config_file(&self) -> PathBuf {
        self.work_dir.join("server.conf")
    }

    /// `{cert_file}`, `{key_file}`, `{ca_file}`.
    pub fn tls_paths(&self) -> [PathBuf; 3] {
        ["cert.pem", "key.pem", "ca.pem"].map(|f| self.work_dir.join(f))
    }
}

/// A closure that starts a server in the server host; its result is the guard that stops it
/// when dropped.
pub type StartFn = dyn Fn(&ServerSetup) -> std::result::Result<Box<dyn std::any::Any + Send>, String>
    + Send
    + Sync
    + 'static;
