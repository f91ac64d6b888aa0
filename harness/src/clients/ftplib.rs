//! Python's ftplib, through a small script shipped in the crate (`ftplib_client.py`).

use super::adapter::{s, version_line, ClientAdapter, Invocation, Launch, Target};
use crate::scenario::{Action, Mode, Setting};

const SCRIPT: &str = include_str!("scripts/ftplib_client.py");

/// Python's ftplib.
pub struct Ftplib;

impl Ftplib {
    /// Its name in results.
    pub const NAME: &'static str = "python-ftplib";
}

impl ClientAdapter for Ftplib {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("python3".into())
    }
    fn version(&self) -> String {
        version_line(&["python3", "--version"])
    }
    fn actions(&self) -> Vec<Action> {
        Action::ALL.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // ftplib ignores the 227 address by default (trust_server_pasv_ipv4_address = False).
        use Setting::*;
        vec![DisableEpsv, DisableEprt, ForcePasvIp, FtpsExplicit, Ccc]
    }
    fn launch(&self, t: &Target) -> Launch {
        let mut flags = Vec::new();
        for (on, flag) in [
            (t.mode == Mode::Active, "active"),
            (t.has(Setting::FtpsExplicit), "ftps"),
            (t.has(Setting::Ccc), "ccc"),
        ] {
            if on {
                flags.push(flag);
            }
        }
        let ca = t
            .ca_file
            .as_ref()
            .map(|c| c.display().to_string())
            .unwrap_or_default();
        Launch::Command(Invocation::new(vec![
            s("python3"),
            s("-c"),
            s(SCRIPT),
            t.host.to_string(),
            t.port.to_string(),
            t.user.clone(),
            t.password.clone(),
            s(t.action),
            t.path.clone(),
            t.local(),
            s(t.connect_secs()),
            ca,
            flags.join(","),
        ]))
    }
}
