//! Where a run's per-case files go inside the results directory: `cases/<client>/<scenario>/`,
//! each part made a safe, single file name whatever the client's name or the scenario's id
//! holds (`/`, `@`, `=`, `,`, spaces, `..`), and still readable as a relative link from
//! `index.html` opened from disk.

/// The results directory's folder for per-case files.
pub const CASES_DIR: &str = "cases";

/// The name of a case's diagnostics bundle in its folder.
pub const DIAGNOSTICS_FILE: &str = "diagnostics.txt";

/// The relative path of a case's diagnostics bundle, with `/` separators:
/// `cases/curl/passive_2funroutable-address@tls=explicit/diagnostics.txt`.
pub fn diagnostics_path(client: &str, scenario: &str) -> String {
    format!(
        "{CASES_DIR}/{}/{}/{DIAGNOSTICS_FILE}",
        safe_name(client),
        safe_name(scenario)
    )
}

/// The name of a case's packet capture in its folder.
pub const CAPTURE_FILE: &str = "capture.pcapng";

/// The relative path of a case's packet capture, with `/` separators:
/// `cases/curl/passive_2funroutable-address/capture.pcapng`; `run` (of `--repeat`) above 1
/// adds `-run<N>` before the extension, so each run keeps its own.
pub fn capture_path(client: &str, scenario: &str, run: u32) -> String {
    let file = match run {
        0 | 1 => CAPTURE_FILE.to_owned(),
        n => format!("capture-run{n}.pcapng"),
    };
    format!(
        "{CASES_DIR}/{}/{}/{file}",
        safe_name(client),
        safe_name(scenario)
    )
}

/// `s` as one file name, one to one: letters, digits and `-.@=,+` stay (what scenario ids
/// and their axes are made of, all allowed in a URL path), every other byte (`/`, `_`,
/// space, `%`, `#`, `?`, non-ASCII) becomes `_` and two hex digits, as does a leading `.`.
/// A name longer than 200 bytes is cut and ends in a hash of the whole, so it stays within
/// file-name limits and distinct.
pub fn safe_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b"-.@=,+".contains(&b);
        if keep && !(i == 0 && b == b'.') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    if s.is_empty() {
        out.push('_');
    }
    if out.len() > 200 {
        // Whole escapes only: cut before an `_` that is less than three bytes from the end.
        let mut end = 180;
        while out[..end].rfind('_').is_some_and(|i| i + 3 > end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str(&format!("_{:016x}", fnv1a(s.as_bytes())));
    }
    out
}

/// FNV-1a, written out so a name stays the same across versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_become_one_readable_name() {
        assert_eq!(
            diagnostics_path("curl", "passive/unroutable-address"),
            "cases/curl/passive_2funroutable-address/diagnostics.txt"
        );
        assert_eq!(
            capture_path("curl", "ftps/explicit", 1),
            "cases/curl/ftps_2fexplicit/capture.pcapng"
        );
        assert_eq!(
            capture_path("curl", "ftps/explicit", 3),
            "cases/curl/ftps_2fexplicit/capture-run3.pcapng"
        );
        assert_eq!(
            safe_name("passive/x@tls=explicit,ip=6"),
            "passive_2fx@tls=explicit,ip=6"
        );
        assert_eq!(safe_name("python-ftplib"), "python-ftplib");
        assert_eq!(safe_name("a_b"), "a_5fb");
        assert_eq!(safe_name(".."), "_2e.");
        assert_eq!(safe_name("."), "_2e");
        assert_eq!(safe_name(""), "_");
        assert_eq!(safe_name("é #?%"), "_c3_a9_20_23_3f_25");
    }

    #[test]
    fn long_names_are_cut_with_a_hash() {
        let long = "a/".repeat(150);
        let name = safe_name(&long);
        assert!(name.len() <= 200, "{}", name.len());
        assert_ne!(name, safe_name(&"a/".repeat(151)));
        assert_eq!(name, safe_name(&long), "stable");
    }

    proptest! {
        #[test]
        fn names_are_safe_and_distinct(a in ".{0,120}", b in ".{0,120}") {
            let (na, nb) = (safe_name(&a), safe_name(&b));
            for n in [&na, &nb] {
                prop_assert!(!n.is_empty() && n.len() <= 200);
                prop_assert!(n != "." && n != ".." && !n.starts_with('.'));
                prop_assert!(n.bytes().all(|c| c.is_ascii_alphanumeric() || b"-.@=,+_".contains(&c)), "{}", n);
            }
            if a != b {
                prop_assert_ne!(na, nb);
            }
        }
    }
}
