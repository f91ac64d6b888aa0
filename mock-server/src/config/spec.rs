//! The TOML models of a server ([`ServerSpec`]) and of a file tree ([`TreeSpec`],
//! [`FileSpec`]), and how they apply to a [`Builder`].

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use super::{parse_port_range, parse_rate, ActiveSource, Advertise, Builder, Config};
use crate::control::reply::LineEnding;
use crate::encoding::NameEncoding;
use crate::error::Error;
use crate::generated;
use crate::listing::{ListFormat, MlsdStyle};
use crate::script::MockSpec;
use crate::tls::TlsSpec;
use crate::vfs::{Source, Vfs, DEFAULT_MTIME};

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

    pub(super) fn apply(&self, vfs: &mut Vfs) -> Result<(), Error> {
        for dir in &self.dirs {
            check_path(dir)?;
            vfs.add_dir(dir);
        }
        for (path, file) in &self.files {
            check_path(path)?;
            let source = match file {
                FileSpec::Text(t) => Source::Memory(Bytes::from(t.clone())),
                FileSpec::Generated { generated: size } => {
                    Source::Generated(generated::parse_size(size).ok_or_else(|| {
                        Error::BadSize {
                            key: format!("files.{path:?}: generated"),
                            value: size.clone(),
                            example: "1000, 64K, 10G",
                        }
                    })?)
                }
            };
            vfs.add_file(path, source, DEFAULT_MTIME);
        }
        Ok(())
    }
}

fn check_path(path: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::BadPath {
            path: path.to_owned(),
            reason,
        })
    };
    if !path.starts_with('/') || path == "/" {
        return bad("file and directory paths must be absolute, like \"/dir/name\"");
    }
    if path.starts_with("/gen/") || path == "/gen" {
        return bad("/gen is reserved for generated files");
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
/// active_source_addr = "127.0.0.2"   # PORT/EPRT data connections come from this address
/// allow_foreign_data_address = false
/// data_ip_match = false        # true: refuse passive data connections from another address
/// data_rate = "20K"            # bytes per second, every data transfer (K = 1024)
/// list_format = "unix"         # "unix" | "dos" (IIS style LIST lines)
/// mlsd_style = "standard"      # "standard" | "odd" (MLSx facts in other case and order, unique=)
/// name_encoding = "utf8"       # "utf8" | "latin1" (names on the wire; OPTS UTF8 ON refused)
/// user = "alice"               # with password; default: any user and password
/// password = "secret"
/// idle_timeout_secs = 300
/// data_timeout_secs = 30
/// upload_limit = "256M"
/// greeting = "ftpspec-mock ready"
/// preauth = false              # true: greet with 230, sessions start logged in
/// login_on_user = false        # true: USER gets 230 (no password); PASS then gets 503
/// line_ending = "crlf"         # "crlf" | "lf": how reply lines end
/// reply_byte_delay_ms = 2      # every reply written one byte per write, 2 ms apart
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
    /// See [`crate::Advertise`].
    pub advertise: Option<Advertise>,
    /// `"MIN-MAX"`.
    pub pasv_ports: Option<String>,
    /// EPSV on or off.
    pub epsv: Option<bool>,
    /// `"any"` or `"20"`.
    pub active_source_port: Option<ActiveSource>,
    /// The source address of active data connections: see [`Builder::active_source_addr`].
    pub active_source_addr: Option<std::net::IpAddr>,
    /// Accept PORT/EPRT to third-party addresses.
    pub allow_foreign_data_address: Option<bool>,
    /// Refuse passive data connections from another address than the control
    /// connection's peer: see [`Builder::data_ip_match`].
    pub data_ip_match: Option<bool>,
    /// Bytes per second of every data transfer, e.g. `"20K"`: see [`Builder::data_rate`].
    pub data_rate: Option<String>,
    /// `"unix"` or `"dos"`: see [`crate::ListFormat`].
    pub list_format: Option<ListFormat>,
    /// `"standard"` or `"odd"`: see [`crate::MlsdStyle`].
    pub mlsd_style: Option<MlsdStyle>,
    /// `"utf8"` or `"latin1"`: see [`crate::NameEncoding`].
    pub name_encoding: Option<NameEncoding>,
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
    /// Greet with 230 and start logged in: see [`Builder::preauth`].
    pub preauth: Option<bool>,
    /// USER alone logs in: see [`Builder::login_on_user`].
    pub login_on_user: Option<bool>,
    /// `"crlf"` or `"lf"`: see [`Builder::line_ending`].
    pub line_ending: Option<LineEnding>,
    /// Write replies one byte at a time, this many milliseconds apart: see
    /// [`Builder::reply_byte_delay`].
    pub reply_byte_delay_ms: Option<u64>,
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

/// `cfg.field = value` for each key the file gives.
macro_rules! copy_given {
    ($cfg:expr, $($from:expr => $to:ident),* $(,)?) => {
        $(if let Some(value) = $from {
            $cfg.$to = value;
        })*
    };
}

impl ServerSpec {
    /// Reads a server file.
    pub fn from_file(path: &Path) -> Result<ServerSpec, Error> {
        read_toml(path)
    }

    pub(super) fn apply_to(&self, b: &mut Builder) -> Result<(), Error> {
        let cfg = &mut b.cfg;
        copy_given!(cfg,
            self.advertise => advertise,
            self.epsv => epsv,
            self.active_source_port => active_source,
            self.active_source_addr.map(Some) => active_source_addr,
            self.allow_foreign_data_address => allow_foreign_data,
            self.data_ip_match => data_ip_match,
            self.list_format => list_format,
            self.mlsd_style => mlsd_style,
            self.name_encoding => name_encoding,
            self.idle_timeout_secs.map(Duration::from_secs) => idle_timeout,
            self.data_timeout_secs.map(Duration::from_secs) => data_timeout,
            self.greeting.clone() => greeting,
            self.preauth => preauth,
            self.login_on_user => login_on_user,
            self.line_ending => line_ending,
            self.reply_byte_delay_ms.map(|ms| Some(Duration::from_millis(ms))) => reply_byte_delay,
        );
        self.apply_parsed(cfg)?;
        TreeSpec {
            dirs: self.dirs.clone(),
            files: self.files.clone(),
        }
        .apply(&mut cfg.vfs)?;
        for (i, spec) in self.script.iter().enumerate() {
            cfg.mocks.push(spec.to_mock(i + 1)?);
        }
        if let Some(tls) = &self.tls {
            b.ftps = Some(tls.to_ftps()?);
        }
        Ok(())
    }

    /// The keys whose values are parsed or checked together: ranges, rates, sizes, the
    /// credentials.
    fn apply_parsed(&self, cfg: &mut Config) -> Result<(), Error> {
        if let Some(r) = &self.pasv_ports {
            cfg.pasv_ports = Some(parse_port_range(r).map_err(|e| Error::Key {
                key: "pasv_ports",
                source: Box::new(e),
            })?);
        }
        if let Some(r) = &self.data_rate {
            cfg.data_rate = Some(parse_rate(r).map_err(|e| Error::Key {
                key: "data_rate",
                source: Box::new(e),
            })?);
        }
        if let Some(l) = &self.upload_limit {
            cfg.upload_limit = generated::parse_size(l).ok_or_else(|| Error::BadSize {
                key: "upload_limit".into(),
                value: l.clone(),
                example: "64M",
            })?;
        }
        match (&self.user, &self.password) {
            (Some(u), Some(p)) => cfg.credentials = Some((u.clone(), p.clone())),
            (None, None) => {}
            _ => {
                return Err(Error::Together {
                    first: "user",
                    second: "password",
                })
            }
        }
        Ok(())
    }
}

impl Builder {
    /// Adds the files and directories of a [`TreeSpec`].
    pub fn tree(mut self, tree: &TreeSpec) -> Self {
        if let Err(e) = tree.apply(self.vfs_mut()) {
            self.defer(e);
        }
        self
    }

    /// Applies a [`ServerSpec`] (read from TOML) on top of this builder.
    pub fn spec(mut self, spec: &ServerSpec) -> Self {
        if let Err(e) = spec.apply_to(&mut self) {
            self.defer(e);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockServer;

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

    /// Every enumerated key is typed: a bad value fails to parse, at its line and column,
    /// naming the values expected.
    #[rstest::rstest]
    #[case(
        "advertise = \"nat\"",
        "expected one of \"own\", \"control-address\" or an IPv4 address"
    )]
    #[case(
        "advertise = \"10.0.0.256\"",
        "\"own\", \"control-address\" or an IPv4 address"
    )]
    #[case(
        "active_source_port = \"21\"",
        "unknown variant `21`, expected `any` or `20`"
    )]
    #[case(
        "[tls]\nmode = \"starttls\"",
        "unknown variant `starttls`, expected `explicit` or `implicit`"
    )]
    #[case(
        "[tls]\nversions = [\"1.1\"]",
        "unknown variant `1.1`, expected one of `1.2`, `TLSv1.2`, `tls1.2`, `1.3`,"
    )]
    #[case(
        "[tls]\nclient_cert = \"yes\"",
        "unknown variant `yes`, expected one of `none`, `optional`, `required`"
    )]
    fn bad_values_name_line_column_and_expected(#[case] text: &str, #[case] message: &str) {
        let text = format!("epsv = true\n{text}");
        let e = toml::from_str::<ServerSpec>(&text).unwrap_err();
        let line = text.lines().count();
        let shown = e.to_string();
        assert!(
            shown.contains(&format!("line {line}, column")),
            "{text}: {shown}"
        );
        assert!(shown.contains(message), "{text}: {shown}");
    }

    #[test]
    fn enumerated_values_keep_their_spellings() {
        use crate::tls::{ClientAuth, FtpsMode, TlsVersion};
        let spec: ServerSpec = toml::from_str(
            r#"
            advertise = "203.0.113.10"
            active_source_port = "20"
            [tls]
            mode = "explicit"
            versions = ["1.2", "1.3", "tls1.2", "TLSv1.3"]
            client_cert = "required"
            "#,
        )
        .unwrap();
        assert_eq!(
            spec.advertise,
            Some(Advertise::Ip([203, 0, 113, 10].into()))
        );
        assert_eq!(spec.active_source_port, Some(ActiveSource::Port20));
        let tls = spec.tls.unwrap();
        assert_eq!(tls.mode, Some(FtpsMode::Explicit));
        use TlsVersion::{Tls12, Tls13};
        assert_eq!(tls.versions, Some(vec![Tls12, Tls13, Tls12, Tls13]));
        assert_eq!(tls.client_cert, Some(ClientAuth::Required));
        for (text, advertise) in [
            ("own", Advertise::Own),
            ("control-address", Advertise::ControlAddress),
            ("control", Advertise::ControlAddress),
        ] {
            let spec: ServerSpec = toml::from_str(&format!("advertise = {text:?}")).unwrap();
            assert_eq!(spec.advertise, Some(advertise));
        }
        let spec: ServerSpec = toml::from_str("active_source_port = \"any\"").unwrap();
        assert_eq!(spec.active_source_port, Some(ActiveSource::Any));
        let spec: ServerSpec = toml::from_str("[tls]\nmode = \"implicit\"").unwrap();
        assert_eq!(spec.tls.unwrap().mode, Some(FtpsMode::Implicit));
    }

    #[test]
    fn data_ip_match_key() {
        let spec: ServerSpec = toml::from_str("data_ip_match = true").unwrap();
        assert!(
            MockServer::builder()
                .spec(&spec)
                .build()
                .unwrap()
                .data_ip_match
        );
        assert!(
            !MockServer::builder().build().unwrap().data_ip_match,
            "off by default"
        );
        let e = toml::from_str::<ServerSpec>("epsv = true\ndata_ip_match = \"yes\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, column") && e.contains("expected a boolean"),
            "{e}"
        );
    }

    #[test]
    fn login_and_line_end_keys() {
        let spec: ServerSpec =
            toml::from_str("preauth = true\nlogin_on_user = true\nline_ending = \"lf\"").unwrap();
        let cfg = MockServer::builder().spec(&spec).build().unwrap();
        assert!(cfg.preauth && cfg.login_on_user);
        assert_eq!(cfg.line_ending, LineEnding::Lf);
        let spec: ServerSpec = toml::from_str("line_ending = \"crlf\"").unwrap();
        assert_eq!(spec.line_ending, Some(LineEnding::Crlf));
        let cfg = MockServer::builder().build().unwrap();
        assert!(!cfg.preauth && !cfg.login_on_user);
        assert_eq!(cfg.line_ending, LineEnding::Crlf);
    }

    #[rstest::rstest]
    #[case(
        "line_ending = \"cr\"",
        "unknown variant `cr`, expected `crlf` or `lf`"
    )]
    #[case(
        "preauth = \"yes\"",
        "invalid type: string \"yes\", expected a boolean"
    )]
    #[case("login_on_user = 1", "invalid type: integer `1`, expected a boolean")]
    #[case("pre_auth = true", "unknown field `pre_auth`")]
    fn bad_login_and_line_end_keys_name_line_and_column(#[case] text: &str, #[case] message: &str) {
        let text = format!("epsv = true\n{text}");
        let shown = toml::from_str::<ServerSpec>(&text).unwrap_err().to_string();
        assert!(shown.contains("line 2, column"), "{text}: {shown}");
        assert!(shown.contains(message), "{text}: {shown}");
    }

    #[test]
    fn errors_carry_what_was_wrong() {
        let build = |text: &str| {
            let spec: ServerSpec = toml::from_str(text).unwrap();
            MockServer::builder().spec(&spec).build().unwrap_err()
        };
        assert!(matches!(
            build("pasv_ports = \"10-5\""),
            Error::Key { key: "pasv_ports", source } if matches!(*source, Error::BadValue { .. })
        ));
        assert!(matches!(
            build("user = \"a\""),
            Error::Together {
                first: "user",
                second: "password"
            }
        ));
        assert!(matches!(
            build("upload_limit = \"lots\""),
            Error::BadSize { key, value, .. } if key == "upload_limit" && value == "lots"
        ));
        assert!(matches!(
            build("dirs = [\"/gen/x\"]"),
            Error::BadPath { path, .. } if path == "/gen/x"
        ));
    }

    #[test]
    fn issue_12_keys() {
        let spec: ServerSpec = toml::from_str(
            r#"
            active_source_addr = "127.0.0.2"
            data_rate = "20K"
            list_format = "dos"
            mlsd_style = "odd"
            name_encoding = "latin1"
            [files]
            "/latin1/caf\u00e9.txt" = "x"
            "/empty.bin" = ""
            "/music/01 1234 foo.mp3" = "m"
            "#,
        )
        .unwrap();
        let cfg = MockServer::builder().spec(&spec).build().unwrap();
        assert_eq!(cfg.active_source_addr, Some([127, 0, 0, 2].into()));
        assert_eq!(cfg.data_rate, Some(20 * 1024));
        assert_eq!(cfg.list_format, ListFormat::Dos);
        assert_eq!(cfg.mlsd_style, MlsdStyle::Odd);
        assert_eq!(cfg.name_encoding, NameEncoding::Latin1);
        assert_eq!(cfg.vfs.stat("/latin1/caf\u{e9}.txt").unwrap().size, 1);
        assert_eq!(cfg.vfs.stat("/empty.bin").unwrap().size, 0);
        let cfg = MockServer::builder().build().unwrap();
        assert_eq!(
            (cfg.active_source_addr, cfg.data_rate),
            (None, None),
            "off by default"
        );
        assert_eq!(cfg.list_format, ListFormat::Unix);
        assert_eq!(cfg.mlsd_style, MlsdStyle::Standard);
        assert_eq!(cfg.name_encoding, NameEncoding::Utf8);
        let spec: ServerSpec = toml::from_str(
            "list_format = \"unix\"\nmlsd_style = \"standard\"\nname_encoding = \"utf8\"",
        )
        .unwrap();
        assert_eq!(spec.list_format, Some(ListFormat::Unix));
        assert_eq!(spec.mlsd_style, Some(MlsdStyle::Standard));
        assert_eq!(spec.name_encoding, Some(NameEncoding::Utf8));
    }

    #[rstest::rstest]
    #[case(
        "list_format = \"iis\"",
        "unknown variant `iis`, expected `unix` or `dos`"
    )]
    #[case(
        "mlsd_style = \"weird\"",
        "unknown variant `weird`, expected `standard` or `odd`"
    )]
    #[case(
        "name_encoding = \"cp1252\"",
        "unknown variant `cp1252`, expected `utf8` or `latin1`"
    )]
    #[case("active_source_addr = \"198.51.100.300\"", "invalid IP address syntax")]
    #[case(
        "data_rate = 20000",
        "invalid type: integer `20000`, expected a string"
    )]
    #[case("data_rat = \"20K\"", "unknown field `data_rat`")]
    fn bad_issue_12_keys_name_line_and_column(#[case] text: &str, #[case] message: &str) {
        let text = format!("epsv = true\n{text}");
        let shown = toml::from_str::<ServerSpec>(&text).unwrap_err().to_string();
        assert!(shown.contains("line 2, column"), "{text}: {shown}");
        assert!(shown.contains(message), "{text}: {shown}");
    }

    #[rstest::rstest]
    #[case(
        "data_rate = \"fast\"",
        "data_rate: \"fast\" is not a rate in bytes per second"
    )]
    #[case(
        "data_rate = \"0\"",
        "data_rate: \"0\" is not a rate in bytes per second"
    )]
    #[case(
        "name_encoding = \"latin1\"\n[files]\n\"/\\u540d.txt\" = \"x\"",
        "\"/\u{540d}.txt\": name_encoding = \"latin1\", but this name has characters outside Latin-1"
    )]
    fn bad_issue_12_values_name_the_key(#[case] text: &str, #[case] message: &str) {
        let spec: ServerSpec = toml::from_str(text).unwrap();
        let e = MockServer::builder()
            .spec(&spec)
            .build()
            .unwrap_err()
            .to_string();
        assert!(e.contains(message), "{text}: {e}");
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
            data_tickets = 3
            single_use_tickets = true
            require_close_notify = true
            omit_close_notify = true
            "#,
        )
        .unwrap();
        let cfg = MockServer::builder().spec(&spec).build().unwrap();
        let tls = cfg.tls.expect("FTPS configured");
        let f = &tls.settings;
        assert_eq!(f.data_tickets, 3);
        assert!(f.single_use_tickets && f.require_close_notify && f.omit_close_notify);
        let defaults = toml::from_str::<ServerSpec>("[tls]").unwrap().tls.unwrap();
        let d = defaults.to_ftps().unwrap();
        assert_eq!(d.data_tickets, 0);
        assert!(!d.single_use_tickets && !d.require_close_notify && !d.omit_close_notify);
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
        for (text, field) in [
            ("[tls]\ndata_ticket = 2", "data_ticket"),
            ("[tls]\nsingle_use_ticket = true", "single_use_ticket"),
        ] {
            let e = toml::from_str::<ServerSpec>(text).unwrap_err().to_string();
            assert!(e.contains(&format!("unknown field `{field}`")), "{e}");
        }
        let e = toml::from_str::<ServerSpec>("[tls]\ndata_tickets = -1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
        for (text, msg) in [
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
        let readme = include_str!("../../../README.md");
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
}
