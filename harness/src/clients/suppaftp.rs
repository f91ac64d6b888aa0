//! suppaftp, the Rust crate (sync API, rustls), linked in and run on a thread inside the
//! client host.

use std::sync::Arc;
use std::time::Duration;

use super::adapter::{ClientAdapter, ClientError, Launch, Target};
use crate::scenario::{Action, Mode, Setting};

/// suppaftp 12 with rustls.
pub struct Suppaftp;

impl Suppaftp {
    /// Its name in results.
    pub const NAME: &'static str = "suppaftp";
}

impl ClientAdapter for Suppaftp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        None
    }
    fn version(&self) -> String {
        "suppaftp 12 (rustls, linked in)".into()
    }
    fn actions(&self) -> Vec<Action> {
        Action::ALL.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        use Setting::*;
        vec![DisableEpsv, PreferEpsv, DisableEprt, ForcePasvIp, FtpsExplicit, Ccc]
    }
    fn launch(&self, _: &Target) -> Launch {
        // suppaftp is synchronous: run it on a blocking thread of the in-host runtime, which
        // tokio starts from the host thread, so it is in the client's namespace too.
        Launch::InProcess(Arc::new(|t: Target| {
            Box::pin(async move {
                tokio::task::spawn_blocking(move || suppaftp_run(&t))
                    .await
                    .map_err(|e| e.to_string())?
            })
        }))
    }
}

/// suppaftp's sync client, configured from the target.
fn suppaftp_run(t: &Target) -> Result<(), ClientError> {
    use suppaftp::types::FileType;
    let step = |what: &'static str| move |e: suppaftp::FtpError| format!("{what}: {e}");
    let addr = std::net::SocketAddr::new(t.host, t.port);
    let timeout = Duration::from_secs(t.connect_secs());
    let ftp = suppaftp::RustlsFtpStream::connect_timeout(addr, timeout).map_err(step("connect"))?;
    ftp.get_ref()
        .set_read_timeout(Some(Duration::from_secs(t.reply_secs())))
        .map_err(|e| format!("socket: {e}"))?;
    let mut ftp = if t.has(Setting::FtpsExplicit) {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(ca) = &t.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            use rustls::pki_types::pem::PemObject;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                roots
                    .add(cert.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        ftp.into_secure(
            suppaftp::RustlsConnector::from(Arc::new(config)),
            &t.host.to_string(),
        )
        .map_err(step("AUTH TLS"))?
    } else {
        ftp
    };
    ftp.login(&t.user, &t.password).map_err(step("login"))?;
    if t.has(Setting::Ccc) {
        ftp = ftp.clear_command_channel().map_err(step("CCC"))?;
    }
    ftp.set_passive_nat_workaround(t.has(Setting::ForcePasvIp));
    if t.mode == Mode::Active {
        ftp = ftp.active_mode(timeout);
    } else if t.has(Setting::PreferEpsv) {
        ftp.set_mode(suppaftp::Mode::ExtendedPassive);
    }
    ftp.transfer_type(FileType::Binary)
        .map_err(step("TYPE I"))?;
    if t.action == Action::Session {
        for s in &t.steps {
            one(&mut ftp, s.action, &s.path, &s.local_file)?;
        }
    } else {
        one(&mut ftp, t.action, &t.path, &t.local_file)?;
    }
    ftp.quit().map_err(step("QUIT"))?;
    Ok(())
}

/// One transfer on the logged-in connection.
fn one(
    ftp: &mut suppaftp::RustlsFtpStream,
    action: Action,
    path: &str,
    local: &std::path::Path,
) -> Result<(), ClientError> {
    let step = |what: &'static str| move |e: suppaftp::FtpError| format!("{what} {path}: {e}");
    match action {
        Action::Download => {
            let data = ftp
                .retr_as_buffer(path)
                .map_err(step("RETR"))?
                .into_inner();
            std::fs::write(local, data).map_err(|e| e.to_string())?;
        }
        Action::Upload => {
            let mut file = std::fs::File::open(local).map_err(|e| e.to_string())?;
            ftp.put_file(path, &mut file).map_err(step("STOR"))?;
        }
        Action::List | Action::Session => {
            let lines = ftp.list(Some(path)).map_err(step("LIST"))?;
            std::fs::write(local, lines.join("\n")).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

