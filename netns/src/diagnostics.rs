//! A diagnostics bundle: what each host of a live topology holds at one moment, as text for a
//! person reading why a case failed, like the nftables `nat_ftp` selftest dumps on failure.
//! For routers, firewalls and decoys: the nftables ruleset (`nft list ruleset`, with any
//! counters), the conntrack table with each entry's helper (`conntrack -L -o extended`:
//! `helper=ftp`) and the helper's expectations (`conntrack -L expect`). For every host: its
//! TCP sockets (`ss -tanpo`: listening, established, TIME-WAIT, with timers and processes).
//!
//! Every part is labelled with its host and command. A tool that is missing, a command that
//! fails or runs past its time limit is said so in the part: the bundle never fails and never
//! leaves a silent gap. Each part is cut at a number of lines and bytes.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::topology::{which, Topology};

/// How much a bundle may hold and take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagnosticsLimits {
    /// Each command is killed after this long (what it printed so far is kept).
    pub timeout: Duration,
    /// Each part keeps at most this many lines of output.
    pub max_lines: usize,
    /// And at most this many bytes.
    pub max_bytes: usize,
}

impl Default for DiagnosticsLimits {
    /// 3 s, 400 lines and 64 KiB per part.
    fn default() -> Self {
        DiagnosticsLimits {
            timeout: Duration::from_secs(3),
            max_lines: 400,
            max_bytes: 64 * 1024,
        }
    }
}

/// A snapshot of a topology's hosts ([`Topology::diagnostics`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    /// The topology's id.
    pub topology: String,
    /// How long taking it took.
    pub took: Duration,
    /// Its parts, host by host (in the spec's host order), each host's commands in a fixed
    /// order.
    pub parts: Vec<Part>,
}

/// One command's output in one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The host.
    pub host: String,
    /// The command line, as run inside the host's namespace.
    pub command: String,
    /// What it printed (stdout, then stderr), cut to the limits.
    pub output: String,
    /// What the reader should know about the output: not run (the tool is missing), failed
    /// (the exit status), killed at the time limit, cut. `None`: complete.
    pub note: Option<String>,
}

/// The commands, with the tool each needs and its Debian package.
struct Probe {
    argv: &'static [&'static str],
    package: &'static str,
    /// Run only in hosts with rules or forwarding (routers, firewalls, decoys).
    routers_only: bool,
}

const PROBES: [Probe; 4] = [
    Probe {
        argv: &["nft", "list", "ruleset"],
        package: "nftables",
        routers_only: true,
    },
    Probe {
        argv: &["conntrack", "-L", "-o", "extended"],
        package: "conntrack",
        routers_only: true,
    },
    Probe {
        argv: &["conntrack", "-L", "expect"],
        package: "conntrack",
        routers_only: true,
    },
    Probe {
        argv: &["ss", "-tanpo"],
        package: "iproute2",
        routers_only: false,
    },
];

impl Topology {
    /// Snapshots every host ([`DiagnosticsLimits::default`]); see the module's doc. Never
    /// fails: what could not be had is said in its part. The commands run at once, each in
    /// its host's namespace (`ip netns exec`).
    pub fn diagnostics(&self) -> Diagnostics {
        self.diagnostics_with(&DiagnosticsLimits::default())
    }

    /// [`Topology::diagnostics`] with other limits.
    pub fn diagnostics_with(&self, limits: &DiagnosticsLimits) -> Diagnostics {
        let started = Instant::now();
        let mut jobs = Vec::new();
        for (name, spec) in &self.spec().hosts {
            let router = spec.forward
                || spec.nft.is_some()
                || spec.decoy
                || spec.idle_timeout_secs.is_some();
            for probe in PROBES.iter().filter(|p| router || !p.routers_only) {
                jobs.push((name.clone(), probe));
            }
        }
        let parts = std::thread::scope(|scope| {
            let running: Vec<_> = jobs
                .iter()
                .map(|(host, probe)| {
                    let netns = format!("{}-{host}", self.id());
                    scope.spawn(move || probe_host(host, &netns, probe, limits))
                })
                .collect();
            running
                .into_iter()
                .zip(&jobs)
                .map(|(t, (host, probe))| {
                    t.join().unwrap_or_else(|_| Part {
                        host: host.clone(),
                        command: probe.argv.join(" "),
                        output: String::new(),
                        note: Some("not run: the thread running it panicked".into()),
                    })
                })
                .collect()
        });
        Diagnostics {
            topology: self.id().to_owned(),
            took: started.elapsed(),
            parts,
        }
    }
}

fn probe_host(host: &str, netns: &str, probe: &Probe, limits: &DiagnosticsLimits) -> Part {
    let command = probe.argv.join(" ");
    let tool = probe.argv[0];
    if which(tool).is_none() {
        return Part {
            host: host.to_owned(),
            command,
            output: String::new(),
            note: Some(format!(
                "not run: {tool} is not installed (Debian package {}; scripts/install-deps installs it)",
                probe.package
            )),
        };
    }
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", netns]).args(probe.argv);
    let (output, note) = run_bounded(&mut cmd, limits);
    Part {
        host: host.to_owned(),
        command,
        output,
        note,
    }
}

/// Runs `cmd` with no input, killing it at `limits.timeout`; its stdout then stderr, cut to
/// the limits, and a note when it did not run, failed, was killed or was cut.
pub(crate) fn run_bounded(
    cmd: &mut Command,
    limits: &DiagnosticsLimits,
) -> (String, Option<String>) {
    use std::os::unix::process::CommandExt as _;
    // A process group of its own, so a timeout kills whatever it started too.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (String::new(), Some(format!("not run: {e}"))),
    };
    // Readers keep at most the byte limit (and drain the rest, so the command never blocks
    // on a full pipe).
    let keep = limits.max_bytes + 1;
    let reader = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            if let Some(mut p) = pipe {
                let mut buf = [0u8; 8192];
                while let Ok(n @ 1..) = p.read(&mut buf) {
                    let room = keep.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
            let _ = tx.send(kept);
        });
        rx
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limits.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                if let Ok(pid) = i32::try_from(child.id()) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    // Something it left behind may still hold a pipe open: its output is then given up
    // after a moment rather than waited for.
    let grace = Duration::from_millis(500);
    let out = out.recv_timeout(grace).unwrap_or_default();
    let err = err.recv_timeout(grace).unwrap_or_default();
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if !err.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        for line in String::from_utf8_lossy(&err).lines() {
            text.push_str("stderr: ");
            text.push_str(line);
            text.push('\n');
        }
    }
    let (text, cut) = cap(&text, limits);
    let mut notes = Vec::new();
    match status {
        None => notes.push(format!(
            "killed after {:.1} s: the output is what it printed until then",
            limits.timeout.as_secs_f64()
        )),
        Some(s) if !s.success() => notes.push(format!("failed: {s}")),
        Some(_) => {}
    }
    notes.extend(cut);
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    (text, note)
}

/// `text` cut to `limits.max_lines` lines and `limits.max_bytes` bytes (at a character
/// boundary, then at the last whole line), and a note saying what was left out.
pub(crate) fn cap(text: &str, limits: &DiagnosticsLimits) -> (String, Option<String>) {
    let total_lines = text.lines().count();
    let mut end = text.len();
    if let Some((i, _)) = text
        .match_indices('\n')
        .nth(limits.max_lines.saturating_sub(1))
    {
        end = end.min(i + 1);
    }
    if limits.max_lines == 0 {
        end = 0;
    }
    if end > limits.max_bytes {
        end = limits.max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if let Some(i) = text[..end].rfind('\n') {
            end = i + 1;
        }
    }
    if end >= text.len() {
        return (text.to_owned(), None);
    }
    let kept = &text[..end];
    let note = format!(
        "cut: {} of {total_lines} line(s) and {end} of {} bytes shown (at most {} lines and {} bytes are kept)",
        kept.lines().count(),
        text.len(),
        limits.max_lines,
        limits.max_bytes
    );
    (kept.to_owned(), Some(note))
}

impl std::fmt::Display for Diagnostics {
    /// The bundle as text: a header, then each part under `== host: command ==`, with its
    /// note (if any) under the heading.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "# ftpspec diagnostics of topology {}: each host's state at the end of the case",
            self.topology
        )?;
        writeln!(
            f,
            "# {} part(s), taken in {} ms; each command ran in its host's network namespace",
            self.parts.len(),
            self.took.as_millis()
        )?;
        for p in &self.parts {
            writeln!(f, "\n== {}: {} ==", p.host, p.command)?;
            if let Some(note) = &p.note {
                writeln!(f, "({note})")?;
            }
            if p.output.trim().is_empty() {
                if p.note.is_none() {
                    writeln!(f, "(no output)")?;
                }
            } else {
                f.write_str(&p.output)?;
                if !p.output.ends_with('\n') {
                    writeln!(f)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_lines: usize, max_bytes: usize) -> DiagnosticsLimits {
        DiagnosticsLimits {
            timeout: Duration::from_secs(5),
            max_lines,
            max_bytes,
        }
    }

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(cap("a\nb\n", &limits(2, 100)), ("a\nb\n".into(), None));
        assert_eq!(cap("a\nb", &limits(2, 3)), ("a\nb".into(), None));
        assert_eq!(cap("", &limits(0, 0)), (String::new(), None));
    }

    #[test]
    fn lines_are_capped() {
        let (text, note) = cap("1\n2\n3\n4\n", &limits(2, 100));
        assert_eq!(text, "1\n2\n");
        assert_eq!(
            note.as_deref(),
            Some("cut: 2 of 4 line(s) and 4 of 8 bytes shown (at most 2 lines and 100 bytes are kept)")
        );
    }

    #[test]
    fn bytes_are_capped_at_a_whole_line_and_a_character() {
        let (text, note) = cap("aaaa\nbbbb\ncccc\n", &limits(100, 12));
        assert_eq!(text, "aaaa\nbbbb\n");
        assert!(note
            .unwrap()
            .starts_with("cut: 2 of 3 line(s) and 10 of 15 bytes"));
        // One long line: cut inside it, at a character boundary.
        let (text, note) = cap("ééééé", &limits(100, 5));
        assert_eq!(text, "éé");
        assert!(note.is_some());
    }

    #[test]
    fn a_command_is_killed_at_the_time_limit_with_its_output() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo started; sleep 5"]);
        let t = Instant::now();
        let (text, note) = run_bounded(
            &mut cmd,
            &DiagnosticsLimits {
                timeout: Duration::from_millis(300),
                ..DiagnosticsLimits::default()
            },
        );
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert_eq!(text, "started\n");
        assert!(note.unwrap().starts_with("killed after 0.3 s"));
    }

    #[test]
    fn failures_and_stderr_are_said() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo oops >&2; exit 3"]);
        let (text, note) = run_bounded(&mut cmd, &DiagnosticsLimits::default());
        assert_eq!(text, "out\nstderr: oops\n");
        assert_eq!(note.as_deref(), Some("failed: exit status: 3"));
        let (text, note) = run_bounded(
            &mut Command::new("/nonexistent/tool"),
            &DiagnosticsLimits::default(),
        );
        assert_eq!(text, "");
        assert!(note.unwrap().starts_with("not run: "));
    }

    #[test]
    fn a_big_output_is_drained_and_cut() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "seq 1 200000"]);
        let (text, note) = run_bounded(&mut cmd, &limits(10, 1 << 20));
        assert_eq!(text.lines().count(), 10);
        assert!(note.unwrap().starts_with("cut: "));
    }

    #[test]
    fn the_text_labels_each_part() {
        let d = Diagnostics {
            topology: "ftpspec-1-2".into(),
            took: Duration::from_millis(42),
            parts: vec![
                Part {
                    host: "nat".into(),
                    command: "conntrack -L expect".into(),
                    output: String::new(),
                    note: Some("not run: conntrack is not installed".into()),
                },
                Part {
                    host: "client".into(),
                    command: "ss -tanpo".into(),
                    output: "State Recv-Q".into(),
                    note: None,
                },
                Part {
                    host: "server".into(),
                    command: "ss -tanpo".into(),
                    output: "\n".into(),
                    note: None,
                },
            ],
        };
        assert_eq!(
            d.to_string(),
            "# ftpspec diagnostics of topology ftpspec-1-2: each host's state at the end of the case\n\
             # 3 part(s), taken in 42 ms; each command ran in its host's network namespace\n\
             \n== nat: conntrack -L expect ==\n(not run: conntrack is not installed)\n\
             \n== client: ss -tanpo ==\nState Recv-Q\n\
             \n== server: ss -tanpo ==\n(no output)\n"
        );
    }
}
