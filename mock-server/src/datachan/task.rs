//! The transfer task: one data connection from connect to final reply, run apart from the
//! session so the control connection keeps being read (ABOR, queued commands). ASCII
//! line-end conversion (RFC 959 §3.1.1.1), the 150/125 -> 226/426 reply order (RFC 959 §5.4),
//! the PROT P handshake and session-reuse policy (RFC 4217 §§9-10), the throttle (the
//! server's `data_rate`, a script's `rate`), and the scripted faults of
//! [`crate::script::TransferScript`].

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::either::Either;

use crate::control::conn::SharedOut;
use crate::control::reply::{Reply, ReplyCode};
use crate::datachan::DataPlan;
use crate::events::{Channel, DataEnd, DataMode, EventKind};
use crate::generated;
use crate::script::{Accept, FaultAction, FaultPoint, TransferScript};
use crate::sink;
use crate::state::Shared;
use crate::tls::TicketCount;
use crate::vfs::Source;

const CHUNK: usize = 256 * 1024;

/// The most an unthrottled plain (not TLS) binary download of a file hands the socket in one
/// write: its bytes are already in memory, so a larger write costs no copy and saves system
/// calls and wake-ups. (Generated content goes a [`generated::WINDOW`] at a time.)
const SEND_MAX: usize = 4 << 20;

/// Paces a throttled transfer: after each chunk it waits until the moment the bytes moved so
/// far are due at the rate, counted from the first byte. The schedule is absolute, so timer
/// overshoot does not add up: the rate holds over any length, at one timer wake-up per chunk.
struct Pacer {
    /// Bytes per second (at least 1).
    rate: u64,
    /// When the data started to move.
    start: tokio::time::Instant,
}

impl Pacer {
    fn new(rate: u64) -> Pacer {
        Pacer {
            rate: rate.max(1),
            start: tokio::time::Instant::now(),
        }
    }

    /// The bytes moved per wake-up: about 50 ms of data (at least 1 byte, at most `CHUNK`).
    fn chunk(&self) -> usize {
        usize::try_from(self.rate / 20)
            .unwrap_or(CHUNK)
            .clamp(1, CHUNK)
    }

    /// Waits until `moved` bytes are due.
    async fn wait_for(&self, moved: u64) {
        let nanos = u128::from(moved) * 1_000_000_000 / u128::from(self.rate);
        let due = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        tokio::time::sleep_until(self.start + due).await;
    }
}

/// A data connection: plain TCP, or TLS under PROT P.
type DataIo = Either<TcpStream, Box<tokio_rustls::server::TlsStream<TcpStream>>>;

/// How a PROT P data connection is secured.
pub(crate) struct DataTls {
    /// The control connection's data configuration (its session cache, so resumption is
    /// checked against this control connection only).
    pub(crate) config: Arc<rustls::ServerConfig>,
    /// Refuse (522) a handshake that did not resume the control connection's session.
    pub(crate) require_reuse: bool,
    /// The control connection's ticket count, for [`crate::TlsInfo::tickets_sent`].
    pub(crate) tickets: TicketCount,
    /// Answer 426 to an upload that ends without the client's close_notify.
    pub(crate) require_close_notify: bool,
    /// Close without sending close_notify.
    pub(crate) omit_close_notify: bool,
}

/// How a transfer task ended, for the session loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransferEnd {
    /// The final reply was sent (or the control connection is gone); the session goes on.
    Done,
    /// A scripted fault closes the control connection.
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

/// What a transfer moves.
pub(crate) enum Job {
    /// A download or a listing.
    Send {
        /// The bytes to send.
        source: Source,
        /// Where to start (REST).
        offset: u64,
        /// TYPE A: LF becomes CRLF.
        ascii: bool,
        /// What the 150 reply names.
        what: String,
    },
    /// An upload.
    Receive {
        /// Where it is stored.
        path: String,
        /// What the file starts with (APPE: the old content; REST: its first bytes).
        base: Vec<u8>,
        /// TYPE A: CRLF becomes LF.
        ascii: bool,
    },
}

/// Where an upload's bytes go as they arrive.
enum Upload {
    /// Nowhere: not an upload, or past the server's upload limit (counted, not kept).
    Dropped,
    /// Kept in memory, then moved into the file tree.
    Memory(Vec<u8>),
    /// Hashed (and checked) by the sink, which keeps none of them.
    Sink(sink::Digest),
}

/// Counts a data connection's bytes and logs its close exactly once, also when the task is
/// aborted (ABOR, control connection gone).
struct DataRecord {
    /// Where the close is logged.
    shared: Arc<Shared>,
    /// The session the connection belongs to.
    session: u64,
    /// Passive or active.
    mode: DataMode,
    /// The server's end.
    local: SocketAddr,
    /// The client's end.
    peer: SocketAddr,
    /// Bytes sent so far.
    sent: u64,
    /// Bytes received so far.
    received: u64,
    /// How it ended, once known; otherwise the cancel reason, or aborted.
    end: Option<DataEnd>,
    /// Why the session cancelled the task, if it did.
    cancel: CancelReason,
    /// Under TLS: whether the client's close_notify arrived (`Some(false)`: the connection
    /// ended without it; `None`: not read to the end). `None` on plaintext.
    client_close_notify: Option<bool>,
    /// Under TLS: whether the server sent its close_notify. `None` on plaintext.
    server_close_notify: Option<bool>,
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
                client_close_notify: self.client_close_notify,
                server_close_notify: self.server_close_notify,
            },
        );
    }
}

/// One transfer, run as a task of its own: connects (or accepts), sends 150, moves the data,
/// injects the scripted faults and sends the final reply.
pub(crate) struct Task {
    /// What to move.
    pub(crate) job: Job,
    /// PROT P: how to secure the data connection; `None` for plain TCP.
    pub(crate) tls: Option<DataTls>,
    /// How to make the data connection (taken when the task starts).
    pub(crate) plan: Option<DataPlan>,
    /// Scripted behaviour (accept timing, a fault, the final reply); the default is none.
    pub(crate) script: TransferScript,
    /// The control connection's writer, for 150 and the final reply.
    pub(crate) out: SharedOut,
    /// The server's state: configuration, log, file tree, upload budget.
    pub(crate) shared: Arc<Shared>,
    /// The session this transfer belongs to, for the log.
    pub(crate) session: u64,
    /// The control connection's peer, which a passive data connection must come from when
    /// the server requires it (`data_ip_match`).
    pub(crate) control_peer: SocketAddr,
    /// Why the session cancelled the task (ABOR, control gone), for the data record.
    pub(crate) cancel: CancelReason,
    /// The final reply already went out (`early_final_reply`); no other reply follows.
    pub(crate) final_sent: bool,
}

impl Task {
    async fn say(&self, reply: Reply) {
        // A failed write means the control connection is gone; the session notices on its own.
        let _ = self.out.lock().await.send(&reply).await;
    }

    async fn final_reply(&self, default: Reply) {
        if self.final_sent {
            return;
        }
        if let Some(delay) = self.script.final_reply_delay {
            tokio::time::sleep(delay).await;
        }
        self.say(self.script.final_reply.clone().unwrap_or(default))
            .await;
    }

    /// The preliminary reply (150, or the script's), and with `early_final_reply` the final
    /// reply in the same write.
    async fn send_preliminary(&mut self) {
        if self.final_sent {
            return;
        }
        let preliminary = self
            .script
            .preliminary
            .clone()
            .unwrap_or_else(|| Reply::new(ReplyCode::FileStatusOkay, self.preliminary()));
        if !self.script.early_final_reply {
            return self.say(preliminary).await;
        }
        let done = Reply::new(ReplyCode::ClosingDataConnection, "Transfer complete.");
        let done = self.script.final_reply.clone().unwrap_or(done);
        // A failed write means the control connection is gone; the session notices.
        let _ = self.out.lock().await.send_all(&[preliminary, done]).await;
        self.final_sent = true;
    }

    /// Runs the transfer to its end.
    pub(crate) async fn run(mut self) -> TransferEnd {
        if self.script.early_final_reply && matches!(self.job, Job::Receive { .. }) {
            self.script.early_final_reply = false;
            self.shared.log(
                self.session,
                EventKind::Warning {
                    message: "script error: early_final_reply applies to downloads and listings, not uploads; ignored".into(),
                },
            );
        }
        match self.script.accept {
            Accept::Never => std::future::pending::<()>().await,
            Accept::After(delay) => tokio::time::sleep(delay).await,
            Accept::Normal => {}
        }
        let Some(plan) = self.plan.take() else {
            return TransferEnd::Done;
        };
        let (mode, addr) = (plan.mode(), plan.addr());
        if mode == DataMode::Active && self.script.early_final_reply {
            // Before the server dials the client.
            self.send_preliminary().await;
        }
        match plan
            .connect(self.shared.cfg.active_source, self.shared.cfg.data_timeout)
            .await
        {
            Ok(stream) if mode == DataMode::Passive && !self.peer_allowed(&stream) => {
                self.refuse_peer(stream).await;
                TransferEnd::Done
            }
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
                if !self.final_sent {
                    self.say(Reply::new(ReplyCode::CantOpenDataConnection, text))
                        .await;
                }
                TransferEnd::Done
            }
        }
    }

    /// Whether a passive data connection may be used: always, unless the server requires it
    /// to come from the control connection's peer (an IPv4-mapped IPv6 address counts as the
    /// IPv4 address).
    fn peer_allowed(&self, stream: &TcpStream) -> bool {
        if !self.shared.cfg.data_ip_match {
            return true;
        }
        stream
            .peer_addr()
            .is_ok_and(|p| p.ip().to_canonical() == self.control_peer.ip().to_canonical())
    }

    /// Closes a passive data connection from the wrong address and fails the transfer as
    /// vsftpd does (`425 Security: Bad IP connecting.`; no 150 was sent).
    async fn refuse_peer(&self, stream: TcpStream) {
        let local = stream.local_addr().unwrap_or(self.control_peer);
        let peer = stream.peer_addr().unwrap_or(self.control_peer);
        drop(stream);
        self.shared.log(
            self.session,
            EventKind::DataPeerRefused {
                local,
                peer,
                control_peer: self.control_peer,
            },
        );
        if !self.final_sent {
            self.say(Reply::new(
                ReplyCode::CantOpenDataConnection,
                "Security: Bad IP connecting.",
            ))
            .await;
        }
    }

    /// Everything after the data connection is made.
    async fn transfer(mut self, tcp: TcpStream, mode: DataMode, addr: SocketAddr) -> TransferEnd {
        // No Nagle delay: each write's tail goes out at once instead of waiting for the ACK
        // of what went before. Measured on loopback (medians of 40 rounds, four runs), a
        // 64 MiB RETR's data took 21-26 ms with Nagle where a raw TCP sender with
        // TCP_NODELAY (the throughput bench's ceiling) took 20-21 ms; without, the two match.
        let _ = tcp.set_nodelay(true);
        let mut rec = self.open_record(&tcp, mode, addr);
        let fault = self.script.fault;
        if let Some((FaultPoint::Before150, action)) = fault {
            return self
                .fault(action, Either::Left(tcp), rec, "before 150")
                .await;
        }
        self.send_preliminary().await;
        // The TLS handshake comes after 150: some clients start it at once, others wait for
        // the preliminary reply, and this order serves both (as vsftpd does).
        let mut stream = match &self.tls {
            None => Either::Left(tcp),
            Some(tls) => match self.data_handshake(tcp, tls, &mut rec).await {
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
        let mut kept = Upload::Dropped;
        let moved = self
            .move_data(&mut stream, limit, &mut rec, &mut kept)
            .await;
        let complete = match (moved, fault) {
            (Ok(true), Some((_, action))) => {
                self.store(&mut kept, &rec, false);
                return self.fault(action, stream, rec, "mid-transfer").await;
            }
            (Ok(_), _) => self.complete(stream, rec, &mut kept).await,
            (Err(e), _) => {
                drop(stream);
                rec.end = Some(DataEnd::Error(e.to_string()));
                self.store(&mut kept, &rec, false);
                drop(rec);
                self.final_reply(Reply::new(
                    ReplyCode::ConnectionClosedTransferAborted,
                    format!("Connection closed; transfer aborted: {e}."),
                ))
                .await;
                return TransferEnd::Done;
            }
        };
        match fault {
            Some((FaultPoint::Before226, FaultAction::CloseControl)) => {
                return TransferEnd::CloseControl
            }
            Some((FaultPoint::Before226, FaultAction::Stall)) => std::future::pending::<()>().await,
            // CloseData at this point: the data connection is already closed; carry on.
            _ => {}
        }
        self.finish(matches!(kept, Upload::Dropped), complete).await;
        TransferEnd::Done
    }

    /// Logs the data connection as open and starts its record.
    fn open_record(&self, stream: &TcpStream, mode: DataMode, addr: SocketAddr) -> DataRecord {
        let local = stream.local_addr().unwrap_or(addr);
        let peer = stream.peer_addr().unwrap_or(addr);
        self.shared
            .log(self.session, EventKind::DataOpened { mode, local, peer });
        DataRecord {
            shared: self.shared.clone(),
            session: self.session,
            mode,
            local,
            peer,
            sent: 0,
            received: 0,
            end: None,
            cancel: self.cancel.clone(),
            client_close_notify: None,
            server_close_notify: self.tls.as_ref().map(|_| false),
        }
    }

    /// The text of the 150 reply.
    fn preliminary(&self) -> String {
        match &self.job {
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
        }
    }

    /// Sends or receives the data, up to `limit` bytes (a fault point); true when the limit
    /// was reached. An upload goes to `kept`: memory (until the upload limit), or the sink.
    async fn move_data(
        &self,
        stream: &mut DataIo,
        limit: Option<u64>,
        rec: &mut DataRecord,
        kept: &mut Upload,
    ) -> io::Result<bool> {
        let rate = self.script.rate.or(self.shared.cfg.data_rate);
        if let Some(bytes_per_sec) = rate {
            self.shared
                .log(self.session, EventKind::Throttled { bytes_per_sec });
        }
        let pacer = rate.map(Pacer::new);
        match &self.job {
            Job::Send {
                source,
                offset,
                ascii,
                ..
            } => send(stream, source, *offset, *ascii, limit, rec, pacer).await,
            Job::Receive { path, base, ascii } => {
                *kept = match sink::Digest::new(path) {
                    Some(digest) => Upload::Sink(digest),
                    None => Upload::Memory(base.clone()),
                };
                let pace = Pace { limit, pacer };
                receive(stream, *ascii, pace, rec, kept, &self.shared).await
            }
        }
    }

    /// Closes a data connection whose data all moved, and stores an upload. False when the
    /// upload is judged incomplete: it ended without the client's close_notify and the
    /// policy requires one.
    async fn complete(&self, mut stream: DataIo, mut rec: DataRecord, kept: &mut Upload) -> bool {
        let omit = self.tls.as_ref().is_some_and(|t| t.omit_close_notify);
        match &mut stream {
            Either::Left(tcp) => {
                let _ = tcp.shutdown().await;
            }
            Either::Right(tls) => {
                if !omit {
                    tls.get_mut().1.send_close_notify();
                }
                // Writes what rustls holds: the last data, and the alert unless omitted.
                let flushed = tls.flush().await.is_ok();
                rec.server_close_notify = Some(flushed && !omit);
                let _ = tls.get_mut().0.shutdown().await;
            }
        }
        drop(stream);
        rec.end = Some(DataEnd::Completed);
        let upload = matches!(self.job, Job::Receive { .. });
        let required = self.tls.as_ref().is_some_and(|t| t.require_close_notify);
        let complete = !(upload && required && rec.client_close_notify == Some(false));
        if upload && rec.client_close_notify == Some(false) {
            let message = if required {
                "the client closed the TLS data connection without close_notify; the upload is refused as incomplete (426), as vsftpd and FileZilla Server do"
            } else {
                "the client closed the TLS data connection without close_notify (RFC 4217 §12.6: a truncated upload cannot be told from a complete one)"
            };
            self.shared.log(
                self.session,
                EventKind::Warning {
                    message: message.into(),
                },
            );
        }
        self.store(kept, &rec, complete);
        drop(rec);
        complete
    }

    /// The final reply of a transfer whose data all moved: 226; 426 for an upload judged
    /// incomplete (`complete` false); 552 for an upload over the limit (`not_kept`).
    async fn finish(&self, not_kept: bool, complete: bool) {
        let upload = matches!(self.job, Job::Receive { .. });
        if !complete {
            self.final_reply(Reply::new(
                ReplyCode::ConnectionClosedTransferAborted,
                "Connection closed; transfer aborted: the data connection ended without TLS close_notify, so the upload may be truncated.",
            ))
            .await;
        } else if upload && not_kept {
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
        let issued = tls.tickets.now();
        let error = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => {
                let info = crate::tls::describe(stream.get_ref().1, tls.tickets.now() - issued);
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

    /// Stores an upload (complete or partial, as `complete` says) and logs it. The data moves
    /// into the file tree (`kept` is left empty but `Memory`, so "not kept" stays visible as
    /// `Dropped`); the sink records the size.
    fn store(&self, kept: &mut Upload, rec: &DataRecord, complete: bool) {
        let Job::Receive { path, base, .. } = &self.job else {
            return;
        };
        let (size, was_kept, sink) = match kept {
            Upload::Memory(data) => (data.len() as u64, true, None),
            Upload::Sink(digest) => (rec.received, false, Some(digest.finish())),
            Upload::Dropped => (base.len() as u64 + rec.received, false, None),
        };
        let stored = match kept {
            Upload::Memory(data) => self
                .shared
                .vfs()
                .store(path, Bytes::from(std::mem::take(data))),
            Upload::Sink(_) => self.shared.vfs().store_sunk(path, size),
            Upload::Dropped => Ok(()),
        };
        if let Err(e) = stored {
            self.shared.log(
                self.session,
                EventKind::Warning {
                    message: format!("upload to {path} lost: {e}"),
                },
            );
            return;
        }
        self.shared.log(
            self.session,
            EventKind::Stored {
                path: path.clone(),
                size,
                kept: was_kept,
                complete,
                sink,
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

/// Sends `source` from `offset` (paced by `pacer` when throttled); returns true when the
/// `limit` (a fault point) was reached. Bytes go to the socket straight from where they live
/// (the file's memory, or the one period of generated content), so a RETR copies nothing in
/// user space; generated content is found from `offset`, so a REST far into a huge file
/// costs nothing.
async fn send(
    stream: &mut DataIo,
    source: &Source,
    offset: u64,
    ascii: bool,
    limit: Option<u64>,
    rec: &mut DataRecord,
    pacer: Option<Pacer>,
) -> io::Result<bool> {
    let total = source.len();
    let mut pos = offset.min(total);
    // Large writes for plain binary data only: TLS encrypts into records of its own anyway.
    let plain = !ascii && matches!(stream, Either::Left(_));
    let chunk_max = match (&pacer, source) {
        (Some(p), _) => p.chunk(),
        // The same size every write, as the period is laid out in memory.
        (None, Source::Generated(_)) => generated::WINDOW,
        (None, Source::Memory(_)) if plain => SEND_MAX,
        (None, Source::Memory(_)) => CHUNK,
    };
    let mut converted = Vec::new();
    let mut prev_cr = false;
    while pos < total {
        let n = (chunk_max as u64).min(total - pos) as usize;
        let bytes: &[u8] = match source {
            Source::Memory(data) => &data[pos as usize..pos as usize + n],
            Source::Generated(_) => generated::window(pos, n),
        };
        pos += bytes.len() as u64;
        let chunk: &[u8] = if ascii {
            converted.clear();
            for &b in bytes {
                if b == b'\n' && !prev_cr {
                    converted.push(b'\r');
                }
                converted.push(b);
                prev_cr = b == b'\r';
            }
            &converted
        } else {
            bytes
        };
        if let Some(limit) = limit {
            let room = limit.saturating_sub(rec.sent);
            if chunk.len() as u64 >= room {
                write_counted(stream, &chunk[..room as usize], &mut rec.sent).await?;
                return Ok(true);
            }
        }
        write_counted(stream, chunk, &mut rec.sent).await?;
        if let Some(p) = &pacer {
            p.wait_for(rec.sent).await;
        }
    }
    Ok(limit == Some(rec.sent))
}

/// Writes all of `bytes`, counting each write into `sent` as the socket takes it, so that
/// a transfer stopped midway (ABOR, a closed connection) records what really went out.
async fn write_counted(stream: &mut DataIo, mut bytes: &[u8], sent: &mut u64) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = stream.write(bytes).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        *sent += n as u64;
        bytes = &bytes[n..];
    }
    Ok(())
}

/// How far and how fast an upload is read: the fault point and the throttle.
struct Pace {
    /// Stop after this many bytes (a scripted fault).
    limit: Option<u64>,
    /// Read at this pace (a throttled transfer).
    pacer: Option<Pacer>,
}

/// Receives until EOF (or the `pace`'s limit, returning true; at its rate when throttled),
/// keeping the data (ASCII: CRLF -> LF) in `kept` while the server-wide upload limit allows
/// (past it `kept` becomes `Dropped`), or handing the bytes as received to the sink.
async fn receive(
    stream: &mut DataIo,
    ascii: bool,
    pace: Pace,
    rec: &mut DataRecord,
    kept: &mut Upload,
    shared: &Shared,
) -> io::Result<bool> {
    let Pace { limit, pacer } = pace;
    let mut buf = vec![0u8; pacer.as_ref().map_or(CHUNK, Pacer::chunk)];
    let mut pending_cr = false;
    let mut reserved = 0u64;
    loop {
        let want = match limit {
            Some(l) if rec.received >= l => return Ok(true),
            Some(l) => ((l - rec.received) as usize).min(buf.len()),
            None => buf.len(),
        };
        let tls = matches!(stream, Either::Right(_));
        let n = match stream.read(&mut buf[..want]).await {
            // rustls reports a TLS peer that closed without close_notify this way; the data
            // is complete as far as TCP goes, so keep it and record the missing alert.
            Err(e) if tls && e.kind() == io::ErrorKind::UnexpectedEof => {
                rec.client_close_notify = Some(false);
                0
            }
            // A reset or a TLS error: the connection ended without the alert.
            Err(e) => {
                if tls {
                    rec.client_close_notify = Some(false);
                }
                return Err(e);
            }
            // Under TLS a clean end is the client's close_notify.
            Ok(0) if tls => {
                rec.client_close_notify = Some(true);
                0
            }
            Ok(n) => n,
        };
        if n == 0 {
            if let (Upload::Memory(data), true) = (&mut *kept, pending_cr) {
                data.push(b'\r');
            }
            return Ok(false);
        }
        rec.received += n as u64;
        if let Some(p) = &pacer {
            p.wait_for(rec.received).await;
        }
        let data = match kept {
            Upload::Memory(data) => data,
            Upload::Sink(digest) => {
                digest.update(&buf[..n]);
                continue;
            }
            Upload::Dropped => continue,
        };
        let used = shared.upload_used.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        reserved += n as u64;
        if used > shared.cfg.upload_limit {
            shared.upload_used.fetch_sub(reserved, Ordering::SeqCst);
            *kept = Upload::Dropped;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The schedule is absolute: 900 KiB at 20 KiB/s is due at exactly 45 s after the first
    /// byte, in about 50 ms steps (20 wake-ups a second, cheap on CPU), whatever the timer's
    /// overshoot on each step.
    #[tokio::test(start_paused = true)]
    async fn the_pace_holds_over_a_long_transfer() {
        let pacer = Pacer::new(20 * 1024);
        assert_eq!(pacer.chunk(), 1024);
        let start = tokio::time::Instant::now();
        let total = 900 * 1024u64;
        let (mut moved, mut wakeups) = (0u64, 0u32);
        while moved < total {
            moved += pacer.chunk() as u64;
            pacer.wait_for(moved).await;
            wakeups += 1;
            // A slow loop body (e.g. a busy socket) does not push the schedule back.
            if wakeups % 7 == 0 {
                tokio::time::advance(Duration::from_millis(30)).await;
            }
        }
        assert_eq!(start.elapsed(), Duration::from_secs(45));
        assert_eq!(wakeups, 900);
    }

    #[test]
    fn chunks_stay_between_one_byte_and_the_buffer() {
        assert_eq!(Pacer::new(0).chunk(), 1, "a zero rate is taken as 1 byte/s");
        assert_eq!(Pacer::new(100).chunk(), 5);
        assert_eq!(Pacer::new(u64::MAX).chunk(), CHUNK);
    }
}
