//! ftpspec-netns: simulated networks from real Linux parts. Each host is a network
//! namespace, each link a veth pair, each NAT or firewall an nftables ruleset, and the smart
//! firewall the kernel's conntrack FTP helper. Nothing leaves the namespaces, and the host's
//! own namespace, routes, sysctls and ruleset are never touched.
//!
//! ```no_run
//! use ftpspec_netns::{PresetName, PresetOptions, Topology};
//! # async fn demo() -> Result<(), ftpspec_netns::Error> {
//! let preset = PresetName::ServerNat.build(&PresetOptions::default())?;
//! let topo = Topology::build(&preset.spec)?;
//! let client = topo.host(&preset.roles.client).unwrap();
//! let out = client.run(&["ping", "-c1", "-W1", &preset.roles.server_addr.to_string()],
//!     std::time::Duration::from_secs(5)).await?;
//! assert!(out.status.success());
//! for attempt in topo.attempts()? {
//!     println!("{attempt}"); // e.g. "nat: 203.0.113.10 -> 10.0.0.2:50007 dropped"
//! }
//! topo.destroy()?;
//! # Ok(()) }
//! ```
//!
//! - [`TopologySpec`]: hosts, links, addresses (IPv4 and IPv6), routes, forwarding, nftables
//!   rulesets; from Rust or TOML, checked before anything is created.
//! - [`PresetName`]: `direct`, `server-nat`, `server-nat-no-range`, `client-nat`,
//!   `client-nat-pooled` (a new public address per connection, in turn), `both-nat`,
//!   `server-smart-firewall`, `client-smart-firewall`, `client-strict-firewall`, `direct-v6`,
//!   `client-strict-firewall-v6`, `lan-balancer`, each with an optional decoy host, a NAT idle
//!   timeout ([`PresetOptions::nat_idle_timeout_secs`]) and a second server address
//!   ([`PresetOptions::server_second_addr`]).
//! - Switches ([`HostSpec::switch`]) put several hosts on one LAN; an idle timeout
//!   ([`HostSpec::idle_timeout_secs`]) makes a router forget idle TCP connections.
//! - [`Host::run`] (a child process) and [`Host::spawn`] / [`Host::in_thread`] (Rust code on a
//!   thread of its own) run things inside a host.
//! - [`Topology::attempts`]: the connections each router forwarded or dropped, those that
//!   reached a decoy, and (`client-nat-pooled`) the public address each connection was given,
//!   as data.
//! - [`Topology::diagnostics`]: a bundle for a person reading a failure: each router's
//!   nftables ruleset and conntrack table (with the FTP helper's entries and expectations),
//!   each host's TCP sockets, labelled, bounded in size and time.
//! - [`Topology::start_capture`]: a packet capture of every interface (`host:link`, one
//!   clock), written as pcapng with the TLS keys in a Decryption Secrets Block
//!   ([`Recording::to_pcapng`]), so Wireshark shows FTPS decrypted with no set-up.
//! - Lifecycle: unique names (`ftpspec-<pid>-<n>-<host>`), teardown on drop and on error,
//!   [`teardown_all`] for signal handlers, [`sweep`] for what a killed process left (run
//!   before every build), and `FTPSPEC_KEEP=1` to keep a topology for debugging.
//!
//! Needs root, `ip` (iproute2) and `nft` (nftables); the diagnostics also use `ss` (iproute2)
//! and `conntrack` (conntrack), and say so when one is missing.

mod capture;
mod diagnostics;
mod error;
mod pcapng;
pub mod presets;
pub mod spec;
mod topology;

pub use capture::{Capture, CaptureLimits, Recording};
pub use diagnostics::{Diagnostics, DiagnosticsLimits, Part};
pub use error::Error;
pub use presets::{Preset, PresetName, PresetOptions, Roles, POOLED_PUBLIC_ADDRS};
pub use spec::{HostSpec, LinkEnd, LinkSpec, RouteSpec, TopologySpec};
pub use topology::{
    live_topologies, sweep, teardown_all, Attempt, AttemptOutcome, Captured, Host, HostThread,
    Topology, PREFIX,
};
