//! GNU inetutils `ftp`, driven by commands on its standard input. It uses PASV and PORT on
//! IPv4 (never EPSV or EPRT there), trusts the 227 address, has no TLS, no port range, no
//! external address and no timeout of its own (the case's time limit ends it), and exits 0
//! even when a transfer failed.

use super::adapter::{s, version_line, ClientAdapter, Invocation, Launch, Target};
use super::ftp_commands;
use crate::scenario::{Action, Mode, Setting};

/// GNU inetutils ftp.
pub struct InetutilsFtp;

impl InetutilsFtp {
    /// Its name in results.
    pub const NAME: &'static str = "inetutils-ftp";
}

impl ClientAdapter for InetutilsFtp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("inetutils-ftp".into())
    }
    fn version(&self) -> String {
        version_line(&["inetutils-ftp", "--version"])
    }
    fn actions(&self) -> Vec<Action> {
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // On IPv4 it only ever sends PASV and PORT.
        vec![Setting::DisableEpsv, Setting::DisableEprt]
    }
    fn launch(&self, t: &Target) -> Launch {
        let mode = if t.mode == Mode::Active { "-A" } else { "-p" };
        let argv = vec![
            s("inetutils-ftp"),
            s("-n"),
            s("-i"),
            s("-v"),
            s(mode),
            t.host.to_string(),
            t.port.to_string(),
        ];
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
    fn command_and_script() {
        let Launch::Command(inv) = InetutilsFtp.launch(&target(Action::Upload, Mode::Active, &[]))
        else {
            panic!("a command line")
        };
        assert_eq!(inv.argv.join(" "), "inetutils-ftp -n -i -v -A 203.0.113.1 21");
        assert_eq!(
            inv.stdin.unwrap(),
            "user test test\nbinary\nput /tmp/x/out.bin /gen/64K\nquit\n"
        );
    }
}
