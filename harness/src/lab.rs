//! `ftpspec lab`: a simulated network with the mock server in it, and a command (or a shell)
//! in the client host, torn down on exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use ftpspec_mock::{Advertise, Ftps, MockServer, ServerSpec};

use crate::{capture, mockhost};
use ftpspec_netns::{PresetName, PresetOptions, Roles, Topology, TopologySpec};

/// Options of `ftpspec lab`.
#[derive(Debug, Clone, clap::Args)]
pub struct LabArgs {
    /// The preset: direct, server-nat, server-nat-no-range, client-nat, both-nat,
    /// server-smart-firewall, client-smart-firewall, client-strict-firewall, direct-v6,
    /// client-strict-firewall-v6, lan-balancer.
    #[arg(required_unless_present_any = ["topology", "sweep"])]
    pub preset: Option<PresetName>,
    /// A topology file (TOML) instead of a preset; the command runs in host `client` and the
    /// mock server in host `server`, when they exist.
    #[arg(long, conflicts_with = "preset", value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// The server's passive port range (forwarded by the NAT presets).
    #[arg(long, value_name = "MIN-MAX", value_parser = ftpspec_mock::parse_port_range, default_value = "50000-50010")]
    pub pasv_ports: std::ops::RangeInclusive<u16>,
    /// The client's active-mode port range (forwarded by client-nat with
    /// --forward-active-ports; the only one client-strict-firewall admits).
    #[arg(long, value_name = "MIN-MAX", value_parser = ftpspec_mock::parse_port_range, default_value = "50100-50110")]
    pub active_ports: std::ops::RangeInclusive<u16>,
    /// client-nat: forward the active-mode range to the client.
    #[arg(long)]
    pub forward_active_ports: bool,
    /// Add the decoy host (192.0.2.66: accepts TCP on every port and records each attempt).
    #[arg(long)]
    pub decoy: bool,
    /// The server in the server host: the mock server on port 21, or none.
    #[arg(long, value_name = "mock|none", default_value = "mock")]
    pub server: String,
    /// The mock server's 227 address: own (its private address behind a NAT),
    /// control-address, or an IPv4 address.
    #[arg(long, value_name = "own|control-address|IP")]
    pub pasv_address: Option<Advertise>,
    /// The mock server speaks FTPS: explicit or implicit (then on port 990).
    #[arg(long, value_name = "explicit|implicit")]
    pub ftps: Option<crate::serve::FtpsModeArg>,
    /// A mock server file (TOML: settings, files, scripts, `[tls]`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Capture every interface of the network into FILE (pcapng: interfaces named host:link,
    /// the mock's TLS keys and those of programs that honour SSLKEYLOGFILE, set for the
    /// command, inside), written when the command ends.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    /// Remove namespaces left by killed runs and kept ones (FTPSPEC_KEEP=1), then exit.
    #[arg(long)]
    pub sweep: bool,
    /// The command to run in the client host (default: an interactive shell).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Runs the lab; the exit code is the command's.
pub async fn run(args: LabArgs) -> anyhow::Result<ExitCode> {
    // From here on SIGTERM and SIGINT do not kill the process: they are handled below, after
    // the topology exists, so it is always torn down.
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    if args.sweep {
        return sweep();
    }
    let (title, spec, roles) = network(&args)?;
    let mock = match args.server.as_str() {
        "mock" => true,
        "none" => false,
        other => bail!("--server {other:?}: expected mock or none"),
    };
    let client_host = roles
        .as_ref()
        .map_or("client".to_owned(), |r| r.client.clone());
    let server_host = roles
        .as_ref()
        .map_or("server".to_owned(), |r| r.server.clone());
    let topo = tokio::task::spawn_blocking(move || Topology::build(&spec))
        .await?
        .context("cannot build the topology")?;
    let Some(client) = topo.host(&client_host) else {
        bail!("the topology has no host {client_host:?} to run the command in");
    };
    let cap = match &args.capture {
        Some(file) => Some(
            topo.start_capture(ftpspec_netns::CaptureLimits::default())
                .with_context(|| format!("cannot capture into {}", file.display()))?,
        ),
        None => None,
    };
    let key_log = std::env::temp_dir().join(format!("{}-sslkeylog.txt", topo.id()));
    let mut notes = Vec::new();
    let server = match (mock, topo.host(&server_host)) {
        (false, _) => None,
        (true, None) => {
            notes.push(format!("no host {server_host:?}: no mock server started"));
            None
        }
        (true, Some(host)) => Some(start_server(&args, roles.as_ref(), &host)?),
    };
    let ca_path = std::env::temp_dir().join(format!("{}-ca.pem", topo.id()));
    let ca = match &server {
        Some(s) => mockhost::write_ca(s, &ca_path)?,
        None => None,
    };
    let header = Header {
        title: &title,
        topo: &topo,
        roles: roles.as_ref(),
        server: server.as_ref(),
        ca: ca.as_ref(),
        notes: &notes,
    };
    header.print();
    let command = if args.command.is_empty() {
        vec![std::env::var("SHELL").unwrap_or_else(|_| "/bin/bash".into())]
    } else {
        args.command.clone()
    };
    let mut cmd = client.command(&command[0]);
    cmd.args(&command[1..]).env("FTPSPEC_LAB", topo.id());
    if cap.is_some() {
        cmd.env("SSLKEYLOGFILE", &key_log);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {:?} in host {client_host}", command[0]))?;
    let status = loop {
        tokio::select! {
            status = child.wait() => break Some(status?),
            // Ctrl-C reaches the command too (same terminal); the lab waits for it to end.
            _ = int.recv() => continue,
            _ = term.recv() => {
                let _ = child.kill().await;
                break None;
            }
        }
    };
    print_footer(server.as_ref(), &topo);
    if let (Some(cap), Some(file)) = (cap, &args.capture) {
        let recording = tokio::task::spawn_blocking(move || cap.finish()).await?;
        let keys = capture::keys(server.as_ref(), &capture::read_client_keys(&key_log));
        let _ = std::fs::remove_file(&key_log);
        capture::write(&recording, &keys, file)
            .with_context(|| format!("cannot write the capture to {}", file.display()))?;
        println!(
            "ftpspec lab: wrote {} ({} packets on {}; TLS keys inside)",
            file.display(),
            recording.packets(),
            recording.interfaces().join(", ")
        );
    }
    drop(server);
    if let Some(ca) = ca {
        let _ = std::fs::remove_file(ca);
    }
    tokio::task::spawn_blocking(move || topo.destroy()).await??;
    Ok(match status.and_then(|s| s.code()) {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::from(130),
    })
}

/// `--sweep`: removes what killed runs left, and kept topologies.
fn sweep() -> anyhow::Result<ExitCode> {
    let removed = ftpspec_netns::sweep(true)?;
    let list = if removed.is_empty() {
        String::new()
    } else {
        format!(": {}", removed.join(", "))
    };
    println!("ftpspec lab: removed {} namespace(s){list}", removed.len());
    Ok(ExitCode::SUCCESS)
}

/// The network: a preset (with who is who) or a topology file.
fn network(args: &LabArgs) -> anyhow::Result<(String, TopologySpec, Option<Roles>)> {
    Ok(match (&args.preset, &args.topology) {
        (Some(name), _) => {
            let opts = PresetOptions {
                pasv_ports: args.pasv_ports.clone(),
                active_ports: args.active_ports.clone(),
                forward_active_ports: args.forward_active_ports,
                decoy: args.decoy,
                ..PresetOptions::default()
            };
            let p = name.build(&opts)?;
            (name.to_string(), p.spec, Some(p.roles))
        }
        (None, Some(path)) => (
            path.display().to_string(),
            TopologySpec::from_file(path)?,
            None,
        ),
        (None, None) => bail!("give a preset or --topology FILE"),
    })
}

/// The mock server on port 21 (990 for implicit FTPS) of the server host.
fn start_server(
    args: &LabArgs,
    roles: Option<&Roles>,
    host: &ftpspec_netns::Host,
) -> anyhow::Result<MockServer> {
    let mut builder = MockServer::builder();
    if let Some(path) = &args.config {
        builder = builder.spec(&ServerSpec::from_file(path)?);
    }
    let implicit = args.ftps == Some(crate::serve::FtpsModeArg::Implicit);
    // Dual-stack when the server is reached over IPv6.
    let any: std::net::IpAddr = match roles {
        Some(r) if r.server_addr.is_ipv6() => std::net::Ipv6Addr::UNSPECIFIED.into(),
        _ => std::net::Ipv4Addr::UNSPECIFIED.into(),
    };
    builder = builder
        .bind(SocketAddr::new(any, mockhost::control_port(implicit)))
        .pasv_ports(args.pasv_ports.clone());
    if let Some(a) = args.pasv_address {
        builder = builder.advertise(a);
    }
    if let Some(mode) = args.ftps {
        let ftps = match mode {
            crate::serve::FtpsModeArg::Explicit => Ftps::explicit(),
            crate::serve::FtpsModeArg::Implicit => Ftps::implicit(),
        };
        builder = builder.ftps(ftps.names(&mockhost::cert_names(roles)));
    }
    mockhost::start_in(host, builder).context("cannot start the mock server in the server host")
}

/// After the command: what the mock server and the routers saw.
fn print_footer(server: Option<&MockServer>, topo: &Topology) {
    if let Some(server) = server {
        let log = server.events();
        println!(
            "ftpspec lab: the mock server saw {} command(s) and {} data connection(s)",
            log.commands().len(),
            log.data_connections().len()
        );
    }
    match topo.attempts() {
        Ok(attempts) if !attempts.is_empty() => {
            println!("ftpspec lab: the routers saw:");
            for a in attempts {
                println!("  {a}");
            }
        }
        Ok(_) => {}
        Err(e) => eprintln!("ftpspec lab: cannot read the routers' records: {e}"),
    }
}

/// What the lab prints before the command runs.
struct Header<'a> {
    title: &'a str,
    topo: &'a Topology,
    roles: Option<&'a Roles>,
    server: Option<&'a MockServer>,
    ca: Option<&'a PathBuf>,
    notes: &'a [String],
}

impl Header<'_> {
    fn print(&self) {
        let Header {
            title,
            topo,
            roles,
            server,
            ca,
            notes,
        } = *self;
        println!("ftpspec lab: {title} ({})", topo.id());
        for link in &topo.spec().links {
            let addrs = |e: &ftpspec_netns::LinkEnd| {
                e.addrs
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            println!(
                "  {}:{} {}  <->  {}:{} {}",
                link.a.host,
                link.a.iface,
                addrs(&link.a),
                link.b.host,
                link.b.iface,
                addrs(&link.b)
            );
        }
        if let Some(r) = roles {
            let behind = if r.server_own_addr != r.server_addr {
                format!(" (the server's own address: {})", r.server_own_addr)
            } else {
                String::new()
            };
            println!(
                "  the client reaches the server at {}{behind}",
                r.server_addr
            );
            if r.client_public_addr != r.client_addr {
                println!(
                    "  the server sees the client as {} (its own address: {})",
                    r.client_public_addr, r.client_addr
                );
            }
            if let Some(d) = r.decoy {
                println!(
                    "  decoy: {d} (accepts TCP on every port; attempts are listed at the end)"
                );
            }
        }
        if let (Some(s), Some(r)) = (server, roles) {
            let scheme = if s.url().starts_with("ftps") {
                "ftps"
            } else {
                "ftp"
            };
            println!(
                "  mock server: {scheme}://{} (any user and password)",
                SocketAddr::new(r.server_addr, s.addr().port())
            );
        }
        if let Some(ca) = ca {
            println!("  FTPS: trust the test CA in {}", ca.display());
        }
        for n in notes {
            println!("  note: {n}");
        }
        let hosts: Vec<&str> = topo.spec().hosts.keys().map(|h| h.as_str()).collect();
        let only_inside = if std::env::var_os("FTPSPEC_USERNS").is_some() {
            "; not root: from the command's shell only, the namespaces live in the lab's own user namespace"
        } else {
            ""
        };
        println!(
            "  other hosts: ip netns exec {}-<host> bash   (hosts: {}{only_inside})",
            topo.id(),
            hosts.join(", ")
        );
    }
}
