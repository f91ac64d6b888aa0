//! Errors of ftpspec-netns.

use std::path::PathBuf;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A topology file or value is wrong (nothing was created).
    #[error("{origin}:{line}:{column}: {message}")]
    Spec {
        /// The file (or a description of where the text came from).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// No preset has this name.
    #[error("unknown preset {name:?}; the presets are: {known}")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The presets' names, comma-separated.
        known: String,
    },
    /// A topology is wrong in a way not tied to one place in a file.
    #[error("invalid topology: {0}")]
    Invalid(String),
    /// A file could not be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// Not privileged enough to create network namespaces.
    #[error("{0}")]
    NotPermitted(String),
    /// A tool the crate runs is missing.
    #[error("`{tool}` not found: install it (Debian: apt-get install {package}); ftpspec-netns needs it to {purpose}")]
    MissingTool {
        /// The program.
        tool: &'static str,
        /// The Debian package that has it.
        package: &'static str,
        /// What it is used for.
        purpose: &'static str,
    },
    /// A program could not be started.
    #[error("cannot run {program}: {error}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// A setup command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Entering a namespace or changing it failed.
    #[error("namespace {namespace}: {what}: {error}")]
    Namespace {
        /// The namespace.
        namespace: String,
        /// What was being done.
        what: &'static str,
        /// The OS error.
        error: std::io::Error,
    },
    /// A command run inside a host did not finish in time (it was killed).
    #[error("`{command}` in host {host} did not finish within {timeout:?}; it was killed")]
    Timeout {
        /// The host.
        host: String,
        /// The command line.
        command: String,
        /// The limit.
        timeout: std::time::Duration,
    },
    /// An observation could not be read or understood.
    #[error("cannot read the observations of host {host}: {message}")]
    Observe {
        /// The host.
        host: String,
        /// Why.
        message: String,
    },
}
