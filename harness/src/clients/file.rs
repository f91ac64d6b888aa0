//! Client files: the documented TOML interface for any other command-line client.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::adapter::{version_line, ClientAdapter, Invocation, Launch, Target};
use crate::error::{from_toml, line_col, Error, Result};
use crate::scenario::{Action, Mode, Setting};

/// A client file: the documented interface for any other client.
///
/// ```toml
/// name = "myclient"
/// version_command = "myclient --version"        # optional
/// [actions]          # placeholders: {host} {port} {user} {password} {path} {local_file}
/// list     = "myclient ls ftp://{host}:{port}{path}"
/// download = "myclient get ftp://{user}:{password}@{host}:{port}{path} -o {local_file}"
/// upload   = "myclient put {local_file} ftp://{user}:{password}@{host}:{port}{path}"
/// [settings]         # appended when a scenario needs the setting; a missing key = unsupported
/// active        = "--active"
/// port_range    = "--port-range {min}-{max}"
/// external_ip   = "--external-ip {ip}"
/// force_pasv_ip = "--force-ip"
/// disable_epsv  = "--no-epsv"
/// ftps_explicit = "--ftps"
/// ftps_implicit = "--ftps-implicit"
/// ccc           = "--ccc"
/// trust_cert    = "--cacert {ca_file}"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    /// The client's name in results.
    pub name: String,
    /// A command that prints its version.
    pub version_command: Option<String>,
    /// The command line of each action it can do.
    pub actions: ActionTemplates,
    /// The arguments to append for each setting it can follow.
    #[serde(default)]
    pub settings: SettingTemplates,
}

/// `[actions]`: a command template per action.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionTemplates {
    /// List `{path}` into `{local_file}`.
    pub list: Option<Spanned<String>>,
    /// Download `{path}` to `{local_file}`.
    pub download: Option<Spanned<String>>,
    /// Upload `{local_file}` to `{path}`.
    pub upload: Option<Spanned<String>>,
}

/// `[settings]`: arguments appended when a case needs the setting; a missing key means the
/// client cannot follow it (the case is `unsupported`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingTemplates {
    /// Active mode (PORT/EPRT).
    pub active: Option<Spanned<String>>,
    /// Trust the test CA `{ca_file}` (under FTPS).
    pub trust_cert: Option<Spanned<String>>,
    /// `port_range` (`{min}`, `{max}`).
    pub port_range: Option<Spanned<String>>,
    /// `external_ip` (`{ip}`).
    pub external_ip: Option<Spanned<String>>,
    /// `force_pasv_ip`.
    pub force_pasv_ip: Option<Spanned<String>>,
    /// `disable_epsv`.
    pub disable_epsv: Option<Spanned<String>>,
    /// `prefer_epsv`.
    pub prefer_epsv: Option<Spanned<String>>,
    /// `disable_eprt`.
    pub disable_eprt: Option<Spanned<String>>,
    /// `ftps_explicit`.
    pub ftps_explicit: Option<Spanned<String>>,
    /// `ftps_implicit`.
    pub ftps_implicit: Option<Spanned<String>>,
    /// `ccc`.
    pub ccc: Option<Spanned<String>>,
}

const PLACEHOLDERS: [&str; 10] = [
    "host",
    "port",
    "user",
    "password",
    "path",
    "local_file",
    "min",
    "max",
    "ip",
    "ca_file",
];

impl ActionTemplates {
    fn get(&self, a: Action) -> Option<&Spanned<String>> {
        match a {
            Action::List => self.list.as_ref(),
            Action::Download => self.download.as_ref(),
            Action::Upload => self.upload.as_ref(),
        }
    }
}

impl SettingTemplates {
    fn get(&self, s: Setting) -> Option<&Spanned<String>> {
        match s {
            Setting::DisableEpsv => self.disable_epsv.as_ref(),
            Setting::PreferEpsv => self.prefer_epsv.as_ref(),
            Setting::DisableEprt => self.disable_eprt.as_ref(),
            Setting::ForcePasvIp => self.force_pasv_ip.as_ref(),
            Setting::PortRange => self.port_range.as_ref(),
            Setting::ExternalIp => self.external_ip.as_ref(),
            Setting::FtpsExplicit => self.ftps_explicit.as_ref(),
            Setting::FtpsImplicit => self.ftps_implicit.as_ref(),
            Setting::Ccc => self.ccc.as_ref(),
        }
    }

    /// Every template given, with its key.
    fn all(&self) -> impl Iterator<Item = (&'static str, &Spanned<String>)> {
        let named = Setting::ALL.map(|s| (s.as_str(), self.get(s)));
        [
            ("active", self.active.as_ref()),
            ("trust_cert", self.trust_cert.as_ref()),
        ]
        .into_iter()
        .chain(named)
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }
}

impl ClientFile {
    /// Reads and checks a client file; errors name the file, line and column.
    pub fn read(path: &Path) -> Result<ClientFile> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
            path: path.to_owned(),
            error,
        })?;
        let origin = path.display().to_string();
        let file: ClientFile = from_toml(&origin, &text)?;
        file.check(&origin, &text)?;
        Ok(file)
    }

    fn check(&self, origin: &str, text: &str) -> Result<()> {
        let actions = Action::ALL.map(|a| (a.as_str(), self.actions.get(a)));
        let actions = actions.into_iter().filter_map(|(k, v)| v.map(|v| (k, v)));
        let mut any = false;
        for (section, key, template) in actions
            .map(|(k, v)| ("actions", k, v))
            .chain(self.settings.all().map(|(k, v)| ("settings", k, v)))
        {
            any |= section == "actions";
            check_template(template.get_ref()).map_err(|message| {
                let (line, column) = line_col(text, template.span().start);
                Error::Invalid {
                    origin: origin.to_owned(),
                    line,
                    column,
                    message: format!("{section}.{key}: {message}"),
                }
            })?;
        }
        if !any {
            return Err(Error::Invalid {
                origin: origin.to_owned(),
                line: 0,
                column: 0,
                message: "[actions] needs at least one of list, download, upload".into(),
            });
        }
        Ok(())
    }

    fn invocation(&self, t: &Target) -> Invocation {
        let vars = placeholders(t);
        let expand = |text: &str| -> Vec<String> {
            shlex::split(text)
                .unwrap_or_default()
                .into_iter()
                .map(|arg| {
                    let mut a = arg;
                    for (k, v) in &vars {
                        a = a.replace(&format!("{{{k}}}"), v);
                    }
                    a
                })
                .collect()
        };
        let template = self.actions.get(t.action).map(|v| v.get_ref().as_str());
        let mut argv = expand(template.unwrap_or_default());
        let mut extra = Vec::new();
        if t.mode == Mode::Active {
            extra.extend(self.settings.active.as_ref());
        }
        extra.extend(t.settings.iter().filter_map(|s| self.settings.get(*s)));
        if t.ftps() {
            extra.extend(self.settings.trust_cert.as_ref());
        }
        for v in extra {
            argv.extend(expand(v.get_ref()));
        }
        Invocation::new(argv)
    }
}

/// The placeholders' values for a target.
fn placeholders(t: &Target) -> BTreeMap<&'static str, String> {
    let ca = t.ca_file.as_ref().map(|c| c.display().to_string());
    [
        ("host", t.host.to_string()),
        ("port", t.port.to_string()),
        ("user", t.user.clone()),
        ("password", t.password.clone()),
        ("path", t.path.clone()),
        ("local_file", t.local()),
        ("min", t.active_ports.start().to_string()),
        ("max", t.active_ports.end().to_string()),
        ("ip", t.announced_addr().to_string()),
        ("ca_file", ca.unwrap_or_default()),
    ]
    .into_iter()
    .collect()
}

impl ClientAdapter for ClientFile {
    fn name(&self) -> &str {
        &self.name
    }
    fn program(&self) -> Option<String> {
        [Action::Download, Action::List, Action::Upload]
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
        let all = Setting::ALL.into_iter();
        all.filter(|s| self.settings.get(*s).is_some()).collect()
    }
    fn active_mode(&self) -> bool {
        self.settings.active.is_some()
    }
    fn launch(&self, t: &Target) -> Launch {
        Launch::Command(self.invocation(t))
    }
}

fn check_template(text: &str) -> std::result::Result<(), String> {
    if shlex::split(text).is_none_or(|v| v.is_empty()) {
        return Err(format!("{text:?} is not a command line"));
    }
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("unclosed {{ in {text:?}"));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; the placeholders are {}",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
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

    #[test]
    fn client_files() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.toml");
        std::fs::write(
            &good,
            "name = \"my\"\n[actions]\ndownload = \"my get ftp://{host}:{port}{path} -o {local_file}\"\n[settings]\nactive = \"--active\"\nport_range = \"--ports {min}-{max}\"\n",
        )
        .unwrap();
        let c = Client::from_file(&good).unwrap();
        assert_eq!(
            c.unsupported(Action::Upload, Mode::Passive, &[]),
            Some("my cannot upload".into())
        );
        assert_eq!(
            c.unsupported(Action::Download, Mode::Active, &[Setting::PortRange]),
            None
        );
        let inv = c
            .invocation(&target(
                Action::Download,
                Mode::Active,
                &[Setting::PortRange],
            ))
            .unwrap();
        assert_eq!(
            inv.argv,
            [
                "my",
                "get",
                "ftp://203.0.113.1:21/gen/64K",
                "-o",
                "/tmp/x/out.bin",
                "--active",
                "--ports",
                "50100-50110"
            ]
        );
        let bad = dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            "name = \"my\"\n[actions]\ndownload = \"my get {url}\"\n",
        )
        .unwrap();
        let e = Client::from_file(&bad).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml:3:12") && e.contains("unknown placeholder {url}"),
            "{e}"
        );
        std::fs::write(&bad, "name = \"my\"\nactons = 1\n").unwrap();
        let e = Client::from_file(&bad).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml:2:1") && e.contains("unknown field `actons`"),
            "{e}"
        );
        std::fs::write(
            &bad,
            "name = \"my\"\n[actions]\nlist = \"x\"\n[settings]\nforce_ip = \"-f\"\n",
        )
        .unwrap();
        let e = Client::from_file(&bad).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml:5:1") && e.contains("unknown field `force_ip`, expected one of"),
            "{e}"
        );
    }
}
