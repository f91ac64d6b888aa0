//! Server files: the TOML model, its checks (line:column) and rendering.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::setup::{ServerSetting, ServerSetup};
use crate::error::{from_toml, Error, Result};
use crate::template::{expand, placeholders};

/// The placeholders `start` and `config` may use.
const PLACEHOLDERS: [&str; 9] = [
    "port",
    "root",
    "user",
    "password",
    "config_file",
    "cert_file",
    "key_file",
    "ca_file",
    "settings",
];

/// The placeholders only settings may use (and settings may not use `{settings}`).
const SETTING_PLACEHOLDERS: [&str; 3] = ["min", "max", "ip"];

/// A checked server file (see the [module](super) for the format).
#[derive(Debug, Clone)]
pub struct ServerFile {
    /// The server's name in results.
    pub name: String,
    /// A command that prints its version (split like a shell would; not run by a shell).
    pub version_command: Option<String>,
    /// The command that runs it in the foreground (run with `/bin/sh -c`).
    pub start: String,
    /// The configuration written to `{config_file}` before `start` runs.
    pub config: Option<String>,
    /// A snippet per setting it can follow.
    pub settings: BTreeMap<ServerSetting, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: String,
    version_command: Option<String>,
    start: Spanned<String>,
    config: Option<Spanned<String>>,
    #[serde(default)]
    settings: RawSettings,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    pasv_ports: Option<Spanned<String>>,
    external_ip: Option<Spanned<String>>,
    ftps_explicit: Option<Spanned<String>>,
    ftps_implicit: Option<Spanned<String>>,
    require_tls: Option<Spanned<String>>,
    require_session_reuse: Option<Spanned<String>>,
}

impl RawSettings {
    fn get(&self, s: ServerSetting) -> Option<&Spanned<String>> {
        match s {
            ServerSetting::PasvPorts => self.pasv_ports.as_ref(),
            ServerSetting::ExternalIp => self.external_ip.as_ref(),
            ServerSetting::FtpsExplicit => self.ftps_explicit.as_ref(),
            ServerSetting::FtpsImplicit => self.ftps_implicit.as_ref(),
            ServerSetting::RequireTls => self.require_tls.as_ref(),
            ServerSetting::RequireSessionReuse => self.require_session_reuse.as_ref(),
        }
    }
}

impl ServerFile {
    /// Parses and checks a server file's text; errors at `origin:line:column`.
    pub fn parse(origin: &str, text: &str) -> Result<ServerFile> {
        let raw: Raw = from_toml(origin, text)?;
        let check = |value: &Spanned<String>, what: &str, allowed: &[&str]| -> Result<()> {
            for (i, name) in placeholders(value.get_ref()) {
                if !allowed.contains(&name) {
                    let list: Vec<String> = allowed.iter().map(|p| format!("{{{p}}}")).collect();
                    return Err(Error::at(
                        origin,
                        text,
                        source_offset(text, value.span(), value.get_ref(), i, name),
                        format!(
                            "{what}: unknown placeholder {{{name}}}; the placeholders here are {}",
                            list.join(" ")
                        ),
                    ));
                }
            }
            Ok(())
        };
        if raw.name.trim().is_empty() {
            return Err(Error::at(
                origin,
                text,
                0,
                "name: a server needs a name".into(),
            ));
        }
        if shlex::split(raw.start.get_ref()).is_none_or(|v| v.is_empty()) {
            return Err(Error::at(
                origin,
                text,
                raw.start.span().start,
                format!("start: {:?} is not a command line", raw.start.get_ref()),
            ));
        }
        check(&raw.start, "start", &PLACEHOLDERS)?;
        if let Some(c) = &raw.config {
            check(c, "config", &PLACEHOLDERS)?;
        }
        let in_settings: Vec<&str> = PLACEHOLDERS
            .iter()
            .copied()
            .filter(|p| *p != "settings")
            .chain(SETTING_PLACEHOLDERS)
            .collect();
        let mut settings = BTreeMap::new();
        for s in ServerSetting::ALL {
            if let Some(v) = raw.settings.get(s) {
                check(v, &format!("settings.{s}"), &in_settings)?;
                settings.insert(s, v.get_ref().clone());
            }
        }
        Ok(ServerFile {
            name: raw.name,
            version_command: raw.version_command,
            start: raw.start.into_inner(),
            config: raw.config.map(Spanned::into_inner),
            settings,
        })
    }

    /// Reads and checks a server file.
    pub fn read(path: &Path) -> Result<ServerFile> {
        let text = std::fs::read_to_string(path).map_err(crate::error::io_at(path))?;
        ServerFile::parse(&path.display().to_string(), &text)
    }

    /// `start` and `config` rendered for `setup`. An error when a setting is asked for that
    /// the file lacks, or whose value the setup does not give.
    pub fn render(&self, setup: &ServerSetup) -> Result<Rendered> {
        let [cert, key, ca] = setup.tls_paths();
        let path = |p: &Path| p.display().to_string();
        let mut vars = vec![
            ("port", setup.port.to_string()),
            ("root", path(&setup.root)),
            ("user", setup.user.clone()),
            ("password", setup.password.clone()),
            ("config_file", path(&setup.config_file())),
            ("cert_file", path(&cert)),
            ("key_file", path(&key)),
            ("ca_file", path(&ca)),
        ];
        let mut snippets = Vec::new();
        for s in ServerSetting::ALL {
            if !setup.settings.contains(&s) {
                continue;
            }
            let Some(snippet) = self.settings.get(&s) else {
                return Err(Error::Server(format!("{} has no setting {s}", self.name)));
            };
            let mut extra = vec![];
            match s {
                ServerSetting::PasvPorts => {
                    let r = setup.pasv_ports.clone().ok_or_else(|| {
                        Error::Server("pasv_ports needs ServerSetup::pasv_ports".into())
                    })?;
                    extra.push(("min", r.start().to_string()));
                    extra.push(("max", r.end().to_string()));
                }
                ServerSetting::ExternalIp => {
                    let ip = setup.external_ip.ok_or_else(|| {
                        Error::Server("external_ip needs ServerSetup::external_ip".into())
                    })?;
                    extra.push(("ip", ip.to_string()));
                }
                _ if setup.tls.is_none() => {
                    return Err(Error::Server(format!("{s} needs ServerSetup::tls")));
                }
                _ => {}
            }
            let all: Vec<(&str, String)> = vars.iter().cloned().chain(extra).collect();
            snippets.push(expand(snippet, &all));
        }
        let mentions = |t: &str| placeholders(t).any(|(_, n)| n == "settings");
        let in_config = self.config.as_deref().is_some_and(mentions);
        let in_start = mentions(&self.start);
        let mut start_vars = vars.clone();
        start_vars.push(("settings", snippets.join(" ")));
        let mut start = expand(&self.start, &start_vars);
        if !in_config && !in_start && !snippets.is_empty() {
            start.push(' ');
            start.push_str(&snippets.join(" "));
        }
        vars.push(("settings", snippets.join("\n")));
        Ok(Rendered {
            start,
            config: self.config.as_deref().map(|c| expand(c, &vars)),
        })
    }

    /// The version: the first line `version_command` prints (stdout, else stderr), or
    /// `unknown` when there is none or it fails.
    pub fn version(&self) -> String {
        let Some(argv) = self.version_command.as_deref().and_then(shlex::split) else {
            return "unknown".into();
        };
        let Some((program, args)) = argv.split_first() else {
            return "unknown".into();
        };
        let out = std::process::Command::new(program)
            .args(args)
            .env("PATH", search_path())
            .stdin(std::process::Stdio::null())
            .output();
        let Some(out) = out.ok().filter(|o| o.status.success()) else {
            return "unknown".into();
        };
        let text = if out.stdout.iter().any(|b| !b.is_ascii_whitespace()) {
            out.stdout
        } else {
            out.stderr
        };
        String::from_utf8_lossy(&text)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map_or_else(|| "unknown".into(), str::to_owned)
    }

    /// The program `start` runs: the first word (placeholders left as they are), or for
    /// `sh -c 'SCRIPT' ...`, the first word after the script's last `exec`.
    pub fn program(&self) -> Option<String> {
        let argv = shlex::split(&self.start)?;
        let first = argv.first()?.clone();
        let shell = matches!(
            Path::new(&first).file_name().and_then(|n| n.to_str()),
            Some("sh" | "bash" | "dash")
        );
        if shell && argv.get(1).map(String::as_str) == Some("-c") {
            let script = argv.get(2)?;
            let words = shlex::split(script).unwrap_or_default();
            let after_exec = words
                .iter()
                .rposition(|w| w == "exec")
                .and_then(|i| words.get(i + 1));
            return Some(after_exec.cloned().unwrap_or(first));
        }
        Some(first)
    }
}

/// A server file rendered for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The command line for `/bin/sh -c`.
    pub start: String,
    /// What to write to `{config_file}`, if the file has a config.
    pub config: Option<String>,
}

/// Whether a program exists: an executable path, or a name on `PATH` (plus the sbin
/// directories, where servers live).
pub(crate) fn find_program(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    std::env::split_paths(&search_path()).any(|d| executable(&d.join(program)))
}

/// `PATH` with the sbin directories added (servers live there; `start` and
/// `version_command` run with it).
pub(crate) fn search_path() -> std::ffi::OsString {
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for d in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        if !dirs.iter().any(|x| x == Path::new(d)) {
            dirs.push(d.into());
        }
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// Where the `{name}` at byte `at` of a string value stands in the file: found in the
/// value's source text (the same occurrence), else the value's start.
fn source_offset(
    text: &str,
    span: std::ops::Range<usize>,
    value: &str,
    at: usize,
    name: &str,
) -> usize {
    let needle = format!("{{{name}}}");
    let nth = value[..at].matches(&needle).count();
    text.get(span.clone())
        .and_then(|src| src.match_indices(&needle).nth(nth))
        .map_or(span.start, |(i, _)| span.start + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::path::PathBuf;

    fn setup(settings: &[ServerSetting]) -> ServerSetup {
        ServerSetup {
            port: 21,
            root: PathBuf::from("/srv/root"),
            user: "tester".into(),
            password: "secret".into(),
            work_dir: PathBuf::from("/tmp/case"),
            pasv_ports: Some(50000..=50010),
            external_ip: Some("203.0.113.1".parse().unwrap()),
            tls: Some(crate::servers::TlsFiles {
                cert_pem: String::new(),
                key_pem: String::new(),
                ca_pem: String::new(),
            }),
            settings: settings.to_vec(),
        }
    }

    const FILE: &str = concat!(
        "name = \"s\"\n",
        "start = \"s --conf {config_file} --port {port}\"\n",
        "config = \"\"\"\nroot={root}\nuser={user}:{password}\n{settings}\nd = {'k': 1}\n\"\"\"\n",
        "[settings]\n",
        "pasv_ports = \"min={min}\\nmax={max}\"\n",
        "external_ip = \"ip={ip}\"\n",
        "ftps_explicit = \"tls={cert_file},{key_file},{ca_file}\"\n",
    );

    #[rstest]
    #[case(&[], "")]
    #[case(&[ServerSetting::PasvPorts], "min=50000\nmax=50010")]
    #[case(&[ServerSetting::ExternalIp, ServerSetting::PasvPorts], "min=50000\nmax=50010\nip=203.0.113.1")]
    #[case(&[ServerSetting::FtpsExplicit], "tls=/tmp/case/cert.pem,/tmp/case/key.pem,/tmp/case/ca.pem")]
    fn config_gets_the_settings(#[case] settings: &[ServerSetting], #[case] snippet: &str) {
        let f = ServerFile::parse("f.toml", FILE).unwrap();
        let r = f.render(&setup(settings)).unwrap();
        assert_eq!(r.start, "s --conf /tmp/case/server.conf --port 21");
        assert_eq!(
            r.config.unwrap(),
            format!("root=/srv/root\nuser=tester:secret\n{snippet}\nd = {{'k': 1}}\n")
        );
    }

    #[rstest]
    #[case("start = \"s {port}\"", &[], "s 21")]
    #[case("start = \"s {port}\"", &[ServerSetting::PasvPorts], "s 21 --min 50000 --max 50010")]
    #[case(
        "start = \"s {settings} {port}\"",
        &[ServerSetting::PasvPorts, ServerSetting::ExternalIp],
        "s --min 50000 --max 50010 --ip 203.0.113.1 21"
    )]
    fn start_gets_the_settings_when_config_does_not(
        #[case] start: &str,
        #[case] settings: &[ServerSetting],
        #[case] rendered: &str,
    ) {
        let text = format!(
            "name = \"s\"\n{start}\n[settings]\npasv_ports = \"--min {{min}} --max {{max}}\"\nexternal_ip = \"--ip {{ip}}\"\n"
        );
        let f = ServerFile::parse("f.toml", &text).unwrap();
        let r = f.render(&setup(settings)).unwrap();
        assert_eq!((r.start.as_str(), r.config), (rendered, None));
    }

    #[test]
    fn a_value_is_not_expanded_again() {
        let mut s = setup(&[]);
        s.password = "{user}".into();
        let f =
            ServerFile::parse("f.toml", "name = \"s\"\nstart = \"s {password} {user}\"\n").unwrap();
        assert_eq!(f.render(&s).unwrap().start, "s {user} tester");
    }

    #[test]
    fn rendering_a_setting_the_file_or_setup_lacks_is_an_error() {
        let f = ServerFile::parse("f.toml", FILE).unwrap();
        let e = f.render(&setup(&[ServerSetting::RequireTls])).unwrap_err();
        assert_eq!(e.to_string(), "s has no setting require_tls");
        let mut s = setup(&[ServerSetting::PasvPorts]);
        s.pasv_ports = None;
        assert!(f.render(&s).unwrap_err().to_string().contains("pasv_ports"));
        let mut s = setup(&[ServerSetting::FtpsExplicit]);
        s.tls = None;
        assert!(f
            .render(&s)
            .unwrap_err()
            .to_string()
            .contains("needs ServerSetup::tls"));
    }

    #[rstest]
    #[case("name = \"s\"\nstrat = \"x\"\n", "f.toml:2:1", "unknown field `strat`")]
    #[case("name = \"s\"\n", "f.toml:1:1", "missing field `start`")]
    #[case(
        "name = \"s\"\nstart = \"s {prot}\"\n",
        "f.toml:2:12",
        "start: unknown placeholder {prot}"
    )]
    #[case(
        "name = \"s\"\nstart = \"s\"\nconfig = \"\"\"\nport={port}\nip={ip}\n\"\"\"\n",
        "f.toml:5:4",
        "config: unknown placeholder {ip}"
    )]
    #[case(
        "name = \"s\"\nstart = \"s\"\n[settings]\npasv_ports = \"{min} {settings}\"\n",
        "f.toml:4:21",
        "settings.pasv_ports: unknown placeholder {settings}"
    )]
    #[case(
        "name = \"s\"\nstart = \"s\"\n[settings]\npasv = \"x\"\n",
        "f.toml:4:1",
        "unknown field `pasv`, expected one of `pasv_ports`"
    )]
    #[case("name = \"s\"\nstart = \"\"\n", "f.toml:2:9", "is not a command line")]
    #[case("name = \"\"\nstart = \"s\"\n", "f.toml:1:1", "needs a name")]
    #[case(
        "name = \"s\"\nstart = \"s\"\n[settings]\nrequire_tls = 1\n",
        "f.toml:4:15",
        "invalid type"
    )]
    fn bad_files_are_refused_at_line_and_column(
        #[case] text: &str,
        #[case] at: &str,
        #[case] what: &str,
    ) {
        let e = ServerFile::parse("f.toml", text).unwrap_err().to_string();
        assert!(e.starts_with(at) && e.contains(what), "{text}: {e}");
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,200}") {
            let _ = ServerFile::parse("f.toml", &text);
        }
    }
}
