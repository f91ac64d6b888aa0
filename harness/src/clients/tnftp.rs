//! tnftp (NetBSD ftp): EPSV first; its EPSV toggle is an interactive command, not an option.

use super::adapter::{s, version_line, ClientAdapter, Invocation, Launch, Target};
use crate::scenario::{Action, Mode, Setting};

/// tnftp.
pub struct Tnftp;

impl Tnftp {
    /// Its name in results.
    pub const NAME: &'static str = "tnftp";
}

impl ClientAdapter for Tnftp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("tnftp".into())
    }
    fn version(&self) -> String {
        // tnftp has no --version; its package knows.
        let v = version_line(&["dpkg-query", "-W", "-f", "${Version}", "tnftp"]);
        format!("tnftp {v}")
    }
    fn actions(&self) -> Vec<Action> {
        vec![Action::Download, Action::Upload]
    }
    fn settings(&self) -> Vec<Setting> {
        // resume: -R (auto-fetches restart with reget); ascii: `;type=A` on the URL (it
        // writes LF line ends). No keepalive: tnftp has no NOOP or keepalive option. No
        // mirror: it does not recurse. No retry: `-r WAIT` retries only a failed connect(),
        // not a refused greeting (a 421 ends it at once: "Can't connect or login to host").
        vec![Setting::PreferEpsv, Setting::Resume, Setting::Ascii]
    }
    fn launch(&self, t: &Target) -> Launch {
        let mut url = t.url("ftp");
        if t.has(Setting::Ascii) {
            url.push_str(";type=A");
        }
        let mut argv = vec![s("tnftp"), s("-V"), s("-q"), s(t.reply_secs())];
        if t.mode == Mode::Active {
            argv.push(s("-A"));
        }
        if t.has(Setting::Resume) {
            argv.push(s("-R"));
        }
        match t.action {
            Action::Upload => argv.extend([s("-u"), url, t.local()]),
            _ => argv.extend([s("-o"), t.local(), url]),
        }
        Launch::Command(Invocation::new(argv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    #[test]
    fn resume_and_ascii() {
        let t = target(
            Action::Download,
            Mode::Passive,
            &[Setting::Resume, Setting::Ascii],
        );
        let Launch::Command(inv) = Tnftp.launch(&t) else {
            panic!("tnftp is a command")
        };
        assert_eq!(
            inv.argv.join(" "),
            "tnftp -V -q 10 -R -o /tmp/x/out.bin ftp://test:test@203.0.113.1:21/gen/64K;type=A"
        );
        assert!(!Tnftp.settings().contains(&Setting::Keepalive));
    }
}
