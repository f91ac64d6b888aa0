//! Scenario files: one TOML file per case, `scenarios/<group>/<name>.toml`, the id being the
//! path without `.toml`. The catalogue ships in the `ftpspec-scenarios` crate; a user's own
//! directory can add to it or replace cases (same id). Every key is typed: a wrong key or
//! value is an error at its file, line and column.
//!
//! ```toml
//! title = "Server behind NAT advertises its private address"
//! requirement = "A client must not connect to an unroutable 227 address ..."
//! references = ["RFC 1123 §4.1.2.6", "curl CVE-2020-8284"]
//! informational = false        # true: record the behaviour, no pass or fail
//! timeout_secs = 30            # the client is killed after this long
//! axes = ["tls", "ip"]         # rerun on these axes with `ftpspec run --axis` (see variant)
//!
//! [topology]                   # a preset and its options (see ftpspec-netns)
//! preset = "server-nat"
//! decoy = false
//!
//! [server]                     # the ftpspec-mock server file: advertise, epsv, [[script]], [tls]
//! personality = "iis-like"     # optional: a server personality under the keys given here
//! epsv = false
//!
//! [client]
//! action = "download"          # list | download | upload | session | mirror
//! path = "/gen/64K"            # a mirror's path is a directory of the [server] tree
//! resume_offset = 400000       # download: start from a partial local file this long
//! mode = "passive"             # passive | active
//! settings = ["disable_epsv"]  # what the case needs the client to be told (e.g. resume,
//!                              # ascii, keepalive)
//!
//! [expect]                     # checks on observations; all must hold for a pass
//! transfer = "ok"              # ok | failed
//! data_via_control_address = true   # flags take only `true`
//! ```
//!
//! The `server/` group holds cases for servers under test (`ftpspec run --server`), with a
//! shape of their own: see [`server`].

pub mod axis;
mod expect;
mod file;
mod load;
mod network;
pub mod personality;
pub mod server;
pub mod transcript;
pub mod variant;

pub use expect::{Expect, Flag, TransferOutcome};
pub use file::{
    Action, ClientTask, Mode, PortRange, Scenario, ScenarioFile, Setting, Size, Step, TopologyFile,
};
pub use load::{catalogue, load_dir, parse, select};
pub use network::Network;
pub use personality::Personality;
pub use variant::{base_id, expand, Axes};
