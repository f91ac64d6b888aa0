//! The control connection: the reply reader (RFC 959 §4.2 framing, capped), the stream
//! (plain or TLS), and its switches into TLS (AUTH TLS, RFC 4217 §4; implicit FTPS) and out
//! of it (CCC, RFC 4217 §6).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ftpspec_mock::tls::RecordReader;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;

use super::record::{Reply, StepRecord};
use super::tls;

/// Most lines in one reply.
pub(crate) const MAX_LINES: usize = 1000;
/// Most bytes in one reply (and in one line).
pub(crate) const MAX_BYTES: usize = 64 * 1024;

/// Turns bytes into replies, whatever the chunks they arrive in.
#[derive(Debug, Default)]
pub(crate) struct ReplyReader {
    /// Bytes not yet part of a line.
    buf: Vec<u8>,
    /// How much of `buf` has been searched for LF already.
    scanned: usize,
    /// A multi-line reply under way: its code, lines and bytes so far.
    pending: Option<(u16, Vec<String>, usize)>,
}

impl ReplyReader {
    /// Adds bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Whether bytes are held that are not yet a whole reply.
    pub fn holds_bytes(&self) -> bool {
        !self.buf.is_empty() || self.pending.is_some()
    }

    /// The next whole reply, `None` if more bytes are needed, or why the bytes are not a
    /// reply (then the connection is of no further use).
    pub fn next_reply(&mut self) -> Result<Option<Reply>, String> {
        loop {
            let held = self.pending.as_ref().map_or(0, |p| p.2);
            let Some(lf) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
                self.scanned = self.buf.len();
                if self.buf.len() + held > MAX_BYTES {
                    return Err(format!("reply longer than {MAX_BYTES} bytes"));
                }
                return Ok(None);
            };
            let end = self.scanned + lf;
            let raw: Vec<u8> = self.buf.drain(..=end).collect();
            self.scanned = 0;
            let bytes = raw.len();
            let body = raw[..raw.len() - 1]
                .strip_suffix(b"\r")
                .unwrap_or(&raw[..raw.len() - 1]);
            let line = String::from_utf8_lossy(body).into_owned();
            match self.pending.take() {
                None => {
                    let Some((code, more)) = first_line(body) else {
                        let shown: String = line.chars().take(80).collect();
                        return Err(format!("not an FTP reply line: {shown:?}"));
                    };
                    if !more {
                        return Ok(Some(Reply {
                            code,
                            lines: vec![line],
                        }));
                    }
                    self.pending = Some((code, vec![line], bytes));
                }
                Some((code, mut lines, held)) => {
                    let last = first_line(body) == Some((code, false));
                    lines.push(line);
                    let held = held + bytes;
                    if lines.len() > MAX_LINES || held > MAX_BYTES {
                        return Err(format!(
                            "multi-line {code} reply longer than {MAX_LINES} lines or {MAX_BYTES} bytes"
                        ));
                    }
                    if last {
                        return Ok(Some(Reply { code, lines }));
                    }
                    self.pending = Some((code, lines, held));
                }
            }
        }
    }
}

/// The code of a reply's first line, and whether more lines follow (`code-`).
fn first_line(body: &[u8]) -> Option<(u16, bool)> {
    let digits = body.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(b'1'..=b'5').contains(&digits[0]) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match body.get(3) {
        None | Some(b' ') => Some((code, false)),
        Some(b'-') => Some((code, true)),
        Some(_) => None,
    }
}

/// Why the control connection is of no further use.
#[derive(Debug)]
pub(crate) enum ControlError {
    /// Nothing within the timeout.
    Timeout(&'static str, Duration),
    /// The server closed the connection.
    Closed,
    /// The socket or TLS failed.
    Io(&'static str, io::Error),
    /// The server sent something that is not a reply.
    Garbage(String),
    /// A switch into or out of TLS failed.
    Tls(String),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::Timeout(what, t) => {
                write!(f, "control connection: no {what} within {t:?}")
            }
            ControlError::Closed => f.write_str("control connection closed by the server"),
            ControlError::Io(what, e) => write!(f, "control connection: {what}: {e}"),
            ControlError::Garbage(why) => write!(f, "control connection: {why}"),
            ControlError::Tls(why) => write!(f, "control connection TLS: {why}"),
        }
    }
}

/// The stream under the control connection.
enum Stream {
    Plain(TcpStream),
    /// Over a [`RecordReader`], so that after CCC no plaintext byte is lost in rustls.
    Tls(Box<TlsStream<RecordReader<TcpStream>>>),
}

/// One control connection.
pub(crate) struct Control {
    /// `None` only after a failed switch into or out of TLS.
    stream: Option<Stream>,
    reader: ReplyReader,
    timeout: Duration,
    /// The connection's local address (the probe's own address for active mode).
    pub local: SocketAddr,
}

/// `PASS` lines with their argument masked, for the record.
pub(crate) fn masked(line: &str) -> String {
    match line.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("PASS ") => format!("{p}****"),
        _ => line.to_owned(),
    }
}

impl Control {
    /// Connects (plain).
    pub async fn connect(addr: SocketAddr, wait: Duration) -> Result<Control, ControlError> {
        let tcp = match timeout(wait, TcpStream::connect(addr)).await {
            Err(_) => return Err(ControlError::Timeout("connection", wait)),
            Ok(Err(e)) => return Err(ControlError::Io("connecting", e)),
            Ok(Ok(tcp)) => tcp,
        };
        let _ = tcp.set_nodelay(true);
        let local = tcp
            .local_addr()
            .map_err(|e| ControlError::Io("local address", e))?;
        Ok(Control {
            stream: Some(Stream::Plain(tcp)),
            reader: ReplyReader::default(),
            timeout: wait,
            local,
        })
    }

    /// Whether the connection is under TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Some(Stream::Tls(_)))
    }

    /// Sends one command line (CRLF added).
    pub async fn send(&mut self, line: &str) -> Result<(), ControlError> {
        let bytes = format!("{line}\r\n");
        let wait = self.timeout;
        let write = async {
            match self.stream.as_mut() {
                Some(Stream::Plain(s)) => {
                    s.write_all(bytes.as_bytes()).await?;
                    s.flush().await
                }
                Some(Stream::Tls(s)) => {
                    s.write_all(bytes.as_bytes()).await?;
                    s.flush().await
                }
                None => Err(io::Error::from(io::ErrorKind::NotConnected)),
            }
        };
        match timeout(wait, write).await {
            Err(_) => Err(ControlError::Timeout("room to send a command", wait)),
            Ok(Err(e)) => Err(ControlError::Io("sending", e)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Reads one reply, waiting at most the timeout for each chunk. Cancel-safe: bytes read
    /// stay in the reader.
    pub async fn reply(&mut self) -> Result<Reply, ControlError> {
        self.reply_within(self.timeout).await
    }

    /// [`Control::reply`] with another timeout.
    pub async fn reply_within(&mut self, wait: Duration) -> Result<Reply, ControlError> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(reply) = self.reader.next_reply().map_err(ControlError::Garbage)? {
                return Ok(reply);
            }
            let read = async {
                match self.stream.as_mut() {
                    Some(Stream::Plain(s)) => s.read(&mut buf).await,
                    Some(Stream::Tls(s)) => s.read(&mut buf).await,
                    None => Err(io::Error::from(io::ErrorKind::NotConnected)),
                }
            };
            match timeout(wait, read).await {
                Err(_) => return Err(ControlError::Timeout("reply", wait)),
                Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(ControlError::Closed)
                }
                Ok(Err(e)) => return Err(ControlError::Io("reading", e)),
                Ok(Ok(0)) => return Err(ControlError::Closed),
                Ok(Ok(n)) => self.reader.feed(&buf[..n]),
            }
        }
    }

    /// Sends `line` and reads its reply, both recorded in `rec`.
    pub async fn command(
        &mut self,
        line: &str,
        rec: &mut StepRecord,
    ) -> Result<Reply, ControlError> {
        rec.sent.push(masked(line));
        self.send(line).await?;
        self.read_into(rec).await
    }

    /// Reads a reply and records it in `rec`.
    pub async fn read_into(&mut self, rec: &mut StepRecord) -> Result<Reply, ControlError> {
        let reply = self.reply().await?;
        rec.replies.push(reply.clone());
        Ok(reply)
    }

    /// Starts TLS (after a 234, or at once for implicit FTPS); returns the TLS version.
    pub async fn start_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<String, ControlError> {
        if self.reader.holds_bytes() {
            return Err(ControlError::Tls(
                "the server sent more after its 234, before the TLS handshake".into(),
            ));
        }
        let tcp = match self.stream.take() {
            Some(Stream::Plain(tcp)) => tcp,
            other => {
                self.stream = other;
                return Err(ControlError::Tls("already under TLS".into()));
            }
        };
        let connector = tokio_rustls::TlsConnector::from(config);
        let wait = self.timeout;
        match timeout(wait, connector.connect(name, RecordReader::new(tcp))).await {
            Err(_) => Err(ControlError::Timeout("TLS handshake", wait)),
            Ok(Err(e)) => Err(ControlError::Tls(format!("handshake failed: {e}"))),
            Ok(Ok(stream)) => {
                let version = tls::version(stream.get_ref().1);
                self.stream = Some(Stream::Tls(Box::new(stream)));
                Ok(version)
            }
        }
    }

    /// Ends TLS after a CCC the server accepted: sends close_notify, reads the server's (up
    /// to the timeout), and continues in plaintext. Returns whether the server's came.
    pub async fn clear_tls(&mut self) -> Result<bool, ControlError> {
        let mut tls = match self.stream.take() {
            Some(Stream::Tls(tls)) => tls,
            other => {
                self.stream = other;
                return Err(ControlError::Tls("CCC on a plaintext connection".into()));
            }
        };
        tls.get_mut().1.send_close_notify();
        let wait = self.timeout;
        match timeout(wait, tls.flush()).await {
            Err(_) => return Err(ControlError::Timeout("room to send close_notify", wait)),
            Ok(Err(e)) => return Err(ControlError::Io("sending close_notify", e)),
            Ok(Ok(())) => {}
        }
        let mut buf = [0u8; 4096];
        let notified = loop {
            match timeout(wait, tls.read(&mut buf)).await {
                Err(_) => break false,
                Ok(Ok(0)) => break true,
                Ok(Ok(n)) => self.reader.feed(&buf[..n]),
                Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(ControlError::Closed)
                }
                Ok(Err(e)) => return Err(ControlError::Io("reading close_notify", e)),
            }
        };
        let (records, _) = (*tls).into_inner();
        self.stream = Some(Stream::Plain(records.into_inner()));
        Ok(notified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn replies(chunks: &[&[u8]]) -> Result<Vec<Reply>, String> {
        let mut r = ReplyReader::default();
        let mut out = Vec::new();
        for chunk in chunks {
            r.feed(chunk);
            while let Some(reply) = r.next_reply()? {
                out.push(reply);
            }
        }
        Ok(out)
    }

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[rstest]
    #[case(b"220 hi\r\n", vec![reply(220, &["220 hi"])])]
    #[case(b"220 hi\n", vec![reply(220, &["220 hi"])])]
    #[case(b"200\r\n", vec![reply(200, &["200"])])]
    #[case(b"220-a\r\n b\r\n220-c\r\n220 d\r\n", vec![reply(220, &["220-a", " b", "220-c", "220 d"])])]
    #[case(b"211-x\r\n211\r\n331 p\r\n", vec![reply(211, &["211-x", "211"]), reply(331, &["331 p"])])]
    #[case(b"226-a\r\n226 b\r\n", vec![reply(226, &["226-a", "226 b"])])]
    #[case(b"550 \xff\xfe\r\n", vec![reply(550, &["550 \u{fffd}\u{fffd}"])])]
    fn reads_replies(#[case] wire: &[u8], #[case] want: Vec<Reply>) {
        assert_eq!(replies(&[wire]).unwrap(), want);
    }

    #[rstest]
    #[case(b"hello\r\n", "not an FTP reply line")]
    #[case(b"22 x\r\n", "not an FTP reply line")]
    #[case(b"220x\r\n", "not an FTP reply line")]
    #[case(b"620 x\r\n", "not an FTP reply line")]
    #[case(b"\r\n", "not an FTP reply line")]
    fn refuses_garbage(#[case] wire: &[u8], #[case] message: &str) {
        assert!(replies(&[wire]).unwrap_err().contains(message));
    }

    #[test]
    fn caps_long_replies() {
        let long = vec![b'x'; MAX_BYTES + 1];
        assert!(replies(&[b"220 ", &long])
            .unwrap_err()
            .contains("longer than"));
        let mut many = b"220-start\r\n".to_vec();
        for _ in 0..MAX_LINES {
            many.extend_from_slice(b" x\r\n");
        }
        assert!(replies(&[&many]).unwrap_err().contains("1000 lines"));
        let mut ok = b"220-start\r\n".to_vec();
        for _ in 0..MAX_LINES - 2 {
            ok.extend_from_slice(b" x\r\n");
        }
        ok.extend_from_slice(b"220 end\r\n");
        assert_eq!(replies(&[&ok]).unwrap()[0].lines.len(), MAX_LINES);
    }

    #[test]
    fn masks_pass() {
        assert_eq!(masked("PASS secret"), "PASS ****");
        assert_eq!(masked("pass secret"), "pass ****");
        assert_eq!(masked("USER alice"), "USER alice");
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_replies(cuts in proptest::collection::vec(0usize..200, 0..8)) {
            let wire: &[u8] = b"220-Welcome\r\n  to the\r\n220-server\r\n220 ready\r\n331 Password\r\n230-a\n230 b\n227 Entering Passive Mode (127,0,0,1,4,1).\r\n";
            let whole = replies(&[wire]).unwrap();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(wire.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut at = 0;
            for c in cuts {
                chunks.push(&wire[at..c]);
                at = c;
            }
            chunks.push(&wire[at..]);
            prop_assert_eq!(replies(&chunks).unwrap(), whole);
        }

        #[test]
        fn never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..6)) {
            let chunks: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            let _ = replies(&chunks);
        }

        #[test]
        fn reply_like_bytes_never_panic(text in "([1-6][0-9]{2}[ -]?[ -~]{0,20}\r?\n){0,10}") {
            let _ = replies(&[text.as_bytes()]);
        }
    }
}
