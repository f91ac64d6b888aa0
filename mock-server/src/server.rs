//! The test-facing handle of a running server ([`MockServer`]), how it starts (its own OS
//! thread and tokio runtime, so dropping it never deadlocks a test on a current-thread
//! runtime) and the accept loop.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::{check_safety, Builder, Config};
use crate::error::{Error, Result};
use crate::events::{EventKind, EventLog};
use crate::mocks::MountedMocks;
use crate::script::Mock;
use crate::state::Shared;
use crate::vfs::Source;

impl Builder {
    /// Builds and starts the server.
    pub async fn start(self) -> Result<MockServer> {
        MockServer::start_with(self.build()?).await
    }

    /// Builds and starts the server without an async runtime: for code outside one, such as
    /// a thread that has entered a network namespace (the server's own thread is spawned from
    /// the calling thread, so it runs in the same namespace).
    ///
    /// ```
    /// let server = ftpspec_mock::MockServer::builder().start_blocking().unwrap();
    /// assert!(server.url().starts_with("ftp://127.0.0.1:"));
    /// ```
    ///
    /// # Panics
    /// When called from inside an async runtime (it would block it): use [`Builder::start`]
    /// there.
    pub fn start_blocking(self) -> Result<MockServer> {
        assert!(
            tokio::runtime::Handle::try_current().is_err(),
            "Builder::start_blocking() was called inside an async runtime, which it would block: use `.start().await` there"
        );
        let (server, ready) = MockServer::launch(self.build()?)?;
        server.started(ready.blocking_recv())
    }
}

/// What the server thread reports once it serves, or why it could not start.
type Report = std::result::Result<Result<()>, oneshot::error::RecvError>;

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
    /// The state the server thread shares with this handle.
    shared: Arc<Shared>,
    /// The control listener's address.
    addr: SocketAddr,
    /// Stops the accept loop (taken when sent).
    shutdown: Option<oneshot::Sender<()>>,
    /// The server's own thread, with its runtime.
    thread: Option<std::thread::JoinHandle<()>>,
    /// False only for a server whose thread failed to start.
    verify_on_drop: bool,
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
    pub async fn start_with(cfg: Config) -> Result<MockServer> {
        let (server, ready) = Self::launch(cfg)?;
        server.started(ready.await)
    }

    /// Binds the control listener and spawns the server thread, which reports on the
    /// receiver whether it serves.
    fn launch(mut cfg: Config) -> Result<(MockServer, oneshot::Receiver<Result<()>>)> {
        // Re-check in case the configuration was built on another thread than this one.
        cfg.in_netns = crate::safety::in_ftpspec_netns();
        check_safety(&cfg)?;
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
        let mocks = MountedMocks::new(cfg.mocks.drain(..));
        let vfs = std::mem::take(&mut cfg.vfs);
        let shared = Arc::new(Shared::new(cfg, vfs, mocks));
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let (ready_tx, ready) = oneshot::channel::<Result<()>>();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("ftpspec-mock-{}", addr.port()))
            .spawn(move || serve_thread(std_listener, addr, thread_shared, shutdown_rx, ready_tx))
            .map_err(Error::Thread)?;
        let server = MockServer {
            shared,
            addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            verify_on_drop: true,
        };
        Ok((server, ready))
    }

    /// The server, once its thread reported that it serves.
    fn started(mut self, report: Report) -> Result<MockServer> {
        let error = match report {
            Ok(Ok(())) => return Ok(self),
            Ok(Err(e)) => e,
            Err(_) => Error::Thread(std::io::Error::other("server thread exited during start")),
        };
        // The thread has ended: let it go, as a server that never ran has nothing to verify.
        self.verify_on_drop = false;
        self.thread.take();
        Err(error)
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

    /// The TLS secrets of the server's sessions so far as NSS key log lines
    /// (`CLIENT_RANDOM ...`, what Wireshark's key log file holds), or `None` without
    /// [`crate::Builder::ftps`]. With them a capture of the run decrypts.
    pub fn tls_key_log(&self) -> Option<String> {
        self.shared.cfg.tls.as_ref().map(|t| t.key_log.text())
    }

    /// A snapshot of the event log.
    pub fn events(&self) -> EventLog {
        self.shared.events()
    }

    /// Clears the event log (e.g. between phases of a test).
    pub fn clear_events(&self) {
        self.shared.clear_events();
    }

    /// The content of an in-memory file (an upload, or one set up), or `None` if there is no
    /// such file. Generated files are not returned: use [`crate::generated::verify`].
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        match self.shared.vfs().read(&crate::vfs::resolve("/", path)) {
            Ok(Source::Memory(b)) => Some(b.to_vec()),
            _ => None,
        }
    }

    /// Bytes of file content the server holds in memory: the files set up and the uploads
    /// kept. Generated files (`/gen`) and uploads into the sink (`/sink`) hold none.
    pub fn bytes_held(&self) -> u64 {
        self.shared.vfs().bytes_held()
    }

    /// Mounts a mock on the running server (tried after those mounted before it).
    pub fn mount(&self, mock: Mock) {
        self.shared.mount(mock);
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

    /// Checks every mock's [`Mock::expect`]; on failure, [`Error::Unmet`] with the whole
    /// transcript (its message lists the mocks, then the transcript).
    pub fn verify(&self) -> Result<()> {
        let failures = self.shared.unmet_expectations();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Error::Unmet {
                failures,
                transcript: self.events().transcript(),
            })
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
        if self.verify_on_drop && !std::thread::panicking() {
            if let Err(message) = self.verify() {
                panic!("ftpspec-mock verification failed on drop: {message}");
            }
        }
    }
}

/// The server thread: its own runtime, so dropping the handle never deadlocks a test on a
/// current-thread runtime.
fn serve_thread(
    std_listener: std::net::TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: oneshot::Receiver<()>,
    ready: oneshot::Sender<Result<()>>,
) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(Error::Thread(e)));
            return;
        }
    };
    rt.block_on(async move {
        let listener = match TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(error) => {
                let _ = ready.send(Err(Error::Bind { addr, error }));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        accept_loop(listener, shared, shutdown).await;
    });
    rt.shutdown_timeout(Duration::from_secs(2));
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
