//! The [`Builder`]: every setter has a safe default, and [`Builder::build`] checks the whole,
//! including the network-safety rule for advertised and scripted addresses.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;

use super::disk::load_dir;
use super::{ActiveSource, Advertise, Config};
use crate::control::reply::LineEnding;
use crate::encoding::NameEncoding;
use crate::error::Error;
use crate::generated::RATE_EXPECTED;
use crate::listing::{ListFormat, MlsdStyle};
use crate::safety;
use crate::script::{check_mock, render_template, Action, Mock};
use crate::tls::{Ftps, TlsSetup};
use crate::vfs::{Source, Vfs, DEFAULT_MTIME};

/// Builds a server. Every setter has a safe default; errors come back from [`Builder::build`].
///
/// ```no_run
/// # async fn demo() -> Result<(), ftpspec_mock::Error> {
/// use ftpspec_mock::{Advertise, MockServer};
/// let server = MockServer::builder()
///     .file("/hello.txt", "Hello\n")
///     .pasv_ports(50000..=50009)
///     .advertise(Advertise::ControlAddress)
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until start() or build()"]
pub struct Builder {
    /// The configuration so far.
    pub(super) cfg: Config,
    /// FTPS as asked for; its certificates are made by [`Builder::build`].
    pub(super) ftps: Option<Ftps>,
    /// Errors of setters, reported by [`Builder::build`] (the first one).
    pub(super) errors: Vec<Error>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            cfg: Config {
                bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                listener: None,
                advertise: Advertise::Own,
                pasv_ports: None,
                epsv: true,
                active_source: ActiveSource::Any,
                active_source_addr: None,
                allow_foreign_data: false,
                data_ip_match: false,
                data_rate: None,
                list_format: ListFormat::Unix,
                mlsd_style: MlsdStyle::Standard,
                name_encoding: NameEncoding::Utf8,
                credentials: None,
                idle_timeout: Duration::from_secs(300),
                data_timeout: Duration::from_secs(30),
                max_line: crate::control::codec::DEFAULT_MAX_LINE,
                upload_limit: 256 << 20,
                greeting: "ftpspec-mock ready".to_owned(),
                preauth: false,
                login_on_user: false,
                line_ending: LineEnding::Crlf,
                reply_byte_delay: None,
                max_events: 100_000,
                vfs: Vfs::default(),
                mocks: Vec::new(),
                in_netns: false,
                tls: None,
            },
            ftps: None,
            errors: Vec::new(),
        }
    }
}

impl Builder {
    /// Address and port for the control listener (default `127.0.0.1:0`: loopback, any port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.cfg.bind = addr;
        self
    }

    /// Serve on a listener the caller already bound (its address wins over [`Builder::bind`]).
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.cfg.listener = Some(listener);
        self
    }

    /// The address put in 227 replies (default [`Advertise::Own`]).
    pub fn advertise(mut self, advertise: Advertise) -> Self {
        self.cfg.advertise = advertise;
        self
    }

    /// Passive listeners take ports from this range (default: any free port).
    pub fn pasv_ports(mut self, range: RangeInclusive<u16>) -> Self {
        self.cfg.pasv_ports = Some(range);
        self
    }

    /// Whether EPSV is implemented (default true). When false EPSV gets 502 and FEAT omits it.
    pub fn epsv(mut self, on: bool) -> Self {
        self.cfg.epsv = on;
        self
    }

    /// Source port of active-mode connections (default any).
    pub fn active_source(mut self, source: ActiveSource) -> Self {
        self.cfg.active_source = source;
        self
    }

    /// Make active-mode (PORT/EPRT) data connections from this local address, as a
    /// multi-homed server does from its second address (default: the local address of the
    /// control connection). The socket is bound to it before connecting; the
    /// `DataOpened` event's `local` shows it. Used when the client's address is of the same
    /// family; otherwise the control connection's address is used and a Warning logged.
    ///
    /// ```
    /// let b = ftpspec_mock::MockServer::builder().active_source_addr("127.0.0.2".parse().unwrap());
    /// assert!(b.build().is_ok());
    /// ```
    pub fn active_source_addr(mut self, ip: IpAddr) -> Self {
        self.cfg.active_source_addr = Some(ip);
        self
    }

    /// Throttle every data transfer, both directions, to `bytes_per_sec` (default: no
    /// limit). The data is written (or read) in paced chunks on a fixed schedule, so a long
    /// transfer keeps to the rate within a fraction of a percent; a transfer of N bytes
    /// lasts about N / rate seconds. A transfer script's [`crate::script::TransferScript::rate`]
    /// wins over it. Each throttled transfer logs a `Throttled` event. 0 is refused by
    /// `build()`.
    ///
    /// ```
    /// // 900 KiB at 20 KiB/s: a download of /gen/900K lasts 45 s.
    /// let b = ftpspec_mock::MockServer::builder().data_rate(20 * 1024);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn data_rate(mut self, bytes_per_sec: u64) -> Self {
        self.cfg.data_rate = Some(bytes_per_sec);
        self
    }

    /// How LIST lines are written (default [`ListFormat::Unix`]; [`ListFormat::Dos`]: as
    /// the Microsoft FTP Service writes them). NLST is not affected.
    pub fn list_format(mut self, format: ListFormat) -> Self {
        self.cfg.list_format = format;
        self
    }

    /// How MLSD and MLST facts are written (default [`MlsdStyle::Standard`];
    /// [`MlsdStyle::Odd`]: other case, other order, a `unique` fact). FEAT's MLST line
    /// follows.
    pub fn mlsd_style(mut self, style: MlsdStyle) -> Self {
        self.cfg.mlsd_style = style;
        self
    }

    /// The character set of names on the wire (default [`NameEncoding::Utf8`]); see
    /// [`NameEncoding::Latin1`]. With Latin-1, `build()` refuses a tree whose names have
    /// characters outside Latin-1.
    ///
    /// ```
    /// use ftpspec_mock::{MockServer, NameEncoding};
    /// let b = MockServer::builder()
    ///     .name_encoding(NameEncoding::Latin1)
    ///     .file("/latin1/caf\u{e9}.txt", "x");
    /// assert!(b.build().is_ok());
    /// ```
    pub fn name_encoding(mut self, encoding: NameEncoding) -> Self {
        self.cfg.name_encoding = encoding;
        self
    }

    /// Accept PORT/EPRT naming an address other than the client's, or a port below 1024
    /// (default false: refused, RFC 2577 bounce protection).
    pub fn allow_foreign_data_address(mut self, allow: bool) -> Self {
        self.cfg.allow_foreign_data = allow;
        self
    }

    /// Refuse a passive data connection whose peer address is not the control connection's
    /// peer (default false: any peer is accepted). The connection is closed at once, the
    /// transfer command gets `425 Security: Bad IP connecting.` (vsftpd's reply) and the log
    /// records a [`crate::EventKind::DataPeerRefused`]. vsftpd (`pasv_promiscuous=NO`),
    /// pure-ftpd and ftpserverlib (`IPMatchRequired`) do this by default; a client whose NAT
    /// gives each connection another public address is refused.
    ///
    /// ```
    /// let cfg = ftpspec_mock::MockServer::builder().data_ip_match(true).build().unwrap();
    /// ```
    pub fn data_ip_match(mut self, on: bool) -> Self {
        self.cfg.data_ip_match = on;
        self
    }

    /// Accept only this user and password (default: any user, any password).
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.cfg.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Close idle control connections with 421 after this long (default 300 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.idle_timeout = timeout;
        self
    }

    /// How long to wait for a data connection to be made (default 30 s; then 425).
    pub fn data_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.data_timeout = timeout;
        self
    }

    /// Longest control line accepted, in bytes (default 4096; longer lines get 500).
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.cfg.max_line = bytes;
        self
    }

    /// Total bytes of uploads kept in memory over the server's life (default 256 MiB). Past it,
    /// uploads are still received and counted but not kept, and get 552.
    pub fn upload_limit(mut self, bytes: u64) -> Self {
        self.cfg.upload_limit = bytes;
        self
    }

    /// The text of the 220 greeting.
    pub fn greeting(mut self, text: &str) -> Self {
        self.cfg.greeting = text.to_owned();
        self
    }

    /// Greet with `230 <greeting>` instead of 220 and start every session logged in (a
    /// pre-authenticated server, curl's CVE-2021-22946 trigger). USER and PASS still work
    /// afterwards; AUTH TLS logs the session out as usual (RFC 2228 §3). Default false.
    pub fn preauth(mut self, on: bool) -> Self {
        self.cfg.preauth = on;
        self
    }

    /// Answer USER with 230 and log in without asking for a password (password-less
    /// accounts); a PASS after that gets 503 and the session stays logged in. With
    /// [`Builder::credentials`], only that user name is let in. Default false.
    pub fn login_on_user(mut self, on: bool) -> Self {
        self.cfg.login_on_user = on;
        self
    }

    /// How the server ends the reply lines it writes (default [`LineEnding::Crlf`]; `Lf`:
    /// LF only). Script text sent as written (`raw`, `pipeline`, passive templates) is not
    /// changed.
    pub fn line_ending(mut self, eol: LineEnding) -> Self {
        self.cfg.line_ending = eol;
        self
    }

    /// Write every control reply, the greeting included, one byte per write with `delay`
    /// between bytes (curl's test-suite SLOWDOWN): each byte leaves in a TCP segment of its
    /// own (the control socket has TCP_NODELAY; under TLS, a record of its own), so a client
    /// that takes one read for a whole reply line breaks. Default off. A reply of N bytes
    /// takes about N x `delay`; mind `pad`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let slow = ftpspec_mock::MockServer::builder().reply_byte_delay(Duration::from_millis(2));
    /// ```
    pub fn reply_byte_delay(mut self, delay: Duration) -> Self {
        self.cfg.reply_byte_delay = Some(delay);
        self
    }

    /// Most events kept in the log (default 100,000); later ones are counted as dropped.
    pub fn max_events(mut self, n: usize) -> Self {
        self.cfg.max_events = n;
        self
    }

    /// Adds an in-memory file (parents are created).
    pub fn file(mut self, path: &str, content: impl Into<Bytes>) -> Self {
        self.cfg
            .vfs
            .add_file(path, Source::Memory(content.into()), DEFAULT_MTIME);
        self
    }

    /// Adds a file of `size` bytes of generated content (see [`crate::generated`]) at `path`.
    pub fn generated_file(mut self, path: &str, size: u64) -> Self {
        self.cfg
            .vfs
            .add_file(path, Source::Generated(size), DEFAULT_MTIME);
        self
    }

    /// Adds an empty directory (parents are created).
    pub fn dir(mut self, path: &str) -> Self {
        self.cfg.vfs.add_dir(path);
        self
    }

    /// Copies a directory from disk into the in-memory tree at `/` (uploads are not written
    /// back). Refuses trees over 1 GiB.
    pub fn root_dir(mut self, dir: impl AsRef<Path>) -> Self {
        let mut total = 0u64;
        if let Err(e) = load_dir(&mut self.cfg.vfs, dir.as_ref(), "/", &mut total) {
            self.errors.push(e);
        }
        self
    }

    /// The file tree, for the file formats (`config/spec.rs`) to add to.
    pub(super) fn vfs_mut(&mut self) -> &mut Vfs {
        &mut self.cfg.vfs
    }

    /// Records an error that [`Builder::build`] will return.
    pub(super) fn defer(&mut self, e: Error) {
        self.errors.push(e);
    }

    /// Serves FTPS (explicit or implicit, with its policies); see [`Ftps`]. Certificates are
    /// generated by [`Builder::build`] unless given.
    pub fn ftps(mut self, ftps: Ftps) -> Self {
        self.ftps = Some(ftps);
        self
    }

    /// Mounts a mock (mocks are tried in mount order).
    pub fn mount(mut self, mock: Mock) -> Self {
        self.cfg.mocks.push(mock);
        self
    }

    /// Checks the configuration. Errors: an unsafe address outside an ftpspec namespace, an
    /// invalid port range, a bad file tree or script.
    pub fn build(mut self) -> Result<Config, Error> {
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        let cfg = &mut self.cfg;
        if let Some(r) = &cfg.pasv_ports {
            if r.is_empty() || *r.start() == 0 {
                return Err(Error::BadPortRange {
                    min: *r.start(),
                    max: *r.end(),
                });
            }
        }
        if cfg.data_rate == Some(0) {
            return Err(Error::Key {
                key: "data_rate",
                source: Box::new(Error::BadValue {
                    value: "0".into(),
                    expected: RATE_EXPECTED,
                }),
            });
        }
        if let Some(path) = cfg.vfs.first_path_outside(cfg.name_encoding) {
            return Err(Error::BadPath {
                path,
                reason: "name_encoding = \"latin1\", but this name has characters outside Latin-1 (ISO 8859-1)",
            });
        }
        if cfg.max_line < 16 {
            return Err(Error::MaxLineTooSmall {
                max_line: cfg.max_line,
            });
        }
        for (i, mock) in cfg.mocks.iter().enumerate() {
            check_mock(mock).map_err(|message| Error::Script {
                index: i + 1,
                name: mock.name.clone(),
                message,
            })?;
        }
        cfg.in_netns = safety::in_ftpspec_netns();
        check_safety(cfg)?;
        if let Some(ftps) = self.ftps.take() {
            cfg.tls = Some(TlsSetup::new(ftps)?);
        }
        Ok(self.cfg)
    }
}

/// The advertised address and scripted 227 texts must stay on this machine unless in a netns.
pub(crate) fn check_safety(cfg: &Config) -> Result<(), Error> {
    if cfg.in_netns {
        return Ok(());
    }
    if let Advertise::Ip(ip) = cfg.advertise {
        if !safety::host_safe(IpAddr::V4(ip)) {
            return Err(Error::UnsafeAddress {
                addr: IpAddr::V4(ip),
                what: "the advertised PASV address".into(),
            });
        }
    }
    for (i, mock) in cfg.mocks.iter().enumerate() {
        let text = match &mock.responder.action {
            Action::Reply(r) => r.encode(),
            Action::Raw(t) => t.clone(),
            Action::Passive(t) => render_template(t, Ipv4Addr::LOCALHOST, 0),
            _ => continue,
        };
        if !text.starts_with("227") {
            continue;
        }
        let unsafe_ip =
            safety::addresses_in_227(&text).find(|ip| !safety::host_safe(IpAddr::V4(*ip)));
        if let Some(ip) = unsafe_ip {
            let name = mock
                .name
                .clone()
                .unwrap_or_else(|| format!("mock {}", i + 1));
            return Err(Error::UnsafeAddress {
                addr: IpAddr::V4(ip),
                what: format!("the 227 reply of {name}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockServer;

    #[test]
    fn refuses_non_loopback_advertise_outside_a_namespace() {
        let err = MockServer::builder()
            .advertise(Advertise::Ip("10.0.0.2".parse().unwrap()))
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("refusing to advertise 10.0.0.2"),
            "{err}"
        );
        assert!(MockServer::builder()
            .advertise(Advertise::Ip(Ipv4Addr::LOCALHOST))
            .build()
            .is_ok());
    }

    #[test]
    fn refuses_scripted_third_party_227_outside_a_namespace() {
        use crate::script::{passive_reply, reply};
        let b = MockServer::builder().mount(
            Mock::given(crate::script::command("PASV"))
                .respond_with(passive_reply("227 x (203,0,113,9,{p1},{p2})")),
        );
        assert!(matches!(b.build(), Err(Error::UnsafeAddress { .. })));
        let b = MockServer::builder().mount(
            Mock::given(crate::script::command("PASV"))
                .respond_with(reply(227, "x (300,0,113,9,1,2)")),
        );
        assert!(matches!(b.build(), Err(Error::UnsafeAddress { .. })));
        let b = MockServer::builder().mount(
            Mock::given(crate::script::command("PASV"))
                .respond_with(passive_reply("227 x (0,0,0,0,{p1},{p2})")),
        );
        assert!(b.build().is_ok());
    }

    /// Issue 16: the second line's reply code was read as the first octet.
    const ISSUE_16: &str =
        "227-listen socket created\r\n227 Entering Passive Mode ({h1},{h2},{h3},{h4},{p1},{p2})";

    #[test]
    fn a_multi_line_227_template_on_loopback_is_accepted() {
        use crate::script::{command, passive_reply};
        let b = MockServer::builder()
            .mount(Mock::given(command("PASV")).respond_with(passive_reply(ISSUE_16)));
        assert!(b.build().is_ok());
        let spec: crate::ServerSpec = toml::from_str(&format!(
            "[[script]]\ncommand = \"PASV\"\npassive = {ISSUE_16:?}\n"
        ))
        .unwrap();
        assert!(MockServer::builder().spec(&spec).build().is_ok());
    }

    #[test]
    fn a_non_loopback_address_in_any_line_is_refused() {
        use crate::script::{command, passive_reply, raw, reply};
        for responder in [
            passive_reply("227-Connect to (10,0,0,2,1,2)\r\n227 Entering Passive Mode ({h1},{h2},{h3},{h4},{p1},{p2})"),
            passive_reply("227-listen socket created\r\n227 Entering Passive Mode (10,0,0,2,{p1},{p2})"),
            passive_reply("227-a\r\n227-b (192,168,1,1,1,2)\r\n227 Entering Passive Mode ({h1},{h2},{h3},{h4},{p1},{p2})"),
            reply(227, "Connect to (10,0,0,2,1,2)\nEntering Passive Mode (127,0,0,1,1,2)"),
            raw("227-ok\r\n 10,0,0,2,1,2\r\n227 Entering Passive Mode (127,0,0,1,1,2)\r\n"),
        ] {
            let b = MockServer::builder().mount(Mock::given(command("PASV")).respond_with(responder));
            assert!(matches!(b.build(), Err(Error::UnsafeAddress { .. })));
        }
    }

    /// Text of a line that names no address: words, and at most three numbers.
    fn chatter() -> impl proptest::strategy::Strategy<Value = String> {
        "[A-Za-z .:!]{0,12}( [0-9]{1,3}[A-Za-z .]{0,8}){0,3}"
    }

    /// A 227 template: `lines` (other lines, `227-`), then the last line with the address
    /// between digit-free text and text that may hold digits.
    fn template(lines: &[String], prefix: &str, address: &str, suffix: &str) -> String {
        let mut t: String = lines.iter().map(|l| format!("227-{l}\r\n")).collect();
        t.push_str(&format!("227 {prefix}{address}{suffix}"));
        t
    }

    proptest::proptest! {
        #[test]
        fn multi_line_templates_are_read_from_their_last_line(
            lines in proptest::collection::vec(chatter(), 0..4),
            prefix in "[A-Za-z .:=(]{0,20}",
            suffix in "([ .!)A-Za-z][A-Za-z0-9 .!,)]{0,16})?",
            ip in proptest::prelude::any::<u32>(),
            port in proptest::prelude::any::<u16>(),
        ) {
            use crate::script::{command, passive_reply};
            let t = template(&lines, &prefix, "{h1},{h2},{h3},{h4},{p1},{p2}", &suffix);
            let b = MockServer::builder().mount(Mock::given(command("PASV")).respond_with(passive_reply(&t)));
            proptest::prop_assert!(b.build().is_ok(), "{:?}", t);
            let ip = Ipv4Addr::from(ip);
            let rendered = render_template(&t, ip, port);
            proptest::prop_assert_eq!(
                crate::wire::parse_227(&rendered).unwrap(),
                std::net::SocketAddrV4::new(ip, port)
            );
        }

        #[test]
        fn a_non_loopback_address_on_any_line_is_refused(
            lines in proptest::collection::vec(chatter(), 0..4),
            at in proptest::prelude::any::<proptest::sample::Index>(),
            prefix in "[A-Za-z .:=(]{0,20}",
            suffix in "([ .!)A-Za-z][A-Za-z0-9 .!,)]{0,16})?",
            first in 1u8..=255,
            rest in proptest::prelude::any::<[u8; 3]>(),
        ) {
            use crate::script::{command, passive_reply};
            proptest::prop_assume!(first != 127);
            let bad = Ipv4Addr::new(first, rest[0], rest[1], rest[2]);
            let [a, b, c, d] = bad.octets();
            let literal = format!("{a},{b},{c},{d},{{p1}},{{p2}}");
            let mut lines = lines;
            let at = at.index(lines.len() + 1);
            let t = if at == lines.len() {
                template(&lines, &prefix, &literal, &suffix)
            } else {
                lines[at] = format!("{prefix}{literal}{suffix}");
                template(&lines, &prefix, "{h1},{h2},{h3},{h4},{p1},{p2}", &suffix)
            };
            let built = MockServer::builder()
                .mount(Mock::given(command("PASV")).respond_with(passive_reply(&t)))
                .build();
            proptest::prop_assert!(
                matches!(built, Err(Error::UnsafeAddress { addr, .. }) if addr == IpAddr::V4(bad)),
                "{:?}",
                t
            );
        }
    }
}
