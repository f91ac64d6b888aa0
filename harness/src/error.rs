//! The crate's one error type.

use std::path::PathBuf;

/// What went wrong in ftpspec (not in a client under test: that is a verdict).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file (scenario, client file) is not valid; nothing was run.
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid {
        /// The file, or where the text came from (`catalogue:passive/x.toml`).
        origin: String,
        /// 1-based line (0 when not known).
        line: usize,
        /// 1-based column (0 when not known).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A file or directory could not be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// No scenario has this id.
    #[error("no scenario {id:?} in the catalogue (ftpspec list shows them)")]
    UnknownScenario {
        /// The id asked for.
        id: String,
    },
    /// No scenario matches the filters.
    #[error("no scenario matches {filters:?} (ftpspec list shows them)")]
    NoScenario {
        /// The id prefixes given.
        filters: Vec<String>,
    },
    /// An `--axis` or `--personality` argument is not valid.
    #[error("{arg}: {message}")]
    BadAxis {
        /// The flag and its argument (`--axis ip=5`).
        arg: String,
        /// What is wrong, with the valid axes or values.
        message: String,
    },
    /// No server personality has this name.
    #[error(
        "no personality {name:?}; the catalogue has {known} (or give a personality file's path)"
    )]
    UnknownPersonality {
        /// The name asked for.
        name: String,
        /// The catalogue's personalities, comma-separated.
        known: String,
    },
    /// A scenario's network cannot be built from its `[topology]`.
    #[error("{0}")]
    Topology(String),
    /// The simulated network failed.
    #[error(transparent)]
    Netns(#[from] ftpspec_netns::Error),
    /// The mock server failed to start.
    #[error(transparent)]
    Mock(#[from] ftpspec_mock::Error),
    /// Reading or writing results failed.
    #[error(transparent)]
    Report(#[from] ftpspec_report::Error),
    /// A server under test could not be rendered, started or reached (the message says
    /// which, with the tail of what it printed).
    #[error("{0}")]
    Server(String),
    /// Running a case failed for a reason of the machine's (a thread, a temporary file).
    #[error("{what}: {error}")]
    Os {
        /// What ftpspec was doing.
        what: &'static str,
        /// The OS error.
        error: std::io::Error,
    },
}

impl Error {
    /// [`Error::Invalid`] at a byte offset of a file's text.
    pub(crate) fn at(origin: &str, text: &str, offset: usize, message: String) -> Error {
        let (line, column) = line_col(text, offset);
        Error::Invalid {
            origin: origin.to_owned(),
            line,
            column,
            message,
        }
    }

    /// [`Error::Invalid`] at the key `key` of `text` ([`find_key`]): for what is found wrong
    /// after parsing.
    pub(crate) fn at_key(origin: &str, text: &str, key: &str, message: String) -> Error {
        let (line, column) = find_key(text, key);
        Error::Invalid {
            origin: origin.to_owned(),
            line,
            column,
            message,
        }
    }
}

/// Makes an I/O error at `path` ftpspec's [`Error::Io`]: `.map_err(io_at(&path))`.
pub(crate) fn io_at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |error| Error::Io { path, error }
}

/// `Result` with ftpspec's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The 1-based line and column of a byte offset, for errors in files.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    (
        before.matches('\n').count() + 1,
        before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
    )
}

/// The line and column of a key, for errors found after parsing.
pub(crate) fn find_key(text: &str, key: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with(key) && t[key.len()..].trim_start().starts_with(['=', ']']) {
            return (i + 1, line.len() - t.len() + 1);
        }
        if t.starts_with(&format!("[{key}")) || t.starts_with(&format!("[[{key}")) {
            return (i + 1, line.len() - t.len() + 1);
        }
    }
    (0, 0)
}

/// Parses a TOML file into `T`, with errors at file, line and column.
pub(crate) fn from_toml<T: serde::de::DeserializeOwned>(origin: &str, text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        Error::Invalid {
            origin: origin.to_owned(),
            line,
            column,
            message: e.message().to_owned(),
        }
    })
}
