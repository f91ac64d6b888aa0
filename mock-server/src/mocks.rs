//! The mounted mocks of a running server and how often each matched (as wiremock-rs keeps its
//! `MountedMockSet` apart from the server): matching a line, and the expectation report that
//! [`crate::MockServer::verify`] turns into an error.

use crate::script::{Mock, Responder};

/// One mounted mock and its hit count.
struct Entry {
    /// The mock as mounted.
    mock: Mock,
    /// How many lines it has answered so far.
    hits: u64,
}

/// The mocks of one server, in mount order.
#[derive(Default)]
pub(crate) struct MountedMocks {
    /// Tried first to last; the first live match wins.
    entries: Vec<Entry>,
}

impl MountedMocks {
    /// Mounts mocks in order, after those mounted before.
    pub(crate) fn new(mocks: impl IntoIterator<Item = Mock>) -> Self {
        let mut set = MountedMocks::default();
        for mock in mocks {
            set.push(mock);
        }
        set
    }

    /// Mounts one more mock (tried after the others).
    pub(crate) fn push(&mut self, mock: Mock) {
        self.entries.push(Entry { mock, hits: 0 });
    }

    /// The first live mock matching the line, by name (or `#N`); counts the hit.
    pub(crate) fn match_line(&mut self, verb: &str, arg: &str) -> Option<(String, Responder)> {
        self.first_live(|mock| mock.matches(verb, arg))
    }

    /// The first live mock of the connection's opening ([`crate::script::greeting`]); counts
    /// the hit. Hits count over every connection: `times = 1` refuses only the first.
    pub(crate) fn match_greeting(&mut self) -> Option<(String, Responder)> {
        self.first_live(Mock::on_greeting)
    }

    /// The first mock that has not used up its `up_to_n_times` and that `fits`; counts the
    /// hit.
    fn first_live(&mut self, fits: impl Fn(&Mock) -> bool) -> Option<(String, Responder)> {
        for (i, entry) in self.entries.iter_mut().enumerate() {
            if entry.mock.limit.is_some_and(|l| entry.hits >= l) || !fits(&entry.mock) {
                continue;
            }
            entry.hits += 1;
            return Some((name(&entry.mock, i), entry.mock.responder.clone()));
        }
        None
    }

    /// One sentence per mock whose [`Mock::expect`] is not met; empty when all are.
    pub(crate) fn unmet(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, entry) in self.entries.iter().enumerate() {
            if let Some(times) = entry.mock.expect {
                if !times.contains(entry.hits) {
                    problems.push(format!(
                        "mock {} was expected to match {times} times, matched {}",
                        name(&entry.mock, i),
                        entry.hits
                    ));
                }
            }
        }
        problems
    }
}

/// A mock's name, or `#N` (from 1) by position.
fn name(mock: &Mock, index: usize) -> String {
    mock.name
        .clone()
        .unwrap_or_else(|| format!("#{}", index + 1))
}
