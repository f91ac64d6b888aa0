//! One control connection: reads lines, runs scripts, dispatches commands, and keeps reading
//! while a transfer runs (so ABOR works and other commands queue, RFC 959 §4.1.3).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::either::Either;

use crate::control::codec::Line;
use crate::control::conn::ControlConn;
use crate::control::parser::{self, ParseError, Verb};
use crate::control::reply::{Reply, ReplyCode};
use crate::datachan::{CancelReason, DataPlan, TransferEnd};
use crate::events::{Channel, ControlEnd, DataEnd, EventKind};
use crate::script::{Action, TransferScript};
use crate::state::Shared;
use crate::tls::FtpsMode;
use crate::vfs::resolve;

/// Commands kept while a transfer runs; past this the server stops reading until it ends.
const MAX_QUEUED: usize = 64;

/// What a handler tells the loop.
pub(crate) enum Flow {
    /// Read the next command.
    Continue,
    /// Close the control connection, for this reason.
    Close(ControlEnd),
}

/// One control connection's state. Command handlers are `impl Session` blocks in
/// [`crate::commands`], one file per command family.
pub(crate) struct Session {
    /// This session's id in the event log (from 1).
    pub(crate) id: u64,
    /// The server's shared state: configuration, log, mocks, file tree.
    pub(crate) shared: Arc<Shared>,
    /// The control connection: line reader, shared reply writer, TLS switches.
    pub(crate) conn: ControlConn,
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// The server's address on this connection (what EPSV and `Advertise::ControlAddress`
    /// use).
    pub(crate) local: SocketAddr,
    /// The name given by USER, until PASS.
    pub(crate) user: Option<String>,
    /// USER and PASS succeeded (reset by AUTH).
    pub(crate) logged_in: bool,
    /// The working directory, absolute.
    pub(crate) cwd: String,
    /// TYPE A (true) or TYPE I.
    pub(crate) ascii: bool,
    /// The REST offset for the next transfer (0: none).
    pub(crate) rest: u64,
    /// The path named by RNFR, for RNTO.
    pub(crate) rename_from: Option<String>,
    /// How the next data connection is made (PASV/EPSV/PORT/EPRT); taken by a transfer.
    pub(crate) data: Option<DataPlan>,
    /// EPSV ALL was sent: PASV, PORT and EPRT are refused from now on (RFC 2428 §4).
    pub(crate) epsv_all: bool,
    /// A scripted behaviour for the next transfer, set by a matching mock.
    pub(crate) transfer_script: Option<TransferScript>,
    /// The running transfer task and how to tell it why it is cancelled.
    pub(crate) transfer: Option<(JoinHandle<TransferEnd>, CancelReason)>,
    /// FTPS state: TLS on the control connection, PBSZ, PROT.
    pub(crate) tls: TlsState,
    /// Lines read while a transfer runs, handled after it ends (at most `MAX_QUEUED`).
    queued: VecDeque<Line>,
    /// The transfer command whose final reply is still to come, and the count of completion
    /// replies written when it started: a line that arrives before that reply is logged as
    /// an [`EventKind::EarlyCommand`] (unless one was logged for the command already).
    awaiting_final: Option<(String, u64)>,
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
    let mut session = Session {
        id,
        conn: ControlConn::new(shared.clone(), id),
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
        awaiting_final: None,
        shared: shared.clone(),
    };
    // A pre-authenticated server (CVE-2021-22946's trigger) greets with 230.
    session.logged_in = shared.cfg.preauth;
    let implicit = shared
        .cfg
        .tls
        .as_ref()
        .is_some_and(|t| t.settings.mode == FtpsMode::Implicit);
    let started = if implicit {
        session.start_tls(stream).await
    } else {
        session
            .conn
            .put_stream(Either::Left(stream), BytesMut::new())
            .await;
        Ok(())
    };
    let greeting_code = if shared.cfg.preauth {
        ReplyCode::LoggedIn
    } else {
        ReplyCode::ServiceReady
    };
    let greeting = Reply::new(greeting_code, shared.cfg.greeting.clone());
    let end = match started {
        Err(end) => end,
        Ok(()) => match session.greet(greeting).await {
            Ok(Flow::Continue) => session.serve().await,
            Ok(Flow::Close(end)) => end,
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
        session.conn.shutdown().await;
    }
    shared.log(id, EventKind::Disconnected { end });
}

impl Session {
    /// The greeting (RFC 959 §5.4), or what a mock of the connection's opening
    /// ([`crate::script::greeting`]) does instead: another reply (421 and close, as a full
    /// server does), raw bytes, no greeting at all, or the normal one after a delay.
    async fn greet(&mut self, normal: Reply) -> io::Result<Flow> {
        let Some((name, responder)) = self.shared.match_greeting() else {
            self.reply(normal).await?;
            return Ok(Flow::Continue);
        };
        self.log(EventKind::ScriptMatched { mock: name });
        if let Some(delay) = responder.delay {
            tokio::time::sleep(delay).await;
        }
        if !responder.shape.is_empty() {
            self.conn.set_shape(responder.shape.clone()).await;
        }
        let flow = match responder.action {
            Action::Reply(reply) => self.reply(reply).await.map(|()| Flow::Continue),
            Action::Raw(text) => self.conn.send_raw(&text).await.map(|()| Flow::Continue),
            Action::Close => Ok(Flow::Close(ControlEnd::Script)),
            // `build()` refuses passive and transfer responders on the greeting.
            Action::Proceed | Action::Passive(_) | Action::Transfer(_) => {
                self.reply(normal).await.map(|()| Flow::Continue)
            }
        };
        self.conn.clear_shape().await;
        match flow? {
            Flow::Continue if responder.then_close => Ok(Flow::Close(ControlEnd::Script)),
            flow => Ok(flow),
        }
    }

    pub(crate) async fn reply(&self, reply: Reply) -> io::Result<()> {
        self.conn.send(&reply).await
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

    /// A path argument, resolved against the working directory.
    pub(crate) fn path(&self, arg: &str) -> String {
        resolve(&self.cwd, arg)
    }

    /// The server side of the control connection's TLS handshake (after AUTH, or at once for
    /// implicit FTPS). On failure the connection cannot go on: its state is unknown.
    pub(crate) async fn start_tls(&mut self, tcp: TcpStream) -> Result<(), ControlEnd> {
        let Some(setup) = self.shared.cfg.tls.as_ref() else {
            return Err(ControlEnd::Error("FTPS is not configured".into()));
        };
        let configs = match &self.tls.configs {
            Some(c) => c.clone(),
            None => match setup.session_configs() {
                Ok(c) => self.tls.configs.insert(c).clone(),
                Err(e) => {
                    let error = format!("cannot set up TLS for this connection: {e}");
                    self.log(EventKind::Warning {
                        message: error.clone(),
                    });
                    return Err(ControlEnd::Error(error));
                }
            },
        };
        let timeout = self.shared.cfg.data_timeout;
        match self.conn.accept_tls(tcp, &configs, timeout).await {
            Ok(tls) => {
                self.log(EventKind::TlsEstablished {
                    channel: Channel::Control,
                    peer: self.peer,
                    tls,
                });
                self.tls.control = true;
                self.tls.pbsz = false;
                self.tls.protect_data = false;
                Ok(())
            }
            Err(error) => {
                self.log(EventKind::TlsFailed {
                    channel: Channel::Control,
                    peer: self.peer,
                    error: error.clone(),
                });
                Err(ControlEnd::Error(format!("TLS handshake failed: {error}")))
            }
        }
    }

    async fn serve(&mut self) -> ControlEnd {
        loop {
            if let Some((handle, _)) = self.transfer.as_mut() {
                tokio::select! {
                    biased;
                    result = handle => {
                        self.transfer = None;
                        self.awaiting_final = None;
                        self.conn.clear_shape().await;
                        if let Ok(TransferEnd::CloseControl) = result {
                            return ControlEnd::Script;
                        }
                    }
                    // A full queue stops reading: TCP backpressure, not memory, absorbs a flood.
                    line = self.conn.read_line(), if self.queued.len() < MAX_QUEUED => {
                        if let Ok(Some(line)) = &line {
                            self.note_before_final(line).await;
                        }
                        match line {
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
                }
                continue;
            }
            let line = match self.queued.pop_front() {
                Some(line) => line,
                None => {
                    match tokio::time::timeout(self.shared.cfg.idle_timeout, self.conn.read_line())
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
                    }
                }
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

    /// A line `line` arrived while a transfer runs: if its final reply has not been written
    /// yet, the client sent it early.
    async fn note_before_final(&mut self, line: &Line) {
        let Some((answering, finals)) = self.awaiting_final.take() else {
            return;
        };
        if self.conn.finals().await == finals {
            self.log(EventKind::EarlyCommand {
                answering,
                line: line.shown(),
            });
        }
    }

    /// Before the reply to `answering`: whether the client already sent its next line
    /// (queued, buffered, or readable without waiting), logged as an
    /// [`EventKind::EarlyCommand`]. Nothing is read from the socket for AUTH and CCC, after
    /// which the stream changes hands. True if one was logged.
    fn note_early_command(&mut self, answering: &str) -> bool {
        let verb = parser::split_verb(answering).0;
        let read = !["AUTH", "CCC"].iter().any(|v| v.eq_ignore_ascii_case(verb));
        let next = match self.queued.front() {
            Some(line) => Some(line.shown()),
            None => self.conn.peek_ready_line(read),
        };
        let Some(line) = next else {
            return false;
        };
        self.log(EventKind::EarlyCommand {
            answering: answering.to_owned(),
            line,
        });
        true
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
        self.awaiting_final = None;
        self.conn.clear_shape().await;
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
        // Counted before the handling: a short transfer's task may write its final reply
        // before the handling returns.
        let before = (self.transfer.is_some(), self.conn.finals().await);
        let Some((name, responder)) = self.shared.match_mock(verb, arg) else {
            let early = self.note_early_command(&text);
            let flow = self.dispatch(&text).await?;
            self.after_command(&text, early, before).await;
            return Ok(flow);
        };
        self.log(EventKind::ScriptMatched { mock: name.clone() });
        if let Some(delay) = responder.delay {
            tokio::time::sleep(delay).await;
        }
        let early = responder.action != Action::Close && self.note_early_command(&text);
        if !responder.shape.is_empty() {
            self.conn.set_shape(responder.shape.clone()).await;
        }
        let flow = self.run_responder(&text, &name, responder.action).await;
        self.after_command(&text, early, before).await;
        if responder.then_close {
            return Ok(Flow::Close(ControlEnd::Script));
        }
        flow
    }

    /// After a command's handling: a shape its reply did not use is dropped, unless a
    /// transfer task started (its first reply uses it); a started transfer's final reply is
    /// awaited for [`Session::note_before_final`]. `before`: whether a transfer ran, and the
    /// count of completion replies, before the handling.
    async fn after_command(&mut self, text: &str, early: bool, before: (bool, u64)) {
        let (transfer_before, finals) = before;
        if self.transfer.is_none() || transfer_before {
            self.conn.clear_shape().await;
            return;
        }
        if !early {
            self.awaiting_final = Some((text.to_owned(), finals));
        }
    }

    /// What a matched mock's action does.
    async fn run_responder(&mut self, text: &str, name: &str, action: Action) -> io::Result<Flow> {
        let (verb, arg) = parser::split_verb(text);
        let flow = match action {
            Action::Reply(reply) => {
                self.reply(reply).await?;
                Flow::Continue
            }
            Action::Raw(text) => {
                self.conn.send_raw(&text).await?;
                Flow::Continue
            }
            Action::Close => Flow::Close(ControlEnd::Script),
            Action::Proceed => self.dispatch(text).await?,
            Action::Passive(template) => match Verb::from_name(verb) {
                Some(v @ (Verb::Pasv | Verb::Epsv)) if self.logged_in => {
                    self.passive(v, arg, Some(&template)).await?
                }
                Some(Verb::Pasv | Verb::Epsv) => self.dispatch(text).await?,
                _ => self.script_misfit(name, "passive_reply", verb).await?,
            },
            Action::Transfer(script) => match Verb::from_name(verb) {
                Some(
                    Verb::Retr | Verb::Stor | Verb::Appe | Verb::List | Verb::Nlst | Verb::Mlsd,
                ) => {
                    self.transfer_script = Some(script);
                    self.dispatch(text).await?
                }
                _ => self.script_misfit(name, "transfer", verb).await?,
            },
        };
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
