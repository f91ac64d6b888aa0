//! The crate's errors.

use std::path::PathBuf;

/// Reading or writing a run's files failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// A file is not an ftpspec `results.json` this version reads.
    #[error("{}: {error}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: ParseError,
    },
}

/// Why a text is not a `results.json` this version reads.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// Another schema version.
    #[error("schema {found}; this ftpspec reads schema {reads}")]
    Schema {
        /// The version found.
        found: u64,
        /// The version this ftpspec reads.
        reads: u32,
    },
    /// No `schema` field.
    #[error("no \"schema\" field: not an ftpspec results.json")]
    NoSchema,
    /// JSON, but not the shape of ftpspec results.
    #[error("not ftpspec results: {0}")]
    NotResults(serde_json::Error),
}
