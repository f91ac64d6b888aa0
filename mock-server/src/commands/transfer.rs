//! Data transfers: RETR STOR APPE LIST NLST (RFC 959 §4.1.3), MLSD (RFC 3659 §7), REST STREAM
//! (RFC 3659 §5), ASCII line-end conversion (RFC 959 §3.1.1.1), the 150/125 -> 226/426 reply
//! order (RFC 959 §5.4), and the scripted faults of [`crate::script::TransferScript`].
//!
//! A transfer runs as its own task so the session keeps reading the control connection.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::either::Either;

use crate::commands::datachan::DataPlan;
use crate::commands::fs::{facts, list_line};
use crate::control::parser::Verb;
use crate::control::reply::{Reply, ReplyCode};
use crate::events::{Channel, DataEnd, DataMode, EventKind};
use crate::generated;
use crate::script::{Accept, FaultAction, FaultPoint, TransferScript};
use crate::session::{Flow, Session, SharedOut};
use crate::state::Shared;
use crate::vfs::Source;

const CHUNK: usize = 256 * 1024;

/// A data connection: plain TCP, or TLS under PROT P.
type DataIo = Either<TcpStream, Box<tokio_rustls::server::TlsStream<TcpStream>>>;

/// How a PROT P data connection is secured.
struct DataTls {
    config: Arc<rustls::ServerConfig>,
    require_reuse: bool,
}

/// How a transfer task ended, for the session loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransferEnd {
    Done,
    CloseControl,
}

/// Why the session cancelled a transfer task; read by the data record as the task is dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct CancelReason(Arc<Mutex<Option<DataEnd>>>);

impl CancelReason {
    pub(crate) fn set(&self, end: DataEnd) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(end);
    }

    fn take(&self) -> Option<DataEnd> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

enum Job {
    Send {
        source: Source,
        offset: u64,
        ascii: bool,
        what: String,
    },
    Receive {
        path: String,
        base: Vec<u8>,
        ascii: bool,
    },
}

/// Counts a data connection's bytes and logs its close exactly once, also when the task is
/// aborted (ABOR, control connection gone).
struct DataRecord {
    shared: Arc<Shared>,
    session: u64,
    mode: DataMode,
    local: SocketAddr,
    peer: SocketAddr,
    sent: u64,
    received: u64,
    end: Option<DataEnd>,
    cancel: CancelReason,
    /// A TLS upload ended without the client's close_notify.
    no_close_notify: bool,
}

impl Drop for DataRecord {
    fn drop(&mut self) {
        let end = self
            .end
            .take()
            .or_else(|| self.cancel.take())
            .unwrap_or(DataEnd::Aborted);
        self.shared.log(
            self.session,
            EventKind::DataClosed {
                mode: self.mode,
                local: self.local,
                peer: self.peer,
                bytes_sent: self.sent,
                bytes_received: self.received,
                end,
            },
        );
    }
}

impl Session {
    async fn start_transfer(&mut self, job: Job) -> io::Result<Flow> {
        let data_tls_required = self
            .shared
            .cfg
            .tls
            .as_ref()
            .is_some_and(|t| t.settings.require_data);
        if data_tls_required && !self.tls.protect_data {
            return self
                .refuse_transfer(
                    ReplyCode::DataProtectionRequired,
                    "Data connections must be encrypted: send PBSZ 0 and PROT P first.".into(),
                )
                .await;
        }
        let script = self.transfer_script.take().unwrap_or_default();
        let Some(plan) = self.data.take() else {
            return self
                .say(
                    ReplyCode::CantOpenDataConnection,
                    "Use PORT, EPRT, PASV or EPSV first.",
                )
                .await;
        };
        let cancel = CancelReason::default();
        let tls = match (&self.tls.configs, &self.shared.cfg.tls) {
            (Some(configs), Some(setup)) if self.tls.protect_data => Some(DataTls {
                config: configs.data.clone(),
                require_reuse: setup.settings.require_session_reuse,
            }),
            _ => None,
        };
        let task = Task {
            job,
            tls,
            plan: Some(plan),
            script,
            out: self.out.clone(),
            shared: self.shared.clone(),
            session: self.id,
            cancel: cancel.clone(),
        };
        self.transfer = Some((tokio::spawn(task.run()), cancel));
        Ok(Flow::Continue)
    }

    /// Refuses a transfer before any data moves; the data plan is dropped too, since the
    /// client may already have connected to it.
    async fn refuse_transfer(&mut self, code: ReplyCode, text: String) -> io::Result<Flow> {
        self.data = None;
        self.transfer_script = None;
        self.rest = 0;
        self.say(code, text).await
    }

    pub(crate) async fn retr(&mut self, arg: &str) -> io::Result<Flow> {
        let path = self.path(arg);
        let offset = std::mem::take(&mut self.rest);
        let source = self.shared.vfs().read(&path);
        match source {
            Err(e) => {
                self.refuse_transfer(
                    ReplyCode::FileUnavailable,
                    format!("Failed to open file: {e}"),
                )
                .await
            }
            Ok(source) if offset > source.len() => {
                let text = format!(
                    "REST offset {offset} is past the end of {path} ({} bytes).",
                    source.len()
                );
                self.refuse_transfer(ReplyCode::FileNameNotAllowed, text)
                    .await
            }
            Ok(source) => {
                let what = format!("{path} ({} bytes)", source.len());
                self.start_transfer(Job::Send {
                    source,
                    offset,
                    ascii: self.ascii,
                    what,
                })
                .await
            }
        }
    }

    pub(crate) async fn stor(&mut self, arg: &str, append: bool) -> io::Result<Flow> {
        let path = self.path(arg);
        let offset = std::mem::take(&mut self.rest);
        let (writable, existing) = {
            let vfs = self.shared.vfs();
            (vfs.check_writable(&path), vfs.existing(&path))
        };
        if let Err(e) = writable {
            return self
                .refuse_transfer(
                    ReplyCode::FileNameNotAllowed,
                    format!("Could not create file: {e}"),
                )
                .await;
        }
        let existing = existing.unwrap_or_default();
        let base = if append {
            existing.to_vec()
        } else if offset > existing.len() as u64 {
            let text = format!(
                "REST offset {offset} is past the end of {path} ({} bytes).",
                existing.len()
            );
            return self
                .refuse_transfer(ReplyCode::FileNameNotAllowed, text)
                .await;
        } else {
            existing[..offset as usize].to_vec()
        };
        self.start_transfer(Job::Receive {
            path,
            base,
            ascii: self.ascii,
        })
        .await
    }

    pub(crate) async fn list(&mut self, verb: Verb, arg: &str) -> io::Result<Flow> {
        let mut rest = arg.trim();
        if verb != Verb::Mlsd {
            // Options such as `-la` (sent by many clients) are accepted and ignored.
            while rest.starts_with('-') {
                rest = rest.split_once(' ').map_or("", |(_, r)| r.trim_start());
            }
        }
        let path = if rest.is_empty() {
            self.cwd.clone()
        } else {
            self.path(rest)
        };
        let listing = {
            let vfs = self.shared.vfs();
            vfs.list(&path).map(|entries| (entries, vfs.is_dir(&path)))
        };
        let (entries, is_dir) = match listing {
            Ok(l) => l,
            Err(e) => {
                return self
                    .refuse_transfer(ReplyCode::FileUnavailable, e.to_string())
                    .await
            }
        };
        if verb == Verb::Mlsd && !is_dir {
            return self
                .refuse_transfer(
                    ReplyCode::ParameterSyntaxError,
                    format!("{path}: MLSD needs a directory."),
                )
                .await;
        }
        let mut text = String::new();
        for e in &entries {
            let line = match verb {
                Verb::Nlst if is_dir && rest.is_empty() => e.name.clone(),
                Verb::Nlst if is_dir => format!("{}/{}", rest.trim_end_matches('/'), e.name),
                Verb::Nlst => rest.to_owned(),
                Verb::Mlsd => facts(e, &e.name),
                _ => list_line(e),
            };
            text.push_str(&line);
            text.push_str("\r\n");
        }
        self.rest = 0;
        let source = Source::Memory(Bytes::from(text));
        self.start_transfer(Job::Send {
            source,
            offset: 0,
            ascii: false,
            what: "the directory listing".into(),
        })
        .await
    }
}

struct Task {
    job: Job,
    tls: Option<DataTls>,
    plan: Option<DataPlan>,
    script: TransferScript,
    out: SharedOut,
    shared: Arc<Shared>,
    session: u64,
    cancel: CancelReason,
}

impl Task {
    async fn say(&self, reply: Reply) {
        // A failed write means the control connection is gone; the session notices on its own.
        let _ = self.out.lock().await.send(&reply).await;
    }

    async fn final_reply(&self, default: Reply) {
        self.say(self.script.final_reply.clone().unwrap_or(default))
            .await;
    }

    async fn run(mut self) -> TransferEnd {
        match self.script.accept {
            Accept::Never => std::future::pending::<()>().await,
            Accept::After(delay) => tokio::time::sleep(delay).await,
            Accept::Normal => {}
        }
        let Some(plan) = self.plan.take() else {
            return TransferEnd::Done;
        };
        let (mode, addr) = (plan.mode(), plan.addr());
        match plan
            .connect(self.shared.cfg.active_source, self.shared.cfg.data_timeout)
            .await
        {
            Ok(stream) => self.transfer(stream, mode, addr).await,
            Err(e) => {
                self.shared.log(
                    self.session,
                    EventKind::DataFailed {
                        mode,
                        addr,
                        error: e.to_string(),
                    },
                );
                let text = format!("Failed to establish data connection: {e}.");
                self.say(Reply::new(ReplyCode::CantOpenDataConnection, text))
                    .await;
                TransferEnd::Done
            }
        }
    }

    async fn transfer(self, tcp: TcpStream, mode: DataMode, addr: SocketAddr) -> TransferEnd {
        let stream = tcp;
        let local = stream.local_addr().unwrap_or(addr);
        let peer = stream.peer_addr().unwrap_or(addr);
        self.shared
            .log(self.session, EventKind::DataOpened { mode, local, peer });
        let mut rec = DataRecord {
            shared: self.shared.clone(),
            session: self.session,
            mode,
            local,
            peer,
            sent: 0,
            received: 0,
            end: None,
            cancel: self.cancel.clone(),
            no_close_notify: false,
        };
        let fault = self.script.fault;
        if let Some((FaultPoint::Before150, action)) = fault {
            return self
                .fault(action, Either::Left(stream), rec, "before 150")
                .await;
        }
        let preliminary = match &self.job {
            Job::Send { ascii, what, .. } => {
                format!(
                    "Opening {} mode data connection for {what}.",
                    if *ascii { "ASCII" } else { "BINARY" }
                )
            }
            Job::Receive { ascii, .. } => {
                format!(
                    "Ok to send data ({} mode).",
                    if *ascii { "ASCII" } else { "BINARY" }
                )
            }
        };
        self.say(Reply::new(ReplyCode::FileStatusOkay, preliminary))
            .await;
        // The TLS handshake comes after 150: some clients start it at once, others wait for
        // the preliminary reply, and this order serves both (as vsftpd does).
        let mut stream = match &self.tls {
            None => Either::Left(stream),
            Some(tls) => match self.data_handshake(stream, tls, &mut rec).await {
                Ok(s) => s,
                Err(reply) => {
                    drop(rec);
                    self.final_reply(reply).await;
                    return TransferEnd::Done;
                }
            },
        };
        let limit = match fault {
            Some((FaultPoint::MidTransfer(n), _)) => Some(n),
            _ => None,
        };
        let mut kept = None;
        let moved = match &self.job {
            Job::Send {
                source,
                offset,
                ascii,
                ..
            } => send(&mut stream, source, *offset, *ascii, limit, &mut rec).await,
            Job::Receive { base, ascii, .. } => {
                kept = Some(base.clone());
                receive(
                    &mut stream,
                    *ascii,
                    limit,
                    &mut rec,
                    &mut kept,
                    &self.shared,
                )
                .await
            }
        };
        match (moved, fault) {
            (Ok(true), Some((_, action))) => {
                self.store(&mut kept, &rec);
                return self.fault(action, stream, rec, "mid-transfer").await;
            }
            (Ok(_), _) => {
                // Under TLS this sends close_notify first.
                let _ = stream.shutdown().await;
                drop(stream);
                rec.end = Some(DataEnd::Completed);
                if rec.no_close_notify {
                    self.shared.log(
                        self.session,
                        EventKind::Warning {
                            message: "the client closed the TLS data connection without close_notify (RFC 4217 §12.6: a truncated upload cannot be told from a complete one)".into(),
                        },
                    );
                }
                self.store(&mut kept, &rec);
                drop(rec);
            }
            (Err(e), _) => {
                drop(stream);
                rec.end = Some(DataEnd::Error(e.to_string()));
                self.store(&mut kept, &rec);
                drop(rec);
                self.final_reply(Reply::new(
                    ReplyCode::ConnectionClosedTransferAborted,
                    format!("Connection closed; transfer aborted: {e}."),
                ))
                .await;
                return TransferEnd::Done;
            }
        }
        match fault {
            Some((FaultPoint::Before226, FaultAction::CloseControl)) => {
                return TransferEnd::CloseControl
            }
            Some((FaultPoint::Before226, FaultAction::Stall)) => std::future::pending::<()>().await,
            // CloseData at this point: the data connection is already closed; carry on.
            _ => {}
        }
        let over_limit = matches!(self.job, Job::Receive { .. }) && kept.is_none();
        if over_limit {
            let text = format!(
                "Upload exceeds the server's upload limit ({} bytes in all); data received but not kept.",
                self.shared.cfg.upload_limit
            );
            self.final_reply(Reply::new(ReplyCode::ExceededStorageAllocation, text))
                .await;
        } else {
            self.final_reply(Reply::new(
                ReplyCode::ClosingDataConnection,
                "Transfer complete.",
            ))
            .await;
        }
        TransferEnd::Done
    }

    /// The TLS handshake of a PROT P data connection, and the session-reuse policy. On
    /// failure, the final reply to send (the data record already says why).
    async fn data_handshake(
        &self,
        tcp: TcpStream,
        tls: &DataTls,
        rec: &mut DataRecord,
    ) -> Result<DataIo, Reply> {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
        let timeout = self.shared.cfg.data_timeout;
        let error = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => {
                let info = crate::tls::describe(stream.get_ref().1);
                let resumed = info.resumed;
                self.shared.log(
                    self.session,
                    EventKind::TlsEstablished {
                        channel: Channel::Data,
                        peer: rec.peer,
                        tls: info,
                    },
                );
                if !tls.require_reuse || resumed {
                    return Ok(Either::Right(Box::new(stream)));
                }
                let error = "the data connection did not resume the control connection's TLS session, and this server requires session reuse";
                self.shared.log(
                    self.session,
                    EventKind::TlsFailed {
                        channel: Channel::Data,
                        peer: rec.peer,
                        error: error.into(),
                    },
                );
                rec.end = Some(DataEnd::Error(error.into()));
                return Err(Reply::new(
                    ReplyCode::DataTlsFailed,
                    "TLS connection failed: session reuse required (the data connection must resume the control connection's TLS session).",
                ));
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no TLS handshake within {timeout:?}"),
        };
        self.shared.log(
            self.session,
            EventKind::TlsFailed {
                channel: Channel::Data,
                peer: rec.peer,
                error: error.clone(),
            },
        );
        rec.end = Some(DataEnd::Error(format!("TLS handshake failed: {error}")));
        Err(Reply::new(
            ReplyCode::DataTlsFailed,
            format!("TLS handshake on the data connection failed: {error}."),
        ))
    }

    /// Stores an upload (complete or partial) and logs it. The data moves into the file tree
    /// (`kept` is left empty but `Some`, so "not kept" stays visible as `None`).
    fn store(&self, kept: &mut Option<Vec<u8>>, rec: &DataRecord) {
        let Job::Receive { path, base, .. } = &self.job else {
            return;
        };
        let (size, was_kept) = match kept {
            Some(data) => {
                let size = data.len() as u64;
                if let Err(e) = self
                    .shared
                    .vfs()
                    .store(path, Bytes::from(std::mem::take(data)))
                {
                    self.shared.log(
                        self.session,
                        EventKind::Warning {
                            message: format!("upload to {path} lost: {e}"),
                        },
                    );
                    return;
                }
                (size, true)
            }
            None => (base.len() as u64 + rec.received, false),
        };
        self.shared.log(
            self.session,
            EventKind::Stored {
                path: path.clone(),
                size,
                kept: was_kept,
            },
        );
    }

    async fn fault(
        &self,
        action: FaultAction,
        stream: DataIo,
        mut rec: DataRecord,
        when: &str,
    ) -> TransferEnd {
        match action {
            FaultAction::CloseData => {
                drop(stream);
                rec.end = Some(DataEnd::ClosedByScript);
                drop(rec);
                let (code, text) = if when == "before 150" {
                    (
                        ReplyCode::CantOpenDataConnection,
                        "Data connection closed before the transfer (scripted).",
                    )
                } else {
                    (
                        ReplyCode::ConnectionClosedTransferAborted,
                        "Connection closed; transfer aborted.",
                    )
                };
                self.final_reply(Reply::new(code, text)).await;
                TransferEnd::Done
            }
            FaultAction::CloseControl => {
                drop(stream);
                rec.end = Some(DataEnd::ClosedByScript);
                TransferEnd::CloseControl
            }
            FaultAction::Stall => {
                let _keep_open = (stream, rec);
                std::future::pending().await
            }
        }
    }
}

/// Sends `source` from `offset`; returns true when the `limit` (a fault point) was reached.
async fn send(
    stream: &mut DataIo,
    source: &Source,
    offset: u64,
    ascii: bool,
    limit: Option<u64>,
    rec: &mut DataRecord,
) -> io::Result<bool> {
    let total = source.len();
    let mut pos = offset.min(total);
    let mut buf = vec![0u8; CHUNK.min(total.saturating_sub(pos) as usize).max(1)];
    let mut converted = Vec::new();
    let mut prev_cr = false;
    while pos < total {
        let n = (buf.len() as u64).min(total - pos) as usize;
        match source {
            Source::Memory(data) => buf[..n].copy_from_slice(&data[pos as usize..pos as usize + n]),
            Source::Generated(_) => generated::fill(pos, &mut buf[..n]),
        }
        pos += n as u64;
        let chunk: &[u8] = if ascii {
            converted.clear();
            for &b in &buf[..n] {
                if b == b'\n' && !prev_cr {
                    converted.push(b'\r');
                }
                converted.push(b);
                prev_cr = b == b'\r';
            }
            &converted
        } else {
            &buf[..n]
        };
        if let Some(limit) = limit {
            let room = limit.saturating_sub(rec.sent);
            if chunk.len() as u64 >= room {
                stream.write_all(&chunk[..room as usize]).await?;
                rec.sent += room;
                return Ok(true);
            }
        }
        stream.write_all(chunk).await?;
        rec.sent += chunk.len() as u64;
    }
    Ok(limit == Some(rec.sent))
}

/// Receives until EOF (or the `limit`, returning true), keeping the data (ASCII: CRLF -> LF)
/// in `kept` while the server-wide upload limit allows; past it `kept` becomes `None`.
async fn receive(
    stream: &mut DataIo,
    ascii: bool,
    limit: Option<u64>,
    rec: &mut DataRecord,
    kept: &mut Option<Vec<u8>>,
    shared: &Shared,
) -> io::Result<bool> {
    let mut buf = vec![0u8; CHUNK];
    let mut pending_cr = false;
    let mut reserved = 0u64;
    loop {
        let want = match limit {
            Some(l) if rec.received >= l => return Ok(true),
            Some(l) => ((l - rec.received) as usize).min(buf.len()),
            None => buf.len(),
        };
        let n = match stream.read(&mut buf[..want]).await {
            // rustls reports a TLS peer that closed without close_notify this way; the data
            // is complete as far as TCP goes, so keep it and record the missing alert.
            Err(e)
                if e.kind() == io::ErrorKind::UnexpectedEof
                    && matches!(stream, Either::Right(_)) =>
            {
                rec.no_close_notify = true;
                0
            }
            other => other?,
        };
        if n == 0 {
            if let (Some(data), true) = (kept.as_mut(), pending_cr) {
                data.push(b'\r');
            }
            return Ok(false);
        }
        rec.received += n as u64;
        let Some(data) = kept.as_mut() else { continue };
        let used = shared.upload_used.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        reserved += n as u64;
        if used > shared.cfg.upload_limit {
            shared.upload_used.fetch_sub(reserved, Ordering::SeqCst);
            *kept = None;
            continue;
        }
        if !ascii {
            data.extend_from_slice(&buf[..n]);
            continue;
        }
        for &b in &buf[..n] {
            if std::mem::take(&mut pending_cr) {
                if b == b'\n' {
                    data.push(b'\n');
                    continue;
                }
                data.push(b'\r');
            }
            if b == b'\r' {
                pending_cr = true;
            } else {
                data.push(b);
            }
        }
    }
}
