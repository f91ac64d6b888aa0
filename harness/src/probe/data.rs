//! Data connections: PASV/EPSV (connect where the server says) and PORT/EPRT (listen and
//! accept), TLS on them (PROT P, RFC 4217 §9), and moving the bytes: verified downloads,
//! generated uploads, listings, and ABOR during a download (RFC 959 §4.1.3).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ftpspec_mock::{generated, wire};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use super::control::{masked, Control, ControlError};
use super::record::{DataRecord, DataTls, Reply, StepRecord};
use super::steps::Via;
use super::target::ProbeTarget;
use super::tls::{self, SessionTls};

/// Why a step stopped before its end.
#[derive(Debug)]
pub(crate) enum Halt {
    /// The server's reply ended it (refused, failed): recorded, not an error of the probe's.
    Reply,
    /// Something failed; the step records why and the session goes on.
    Error(String),
    /// The control connection is of no further use: the session ends.
    Fatal(ControlError),
}

impl From<ControlError> for Halt {
    fn from(e: ControlError) -> Halt {
        Halt::Fatal(e)
    }
}

/// What a data connection needs from the session.
pub(crate) struct DataCtx<'a> {
    /// The target (control address, ports, timeout).
    pub target: &'a ProbeTarget,
    /// The probe's own address.
    pub own_ip: IpAddr,
    /// Spreads active ports over concurrent sessions.
    pub ports: &'a AtomicU32,
    /// The session's TLS, when PROT P is in effect.
    pub tls: Option<&'a SessionTls>,
}

/// A data connection on its way: connected (passive) or listening (active).
pub(crate) enum Opening {
    Connected(TcpStream),
    Listening(TcpListener),
}

/// Sends PASV/EPSV (and connects) or PORT/EPRT (after binding a listener).
pub(crate) async fn open(
    ctl: &mut Control,
    via: Via,
    ctx: &DataCtx<'_>,
    rec: &mut StepRecord,
    data: &mut DataRecord,
) -> Result<Opening, Halt> {
    let wait = ctx.target.timeout;
    match via {
        Via::Pasv | Via::Epsv => {
            let reply = ctl.command(via.command(), rec).await?;
            let addr = match (via, reply.code) {
                (Via::Pasv, 227) => wire::parse_227(&reply.text()).map(SocketAddr::V4),
                (Via::Epsv, 229) => wire::parse_229(&reply.text())
                    .map(|port| SocketAddr::new(ctx.target.control.ip(), port)),
                _ => return Err(Halt::Reply),
            }
            .map_err(|e| Halt::Error(format!("unreadable {} reply: {e}", reply.code)))?;
            data.advertised = Some(addr);
            match timeout(wait, TcpStream::connect(addr)).await {
                Ok(Ok(tcp)) => {
                    data.connected = Some(addr);
                    let _ = tcp.set_nodelay(true);
                    Ok(Opening::Connected(tcp))
                }
                Ok(Err(e)) => Err(data_error(data, format!("connecting to {addr}: {e}"))),
                Err(_) => Err(data_error(
                    data,
                    format!("connecting to {addr}: no answer within {wait:?}"),
                )),
            }
        }
        Via::Port | Via::Eprt => {
            let listener = bind(ctx).map_err(|e| data_error(data, e))?;
            let addr = listener
                .local_addr()
                .map_err(|e| data_error(data, format!("listener address: {e}")))?;
            let arg = match (via, addr) {
                (Via::Port, SocketAddr::V4(v4)) => wire::format_host_port(v4),
                (Via::Port, SocketAddr::V6(_)) => {
                    return Err(data_error(data, "PORT cannot name an IPv6 address".into()))
                }
                _ => wire::format_eprt(addr),
            };
            let reply = ctl
                .command(&format!("{} {arg}", via.command()), rec)
                .await?;
            if reply.code / 100 != 2 {
                return Err(Halt::Reply);
            }
            Ok(Opening::Listening(listener))
        }
    }
}

/// Records a data connection error and stops the step with it.
fn data_error(data: &mut DataRecord, error: String) -> Halt {
    data.error = Some(error.clone());
    Halt::Error(error)
}

/// A listener on the probe's address, on the next free port of `active_ports`.
fn bind(ctx: &DataCtx<'_>) -> Result<TcpListener, String> {
    let (lo, hi) = (
        *ctx.target.active_ports.start(),
        *ctx.target.active_ports.end(),
    );
    if lo > hi {
        return Err("the target's active port range is empty".into());
    }
    let len = u32::from(hi - lo) + 1;
    let mut last = None;
    for _ in 0..len {
        let port = lo + (ctx.ports.fetch_add(1, Ordering::Relaxed) % len) as u16;
        let std_listener = std::net::TcpListener::bind(SocketAddr::new(ctx.own_ip, port))
            .and_then(|l| l.set_nonblocking(true).map(|()| l));
        match std_listener.and_then(TcpListener::from_std) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(format!(
        "no free port in {lo}..={hi} on {}: {}",
        ctx.own_ip,
        last.map_or_else(String::new, |e| e.to_string())
    ))
}

/// Whether a reply is preliminary (1xx: the transfer starts).
fn preliminary(reply: &Reply) -> bool {
    reply.code / 100 == 1
}

/// A data connection the transfer runs on.
pub(crate) struct Started {
    /// The connection.
    pub tcp: TcpStream,
    /// The final reply came (and was recorded) already: the server finished before the
    /// probe accepted its connection.
    pub final_read: bool,
}

/// Sends the transfer command and gets the data connection: the passive one made already,
/// or the server's connection to the listener. A reply other than 1xx ends the step.
pub(crate) async fn start(
    ctl: &mut Control,
    opening: Opening,
    line: &str,
    ctx: &DataCtx<'_>,
    rec: &mut StepRecord,
    data: &mut DataRecord,
) -> Result<Started, Halt> {
    rec.sent.push(masked(line));
    ctl.send(line).await?;
    let wait = ctx.target.timeout;
    let listener = match opening {
        Opening::Connected(tcp) => {
            if !preliminary(&ctl.read_into(rec).await?) {
                return Err(Halt::Reply);
            }
            return Ok(Started {
                tcp,
                final_read: false,
            });
        }
        Opening::Listening(l) => l,
    };
    let mut accepted = None;
    let first = tokio::select! {
        biased;
        a = timeout(wait, listener.accept()) => {
            accepted = Some(a);
            ctl.reply().await?
        }
        reply = ctl.reply() => reply?,
    };
    rec.replies.push(first.clone());
    if !preliminary(&first) {
        return Err(Halt::Reply);
    }
    let mut final_read = false;
    let accepted = match accepted {
        Some(a) => a,
        // The connection first; a reply before it ends the step if it is a failure, and
        // if it is the final 2xx (a small transfer, done already), the connection is
        // waiting in the listener.
        None => tokio::select! {
            biased;
            a = timeout(wait, listener.accept()) => a,
            reply = ctl.reply() => {
                let reply = reply?;
                let failed = reply.code / 100 != 2;
                rec.replies.push(reply);
                if failed {
                    data.error = Some("the server replied instead of connecting".into());
                    return Err(Halt::Reply);
                }
                final_read = true;
                timeout(wait, listener.accept()).await
            }
        },
    };
    match accepted {
        Ok(Ok((tcp, peer))) => {
            data.connected = Some(peer);
            let _ = tcp.set_nodelay(true);
            Ok(Started { tcp, final_read })
        }
        Ok(Err(e)) => Err(after_start(ctl, rec, data, format!("accepting: {e}"), final_read).await),
        Err(_) => Err(after_start(
            ctl,
            rec,
            data,
            format!("the server did not connect within {wait:?}"),
            final_read,
        )
        .await),
    }
}

/// After a 1xx, the data connection failed: record why and read the final reply.
pub(crate) async fn after_start(
    ctl: &mut Control,
    rec: &mut StepRecord,
    data: &mut DataRecord,
    error: String,
    final_read: bool,
) -> Halt {
    data.error = Some(error.clone());
    if final_read {
        return Halt::Error(error);
    }
    match ctl.read_into(rec).await {
        Ok(_) => Halt::Error(error),
        Err(e) => Halt::Fatal(e),
    }
}

/// A data stream, plain or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An established data connection.
pub(crate) struct Data {
    stream: Box<dyn Io>,
    /// TLS 1.3 tickets received on it (TLS only).
    tickets: Option<Arc<AtomicU32>>,
    timeout: Duration,
}

/// Makes the data connection TLS when PROT P is in effect (resuming the control
/// connection's session unless `resume` is false).
pub(crate) async fn secure(
    tcp: TcpStream,
    ctx: &DataCtx<'_>,
    resume: bool,
    data: &mut DataRecord,
) -> Result<Data, String> {
    let wait = ctx.target.timeout;
    let Some(session) = ctx.tls else {
        return Ok(Data {
            stream: Box::new(tcp),
            tickets: None,
            timeout: wait,
        });
    };
    let (config, tickets) = session.data(resume);
    let connector = tokio_rustls::TlsConnector::from(config);
    match timeout(wait, connector.connect(session.name.clone(), tcp)).await {
        Err(_) => Err(format!("no TLS handshake within {wait:?}")),
        Ok(Err(e)) => Err(format!("TLS handshake failed: {e}")),
        Ok(Ok(stream)) => {
            let conn = stream.get_ref().1;
            data.tls = Some(DataTls {
                resumed: tls::resumed(conn),
                tickets: 0,
                close_notify: false,
                version: tls::version(conn),
            });
            Ok(Data {
                stream: Box::new(stream),
                tickets: Some(tickets),
                timeout: wait,
            })
        }
    }
}

/// What a download does with its bytes.
pub(crate) enum Sink {
    /// Compare with the generated content from this offset.
    Verify(u64),
    /// Keep as listing text (up to 64 KiB).
    Listing(Vec<u8>),
}

/// Most bytes of a listing kept.
const LISTING_CAP: usize = 64 * 1024;

impl Data {
    /// Reads until the server closes (or `limit` bytes in all have been read); returns
    /// whether the connection ended.
    pub async fn read(
        &mut self,
        sink: &mut Sink,
        limit: Option<u64>,
        data: &mut DataRecord,
    ) -> bool {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let room = limit.map_or(buf.len() as u64, |l| {
                l.saturating_sub(data.bytes).min(buf.len() as u64)
            });
            if room == 0 {
                return false;
            }
            let n = match timeout(self.timeout, self.stream.read(&mut buf[..room as usize])).await {
                Err(_) => {
                    data.error = Some(format!("no data within {:?}", self.timeout));
                    self.ended(data, false);
                    return true;
                }
                Ok(Ok(0)) => {
                    self.ended(data, true);
                    return true;
                }
                Ok(Err(e))
                    if e.kind() == io::ErrorKind::UnexpectedEof && self.tickets.is_some() =>
                {
                    // TCP closed without close_notify.
                    self.ended(data, false);
                    return true;
                }
                Ok(Err(e)) => {
                    data.error = Some(format!("reading: {e}"));
                    self.ended(data, false);
                    return true;
                }
                Ok(Ok(n)) => n,
            };
            let chunk = &buf[..n];
            match sink {
                Sink::Verify(offset) => {
                    if data.first_mismatch.is_none() {
                        if let Err(at) = generated::verify(*offset + data.bytes, chunk) {
                            data.first_mismatch = Some(at);
                        }
                    }
                    data.verified = Some(data.first_mismatch.is_none());
                }
                Sink::Listing(text) => {
                    let keep = LISTING_CAP.saturating_sub(text.len()).min(n);
                    text.extend_from_slice(&chunk[..keep]);
                }
            }
            data.bytes += n as u64;
        }
    }

    /// Records the end of the server's side: close_notify and tickets.
    fn ended(&self, data: &mut DataRecord, close_notify: bool) {
        if let (Some(tls), Some(tickets)) = (data.tls.as_mut(), &self.tickets) {
            tls.close_notify = close_notify;
            tls.tickets = tickets.load(Ordering::Relaxed);
        }
    }

    /// Sends `size` bytes of generated content, then ends the probe's side (close_notify
    /// under TLS) and, under TLS, reads the server's end.
    pub async fn write(&mut self, size: u64, data: &mut DataRecord) {
        while data.bytes < size {
            // 64 KiB a write: the timeout is how long the server may take one.
            let n = (size - data.bytes).min(64 * 1024) as usize;
            let chunk = generated::window(data.bytes, n);
            match timeout(self.timeout, self.stream.write_all(chunk)).await {
                Err(_) => {
                    data.error = Some(format!("the server took no data for {:?}", self.timeout));
                    return;
                }
                Ok(Err(e)) => {
                    data.error = Some(format!("writing: {e}"));
                    return;
                }
                Ok(Ok(())) => data.bytes += n as u64,
            }
        }
        if let Ok(Err(e)) = timeout(self.timeout, self.stream.shutdown()).await {
            data.error = Some(format!("closing: {e}"));
            return;
        }
        if self.tickets.is_some() {
            // Into a record of its own: what the server sends back is not the upload's bytes.
            let mut ignore = Sink::Listing(Vec::new());
            let mut scratch = DataRecord {
                tls: data.tls.clone(),
                ..DataRecord::default()
            };
            self.read(&mut ignore, None, &mut scratch).await;
            data.tls = scratch.tls;
        }
    }

    /// Ends the probe's side after a download (close_notify under TLS); errors are ignored:
    /// the server may be gone already.
    pub async fn close(mut self) {
        let _ = timeout(Duration::from_secs(1), self.stream.shutdown()).await;
    }
}

/// Runs ABOR while the download goes on: sends it, then at once reads the replies (until a
/// 2xx or 5xx, and any that follows within half a second) and the rest of the data (until
/// the server closes it).
pub(crate) async fn abort(
    ctl: &mut Control,
    stream: &mut Data,
    sink: &mut Sink,
    rec: &mut StepRecord,
    data: &mut DataRecord,
) -> Result<(), Halt> {
    rec.sent.push("ABOR".into());
    ctl.send("ABOR").await?;
    let replies = async {
        for _ in 0..4 {
            let reply = ctl.reply().await?;
            let last = matches!(reply.code / 100, 2 | 5);
            rec.replies.push(reply);
            if last {
                break;
            }
        }
        match ctl.reply_within(Duration::from_millis(500)).await {
            Ok(extra) => rec.replies.push(extra),
            Err(ControlError::Timeout(..)) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    };
    // The data connection is closed as soon as the server has closed its side, as a client
    // does: ProFTPD holds its 226 until then.
    let drain = async {
        let read = stream.read(sink, None, data).await;
        let _ = timeout(Duration::from_secs(1), stream.stream.shutdown()).await;
        read
    };
    let (replies, _) = tokio::join!(replies, drain);
    replies.map_err(Halt::Fatal)
}
