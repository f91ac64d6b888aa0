//! Perl's Net::FTP (libnet, in Debian's perl), through a small script shipped in the crate;
//! FTPS only when IO::Socket::SSL is installed (`Net::FTP->can_ssl`). It cannot: ignore the
//! 227 address (it always connects to it), prefer EPSV on IPv4 (PASV on IPv4, EPSV only on
//! IPv6), or use an active-mode port range or external address.

use std::sync::OnceLock;

use super::adapter::{
    flags_where, s, script_invocation, version_line, ClientAdapter, Invocation, Launch, Target,
};
use crate::scenario::{Action, Mode, Setting};

const SCRIPT: &str = include_str!("scripts/perl_net_ftp_client.pl");

/// Perl's Net::FTP.
pub struct PerlNetFtp;

impl PerlNetFtp {
    /// Its name in results.
    pub const NAME: &'static str = "perl-net-ftp";
}

/// Whether Net::FTP can do TLS here (IO::Socket::SSL >= 2.007 installed), asked once.
fn can_ssl() -> bool {
    static CAN: OnceLock<bool> = OnceLock::new();
    *CAN.get_or_init(|| {
        std::process::Command::new("perl")
            .args(["-MNet::FTP", "-e", "exit(Net::FTP->can_ssl ? 0 : 1)"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

impl ClientAdapter for PerlNetFtp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("perl".into())
    }
    fn version(&self) -> String {
        version_line(&[
            "perl",
            "-MNet::FTP",
            "-e",
            r#"print "Net::FTP $Net::FTP::VERSION (libnet; perl $^V; ", (Net::FTP->can_ssl ? "IO::Socket::SSL $IO::Socket::SSL::VERSION" : "no IO::Socket::SSL: no FTPS"), ")\n""#,
        ])
    }
    fn actions(&self) -> Vec<Action> {
        // A session: the script loops over the steps on its one Net::FTP connection.
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        use Setting::*;
        // On IPv4 Net::FTP only ever sends PASV and PORT, so "no EPSV" and "no EPRT" are what
        // it does (on IPv6 it uses EPSV/EPRT regardless). Its epsv() method takes the control
        // address, but the transfer methods only use it on IPv6, so neither prefer_epsv nor
        // force_pasv_ip has a knob.
        let mut v = vec![DisableEpsv, DisableEprt];
        if can_ssl() {
            // starttls() (AUTH TLS, PBSZ 0, PROT P), new(SSL => 1) and stoptls() (CCC),
            // verifying against SSL_ca_file.
            v.extend([FtpsExplicit, FtpsImplicit, Ccc]);
        }
        v
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(invocation(t))
    }
}

fn invocation(t: &Target) -> Invocation {
    // Net::FTP's Timeout bounds every connect, accept, read and write, control and data.
    let flags = flags_where(&[
        (t.mode == Mode::Active, "active"),
        (t.has(Setting::FtpsExplicit), "ftps"),
        (t.has(Setting::FtpsImplicit), "ftps-implicit"),
        (t.has(Setting::Ccc), "ccc"),
    ]);
    script_invocation(vec![s("perl"), s("-e"), s(SCRIPT)], t, &flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    #[test]
    fn command_line() {
        let t = target(
            Action::List,
            Mode::Active,
            &[Setting::FtpsExplicit, Setting::Ccc],
        );
        let argv = invocation(&t).argv;
        assert_eq!(argv[..3], [s("perl"), s("-e"), s(SCRIPT)]);
        assert_eq!(
            argv[3..].to_vec(),
            [
                "203.0.113.1",
                "21",
                "test",
                "test",
                "list",
                "/gen/64K",
                "/tmp/x/out.bin",
                "10",
                "/tmp/x/ca.pem",
                "active,ftps,ccc",
            ]
        );
        let plain = target(Action::Download, Mode::Passive, &[]);
        assert_eq!(invocation(&plain).argv[11..], [s(""), s("")]);
        assert_eq!(
            PerlNetFtp.lacks(Mode::Passive, &[Setting::ForcePasvIp]),
            ["force_pasv_ip"]
        );
    }

    #[test]
    fn a_session_passes_the_script_file() {
        let t = crate::clients::tests::session_target(&[Setting::FtpsExplicit]);
        let argv = invocation(&t).argv;
        assert_eq!(argv[..3], [s("perl"), s("-e"), s(SCRIPT)]);
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
                "ftps",
            ]
        );
        assert!(PerlNetFtp.actions().contains(&Action::Session));
    }
}
