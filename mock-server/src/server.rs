//! The running server: its own OS thread and tokio runtime (so dropping it never deadlocks a
//! test on a current-thread runtime), the accept loop, and the state sessions share.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::{Builder, Config, Error};
use crate::events::{Event, EventKind, EventLog};
use crate::script::{Mock, Responder};
use crate::vfs::{Source, Vfs};

pub(crate) struct MockEntry {
    pub(crate) mock: Mock,
    pub(crate) hits: u64,
}

/// State shared by the accept loop, every session and the test-facing handle.
pub(crate) struct Shared {
    pub(crate) cfg: Config,
    started: Instant,
    log: Mutex<EventLog>,
    mocks: Mutex<Vec<MockEntry>>,
    pub(crate) vfs: Mutex<Vfs>,
    pub(crate) sessions: AtomicUsize,
    next_session: AtomicU64,
    pub(crate) pasv_cursor: AtomicU32,
    pub(crate) upload_used: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data half-written in a way that
    // matters for a test server; keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn log(&self, session: u64, kind: EventKind) {
        let event = Event {
            at: self.started.elapsed(),
            session,
            kind,
        };
        tracing::info!(target: "ftpspec_mock", "{event}");
        let mut log = lock(&self.log);
        if log.events.len() < self.cfg.max_events {
            log.events.push(event);
        } else {
            log.dropped += 1;
        }
    }

    pub(crate) fn vfs(&self) -> MutexGuard<'_, Vfs> {
        lock(&self.vfs)
    }

    /// The first live mock matching the line; counts the hit.
    pub(crate) fn match_mock(&self, verb: &str, arg: &str) -> Option<(String, Responder)> {
        let mut mocks = lock(&self.mocks);
        for (i, entry) in mocks.iter_mut().enumerate() {
            if entry.mock.limit.is_some_and(|l| entry.hits >= l) || !entry.mock.matches(verb, arg) {
                continue;
            }
            entry.hits += 1;
            let name = entry
                .mock
                .name
                .clone()
                .unwrap_or_else(|| format!("#{}", i + 1));
            return Some((name, entry.mock.responder.clone()));
        }
        None
    }

    pub(crate) fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A running mock FTP server. Dropping it stops the server (and verifies mock expectations
/// unless the thread is already panicking).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use ftpspec_mock::MockServer;
/// let server = MockServer::builder().file("/hello.txt", "Hello\n").start().await.unwrap();
/// assert!(server.url().starts_with("ftp://127.0.0.1:"));
/// # }
/// ```
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// A builder for a configured server.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts a server with default settings on `127.0.0.1`, any port.
    ///
    /// # Panics
    /// If the server cannot start (use [`MockServer::builder`] to get the error instead).
    pub async fn start() -> MockServer {
        Self::builder()
            .start()
            .await
            .expect("ftpspec-mock failed to start")
    }

    /// Starts a server from a checked configuration.
    pub async fn start_with(mut cfg: Config) -> Result<MockServer, Error> {
        // Re-check in case the configuration was built on another thread than this one.
        cfg.in_netns = crate::safety::in_ftpspec_netns();
        crate::config::check_safety(&cfg)?;
        let std_listener = match cfg.listener.take() {
            Some(l) => l,
            None => std::net::TcpListener::bind(cfg.bind).map_err(|error| Error::Bind {
                addr: cfg.bind,
                error,
            })?,
        };
        let addr = std_listener.local_addr().map_err(|error| Error::Bind {
            addr: cfg.bind,
            error,
        })?;
        std_listener
            .set_nonblocking(true)
            .map_err(|error| Error::Bind { addr, error })?;
        let mocks = cfg
            .mocks
            .drain(..)
            .map(|mock| MockEntry { mock, hits: 0 })
            .collect();
        let vfs = std::mem::take(&mut cfg.vfs);
        let shared = Arc::new(Shared {
            cfg,
            started: Instant::now(),
            log: Mutex::default(),
            mocks: Mutex::new(mocks),
            vfs: Mutex::new(vfs),
            sessions: AtomicUsize::new(0),
            next_session: AtomicU64::new(0),
            pasv_cursor: AtomicU32::new(0),
            upload_used: AtomicU64::new(0),
        });
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), Error>>();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("ftpspec-mock-{}", addr.port()))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(Error::Thread(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(error) => {
                            let _ = ready_tx.send(Err(Error::Bind { addr, error }));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    accept_loop(listener, thread_shared, shutdown_rx).await;
                });
                rt.shutdown_timeout(Duration::from_secs(2));
            })
            .map_err(Error::Thread)?;
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(Error::Thread(std::io::Error::other(
                    "server thread exited during start",
                )))
            }
        }
        Ok(MockServer {
            shared,
            addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// The control listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ftp://HOST:PORT` (IPv6 hosts in brackets), without a trailing slash; `ftps://` for
    /// implicit FTPS (curl's and lftp's scheme for it).
    pub fn url(&self) -> String {
        let implicit = self
            .shared
            .cfg
            .tls
            .as_ref()
            .is_some_and(|t| t.settings.mode() == crate::tls::FtpsMode::Implicit);
        let scheme = if implicit { "ftps" } else { "ftp" };
        format!("{scheme}://{}", self.addr)
    }

    /// The certificates of an FTPS server (the CA to trust, a client certificate), or `None`
    /// without [`crate::Builder::ftps`].
    pub fn tls(&self) -> Option<&crate::tls::TlsMaterial> {
        self.shared.cfg.tls.as_ref().map(|t| &t.material)
    }

    /// A snapshot of the event log.
    pub fn events(&self) -> EventLog {
        lock(&self.shared.log).clone()
    }

    /// Clears the event log (e.g. between phases of a test).
    pub fn clear_events(&self) {
        *lock(&self.shared.log) = EventLog::default();
    }

    /// The content of an in-memory file (an upload, or one set up), or `None` if there is no
    /// such file. Generated files are not returned: use [`crate::generated::verify`].
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        match self.shared.vfs().read(&crate::vfs::resolve("/", path)) {
            Ok(Source::Memory(b)) => Some(b.to_vec()),
            _ => None,
        }
    }

    /// Mounts a mock on the running server (tried after those mounted before it).
    pub fn mount(&self, mock: Mock) {
        lock(&self.shared.mocks).push(MockEntry { mock, hits: 0 });
    }

    /// Control connections currently open.
    pub fn active_sessions(&self) -> usize {
        self.shared.sessions.load(Ordering::SeqCst)
    }

    /// Waits until no control connection is open, at most `timeout`; true if none is. A
    /// client that has exited can be ahead of the server's log of its session (the last
    /// reply, a failed handshake): wait before asserting on the end of [`MockServer::events`].
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.active_sessions() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.active_sessions() == 0
    }

    /// [`MockServer::wait_idle`] for code outside an async context (the server runs on its
    /// own thread, so blocking here does not stall it).
    pub fn wait_idle_blocking(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.active_sessions() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.active_sessions() == 0
    }

    /// Checks every mock's [`Mock::expect`]; on failure returns a message with the whole
    /// transcript.
    pub fn verify(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for (i, entry) in lock(&self.shared.mocks).iter().enumerate() {
            if let Some(times) = entry.mock.expect {
                if !times.contains(entry.hits) {
                    let name = entry
                        .mock
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("#{}", i + 1));
                    problems.push(format!(
                        "mock {name} was expected to match {times} times, matched {}",
                        entry.hits
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}\n\ntranscript:\n{}",
                problems.join("\n"),
                self.events().transcript()
            ))
        }
    }

    /// Panics with the transcript unless `check` holds for the event log.
    ///
    /// ```no_run
    /// # fn demo(server: &ftpspec_mock::MockServer) {
    /// server.assert(|log| log.verbs().contains(&"EPSV".to_string()), "the client sent EPSV");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert(&self, check: impl FnOnce(&EventLog) -> bool, what: &str) {
        let log = self.events();
        if !check(&log) {
            panic!("expected: {what}\n\ntranscript:\n{}", log.transcript());
        }
    }

    /// Stops the server and waits for its thread.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if !std::thread::panicking() {
            if let Err(message) = self.verify() {
                panic!("ftpspec-mock verification failed on drop: {message}");
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = shared.clone();
                    tokio::spawn(crate::session::run(shared, stream, peer));
                }
                Err(e) => {
                    // EMFILE and friends: the listener is fine, the process is out of something.
                    shared.log(0, EventKind::Warning { message: format!("accept failed: {e}") });
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}
