//! A minimal raw FTP driver for deterministic protocol tests, plus helpers for real clients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Every read in the driver gives up after this long, so a broken server fails a test
/// instead of hanging it.
pub const TIMEOUT: Duration = Duration::from_secs(15);

pub struct Ctl {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
}

impl Ctl {
    /// Connects and reads the greeting.
    pub async fn connect(addr: SocketAddr) -> Ctl {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .unwrap();
        let (r, w) = stream.into_split();
        let mut ctl = Ctl {
            r: BufReader::new(r),
            w,
        };
        let (code, _) = ctl.reply().await;
        assert_eq!(code, 220);
        ctl
    }

    /// Connects and reads the greeting, whatever its code.
    pub async fn connect_greeted(addr: SocketAddr) -> (Ctl, (u16, String)) {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .unwrap();
        let (r, w) = stream.into_split();
        let mut ctl = Ctl {
            r: BufReader::new(r),
            w,
        };
        let greeting = ctl.reply().await;
        (ctl, greeting)
    }

    /// The bytes of one read: those already buffered, or else one read from the socket.
    pub async fn read_some(&mut self) -> Vec<u8> {
        let bytes = tokio::time::timeout(TIMEOUT, self.r.fill_buf())
            .await
            .expect("nothing to read within the test timeout")
            .unwrap()
            .to_vec();
        self.r.consume(bytes.len());
        bytes
    }

    pub async fn login(addr: SocketAddr) -> Ctl {
        let mut ctl = Ctl::connect(addr).await;
        assert_eq!(ctl.cmd("USER test").await.0, 331);
        assert_eq!(ctl.cmd("PASS test").await.0, 230);
        ctl
    }

    /// Reads one reply (multi-line aware); `(0, "")` at end of stream.
    pub async fn reply(&mut self) -> (u16, String) {
        tokio::time::timeout(TIMEOUT, self.reply_inner())
            .await
            .expect("no reply within the test timeout")
    }

    async fn reply_inner(&mut self) -> (u16, String) {
        let mut text = String::new();
        let mut first = String::new();
        if self.r.read_line(&mut first).await.unwrap_or(0) == 0 {
            return (0, String::new());
        }
        text.push_str(&first);
        let code: u16 = first.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let mut line = String::new();
                if self.r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    break;
                }
                text.push_str(&line);
                if line.starts_with(&end) {
                    break;
                }
            }
        }
        (code, text)
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).await.unwrap();
    }

    pub async fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// PASV, then the address from the 227 reply.
    pub async fn pasv(&mut self) -> SocketAddr {
        let (code, text) = self.cmd("PASV").await;
        assert_eq!(code, 227, "{text}");
        SocketAddr::V4(ftpspec_mock::wire::parse_227(text.trim_end()).unwrap())
    }

    /// EPSV, then the control peer address with the 229 port.
    pub async fn epsv(&mut self) -> SocketAddr {
        let (code, text) = self.cmd("EPSV").await;
        assert_eq!(code, 229, "{text}");
        let port = ftpspec_mock::wire::parse_229(text.trim_end()).unwrap();
        SocketAddr::new(self.w.peer_addr().unwrap().ip(), port)
    }

    /// PASV + `line` + read the whole data connection; returns (data, final reply code).
    pub async fn download(&mut self, line: &str) -> (Vec<u8>, u16) {
        let addr = self.pasv().await;
        let data = TcpStream::connect(addr).await.unwrap();
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.receive(data).await
    }

    /// The 150, the whole data connection, the final reply: (data, final reply code).
    async fn receive(&mut self, mut data: TcpStream) -> (Vec<u8>, u16) {
        let (code, text) = self.reply().await;
        assert_eq!(code, 150, "{text}");
        let mut buf = Vec::new();
        tokio::time::timeout(TIMEOUT, data.read_to_end(&mut buf))
            .await
            .expect("data read timed out")
            .unwrap();
        (buf, self.reply().await.0)
    }

    /// PASV + `line` + write `bytes`; returns the final reply code.
    pub async fn upload(&mut self, line: &str, bytes: &[u8]) -> u16 {
        let addr = self.pasv().await;
        let mut data = TcpStream::connect(addr).await.unwrap();
        let (code, text) = self.cmd(line).await;
        assert_eq!(code, 150, "{text}");
        data.write_all(bytes).await.unwrap();
        drop(data);
        self.reply().await.0
    }

    /// PORT to a listener on 127.0.0.1 + `line` + read the whole data connection; returns
    /// (data, final reply code).
    pub async fn active_download(&mut self, line: &str) -> (Vec<u8>, u16) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (p1, p2) = (port >> 8, port & 0xff);
        assert_eq!(self.cmd(&format!("PORT 127,0,0,1,{p1},{p2}")).await.0, 200);
        self.send(format!("{line}\r\n").as_bytes()).await;
        let (data, _) = tokio::time::timeout(TIMEOUT, listener.accept())
            .await
            .expect("the server did not connect")
            .unwrap();
        self.receive(data).await
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.w.local_addr().unwrap()
    }
}

/// Panics with the install command unless `tool` is on the PATH: a missing client is a
/// failure, never a silent skip.
pub fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false);
    assert!(found, "the FTP client `{tool}` is not installed: apt-get install {tool} (.ci/run installs every client the tests use)");
}

/// Redactions for insta snapshots of dialogues: ports and times.
pub fn redactions() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"\((\d+),(\d+),(\d+),(\d+),\d+,\d+\)",
            "($1,$2,$3,$4,<p1>,<p2>)",
        ),
        (
            r"PORT (\d+),(\d+),(\d+),(\d+),\d+,\d+",
            "PORT $1,$2,$3,$4,<p1>,<p2>",
        ),
        (r"\|\|\|\d+\|", "|||<port>|"),
        (r"\|(\d)\|([^|]+)\|\d+\|", "|$1|$2|<port>|"),
        (r"\b20\d{12}\b", "<timeval>"),
    ]
}
