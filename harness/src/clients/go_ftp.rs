//! github.com/jlaffaye/ftp, the Go library (Debian's golang-github-jlaffaye-ftp-dev), through a
//! small Go program (`scripts/go_ftp.go`) that `prepare()` builds offline in GOPATH mode. It
//! cannot do active mode (so no port range, external address or EPRT), CCC, or ignore the 227
//! address; it tries EPSV first. Listings are LIST (MLSD turned off), parsed by the library.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::adapter::{
    build_into, cache_dir, flags_where, script_invocation, version_line, which, ClientAdapter,
    ClientError, Invocation, Launch, Target,
};
use crate::scenario::{Action, Setting};

const SOURCE: &str = include_str!("scripts/go_ftp.go");
/// Where Debian puts the library's source.
const GOCODE: &str = "/usr/share/gocode";
/// The built program's file name.
const BINARY: &str = "go-ftp";
/// The program's import path inside its GOPATH.
const PACKAGE: &str = "ftpspecgo";

/// jlaffaye/ftp.
pub struct GoFtp;

impl GoFtp {
    /// Its name in results.
    pub const NAME: &'static str = "go-ftp";
}

/// Where the built program lives.
fn build_dir() -> PathBuf {
    cache_dir(GoFtp::NAME, SOURCE)
}

impl ClientAdapter for GoFtp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("go".into())
    }
    fn version(&self) -> String {
        let v = version_line(&[
            "dpkg-query",
            "-W",
            "-f",
            "${Version}",
            "golang-github-jlaffaye-ftp-dev",
        ]);
        format!("jlaffaye/ftp {v}")
    }
    fn actions(&self) -> Vec<Action> {
        // A session: the program loops over the steps on its one ServerConn.
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // disable_epsv: DialWithDisabledEPSV(true). prefer_epsv: its default (EPSV first on
        // IPv4 too, PASV after a refusal). FTPS: DialWithExplicitTLS / DialWithTLS, after which
        // Login sends PBSZ 0 and PROT P. No CCC, no knob to ignore the 227 address.
        use Setting::*;
        vec![DisableEpsv, PreferEpsv, FtpsExplicit, FtpsImplicit]
    }
    fn active_mode(&self) -> bool {
        // This version has passive mode only (EPSV, then PASV).
        false
    }
    fn prepare(&self) -> Result<(), ClientError> {
        let dir = build_dir();
        if dir.join(BINARY).is_file() {
            return Ok(());
        }
        if !which("go") {
            return Err(
                "go-ftp needs the Go toolchain (Debian package golang-go) to build its client program"
                    .into(),
            );
        }
        let lib = Path::new(GOCODE).join("src/github.com/jlaffaye/ftp");
        if !lib.is_dir() {
            return Err(format!(
                "go-ftp needs {} (Debian package golang-github-jlaffaye-ftp-dev)",
                lib.display()
            ));
        }
        build(&dir)
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(invocation(t, &build_dir()))
    }
}

/// Builds the program offline (GOPATH mode, Debian's Go sources) into `dir` (through
/// [`build_into`]).
fn build(dir: &Path) -> Result<(), ClientError> {
    build_into(dir, BINARY, GoFtp::NAME, |tmp| {
        let src_dir = tmp.join("gopath/src").join(PACKAGE);
        std::fs::create_dir_all(&src_dir).map_err(|e| format!("{}: {e}", src_dir.display()))?;
        let src = src_dir.join("main.go");
        std::fs::write(&src, SOURCE).map_err(|e| format!("{}: {e}", src.display()))?;
        let gopath = format!("{}:{GOCODE}", tmp.join("gopath").display());
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(tmp.join(BINARY))
            .arg(PACKAGE)
            .current_dir(tmp)
            .env("GO111MODULE", "off")
            .env("GOPATH", gopath)
            .env("GOCACHE", tmp.join("gocache"))
            .env("GOPROXY", "off")
            .env("GOFLAGS", "")
            .output()
            .map_err(|e| format!("go build: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "go build failed for the go-ftp client: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    })
}

fn invocation(t: &Target, dir: &Path) -> Invocation {
    let flags = flags_where(&[
        (t.has(Setting::FtpsExplicit), "ftps"),
        (t.has(Setting::FtpsImplicit), "ftps-implicit"),
        (t.has(Setting::DisableEpsv), "disable-epsv"),
    ]);
    let program = dir.join(BINARY).display().to_string();
    script_invocation(vec![program], t, &flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;
    use crate::scenario::Mode;

    #[test]
    fn command_line() {
        let settings = [Setting::FtpsImplicit, Setting::DisableEpsv];
        let t = target(Action::List, Mode::Passive, &settings);
        let argv = invocation(&t, Path::new("/cache/go")).argv;
        assert_eq!(
            argv,
            [
                "/cache/go/go-ftp",
                "203.0.113.1",
                "21",
                "test",
                "test",
                "list",
                "/gen/64K",
                "/tmp/x/out.bin",
                "10",
                "/tmp/x/ca.pem",
                "ftps-implicit,disable-epsv",
            ]
        );
    }

    #[test]
    fn active_mode_is_lacking() {
        assert_eq!(GoFtp.lacks(Mode::Active, &[]), ["active mode"]);
        assert_eq!(GoFtp.lacks(Mode::Passive, &[Setting::Ccc]), ["ccc"]);
    }

    #[test]
    fn a_session_passes_the_script_file() {
        let t = crate::clients::tests::session_target(&[Setting::DisableEpsv]);
        let argv = invocation(&t, Path::new("/cache/go")).argv;
        assert_eq!(
            argv,
            [
                "/cache/go/go-ftp",
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
        assert!(GoFtp.actions().contains(&Action::Session));
    }
}
