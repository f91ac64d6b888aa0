//! The knobs and edge cases of the field catalogue (issue 12), driven by a raw client so every
//! byte is known: throttled transfers, DOS and odd MLSD listings, names with spaces and
//! leading digits, Latin-1 names, active connections from a second address, REST past 4 GiB,
//! zero-byte files, empty directories, a scripted 227 on IPv6, and a scripted EPRT refusal.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::{Ctl, TIMEOUT};
use ftpspec_mock::script::{command, passive_reply, reply, transfer, Mock};
use ftpspec_mock::{
    generated, DataMode, EventKind, EventLog, ListFormat, MlsdStyle, MockServer, NameEncoding,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

fn throttles(log: &EventLog) -> Vec<u64> {
    log.events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Throttled { bytes_per_sec } => Some(bytes_per_sec),
            _ => None,
        })
        .collect()
}

fn stored(log: &EventLog) -> Vec<(String, u64, bool, bool)> {
    log.events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Stored {
                path,
                size,
                kept,
                complete,
                ..
            } => Some((path.clone(), *size, *kept, *complete)),
            _ => None,
        })
        .collect()
}

/// 200 KiB at 100 KiB/s lasts about 2 s. Timing on a shared machine is noisy, so the bounds
/// are wide: what they catch is a throttle that does nothing (milliseconds) or one far too
/// slow.
const THROTTLED_MIN: Duration = Duration::from_millis(1_700);
const THROTTLED_MAX: Duration = Duration::from_secs(8);

#[tokio::test]
async fn the_server_data_rate_throttles_a_download() {
    let server = MockServer::builder()
        .data_rate(100 * 1024)
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let started = Instant::now();
    let (data, code) = c.download("RETR /gen/200K").await;
    let took = started.elapsed();
    assert_eq!((data.len(), code), (200 * 1024, 226));
    assert!(generated::verify(0, &data).is_ok());
    assert!(
        (THROTTLED_MIN..THROTTLED_MAX).contains(&took),
        "200 KiB at 100 KiB/s took {took:?}"
    );
    assert_eq!(throttles(&server.events()), [100 * 1024]);
}

#[tokio::test]
async fn a_transfer_script_rate_throttles_one_upload_only() {
    let server = MockServer::builder()
        .dir("/in")
        .mount(Mock::given(command("STOR")).respond_with(transfer().rate(100 * 1024)))
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let body = vec![7u8; 200 * 1024];
    let started = Instant::now();
    assert_eq!(c.upload("STOR /in/slow.bin", &body).await, 226);
    let took = started.elapsed();
    assert!(
        (THROTTLED_MIN..THROTTLED_MAX).contains(&took),
        "a 200 KiB upload at 100 KiB/s took {took:?}"
    );
    assert_eq!(server.file("/in/slow.bin").as_deref(), Some(&body[..]));
    let (data, code) = c.download("RETR /gen/200K").await;
    assert_eq!((data.len(), code), (200 * 1024, 226));
    let log = server.events();
    assert_eq!(
        throttles(&log),
        [100 * 1024],
        "only the scripted STOR is throttled:\n{}",
        log.transcript()
    );
    assert_eq!(
        stored(&log),
        [("/in/slow.bin".to_owned(), 200 * 1024, true, true)]
    );
}

/// A script's rate wins over the server's.
#[tokio::test]
async fn a_script_rate_wins_over_the_server_rate() {
    let server = MockServer::builder()
        .data_rate(1)
        .mount(Mock::given(command("RETR")).respond_with(transfer().rate(1 << 30)))
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let (data, code) = c.download("RETR /gen/64K").await;
    assert_eq!((data.len(), code), (64 * 1024, 226));
    assert_eq!(throttles(&server.events()), [1 << 30]);
}

fn music_tree() -> ftpspec_mock::Builder {
    MockServer::builder()
        .file("/music/01 1234 foo.mp3", "abc")
        .file("/music/02 dir with spaces/3 x.txt", "x")
        .dir("/emptydir")
        .dir("/in")
}

fn lines(data: &[u8]) -> Vec<String> {
    String::from_utf8(data.to_vec())
        .unwrap()
        .split_terminator("\r\n")
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn dos_listings_and_odd_mlsd_facts() {
    let server = music_tree()
        .list_format(ListFormat::Dos)
        .mlsd_style(MlsdStyle::Odd)
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let (data, code) = c.download("LIST /music").await;
    assert_eq!(code, 226);
    assert_eq!(
        lines(&data),
        [
            "01-01-24  12:00AM                    3 01 1234 foo.mp3",
            "01-01-24  12:00AM       <DIR>          02 dir with spaces",
        ]
    );
    let (data, _) = c.download("MLSD /music").await;
    let got = lines(&data);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("Size=3;Modify=20240101000000;UNIQUE=801g")
            && got[0].ends_with(";Type=file; 01 1234 foo.mp3"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("Modify=20240101000000;UNIQUE=801g")
            && got[1].ends_with(";Type=dir; 02 dir with spaces"),
        "{got:?}"
    );
    let (data, _) = c.download("NLST /music").await;
    assert_eq!(
        lines(&data),
        ["/music/01 1234 foo.mp3", "/music/02 dir with spaces"],
        "NLST is not affected"
    );
    let (code, text) = c.cmd("MLST /music/01 1234 foo.mp3").await;
    assert_eq!(code, 250);
    assert!(
        text.contains("\r\n Size=3;Modify=20240101000000;UNIQUE=801g")
            && text.contains(";Type=file; /music/01 1234 foo.mp3\r\n"),
        "{text}"
    );
    let (_, feat) = c.cmd("FEAT").await;
    assert!(
        feat.contains(" MLST Size*;Modify*;UNIQUE*;Type*;\r\n"),
        "{feat}"
    );
}

/// Names with spaces and leading digits (FIELD: `01 1234 foo.mp3`) in every command that
/// takes or gives a name, with the default formats.
#[tokio::test]
async fn names_with_spaces_and_leading_digits_work_everywhere() {
    let server = music_tree().start().await.unwrap();
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("CWD /music").await.0, 250);
    let (data, _) = c.download("LIST").await;
    assert_eq!(
        lines(&data),
        [
            "-rw-r--r-- 1 ftp ftp            3 Jan 01  2024 01 1234 foo.mp3",
            "drwxr-xr-x 1 ftp ftp            0 Jan 01  2024 02 dir with spaces",
        ]
    );
    let (data, _) = c.download("LIST -la 01 1234 foo.mp3").await;
    assert_eq!(
        lines(&data),
        ["-rw-r--r-- 1 ftp ftp            3 Jan 01  2024 01 1234 foo.mp3"]
    );
    let (data, _) = c.download("NLST").await;
    assert_eq!(lines(&data), ["01 1234 foo.mp3", "02 dir with spaces"]);
    let (data, _) = c.download("MLSD").await;
    let got = lines(&data);
    assert!(got[0].ends_with("; 01 1234 foo.mp3"), "{got:?}");
    assert!(got[1].ends_with("; 02 dir with spaces"), "{got:?}");
    assert_eq!(
        c.cmd("SIZE 01 1234 foo.mp3").await,
        (213, "213 3\r\n".into())
    );
    assert_eq!(
        c.download("RETR 01 1234 foo.mp3").await,
        (b"abc".to_vec(), 226)
    );
    assert_eq!(c.cmd("CWD 02 dir with spaces").await.0, 250);
    let (_, pwd) = c.cmd("PWD").await;
    assert!(
        pwd.starts_with("257 \"/music/02 dir with spaces\""),
        "{pwd}"
    );
    let (data, _) = c.download("NLST").await;
    assert_eq!(lines(&data), ["3 x.txt"]);
    assert_eq!(c.download("RETR 3 x.txt").await, (b"x".to_vec(), 226));
    assert_eq!(c.upload("STOR 04 up load.txt", b"up").await, 226);
    assert_eq!(
        server.file("/music/02 dir with spaces/04 up load.txt"),
        Some(b"up".to_vec())
    );
}

/// A raw control connection for a Latin-1 server: replies are read as bytes.
struct Raw {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Raw {
    async fn login(addr: SocketAddr) -> Raw {
        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut raw = Raw {
            r: BufReader::new(r),
            w,
        };
        assert_eq!(raw.reply().await.0, 220);
        assert_eq!(raw.cmd(b"USER u").await.0, 331);
        assert_eq!(raw.cmd(b"PASS p").await.0, 230);
        raw
    }

    /// One reply as bytes, multi-line aware.
    async fn reply(&mut self) -> (u16, Vec<u8>) {
        let mut all = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = tokio::time::timeout(TIMEOUT, self.r.read_until(b'\n', &mut line))
                .await
                .expect("no reply within the test timeout")
                .unwrap();
            assert!(n > 0, "the server closed the connection");
            all.extend_from_slice(&line);
            let first = &all[..3];
            if line.len() > 3 && line[..3] == *first && line[3] == b' ' {
                let code = std::str::from_utf8(first).unwrap().parse().unwrap();
                return (code, all);
            }
        }
    }

    async fn cmd(&mut self, line: &[u8]) -> (u16, Vec<u8>) {
        self.w.write_all(&[line, b"\r\n"].concat()).await.unwrap();
        self.reply().await
    }

    /// EPSV, `line`, the whole data connection, and the final reply.
    async fn transfer(&mut self, line: &[u8], upload: Option<&[u8]>) -> (Vec<u8>, u16) {
        let (code, text) = self.cmd(b"EPSV").await;
        assert_eq!(code, 229);
        let port =
            ftpspec_mock::wire::parse_229(std::str::from_utf8(&text).unwrap().trim_end()).unwrap();
        let mut data = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        let (code, text) = self.cmd(line).await;
        assert_eq!(code, 150, "{}", String::from_utf8_lossy(&text));
        let mut buf = Vec::new();
        match upload {
            Some(bytes) => {
                data.write_all(bytes).await.unwrap();
                drop(data);
            }
            None => {
                data.read_to_end(&mut buf).await.unwrap();
            }
        }
        (buf, self.reply().await.0)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn latin1_names_go_out_and_come_in_as_single_bytes() {
    let server = MockServer::builder()
        .name_encoding(NameEncoding::Latin1)
        .file("/latin1/caf\u{e9}.txt", "coffee")
        .dir("/latin1/r\u{e9}pertoire")
        .start()
        .await
        .unwrap();
    let mut c = Raw::login(server.addr()).await;
    let (_, feat) = c.cmd(b"FEAT").await;
    assert!(
        !contains(&feat, b"UTF8"),
        "{}",
        String::from_utf8_lossy(&feat)
    );
    assert_eq!(c.cmd(b"OPTS UTF8 ON").await.0, 501);
    assert_eq!(c.cmd(b"OPTS UTF8 OFF").await.0, 200);
    assert_eq!(c.cmd(b"CWD /latin1/r\xe9pertoire").await.0, 250);
    let (code, pwd) = c.cmd(b"PWD").await;
    assert_eq!(code, 257);
    assert!(pwd.starts_with(b"257 \"/latin1/r\xe9pertoire\""), "{pwd:?}");
    assert_eq!(c.cmd(b"CWD ..").await.0, 250);
    let (nlst, code) = c.transfer(b"NLST", None).await;
    assert_eq!(code, 226);
    assert_eq!(nlst, b"caf\xe9.txt\r\nr\xe9pertoire\r\n");
    let (list, _) = c.transfer(b"LIST", None).await;
    assert!(contains(&list, b" caf\xe9.txt\r\n"), "{list:?}");
    let (mlsd, _) = c.transfer(b"MLSD", None).await;
    assert!(contains(&mlsd, b"; caf\xe9.txt\r\n"), "{mlsd:?}");
    assert_eq!(c.cmd(b"SIZE caf\xe9.txt").await.0, 213);
    assert_eq!(
        c.transfer(b"RETR caf\xe9.txt", None).await,
        (b"coffee".to_vec(), 226)
    );
    assert_eq!(c.transfer(b"STOR na\xefve.txt", Some(b"up")).await.1, 226);
    assert_eq!(server.file("/latin1/na\u{ef}ve.txt"), Some(b"up".to_vec()));
    let log = server.events();
    assert!(
        log.commands().contains(&"RETR caf\u{e9}.txt"),
        "the log keeps the decoded line:\n{}",
        log.transcript()
    );
    assert!(log.events.iter().any(|e| matches!(&e.kind,
        EventKind::Reply { code: 257, text } if text.contains("/latin1/r\u{e9}pertoire"))));
}

/// The same bytes on a UTF-8 server (the default) are refused as bad UTF-8.
#[tokio::test]
async fn a_utf8_server_refuses_latin1_bytes() {
    let server = MockServer::builder()
        .file("/caf\u{e9}.txt", "x")
        .start()
        .await
        .unwrap();
    let mut c = Raw::login(server.addr()).await;
    assert_eq!(c.cmd(b"SIZE caf\xe9.txt").await.0, 500);
    assert_eq!(c.cmd(b"SIZE caf\xc3\xa9.txt").await.0, 213);
    let (_, feat) = c.cmd(b"FEAT").await;
    assert!(contains(&feat, b" UTF8\r\n"));
    assert_eq!(c.cmd(b"OPTS UTF8 ON").await.0, 200);
}

/// PORT and EPRT data connections come from the configured second address (127.0.0.2 is a
/// loopback address on Linux), bound before connecting.
#[tokio::test]
async fn active_data_comes_from_the_second_address() {
    let second: IpAddr = "127.0.0.2".parse().unwrap();
    let server = MockServer::builder()
        .active_source_addr(second)
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    for eprt in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        let line = if eprt {
            format!("EPRT {}", ftpspec_mock::wire::format_eprt(at))
        } else {
            let SocketAddr::V4(v4) = at else {
                unreachable!()
            };
            format!("PORT {}", ftpspec_mock::wire::format_host_port(v4))
        };
        assert_eq!(c.cmd(&line).await.0, 200);
        c.send(b"RETR /gen/1K\r\n").await;
        let (mut data, from) = tokio::time::timeout(TIMEOUT, listener.accept())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(from.ip(), second, "the data connection's source");
        assert_eq!(c.reply().await.0, 150);
        let mut buf = Vec::new();
        data.read_to_end(&mut buf).await.unwrap();
        assert_eq!((buf.len(), c.reply().await.0), (1024, 226));
    }
    let conns = server.events().data_connections();
    assert_eq!(conns.len(), 2);
    for conn in conns {
        assert_eq!((conn.mode, conn.local.ip()), (DataMode::Active, second));
    }
}

/// An IPv4 second address cannot source an IPv6 data connection: the control connection's
/// address is used, and a Warning says so.
#[tokio::test]
async fn a_second_address_of_the_other_family_is_not_used() {
    let server = MockServer::builder()
        .bind("[::1]:0".parse().unwrap())
        .active_source_addr("127.0.0.2".parse().unwrap())
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let listener = TcpListener::bind("[::1]:0").await.unwrap();
    let line = format!(
        "EPRT {}",
        ftpspec_mock::wire::format_eprt(listener.local_addr().unwrap())
    );
    assert_eq!(c.cmd(&line).await.0, 200);
    c.send(b"RETR /gen/1K\r\n").await;
    let (_data, from) = listener.accept().await.unwrap();
    assert_eq!(from.ip(), "::1".parse::<IpAddr>().unwrap());
    assert_eq!(c.reply().await.0, 150);
    let log = server.events();
    assert!(
        log.warnings()
            .iter()
            .any(|w| w.contains("active_source_addr 127.0.0.2 is not of the family")),
        "{}",
        log.transcript()
    );
}

/// REST past 4 GiB (FIELD: `REST 12345678910`): the last 1,000 bytes of a 12,345,679,910-byte
/// generated file, computed from the offset, arrive at once.
#[tokio::test]
async fn rest_past_4_gib_sends_the_remaining_bytes_quickly() {
    const SIZE: u64 = 12_345_679_910;
    const OFFSET: u64 = 12_345_678_910;
    let server = MockServer::start().await;
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("TYPE I").await.0, 200);
    assert_eq!(
        c.cmd(&format!("SIZE /gen/{SIZE}")).await,
        (213, format!("213 {SIZE}\r\n"))
    );
    assert_eq!(c.cmd(&format!("REST {OFFSET}")).await.0, 350);
    let started = Instant::now();
    let (data, code) = c.download(&format!("RETR /gen/{SIZE}")).await;
    assert_eq!((data.len(), code), (1000, 226));
    assert_eq!(generated::verify(OFFSET, &data), Ok(()));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}: the content must be computed from the offset, not from 0",
        started.elapsed()
    );
    assert_eq!(server.events().data_connections()[0].bytes_sent, 1000);
    assert_eq!(c.cmd(&format!("REST {}", SIZE + 1)).await.0, 350);
    let addr = c.pasv().await;
    let _data = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        c.cmd(&format!("RETR /gen/{SIZE}")).await.0,
        553,
        "past the end"
    );
}

#[tokio::test]
async fn zero_byte_files_download_and_upload() {
    let tree: ftpspec_mock::TreeSpec =
        toml::from_str("dirs = [\"/in\"]\n[files]\n\"/empty.bin\" = \"\"").unwrap();
    let server = MockServer::builder().tree(&tree).start().await.unwrap();
    let mut c = Ctl::login(server.addr()).await;
    assert_eq!(c.cmd("SIZE /empty.bin").await, (213, "213 0\r\n".into()));
    assert_eq!(c.download("RETR /empty.bin").await, (Vec::new(), 226));
    assert_eq!(c.upload("STOR /in/empty.bin", b"").await, 226);
    assert_eq!(server.file("/in/empty.bin"), Some(Vec::new()));
    let log = server.events();
    assert_eq!(stored(&log), [("/in/empty.bin".to_owned(), 0, true, true)]);
    let conns = log.data_connections();
    assert_eq!(
        conns
            .iter()
            .map(|d| (d.bytes_sent, d.bytes_received))
            .collect::<Vec<_>>(),
        [(0, 0), (0, 0)]
    );
}

#[tokio::test]
async fn listing_an_empty_directory_sends_no_data() {
    let server = music_tree().start().await.unwrap();
    let mut c = Ctl::login(server.addr()).await;
    for verb in ["LIST", "NLST", "MLSD"] {
        let (data, code) = c.download(&format!("{verb} /emptydir")).await;
        assert_eq!((data, code), (Vec::new(), 226), "{verb}");
    }
    // The last 226 is logged right after it is written: a NOOP round trip waits for that.
    assert_eq!(c.cmd("NOOP").await.0, 200);
    let codes = server.events().reply_codes();
    assert_eq!(codes.iter().filter(|&&c| c == 150).count(), 3);
    assert_eq!(codes.iter().filter(|&&c| c == 226).count(), 3);
}

/// A scripted `227 (0,0,0,0,...)` on an IPv6 control connection (FIELD: PASV answered with a
/// zero address): the script wins over the refusal of PASV on IPv6, and the listener is on
/// the control connection's address.
#[tokio::test]
async fn a_scripted_pasv_reply_works_on_ipv6() {
    let server = MockServer::builder()
        .bind("[::1]:0".parse().unwrap())
        .mount(Mock::given(command("PASV")).respond_with(passive_reply(
            "227 Entering Passive Mode (0,0,0,0,{p1},{p2})",
        )))
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let (code, text) = c.cmd("PASV").await;
    assert_eq!(code, 227, "{text}");
    let zero = ftpspec_mock::wire::parse_227(text.trim_end()).unwrap();
    assert_eq!(*zero.ip(), Ipv4Addr::UNSPECIFIED);
    let mut data = TcpStream::connect(("::1", zero.port())).await.unwrap();
    assert_eq!(c.cmd("RETR /gen/1K").await.0, 150);
    let mut buf = Vec::new();
    data.read_to_end(&mut buf).await.unwrap();
    assert_eq!((buf.len(), c.reply().await.0), (1024, 226));
    let log = server.events();
    let listening = log.events.iter().find_map(|e| match e.kind {
        EventKind::PassiveListening { local, advertised } => Some((local, advertised)),
        _ => None,
    });
    let (local, advertised) = listening.expect("a passive listener");
    assert_eq!(local.ip(), "::1".parse::<IpAddr>().unwrap());
    assert_eq!(
        advertised,
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, zero.port()))
    );
}

#[tokio::test]
async fn eprt_refused_by_a_script_leaves_port_working() {
    let server = MockServer::builder()
        .mount(Mock::given(command("EPRT")).respond_with(reply(502, "EPRT not implemented")))
        .start()
        .await
        .unwrap();
    let mut c = Ctl::login(server.addr()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let eprt = format!("EPRT {}", ftpspec_mock::wire::format_eprt(at));
    assert_eq!(c.cmd(&eprt).await.0, 502);
    let SocketAddr::V4(v4) = at else {
        unreachable!()
    };
    let port = format!("PORT {}", ftpspec_mock::wire::format_host_port(v4));
    assert_eq!(c.cmd(&port).await.0, 200);
    c.send(b"RETR /gen/1K\r\n").await;
    let (mut data, _) = listener.accept().await.unwrap();
    assert_eq!(c.reply().await.0, 150);
    let mut buf = Vec::new();
    data.read_to_end(&mut buf).await.unwrap();
    assert_eq!((buf.len(), c.reply().await.0), (1024, 226));
    assert_eq!(server.events().data_connections()[0].mode, DataMode::Active);
}
