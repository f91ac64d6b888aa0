//! suppaftp, the Rust crate (sync API, rustls), linked in and run on a thread inside the
//! client host.

use std::io::{Read, Write};
use std::path::Path;
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
        // keepalive: TCP keepalive on the control connection's TcpStream (get_ref), as a
        // user would set it with socket2; suppaftp sends no NOOP by itself. resume:
        // resume_transfer (REST). ascii: TYPE A, the lines written with LF.
        use Setting::*;
        vec![
            DisableEpsv,
            PreferEpsv,
            DisableEprt,
            ForcePasvIp,
            FtpsExplicit,
            Ccc,
            Keepalive,
            Resume,
            Ascii,
        ]
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
    let ftp = suppaftp::RustlsFtpStream::connect_timeout(addr, timeout)
        .map_err(step("connect"))?
        // A passive data connection gets the connect timeout too, as every other client's
        // does: suppaftp's own waits for the kernel's SYN retries (about two minutes) on a
        // data port that a firewall drops.
        .passive_stream_builder(move |addr| {
            std::net::TcpStream::connect_timeout(&addr, timeout)
                .map_err(suppaftp::FtpError::ConnectionError)
        });
    ftp.get_ref()
        .set_read_timeout(Some(Duration::from_secs(t.reply_secs())))
        .map_err(|e| format!("socket: {e}"))?;
    if t.has(Setting::Keepalive) {
        let every = Duration::from_secs(t.keepalive_secs());
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(every)
            .with_interval(every);
        socket2::SockRef::from(&*ftp.get_ref())
            .set_tcp_keepalive(&keepalive)
            .map_err(|e| format!("TCP keepalive: {e}"))?;
    }
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
    if t.has(Setting::Ascii) {
        let ascii = FileType::Ascii(suppaftp::types::FormatControl::Default);
        ftp.transfer_type(ascii).map_err(step("TYPE A"))?;
    } else {
        ftp.transfer_type(FileType::Binary)
            .map_err(step("TYPE I"))?;
    }
    match t.action {
        Action::Session => {
            for s in &t.steps {
                one(&mut ftp, t, s.action, &s.path, &s.local_file)?;
            }
        }
        Action::Mirror => mirror(&mut ftp, t, &t.path, &t.local_dir)?,
        _ => one(&mut ftp, t, t.action, &t.path, &t.local_file)?,
    }
    ftp.quit().map_err(step("QUIT"))?;
    Ok(())
}

/// One transfer on the logged-in connection.
fn one(
    ftp: &mut suppaftp::RustlsFtpStream,
    t: &Target,
    action: Action,
    path: &str,
    local: &Path,
) -> Result<(), ClientError> {
    let step = |what: &'static str| move |e: suppaftp::FtpError| format!("{what} {path}: {e}");
    let io = |e: std::io::Error| format!("{}: {e}", local.display());
    match action {
        Action::Download | Action::Mirror => download(ftp, t, path, local)?,
        Action::Upload => {
            let mut file = std::fs::File::open(local).map_err(io)?;
            ftp.put_file(path, &mut file).map_err(step("STOR"))?;
        }
        Action::List | Action::Session => {
            let lines = ftp.list(Some(path)).map_err(step("LIST"))?;
            std::fs::write(local, lines.join("\n")).map_err(io)?;
        }
    }
    Ok(())
}

/// A download, streamed to the local file: continued from its size under `resume`, the
/// lines written with LF under `ascii`.
fn download(
    ftp: &mut suppaftp::RustlsFtpStream,
    t: &Target,
    path: &str,
    local: &Path,
) -> Result<(), ClientError> {
    let io = |e: std::io::Error| format!("{}: {e}", local.display());
    let resume = t.has(Setting::Resume);
    let offset = if resume {
        std::fs::metadata(local).map_or(0, |m| m.len())
    } else {
        0
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resume)
        .truncate(!resume)
        .open(local)
        .map_err(io)?;
    if offset > 0 {
        ftp.resume_transfer(offset as usize)
            .map_err(|e| format!("REST {offset}: {e}"))?;
    }
    let ascii = t.has(Setting::Ascii);
    ftp.retr(path, |data| {
        let copied = if ascii {
            copy_lines(data, &mut file)
        } else {
            std::io::copy(data, &mut file).map(|_| ())
        };
        copied.map_err(suppaftp::FtpError::ConnectionError)
    })
    .map_err(|e| format!("RETR {path}: {e}"))
}

/// Copies a TYPE A text, its CRLF line ends written as LF.
fn copy_lines(from: &mut dyn Read, to: &mut impl Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 << 10];
    let mut out = Vec::with_capacity(buf.len());
    let mut held_cr = false;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.clear();
        for &b in &buf[..n] {
            if held_cr && b != b'\n' {
                out.push(b'\r');
            }
            held_cr = b == b'\r';
            if !held_cr {
                out.push(b);
            }
        }
        to.write_all(&out)?;
    }
    if held_cr {
        to.write_all(b"\r")?;
    }
    Ok(())
}

/// Downloads the directory `dir` recursively into `local`, walking MLSD where the server
/// offers it (FEAT lists MLST), else LIST lines parsed as Unix or DOS listings
/// (`suppaftp::list`), as the crate's users do.
fn mirror(
    ftp: &mut suppaftp::RustlsFtpStream,
    t: &Target,
    dir: &str,
    local: &Path,
) -> Result<(), ClientError> {
    let mlsd = ftp
        .feat()
        .map(|f| f.keys().any(|k| k.eq_ignore_ascii_case("MLST")))
        .unwrap_or(false);
    walk(ftp, t, mlsd, dir, local)
}

fn walk(
    ftp: &mut suppaftp::RustlsFtpStream,
    t: &Target,
    mlsd: bool,
    dir: &str,
    local: &Path,
) -> Result<(), ClientError> {
    let entries = listing(ftp, mlsd, dir)?;
    std::fs::create_dir_all(local).map_err(|e| format!("{}: {e}", local.display()))?;
    for entry in entries {
        let name = entry.name();
        if name == "." || name == ".." || name.contains('/') {
            continue;
        }
        let remote = format!("{}/{name}", dir.trim_end_matches('/'));
        if entry.is_directory() {
            walk(ftp, t, mlsd, &remote, &local.join(name))?;
        } else if entry.is_file() {
            download(ftp, t, &remote, &local.join(name))?;
        }
    }
    Ok(())
}

/// A directory's entries: MLSD facts (without the `cdir`/`pdir` entries), or the LIST lines
/// that parse (not `total 12`).
fn listing(
    ftp: &mut suppaftp::RustlsFtpStream,
    mlsd: bool,
    dir: &str,
) -> Result<Vec<suppaftp::list::File>, ClientError> {
    use suppaftp::list::{File, ListParser};
    if mlsd {
        let lines = ftp
            .mlsd(Some(dir))
            .map_err(|e| format!("MLSD {dir}: {e}"))?;
        let own = |l: &String| {
            let facts = l.split_once(' ').map_or("", |(f, _)| f).to_ascii_lowercase();
            facts.contains("type=cdir;") || facts.contains("type=pdir;")
        };
        return lines
            .iter()
            .filter(|l| !own(l))
            .map(|l| ListParser::parse_mlsd(l).map_err(|e| format!("MLSD line {l:?}: {e}")))
            .collect();
    }
    let lines = ftp
        .list(Some(dir))
        .map_err(|e| format!("LIST {dir}: {e}"))?;
    Ok(lines
        .iter()
        .filter_map(|l| l.parse::<File>().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_lines_are_written_with_lf() {
        let mut out = Vec::new();
        let mut text: &[u8] = b"a\r\nb\rc\r\n\r";
        copy_lines(&mut text, &mut out).unwrap();
        assert_eq!(out, b"a\nb\rc\n\r");
    }

    #[test]
    fn declares_the_transfer_settings_and_mirror() {
        let all = Suppaftp.settings();
        for s in [Setting::Keepalive, Setting::Resume, Setting::Ascii] {
            assert!(all.contains(&s), "{s:?}");
        }
        assert!(Suppaftp.actions().contains(&Action::Mirror));
    }
}
