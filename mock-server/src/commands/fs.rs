//! Directory and file commands: PWD CWD CDUP MKD RMD DELE RNFR RNTO (RFC 959 §4.1.1, §4.1.3),
//! SIZE MDTM MLST and the MLSx fact format (RFC 3659 §3, §4, §7), and the LIST line format.

use std::io;

use time::macros::format_description;
use time::OffsetDateTime;

use crate::control::reply::{Reply, ReplyCode};
use crate::session::{Flow, Session};
use crate::vfs::{resolve, Entry, FsError, Source};

/// `"path"` with embedded quotes doubled (RFC 959 Appendix II).
fn quote(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

/// `YYYYMMDDHHMMSS` (RFC 3659 §2.3).
pub(crate) fn timeval(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year][month][day][hour][minute][second]"
    ))
    .unwrap_or_default()
}

/// One `ls -l` style line, as most clients parse LIST output.
pub(crate) fn list_line(e: &Entry) -> String {
    let mode = match (e.is_dir, e.writable) {
        (true, true) => "drwxr-xr-x",
        (true, false) => "dr-xr-xr-x",
        (false, true) => "-rw-r--r--",
        (false, false) => "-r--r--r--",
    };
    let date = e
        .mtime
        .format(format_description!(
            "[month repr:short] [day] [year repr:full]"
        ))
        .unwrap_or_default();
    let (month_day, year) = date.rsplit_once(' ').unwrap_or((&date, ""));
    format!(
        "{mode} 1 ftp ftp {:>12} {month_day}  {year} {}",
        e.size, e.name
    )
}

/// One MLSD/MLST fact line (without the leading space MLST adds).
pub(crate) fn facts(e: &Entry, name: &str) -> String {
    let kind = if e.is_dir { "dir" } else { "file" };
    let perm = match (e.is_dir, e.writable) {
        (true, true) => "elcmp",
        (true, false) => "el",
        (false, true) => "rwadf",
        (false, false) => "r",
    };
    let size = if e.is_dir {
        String::new()
    } else {
        format!("size={};", e.size)
    };
    format!(
        "type={kind};{size}modify={};perm={perm}; {name}",
        timeval(e.mtime)
    )
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
    pub(crate) fn path(&self, arg: &str) -> String {
        resolve(&self.cwd, arg)
    }

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
        let source = self.shared.vfs().read(&path);
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
                    format!(" {}", facts(&e, &path)),
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
    use crate::vfs::DEFAULT_MTIME;

    #[test]
    fn formats() {
        let e = Entry {
            name: "a b.txt".into(),
            is_dir: false,
            size: 1234,
            mtime: DEFAULT_MTIME,
            writable: true,
        };
        assert_eq!(
            list_line(&e),
            "-rw-r--r-- 1 ftp ftp         1234 Jan 01  2024 a b.txt"
        );
        assert_eq!(
            facts(&e, "a b.txt"),
            "type=file;size=1234;modify=20240101000000;perm=rwadf; a b.txt"
        );
        assert_eq!(quote("/we\"ird"), "\"/we\"\"ird\"");
    }
}
