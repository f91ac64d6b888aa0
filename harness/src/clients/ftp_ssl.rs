//! netkit `ftp-ssl` (netkit ftp with TLS), driven by commands on its standard input:
//! explicit FTPS with PROT P (`-z secure`), active by default and passive with `-p`; PASV and
//! PORT only (no EPSV or EPRT), no implicit FTPS, no CCC, no port range or external address,
//! no timeout of its own (the case's time limit ends it).

use super::adapter::{s, version_line, ClientAdapter, Invocation, Launch, Target};
use super::ftp_commands;
use crate::scenario::{Action, Mode, Setting};

/// netkit ftp-ssl.
pub struct FtpSsl;

impl FtpSsl {
    /// Its name in results.
    pub const NAME: &'static str = "ftp-ssl";
}

impl ClientAdapter for FtpSsl {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("ftp-ssl".into())
    }
    fn version(&self) -> String {
        let v = version_line(&["dpkg-query", "-W", "-f", "${Version}", "ftp-ssl"]);
        format!("netkit ftp-ssl {v}")
    }
    fn actions(&self) -> Vec<Action> {
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        vec![
            Setting::DisableEpsv,
            Setting::DisableEprt,
            Setting::FtpsExplicit,
        ]
    }
    fn launch(&self, t: &Target) -> Launch {
        let mut argv = vec![s("ftp-ssl"), s("-n"), s("-i"), s("-v")];
        if t.mode == Mode::Passive {
            argv.push(s("-p"));
        }
        match t.ca_for_ftps() {
            // AUTH TLS or nothing, PROT P, and the test CA.
            Some(ca) => argv.extend([s("-z"), s("secure"), s("-z"), format!("cacert={ca}")]),
            // Plain FTP: it would otherwise try AUTH TLS first.
            None => argv.extend([s("-z"), s("nossl")]),
        }
        argv.extend([t.host.to_string(), t.port.to_string()]);
        let mut inv = Invocation::new(argv);
        inv.stdin = Some(ftp_commands::script(t));
        Launch::Command(inv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    #[test]
    fn command_lines() {
        let line = |mode, settings: &[Setting]| match FtpSsl.launch(&target(Action::Download, mode, settings)) {
            Launch::Command(inv) => inv.argv.join(" "),
            Launch::InProcess(_) => panic!("a command line"),
        };
        assert_eq!(
            line(Mode::Passive, &[Setting::FtpsExplicit]),
            "ftp-ssl -n -i -v -p -z secure -z cacert=/tmp/x/ca.pem 203.0.113.1 21"
        );
        assert_eq!(line(Mode::Active, &[]), "ftp-ssl -n -i -v -z nossl 203.0.113.1 21");
    }
}
