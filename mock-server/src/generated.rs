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

fn block(index: u64) -> [u8; 8] {
    // splitmix64: fast, well-mixed, and needs no state beyond the index.
    let mut z = index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).to_le_bytes()
}

/// Fills `buf` with the generated content starting at byte `offset`.
pub fn fill(offset: u64, buf: &mut [u8]) {
    let mut pos = offset;
    let mut i = 0;
    while i < buf.len() {
        let b = block(pos / 8);
        let within = (pos % 8) as usize;
        let n = (8 - within).min(buf.len() - i);
        buf[i..i + n].copy_from_slice(&b[within..within + n]);
        i += n;
        pos += n as u64;
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
    fn verify_finds_the_first_wrong_byte() {
        let mut data = vec![0u8; 200_000];
        fill(7, &mut data);
        data[150_001] ^= 1;
        assert_eq!(verify(7, &data), Err(150_008));
    }
}
