//! How a directory entry is written: the LIST line ([`ListFormat`]: the `ls -l` style most
//! clients parse, or the DOS style of the Microsoft FTP Service), the MLSx fact line (RFC 3659
//! §7, in the [`MlsdStyle`] asked for) and its time format (RFC 3659 §2.3). Used by MLST (a
//! command) and by LIST/MLSD (a transfer).

use serde::Deserialize;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::vfs::Entry;

/// How LIST lines are written. In TOML: `list_format = "unix" | "dos"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListFormat {
    /// `ls -l` style: `-rw-r--r-- 1 ftp ftp         1234 Jan 01  2024 name` (the default).
    #[default]
    Unix,
    /// The Microsoft FTP Service (IIS) in its default "MS-DOS" directory listing style, with
    /// a two-digit year and a 12-hour time: `01-01-24  12:00AM       <DIR>          name`
    /// and `01-01-24  12:00AM                 1234 name` (the size ends in column 38, the
    /// name starts in column 40).
    Dos,
}

/// How MLSD and MLST fact lines are written. In TOML: `mlsd_style = "standard" | "odd"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MlsdStyle {
    /// `type=file;size=1234;modify=20240101000000;perm=rwadf; name` (the default).
    #[default]
    Standard,
    /// Legal but unusual, as some servers send: fact names in mixed case, in another
    /// order, with a `unique` fact and no `perm`:
    /// `Size=1234;Modify=20240101000000;UNIQUE=801g1a2b3c4d;Type=file; name`. Fact names
    /// are case-insensitive and their order is free (RFC 3659 §7).
    Odd,
}

impl MlsdStyle {
    /// The facts FEAT offers after `MLST` (RFC 3659 §7.8), in this style's spelling.
    pub(crate) fn feat_facts(self) -> &'static str {
        match self {
            MlsdStyle::Standard => "type*;size*;modify*;perm*;",
            MlsdStyle::Odd => "Size*;Modify*;UNIQUE*;Type*;",
        }
    }
}

/// `YYYYMMDDHHMMSS` (RFC 3659 §2.3).
pub(crate) fn timeval(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year][month][day][hour][minute][second]"
    ))
    .unwrap_or_default()
}

/// One LIST line in `format`.
pub(crate) fn list_line(e: &Entry, format: ListFormat) -> String {
    match format {
        ListFormat::Unix => unix_line(e),
        ListFormat::Dos => dos_line(e),
    }
}

/// One IIS "MS-DOS style" line: `MM-DD-YY  HH:MMAM`, then `<DIR>` or the size, the size
/// right-aligned to end in column 38, the name from column 40.
fn dos_line(e: &Entry) -> String {
    let date = e
        .mtime
        .format(format_description!(
            "[month]-[day]-[year repr:last_two]  [hour repr:12]:[minute][period case:upper]"
        ))
        .unwrap_or_default();
    if e.is_dir {
        format!("{date}       <DIR>          {}", e.name)
    } else {
        format!("{date}{:>21} {}", e.size, e.name)
    }
}

/// One `ls -l` style line, as most clients parse LIST output.
fn unix_line(e: &Entry) -> String {
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

/// One MLSD/MLST fact line in `style` (without the leading space MLST adds); `name` is the
/// entry's name (MLSD) or path (MLST).
pub(crate) fn facts(e: &Entry, name: &str, style: MlsdStyle) -> String {
    match style {
        MlsdStyle::Standard => standard_facts(e, name),
        MlsdStyle::Odd => odd_facts(e, name),
    }
}

/// `Size=..;Modify=..;UNIQUE=..;Type=..; name`: see [`MlsdStyle::Odd`]. The unique fact is
/// made from the name, so it is the same on every run.
fn odd_facts(e: &Entry, name: &str) -> String {
    let kind = if e.is_dir { "dir" } else { "file" };
    let size = if e.is_dir {
        String::new()
    } else {
        format!("Size={};", e.size)
    };
    // FNV-1a of the name: a stable "device g inode" look-alike.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!(
        "{size}Modify={};UNIQUE=801g{:x};Type={kind}; {name}",
        timeval(e.mtime),
        hash & 0xffff_ffff
    )
}

fn standard_facts(e: &Entry, name: &str) -> String {
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
            list_line(&e, ListFormat::Unix),
            "-rw-r--r-- 1 ftp ftp         1234 Jan 01  2024 a b.txt"
        );
        assert_eq!(
            facts(&e, "a b.txt", MlsdStyle::Standard),
            "type=file;size=1234;modify=20240101000000;perm=rwadf; a b.txt"
        );
    }

    fn entry(name: &str, is_dir: bool, size: u64, mtime: OffsetDateTime) -> Entry {
        Entry {
            name: name.into(),
            is_dir,
            size,
            mtime,
            writable: true,
        }
    }

    /// The Microsoft FTP Service's layout, column for column (the size ends in column 38,
    /// counting from 1; the name starts in column 40), with its 12-hour clock.
    #[rstest::rstest]
    #[case(
        entry("sub dir", true, 0, DEFAULT_MTIME),
        "01-01-24  12:00AM       <DIR>          sub dir"
    )]
    #[case(
        entry("01 1234 foo.mp3", false, 1234, DEFAULT_MTIME),
        "01-01-24  12:00AM                 1234 01 1234 foo.mp3"
    )]
    #[case(entry("n", false, 0, time::macros::datetime!(2026-11-26 15:15 UTC)), "11-26-26  03:15PM                    0 n")]
    #[case(entry("n", true, 0, time::macros::datetime!(2026-11-26 12:05 UTC)), "11-26-26  12:05PM       <DIR>          n")]
    #[case(entry("n", false, 12_345_679_910, time::macros::datetime!(1999-02-03 09:59 UTC)), "02-03-99  09:59AM          12345679910 n")]
    fn dos_lines(#[case] e: Entry, #[case] line: &str) {
        assert_eq!(list_line(&e, ListFormat::Dos), line);
        assert_eq!(line.find(&e.name), Some(39));
    }

    #[test]
    fn odd_facts_have_other_case_order_and_unique() {
        let file = entry("01 1234 foo.mp3", false, 1234, DEFAULT_MTIME);
        let line = facts(&file, &file.name, MlsdStyle::Odd);
        let (facts_part, name) = line.split_once("; ").unwrap();
        assert_eq!(name, "01 1234 foo.mp3");
        let keys: Vec<&str> = facts_part
            .split(';')
            .map(|f| f.split_once('=').unwrap().0)
            .collect();
        assert_eq!(keys, ["Size", "Modify", "UNIQUE", "Type"]);
        assert!(
            line.starts_with("Size=1234;Modify=20240101000000;UNIQUE=801g"),
            "{line}"
        );
        assert!(line.contains(";Type=file; "), "{line}");
        let dir = entry("d", true, 0, DEFAULT_MTIME);
        let line = facts(&dir, "d", MlsdStyle::Odd);
        assert!(
            line.starts_with("Modify=20240101000000;UNIQUE=801g") && line.ends_with(";Type=dir; d"),
            "{line}"
        );
        assert_eq!(line, facts(&dir, "d", MlsdStyle::Odd), "stable");
        assert_ne!(line, facts(&dir, "e", MlsdStyle::Odd).replace("; e", "; d"));
    }

    proptest::proptest! {
        /// Whatever the name (spaces, leading digits, `;` and `=`), a client that parses the
        /// fact line as RFC 3659 §7 says (facts up to the first space, case-insensitive)
        /// gets the name back whole and the same facts in either style.
        #[test]
        fn fact_lines_parse_back(name in "[0-9][ -~]{0,30}", size in 0u64..u64::MAX / 2, is_dir: bool) {
            let e = entry(&name, is_dir, size, DEFAULT_MTIME);
            let parse = |line: &str| {
                let (facts, got) = line.split_once(' ').unwrap();
                let mut map = std::collections::BTreeMap::new();
                for fact in facts.split(';').filter(|f| !f.is_empty()) {
                    let (k, v) = fact.split_once('=').unwrap();
                    map.insert(k.to_ascii_lowercase(), v.to_owned());
                }
                (map, got.to_owned())
            };
            let (std_facts, std_name) = parse(&facts(&e, &name, MlsdStyle::Standard));
            let (odd_facts, odd_name) = parse(&facts(&e, &name, MlsdStyle::Odd));
            proptest::prop_assert_eq!(&std_name, &name);
            proptest::prop_assert_eq!(&odd_name, &name);
            for key in ["type", "size", "modify"] {
                proptest::prop_assert_eq!(std_facts.get(key), odd_facts.get(key), "{}", key);
            }
            proptest::prop_assert!(odd_facts.contains_key("unique"));
        }

        /// A DOS line parsed as clients do (date, time, `<DIR>` or size, then the rest)
        /// gives the name back whole, spaces included.
        #[test]
        fn dos_lines_parse_back(name in "[0-9A-Za-z][ -~]{0,30}", size in 0u64..1_000_000_000_000, is_dir: bool) {
            let e = entry(&name, is_dir, size, DEFAULT_MTIME);
            let line = list_line(&e, ListFormat::Dos);
            let mut fields = line.splitn(4, ' ').filter(|f| !f.is_empty());
            proptest::prop_assert_eq!(fields.next(), Some("01-01-24"));
            let rest = line[17..].trim_start();
            let (kind, got) = rest.split_once(' ').unwrap();
            let got = got.trim_start_matches(' ');
            if is_dir {
                proptest::prop_assert_eq!(kind, "<DIR>");
            } else {
                proptest::prop_assert_eq!(kind.parse::<u64>().unwrap(), size);
            }
            proptest::prop_assert_eq!(&line[39..], name.as_str());
            if !name.starts_with(' ') {
                proptest::prop_assert_eq!(got, name.as_str());
            }
        }
    }
}
