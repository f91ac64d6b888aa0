//! Server configuration: the [`Builder`] (Rust) and [`ServerSpec`] (TOML), checked by
//! [`Builder::build`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use crate::error::Error;
use crate::script::{render_template, Action, Mock, MockSpec};
use crate::tls::{Ftps, TlsSetup, TlsSpec};
use crate::vfs::{Source, Vfs, DEFAULT_MTIME};
use crate::{generated, safety};

/// The address put in 227 replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Advertise {
    /// The server's own address: its bind address, or when that is a wildcard, the local
    /// address of the control connection. Behind a NAT this is the private address: the
    /// classic misconfiguration.
    #[default]
    Own,
    /// Always the local address of the control connection the command came on.
    ControlAddress,
    /// A fixed address (e.g. a NAT's public address, or a wrong one).
    Ip(Ipv4Addr),
}

impl std::str::FromStr for Advertise {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "own" => Ok(Advertise::Own),
            "control" | "control-address" => Ok(Advertise::ControlAddress),
            ip => ip.parse().map(Advertise::Ip).map_err(|_| {
                format!("{s:?} is not \"own\", \"control-address\" or an IPv4 address")
            }),
        }
    }
}

/// The source port of active-mode data connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActiveSource {
    /// Any free port (the default; needs no privilege).
    #[default]
    Any,
    /// Port 20, as RFC 959 §3.2 describes (L-1); needs root or CAP_NET_BIND_SERVICE.
    Port20,
}

/// A checked configuration, from [`Builder::build`]. Start it with [`crate::MockServer::start_with`].
#[derive(Debug)]
pub struct Config {
    pub(crate) bind: SocketAddr,
    pub(crate) listener: Option<std::net::TcpListener>,
    pub(crate) advertise: Advertise,
    pub(crate) pasv_ports: Option<RangeInclusive<u16>>,
    pub(crate) epsv: bool,
    pub(crate) active_source: ActiveSource,
    pub(crate) allow_foreign_data: bool,
    pub(crate) credentials: Option<(String, String)>,
    pub(crate) idle_timeout: Duration,
    pub(crate) data_timeout: Duration,
    pub(crate) max_line: usize,
    pub(crate) upload_limit: u64,
    pub(crate) greeting: String,
    pub(crate) max_events: usize,
    pub(crate) vfs: Vfs,
    pub(crate) mocks: Vec<Mock>,
    pub(crate) in_netns: bool,
    pub(crate) ftps: Option<Ftps>,
    pub(crate) tls: Option<TlsSetup>,
}

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
    cfg: Config,
    errors: Vec<Error>,
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
                allow_foreign_data: false,
                credentials: None,
                idle_timeout: Duration::from_secs(300),
                data_timeout: Duration::from_secs(30),
                max_line: crate::control::codec::DEFAULT_MAX_LINE,
                upload_limit: 256 << 20,
                greeting: "ftpspec-mock ready".to_owned(),
                max_events: 100_000,
                vfs: Vfs::default(),
                mocks: Vec::new(),
                in_netns: false,
                ftps: None,
                tls: None,
            },
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

    /// Accept PORT/EPRT naming an address other than the client's, or a port below 1024
    /// (default false: refused, RFC 2577 bounce protection).
    pub fn allow_foreign_data_address(mut self, allow: bool) -> Self {
        self.cfg.allow_foreign_data = allow;
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

    /// Adds the files and directories of a [`TreeSpec`].
    pub fn tree(mut self, tree: &TreeSpec) -> Self {
        if let Err(e) = tree.apply(&mut self.cfg.vfs) {
            self.errors.push(Error::Invalid(e));
        }
        self
    }

    /// Serves FTPS (explicit or implicit, with its policies); see [`Ftps`]. Certificates are
    /// generated by [`Builder::build`] unless given.
    pub fn ftps(mut self, ftps: Ftps) -> Self {
        self.cfg.ftps = Some(ftps);
        self
    }

    /// Mounts a mock (mocks are tried in mount order).
    pub fn mount(mut self, mock: Mock) -> Self {
        self.cfg.mocks.push(mock);
        self
    }

    /// Applies a [`ServerSpec`] (read from TOML) on top of this builder.
    pub fn spec(mut self, spec: &ServerSpec) -> Self {
        if let Err(e) = spec.apply_to(&mut self) {
            self.errors.push(e);
        }
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
        if cfg.max_line < 16 {
            return Err(Error::Invalid(format!(
                "max_line {} is too small (at least 16)",
                cfg.max_line
            )));
        }
        cfg.in_netns = safety::in_ftpspec_netns();
        check_safety(cfg)?;
        if let Some(ftps) = cfg.ftps.clone() {
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
        if text.starts_with("227") {
            if let Some(ip) = safety::lenient_227_address(&text) {
                if !safety::host_safe(IpAddr::V4(ip)) {
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
        }
    }
    Ok(())
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |error| Error::Io {
        path: path.to_owned(),
        error,
    }
}

fn load_dir(vfs: &mut Vfs, dir: &Path, at: &str, total: &mut u64) -> Result<(), Error> {
    const MAX: u64 = 1 << 30;
    let entries = std::fs::read_dir(dir).map_err(io_error(dir))?;
    vfs.add_dir(at);
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = if at == "/" {
            format!("/{name}")
        } else {
            format!("{at}/{name}")
        };
        let meta = std::fs::metadata(&path).map_err(io_error(&path))?;
        if meta.is_dir() {
            load_dir(vfs, &path, &target, total)?;
        } else if meta.is_file() {
            *total += meta.len();
            if *total > MAX {
                return Err(Error::Invalid(format!(
                    "{}: the tree is over 1 GiB; --root copies files into memory, so serve a smaller tree (use /gen/<size> for large downloads)",
                    dir.display()
                )));
            }
            let data = std::fs::read(&path).map_err(io_error(&path))?;
            let mtime = meta
                .modified()
                .ok()
                .map(time::OffsetDateTime::from)
                .unwrap_or(DEFAULT_MTIME);
            vfs.add_file(
                &target,
                Source::Memory(data.into()),
                mtime.replace_nanosecond(0).unwrap_or(DEFAULT_MTIME),
            );
        }
    }
    Ok(())
}

/// A file in a [`TreeSpec`]: its text, or generated content of a size.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(
    untagged,
    expecting = "a file: its text as a string, or { generated = \"SIZE\" } such as { generated = \"64M\" }"
)]
pub enum FileSpec {
    /// `"/a.txt" = "text"`
    Text(String),
    /// `"/big.bin" = { generated = "64M" }`
    Generated {
        /// A size such as `1000`, `64K`, `1G`.
        generated: String,
    },
}

/// A file tree in TOML, for `ftpspec serve --tree` and the `[files]`/`dirs` keys of a
/// [`ServerSpec`]:
///
/// ```toml
/// dirs = ["/incoming"]
/// [files]
/// "/readme.txt" = "Hello from ftpspec\n"
/// "/data/blob.bin" = { generated = "1M" }
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TreeSpec {
    /// Empty directories to create.
    #[serde(default)]
    pub dirs: Vec<String>,
    /// Files by path.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, FileSpec>,
}

impl TreeSpec {
    /// Reads a tree file.
    pub fn from_file(path: &Path) -> Result<TreeSpec, Error> {
        read_toml(path)
    }

    fn apply(&self, vfs: &mut Vfs) -> Result<(), String> {
        for dir in &self.dirs {
            check_path(dir)?;
            vfs.add_dir(dir);
        }
        for (path, file) in &self.files {
            check_path(path)?;
            let source = match file {
                FileSpec::Text(t) => Source::Memory(Bytes::from(t.clone())),
                FileSpec::Generated { generated: size } => Source::Generated(generated::parse_size(size).ok_or_else(
                    || format!("files.{path:?}: generated = {size:?} is not a size such as 1000, 64K, 10G"),
                )?),
            };
            vfs.add_file(path, source, DEFAULT_MTIME);
        }
        Ok(())
    }
}

fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') || path == "/" {
        return Err(format!(
            "{path:?}: file and directory paths must be absolute, like \"/dir/name\""
        ));
    }
    if path.starts_with("/gen/") || path == "/gen" {
        return Err(format!("{path:?}: /gen is reserved for generated files"));
    }
    Ok(())
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
        path: path.to_owned(),
        error,
    })?;
    toml::from_str(&text).map_err(|e| Error::Toml {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The whole server in TOML (also the `[server]` table of a scenario file). Every key is
/// optional:
///
/// ```toml
/// advertise = "own"            # "own" | "control-address" | "203.0.113.10"
/// pasv_ports = "50000-50010"
/// epsv = true
/// active_source_port = "any"   # "any" | "20"
/// allow_foreign_data_address = false
/// user = "alice"               # with password; default: any user and password
/// password = "secret"
/// idle_timeout_secs = 300
/// data_timeout_secs = 30
/// upload_limit = "256M"
/// greeting = "ftpspec-mock ready"
/// dirs = ["/incoming"]
/// [tls]                        # FTPS; see TlsSpec for every key
/// mode = "explicit"
/// [files]
/// "/readme.txt" = "Hello\n"
/// [[script]]
/// command = "EPSV"
/// reply = "502 EPSV not allowed"
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// See [`Advertise`].
    pub advertise: Option<String>,
    /// `"MIN-MAX"`.
    pub pasv_ports: Option<String>,
    /// EPSV on or off.
    pub epsv: Option<bool>,
    /// `"any"` or `"20"`.
    pub active_source_port: Option<String>,
    /// Accept PORT/EPRT to third-party addresses.
    pub allow_foreign_data_address: Option<bool>,
    /// The only user accepted.
    pub user: Option<String>,
    /// Its password.
    pub password: Option<String>,
    /// Idle timeout in seconds.
    pub idle_timeout_secs: Option<u64>,
    /// Data connection timeout in seconds.
    pub data_timeout_secs: Option<u64>,
    /// Upload limit, e.g. `"256M"`.
    pub upload_limit: Option<String>,
    /// The 220 text.
    pub greeting: Option<String>,
    /// Empty directories.
    #[serde(default)]
    pub dirs: Vec<String>,
    /// Files.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, FileSpec>,
    /// Mocks, in order.
    #[serde(default)]
    pub script: Vec<MockSpec>,
    /// FTPS: see [`TlsSpec`].
    pub tls: Option<TlsSpec>,
}

/// Reads `MIN-MAX`.
pub fn parse_port_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let bad = || format!("{text:?} is not a port range MIN-MAX with 1 <= MIN <= MAX <= 65535");
    let (lo, hi) = text.split_once('-').ok_or_else(bad)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo == 0 || lo > hi {
        return Err(bad());
    }
    Ok(lo..=hi)
}

impl ServerSpec {
    /// Reads a server file.
    pub fn from_file(path: &Path) -> Result<ServerSpec, Error> {
        read_toml(path)
    }

    fn apply_to(&self, b: &mut Builder) -> Result<(), Error> {
        let cfg = &mut b.cfg;
        if let Some(a) = &self.advertise {
            cfg.advertise = a
                .parse()
                .map_err(|e| Error::Invalid(format!("advertise: {e}")))?;
        }
        if let Some(r) = &self.pasv_ports {
            cfg.pasv_ports =
                Some(parse_port_range(r).map_err(|e| Error::Invalid(format!("pasv_ports: {e}")))?);
        }
        if let Some(e) = self.epsv {
            cfg.epsv = e;
        }
        match self.active_source_port.as_deref() {
            None => {}
            Some("any") => cfg.active_source = ActiveSource::Any,
            Some("20") => cfg.active_source = ActiveSource::Port20,
            Some(o) => {
                return Err(Error::Invalid(format!(
                    "active_source_port = {o:?}: expected \"any\" or \"20\""
                )))
            }
        }
        if let Some(a) = self.allow_foreign_data_address {
            cfg.allow_foreign_data = a;
        }
        match (&self.user, &self.password) {
            (Some(u), Some(p)) => cfg.credentials = Some((u.clone(), p.clone())),
            (None, None) => {}
            _ => {
                return Err(Error::Invalid(
                    "user and password go together: give both or neither".into(),
                ))
            }
        }
        if let Some(s) = self.idle_timeout_secs {
            cfg.idle_timeout = Duration::from_secs(s);
        }
        if let Some(s) = self.data_timeout_secs {
            cfg.data_timeout = Duration::from_secs(s);
        }
        if let Some(l) = &self.upload_limit {
            cfg.upload_limit = generated::parse_size(l).ok_or_else(|| {
                Error::Invalid(format!("upload_limit = {l:?} is not a size such as 64M"))
            })?;
        }
        if let Some(g) = &self.greeting {
            cfg.greeting = g.clone();
        }
        TreeSpec {
            dirs: self.dirs.clone(),
            files: self.files.clone(),
        }
        .apply(&mut cfg.vfs)
        .map_err(Error::Invalid)?;
        for (i, spec) in self.script.iter().enumerate() {
            cfg.mocks.push(spec.to_mock(i + 1)?);
        }
        if let Some(tls) = &self.tls {
            cfg.ftps = Some(tls.to_ftps()?);
        }
        Ok(())
    }
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

    #[test]
    fn spec_round_trip() {
        let spec: ServerSpec = toml::from_str(
            r#"
            advertise = "control-address"
            pasv_ports = "50000-50010"
            epsv = false
            upload_limit = "1M"
            dirs = ["/in"]
            [files]
            "/a.txt" = "A"
            "/b.bin" = { generated = "2K" }
            [[script]]
            command = "EPSV"
            reply = "502 no"
            "#,
        )
        .unwrap();
        let cfg = MockServer::builder().spec(&spec).build().unwrap();
        assert_eq!(cfg.advertise, Advertise::ControlAddress);
        assert_eq!(cfg.pasv_ports, Some(50000..=50010));
        assert!(!cfg.epsv);
        assert_eq!(cfg.upload_limit, 1 << 20);
        assert_eq!(cfg.vfs.stat("/b.bin").unwrap().size, 2048);
        assert!(cfg.vfs.is_dir("/in"));
        assert_eq!(cfg.mocks.len(), 1);
    }

    #[test]
    fn spec_errors_are_clear() {
        let e = toml::from_str::<ServerSpec>("advertize = \"own\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `advertize`") && e.contains("line 1"),
            "{e}"
        );
        for (text, msg) in [
            ("pasv_ports = \"10-5\"", "pasv_ports"),
            ("advertise = \"nat\"", "advertise"),
            ("user = \"a\"", "go together"),
            ("[files]\n\"rel.txt\" = \"x\"", "absolute"),
            ("[files]\n\"/x\" = { generated = \"lots\" }", "not a size"),
        ] {
            let spec: ServerSpec = toml::from_str(text).unwrap();
            let e = MockServer::builder()
                .spec(&spec)
                .build()
                .unwrap_err()
                .to_string();
            assert!(e.contains(msg), "{text}: {e}");
        }
    }

    #[test]
    fn tls_table() {
        let spec: ServerSpec = toml::from_str(
            r#"
            [tls]
            mode = "implicit"
            require_control = true
            require_session_reuse = true
            allow_ccc = false
            versions = ["1.2"]
            client_cert = "optional"
            names = ["ftp.test", "203.0.113.10"]
            "#,
        )
        .unwrap();
        let cfg = MockServer::builder().spec(&spec).build().unwrap();
        let tls = cfg.tls.expect("FTPS configured");
        let f = &tls.settings;
        assert_eq!(f.mode, crate::FtpsMode::Implicit);
        assert!(f.require_control && !f.require_data && f.require_session_reuse && !f.allow_ccc);
        assert_eq!(f.versions, [crate::TlsVersion::Tls12]);
        assert_eq!(f.client_auth, crate::ClientAuth::Optional);
        assert_eq!(f.names, ["ftp.test", "203.0.113.10"]);

        let e = toml::from_str::<ServerSpec>("[tls]\nrequire_dat = true")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `require_dat`") && e.contains("line 2"),
            "{e}"
        );
        for (text, msg) in [
            ("[tls]\nmode = \"starttls\"", "tls.mode"),
            ("[tls]\nversions = [\"1.1\"]", "tls.versions"),
            ("[tls]\nclient_cert = \"yes\"", "tls.client_cert"),
            ("[tls]\ncert_file = \"a.pem\"", "go together"),
            (
                "[tls]\ncert_file = \"/nonexistent.pem\"\nkey_file = \"/k\"",
                "/nonexistent.pem",
            ),
        ] {
            let spec: ServerSpec = toml::from_str(text).unwrap();
            let e = MockServer::builder()
                .spec(&spec)
                .build()
                .unwrap_err()
                .to_string();
            assert!(e.contains(msg), "{text}: {e}");
        }
    }

    #[test]
    fn the_readme_server_file_is_valid() {
        let readme = include_str!("../../README.md");
        let block = readme
            .split("```toml\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .find(|b| b.contains("[[script]]") && b.contains("[tls]"))
            .expect("the README shows a server file with scripts and [tls]");
        let spec: ServerSpec = toml::from_str(block).unwrap();
        let cfg = MockServer::builder().spec(&spec).build().unwrap();
        assert_eq!(cfg.mocks.len(), 3);
        assert!(cfg.tls.is_some_and(|t| t.settings.require_session_reuse));
    }

    #[test]
    fn root_dir_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/f.txt"), "x").unwrap();
        let cfg = MockServer::builder().root_dir(dir.path()).build().unwrap();
        assert_eq!(cfg.vfs.stat("/sub/f.txt").unwrap().size, 1);
        let e = MockServer::builder()
            .root_dir(dir.path().join("missing"))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
    }
}
