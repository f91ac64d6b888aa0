//! Session resumption state of one control connection: its session cache and TLS 1.3
//! ticket key, wrapped to count the tickets issued (for [`crate::TlsInfo::tickets_sent`]) and,
//! under [`crate::Ftps::single_use_tickets`], to let each session or ticket resume one
//! handshake only.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};

/// How many tickets (stateless) or stored sessions (stateful) a control connection's
/// configurations have issued so far. A handshake's tickets are the difference across it: one
/// control connection runs one handshake at a time (AUTH waits for a running transfer).
#[derive(Debug, Clone, Default)]
pub(crate) struct TicketCount(Arc<AtomicU32>);

impl TicketCount {
    /// The count so far.
    pub(crate) fn now(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }

    fn add(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A session cache that counts what it stores and, when `single_use`, forgets a session as
/// soon as it is looked up. rustls already `take()`s stateful TLS 1.3 tickets (RFC 8446
/// §8.1), but looks TLS 1.2 session IDs up with `get()`, which would let one ID resume any
/// number of handshakes; a resumed TLS 1.2 handshake is not stored again, so removing on
/// `get()` makes IDs single-use too.
#[derive(Debug)]
pub(crate) struct SessionCache {
    /// The sessions, by ID or stateful ticket.
    cache: Arc<ServerSessionMemoryCache>,
    /// Forget a session once it has been looked up.
    single_use: bool,
    /// Counts stored sessions (with TLS 1.3, each is a ticket sent).
    issued: TicketCount,
}

impl SessionCache {
    pub(crate) fn new(size: usize, single_use: bool, issued: TicketCount) -> Arc<Self> {
        Arc::new(SessionCache {
            cache: ServerSessionMemoryCache::new(size),
            single_use,
            issued,
        })
    }
}

impl StoresServerSessions for SessionCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let stored = self.cache.put(key, value);
        if stored {
            self.issued.add();
        }
        stored
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        if self.single_use {
            self.cache.take(key)
        } else {
            self.cache.get(key)
        }
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.cache.take(key)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// A ticket key that counts the tickets it seals; `None` inside: no stateless tickets (the
/// session cache holds them instead).
#[derive(Debug)]
pub(crate) struct Ticketer {
    /// The key, rotated by rustls; `None`: disabled.
    inner: Option<Arc<dyn ProducesTickets>>,
    /// Counts sealed tickets.
    issued: TicketCount,
}

impl Ticketer {
    /// A fresh ticket key, or a disabled one (`stateless` false).
    pub(crate) fn new(
        stateless: bool,
        issued: TicketCount,
    ) -> Result<Arc<Ticketer>, rustls::Error> {
        let inner = if stateless {
            Some(rustls::crypto::ring::Ticketer::new()?)
        } else {
            None
        };
        Ok(Arc::new(Ticketer { inner, issued }))
    }
}

impl ProducesTickets for Ticketer {
    fn enabled(&self) -> bool {
        self.inner.as_ref().is_some_and(|t| t.enabled())
    }

    fn lifetime(&self) -> u32 {
        self.inner.as_ref().map_or(0, |t| t.lifetime())
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let ticket = self.inner.as_ref()?.encrypt(plain)?;
        self.issued.add();
        Some(ticket)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.inner.as_ref()?.decrypt(cipher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_sessions_are_forgotten_on_lookup() {
        let count = TicketCount::default();
        let reusable = SessionCache::new(8, false, count.clone());
        let single = SessionCache::new(8, true, count.clone());
        for cache in [&reusable, &single] {
            assert!(cache.put(b"id".to_vec(), b"session".to_vec()));
        }
        assert_eq!(count.now(), 2);
        assert_eq!(reusable.get(b"id").as_deref(), Some(&b"session"[..]));
        assert_eq!(reusable.get(b"id").as_deref(), Some(&b"session"[..]));
        assert_eq!(single.get(b"id").as_deref(), Some(&b"session"[..]));
        assert_eq!(single.get(b"id"), None);
        assert_eq!(reusable.take(b"id").as_deref(), Some(&b"session"[..]));
        assert_eq!(reusable.take(b"id"), None);
    }

    #[test]
    fn the_ticketer_counts_and_can_be_off() {
        let count = TicketCount::default();
        let on = Ticketer::new(true, count.clone()).unwrap();
        let sealed = on.encrypt(b"plain").unwrap();
        assert_eq!(on.decrypt(&sealed).as_deref(), Some(&b"plain"[..]));
        assert_eq!(count.now(), 1);
        let off = Ticketer::new(false, count.clone()).unwrap();
        assert!(!off.enabled());
        assert_eq!(off.encrypt(b"plain"), None);
        assert_eq!(count.now(), 1);
    }
}
