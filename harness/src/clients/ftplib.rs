//! Python's ftplib, through a small script shipped in the crate (`ftplib_client.py`).

use super::adapter::{
    flags_where, s, script_invocation, version_line, ClientAdapter, Launch, Target,
};
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
        let flags = flags_where(&[
            (t.mode == Mode::Active, "active"),
            (t.has(Setting::FtpsExplicit), "ftps"),
            (t.has(Setting::Ccc), "ccc"),
        ]);
        let program = vec![s("python3"), s("-c"), s(SCRIPT)];
        Launch::Command(script_invocation(program, t, &flags))
    }
}
