//! Client files: the documented TOML interface for any other command-line client.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::adapter::{version_line, ClientAdapter, Invocation, Launch, Target};
use crate::error::{from_toml, Error, Result};
use crate::scenario::{Action, Mode, Setting};
use crate::template;

/// A client file: the documented interface for any other command-line client.
///
/// ```toml
/// name = "myclient"
/// version_command = "myclient --version"        # optional
/// [actions]          # a command line per action it can do; placeholders below
/// list     = "myclient ls {url}"                # no {local_file}: the listing is its stdout
/// download = "myclient get {url} -o {local_file}"
/// upload   = "myclient put {local_file} {url}"
/// session  = "myclient --batch {script_file} {url}"   # several steps, one connection
/// mirror   = "myclient mirror {url} {local_dir}"      # a directory tree, recursively
/// [settings]         # appended (or put at {settings}) when a case needs them
/// active        = "--active"
/// "active+port_range" = "--active={ip}:{min}-{max}"   # one option for both settings
/// disable_epsv  = "--no-epsv"
/// force_pasv_ip = true                          # always does it: nothing to add
/// ftps_explicit = "--ftps"
/// ftps_implicit = true                          # {url} says ftps:// already
/// trust_cert    = "--cacert {ca_file}"
/// keepalive     = "--keepalive {secs}"          # keep the control connection alive
/// resume        = "--continue"                  # continue the partial local file
/// ascii         = "--ascii"                     # TYPE A, lines written with LF
/// ```
///
/// Placeholders: `{url}` (`ftp://` or, for implicit FTPS, `ftps://`, with user, password,
/// host in brackets when IPv6, port and path; a listing's path ends in `/`), `{scheme}`,
/// `{host}`, `{url_host}`, `{port}`, `{user}`, `{password}`, `{path}`, `{local_file}`,
/// `{timeout}`, `{connect_timeout}` and `{reply_timeout}` (seconds; how long to wait for a
/// reply: the connect timeout unless the scenario gives `reply_timeout_secs`), `{min}` `{max}` (the active port range),
/// `{ip}` (the address to announce: the public one under `external_ip`), `{ca_file}`,
/// `{script_file}` (a session's steps, one a line: `list PATH`, `download PATH LOCAL_FILE`,
/// `upload LOCAL_FILE PATH`), `{local_dir}` (where a mirror writes the tree: the directory's
/// contents go directly in it; it exists, empty), `{secs}` (how often `keepalive` keeps the
/// control connection alive, in seconds), and in actions `{settings}` (where the settings'
/// arguments go; default: at the end). In a session, `{url}` and `{path}` name the server's
/// root; for a mirror, `{url}` ends in `/`.
///
/// A missing setting makes the cases that need it `unsupported`. A key joining settings with
/// `+` covers them together; the largest key that fits what a case needs is used first, and
/// each setting is covered once. Arguments come in the order their keys stand in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    /// The client's name in results.
    pub name: String,
    /// A command that prints its version.
    pub version_command: Option<String>,
    /// The command line of each action it can do.
    pub actions: ActionTemplates,
    /// What to add for each setting, or combination of settings, it can follow.
    #[serde(default)]
    pub settings: BTreeMap<Spanned<String>, Spanned<SettingValue>>,
}

/// `[actions]`: a command template per action.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionTemplates {
    /// List `{path}`: into `{local_file}` when the template names it, else on stdout.
    pub list: Option<Spanned<String>>,
    /// Download `{path}` to `{local_file}`.
    pub download: Option<Spanned<String>>,
    /// Upload `{local_file}` to `{path}`.
    pub upload: Option<Spanned<String>>,
    /// Run the steps in `{script_file}` on one control connection.
    pub session: Option<Spanned<String>>,
    /// Download the directory `{path}` recursively into `{local_dir}`.
    pub mirror: Option<Spanned<String>>,
}

/// A setting's value in a client file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    /// Arguments to add (a command-line fragment with placeholders).
    Args(String),
    /// `true`: the client always does this; nothing to add.
    AlwaysOn,
}

impl<'de> Deserialize<'de> for SettingValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Args(String),
            Flag(bool),
        }
        match Raw::deserialize(d)? {
            Raw::Args(a) => Ok(SettingValue::Args(a)),
            Raw::Flag(true) => Ok(SettingValue::AlwaysOn),
            Raw::Flag(false) => Err(serde::de::Error::custom(
                "`false` declares nothing: leave the setting out when the client cannot follow it",
            )),
        }
    }
}

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 20] = [
    "url",
    "scheme",
    "host",
    "url_host",
    "port",
    "user",
    "password",
    "path",
    "local_file",
    "min",
    "max",
    "ip",
    "ca_file",
    "timeout",
    "connect_timeout",
    "reply_timeout",
    "script_file",
    "local_dir",
    "secs",
    "settings",
];

/// Setting names that are not [`Setting`]s: active mode, and trusting the test CA.
const ACTIVE: &str = "active";
const TRUST_CERT: &str = "trust_cert";

impl ActionTemplates {
    fn get(&self, a: Action) -> Option<&Spanned<String>> {
        match a {
            Action::List => self.list.as_ref(),
            Action::Download => self.download.as_ref(),
            Action::Upload => self.upload.as_ref(),
            Action::Session => self.session.as_ref(),
            Action::Mirror => self.mirror.as_ref(),
        }
    }
}

/// A `[settings]` key: the names it covers.
fn key_names(key: &str) -> Vec<&str> {
    key.split('+').map(str::trim).collect()
}

impl ClientFile {
    /// Reads and checks a client file; errors name the file, line and column.
    pub fn read(path: &Path) -> Result<ClientFile> {
        let text = std::fs::read_to_string(path).map_err(crate::error::io_at(path))?;
        let origin = path.display().to_string();
        let file: ClientFile = from_toml(&origin, &text)?;
        file.check(&origin, &text)?;
        Ok(file)
    }

    fn check(&self, origin: &str, text: &str) -> Result<()> {
        let at = |span: std::ops::Range<usize>, message: String| {
            Error::at(origin, text, span.start, message)
        };
        let actions: Vec<_> = Action::ALL
            .into_iter()
            .filter_map(|a| self.actions.get(a).map(|t| (a, t)))
            .collect();
        if actions.is_empty() {
            return Err(Error::Invalid {
                origin: origin.to_owned(),
                line: 0,
                column: 0,
                message: "[actions] needs at least one of list, download, upload, session, mirror"
                    .into(),
            });
        }
        for (a, t) in actions {
            check_template(t.get_ref(), true)
                .map_err(|m| at(t.span(), format!("actions.{a}: {m}")))?;
        }
        for (key, value) in &self.settings {
            check_key(key.get_ref()).map_err(|m| at(key.span(), format!("settings: {m}")))?;
            if let SettingValue::Args(t) = value.get_ref() {
                check_template(t, false)
                    .map_err(|m| at(value.span(), format!("settings.{}: {m}", key.get_ref())))?;
            }
        }
        Ok(())
    }

    /// The settings keys that cover what a case needs (active mode and the settings), in
    /// file order; or the names nothing covers.
    fn plan(
        &self,
        mode: Mode,
        settings: &[Setting],
    ) -> std::result::Result<Vec<&Spanned<String>>, Vec<String>> {
        let mut needed: Vec<&str> = settings.iter().map(|s| s.as_str()).collect();
        if mode == Mode::Active {
            needed.push(ACTIVE);
        }
        let mut keys: Vec<&Spanned<String>> = self.settings.keys().collect();
        // Largest first; among equals, the one that stands first in the file.
        keys.sort_by_key(|k| {
            (
                std::cmp::Reverse(key_names(k.get_ref()).len()),
                k.span().start,
            )
        });
        let mut chosen = Vec::new();
        for key in keys {
            let names = key_names(key.get_ref());
            if names.iter().all(|n| needed.contains(n)) {
                needed.retain(|n| !names.contains(n));
                chosen.push(key);
            }
        }
        if needed.contains(&ACTIVE) {
            return Err(vec!["active mode".into()]);
        }
        if !needed.is_empty() {
            return Err(needed.into_iter().map(str::to_owned).collect());
        }
        chosen.sort_by_key(|k| k.span().start);
        Ok(chosen)
    }

    fn invocation(&self, t: &Target) -> Invocation {
        let vars = placeholders(t);
        let expand = |text: &str| -> Vec<String> {
            shlex::split(text)
                .unwrap_or_default()
                .into_iter()
                .map(|arg| template::expand(&arg, &vars))
                .collect()
        };
        let mut keys = self.plan(t.mode, &t.settings).unwrap_or_default();
        if t.ftps() {
            keys.extend(self.settings.get_key_value(TRUST_CERT).map(|(k, _)| k));
        }
        let mut extra = Vec::new();
        for key in keys {
            if let Some(SettingValue::Args(a)) = self.settings.get(key).map(|v| v.get_ref()) {
                extra.extend(expand(a));
            }
        }
        let template = self
            .actions
            .get(t.action)
            .map_or("", |v| v.get_ref().as_str());
        let mut argv = Vec::new();
        let mut placed = false;
        for arg in expand(template) {
            if arg == "{settings}" {
                argv.append(&mut extra);
                placed = true;
            } else {
                argv.push(arg);
            }
        }
        if !placed {
            argv.append(&mut extra);
        }
        let mut inv = Invocation::new(argv);
        inv.listing_on_stdout = t.action == Action::List && !template.contains("{local_file}");
        inv
    }
}

/// The placeholders' values for a target.
fn placeholders(t: &Target) -> Vec<(&'static str, String)> {
    let ca = t.ca_file.as_ref().map(|c| c.display().to_string());
    [
        ("url", t.url(t.scheme())),
        ("scheme", t.scheme().to_owned()),
        ("host", t.host.to_string()),
        ("url_host", t.url_host()),
        ("port", t.port.to_string()),
        ("user", t.user.clone()),
        ("password", t.password.clone()),
        ("path", t.path.clone()),
        ("local_file", t.local()),
        ("min", t.active_ports.start().to_string()),
        ("max", t.active_ports.end().to_string()),
        ("ip", t.announced_addr().to_string()),
        ("ca_file", ca.unwrap_or_default()),
        ("timeout", t.secs().to_string()),
        ("connect_timeout", t.connect_secs().to_string()),
        ("reply_timeout", t.reply_secs().to_string()),
        ("script_file", t.script()),
        ("local_dir", t.dir()),
        ("secs", t.keepalive_secs().to_string()),
    ]
    .into_iter()
    .collect()
}

impl ClientAdapter for ClientFile {
    fn name(&self) -> &str {
        &self.name
    }
    fn program(&self) -> Option<String> {
        [
            Action::Download,
            Action::List,
            Action::Upload,
            Action::Session,
            Action::Mirror,
        ]
        .into_iter()
        .find_map(|a| self.actions.get(a))
        .and_then(|t| shlex::split(t.get_ref()))
        .and_then(|v| v.into_iter().next())
    }
    fn version(&self) -> String {
        let argv = self
            .version_command
            .as_deref()
            .and_then(shlex::split)
            .unwrap_or_default();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        if argv.is_empty() {
            "unknown".into()
        } else {
            version_line(&argv)
        }
    }
    fn actions(&self) -> Vec<Action> {
        let all = Action::ALL.into_iter();
        all.filter(|a| self.actions.get(*a).is_some()).collect()
    }
    fn settings(&self) -> Vec<Setting> {
        let covered: Vec<&str> = self
            .settings
            .keys()
            .flat_map(|k| key_names(k.get_ref()))
            .collect();
        let all = Setting::ALL.into_iter();
        all.filter(|s| covered.contains(&s.as_str())).collect()
    }
    fn active_mode(&self) -> bool {
        self.plan(Mode::Active, &[]).is_ok()
    }
    fn lacks(&self, mode: Mode, settings: &[Setting]) -> Vec<String> {
        self.plan(mode, settings).err().unwrap_or_default()
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(self.invocation(t))
    }
}

/// A `[settings]` key: setting names joined with `+`, each once; `trust_cert` alone.
fn check_key(key: &str) -> std::result::Result<(), String> {
    let names = key_names(key);
    for (i, n) in names.iter().enumerate() {
        if *n != ACTIVE && *n != TRUST_CERT && Setting::from_name(n).is_none() {
            let known: Vec<&str> = [ACTIVE, TRUST_CERT]
                .into_iter()
                .chain(Setting::ALL.map(|s| s.as_str()))
                .collect();
            return Err(format!(
                "unknown setting {n:?} in {key:?}; the settings are {} (join several with +)",
                known.join(", ")
            ));
        }
        if names[..i].contains(n) {
            return Err(format!("{key:?} names {n} twice"));
        }
    }
    if names.len() > 1 && names.contains(&TRUST_CERT) {
        return Err(format!("{key:?}: trust_cert stands alone"));
    }
    Ok(())
}

/// A template: a command line, with known placeholders (`{settings}` in actions only).
fn check_template(text: &str, action: bool) -> std::result::Result<(), String> {
    if shlex::split(text).is_none_or(|v| v.is_empty()) {
        let hint = if action {
            ""
        } else {
            "; for a client that always does this, write `true`"
        };
        return Err(format!("{text:?} is not a command line{hint}"));
    }
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("unclosed {{ in {text:?}"));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) || (name == "settings" && !action) {
            let list: Vec<String> = PLACEHOLDERS.map(|p| format!("{{{p}}}")).to_vec();
            return Err(format!(
                "unknown placeholder {{{name}}}; the placeholders are {} ({{settings}} in actions only)",
                list.join(" ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::tests::target;
    use crate::clients::Client;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn argv(c: &Client, t: &Target) -> String {
        c.invocation(t).unwrap().argv.join(" ")
    }

    #[test]
    fn templates_settings_and_support() {
        let (_d, good) = write(
            "name = \"my\"\n[actions]\ndownload = \"my get ftp://{host}:{port}{path} -o {local_file}\"\n[settings]\nactive = \"--active\"\nport_range = \"--ports {min}-{max}\"\n",
        );
        let c = Client::from_file(&good).unwrap();
        assert_eq!(
            c.unsupported(Action::Upload, Mode::Passive, &[]),
            Some("my cannot upload".into())
        );
        assert_eq!(
            c.unsupported(Action::Download, Mode::Active, &[Setting::PortRange]),
            None
        );
        assert_eq!(
            c.unsupported(Action::Download, Mode::Passive, &[Setting::Ccc]),
            Some("my has no setting for ccc".into())
        );
        let t = target(Action::Download, Mode::Active, &[Setting::PortRange]);
        assert_eq!(
            argv(&c, &t),
            "my get ftp://203.0.113.1:21/gen/64K -o /tmp/x/out.bin --active --ports 50100-50110"
        );
    }

    #[test]
    fn settings_combine_and_may_be_always_on() {
        let (_d, path) = write(concat!(
            "name = \"c\"\n[actions]\ndownload = \"c {settings} -o {local_file} {url}\"\n",
            "[settings]\nactive = \"-P -\"\n\"active+external_ip\" = \"-P {ip}\"\n",
            "\"active + port_range\" = \"-P {ip}:{min}-{max}\"\n",
            "\"active+external_ip+port_range\" = \"-P {ip}:{min}-{max}\"\n",
            "force_pasv_ip = true\nftps_implicit = true\ntrust_cert = \"--cacert {ca_file}\"\n",
        ));
        let c = Client::from_file(&path).unwrap();
        let line = |mode, settings: &[Setting]| argv(&c, &target(Action::Download, mode, settings));
        let tail = "-o /tmp/x/out.bin ftp://test:test@203.0.113.1:21/gen/64K";
        assert_eq!(line(Mode::Active, &[]), format!("c -P - {tail}"));
        let both = [Setting::ExternalIp, Setting::PortRange];
        assert_eq!(
            line(Mode::Active, &both),
            format!("c -P 198.51.100.1:50100-50110 {tail}")
        );
        assert_eq!(
            line(Mode::Active, &[Setting::PortRange]),
            format!("c -P 192.168.1.2:50100-50110 {tail}")
        );
        assert_eq!(
            line(Mode::Passive, &[Setting::ForcePasvIp]),
            format!("c {tail}")
        );
        assert_eq!(
            line(Mode::Passive, &[Setting::FtpsImplicit]),
            "c --cacert /tmp/x/ca.pem -o /tmp/x/out.bin ftps://test:test@203.0.113.1:21/gen/64K"
        );
        // external_ip alone (passive) has no key of its own.
        assert_eq!(
            c.unsupported(Action::Download, Mode::Passive, &[Setting::ExternalIp]),
            Some("c has no setting for external_ip".into())
        );
    }

    #[test]
    fn urls_listings_on_stdout_and_ipv6() {
        let (_d, path) = write("name = \"c\"\n[actions]\nlist = \"c ls {url}\"\ndownload = \"c get {url} {local_file}\"\n");
        let c = Client::from_file(&path).unwrap();
        let mut t = target(Action::List, Mode::Passive, &[]);
        t.host = "fd00:f7::20".parse().unwrap();
        t.path = "/pub".into();
        let inv = c.invocation(&t).unwrap();
        assert_eq!(
            inv.argv.join(" "),
            "c ls ftp://test:test@[fd00:f7::20]:21/pub/"
        );
        assert!(inv.listing_on_stdout);
        t.action = Action::Download;
        assert!(!c.invocation(&t).unwrap().listing_on_stdout);
    }

    #[test]
    fn a_session_gets_the_script_file() {
        let (_d, path) =
            write("name = \"c\"\n[actions]\nsession = \"c --batch {script_file} {url}\"\n");
        let c = Client::from_file(&path).unwrap();
        assert_eq!(c.unsupported(Action::Session, Mode::Passive, &[]), None);
        assert_eq!(
            c.unsupported(Action::Download, Mode::Passive, &[]),
            Some("c cannot download".into())
        );
        let mut t = crate::clients::tests::session_target(&[]);
        t.path = "/".into();
        assert_eq!(
            argv(&c, &t),
            "c --batch /tmp/x/steps.txt ftp://test:test@203.0.113.1:21/"
        );
    }

    #[test]
    fn mirrors_and_the_transfer_settings() {
        let (_d, path) = write(concat!(
            "name = \"c\"\n[actions]\ndownload = \"c get {url} {local_file}\"\n",
            "mirror = \"c mirror {url} {local_dir}\"\n[settings]\n",
            "keepalive = \"--noop-every {secs}\"\nresume = \"--continue\"\nascii = \"--text\"\n",
        ));
        let c = Client::from_file(&path).unwrap();
        let mut t = target(Action::Mirror, Mode::Passive, &[]);
        t.path = "/music".into();
        assert_eq!(
            argv(&c, &t),
            "c mirror ftp://test:test@203.0.113.1:21/music/ /tmp/x/mirror"
        );
        let all = [Setting::Keepalive, Setting::Resume, Setting::Ascii];
        let t = target(Action::Download, Mode::Passive, &all);
        assert_eq!(
            argv(&c, &t),
            "c get ftp://test:test@203.0.113.1:21/gen/64K /tmp/x/out.bin --noop-every 5 --continue --text"
        );
        let (_d, path) = write("name = \"c\"\n[actions]\ndownload = \"c {url} {local_file}\"\n");
        let c = Client::from_file(&path).unwrap();
        assert_eq!(
            c.unsupported(Action::Mirror, Mode::Passive, &[]),
            Some("c cannot download a directory tree recursively".into())
        );
        assert_eq!(
            c.unsupported(Action::Download, Mode::Passive, &all),
            Some("c has no setting for keepalive, resume, ascii".into())
        );
    }

    #[test]
    fn bad_files_are_refused_at_line_and_column() {
        let cases = [
            (
                "name = \"my\"\n[actions]\ndownload = \"my get {uri}\"\n",
                "c.toml:3:12",
                "unknown placeholder {uri}",
            ),
            (
                "name = \"my\"\nactons = 1\n",
                "c.toml:2:1",
                "unknown field `actons`",
            ),
            (
                "name = \"my\"\n[actions]\nlist = \"x\"\n[settings]\nforce_ip = \"-f\"\n",
                "c.toml:5:1",
                "unknown setting \"force_ip\"",
            ),
            (
                "name = \"my\"\n[actions]\nlist = \"x\"\n[settings]\nccc = false\n",
                "c.toml:5:7",
                "leave the setting out",
            ),
            (
                "name = \"my\"\n[actions]\nlist = \"x\"\n[settings]\nccc = \"\"\n",
                "c.toml:5:7",
                "write `true`",
            ),
            (
                "name = \"my\"\n[actions]\nlist = \"x\"\n[settings]\n\"ccc+ccc\" = \"-c\"\n",
                "c.toml:5:1",
                "names ccc twice",
            ),
            (
                "name = \"my\"\n[actions]\nlist = \"x\"\n[settings]\nccc = \"{settings}\"\n",
                "c.toml:5:7",
                "in actions only",
            ),
            (
                "name = \"my\"\n[actions]\n",
                "c.toml:0:0",
                "needs at least one of list",
            ),
        ];
        for (text, at, what) in cases {
            let (_d, path) = write(text);
            let e = Client::from_file(&path).unwrap_err().to_string();
            assert!(e.contains(at) && e.contains(what), "{text}: {e}");
        }
    }
}
