//! The crate's one error type: why a server could not be configured or started. It lives in
//! its own module so that every layer (TLS, configuration, the server) can use it without
//! importing the layer that happens to return it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a server could not be configured or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An advertised or scripted address would send a client's traffic off the machine.
    #[error(
        "refusing to advertise {addr} ({what}): outside a network namespace created by ftpspec, \
         only loopback addresses are allowed, so no test sends traffic off this machine; \
         run the server inside an ftpspec topology (ftpspec-netns) to use other addresses"
    )]
    UnsafeAddress {
        /// The address.
        addr: IpAddr,
        /// Where it came from.
        what: String,
    },
    /// The passive port range is empty or includes port 0.
    #[error(
        "passive port range {min}-{max} is invalid: it must be non-empty and start at 1 or above"
    )]
    BadPortRange {
        /// Low end.
        min: u16,
        /// High end.
        max: u16,
    },
    /// A `[[script]]` entry (or a mock) makes no sense.
    #[error("script entry {index}{}: {message}", name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Script {
        /// Position in the `[[script]]` list, from 1.
        index: usize,
        /// The entry's `name`, if it has one.
        name: Option<String>,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A value is not one of those accepted (a command-line flag, a port range).
    #[error("{value:?} is not {expected}")]
    BadValue {
        /// The value as given.
        value: String,
        /// What it should have been.
        expected: &'static str,
    },
    /// Mocks did not match as often as they were expected to ([`crate::script::Mock::expect`]).
    #[error("{}\n\ntranscript:\n{transcript}", failures.join("\n"))]
    Unmet {
        /// One sentence per mock whose expectation is not met.
        failures: Vec<String>,
        /// The control-channel transcript of the whole run.
        transcript: String,
    },
    /// A TOML file could not be read or parsed.
    #[error("{}: {message}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A file tree could not be read from disk.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// Another configuration value is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The control listener could not be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        error: std::io::Error,
    },
    /// The server thread could not be started.
    #[error("cannot start the server thread: {0}")]
    Thread(std::io::Error),
}
