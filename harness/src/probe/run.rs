//! [`run`]: the idle connections, the sessions side by side, and each step of a session.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::timeout;

use super::control::{Control, ControlError};
use super::data::{self, DataCtx, Halt, Sink};
use super::record::{ControlChange, DataRecord, ProbeRecord, SessionRecord, StepRecord};
use super::steps::{render, ProbeSpec, ProbeStep, ProbeTls, Values, Via};
use super::target::ProbeTarget;
use super::tls::{KeyText, SessionTls};

/// Runs the probe: opens the idle connections, runs `spec.sessions` sessions at once (each
/// the steps in order on its own control connection), and records everything. Never panics
/// and never fails: what went wrong is in the record.
///
/// Sessions are tasks spawned on the current tokio runtime: to run inside a network
/// namespace, build the runtime on a thread that is in it (`Host::in_thread`).
///
/// ```no_run
/// use ftpspec::probe::{run, ProbeSpec, ProbeTarget};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let spec: ProbeSpec = toml::from_str(r#"steps = [{ login = true }, { retr = "/gen/1M" }]"#).unwrap();
/// let target = ProbeTarget::new("127.0.0.1:2121".parse().unwrap(), "alice", "secret");
/// let record = run(&spec, &target).await;
/// assert_eq!(record.sessions[0].steps[1].data.as_ref().unwrap().bytes, 1 << 20);
/// # }
/// ```
pub async fn run(spec: &ProbeSpec, target: &ProbeTarget) -> ProbeRecord {
    let started = Instant::now();
    let spec = Arc::new(spec.clone());
    let target = Arc::new(target.clone());
    let mut record = ProbeRecord::default();

    let closed = Arc::new(AtomicU32::new(0));
    let mut idle = JoinSet::new();
    let mut connects = JoinSet::new();
    for _ in 0..spec.idle_connections {
        let (addr, wait) = (target.control, target.timeout);
        connects.spawn(async move { timeout(wait, TcpStream::connect(addr)).await });
    }
    while let Some(done) = connects.join_next().await {
        match done {
            Ok(Ok(Ok(tcp))) => {
                record.idle_opened += 1;
                idle.spawn(hold(tcp, closed.clone()));
            }
            _ => record.idle_refused += 1,
        }
    }

    let ports = Arc::new(AtomicU32::new(0));
    let keys = Arc::new(KeyText::default());
    let mut sessions = JoinSet::new();
    for index in 0..spec.sessions {
        let (spec, target, ports) = (spec.clone(), target.clone(), ports.clone());
        let keys = keys.clone();
        sessions.spawn(async move { (index, session(&spec, &target, &ports, keys).await) });
    }
    let mut done: Vec<Option<SessionRecord>> = vec![None; spec.sessions as usize];
    while let Some(joined) = sessions.join_next().await {
        if let Ok((index, rec)) = joined {
            done[index as usize] = Some(rec);
        }
    }
    record.sessions = done
        .into_iter()
        .map(|rec| {
            rec.unwrap_or_else(|| SessionRecord {
                error: Some("the session's task panicked (a bug in the probe)".into()),
                ..SessionRecord::default()
            })
        })
        .collect();
    record.idle_closed = closed.load(Ordering::Relaxed);
    record.tls_keys = keys.text();
    idle.abort_all();
    record.elapsed = started.elapsed();
    record
}

/// Holds an idle connection, reading (and dropping) whatever comes, and counts it when the
/// server closes it.
async fn hold(mut tcp: TcpStream, closed: Arc<AtomicU32>) {
    let mut buf = [0u8; 1024];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => {
                closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(_) => {}
        }
    }
}

/// One session's state between steps.
struct Session<'a> {
    target: &'a ProbeTarget,
    ctl: Control,
    /// The session's TLS, made when first needed (or why it could not be).
    tls: Option<Result<SessionTls, String>>,
    /// Where its TLS secrets go.
    keys: Arc<KeyText>,
    /// PROT P in effect.
    private: bool,
    /// A TYPE was sent (by the probe or a `send` step).
    typed: bool,
    own_ip: IpAddr,
    ports: &'a AtomicU32,
}

async fn session(
    spec: &ProbeSpec,
    target: &ProbeTarget,
    ports: &AtomicU32,
    keys: Arc<KeyText>,
) -> SessionRecord {
    let mut rec = SessionRecord::default();
    let ctl = match Control::connect(target.control, target.timeout).await {
        Ok(ctl) => ctl,
        Err(e) => {
            rec.error = Some(e.to_string());
            return rec;
        }
    };
    let own_ip = if target.local_ip.is_unspecified() {
        ctl.local.ip()
    } else {
        target.local_ip
    };
    let mut s = Session {
        target,
        ctl,
        tls: None,
        keys,
        private: false,
        typed: false,
        own_ip,
        ports,
    };
    if spec.tls == ProbeTls::Implicit {
        if let Err(e) = s.start_tls().await {
            rec.error = Some(e.to_string());
            return rec;
        }
    }
    loop {
        match s.ctl.reply().await {
            Ok(reply) if reply.code == 120 => rec.greeting = Some(reply),
            Ok(reply) => {
                let ok = reply.code / 100 == 2;
                if !ok {
                    rec.error = Some(format!("the server refused the session: {reply}"));
                }
                rec.greeting = Some(reply);
                if !ok {
                    return rec;
                }
                break;
            }
            Err(e) => {
                rec.error = Some(format!("greeting: {e}"));
                return rec;
            }
        }
    }
    for (index, step) in spec.steps.iter().enumerate() {
        let (step_rec, fatal) = s.step(index, step, spec.tls).await;
        rec.steps.push(step_rec);
        if let Some(e) = fatal {
            rec.error = Some(e);
            return rec;
        }
    }
    // A polite end; what the server says to QUIT is not recorded.
    if s.ctl.send("QUIT").await.is_ok() {
        let _ = s
            .ctl
            .reply_within(target.timeout.min(Duration::from_secs(2)))
            .await;
    }
    rec
}

impl Session<'_> {
    /// The session's TLS, made on first use.
    fn session_tls(&mut self) -> Result<&SessionTls, String> {
        let target = self.target;
        let keys = self.keys.clone();
        self.tls
            .get_or_insert_with(|| {
                SessionTls::new(target.ca_pem.as_deref(), target.control.ip(), keys)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn start_tls(&mut self) -> Result<String, ControlError> {
        let (config, name) = {
            let tls = self.session_tls().map_err(ControlError::Tls)?;
            (tls.control(), tls.name.clone())
        };
        self.ctl.start_tls(config, name).await
    }

    /// Runs one step; returns its record and, if the session cannot go on, why.
    async fn step(
        &mut self,
        index: usize,
        step: &ProbeStep,
        tls: ProbeTls,
    ) -> (StepRecord, Option<String>) {
        let mut rec = StepRecord {
            step: index,
            ..StepRecord::default()
        };
        let mut decisive = None;
        let mut data = None;
        let outcome = match step {
            ProbeStep::Login { expect } => {
                rec.expected.clone_from(expect);
                self.login(tls, &mut rec, &mut decisive).await
            }
            ProbeStep::Send { line, expect } => {
                rec.expected.clone_from(expect);
                self.send(line, &mut rec).await
            }
            ProbeStep::Retr {
                path,
                via,
                offset,
                expect,
                tls_resume,
            } => {
                rec.expected.clone_from(expect);
                let d = data.insert(DataRecord::default());
                let resume = tls_resume.unwrap_or(true);
                self.retr(path, *via, *offset, resume, None, &mut rec, d)
                    .await
            }
            ProbeStep::Stor {
                path,
                via,
                size,
                expect,
            } => {
                rec.expected.clone_from(expect);
                let d = data.insert(DataRecord::default());
                self.stor(path, *via, *size, &mut rec, d).await
            }
            ProbeStep::List { path, via, expect } => {
                rec.expected.clone_from(expect);
                let d = data.insert(DataRecord::default());
                self.list(path, *via, &mut rec, d).await
            }
            ProbeStep::AborDuring { path, via, after } => {
                let d = data.insert(DataRecord::default());
                self.retr(path, *via, None, true, Some(*after), &mut rec, d)
                    .await
            }
            ProbeStep::Sleep { ms } => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Ok(())
            }
        };
        rec.data = data.filter(|d| *d != DataRecord::default());
        let fatal = match outcome {
            Ok(()) | Err(Halt::Reply) => None,
            Err(Halt::Error(e)) => {
                rec.error = Some(e);
                None
            }
            Err(Halt::Fatal(e)) => {
                let e = e.to_string();
                rec.error = Some(e.clone());
                Some(e)
            }
        };
        if let Some(expect) = &rec.expected {
            let judged = decisive.map_or(rec.replies.last(), |i| rec.replies.get(i));
            rec.met = Some(judged.is_some_and(|r| expect.matches(r.code)));
        }
        (rec, fatal)
    }

    /// (AUTH TLS,) USER, PASS (, PBSZ 0, PROT P). `decisive` is the reply `expect` is
    /// checked against: PASS's, or the one that ended the login early.
    async fn login(
        &mut self,
        tls: ProbeTls,
        rec: &mut StepRecord,
        decisive: &mut Option<usize>,
    ) -> Result<(), Halt> {
        let last = |rec: &StepRecord| Some(rec.replies.len() - 1);
        if tls == ProbeTls::Explicit && !self.ctl.is_tls() {
            let reply = self.ctl.command("AUTH TLS", rec).await?;
            *decisive = last(rec);
            if reply.code != 234 {
                return Err(Halt::Reply);
            }
            let version = self.start_tls().await?;
            rec.control = Some(ControlChange::TlsStarted { version });
        }
        let user = format!("USER {}", self.target.user);
        let reply = self.ctl.command(&user, rec).await?;
        *decisive = last(rec);
        match reply.code {
            230 => {}
            331 | 332 => {
                let pass = format!("PASS {}", self.target.password);
                let reply = self.ctl.command(&pass, rec).await?;
                *decisive = last(rec);
                if reply.code / 100 != 2 {
                    return Err(Halt::Reply);
                }
            }
            _ => return Err(Halt::Reply),
        }
        if tls != ProbeTls::None && self.ctl.is_tls() {
            for line in ["PBSZ 0", "PROT P"] {
                let reply = self.ctl.command(line, rec).await?;
                if reply.code / 100 != 2 {
                    return Err(Halt::Error(format!("{line} refused: {reply}")));
                }
            }
            self.private = true;
        }
        Ok(())
    }

    /// One command line, placeholders rendered; follows AUTH TLS (234), CCC (2xx), PROT
    /// and TYPE.
    async fn send(&mut self, line: &str, rec: &mut StepRecord) -> Result<(), Halt> {
        let values = Values {
            user: &self.target.user,
            password: &self.target.password,
            own_ip: self.own_ip,
            decoy: self.target.decoy,
            own_port: *self.target.active_ports.start(),
        };
        let line = render(line, &values).map_err(Halt::Error)?;
        let reply = self.ctl.command(&line, rec).await?;
        let upper = line.trim().to_ascii_uppercase();
        let (verb, arg) = upper.split_once(' ').unwrap_or((&upper, ""));
        let ok = reply.code / 100 == 2;
        match verb {
            "AUTH" if reply.code == 234 => {
                let version = self.start_tls().await?;
                rec.control = Some(ControlChange::TlsStarted { version });
            }
            "CCC" if ok && self.ctl.is_tls() => {
                let server_close_notify = self.ctl.clear_tls().await?;
                rec.control = Some(ControlChange::TlsCleared {
                    server_close_notify,
                });
            }
            "PROT" if ok => self.private = arg.trim() == "P",
            "TYPE" => self.typed = true,
            _ => {}
        }
        Ok(())
    }

    /// TYPE I before the first transfer, unless a `send` step chose a TYPE.
    async fn binary(&mut self, rec: &mut StepRecord) -> Result<(), Halt> {
        if !self.typed {
            self.ctl.command("TYPE I", rec).await?;
            self.typed = true;
        }
        Ok(())
    }

    /// The data connection of a transfer: PASV/EPSV/PORT/EPRT, REST `rest`, the command,
    /// TLS under PROT P. Returns it and whether the final reply came already.
    async fn transfer(
        &mut self,
        via: Via,
        rest: Option<u64>,
        line: &str,
        resume: bool,
        rec: &mut StepRecord,
        data: &mut DataRecord,
    ) -> Result<(data::Data, bool), Halt> {
        if self.private {
            self.session_tls().map_err(Halt::Error)?;
        }
        let ctx = DataCtx {
            target: self.target,
            own_ip: self.own_ip,
            ports: self.ports,
            tls: match (&self.tls, self.private) {
                (Some(Ok(tls)), true) => Some(tls),
                _ => None,
            },
        };
        let ctl = &mut self.ctl;
        let opening = data::open(ctl, via, &ctx, rec, data).await?;
        if let Some(offset) = rest {
            let reply = ctl.command(&format!("REST {offset}"), rec).await?;
            if reply.code != 350 {
                return Err(Halt::Reply);
            }
        }
        let started = data::start(ctl, opening, line, &ctx, rec, data).await?;
        let final_read = started.final_read;
        match data::secure(started.tcp, &ctx, resume, data).await {
            Ok(stream) => Ok((stream, final_read)),
            Err(e) => Err(data::after_start(ctl, rec, data, e, final_read).await),
        }
    }

    /// Reads the transfer's final reply, unless it came already.
    async fn finish(&mut self, final_read: bool, rec: &mut StepRecord) -> Result<(), Halt> {
        if !final_read {
            self.ctl.read_into(rec).await?;
        }
        Ok(())
    }

    /// RETR (with REST first for an offset), verified; with `abort_after`, ABOR after that
    /// many bytes.
    #[allow(clippy::too_many_arguments)]
    async fn retr(
        &mut self,
        path: &str,
        via: Via,
        offset: Option<u64>,
        resume: bool,
        abort_after: Option<u64>,
        rec: &mut StepRecord,
        data: &mut DataRecord,
    ) -> Result<(), Halt> {
        self.binary(rec).await?;
        let line = format!("RETR {path}");
        let (mut stream, final_read) = self.transfer(via, offset, &line, resume, rec, data).await?;
        let mut sink = Sink::Verify(offset.unwrap_or(0));
        if let Some(after) = abort_after {
            if !stream.read(&mut sink, Some(after), data).await {
                // abort() has closed the data connection once the server closed its side.
                data::abort(&mut self.ctl, &mut stream, &mut sink, rec, data).await?;
                return Ok(());
            }
        } else {
            stream.read(&mut sink, None, data).await;
        }
        stream.close().await;
        self.finish(final_read, rec).await
    }

    /// STOR of `size` generated bytes.
    async fn stor(
        &mut self,
        path: &str,
        via: Via,
        size: u64,
        rec: &mut StepRecord,
        data: &mut DataRecord,
    ) -> Result<(), Halt> {
        self.binary(rec).await?;
        let line = format!("STOR {path}");
        let (mut stream, final_read) = self.transfer(via, None, &line, true, rec, data).await?;
        stream.write(size, data).await;
        drop(stream);
        self.finish(final_read, rec).await
    }

    /// LIST, the text kept.
    async fn list(
        &mut self,
        path: &str,
        via: Via,
        rec: &mut StepRecord,
        data: &mut DataRecord,
    ) -> Result<(), Halt> {
        let line = if path.is_empty() {
            "LIST".to_owned()
        } else {
            format!("LIST {path}")
        };
        let (mut stream, final_read) = self.transfer(via, None, &line, true, rec, data).await?;
        let mut sink = Sink::Listing(Vec::new());
        stream.read(&mut sink, None, data).await;
        stream.close().await;
        if let Sink::Listing(text) = sink {
            data.listing = Some(String::from_utf8_lossy(&text).into_owned());
        }
        self.finish(final_read, rec).await
    }
}
