//! ftpspec-mock: a scriptable mock FTP server for testing FTP clients.
//!
//! Start it on a free loopback port, point the client at [`MockServer::url`], then assert on
//! the [`EventLog`]: every command, reply and data connection, with addresses and byte counts.
//!
//! ```
//! use ftpspec_mock::script::{command, reply, Mock};
//! use ftpspec_mock::MockServer;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let server = MockServer::builder()
//!     .file("/hello.txt", "Hello\n")
//!     .mount(Mock::given(command("EPSV")).respond_with(reply(502, "EPSV not allowed")))
//!     .start()
//!     .await
//!     .unwrap();
//! // ... run an FTP client against server.url() ...
//! let log = server.events();
//! assert!(log.data_connections().iter().all(|c| c.local.ip().is_loopback()));
//! # }
//! ```
//!
//! - Files: an in-memory tree ([`Builder::file`], [`Builder::dir`], [`TreeSpec`]) and
//!   generated files of any size under `/gen` (see [`generated`]). Uploads are kept
//!   ([`MockServer::file`]), except under `/sink`, which sums (and for `/sink/gen/SIZE`
//!   checks) uploads of any size at constant memory (see [`sink`]).
//! - Network knobs: [`Builder::advertise`], [`Builder::pasv_ports`], [`Builder::epsv`],
//!   [`Builder::active_source`], [`Builder::active_source_addr`],
//!   [`Builder::allow_foreign_data_address`], [`Builder::data_ip_match`] (passive data
//!   connections only from the control connection's peer), [`Builder::data_rate`] (a
//!   throttle).
//! - Reply pacing: [`Builder::reply_byte_delay`] (every reply a byte at a time).
//! - Listings and names: [`Builder::list_format`] (Unix or DOS/IIS LIST lines),
//!   [`Builder::mlsd_style`] (standard or odd MLSx facts), [`Builder::name_encoding`]
//!   (UTF-8 or Latin-1 on the wire).
//! - FTPS: [`Builder::ftps`] with [`Ftps`] (explicit or implicit, PROT, CCC, session-reuse
//!   and client-certificate policies, tickets on data connections, single-use tickets, and
//!   close_notify on data connections required or omitted); [`MockServer::tls`] gives the
//!   certificates to trust.
//! - Scripting: [`script`] (Rust builders and the `[[script]]` TOML shape).
//! - Safety: outside a network namespace created by ftpspec, [`Builder::build`] refuses to
//!   advertise non-loopback addresses and the server refuses to connect to them (see [`safety`]).
//!
//! # Layout
//!
//! Modules in layers, as in mini-redis: each imports only from the layers listed before it,
//! so the crate's import graph has no cycle. One dependency points the other way, by design
//! and without an import: command handlers are `impl Session` blocks, so `session` dispatches
//! to methods that `commands/*` define.
//!
//! 1. Formats, records and the error type, depending on nothing else:
//!    - [`wire`]: PORT/PASV/EPRT/EPSV address formats;
//!    - [`generated`]: the content of `/gen` files;
//!    - [`sink`]: the checksum and check of uploads into `/sink`;
//!    - `encoding`: UTF-8 or Latin-1 names on the wire ([`NameEncoding`]);
//!    - [`control::codec`] (lines in), [`control::parser`] (a line to a command),
//!      [`control::reply`] (replies out);
//!    - `events`: the [`EventLog`] and its records;
//!    - `error`: the crate's one [`Error`] type and [`Result`].
//! 2. Domain rules: `vfs` (the in-memory file tree), [`safety`] (where the server may point or
//!    dial, and how a 227 reply is read), [`script`] (mocks, responders, the `[[script]]` TOML
//!    and the passive templates), `listing` (LIST and MLSx line formats).
//! 3. [`tls`]: FTPS policy ([`Ftps`]), the `[tls]` table, certificates and rustls setup, and
//!    the [`tls::RecordReader`] CCC needs.
//! 4. `config`: [`Config`] and its knobs, the [`Builder`] and the safety check of `build()`,
//!    the TOML models ([`ServerSpec`], [`TreeSpec`]), file trees from disk.
//! 5. `state` (what a running server shares: configuration, log, file tree, counters) and
//!    `mocks` (the mounted mocks and their hit counts).
//! 6. `control::conn`: one control connection's reader and shared writer, and the switches
//!    into and out of TLS.
//! 7. `datachan`: the plan for the next data connection and the transfer task that runs it.
//! 8. `session` (one control connection: read, match mocks, dispatch, queue during
//!    transfers) and `commands/*` (the handlers, one file per command family, each citing its
//!    RFC).
//! 9. `server`: the public [`MockServer`] handle, its thread and runtime, the accept loop,
//!    and [`Builder::start`] / [`Builder::start_blocking`].

mod commands;
mod config;
pub mod control;
mod datachan;
mod encoding;
mod error;
mod events;
pub mod generated;
mod listing;
mod mocks;
pub mod safety;
pub mod script;
mod server;
mod session;
pub mod sink;
mod state;
pub mod tls;
mod vfs;
pub mod wire;

pub use config::{
    parse_port_range, parse_rate, ActiveSource, Advertise, Builder, Config, FileSpec, ServerSpec,
    TreeSpec,
};
pub use control::reply::{LineEnding, Reply, ReplyCode};
pub use encoding::NameEncoding;
pub use error::{Error, Result};
pub use events::{
    Channel, ControlEnd, DataConnection, DataEnd, DataMode, Event, EventKind, EventLog, TlsInfo,
};
pub use listing::{ListFormat, MlsdStyle};
pub use server::MockServer;
pub use tls::{ClientAuth, Ftps, FtpsMode, TlsMaterial, TlsSpec, TlsVersion};
