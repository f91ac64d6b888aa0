//! wget: PASV and PORT on IPv4, never EPSV or EPRT; downloads, listings and mirrors
//! (`-r`, which walks the LIST output), no uploads.

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
        vec![Action::List, Action::Download, Action::Mirror]
    }
    fn settings(&self) -> Vec<Setting> {
        // resume: -c; ascii: `;type=a` on the URL (wget then writes LF line ends); retry:
        // --tries and --waitretry. No keepalive: wget has no option for the FTP control
        // connection.
        use Setting::*;
        vec![
            DisableEpsv,
            DisableEprt,
            FtpsExplicit,
            FtpsImplicit,
            Resume,
            Ascii,
            Retry,
        ]
    }
    fn launch(&self, t: &Target) -> Launch {
        // --tries counts tries: 1 is no retry.
        let tries = if t.has(Setting::Retry) {
            t.retries() + 1
        } else {
            1
        };
        let mut argv = vec![
            s("wget"),
            s("-nv"),
            format!("--tries={tries}"),
            format!("--timeout={}", t.reply_secs()),
        ];
        if t.has(Setting::Retry) {
            argv.push(format!("--waitretry={}", t.retry_delay_secs()));
        }
        if t.action == Action::Mirror {
            // The directory's contents straight into the local directory: no host
            // directory, and the path's own directories cut.
            let depth = t.path.split('/').filter(|p| !p.is_empty()).count();
            argv.extend([
                s("-r"),
                s("--level=inf"),
                s("-nH"),
                format!("--cut-dirs={depth}"),
                s("-P"),
                t.dir(),
            ]);
        } else {
            argv.extend([s("-O"), t.local()]);
        }
        if t.has(Setting::Resume) {
            argv.push(s("--continue"));
        }
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
        let mut url = t.url(if t.ftps() { "ftps" } else { "ftp" });
        if t.has(Setting::Ascii) {
            url.push_str(";type=a");
        }
        argv.push(url);
        Launch::Command(Invocation::new(argv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    fn line(t: &Target) -> String {
        let Launch::Command(inv) = Wget.launch(t) else {
            panic!("wget is a command")
        };
        inv.argv.join(" ")
    }

    #[test]
    fn resume_ascii_and_mirror() {
        let settings = [Setting::Resume, Setting::Ascii];
        let l = line(&target(Action::Download, Mode::Passive, &settings));
        assert!(
            l.ends_with("-O /tmp/x/out.bin --continue ftp://test:test@203.0.113.1:21/gen/64K;type=a"),
            "{l}"
        );
        let mut t = target(Action::Mirror, Mode::Passive, &[]);
        t.path = "/pub/music".into();
        let l = line(&t);
        assert!(
            l.ends_with("-r --level=inf -nH --cut-dirs=2 -P /tmp/x/mirror ftp://test:test@203.0.113.1:21/pub/music/"),
            "{l}"
        );
        assert!(!l.contains("-O"), "{l}");
        assert!(!Wget.settings().contains(&Setting::Keepalive));
    }

    #[test]
    fn retry_is_tries_and_waitretry() {
        let l = line(&target(Action::Download, Mode::Passive, &[Setting::Retry]));
        assert!(l.starts_with("wget -nv --tries=4 --timeout=10 --waitretry=1 "), "{l}");
        let l = line(&target(Action::Download, Mode::Passive, &[]));
        assert!(l.starts_with("wget -nv --tries=1 --timeout=10 -O "), "{l}");
    }
}
