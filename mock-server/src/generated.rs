//! Generated files: deterministic content of any size, produced while streaming.
//!
//! Any path `/gen/<size>` exists without being set up, where `<size>` is a whole number of
//! bytes with an optional binary suffix: `K` (KiB), `M` (MiB), `G` (GiB), `T` (TiB), e.g.
//! `/gen/0`, `/gen/1000`, `/gen/64K`, `/gen/64M`, `/gen/10G`. The content is a fixed pseudo-random
//! byte sequence (the same for every size: `/gen/1K` is the first KiB of `/gen/1M`), so a
//! download can be checked with [`verify`] and a 10 GiB `RETR` costs constant memory.
//!
//! ```
//! use ftpspec_mock::generated;
//! assert_eq!(generated::parse_size("64M"), Some(64 << 20));
//! let mut buf = vec![0; 100];
//! generated::fill(1000, &mut buf);
//! assert!(generated::verify(1000, &buf).is_ok());
//! ```

/// The directory generated files live in.
pub const GEN_DIR: &str = "/gen";

/// Reads a size such as `1000`, `64K`, `10G` (binary units). `None` for anything else,
/// including overflow.
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 10),
        b'M' | b'm' => (&text[..text.len() - 1], 20),
        b'G' | b'g' => (&text[..text.len() - 1], 30),
        b'T' | b't' => (&text[..text.len() - 1], 40),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(1u64 << shift)
}

/// The size named by a `/gen/<size>` path, if `path` is one.
pub fn size_of_path(path: &str) -> Option<u64> {
    let name = path.strip_prefix(GEN_DIR)?.strip_prefix('/')?;
    parse_size(name)
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Words (8 bytes) in the table: 1 MiB.
const TABLE_WORDS: u64 = 1 << 17;

/// 1 MiB of pseudo-random words, computed once.
fn table() -> &'static [u64] {
    static TABLE: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| (0..TABLE_WORDS).map(splitmix).collect())
}

/// The key of each MiB of content, so that no two MiB are alike.
fn key(mib: u64) -> u64 {
    splitmix(mib ^ 0x5A5A_5A5A_0000_0000)
}

/// Word `w` of the content: the table word XOR the key of its MiB. Streaming it costs a
/// read and an XOR per word (the compiler vectorizes the loop), not a hash per word: the
/// mock server stays near the speed of the socket.
fn word(w: u64) -> [u8; 8] {
    (table()[(w % TABLE_WORDS) as usize] ^ key(w / TABLE_WORDS)).to_le_bytes()
}

/// Fills `buf` with the generated content starting at byte `offset`.
pub fn fill(offset: u64, buf: &mut [u8]) {
    let within = (offset % 8) as usize;
    let head = if within == 0 {
        0
    } else {
        (8 - within).min(buf.len())
    };
    if head > 0 {
        buf[..head].copy_from_slice(&word(offset / 8)[within..within + head]);
    }
    let table = table();
    let mut w = (offset + head as u64) / 8;
    let mut rest = &mut buf[head..];
    // Whole words, one MiB segment (one key) at a time.
    while rest.len() >= 8 {
        let start = (w % TABLE_WORDS) as usize;
        let k = key(w / TABLE_WORDS);
        let words = (rest.len() / 8).min(TABLE_WORDS as usize - start);
        let (seg, tail) = rest.split_at_mut(words * 8);
        for (dst, src) in seg.chunks_exact_mut(8).zip(&table[start..start + words]) {
            dst.copy_from_slice(&(src ^ k).to_le_bytes());
        }
        w += words as u64;
        rest = tail;
    }
    if !rest.is_empty() {
        let n = rest.len();
        rest.copy_from_slice(&word(w)[..n]);
    }
}

/// Checks that `data` is the generated content starting at `offset`; on mismatch returns the
/// absolute offset of the first wrong byte.
pub fn verify(offset: u64, data: &[u8]) -> Result<(), u64> {
    let mut expected = vec![0u8; 64 * 1024];
    for (chunk_index, chunk) in data.chunks(expected.len()).enumerate() {
        let start = offset + (chunk_index * expected.len()) as u64;
        let expected = &mut expected[..chunk.len()];
        fill(start, expected);
        if let Some(i) = chunk.iter().zip(expected.iter()).position(|(a, b)| a != b) {
            return Err(start + i as u64);
        }
    }
    Ok(())
}

/// What a data rate accepts, for error messages.
pub(crate) const RATE_EXPECTED: &str =
    "a rate in bytes per second such as 20000, 20K or 1M (K = 1024; at least 1)";

/// Reads a data rate in bytes per second: a whole number with an optional binary suffix, as
/// sizes are written (`20K` = 20,480 bytes per second). 0 is refused.
///
/// ```
/// assert_eq!(ftpspec_mock::parse_rate("20K").unwrap(), 20 * 1024);
/// assert_eq!(ftpspec_mock::parse_rate("1000").unwrap(), 1000);
/// assert!(ftpspec_mock::parse_rate("0").is_err());
/// assert!(ftpspec_mock::parse_rate("fast").is_err());
/// ```
pub fn parse_rate(text: &str) -> Result<u64, crate::error::Error> {
    match crate::generated::parse_size(text.trim()) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(crate::error::Error::BadValue {
            value: text.to_owned(),
            expected: RATE_EXPECTED,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case("0", Some(0))]
    #[case("1000", Some(1000))]
    #[case("64K", Some(65536))]
    #[case("64k", Some(65536))]
    #[case("10G", Some(10 << 30))]
    #[case("1T", Some(1 << 40))]
    #[case("", None)]
    #[case("K", None)]
    #[case("1.5M", None)]
    #[case("-1", None)]
    #[case("99999999999999999999", None)]
    #[case("99999999999T", None)]
    fn sizes(#[case] text: &str, #[case] size: Option<u64>) {
        assert_eq!(parse_size(text), size);
    }

    #[test]
    fn paths() {
        assert_eq!(size_of_path("/gen/1M"), Some(1 << 20));
        assert_eq!(size_of_path("/gen/"), None);
        assert_eq!(size_of_path("/generated/1M"), None);
        assert_eq!(size_of_path("/gen/1M/x"), None);
    }

    proptest! {
        #[test]
        fn fill_is_the_byte_by_byte_definition(offset in 0u64..3_000_000, len in 0usize..3000) {
            let mut got = vec![0u8; len];
            fill(offset, &mut got);
            let want: Vec<u8> = (offset..offset + len as u64).map(|p| word(p / 8)[(p % 8) as usize]).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn any_window_matches_the_whole(offset in 0u64..10_000, len in 0usize..3000) {
            let mut whole = vec![0u8; 13_000];
            fill(0, &mut whole);
            let mut part = vec![0u8; len];
            fill(offset, &mut part);
            prop_assert_eq!(&part[..], &whole[offset as usize..offset as usize + len]);
            prop_assert!(verify(offset, &part).is_ok());
        }
    }

    #[test]
    fn a_mib_boundary_is_crossed_right_and_no_two_mib_are_alike() {
        let mut a = vec![0u8; 64];
        fill((1 << 20) - 32, &mut a);
        let want: Vec<u8> = ((1u64 << 20) - 32..(1 << 20) + 32)
            .map(|p| word(p / 8)[(p % 8) as usize])
            .collect();
        assert_eq!(a, want);
        let (mut m0, mut m1) = (vec![0u8; 4096], vec![0u8; 4096]);
        fill(0, &mut m0);
        fill(1 << 20, &mut m1);
        assert_ne!(m0, m1);
    }

    #[test]
    fn verify_finds_the_first_wrong_byte() {
        let mut data = vec![0u8; 200_000];
        fill(7, &mut data);
        data[150_001] ^= 1;
        assert_eq!(verify(7, &data), Err(150_008));
    }
}
