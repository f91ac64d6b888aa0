//! Python's aioftp client (asyncio), through a small script shipped in the crate
//! (`scripts/aioftp_client.py`). It is passive-only (EPSV, then PASV): no active mode and no
//! CCC (its docs: "Downgrading via the CCC or REIN commands is not supported").

use super::adapter::{
    flags_where, s, script_invocation, version_line, ClientAdapter, Invocation, Launch, Target,
};
use crate::scenario::{Action, Setting};

const SCRIPT: &str = include_str!("scripts/aioftp_client.py");

/// Python's aioftp.
pub struct Aioftp;

impl Aioftp {
    /// Its name in results.
    pub const NAME: &'static str = "aioftp";
}

impl ClientAdapter for Aioftp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("python3".into())
    }
    fn version(&self) -> String {
        let line = version_line(&["python3", "-c", "import aioftp; print(aioftp.__version__)"]);
        format!("aioftp {line}")
    }
    fn actions(&self) -> Vec<Action> {
        // A session: the script loops over the steps on its one Client.
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // disable_epsv / prefer_epsv: `Client(passive_commands=("pasv",))` / `("epsv",)`.
        // force_pasv_ip: `trust_server_pasv_ipv4_address=False` (its default) connects to the
        // control connection's host whatever the 227 says.
        // ftps_explicit: `upgrade_to_tls(context)` (AUTH TLS, PBSZ 0, PROT P);
        // ftps_implicit: `Client(ssl=context)`, then PBSZ 0 / PROT P through `command()`.
        // No PORT/EPRT at all, so nothing about active mode, and no CCC.
        use Setting::*;
        vec![DisableEpsv, PreferEpsv, ForcePasvIp, FtpsExplicit, FtpsImplicit]
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
    script_invocation(vec![s("python3"), s("-c"), s(SCRIPT)], t, &flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;
    use crate::scenario::Mode;

    #[test]
    fn command_line() {
        let t = target(
            Action::Download,
            Mode::Passive,
            &[Setting::FtpsExplicit, Setting::PreferEpsv],
        );
        let argv = invocation(&t).argv;
        assert_eq!(argv[0..2], [s("python3"), s("-c")]);
        assert_eq!(
            argv[3..],
            [
                "203.0.113.1",
                "21",
                "test",
                "test",
                "download",
                "/gen/64K",
                "/tmp/x/out.bin",
                "10",
                "/tmp/x/ca.pem",
                "ftps,prefer-epsv",
            ]
        );
        let plain = invocation(&target(Action::List, Mode::Passive, &[])).argv;
        assert_eq!(plain[plain.len() - 2..], [s(""), s("")]);
        assert_eq!(Aioftp.lacks(Mode::Active, &[]), vec!["active mode".to_string()]);
        assert_eq!(Aioftp.lacks(Mode::Passive, &[Setting::Ccc]), vec!["ccc".to_string()]);
    }

    #[test]
    fn a_session_passes_the_script_file() {
        let t = crate::clients::tests::session_target(&[Setting::DisableEpsv]);
        let argv = invocation(&t).argv;
        assert_eq!(argv[0..3], [s("python3"), s("-c"), s(SCRIPT)]);
        assert_eq!(
            argv[3..],
            [
                "203.0.113.1",
                "21",
                "test",
                "test",
                "session",
                "-",
                "/tmp/x/steps.txt",
                "10",
                "",
                "disable-epsv",
            ]
        );
        assert!(Aioftp.actions().contains(&Action::Session));
    }
}
