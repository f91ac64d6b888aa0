//! One control connection: reads lines, runs scripts, dispatches commands, and keeps reading
//! while a transfer runs (so ABOR works and other commands queue, RFC 959 §4.1.3).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::either::Either;

use crate::commands::datachan::DataPlan;
use crate::commands::transfer::{CancelReason, TransferEnd};
use crate::control::codec::{Line, LineReader};
use crate::control::parser::{self, ParseError, Verb};
use crate::control::reply::{Reply, ReplyCode};
use crate::events::{ControlEnd, DataEnd, EventKind};
use crate::script::{Action, TransferScript};
use crate::state::Shared;
use crate::tls::{FtpsMode, RecordReader};

/// The control connection under TLS: records are read one at a time so CCC can hand the
/// socket back exactly at the end of the client's close_notify.
pub(crate) type ControlTls = tokio_rustls::server::TlsStream<RecordReader<TcpStream>>;

/// The control connection: plain TCP, or TLS after AUTH TLS (or from the start, implicit).
pub(crate) type ControlIo = Either<TcpStream, Box<ControlTls>>;

/// The writing side of the control connection, shared with the transfer task. `None` only
/// while the connection is being switched to or from TLS.
pub(crate) struct Out {
    pub(crate) w: Option<WriteHalf<ControlIo>>,
    shared: Arc<Shared>,
    session: u64,
}

impl Out {
    pub(crate) async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        self.send_text(reply.code, reply.encode()).await
    }

    async fn send_text(&mut self, code: u16, text: String) -> io::Result<()> {
        let w = self.w.as_mut().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "control connection is closing")
        })?;
        w.write_all(text.as_bytes()).await?;
        w.flush().await?;
        self.shared
            .log(self.session, EventKind::Reply { code, text });
        Ok(())
    }

    pub(crate) async fn send_raw(&mut self, text: &str) -> io::Result<()> {
        let code = text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        self.send_text(code, text.to_owned()).await
    }
}

pub(crate) type SharedOut = Arc<Mutex<Out>>;

/// Commands kept while a transfer runs; past this the server stops reading until it ends.
const MAX_QUEUED: usize = 64;

/// What a handler tells the loop.
pub(crate) enum Flow {
    Continue,
    Close(ControlEnd),
}

pub(crate) struct Session {
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
    /// `None` only while the connection is being switched to or from TLS.
    pub(crate) reader: Option<LineReader<ReadHalf<ControlIo>>>,
    pub(crate) out: SharedOut,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) user: Option<String>,
    pub(crate) logged_in: bool,
    pub(crate) cwd: String,
    pub(crate) ascii: bool,
    pub(crate) rest: u64,
    pub(crate) rename_from: Option<String>,
    pub(crate) data: Option<DataPlan>,
    pub(crate) epsv_all: bool,
    pub(crate) transfer_script: Option<TransferScript>,
    pub(crate) transfer: Option<(JoinHandle<TransferEnd>, CancelReason)>,
    pub(crate) tls: TlsState,
    queued: VecDeque<Line>,
}

/// The FTPS state of one control connection (RFC 2228 §3, RFC 4217 §§4-9).
#[derive(Default)]
pub(crate) struct TlsState {
    /// This connection's rustls configuration (its own session cache), from the first
    /// handshake on.
    pub(crate) configs: Option<crate::tls::SessionConfigs>,
    /// Whether the control connection is under TLS now.
    pub(crate) control: bool,
    /// PBSZ was accepted (after the last AUTH).
    pub(crate) pbsz: bool,
    /// PROT P is in effect: data connections are TLS.
    pub(crate) protect_data: bool,
}

async fn read_line(
    reader: &mut Option<LineReader<ReadHalf<ControlIo>>>,
) -> io::Result<Option<Line>> {
    match reader {
        Some(r) => r.next_line().await,
        None => Ok(None),
    }
}

/// Decrements the open-session count however the session ends.
struct SessionCount(Arc<Shared>);
impl Drop for SessionCount {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) async fn run(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    shared.sessions.fetch_add(1, Ordering::SeqCst);
    let _count = SessionCount(shared.clone());
    let id = shared.next_session_id();
    let local = match stream.local_addr() {
        Ok(a) => a,
        Err(e) => {
            shared.log(
                id,
                EventKind::Warning {
                    message: format!("control connection from {peer} lost at once: {e}"),
                },
            );
            return;
        }
    };
    shared.log(id, EventKind::Connected { peer, local });
    let _ = stream.set_nodelay(true);
    let out = Arc::new(Mutex::new(Out {
        w: None,
        shared: shared.clone(),
        session: id,
    }));
    let mut session = Session {
        id,
        reader: None,
        out,
        peer,
        local,
        user: None,
        logged_in: false,
        cwd: "/".to_owned(),
        ascii: false,
        rest: 0,
        rename_from: None,
        data: None,
        epsv_all: false,
        transfer_script: None,
        transfer: None,
        tls: TlsState::default(),
        queued: VecDeque::new(),
        shared: shared.clone(),
    };
    let implicit = shared
        .cfg
        .tls
        .as_ref()
        .is_some_and(|t| t.settings.mode == FtpsMode::Implicit);
    let started = if implicit {
        session.start_tls(stream).await
    } else {
        session
            .put_stream(Either::Left(stream), BytesMut::new())
            .await;
        Ok(())
    };
    let greeting = Reply::new(ReplyCode::ServiceReady, shared.cfg.greeting.clone());
    let end = match started {
        Err(end) => end,
        Ok(()) => match session.reply(greeting).await {
            Ok(()) => session.serve().await,
            Err(e) => ControlEnd::Error(e.to_string()),
        },
    };
    if let Some((handle, reason)) = session.transfer.take() {
        reason.set(DataEnd::ControlGone);
        handle.abort();
        let _ = handle.await;
    }
    if matches!(
        end,
        ControlEnd::Quit | ControlEnd::Script | ControlEnd::IdleTimeout
    ) {
        if let Some(w) = session.out.lock().await.w.as_mut() {
            let _ = w.shutdown().await;
        }
    }
    shared.log(id, EventKind::Disconnected { end });
}

impl Session {
    pub(crate) async fn reply(&self, reply: Reply) -> io::Result<()> {
        self.out.lock().await.send(&reply).await
    }

    /// Sends a reply and continues.
    pub(crate) async fn say(
        &self,
        code: impl Into<u16>,
        text: impl Into<String>,
    ) -> io::Result<Flow> {
        self.reply(Reply::new(code, text)).await?;
        Ok(Flow::Continue)
    }

    pub(crate) fn log(&self, kind: EventKind) {
        self.shared.log(self.id, kind);
    }

    async fn serve(&mut self) -> ControlEnd {
        loop {
            if let Some((handle, _)) = self.transfer.as_mut() {
                tokio::select! {
                    biased;
                    result = handle => {
                        self.transfer = None;
                        if let Ok(TransferEnd::CloseControl) = result {
                            return ControlEnd::Script;
                        }
                    }
                    // A full queue stops reading: TCP backpressure, not memory, absorbs a flood.
                    line = read_line(&mut self.reader), if self.queued.len() < MAX_QUEUED => match line {
                        Ok(Some(Line::Text(t))) if parser::split_verb(&t).0.eq_ignore_ascii_case("ABOR") => {
                            self.log(EventKind::Command { line: t });
                            if let Err(e) = self.abort_transfer().await {
                                return ControlEnd::Error(e.to_string());
                            }
                        }
                        Ok(Some(line)) => self.queued.push_back(line),
                        Ok(None) => return ControlEnd::ClientClosed,
                        Err(e) => return self.read_failed(e),
                    }
                }
                continue;
            }
            let line = match self.queued.pop_front() {
                Some(line) => line,
                None => match tokio::time::timeout(
                    self.shared.cfg.idle_timeout,
                    read_line(&mut self.reader),
                )
                .await
                {
                    Err(_) => {
                        let _ = self
                            .say(
                                ReplyCode::ServiceNotAvailable,
                                "Timeout: no command received; closing control connection.",
                            )
                            .await;
                        return ControlEnd::IdleTimeout;
                    }
                    Ok(Ok(Some(line))) => line,
                    Ok(Ok(None)) => return ControlEnd::ClientClosed,
                    Ok(Err(e)) => return self.read_failed(e),
                },
            };
            match self.handle_line(line).await {
                Ok(Flow::Continue) => {}
                Ok(Flow::Close(end)) => return end,
                Err(e) => return ControlEnd::Error(e.to_string()),
            }
        }
    }

    /// How a failed read of the control connection ends the session. A TLS peer that closes
    /// without close_notify is a client that went away (many do), noted as such.
    fn read_failed(&self, e: io::Error) -> ControlEnd {
        if self.tls.control && e.kind() == io::ErrorKind::UnexpectedEof {
            self.log(EventKind::Warning {
                message: "the client closed the TLS control connection without close_notify".into(),
            });
            return ControlEnd::ClientClosed;
        }
        ControlEnd::Error(e.to_string())
    }

    async fn abort_transfer(&mut self) -> io::Result<()> {
        let Some((handle, reason)) = self.transfer.take() else {
            self.say(
                ReplyCode::DataConnectionOpenNoTransfer,
                "No transfer to ABOR.",
            )
            .await?;
            return Ok(());
        };
        if handle.is_finished() {
            let _ = handle.await;
            self.say(
                ReplyCode::DataConnectionOpenNoTransfer,
                "No transfer to ABOR.",
            )
            .await?;
            return Ok(());
        }
        reason.set(DataEnd::Aborted);
        handle.abort();
        let _ = handle.await;
        self.say(
            ReplyCode::ConnectionClosedTransferAborted,
            "Connection closed; transfer aborted.",
        )
        .await?;
        self.say(ReplyCode::ClosingDataConnection, "ABOR successful.")
            .await?;
        Ok(())
    }

    async fn handle_line(&mut self, line: Line) -> io::Result<Flow> {
        let max = self.shared.cfg.max_line;
        let text = match line {
            Line::Text(t) => t,
            Line::TooLong => {
                self.log(EventKind::Command {
                    line: "<too long>".into(),
                });
                return self
                    .say(
                        ReplyCode::SyntaxError,
                        format!("Command line too long (limit {max} bytes)."),
                    )
                    .await;
            }
            Line::BadUtf8(t) => {
                self.log(EventKind::Command { line: t });
                return self
                    .say(ReplyCode::SyntaxError, "Command line is not valid UTF-8.")
                    .await;
            }
            Line::TlsHandshake => {
                let message = if self.tls.control {
                    "a second TLS handshake inside TLS".to_owned()
                } else if self.shared.cfg.tls.is_some() {
                    "a TLS handshake on a plaintext control connection: send AUTH TLS first, or use implicit FTPS".to_owned()
                } else {
                    "a TLS handshake, but this server does not speak FTPS".to_owned()
                };
                self.log(EventKind::Command {
                    line: "<TLS ClientHello>".into(),
                });
                self.log(EventKind::Warning {
                    message: format!("received {message}; closing"),
                });
                self.say(ReplyCode::SyntaxError, format!("Received {message}."))
                    .await?;
                return Ok(Flow::Close(ControlEnd::Error(message)));
            }
            Line::BareCr(t) => {
                self.log(EventKind::Command { line: t });
                return self
                    .say(
                        ReplyCode::SyntaxError,
                        "Bare CR in command line; end lines with CRLF.",
                    )
                    .await;
            }
        };
        self.log(EventKind::Command { line: text.clone() });
        let (verb, arg) = parser::split_verb(&text);
        let Some((name, responder)) = self.shared.match_mock(verb, arg) else {
            return self.dispatch(&text).await;
        };
        self.log(EventKind::ScriptMatched { mock: name.clone() });
        if let Some(delay) = responder.delay {
            tokio::time::sleep(delay).await;
        }
        let flow = match responder.action {
            Action::Reply(reply) => {
                self.reply(reply).await?;
                Flow::Continue
            }
            Action::Raw(text) => {
                self.out.lock().await.send_raw(&text).await?;
                Flow::Continue
            }
            Action::Close => Flow::Close(ControlEnd::Script),
            Action::Proceed => self.dispatch(&text).await?,
            Action::Passive(template) => match Verb::from_name(verb) {
                Some(v @ (Verb::Pasv | Verb::Epsv)) if self.logged_in => {
                    self.passive(v, arg, Some(&template)).await?
                }
                Some(Verb::Pasv | Verb::Epsv) => self.dispatch(&text).await?,
                _ => self.script_misfit(&name, "passive_reply", verb).await?,
            },
            Action::Transfer(script) => match Verb::from_name(verb) {
                Some(
                    Verb::Retr | Verb::Stor | Verb::Appe | Verb::List | Verb::Nlst | Verb::Mlsd,
                ) => {
                    self.transfer_script = Some(script);
                    self.dispatch(&text).await?
                }
                _ => self.script_misfit(&name, "transfer", verb).await?,
            },
        };
        if responder.then_close {
            return Ok(Flow::Close(ControlEnd::Script));
        }
        Ok(flow)
    }

    async fn script_misfit(&self, mock: &str, what: &str, verb: &str) -> io::Result<Flow> {
        let message = format!(
            "script error: mock {mock} uses a {what} responder on {verb}, which it does not fit"
        );
        self.log(EventKind::Warning {
            message: message.clone(),
        });
        self.say(ReplyCode::LocalError, message).await
    }

    async fn dispatch(&mut self, text: &str) -> io::Result<Flow> {
        let cmd = match parser::parse(text) {
            Ok(cmd) => cmd,
            Err(e) => {
                let code = match e {
                    ParseError::Empty => ReplyCode::SyntaxError,
                    ParseError::Unknown(_) => ReplyCode::CommandNotImplemented,
                    ParseError::MissingArgument(_) | ParseError::UnexpectedArgument(_) => {
                        ReplyCode::ParameterSyntaxError
                    }
                };
                let mut message = e.to_string();
                message[..1].make_ascii_uppercase();
                return self.say(code, format!("{message}.")).await;
            }
        };
        if cmd.verb.needs_login() && !self.logged_in {
            return self
                .say(
                    ReplyCode::NotLoggedIn,
                    "Please log in with USER and PASS first.",
                )
                .await;
        }
        if matches!(cmd.verb, Verb::User | Verb::Pass) && self.must_secure_login() {
            return self
                .say(
                    ReplyCode::NotLoggedIn,
                    "Non-anonymous sessions must use encryption: send AUTH TLS first.",
                )
                .await;
        }
        let arg = cmd.arg.as_str();
        match cmd.verb {
            Verb::User => self.user(arg).await,
            Verb::Pass => self.pass(arg).await,
            Verb::Acct => self.acct().await,
            Verb::Syst => self.say(ReplyCode::SystemType, "UNIX Type: L8").await,
            Verb::Feat => self.feat().await,
            Verb::Opts => self.opts(arg).await,
            Verb::Help => self.help(arg).await,
            Verb::Noop => self.say(ReplyCode::CommandOkay, "NOOP ok.").await,
            Verb::Allo => {
                self.say(
                    ReplyCode::CommandNotImplementedSuperfluous,
                    "ALLO command ignored.",
                )
                .await
            }
            Verb::Quit => {
                self.say(ReplyCode::ClosingControl, "Goodbye.").await?;
                Ok(Flow::Close(ControlEnd::Quit))
            }
            Verb::Pwd | Verb::Xpwd => self.pwd().await,
            Verb::Cwd | Verb::Xcwd => self.cwd(arg).await,
            Verb::Cdup | Verb::Xcup => self.cdup().await,
            Verb::Type => self.type_(arg).await,
            Verb::Mode => self.mode(arg).await,
            Verb::Stru => self.stru(arg).await,
            Verb::Rest => self.rest(arg).await,
            Verb::Pasv | Verb::Epsv => self.passive(cmd.verb, arg, None).await,
            Verb::Port | Verb::Eprt => self.active(cmd.verb, arg).await,
            Verb::Retr => self.retr(arg).await,
            Verb::Stor => self.stor(arg, false).await,
            Verb::Appe => self.stor(arg, true).await,
            Verb::List | Verb::Nlst | Verb::Mlsd => self.list(cmd.verb, arg).await,
            Verb::Mlst => self.mlst(arg).await,
            Verb::Size => self.size(arg).await,
            Verb::Mdtm => self.mdtm(arg).await,
            Verb::Abor => self.abort_transfer().await.map(|()| Flow::Continue),
            Verb::Dele => self.dele(arg).await,
            Verb::Mkd | Verb::Xmkd => self.mkd(arg).await,
            Verb::Rmd | Verb::Xrmd => self.rmd(arg).await,
            Verb::Rnfr => self.rnfr(arg).await,
            Verb::Rnto => self.rnto(arg).await,
            Verb::Auth => self.auth(arg).await,
            Verb::Pbsz => self.pbsz(arg).await,
            Verb::Prot => self.prot(arg).await,
            Verb::Ccc => self.ccc().await,
        }
    }
}
