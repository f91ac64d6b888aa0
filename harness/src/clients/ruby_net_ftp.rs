//! Ruby's net/ftp (the net-ftp gem shipped with Debian's ruby), through a small script shipped
//! in the crate. It cannot: prefer EPSV on IPv4 (PASV on IPv4, EPSV only on IPv6), use an
//! active-mode port range or external address, implicit FTPS (not in net-ftp 0.1.x) or CCC.

use super::adapter::{
    flags_where, s, script_invocation, version_line, ClientAdapter, Invocation, Launch, Target,
};
use crate::scenario::{Action, Mode, Setting};

const SCRIPT: &str = include_str!("scripts/ruby_net_ftp_client.rb");

/// Ruby's net/ftp.
pub struct RubyNetFtp;

impl RubyNetFtp {
    /// Its name in results.
    pub const NAME: &'static str = "ruby-net-ftp";
}

impl ClientAdapter for RubyNetFtp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("ruby".into())
    }
    fn version(&self) -> String {
        // The gem's own version, then the interpreter's.
        version_line(&[
            "ruby",
            "-rnet/ftp",
            "-e",
            "puts \"net-ftp #{Net::FTP::VERSION} (ruby #{RUBY_VERSION})\"",
        ])
    }
    fn actions(&self) -> Vec<Action> {
        // A session: the script loops over the steps on its one net/ftp connection.
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        use Setting::*;
        // use_pasv_ip: false (the default, passed explicitly) takes the control connection's
        // address instead of the 227's. On IPv4 net/ftp only ever sends PASV and PORT, so
        // "no EPSV" and "no EPRT" are what it does (on IPv6 it uses EPSV/EPRT regardless).
        // ssl: {ca_file:, verify_mode: VERIFY_PEER} gives explicit FTPS with PROT P.
        vec![DisableEpsv, DisableEprt, ForcePasvIp, FtpsExplicit]
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(invocation(t))
    }
}

fn invocation(t: &Target) -> Invocation {
    let mut flags = flags_where(&[
        (t.mode == Mode::Active, "active"),
        (t.has(Setting::FtpsExplicit), "ftps"),
    ]);
    // net/ftp has no timeout for accepting an active data connection: a watchdog over the
    // whole run, a little inside the case's limit, turns a hang into an error.
    flags.push(format!(
        "deadline={}",
        t.secs().saturating_sub(2).max(t.connect_secs())
    ));
    script_invocation(vec![s("ruby"), s("-e"), s(SCRIPT)], t, &flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    #[test]
    fn command_line() {
        let t = target(Action::Download, Mode::Active, &[Setting::FtpsExplicit]);
        let argv = invocation(&t).argv;
        assert_eq!(argv[0], "ruby");
        assert_eq!(argv[1], "-e");
        assert_eq!(argv[2], SCRIPT);
        assert_eq!(
            argv[3..].to_vec(),
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
                "active,ftps,deadline=28",
            ]
        );
        assert_eq!(RubyNetFtp.lacks(Mode::Active, &[Setting::PortRange]), ["port_range"]);
    }

    #[test]
    fn a_session_passes_the_script_file() {
        let t = crate::clients::tests::session_target(&[Setting::FtpsExplicit]);
        let argv = invocation(&t).argv;
        assert_eq!(argv[..3], [s("ruby"), s("-e"), s(SCRIPT)]);
        assert_eq!(
            argv[3..].to_vec(),
            [
                "203.0.113.1",
                "21",
                "test",
                "test",
                "session",
                "-",
                "/tmp/x/steps.txt",
                "10",
                "/tmp/x/ca.pem",
                "ftps,deadline=28",
            ]
        );
        assert!(RubyNetFtp.actions().contains(&Action::Session));
    }
}
