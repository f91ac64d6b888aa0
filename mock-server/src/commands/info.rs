//! FEAT, OPTS (RFC 2389), HELP (RFC 959 §4.1.3).

use std::io;

use crate::control::parser::Verb;
use crate::control::reply::{Reply, ReplyCode};
use crate::encoding::NameEncoding;
use crate::session::{Flow, Session};

impl Session {
    pub(crate) async fn feat(&mut self) -> io::Result<Flow> {
        let mut lines = vec!["Features:".to_owned(), " EPRT".to_owned()];
        if self.shared.cfg.epsv {
            lines.push(" EPSV".to_owned());
        }
        // The MLST facts offered (RFC 3659 §7.8), in the style they are sent; all are
        // always sent.
        let facts = self.shared.cfg.mlsd_style.feat_facts();
        for feature in [
            "MDTM",
            &format!("MLST {facts}"),
            "PASV",
            "REST STREAM",
            "SIZE",
            "TVFS",
        ] {
            lines.push(format!(" {feature}"));
        }
        // A server whose names are Latin-1 does not offer UTF8 (RFC 2640).
        if self.shared.cfg.name_encoding == NameEncoding::Utf8 {
            lines.push(" UTF8".to_owned());
        }
        if let Some(tls) = &self.shared.cfg.tls {
            // RFC 4217 §6: FTPS servers list AUTH, PBSZ and PROT (and CCC when allowed).
            if tls.settings.mode == crate::tls::FtpsMode::Explicit {
                lines.push(" AUTH TLS".to_owned());
            }
            if tls.settings.allow_ccc {
                lines.push(" CCC".to_owned());
            }
            lines.push(" PBSZ".to_owned());
            lines.push(" PROT".to_owned());
        }
        lines.push("End".to_owned());
        self.reply(Reply::multi(ReplyCode::SystemStatus, lines))
            .await?;
        Ok(Flow::Continue)
    }

    pub(crate) async fn opts(&mut self, arg: &str) -> io::Result<Flow> {
        let mut words = arg.split_whitespace();
        let option = words.next().unwrap_or("").to_ascii_uppercase();
        let value = words.next().unwrap_or("").to_ascii_uppercase();
        let latin1 = self.shared.cfg.name_encoding == NameEncoding::Latin1;
        match (option.as_str(), value.as_str()) {
            ("UTF8", "ON" | "") if latin1 => {
                self.say(
                    ReplyCode::ParameterSyntaxError,
                    "UTF8 not supported: this server's names are Latin-1 (ISO 8859-1).",
                )
                .await
            }
            ("UTF8", "OFF") if latin1 => {
                self.say(ReplyCode::CommandOkay, "UTF8 is off: names are Latin-1.")
                    .await
            }
            ("UTF8", "ON" | "OFF" | "") => {
                self.say(ReplyCode::CommandOkay, "Always in UTF8 mode.")
                    .await
            }
            ("MLST", _) => {
                self.say(
                    ReplyCode::CommandOkay,
                    format!(
                        "MLST OPTS {}",
                        self.shared.cfg.mlsd_style.feat_facts().replace('*', "")
                    ),
                )
                .await
            }
            _ => {
                self.say(
                    ReplyCode::ParameterSyntaxError,
                    format!("Option not understood: {arg}"),
                )
                .await
            }
        }
    }

    pub(crate) async fn help(&mut self, arg: &str) -> io::Result<Flow> {
        // The FTPS commands exist only on a server configured for FTPS.
        let offered = |v: &Verb| {
            self.shared.cfg.tls.is_some()
                || !matches!(v, Verb::Auth | Verb::Pbsz | Verb::Prot | Verb::Ccc)
        };
        if !arg.is_empty() {
            return match Verb::from_name(arg.trim()).filter(offered) {
                Some(v) => {
                    self.say(ReplyCode::HelpMessage, format!("{v} is implemented."))
                        .await
                }
                None => {
                    self.say(
                        ReplyCode::CommandNotImplemented,
                        format!("Unknown command {arg}."),
                    )
                    .await
                }
            };
        }
        let mut lines = vec!["The following commands are recognized.".to_owned()];
        let verbs: Vec<Verb> = Verb::ALL.iter().copied().filter(offered).collect();
        for chunk in verbs.chunks(10) {
            lines.push(format!(
                " {}",
                chunk
                    .iter()
                    .map(|v| format!("{:<5}", v.name()))
                    .collect::<Vec<_>>()
                    .join("")
                    .trim_end()
            ));
        }
        lines.push("Help OK.".to_owned());
        self.reply(Reply::multi(ReplyCode::HelpMessage, lines))
            .await?;
        Ok(Flow::Continue)
    }
}
