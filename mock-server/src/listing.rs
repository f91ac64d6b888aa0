//! How a directory entry is written: the `ls -l` style LIST line most clients parse, the
//! MLSx fact line (RFC 3659 §7) and its time format (RFC 3659 §2.3). Used by MLST (a command)
//! and by LIST/MLSD (a transfer).

use time::macros::format_description;
use time::OffsetDateTime;

use crate::vfs::Entry;

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
    }
}
