//! Server personalities: a set of the mock's knobs and scripts that reproduces a real server
//! (`scenarios/personalities/<name>.toml` in the catalogue, or any file given by path).
//!
//! ```toml
//! title = "vsftpd 3.0.3, Debian's defaults with ssl_enable=YES"
//! description = """what it reproduces, and from which documentation or sources"""
//! references = ["vsftpd.conf(5)"]
//! [server]            # any key of ftpspec-mock's server file (greeting, epsv, [[server.script]], [server.tls] ...)
//! greeting = "(vsFTPd 3.0.3)"
//! ```
//!
//! A scenario names one with `[server] personality = "NAME"`, and `ftpspec run --personality
//! NAME` runs every scenario against one. Either way the personality's `[server]` table is
//! the base and the scenario's own `[server]` keys override it ([`merge`]); the merge is done
//! on TOML tables, each file's keys having been checked where they stand first.

use std::path::Path;

use ftpspec_mock::ServerSpec;
use serde::Deserialize;
use toml::{Table, Value};

use crate::error::{from_toml, Error, Result};

/// A server personality.
#[derive(Debug, Clone, PartialEq)]
pub struct Personality {
    /// Its name: the file's name without `.toml` (`vsftpd-like`).
    pub name: String,
    /// Where it came from (`catalogue:personalities/x.toml` or a path).
    pub origin: String,
    /// One line.
    pub title: String,
    /// What it reproduces, and from which documentation or sources.
    pub description: String,
    /// Manual pages, documentation, source files.
    pub references: Vec<String>,
    /// Its `[server]` table as written: the base a scenario's own keys override.
    pub server: Table,
}

/// The file's shape, for errors at line and column (the `[server]` table is kept as TOML,
/// to be merged).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalityFile {
    title: String,
    description: String,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    server: ServerSpec,
}

impl Personality {
    /// Parses and checks a personality file.
    pub fn parse(name: &str, origin: &str, text: &str) -> Result<Personality> {
        let file: PersonalityFile = from_toml(origin, text)?;
        let table: Table = from_toml(origin, text)?;
        if let Err(e) = server_builds(&file.server) {
            return Err(Error::at_key(
                origin,
                text,
                "server",
                format!("[server]: {e}"),
            ));
        }
        Ok(Personality {
            name: name.to_owned(),
            origin: origin.to_owned(),
            title: file.title,
            description: file.description,
            references: file.references,
            server: server_table(&table),
        })
    }

    /// Reads a personality file; its name is the file's name without `.toml`.
    pub fn read(path: &Path) -> Result<Personality> {
        let text = std::fs::read_to_string(path).map_err(crate::error::io_at(path))?;
        let name = path.file_stem().unwrap_or_default().to_string_lossy();
        Self::parse(&name, &path.display().to_string(), &text)
    }

    /// The server: this personality under `own` (a scenario's own `[server]` keys). The
    /// personality's `[server.tls]` is its TLS *policy* (session reuse, tickets, close_notify):
    /// it applies only to an FTPS case (`ftps`, or `own` has its own `[server.tls]`), since
    /// on a plain case it would switch FTPS on, and a client such as lftp would then
    /// negotiate TLS by itself on a case that has given it no CA to trust.
    pub fn spec_under(&self, own: &Table, ftps: bool) -> std::result::Result<ServerSpec, String> {
        spec_of(self.table_under(own, ftps))
    }
}

/// A merged `[server]` table as the mock's server file, checked to build.
pub(crate) fn spec_of(table: Table) -> std::result::Result<ServerSpec, String> {
    let spec: ServerSpec = Value::Table(table).try_into().map_err(|e| e.to_string())?;
    server_builds(&spec).map_err(|e| e.to_string())?;
    Ok(spec)
}

impl Personality {
    /// The merged `[server]` table of [`Personality::spec_under`].
    pub fn table_under(&self, own: &Table, ftps: bool) -> Table {
        let mut base = self.server.clone();
        if !ftps && !own.contains_key("tls") {
            base.remove("tls");
        }
        merge(&base, own)
    }
}

/// A file's `[server]` table (empty when it has none).
pub(crate) fn server_table(file: &Table) -> Table {
    match file.get("server") {
        Some(Value::Table(t)) => t.clone(),
        _ => Table::new(),
    }
}

/// Whether the mock server accepts this server file (the address-safety rule aside: it
/// applies where the server runs, inside the namespaces).
pub(crate) fn server_builds(spec: &ServerSpec) -> std::result::Result<(), ftpspec_mock::Error> {
    match ftpspec_mock::MockServer::builder().spec(spec).build() {
        Ok(_) | Err(ftpspec_mock::Error::UnsafeAddress { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The catalogue's personalities, by name.
pub fn personalities() -> Result<Vec<Personality>> {
    let mut out: Vec<Personality> = ftpspec_scenarios::personalities()
        .map(|f| Personality::parse(f.id, &format!("catalogue:{}", f.path), f.text))
        .collect::<Result<_>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A personality of the catalogue by name, or a personality file by path (anything with a
/// `/` or ending in `.toml`).
pub fn find(name_or_path: &str) -> Result<Personality> {
    if name_or_path.contains('/') || name_or_path.ends_with(".toml") {
        return Personality::read(Path::new(name_or_path));
    }
    let all = personalities()?;
    let known = all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>();
    let known = match known.is_empty() {
        true => "none".to_owned(),
        false => known.join(", "),
    };
    all.iter()
        .find(|p| p.name == name_or_path)
        .cloned()
        .ok_or_else(|| Error::UnknownPersonality {
            name: name_or_path.to_owned(),
            known,
        })
}

/// `over` laid on `base`: tables merge key by key (recursively); an array of tables (such
/// as `script`) is `over`'s entries first, then `base`'s (the mock uses the first matching
/// script, so `over`'s win); `dirs` is the union of both (base's first); any other value of
/// `over` replaces `base`'s (a file in `files` is replaced whole, as are `tls.versions` and
/// `tls.names`).
pub fn merge(base: &Table, over: &Table) -> Table {
    let mut out = base.clone();
    for (key, value) in over {
        let merged = match (out.remove(key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => Value::Table(merge(&b, o)),
            (Some(Value::Array(b)), Value::Array(o)) if key == "dirs" => {
                let mut all = b;
                for v in o {
                    if !all.contains(v) {
                        all.push(v.clone());
                    }
                }
                Value::Array(all)
            }
            (Some(Value::Array(b)), Value::Array(o)) if tables(&b) && tables(o) => {
                Value::Array(o.iter().cloned().chain(b).collect())
            }
            (_, v) => v.clone(),
        };
        out.insert(key.clone(), merged);
    }
    out
}

fn tables(items: &[Value]) -> bool {
    items.iter().all(Value::is_table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_scenario_overrides_the_personality_and_its_scripts_come_first() {
        let base = table(
            r#"
greeting = "base"
epsv = false
dirs = ["/pub", "/incoming"]
[tls]
require_data = true
versions = ["1.2", "1.3"]
[files]
"/a" = "base a"
"/b" = { generated = "1K" }
[[script]]
command = "FEAT"
reply = "211 base"
[[script]]
command = "SYST"
reply = "215 UNIX"
"#,
        );
        let over = table(
            r#"
greeting = "scenario"
dirs = ["/incoming", "/mine"]
[tls]
versions = ["1.3"]
[files]
"/b" = "scenario b"
[[script]]
command = "FEAT"
reply = "211 scenario"
"#,
        );
        let m = merge(&base, &over);
        assert_eq!(m["greeting"].as_str(), Some("scenario"));
        assert_eq!(m["epsv"].as_bool(), Some(false), "kept from the base");
        assert_eq!(
            m["dirs"],
            table("d = [\"/pub\", \"/incoming\", \"/mine\"]")["d"]
        );
        assert_eq!(
            m["tls"],
            table("require_data = true\nversions = [\"1.3\"]").into()
        );
        assert_eq!(
            m["files"],
            table("\"/a\" = \"base a\"\n\"/b\" = \"scenario b\"").into()
        );
        let replies: Vec<&str> = m["script"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["reply"].as_str().unwrap())
            .collect();
        assert_eq!(replies, ["211 scenario", "211 base", "215 UNIX"]);
        let under_server = |line: &str| match line.strip_prefix("[[") {
            Some(rest) => format!("[[server.{rest}\n"),
            None => match line.strip_prefix('[') {
                Some(rest) => format!("[server.{rest}\n"),
                None => format!("{line}\n"),
            },
        };
        let file: String = toml::to_string(&base)
            .unwrap()
            .lines()
            .map(under_server)
            .collect();
        let file = format!("title = \"t\"\ndescription = \"d\"\n[server]\n{file}");
        let spec = Personality::parse("p", "p.toml", &file)
            .unwrap()
            .spec_under(&over, false)
            .unwrap();
        assert_eq!(spec.greeting.as_deref(), Some("scenario"));
        assert_eq!(spec.script.len(), 3);
        assert_eq!(spec.tls.unwrap().require_data, Some(true));
    }

    #[test]
    fn the_tls_policy_applies_only_to_ftps_cases() {
        let p = Personality::parse(
            "p",
            "p.toml",
            "title = \"t\"\ndescription = \"d\"\n[server]\ngreeting = \"p\"\n[server.tls]\nrequire_session_reuse = true\n",
        )
        .unwrap();
        let plain = p.spec_under(&Table::new(), false).unwrap();
        assert!(plain.tls.is_none(), "a plain case must not get FTPS");
        assert_eq!(plain.greeting.as_deref(), Some("p"));
        let ftps = p.spec_under(&Table::new(), true).unwrap();
        assert!(ftps.tls.is_some(), "an FTPS case gets the policy");
        let own = table("[tls]\nrequire_data = true\n");
        let own_tls = p.spec_under(&own, false).unwrap().tls.unwrap();
        assert_eq!(
            own_tls.require_data,
            Some(true),
            "the scenario's own [tls] is laid on it"
        );
        assert!(own_tls.require_session_reuse == Some(true), "{own_tls:?}");
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let e = |text: &str| {
            Personality::parse("p", "p.toml", text)
                .unwrap_err()
                .to_string()
        };
        let head = "title = \"t\"\ndescription = \"d\"\n";
        let unknown = e(&format!("{head}[server]\nepsvv = false\n"));
        assert!(
            unknown.starts_with("p.toml:4:1: unknown field `epsvv`"),
            "{unknown}"
        );
        let typed = e(&format!("{head}[server]\nlist_format = \"vms\"\n"));
        assert!(
            typed.starts_with("p.toml:4:15:") && typed.contains("unknown variant `vms`"),
            "{typed}"
        );
        let top = e(&format!("{head}colour = 1\n"));
        assert!(
            top.starts_with("p.toml:3:1: unknown field `colour`"),
            "{top}"
        );
        let missing = e("title = \"t\"\n");
        assert!(missing.contains("missing field `description`"), "{missing}");
        let built = e(&format!("{head}[server]\npasv_ports = \"9-1\"\n"));
        assert!(
            built.starts_with("p.toml:3:1: [server]:") && built.contains("pasv_ports"),
            "{built}"
        );
    }

    #[test]
    fn the_catalogue_personalities_load_and_unknown_names_list_them() {
        let all = personalities().unwrap();
        for p in &all {
            assert!(!p.title.is_empty() && !p.name.contains('/'), "{}", p.name);
            assert_eq!(find(&p.name).unwrap(), *p);
        }
        let e = find("vsftpd-unlike").unwrap_err().to_string();
        assert!(e.contains("no personality \"vsftpd-unlike\""), "{e}");
        for p in &all {
            assert!(e.contains(&p.name), "{e}");
        }
        let e = find("/nonexistent/p.toml").unwrap_err().to_string();
        assert!(e.starts_with("/nonexistent/p.toml:"), "{e}");
    }
}
