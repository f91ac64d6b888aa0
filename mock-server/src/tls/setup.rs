//! What an FTPS server runs on: the test PKI generated with rcgen ([`TlsMaterial`]), the base
//! rustls configuration, and one configuration per control connection (so "the data
//! connection resumed *this* control connection's TLS session" is exact).

use std::io;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::error::Error;
use crate::events::TlsInfo;
use crate::tls::sessions::{SessionCache, TicketCount, Ticketer};
use crate::tls::{ClientAuth, Ftps, TlsVersion};

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
    /// The TLS secrets of every handshake so far, as NSS key log lines.
    pub(crate) key_log: Arc<KeyLogLines>,
    pub(crate) base: Arc<ServerConfig>,
    pub(crate) material: TlsMaterial,
}

impl TlsSetup {
    /// Generates (or loads) the certificates and builds the base rustls configuration.
    pub(crate) fn new(settings: Ftps) -> Result<TlsSetup, Error> {
        let tls_err = |what: &'static str, e: &dyn std::fmt::Display| Error::Tls {
            what,
            message: e.to_string(),
        };
        if settings.versions.is_empty() {
            return Err(Error::Tls {
                what: "no TLS version offered",
                message: "give 1.2, 1.3 or both".into(),
            });
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
        // Kept in memory for a capture's Decryption Secrets Block; SSLKEYLOGFILE=path also
        // writes them to a file.
        let key_log = Arc::new(KeyLogLines::default());
        base.key_log = key_log.clone();
        Ok(TlsSetup {
            settings,
            key_log,
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
    /// connection. By default tickets are stateless and reusable, as with OpenSSL-based
    /// servers such as vsftpd: a client may resume from the same ticket on every data
    /// connection. Under [`Ftps::single_use_tickets`] the ticket key is off and tickets live
    /// in the session cache, which forgets each one (and each TLS 1.2 session ID) once used.
    pub(crate) fn session_configs(&self) -> Result<SessionConfigs, rustls::Error> {
        let single_use = self.settings.single_use_tickets;
        let tickets = TicketCount::default();
        let mut control = (*self.base).clone();
        control.session_storage = SessionCache::new(64, single_use, tickets.clone());
        control.ticketer = Ticketer::new(!single_use, tickets.clone())?;
        // Data connections resume from the same cache and key. By default they send no
        // tickets of their own: a client that only writes (an upload) would leave them
        // unread and its close would become a reset that can cut the upload short (seen
        // with curl and TLS 1.3). `data_tickets` sends them anyway, to reproduce that.
        let mut data = control.clone();
        data.send_tls13_tickets = self.settings.data_tickets as usize;
        Ok(SessionConfigs {
            control: Arc::new(control),
            data: Arc::new(data),
            tickets,
        })
    }
}

/// The secrets of the server's TLS sessions as NSS key log lines (`CLIENT_RANDOM <random>
/// <secret>`, the TLS 1.3 traffic secrets), what Wireshark reads; also written to
/// `SSLKEYLOGFILE` when that is set. Bounded: past [`KeyLogLines::LIMIT`] bytes, new lines
/// are dropped.
#[derive(Debug)]
pub(crate) struct KeyLogLines {
    lines: std::sync::Mutex<String>,
    file: rustls::KeyLogFile,
}

impl Default for KeyLogLines {
    fn default() -> Self {
        KeyLogLines {
            lines: std::sync::Mutex::new(String::new()),
            file: rustls::KeyLogFile::new(),
        }
    }
}

impl KeyLogLines {
    /// The most kept (a few hundred bytes a handshake).
    pub(crate) const LIMIT: usize = 4 << 20;

    /// The lines so far.
    pub(crate) fn text(&self) -> String {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl rustls::KeyLog for KeyLogLines {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.file.log(label, client_random, secret);
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let line = format!("{label} {} {}\n", hex(client_random), hex(secret));
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() + line.len() <= Self::LIMIT {
            lines.push_str(&line);
        }
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

/// The rustls configurations of one control connection; see [`TlsSetup::session_configs`].
#[derive(Debug, Clone)]
pub(crate) struct SessionConfigs {
    pub(crate) control: Arc<ServerConfig>,
    pub(crate) data: Arc<ServerConfig>,
    /// Tickets issued by either configuration so far, for [`TlsInfo::tickets_sent`].
    pub(crate) tickets: TicketCount,
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
    let err = |what: &'static str, e: &dyn std::fmt::Display| Error::Tls {
        what,
        message: e.to_string(),
    };
    let (ca_key, ca_params, ca_pem) =
        generate_ca().map_err(|e| err("generating the test CA", &e))?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let names: Vec<String> = names.iter().map(|n| n.as_ref().to_owned()).collect();
    let (cert, key) = leaf(&names, rcgen::ExtendedKeyUsagePurpose::ServerAuth, &issuer)
        .map_err(|e| err("generating the certificate", &e))?;
    Ok(GeneratedIdentity {
        chain_pem: format!("{}{ca_pem}", cert.pem()),
        key_pem: key.serialize_pem(),
        ca_pem,
    })
}

fn ca_der(pem: &str) -> Result<CertificateDer<'static>, Error> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| Error::Tls {
        what: "test CA",
        message: e.to_string(),
    })
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

/// A TLS version as the event log writes it: `TLSv1.2`, `TLSv1.3` (`unknown` before the
/// handshake).
pub fn version_name(version: Option<rustls::ProtocolVersion>) -> String {
    match version {
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    }
}

/// Facts about one completed TLS handshake, for the event log. `issued` is what the
/// connection's [`TicketCount`] grew by during the handshake: tickets under TLS 1.3 (under
/// TLS 1.2 it counts session IDs and RFC 5077 tickets, which are not NewSessionTickets).
pub(crate) fn describe(conn: &rustls::ServerConnection, issued: u32) -> TlsInfo {
    let tls13 = conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
    let tickets_sent = if tls13 { issued } else { 0 };
    let version = version_name(conn.protocol_version());
    TlsInfo {
        version,
        cipher: conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default(),
        resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
        client_certificate: conn.peer_certificates().is_some_and(|c| !c.is_empty()),
        tickets_sent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_log_lines_are_nss_lines_and_bounded() {
        use rustls::KeyLog as _;
        let log = KeyLogLines::default();
        log.log("CLIENT_RANDOM", &[0x01, 0xab], &[0xff]);
        log.log("SERVER_TRAFFIC_SECRET_0", &[0x02], &[0x00, 0x10]);
        assert_eq!(
            log.text(),
            "CLIENT_RANDOM 01ab ff\nSERVER_TRAFFIC_SECRET_0 02 0010\n"
        );
        let big = vec![0u8; KeyLogLines::LIMIT];
        log.log("CLIENT_RANDOM", &[1], &big);
        assert_eq!(
            log.text().lines().count(),
            2,
            "a line past the limit is dropped"
        );
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
        assert!(a.control.ticketer.enabled());
    }

    #[test]
    fn ticket_knobs_reach_the_configs() {
        let setup =
            TlsSetup::new(Ftps::explicit().data_tickets(3).single_use_tickets(true)).unwrap();
        let c = setup.session_configs().unwrap();
        assert_eq!(c.data.send_tls13_tickets, 3);
        assert_eq!(c.control.send_tls13_tickets, setup.base.send_tls13_tickets);
        // Single-use: no stateless tickets; the session cache holds (and takes) them.
        assert!(!c.control.ticketer.enabled() && !c.data.ticketer.enabled());
        assert!(Arc::ptr_eq(
            &c.control.session_storage,
            &c.data.session_storage
        ));
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
