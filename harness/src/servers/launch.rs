//! Starting a server under test in a topology host, waiting until it accepts, and stopping
//! it with everything it forked.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ftpspec_netns::{Host, HostThread};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;

use super::file::{search_path, ServerFile};
use super::setup::{ServerSetup, StartFn};
use crate::error::{io_at, Error, Result};

/// How long a server may take to accept on its port.
const ACCEPT_WITHIN: Duration = Duration::from_secs(10);
/// How long a stopped server may take to exit on SIGTERM before everything gets SIGKILL.
const GRACE: Duration = Duration::from_secs(1);
/// How much of what a server printed is kept (the end).
const OUTPUT_TAIL: usize = 64 * 1024;
/// How much of the output an error message quotes (the end).
const ERROR_TAIL: usize = 2048;

/// A server under test, running in a host. Stop it with [`RunningServer::stop`]; dropping it
/// without that kills everything in the host (best effort).
#[derive(Debug)]
pub struct RunningServer {
    name: String,
    host: Host,
    port: u16,
    work_dir: PathBuf,
    inner: Option<Inner>,
}

#[derive(Debug)]
enum Inner {
    /// A server file's `start`, a process group of its own.
    Process {
        child: tokio::process::Child,
        pid: Option<u32>,
        output: Arc<Mutex<Vec<u8>>>,
        drains: Vec<JoinHandle<()>>,
    },
    /// A closure's guard, held by a thread in the host until told to drop it.
    Guard {
        stop: std::sync::mpsc::Sender<()>,
        thread: HostThread<()>,
    },
}

/// How a server ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerExit {
    /// What it printed (stdout and stderr as they came, the last 64 KiB), then each log file
    /// (`*.log`) it wrote in the work directory, under a `--- NAME ---` line.
    pub output: String,
    /// Its exit status: the code, or minus the signal that ended it; `None` when not known
    /// (a closure's server).
    pub status: Option<i32>,
}

/// Writes the certificate files and creates the work directory.
fn prepare(setup: &ServerSetup) -> Result<()> {
    std::fs::create_dir_all(&setup.work_dir).map_err(io_at(&setup.work_dir))?;
    if let Some(tls) = &setup.tls {
        let [cert, key, ca] = setup.tls_paths();
        for (path, pem) in [
            (cert, &tls.cert_pem),
            (key, &tls.key_pem),
            (ca, &tls.ca_pem),
        ] {
            std::fs::write(&path, pem).map_err(io_at(&path))?;
        }
    }
    Ok(())
}

/// Starts a server file's `start` in `host`.
pub(super) async fn start_file(
    file: &ServerFile,
    host: &Host,
    setup: &ServerSetup,
) -> Result<RunningServer> {
    let rendered = file.render(setup)?;
    prepare(setup)?;
    if let Some(config) = &rendered.config {
        let path = setup.config_file();
        std::fs::write(&path, config).map_err(io_at(&path))?;
    }
    let mut cmd = host.command("/bin/sh");
    cmd.arg("-c")
        .arg(&rendered.start)
        .current_dir(&setup.work_dir)
        .env("PATH", search_path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: SIGTERM reaches what `start` forked too.
        .process_group(0);
    let mut child = cmd.spawn().map_err(|error| {
        Error::Server(format!(
            "{}: cannot run `{}`: {error}",
            file.name, rendered.start
        ))
    })?;
    let output = Arc::new(Mutex::new(Vec::new()));
    let drain = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
        let sink = output.clone();
        tokio::spawn(async move {
            let Some(mut pipe) = pipe else { return };
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                let mut out = sink.lock().unwrap_or_else(|e| e.into_inner());
                out.extend_from_slice(&chunk[..n]);
                let excess = out.len().saturating_sub(OUTPUT_TAIL);
                out.drain(..excess);
            }
        })
    };
    let drains = vec![
        drain(child.stdout.take().map(|p| Box::new(p) as _)),
        drain(child.stderr.take().map(|p| Box::new(p) as _)),
    ];
    let pid = child.id();
    let server = RunningServer {
        name: file.name.clone(),
        host: host.clone(),
        port: setup.port,
        work_dir: setup.work_dir.clone(),
        inner: Some(Inner::Process {
            child,
            pid,
            output,
            drains,
        }),
    };
    server.accepting().await
}

/// Starts a closure's server on a thread in `host`.
pub(super) async fn start_fn(
    name: &str,
    start: Arc<StartFn>,
    host: &Host,
    setup: &ServerSetup,
) -> Result<RunningServer> {
    prepare(setup)?;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let for_thread = setup.clone();
    let thread = host.spawn(move || match start(&for_thread) {
        Ok(guard) => {
            let _ = ready_tx.send(Ok(()));
            // Until stop() or the RunningServer's drop (the sender dropped).
            let _ = stopped.recv();
            drop(guard);
        }
        Err(e) => {
            let _ = ready_tx.send(Err(e));
        }
    })?;
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Error::Server(format!("{name} did not start: {e}"))),
        Err(_) => {
            let why = match join(thread).await {
                Err(panic) => panic_text(panic.as_ref()),
                Ok(()) => "no reason given".into(),
            };
            return Err(Error::Server(format!("{name}'s start panicked: {why}")));
        }
    }
    let server = RunningServer {
        name: name.to_owned(),
        host: host.clone(),
        port: setup.port,
        work_dir: setup.work_dir.clone(),
        inner: Some(Inner::Guard { stop, thread }),
    };
    server.accepting().await
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic".into())
}

/// Joins a host thread without blocking the runtime.
async fn join<T: Send + 'static>(thread: HostThread<T>) -> std::thread::Result<T> {
    match tokio::task::spawn_blocking(move || thread.join()).await {
        Ok(r) => r,
        Err(e) => Err(Box::new(e.to_string())),
    }
}

/// The last `max` bytes of `text` (at a character boundary), trimmed.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].trim()
}

/// Polls `127.0.0.1:port` from a thread inside `host` every 50 ms until a connection
/// `succeeds` (or fails, for `false`), for up to `limit`; the flag ends it early.
fn poll_port(
    host: &Host,
    port: u16,
    succeeds: bool,
    limit: Duration,
    cancel: Arc<AtomicBool>,
) -> Result<HostThread<bool>> {
    Ok(host.spawn(move || {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + limit;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() == succeeds {
                return true;
            }
            if cancel.load(Ordering::Relaxed) || Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })?)
}

impl RunningServer {
    /// The pid of the process `start` runs (`None` for a closure's server).
    pub fn pid(&self) -> Option<u32> {
        match &self.inner {
            Some(Inner::Process { pid, .. }) => *pid,
            _ => None,
        }
    }

    /// Waits until the port accepts; if the server exits first or never accepts, stops it
    /// and says so with the tail of its output.
    async fn accepting(mut self) -> Result<RunningServer> {
        let cancel = Arc::new(AtomicBool::new(false));
        let poll = poll_port(&self.host, self.port, true, ACCEPT_WITHIN, cancel.clone())?;
        let outcome = loop {
            if poll.is_finished() {
                break Ok(join(poll).await.unwrap_or(false));
            }
            if let Some(Inner::Process { child, .. }) = &mut self.inner {
                if let Ok(Some(_)) = child.try_wait() {
                    cancel.store(true, Ordering::Relaxed);
                    let _ = join(poll).await;
                    break Err(());
                }
            }
            if let Some(Inner::Guard { thread, .. }) = &self.inner {
                if thread.is_finished() {
                    cancel.store(true, Ordering::Relaxed);
                    let _ = join(poll).await;
                    break Err(());
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if outcome == Ok(true) {
            return Ok(self);
        }
        let (name, port) = (self.name.clone(), self.port);
        let exit = self.stop().await;
        let what = match (outcome, exit.status) {
            (Err(()), Some(status)) => {
                format!("{name} exited with status {status} before accepting on port {port}")
            }
            (Err(()), None) => format!("{name} ended before accepting on port {port}"),
            _ => format!(
                "{name} did not accept on port {port} within {} s",
                ACCEPT_WITHIN.as_secs()
            ),
        };
        Err(Error::Server(format!(
            "{what}: {}",
            match tail(&exit.output, ERROR_TAIL) {
                "" => "it printed nothing",
                t => t,
            }
        )))
    }

    /// Stops it: SIGTERM to its process group and a grace period (1 s) for it to exit, then
    /// SIGKILL to every process left in the host's namespace (sessions that outlive the
    /// server, even in sessions of their own); waits until the port no longer accepts.
    /// Returns what it printed and its exit status, with the log files it wrote in the work
    /// directory (`*.log`) appended. A closure's server: its guard is dropped.
    pub async fn stop(mut self) -> ServerExit {
        let inner = self.inner.take();
        let host = self.host.clone();
        let (mut output, status) = match inner {
            Some(Inner::Process {
                mut child,
                pid,
                output,
                drains,
            }) => {
                let group = pid.and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw);
                // Its process tree now, before it breaks up: vsftpd's sessions leave the
                // group (setsid) and the namespace too (isolate_network: a network
                // namespace of their own), so neither sweep below would find them.
                let tree = group.map(descendants).unwrap_or_default();
                if let Some(g) = group {
                    let _ = killpg(g, Signal::SIGTERM);
                }
                // The grace period ends when the whole group is gone (proftpd takes ~0.4 s
                // to end its sessions), or after GRACE.
                let deadline = Instant::now() + GRACE;
                let mut status = None;
                loop {
                    if status.is_none() {
                        status = child.try_wait().ok().flatten();
                    }
                    let group_gone = group.is_none_or(|g| killpg(g, None).is_err());
                    if (status.is_some() && group_gone) || Instant::now() >= deadline {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if let Some(g) = group {
                    let _ = killpg(g, Signal::SIGKILL);
                }
                kill_all(&tree);
                end_processes(&host).await;
                if status.is_none() {
                    let _ = child.start_kill();
                    status = tokio::time::timeout(Duration::from_secs(2), child.wait())
                        .await
                        .ok()
                        .and_then(|s| s.ok());
                }
                for d in drains {
                    let _ = tokio::time::timeout(Duration::from_secs(2), d).await;
                }
                let out = output.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let code = status.and_then(|s| {
                    use std::os::unix::process::ExitStatusExt;
                    s.code().or_else(|| s.signal().map(|n| -n))
                });
                (String::from_utf8_lossy(&out).into_owned(), code)
            }
            Some(Inner::Guard { stop, thread }) => {
                let _ = stop.send(());
                let _ = tokio::time::timeout(Duration::from_secs(10), join(thread)).await;
                end_processes(&host).await;
                (String::new(), None)
            }
            None => (String::new(), None),
        };
        self.wait_closed().await;
        for (name, text) in log_files(&self.work_dir) {
            if !output.is_empty() && !output.ends_with('\n') {
                output.push('\n');
            }
            output.push_str(&format!("--- {name} ---\n{text}"));
        }
        ServerExit { output, status }
    }

    /// Waits (up to 5 s) until the port no longer accepts.
    async fn wait_closed(&self) {
        let cancel = Arc::new(AtomicBool::new(false));
        if let Ok(poll) = poll_port(&self.host, self.port, false, Duration::from_secs(5), cancel) {
            let _ = join(poll).await;
        }
    }
}

/// The processes descending from `root` (not `root` itself), from `/proc`.
fn descendants(root: Pid) -> Vec<Pid> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(i32, i32)> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid ...": the command name may hold spaces and parentheses.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![root.as_raw()];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(pid, ppid)| *ppid == parent && !found.contains(pid))
                .map(|(pid, _)| *pid)
                .collect::<Vec<_>>(),
        );
        i += 1;
    }
    found[1..].iter().copied().map(Pid::from_raw).collect()
}

/// SIGKILL to each of `pids` (those gone already are skipped by the kernel).
fn kill_all(pids: &[Pid]) {
    for pid in pids {
        let _ = nix::sys::signal::kill(*pid, Signal::SIGKILL);
    }
}

/// Kills every process in the host's namespace, off the runtime's threads.
async fn end_processes(host: &Host) {
    let host = host.clone();
    let _ = tokio::task::spawn_blocking(move || host.end_processes()).await;
}

/// The `*.log` files in the work directory (each its last 64 KiB), by name.
fn log_files(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut logs: Vec<(String, String)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .filter_map(|e| {
            let bytes = std::fs::read(e.path()).ok()?;
            let text = String::from_utf8_lossy(&bytes);
            let name = e.file_name().to_string_lossy().into_owned();
            Some((name, tail(&text, OUTPUT_TAIL).to_owned() + "\n"))
        })
        .collect();
    logs.sort();
    logs
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        match self.inner.take() {
            Some(Inner::Process { mut child, pid, .. }) => {
                if let Some(g) = pid.and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw) {
                    let tree = descendants(g);
                    let _ = killpg(g, Signal::SIGKILL);
                    kill_all(&tree);
                }
                let _ = child.start_kill();
                self.host.end_processes();
            }
            Some(Inner::Guard { stop, thread }) => {
                drop(stop);
                let _ = thread.join();
                self.host.end_processes();
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_are_found_through_the_process_tree() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut found = descendants(pid);
        while found.len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            found = descendants(pid);
        }
        assert_eq!(found.len(), 2, "{found:?}");
        kill_all(&found);
        let _ = child.wait();
        assert!(descendants(pid).is_empty());
    }

    #[test]
    fn a_tail_keeps_the_end_at_a_character_boundary() {
        assert_eq!(tail("  abc\n", 10), "abc");
        assert_eq!(tail("aé b", 3), "b");
        assert_eq!(tail("x\u{e9}", 1), "");
    }
}
