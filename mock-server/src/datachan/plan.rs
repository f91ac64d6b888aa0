//! How the next data connection is made (RFC 959 §3.2): a passive listener waiting for the
//! client, or an address to dial (active), and the passive port range.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::config::ActiveSource;
use crate::events::DataMode;
use crate::state::Shared;

/// How the next data connection will be made.
pub(crate) enum DataPlan {
    /// PASV/EPSV: the client connects to a listener the server opened.
    Passive {
        /// The listener, accepted from once.
        listener: TcpListener,
        /// Its address (the advertised one may differ).
        local: SocketAddr,
    },
    /// PORT/EPRT: the server dials the client.
    Active {
        /// The address the client named.
        target: SocketAddr,
        /// The server's address on the control connection, the data connection's source.
        local_ip: IpAddr,
    },
}

impl DataPlan {
    /// Passive or active, for the event log.
    pub(crate) fn mode(&self) -> DataMode {
        match self {
            DataPlan::Passive { .. } => DataMode::Passive,
            DataPlan::Active { .. } => DataMode::Active,
        }
    }

    /// The listener's address (passive) or the target (active), for the event log.
    pub(crate) fn addr(&self) -> SocketAddr {
        match self {
            DataPlan::Passive { local, .. } => *local,
            DataPlan::Active { target, .. } => *target,
        }
    }

    /// Accepts (passive) or dials (active) the data connection.
    pub(crate) async fn connect(
        self,
        source: ActiveSource,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        let attempt = async move {
            match self {
                DataPlan::Passive { listener, .. } => listener.accept().await.map(|(s, _)| s),
                DataPlan::Active { target, local_ip } => {
                    let socket = if target.is_ipv4() {
                        TcpSocket::new_v4()?
                    } else {
                        TcpSocket::new_v6()?
                    };
                    let port = match source {
                        ActiveSource::Any => 0,
                        ActiveSource::Port20 => {
                            socket.set_reuseaddr(true)?;
                            20
                        }
                    };
                    socket.bind(SocketAddr::new(local_ip, port))?;
                    socket.connect(target).await
                }
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no data connection within {timeout:?}"),
            )),
        }
    }
}

/// A passive listener on `ip`, on a port of the configured range (round robin from where the
/// last one started) or any free port.
pub(crate) async fn open_listener(shared: &Shared, ip: IpAddr) -> io::Result<TcpListener> {
    let Some(range) = shared.cfg.pasv_ports.clone() else {
        return TcpListener::bind(SocketAddr::new(ip, 0)).await;
    };
    let span = u32::from(*range.end() - *range.start()) + 1;
    let first = shared.pasv_cursor.fetch_add(1, Ordering::Relaxed) % span;
    for i in 0..span {
        let port = *range.start() + ((first + i) % span) as u16;
        if let Ok(listener) = TcpListener::bind(SocketAddr::new(ip, port)).await {
            return Ok(listener);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!(
            "no free port in the passive range {}-{}",
            range.start(),
            range.end()
        ),
    ))
}
