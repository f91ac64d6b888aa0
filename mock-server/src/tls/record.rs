//! [`RecordReader`]: reads TLS records one at a time, so that after CCC not one plaintext byte
//! has been swallowed by the TLS layer.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The first byte of a TLS record of one of the content types a peer sends after the
/// handshake (change_cipher_spec, alert, handshake, application_data).
pub(crate) fn is_tls_record_start(byte: u8) -> bool {
    (20..=23).contains(&byte)
}

/// Reads whole TLS records and nothing past them: each read returns at most the rest of the
/// current record (or of its 5-byte header), so when the TLS layer has seen a close_notify,
/// the bytes after it are still in the socket, and the control connection continues in
/// plaintext (CCC, RFC 4217 §6) without losing a command. The server uses it under its
/// control connections; an FTP client implementing CCC needs the same thing on its side.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use tokio::io::AsyncReadExt;
/// use ftpspec_mock::tls::RecordReader;
/// // A 3-byte record, then plaintext: the first reads stop at the record's end.
/// let wire: &[u8] = b"\x17\x03\x03\x00\x03abcPWD\r\n";
/// let mut records = RecordReader::new(wire);
/// let mut buf = [0u8; 64];
/// assert_eq!(records.read(&mut buf).await.unwrap(), 5); // the header
/// assert_eq!(records.read(&mut buf).await.unwrap(), 3); // the body, and no more
/// assert!(records.at_record_boundary());
/// # }
/// ```
#[derive(Debug)]
pub struct RecordReader<S> {
    inner: S,
    header: [u8; 5],
    header_len: usize,
    body_left: usize,
}

impl<S> RecordReader<S> {
    /// Wraps a byte stream that carries TLS records.
    pub fn new(inner: S) -> Self {
        RecordReader {
            inner,
            header: [0; 5],
            header_len: 0,
            body_left: 0,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, to write to (reading from it directly would desynchronise the
    /// record tracking).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// True between records (nothing of the next one read yet).
    pub fn at_record_boundary(&self) -> bool {
        self.header_len == 0 && self.body_left == 0
    }

    /// The wrapped stream, positioned just after the last whole record read.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn track(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                self.body_left -= n;
                bytes = &bytes[n..];
            } else {
                self.header[self.header_len] = bytes[0];
                self.header_len += 1;
                bytes = &bytes[1..];
                if self.header_len == 5 {
                    self.body_left =
                        usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                    self.header_len = 0;
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for RecordReader<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = if this.body_left > 0 {
            this.body_left
        } else {
            5 - this.header_len
        }
        .min(buf.remaining());
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        let dst = buf.initialize_unfilled_to(want);
        let mut sub = ReadBuf::new(dst);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut sub))?;
        let n = sub.filled().len();
        this.track(&dst[..n]);
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RecordReader<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn record_reader_stops_at_record_ends() {
        // Two records (5-byte headers, bodies of 3 and 0 bytes), then plaintext.
        let wire: &[u8] = b"\x17\x03\x03\x00\x03abc\x15\x03\x03\x00\x00PWD\r\n";
        let mut r = RecordReader::new(wire);
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while got.len() < 13 {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
            assert!(got.len() <= 13, "read past the records: {got:?}");
        }
        assert!(r.at_record_boundary());
        let mut rest = Vec::new();
        r.into_inner().read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"PWD\r\n");
    }
}
