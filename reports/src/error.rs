//! The crate's one error type.

use std::path::{Path, PathBuf};

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
    /// Not JSON at all.
    #[error("{}not JSON: {error}", at(path))]
    NotJson {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// The parser's error.
        error: serde_json::Error,
    },
    /// A `results.json` of another schema version.
    #[error("{}schema {found}; this ftpspec reads schema {reads}", at(path))]
    Schema {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// The version found.
        found: u64,
        /// The version this ftpspec reads.
        reads: u32,
    },
    /// JSON without a `schema` field.
    #[error("{}no \"schema\" field: not an ftpspec results.json", at(path))]
    NoSchema {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
    },
    /// JSON, but not the shape of ftpspec results.
    #[error("{}not ftpspec results: {error}", at(path))]
    NotResults {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// The parser's error.
        error: serde_json::Error,
    },
}

fn at(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

impl Error {
    /// The same error, said of a file.
    pub(crate) fn in_file(mut self, file: &Path) -> Error {
        match &mut self {
            Error::NotJson { path, .. }
            | Error::Schema { path, .. }
            | Error::NoSchema { path }
            | Error::NotResults { path, .. } => *path = Some(file.to_owned()),
            Error::Io { .. } => {}
        }
        self
    }
}
