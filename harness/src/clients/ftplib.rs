//! Python's ftplib, through a small script shipped in the crate (`ftplib_client.py`).

use super::adapter::{
    flags_where, s, script_invocation, version_line, ClientAdapter, Launch, Target,
};
use crate::scenario::{Action, Mode, Setting};

const SCRIPT: &str = include_str!("scripts/ftplib_client.py");

/// Python's ftplib.
pub struct Ftplib;

impl Ftplib {
    /// Its name in results.
    pub const NAME: &'static str = "python-ftplib";
}

impl ClientAdapter for Ftplib {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn program(&self) -> Option<String> {
        Some("python3".into())
    }
    fn version(&self) -> String {
        version_line(&["python3", "--version"])
    }
    fn actions(&self) -> Vec<Action> {
        Action::ALL.to_vec()
    }
    fn settings(&self) -> Vec<Setting> {
        // ftplib ignores the 227 address by default (trust_server_pasv_ipv4_address = False).
        // keepalive: TCP keepalive set on its control socket (ftplib has no NOOP of its
        // own); resume: retrbinary(rest=size); ascii: retrlines, lines written with LF.
        use Setting::*;
        vec![
            DisableEpsv,
            DisableEprt,
            ForcePasvIp,
            FtpsExplicit,
            Ccc,
            Keepalive,
            Resume,
            Ascii,
        ]
    }
    fn launch(&self, t: &Target) -> Launch {
        let mut flags = flags_where(&[
            (t.mode == Mode::Active, "active"),
            (t.has(Setting::FtpsExplicit), "ftps"),
            (t.has(Setting::Ccc), "ccc"),
            (t.has(Setting::Resume), "resume"),
            (t.has(Setting::Ascii), "ascii"),
        ]);
        if t.has(Setting::Keepalive) {
            flags.push(format!("keepalive={}", t.keepalive_secs()));
        }
        let program = vec![s("python3"), s("-c"), s(SCRIPT)];
        Launch::Command(script_invocation(program, t, &flags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;

    fn args(t: &Target) -> Vec<String> {
        let Launch::Command(inv) = Ftplib.launch(t) else {
            panic!("ftplib is a command")
        };
        inv.argv[3..].to_vec()
    }

    #[test]
    fn flags_and_the_mirror_directory() {
        let settings = [Setting::Keepalive, Setting::Resume, Setting::Ascii];
        let a = args(&target(Action::Download, Mode::Passive, &settings));
        assert_eq!(a[6], "/tmp/x/out.bin");
        assert_eq!(a[9], "resume,ascii,keepalive=5");
        let mut t = target(Action::Mirror, Mode::Passive, &[]);
        t.path = "/music".into();
        let a = args(&t);
        assert_eq!(a[4..7], ["mirror", "/music", "/tmp/x/mirror"]);
        assert_eq!(a[9], "");
    }
}
