//! Client adapters: how each FTP client is told to do a scenario's action with its settings.
//!
//! Built in: `curl`, `lftp`, `wget`, `python-ftplib` (a script shipped in the crate, run with
//! python3), `tnftp` (command-line programs run inside the client host), and `suppaftp`
//! (linked in, run on a thread inside the client host). A user's own client comes in as a
//! TOML client file ([`ClientFile`]) or, from Rust, as a closure ([`Client::from_fn`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::scenario::{Action, Mode, Setting};

/// Everything a client needs to know to run a case.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's address as the client reaches it.
    pub host: IpAddr,
    /// The control port (21, or 990 for implicit FTPS).
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// The server path.
    pub path: String,
    /// The local file: where a download goes, or what an upload sends.
    pub local_file: PathBuf,
    /// What to do.
    pub action: Action,
    /// Passive or active.
    pub mode: Mode,
    /// The settings the scenario needs.
    pub settings: Vec<Setting>,
    /// The test CA to trust, under FTPS.
    pub ca_file: Option<PathBuf>,
    /// The client's active-mode port range.
    pub active_ports: RangeInclusive<u16>,
    /// The client's own address.
    pub client_addr: IpAddr,
    /// The client's public address (its NAT's).
    pub client_public_addr: IpAddr,
    /// The scenario's time limit.
    pub timeout: Duration,
    /// A directory the client may use.
    pub work_dir: PathBuf,
}

impl Target {
    fn has(&self, s: Setting) -> bool {
        self.settings.contains(&s)
    }

    fn ftps(&self) -> bool {
        self.has(Setting::FtpsExplicit) || self.has(Setting::FtpsImplicit)
    }

    fn secs(&self) -> u64 {
        self.timeout.as_secs().max(5)
    }
}

/// A command line to run inside the client host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Written to the program's stdin (then closed).
    pub stdin: Option<String>,
}

/// An in-process client: runs on a thread inside the client host's network namespace.
pub type InProcess =
    Arc<dyn Fn(Target) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// One FTP client under test.
#[derive(Clone)]
pub struct Client {
    name: String,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Builtin(Builtin),
    File(Box<ClientFile>),
    InProcess {
        version: String,
        actions: Vec<Action>,
        settings: Vec<Setting>,
        run: InProcess,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    Curl,
    Lftp,
    Wget,
    Ftplib,
    Tnftp,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The built-in client names.
pub const BUILTIN: [&str; 6] = ["curl", "lftp", "wget", "python-ftplib", "tnftp", "suppaftp"];

const FTPLIB_SCRIPT: &str = include_str!("ftplib_client.py");

impl Client {
    /// A built-in client by name (see [`BUILTIN`]).
    pub fn builtin(name: &str) -> Option<Client> {
        let b = match name {
            "curl" => Builtin::Curl,
            "lftp" => Builtin::Lftp,
            "wget" => Builtin::Wget,
            "python-ftplib" | "ftplib" => Builtin::Ftplib,
            "tnftp" => Builtin::Tnftp,
            "suppaftp" => return Some(suppaftp_client()),
            _ => return None,
        };
        let name = if b == Builtin::Ftplib {
            "python-ftplib"
        } else {
            name
        };
        Some(Client {
            name: name.to_owned(),
            kind: Kind::Builtin(b),
        })
    }

    /// A client from a TOML client file.
    pub fn from_file(path: &Path) -> Result<Client, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: ClientFile = toml::from_str(&text).map_err(|e| {
            let (line, col) = e
                .span()
                .map(|s| {
                    let before = &text[..s.start];
                    (
                        before.matches('\n').count() + 1,
                        before.rsplit('\n').next().map_or(0, str::len) + 1,
                    )
                })
                .unwrap_or((0, 0));
            format!("{}:{line}:{col}: {}", path.display(), e.message())
        })?;
        file.check()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Client {
            name: file.name.clone(),
            kind: Kind::File(Box::new(file)),
        })
    }

    /// A client written in Rust: `run` gets the [`Target`] and runs, as a future, on a thread
    /// inside the client host (so its sockets are there). Declare the actions and settings it
    /// supports; others make a scenario `unsupported`.
    pub fn from_fn<F, Fut>(
        name: &str,
        version: &str,
        actions: &[Action],
        settings: &[Setting],
        run: F,
    ) -> Client
    where
        F: Fn(Target) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Client {
            name: name.to_owned(),
            kind: Kind::InProcess {
                version: version.to_owned(),
                actions: actions.to_vec(),
                settings: settings.to_vec(),
                run: Arc::new(move |t| Box::pin(run(t))),
            },
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The program it needs on the machine (for command-line clients).
    pub fn program(&self) -> Option<String> {
        match &self.kind {
            Kind::Builtin(Builtin::Curl) => Some("curl".into()),
            Kind::Builtin(Builtin::Lftp) => Some("lftp".into()),
            Kind::Builtin(Builtin::Wget) => Some("wget".into()),
            Kind::Builtin(Builtin::Ftplib) => Some("python3".into()),
            Kind::Builtin(Builtin::Tnftp) => Some("tnftp".into()),
            Kind::InProcess { .. } => None,
            Kind::File(f) => f
                .actions
                .values()
                .next()
                .and_then(|t| shlex::split(t))
                .and_then(|v| v.into_iter().next()),
        }
    }

    /// Whether the program is installed.
    pub fn available(&self) -> bool {
        self.program().is_none_or(|p| which(&p))
    }

    /// Its version, as it reports it.
    pub fn version(&self) -> String {
        let run = |argv: &[&str]| -> String {
            std::process::Command::new(argv[0])
                .args(&argv[1..])
                .output()
                .map(|o| {
                    let text = if o.stdout.is_empty() {
                        o.stderr
                    } else {
                        o.stdout
                    };
                    String::from_utf8_lossy(&text)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_owned()
                })
                .unwrap_or_else(|e| format!("unknown ({e})"))
        };
        match &self.kind {
            Kind::Builtin(Builtin::Curl) => run(&["curl", "--version"]),
            Kind::Builtin(Builtin::Lftp) => run(&["lftp", "--version"]),
            Kind::Builtin(Builtin::Wget) => run(&["wget", "--version"]),
            Kind::Builtin(Builtin::Ftplib) => run(&["python3", "--version"]),
            Kind::Builtin(Builtin::Tnftp) => {
                // tnftp has no --version; its package knows.
                let v = run(&["dpkg-query", "-W", "-f", "${Version}", "tnftp"]);
                format!("tnftp {v}")
            }
            Kind::InProcess { version, .. } => version.clone(),
            Kind::File(f) => match &f.version_command {
                Some(cmd) => {
                    let argv = shlex::split(cmd).unwrap_or_default();
                    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                    if argv.is_empty() {
                        "unknown".into()
                    } else {
                        run(&argv)
                    }
                }
                None => "unknown".into(),
            },
        }
    }

    /// Why this client cannot run a case with this action and these settings, if it cannot.
    pub fn unsupported(&self, action: Action, mode: Mode, settings: &[Setting]) -> Option<String> {
        let (actions, supported): (Vec<Action>, Vec<Setting>) = match &self.kind {
            Kind::Builtin(b) => builtin_support(*b),
            Kind::InProcess {
                actions, settings, ..
            } => (actions.clone(), settings.clone()),
            Kind::File(f) => (
                f.actions.keys().filter_map(|k| action_of(k)).collect(),
                f.settings
                    .keys()
                    .filter_map(|k| Setting::from_name(k))
                    .collect(),
            ),
        };
        if !actions.contains(&action) {
            return Some(format!("{} cannot {}", self.name, action_word(action)));
        }
        if mode == Mode::Active {
            let active_ok = match &self.kind {
                Kind::File(f) => f.settings.contains_key("active"),
                _ => true,
            };
            if !active_ok {
                return Some(format!("{} has no setting for active mode", self.name));
            }
        }
        let missing: Vec<&str> = settings
            .iter()
            .filter(|s| !supported.contains(s))
            .map(|s| s.as_str())
            .collect();
        if !missing.is_empty() {
            return Some(format!(
                "{} has no setting for {}",
                self.name,
                missing.join(", ")
            ));
        }
        None
    }

    /// The command line for a target (command-line clients); `None` for in-process ones.
    pub fn invocation(&self, t: &Target) -> Option<Invocation> {
        match &self.kind {
            Kind::Builtin(Builtin::Curl) => Some(curl(t)),
            Kind::Builtin(Builtin::Lftp) => Some(lftp(t)),
            Kind::Builtin(Builtin::Wget) => Some(wget(t)),
            Kind::Builtin(Builtin::Ftplib) => Some(ftplib(t)),
            Kind::Builtin(Builtin::Tnftp) => Some(tnftp(t)),
            Kind::File(f) => Some(f.invocation(t)),
            Kind::InProcess { .. } => None,
        }
    }

    /// The in-process runner, for in-process clients.
    pub fn in_process(&self) -> Option<InProcess> {
        match &self.kind {
            Kind::InProcess { run, .. } => Some(run.clone()),
            _ => None,
        }
    }
}

fn which(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::List => "list a directory",
        Action::Download => "download",
        Action::Upload => "upload",
    }
}

fn action_of(key: &str) -> Option<Action> {
    match key {
        "list" => Some(Action::List),
        "download" => Some(Action::Download),
        "upload" => Some(Action::Upload),
        _ => None,
    }
}

fn builtin_support(b: Builtin) -> (Vec<Action>, Vec<Setting>) {
    use Action::*;
    use Setting::*;
    match b {
        // curl and lftp have a setting for everything a scenario asks.
        Builtin::Curl | Builtin::Lftp => (vec![List, Download, Upload], Setting::ALL.to_vec()),
        // wget uses PASV and PORT on IPv4, never EPSV or EPRT.
        Builtin::Wget => (
            vec![List, Download],
            vec![DisableEpsv, DisableEprt, FtpsExplicit, FtpsImplicit],
        ),
        // ftplib ignores the 227 address by default (trust_server_pasv_ipv4_address = False).
        Builtin::Ftplib => (
            vec![List, Download, Upload],
            vec![DisableEpsv, DisableEprt, ForcePasvIp, FtpsExplicit, Ccc],
        ),
        // tnftp uses EPSV first; its toggle (epsv4) is an interactive command, not an option.
        Builtin::Tnftp => (vec![Download, Upload], vec![PreferEpsv]),
    }
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn host_for_url(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}

fn curl(t: &Target) -> Invocation {
    let scheme = if t.has(Setting::FtpsImplicit) {
        "ftps"
    } else {
        "ftp"
    };
    let mut path = t.path.clone();
    if t.action == Action::List && !path.ends_with('/') {
        path.push('/');
    }
    let url = format!(
        "{scheme}://{}:{}@{}:{}{path}",
        t.user,
        t.password,
        host_for_url(t.host),
        t.port
    );
    let secs = t.secs();
    let mut argv = vec![
        s("curl"),
        s("-sS"),
        s("-v"),
        s("--connect-timeout"),
        s(10.min(secs)),
        s("--max-time"),
        s(secs),
    ];
    if t.mode == Mode::Active {
        let addr = if t.has(Setting::ExternalIp) {
            t.client_public_addr
        } else {
            t.client_addr
        };
        let value = if t.has(Setting::PortRange) {
            format!("{addr}:{}-{}", t.active_ports.start(), t.active_ports.end())
        } else if t.has(Setting::ExternalIp) {
            addr.to_string()
        } else {
            s("-")
        };
        argv.extend([s("-P"), value]);
    }
    for (setting, flag) in [
        (Setting::DisableEpsv, "--disable-epsv"),
        (Setting::DisableEprt, "--disable-eprt"),
        (Setting::ForcePasvIp, "--ftp-skip-pasv-ip"),
        (Setting::FtpsExplicit, "--ssl-reqd"),
        (Setting::Ccc, "--ftp-ssl-ccc"),
    ] {
        if t.has(setting) {
            argv.push(s(flag));
        }
    }
    if let (true, Some(ca)) = (t.ftps(), &t.ca_file) {
        argv.extend([s("--cacert"), ca.display().to_string()]);
    }
    match t.action {
        Action::Upload => argv.extend([s("-T"), t.local_file.display().to_string()]),
        _ => argv.extend([s("-o"), t.local_file.display().to_string()]),
    }
    argv.push(url);
    Invocation { argv, stdin: None }
}

fn lftp(t: &Target) -> Invocation {
    let mut sets = vec![
        s("set cmd:fail-exit yes"),
        s("set net:max-retries 1"),
        format!("set net:timeout {}", 10.min(t.secs())),
        s("set net:reconnect-interval-base 1"),
        s("set xfer:clobber yes"),
    ];
    if t.mode == Mode::Active {
        sets.push(s("set ftp:passive-mode off"));
    }
    if t.has(Setting::PortRange) {
        sets.push(format!(
            "set ftp:port-range {}-{}",
            t.active_ports.start(),
            t.active_ports.end()
        ));
    }
    if t.has(Setting::ExternalIp) {
        sets.push(format!("set ftp:port-ipv4 {}", t.client_public_addr));
    }
    if t.has(Setting::ForcePasvIp) {
        sets.push(s("set ftp:ignore-pasv-address yes"));
    }
    if t.has(Setting::DisableEpsv) {
        sets.push(s("set ftp:prefer-epsv no"));
    }
    if t.has(Setting::PreferEpsv) {
        sets.push(s("set ftp:prefer-epsv yes"));
    }
    if t.has(Setting::FtpsExplicit) {
        sets.push(s("set ftp:ssl-force yes"));
        sets.push(s("set ftp:ssl-protect-data yes"));
    }
    if t.has(Setting::Ccc) {
        sets.push(s("set ftp:ssl-use-ccc yes"));
    }
    if let (true, Some(ca)) = (t.ftps(), &t.ca_file) {
        sets.push(format!("set ssl:ca-file {}", ca.display()));
    }
    let open = if t.has(Setting::FtpsImplicit) {
        format!(
            "open -u {},{} ftps://{}:{}",
            t.user,
            t.password,
            host_for_url(t.host),
            t.port
        )
    } else {
        format!("open -u {},{} -p {} {}", t.user, t.password, t.port, t.host)
    };
    let local = t.local_file.display();
    let action = match t.action {
        Action::Download => format!("get {} -o {local}", t.path),
        Action::Upload => format!("put {local} -o {}", t.path),
        Action::List => format!("ls {} > {local}", t.path),
    };
    let script = format!("{}; {open}; {action}", sets.join("; "));
    Invocation {
        argv: vec![s("lftp"), s("-c"), script],
        stdin: None,
    }
}

fn wget(t: &Target) -> Invocation {
    let scheme = if t.ftps() { "ftps" } else { "ftp" };
    let mut path = t.path.clone();
    if t.action == Action::List && !path.ends_with('/') {
        path.push('/');
    }
    let url = format!(
        "{scheme}://{}:{}@{}:{}{path}",
        t.user,
        t.password,
        host_for_url(t.host),
        t.port
    );
    let mut argv = vec![
        s("wget"),
        s("-nv"),
        s("--tries=1"),
        format!("--timeout={}", 10.min(t.secs())),
        s("-O"),
        t.local_file.display().to_string(),
    ];
    if t.mode == Mode::Active {
        argv.push(s("--no-passive-ftp"));
    }
    if t.has(Setting::FtpsImplicit) {
        argv.push(s("--ftps-implicit"));
    }
    if let (true, Some(ca)) = (t.ftps(), &t.ca_file) {
        argv.push(format!("--ca-certificate={}", ca.display()));
    }
    argv.push(url);
    Invocation { argv, stdin: None }
}

fn ftplib(t: &Target) -> Invocation {
    let mut flags = Vec::new();
    if t.mode == Mode::Active {
        flags.push("active");
    }
    if t.has(Setting::FtpsExplicit) {
        flags.push("ftps");
    }
    if t.has(Setting::Ccc) {
        flags.push("ccc");
    }
    let action = match t.action {
        Action::List => "list",
        Action::Download => "download",
        Action::Upload => "upload",
    };
    let ca = t
        .ca_file
        .as_ref()
        .map(|c| c.display().to_string())
        .unwrap_or_default();
    Invocation {
        argv: vec![
            s("python3"),
            s("-c"),
            s(FTPLIB_SCRIPT),
            t.host.to_string(),
            t.port.to_string(),
            t.user.clone(),
            t.password.clone(),
            s(action),
            t.path.clone(),
            t.local_file.display().to_string(),
            s(10.min(t.secs())),
            ca,
            flags.join(","),
        ],
        stdin: None,
    }
}

fn tnftp(t: &Target) -> Invocation {
    let url = format!(
        "ftp://{}:{}@{}:{}{}",
        t.user,
        t.password,
        host_for_url(t.host),
        t.port,
        t.path
    );
    let mut argv = vec![s("tnftp"), s("-V"), s("-q"), s(10.min(t.secs()))];
    if t.mode == Mode::Active {
        argv.push(s("-A"));
    }
    match t.action {
        Action::Upload => argv.extend([s("-u"), url, t.local_file.display().to_string()]),
        _ => argv.extend([s("-o"), t.local_file.display().to_string(), url]),
    }
    Invocation { argv, stdin: None }
}

fn suppaftp_client() -> Client {
    Client::from_fn(
        "suppaftp",
        "suppaftp 12 (rustls, linked in)",
        &[Action::List, Action::Download, Action::Upload],
        &[
            Setting::DisableEpsv,
            Setting::PreferEpsv,
            Setting::DisableEprt,
            Setting::ForcePasvIp,
            Setting::FtpsExplicit,
            Setting::Ccc,
        ],
        // suppaftp is synchronous: run it on a blocking thread of the in-host runtime, which
        // tokio starts from the host thread, so it is in the client's namespace too.
        |t: Target| async move {
            tokio::task::spawn_blocking(move || suppaftp_run(&t))
                .await
                .map_err(|e| e.to_string())?
        },
    )
}

/// suppaftp's sync client, configured from the target.
fn suppaftp_run(t: &Target) -> Result<(), String> {
    use suppaftp::types::FileType;
    let step = |what: &'static str| move |e: suppaftp::FtpError| format!("{what}: {e}");
    let addr = std::net::SocketAddr::new(t.host, t.port);
    let timeout = Duration::from_secs(10.min(t.secs()));
    let ftp = suppaftp::RustlsFtpStream::connect_timeout(addr, timeout).map_err(step("connect"))?;
    ftp.get_ref()
        .set_read_timeout(Some(timeout))
        .map_err(|e| format!("socket: {e}"))?;
    let mut ftp = if t.has(Setting::FtpsExplicit) {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(ca) = &t.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            use rustls::pki_types::pem::PemObject;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                roots
                    .add(cert.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        ftp.into_secure(
            suppaftp::RustlsConnector::from(Arc::new(config)),
            &t.host.to_string(),
        )
        .map_err(step("AUTH TLS"))?
    } else {
        ftp
    };
    ftp.login(&t.user, &t.password).map_err(step("login"))?;
    if t.has(Setting::Ccc) {
        ftp = ftp.clear_command_channel().map_err(step("CCC"))?;
    }
    ftp.set_passive_nat_workaround(t.has(Setting::ForcePasvIp));
    if t.mode == Mode::Active {
        ftp = ftp.active_mode(timeout);
    } else if t.has(Setting::PreferEpsv) {
        ftp.set_mode(suppaftp::Mode::ExtendedPassive);
    }
    ftp.transfer_type(FileType::Binary)
        .map_err(step("TYPE I"))?;
    match t.action {
        Action::Download => {
            let data = ftp
                .retr_as_buffer(&t.path)
                .map_err(step("RETR"))?
                .into_inner();
            std::fs::write(&t.local_file, data).map_err(|e| e.to_string())?;
        }
        Action::Upload => {
            let mut file = std::fs::File::open(&t.local_file).map_err(|e| e.to_string())?;
            ftp.put_file(&t.path, &mut file).map_err(step("STOR"))?;
        }
        Action::List => {
            let lines = ftp.list(Some(&t.path)).map_err(step("LIST"))?;
            std::fs::write(&t.local_file, lines.join("\n")).map_err(|e| e.to_string())?;
        }
    }
    ftp.quit().map_err(step("QUIT"))?;
    Ok(())
}

/// A client file: the documented interface for any other client.
///
/// ```toml
/// name = "myclient"
/// version_command = "myclient --version"        # optional
/// [actions]          # placeholders: {host} {port} {user} {password} {path} {local_file}
/// list     = "myclient ls ftp://{host}:{port}{path}"
/// download = "myclient get ftp://{user}:{password}@{host}:{port}{path} -o {local_file}"
/// upload   = "myclient put {local_file} ftp://{user}:{password}@{host}:{port}{path}"
/// [settings]         # appended when a scenario needs the setting; a missing key = unsupported
/// active        = "--active"
/// port_range    = "--port-range {min}-{max}"
/// external_ip   = "--external-ip {ip}"
/// force_pasv_ip = "--force-ip"
/// disable_epsv  = "--no-epsv"
/// ftps_explicit = "--ftps"
/// ftps_implicit = "--ftps-implicit"
/// ccc           = "--ccc"
/// trust_cert    = "--cacert {ca_file}"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    /// The client's name in results.
    pub name: String,
    /// A command that prints its version.
    pub version_command: Option<String>,
    /// `list`, `download`, `upload` command templates.
    pub actions: BTreeMap<String, String>,
    /// Setting name -> arguments to append.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

const PLACEHOLDERS: [&str; 10] = [
    "host",
    "port",
    "user",
    "password",
    "path",
    "local_file",
    "min",
    "max",
    "ip",
    "ca_file",
];

impl ClientFile {
    fn check(&self) -> Result<(), String> {
        if self.actions.is_empty() {
            return Err("[actions] needs at least one of list, download, upload".into());
        }
        for (k, v) in &self.actions {
            if action_of(k).is_none() {
                return Err(format!(
                    "[actions] {k}: unknown action; use list, download or upload"
                ));
            }
            check_template(&format!("actions.{k}"), v)?;
        }
        for (k, v) in &self.settings {
            if Setting::from_name(k).is_none() && k != "active" && k != "trust_cert" {
                return Err(format!(
                    "[settings] {k}: unknown setting; the settings are active, port_range, external_ip, force_pasv_ip, disable_epsv, disable_eprt, ftps_explicit, ftps_implicit, ccc, trust_cert"
                ));
            }
            check_template(&format!("settings.{k}"), v)?;
        }
        Ok(())
    }

    fn invocation(&self, t: &Target) -> Invocation {
        let key = match t.action {
            Action::List => "list",
            Action::Download => "download",
            Action::Upload => "upload",
        };
        let template = self.actions.get(key).cloned().unwrap_or_default();
        let ip = if t.has(Setting::ExternalIp) {
            t.client_public_addr
        } else {
            t.client_addr
        };
        let vars: BTreeMap<&str, String> = [
            ("host", t.host.to_string()),
            ("port", t.port.to_string()),
            ("user", t.user.clone()),
            ("password", t.password.clone()),
            ("path", t.path.clone()),
            ("local_file", t.local_file.display().to_string()),
            ("min", t.active_ports.start().to_string()),
            ("max", t.active_ports.end().to_string()),
            ("ip", ip.to_string()),
            (
                "ca_file",
                t.ca_file
                    .as_ref()
                    .map(|c| c.display().to_string())
                    .unwrap_or_default(),
            ),
        ]
        .into_iter()
        .collect();
        let expand = |text: &str| -> Vec<String> {
            shlex::split(text)
                .unwrap_or_default()
                .into_iter()
                .map(|arg| {
                    let mut a = arg;
                    for (k, v) in &vars {
                        a = a.replace(&format!("{{{k}}}"), v);
                    }
                    a
                })
                .collect()
        };
        let mut argv = expand(&template);
        let mut extra: Vec<&str> = Vec::new();
        if t.mode == Mode::Active {
            extra.push("active");
        }
        extra.extend(t.settings.iter().map(|s| s.as_str()));
        if t.ftps() {
            extra.push("trust_cert");
        }
        for k in extra {
            if let Some(v) = self.settings.get(k) {
                argv.extend(expand(v));
            }
        }
        Invocation { argv, stdin: None }
    }
}

fn check_template(key: &str, text: &str) -> Result<(), String> {
    if shlex::split(text).is_none_or(|v| v.is_empty()) {
        return Err(format!("{key}: {text:?} is not a command line"));
    }
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("{key}: unclosed {{ in {text:?}"));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "{key}: unknown placeholder {{{name}}}; the placeholders are {}",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(action: Action, mode: Mode, settings: &[Setting]) -> Target {
        Target {
            host: "203.0.113.1".parse().unwrap(),
            port: 21,
            user: "test".into(),
            password: "test".into(),
            path: "/gen/64K".into(),
            local_file: "/tmp/x/out.bin".into(),
            action,
            mode,
            settings: settings.to_vec(),
            ca_file: Some("/tmp/x/ca.pem".into()),
            active_ports: 50100..=50110,
            client_addr: "192.168.1.2".parse().unwrap(),
            client_public_addr: "198.51.100.1".parse().unwrap(),
            timeout: Duration::from_secs(30),
            work_dir: "/tmp/x".into(),
        }
    }

    #[test]
    fn curl_command_lines() {
        let c = Client::builtin("curl").unwrap();
        let inv = c
            .invocation(&target(
                Action::Download,
                Mode::Active,
                &[
                    Setting::ExternalIp,
                    Setting::PortRange,
                    Setting::FtpsExplicit,
                ],
            ))
            .unwrap();
        let line = inv.argv.join(" ");
        assert!(line.contains("-P 198.51.100.1:50100-50110"), "{line}");
        assert!(
            line.contains("--ssl-reqd") && line.contains("--cacert /tmp/x/ca.pem"),
            "{line}"
        );
        assert!(
            line.ends_with("-o /tmp/x/out.bin ftp://test:test@203.0.113.1:21/gen/64K"),
            "{line}"
        );
    }

    #[test]
    fn support_is_declared() {
        let wget = Client::builtin("wget").unwrap();
        assert_eq!(
            wget.unsupported(Action::Upload, Mode::Passive, &[]),
            Some("wget cannot upload".into())
        );
        assert_eq!(
            wget.unsupported(Action::Download, Mode::Active, &[Setting::PortRange]),
            Some("wget has no setting for port_range".into())
        );
        assert_eq!(
            Client::builtin("curl").unwrap().unsupported(
                Action::Upload,
                Mode::Active,
                &[Setting::PortRange]
            ),
            None
        );
    }

    #[test]
    fn client_files() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.toml");
        std::fs::write(
            &good,
            "name = \"my\"\n[actions]\ndownload = \"my get ftp://{host}:{port}{path} -o {local_file}\"\n[settings]\nactive = \"--active\"\nport_range = \"--ports {min}-{max}\"\n",
        )
        .unwrap();
        let c = Client::from_file(&good).unwrap();
        assert_eq!(
            c.unsupported(Action::Upload, Mode::Passive, &[]),
            Some("my cannot upload".into())
        );
        assert_eq!(
            c.unsupported(Action::Download, Mode::Active, &[Setting::PortRange]),
            None
        );
        let inv = c
            .invocation(&target(
                Action::Download,
                Mode::Active,
                &[Setting::PortRange],
            ))
            .unwrap();
        assert_eq!(
            inv.argv,
            [
                "my",
                "get",
                "ftp://203.0.113.1:21/gen/64K",
                "-o",
                "/tmp/x/out.bin",
                "--active",
                "--ports",
                "50100-50110"
            ]
        );
        let bad = dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            "name = \"my\"\n[actions]\ndownload = \"my get {url}\"\n",
        )
        .unwrap();
        let e = Client::from_file(&bad).unwrap_err();
        assert!(
            e.contains("bad.toml") && e.contains("unknown placeholder {url}"),
            "{e}"
        );
        std::fs::write(&bad, "name = \"my\"\nactons = 1\n").unwrap();
        let e = Client::from_file(&bad).unwrap_err();
        assert!(
            e.contains("bad.toml:2:1") && e.contains("unknown field `actons`"),
            "{e}"
        );
    }
}
