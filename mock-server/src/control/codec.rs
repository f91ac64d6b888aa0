//! Reads control lines with a length cap (RFC 959 §4.1.3 lines end in CRLF).
//!
//! Tolerates what real clients send: LF-only line ends, Telnet IAC sequences before `ABOR`
//! (RFC 959 §4.1.3, `IAC IP IAC DM`). Refuses, as a [`Line`] variant and never as a panic or an
//! error that ends the session: lines over the cap, invalid UTF-8, bare CR inside a line.
//! A server whose names are Latin-1 ([`LineReader::with_encoding`]) reads every byte as a
//! character, so no line is invalid.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::encoding::NameEncoding;

/// The default cap on one control line, in bytes.
pub const DEFAULT_MAX_LINE: usize = 4096;

/// A TLS record's header: content type, version (2 bytes), length (2 bytes).
const TLS_HEADER: usize = 5;

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
    /// a command was expected); the whole record (its 5-byte header says how long it is) was
    /// discarded, however the network split it.
    TlsHandshake,
}

impl Line {
    /// The line as the event log shows it: its text, or `<too long>`, `<TLS ClientHello>`.
    pub fn shown(&self) -> String {
        match self {
            Line::Text(t) | Line::BadUtf8(t) | Line::BareCr(t) => t.clone(),
            Line::TooLong => "<too long>".into(),
            Line::TlsHandshake => "<TLS ClientHello>".into(),
        }
    }
}

/// A line reader with a bounded buffer.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buf: BytesMut,
    max: usize,
    discarding: bool,
    /// The peer closed, seen by [`LineReader::peek_ready_line`]; `next_line` returns
    /// `Ok(None)` once the buffered lines are used up.
    eof: bool,
    /// A read error seen by [`LineReader::peek_ready_line`], returned by `next_line` once the
    /// buffered lines are used up.
    error: Option<std::io::Error>,
    /// How the bytes of a line become text (UTF-8 unless the server's names are Latin-1).
    encoding: NameEncoding,
    /// Bytes of a discarded TLS record still to come, dropped as they arrive.
    skip: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// Wraps `inner`; lines longer than `max` bytes are refused.
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            buf: BytesMut::with_capacity(512),
            max,
            discarding: false,
            eof: false,
            error: None,
            encoding: NameEncoding::Utf8,
            skip: 0,
        }
    }

    /// Reads lines in `encoding` (default UTF-8; with Latin-1 no line is [`Line::BadUtf8`]).
    pub fn with_encoding(mut self, encoding: NameEncoding) -> Self {
        self.encoding = encoding;
        self
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
            eof: false,
            error: None,
            encoding: NameEncoding::Utf8,
            skip: 0,
        }
    }

    /// The next line, or `Ok(None)` at end of stream. A partial last line without LF is
    /// dropped at end of stream (the peer closed mid-command).
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            self.drop_skipped();
            // A TLS handshake record at a line's start: its header's 5 bytes (or the end of
            // the stream) decide, so no line is read out of a record split by the network.
            let record = self.record_ahead();
            if record && (self.buf.len() >= TLS_HEADER || self.eof || self.error.is_some()) {
                self.take_record();
                return Ok(Some(Line::TlsHandshake));
            }
            if record {
                // The header is not complete yet: read on.
            } else if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let raw = self.buf.split_to(pos + 1);
                if std::mem::take(&mut self.discarding) || pos > self.max {
                    return Ok(Some(Line::TooLong));
                }
                return Ok(Some(decode(&raw[..pos], self.encoding)));
            }
            if self.buf.len() > self.max {
                self.buf.clear();
                self.discarding = true;
            }
            if self.discarding && !self.buf.is_empty() {
                self.buf.advance(self.buf.len());
            }
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            if self.eof {
                return Ok(None);
            }
            self.buf.reserve(1024);
            // Cancel-safe: `read_buf` moves bytes into `self.buf` only when it completes, and
            // every other piece of state lives in `self`.
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                // Once more round the loop: a record's header cut short still counts.
                self.eof = true;
            }
        }
    }

    /// Whether the buffer starts a TLS handshake record (content type 22, version major 3)
    /// where a line starts (not inside a line being discarded).
    fn record_ahead(&self) -> bool {
        !self.discarding && self.buf.starts_with(&[0x16, 0x03])
    }

    /// Discards the TLS record at the buffer's start: what is buffered of it now, the rest as
    /// it arrives.
    fn take_record(&mut self) {
        let len = match self.buf.get(3..TLS_HEADER) {
            Some(n) => TLS_HEADER + usize::from(u16::from_be_bytes([n[0], n[1]])),
            None => self.buf.len(),
        };
        let now = len.min(self.buf.len());
        self.buf.advance(now);
        self.skip = len - now;
    }

    /// Drops buffered bytes that belong to a TLS record already discarded.
    fn drop_skipped(&mut self) {
        let n = self.skip.min(self.buf.len());
        self.buf.advance(n);
        self.skip -= n;
    }

    /// Whether the peer has already sent its next line, found without waiting: the bytes
    /// already buffered, plus one read attempt that does not wait (polled once). The line
    /// stays buffered for [`LineReader::next_line`]; an end of stream or a read error met
    /// here is kept and returned by `next_line` after the buffered lines. Returns the line
    /// as the event log would show it (`<too long>`, `<TLS ClientHello>` for a handshake).
    /// With `read` false only the buffered bytes are looked at (for commands after which
    /// the stream changes hands, such as AUTH and CCC).
    pub fn peek_ready_line(&mut self, read: bool) -> Option<String> {
        if read
            && self.peek().is_none()
            && self.error.is_none()
            && !self.eof
            && self.buf.len() <= self.max
        {
            self.buf.reserve(1024);
            let read = std::pin::pin!(self.inner.read_buf(&mut self.buf));
            match read.poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(Ok(0)) => self.eof = true,
                Poll::Ready(Ok(_)) | Poll::Pending => {}
                Poll::Ready(Err(e)) => self.error = Some(e),
            }
        }
        self.drop_skipped();
        self.peek()
    }

    /// The next line in the buffer, as the log would show it, without taking it.
    fn peek(&self) -> Option<String> {
        if self.record_ahead() {
            return Some(Line::TlsHandshake.shown());
        }
        match self.buf.iter().position(|&b| b == b'\n') {
            Some(pos) if self.discarding || pos > self.max => Some(Line::TooLong.shown()),
            Some(pos) => Some(decode(&self.buf[..pos], self.encoding).shown()),
            None if self.buf.len() > self.max => Some(Line::TooLong.shown()),
            None => None,
        }
    }
}

fn decode(raw: &[u8], encoding: NameEncoding) -> Line {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let cleaned = strip_telnet(raw);
    match encoding.decode(&cleaned) {
        // Kept as received: the CR is the fact a verdict may need (a command injected after
        // it); displays escape it.
        Ok(text) if text.contains('\r') => Line::BareCr(text),
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

    /// Every line, with a peek (that may read) before each, as the session does.
    async fn peeking_lines<R: AsyncRead + Unpin>(mut r: LineReader<R>) -> Vec<Line> {
        let mut out = Vec::new();
        loop {
            r.peek_ready_line(true);
            match r.next_line().await.unwrap() {
                Some(l) => out.push(l),
                None => return out,
            }
        }
    }

    fn text(s: &str) -> Line {
        Line::Text(s.into())
    }

    #[rstest]
    #[case(b"USER a\r\nPASS b\r\n", vec![text("USER a"), text("PASS b")])]
    #[case(b"USER a\nPASS b\n", vec![text("USER a"), text("PASS b")])]
    #[case(b"NOOP\r\nQUIT", vec![text("NOOP")])]
    #[case(b"US\rER\r\n", vec![Line::BareCr("US\rER".into())])]
    #[case(b"\xff\xf4\xff\xf2ABOR\r\n", vec![text("ABOR")])]
    #[case(b"RETR \xff\xffx\r\n", vec![Line::BadUtf8("RETR \u{fffd}x".into())])]
    #[case(b"RETR \xc3\xa9\r\n", vec![text("RETR \u{e9}")])]
    #[case(b"\r\n", vec![text("")])]
    #[case(b"\x16\x03\x01\x02\x00\x01\n\x00", vec![Line::TlsHandshake])]
    #[case(b"NOOP\r\n\x16\x03\x01\x00", vec![text("NOOP"), Line::TlsHandshake])]
    // The record's length (2 bytes) is skipped, and the line after it read.
    #[case(b"\x16\x03\x01\x00\x02\n\nNOOP\r\n", vec![Line::TlsHandshake, text("NOOP")])]
    #[case(b"\x16\x03\n", vec![Line::TlsHandshake])]
    #[tokio::test]
    async fn splits(#[case] input: &[u8], #[case] expected: Vec<Line>) {
        assert_eq!(lines(input, 64).await, expected);
    }

    /// A Latin-1 server reads every byte as a character: no line is bad UTF-8, and a UTF-8
    /// sequence is read as its two Latin-1 characters. Telnet IAC handling is the same.
    #[rstest]
    #[case(b"RETR caf\xe9.txt\r\n", vec![text("RETR caf\u{e9}.txt")])]
    #[case(b"RETR \xff\xffx\r\n", vec![text("RETR \u{ff}x")])]
    #[case(b"RETR \xc3\xa9\r\n", vec![text("RETR \u{c3}\u{a9}")])]
    #[case(b"\xff\xf4\xff\xf2ABOR\r\n", vec![text("ABOR")])]
    #[case(b"US\rER\xe9\r\n", vec![Line::BareCr("US\rER\u{e9}".into())])]
    #[tokio::test]
    async fn latin1_lines(#[case] input: &[u8], #[case] expected: Vec<Line>) {
        let mut reader = LineReader::new(input, 64).with_encoding(NameEncoding::Latin1);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().await.unwrap() {
            out.push(line);
        }
        assert_eq!(out, expected);
        let mut r = LineReader::with_buffer(&b""[..], 64, BytesMut::from(input))
            .with_encoding(NameEncoding::Latin1);
        assert_eq!(r.peek_ready_line(false), Some(expected[0].shown()));
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

    /// A reader whose data arrives in pieces, with a pending poll between them, like a socket.
    fn pieces(parts: &[&'static [u8]]) -> tokio_test_reader::Pieces {
        tokio_test_reader::Pieces::new(parts)
    }

    mod tokio_test_reader {
        use std::pin::Pin;
        use std::task::{Context, Poll};
        use tokio::io::{AsyncRead, ReadBuf};

        /// Returns each part on its own read, with `Pending` before every part, then EOF
        /// (or an error, for a `b"<reset>"` part).
        pub struct Pieces {
            parts: Vec<&'static [u8]>,
            ready: bool,
        }

        impl Pieces {
            pub fn new(parts: &[&'static [u8]]) -> Self {
                // An empty part is left out: a read of nothing is the end of the stream, which
                // a socket never returns before its last byte.
                let parts = parts.iter().rev().copied().filter(|p| !p.is_empty());
                Pieces {
                    parts: parts.collect(),
                    ready: false,
                }
            }
        }

        impl AsyncRead for Pieces {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<std::io::Result<()>> {
                if !std::mem::replace(&mut self.ready, false) {
                    self.ready = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                match self.parts.pop() {
                    Some(b"<reset>") => Poll::Ready(Err(std::io::Error::other("reset"))),
                    Some(p) => {
                        let n = p.len().min(buf.remaining());
                        buf.put_slice(&p[..n]);
                        if n < p.len() {
                            self.parts.push(&p[n..]);
                        }
                        Poll::Ready(Ok(()))
                    }
                    None => Poll::Ready(Ok(())),
                }
            }
        }
    }

    /// A ClientHello the network split, even inside its header, is one record: nothing of it
    /// is read as a line (proptest found `16 03 | 0a` read as a handshake and an empty line).
    #[rstest]
    #[case(&[b"\x16\x03" as &[u8], b"\n" as &[u8]], vec![Line::TlsHandshake])]
    #[case(&[b"\x16" as &[u8], b"\x03\x01\x00\x02\n" as &[u8], b"\nNOOP\r\n" as &[u8]], vec![Line::TlsHandshake, text("NOOP")])]
    #[case(&[b"\x16\x03\x01\x00\x03\n" as &[u8], b"\n" as &[u8], b"\nQUIT\n" as &[u8]], vec![Line::TlsHandshake, text("QUIT")])]
    #[tokio::test]
    async fn a_record_split_by_the_network_is_one_record(
        #[case] parts: &[&'static [u8]],
        #[case] expected: Vec<Line>,
    ) {
        let whole: Vec<u8> = parts.concat();
        assert_eq!(lines(&whole, 64).await, expected, "read at once");
        let out = peeking_lines(LineReader::new(pieces(parts), 64)).await;
        assert_eq!(out, expected, "read in pieces");
    }

    #[tokio::test]
    async fn peeking_keeps_the_line_for_next_line() {
        let mut r = LineReader::new(pieces(&[b"USER a\r\nPA", b"SS b\r\n"]), 64);
        assert_eq!(r.peek_ready_line(true), None, "the first poll is pending");
        assert_eq!(r.peek_ready_line(true).as_deref(), Some("USER a"));
        assert_eq!(
            r.peek_ready_line(true).as_deref(),
            Some("USER a"),
            "peeking again reads nothing"
        );
        assert_eq!(r.next_line().await.unwrap(), Some(text("USER a")));
        assert_eq!(r.peek_ready_line(true), None, "half a line is not a line");
        assert_eq!(r.next_line().await.unwrap(), Some(text("PASS b")));
        assert_eq!(r.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_end_of_stream_seen_by_a_peek_is_not_lost() {
        let mut r = LineReader::new(pieces(&[b"NOOP\r\n"]), 64);
        assert_eq!(r.next_line().await.unwrap(), Some(text("NOOP")));
        assert_eq!(r.peek_ready_line(true), None);
        assert_eq!(r.peek_ready_line(true), None);
        assert!(r.eof, "the peek met the end of stream");
        assert_eq!(r.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_error_seen_by_a_peek_comes_after_the_buffered_lines() {
        let mut r = LineReader::new(pieces(&[b"NOOP\r\n", b"<reset>"]), 64);
        assert_eq!(r.peek_ready_line(true), None);
        assert_eq!(r.peek_ready_line(true).as_deref(), Some("NOOP"));
        assert_eq!(r.next_line().await.unwrap(), Some(text("NOOP")));
        assert_eq!(r.peek_ready_line(true), None);
        assert_eq!(r.peek_ready_line(true), None);
        assert_eq!(r.next_line().await.unwrap_err().to_string(), "reset");
    }

    #[rstest]
    #[case(b"\x16\x03\x01\x02\x00", "<TLS ClientHello>")]
    #[case(b"RETR \xc3\r\n", "RETR \u{fffd}")]
    #[case(&[b'A'; 100], "<too long>")]
    fn peeks_name_lines_as_the_log_does(#[case] input: &'static [u8], #[case] shown: &str) {
        let mut r = LineReader::with_buffer(&b""[..], 64, BytesMut::from(input));
        assert_eq!(r.peek_ready_line(true).as_deref(), Some(shown));
    }

    proptest! {
        /// Peeking between reads never changes the lines read.
        #[test]
        fn peeks_do_not_change_the_lines(input in proptest::collection::vec(any::<u8>(), 0..2_000), cut in 0usize..2_000) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let expected = rt.block_on(lines(&input, 128));
            let cut = cut.min(input.len());
            let (a, b) = input.split_at(cut);
            let (a, b): (&'static [u8], &'static [u8]) = (a.to_vec().leak(), b.to_vec().leak());
            let got = rt.block_on(peeking_lines(LineReader::new(pieces(&[a, b]), 128)));
            prop_assert_eq!(got, expected);
        }

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
