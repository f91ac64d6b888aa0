//! Reads control lines with a length cap (RFC 959 §4.1.3 lines end in CRLF).
//!
//! Tolerates what real clients send: LF-only line ends, Telnet IAC sequences before `ABOR`
//! (RFC 959 §4.1.3, `IAC IP IAC DM`). Refuses, as a [`Line`] variant and never as a panic or an
//! error that ends the session: lines over the cap, invalid UTF-8, bare CR inside a line.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The default cap on one control line, in bytes.
pub const DEFAULT_MAX_LINE: usize = 4096;

/// One line read from the control connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A well-formed line, without its line end.
    Text(String),
    /// The line exceeded the cap; its bytes were discarded up to the next LF.
    TooLong,
    /// The line was not valid UTF-8 (lossily decoded for the log).
    BadUtf8(String),
    /// The line contained a CR not followed by LF.
    BareCr(String),
    /// The bytes at the start of a line are a TLS handshake record (a ClientHello sent where
    /// a command was expected); they were discarded.
    TlsHandshake,
}

/// A line reader with a bounded buffer.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buf: BytesMut,
    max: usize,
    discarding: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// Wraps `inner`; lines longer than `max` bytes are refused.
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            buf: BytesMut::with_capacity(512),
            max,
            discarding: false,
        }
    }

    /// Bytes received but not yet returned as a line (must be empty before a TLS upgrade).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The wrapped reader and the bytes read but not yet returned as lines.
    pub fn into_parts(self) -> (R, BytesMut) {
        (self.inner, self.buf)
    }

    /// A reader that first returns lines from `buffered` (bytes already read from the
    /// connection, e.g. commands sent before a CCC took effect).
    pub fn with_buffer(inner: R, max: usize, buffered: BytesMut) -> Self {
        LineReader {
            inner,
            buf: buffered,
            max,
            discarding: false,
        }
    }

    /// The next line, or `Ok(None)` at end of stream. A partial last line without LF is
    /// dropped at end of stream (the peer closed mid-command).
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            // A TLS handshake record: content type 22, version major 3.
            if self.buf.starts_with(&[0x16, 0x03]) {
                self.buf.clear();
                return Ok(Some(Line::TlsHandshake));
            }
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let raw = self.buf.split_to(pos + 1);
                if std::mem::take(&mut self.discarding) || pos > self.max {
                    return Ok(Some(Line::TooLong));
                }
                return Ok(Some(decode(&raw[..pos])));
            }
            if self.buf.len() > self.max {
                self.buf.clear();
                self.discarding = true;
            }
            if self.discarding && !self.buf.is_empty() {
                self.buf.advance(self.buf.len());
            }
            self.buf.reserve(1024);
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }
}

fn decode(raw: &[u8]) -> Line {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let cleaned = strip_telnet(raw);
    match String::from_utf8(cleaned) {
        Ok(text) if text.contains('\r') => Line::BareCr(text.replace('\r', "\\r")),
        Ok(text) => Line::Text(text),
        Err(e) => Line::BadUtf8(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Removes Telnet commands (`IAC x`, and `IAC WILL/WONT/DO/DONT opt`); `IAC IAC` is a literal
/// 0xFF byte.
fn strip_telnet(raw: &[u8]) -> Vec<u8> {
    const IAC: u8 = 0xFF;
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != IAC {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        match raw.get(i + 1) {
            Some(&IAC) => {
                out.push(IAC);
                i += 2;
            }
            Some(251..=254) => i += 3,
            Some(_) => i += 2,
            None => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    async fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().await.unwrap() {
            out.push(line);
        }
        out
    }

    fn text(s: &str) -> Line {
        Line::Text(s.into())
    }

    #[rstest]
    #[case(b"USER a\r\nPASS b\r\n", vec![text("USER a"), text("PASS b")])]
    #[case(b"USER a\nPASS b\n", vec![text("USER a"), text("PASS b")])]
    #[case(b"NOOP\r\nQUIT", vec![text("NOOP")])]
    #[case(b"US\rER\r\n", vec![Line::BareCr("US\\rER".into())])]
    #[case(b"\xff\xf4\xff\xf2ABOR\r\n", vec![text("ABOR")])]
    #[case(b"RETR \xff\xffx\r\n", vec![Line::BadUtf8("RETR \u{fffd}x".into())])]
    #[case(b"RETR \xc3\xa9\r\n", vec![text("RETR \u{e9}")])]
    #[case(b"\r\n", vec![text("")])]
    #[case(b"\x16\x03\x01\x02\x00\x01\n\x00", vec![Line::TlsHandshake])]
    #[case(b"NOOP\r\n\x16\x03\x01\x00", vec![text("NOOP"), Line::TlsHandshake])]
    #[tokio::test]
    async fn splits(#[case] input: &[u8], #[case] expected: Vec<Line>) {
        assert_eq!(lines(input, 64).await, expected);
    }

    #[tokio::test]
    async fn long_lines_are_refused_and_the_next_line_still_reads() {
        let mut input = vec![b'A'; 10_000];
        input.extend_from_slice(b"\r\nNOOP\r\n");
        assert_eq!(lines(&input, 4096).await, vec![Line::TooLong, text("NOOP")]);
    }

    #[tokio::test]
    async fn a_line_exactly_at_the_cap_is_kept() {
        let mut input = vec![b'A'; 62];
        input.extend_from_slice(b"\r\n");
        assert_eq!(lines(&input, 64).await, vec![text(&"A".repeat(62))]);
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic_and_memory_stays_bounded(input in proptest::collection::vec(any::<u8>(), 0..20_000)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let out = rt.block_on(lines(&input, 256));
            for line in out {
                if let Line::Text(t) | Line::BareCr(t) | Line::BadUtf8(t) = line {
                    prop_assert!(t.len() <= 256 * 4);
                }
            }
        }
    }
}
