//! The FTPS policy knobs (RFC 2228, RFC 4217): explicit or implicit, what is required, which
//! TLS versions, which client certificates.

use crate::error::{Error, Result};

/// Explicit FTPS (`AUTH TLS` on a plain connection, RFC 4217) or implicit FTPS (TLS from the
/// first byte, the "port 990" style). In TOML: `mode = "explicit" | "implicit"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FtpsMode {
    /// The client upgrades with `AUTH TLS` (or the legacy `AUTH SSL`).
    #[default]
    Explicit,
    /// TLS starts as soon as the TCP connection is accepted.
    Implicit,
}

/// A TLS protocol version the server may offer. In TOML: `"1.2"` or `"1.3"` (also
/// `"tls1.2"`, `"TLSv1.2"` and the same for 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "1.2", alias = "tls1.2", alias = "TLSv1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "1.3", alias = "tls1.3", alias = "TLSv1.3")]
    Tls13,
}

impl std::str::FromStr for TlsVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "1.2" | "tls1.2" | "TLSv1.2" => Ok(TlsVersion::Tls12),
            "1.3" | "tls1.3" | "TLSv1.3" => Ok(TlsVersion::Tls13),
            other => Err(Error::BadValue {
                value: other.to_owned(),
                expected: "a TLS version: use \"1.2\" or \"1.3\"",
            }),
        }
    }
}

/// Whether clients must present a certificate (signed by the generated test CA). In TOML:
/// `client_cert = "none" | "optional" | "required"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuth {
    /// No client certificate is asked for.
    #[default]
    None,
    /// Asked for; a client without one is still accepted.
    Optional,
    /// Required: the handshake fails without a valid one.
    Required,
}

impl std::str::FromStr for ClientAuth {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(ClientAuth::None),
            "optional" => Ok(ClientAuth::Optional),
            "required" => Ok(ClientAuth::Required),
            other => Err(Error::BadValue {
                value: other.to_owned(),
                expected: "a client certificate policy: use \"none\", \"optional\" or \"required\"",
            }),
        }
    }
}

/// FTPS settings for [`crate::Builder::ftps`]. The defaults are what a permissive real server
/// does: TLS offered, not required; CCC allowed; TLS 1.2 and 1.3; no client certificate; a
/// certificate for `localhost`, `127.0.0.1` and `::1`, signed by a CA generated at start.
///
/// ```
/// use ftpspec_mock::{Ftps, MockServer};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let server = MockServer::builder()
///     .ftps(Ftps::explicit().require_tls().require_session_reuse(true))
///     .start()
///     .await
///     .unwrap();
/// let ca = server.tls().unwrap().ca_pem(); // give this to the client (curl --cacert)
/// assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "Ftps settings do nothing until passed to Builder::ftps"]
pub struct Ftps {
    pub(crate) mode: FtpsMode,
    pub(crate) require_control: bool,
    pub(crate) require_data: bool,
    pub(crate) require_session_reuse: bool,
    pub(crate) allow_ccc: bool,
    pub(crate) versions: Vec<TlsVersion>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) names: Vec<String>,
    pub(crate) identity: Option<(String, String)>,
    pub(crate) data_tickets: u32,
    pub(crate) single_use_tickets: bool,
    pub(crate) require_close_notify: bool,
    pub(crate) omit_close_notify: bool,
}

impl Ftps {
    /// Explicit FTPS: plain connection, upgraded with `AUTH TLS`.
    pub fn explicit() -> Self {
        Ftps {
            mode: FtpsMode::Explicit,
            require_control: false,
            require_data: false,
            require_session_reuse: false,
            allow_ccc: true,
            versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
            client_auth: ClientAuth::None,
            names: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            identity: None,
            data_tickets: 0,
            single_use_tickets: false,
            require_close_notify: false,
            omit_close_notify: false,
        }
    }

    /// Implicit FTPS: TLS from the first byte.
    pub fn implicit() -> Self {
        Ftps {
            mode: FtpsMode::Implicit,
            ..Ftps::explicit()
        }
    }

    /// Requires TLS on both the control and the data connections (see
    /// [`Ftps::require_control_tls`], [`Ftps::require_data_tls`]).
    pub fn require_tls(self) -> Self {
        self.require_control_tls(true).require_data_tls(true)
    }

    /// Refuses `USER`/`PASS` with 530 until the control connection is under TLS.
    pub fn require_control_tls(mut self, on: bool) -> Self {
        self.require_control = on;
        self
    }

    /// Refuses transfers with 521 unless `PROT P` is in effect (RFC 4217 §9).
    pub fn require_data_tls(mut self, on: bool) -> Self {
        self.require_data = on;
        self
    }

    /// Rejects (522, as vsftpd's `require_ssl_reuse`) a protected data connection whose TLS
    /// handshake did not resume the control connection's TLS session.
    pub fn require_session_reuse(mut self, on: bool) -> Self {
        self.require_session_reuse = on;
        self
    }

    /// Whether `CCC` is accepted (default true; otherwise 534).
    pub fn allow_ccc(mut self, on: bool) -> Self {
        self.allow_ccc = on;
        self
    }

    /// TLS versions offered (default 1.2 and 1.3).
    pub fn versions(mut self, versions: &[TlsVersion]) -> Self {
        self.versions = versions.to_vec();
        self
    }

    /// Client certificate policy (default none). Client certificates are checked against the
    /// generated test CA; [`crate::TlsMaterial::client_cert_pem`] is one such certificate.
    pub fn client_auth(mut self, policy: ClientAuth) -> Self {
        self.client_auth = policy;
        self
    }

    /// DNS names and IP addresses the generated server certificate is valid for (default
    /// `localhost`, `127.0.0.1`, `::1`).
    pub fn names<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.names = names.iter().map(|n| n.as_ref().to_owned()).collect();
        self
    }

    /// Uses this certificate chain and private key (PEM text) instead of generating one.
    pub fn identity_pem(mut self, cert_chain: &str, private_key: &str) -> Self {
        self.identity = Some((cert_chain.to_owned(), private_key.to_owned()));
        self
    }

    /// TLS 1.3 NewSessionTickets sent on each data connection after its handshake (default
    /// 0). vsftpd and ProFTPD send them; a client that only writes (an upload) leaves them
    /// unread, and its close can then become a reset that cuts the upload short (curl with
    /// OpenSSL: curl/curl#6149). A client may also resume the next data connection from one.
    ///
    /// ```
    /// use ftpspec_mock::{Ftps, MockServer};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let server = MockServer::builder()
    ///     .ftps(Ftps::explicit().data_tickets(2).single_use_tickets(true))
    ///     .start()
    ///     .await
    ///     .unwrap();
    /// # }
    /// ```
    pub fn data_tickets(mut self, n: u32) -> Self {
        self.data_tickets = n;
        self
    }

    /// Each TLS session or ticket resumes at most one handshake (default false: tickets are
    /// reusable, as with OpenSSL's stateless tickets). A second handshake offering the same
    /// ticket or TLS 1.2 session ID gets a full handshake, so under
    /// [`Ftps::require_session_reuse`] it is refused with 522, as FileZilla Server 1.x does
    /// to Java clients (FIELD 33). Tickets and sessions stay per control connection.
    pub fn single_use_tickets(mut self, on: bool) -> Self {
        self.single_use_tickets = on;
        self
    }

    /// Answers 426 to an upload (STOR, APPE) whose TLS data connection ended without the
    /// client's close_notify, as vsftpd ("DATA connection terminated without SSL shutdown")
    /// and FileZilla Server do (default false: 226 and a warning in the log). What arrived is
    /// kept, and the `Stored` event says `complete: false`.
    pub fn require_close_notify(mut self, on: bool) -> Self {
        self.require_close_notify = on;
        self
    }

    /// Never sends close_notify on data connections, as the Microsoft FTP service does: after
    /// a download the server closes TCP without the alert, and after an upload it closes
    /// without answering the client's (default false).
    pub fn omit_close_notify(mut self, on: bool) -> Self {
        self.omit_close_notify = on;
        self
    }

    /// Whether TLS starts at once (implicit) or after `AUTH TLS` (explicit).
    pub fn mode(&self) -> FtpsMode {
        self.mode
    }
}
