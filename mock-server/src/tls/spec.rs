//! The `[tls]` table of a server file, turned into [`Ftps`] settings.

use serde::Deserialize;

use crate::error::Error;
use crate::tls::{ClientAuth, Ftps, FtpsMode, TlsVersion};

/// The `[tls]` table of a server file:
///
/// ```toml
/// [tls]
/// mode = "explicit"              # or "implicit"
/// require_control = true         # 530 for USER/PASS before AUTH TLS
/// require_data = true            # 521 for transfers without PROT P
/// require_session_reuse = true   # 522 for data connections that do not resume the session
/// allow_ccc = true
/// versions = ["1.2", "1.3"]
/// client_cert = "none"           # "none" | "optional" | "required"
/// names = ["localhost", "127.0.0.1"]
/// data_tickets = 0               # TLS 1.3 tickets sent on each data connection
/// single_use_tickets = false     # a ticket or session resumes one handshake only
/// require_close_notify = false   # 426 for uploads that end without the client's close_notify
/// omit_close_notify = false      # never send close_notify on data connections (as IIS)
/// # cert_file = "server.pem"     # a PEM chain and key instead of the generated ones
/// # key_file = "server.key"
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// `"explicit"` (default) or `"implicit"`.
    pub mode: Option<FtpsMode>,
    /// See [`Ftps::require_control_tls`].
    pub require_control: Option<bool>,
    /// See [`Ftps::require_data_tls`].
    pub require_data: Option<bool>,
    /// See [`Ftps::require_session_reuse`].
    pub require_session_reuse: Option<bool>,
    /// See [`Ftps::allow_ccc`].
    pub allow_ccc: Option<bool>,
    /// See [`Ftps::versions`].
    pub versions: Option<Vec<TlsVersion>>,
    /// See [`Ftps::client_auth`].
    pub client_cert: Option<ClientAuth>,
    /// See [`Ftps::names`].
    pub names: Option<Vec<String>>,
    /// See [`Ftps::data_tickets`].
    pub data_tickets: Option<u32>,
    /// See [`Ftps::single_use_tickets`].
    pub single_use_tickets: Option<bool>,
    /// See [`Ftps::require_close_notify`].
    pub require_close_notify: Option<bool>,
    /// See [`Ftps::omit_close_notify`].
    pub omit_close_notify: Option<bool>,
    /// A PEM certificate chain (with `key_file`).
    pub cert_file: Option<std::path::PathBuf>,
    /// A PEM private key (with `cert_file`).
    pub key_file: Option<std::path::PathBuf>,
}

impl TlsSpec {
    /// The settings this table describes.
    pub fn to_ftps(&self) -> Result<Ftps, Error> {
        let mut f = match self.mode {
            None | Some(FtpsMode::Explicit) => Ftps::explicit(),
            Some(FtpsMode::Implicit) => Ftps::implicit(),
        };
        if let Some(v) = self.require_control {
            f = f.require_control_tls(v);
        }
        if let Some(v) = self.require_data {
            f = f.require_data_tls(v);
        }
        if let Some(v) = self.require_session_reuse {
            f = f.require_session_reuse(v);
        }
        if let Some(v) = self.allow_ccc {
            f = f.allow_ccc(v);
        }
        if let Some(vs) = &self.versions {
            f = f.versions(vs);
        }
        if let Some(c) = self.client_cert {
            f = f.client_auth(c);
        }
        if let Some(n) = &self.names {
            f = f.names(n);
        }
        if let Some(n) = self.data_tickets {
            f = f.data_tickets(n);
        }
        if let Some(v) = self.single_use_tickets {
            f = f.single_use_tickets(v);
        }
        if let Some(v) = self.require_close_notify {
            f = f.require_close_notify(v);
        }
        if let Some(v) = self.omit_close_notify {
            f = f.omit_close_notify(v);
        }
        match (&self.cert_file, &self.key_file) {
            (None, None) => {}
            (Some(c), Some(k)) => {
                let read = |p: &std::path::Path| {
                    std::fs::read_to_string(p).map_err(|error| Error::Io {
                        path: p.to_owned(),
                        error,
                    })
                };
                f = f.identity_pem(&read(c)?, &read(k)?);
            }
            _ => {
                return Err(Error::Together {
                    first: "tls.cert_file",
                    second: "tls.key_file",
                })
            }
        }
        Ok(f)
    }
}
