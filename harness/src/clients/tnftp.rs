//! tnftp (NetBSD ftp): EPSV first; its EPSV toggle is an interactive command, not an option.

use super::adapter::{s, version_line, ClientAdapter, Invocation, Launch, Target};
use crate::scenario::{Action, Mode, Setting};

/// tnftp.
pub struct Tnftp;

impl Tnftp {
    /// Its name in results.
    pub const NAME: &'static str = "tnftp";
}

impl ClientAdapter for Tnftp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("tnftp".into())
    }
    fn version(&self) -> String {
        // tnftp has no --version; its package knows.
        let v = version_line(&["dpkg-query", "-W", "-f", "${Version}", "tnftp"]);
        format!("tnftp {v}")
    }
    fn actions(&self) -> Vec<Action> {
        vec![Action::Download, Action::Upload]
    }
    fn settings(&self) -> Vec<Setting> {
        vec![Setting::PreferEpsv]
    }
    fn launch(&self, t: &Target) -> Launch {
        let url = t.url("ftp");
        let mut argv = vec![s("tnftp"), s("-V"), s("-q"), s(t.reply_secs())];
        if t.mode == Mode::Active {
            argv.push(s("-A"));
        }
        match t.action {
            Action::Upload => argv.extend([s("-u"), url, t.local()]),
            _ => argv.extend([s("-o"), t.local(), url]),
        }
        Launch::Command(Invocation::new(argv))
    }
}
