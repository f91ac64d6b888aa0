//! The upload sink: paths under `/sink` take uploads of any size at constant memory, the
//! upload counterpart of [`crate::generated`].
//!
//! - `STOR /sink/NAME` (any name, any depth) accepts any bytes and keeps none of them: the
//!   server hashes them as they arrive (XXH3, 64 bits, seed 0) and records the size and the
//!   hash in the `Stored` event ([`crate::EventKind::Stored`], field `sink`).
//! - `STOR /sink/gen/SIZE` (`SIZE` as in `/gen/SIZE`: `64M`, `10G`, ...) also checks, as the
//!   bytes arrive, that the upload is exactly what `RETR /gen/SIZE` sends: the event says
//!   [`GenCheck::Match`], or [`GenCheck::Mismatch`] with the offset of the first byte that
//!   differs (the upload's end if it is short, `SIZE` if it is long). Another name under
//!   `/sink/gen` is refused (553) before any data moves.
//! - After an upload, `SIZE`, `MDTM`, `MLST` and listings show the file with the size received;
//!   `RETR` of a sink path is refused (550: its bytes were not kept); `DELE` forgets it. APPE
//!   is a whole upload (there is nothing to append to), so REST before a STOR is refused.
//! - The hash and the check cover the bytes that crossed the data connection, whatever the
//!   TYPE (no CRLF conversion), and sink uploads do not count against the upload limit.
//!
//! ```
//! use ftpspec_mock::sink::{Digest, GenCheck};
//! let mut d = Digest::new("/sink/gen/1K").unwrap();
//! let mut data = vec![0; 1024];
//! ftpspec_mock::generated::fill(0, &mut data);
//! d.update(&data[..500]);
//! d.update(&data[500..]);
//! let record = d.finish();
//! assert_eq!(record.gen, Some(GenCheck::Match));
//! assert_eq!(record.xxh3, format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&data)));
//! ```

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

use crate::generated;

/// The directory of the sink.
pub const SINK_DIR: &str = "/sink";

/// The verifying part of the sink: `/sink/gen/SIZE`.
const SINK_GEN: &str = "/sink/gen/";

/// Whether `path` (absolute, normalised) is the sink or in it.
pub fn is_sink(path: &str) -> bool {
    path == SINK_DIR || path.starts_with("/sink/")
}

/// The size a `/sink/gen/SIZE` upload must have: `None` for a plain sink path,
/// `Some(None)` for a name under `/sink/gen/` that is not a size.
pub fn gen_size(path: &str) -> Option<Option<u64>> {
    let name = path.strip_prefix(SINK_GEN)?;
    Some(generated::parse_size(name))
}

/// How a `/sink/gen/SIZE` upload compares with `/gen/SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum GenCheck {
    /// Every byte and the size are those of `/gen/SIZE`.
    Match,
    /// The upload differs from byte `at` on (a wrong byte, or the upload ended or went on
    /// there).
    Mismatch {
        /// The offset of the first difference.
        at: u64,
    },
}

/// What the sink recorded of one upload (its size is the `Stored` event's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SinkDigest {
    /// XXH3-64 (seed 0) of the bytes received, 16 lowercase hex digits.
    pub xxh3: String,
    /// `/sink/gen/SIZE` only: the comparison with `/gen/SIZE`.
    pub gen: Option<GenCheck>,
}

/// The running hash (and check) of an upload into the sink.
pub struct Digest {
    hash: Box<Xxh3>,
    received: u64,
    /// `/sink/gen/SIZE`: the size, and the first difference found so far.
    expect: Option<(u64, Option<u64>)>,
    /// The expected bytes of one chunk (kept between calls).
    scratch: Vec<u8>,
}

impl Digest {
    /// A digest for an upload to `path`; `None` if `path` is not a sink path, or a name under
    /// `/sink/gen/` that is not a size.
    pub fn new(path: &str) -> Option<Digest> {
        if !is_sink(path) || path == SINK_DIR {
            return None;
        }
        let expect = match gen_size(path) {
            None => None,
            Some(None) => return None,
            Some(Some(size)) => Some((size, None)),
        };
        Some(Digest {
            hash: Box::default(),
            received: 0,
            expect,
            scratch: Vec::new(),
        })
    }

    /// Adds the next bytes of the upload.
    pub fn update(&mut self, data: &[u8]) {
        self.hash.update(data);
        let offset = self.received;
        self.received += data.len() as u64;
        let Some((size, first @ None)) = &mut self.expect else {
            return;
        };
        let within = usize::try_from(size.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(data.len());
        self.scratch.resize(within, 0);
        generated::fill(offset, &mut self.scratch);
        if self.scratch[..] != data[..within] {
            let i = self.scratch.iter().zip(data).position(|(a, b)| a != b);
            *first = Some(offset + i.unwrap_or(within) as u64);
        } else if within < data.len() {
            *first = Some(*size);
        }
    }

    /// The record of the upload so far.
    pub fn finish(&self) -> SinkDigest {
        let gen = self.expect.map(|(size, first)| match first {
            Some(at) => GenCheck::Mismatch { at },
            None if self.received < size => GenCheck::Mismatch { at: self.received },
            None => GenCheck::Match,
        });
        SinkDigest {
            xxh3: format!("{:016x}", self.hash.digest()),
            gen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn gen(offset: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        generated::fill(offset, &mut v);
        v
    }

    fn digest(path: &str, chunks: &[&[u8]]) -> SinkDigest {
        let mut d = Digest::new(path).expect("a sink path");
        for c in chunks {
            d.update(c);
        }
        d.finish()
    }

    #[rstest]
    #[case("/sink/a.bin", true, None)]
    #[case("/sink/deep/er/a", true, None)]
    #[case("/sink/gen/64M", true, Some(Some(64 << 20)))]
    #[case("/sink/gen/big", true, Some(None))]
    #[case("/sink", true, None)]
    #[case("/sinking", false, None)]
    #[case("/gen/1M", false, None)]
    fn paths(#[case] path: &str, #[case] sink: bool, #[case] size: Option<Option<u64>>) {
        assert_eq!(is_sink(path), sink);
        assert_eq!(gen_size(path), size);
    }

    #[test]
    fn the_hash_is_xxh3_of_the_whole_whatever_the_chunks() {
        let data = gen(0, 100_000);
        let whole = digest("/sink/x", &[&data]);
        let parts = digest("/sink/x", &[&data[..1], &data[1..70_001], &data[70_001..]]);
        assert_eq!(whole, parts);
        assert_eq!(
            whole.xxh3,
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&data))
        );
        assert_eq!(whole.gen, None);
        assert_eq!(
            digest("/sink/x", &[]).xxh3,
            "2d06800538d394c2",
            "XXH3-64 of nothing"
        );
    }

    #[test]
    fn a_gen_sink_finds_the_first_difference() {
        let size = 300_000;
        let good = gen(0, size);
        let check = |chunks: &[&[u8]]| digest("/sink/gen/300000", chunks).gen;
        assert_eq!(check(&[&good[..1000], &good[1000..]]), Some(GenCheck::Match));
        let mut bad = good.clone();
        bad[123_456] ^= 0x40;
        bad[200_000] ^= 1;
        assert_eq!(
            check(&[&bad[..100_000], &bad[100_000..]]),
            Some(GenCheck::Mismatch { at: 123_456 })
        );
        assert_eq!(
            check(&[&good[..1000]]),
            Some(GenCheck::Mismatch { at: 1000 }),
            "short"
        );
        assert_eq!(
            check(&[&good, b"x"]),
            Some(GenCheck::Mismatch { at: size as u64 }),
            "long"
        );
        let mut longer = gen(0, size + 10);
        assert_eq!(
            check(&[&longer]),
            Some(GenCheck::Mismatch { at: size as u64 }),
            "long, in one chunk"
        );
        longer.truncate(size);
        assert_eq!(check(&[&longer[..size - 1], &longer[size - 1..]]), Some(GenCheck::Match));
        assert_eq!(check(&[]), Some(GenCheck::Mismatch { at: 0 }));
    }

    #[test]
    fn names_that_are_not_uploads_get_no_digest() {
        assert!(Digest::new("/sink").is_none());
        assert!(Digest::new("/sink/gen/big").is_none());
        assert!(Digest::new("/upload.bin").is_none());
    }
}
