//! ftpspec-report: what an ftpspec run produces and how people read it.
//!
//! - [`RunResults`]: the `results.json` schema ([`SCHEMA`]), documented in [`model`].
//! - [`html::html`]: one self-contained `index.html`: counts per client, the matrix of
//!   clients x scenarios grouped by scenario group (colour and a word in every cell),
//!   filters by verdict, client and group that work opened from disk, and a detail view per
//!   case with the topology drawn as SVG (what the client tried, what was dropped where), the
//!   control-connection transcript, the data connections, the client's command and output.
//!   With a baseline, changed cells are marked and regressions listed first. Each case's
//!   detail is stored compressed ([`html::pack`]) and unpacked by the page when it opens.
//! - [`ladder`]: a case's ladder diagram (lanes per host, commands, replies, TLS, data
//!   connections and drops in time order), drawn from the event log and routers' records.
//! - [`coverage::coverage`]: what the scenarios' references cite (RFC sections, CVEs, issues,
//!   documentation), the scenarios that cite each and how the clients fared; the report's
//!   coverage section, computed from the results.
//! - [`junit::junit`]: JUnit XML, one testsuite per client.
//! - [`diff::diff`]: regressions and improvements between two runs.
//! - [`paths`]: where per-case files (the diagnostics bundles) go in the results directory.
//! - [`merge::merge`]: several runs of disjoint cases (`--partition` jobs) joined into one.
//!
//! Everything from a client's output or the wire is escaped (maud escapes all interpolated
//! text), control characters are made visible, and long output is cut with a note.

pub mod coverage;
pub mod diff;
mod error;
mod files;
pub mod html;
pub mod junit;
pub mod ladder;
pub mod merge;
pub mod model;
pub mod paths;
pub mod text;

pub use diff::{diff, Change, Diff};
pub use error::Error;
pub use merge::{merge, MergeError};
pub use model::{
    Attempt, AttemptOutcome, CaseResult, CaseRole, ClientInfo, HostSummary, LinkSummary, MergedRun,
    NetworkSummary, Observations, Role, RunOutcome, RunResults, Timing, Verdict, SCHEMA,
};
