//! Apache Commons Net FTPClient/FTPSClient (Debian's libcommons-net-java), through a small Java
//! program (`scripts/CommonsNetClient.java`) that `prepare()` compiles with javac. Every setting
//! has a knob, with two limits: EPSV cannot be turned off on IPv6, and there is no EPRT knob
//! (PORT on IPv4, EPRT on IPv6, always). Data connections never resume the TLS session.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::adapter::{
    build_into, cache_dir, flags_where, s, script_invocation, version_line, which, ClientAdapter,
    ClientError, Invocation, Launch, Target,
};
use crate::scenario::{Action, Mode, Setting};

const SOURCE: &str = include_str!("scripts/CommonsNetClient.java");
/// Debian's jar (a symlink to the versioned one).
const JAR: &str = "/usr/share/java/commons-net.jar";
const CLASS: &str = "CommonsNetClient";

/// Apache Commons Net.
pub struct CommonsNet;

impl CommonsNet {
    /// Its name in results.
    pub const NAME: &'static str = "commons-net";
}

/// Where the compiled class lives.
fn class_dir() -> PathBuf {
    cache_dir(CommonsNet::NAME, SOURCE)
}

impl ClientAdapter for CommonsNet {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("java".into())
    }
    fn version(&self) -> String {
        let v = version_line(&[
            "dpkg-query",
            "-W",
            "-f",
            "${Version}",
            "libcommons-net-java",
        ]);
        format!("commons-net {v}")
    }
    fn actions(&self) -> Vec<Action> {
        // A session: the program loops over the steps on its one FTPClient connection.
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // disable_epsv: setUseEPSVwithIPv4(false) (IPv4 only; IPv6 always uses EPSV).
        // prefer_epsv: setUseEPSVwithIPv4(true). disable_eprt: no knob, but IPv4 active mode
        // only ever sends PORT. force_pasv_ip: setIpAddressFromPasvResponse(false) (3.9.0's
        // default since CVE-2021-37533). port_range: setActivePortRange. external_ip:
        // setReportActiveExternalIPAddress. FTPS: FTPSClient(false/true), PBSZ 0, PROT P; ccc: execCCC.
        Setting::CONNECTION.to_vec()
    }
    fn prepare(&self) -> Result<(), ClientError> {
        let dir = class_dir();
        if dir.join(format!("{CLASS}.class")).is_file() {
            return Ok(());
        }
        if !which("javac") {
            return Err(
                "commons-net needs javac (a JDK, e.g. Debian's default-jdk-headless) \
                        to build its client program"
                    .into(),
            );
        }
        if !Path::new(JAR).is_file() {
            return Err(format!(
                "commons-net needs {JAR} (Debian package libcommons-net-java)"
            ));
        }
        build(&dir)
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(invocation(t, &class_dir()))
    }
}

/// Compiles the program into `dir` (through [`build_into`]).
fn build(dir: &Path) -> Result<(), ClientError> {
    build_into(dir, &format!("{CLASS}.class"), CommonsNet::NAME, |tmp| {
        let src = tmp.join(format!("{CLASS}.java"));
        std::fs::write(&src, SOURCE).map_err(|e| format!("{}: {e}", src.display()))?;
        let out = Command::new("javac")
            .arg("-d")
            .arg(tmp)
            .args(["-cp", JAR])
            .arg(&src)
            .output()
            .map_err(|e| format!("javac: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "javac failed to build the commons-net client: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    })
}

fn invocation(t: &Target, dir: &Path) -> Invocation {
    let mut flags = flags_where(&[
        (t.mode == Mode::Active, "active"),
        (t.has(Setting::FtpsExplicit), "ftps"),
        (t.has(Setting::FtpsImplicit), "ftps-implicit"),
        (t.has(Setting::Ccc), "ccc"),
        (t.has(Setting::ForcePasvIp), "force-pasv-ip"),
        (t.has(Setting::DisableEpsv), "disable-epsv"),
        (t.has(Setting::PreferEpsv), "prefer-epsv"),
    ]);
    if t.has(Setting::PortRange) {
        let (lo, hi) = (t.active_ports.start(), t.active_ports.end());
        flags.push(format!("port-range={lo}-{hi}"));
    }
    if t.has(Setting::ExternalIp) {
        flags.push(format!("external-ip={}", t.announced_addr()));
    }
    let classpath = format!("{}:{JAR}", dir.display());
    script_invocation(vec![s("java"), s("-cp"), classpath, s(CLASS)], t, &flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    #[test]
    fn command_line() {
        let settings = [
            Setting::ExternalIp,
            Setting::PortRange,
            Setting::FtpsExplicit,
        ];
        let t = target(Action::Download, Mode::Active, &settings);
        let argv = invocation(&t, Path::new("/cache/cn")).argv;
        assert_eq!(
            argv[..4],
            [
                "java",
                "-cp",
                "/cache/cn:/usr/share/java/commons-net.jar",
                "CommonsNetClient"
            ]
        );
        assert_eq!(
            argv[4..],
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
                "active,ftps,port-range=50100-50110,external-ip=198.51.100.1",
            ]
        );
    }

    #[test]
    fn no_ca_and_no_flags_in_plain_passive() {
        let t = target(Action::List, Mode::Passive, &[]);
        let argv = invocation(&t, Path::new("/c")).argv;
        assert_eq!(argv[argv.len() - 2..], ["", ""]);
    }

    #[test]
    fn a_session_passes_the_script_file() {
        let t = crate::clients::tests::session_target(&[Setting::FtpsExplicit]);
        let argv = invocation(&t, Path::new("/cache/cn")).argv;
        assert_eq!(
            argv[3..],
            [
                "CommonsNetClient",
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
        assert!(CommonsNet.actions().contains(&Action::Session));
    }
}
