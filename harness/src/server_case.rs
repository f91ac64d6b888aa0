//! Running one server case: build the network, fill a root with the case's files, start the
//! server under test in the server host with the settings the case needs, run the probe in
//! the client host, judge from what the probe and the routers recorded, stop the server and
//! remove everything it left (its processes, its root, its configuration).

use std::io::{Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use ftpspec_mock::generated;
use ftpspec_netns::{Diagnostics, Topology};
use ftpspec_report::{CaseResult, CaseRole, Verdict};

use crate::capture::{self, CaptureMode, CaptureTo};
use crate::case::blocking;
use crate::clients::{Client, Target};
use crate::error::{io_at, Error, Result};
use crate::evidence::{RealClientRun, ServerEvidence};
use crate::local::{self, Served};
use crate::probe::{self, ProbeRecord, ProbeTarget};
use crate::scenario::server::{RootFile, ServerScenario};
use crate::scenario::Action;
use crate::scenario::Network;
use crate::servers::{ServerExit, ServerSetting, ServerSetup, ServerUnderTest, TlsFiles};

/// The user and password every server case logs in with.
pub const USER: &str = "ftpspec";
/// See [`USER`].
pub const PASSWORD: &str = "ftpspec";

/// Runs one server case (`run` of `--repeat`), keeping its capture as `capture` says.
pub async fn run_server_case(
    scenario: &ServerScenario,
    server: &ServerUnderTest,
    version: &str,
    capture: Option<&CaptureTo>,
    run: u32,
) -> CaseResult {
    let started = Instant::now();
    let f = &scenario.file;
    let mut result = CaseResult {
        client_version: version.to_owned(),
        title: f.title.clone(),
        requirement: f.requirement.clone(),
        references: f.references.clone(),
        role: CaseRole::Server,
        ..CaseResult::new(server.name(), scenario.id.clone(), Verdict::Error)
    };
    if let Some(why) = real_client_missing(scenario) {
        result.verdict = Verdict::Unsupported;
        result.reason = why;
        return result;
    }
    let lacking = server.lacking(&f.server.needs);
    if !lacking.is_empty() {
        let names: Vec<&str> = lacking.iter().map(|s| s.as_str()).collect();
        result.verdict = Verdict::Unsupported;
        result.reason = format!(
            "{} has no setting for {}, which this case needs",
            server.name(),
            names.join(", ")
        );
        return result;
    }
    let net = match scenario.network() {
        Ok(n) => n,
        Err(e) => {
            result.reason = format!("the harness failed, not the server: {e}");
            return result;
        }
    };
    let mode = capture.map_or(CaptureMode::None, |c| c.mode);
    let (outcome, bundle, pcapng) = in_network(scenario, server, &net, mode).await;
    if let (Some(bytes), Some(to)) = (pcapng, capture) {
        result.capture = capture::write_case(to, server.name(), &scenario.id, run, bytes).await;
    }
    result.observations = crate::evidence::network_observations(&net);
    match outcome {
        Ok((ev, verdict, reason)) => {
            result.verdict = verdict;
            result.reason = reason;
            crate::verdict::server::observe(scenario, &ev, &mut result.observations);
        }
        Err(e) => result.reason = format!("the harness failed, not the server: {e}"),
    }
    if let Some(d) = bundle {
        crate::case::keep_bundle(&mut result, &d);
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

/// What a server case saw, with its verdict and the reason.
type Judged = (ServerEvidence, Verdict, String);

/// The case in its network, judged; the diagnostics bundle (taken while the server still
/// runs) and the capture when the verdict keeps them.
async fn in_network(
    scenario: &ServerScenario,
    server: &ServerUnderTest,
    net: &Network,
    capture: CaptureMode,
) -> (Result<Judged>, Option<Diagnostics>, Option<Vec<u8>>) {
    let (topo, cap) = match crate::case::build_network(net, capture != CaptureMode::None).await {
        Ok(t) => t,
        Err(e) => return (Err(e), None, None),
    };
    let outcome = in_topology(scenario, server, net, &topo)
        .await
        .map(|(ev, running, work)| {
            let (verdict, reason) = crate::verdict::server::judge(scenario, net, &ev);
            (ev, verdict, reason, running, work)
        });
    let keep = match &outcome {
        Ok((_, verdict, ..)) => crate::case::keeps_diagnostics(*verdict),
        Err(_) => true,
    };
    let (topo, bundle) = match keep {
        true => crate::case::take_diagnostics(topo).await,
        false => (Some(topo), None),
    };
    let pcapng = match cap {
        Some(cap) if keep || capture == CaptureMode::All => {
            let keys = match &outcome {
                Ok((ev, ..)) => ev.tls_keys(),
                Err(_) => String::new(),
            };
            let recording = tokio::task::spawn_blocking(move || cap.finish()).await.ok();
            recording.map(|r| r.to_pcapng(&keys))
        }
        _ => None,
    };
    // Stop the server before the network goes (its processes live in it), then remove its
    // work directory (the log files stop() reads are in it).
    let outcome = match outcome {
        Ok((mut ev, verdict, reason, running, work)) => {
            ev.exit = running.stop().await;
            drop(work);
            Ok((ev, verdict, reason))
        }
        Err(e) => Err(e),
    };
    if let Err(e) = crate::case::tear_down(topo).await {
        return (Err(e), bundle, pcapng);
    }
    (outcome, bundle, pcapng)
}

/// The server started with the case's root and settings, the probe run, the uploads read
/// back; the server still running, and its work directory (root, configuration, logs) still
/// there.
async fn in_topology(
    scenario: &ServerScenario,
    server: &ServerUnderTest,
    net: &Network,
    topo: &Topology,
) -> Result<(
    ServerEvidence,
    crate::servers::RunningServer,
    tempfile::TempDir,
)> {
    let f = &scenario.file;
    let work = tempfile::tempdir().map_err(|error| Error::Os {
        what: "cannot create a work directory",
        error,
    })?;
    let root = work.path().join("root");
    let files = f.server.files.clone();
    let root_at = root.clone();
    blocking(move || fill_root(&root_at, &files)).await?;
    let needs = &f.server.needs;
    let tls = needs.iter().any(|s| s.is_tls());
    let identity = match tls {
        true => Some(ftpspec_mock::tls::generate_identity(
            &crate::mockhost::cert_names(Some(&net.roles)),
        )?),
        false => None,
    };
    let port = crate::mockhost::control_port(needs.contains(&ServerSetting::FtpsImplicit));
    let setup = ServerSetup {
        port,
        root: root.clone(),
        user: USER.into(),
        password: PASSWORD.into(),
        work_dir: work.path().to_owned(),
        pasv_ports: needs
            .contains(&ServerSetting::PasvPorts)
            .then(|| net.pasv_ports.clone()),
        external_ip: needs
            .contains(&ServerSetting::ExternalIp)
            .then_some(net.roles.server_addr),
        tls: identity.as_ref().map(|id| TlsFiles {
            cert_pem: id.chain_pem.clone(),
            key_pem: id.key_pem.clone(),
            ca_pem: id.ca_pem.clone(),
        }),
        settings: needs.clone(),
    };
    let server_host = topo.host(&net.roles.server).expect("the roles name hosts");
    let running = server.start(&server_host, &setup).await?;
    let target = ProbeTarget {
        control: SocketAddr::new(net.roles.server_addr, port),
        user: USER.into(),
        password: PASSWORD.into(),
        ca_pem: identity.map(|id| id.ca_pem),
        local_ip: net.roles.client_addr,
        active_ports: net.active_ports.clone(),
        decoy: net.roles.decoy.map(|ip| SocketAddr::new(ip, 2121)),
        timeout: Duration::from_secs(10),
    };
    let client_host = topo.host(&net.roles.client).expect("the roles name hosts");
    let spec = f.probe.clone();
    let limit = Duration::from_secs(f.timeout_secs);
    let probed = blocking(move || {
        let record = client_host.in_thread(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                tokio::time::timeout(limit, probe::run(&spec, &target))
                    .await
                    .map_err(|_| format!("the probe did not finish within {} s", limit.as_secs()))
            })
        })?;
        record.map_err(Error::Topology)
    })
    .await;
    let probe = match probed {
        Ok(p) => p,
        Err(e) => {
            let _ = running.stop().await;
            return Err(e);
        }
    };
    let mut stored = match uploads_stored(&probe, &f.probe, &root).await {
        Ok(s) => s,
        Err(e) => {
            let _ = running.stop().await;
            return Err(e);
        }
    };
    let client = match &f.client {
        Some(rc) => {
            let ran = run_real_client(rc, net, topo, &setup, work.path()).await;
            match ran {
                Ok((run, upload)) => {
                    stored.extend(upload);
                    Some(run)
                }
                Err(e) => {
                    let _ = running.stop().await;
                    return Err(e);
                }
            }
        }
        None => None,
    };
    let attempts = topo.attempts().unwrap_or_default();
    let ev = ServerEvidence {
        probe,
        attempts,
        exit: ServerExit::default(),
        stored,
        client,
    };
    Ok((ev, running, work))
}

/// Why the scenario's real client cannot run here (not built in, not installed, or lacking
/// what the case asks of it), as an `unsupported` reason; `None` when it can, or there is none.
fn real_client_missing(scenario: &ServerScenario) -> Option<String> {
    let rc = scenario.file.client.as_ref()?;
    let Some(c) = Client::builtin(&rc.name) else {
        return Some(format!(
            "[client] name {:?} is not a built-in client (ftpspec run --help lists them)",
            rc.name
        ));
    };
    if !c.available() {
        return Some(format!(
            "this case's real client, {}, is not installed (scripts/install-deps installs it)",
            rc.name
        ));
    }
    c.unsupported(rc.action, rc.mode, &rc.settings)
        .map(|why| format!("{why}, which this case's real client needs"))
}

/// Runs the scenario's real client in the client host against the server under test: a
/// download checked against the file in the root, an upload by the file the server stored
/// (returned as a stored entry), a listing by the names in it.
async fn run_real_client(
    rc: &crate::scenario::server::RealClient,
    net: &Network,
    topo: &Topology,
    setup: &ServerSetup,
    work: &Path,
) -> Result<(RealClientRun, Option<(String, Option<bool>)>)> {
    let client = Client::builtin(&rc.name).expect("checked before the case ran");
    let dir = work.join("client");
    std::fs::create_dir_all(&dir).map_err(io_at(&dir))?;
    let ca_file = match &setup.tls {
        Some(tls) => {
            let f = dir.join("ca.pem");
            std::fs::write(&f, &tls.ca_pem).map_err(io_at(&f))?;
            Some(f)
        }
        None => None,
    };
    let name = match rc.action {
        Action::Upload => "upload.bin",
        Action::List => "listing.txt",
        _ => "download.bin",
    };
    let local_file = dir.join(name);
    let size = rc.size.map_or(64 * 1024, |s| s.0);
    if rc.action == Action::Upload {
        let mut bytes = vec![0u8; size as usize];
        generated::fill(0, &mut bytes);
        std::fs::write(&local_file, &bytes).map_err(io_at(&local_file))?;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777));
    }
    let target = Target {
        host: net.roles.server_addr,
        port: setup.port,
        user: setup.user.clone(),
        password: setup.password.clone(),
        path: format!("/{}", rc.path.trim_start_matches('/')),
        local_file: local_file.clone(),
        local_dir: dir.join("mirror"),
        action: rc.action,
        mode: rc.mode,
        settings: rc.settings.clone(),
        ca_file,
        active_ports: net.active_ports.clone(),
        client_addr: net.roles.client_addr,
        client_public_addr: net.roles.client_public_addr,
        timeout: Duration::from_secs(30),
        reply_timeout: None,
        work_dir: dir.clone(),
        steps: Vec::new(),
        script_file: None,
    };
    let host = topo.host(&net.roles.client).expect("the roles name hosts");
    let key_file = capture::client_key_log(&dir);
    let limit = Duration::from_secs(40);
    let (run, listing) =
        crate::case::run_client(&client, &target, limit, &host, Some(&key_file)).await?;
    let keys = capture::read_client_keys(&key_file);
    let (right, upload) = match rc.action {
        Action::Download => {
            let served = std::fs::read(setup.root.join(rc.path.trim_start_matches('/'))).ok();
            let got = std::fs::read(&local_file).ok();
            (Some(served.is_some() && got == served), None)
        }
        Action::Upload => {
            let file = setup.root.join(rc.path.trim_start_matches('/'));
            (None, Some((rc.path.clone(), holds_generated(&file, size))))
        }
        _ => {
            let text = listing.or_else(|| std::fs::read_to_string(&local_file).ok());
            (text.map(|t| !t.trim().is_empty()), None)
        }
    };
    Ok((
        RealClientRun {
            name: rc.name.clone(),
            run,
            right,
            keys,
        },
        upload,
    ))
}

/// Creates the root and its files (sparse where they start late: a 12 GB file costs only its
/// content on disk), readable and writable by whatever user the server runs as.
fn fill_root(root: &Path, files: &[RootFile]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(root).map_err(io_at(root))?;
    let open = std::fs::Permissions::from_mode(0o777);
    std::fs::set_permissions(root, open.clone()).map_err(io_at(root))?;
    // The work directory above the root too: servers that drop privileges must reach it.
    if let Some(parent) = root.parent() {
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755))
            .map_err(io_at(parent))?;
    }
    for f in files {
        let path = root.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_at(dir))?;
            std::fs::set_permissions(dir, open.clone()).map_err(io_at(dir))?;
        }
        let mut file = std::fs::File::create(&path).map_err(io_at(&path))?;
        file.set_len(f.size.0).map_err(io_at(&path))?;
        let from = f.from.unwrap_or(0);
        file.seek(SeekFrom::Start(from)).map_err(io_at(&path))?;
        let mut at = from;
        while at < f.size.0 {
            let w = generated::window(at, (f.size.0 - at).min(1 << 20) as usize);
            file.write_all(w).map_err(io_at(&path))?;
            at += w.len() as u64;
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))
            .map_err(io_at(&path))?;
    }
    Ok(())
}

/// Each upload the probe made, with its file in the root: whether it holds the bytes sent
/// (`None`: there is no such file). A case whose probe never reached an upload has nothing
/// to check for it.
async fn uploads_stored(
    record: &ProbeRecord,
    spec: &probe::ProbeSpec,
    root: &Path,
) -> Result<Vec<(String, Option<bool>)>> {
    let made: Vec<(String, u64)> = spec
        .uploads()
        .into_iter()
        .filter(|(path, _)| record.sessions.iter().any(|s| s.uploaded(path)))
        .collect();
    let root = root.to_owned();
    blocking(move || {
        Ok(made
            .into_iter()
            .map(|(path, size)| {
                let held = holds_generated(&root.join(path.trim_start_matches('/')), size);
                (path, held)
            })
            .collect())
    })
    .await
}

/// Whether `file` holds `size` bytes of generated content from 0 (`None`: no such file),
/// read in pieces ([`local::check_download`]).
fn holds_generated(file: &Path, size: u64) -> Option<bool> {
    let (len, wrong) = local::check_download(file, &Served::Generated(size), Default::default());
    len.map(|_| wrong.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Size;

    #[test]
    fn a_real_client_that_cannot_run_makes_the_case_unsupported() {
        let head = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n[probe]\nsteps = [{ login = true }]\n";
        let with = |client: &str| {
            let s =
                crate::scenario::server::parse("server/x", "x.toml", &format!("{head}{client}"))
                    .unwrap();
            real_client_missing(&s)
        };
        assert_eq!(with(""), None);
        let why = with("[client]\nname = \"nosuch\"\naction = \"download\"\n").unwrap();
        assert!(why.contains("not a built-in client"), "{why}");
        // ncftp has no FTPS: the case cannot ask it for explicit FTPS.
        let why = with(
            "[client]\nname = \"ncftp\"\naction = \"download\"\nsettings = [\"ftps_explicit\"]\n",
        )
        .unwrap();
        assert!(
            why.contains("which this case's real client needs") || why.contains("not installed"),
            "{why}"
        );
    }

    #[test]
    fn a_root_holds_generated_files_sparse_before_from() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let files = [
            RootFile {
                path: "a/file.bin".into(),
                size: Size(100_000),
                from: None,
            },
            RootFile {
                path: "big.bin".into(),
                size: Size((12 << 30) + 4096),
                from: Some(12 << 30),
            },
        ];
        fill_root(&root, &files).unwrap();
        let small = std::fs::read(root.join("a/file.bin")).unwrap();
        assert!(generated::verify(0, &small).is_ok());
        let big = std::fs::File::open(root.join("big.bin")).unwrap();
        use std::os::unix::fs::{FileExt, MetadataExt};
        let meta = big.metadata().unwrap();
        assert_eq!(meta.len(), (12 << 30) + 4096);
        assert!(
            meta.blocks() * 512 < 1 << 20,
            "sparse: {} blocks",
            meta.blocks()
        );
        let mut tail = vec![0u8; 4096];
        big.read_exact_at(&mut tail, 12 << 30).unwrap();
        assert!(generated::verify(12 << 30, &tail).is_ok());
        let mut head = vec![1u8; 16];
        big.read_exact_at(&mut head, 0).unwrap();
        assert_eq!(head, vec![0u8; 16]);
    }
}
