//! `ftpspec serve`: the mock server as a standalone process, for manual testing.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{bail, Context};
use ftpspec_mock::{
    ActiveSource, Advertise, ClientAuth, Ftps, LineEnding, ListFormat, MlsdStyle, MockServer,
    NameEncoding, ServerSpec, TlsVersion, TreeSpec,
};

/// `--ftps` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FtpsModeArg {
    /// AUTH TLS on the plain port.
    Explicit,
    /// TLS from the first byte.
    Implicit,
}

/// `--list-format` values: see [`ListFormat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormatArg {
    /// `ls -l` style.
    Unix,
    /// The Microsoft FTP Service's DOS style.
    Dos,
}

/// `--mlsd-style` values: see [`MlsdStyle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MlsdStyleArg {
    /// `type=file;size=..;modify=..;perm=..;`
    Standard,
    /// `Size=..;Modify=..;UNIQUE=..;Type=file;`
    Odd,
}

/// `--name-encoding` values: see [`NameEncoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NameEncodingArg {
    /// UTF-8.
    Utf8,
    /// ISO 8859-1.
    Latin1,
}

/// Options of `ftpspec serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Non-loopback addresses accept connections from elsewhere, but the
    /// server still only advertises or dials loopback addresses outside an ftpspec namespace.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 2121)]
    pub port: u16,
    /// Address in 227 replies: `own`, `control-address`, or an IPv4 address.
    #[arg(long, value_name = "own|control-address|IP")]
    pub pasv_address: Option<Advertise>,
    /// Passive data ports, e.g. 50000-50010 (default: any free port).
    #[arg(long, value_name = "MIN-MAX", value_parser = ftpspec_mock::parse_port_range)]
    pub pasv_ports: Option<std::ops::RangeInclusive<u16>>,
    /// Answer EPSV with 502 and leave it out of FEAT.
    #[arg(long)]
    pub no_epsv: bool,
    /// Source port for active-mode data connections: `any` or `20` (20 needs root).
    #[arg(long, value_name = "any|20", default_value = "any")]
    pub active_source_port: String,
    /// Source address for active-mode data connections (the server's second address; the
    /// socket is bound to it before connecting). Default: the control connection's address.
    #[arg(long, value_name = "IP")]
    pub active_source_addr: Option<IpAddr>,
    /// Accept PORT/EPRT to addresses other than the client's (no RFC 2577 bounce protection).
    #[arg(long)]
    pub allow_foreign_data_address: bool,
    /// Refuse a passive data connection from another address than the control connection's
    /// peer: close it and answer 425 (vsftpd's pasv_promiscuous=NO, ftpserverlib's
    /// IPMatchRequired).
    #[arg(long)]
    pub data_ip_match: bool,
    /// Throttle every data transfer, both directions, to this many bytes per second, e.g.
    /// 20K (K = 1024).
    #[arg(long, value_name = "RATE", value_parser = ftpspec_mock::parse_rate)]
    pub data_rate: Option<u64>,
    /// How LIST lines are written: `unix` (ls -l style) or `dos` (as IIS writes them).
    #[arg(long, value_name = "unix|dos")]
    pub list_format: Option<ListFormatArg>,
    /// How MLSD/MLST facts are written: `standard`, or `odd` (other case and order, unique=).
    #[arg(long, value_name = "standard|odd")]
    pub mlsd_style: Option<MlsdStyleArg>,
    /// Names on the wire: `utf8`, or `latin1` (Latin-1 bytes; OPTS UTF8 ON refused, no UTF8
    /// in FEAT).
    #[arg(long, value_name = "utf8|latin1")]
    pub name_encoding: Option<NameEncodingArg>,
    /// Serve a copy of this directory (read into memory at start; uploads stay in memory).
    #[arg(long, conflicts_with = "tree")]
    pub root: Option<PathBuf>,
    /// Serve the files of a TOML tree (`dirs = [...]` and a `[files]` table).
    #[arg(long)]
    pub tree: Option<PathBuf>,
    /// A full server file in TOML (settings, files, `[[script]]` mocks); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Serve a server personality (`ftpspec list --personalities`; or a personality file):
    /// its greeting, replies and policies. --config's keys override it, and flags both.
    #[arg(long, value_name = "NAME|FILE")]
    pub personality: Option<String>,
    /// Accept only this user (with --password). Default: any user, any password.
    #[arg(long, requires = "password")]
    pub user: Option<String>,
    /// The password for --user.
    #[arg(long, requires = "user")]
    pub password: Option<String>,
    /// Greet with 230 and start every session logged in (a pre-authenticated server).
    #[arg(long)]
    pub preauth: bool,
    /// Answer USER with 230 (no password asked); a PASS after it gets 503.
    #[arg(long)]
    pub login_on_user: bool,
    /// How reply lines end: `crlf` (RFC 959) or `lf` (LF only, as some embedded servers do).
    #[arg(long, value_name = "crlf|lf")]
    pub line_ending: Option<LineEnding>,
    /// Write every reply one byte at a time, this many milliseconds apart (each byte its own
    /// TCP segment), like curl's test-suite SLOWDOWN.
    #[arg(long, value_name = "MS")]
    pub reply_byte_delay_ms: Option<u64>,
    /// Serve FTPS: `explicit` (AUTH TLS on the plain port) or `implicit` (TLS from the first
    /// byte, use ftps:// URLs). A test CA and server certificate are generated at start.
    #[arg(long, value_name = "explicit|implicit")]
    pub ftps: Option<FtpsModeArg>,
    /// With --ftps: refuse USER/PASS before AUTH TLS (530) and transfers without PROT P (521).
    #[arg(long, requires = "ftps")]
    pub require_tls: bool,
    /// With --ftps: refuse (522) data connections that do not resume the control connection's
    /// TLS session, like vsftpd's require_ssl_reuse.
    #[arg(long, requires = "ftps")]
    pub require_session_reuse: bool,
    /// With --ftps: refuse CCC (534).
    #[arg(long, requires = "ftps")]
    pub no_ccc: bool,
    /// With --ftps: TLS versions to offer, e.g. 1.2 or 1.2,1.3 (default both).
    #[arg(long, requires = "ftps", value_delimiter = ',', value_name = "1.2,1.3")]
    pub tls_versions: Vec<TlsVersion>,
    /// With --ftps: client certificates `none`, `optional` or `required` (checked against the
    /// generated CA; --cert-out also writes a client certificate and key beside the CA).
    #[arg(long, requires = "ftps", value_name = "none|optional|required")]
    pub client_cert: Option<ClientAuth>,
    /// With --ftps: send N TLS 1.3 session tickets on each data connection after its
    /// handshake (default 0), as vsftpd and ProFTPD do.
    #[arg(long, requires = "ftps", value_name = "N")]
    pub data_tickets: Option<u32>,
    /// With --ftps: each TLS ticket or session resumes one handshake only; a second attempt
    /// with the same one gets a full handshake (522 under --require-session-reuse).
    #[arg(long, requires = "ftps")]
    pub single_use_tickets: bool,
    /// With --ftps: answer 426 to an upload whose TLS data connection ends without the
    /// client's close_notify, as vsftpd and FileZilla Server do.
    #[arg(long, requires = "ftps")]
    pub require_close_notify: bool,
    /// With --ftps: never send close_notify on data connections, as the Microsoft FTP service
    /// does.
    #[arg(long, requires = "ftps")]
    pub omit_close_notify: bool,
    /// With --ftps: where to write the CA certificate clients must trust (default: a file in
    /// the temporary directory, printed at start).
    #[arg(long, requires = "ftps", value_name = "FILE")]
    pub cert_out: Option<PathBuf>,
    /// With --ftps: serve this PEM certificate chain (with --tls-key) instead of generating one.
    #[arg(long, requires_all = ["ftps", "tls_key"], value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Log more: also the server's internal debug messages.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let server = match builder(&args)?.start().await {
        Err(ftpspec_mock::Error::Bind { addr, error })
            if error.kind() == std::io::ErrorKind::AddrInUse =>
        {
            bail!("cannot listen on {addr}: the port is in use; pass --port 0 for any free port, or another --port")
        }
        other => other.context("cannot start the mock server")?,
    };
    let login = match &args.user {
        Some(u) => format!("user {u} with its password"),
        None => "any user and password".to_owned(),
    };
    // Files first, so a failure to write them is reported before "listening".
    let notes = notes(&args, &server)?;
    println!("ftpspec serve: listening on {} ({login})", server.url());
    for note in notes {
        println!("{note}");
    }
    println!("  Ctrl-C stops the server.");
    wait_for_signal().await?;
    let log = server.events();
    let sessions = log
        .events
        .iter()
        .filter(|e| matches!(e.kind, ftpspec_mock::EventKind::Connected { .. }))
        .count();
    println!(
        "ftpspec serve: stopped after {sessions} control connection(s), {} command(s), {} data connection(s)",
        log.commands().len(),
        log.data_connections().len()
    );
    server.shutdown().await;
    Ok(())
}

/// The server file: --config, laid on --personality when both are given.
fn server_file(args: &ServeArgs) -> anyhow::Result<Option<ServerSpec>> {
    let own = match &args.config {
        Some(path) => Some(ServerSpec::from_file(path)?),
        None => None,
    };
    let Some(name) = &args.personality else {
        return Ok(own);
    };
    let p = crate::scenario::personality::find(name)?;
    let table: toml::Table = match &args.config {
        Some(path) => toml::from_str(&std::fs::read_to_string(path)?)?,
        None => toml::Table::new(),
    };
    let spec = p
        .spec_under(&table, args.ftps.is_some())
        .map_err(|e| anyhow::anyhow!("personality {}: {e}", p.name))?;
    println!("ftpspec serve: personality {}: {}", p.name, p.title);
    Ok(Some(spec))
}

/// The server the flags describe.
fn builder(args: &ServeArgs) -> anyhow::Result<ftpspec_mock::Builder> {
    let mut builder = MockServer::builder().bind(SocketAddr::new(args.bind, args.port));
    if let Some(spec) = server_file(args)? {
        builder = builder.spec(&spec);
    }
    if let Some(dir) = &args.root {
        builder = builder.root_dir(dir);
    }
    if let Some(path) = &args.tree {
        builder = builder.tree(&TreeSpec::from_file(path)?);
    }
    if let Some(a) = args.pasv_address {
        builder = builder.advertise(a);
    }
    if let Some(r) = args.pasv_ports.clone() {
        builder = builder.pasv_ports(r);
    }
    if args.no_epsv {
        builder = builder.epsv(false);
    }
    builder = match args.active_source_port.as_str() {
        "any" => builder.active_source(ActiveSource::Any),
        "20" => builder.active_source(ActiveSource::Port20),
        other => bail!("--active-source-port {other:?}: expected any or 20"),
    };
    if let Some(ip) = args.active_source_addr {
        builder = builder.active_source_addr(ip);
    }
    if args.allow_foreign_data_address {
        builder = builder.allow_foreign_data_address(true);
    }
    if args.data_ip_match {
        builder = builder.data_ip_match(true);
    }
    if let Some(rate) = args.data_rate {
        builder = builder.data_rate(rate);
    }
    if let Some(f) = args.list_format {
        builder = builder.list_format(match f {
            ListFormatArg::Unix => ListFormat::Unix,
            ListFormatArg::Dos => ListFormat::Dos,
        });
    }
    if let Some(m) = args.mlsd_style {
        builder = builder.mlsd_style(match m {
            MlsdStyleArg::Standard => MlsdStyle::Standard,
            MlsdStyleArg::Odd => MlsdStyle::Odd,
        });
    }
    if let Some(e) = args.name_encoding {
        builder = builder.name_encoding(match e {
            NameEncodingArg::Utf8 => NameEncoding::Utf8,
            NameEncodingArg::Latin1 => NameEncoding::Latin1,
        });
    }
    if let (Some(u), Some(p)) = (&args.user, &args.password) {
        builder = builder.credentials(u, p);
    }
    if args.preauth {
        builder = builder.preauth(true);
    }
    if args.login_on_user {
        builder = builder.login_on_user(true);
    }
    if let Some(eol) = args.line_ending {
        builder = builder.line_ending(eol);
    }
    if let Some(ms) = args.reply_byte_delay_ms {
        builder = builder.reply_byte_delay(std::time::Duration::from_millis(ms));
    }
    if let Some(mode) = args.ftps {
        let mut ftps = match mode {
            FtpsModeArg::Explicit => Ftps::explicit(),
            FtpsModeArg::Implicit => Ftps::implicit(),
        };
        if args.bind.is_unspecified() || !args.bind.is_loopback() {
            ftps = ftps.names(&["localhost", "127.0.0.1", "::1", &args.bind.to_string()]);
        }
        ftps = ftps
            .require_control_tls(args.require_tls)
            .require_data_tls(args.require_tls)
            .require_session_reuse(args.require_session_reuse)
            .allow_ccc(!args.no_ccc);
        if !args.tls_versions.is_empty() {
            ftps = ftps.versions(&args.tls_versions);
        }
        if let Some(c) = args.client_cert {
            ftps = ftps.client_auth(c);
        }
        if let Some(n) = args.data_tickets {
            ftps = ftps.data_tickets(n);
        }
        ftps = ftps
            .single_use_tickets(args.single_use_tickets)
            .require_close_notify(args.require_close_notify)
            .omit_close_notify(args.omit_close_notify);
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
            };
            ftps = ftps.identity_pem(&read(cert)?, &read(key)?);
        }
        builder = builder.ftps(ftps);
    }
    Ok(builder)
}

/// What to tell the user once the server listens: how to try it, and the files written for
/// FTPS (the CA, a client certificate).
fn notes(args: &ServeArgs, server: &MockServer) -> anyhow::Result<Vec<String>> {
    let Some(tls) = server.tls() else {
        return Ok(vec![format!(
            "  try: curl -s {}/gen/1K | wc -c     generated files: /gen/<size>, e.g. /gen/64M",
            server.url()
        )]);
    };
    let mut notes = Vec::new();
    let ca = args.cert_out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("ftpspec-serve-{}-ca.pem", server.addr().port()))
    });
    tls.write_ca_pem(&ca)
        .with_context(|| format!("cannot write the CA certificate to {}", ca.display()))?;
    notes.push(format!(
        "  FTPS: clients must trust the test CA written to {}",
        ca.display()
    ));
    if args.client_cert.is_some_and(|c| c != ClientAuth::None) {
        let cert = ca.with_extension("client.pem");
        let key = ca.with_extension("client.key");
        std::fs::write(&cert, tls.client_cert_pem())
            .with_context(|| format!("cannot write {}", cert.display()))?;
        std::fs::write(&key, tls.client_key_pem())
            .with_context(|| format!("cannot write {}", key.display()))?;
        notes.push(format!(
            "  client certificate: {} (key {})",
            cert.display(),
            key.display()
        ));
    }
    let flag = if args.ftps == Some(FtpsModeArg::Explicit) {
        " --ssl-reqd"
    } else {
        ""
    };
    notes.push(format!(
        "  try: curl -s{flag} --cacert {} {}/gen/1K | wc -c",
        ca.display(),
        server.url()
    ));
    Ok(notes)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot listen for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn reply_shaping_flags() {
        let cli = Cli::try_parse_from([
            "serve",
            "--preauth",
            "--login-on-user",
            "--line-ending",
            "lf",
            "--reply-byte-delay-ms",
            "3",
        ])
        .unwrap();
        assert!(cli.serve.preauth && cli.serve.login_on_user);
        assert_eq!(cli.serve.line_ending, Some(LineEnding::Lf));
        assert_eq!(cli.serve.reply_byte_delay_ms, Some(3));
        assert!(builder(&cli.serve).unwrap().build().is_ok());
        let cli = Cli::try_parse_from(["serve"]).unwrap();
        assert!(!cli.serve.preauth && !cli.serve.login_on_user);
        assert_eq!(cli.serve.line_ending, None);
        assert_eq!(cli.serve.reply_byte_delay_ms, None);
        let err = Cli::try_parse_from(["serve", "--line-ending", "cr"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("crlf or lf"), "{err}");
    }

    #[test]
    fn data_ip_match_flag() {
        let cli = Cli::try_parse_from(["serve", "--data-ip-match"]).unwrap();
        assert!(cli.serve.data_ip_match);
        assert!(builder(&cli.serve).unwrap().build().is_ok());
        let cli = Cli::try_parse_from(["serve"]).unwrap();
        assert!(!cli.serve.data_ip_match, "off by default");
    }

    #[test]
    fn issue_12_flags() {
        let cli = Cli::try_parse_from([
            "serve",
            "--data-rate",
            "20K",
            "--list-format",
            "dos",
            "--mlsd-style",
            "odd",
            "--name-encoding",
            "latin1",
            "--active-source-addr",
            "127.0.0.2",
        ])
        .unwrap();
        let s = &cli.serve;
        assert_eq!(s.data_rate, Some(20 * 1024));
        assert_eq!(s.list_format, Some(ListFormatArg::Dos));
        assert_eq!(s.mlsd_style, Some(MlsdStyleArg::Odd));
        assert_eq!(s.name_encoding, Some(NameEncodingArg::Latin1));
        assert_eq!(s.active_source_addr, Some([127, 0, 0, 2].into()));
        assert!(builder(s).unwrap().build().is_ok());
        for (flag, value, message) in [
            ("--data-rate", "0", "is not a rate in bytes per second"),
            ("--data-rate", "fast", "is not a rate in bytes per second"),
            ("--list-format", "iis", "possible values: unix, dos"),
            ("--mlsd-style", "weird", "possible values: standard, odd"),
            ("--name-encoding", "cp1252", "possible values: utf8, latin1"),
            (
                "--active-source-addr",
                "nowhere",
                "invalid IP address syntax",
            ),
        ] {
            let err = Cli::try_parse_from(["serve", flag, value])
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(message) && err.contains(flag), "{err}");
        }
    }
}
