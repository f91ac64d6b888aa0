//! lftp: driven with `lftp -c` and a script of `set` commands.

use super::adapter::{s, version_line, ClientAdapter, Invocation, Launch, Target};
use crate::scenario::{Action, Mode, Setting};

/// lftp, the command-line program.
pub struct Lftp;

impl Lftp {
    /// Its name in results.
    pub const NAME: &'static str = "lftp";
}

impl ClientAdapter for Lftp {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("lftp".into())
    }
    fn version(&self) -> String {
        version_line(&["lftp", "--version"])
    }
    fn actions(&self) -> Vec<Action> {
        // A session: one command script, so every step uses the same connection. A mirror:
        // `mirror`, which walks the listings.
        Action::ALL.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // No keepalive: lftp sends NOOP only once the 226 is in while data is still
        // arriving (ftp:nop-interval), never while it waits for the 226, and it turns on
        // SO_KEEPALIVE with the system's timers (2 hours) and no setting of its own.
        // retry: lftp reconnects by itself (net:max-retries, net:reconnect-interval-*).
        let mut all = Setting::CONNECTION.to_vec();
        all.extend([Setting::Resume, Setting::Ascii, Setting::Retry]);
        all
    }
    fn launch(&self, t: &Target) -> Launch {
        let steps: Vec<String> = match t.action {
            Action::Session => t
                .steps
                .iter()
                .map(|st| command(t, st.action, &st.path, &st.local()))
                .collect(),
            Action::Mirror => vec![command(t, t.action, &t.path, &t.dir())],
            _ => vec![command(t, t.action, &t.path, &t.local())],
        };
        let script = format!(
            "{}; {}; {}",
            settings(t).join("; "),
            open(t),
            steps.join("; ")
        );
        Launch::Command(Invocation::new(vec![s("lftp"), s("-c"), script]))
    }
}

/// The `set` commands: fail fast, and the case's settings.
fn settings(t: &Target) -> Vec<String> {
    // net:max-retries counts tries: 1 is no retry; with `retry`, the first try and three more,
    // a second apart.
    let tries = if t.has(Setting::Retry) {
        t.retries() + 1
    } else {
        1
    };
    let mut sets = vec![
        s("set cmd:fail-exit yes"),
        format!("set net:max-retries {tries}"),
        format!("set net:timeout {}", t.reply_secs()),
        format!("set net:reconnect-interval-base {}", t.retry_delay_secs()),
        s("set net:reconnect-interval-multiplier 1"),
        s("set xfer:clobber yes"),
    ];
    if t.mode == Mode::Active {
        sets.push(s("set ftp:passive-mode off"));
    }
    if t.has(Setting::PortRange) {
        let (min, max) = (t.active_ports.start(), t.active_ports.end());
        sets.push(format!("set ftp:port-range {min}-{max}"));
    }
    if t.has(Setting::ExternalIp) {
        sets.push(format!("set ftp:port-ipv4 {}", t.client_public_addr));
    }
    for (setting, set) in [
        (Setting::ForcePasvIp, "set ftp:ignore-pasv-address yes"),
        (Setting::DisableEpsv, "set ftp:prefer-epsv no"),
        (Setting::PreferEpsv, "set ftp:prefer-epsv yes"),
        (Setting::FtpsExplicit, "set ftp:ssl-force yes"),
        (Setting::FtpsExplicit, "set ftp:ssl-protect-data yes"),
        (Setting::Ccc, "set ftp:ssl-use-ccc yes"),
    ] {
        if t.has(setting) {
            sets.push(s(set));
        }
    }
    if let Some(ca) = t.ca_for_ftps() {
        sets.push(format!("set ssl:ca-file {ca}"));
    }
    sets
}

fn open(t: &Target) -> String {
    if t.has(Setting::FtpsImplicit) {
        let url = format!("ftps://{}:{}", t.url_host(), t.port);
        format!("open -u {},{} {url}", t.user, t.password)
    } else {
        format!("open -u {},{} -p {} {}", t.user, t.password, t.port, t.host)
    }
}

/// The lftp command of one transfer (`local`: a mirror's directory).
fn command(t: &Target, action: Action, path: &str, local: &str) -> String {
    // -c: continue (reget, REST from the local size); -a: TYPE A, lines written with LF.
    let opts: String = [(Setting::Resume, " -c"), (Setting::Ascii, " -a")]
        .iter()
        .filter(|(setting, _)| t.has(*setting))
        .map(|(_, o)| *o)
        .collect();
    match action {
        Action::Download => format!("get{opts} {path} -o {local}"),
        Action::Upload => format!("put {local} -o {path}"),
        Action::Mirror => format!("mirror {path} {local}"),
        Action::List | Action::Session => format!("ls {path} > {local}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    fn script(t: &Target) -> String {
        let Launch::Command(inv) = Lftp.launch(t) else {
            panic!("lftp is a command")
        };
        inv.argv[2].clone()
    }

    #[test]
    fn resume_ascii_and_mirror() {
        let settings = [Setting::Resume, Setting::Ascii];
        let line = script(&target(Action::Download, Mode::Passive, &settings));
        assert!(line.ends_with("; get -c -a /gen/64K -o /tmp/x/out.bin"), "{line}");
        let line = script(&target(Action::Download, Mode::Passive, &[]));
        assert!(line.ends_with("; get /gen/64K -o /tmp/x/out.bin"), "{line}");
        let mut t = target(Action::Mirror, Mode::Passive, &[]);
        t.path = "/music".into();
        let line = script(&t);
        assert!(line.ends_with("; mirror /music /tmp/x/mirror"), "{line}");
        assert!(!Lftp.settings().contains(&Setting::Keepalive));
    }

    #[test]
    fn retry_lets_lftp_try_again() {
        let line = script(&target(Action::Download, Mode::Passive, &[Setting::Retry]));
        assert!(line.contains("set net:max-retries 4;"), "{line}");
        assert!(line.contains("set net:reconnect-interval-base 1;"), "{line}");
        let line = script(&target(Action::Download, Mode::Passive, &[]));
        assert!(line.contains("set net:max-retries 1;"), "{line}");
    }

    #[test]
    fn a_session_is_one_script() {
        let t = crate::clients::tests::session_target(&[]);
        let Launch::Command(inv) = Lftp.launch(&t) else {
            panic!("lftp is a command")
        };
        let script = &inv.argv[2];
        assert!(
            script.ends_with(
                "ls /pub > /tmp/x/step1.txt; get /gen/64K -o /tmp/x/step2.bin; put /tmp/x/step3.bin -o /incoming/s3.bin"
            ),
            "{script}"
        );
    }
}
