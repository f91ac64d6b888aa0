//! FTPS: AUTH, PBSZ, PROT (RFC 2228 §3, RFC 4217 §§4-9) and CCC (RFC 2228 §3, RFC 4217 §6).
//! The switches of the stream into and out of TLS are in [`crate::control::conn`].

use std::io;

use bytes::BytesMut;
use tokio_util::either::Either;

use crate::control::conn::clear_tls;
use crate::control::reply::ReplyCode;
use crate::events::{ControlEnd, EventKind};
use crate::session::{Flow, Session};

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
        let Some((io, buffered)) = self.conn.take_stream().await else {
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
            self.conn.put_stream(io, BytesMut::new()).await;
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
        let Some((io, mut buffered)) = self.conn.take_stream().await else {
            return Ok(Flow::Close(ControlEnd::Error(
                "control connection lost during CCC".into(),
            )));
        };
        let mut tls = match io {
            Either::Right(tls) => tls,
            plain @ Either::Left(_) => {
                self.conn.put_stream(plain, buffered).await;
                return Ok(Flow::Continue);
            }
        };
        let idle = self.shared.cfg.idle_timeout;
        let client_close_notify = match clear_tls(&mut tls, &mut buffered, idle).await? {
            Ok(notified) => notified,
            Err(end) => return Ok(Flow::Close(end)),
        };
        let (records, _) = (*tls).into_inner();
        self.tls.control = false;
        self.log(EventKind::ControlCleared {
            client_close_notify,
        });
        self.conn
            .put_stream(Either::Left(records.into_inner()), buffered)
            .await;
        Ok(Flow::Continue)
    }
}
