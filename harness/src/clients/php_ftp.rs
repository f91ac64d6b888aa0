//! PHP's ftp extension (ftp_connect / ftp_ssl_connect, Debian's php-cli), through a small
//! script shipped in the crate. It cannot: prefer EPSV on IPv4 (PASV on IPv4, EPSV only on
//! IPv6), use an active-mode port range or external address, implicit FTPS, or CCC; and under
//! explicit FTPS it cannot be given a CA nor verify the server's certificate at all
//! (ftp_ssl_connect has no such option), so the test CA goes unused.

use super::adapter::{
    flags_where, s, script_invocation, version_line, ClientAdapter, Invocation, Launch, Target,
};
use crate::scenario::{Action, Mode, Setting};

const SCRIPT: &str = include_str!("scripts/php_ftp_client.php");

/// PHP's ftp extension.
pub struct PhpFtp;

impl PhpFtp {
    /// Its name in results.
    pub const NAME: &'static str = "php-ftp";
}

impl ClientAdapter for PhpFtp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("php".into())
    }
    fn version(&self) -> String {
        version_line(&[
            "php",
            "-r",
            r#"echo "ext/ftp ", phpversion("ftp"), " (PHP ", PHP_VERSION, ")\n";"#,
        ])
    }
    fn actions(&self) -> Vec<Action> {
        // A session: the script loops over the steps on its one ext/ftp connection.
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        use Setting::*;
        // ftp_set_option(FTP_USEPASVADDRESS, false) takes the control connection's address
        // instead of the 227's (the default trusts the 227). On IPv4 ext/ftp only ever sends
        // PASV and PORT, so "no EPSV" and "no EPRT" are what it does (on IPv6 it tries EPSV
        // and sends EPRT regardless). ftp_ssl_connect: AUTH TLS, PBSZ 0, PROT P, TLS session
        // reused on data connections; no certificate verification (see above).
        vec![DisableEpsv, DisableEprt, ForcePasvIp, FtpsExplicit]
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(invocation(t))
    }
}

fn invocation(t: &Target) -> Invocation {
    // ext/ftp's one timeout bounds the connects (control and data), the accept of an active
    // data connection, and every read and write.
    let flags = flags_where(&[
        (t.mode == Mode::Active, "active"),
        (t.has(Setting::FtpsExplicit), "ftps"),
        (t.has(Setting::ForcePasvIp), "force-pasv-ip"),
    ]);
    script_invocation(vec![s("php"), s("-r"), s(SCRIPT)], t, &flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    #[test]
    fn command_line() {
        let t = target(
            Action::Upload,
            Mode::Passive,
            &[Setting::ForcePasvIp, Setting::FtpsExplicit],
        );
        let argv = invocation(&t).argv;
        assert_eq!(argv[..3], [s("php"), s("-r"), s(SCRIPT)]);
        assert_eq!(
            argv[3..].to_vec(),
            [
                "203.0.113.1",
                "21",
                "test",
                "test",
                "upload",
                "/gen/64K",
                "/tmp/x/out.bin",
                "10",
                "/tmp/x/ca.pem",
                "ftps,force-pasv-ip",
            ]
        );
        assert_eq!(PhpFtp.lacks(Mode::Passive, &[Setting::FtpsImplicit]), ["ftps_implicit"]);
    }

    #[test]
    fn a_session_passes_the_script_file() {
        let t = crate::clients::tests::session_target(&[]);
        let argv = invocation(&t).argv;
        assert_eq!(argv[..3], [s("php"), s("-r"), s(SCRIPT)]);
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
                "",
                "",
            ]
        );
        assert!(PhpFtp.actions().contains(&Action::Session));
    }
}
