//! Node's basic-ftp (5.x/6.x, installed under /usr/local/lib/ftpspec), through a small script
//! shipped in the crate (`scripts/basic_ftp.js`). It is passive-only (EPSV, then PASV): no
//! active mode, no CCC, and no way to use the control address instead of a 227 address (it
//! refuses a 227 naming another host).

use super::adapter::{
    flags_where, s, script_invocation, version_line, ClientAdapter, Invocation, Launch, Target,
};
use crate::scenario::{Action, Setting};

const SCRIPT: &str = include_str!("scripts/basic_ftp.js");

/// Where `npm install --prefix /usr/local/lib/ftpspec basic-ftp` puts the module.
const MODULE_DIR: &str = "/usr/local/lib/ftpspec/node_modules/basic-ftp";

/// Node's basic-ftp.
pub struct BasicFtp;

impl BasicFtp {
    /// Its name in results.
    pub const NAME: &'static str = "basic-ftp";
}

impl ClientAdapter for BasicFtp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("node".into())
    }
    fn version(&self) -> String {
        let code = format!("console.log(require('{MODULE_DIR}/package.json').version)");
        format!("basic-ftp {}", version_line(&["node", "-e", code.as_str()]))
    }
    fn actions(&self) -> Vec<Action> {
        // A session: the script loops over the steps on its one Client.
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // disable_epsv / prefer_epsv: `client.prepareTransfer` set to the library's own PASV
        // step (the one it falls back to after EPSV) or to `enterPassiveModeIPv6` (EPSV only).
        // FTPS: `access({secure: true | "implicit"})`, which sends PBSZ 0 / PROT P itself.
        // Not force_pasv_ip: basic-ftp rejects a 227 naming another host unless
        // `allowSeparateTransferHost`, which then uses that host (it swaps in the control
        // address only for a private 227 address behind a public control address).
        // No PORT/EPRT at all, so nothing about active mode, and no CCC.
        use Setting::*;
        vec![DisableEpsv, PreferEpsv, FtpsExplicit, FtpsImplicit]
    }
    fn active_mode(&self) -> bool {
        false
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(invocation(t))
    }
}

fn invocation(t: &Target) -> Invocation {
    let flags = flags_where(&[
        (t.has(Setting::FtpsExplicit), "ftps"),
        (t.has(Setting::FtpsImplicit), "ftps-implicit"),
        (t.has(Setting::DisableEpsv), "disable-epsv"),
        (t.has(Setting::PreferEpsv), "prefer-epsv"),
    ]);
    let program = vec![s("node"), s("-e"), s(SCRIPT), s(MODULE_DIR)];
    script_invocation(program, t, &flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;
    use crate::scenario::Mode;

    #[test]
    fn command_line() {
        let t = target(
            Action::Upload,
            Mode::Passive,
            &[Setting::FtpsImplicit, Setting::DisableEpsv],
        );
        let argv = invocation(&t).argv;
        assert_eq!(argv[0..2], [s("node"), s("-e")]);
        assert_eq!(
            argv[3..],
            [
                MODULE_DIR,
                "203.0.113.1",
                "21",
                "test",
                "test",
                "upload",
                "/gen/64K",
                "/tmp/x/out.bin",
                "10",
                "/tmp/x/ca.pem",
                "ftps-implicit,disable-epsv",
            ]
        );
        let plain = invocation(&target(Action::List, Mode::Passive, &[])).argv;
        assert_eq!(plain[plain.len() - 2..], [s(""), s("")]);
        assert_eq!(BasicFtp.lacks(Mode::Active, &[]), vec!["active mode".to_string()]);
    }

    #[test]
    fn a_session_passes_the_script_file() {
        let t = crate::clients::tests::session_target(&[Setting::FtpsExplicit]);
        let argv = invocation(&t).argv;
        assert_eq!(argv[0..3], [s("node"), s("-e"), s(SCRIPT)]);
        assert_eq!(
            argv[3..],
            [
                MODULE_DIR,
                "203.0.113.1",
                "21",
                "test",
                "test",
                "session",
                "-",
                "/tmp/x/steps.txt",
                "10",
                "/tmp/x/ca.pem",
                "ftps",
            ]
        );
        assert!(BasicFtp.actions().contains(&Action::Session));
    }
}
