//! Reading scenarios: one file, the catalogue, a directory, and a selection by id prefix.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::axis::Variant;
use super::file::{Action, Scenario, ScenarioFile};
use super::personality::{self, Personality};
use super::variant;
use crate::error::{from_toml, io_at, Error, Result};

/// Parses and checks one scenario file.
pub fn parse(id: &str, origin: &str, text: &str) -> Result<Scenario> {
    parse_with(id, origin, text, &named_personality)
}

/// [`parse`], finding a named personality with `lookup`.
fn parse_with(
    id: &str,
    origin: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Result<Personality>,
) -> Result<Scenario> {
    let (personality, own) = take_personality(origin, text)?;
    let mut file: ScenarioFile = from_toml(origin, &own)?;
    let own_server = personality::server_table(&from_toml(origin, &own)?);
    // What serde cannot check is reported at the key it concerns.
    let bad = |key: &str, message: String| Error::at_key(origin, text, key, message);
    let mut server = own_server.clone();
    if let Some(name) = &personality {
        let at = |message: String| Error::at(origin, text, name.span().start, message);
        let p = lookup(name.get_ref()).map_err(|e| at(e.to_string()))?;
        let ftps = file.client.settings.iter().any(|s| s.is_ftps());
        server = p.table_under(&own_server, ftps);
        file.server = personality::spec_of(server.clone())
            .map_err(|e| at(format!("[server] under personality {}: {e}", p.name)))?;
    }
    for axis in &file.axes {
        if let Some(why) = variant::inadmissible(*axis, &file, &server) {
            let axis = axis.as_str();
            return Err(bad(
                "axes",
                format!("axes: this scenario cannot take {axis}: {why}"),
            ));
        }
    }
    let scenario = Scenario {
        id: id.to_owned(),
        origin: origin.to_owned(),
        file,
        personality: personality.map(|p| p.into_inner()),
        variant: Variant::default(),
        own_server,
    };
    check(&scenario, &bad)?;
    Ok(scenario)
}

/// A personality of the catalogue, by name only (a file's path would depend on where the
/// run starts).
fn named_personality(name: &str) -> Result<Personality> {
    match name.contains('/') || name.ends_with(".toml") {
        true => Err(Error::UnknownPersonality {
            name: name.to_owned(),
            known: "personalities by name only, not files".into(),
        }),
        false => personality::find(name),
    }
}

/// `[server] personality`, and the text with that key blanked out (spaces of the same
/// length, so that every other key keeps its line and column when the rest is read as the
/// mock's server file).
fn take_personality<'t>(
    origin: &str,
    text: &'t str,
) -> Result<(Option<Spanned<String>>, Cow<'t, str>)> {
    #[derive(Deserialize)]
    struct Peek {
        #[serde(default)]
        server: PeekServer,
    }
    #[derive(Deserialize, Default)]
    struct PeekServer {
        personality: Option<Spanned<String>>,
    }
    let peek: Peek = from_toml(origin, text)?;
    let Some(name) = peek.server.personality else {
        return Ok((None, Cow::Borrowed(text)));
    };
    let span = name.span();
    let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let key = text[start..span.start].trim();
    if !(key.ends_with('=')
        && key
            .trim_end_matches('=')
            .trim_end()
            .ends_with("personality"))
        || key.contains([',', '{'])
    {
        let message = "write personality = \"NAME\" on a line of its own under [server]";
        return Err(Error::at(origin, text, span.start, message.into()));
    }
    let mut blanked = text.to_owned();
    blanked.replace_range(start..span.end, &" ".repeat(span.end - start));
    Ok((Some(name), Cow::Owned(blanked)))
}

/// What serde cannot check: the network, the server, keys that go together.
fn check(scenario: &Scenario, bad: &dyn Fn(&str, String) -> Error) -> Result<()> {
    scenario
        .network()
        .map_err(|e| bad("topology", e.to_string()))?;
    personality::server_builds(&scenario.file.server)
        .map_err(|e| bad("server", format!("[server]: {e}")))?;
    if !scenario.file.client.path.starts_with('/') {
        return Err(bad(
            "path",
            "client.path must be absolute, like /gen/64K".into(),
        ));
    }
    let client = &scenario.file.client;
    match (client.action, client.steps.is_empty()) {
        (Action::Session, true) => {
            return Err(bad(
                "action",
                "a session needs its steps, like steps = [\"list /\", \"download /gen/64K\"]"
                    .into(),
            ))
        }
        (Action::Session, false) | (_, true) => {}
        (other, false) => {
            return Err(bad(
                "steps",
                format!("steps belong to action = \"session\"; this client's action is {other}"),
            ))
        }
    }
    client
        .check_informational_without()
        .map_err(|m| bad("informational_without", m))?;
    let expect = &scenario.file.expect;
    if expect.strip.is_some() && expect.commands.is_none() {
        return Err(bad(
            "strip",
            "strip drops lines before `commands` is matched; give commands = [...] or leave strip out".into(),
        ));
    }
    let server = &scenario.file.server;
    if let Some(offset) = client.resume_offset {
        if client.action != Action::Download {
            return Err(bad(
                "resume_offset",
                format!(
                    "resume_offset belongs to action = \"download\"; this client's action is {}",
                    client.action
                ),
            ));
        }
        match crate::local::served(server, &client.path) {
            Some(f) if offset.0 <= f.len() => {}
            Some(f) => {
                return Err(bad(
                    "resume_offset",
                    format!("resume_offset {} is past the end of {} ({} bytes)", offset.0, client.path, f.len()),
                ))
            }
            None => {
                return Err(bad(
                    "resume_offset",
                    format!("resume_offset needs a served file: {} is neither /gen/SIZE nor in [server.files]", client.path),
                ))
            }
        }
    }
    if client.action == Action::Mirror {
        let root = client.path.trim_end_matches('/').is_empty();
        if root || crate::local::served_tree(server, &client.path).is_none() {
            return Err(bad(
                "path",
                format!("a mirror's path is a directory of the [server] files or dirs (not /, which holds the mock's own /gen); {} is not one", client.path),
            ));
        }
    }
    Ok(())
}

/// The built-in catalogue (the `ftpspec-scenarios` crate), in id order.
pub fn catalogue() -> Result<Vec<Scenario>> {
    parse_catalogue(ftpspec_scenarios::files(), &parse)
}

/// Catalogue files, each read with `parse(id, origin, text)`, in id order.
pub(super) fn parse_catalogue<T>(
    files: impl Iterator<Item = ftpspec_scenarios::CatalogueFile>,
    parse: &dyn Fn(&str, &str, &str) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = BTreeMap::new();
    for f in files {
        let origin = format!("catalogue:{}", f.path);
        out.insert(f.id.to_owned(), parse(f.id, &origin, f.text)?);
    }
    Ok(out.into_values().collect())
}

/// Scenarios from a directory (`<dir>/<group>/<name>.toml`), in id order. Files directly in
/// `dir` are not scenarios (an id is `group/name`), so a crate's `Cargo.toml` beside the
/// groups is left alone.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>> {
    // The server personalities are not a group of scenarios; the server cases have their
    // own shape (see super::server).
    let apart = [ftpspec_scenarios::PERSONALITIES, ftpspec_scenarios::SERVER];
    let groups = |group: &Path| !apart.iter().any(|a| group.ends_with(a));
    Ok(read_tree(dir, &groups, &parse)?.into_values().collect())
}

/// The `.toml` files under `dir`'s group folders that `group` admits (recursively), each
/// read with `parse(id, origin, text)`, by id.
pub(super) fn read_tree<T>(
    dir: &Path,
    group: &dyn Fn(&Path) -> bool,
    parse: &dyn Fn(&str, &str, &str) -> Result<T>,
) -> Result<BTreeMap<String, T>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io_at(&d))? {
            let entry = entry.map_err(io_at(&d))?;
            let path = entry.path();
            if path.is_dir() {
                if d != dir || group(&path) {
                    stack.push(path);
                }
            } else if d != dir && path.extension().is_some_and(|e| e == "toml") {
                let rel = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
                let id = rel.to_string_lossy().replace('\\', "/");
                let text = std::fs::read_to_string(&path).map_err(io_at(&path))?;
                out.insert(id.clone(), parse(&id, &path.display().to_string(), &text)?);
            }
        }
    }
    Ok(out)
}

/// The catalogue plus the scenarios in `extra` (which replace catalogue cases of the same
/// id), filtered by id prefixes (none: all).
pub fn select(extra: &[PathBuf], filters: &[String]) -> Result<Vec<Scenario>> {
    merge_select(catalogue()?, extra, &load_dir, filters, |s| &s.id)
}

/// `catalogue` plus what `load` reads from each of `extra` (replacing the same ids), those
/// whose id starts with one of `filters` (none: all), in id order.
pub(super) fn merge_select<T>(
    catalogue: Vec<T>,
    extra: &[PathBuf],
    load: &dyn Fn(&Path) -> Result<Vec<T>>,
    filters: &[String],
    id: fn(&T) -> &String,
) -> Result<Vec<T>> {
    let mut all: BTreeMap<String, T> = catalogue.into_iter().map(|s| (id(&s).clone(), s)).collect();
    for dir in extra {
        for s in load(dir)? {
            all.insert(id(&s).clone(), s);
        }
    }
    Ok(all
        .into_values()
        .filter(|s| filters.is_empty() || filters.iter().any(|f| id(s).starts_with(f.as_str())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Setting, Size};

    #[test]
    fn the_catalogue_loads() {
        let all = catalogue().unwrap();
        assert!(all.len() >= 20, "{}", all.len());
        for s in &all {
            assert!(s.id.contains('/'), "{}", s.id);
            assert!(!s.file.requirement.is_empty(), "{}", s.id);
        }
    }

    #[test]
    fn a_directory_holds_groups_and_its_own_files_are_not_scenarios() {
        // The catalogue's own directory: a crate (Cargo.toml, src/) beside the groups.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let from_disk = load_dir(&dir).unwrap();
        let ids = |v: &[Scenario]| v.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&from_disk), ids(&catalogue().unwrap()));
    }

    #[test]
    fn inline_topologies() {
        let head = "title = \"t\"\nrequirement = \"r\"\n[client]\naction = \"download\"\n";
        let good = format!("{head}[topology]\nclient = \"c\"\nserver = \"s\"\nserver_addr = \"10.7.0.2\"\n[topology.hosts.c]\n[topology.hosts.s]\n[[topology.link]]\na = {{ host = \"c\", iface = \"eth0\", addr = [\"10.7.0.1/24\"] }}\nb = {{ host = \"s\", iface = \"eth0\", addr = [\"10.7.0.2/24\"] }}\n");
        let s = parse("x/y", "x/y.toml", &good).unwrap();
        let n = s.network().unwrap();
        assert_eq!(n.name, "inline");
        assert_eq!(n.roles.client_addr.to_string(), "10.7.0.1");
        let missing = good.replace("server_addr = \"10.7.0.2\"\n", "");
        let e = parse("x/y", "x/y.toml", &missing).unwrap_err().to_string();
        assert!(e.contains("needs topology.server_addr"), "{e}");
        let both = good.replace("client = \"c\"", "preset = \"direct\"\nclient = \"c\"");
        let e = parse("x/y", "x/y.toml", &both).unwrap_err().to_string();
        assert!(e.contains("either a preset or an inline topology"), "{e}");
        let unknown = good.replace("host = \"s\"", "host = \"q\"");
        let e = parse("x/y", "x/y.toml", &unknown).unwrap_err().to_string();
        assert!(e.contains("unknown host \"q\""), "{e}");
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let text = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"server-nat\"\n[client]\naction = \"dowload\"\n";
        let e = parse("a/b", "a/b.toml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("a/b.toml:6:10:") && e.contains("unknown variant `dowload`"),
            "{e}"
        );
        let text = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"server-mat\"\n[client]\naction = \"download\"\n";
        let e = parse("a/b", "a/b.toml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("a/b.toml:4:10:") && e.contains("unknown preset \"server-mat\""),
            "{e}"
        );
        let text = "title = \"t\"\nrequirement = \"r\"\ncolour = 1\n[topology]\npreset = \"direct\"\n[client]\naction = \"list\"\n";
        let e = parse("a/b", "a/b.toml", text).unwrap_err().to_string();
        assert!(
            e.contains("a/b.toml:3:1:") && e.contains("unknown field `colour`"),
            "{e}"
        );
        let text = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n[server]\npasv_ports = \"9-1\"\n[client]\naction = \"list\"\n";
        let e = parse("a/b", "a/b.toml", text).unwrap_err().to_string();
        assert!(
            e.contains("a/b.toml:5:1:") && e.contains("pasv_ports"),
            "{e}"
        );
    }

    #[test]
    fn typed_values_are_checked_where_they_stand() {
        let head = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n";
        let cases = [
            (
                "[client]\naction = \"list\"\n[expect]\ndata_tls = false\n",
                "a/b.toml:8:12:",
                "only `true` asks for this check",
            ),
            (
                "[client]\naction = \"upload\"\nsize = \"64Q\"\n",
                "a/b.toml:7:8:",
                "\"64Q\" is not a size",
            ),
            (
                "pasv_ports = \"9-1\"\n[client]\naction = \"list\"\n",
                "a/b.toml:5:14:",
                "9-1",
            ),
            (
                "[client]\naction = \"list\"\nsettings = [\"force_ip\"]\n",
                "a/b.toml:7:13:",
                "unknown variant `force_ip`, expected one of",
            ),
            (
                "[client]\naction = \"session\"\nsteps = [\"list /\", \"get /gen/1K\"]\n",
                "a/b.toml:7:9:",
                "\"get /gen/1K\" is not a step",
            ),
            (
                "[client]\naction = \"session\"\nsteps = [\"download gen/1K\"]\n",
                "a/b.toml:7:9:",
                "one absolute server path without spaces",
            ),
        ];
        for (tail, at, what) in cases {
            let e = parse("a/b", "a/b.toml", &format!("{head}{tail}"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(at) && e.contains(what), "{e}");
        }
    }

    #[test]
    fn resume_offsets_and_mirrors_are_checked_where_they_stand() {
        let head = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n[server]\ndirs = [\"/e\"]\n[server.files]\n\"/m/a.txt\" = \"a\"\n";
        let ok = |tail: &str| parse("a/b", "a/b.toml", &format!("{head}{tail}")).unwrap();
        let s = ok("[client]\naction = \"download\"\npath = \"/gen/1M\"\nresume_offset = 400000\nsettings = [\"resume\"]\n");
        assert_eq!(s.file.client.resume_offset, Some(Size(400_000)));
        assert_eq!(s.file.client.settings, [Setting::Resume]);
        let s = ok("[client]\naction = \"download\"\npath = \"/gen/12345679910\"\nresume_offset = 12345678910\n");
        assert_eq!(s.file.client.resume_offset, Some(Size(12_345_678_910)));
        ok("[client]\naction = \"download\"\npath = \"/m/a.txt\"\nresume_offset = \"1\"\nsettings = [\"ascii\", \"keepalive\"]\n");
        ok("[client]\naction = \"mirror\"\npath = \"/m\"\n");
        ok("[client]\naction = \"mirror\"\npath = \"/e/\"\n");
        let cases = [
            (
                "[client]\naction = \"upload\"\nresume_offset = 1\n",
                "a/b.toml:11:1:",
                "belongs to action = \"download\"",
            ),
            (
                "[client]\naction = \"download\"\npath = \"/gen/1K\"\nresume_offset = 1025\n",
                "a/b.toml:12:1:",
                "past the end of /gen/1K (1024 bytes)",
            ),
            (
                "[client]\naction = \"download\"\npath = \"/x\"\nresume_offset = 1\n",
                "a/b.toml:12:1:",
                "needs a served file",
            ),
            (
                "[client]\naction = \"mirror\"\npath = \"/\"\n",
                "a/b.toml:11:1:",
                "a mirror's path is a directory",
            ),
            (
                "[client]\naction = \"mirror\"\npath = \"/m/a.txt\"\n",
                "a/b.toml:11:1:",
                "/m/a.txt is not one",
            ),
            (
                "[client]\naction = \"download\"\nresume_offset = \"1Q\"\n",
                "a/b.toml:11:17:",
                "not a size",
            ),
        ];
        for (tail, at, what) in cases {
            let e = parse("a/b", "a/b.toml", &format!("{head}{tail}"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(at) && e.contains(what), "{e}");
        }
    }

    fn fixture(name: &str) -> Result<Personality> {
        let text = "title = \"Fixture\"\ndescription = \"d\"\n[server]\ngreeting = \"fixture\"\nepsv = false\ndirs = [\"/pub\"]\n[[server.script]]\ncommand = \"SYST\"\nreply = \"215 fixture\"\n";
        match name {
            "fixture" => Personality::parse(name, "fixture.toml", text),
            _ => Err(Error::UnknownPersonality {
                name: name.into(),
                known: "fixture".into(),
            }),
        }
    }

    #[test]
    fn a_named_personality_is_the_base_of_the_server() {
        let text = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n[server]\npersonality = \"fixture\"\ngreeting = \"mine\"\ndirs = [\"/e\"]\n[[server.script]]\ncommand = \"SYST\"\nreply = \"215 mine\"\n[client]\naction = \"list\"\n";
        let s = parse_with("a/b", "a/b.toml", text, &fixture).unwrap();
        assert_eq!(s.personality.as_deref(), Some("fixture"));
        let server = &s.file.server;
        assert_eq!(server.greeting.as_deref(), Some("mine"));
        assert_eq!(server.epsv, Some(false), "the personality's");
        assert_eq!(server.dirs, ["/pub", "/e"]);
        let replies: Vec<_> = server.script.iter().map(|m| format!("{m:?}")).collect();
        assert!(
            replies[0].contains("215 mine") && replies[1].contains("215 fixture"),
            "{replies:?}"
        );
        // Errors in the file's own keys keep their line and column.
        let typo = text.replace("greeting", "greting");
        let e = parse_with("a/b", "a/b.toml", &typo, &fixture)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("a/b.toml:7:1: unknown field `greting`"),
            "{e}"
        );
        let unknown = text.replace("\"fixture\"", "\"fixtur\"");
        let e = parse_with("a/b", "a/b.toml", &unknown, &fixture)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("a/b.toml:6:15: no personality \"fixtur\"") && e.contains("fixture"),
            "{e}"
        );
        let e = parse("a/b", "a/b.toml", &unknown).unwrap_err().to_string();
        assert!(
            e.starts_with("a/b.toml:6:15: no personality \"fixtur\"; the catalogue has"),
            "{e}"
        );
        let inline = "title = \"t\"\nrequirement = \"r\"\nserver = { personality = \"fixture\" }\n[topology]\npreset = \"direct\"\n[client]\naction = \"list\"\n";
        let e = parse_with("a/b", "a/b.toml", inline, &fixture)
            .unwrap_err()
            .to_string();
        assert!(e.contains("on a line of its own"), "{e}");
        // ip is refused for a personality without EPSV.
        let ip = text.replace("[topology]", "axes = [\"ip\"]\n[topology]");
        let e = parse_with("a/b", "a/b.toml", &ip, &fixture)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("a/b.toml:3:1:") && e.contains("without EPSV"),
            "{e}"
        );
    }

    #[test]
    fn a_session_has_steps_and_only_a_session_does() {
        let head = "title = \"t\"\nrequirement = \"r\"\n[topology]\npreset = \"direct\"\n";
        let e = parse(
            "a/b",
            "a/b.toml",
            &format!("{head}[client]\naction = \"session\"\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("a/b.toml:6:1:") && e.contains("needs its steps"),
            "{e}"
        );
        let text = format!("{head}[client]\naction = \"list\"\nsteps = [\"list /\"]\n");
        let e = parse("a/b", "a/b.toml", &text).unwrap_err().to_string();
        assert!(
            e.starts_with("a/b.toml:7:1:") && e.contains("belong to action"),
            "{e}"
        );
        let text = format!(
            "{head}[client]\naction = \"session\"\nsteps = [\"list /gen\", \"upload /incoming/a\"]\n"
        );
        let steps = parse("a/b", "a/b.toml", &text).unwrap().file.client.steps;
        let shown: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(shown, ["list /gen", "upload /incoming/a"]);
    }
}
