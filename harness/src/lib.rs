//! ftpspec: the FTP client conformance suite.
//!
//! This crate holds the `ftpspec` command line (`serve`, `lab`). The mock server it drives is the
//! [`ftpspec_mock`] crate, re-exported here as [`mock`]; the simulated networks are
//! [`ftpspec_netns`], re-exported as [`netns`].

pub use ftpspec_mock as mock;
pub use ftpspec_netns as netns;

pub mod clients;
pub mod lab;
pub mod results;
pub mod run;
pub mod runner;
pub mod scenario;
pub mod serve;
pub mod userns;

/// The README's examples, compiled as doctests so they stay true (here, where both
/// ftpspec-mock and ftpspec-netns are dependencies).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
