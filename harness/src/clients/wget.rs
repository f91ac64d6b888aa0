//! wget: PASV and PORT on IPv4, never EPSV or EPRT; downloads and listings only.

use super::adapter::{s, version_line, ClientAdapter, Invocation, Launch, Target};
use crate::scenario::{Action, Mode, Setting};

/// GNU Wget.
pub struct Wget;

impl Wget {
    /// Its name in results.
    pub const NAME: &'static str = "wget";
}

impl ClientAdapter for Wget {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("wget".into())
    }
    fn version(&self) -> String {
        version_line(&["wget", "--version"])
    }
    fn actions(&self) -> Vec<Action> {
        vec![Action::List, Action::Download]
    }
    fn settings(&self) -> Vec<Setting> {
        use Setting::*;
        vec![DisableEpsv, DisableEprt, FtpsExplicit, FtpsImplicit]
    }
    fn launch(&self, t: &Target) -> Launch {
        let mut argv = vec![
            s("wget"),
            s("-nv"),
            s("--tries=1"),
            format!("--timeout={}", t.reply_secs()),
            s("-O"),
            t.local(),
        ];
        if t.mode == Mode::Active {
            argv.push(s("--no-passive-ftp"));
        }
        if t.has(Setting::FtpsImplicit) {
            argv.push(s("--ftps-implicit"));
        }
        if let Some(ca) = t.ca_for_ftps() {
            argv.push(format!("--ca-certificate={ca}"));
        }
        // wget's ftps:// is explicit FTPS unless --ftps-implicit.
        argv.push(t.url(if t.ftps() { "ftps" } else { "ftp" }));
        Launch::Command(Invocation::new(argv))
    }
}
