//! Building and tearing down a topology, the hosts in it, and the sweep of leftovers.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::spec::{TopologySpec, BRIDGE};
use crate::Error;

/// Prefix of every namespace ftpspec creates (the mock server's safety rule checks it).
pub const PREFIX: &str = "ftpspec-";

/// Where `ip netns` keeps named namespaces.
const NETNS_DIR: &str = "/run/netns";

/// Marker files of topologies kept with `FTPSPEC_KEEP=1` (the sweep leaves them alone).
const KEEP_DIR: &str = "/run/ftpspec-netns-kept";

/// Topologies alive in this process, for [`teardown_all`] (signal handlers).
static LIVE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static NEXT: AtomicU32 = AtomicU32::new(1);

fn live() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A built topology. Dropping it tears it down (unless `FTPSPEC_KEEP=1`); prefer
/// [`Topology::destroy`], which reports errors.
#[must_use = "dropping a Topology tears it down at once"]
#[derive(Debug)]
pub struct Topology {
    id: String,
    spec: TopologySpec,
    decoys: Vec<Decoy>,
    destroyed: bool,
}

/// One host of a topology: a network namespace.
#[derive(Debug, Clone)]
pub struct Host {
    name: String,
    netns: String,
}

/// What a program run with [`Host::run_captured`] did.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Its exit status (`None`: killed at the timeout).
    pub status: Option<std::process::ExitStatus>,
    /// What it printed on stdout.
    pub stdout: Vec<u8>,
    /// What it printed on stderr.
    pub stderr: Vec<u8>,
    /// It was still running at the timeout and was killed.
    pub timed_out: bool,
}

/// A thread running inside a host (from [`Host::spawn`]).
#[derive(Debug)]
pub struct HostThread<T>(std::thread::JoinHandle<Option<T>>);

impl<T> HostThread<T> {
    /// Waits for the thread; `Err` carries its panic.
    pub fn join(self) -> std::thread::Result<T> {
        self.0
            .join()
            .map(|v| v.expect("the thread entered its namespace before running"))
    }

    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

/// What a router or decoy saw of a TCP connection attempt.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Attempt {
    /// The host that saw it (a router, a firewall, or a decoy).
    pub host: String,
    /// What happened to it.
    pub outcome: AttemptOutcome,
    /// The source address.
    pub from: IpAddr,
    /// The destination address and port. For a forwarded attempt, after the router's own
    /// DNAT (a client's connection to a NAT's public port shows the server's private
    /// address); for a dropped one, what the sender asked for.
    pub to: SocketAddr,
}

/// What happened to a connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptOutcome {
    /// Forwarded (a new or related connection the router let through).
    Forwarded,
    /// Dropped by the router or firewall.
    Dropped,
    /// Reached a decoy.
    ReachedDecoy,
    /// Left a source-NAT router (`client-nat-pooled`) with `from` as its source: the public
    /// address the connection was given.
    Translated,
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.outcome {
            AttemptOutcome::Forwarded => "forwarded",
            AttemptOutcome::Dropped => "dropped",
            AttemptOutcome::ReachedDecoy => "reached the decoy",
            AttemptOutcome::Translated => "left with this source address",
        };
        write!(f, "{}: {} -> {} {what}", self.host, self.from, self.to)
    }
}

impl Topology {
    /// Checks and builds a topology. On failure everything created so far is removed.
    /// Namespaces left by processes that no longer exist are swept first.
    pub fn build(spec: &TopologySpec) -> Result<Topology, Error> {
        spec.check()?;
        preflight(spec)?;
        let _ = sweep(false);
        let id = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        live().insert(id.clone());
        let mut topo = Topology {
            id,
            spec: spec.clone(),
            decoys: Vec::new(),
            destroyed: false,
        };
        let started = Instant::now();
        match topo.create() {
            Ok(()) => {
                tracing::debug!(target: "ftpspec_netns", "built {} in {:?}", topo.id, started.elapsed());
                Ok(topo)
            }
            Err(e) => {
                topo.destroyed = true;
                let _ = topo.remove();
                Err(e)
            }
        }
    }

    fn create(&mut self) -> Result<(), Error> {
        let mut batch = String::new();
        for name in self.spec.hosts.keys() {
            batch.push_str(&format!("netns add {}\n", self.netns(name)));
        }
        ip(&[], &batch)?;
        // No duplicate address detection in the namespaces, for the link-local addresses the
        // kernel gives each link either (the others are added with nodad): while a router's
        // link-local address is tentative, the first IPv6 connection through it waits for a
        // retransmission (seconds). Set before the links exist, so they inherit it.
        for name in self.spec.hosts.keys() {
            let h = self.host(name).expect("declared host");
            h.in_thread(|| -> std::io::Result<()> {
                for conf in ["all", "default"] {
                    let path = format!("/proc/sys/net/ipv6/conf/{conf}/accept_dad");
                    match std::fs::write(path, "0") {
                        // IPv6 is off on this machine: nothing to do.
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                        r => r?,
                    }
                }
                Ok(())
            })?
            .map_err(|error| Error::Namespace {
                namespace: h.netns.clone(),
                what: "turning off IPv6 duplicate address detection",
                error,
            })?;
        }
        // Each end an interface index of its own across the topology: the kernel handles a
        // veth's carrier change at once only when the two ends' indexes differ, and up to a
        // second later otherwise (as each namespace counts from 1, both ends of a link
        // would often be 2); until then an IPv6 address or a bridge port is not usable.
        let mut batch = String::new();
        for (i, l) in self.spec.links.iter().enumerate() {
            batch.push_str(&format!(
                "link add name {} index {} netns {} type veth peer name {} index {} netns {}\n",
                l.a.iface,
                FIRST_INDEX + 2 * i,
                self.netns(&l.a.host),
                l.b.iface,
                FIRST_INDEX + 2 * i + 1,
                self.netns(&l.b.host)
            ));
        }
        if !batch.is_empty() {
            ip(&[], &batch)?;
        }
        let spec = &self.spec;
        let ends = |name: &str| -> Vec<&crate::LinkEnd> {
            spec.links
                .iter()
                .flat_map(|l| [&l.a, &l.b])
                .filter(|e| e.host == name)
                .collect()
        };
        // Every link up before any address, so no address is added to a link without
        // carrier.
        for (name, host) in &self.spec.hosts {
            let mut batch = String::from("link set lo up\n");
            if host.switch {
                batch.push_str(&format!(
                    "link add {BRIDGE} type bridge\nlink set {BRIDGE} up\n"
                ));
            }
            for end in ends(name) {
                if host.switch {
                    batch.push_str(&format!("link set {} master {BRIDGE}\n", end.iface));
                }
                batch.push_str(&format!("link set {} up\n", end.iface));
            }
            ip(&["-n", &self.netns(name)], &batch)?;
        }
        for (name, host) in &self.spec.hosts {
            let mut batch = String::new();
            for end in ends(name) {
                for a in &end.addrs {
                    let nodad = if a.addr().is_ipv6() { " nodad" } else { "" };
                    batch.push_str(&format!("addr add {a} dev {}{nodad}\n", end.iface));
                }
            }
            for r in self.spec.routes.iter().filter(|r| &r.host == name) {
                let to = r.to.map_or("default".to_owned(), |t| t.to_string());
                // The family follows the gateway (`-6` is not allowed in a batch line).
                batch.push_str(&format!("route add {to} via {}\n", r.via));
            }
            if !batch.is_empty() {
                ip(&["-n", &self.netns(name)], &batch)?;
            }
            let h = self.host(name).expect("declared host");
            if host.forward {
                h.in_thread(|| -> std::io::Result<()> {
                    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")?;
                    std::fs::write("/proc/sys/net/ipv6/conf/all/forwarding", "1")
                })?
                .map_err(|error| Error::Namespace {
                    namespace: h.netns.clone(),
                    what: "enabling forwarding",
                    error,
                })?;
            }
            if let Some(rules) = &host.nft {
                h.nft(rules)?;
            }
            if let Some(secs) = host.idle_timeout_secs {
                // The ruleset first: loading it brings conntrack (and its sysctls) into
                // the namespace. The sysctls are the namespace's own, not the machine's.
                h.nft(IDLE_RULES)?;
                h.in_thread(move || -> std::io::Result<()> {
                    let dir = "/proc/sys/net/netfilter";
                    std::fs::write(
                        format!("{dir}/nf_conntrack_tcp_timeout_established"),
                        secs.to_string(),
                    )?;
                    std::fs::write(format!("{dir}/nf_conntrack_tcp_loose"), "0")
                })?
                .map_err(|error| Error::Namespace {
                    namespace: h.netns.clone(),
                    what: "setting the conntrack idle timeout (net.netfilter.nf_conntrack_tcp_timeout_established, nf_conntrack_tcp_loose)",
                    error,
                })?;
            }
            if host.decoy {
                h.nft(DECOY_RULES)?;
                self.decoys.push(Decoy::start(&h)?);
            }
        }
        Ok(())
    }

    /// The topology's id (`ftpspec-<pid>-<n>`); host namespaces are `<id>-<host>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &TopologySpec {
        &self.spec
    }

    fn netns(&self, host: &str) -> String {
        format!("{}-{host}", self.id)
    }

    /// A host by name.
    pub fn host(&self, name: &str) -> Option<Host> {
        self.spec.hosts.contains_key(name).then(|| Host {
            name: name.to_owned(),
            netns: self.netns(name),
        })
    }

    /// Every connection attempt the routers, firewalls and decoys recorded, in a stable order.
    pub fn attempts(&self) -> Result<Vec<Attempt>, Error> {
        let mut out = Vec::new();
        for (name, spec) in &self.spec.hosts {
            if spec.nft.is_none() && !spec.decoy {
                continue;
            }
            let h = self.host(name).expect("declared host");
            let text = h.nft_output(&["-j", "list", "table", "inet", "ftpspec"])?;
            out.extend(parse_sets(name, &text).map_err(|message| Error::Observe {
                host: name.clone(),
                message,
            })?);
        }
        out.sort();
        Ok(out)
    }

    /// Tears the topology down (or keeps it with `FTPSPEC_KEEP=1`, printing how to enter it).
    pub fn destroy(mut self) -> Result<(), Error> {
        self.destroyed = true;
        self.finish()
    }

    fn finish(&mut self) -> Result<(), Error> {
        for d in self.decoys.drain(..) {
            d.stop();
        }
        if std::env::var_os("FTPSPEC_KEEP").is_some_and(|v| v != "0" && !v.is_empty()) {
            let _ = std::fs::create_dir_all(KEEP_DIR);
            let _ = File::create(format!("{KEEP_DIR}/{}", self.id));
            live().remove(&self.id);
            let first = self.spec.hosts.keys().next().cloned().unwrap_or_default();
            eprintln!(
                "ftpspec-netns: FTPSPEC_KEEP is set, so topology {id} is kept. Enter a host with:\n  ip netns exec {id}-{first} bash\nHosts: {hosts}. Remove it with `ftpspec lab --sweep` (or ftpspec_netns::sweep(true))",
                id = self.id,
                hosts = self.spec.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
            );
            return Ok(());
        }
        self.remove()
    }

    fn remove(&mut self) -> Result<(), Error> {
        let mut batch = String::new();
        for name in self.spec.hosts.keys() {
            if std::path::Path::new(NETNS_DIR)
                .join(self.netns(name))
                .exists()
            {
                batch.push_str(&format!("netns del {}\n", self.netns(name)));
            }
        }
        live().remove(&self.id);
        if batch.is_empty() {
            return Ok(());
        }
        ip(&[], &batch)
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if self.destroyed {
            return;
        }
        if let Err(e) = self.finish() {
            tracing::warn!(target: "ftpspec_netns", "tearing down {} failed: {e}", self.id);
            eprintln!("ftpspec-netns: tearing down {} failed: {e}", self.id);
        }
    }
}

impl Host {
    /// The host's name in the topology.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its network namespace (`ip netns exec <this> ...`).
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// A command that runs `program` inside the host (through `ip netns exec`, which execs
    /// it: the program is the child). It is killed when dropped, and gets SIGKILL when this
    /// process dies, even of SIGKILL (`PR_SET_PDEATHSIG`), so no client outlives its run.
    ///
    /// The kernel sends that signal when the *thread* that spawned the child ends, so spawn
    /// it from a thread that outlives it: a tokio runtime's worker threads, or the thread
    /// that waits for it (not a `spawn_blocking` task that returns before the child ends:
    /// its thread may go idle and exit).
    pub fn command(&self, program: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("ip");
        cmd.args(["netns", "exec", &self.netns, program]);
        cmd.kill_on_drop(true);
        die_with_parent(&mut cmd);
        cmd
    }

    /// Runs a program inside the host to its end, with stdin closed and stdout, stderr and
    /// the exit status captured; killed after `timeout`.
    pub async fn run(&self, args: &[&str], timeout: Duration) -> Result<Output, Error> {
        let out = self.run_captured(args, timeout).await?;
        match out.status {
            Some(status) => Ok(Output {
                status,
                stdout: out.stdout,
                stderr: out.stderr,
            }),
            None => Err(Error::Timeout {
                host: self.name.clone(),
                command: args.join(" "),
                timeout,
            }),
        }
    }

    /// Like [`Host::run`], but a program still running at `timeout` is killed and what it
    /// printed until then is kept ([`Captured::timed_out`]).
    pub async fn run_captured(&self, args: &[&str], timeout: Duration) -> Result<Captured, Error> {
        self.run_captured_with_input(args, None, timeout).await
    }

    /// Like [`Host::run_captured`], with `input` written to the program's stdin and then
    /// closed (`None`: stdin closed from the start), for programs driven by commands on
    /// their standard input.
    pub async fn run_captured_with_input(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Captured, Error> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Some((program, rest)) = args.split_first() else {
            return Err(Error::Invalid("run: no program given".into()));
        };
        let mut cmd = self.command(program);
        cmd.args(rest)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills what it started too.
            .process_group(0);
        let mut child = cmd.spawn().map_err(|error| Error::Spawn {
            program: program.to_string(),
            error,
        })?;
        let pid = child.id();
        if let (Some(mut stdin), Some(bytes)) = (child.stdin.take(), input) {
            // Written from a task, so a program that does not read cannot block the caller;
            // dropping the pipe at the end closes the program's stdin.
            let bytes = bytes.to_vec();
            tokio::spawn(async move {
                let _ = stdin.write_all(&bytes).await;
            });
        }
        type Pipe = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
        let drain = |pipe: Option<Pipe>| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let sink = buf.clone();
            let task = tokio::spawn(async move {
                let Some(mut p) = pipe else { return };
                let mut chunk = [0u8; 4096];
                while let Ok(n) = p.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&chunk[..n]);
                }
            });
            (buf, task)
        };
        let (out, out_task) = drain(child.stdout.take().map(|p| Box::new(p) as Pipe));
        let (err, err_task) = drain(child.stderr.take().map(|p| Box::new(p) as Pipe));
        let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
            Ok(status) => (
                Some(status.map_err(|error| Error::Spawn {
                    program: program.to_string(),
                    error,
                })?),
                false,
            ),
            Err(_) => {
                if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = child.kill().await;
                (None, true)
            }
        };
        // Whatever still holds the pipes open gets a moment; what was read is kept anyway.
        for task in [out_task, err_task] {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        let take = |b: Arc<Mutex<Vec<u8>>>| {
            std::mem::take(&mut *b.lock().unwrap_or_else(|e| e.into_inner()))
        };
        Ok(Captured {
            status,
            stdout: take(out),
            stderr: take(err),
            timed_out,
        })
    }

    /// The processes running inside the host's namespace (zombies left out): programs
    /// started with [`Host::command`] and whatever they forked, even into new sessions.
    /// Threads of this process that entered it ([`Host::spawn`]) are not processes and are
    /// not listed.
    pub fn processes(&self) -> Vec<u32> {
        processes_in(&self.netns)
            .into_iter()
            .filter_map(|p| u32::try_from(p.as_raw()).ok())
            .collect()
    }

    /// Ends every process inside the host's namespace with SIGKILL (a server's sessions
    /// that outlive it, for example) and waits up to 2 s until they are gone. Blocking.
    pub fn end_processes(&self) {
        end_processes_in(&self.netns);
    }

    /// Runs `f` on a new OS thread inside the host's network namespace and returns its
    /// result. Sockets it opens, and threads it starts (a tokio runtime, a mock server),
    /// stay in the namespace.
    pub fn in_thread<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        match self.spawn(f)?.join() {
            Ok(v) => Ok(v),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Starts `f` on a new OS thread inside the host's network namespace. `f` runs only
    /// once the thread is inside; if entering fails, `f` never runs and this returns the
    /// error.
    pub fn spawn<T, F>(&self, f: F) -> Result<HostThread<T>, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let path = format!("{NETNS_DIR}/{}", self.netns);
        let ns = File::open(&path).map_err(|error| Error::Namespace {
            namespace: self.netns.clone(),
            what: "opening",
            error,
        })?;
        let (tx, rx) = std::sync::mpsc::channel();
        let netns = self.netns.clone();
        let handle = std::thread::Builder::new()
            .name(format!("netns-{}", self.name))
            .spawn(move || {
                // A thread of its own, never switched back: nothing else runs here in the
                // wrong namespace, and a panic cannot leave another thread switched.
                match nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET) {
                    Ok(()) => {
                        let _ = tx.send(Ok(()));
                        drop(ns);
                        Some(f())
                    }
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::from(e)));
                        None
                    }
                }
            })
            .map_err(|error| Error::Namespace {
                namespace: netns.clone(),
                what: "starting a thread",
                error,
            })?;
        let entered = rx
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the thread ended before entering")));
        match entered {
            Ok(()) => Ok(HostThread(handle)),
            Err(error) => {
                let _ = handle.join();
                Err(Error::Namespace {
                    namespace: netns,
                    what: "entering (setns)",
                    error,
                })
            }
        }
    }

    fn nft(&self, rules: &str) -> Result<(), Error> {
        run_checked(
            Command::new("ip").args(["netns", "exec", &self.netns, "nft", "-f", "-"]),
            Some(rules),
            &format!("ip netns exec {} nft -f -", self.netns),
        )
        .map(|_| ())
    }

    fn nft_output(&self, args: &[&str]) -> Result<String, Error> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns, "nft"]).args(args);
        let out = run_checked(
            &mut cmd,
            None,
            &format!("ip netns exec {} nft {}", self.netns, args.join(" ")),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// Has the command's process get SIGKILL when its parent (the spawning thread) ends
/// (`PR_SET_PDEATHSIG`), and not start at all if this process ended before it got there.
/// `ip netns exec` keeps the setting across its exec of the program (it is cleared only on
/// exec of a set-user-ID or file-capability program). What the program itself starts does
/// not inherit it; those stay in the namespace, where [`sweep`] ends them.
#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut tokio::process::Command) {
    use nix::libc;
    let parent = i32::try_from(std::process::id()).unwrap_or(0);
    // SAFETY: the closure runs in the forked child before exec; it calls only prctl and
    // getppid, which are async-signal-safe, and allocates nothing (the errors are raw OS
    // errors).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // Ended between fork and prctl: nobody would signal the child any more.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// The interface index of the first link's first end (the others follow; below it, the
/// kernel's own: lo, a switch's bridge).
const FIRST_INDEX: usize = 100;

/// A router with an idle timeout drops TCP packets its conntrack no longer tracks (with
/// `nf_conntrack_tcp_loose` = 0 they are invalid), coming in for itself or passing through,
/// as a home router does. A table of its own, so any ruleset (or none) can go with it.
const IDLE_RULES: &str = "table inet ftpspec_idle {
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    meta l4proto tcp ct state invalid drop
  }
  chain input {
    type filter hook input priority filter - 10; policy accept;
    meta l4proto tcp ct state invalid drop
  }
}
";

/// A decoy's nftables: every TCP connection to any port is recorded and redirected to the
/// decoy's listener on port 9.
const DECOY_RULES: &str = "table inet ftpspec {
  set seen { type ipv4_addr . ipv4_addr . inet_service; flags dynamic; }
  chain nat_pre {
    type nat hook prerouting priority dstnat;
    meta l4proto tcp update @seen { ip saddr . ip daddr . tcp dport } redirect to :9
  }
}
";

/// The decoy's listener: accepts and holds connections until the topology goes.
#[derive(Debug)]
struct Decoy {
    stop: Arc<AtomicBool>,
    thread: HostThread<()>,
}

impl Decoy {
    fn start(host: &Host) -> Result<Decoy, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = host.spawn(move || {
            let listener = match std::net::TcpListener::bind("0.0.0.0:9") {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = listener.set_nonblocking(true);
            let _ = tx.send(Ok(()));
            let mut held = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) if held.len() < 1000 => held.push(s),
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        })?;
        match rx.recv() {
            Ok(Ok(())) => Ok(Decoy { stop, thread }),
            Ok(Err(error)) => Err(Error::Namespace {
                namespace: host.netns.clone(),
                what: "starting the decoy listener",
                error,
            }),
            Err(_) => Err(Error::Namespace {
                namespace: host.netns.clone(),
                what: "starting the decoy listener",
                error: std::io::Error::other("the listener thread ended"),
            }),
        }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Root (or CAP_SYS_ADMIN and CAP_NET_ADMIN), `ip`, and `nft` when a host has rules.
fn preflight(spec: &TopologySpec) -> Result<(), Error> {
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::NotPermitted(
            "ftpspec-netns creates network namespaces, veth links and nftables rules, which needs root: \
             run as root (CI runs the tests as root) or with sudo. (`ftpspec lab` re-runs itself in an \
             unprivileged user namespace when the kernel allows it; a library cannot, since that needs a \
             single-threaded process.)"
                .into(),
        ));
    }
    if which("ip").is_none() {
        return Err(Error::MissingTool {
            tool: "ip",
            package: "iproute2",
            purpose: "create namespaces, links, addresses and routes",
        });
    }
    let needs_nft = spec
        .hosts
        .values()
        .any(|h| h.nft.is_some() || h.decoy || h.idle_timeout_secs.is_some());
    if needs_nft && which("nft").is_none() {
        return Err(Error::MissingTool {
            tool: "nft",
            package: "nftables",
            purpose: "load the NAT, firewall and observation rules",
        });
    }
    Ok(())
}

pub(crate) fn which(tool: &str) -> Option<std::path::PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&paths)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

fn ip(global: &[&str], batch: &str) -> Result<(), Error> {
    let mut cmd = Command::new("ip");
    cmd.args(global).args(["-batch", "-"]);
    run_checked(
        &mut cmd,
        Some(batch),
        &format!("ip {} -batch - <<< {:?}", global.join(" "), batch.trim()),
    )
    .map(|_| ())
}

fn run_checked(cmd: &mut Command, stdin: Option<&str>, shown: &str) -> Result<Output, Error> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let program = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .spawn()
        .map_err(|error| Error::Spawn { program, error })?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        let _ = input.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|error| Error::Spawn {
        program: shown.to_owned(),
        error,
    })?;
    if !out.status.success() {
        return Err(Error::Command {
            command: shown.to_owned(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out)
}

/// Reads the `forwarded`, `dropped`, `seen` and `translated` sets from `nft -j list table` output.
fn parse_sets(host: &str, json: &str) -> Result<Vec<Attempt>, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("nft -j output: {e}"))?;
    let mut out = Vec::new();
    let items = v["nftables"].as_array().ok_or("no \"nftables\" array")?;
    for item in items {
        let Some(set) = item.get("set") else { continue };
        let outcome = match set["name"].as_str() {
            Some("forwarded" | "forwarded6") => AttemptOutcome::Forwarded,
            Some("dropped" | "dropped6") => AttemptOutcome::Dropped,
            Some("seen") => AttemptOutcome::ReachedDecoy,
            Some("translated") => AttemptOutcome::Translated,
            _ => continue,
        };
        for elem in set["elem"].as_array().into_iter().flatten() {
            let parts = elem["concat"]
                .as_array()
                .or_else(|| elem["elem"]["val"]["concat"].as_array())
                .ok_or_else(|| format!("unexpected set element {elem}"))?;
            let (Some(from), Some(to), Some(port)) = (
                parts.first().and_then(|p| p.as_str()),
                parts.get(1).and_then(|p| p.as_str()),
                parts.get(2).and_then(|p| p.as_u64()),
            ) else {
                return Err(format!("unexpected set element {elem}"));
            };
            let from: IpAddr = from.parse().map_err(|_| format!("bad address {from:?}"))?;
            let to: IpAddr = to.parse().map_err(|_| format!("bad address {to:?}"))?;
            out.push(Attempt {
                host: host.to_owned(),
                outcome,
                from,
                to: SocketAddr::new(
                    to,
                    u16::try_from(port).map_err(|_| format!("bad port {port}"))?,
                ),
            });
        }
    }
    Ok(out)
}

/// Tears down every topology this process still has (for a SIGINT/SIGTERM handler, before
/// exiting). Returns how many.
pub fn teardown_all() -> usize {
    let ids: Vec<String> = live().iter().cloned().collect();
    for id in &ids {
        let _ = delete_prefixed(&format!("{id}-"));
        live().remove(id);
    }
    ids.len()
}

/// Removes ftpspec namespaces whose process is gone (and, with `include_kept`, those kept
/// with `FTPSPEC_KEEP=1`), first ending every process still inside them (a client of a
/// killed run and what it started). A namespace is stale only when the process whose pid
/// its name carries (`ftpspec-<pid>-<n>-<host>`) no longer exists, so other live runs'
/// namespaces and processes are never touched. Returns the namespaces removed.
pub fn sweep(include_kept: bool) -> Result<Vec<String>, Error> {
    let Ok(dir) = std::fs::read_dir(NETNS_DIR) else {
        return Ok(Vec::new());
    };
    let mut stale = BTreeMap::new();
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let mut parts = rest.splitn(3, '-');
        let (Some(pid), Some(n)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let id = format!("{PREFIX}{pid}-{n}");
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
        let kept = std::path::Path::new(&format!("{KEEP_DIR}/{id}")).exists();
        if (!alive && !kept) || (include_kept && kept && pid != std::process::id()) {
            stale.entry(id).or_insert_with(Vec::new).push(name);
        }
    }
    let mut removed = Vec::new();
    for (id, names) in stale {
        for name in &names {
            end_processes_in(name);
        }
        let batch: String = names.iter().map(|n| format!("netns del {n}\n")).collect();
        // `-force`: go on past a namespace that another run's sweep removed first; only one
        // still there afterwards is an error.
        if let Err(e) = ip(&["-force"], &batch) {
            if names
                .iter()
                .any(|n| std::path::Path::new(NETNS_DIR).join(n).exists())
            {
                return Err(e);
            }
        }
        let _ = std::fs::remove_file(format!("{KEEP_DIR}/{id}"));
        removed.extend(names);
    }
    Ok(removed)
}

/// The live processes inside the namespace (`ip netns pids`; zombies left out).
fn processes_in(netns: &str) -> Vec<nix::unistd::Pid> {
    let Ok(out) = Command::new("ip").args(["netns", "pids", netns]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .filter(|&p| p > 1 && !is_zombie(p))
        .map(nix::unistd::Pid::from_raw)
        .collect()
}

/// Ends every process inside the namespace (`ip netns pids`): what a killed run's clients
/// started, or a client whose parent-death signal was lost. Waits up to 2 s for them to go.
fn end_processes_in(netns: &str) {
    let pids = || processes_in(netns);
    let mut left = pids();
    if left.is_empty() {
        return;
    }
    tracing::info!(target: "ftpspec_netns", "ending {} process(es) left in {netns}", left.len());
    let deadline = Instant::now() + Duration::from_secs(2);
    while !left.is_empty() && Instant::now() < deadline {
        for pid in &left {
            let _ = nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
        left = pids();
    }
}

/// A process that has ended but is not yet reaped (or gone already).
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        // The state follows the command name's closing parenthesis.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
    })
}

fn delete_prefixed(prefix: &str) -> Result<(), Error> {
    let Ok(dir) = std::fs::read_dir(NETNS_DIR) else {
        return Ok(());
    };
    let batch: String = dir
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .map(|n| format!("netns del {n}\n"))
        .collect();
    if batch.is_empty() {
        return Ok(());
    }
    ip(&[], &batch)
}

/// The namespaces of topologies this process has alive.
pub fn live_topologies() -> Vec<String> {
    live().iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nft_sets() {
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
          {"set": {"family": "inet", "name": "dropped", "table": "ftpspec",
                   "type": ["ipv4_addr", "ipv4_addr", "inet_service"],
                   "elem": [{"concat": ["203.0.113.10", "10.0.0.2", 50007]}]}},
          {"set": {"family": "inet", "name": "forwarded", "table": "ftpspec"}},
          {"set": {"family": "inet", "name": "other", "table": "ftpspec", "elem": [1]}}]}"#;
        let got = parse_sets("nat", json).unwrap();
        assert_eq!(
            got,
            [Attempt {
                host: "nat".into(),
                outcome: AttemptOutcome::Dropped,
                from: "203.0.113.10".parse().unwrap(),
                to: "10.0.0.2:50007".parse().unwrap(),
            }]
        );
        assert_eq!(
            got[0].to_string(),
            "nat: 203.0.113.10 -> 10.0.0.2:50007 dropped"
        );
        assert!(parse_sets("nat", "not json").is_err());
    }
}
