//! Running one case: build the network, start the mock server in the server host, run the
//! client in the client host, collect the evidence, give the verdict, keep a diagnostics
//! bundle of the network (and the packet capture, `--capture`) when the case did not pass,
//! tear down.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use ftpspec_mock::{generated, FtpsMode, MockServer, ServerSpec, TlsSpec};
use ftpspec_netns::{Diagnostics, Host, Topology};
use ftpspec_report::{CaseResult, CaseRole, Observations, Verdict};

use crate::capture::{self, CaptureMode, CaptureTo};
use crate::clients::{Client, Launch, SessionStep, Target};
use crate::error::{io_at, Error, Result};
use crate::evidence::{ClientEnd, ClientRun, Evidence, Received, StepOutcome};
use crate::local::{self, DownloadCheck, Served};
use crate::mockhost;
use crate::scenario::{Action, ClientTask, Network, Scenario, Setting, Step};

/// Runs one case.
pub async fn run_case(scenario: &Scenario, client: &Client, client_version: &str) -> CaseResult {
    run_case_capturing(scenario, client, client_version, None, 1).await
}

/// Runs one case (`run` of `--repeat`), writing its packet capture into `capture.dir` when
/// `capture.mode` keeps it, and linking it from the result.
pub async fn run_case_capturing(
    scenario: &Scenario,
    client: &Client,
    client_version: &str,
    capture: Option<&CaptureTo>,
    run: u32,
) -> CaseResult {
    let started = Instant::now();
    let f = &scenario.file;
    let mut result = CaseResult {
        client_version: client_version.to_owned(),
        title: f.title.clone(),
        requirement: f.requirement.clone(),
        references: f.references.clone(),
        axes: scenario.variant.axes(),
        // Until the case has run: a case that ends early is the harness's failure.
        ..CaseResult::new(client.name(), scenario.id.clone(), Verdict::Error)
    };
    // Settings the case can do without (`informational_without`) that this client lacks:
    // it runs without them, and only records what it did.
    let lacking = client.lacking(f.client.mode, &f.client.informational_without);
    let without;
    let scenario = if lacking.is_empty() {
        scenario
    } else {
        let mut s = scenario.clone();
        s.file.client.settings.retain(|x| !lacking.contains(x));
        s.file.informational = true;
        without = s;
        &without
    };
    let f = &scenario.file;
    if let Some(why) = client.unsupported(f.client.action, f.client.mode, &f.client.settings) {
        result.verdict = Verdict::Unsupported;
        result.reason = format!("{why}, which this case needs");
        return result;
    }
    let ready = client.clone();
    let prepared = tokio::task::spawn_blocking(move || ready.prepare()).await;
    if let Err(why) = prepared.unwrap_or_else(|e| Err(e.to_string())) {
        result.reason = format!("the harness could not get {} ready: {why}", client.name());
        result.duration_ms = started.elapsed().as_millis() as u64;
        return result;
    }
    let mode = capture.map_or(CaptureMode::None, |c| c.mode);
    let (outcome, bundle, pcapng) = run_inner(scenario, client, mode).await;
    if let (Some(bytes), Some(to)) = (pcapng, capture) {
        result.capture = capture::write_case(to, client.name(), &scenario.id, run, bytes).await;
    }
    match outcome {
        Ok((net, evidence, verdict, mut reason)) => {
            if !lacking.is_empty() {
                let names: Vec<&str> = lacking.iter().map(|s| s.as_str()).collect();
                reason = format!(
                    "informational: {} has no setting for {}, so the case ran without it and records what it did: {reason}",
                    client.name(),
                    names.join(", ")
                );
            }
            result.verdict = verdict;
            result.reason = reason;
            result.observations = evidence.observations(&net);
        }
        Err((obs, e)) => {
            result.observations = obs;
            result.reason = format!("the harness failed, not the client: {e}");
        }
    }
    if let Some(d) = bundle {
        keep_bundle(&mut result, &d);
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

/// Keeps a case's diagnostics bundle in its result, under a line that names the case (and
/// marks a server under test), its verdict and the reason.
pub(crate) fn keep_bundle(result: &mut CaseResult, bundle: &Diagnostics) {
    let role = match result.role {
        CaseRole::Client => "",
        CaseRole::Server => " (server)",
    };
    let head = format!(
        "# {}{role} · {}: {}: {}\n",
        result.client,
        result.scenario,
        result.verdict.as_str(),
        result.reason
    );
    result.keep_diagnostics(head + &bundle.to_string());
}

/// A case's network, what it saw there, the verdict and its reason.
type Judged = (Network, Evidence, Verdict, String);

/// The case, or what was known of it when the harness failed; with the diagnostics bundle
/// when one was kept ([`keeps_diagnostics`]), and the packet capture (pcapng) when `capture`
/// keeps it.
async fn run_inner(
    scenario: &Scenario,
    client: &Client,
    capture: CaptureMode,
) -> (
    std::result::Result<Judged, (Observations, Error)>,
    Option<Diagnostics>,
    Option<Vec<u8>>,
) {
    let net = match scenario.network() {
        Ok(net) => net,
        Err(e) => return (Err((Observations::default(), e)), None, None),
    };
    let (outcome, bundle, pcapng) = in_network(scenario, client, &net, capture).await;
    match outcome {
        Ok((evidence, verdict, reason)) => (Ok((net, evidence, verdict, reason)), bundle, pcapng),
        Err(e) => {
            let partial = crate::evidence::network_observations(&net);
            (Err((partial, e)), bundle, pcapng)
        }
    }
}

/// Whether a case that ended so keeps the diagnostics bundle: failures, informational cases
/// and errors do (someone will read why); passes do not, and unsupported cases never ran.
pub(crate) fn keeps_diagnostics(verdict: Verdict) -> bool {
    matches!(
        verdict,
        Verdict::Fail | Verdict::Informational | Verdict::Error
    )
}

/// Builds the network, runs the case in it (captured unless `capture` is
/// [`CaptureMode::None`]) and judges it; before the network goes, takes the diagnostics
/// bundle when the verdict keeps one (or the harness failed once the network was up), while
/// the server still holds its sockets, and the capture with the case's TLS keys when
/// `capture` keeps it.
async fn in_network(
    scenario: &Scenario,
    client: &Client,
    net: &Network,
    capture: CaptureMode,
) -> (
    Result<(Evidence, Verdict, String)>,
    Option<Diagnostics>,
    Option<Vec<u8>>,
) {
    let capturing = capture != CaptureMode::None;
    let (topo, cap) = match build_network(net, capturing).await {
        Ok(t) => t,
        Err(e) => return (Err(e), None, None),
    };
    let (outcome, server, client_keys) = match in_topology(scenario, client, net, &topo, capturing)
        .await
    {
        Ok((evidence, server, client_keys)) => {
            let (verdict, reason) = crate::verdict::judge(scenario, net, client.name(), &evidence);
            (Ok((evidence, verdict, reason)), Some(server), client_keys)
        }
        Err(e) => (Err(e), None, String::new()),
    };
    let keep = match &outcome {
        Ok((_, verdict, _)) => keeps_diagnostics(*verdict),
        Err(_) => true,
    };
    let pcapng = match cap {
        Some(cap) if keep || capture == CaptureMode::All => {
            let recording = tokio::task::spawn_blocking(move || cap.finish()).await.ok();
            let keys = capture::keys(server.as_ref(), &client_keys);
            recording.map(|r| r.to_pcapng(&keys))
        }
        _ => None,
    };
    let (topo, bundle) = if keep {
        take_diagnostics(topo).await
    } else {
        (Some(topo), None)
    };
    drop(server);
    if let Err(e) = tear_down(topo).await {
        return (Err(e), bundle, pcapng);
    }
    (outcome, bundle, pcapng)
}

/// Builds a case's network, and starts its capture when `capturing`, off the runtime's
/// threads.
pub(crate) async fn build_network(
    net: &Network,
    capturing: bool,
) -> Result<(Topology, Option<ftpspec_netns::Capture>)> {
    let spec = net.spec.clone();
    blocking(move || {
        let topo = Topology::build(&spec)?;
        let cap = capturing.then(|| capture::start(&topo)).flatten();
        Ok((topo, cap))
    })
    .await
}

/// The network's diagnostics bundle, taken off the runtime's threads, and the network back
/// (`None` if the thread failed: the topology went with it, and dropping tore it down).
pub(crate) async fn take_diagnostics(topo: Topology) -> (Option<Topology>, Option<Diagnostics>) {
    let taken = blocking(move || {
        let d = topo.diagnostics();
        Ok((topo, d))
    })
    .await;
    match taken {
        Ok((topo, d)) => (Some(topo), Some(d)),
        Err(_) => (None, None),
    }
}

/// Tears a case's network down (if it is still there) off the runtime's threads.
pub(crate) async fn tear_down(topo: Option<Topology>) -> Result<()> {
    match topo {
        Some(topo) => blocking(move || Ok(topo.destroy()?)).await,
        None => Ok(()),
    }
}

/// The case inside its network: the server, the client, and what they left; with the server,
/// still running, and (`key_log`) the TLS keys the client wrote to `SSLKEYLOGFILE`.
async fn in_topology(
    scenario: &Scenario,
    client: &Client,
    net: &Network,
    topo: &Topology,
    key_log: bool,
) -> Result<(Evidence, MockServer, String)> {
    let work = tempfile::tempdir().map_err(|error| Error::Os {
        what: "cannot create a work directory",
        error,
    })?;
    let server_host = topo.host(&net.roles.server).expect("the roles name hosts");
    let server = start_server(scenario, net, &server_host)?;
    let ca_file = mockhost::write_ca(&server, &work.path().join("ca.pem"))?;
    let (target, sent) = prepare_client(scenario, net, &server, ca_file, work.path())?;
    let client_host = topo.host(&net.roles.client).expect("the roles name hosts");
    let key_file = key_log.then(|| capture::client_key_log(work.path()));
    let limit = Duration::from_secs(crate::verdict::kill_after_secs(scenario));
    let (run, stdout_listing) =
        run_client(client, &target, limit, &client_host, key_file.as_deref()).await?;
    let client_keys = key_file
        .as_deref()
        .map(capture::read_client_keys)
        .unwrap_or_default();
    // Observations, once the server has finished with the client's connections (a moment
    // at most: the client has ended).
    server.wait_idle(Duration::from_secs(2)).await;
    let log = server.events();
    // A listing is right only if the server sent one.
    let listed = log.data_connections().iter().any(|d| d.bytes_sent > 0);
    let spec = &scenario.file.server;
    let received = match stdout_listing {
        Some(text) => listed_on_stdout(&text, &target.path, spec, listed),
        None => {
            let side = ServerSide {
                spec,
                server: &server,
                log: &log,
            };
            received(&scenario.file.client, &target, &sent, side, listed)
        }
    };
    let evidence = Evidence {
        log,
        attempts: topo.attempts().unwrap_or_default(),
        client: run,
        received,
    };
    Ok((evidence, server, client_keys))
}

/// Runs blocking work (namespaces) off the runtime's threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Topology(format!("a setup thread failed: {e}")))?
}

/// The server: the scenario's server file, the network's passive range, FTPS when the client
/// is to use it, with certificates for the addresses clients use.
fn start_server(scenario: &Scenario, net: &Network, host: &Host) -> Result<MockServer> {
    let f = &scenario.file;
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
            tls.names = Some(mockhost::cert_names(Some(&net.roles)));
        }
    }
    let implicit = spec.tls.as_ref().and_then(|t| t.mode) == Some(FtpsMode::Implicit);
    // Dual-stack when the server is reached over IPv6.
    let any: IpAddr = if net.roles.server_addr.is_ipv6() {
        Ipv6Addr::UNSPECIFIED.into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    };
    let builder = MockServer::builder()
        .bind(SocketAddr::new(any, mockhost::control_port(implicit)))
        .pasv_ports(net.pasv_ports.clone())
        .data_timeout(Duration::from_secs(f.timeout_secs.clamp(5, 20)))
        .idle_timeout(Duration::from_secs(120))
        .dir("/incoming")
        .spec(&spec);
    mockhost::start_in(host, builder)
}

/// The target, and the bytes each upload sends (by step; one step for a single action),
/// written to its local file.
fn prepare_client(
    scenario: &Scenario,
    net: &Network,
    server: &MockServer,
    ca_file: Option<std::path::PathBuf>,
    work: &Path,
) -> Result<(Target, Vec<Vec<u8>>)> {
    let task = &scenario.file.client;
    let (steps, sent) = local_files(scenario, work)?;
    let session = task.action == Action::Session;
    let local_dir = work.join("mirror");
    if task.action == Action::Mirror {
        std::fs::create_dir(&local_dir).map_err(io_at(&local_dir))?;
    }
    let script_file = session.then(|| work.join("steps.txt"));
    if let Some(file) = &script_file {
        let lines: Vec<String> = steps.iter().map(|s| s.script_line() + "\n").collect();
        std::fs::write(file, lines.concat()).map_err(io_at(file))?;
    }
    // Let nobody in the namespaces trip over the work directory's permissions.
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(work, std::fs::Permissions::from_mode(0o777));
    }
    let target = Target {
        host: net.roles.server_addr,
        port: server.addr().port(),
        user: "ftpspec".into(),
        password: "ftpspec".into(),
        path: if session {
            "/".into()
        } else {
            task.path.clone()
        },
        local_file: if session {
            work.join("session.log")
        } else {
            steps[0].local_file.clone()
        },
        local_dir,
        action: task.action,
        mode: task.mode,
        settings: task.settings.clone(),
        ca_file,
        active_ports: net.active_ports.clone(),
        client_addr: net.roles.client_addr,
        client_public_addr: net.roles.client_public_addr,
        timeout: Duration::from_secs(scenario.file.timeout_secs),
        reply_timeout: task.reply_timeout_secs.map(Duration::from_secs),
        work_dir: work.to_owned(),
        steps: if session { steps } else { Vec::new() },
        script_file,
    };
    Ok((target, sent))
}

/// Each step's local file (one step for a single action): an upload's bytes written to it
/// (returned, by step), a resume's partial file left in it.
fn local_files(scenario: &Scenario, work: &Path) -> Result<(Vec<SessionStep>, Vec<Vec<u8>>)> {
    let task = &scenario.file.client;
    let single = [Step {
        action: task.action,
        path: task.path.clone(),
    }];
    let session = task.action == Action::Session;
    let plan: &[Step] = if session { &task.steps } else { &single };
    let mut steps = Vec::new();
    let mut sent = Vec::new();
    for (i, step) in plan.iter().enumerate() {
        let name = match step.action {
            Action::Upload => "upload.bin",
            Action::List => "listing.txt",
            _ => "download.bin",
        };
        let local_file = match session {
            true => work.join(format!("step{}-{name}", i + 1)),
            false => work.join(name),
        };
        let mut bytes = Vec::new();
        if step.action == Action::Upload {
            // Each upload of a session its own bytes, so one cannot pass for another.
            bytes = vec![0u8; task.upload_size() as usize];
            generated::fill(i as u64 * 4096 + i as u64, &mut bytes);
            std::fs::write(&local_file, &bytes).map_err(io_at(&local_file))?;
        }
        sent.push(bytes);
        steps.push(SessionStep {
            action: step.action,
            path: step.path.clone(),
            local_file,
        });
    }
    if let Some(offset) = task.resume_offset {
        // The partial file the client is to continue (the scenario was checked at load:
        // a served file, the offset within it).
        let file = &steps[0].local_file;
        let served = local::served(&scenario.file.server, &task.path).ok_or_else(|| {
            Error::Topology(format!("{} is not a served file to resume", task.path))
        })?;
        local::write_partial(file, &served, offset.0).map_err(io_at(file))?;
    }
    Ok((steps, sent))
}

/// An I/O error at a path, as a harness error.
/// Runs the client in its host: a command line (with `SSLKEYLOGFILE=key_log`, when given),
/// or Rust code on a thread there, killed (or abandoned) after `limit`: the scenario's
/// timeout, or less once the verdict is decided ([`crate::verdict::decided_after_secs`]; the
/// client is told the scenario's timeouts either way). With the run comes its whole stdout
/// when that is where its listing is.
pub(crate) async fn run_client(
    client: &Client,
    target: &Target,
    limit: Duration,
    host: &Host,
    key_log: Option<&Path>,
) -> Result<(ClientRun, Option<String>)> {
    let started = Instant::now();
    let mut listing = None;
    let mut run = match client.launch(target) {
        Launch::Command(inv) => {
            let words = match key_log {
                Some(file) => capture::with_key_log(&inv.argv, file),
                None => inv.argv.clone(),
            };
            let argv: Vec<&str> = words.iter().map(String::as_str).collect();
            let input = inv.stdin.as_deref().map(str::as_bytes);
            let out = host.run_captured_with_input(&argv, input, limit).await?;
            if inv.listing_on_stdout {
                listing = Some(String::from_utf8_lossy(&out.stdout).into_owned());
            }
            let end = match out.status {
                _ if out.timed_out => ClientEnd::TimedOut,
                Some(s) if s.success() => ClientEnd::Succeeded,
                status => ClientEnd::Exited(status.and_then(|s| s.code())),
            };
            let mut command = inv.argv.clone();
            if let Some(text) = &inv.stdin {
                command.push(format!("<<'EOF'\n{text}EOF"));
            }
            ClientRun {
                command,
                end,
                elapsed: Duration::ZERO,
                stdout: trunc(&out.stdout),
                stderr: trunc(&out.stderr),
            }
        }
        Launch::InProcess(run) => ClientRun {
            command: Vec::new(),
            end: run_in_process(run, target, limit, host).await?,
            elapsed: Duration::ZERO,
            stdout: String::new(),
            stderr: String::new(),
        },
    };
    run.elapsed = started.elapsed();
    Ok((run, listing))
}

async fn run_in_process(
    run: crate::clients::InProcess,
    target: &Target,
    limit: Duration,
    host: &Host,
) -> Result<ClientEnd> {
    let t = target.clone();
    let thread = host.spawn(
        move || -> std::io::Result<Option<std::result::Result<(), String>>> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let result = rt.block_on(async move { tokio::time::timeout(limit, run(t)).await.ok() });
            // Do not wait for a client still stuck in a blocking call: it is abandoned (its
            // sockets go with the namespaces).
            rt.shutdown_background();
            Ok(result)
        },
    )?;
    let joined = tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|e| Error::Topology(format!("the client's thread failed: {e}")))?;
    Ok(match joined {
        Ok(Ok(Some(Ok(())))) => ClientEnd::Succeeded,
        Ok(Ok(Some(Err(e)))) => ClientEnd::Failed(e),
        Ok(Ok(None)) => ClientEnd::TimedOut,
        Ok(Err(error)) => {
            return Err(Error::Os {
                what: "cannot start a runtime for the client",
                error,
            })
        }
        Err(_) => ClientEnd::Panicked,
    })
}

/// What the client ended up with: the bytes it downloaded, listed or mirrored, or that the
/// server kept from its upload; for a session, each step's.
fn received(
    task: &ClientTask,
    target: &Target,
    sent: &[Vec<u8>],
    side: ServerSide,
    listed: bool,
) -> Received {
    let ascii = target.has(Setting::Ascii);
    if target.action == Action::Mirror {
        let Some(tree) = local::served_tree(side.spec, &target.path) else {
            let wrong = format!("the server serves no directory {}", target.path);
            return wrong_received(None, wrong);
        };
        let (bytes, wrong) = local::check_tree(&target.local_dir, &tree);
        return Received {
            bytes: Some(bytes),
            right: wrong.is_none(),
            wrong,
            steps: Vec::new(),
        };
    }
    if target.action != Action::Session {
        let how = DownloadCheck {
            from: task.resume_offset.map_or(0, |o| o.0),
            ascii,
        };
        let (bytes, mut wrong) = one_received(
            target.action,
            &target.path,
            &target.local_file,
            &sent[0],
            side,
            how,
        );
        if target.action == Action::List
            && wrong.is_none()
            && !listed
            && !empty_dir(side.spec, &target.path)
        {
            wrong = Some("the server sent no listing".into());
        }
        if let (Some(offset), None) = (task.resume_offset, &wrong) {
            wrong = local::resumed_at(&side.log.commands(), offset.0).err();
        }
        return Received {
            bytes,
            right: wrong.is_none(),
            wrong,
            steps: Vec::new(),
        };
    }
    let listings = side.log.listings_sent();
    let mut lists_seen = 0;
    let how = DownloadCheck { from: 0, ascii };
    let steps: Vec<StepOutcome> = target
        .steps
        .iter()
        .zip(sent)
        .map(|(step, sent)| {
            let (bytes, right) = if step.action == Action::List {
                lists_seen += 1;
                (
                    None,
                    listings >= lists_seen || empty_dir(side.spec, &step.path),
                )
            } else {
                let (bytes, wrong) =
                    one_received(step.action, &step.path, &step.local_file, sent, side, how);
                (bytes, wrong.is_none())
            };
            StepOutcome {
                step: format!("{} {}", step.action, step.path),
                action: step.action,
                bytes,
                expected: (step.action == Action::Upload).then_some(sent.len() as u64),
                right,
            }
        })
        .collect();
    Received {
        bytes: None,
        right: steps.iter().all(|s| s.right),
        wrong: None,
        steps,
    }
}

/// What the server side of a case holds for judging what the client ended up with: the
/// scenario's server file, the server's files, and its event log (taken once).
#[derive(Clone, Copy)]
struct ServerSide<'a> {
    spec: &'a ServerSpec,
    server: &'a MockServer,
    log: &'a ftpspec_mock::EventLog,
}

fn wrong_received(bytes: Option<u64>, wrong: String) -> Received {
    Received {
        bytes,
        right: false,
        wrong: Some(wrong),
        steps: Vec::new(),
    }
}

/// Whether `dir` is a directory the scenario declares (`dirs`) with nothing in it: its
/// listing is right when empty, or when the server refused it as empty (450/550).
fn empty_dir(spec: &ServerSpec, dir: &str) -> bool {
    let declared = spec
        .dirs
        .iter()
        .any(|d| d.trim_end_matches('/') == dir.trim_end_matches('/'));
    declared && local::served_tree(spec, dir) == Some(local::Tree::default())
}

/// One transfer's bytes: how many (`None`: no file) and what is wrong with them, if
/// anything. A listing is right here when the client wrote one, or the directory is empty
/// (the caller checks the server sent it).
fn one_received(
    action: Action,
    path: &str,
    local: &Path,
    sent: &[u8],
    side: ServerSide,
    how: DownloadCheck,
) -> (Option<u64>, Option<String>) {
    let ServerSide { spec, server, log } = side;
    match action {
        Action::Download => {
            let served = local::served(spec, path).or_else(|| server.file(path).map(Served::Bytes));
            match served {
                Some(served) => local::check_download(local, &served, how),
                None => (None, Some(format!("the server serves no file {path}"))),
            }
        }
        Action::Upload => {
            let kept = server.file(path);
            let bytes = kept.as_ref().map(|k| k.len() as u64);
            // Right: the bytes, and the server took the upload as complete (not ended
            // without close_notify where that is required, nor cut by an error).
            let complete = log.stored_complete(path);
            let wrong = match (kept, complete) {
                (None, _) => Some("the server stored nothing".into()),
                (Some(k), _) if k != sent => Some(format!(
                    "the server stored {} bytes, not the {} sent",
                    k.len(),
                    sent.len()
                )),
                (Some(_), false) => Some("the server did not take the upload as complete".into()),
                (Some(_), true) => None,
            };
            (bytes, wrong)
        }
        Action::List | Action::Session | Action::Mirror => {
            let text = std::fs::read_to_string(local).unwrap_or_default();
            let wrong = (text.trim().is_empty() && !empty_dir(spec, path))
                .then(|| "the client wrote no listing".to_owned());
            (Some(text.len() as u64), wrong)
        }
    }
}

/// A listing the client printed: right when the server sent one and every name the server
/// holds in that directory appears in it (any non-empty text, for a directory of no known
/// names such as `/gen`).
fn listed_on_stdout(text: &str, dir: &str, spec: &ServerSpec, listed: bool) -> Received {
    let names = served_names(spec, dir);
    if empty_dir(spec, dir) {
        return Received {
            bytes: Some(text.len() as u64),
            right: true,
            wrong: None,
            steps: Vec::new(),
        };
    }
    let found = if names.is_empty() {
        !text.trim().is_empty()
    } else {
        names.iter().all(|n| text.contains(n.as_str()))
    };
    Received {
        bytes: Some(text.len() as u64),
        right: listed && found,
        wrong: None,
        steps: Vec::new(),
    }
}

/// The names directly under `dir` in the server file's tree (files, directories, and the
/// directories that deeper paths imply).
fn served_names(spec: &ServerSpec, dir: &str) -> std::collections::BTreeSet<String> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let paths = spec.files.keys().chain(&spec.dirs);
    paths
        .filter_map(|p| p.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('/').next())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

fn trunc(bytes: &[u8]) -> String {
    const MAX: usize = 16 * 1024;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]).into_owned();
    if bytes.len() > MAX {
        format!("{text}\n... ({} more bytes)", bytes.len() - MAX)
    } else {
        text
    }
}
