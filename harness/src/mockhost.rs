//! The mock server inside a topology host, for `ftpspec run` and `ftpspec lab`: the FTPS facts
//! a network needs (the control port, the names on the certificate, the CA file) and starting
//! the server on a thread in the host.

use std::path::{Path, PathBuf};

use ftpspec_mock::{Builder, MockServer};
use ftpspec_netns::{Host, Roles};

use crate::error::{io_at, Result};

/// The control port: 990 for implicit FTPS, 21 otherwise.
pub fn control_port(implicit_ftps: bool) -> u16 {
    if implicit_ftps {
        990
    } else {
        21
    }
}

/// The names the server's certificate carries: the address clients are given for the server,
/// its own address, and `localhost`.
pub fn cert_names(roles: Option<&Roles>) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(r) = roles {
        names.push(r.server_addr.to_string());
        if r.server_own_addr != r.server_addr {
            names.push(r.server_own_addr.to_string());
        }
    }
    names.push("localhost".into());
    names
}

/// Starts the server from a thread inside `host`, so that its listener and its own thread
/// live in the host's network namespace.
pub fn start_in(host: &Host, builder: Builder) -> Result<MockServer> {
    Ok(host.in_thread(move || builder.start_blocking())??)
}

/// Writes the server's test CA to `path` when it speaks FTPS; the path written, if any.
pub fn write_ca(server: &MockServer, path: &Path) -> Result<Option<PathBuf>> {
    let Some(tls) = server.tls() else {
        return Ok(None);
    };
    tls.write_ca_pem(path).map_err(io_at(path))?;
    Ok(Some(path.to_owned()))
}
