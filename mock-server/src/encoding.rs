//! How file names (and every other text) go on the control and data connections:
//! UTF-8 (RFC 2640, the default) or Latin-1 (ISO 8859-1), as servers on old Windows and
//! embedded systems send them.

use std::borrow::Cow;

use serde::Deserialize;

/// The character set of names on the wire. In TOML: `name_encoding = "utf8" | "latin1"`.
///
/// With [`NameEncoding::Latin1`], command lines are read as Latin-1 (every byte is a
/// character, so no line is refused as bad UTF-8), names go out in listings and replies as
/// Latin-1 bytes (a tree name `café.txt` is sent with the byte 0xE9), `OPTS UTF8 ON` is
/// refused (501) and FEAT does not list UTF8. The event log keeps the decoded text.
///
/// ```
/// use ftpspec_mock::NameEncoding;
/// assert_eq!(NameEncoding::Latin1.encode("café").as_ref(), b"caf\xe9");
/// assert_eq!(NameEncoding::Latin1.decode(b"caf\xe9").unwrap(), "café");
/// assert!(NameEncoding::Utf8.decode(b"caf\xe9").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameEncoding {
    /// UTF-8 (the default; FEAT lists UTF8, RFC 2640).
    #[default]
    Utf8,
    /// ISO 8859-1: one byte per character.
    Latin1,
}

impl NameEncoding {
    /// The bytes of `text` on the wire. In Latin-1, a character outside it (above U+00FF)
    /// becomes `?`.
    pub fn encode(self, text: &str) -> Cow<'_, [u8]> {
        match self {
            NameEncoding::Utf8 => Cow::Borrowed(text.as_bytes()),
            NameEncoding::Latin1 if text.is_ascii() => Cow::Borrowed(text.as_bytes()),
            NameEncoding::Latin1 => Cow::Owned(
                text.chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                    .collect(),
            ),
        }
    }

    /// The text of `raw` bytes; in UTF-8, the error of bytes that are not.
    pub fn decode(self, raw: &[u8]) -> Result<String, std::string::FromUtf8Error> {
        match self {
            NameEncoding::Utf8 => String::from_utf8(raw.to_vec()),
            NameEncoding::Latin1 => Ok(raw.iter().map(|&b| char::from(b)).collect()),
        }
    }

    /// Whether every character of `text` can be sent in this encoding.
    pub fn can_encode(self, text: &str) -> bool {
        match self {
            NameEncoding::Utf8 => true,
            NameEncoding::Latin1 => text.chars().all(|c| u32::from(c) <= 0xFF),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn latin1_is_one_byte_per_character() {
        let e = NameEncoding::Latin1;
        assert_eq!(
            e.encode("/latin1/caf\u{e9}.txt").as_ref(),
            b"/latin1/caf\xe9.txt"
        );
        assert_eq!(e.encode("\u{540d}x").as_ref(), b"?x");
        assert!(e.can_encode("\u{ff}") && !e.can_encode("\u{100}"));
        assert_eq!(NameEncoding::Utf8.encode("\u{e9}").as_ref(), b"\xc3\xa9");
    }

    proptest! {
        #[test]
        fn latin1_round_trips_any_bytes(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = NameEncoding::Latin1.decode(&raw).unwrap();
            prop_assert!(NameEncoding::Latin1.can_encode(&text));
            let encoded = NameEncoding::Latin1.encode(&text);
            prop_assert_eq!(encoded.as_ref(), &raw[..]);
        }
    }
}
