//! NcFTP's one-shot programs: `ncftpget`, `ncftpput` and `ncftpls` (whose listing is its
//! stdout). PASV (or PORT with `-E`) only, never EPSV or EPRT; no TLS, no port range or
//! external address; `-t` bounds every wait.

use super::adapter::{s, version_line, ClientAdapter, Invocation, Launch, Target};
use crate::scenario::{Action, Mode, Setting};

/// NcFTP.
pub struct Ncftp;

impl Ncftp {
    /// Its name in results.
    pub const NAME: &'static str = "ncftp";
}

impl ClientAdapter for Ncftp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("ncftpget".into())
    }
    fn version(&self) -> String {
        let v = version_line(&["dpkg-query", "-W", "-f", "${Version}", "ncftp"]);
        format!("NcFTP {v}")
    }
    fn actions(&self) -> Vec<Action> {
        Action::SINGLE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // It only ever sends PASV and PORT. retry: `-r N` redials after a refused connection
        // (a 421 greeting included), after LibNcFTP's own redial delay (20 s here; ncftpget
        // has no flag for it).
        vec![Setting::DisableEpsv, Setting::DisableEprt, Setting::Retry]
    }
    fn launch(&self, t: &Target) -> Launch {
        let program = match t.action {
            Action::Download => "ncftpget",
            Action::Upload => "ncftpput",
            Action::List | Action::Session | Action::Mirror => "ncftpls",
        };
        let mut argv = vec![
            s(program),
            s("-u"),
            t.user.clone(),
            s("-p"),
            t.password.clone(),
            s("-P"),
            t.port.to_string(),
            s("-t"),
            s(t.reply_secs()),
        ];
        if t.has(Setting::Retry) {
            argv.extend([s("-r"), s(t.retries())]);
        }
        argv.push(s(if t.mode == Mode::Active { "-E" } else { "-F" }));
        let local = t.local();
        let host = t.host.to_string();
        match t.action {
            Action::Download => argv.extend([s("-V"), s("-C"), host, t.path.clone(), local]),
            Action::Upload => argv.extend([s("-V"), s("-C"), host, local, t.path.clone()]),
            Action::List | Action::Session | Action::Mirror => {
                let url = format!("ftp://{}:{}{}/", t.url_host(), t.port, t.path.trim_end_matches('/'));
                argv.extend([s("-l"), url]);
            }
        }
        let mut inv = Invocation::new(argv);
        inv.listing_on_stdout = t.action == Action::List;
        Launch::Command(inv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    #[test]
    fn command_lines() {
        let inv = |action, mode| match Ncftp.launch(&target(action, mode, &[])) {
            Launch::Command(inv) => inv,
            Launch::InProcess(_) => panic!("a command line"),
        };
        assert_eq!(
            inv(Action::Download, Mode::Active).argv.join(" "),
            "ncftpget -u test -p test -P 21 -t 10 -E -V -C 203.0.113.1 /gen/64K /tmp/x/out.bin"
        );
        let Launch::Command(retry) =
            Ncftp.launch(&target(Action::Download, Mode::Passive, &[Setting::Retry]))
        else {
            panic!("a command line")
        };
        assert!(retry.argv.join(" ").contains(" -t 10 -r 3 -F "), "{:?}", retry.argv);
        let list = inv(Action::List, Mode::Passive);
        assert!(list.listing_on_stdout);
        assert!(list.argv.join(" ").ends_with("-F -l ftp://203.0.113.1:21/gen/64K/"));
    }
}
