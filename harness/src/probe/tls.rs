//! The probe's rustls side: one client configuration per session (its session cache shared
//! by the control connection and the data connections, as RFC 4217 §10.2 clients do), and a
//! session store that counts the TLS 1.3 tickets each data connection receives.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Resumption, Tls12ClientSessionValue,
    Tls13ClientSessionValue,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, NamedGroup, SignatureScheme};

/// One session's TLS: the configuration, its session cache and the name checked.
#[derive(Debug, Clone)]
pub(crate) struct SessionTls {
    config: ClientConfig,
    cache: Arc<ClientSessionMemoryCache>,
    /// The server name: the control IP.
    pub name: ServerName<'static>,
}

impl SessionTls {
    /// A configuration trusting `ca_pem` (or, without one, any certificate), writing its
    /// TLS secrets to `keys`.
    pub fn new(
        ca_pem: Option<&str>,
        control_ip: IpAddr,
        keys: Arc<KeyText>,
    ) -> Result<SessionTls, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS versions: {e}"))?;
        let mut config = match ca_pem {
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    let cert = cert.map_err(|e| format!("the target's CA PEM: {e}"))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("the target's CA certificate: {e}"))?;
                }
                if roots.is_empty() {
                    return Err("the target's CA PEM holds no certificate".into());
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth(),
        };
        let cache = Arc::new(ClientSessionMemoryCache::new(64));
        config.resumption = Resumption::store(cache.clone());
        config.key_log = keys;
        Ok(SessionTls {
            config,
            cache,
            name: ServerName::IpAddress(control_ip.into()),
        })
    }

    /// The control connection's configuration.
    pub fn control(&self) -> Arc<ClientConfig> {
        Arc::new(self.config.clone())
    }

    /// A data connection's configuration and its ticket counter: with `resume`, on the
    /// session's cache (so it offers the control connection's session); without, on a fresh
    /// cache (a full handshake).
    pub fn data(&self, resume: bool) -> (Arc<ClientConfig>, Arc<AtomicU32>) {
        let tickets = Arc::new(AtomicU32::new(0));
        let inner: Arc<dyn ClientSessionStore> = if resume {
            self.cache.clone()
        } else {
            Arc::new(ClientSessionMemoryCache::new(8))
        };
        let mut config = self.config.clone();
        config.resumption = Resumption::store(Arc::new(CountingStore {
            inner,
            tickets: tickets.clone(),
        }));
        (Arc::new(config), tickets)
    }
}

/// The TLS secrets of a probe run, as NSS key log text (what `SSLKEYLOGFILE` holds), so
/// that a case's packet capture can carry them and Wireshark decrypts the probe's FTPS.
#[derive(Debug, Default)]
pub(crate) struct KeyText(std::sync::Mutex<String>);

impl KeyText {
    /// The lines logged so far.
    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl rustls::KeyLog for KeyText {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        use std::fmt::Write as _;
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut text = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(text, "{label} {} {}", hex(client_random), hex(secret));
    }
}

/// `TLSv1.2`, `TLSv1.3` (as the mock's event log writes them).
pub(crate) fn version(conn: &rustls::CommonState) -> String {
    ftpspec_mock::tls::version_name(conn.protocol_version())
}

/// Whether the handshake resumed a session.
pub(crate) fn resumed(conn: &rustls::CommonState) -> bool {
    conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
}

/// A session store that counts the TLS 1.3 tickets put into it, delegating everything.
#[derive(Debug)]
struct CountingStore {
    inner: Arc<dyn ClientSessionStore>,
    tickets: Arc<AtomicU32>,
}

impl ClientSessionStore for CountingStore {
    fn set_kx_hint(&self, name: ServerName<'static>, group: NamedGroup) {
        self.inner.set_kx_hint(name, group);
    }

    fn kx_hint(&self, name: &ServerName<'_>) -> Option<NamedGroup> {
        self.inner.kx_hint(name)
    }

    fn set_tls12_session(&self, name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.inner.set_tls12_session(name, value);
    }

    fn tls12_session(&self, name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.inner.tls12_session(name)
    }

    fn remove_tls12_session(&self, name: &ServerName<'static>) {
        self.inner.remove_tls12_session(name);
    }

    fn insert_tls13_ticket(&self, name: ServerName<'static>, value: Tls13ClientSessionValue) {
        self.tickets.fetch_add(1, Ordering::Relaxed);
        self.inner.insert_tls13_ticket(name, value);
    }

    fn take_tls13_ticket(&self, name: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.inner.take_tls13_ticket(name)
    }
}

/// Accepts any certificate (a target without a CA): the probe tests FTP, not the PKI. The
/// handshake signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
