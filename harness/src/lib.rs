//! ftpspec: the FTP client conformance suite.
//!
//! Real FTP clients against ftpspec's scriptable mock server ([`ftpspec_mock`], re-exported
//! as [`mock`]), inside simulated networks ([`ftpspec_netns`], re-exported as [`netns`]),
//! judged from what the server and the routers recorded; the catalogue of cases is the
//! `ftpspec-scenarios` crate, results and reports are [`ftpspec_report`].
//!
//! From `cargo test` in a client project: [`run_scenario`] and [`run_catalogue`] with a
//! [`Client`] (built in, a client file, a closure or your own [`clients::ClientAdapter`]).
//!
//! # Layout
//!
//! Each module uses only those listed before it:
//!
//! - `error`: the crate's [`Error`] and [`Result`].
//! - `template`: `{word}` placeholders in client and server files, expanded in one pass.
//! - [`probe`]: ftpspec's own scripted FTP client, which drives a server under test and
//!   records its replies, data connections and TLS (uses `error` and ftpspec-mock only).
//! - [`local`]: the client's local files: the partial file a resume starts from; whether a
//!   download (whole, resumed, ASCII text) or a mirrored tree is what the server served.
//! - [`servers`]: servers under test: server files, the built-in adapters (vsftpd,
//!   proftpd, pure-ftpd, pyftpdlib), closures; starting and stopping one in a host.
//! - [`scenario`]: scenario files (typed, checked at load) and their networks; the catalogue.
//! - [`quarantine`]: the quarantine file: cases whose verdicts do not count.
//! - [`clients`]: the [`clients::ClientAdapter`] trait, one file per built-in client, client
//!   files and closures.
//! - [`evidence`]: what a case saw, typed (event log, router records, the client's end).
//! - [`verdict`]: one check per `[expect]` key, and the verdict from the evidence.
//! - [`mockhost`]: the mock server inside a topology host (FTPS port, certificate names).
//! - [`capture`]: packet captures of a case or a lab session, with the TLS keys inside.
//! - [`case`]: one case, from network to verdict.
//! - [`server_case`]: one server case: the server under test in the server host, the probe
//!   in the client host.
//! - [`partition`]: `--partition hash:K/N` and `count:K/N`, one share of a run's cases.
//! - [`matrix`]: scenarios x clients, a few at a time, repeated and shuffled as planned; the
//!   `cargo test` API.
//! - [`results`]: the results files (from ftpspec-report).
//! - [`userns`], [`serve`], [`lab`], [`cli`]: the `ftpspec` command line.

pub use ftpspec_mock as mock;
pub use ftpspec_netns as netns;

mod error;
mod template;

pub mod capture;
pub mod case;
pub mod cli;
pub mod clients;
pub mod evidence;
pub mod lab;
pub mod local;
pub mod matrix;
pub mod mockhost;
pub mod partition;
pub mod probe;
pub mod quarantine;
pub mod results;
pub mod scenario;
pub mod schedule;
pub mod serve;
pub mod server_case;
pub mod servers;
pub mod userns;
pub mod verdict;

pub use clients::{Client, Target};
pub use error::{Error, Result};
pub use ftpspec_report::{CaseResult, Observations, Verdict};
pub use matrix::{
    run_cases, run_catalogue, run_matrix, run_plan, run_scenario, run_server_catalogue,
    run_server_scenario, Cases, Order, Plan, Progress,
};

/// The README's examples, compiled as doctests so they stay true (here, where both
/// ftpspec-mock and ftpspec-netns are dependencies).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
