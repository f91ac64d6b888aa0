//! curl: every setting a scenario asks has a flag (`keepalive` is TCP keepalive on its
//! sockets, `--keepalive-time`); it cannot walk a directory tree, so no `mirror`.

use super::adapter::{s, version_line, ClientAdapter, Invocation, Launch, Target};
use crate::scenario::{Action, Mode, Setting};

/// curl, the command-line program.
pub struct Curl;

impl Curl {
    /// Its name in results.
    pub const NAME: &'static str = "curl";
}

impl ClientAdapter for Curl {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("curl".into())
    }
    fn version(&self) -> String {
        version_line(&["curl", "--version"])
    }
    fn actions(&self) -> Vec<Action> {
        // A session: several URLs in one invocation (`--next` between them), which reuse
        // the control connection. No mirror: curl does not recurse.
        Action::NON_RECURSIVE.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // keepalive: `--keepalive-time` sets TCP_KEEPIDLE and TCP_KEEPINTVL on its sockets,
        // the control connection's included (curl sends no NOOP during a transfer).
        Setting::ALL.to_vec()
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(invocation(t))
    }
}

fn invocation(t: &Target) -> Invocation {
    let mut argv = vec![s("curl")];
    if t.action != Action::Session {
        argv.extend(options(t));
        argv.extend(transfer(t, t.action, &t.path, t.local()));
        return Invocation::new(argv);
    }
    // `--next` resets the options, so each step repeats them.
    for (i, step) in t.steps.iter().enumerate() {
        if i > 0 {
            argv.push(s("--next"));
        }
        argv.extend(options(t));
        argv.extend(transfer(t, step.action, &step.path, step.local()));
    }
    Invocation::new(argv)
}

/// One transfer: the local file and the URL.
fn transfer(t: &Target, action: Action, path: &str, local: String) -> [String; 3] {
    let flag = if action == Action::Upload { "-T" } else { "-o" };
    [s(flag), local, t.url_of(t.scheme(), action, path)]
}

/// The options of every transfer: timeouts, mode, settings, the CA.
fn options(t: &Target) -> Vec<String> {
    let secs = t.secs();
    let mut argv = vec![
        s("-sS"),
        s("-v"),
        s("--connect-timeout"),
        s(t.connect_secs()),
        s("--max-time"),
        s(secs),
    ];
    if t.mode == Mode::Active {
        // -P takes the address and the port range as one value.
        let addr = t.announced_addr();
        let value = if t.has(Setting::PortRange) {
            // An IPv6 address goes in brackets before the range.
            let addr = match addr {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            };
            format!("{addr}:{}-{}", t.active_ports.start(), t.active_ports.end())
        } else if t.has(Setting::ExternalIp) {
            addr.to_string()
        } else {
            s("-")
        };
        argv.extend([s("-P"), value]);
    }
    if t.has(Setting::Keepalive) {
        argv.extend([s("--keepalive-time"), s(t.keepalive_secs())]);
    }
    if t.has(Setting::Retry) {
        // curl counts an FTP 4xx reply (a 421 greeting included) as a transient error.
        argv.extend([
            s("--retry"),
            s(t.retries()),
            s("--retry-delay"),
            s(t.retry_delay_secs()),
        ]);
    }
    if t.has(Setting::Resume) {
        // `-C -`: continue from the local file's size (REST).
        argv.extend([s("--continue-at"), s("-")]);
    }
    for (setting, flag) in [
        // TYPE A; curl turns the CRLF line ends into LF.
        (Setting::Ascii, "--use-ascii"),
        (Setting::DisableEpsv, "--disable-epsv"),
        (Setting::DisableEprt, "--disable-eprt"),
        (Setting::ForcePasvIp, "--ftp-skip-pasv-ip"),
        (Setting::FtpsExplicit, "--ssl-reqd"),
        (Setting::Ccc, "--ftp-ssl-ccc"),
    ] {
        if t.has(setting) {
            argv.push(s(flag));
        }
    }
    if let Some(ca) = t.ca_for_ftps() {
        argv.extend([s("--cacert"), ca]);
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;
    use crate::clients::Client;

    #[test]
    fn command_line() {
        let settings = [
            Setting::ExternalIp,
            Setting::PortRange,
            Setting::FtpsExplicit,
        ];
        let line = invocation(&target(Action::Download, Mode::Active, &settings))
            .argv
            .join(" ");
        assert!(line.contains("-P 198.51.100.1:50100-50110"), "{line}");
        assert!(
            line.contains("--ssl-reqd") && line.contains("--cacert /tmp/x/ca.pem"),
            "{line}"
        );
        assert!(
            line.ends_with("-o /tmp/x/out.bin ftp://test:test@203.0.113.1:21/gen/64K"),
            "{line}"
        );
    }

    #[test]
    fn keepalive_resume_ascii_and_retry() {
        let settings = [
            Setting::Keepalive,
            Setting::Resume,
            Setting::Ascii,
            Setting::Retry,
        ];
        let argv = invocation(&target(Action::Download, Mode::Passive, &settings)).argv;
        let line = argv.join(" ");
        assert!(line.contains(" --retry 3 --retry-delay 1 "), "{line}");
        assert!(line.contains(" --keepalive-time 5 "), "{line}");
        assert!(line.contains(" --continue-at - "), "{line}");
        assert!(line.contains(" --use-ascii "), "{line}");
        let plain = invocation(&target(Action::Download, Mode::Passive, &[])).argv;
        assert!(!plain
            .iter()
            .any(|a| a.contains("keepalive") || a.contains("continue") || a.contains("retry")));
        assert_eq!(
            Client::builtin("curl")
                .unwrap()
                .unsupported(Action::Mirror, Mode::Passive, &[]),
            Some("curl cannot download a directory tree recursively".into())
        );
    }

    #[test]
    fn a_session_is_one_invocation_with_next_between_steps() {
        let t = crate::clients::tests::session_target(&[Setting::FtpsExplicit]);
        let argv = invocation(&t).argv;
        let line = argv.join(" ");
        assert_eq!(argv.iter().filter(|a| *a == "--next").count(), 2, "{line}");
        assert_eq!(argv.iter().filter(|a| *a == "--ssl-reqd").count(), 3, "{line}");
        assert!(
            line.contains("-o /tmp/x/step1.txt ftp://test:test@203.0.113.1:21/pub/ --next"),
            "{line}"
        );
        assert!(
            line.ends_with("-T /tmp/x/step3.bin ftp://test:test@203.0.113.1:21/incoming/s3.bin"),
            "{line}"
        );
    }
}
