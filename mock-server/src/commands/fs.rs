//! Directory and file commands: PWD CWD CDUP MKD RMD DELE RNFR RNTO (RFC 959 §4.1.1, §4.1.3),
//! SIZE MDTM MLST (RFC 3659 §3, §4, §7).

use std::io;

use crate::control::reply::{Reply, ReplyCode};
use crate::listing::{facts, timeval};
use crate::session::{Flow, Session};
use crate::vfs::{resolve, FsError, Source};

/// `"path"` with embedded quotes doubled (RFC 959 Appendix II).
fn quote(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

fn fs_error_code(e: &FsError) -> ReplyCode {
    match e {
        FsError::NoParent(_) | FsError::NotADirectory(_) | FsError::ReadOnly(_) => {
            ReplyCode::FileNameNotAllowed
        }
        _ => ReplyCode::FileUnavailable,
    }
}

impl Session {
    async fn fs_result(
        &self,
        result: Result<(), FsError>,
        ok: ReplyCode,
        text: String,
    ) -> io::Result<Flow> {
        match result {
            Ok(()) => self.say(ok, text).await,
            Err(e) => self.say(fs_error_code(&e), e.to_string()).await,
        }
    }

    pub(crate) async fn pwd(&mut self) -> io::Result<Flow> {
        self.say(
            ReplyCode::PathCreated,
            format!("{} is the current directory", quote(&self.cwd)),
        )
        .await
    }

    pub(crate) async fn cwd(&mut self, arg: &str) -> io::Result<Flow> {
        let path = self.path(arg);
        let result = self.shared.vfs().stat(&path).map(|e| e.is_dir);
        match result {
            Ok(true) => {
                self.cwd = path;
                self.say(ReplyCode::FileActionOkay, "Directory successfully changed.")
                    .await
            }
            Ok(false) => {
                self.say(
                    ReplyCode::FileUnavailable,
                    format!("{path}: Not a directory"),
                )
                .await
            }
            Err(e) => self.say(ReplyCode::FileUnavailable, e.to_string()).await,
        }
    }

    pub(crate) async fn cdup(&mut self) -> io::Result<Flow> {
        self.cwd = resolve(&self.cwd, "..");
        self.say(ReplyCode::CommandOkay, "Directory successfully changed.")
            .await
    }

    pub(crate) async fn mkd(&mut self, arg: &str) -> io::Result<Flow> {
        let path = self.path(arg);
        let result = self.shared.vfs().mkdir(&path);
        self.fs_result(
            result,
            ReplyCode::PathCreated,
            format!("{} created", quote(&path)),
        )
        .await
    }

    pub(crate) async fn rmd(&mut self, arg: &str) -> io::Result<Flow> {
        let path = self.path(arg);
        let result = self.shared.vfs().rmdir(&path);
        self.fs_result(
            result,
            ReplyCode::FileActionOkay,
            "Remove directory operation successful.".into(),
        )
        .await
    }

    pub(crate) async fn dele(&mut self, arg: &str) -> io::Result<Flow> {
        let path = self.path(arg);
        let result = self.shared.vfs().delete(&path);
        self.fs_result(
            result,
            ReplyCode::FileActionOkay,
            "Delete operation successful.".into(),
        )
        .await
    }

    pub(crate) async fn rnfr(&mut self, arg: &str) -> io::Result<Flow> {
        let path = self.path(arg);
        let result = self.shared.vfs().stat(&path).map(|_| ());
        if result.is_ok() {
            self.rename_from = Some(path);
        }
        self.fs_result(
            result,
            ReplyCode::FileActionPending,
            "Ready for RNTO.".into(),
        )
        .await
    }

    pub(crate) async fn rnto(&mut self, arg: &str) -> io::Result<Flow> {
        let Some(from) = self.rename_from.take() else {
            return self
                .say(ReplyCode::BadSequence, "RNFR required first.")
                .await;
        };
        let to = self.path(arg);
        let result = self.shared.vfs().rename(&from, &to);
        self.fs_result(
            result,
            ReplyCode::FileActionOkay,
            "Rename successful.".into(),
        )
        .await
    }

    pub(crate) async fn size(&mut self, arg: &str) -> io::Result<Flow> {
        let path = self.path(arg);
        let (source, sunk) = {
            let vfs = self.shared.vfs();
            (vfs.read(&path), vfs.sunk_size(&path))
        };
        if let Some(size) = sunk {
            // The bytes received, in either TYPE: the sink does not convert line ends.
            return self.say(ReplyCode::FileStatus, size.to_string()).await;
        }
        match source {
            Ok(Source::Memory(data)) if self.ascii => {
                let bare_lf = data
                    .iter()
                    .enumerate()
                    .filter(|(i, &b)| b == b'\n' && (*i == 0 || data[i - 1] != b'\r'))
                    .count();
                self.say(ReplyCode::FileStatus, (data.len() + bare_lf).to_string())
                    .await
            }
            Ok(Source::Generated(_)) if self.ascii => {
                self.say(
                    ReplyCode::FileUnavailable,
                    "SIZE of a generated file is only known in TYPE I (binary).",
                )
                .await
            }
            Ok(source) => {
                self.say(ReplyCode::FileStatus, source.len().to_string())
                    .await
            }
            Err(e) => {
                self.say(
                    ReplyCode::FileUnavailable,
                    format!("Could not get file size: {e}"),
                )
                .await
            }
        }
    }

    pub(crate) async fn mdtm(&mut self, arg: &str) -> io::Result<Flow> {
        let path = self.path(arg);
        let entry = self.shared.vfs().stat(&path);
        match entry {
            Ok(e) if !e.is_dir => self.say(ReplyCode::FileStatus, timeval(e.mtime)).await,
            Ok(_) => {
                self.say(
                    ReplyCode::FileUnavailable,
                    format!("{path}: Is a directory"),
                )
                .await
            }
            Err(e) => self.say(ReplyCode::FileUnavailable, e.to_string()).await,
        }
    }

    pub(crate) async fn mlst(&mut self, arg: &str) -> io::Result<Flow> {
        let path = if arg.is_empty() {
            self.cwd.clone()
        } else {
            self.path(arg)
        };
        let entry = self.shared.vfs().stat(&path);
        match entry {
            Ok(e) => {
                let lines = [
                    format!("Listing {path}"),
                    format!(" {}", facts(&e, &path, self.shared.cfg.mlsd_style)),
                    "End".to_owned(),
                ];
                self.reply(Reply::multi(ReplyCode::FileActionOkay, lines))
                    .await?;
                Ok(Flow::Continue)
            }
            Err(e) => self.say(ReplyCode::FileUnavailable, e.to_string()).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes() {
        assert_eq!(quote("/we\"ird"), "\"/we\"\"ird\"");
    }
}
