//! Data connection setup: PASV and PORT (RFC 959 §4.1.2, RFC 1123 §4.1.2.6), EPSV and EPRT
//! (RFC 2428 §2, §3), with bounce protection (RFC 2577 §3).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::config::Advertise;
use crate::control::parser::Verb;
use crate::control::reply::{LineEnding, Reply, ReplyCode};
use crate::datachan::{open_listener, DataPlan};
use crate::events::EventKind;
use crate::safety;
use crate::script::render_template;
use crate::session::{Flow, Session};
use crate::wire::{self, WireError};

fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The 227 or 229 reply for a passive listener on `port`, advertising `ip`: the normal one, or
/// the scripted `template` filled in (on IPv6, `{h1}`..`{h4}` are `0`). PASV on IPv6 without
/// a template never gets here (it is refused first).
fn passive_text(
    verb: Verb,
    template: Option<&str>,
    ip: IpAddr,
    port: u16,
    eol: LineEnding,
) -> String {
    match (verb, template, ip) {
        (_, Some(t), IpAddr::V4(v4)) => render_template(t, v4, port),
        (_, Some(t), IpAddr::V6(_)) => render_template(t, Ipv4Addr::UNSPECIFIED, port),
        (Verb::Epsv, None, _) => Reply::new(
            ReplyCode::EnteringExtendedPassiveMode,
            format!("Entering Extended Passive Mode {}", wire::format_229(port)),
        )
        .encode_with(eol),
        (_, None, IpAddr::V4(v4)) => Reply::new(
            ReplyCode::EnteringPassiveMode,
            format!(
                "Entering Passive Mode ({}).",
                wire::format_host_port(std::net::SocketAddrV4::new(v4, port))
            ),
        )
        .encode_with(eol),
        (_, None, IpAddr::V6(_)) => unreachable!("PASV on IPv6 was refused above"),
    }
}

impl Session {
    /// The reply that ends a PASV or EPSV before any listener is opened: EPSV off, EPSV ALL
    /// (which is accepted), a bad or foreign network protocol, PASV after EPSV ALL, or PASV
    /// on IPv6 (unless a script gives its reply: `scripted`).
    fn passive_early_reply(
        &mut self,
        verb: Verb,
        arg: &str,
        scripted: bool,
    ) -> Option<(ReplyCode, String)> {
        let control_is_v6 = canonical(self.local.ip()).is_ipv6();
        if verb != Verb::Epsv {
            if self.epsv_all {
                return Some((
                    ReplyCode::BadSequence,
                    "EPSV ALL in effect: only EPSV is accepted.".into(),
                ));
            }
            // A scripted 227 wins: the listener opens on the control connection's IPv6
            // address behind whatever address the template names (e.g. 0,0,0,0).
            if control_is_v6 && !scripted {
                return Some((
                    ReplyCode::CantOpenDataConnection,
                    "PASV works on IPv4 only; use EPSV on IPv6 (RFC 2428).".into(),
                ));
            }
            return None;
        }
        if !self.shared.cfg.epsv {
            return Some((
                ReplyCode::CommandNotImplemented,
                "EPSV not implemented (disabled on this server).".into(),
            ));
        }
        match arg.trim().to_ascii_uppercase().as_str() {
            "" => None,
            "ALL" => {
                self.epsv_all = true;
                Some((
                    ReplyCode::CommandOkay,
                    "EPSV ALL ok: only EPSV from now on.".into(),
                ))
            }
            "1" if !control_is_v6 => None,
            "2" if control_is_v6 => None,
            "1" | "2" => {
                let family = if control_is_v6 { "(2)" } else { "(1)" };
                Some((
                    ReplyCode::ProtocolNotSupported,
                    format!("Network protocol not supported, use {family}"),
                ))
            }
            _ => Some((
                ReplyCode::ParameterSyntaxError,
                format!("EPSV takes 1, 2 or ALL, got {arg:?}."),
            )),
        }
    }

    /// PASV and EPSV; `template` replaces the reply text (scripted malformed replies).
    pub(crate) async fn passive(
        &mut self,
        verb: Verb,
        arg: &str,
        template: Option<&str>,
    ) -> io::Result<Flow> {
        if let Some((code, text)) = self.passive_early_reply(verb, arg, template.is_some()) {
            return self.say(code, text).await;
        }
        self.data = None;
        let listener = match open_listener(&self.shared, self.local.ip()).await {
            Ok(l) => l,
            Err(e) => {
                self.log(EventKind::Warning {
                    message: format!("cannot open passive listener: {e}"),
                });
                return self
                    .say(
                        ReplyCode::CantOpenDataConnection,
                        format!("Cannot open passive connection: {e}."),
                    )
                    .await;
            }
        };
        let local = listener.local_addr()?;
        let advertised_ip = match (verb, self.shared.cfg.advertise) {
            (Verb::Epsv, _) => self.local.ip(),
            (_, Advertise::Ip(ip)) => IpAddr::V4(ip),
            (_, Advertise::Own) if !self.shared.cfg.bind.ip().is_unspecified() => {
                self.shared.cfg.bind.ip()
            }
            (_, Advertise::Own | Advertise::ControlAddress) => self.local.ip(),
        };
        let advertised_ip = match canonical(advertised_ip) {
            // PASV on IPv6 (scripted): the template's `{h1}`..`{h4}` are 0.0.0.0.
            IpAddr::V6(_) if verb == Verb::Pasv => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ip => ip,
        };
        if !self.shared.cfg.in_netns && !safety::host_safe(advertised_ip) {
            let message = format!(
                "refusing to advertise {advertised_ip}: outside an ftpspec network namespace only loopback addresses are allowed"
            );
            self.log(EventKind::Warning {
                message: message.clone(),
            });
            return self.say(ReplyCode::CantOpenDataConnection, message).await;
        }
        let advertised = SocketAddr::new(advertised_ip, local.port());
        let eol = self.shared.cfg.line_ending;
        let text = passive_text(verb, template, advertised_ip, local.port(), eol);
        self.log(EventKind::PassiveListening { local, advertised });
        self.data = Some(DataPlan::Passive { listener, local });
        let text = if text.ends_with('\n') {
            text
        } else {
            format!("{text}{}", eol.as_str())
        };
        self.conn.send_raw(&text).await?;
        Ok(Flow::Continue)
    }

    /// PORT and EPRT.
    pub(crate) async fn active(&mut self, verb: Verb, arg: &str) -> io::Result<Flow> {
        if self.epsv_all {
            return self
                .say(
                    ReplyCode::BadSequence,
                    "EPSV ALL in effect: only EPSV is accepted.",
                )
                .await;
        }
        let parsed = match verb {
            Verb::Port => wire::parse_host_port(arg.trim()).map(SocketAddr::V4),
            _ => wire::parse_eprt(arg.trim()),
        };
        let target = match parsed {
            Ok(t) => SocketAddr::new(canonical(t.ip()), t.port()),
            Err(WireError::UnsupportedFamily(_)) => {
                return self
                    .say(
                        ReplyCode::ProtocolNotSupported,
                        "Network protocol not supported, use (1,2)",
                    )
                    .await
            }
            Err(e) => {
                return self
                    .say(
                        ReplyCode::ParameterSyntaxError,
                        format!("Illegal {verb} command: {e}."),
                    )
                    .await
            }
        };
        let peer_ip = canonical(self.peer.ip());
        let refusal = if !self.shared.cfg.allow_foreign_data && target.ip() != peer_ip {
            Some(format!(
                "Illegal {verb} command: {} is not the client's address {peer_ip} (RFC 2577 bounce protection).",
                target.ip()
            ))
        } else if !self.shared.cfg.allow_foreign_data && target.port() < 1024 {
            Some(format!(
                "Illegal {verb} command: port {} is below 1024 (RFC 2577 bounce protection).",
                target.port()
            ))
        } else if !self.shared.cfg.in_netns && !safety::host_safe(target.ip()) {
            Some(format!(
                "Refusing to connect to {}: outside an ftpspec network namespace only loopback addresses are allowed.",
                target.ip()
            ))
        } else if canonical(self.local.ip()).is_ipv4() != target.is_ipv4() {
            Some(format!(
                "Illegal {verb} command: address family differs from the control connection's."
            ))
        } else {
            None
        };
        self.log(EventKind::ActiveTarget {
            target,
            refused: refusal.is_some(),
        });
        if let Some(message) = refusal {
            self.data = None;
            return self.say(ReplyCode::SyntaxError, message).await;
        }
        let control_ip = canonical(self.local.ip());
        let local_ip = match self.shared.cfg.active_source_addr.map(canonical) {
            Some(ip) if ip.is_ipv4() == target.is_ipv4() => ip,
            Some(ip) => {
                self.log(EventKind::Warning {
                    message: format!(
                        "active_source_addr {ip} is not of the family of {target}; the data connection comes from the control connection's address {control_ip}"
                    ),
                });
                control_ip
            }
            None => control_ip,
        };
        self.data = Some(DataPlan::Active { target, local_ip });
        self.say(
            ReplyCode::CommandOkay,
            format!("{verb} command successful. Consider using PASV."),
        )
        .await
    }
}
