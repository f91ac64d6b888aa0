//! The state a running server shares between its accept loop, every session, every transfer
//! task and the test-facing [`crate::MockServer`] handle. Handlers use this module, never the
//! server that owns it.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::config::Config;
use crate::events::{Event, EventKind, EventLog};
use crate::mocks::MountedMocks;
use crate::script::Responder;
use crate::vfs::Vfs;

/// Locks a mutex, ignoring poisoning: a panic while holding one of these locks cannot leave the
/// data half-written in a way that matters for a test server, so it keeps serving.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// State shared by the accept loop, every session and the test-facing handle.
pub(crate) struct Shared {
    /// The checked configuration (its file tree and mocks moved out into the fields below).
    pub(crate) cfg: Config,
    /// When the server started: event times are measured from here.
    started: Instant,
    /// Everything that happened, up to `cfg.max_events` (later events are counted as dropped).
    log: Mutex<EventLog>,
    /// The mounted mocks and their hit counts.
    mocks: Mutex<MountedMocks>,
    /// The file tree: files set up, generated files, uploads.
    vfs: Mutex<Vfs>,
    /// Control connections open now.
    pub(crate) sessions: AtomicUsize,
    /// The last session id handed out (ids start at 1; 0 is the server itself).
    next_session: AtomicU64,
    /// Where the next passive listener starts looking in `cfg.pasv_ports` (round robin).
    pub(crate) pasv_cursor: AtomicU32,
    /// Bytes of uploads kept in memory so far, against `cfg.upload_limit`.
    pub(crate) upload_used: AtomicU64,
}

impl Shared {
    /// The state of a server about to start, with its file tree and mocks.
    pub(crate) fn new(cfg: Config, vfs: Vfs, mocks: MountedMocks) -> Shared {
        Shared {
            cfg,
            started: Instant::now(),
            log: Mutex::default(),
            mocks: Mutex::new(mocks),
            vfs: Mutex::new(vfs),
            sessions: AtomicUsize::new(0),
            next_session: AtomicU64::new(0),
            pasv_cursor: AtomicU32::new(0),
            upload_used: AtomicU64::new(0),
        }
    }

    /// Logs an event of `session` (0: the server itself), and traces it.
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

    /// A snapshot of the event log.
    pub(crate) fn events(&self) -> EventLog {
        lock(&self.log).clone()
    }

    /// Empties the event log.
    pub(crate) fn clear_events(&self) {
        *lock(&self.log) = EventLog::default();
    }

    /// The file tree, locked.
    pub(crate) fn vfs(&self) -> MutexGuard<'_, Vfs> {
        lock(&self.vfs)
    }

    /// The first live mock matching the line; counts the hit.
    pub(crate) fn match_mock(&self, verb: &str, arg: &str) -> Option<(String, Responder)> {
        lock(&self.mocks).match_line(verb, arg)
    }

    /// The first live mock of the connection's opening; counts the hit.
    pub(crate) fn match_greeting(&self) -> Option<(String, Responder)> {
        lock(&self.mocks).match_greeting()
    }

    /// Mounts a mock after those mounted before.
    pub(crate) fn mount(&self, mock: crate::script::Mock) {
        lock(&self.mocks).push(mock);
    }

    /// The mocks whose expectations are not met, one sentence each.
    pub(crate) fn unmet_expectations(&self) -> Vec<String> {
        lock(&self.mocks).unmet()
    }

    /// A new session id.
    pub(crate) fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed) + 1
    }
}
