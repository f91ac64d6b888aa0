//! FTPS: AUTH, PBSZ, PROT (RFC 2228 §3, RFC 4217 §§4-9) and CCC (RFC 2228 §3, RFC 4217 §6),
//! plus the switches of the control connection into and out of TLS.

use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::either::Either;

use crate::control::codec::LineReader;
use crate::control::reply::ReplyCode;
use crate::events::{Channel, ControlEnd, EventKind};
use crate::session::{ControlIo, Flow, Session};
use crate::tls::{is_tls_record_start, RecordReader};

/// How long CCC waits for the client to close TLS first before the server does.
const CCC_CLIENT_FIRST: std::time::Duration = std::time::Duration::from_millis(500);

/// How long CCC waits for the client's close_notify when the client already sent its next
/// command (pipelined) and may be waiting for the reply.
const CCC_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// What CCC does when the client has sent nothing for a while.
enum Quiet {
    /// Send the server's close_notify first.
    SendOurs,
    /// Take it that the client went on in plaintext without close_notify.
    Plaintext,
    /// Give up: the idle timeout.
    Idle,
}

impl Session {
    /// Whether USER/PASS must be refused until the control connection is under TLS.
    pub(crate) fn must_secure_login(&self) -> bool {
        !self.tls.control
            && self
                .shared
                .cfg
                .tls
                .as_ref()
                .is_some_and(|t| t.settings.require_control)
    }

    /// Takes the control connection out of its reader and writer (to switch it to or from
    /// TLS), with the bytes read but not yet handled as commands.
    async fn take_stream(&mut self) -> Option<(ControlIo, BytesMut)> {
        let reader = self.reader.take()?;
        let writer = self.out.lock().await.w.take()?;
        let (read_half, buffered) = reader.into_parts();
        Some((read_half.unsplit(writer), buffered))
    }

    /// Puts a (switched) control connection back into service.
    pub(crate) async fn put_stream(&mut self, io: ControlIo, buffered: BytesMut) {
        let (r, w) = tokio::io::split(io);
        self.reader = Some(LineReader::with_buffer(
            r,
            self.shared.cfg.max_line,
            buffered,
        ));
        self.out.lock().await.w = Some(w);
    }

    /// The server side of the control connection's TLS handshake (after AUTH, or at once for
    /// implicit FTPS). On failure the connection cannot go on: its state is unknown.
    pub(crate) async fn start_tls(&mut self, tcp: TcpStream) -> Result<(), ControlEnd> {
        let Some(setup) = self.shared.cfg.tls.as_ref() else {
            return Err(ControlEnd::Error("FTPS is not configured".into()));
        };
        let config = match &self.tls.configs {
            Some(c) => c.control.clone(),
            None => match setup.session_configs() {
                Ok(c) => self.tls.configs.insert(c).control.clone(),
                Err(e) => {
                    let error = format!("cannot set up TLS for this connection: {e}");
                    self.log(EventKind::Warning {
                        message: error.clone(),
                    });
                    return Err(ControlEnd::Error(error));
                }
            },
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let timeout = self.shared.cfg.data_timeout;
        let error =
            match tokio::time::timeout(timeout, acceptor.accept(RecordReader::new(tcp))).await {
                Ok(Ok(stream)) => {
                    let tls = crate::tls::describe(stream.get_ref().1);
                    self.log(EventKind::TlsEstablished {
                        channel: Channel::Control,
                        peer: self.peer,
                        tls,
                    });
                    self.tls.control = true;
                    self.tls.pbsz = false;
                    self.tls.protect_data = false;
                    self.put_stream(Either::Right(Box::new(stream)), BytesMut::new())
                        .await;
                    return Ok(());
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no TLS handshake within {timeout:?}"),
            };
        self.log(EventKind::TlsFailed {
            channel: Channel::Control,
            peer: self.peer,
            error: error.clone(),
        });
        Err(ControlEnd::Error(format!("TLS handshake failed: {error}")))
    }

    pub(crate) async fn auth(&mut self, arg: &str) -> io::Result<Flow> {
        if self.shared.cfg.tls.is_none() {
            return self
                .say(
                    ReplyCode::CommandNotImplemented,
                    "AUTH not available: this server is not configured for FTPS.",
                )
                .await;
        }
        if self.tls.control {
            return self
                .say(
                    ReplyCode::BadSequence,
                    "The control connection is already under TLS.",
                )
                .await;
        }
        let mechanism = arg.trim().to_ascii_uppercase();
        if !matches!(mechanism.as_str(), "TLS" | "TLS-C" | "SSL" | "TLS-P") {
            return self
                .say(
                    ReplyCode::ParameterNotImplemented,
                    format!("AUTH {} not supported; use AUTH TLS.", arg.trim()),
                )
                .await;
        }
        self.say(
            ReplyCode::SecurityExchangeStarts,
            format!("AUTH {mechanism} ok; start the TLS handshake."),
        )
        .await?;
        let Some((io, buffered)) = self.take_stream().await else {
            return Ok(Flow::Close(ControlEnd::Error(
                "control connection lost during AUTH".into(),
            )));
        };
        if !buffered.is_empty() {
            // Plaintext sent after AUTH but before the handshake would otherwise be taken as
            // commands of the protected session (the STARTTLS command-injection class).
            self.log(EventKind::Warning {
                message: format!(
                    "discarded {} bytes the client sent after AUTH before the TLS handshake",
                    buffered.len()
                ),
            });
        }
        let Either::Left(tcp) = io else {
            self.put_stream(io, BytesMut::new()).await;
            return self
                .say(
                    ReplyCode::BadSequence,
                    "The control connection is already under TLS.",
                )
                .await;
        };
        // RFC 2228 §3: after AUTH the user logs in again, under the new protection.
        self.user = None;
        self.logged_in = false;
        match self.start_tls(tcp).await {
            Ok(()) => Ok(Flow::Continue),
            Err(end) => Ok(Flow::Close(end)),
        }
    }

    pub(crate) async fn pbsz(&mut self, arg: &str) -> io::Result<Flow> {
        if !self.tls.control {
            return self
                .say(
                    ReplyCode::BadSequence,
                    "PBSZ needs a TLS-protected control connection: send AUTH TLS first.",
                )
                .await;
        }
        if arg.trim().parse::<u64>().is_err() {
            return self
                .say(
                    ReplyCode::ParameterSyntaxError,
                    "PBSZ takes a decimal number (0 for TLS).",
                )
                .await;
        }
        self.tls.pbsz = true;
        // RFC 4217 §8: for TLS the buffer size is always 0.
        self.say(ReplyCode::CommandOkay, "PBSZ=0").await
    }

    pub(crate) async fn prot(&mut self, arg: &str) -> io::Result<Flow> {
        if !self.tls.control {
            return self
                .say(
                    ReplyCode::BadSequence,
                    "PROT needs a TLS-protected control connection: send AUTH TLS first.",
                )
                .await;
        }
        if !self.tls.pbsz {
            return self
                .say(
                    ReplyCode::BadSequence,
                    "PROT needs PBSZ first (RFC 4217 §8): send PBSZ 0.",
                )
                .await;
        }
        match arg.trim().to_ascii_uppercase().as_str() {
            "C" => {
                self.tls.protect_data = false;
                self.say(ReplyCode::CommandOkay, "Protection level set to Clear.")
                    .await
            }
            "P" => {
                self.tls.protect_data = true;
                self.say(ReplyCode::CommandOkay, "Protection level set to Private.")
                    .await
            }
            "S" | "E" => {
                self.say(
                    ReplyCode::ProtLevelNotSupported,
                    format!("PROT {} not supported with TLS: use C or P.", arg.trim()),
                )
                .await
            }
            _ => {
                self.say(
                    ReplyCode::ParameterNotImplemented,
                    format!("Unknown protection level {:?}: use C or P.", arg.trim()),
                )
                .await
            }
        }
    }

    /// CCC: replies 200 under TLS, sends close_notify, reads the client's close_notify (or
    /// sees it went straight to plaintext), and continues in plaintext. Data protection stays
    /// as negotiated. Commands the client sent under TLS before the switch are kept.
    pub(crate) async fn ccc(&mut self) -> io::Result<Flow> {
        if !self.tls.control {
            return self
                .say(
                    ReplyCode::CommandProtectionDenied,
                    "CCC needs a TLS-protected control connection.",
                )
                .await;
        }
        let allowed = self
            .shared
            .cfg
            .tls
            .as_ref()
            .is_some_and(|t| t.settings.allow_ccc);
        if !allowed {
            return self
                .say(
                    ReplyCode::DeniedForPolicy,
                    "CCC refused: this server keeps the control connection under TLS.",
                )
                .await;
        }
        self.say(
            ReplyCode::CommandOkay,
            "CCC ok: the control connection continues in plaintext.",
        )
        .await?;
        let Some((io, mut buffered)) = self.take_stream().await else {
            return Ok(Flow::Close(ControlEnd::Error(
                "control connection lost during CCC".into(),
            )));
        };
        let mut tls = match io {
            Either::Right(tls) => tls,
            plain @ Either::Left(_) => {
                self.put_stream(plain, buffered).await;
                return Ok(Flow::Continue);
            }
        };
        // Who closes TLS first differs between clients: lftp (GnuTLS), ftplib and curl's
        // active CCC mode send close_notify and then read the server's, and lftp takes a
        // close_notify that arrives before it sent its own for the server hanging up; curl's
        // passive mode waits for the server's. So the server waits a moment for the client's
        // close_notify and answers it, and otherwise sends its own first. A client that goes
        // straight on in plaintext gets none (its next reply would start with TLS bytes).
        let mut sent_ours = false;
        let client_close_notify = loop {
            let (limit, on_timeout) = if !sent_ours {
                (CCC_CLIENT_FIRST, Quiet::SendOurs)
            } else if buffered.contains(&b'\n') {
                // A pipelined command may be waiting for its reply: do not wait long.
                (CCC_GRACE, Quiet::Plaintext)
            } else {
                (self.shared.cfg.idle_timeout, Quiet::Idle)
            };
            if tls.get_ref().0.at_record_boundary() {
                let mut first = [0u8; 1];
                match tokio::time::timeout(limit, tls.get_ref().0.get_ref().peek(&mut first)).await
                {
                    Err(_) => match on_timeout {
                        Quiet::SendOurs => {
                            tls.get_mut().1.send_close_notify();
                            tls.flush().await?;
                            sent_ours = true;
                            continue;
                        }
                        Quiet::Plaintext => break false,
                        Quiet::Idle => return Ok(Flow::Close(ControlEnd::IdleTimeout)),
                    },
                    Ok(Err(e)) => return Err(e),
                    Ok(Ok(0)) => return Ok(Flow::Close(ControlEnd::ClientClosed)),
                    Ok(Ok(_)) if !is_tls_record_start(first[0]) => break false,
                    Ok(Ok(_)) => {}
                }
            }
            let mut chunk = [0u8; 1024];
            match tokio::time::timeout(self.shared.cfg.idle_timeout, tls.read(&mut chunk)).await {
                Err(_) => return Ok(Flow::Close(ControlEnd::IdleTimeout)),
                Ok(Ok(0)) => break true,
                Ok(Ok(n)) => buffered.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => {
                    return Ok(Flow::Close(ControlEnd::Error(format!(
                        "TLS error while clearing the control connection (CCC): {e}"
                    ))))
                }
            }
        };
        if client_close_notify && !sent_ours {
            tls.get_mut().1.send_close_notify();
            tls.flush().await?;
        }
        let (records, _) = (*tls).into_inner();
        self.tls.control = false;
        self.log(EventKind::ControlCleared {
            client_close_notify,
        });
        self.put_stream(Either::Left(records.into_inner()), buffered)
            .await;
        Ok(Flow::Continue)
    }
}
