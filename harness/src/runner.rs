//! Running one case: build the topology, start the mock server in the server host, run the
//! client in the client host, collect the observations, give the verdict, tear down.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ftpspec_mock::{generated, DataMode, EventLog, FtpsMode, MockServer, TlsSpec};
use ftpspec_netns::{Roles, Topology};
use ftpspec_report::{Attempt, AttemptOutcome, HostSummary, LinkSummary, NetworkSummary, Role};

use crate::clients::{Client, Target};
use crate::scenario::{Action, Mode, Outcome, Scenario, Setting};

pub use ftpspec_report::{CaseResult, Observations, Verdict};

fn trunc(bytes: &[u8]) -> String {
    const MAX: usize = 16 * 1024;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]).into_owned();
    if bytes.len() > MAX {
        format!("{text}\n... ({} more bytes)", bytes.len() - MAX)
    } else {
        text
    }
}

/// Runs one case.
pub async fn run_case(scenario: &Scenario, client: &Client, client_version: &str) -> CaseResult {
    let started = Instant::now();
    let f = &scenario.file;
    let mut result = CaseResult {
        client: client.name().to_owned(),
        client_version: client_version.to_owned(),
        scenario: scenario.id.clone(),
        title: f.title.clone(),
        requirement: f.requirement.clone(),
        references: f.references.clone(),
        verdict: Verdict::Error,
        reason: String::new(),
        duration_ms: 0,
        observations: Observations::default(),
    };
    if let Some(why) = client.unsupported(f.client.action, f.client.mode, &f.client.settings) {
        result.verdict = Verdict::Unsupported;
        result.reason = format!("{why}, which this case needs");
        return result;
    }
    match run_inner(scenario, client, &mut result.observations).await {
        Ok(()) => {
            let (verdict, reason) = judge(scenario, client.name(), &result.observations);
            result.verdict = verdict;
            result.reason = reason;
        }
        Err(e) => {
            result.verdict = Verdict::Error;
            result.reason = format!("the harness failed, not the client: {e}");
        }
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

async fn run_inner(
    scenario: &Scenario,
    client: &Client,
    obs: &mut Observations,
) -> anyhow::Result<()> {
    let f = &scenario.file;
    let net = scenario.network().map_err(anyhow::Error::msg)?;
    let roles: Roles = net.roles.clone();
    obs.topology = net.name.clone();
    obs.server_addr = Some(roles.server_addr);
    obs.server_own_addr = Some(roles.server_own_addr);
    obs.network = Some(summary(&net.spec, &roles));
    let spec = net.spec.clone();
    let topo = tokio::task::spawn_blocking(move || Topology::build(&spec)).await??;
    let work = tempfile::tempdir()?;

    // The server: the scenario's server file, the preset's passive range unless it sets one,
    // FTPS when the client is to use it, certificates for the addresses clients use.
    let mut spec = f.server.clone();
    let implicit = f.client.settings.contains(&Setting::FtpsImplicit);
    let ftps = implicit || f.client.settings.contains(&Setting::FtpsExplicit);
    if ftps && spec.tls.is_none() {
        spec.tls = Some(TlsSpec::default());
    }
    if let Some(tls) = spec.tls.as_mut() {
        if implicit {
            tls.mode = Some(FtpsMode::Implicit);
        }
        if tls.names.is_none() {
            tls.names = Some(vec![
                roles.server_addr.to_string(),
                roles.server_own_addr.to_string(),
                "localhost".into(),
            ]);
        }
    }
    let port: u16 = if spec.tls.as_ref().and_then(|t| t.mode) == Some(FtpsMode::Implicit) {
        990
    } else {
        21
    };
    let pasv = net.pasv_ports.clone();
    // Dual-stack when the server is reached over IPv6.
    let any: IpAddr = if roles.server_addr.is_ipv6() {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    };
    let data_timeout = Duration::from_secs(f.timeout_secs.clamp(5, 20));
    let server_host = topo.host(&roles.server).expect("preset server host");
    let server: MockServer = server_host.in_thread(move || {
        let builder = MockServer::builder()
            .bind(SocketAddr::new(any, port))
            .pasv_ports(pasv)
            .data_timeout(data_timeout)
            .idle_timeout(Duration::from_secs(120))
            .dir("/incoming")
            .spec(&spec);
        builder.start_blocking().map_err(anyhow::Error::from)
    })??;
    let ca_file = match server.tls() {
        Some(tls) => {
            let path = work.path().join("ca.pem");
            tls.write_ca_pem(&path)?;
            Some(path)
        }
        None => None,
    };

    // The client's files.
    let local_file: PathBuf = work.path().join(match f.client.action {
        Action::Upload => "upload.bin",
        Action::Download => "download.bin",
        Action::List => "listing.txt",
    });
    let mut sent = Vec::new();
    if f.client.action == Action::Upload {
        let size = f
            .client
            .size
            .as_deref()
            .and_then(generated::parse_size)
            .unwrap_or(64 << 10);
        sent = vec![0u8; size as usize];
        generated::fill(0, &mut sent);
        std::fs::write(&local_file, &sent)?;
    }
    let target = Target {
        host: roles.server_addr,
        port,
        user: "ftpspec".into(),
        password: "ftpspec".into(),
        path: f.client.path.clone(),
        local_file: local_file.clone(),
        action: f.client.action,
        mode: f.client.mode,
        settings: f.client.settings.clone(),
        ca_file,
        active_ports: net.active_ports.clone(),
        client_addr: roles.client_addr,
        client_public_addr: roles.client_public_addr,
        timeout: Duration::from_secs(f.timeout_secs),
        work_dir: work.path().to_owned(),
    };
    // Let nobody in the namespaces trip over the work directory's permissions.
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o777));
    }
    let client_host = topo.host(&roles.client).expect("preset client host");
    let started = Instant::now();
    if let Some(inv) = client.invocation(&target) {
        obs.command = inv.argv.clone();
        let argv: Vec<&str> = inv.argv.iter().map(String::as_str).collect();
        let out = client_host.run_captured(&argv, target.timeout).await?;
        obs.exit_code = out.status.and_then(|s| s.code());
        obs.client_ok = out.status.is_some_and(|s| s.success());
        obs.timed_out = out.timed_out;
        obs.stdout = trunc(&out.stdout);
        obs.stderr = trunc(&out.stderr);
    } else if let Some(run) = client.in_process() {
        let t = target.clone();
        let limit = target.timeout;
        let thread = client_host.spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let result = rt.block_on(async move {
                tokio::time::timeout(limit, run(t))
                    .await
                    .unwrap_or_else(|_| Err("timed out".into()))
            });
            // Do not wait for a client still stuck in a blocking call: it is abandoned (its
            // sockets go with the namespaces).
            rt.shutdown_background();
            result
        })?;
        let joined = tokio::task::spawn_blocking(move || thread.join()).await?;
        match joined {
            Ok(Ok(())) => obs.client_ok = true,
            Ok(Err(e)) if e == "timed out" => obs.timed_out = true,
            Ok(Err(e)) => obs.client_error = Some(e),
            Err(_) => obs.client_error = Some("the client panicked".into()),
        }
    }
    obs.client_ms = started.elapsed().as_millis() as u64;

    // Observations, once the server has finished with the client's connections (a moment
    // at most: the client has ended).
    server.wait_idle(Duration::from_secs(2)).await;
    let log = server.events();
    match f.client.action {
        Action::Download => {
            if let Ok(data) = std::fs::read(&local_file) {
                obs.bytes = Some(data.len() as u64);
                obs.bytes_ok = Some(download_ok(&f.client.path, &data, &server));
            } else {
                obs.bytes_ok = Some(false);
            }
        }
        Action::Upload => {
            let kept = server.file(&f.client.path);
            obs.bytes = kept.as_ref().map(|k| k.len() as u64);
            obs.bytes_ok = Some(kept.as_deref() == Some(&sent[..]));
        }
        Action::List => {
            let text = std::fs::read_to_string(&local_file).unwrap_or_default();
            obs.bytes = Some(text.len() as u64);
            let listed = log.data_connections().iter().any(|d| d.bytes_sent > 0);
            obs.bytes_ok = Some(listed && !text.trim().is_empty());
        }
    }
    fill_from_log(obs, &log);
    obs.attempts = topo
        .attempts()
        .unwrap_or_default()
        .into_iter()
        .map(|a| Attempt {
            host: a.host,
            outcome: match a.outcome {
                ftpspec_netns::Outcome::Forwarded => AttemptOutcome::Forwarded,
                ftpspec_netns::Outcome::Dropped => AttemptOutcome::Dropped,
                ftpspec_netns::Outcome::ReachedDecoy => AttemptOutcome::ReachedDecoy,
            },
            from: a.from,
            to: a.to,
        })
        .collect();
    drop(server);
    tokio::task::spawn_blocking(move || topo.destroy()).await??;
    Ok(())
}

fn download_ok(path: &str, data: &[u8], server: &MockServer) -> bool {
    if let Some(size) = path.strip_prefix("/gen/").and_then(generated::parse_size) {
        return data.len() as u64 == size && generated::verify(0, data).is_ok();
    }
    server.file(path).is_some_and(|f| f == data)
}

fn fill_from_log(obs: &mut Observations, log: &EventLog) {
    obs.dialogue = log.dialogue();
    obs.transcript = log.transcript();
    let data = log.data_connections();
    obs.data_connections = data
        .iter()
        .map(|d| {
            format!(
                "{} {} <-> {}, {} bytes sent, {} received{}{}",
                match d.mode {
                    DataMode::Passive => "passive",
                    DataMode::Active => "active",
                },
                d.local,
                d.peer,
                d.bytes_sent,
                d.bytes_received,
                d.tls
                    .as_ref()
                    .map(|t| format!(", {}", t.version))
                    .unwrap_or_default(),
                d.end
                    .as_ref()
                    .map(|e| format!(", {e:?}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    obs.data_tls = (!data.is_empty()).then(|| data.iter().all(|d| d.tls.is_some()));
    obs.active_targets = log.active_targets();
}

/// The verdict and its one-sentence reason, from the observations.
pub fn judge<'a>(scenario: &Scenario, client: &str, o: &'a Observations) -> (Verdict, String) {
    let f = &scenario.file;
    let e = &f.expect;
    // Loaded scenarios always have a network (checked when they were read).
    let net = scenario.network().ok();
    let secs = o.client_ms as f64 / 1000.0;
    let said_line = |text: &'a str| {
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.starts_with(['*', '>', '<', '{', '}']))
            .map(str::trim)
    };
    let how_ended = if o.timed_out {
        let last = said_line(&o.stderr).or_else(|| said_line(&o.stdout));
        let said = last
            .map(|l| format!("; its last words: \"{l}\""))
            .unwrap_or_default();
        format!(
            "{client} was still running after {} s and was killed{said}",
            f.timeout_secs
        )
    } else if let Some(err) = &o.client_error {
        format!("{client} failed after {secs:.1} s: {err}")
    } else if o.client_ok {
        format!("{client} reported success after {secs:.1} s")
    } else {
        let last = said_line(&o.stderr)
            .or_else(|| said_line(&o.stdout))
            .unwrap_or("");
        let said = if last.is_empty() {
            String::new()
        } else {
            format!(": \"{last}\"")
        };
        format!(
            "{client} exited {} after {secs:.1} s{said}",
            o.exit_code.map_or("abnormally".into(), |c| c.to_string())
        )
    };
    let own = o.server_own_addr;
    let private_tries: Vec<&Attempt> = o
        .attempts
        .iter()
        .filter(|a| {
            a.outcome == AttemptOutcome::Dropped && Some(a.to.ip()) == own && o.server_addr != own
        })
        .collect();
    let decoy_hits: Vec<&Attempt> = o
        .attempts
        .iter()
        .filter(|a| a.outcome == AttemptOutcome::ReachedDecoy)
        .collect();
    let transferred = o.client_ok && o.bytes_ok == Some(true);

    let mut failures: Vec<String> = Vec::new();
    if let Some(want) = e.transfer {
        match want {
            Outcome::Ok if !transferred => {
                let detail = if let Some(a) = private_tries.first() {
                    format!("; it tried {}, which is unroutable from its network", a.to)
                } else if let Some(a) = decoy_hits.first() {
                    format!(
                        "; it connected to {}, the third host named in the 227 reply",
                        a.to
                    )
                } else if o.client_ok && o.bytes_ok == Some(false) {
                    format!("; but the data was wrong ({} bytes)", o.bytes.unwrap_or(0))
                } else {
                    String::new()
                };
                failures.push(format!(
                    "expected the {} to complete; {how_ended}{detail}",
                    action_noun(f.client.action)
                ));
            }
            Outcome::Failed if o.client_ok => {
                let what = if o.bytes_ok == Some(false) {
                    format!(
                        " although the data is incomplete ({} bytes)",
                        o.bytes.unwrap_or(0)
                    )
                } else {
                    String::new()
                };
                failures.push(format!(
                    "expected {client} to report a failure; it reported success{what}"
                ));
            }
            _ => {}
        }
    }
    if e.data_via_control_address == Some(true) {
        if let Some(a) = private_tries.first() {
            failures.push(format!(
                "expected the data connection via the control address {}; {client} tried {}, unroutable from its network",
                o.server_addr.map(|a| a.to_string()).unwrap_or_default(),
                a.to
            ));
        } else if o.data_connections.is_empty()
            && e.transfer == Some(Outcome::Ok)
            && !failures.is_empty()
        {
            // Already explained by the transfer failure.
        } else if o.data_connections.is_empty() {
            failures.push(format!(
                "expected a data connection via the control address; {how_ended} without one"
            ));
        }
    }
    if e.no_decoy_connection == Some(true) {
        if let Some(a) = decoy_hits.first() {
            failures.push(format!("expected no connection to the third host named in the 227 reply; {client} connected to {}", a.to));
        }
    }
    if e.active_ports_in_range == Some(true) {
        let range = net
            .as_ref()
            .map(|n| n.active_ports.clone())
            .unwrap_or_else(|| ftpspec_netns::PresetOptions::default().active_ports);
        if let Some(bad) = o.active_targets.iter().find(|t| !range.contains(&t.port())) {
            failures.push(format!(
                "expected PORT/EPRT ports in {}-{}; {client} announced {bad}",
                range.start(),
                range.end()
            ));
        } else if o.active_targets.is_empty() {
            failures.push(format!(
                "expected PORT/EPRT with a port in range; {client} sent none ({how_ended})"
            ));
        }
    }
    if e.active_address_public == Some(true) {
        let public = net.as_ref().map(|n| n.roles.client_public_addr);
        if let Some(bad) = o.active_targets.iter().find(|t| Some(t.ip()) != public) {
            failures.push(format!(
                "expected PORT/EPRT to carry the public address {}; {client} announced {bad}",
                public.map(|p| p.to_string()).unwrap_or_default()
            ));
        } else if o.active_targets.is_empty() {
            failures.push(format!(
                "expected PORT/EPRT with the public address; {client} sent none ({how_ended})"
            ));
        }
    }
    if e.pasv_after_refused_epsv == Some(true) {
        let verbs: Vec<String> = o
            .dialogue
            .lines()
            .filter_map(|l| l.strip_prefix("C: "))
            .map(|l| l.split(' ').next().unwrap_or("").to_ascii_uppercase())
            .collect();
        if let Some(i) = verbs.iter().position(|v| v == "EPSV") {
            if !verbs[i..].iter().any(|v| v == "PASV") {
                failures.push(format!(
                    "expected PASV after the refused EPSV; {client} did not send it ({how_ended})"
                ));
            }
        }
    }
    if let Some(limit) = e.ends_within_secs {
        if o.timed_out || o.client_ms > limit * 1000 {
            failures.push(format!(
                "expected {client} to end within {limit} s; {how_ended}"
            ));
        }
    }
    if e.data_tls == Some(true) && o.data_tls == Some(false) {
        failures.push(format!(
            "expected TLS on the data connections (PROT P); {client} used plaintext"
        ));
    }

    if f.informational {
        let mut text = how_ended.clone();
        if let Some(a) = private_tries.first() {
            text.push_str(&format!("; it tried {}", a.to));
        }
        if !o.active_targets.is_empty() {
            let t: Vec<String> = o.active_targets.iter().map(|t| t.to_string()).collect();
            text.push_str(&format!("; it announced {}", t.join(", ")));
        }
        text.push_str(&format!(
            "; {} data connection(s)",
            o.data_connections.len()
        ));
        if !failures.is_empty() {
            text.push_str(&format!("; noted: {}", failures.join("; ")));
        }
        return (Verdict::Informational, text);
    }
    if let Some(first) = failures.first() {
        let more = if failures.len() > 1 {
            format!(" (and {} more)", failures.len() - 1)
        } else {
            String::new()
        };
        return (Verdict::Fail, format!("{first}{more}"));
    }
    let mut text = how_ended;
    if let Some(n) = o.bytes {
        text.push_str(&format!(", {n} bytes right"));
    }
    if f.client.mode == Mode::Active {
        if let Some(t) = o.active_targets.last() {
            text.push_str(&format!(", data connection to {t}"));
        }
    } else if let Some(d) = o.data_connections.first() {
        text.push_str(&format!(", data connection {d}"));
    }
    (Verdict::Pass, text)
}

fn action_noun(a: Action) -> &'static str {
    match a {
        Action::List => "listing",
        Action::Download => "download",
        Action::Upload => "upload",
    }
}

/// The network, for the report's diagram.
fn summary(spec: &ftpspec_netns::TopologySpec, roles: &Roles) -> NetworkSummary {
    NetworkSummary {
        hosts: spec
            .hosts
            .iter()
            .map(|(name, h)| {
                let nft = h.nft.as_deref().unwrap_or("");
                HostSummary {
                    name: name.clone(),
                    role: if *name == roles.client {
                        Role::Client
                    } else if *name == roles.server {
                        Role::Server
                    } else if h.decoy {
                        Role::Decoy
                    } else if h.forward {
                        Role::Router
                    } else {
                        Role::Other
                    },
                    nat: nft.contains("masquerade") || nft.contains("dnat"),
                    helper: nft.contains("ct helper"),
                    firewall: nft.contains(" drop"),
                }
            })
            .collect(),
        links: spec
            .links
            .iter()
            .map(|l| LinkSummary {
                a: l.a.host.clone(),
                a_addrs: l.a.addrs.iter().map(|a| a.addr().to_string()).collect(),
                b: l.b.host.clone(),
                b_addrs: l.b.addrs.iter().map(|a| a.addr().to_string()).collect(),
            })
            .collect(),
    }
}
