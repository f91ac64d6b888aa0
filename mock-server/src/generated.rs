//! Generated files: deterministic content of any size, produced while streaming.
//!
//! Any path `/gen/<size>` exists without being set up, where `<size>` is a whole number of
//! bytes with an optional binary suffix: `K` (KiB), `M` (MiB), `G` (GiB), `T` (TiB), e.g.
//! `/gen/0`, `/gen/1000`, `/gen/64K`, `/gen/64M`, `/gen/10G`. The content is a fixed pseudo-random
//! byte sequence (the same for every size: `/gen/1K` is the first KiB of `/gen/1M`) that
//! repeats every [`PERIOD`] bytes (256 KiB + 8, chosen so that no power-of-two slip goes
//! unseen), so a download can be checked with [`verify`] and a 10 GiB `RETR` costs constant
//! memory (the one period, shared by every server in the process).
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

/// The content's period in bytes: 256 KiB + 8, held in memory once (computed on first use).
///
/// The content repeats after this many bytes, so serving it is a write straight from
/// memory: no byte is computed per transfer, and RETR runs at the speed of the socket. The
/// period is 8 times an odd number, so no power of two is a multiple of it: a client that
/// loses or repeats a buffer's worth of bytes (64 KiB, 1 MiB) or wraps a 32-bit offset
/// (4 GiB) receives different bytes and is caught. Only a span that is a multiple of the
/// period itself would go unseen.
///
/// It is small so that it stays in the CPU's cache while a download streams it, as a
/// sender's own buffer does. With 16 MiB + 8 (the first size), every write read its bytes
/// from main memory (`cargo bench -p ftpspec-benches --bench throughput`).
pub const PERIOD: u64 = (256 << 10) + 8;

/// The longest [`window`] that never breaks where the period wraps: 256 KiB.
///
/// Memory holds the period followed by its first `WINDOW` bytes again, so any window up to
/// this length is one slice: a sender writes the same size every time, and a TLS sender's
/// writes fill whole records (a window cut at the wrap would leave an 8-byte record, and an
/// 8-byte packet, every 256 KiB).
pub const WINDOW: usize = 256 << 10;

/// One period of content, then its first [`WINDOW`] bytes again: pseudo-random words
/// (SplitMix64 of their index).
fn period() -> &'static [u8] {
    static PERIOD_BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PERIOD_BYTES.get_or_init(|| {
        let words = PERIOD / 8;
        (0..words + WINDOW as u64 / 8)
            .flat_map(|w| splitmix(w % words).to_le_bytes())
            .collect()
    })
}

/// The content from byte `offset` on, as one slice of memory: `max` bytes when `max` is at
/// most [`WINDOW`], else at least `WINDOW` (fewer where memory ends). A sender writes it as
/// it is.
///
/// ```
/// use ftpspec_mock::generated::{window, verify, PERIOD, WINDOW};
/// let w = window(10, 100);
/// assert_eq!(w.len(), 100);
/// assert!(verify(10, w).is_ok());
/// assert_eq!(window(PERIOD - 1, WINDOW).len(), WINDOW);
/// ```
pub fn window(offset: u64, max: usize) -> &'static [u8] {
    let at = (offset % PERIOD) as usize;
    let p = period();
    &p[at..p.len().min(at.saturating_add(max))]
}

/// Fills `buf` with the generated content starting at byte `offset`.
pub fn fill(offset: u64, buf: &mut [u8]) {
    let mut done = 0;
    while done < buf.len() {
        let w = window(offset + done as u64, buf.len() - done);
        buf[done..done + w.len()].copy_from_slice(w);
        done += w.len();
    }
}

/// Checks that `data` is the generated content starting at `offset`; on mismatch returns the
/// absolute offset of the first wrong byte.
pub fn verify(offset: u64, data: &[u8]) -> Result<(), u64> {
    let mut done = 0;
    while done < data.len() {
        let at = offset + done as u64;
        let want = window(at, data.len() - done);
        let got = &data[done..done + want.len()];
        if got != want {
            let i = got.iter().zip(want).position(|(a, b)| a != b);
            return Err(at + i.unwrap_or(0) as u64);
        }
        done += want.len();
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

    /// The content's definition, byte by byte.
    fn byte(p: u64) -> u8 {
        let p = p % PERIOD;
        splitmix(p / 8).to_le_bytes()[(p % 8) as usize]
    }

    proptest! {
        #[test]
        fn fill_is_the_byte_by_byte_definition(offset in 0u64..3 * PERIOD, len in 0usize..3000) {
            let mut got = vec![0u8; len];
            fill(offset, &mut got);
            let want: Vec<u8> = (offset..offset + len as u64).map(byte).collect();
            prop_assert_eq!(&got, &want);
            prop_assert!(verify(offset, &want).is_ok());
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
    fn the_period_wraps_right_and_no_power_of_two_slip_goes_unseen() {
        let mut a = vec![0u8; 64];
        fill(PERIOD - 32, &mut a);
        let want: Vec<u8> = (PERIOD - 32..PERIOD + 32).map(byte).collect();
        assert_eq!(a, want);
        assert_eq!(
            window(PERIOD - 32, 64),
            &want[..],
            "a window runs over the wrap"
        );
        for offset in [0, 1, PERIOD - 8, PERIOD - 1, PERIOD, 3 * PERIOD + 5] {
            let w = window(offset, WINDOW);
            assert_eq!(
                w.len(),
                WINDOW,
                "a window of WINDOW bytes is whole at {offset}"
            );
            assert!(verify(offset, w).is_ok());
        }
        let mut first = vec![0u8; 4096];
        fill(0, &mut first);
        // Lost or repeated 8 B .. 1 TiB (a buffer, a 32-bit wrap): different bytes.
        for k in 3..=40 {
            assert!(verify(1 << k, &first).is_err(), "a slip of 2^{k} bytes");
        }
        assert!(
            verify(PERIOD, &first).is_ok(),
            "the content repeats after a period"
        );
    }

    #[test]
    fn a_window_is_never_empty_while_bytes_are_wanted() {
        for offset in [0, 1, PERIOD - 1, PERIOD, 10 * PERIOD + 3] {
            assert!(!window(offset, 1).is_empty());
            assert!(window(offset, 0).is_empty());
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
