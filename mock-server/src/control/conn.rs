//! The control connection's plumbing, apart from any command: reading lines, writing replies
//! (shared with the transfer task), and swapping the stream into TLS (AUTH, implicit FTPS)
//! and back out of it (CCC) without losing a byte the client sent.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_util::either::Either;

use crate::control::codec::{Line, LineReader};
use crate::control::reply::Reply;
use crate::encoding::NameEncoding;
use crate::events::{ControlEnd, EventKind, TlsInfo};
use crate::script::{Pad, Shape};
use crate::state::Shared;
use crate::tls::{is_tls_record_start, RecordReader, SessionConfigs};

/// The control connection under TLS: records are read one at a time so CCC can hand the
/// socket back exactly at the end of the client's close_notify.
pub(crate) type ControlTls = tokio_rustls::server::TlsStream<RecordReader<TcpStream>>;

/// The control connection: plain TCP, or TLS after AUTH TLS (or from the start, implicit).
pub(crate) type ControlIo = Either<TcpStream, Box<ControlTls>>;

/// The writing side of the control connection, shared with the transfer task. `None` only
/// while the connection is being switched to or from TLS.
pub(crate) struct Out {
    /// The writer; `None` while the stream is being switched.
    pub(crate) w: Option<WriteHalf<ControlIo>>,
    /// Where replies are logged.
    shared: Arc<Shared>,
    /// The session the replies belong to.
    session: u64,
    /// How the next write is shaped (a mock's `pad` and `pipeline`); used up by it.
    shape: Shape,
    /// Replies with a code of 200 or more written so far (completion replies, not 1xx).
    finals: u64,
}

impl Out {
    /// Sends a reply (and logs it).
    pub(crate) async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        self.send_all(std::slice::from_ref(reply)).await
    }

    /// Sends replies in one write (and logs each).
    pub(crate) async fn send_all(&mut self, replies: &[Reply]) -> io::Result<()> {
        let eol = self.shared.cfg.line_ending;
        let parts = replies
            .iter()
            .map(|r| (r.code, r.encode_with(eol)))
            .collect();
        self.write(parts).await
    }

    /// Writes `parts` (code and text) in one write, in the server's name encoding (Latin-1
    /// or UTF-8; the log keeps the text), shaped by `self.shape` (padding on the
    /// first part, pipelined bytes right after it), and logs each part.
    async fn write(&mut self, mut parts: Vec<(u16, String)>) -> io::Result<()> {
        let w = self.w.as_mut().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "control connection is closing")
        })?;
        let shape = std::mem::take(&mut self.shape);
        if let (Some(pad), Some((code, text))) = (shape.pad, parts.first_mut()) {
            *text = padded(*code, text, pad, self.shared.cfg.line_ending.as_str());
        }
        let pipeline = shape.pipeline.map(|text| (0, text));
        parts.splice(1.min(parts.len())..1.min(parts.len()), pipeline);
        let mut bytes = Vec::with_capacity(parts.iter().map(|(_, t)| t.len()).sum());
        let encoding = self.shared.cfg.name_encoding;
        for (_, text) in &parts {
            bytes.extend_from_slice(&encoding.encode(text));
        }
        match self.shared.cfg.reply_byte_delay {
            None => {
                w.write_all(&bytes).await?;
                w.flush().await?;
            }
            Some(delay) => {
                // One byte per write and flush: with TCP_NODELAY, one segment each.
                for (i, byte) in bytes.iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(delay).await;
                    }
                    w.write_all(std::slice::from_ref(byte)).await?;
                    w.flush().await?;
                }
            }
        }
        for (code, text) in parts {
            if code >= 200 {
                self.finals += 1;
            }
            self.shared
                .log(self.session, EventKind::Reply { code, text });
        }
        Ok(())
    }

    /// Sends `text` exactly as given (its first three characters are logged as the code).
    pub(crate) async fn send_raw(&mut self, text: &str) -> io::Result<()> {
        let code = text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        self.write(vec![(code, text.to_owned())]).await
    }
}

/// `text` (one reply, or any text) with `pad.lines` filler lines before its final line, each
/// `CODE-` and `pad.line_bytes` filler bytes, built in one buffer.
fn padded(code: u16, text: &str, pad: Pad, eol: &str) -> String {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let last = body.rfind('\n').map_or(0, |i| i + 1);
    let prefix = match text.get(last..last + 3) {
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.to_owned(),
        _ => format!("{code:03}"),
    };
    let mut filler = String::with_capacity(prefix.len() + 1 + pad.line_bytes + eol.len());
    filler.push_str(&prefix);
    filler.push('-');
    filler.extend(std::iter::repeat_n('x', pad.line_bytes));
    filler.push_str(eol);
    let mut out = String::with_capacity(text.len() + filler.len() * pad.lines);
    out.push_str(&text[..last]);
    for _ in 0..pad.lines {
        out.push_str(&filler);
    }
    out.push_str(&text[last..]);
    out
}

/// The writing side, as the session and its transfer task share it.
pub(crate) type SharedOut = Arc<Mutex<Out>>;

/// One control connection: the line reader and the shared writer over the same stream.
pub(crate) struct ControlConn {
    /// Reads command lines; `None` only while the stream is being switched to or from TLS.
    reader: Option<LineReader<ReadHalf<ControlIo>>>,
    /// Writes replies; shared with the transfer task.
    pub(crate) out: SharedOut,
    /// Longest command line accepted, in bytes.
    max_line: usize,
    /// How command lines are decoded (the server's name encoding).
    encoding: NameEncoding,
}

/// How long CCC waits for the client to close TLS first before the server does.
const CCC_CLIENT_FIRST: Duration = Duration::from_millis(500);

/// How long CCC waits for the client's close_notify when the client already sent its next
/// command (pipelined) and may be waiting for the reply.
const CCC_GRACE: Duration = Duration::from_secs(1);

/// What CCC does when the client has sent nothing for a while.
enum Quiet {
    /// Send the server's close_notify first.
    SendOurs,
    /// Take it that the client went on in plaintext without close_notify.
    Plaintext,
    /// Give up: the idle timeout.
    Idle,
}

impl ControlConn {
    /// A connection with no stream yet: give it one with [`ControlConn::put_stream`] or
    /// [`ControlConn::accept_tls`].
    pub(crate) fn new(shared: Arc<Shared>, session: u64) -> ControlConn {
        let max_line = shared.cfg.max_line;
        let encoding = shared.cfg.name_encoding;
        ControlConn {
            reader: None,
            out: Arc::new(Mutex::new(Out {
                w: None,
                shared,
                session,
                shape: Shape::default(),
                finals: 0,
            })),
            max_line,
            encoding,
        }
    }

    /// The next line; `None` at end of stream (or while the stream is being switched).
    pub(crate) async fn read_line(&mut self) -> io::Result<Option<Line>> {
        match &mut self.reader {
            Some(r) => r.next_line().await,
            None => Ok(None),
        }
    }

    /// Whether the client has already sent its next line, found without waiting (see
    /// [`LineReader::peek_ready_line`]); the line stays for [`ControlConn::read_line`].
    pub(crate) fn peek_ready_line(&mut self, read: bool) -> Option<String> {
        self.reader.as_mut()?.peek_ready_line(read)
    }

    /// Shapes the next write (a mock's `pad` and `pipeline`), whoever makes it: the session
    /// or, for a transfer, its task.
    pub(crate) async fn set_shape(&self, shape: Shape) {
        self.out.lock().await.shape = shape;
    }

    /// Drops a shape no write used (the command sent no reply).
    pub(crate) async fn clear_shape(&self) {
        self.out.lock().await.shape = Shape::default();
    }

    /// How many completion replies (code 200 or more) have been written.
    pub(crate) async fn finals(&self) -> u64 {
        self.out.lock().await.finals
    }

    /// Sends a reply (and logs it).
    pub(crate) async fn send(&self, reply: &Reply) -> io::Result<()> {
        self.out.lock().await.send(reply).await
    }

    /// Sends `text` exactly as given.
    pub(crate) async fn send_raw(&self, text: &str) -> io::Result<()> {
        self.out.lock().await.send_raw(text).await
    }

    /// Closes the writing side (under TLS, with close_notify).
    pub(crate) async fn shutdown(&self) {
        if let Some(w) = self.out.lock().await.w.as_mut() {
            let _ = w.shutdown().await;
        }
    }

    /// Takes the stream out of the reader and writer (to switch it to or from TLS), with the
    /// bytes read but not yet handled as commands.
    pub(crate) async fn take_stream(&mut self) -> Option<(ControlIo, BytesMut)> {
        let reader = self.reader.take()?;
        let writer = self.out.lock().await.w.take()?;
        let (read_half, buffered) = reader.into_parts();
        Some((read_half.unsplit(writer), buffered))
    }

    /// Puts a (switched) stream back into service, `buffered` first.
    pub(crate) async fn put_stream(&mut self, io: ControlIo, buffered: BytesMut) {
        let (r, w) = tokio::io::split(io);
        self.reader =
            Some(LineReader::with_buffer(r, self.max_line, buffered).with_encoding(self.encoding));
        self.out.lock().await.w = Some(w);
    }

    /// The server side of a TLS handshake on `tcp`, within `timeout`; on success the TLS
    /// stream is put into service. On failure, why.
    pub(crate) async fn accept_tls(
        &mut self,
        tcp: TcpStream,
        configs: &SessionConfigs,
        timeout: Duration,
    ) -> Result<TlsInfo, String> {
        let acceptor = tokio_rustls::TlsAcceptor::from(configs.control.clone());
        let issued = configs.tickets.now();
        match tokio::time::timeout(timeout, acceptor.accept(RecordReader::new(tcp))).await {
            Ok(Ok(stream)) => {
                let info = crate::tls::describe(stream.get_ref().1, configs.tickets.now() - issued);
                self.put_stream(Either::Right(Box::new(stream)), BytesMut::new())
                    .await;
                Ok(info)
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no TLS handshake within {timeout:?}")),
        }
    }
}

/// Ends TLS on a control connection for CCC, leaving the socket exactly after the last TLS
/// record: true if the client sent close_notify, false if it went on in plaintext without
/// one. Bytes decrypted meanwhile (pipelined commands) are added to `buffered`.
///
/// Who closes TLS first differs between clients: lftp (GnuTLS), ftplib and curl's active CCC
/// mode send close_notify and then read the server's, and lftp takes a close_notify that
/// arrives before it sent its own for the server hanging up; curl's passive mode waits for
/// the server's. So the server waits a moment for the client's close_notify and answers it,
/// and otherwise sends its own first. A client that goes straight on in plaintext gets none
/// (its next reply would start with TLS bytes).
pub(crate) async fn clear_tls(
    tls: &mut ControlTls,
    buffered: &mut BytesMut,
    idle: Duration,
) -> io::Result<Result<bool, ControlEnd>> {
    let mut sent_ours = false;
    let client_close_notify = loop {
        let (limit, on_timeout) = if !sent_ours {
            (CCC_CLIENT_FIRST, Quiet::SendOurs)
        } else if buffered.contains(&b'\n') {
            // A pipelined command may be waiting for its reply: do not wait long.
            (CCC_GRACE, Quiet::Plaintext)
        } else {
            (idle, Quiet::Idle)
        };
        if tls.get_ref().0.at_record_boundary() {
            let mut first = [0u8; 1];
            match tokio::time::timeout(limit, tls.get_ref().0.get_ref().peek(&mut first)).await {
                Err(_) => match on_timeout {
                    Quiet::SendOurs => {
                        tls.get_mut().1.send_close_notify();
                        tls.flush().await?;
                        sent_ours = true;
                        continue;
                    }
                    Quiet::Plaintext => break false,
                    Quiet::Idle => return Ok(Err(ControlEnd::IdleTimeout)),
                },
                Ok(Err(e)) => return Err(e),
                Ok(Ok(0)) => return Ok(Err(ControlEnd::ClientClosed)),
                Ok(Ok(_)) if !is_tls_record_start(first[0]) => break false,
                Ok(Ok(_)) => {}
            }
        }
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout(idle, tls.read(&mut chunk)).await {
            Err(_) => return Ok(Err(ControlEnd::IdleTimeout)),
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => buffered.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => {
                return Ok(Err(ControlEnd::Error(format!(
                    "TLS error while clearing the control connection (CCC): {e}"
                ))))
            }
        }
    };
    if client_close_notify && !sent_ours {
        tls.get_mut().1.send_close_notify();
        tls.flush().await?;
    }
    Ok(Ok(client_close_notify))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_goes_before_the_final_line() {
        let pad = |lines, line_bytes| Pad { lines, line_bytes };
        assert_eq!(
            padded(230, "230 ok\r\n", pad(2, 3), "\r\n"),
            "230-xxx\r\n230-xxx\r\n230 ok\r\n"
        );
        assert_eq!(
            padded(211, "211-a\r\n b\r\n211 End\r\n", pad(1, 0), "\n"),
            "211-a\r\n b\r\n211-\n211 End\r\n"
        );
        assert_eq!(padded(0, "no end", pad(1, 1), "\r\n"), "000-x\r\nno end");
        let big = padded(200, "200 ok\r\n", pad(1000, 60), "\r\n");
        assert_eq!(big.len(), 1000 * 66 + 8);
        assert_eq!(big.lines().count(), 1001);
    }
}
