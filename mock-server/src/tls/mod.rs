//! FTPS (RFC 2228, RFC 4217): the [`Ftps`] policy knobs (`policy`), the `[tls]` table
//! ([`TlsSpec`]), the generated test PKI and rustls configurations (`setup`), each control
//! connection's session cache and ticket key (`sessions`), and [`RecordReader`] for CCC
//! (`record`).

mod policy;
mod record;
mod sessions;
mod setup;
mod spec;

pub use policy::{ClientAuth, Ftps, FtpsMode, TlsVersion};
pub use record::RecordReader;
pub use setup::{generate_identity, version_name, GeneratedIdentity, TlsMaterial};
pub use spec::TlsSpec;

pub(crate) use record::is_tls_record_start;
pub(crate) use sessions::TicketCount;
pub(crate) use setup::{describe, SessionConfigs, TlsSetup};
