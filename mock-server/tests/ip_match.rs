//! The IP-match policy (`data_ip_match`): a passive data connection must come from the
//! control connection's peer, as vsftpd (`pasv_promiscuous=NO`), pure-ftpd and ftpserverlib
//! (`IPMatchRequired`) require. On loopback the control connection comes from 127.0.0.1 and
//! the "other" data connection from 127.0.0.2, as a pooled NAT's second public address would.

mod common;

use std::net::{IpAddr, SocketAddr};

use common::Ctl;
use ftpspec_mock::{generated, EventKind, MockServer};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

/// Connects to `addr` from `source` (any port).
async fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(IpAddr::from(source), 0))
        .unwrap();
    socket.connect(addr).await.unwrap()
}

async fn server(ip_match: bool) -> MockServer {
    let mut b = MockServer::builder().dir("/incoming");
    if ip_match {
        b = b.data_ip_match(true);
    }
    b.start().await.unwrap()
}

/// A data connection from another address is closed, the transfer gets vsftpd's 425, and
/// the log names both addresses; the session goes on, and a data connection from the
/// control connection's own address then works.
#[tokio::test]
async fn a_data_connection_from_another_address_is_refused_with_425() {
    let server = server(true).await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.local_addr().ip(), IpAddr::from([127, 0, 0, 1]));
    let addr = c.pasv().await;
    let mut data = connect_from([127, 0, 0, 2], addr).await;
    let stranger = data.local_addr().unwrap();
    assert_eq!(
        c.cmd("RETR /gen/1K").await,
        (425, "425 Security: Bad IP connecting.\r\n".into()),
        "no 150 first: the connection is refused before the transfer starts"
    );
    let mut buf = Vec::new();
    let read = data.read_to_end(&mut buf).await;
    assert!(
        buf.is_empty(),
        "the refused connection carried no data ({read:?})"
    );

    let (body, code) = c.download("RETR /gen/1K").await;
    assert_eq!((body.len(), code), (1024, 226));
    assert_eq!(generated::verify(0, &body), Ok(()));

    let log = server.events();
    assert_eq!(log.data_peers_refused(), vec![(stranger, c.local_addr())]);
    let opened: Vec<_> = log
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::DataOpened { .. }))
        .collect();
    assert_eq!(
        opened.len(),
        1,
        "the refused connection is not a DataOpened"
    );
    let line = log
        .events
        .iter()
        .find(|e| matches!(e.kind, EventKind::DataPeerRefused { .. }))
        .unwrap()
        .to_string();
    assert!(
        line.contains("127.0.0.2") && line.contains("refused") && line.contains("data_ip_match"),
        "{line}"
    );
}

/// Uploads are refused the same way, and nothing is stored.
#[tokio::test]
async fn an_upload_from_another_address_is_refused_and_not_stored() {
    let server = server(true).await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.epsv().await;
    let _data = connect_from([127, 0, 0, 2], addr).await;
    assert_eq!(c.cmd("STOR /incoming/x.bin").await.0, 425);
    assert!(server.file("/incoming/x.bin").is_none());
    assert_eq!(server.events().data_peers_refused().len(), 1);
}

/// Off by default: any peer may connect (the mock's behaviour before the knob existed).
#[tokio::test]
async fn any_peer_is_accepted_by_default() {
    let server = server(false).await;
    let mut c = Ctl::login(server.addr()).await;
    let addr = c.pasv().await;
    let mut data = connect_from([127, 0, 0, 2], addr).await;
    assert_eq!(c.cmd("RETR /gen/1K").await.0, 150);
    let mut buf = Vec::new();
    data.read_to_end(&mut buf).await.unwrap();
    assert_eq!((buf.len(), c.reply().await.0), (1024, 226));
    assert!(server.events().data_peers_refused().is_empty());
}

/// The policy is about passive connections only: an active connection goes to the address
/// the client named (PORT to a third party is refused by the bounce rule, not by this one).
#[tokio::test]
async fn active_connections_are_not_affected() {
    let server = server(true).await;
    let mut c = Ctl::login(server.addr()).await;
    let (data, code) = c.active_download("RETR /gen/1K").await;
    assert_eq!((data.len(), code), (1024, 226));
    assert!(server.events().data_peers_refused().is_empty());
}
