//! The upload sink: paths under `/sink` take uploads of any size at constant memory, the
//! upload counterpart of [`crate::generated`].
//!
//! - `STOR /sink/NAME` (any name, any depth) accepts any bytes and keeps none of them: the
//!   server sums them as they arrive ([`Checksum`]) and records the size and the checksum in
//!   the `Stored` event ([`crate::EventKind::Stored`], field `sink`).
//! - `STOR /sink/gen/SIZE` (`SIZE` as in `/gen/SIZE`: `64M`, `10G`, ...) also checks, as the
//!   bytes arrive, that the upload is exactly what `RETR /gen/SIZE` sends: the event says
//!   [`GenCheck::Match`], or [`GenCheck::Mismatch`] with the offset of the first byte that
//!   differs (the upload's end if it is short, `SIZE` if it is long). Another name under
//!   `/sink/gen` is refused (553) before any data moves.
//! - After an upload, `SIZE`, `MDTM`, `MLST` and listings show the file with the size received;
//!   `RETR` of a sink path is refused (550: its bytes were not kept); `DELE` forgets it. APPE
//!   is a whole upload (there is nothing to append to), so REST before a STOR is refused.
//! - The checksum and the check cover the bytes that crossed the data connection, whatever
//!   the TYPE (no CRLF conversion), and sink uploads do not count against the upload limit.
//!
//! Why not a standard hash: the sink must take uploads at about the speed of the socket, and
//! a hash such as XXH3 (built for SSE2, as crates are by default) costs as much CPU as the
//! kernel's copy of the same bytes: on a 2-core machine it cut the sink to 0.6x of a raw
//! TCP receiver. [`Checksum`] is a Fletcher sum over 64-bit words in four lanes, which the
//! compiler turns into vector adds over bytes still in cache: it tells any changed, missing,
//! extra or moved word from the right upload (not a deliberate forgery, which a test server
//! does not need to catch). [`checksum`] computes it over bytes at hand, to compare.
//!
//! ```
//! use ftpspec_mock::sink::{checksum, Digest, GenCheck};
//! let mut d = Digest::new("/sink/gen/1K").unwrap();
//! let mut data = vec![0; 1024];
//! ftpspec_mock::generated::fill(0, &mut data);
//! d.update(&data[..500]);
//! d.update(&data[500..]);
//! let record = d.finish();
//! assert_eq!(record.gen, Some(GenCheck::Match));
//! assert_eq!(record.checksum, checksum(&data));
//! ```

use serde::Serialize;

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
    /// The [`Checksum`] of the bytes received, 16 lowercase hex digits.
    pub checksum: String,
    /// `/sink/gen/SIZE` only: the comparison with `/gen/SIZE`.
    pub gen: Option<GenCheck>,
}

/// Words summed in parallel: word `i` of the input goes to lane `i % LANES`.
const LANES: usize = 4;

/// Bytes in one step of the sum: one word per lane.
const BLOCK: usize = 8 * LANES;

/// A 64-bit Fletcher checksum of a byte stream, fed in pieces of any size.
///
/// The stream is read as little-endian 64-bit words (the last one padded with zeros), word
/// `i` going to lane `j = i % 4`; each lane keeps `a[j] += word` and `b[j] += a[j]` (wrapping),
/// so `a` sums the words and `b` weighs each by its position. The result mixes the length and
/// the eight sums with the SplitMix64 finaliser: `h = mix(len)`, then `h = mix(h ^ v)` for
/// `a[0..4]` and `b[0..4]` in turn.
#[derive(Debug, Clone, Default)]
pub struct Checksum {
    a: [u64; LANES],
    b: [u64; LANES],
    /// The start of a block not yet summed.
    tail: [u8; BLOCK],
    tail_len: usize,
    len: u64,
}

impl Checksum {
    /// Adds the next bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.tail_len > 0 {
            let take = (BLOCK - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
            self.tail_len += take;
            data = &data[take..];
            if self.tail_len < BLOCK {
                return;
            }
            let block = self.tail;
            self.blocks(&[block]);
            self.tail_len = 0;
        }
        let (blocks, rest) = data.as_chunks::<BLOCK>();
        self.blocks(blocks);
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    fn blocks(&mut self, blocks: &[[u8; BLOCK]]) {
        let (mut a, mut b) = (self.a, self.b);
        for block in blocks {
            let (words, _) = block.as_chunks::<8>();
            for j in 0..LANES {
                a[j] = a[j].wrapping_add(u64::from_le_bytes(words[j]));
                b[j] = b[j].wrapping_add(a[j]);
            }
        }
        (self.a, self.b) = (a, b);
    }

    /// The checksum of the bytes so far.
    pub fn value(&self) -> u64 {
        let mut sum = self.clone();
        if sum.tail_len > 0 {
            let mut block = [0u8; BLOCK];
            block[..sum.tail_len].copy_from_slice(&sum.tail[..sum.tail_len]);
            sum.blocks(&[block]);
        }
        sum.a
            .iter()
            .chain(&sum.b)
            .fold(mix(sum.len), |h, v| mix(h ^ v))
    }
}

/// The SplitMix64 finaliser.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The [`Checksum`] of `data`, as the sink records it (16 lowercase hex digits).
///
/// ```
/// assert_eq!(ftpspec_mock::sink::checksum(b"").len(), 16);
/// assert_ne!(ftpspec_mock::sink::checksum(b"ab"), ftpspec_mock::sink::checksum(b"ba"));
/// ```
pub fn checksum(data: &[u8]) -> String {
    let mut sum = Checksum::default();
    sum.update(data);
    format!("{:016x}", sum.value())
}

/// The running checksum (and check) of an upload into the sink.
pub struct Digest {
    sum: Checksum,
    received: u64,
    /// `/sink/gen/SIZE`: the size, and the first difference found so far.
    expect: Option<(u64, Option<u64>)>,
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
            sum: Checksum::default(),
            received: 0,
            expect,
        })
    }

    /// Adds the next bytes of the upload.
    pub fn update(&mut self, data: &[u8]) {
        self.sum.update(data);
        let offset = self.received;
        self.received += data.len() as u64;
        let Some((size, first @ None)) = &mut self.expect else {
            return;
        };
        let within = usize::try_from(size.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(data.len());
        if let Err(at) = generated::verify(offset, &data[..within]) {
            *first = Some(at);
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
            checksum: format!("{:016x}", self.sum.value()),
            gen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
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

    /// The definition, a word at a time, without lanes in parallel or blocks.
    fn by_the_definition(data: &[u8]) -> u64 {
        let (mut a, mut b) = ([0u64; LANES], [0u64; LANES]);
        for (i, word) in data.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..word.len()].copy_from_slice(word);
            let j = i % LANES;
            a[j] = a[j].wrapping_add(u64::from_le_bytes(w));
            b[j] = b[j].wrapping_add(a[j]);
        }
        // Whole blocks of padding: zero words leave `a` as it is and add it to `b` again.
        let words = data.len().div_ceil(8);
        for i in words..words.div_ceil(LANES) * LANES {
            let j = i % LANES;
            b[j] = b[j].wrapping_add(a[j]);
        }
        a.iter()
            .chain(&b)
            .fold(mix(data.len() as u64), |h, v| mix(h ^ v))
    }

    proptest! {
        #[test]
        fn the_checksum_is_its_definition_whatever_the_pieces(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            cuts in proptest::collection::vec(0usize..600, 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut sum = Checksum::default();
            let mut from = 0;
            for c in cuts.into_iter().chain([data.len()]) {
                sum.update(&data[from..c]);
                from = c;
            }
            prop_assert_eq!(sum.value(), by_the_definition(&data));
            prop_assert_eq!(checksum(&data), format!("{:016x}", sum.value()));
        }
    }

    #[rstest]
    #[case::a_flipped_bit(|d: &mut Vec<u8>| d[1000] ^= 0x10)]
    #[case::two_words_of_a_lane_swapped(|d: &mut Vec<u8>| (0..8).for_each(|k| d.swap(8 + k, 40 + k)))]
    #[case::neighbour_words_swapped(|d: &mut Vec<u8>| (0..8).for_each(|k| d.swap(k, 8 + k)))]
    #[case::a_trailing_zero(|d: &mut Vec<u8>| d.push(0))]
    #[case::the_last_byte_cut(|d: &mut Vec<u8>| { d.pop(); })]
    #[case::a_word_moved(|d: &mut Vec<u8>| { let w: Vec<u8> = d.drain(64..72).collect(); d.extend(w); })]
    fn the_checksum_tells_a_changed_upload(#[case] change: fn(&mut Vec<u8>)) {
        let data = gen(0, 4096);
        let mut changed = data.clone();
        change(&mut changed);
        assert_ne!(checksum(&data), checksum(&changed));
    }

    #[test]
    fn the_record_has_the_checksum_of_the_whole_whatever_the_chunks() {
        let data = gen(0, 100_000);
        let whole = digest("/sink/x", &[&data]);
        let parts = digest("/sink/x", &[&data[..1], &data[1..70_001], &data[70_001..]]);
        assert_eq!(whole, parts);
        assert_eq!(whole.checksum, checksum(&data));
        assert_eq!(whole.gen, None);
        assert_ne!(checksum(b""), checksum(&[0]), "the length counts");
    }

    #[test]
    fn a_gen_sink_finds_the_first_difference() {
        let size = 300_000;
        let good = gen(0, size);
        let check = |chunks: &[&[u8]]| digest("/sink/gen/300000", chunks).gen;
        assert_eq!(
            check(&[&good[..1000], &good[1000..]]),
            Some(GenCheck::Match)
        );
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
        assert_eq!(
            check(&[&longer[..size - 1], &longer[size - 1..]]),
            Some(GenCheck::Match)
        );
        assert_eq!(check(&[]), Some(GenCheck::Mismatch { at: 0 }));
    }

    #[test]
    fn names_that_are_not_uploads_get_no_digest() {
        assert!(Digest::new("/sink").is_none());
        assert!(Digest::new("/sink/gen/big").is_none());
        assert!(Digest::new("/upload.bin").is_none());
    }
}
