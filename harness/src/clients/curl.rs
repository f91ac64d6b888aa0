//! curl: every setting a scenario asks has a flag.

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
        Action::ALL.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        Setting::ALL.to_vec()
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(invocation(t))
    }
}

fn invocation(t: &Target) -> Invocation {
    let secs = t.secs();
    let mut argv = vec![
        s("curl"),
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
            format!("{addr}:{}-{}", t.active_ports.start(), t.active_ports.end())
        } else if t.has(Setting::ExternalIp) {
            addr.to_string()
        } else {
            s("-")
        };
        argv.extend([s("-P"), value]);
    }
    for (setting, flag) in [
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
    match t.action {
        Action::Upload => argv.extend([s("-T"), t.local()]),
        _ => argv.extend([s("-o"), t.local()]),
    }
    argv.push(t.url(t.scheme()));
    Invocation::new(argv)
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
}
