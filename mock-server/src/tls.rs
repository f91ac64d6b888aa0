//! FTPS settings and machinery (RFC 2228, RFC 4217): the [`Ftps`] knobs, the test PKI
//! generated with rcgen ([`TlsMaterial`]), one rustls configuration per control connection
//! (so "the data connection resumed *this* control connection's TLS session" is exact), and
//! [`RecordReader`], which reads TLS records one at a time so that after CCC not one plaintext
//! byte has been swallowed by the TLS layer.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::Error;
use crate::events::TlsInfo;

/// Explicit FTPS (`AUTH TLS` on a plain connection, RFC 4217) or implicit FTPS (TLS from the
/// first byte, the "port 990" style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FtpsMode {
    /// The client upgrades with `AUTH TLS` (or the legacy `AUTH SSL`).
    #[default]
    Explicit,
    /// TLS starts as soon as the TCP connection is accepted.
    Implicit,
}

/// A TLS protocol version the server may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl std::str::FromStr for TlsVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "1.2" | "tls1.2" | "TLSv1.2" => Ok(TlsVersion::Tls12),
            "1.3" | "tls1.3" | "TLSv1.3" => Ok(TlsVersion::Tls13),
            other => Err(format!(
                "{other:?} is not a TLS version: use \"1.2\" or \"1.3\""
            )),
        }
    }
}

/// Whether clients must present a certificate (signed by the generated test CA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(ClientAuth::None),
            "optional" => Ok(ClientAuth::Optional),
            "required" => Ok(ClientAuth::Required),
            other => Err(format!(
                "{other:?} is not a client certificate policy: use \"none\", \"optional\" or \"required\""
            )),
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
    /// generated test CA; [`TlsMaterial::client_cert_pem`] is one such certificate.
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

    /// Whether TLS starts at once (implicit) or after `AUTH TLS` (explicit).
    pub fn mode(&self) -> FtpsMode {
        self.mode
    }
}

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
/// # cert_file = "server.pem"     # a PEM chain and key instead of the generated ones
/// # key_file = "server.key"
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// `"explicit"` (default) or `"implicit"`.
    pub mode: Option<String>,
    /// See [`Ftps::require_control_tls`].
    pub require_control: Option<bool>,
    /// See [`Ftps::require_data_tls`].
    pub require_data: Option<bool>,
    /// See [`Ftps::require_session_reuse`].
    pub require_session_reuse: Option<bool>,
    /// See [`Ftps::allow_ccc`].
    pub allow_ccc: Option<bool>,
    /// See [`Ftps::versions`].
    pub versions: Option<Vec<String>>,
    /// See [`Ftps::client_auth`].
    pub client_cert: Option<String>,
    /// See [`Ftps::names`].
    pub names: Option<Vec<String>>,
    /// A PEM certificate chain (with `key_file`).
    pub cert_file: Option<std::path::PathBuf>,
    /// A PEM private key (with `cert_file`).
    pub key_file: Option<std::path::PathBuf>,
}

impl TlsSpec {
    /// The settings this table describes.
    pub fn to_ftps(&self) -> Result<Ftps, Error> {
        let bad = |key: &str, e: String| Error::Invalid(format!("tls.{key}: {e}"));
        let mut f = match self.mode.as_deref() {
            None | Some("explicit") => Ftps::explicit(),
            Some("implicit") => Ftps::implicit(),
            Some(o) => {
                return Err(bad(
                    "mode",
                    format!("{o:?}: expected \"explicit\" or \"implicit\""),
                ))
            }
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
            let parsed = vs
                .iter()
                .map(|v| v.parse())
                .collect::<Result<Vec<TlsVersion>, _>>()
                .map_err(|e| bad("versions", e))?;
            f = f.versions(&parsed);
        }
        if let Some(c) = &self.client_cert {
            f = f.client_auth(c.parse().map_err(|e| bad("client_cert", e))?);
        }
        if let Some(n) = &self.names {
            f = f.names(n);
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
                return Err(Error::Invalid(
                    "tls.cert_file and tls.key_file go together: give both or neither".into(),
                ))
            }
        }
        Ok(f)
    }
}

/// The certificates a running FTPS server uses, for tests and clients to trust or present.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    ca_pem: String,
    server_chain_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

impl TlsMaterial {
    /// The PEM a client must trust to verify the server (`curl --cacert`, lftp
    /// `ssl:ca-file`): the generated test CA, or the chain given with
    /// [`Ftps::identity_pem`].
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The server's certificate chain (PEM).
    pub fn server_chain_pem(&self) -> &str {
        &self.server_chain_pem
    }

    /// A client certificate signed by the test CA, for [`ClientAuth`] (`curl --cert`).
    pub fn client_cert_pem(&self) -> &str {
        &self.client_cert_pem
    }

    /// The private key of [`TlsMaterial::client_cert_pem`] (`curl --key`).
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
    }

    /// Writes [`TlsMaterial::ca_pem`] to a file.
    pub fn write_ca_pem(&self, path: impl AsRef<std::path::Path>) -> io::Result<()> {
        std::fs::write(path, &self.ca_pem)
    }
}

/// What a session needs: the base configuration and the material.
#[derive(Debug, Clone)]
pub(crate) struct TlsSetup {
    pub(crate) settings: Ftps,
    pub(crate) base: Arc<ServerConfig>,
    pub(crate) material: TlsMaterial,
}

impl TlsSetup {
    /// Generates (or loads) the certificates and builds the base rustls configuration.
    pub(crate) fn new(settings: Ftps) -> Result<TlsSetup, Error> {
        let tls_err = |what: &str, e: &dyn std::fmt::Display| {
            Error::Invalid(format!("FTPS setup: {what}: {e}"))
        };
        if settings.versions.is_empty() {
            return Err(Error::Invalid(
                "FTPS setup: no TLS version offered; give 1.2, 1.3 or both".into(),
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (ca_key, ca_params, ca_pem) = generate_ca().map_err(|e| tls_err("test CA", &e))?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let (chain, key, chain_pem, trust_pem) = match &settings.identity {
            Some((cert_pem, key_pem)) => {
                let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| tls_err("certificate PEM", &e))?;
                if chain.is_empty() {
                    return Err(tls_err("certificate PEM", &"no CERTIFICATE block found"));
                }
                let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                    .map_err(|e| tls_err("private key PEM", &e))?;
                (chain, key, cert_pem.clone(), cert_pem.clone())
            }
            None => {
                let (cert, key) = leaf(
                    &settings.names,
                    rcgen::ExtendedKeyUsagePurpose::ServerAuth,
                    &issuer,
                )
                .map_err(|e| tls_err("server certificate", &e))?;
                let der = cert.der().clone();
                let key_der = PrivateKeyDer::try_from(key.serialize_der())
                    .map_err(|e| tls_err("server key", &e))?;
                let pem = format!("{}{}", cert.pem(), ca_pem);
                (vec![der, ca_der(&ca_pem)?], key_der, pem, ca_pem.clone())
            }
        };
        let (client_cert, client_key) = leaf(
            &["ftpspec-client".to_owned()],
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
            &issuer,
        )
        .map_err(|e| tls_err("client certificate", &e))?;
        let versions: Vec<&'static rustls::SupportedProtocolVersion> = settings
            .versions
            .iter()
            .map(|v| match v {
                TlsVersion::Tls12 => &rustls::version::TLS12,
                TlsVersion::Tls13 => &rustls::version::TLS13,
            })
            .collect();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| tls_err("TLS versions", &e))?;
        let builder = match settings.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            policy => {
                let mut roots = RootCertStore::empty();
                roots
                    .add(ca_der(&ca_pem)?)
                    .map_err(|e| tls_err("client CA", &e))?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if policy == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(
                    verifier
                        .build()
                        .map_err(|e| tls_err("client verifier", &e))?,
                )
            }
        };
        let mut base = builder
            .with_single_cert(chain, key)
            .map_err(|e| tls_err("certificate and key", &e))?;
        // SSLKEYLOGFILE=path lets Wireshark decrypt a capture of a test run.
        base.key_log = Arc::new(rustls::KeyLogFile::new());
        Ok(TlsSetup {
            settings,
            base: Arc::new(base),
            material: TlsMaterial {
                ca_pem: trust_pem,
                server_chain_pem: chain_pem,
                client_cert_pem: client_cert.pem(),
                client_key_pem: client_key.serialize_pem(),
            },
        })
    }

    /// The configurations for one control connection and its data connections: the same
    /// certificates, but a session cache and a TLS 1.3 ticket key of their own, so a resumed
    /// data-connection handshake can only have resumed a session made on this control
    /// connection. Tickets are stateless and reusable, as with OpenSSL-based servers such as
    /// vsftpd: a client may resume from the same ticket on every data connection.
    pub(crate) fn session_configs(&self) -> Result<SessionConfigs, rustls::Error> {
        let mut control = (*self.base).clone();
        control.session_storage = ServerSessionMemoryCache::new(64);
        control.ticketer = rustls::crypto::ring::Ticketer::new()?;
        // Data connections resume from the same cache and key, but send no tickets of their
        // own: a client that only writes (an upload) would leave them unread and its close
        // would become a reset that can cut the upload short (seen with curl and TLS 1.3).
        let mut data = control.clone();
        data.send_tls13_tickets = 0;
        Ok(SessionConfigs {
            control: Arc::new(control),
            data: Arc::new(data),
        })
    }
}

/// The rustls configurations of one control connection; see [`TlsSetup::session_configs`].
#[derive(Debug, Clone)]
pub(crate) struct SessionConfigs {
    pub(crate) control: Arc<ServerConfig>,
    pub(crate) data: Arc<ServerConfig>,
}

/// A certificate chain and key for `names`, signed by a fresh test CA: what
/// [`Ftps`] generates, for use elsewhere (another server under test, a benchmark ceiling).
#[derive(Debug, Clone)]
pub struct GeneratedIdentity {
    /// The leaf certificate then the CA, PEM.
    pub chain_pem: String,
    /// The leaf's private key, PEM.
    pub key_pem: String,
    /// The CA certificate to trust, PEM.
    pub ca_pem: String,
}

/// Generates a [`GeneratedIdentity`].
pub fn generate_identity<S: AsRef<str>>(names: &[S]) -> Result<GeneratedIdentity, Error> {
    let err =
        |what: &str, e: &dyn std::fmt::Display| Error::Invalid(format!("generating {what}: {e}"));
    let (ca_key, ca_params, ca_pem) = generate_ca().map_err(|e| err("the test CA", &e))?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let names: Vec<String> = names.iter().map(|n| n.as_ref().to_owned()).collect();
    let (cert, key) = leaf(&names, rcgen::ExtendedKeyUsagePurpose::ServerAuth, &issuer)
        .map_err(|e| err("the certificate", &e))?;
    Ok(GeneratedIdentity {
        chain_pem: format!("{}{ca_pem}", cert.pem()),
        key_pem: key.serialize_pem(),
        ca_pem,
    })
}

fn ca_der(pem: &str) -> Result<CertificateDer<'static>, Error> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| Error::Invalid(format!("FTPS setup: test CA: {e}")))
}

fn validity(params: &mut rcgen::CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
}

fn generate_ca() -> Result<(rcgen::KeyPair, rcgen::CertificateParams, String), rcgen::Error> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ftpspec test CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params);
    let pem = params.self_signed(&key)?.pem();
    Ok((key, params, pem))
}

fn leaf(
    names: &[String],
    usage: rcgen::ExtendedKeyUsagePurpose,
    issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
) -> Result<(rcgen::Certificate, rcgen::KeyPair), rcgen::Error> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, first.as_str());
    }
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    validity(&mut params);
    Ok((params.signed_by(&key, issuer)?, key))
}

/// The first byte of a TLS record of one of the content types a peer sends after the
/// handshake (change_cipher_spec, alert, handshake, application_data).
pub(crate) fn is_tls_record_start(byte: u8) -> bool {
    (20..=23).contains(&byte)
}

/// Reads whole TLS records and nothing past them: each read returns at most the rest of the
/// current record (or of its 5-byte header), so when the TLS layer has seen a close_notify,
/// the bytes after it are still in the socket, and the control connection continues in
/// plaintext (CCC, RFC 4217 §6) without losing a command. The server uses it under its
/// control connections; an FTP client implementing CCC needs the same thing on its side.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use tokio::io::AsyncReadExt;
/// use ftpspec_mock::tls::RecordReader;
/// // A 3-byte record, then plaintext: the first reads stop at the record's end.
/// let wire: &[u8] = b"\x17\x03\x03\x00\x03abcPWD\r\n";
/// let mut records = RecordReader::new(wire);
/// let mut buf = [0u8; 64];
/// assert_eq!(records.read(&mut buf).await.unwrap(), 5); // the header
/// assert_eq!(records.read(&mut buf).await.unwrap(), 3); // the body, and no more
/// assert!(records.at_record_boundary());
/// # }
/// ```
#[derive(Debug)]
pub struct RecordReader<S> {
    inner: S,
    header: [u8; 5],
    header_len: usize,
    body_left: usize,
}

impl<S> RecordReader<S> {
    /// Wraps a byte stream that carries TLS records.
    pub fn new(inner: S) -> Self {
        RecordReader {
            inner,
            header: [0; 5],
            header_len: 0,
            body_left: 0,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, to write to (reading from it directly would desynchronise the
    /// record tracking).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// True between records (nothing of the next one read yet).
    pub fn at_record_boundary(&self) -> bool {
        self.header_len == 0 && self.body_left == 0
    }

    /// The wrapped stream, positioned just after the last whole record read.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn track(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                self.body_left -= n;
                bytes = &bytes[n..];
            } else {
                self.header[self.header_len] = bytes[0];
                self.header_len += 1;
                bytes = &bytes[1..];
                if self.header_len == 5 {
                    self.body_left =
                        usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                    self.header_len = 0;
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for RecordReader<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = if this.body_left > 0 {
            this.body_left
        } else {
            5 - this.header_len
        }
        .min(buf.remaining());
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        let dst = buf.initialize_unfilled_to(want);
        let mut sub = ReadBuf::new(dst);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut sub))?;
        let n = sub.filled().len();
        this.track(&dst[..n]);
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RecordReader<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Facts about one completed TLS handshake, for the event log.
pub(crate) fn describe(conn: &rustls::ServerConnection) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    TlsInfo {
        version,
        cipher: conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default(),
        resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
        client_certificate: conn.peer_certificates().is_some_and(|c| !c.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn record_reader_stops_at_record_ends() {
        // Two records (5-byte headers, bodies of 3 and 0 bytes), then plaintext.
        let wire: &[u8] = b"\x17\x03\x03\x00\x03abc\x15\x03\x03\x00\x00PWD\r\n";
        let mut r = RecordReader::new(wire);
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while got.len() < 13 {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
            assert!(got.len() <= 13, "read past the records: {got:?}");
        }
        assert!(r.at_record_boundary());
        let mut rest = Vec::new();
        r.into_inner().read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"PWD\r\n");
    }

    #[test]
    fn generated_material_builds_a_config() {
        let setup = TlsSetup::new(Ftps::explicit().client_auth(ClientAuth::Optional)).unwrap();
        assert!(setup.material.ca_pem().contains("BEGIN CERTIFICATE"));
        assert!(setup.material.client_key_pem().contains("PRIVATE KEY"));
        let (a, b) = (
            setup.session_configs().unwrap(),
            setup.session_configs().unwrap(),
        );
        assert!(!Arc::ptr_eq(&a.control, &b.control));
        assert_eq!(a.data.send_tls13_tickets, 0);
    }

    #[test]
    fn bad_identity_is_a_clear_error() {
        let e = TlsSetup::new(Ftps::explicit().identity_pem("not pem", "nor this"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("certificate PEM"), "{e}");
        let e = TlsSetup::new(Ftps::explicit().versions(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no TLS version"), "{e}");
    }
}
