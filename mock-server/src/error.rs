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
    /// A key of a server file has a value that is not accepted.
    #[error("{key}: {source}")]
    Key {
        /// The key, e.g. `pasv_ports`.
        key: &'static str,
        /// What is wrong with its value.
        source: Box<Error>,
    },
    /// Two keys or settings that go together, one given without the other.
    #[error("{first} and {second} go together: give both or neither")]
    Together {
        /// One of them.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// A size such as `64K` or `1G` could not be read.
    #[error("{key} = {value:?} is not a size such as {example}")]
    BadSize {
        /// Where it was given, e.g. `upload_limit`.
        key: String,
        /// The text given.
        value: String,
        /// Sizes that would have been accepted.
        example: &'static str,
    },
    /// A path of the file tree is not allowed.
    #[error("{path:?}: {reason}")]
    BadPath {
        /// The path.
        path: String,
        /// Why not.
        reason: &'static str,
    },
    /// A directory copied from disk is too large to keep in memory.
    #[error(
        "{}: the tree is over 1 GiB; --root copies files into memory, so serve a smaller tree (use /gen/<size> for large downloads)",
        path.display()
    )]
    TreeTooLarge {
        /// The directory.
        path: PathBuf,
    },
    /// The longest control line accepted is too short to be useful.
    #[error("max_line {max_line} is too small (at least 16)")]
    MaxLineTooSmall {
        /// The value given.
        max_line: usize,
    },
    /// FTPS could not be set up: certificates, keys, rustls configuration.
    #[error("FTPS setup: {what}: {message}")]
    Tls {
        /// The part that failed, e.g. `certificate PEM`.
        what: &'static str,
        /// The library's message.
        message: String,
    },
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
