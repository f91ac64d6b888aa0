//! Variants: a scenario transformed by one value of each axis asked for, with the values in
//! the case id (`transfer/zero-byte-download@ip=6,tls=explicit`).
//!
//! - `tls`: `plain` changes nothing; `explicit` and `implicit` give the client the setting
//!   `ftps_explicit` or `ftps_implicit` (so the mock serves FTPS) and add the checks
//!   `data_tls` and `only_auth_before_tls`. A scenario admits it with `axes = ["tls"]`.
//! - `ip`: `4` changes nothing; `6` swaps the topology preset for its IPv6 twin (`direct` ->
//!   `direct-v6`, `client-strict-firewall` -> `client-strict-firewall-v6`). A scenario admits
//!   it with `axes = ["ip"]`.
//! - `personality`: the scenario's server is the personality's under the scenario's own
//!   `[server]` keys. Every scenario admits it, but one that names its own personality.
//!
//! A scenario that does not admit an axis asked for runs once, as it is, under its plain id.
//! A scenario that admits it gets the suffix for every value, the one that changes nothing
//! (`tls=plain`, `ip=4`) included, so that ids say what ran. Axes appear in the suffix in
//! the order `ip`, `personality`, `tls`.

use ftpspec_netns::PresetName;

use super::axis::{Axis, Ip, Tls, Variant};
use super::expect::Flag;
use super::file::{Scenario, ScenarioFile, Setting};
use super::personality::{self, Personality};
use crate::error::{Error, Result};

/// The axes of a run: the values asked for on each (empty: the axis was not asked for).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Axes {
    /// `--axis ip=...`.
    pub ip: Vec<Ip>,
    /// `--personality` and `--axis personality=...`.
    pub personality: Vec<Personality>,
    /// `--axis tls=...`.
    pub tls: Vec<Tls>,
}

impl Axes {
    /// Adds `AXIS=VALUE,VALUE` (values already given are kept once).
    pub fn add(&mut self, arg: &str) -> Result<()> {
        let bad = |message: String| Error::BadAxis {
            arg: format!("--axis {arg}"),
            message,
        };
        let Some((axis, values)) = arg.split_once('=') else {
            return Err(bad(
                "expected AXIS=VALUE[,VALUE...], like tls=plain,explicit".into(),
            ));
        };
        for value in values.split(',').map(str::trim) {
            match axis.trim() {
                "tls" => push(
                    &mut self.tls,
                    pick(&Tls::ALL, Tls::as_str, value).map_err(bad)?,
                ),
                "ip" => push(
                    &mut self.ip,
                    pick(&Ip::ALL, Ip::as_str, value).map_err(bad)?,
                ),
                "personality" => self.add_personality(value)?,
                other => {
                    return Err(bad(format!(
                        "unknown axis {other:?}; the axes are tls, ip and personality"
                    )))
                }
            }
        }
        Ok(())
    }

    /// Adds a personality: a catalogue name or a personality file's path.
    pub fn add_personality(&mut self, name_or_path: &str) -> Result<()> {
        let p = personality::find(name_or_path)?;
        if let Some(other) = self.personality.iter().find(|q| q.name == p.name) {
            if other.origin != p.origin {
                return Err(Error::BadAxis {
                    arg: format!("personality {name_or_path}"),
                    message: format!("its name {:?} is also {}'s", p.name, other.origin),
                });
            }
            return Ok(());
        }
        self.personality.push(p);
        Ok(())
    }

    /// No axis asked for.
    pub fn is_empty(&self) -> bool {
        self.ip.is_empty() && self.personality.is_empty() && self.tls.is_empty()
    }

    /// The variants of a scenario: one per combination of the values of the axes it admits.
    pub fn variants(&self, s: &Scenario) -> Vec<Variant> {
        let ips = options(&self.ip, s.admits(Axis::Ip));
        // A scenario naming its own personality keeps it.
        let ps = options(&self.personality, s.personality.is_none());
        let tlss = options(&self.tls, s.admits(Axis::Tls));
        let mut out = Vec::new();
        for ip in &ips {
            for p in &ps {
                for tls in &tlss {
                    out.push(Variant {
                        ip: *ip,
                        personality: p.clone(),
                        tls: *tls,
                    });
                }
            }
        }
        out
    }
}

/// An axis's values as options when the scenario admits it and some were asked for; else
/// one `None` (the scenario as it is on that axis).
fn options<T: Clone>(values: &[T], admitted: bool) -> Vec<Option<T>> {
    if !admitted || values.is_empty() {
        return vec![None];
    }
    values.iter().cloned().map(Some).collect()
}

fn push<T: PartialEq>(values: &mut Vec<T>, v: T) {
    if !values.contains(&v) {
        values.push(v);
    }
}

/// The value named `name`, or a message listing the valid ones.
fn pick<T: Copy>(all: &[T], name: fn(T) -> &'static str, value: &str) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|v| name(*v) == value)
        .ok_or_else(|| {
            let valid: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            format!(
                "unknown value {value:?}; expected one of {}",
                valid.join(", ")
            )
        })
}

/// Every scenario's variants, in scenario order: each scenario once per combination of the
/// values of the axes it admits (once, as it is, when it admits none asked for).
pub fn expand(scenarios: &[Scenario], axes: &Axes) -> Result<Vec<Scenario>> {
    let mut out = Vec::new();
    for s in scenarios {
        for v in axes.variants(s) {
            out.push(s.with_variant(v)?);
        }
    }
    Ok(out)
}

/// The scenario id of a case id (`passive/x` of `passive/x@tls=explicit`).
pub fn base_id(id: &str) -> &str {
    id.split('@').next().unwrap_or(id)
}

impl Scenario {
    /// The id without the variant's suffix.
    pub fn base_id(&self) -> &str {
        base_id(&self.id)
    }

    /// Whether the file admits the axis (its `axes` key).
    pub fn admits(&self, axis: Axis) -> bool {
        self.file.axes.contains(&axis)
    }

    /// This scenario transformed by a variant, its id suffixed.
    pub fn with_variant(&self, v: Variant) -> Result<Scenario> {
        let mut s = self.clone();
        let f = &mut s.file;
        if v.ip == Some(Ip::V6) {
            f.topology.preset = f.topology.preset.and_then(v6_twin);
        }
        let setting = match v.tls {
            Some(Tls::Explicit) => Some(Setting::FtpsExplicit),
            Some(Tls::Implicit) => Some(Setting::FtpsImplicit),
            Some(Tls::Plain) | None => None,
        };
        if let Some(setting) = setting {
            f.client.settings.push(setting);
            f.expect.data_tls = Some(Flag);
            f.expect.only_auth_before_tls = Some(Flag);
        }
        // After the tls axis: whether the case is FTPS decides if the personality's TLS
        // policy applies.
        if let Some(p) = &v.personality {
            let ftps = f.client.settings.iter().any(|s| s.is_ftps());
            f.server = p
                .spec_under(&self.own_server, ftps)
                .map_err(|e| Error::Invalid {
                    origin: self.origin.clone(),
                    line: 0,
                    column: 0,
                    message: format!("under personality {} ({}): {e}", p.name, p.origin),
                })?;
        }
        s.id = format!("{}{}", self.base_id(), v.suffix());
        s.variant = v;
        Ok(s)
    }
}

/// A preset's IPv6 twin.
pub fn v6_twin(preset: PresetName) -> Option<PresetName> {
    match preset {
        PresetName::Direct => Some(PresetName::DirectV6),
        PresetName::ClientStrictFirewall => Some(PresetName::ClientStrictFirewallV6),
        _ => None,
    }
}

/// Why a file cannot take an axis it lists (checked at load), given its server table (the
/// personality's merged with its own).
pub(super) fn inadmissible(axis: Axis, f: &ScenarioFile, server: &toml::Table) -> Option<String> {
    match axis {
        Axis::Tls => tls_inadmissible(f, server),
        Axis::Ip => ip_inadmissible(f, server),
    }
}

fn tls_inadmissible(f: &ScenarioFile, server: &toml::Table) -> Option<String> {
    let ftps = [Setting::FtpsExplicit, Setting::FtpsImplicit, Setting::Ccc];
    if let Some(s) = f.client.settings.iter().find(|s| ftps.contains(s)) {
        return Some(format!(
            "the client setting {} is already about FTPS",
            s.as_str()
        ));
    }
    if server.contains_key("tls") {
        return Some("[server.tls] already makes the server FTPS".into());
    }
    if f.expect.commands.is_some() {
        return Some(
            "expect.commands lists a plain session's commands (FTPS adds AUTH, PBSZ, PROT)".into(),
        );
    }
    None
}

fn ip_inadmissible(f: &ScenarioFile, server: &toml::Table) -> Option<String> {
    let t = &f.topology;
    let Some(preset) = t.preset else {
        return Some("an inline topology has no IPv6 twin; use a preset".into());
    };
    if v6_twin(preset).is_none() {
        return Some(format!(
            "preset {preset} has no IPv6 twin (direct and client-strict-firewall have)"
        ));
    }
    if t.decoy || t.server_second_addr.is_some() {
        return Some("the decoy and topology.server_second_addr are IPv4 addresses".into());
    }
    let v4 = [
        Setting::DisableEpsv,
        Setting::DisableEprt,
        Setting::ForcePasvIp,
        Setting::ExternalIp,
    ];
    if let Some(s) = f.client.settings.iter().find(|s| v4.contains(s)) {
        return Some(format!(
            "the client setting {} is about IPv4's PASV/PORT",
            s.as_str()
        ));
    }
    if f.expect.pasv_after_refused_epsv.is_some() || f.expect.active_address_public.is_some() {
        return Some("its expectations are about IPv4's PASV/PORT".into());
    }
    server_v4_specific(server)
}

/// Whether the server is IPv4-specific: without EPSV, scripting the data-connection
/// commands, or naming an IPv4 address.
fn server_v4_specific(server: &toml::Table) -> Option<String> {
    if server.get("epsv").and_then(toml::Value::as_bool) == Some(false) {
        return Some("a server without EPSV has no passive mode over IPv6".into());
    }
    let data = ["PASV", "EPSV", "PORT", "EPRT", "LPSV", "LPRT"];
    let scripts = server.get("script").and_then(toml::Value::as_array);
    for s in scripts.into_iter().flatten() {
        let command = s.get("command").and_then(toml::Value::as_str).unwrap_or("");
        if data.iter().any(|d| command.eq_ignore_ascii_case(d)) {
            return Some(format!(
                "a [[server.script]] answers {command}, whose reply is about IPv4 data addresses"
            ));
        }
    }
    ipv4_literal(&toml::Value::Table(server.clone()))
        .map(|a| format!("[server] names the IPv4 address {a}"))
}

/// The first IPv4 address in any string of a value.
fn ipv4_literal(v: &toml::Value) -> Option<std::net::Ipv4Addr> {
    match v {
        toml::Value::String(s) => s
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find_map(|w| w.trim_matches('.').parse().ok()),
        toml::Value::Array(a) => a.iter().find_map(ipv4_literal),
        toml::Value::Table(t) => t.values().find_map(ipv4_literal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rstest::rstest;

    use super::*;
    use crate::scenario::parse;

    const HEAD: &str = "title = \"t\"\nrequirement = \"r\"\n";

    fn scenario(axes: &str, tail: &str) -> Scenario {
        let text = format!("{HEAD}axes = {axes}\n[topology]\npreset = \"direct\"\n[client]\naction = \"download\"\n{tail}");
        parse("g/s", "g/s.toml", &text).unwrap()
    }

    fn fixture() -> Personality {
        let text = "title = \"Fixture\"\ndescription = \"d\"\n[server]\ngreeting = \"fixture ready\"\n[[server.script]]\ncommand = \"SYST\"\nreply = \"215 fixture\"\n";
        Personality::parse("fixture", "fixture.toml", text).unwrap()
    }

    fn axes(args: &[&str], personality: bool) -> Axes {
        let mut a = Axes::default();
        for arg in args {
            a.add(arg).unwrap();
        }
        if personality {
            a.personality.push(fixture());
        }
        a
    }

    #[rstest]
    #[case::none_asked("[\"tls\", \"ip\"]", &[], false, &["g/s"])]
    #[case::not_admitted("[]", &["tls=plain,explicit", "ip=4,6"], false, &["g/s"])]
    #[case::tls_only("[\"tls\"]", &["tls=plain,explicit,implicit", "ip=4,6"], false,
        &["g/s@tls=plain", "g/s@tls=explicit", "g/s@tls=implicit"])]
    #[case::product("[\"tls\", \"ip\"]", &["tls=explicit,plain", "ip=6"], false,
        &["g/s@ip=6,tls=explicit", "g/s@ip=6,tls=plain"])]
    #[case::repeated_values("[\"ip\"]", &["ip=4", "ip=4,6"], false, &["g/s@ip=4", "g/s@ip=6"])]
    #[case::personality_everywhere("[]", &["tls=explicit"], true, &["g/s@personality=fixture"])]
    #[case::all_three("[\"ip\", \"tls\"]", &["tls=implicit", "ip=4"], true,
        &["g/s@ip=4,personality=fixture,tls=implicit"])]
    fn expansion(
        #[case] admitted: &str,
        #[case] asked: &[&str],
        #[case] personality: bool,
        #[case] ids: &[&str],
    ) {
        let s = scenario(admitted, "");
        let out = expand(&[s], &axes(asked, personality)).unwrap();
        let got: Vec<&str> = out.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(got, ids);
        for v in &out {
            assert_eq!(v.base_id(), "g/s");
            assert_eq!(v.variant.suffix(), v.id["g/s".len()..]);
        }
    }

    #[test]
    fn a_scenario_naming_its_personality_keeps_it() {
        let s = scenario("[\"tls\"]", "");
        let mut named = s.clone();
        named.personality = Some("own".into());
        let out = expand(&[named], &axes(&["tls=plain"], true)).unwrap();
        assert_eq!(out[0].id, "g/s@tls=plain");
        assert_eq!(out[0].variant.personality, None);
    }

    #[test]
    fn variants_change_what_runs() {
        let s = scenario("[\"tls\", \"ip\"]", "[server]\ngreeting = \"mine\"\n");
        let v = |ip, tls, personality| Variant {
            ip,
            tls,
            personality,
        };
        let explicit = s
            .with_variant(v(Some(Ip::V6), Some(Tls::Explicit), None))
            .unwrap();
        let f = &explicit.file;
        assert_eq!(f.topology.preset, Some(PresetName::DirectV6));
        assert_eq!(f.client.settings, [Setting::FtpsExplicit]);
        assert!(f.expect.data_tls.is_some() && f.expect.only_auth_before_tls.is_some());
        assert_eq!(
            explicit.variant.axes(),
            BTreeMap::from([("ip".into(), "6".into()), ("tls".into(), "explicit".into())])
        );
        let implicit = s.with_variant(v(None, Some(Tls::Implicit), None)).unwrap();
        assert_eq!(implicit.file.client.settings, [Setting::FtpsImplicit]);
        let plain = s
            .with_variant(v(Some(Ip::V4), Some(Tls::Plain), None))
            .unwrap();
        assert_eq!(plain.file, s.file, "plain and 4 change nothing");
        let p = s.with_variant(v(None, None, Some(fixture()))).unwrap();
        assert_eq!(
            p.file.server.greeting.as_deref(),
            Some("mine"),
            "the scenario wins"
        );
        assert_eq!(p.file.server.script.len(), 1, "the personality's script");
    }

    #[rstest]
    #[case::no_equals("tls", "expected AXIS=VALUE")]
    #[case::unknown_axis("udp=1", "unknown axis \"udp\"; the axes are tls, ip and personality")]
    #[case::unknown_value("ip=5", "unknown value \"5\"; expected one of 4, 6")]
    #[case::unknown_tls(
        "tls=plain,ssl",
        "unknown value \"ssl\"; expected one of plain, explicit, implicit"
    )]
    #[case::unknown_personality("personality=nope", "no personality \"nope\"")]
    fn bad_arguments_say_what_is_valid(#[case] arg: &str, #[case] what: &str) {
        let e = Axes::default().add(arg).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }

    #[rstest]
    #[case::unknown_axis(
        "axes = [\"tcp\"]\n[topology]\npreset = \"direct\"\n",
        "g/s.toml:3:9:",
        "unknown variant `tcp`, expected `tls` or `ip`"
    )]
    #[case::no_twin(
        "axes = [\"ip\"]\n[topology]\npreset = \"server-nat\"\n",
        "g/s.toml:3:1:",
        "cannot take ip: preset server-nat has no IPv6 twin"
    )]
    #[case::inline(
        "axes = [\"ip\"]\n[topology]\nclient = \"c\"\n",
        "g/s.toml:3:1:",
        "an inline topology has no IPv6 twin"
    )]
    #[case::decoy(
        "axes = [\"ip\"]\n[topology]\npreset = \"direct\"\ndecoy = true\n",
        "g/s.toml:3:1:",
        "the decoy"
    )]
    #[case::v4_address("axes = [\"ip\"]\n[topology]\npreset = \"direct\"\n[server]\nadvertise = \"203.0.113.10\"\n", "g/s.toml:3:1:", "names the IPv4 address 203.0.113.10")]
    #[case::no_epsv(
        "axes = [\"ip\"]\n[topology]\npreset = \"direct\"\n[server]\nepsv = false\n",
        "g/s.toml:3:1:",
        "without EPSV"
    )]
    #[case::pasv_script("axes = [\"ip\"]\n[topology]\npreset = \"direct\"\n[[server.script]]\ncommand = \"PASV\"\nreply = \"227 x\"\n", "g/s.toml:3:1:", "answers PASV")]
    #[case::already_ftps(
        "axes = [\"tls\"]\n[topology]\npreset = \"direct\"\n[server.tls]\nmode = \"explicit\"\n",
        "g/s.toml:3:1:",
        "cannot take tls: [server.tls]"
    )]
    fn inadmissible_axes_are_errors_at_line_and_column(
        #[case] middle: &str,
        #[case] at: &str,
        #[case] what: &str,
    ) {
        let text = format!("{HEAD}{middle}[client]\naction = \"download\"\n");
        let e = parse("g/s", "g/s.toml", &text).unwrap_err().to_string();
        assert!(e.starts_with(at) && e.contains(what), "{e}");
    }

    #[test]
    fn ftps_settings_and_transcripts_refuse_tls() {
        let text = format!("{HEAD}axes = [\"tls\"]\n[topology]\npreset = \"direct\"\n[client]\naction = \"download\"\nsettings = [\"ftps_explicit\"]\n");
        let e = parse("g/s", "g/s.toml", &text).unwrap_err().to_string();
        assert!(e.contains("ftps_explicit is already about FTPS"), "{e}");
        let text = format!("{HEAD}axes = [\"tls\"]\n[topology]\npreset = \"direct\"\n[client]\naction = \"download\"\n[expect]\ncommands = [\"USER *\"]\n");
        let e = parse("g/s", "g/s.toml", &text).unwrap_err().to_string();
        assert!(e.contains("expect.commands"), "{e}");
    }

    #[test]
    fn the_catalogue_admits_what_it_says() {
        let all = crate::scenario::catalogue().unwrap();
        let with = |axis| all.iter().filter(|s| s.admits(axis)).count();
        assert!(
            with(Axis::Tls) >= 30 && with(Axis::Ip) >= 20,
            "{} {}",
            with(Axis::Tls),
            with(Axis::Ip)
        );
        for s in all.iter().filter(|s| s.group() == "ftps") {
            assert!(!s.admits(Axis::Tls), "{}", s.id);
        }
    }
}
