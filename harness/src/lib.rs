//! ftpspec: the FTP client conformance suite.
//!
//! This crate holds the `ftpspec` command line. The mock server it drives is the
//! [`ftpspec_mock`] crate, re-exported here as [`mock`].

pub use ftpspec_mock as mock;

pub mod serve;
