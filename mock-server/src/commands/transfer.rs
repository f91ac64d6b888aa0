//! Data transfers: RETR STOR APPE LIST NLST (RFC 959 §4.1.3), MLSD (RFC 3659 §7), REST STREAM
//! (RFC 3659 §5): what to send or where to store, checked before any data moves. The transfer
//! itself runs as a task of its own ([`crate::datachan::Task`]) so the session keeps reading
//! the control connection.

use std::io;

use bytes::Bytes;

use crate::control::parser::Verb;
use crate::control::reply::ReplyCode;
use crate::datachan::{CancelReason, DataTls, Job, Task};
use crate::listing::{facts, list_line};
use crate::session::{Flow, Session};
use crate::vfs::Source;

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
                tickets: configs.tickets.clone(),
                require_close_notify: setup.settings.require_close_notify,
                omit_close_notify: setup.settings.omit_close_notify,
            }),
            _ => None,
        };
        let task = Task {
            job,
            tls,
            plan: Some(plan),
            script,
            out: self.conn.out.clone(),
            shared: self.shared.clone(),
            session: self.id,
            control_peer: self.peer,
            cancel: cancel.clone(),
            final_sent: false,
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
        let cfg = &self.shared.cfg;
        let mut text = String::new();
        for e in &entries {
            let line = match verb {
                Verb::Nlst if is_dir && rest.is_empty() => e.name.clone(),
                Verb::Nlst if is_dir => format!("{}/{}", rest.trim_end_matches('/'), e.name),
                Verb::Nlst => rest.to_owned(),
                Verb::Mlsd => facts(e, &e.name, cfg.mlsd_style),
                _ => list_line(e, cfg.list_format),
            };
            text.push_str(&line);
            text.push_str("\r\n");
        }
        self.rest = 0;
        // Names go out in the server's name encoding (Latin-1: one byte per character).
        let body = cfg.name_encoding.encode(&text).into_owned();
        let source = Source::Memory(Bytes::from(body));
        self.start_transfer(Job::Send {
            source,
            offset: 0,
            ascii: false,
            what: "the directory listing".into(),
        })
        .await
    }
}
