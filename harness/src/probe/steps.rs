//! The `[probe]` table of a server scenario: [`ProbeSpec`] and its steps ([`ProbeStep`]),
//! checked when the file is read (unknown keys, keys a step does not take, placeholders).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// `[probe]` of a server scenario: what the probe does, on how many sessions at once.
///
/// ```
/// use ftpspec::probe::{ProbeSpec, ProbeStep};
/// let spec: ProbeSpec = toml::from_str(r#"
///     sessions = 2
///     steps = [{ login = true }, { retr = "/gen/1M", via = "epsv", expect = "226" }]
/// "#).unwrap();
/// assert_eq!(spec.sessions, 2);
/// assert!(matches!(spec.steps[1], ProbeStep::Retr { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    /// TLS on the control connection (default none).
    #[serde(default)]
    pub tls: ProbeTls,
    /// This many concurrent sessions each run `steps` (default 1).
    #[serde(default = "one", deserialize_with = "at_least_one")]
    pub sessions: u32,
    /// Before the sessions, open this many TCP connections to the control port that never
    /// send anything, and keep them open until the sessions end (default 0).
    #[serde(default)]
    pub idle_connections: u32,
    /// The steps, in order, on one control connection per session.
    #[serde(deserialize_with = "numbered_steps")]
    pub steps: Vec<ProbeStep>,
}

/// The steps, each error naming its step by number (TOML places errors found after a
/// table is read at the start of the array).
fn numbered_steps<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ProbeStep>, D::Error> {
    Vec::<RawStep>::deserialize(d)?
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            ProbeStep::try_from(raw)
                .map_err(|e| serde::de::Error::custom(format!("steps[{i}]: {e}")))
        })
        .collect()
}

fn one() -> u32 {
    1
}

fn at_least_one<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "sessions must be at least 1 (it is how many sessions run the steps)",
        )),
        n => Ok(n),
    }
}

/// TLS on the control connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeTls {
    /// Plain FTP (a `send = "AUTH TLS"` step can still upgrade).
    #[default]
    None,
    /// `login` sends AUTH TLS first, then PBSZ 0 and PROT P after PASS (RFC 4217).
    Explicit,
    /// TLS from the first byte; `login` sends PBSZ 0 and PROT P after PASS.
    Implicit,
}

/// How a transfer step gets its data connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// PASV; the probe connects to the address the 227 names, as given (default).
    #[default]
    Pasv,
    /// EPSV; the probe connects to the control IP at the port the 229 names.
    Epsv,
    /// PORT naming the probe's own address and a port of `active_ports`.
    Port,
    /// EPRT naming the probe's own address and a port of `active_ports`.
    Eprt,
}

impl Via {
    /// The command: `PASV`, `EPSV`, `PORT` or `EPRT`.
    pub fn command(self) -> &'static str {
        match self {
            Via::Pasv => "PASV",
            Via::Epsv => "EPSV",
            Via::Port => "PORT",
            Via::Eprt => "EPRT",
        }
    }
}

/// One step (a TOML inline table with exactly one action key; see the module documentation
/// of [`crate::probe`] for the language).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawStep")]
pub enum ProbeStep {
    /// `{ login = true }`: (AUTH TLS,) USER, PASS (, PBSZ 0, PROT P).
    Login {
        /// Checked against the reply to PASS (or the reply that ended the login early).
        expect: Option<Expect>,
    },
    /// `{ send = "EPSV ALL", expect = "200" }`: one command line, placeholders rendered.
    Send {
        /// The line, without CRLF; may hold placeholders.
        line: String,
        /// Checked against the reply.
        expect: Option<Expect>,
    },
    /// `{ retr = "/gen/1M", via = "epsv", offset = 1000 }`: a download, verified.
    Retr {
        /// The path.
        path: String,
        /// How the data connection is made.
        via: Via,
        /// REST before RETR.
        offset: Option<u64>,
        /// Checked against the step's last reply.
        expect: Option<Expect>,
        /// `false`: the data TLS handshake does not offer the control connection's session.
        tls_resume: Option<bool>,
    },
    /// `{ stor = "/sink/gen/64K", size = "64K" }`: an upload of generated content.
    Stor {
        /// The path.
        path: String,
        /// How the data connection is made.
        via: Via,
        /// Bytes sent (a number or a size such as `64K`).
        size: u64,
        /// Checked against the step's last reply.
        expect: Option<Expect>,
    },
    /// `{ list = "/" }`: LIST (an empty path sends a bare `LIST`).
    List {
        /// The path.
        path: String,
        /// How the data connection is made.
        via: Via,
        /// Checked against the step's last reply.
        expect: Option<Expect>,
    },
    /// `{ abor_during = "/gen/64M", after = "1M" }`: RETR, read `after` bytes, send ABOR,
    /// record the replies while reading the data connection until it closes.
    AborDuring {
        /// The path.
        path: String,
        /// How the data connection is made.
        via: Via,
        /// Bytes read before ABOR (default 1M).
        after: u64,
    },
    /// `{ sleep_ms = 500 }`: wait.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
}

impl ProbeStep {
    /// The step's action key (`login`, `send`, `retr`, ...), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeStep::Login { .. } => "login",
            ProbeStep::Send { .. } => "send",
            ProbeStep::Retr { .. } => "retr",
            ProbeStep::Stor { .. } => "stor",
            ProbeStep::List { .. } => "list",
            ProbeStep::AborDuring { .. } => "abor_during",
            ProbeStep::Sleep { .. } => "sleep_ms",
        }
    }

    /// How the step makes its data connection, if it makes one.
    pub fn via(&self) -> Option<Via> {
        match self {
            ProbeStep::Retr { via, .. }
            | ProbeStep::Stor { via, .. }
            | ProbeStep::List { via, .. }
            | ProbeStep::AborDuring { via, .. } => Some(*via),
            _ => None,
        }
    }
}

impl ProbeSpec {
    /// Each upload's path and size, in step order.
    pub fn uploads(&self) -> Vec<(String, u64)> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                ProbeStep::Stor { path, size, .. } => Some((path.clone(), *size)),
                _ => None,
            })
            .collect()
    }
}

/// The keys a step table may have (serde checks the unknown ones).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    login: Option<bool>,
    send: Option<String>,
    retr: Option<String>,
    stor: Option<String>,
    list: Option<String>,
    abor_during: Option<String>,
    sleep_ms: Option<u64>,
    via: Option<Via>,
    offset: Option<Size>,
    size: Option<Size>,
    after: Option<Size>,
    expect: Option<Expect>,
    tls_resume: Option<bool>,
}

impl TryFrom<RawStep> for ProbeStep {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<ProbeStep, String> {
        // The action keys, in the order the error messages list them.
        let keys = [
            ("login", raw.login.is_some()),
            ("send", raw.send.is_some()),
            ("retr", raw.retr.is_some()),
            ("stor", raw.stor.is_some()),
            ("list", raw.list.is_some()),
            ("abor_during", raw.abor_during.is_some()),
            ("sleep_ms", raw.sleep_ms.is_some()),
        ];
        let all = || keys.map(|(k, _)| k).join(", ");
        let actions: Vec<&str> = keys
            .into_iter()
            .filter_map(|(k, present)| present.then_some(k))
            .collect();
        let action = match actions[..] {
            [one] => one,
            [] => return Err(format!("a step needs one of {}", all())),
            _ => {
                return Err(format!(
                    "a step has exactly one of {}; this one has {}",
                    all(),
                    actions.join(" and ")
                ))
            }
        };
        let allowed: &[&str] = match action {
            "login" => &["expect"],
            "send" => &["expect"],
            "retr" => &["via", "offset", "expect", "tls_resume"],
            "stor" => &["via", "size", "expect"],
            "list" => &["via", "expect"],
            "abor_during" => &["via", "after"],
            _ => &[],
        };
        let given = [
            ("via", raw.via.is_some()),
            ("offset", raw.offset.is_some()),
            ("size", raw.size.is_some()),
            ("after", raw.after.is_some()),
            ("expect", raw.expect.is_some()),
            ("tls_resume", raw.tls_resume.is_some()),
        ];
        if let Some((key, _)) = given
            .iter()
            .find(|(key, present)| *present && !allowed.contains(key))
        {
            let takes = if allowed.is_empty() {
                "no other key".to_owned()
            } else {
                allowed.join(", ")
            };
            return Err(format!(
                "`{key}` does not apply to a `{action}` step (it takes {takes})"
            ));
        }
        let via = raw.via.unwrap_or_default();
        let expect = raw.expect;
        Ok(match action {
            "login" => {
                if raw.login != Some(true) {
                    return Err("`login` can only be true".into());
                }
                ProbeStep::Login { expect }
            }
            "send" => {
                let line = raw.send.unwrap_or_default();
                check_line(&line)?;
                ProbeStep::Send { line, expect }
            }
            "retr" => ProbeStep::Retr {
                path: path("retr", raw.retr)?,
                via,
                offset: raw.offset.map(|s| s.0),
                expect,
                tls_resume: raw.tls_resume,
            },
            "stor" => ProbeStep::Stor {
                path: path("stor", raw.stor)?,
                via,
                size: raw
                    .size
                    .ok_or("a `stor` step needs `size` (bytes, or a size such as \"64K\")")?
                    .0,
                expect,
            },
            "list" => ProbeStep::List {
                path: raw.list.unwrap_or_default(),
                via,
                expect,
            },
            "abor_during" => ProbeStep::AborDuring {
                path: path("abor_during", raw.abor_during)?,
                via,
                after: raw.after.map_or(1 << 20, |s| s.0),
            },
            _ => ProbeStep::Sleep {
                ms: raw.sleep_ms.unwrap_or_default(),
            },
        })
    }
}

fn path(key: &str, value: Option<String>) -> Result<String, String> {
    match value {
        Some(p) if !p.is_empty() && !p.contains(['\r', '\n']) => Ok(p),
        _ => Err(format!("`{key}` needs a path (not empty, no line break)")),
    }
}

/// A `send` line: one line, and only known placeholders.
fn check_line(line: &str) -> Result<(), String> {
    if line.contains(['\r', '\n']) {
        return Err("`send` is one command line: no CR or LF in it".into());
    }
    for name in braced(line) {
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} in `send` (known: {})",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
    }
    Ok(())
}

/// The placeholders `send` lines may hold.
const PLACEHOLDERS: &[&str] = &[
    "user",
    "password",
    "decoy_port_args",
    "decoy_eprt",
    "own_port_args_22",
    "own_eprt_22",
    "own_port_args",
    "own_eprt",
];

/// The text inside each `{...}` of a line: stricter than [`crate::template::placeholders`]
/// (which takes only `{word}`s and leaves other braces as text), so that a load check finds
/// a `{}` or `{own eprt}` that would otherwise be sent as it stands.
fn braced(line: &str) -> impl Iterator<Item = &str> {
    line.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// What placeholders render to in one session.
#[derive(Debug, Clone)]
pub(crate) struct Values<'a> {
    /// `{user}`.
    pub user: &'a str,
    /// `{password}`.
    pub password: &'a str,
    /// The probe's own IP (for `{own_...}`).
    pub own_ip: IpAddr,
    /// The decoy, if the target has one.
    pub decoy: Option<SocketAddr>,
    /// A port of the probe's active range (for `{own_port_args}`, `{own_eprt}`).
    pub own_port: u16,
}

/// Renders the placeholders of a `send` line; an error says which one could not be.
pub(crate) fn render(line: &str, values: &Values<'_>) -> Result<String, String> {
    use ftpspec_mock::wire::{format_eprt, format_host_port};
    let v4 = |addr: SocketAddr, what: &str| match addr {
        SocketAddr::V4(v4) => Ok(format_host_port(v4)),
        SocketAddr::V6(_) => Err(format!("{what} {addr} is not IPv4: PORT cannot name it")),
    };
    let no_decoy = || "the step names the decoy, but the target has no decoy".to_owned();
    let own22 = SocketAddr::new(values.own_ip, 22);
    let own = SocketAddr::new(values.own_ip, values.own_port);
    let mut vars: Vec<(&str, String)> = Vec::new();
    for (_, name) in crate::template::placeholders(line) {
        let value = match name {
            "user" => values.user.to_owned(),
            "password" => values.password.to_owned(),
            "decoy_port_args" => v4(values.decoy.ok_or_else(no_decoy)?, "the decoy")?,
            "decoy_eprt" => format_eprt(values.decoy.ok_or_else(no_decoy)?),
            "own_port_args_22" => v4(own22, "the probe's address")?,
            "own_eprt_22" => format_eprt(own22),
            "own_port_args" => v4(own, "the probe's address")?,
            "own_eprt" => format_eprt(own),
            other => return Err(format!("unknown placeholder {{{other}}}")),
        };
        vars.push((name, value));
    }
    // In one pass: a value that holds a placeholder's name (a password `{user}`) stays as it is.
    Ok(crate::template::expand(line, &vars))
}

/// A size: a TOML integer, or a string such as `"64K"` (binary units, as `/gen` paths).
struct Size(u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        let bad = || {
            serde::de::Error::custom(
                "expected a number of bytes or a size such as \"64K\", \"1M\", \"10G\"",
            )
        };
        match Raw::deserialize(d).map_err(|_| bad())? {
            Raw::Number(n) => Ok(Size(n)),
            Raw::Text(t) => ftpspec_mock::generated::parse_size(t.trim())
                .map(Size)
                .ok_or_else(bad),
        }
    }
}

/// The reply a step expects: a code or a prefix of one (`"226"`, `"2"`, `"55"`), or a list
/// of them (any one matches).
///
/// ```
/// use ftpspec::probe::Expect;
/// let e: Expect = "2".parse().unwrap();
/// assert!(e.matches(226) && !e.matches(550));
/// let e: Expect = "522, 425".parse().unwrap();
/// assert!(e.matches(425));
/// assert_eq!(e.to_string(), "522 or 425");
/// assert!("6".parse::<Expect>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "Vec<String>")]
pub struct Expect(Vec<String>);

impl Expect {
    /// Whether a reply code is one of those expected.
    pub fn matches(&self, code: u16) -> bool {
        let code = code.to_string();
        self.0.iter().any(|p| code.starts_with(p.as_str()))
    }

    /// The codes or prefixes, as written.
    pub fn codes(&self) -> &[String] {
        &self.0
    }

    fn one(text: &str) -> Result<String, String> {
        let t = text.trim();
        let ok = (1..=3).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_digit())
            && (b'1'..=b'5').contains(&t.as_bytes()[0]);
        if ok {
            Ok(t.to_owned())
        } else {
            Err(format!(
                "expected reply {text:?} is not a reply code or its first digits (1 to 3 digits, the first 1-5)"
            ))
        }
    }
}

impl std::str::FromStr for Expect {
    type Err = String;

    /// One code or prefix, or several separated by commas.
    fn from_str(s: &str) -> Result<Expect, String> {
        let codes = s
            .split(',')
            .map(Expect::one)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Expect(codes))
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" or "))
    }
}

impl From<Expect> for Vec<String> {
    fn from(e: Expect) -> Vec<String> {
        e.0
    }
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Expect, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum One {
            Number(u64),
            Text(String),
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(One),
            Many(Vec<One>),
        }
        let text = |o: One| match o {
            One::Number(n) => n.to_string(),
            One::Text(t) => t,
        };
        let raw = Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "`expect` is a reply code or its first digits (\"226\", \"2\"), or a list of them",
            )
        })?;
        let codes = match raw {
            Raw::One(o) => vec![text(o)],
            Raw::Many(list) if !list.is_empty() => list.into_iter().map(text).collect(),
            Raw::Many(_) => return Err(serde::de::Error::custom("`expect` list is empty")),
        };
        codes
            .iter()
            .map(|c| Expect::one(c))
            .collect::<Result<Vec<_>, _>>()
            .map(Expect)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::from_toml;
    use rstest::rstest;

    fn step(table: &str) -> Result<ProbeStep, String> {
        let text = format!("steps = [{table}]");
        from_toml::<ProbeSpec>("test.toml", &text)
            .map(|mut s| s.steps.remove(0))
            .map_err(|e| e.to_string())
    }

    #[rstest]
    #[case("{ login = true }", ProbeStep::Login { expect: None })]
    #[case("{ login = true, expect = 230 }", ProbeStep::Login { expect: Some("230".parse().unwrap()) })]
    #[case(r#"{ send = "EPSV ALL", expect = "200" }"#, ProbeStep::Send { line: "EPSV ALL".into(), expect: Some("200".parse().unwrap()) })]
    #[case(r#"{ send = "PORT {decoy_port_args}", expect = ["5", "200"] }"#, ProbeStep::Send { line: "PORT {decoy_port_args}".into(), expect: Some("5,200".parse().unwrap()) })]
    #[case(r#"{ retr = "file.bin", via = "epsv", offset = 12345678910 }"#, ProbeStep::Retr { path: "file.bin".into(), via: Via::Epsv, offset: Some(12_345_678_910), expect: None, tls_resume: None })]
    #[case(r#"{ retr = "/gen/1M", tls_resume = false, expect = "522" }"#, ProbeStep::Retr { path: "/gen/1M".into(), via: Via::Pasv, offset: None, expect: Some("522".parse().unwrap()), tls_resume: Some(false) })]
    #[case(r#"{ stor = "/sink/gen/64K", via = "eprt", size = "64K" }"#, ProbeStep::Stor { path: "/sink/gen/64K".into(), via: Via::Eprt, size: 65536, expect: None })]
    #[case(r#"{ stor = "x", size = 10 }"#, ProbeStep::Stor { path: "x".into(), via: Via::Pasv, size: 10, expect: None })]
    #[case(r#"{ list = "", via = "port" }"#, ProbeStep::List { path: String::new(), via: Via::Port, expect: None })]
    #[case(r#"{ abor_during = "/gen/64M" }"#, ProbeStep::AborDuring { path: "/gen/64M".into(), via: Via::Pasv, after: 1 << 20 })]
    #[case(r#"{ abor_during = "/gen/64M", after = "2M", via = "epsv" }"#, ProbeStep::AborDuring { path: "/gen/64M".into(), via: Via::Epsv, after: 2 << 20 })]
    #[case("{ sleep_ms = 250 }", ProbeStep::Sleep { ms: 250 })]
    fn valid_steps(#[case] table: &str, #[case] want: ProbeStep) {
        assert_eq!(step(table).unwrap(), want);
    }

    #[rstest]
    #[case("{ login = true, retry = 3 }", "unknown field `retry`")]
    #[case("{ }", "a step needs one of login, send")]
    #[case(r#"{ send = "NOOP", retr = "x" }"#, "this one has send and retr")]
    #[case(
        r#"{ send = "NOOP", via = "epsv" }"#,
        "`via` does not apply to a `send` step (it takes expect)"
    )]
    #[case(
        r#"{ stor = "x", size = 1, offset = 5 }"#,
        "`offset` does not apply to a `stor` step"
    )]
    #[case(
        r#"{ list = "/", tls_resume = false }"#,
        "`tls_resume` does not apply to a `list` step"
    )]
    #[case(
        "{ sleep_ms = 5, expect = 200 }",
        "`expect` does not apply to a `sleep_ms` step (it takes no other key)"
    )]
    #[case(r#"{ stor = "x" }"#, "a `stor` step needs `size`")]
    #[case(r#"{ retr = "" }"#, "`retr` needs a path")]
    #[case("{ login = false }", "`login` can only be true")]
    #[case(
        r#"{ send = "PORT {decoy}" }"#,
        "unknown placeholder {decoy} in `send`"
    )]
    #[case(r#"{ send = "NOOP\r\nQUIT" }"#, "no CR or LF")]
    #[case(r#"{ retr = "x", via = "active" }"#, "unknown variant `active`")]
    #[case(r#"{ retr = "x", offset = "lots" }"#, "a number of bytes or a size")]
    #[case(r#"{ send = "NOOP", expect = "6" }"#, "not a reply code")]
    #[case(r#"{ send = "NOOP", expect = "2261" }"#, "not a reply code")]
    #[case(r#"{ send = "NOOP", expect = [] }"#, "`expect` list is empty")]
    #[case(r#"{ send = "NOOP", expect = true }"#, "`expect` is a reply code")]
    fn invalid_steps(#[case] table: &str, #[case] message: &str) {
        let err = step(table).unwrap_err();
        assert!(err.contains(message), "{err}");
        assert!(err.starts_with("test.toml:1:"), "{err}");
    }

    #[test]
    fn spec_defaults_and_errors_at_line_and_column() {
        let spec: ProbeSpec = from_toml("t", "steps = []").unwrap();
        assert_eq!(
            (spec.tls, spec.sessions, spec.idle_connections),
            (ProbeTls::None, 1, 0)
        );
        let err = from_toml::<ProbeSpec>("t", "tls = \"starttls\"\nsteps = []")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t:1:7: unknown variant `starttls`"),
            "{err}"
        );
        let err = from_toml::<ProbeSpec>("t", "sessions = 0\nsteps = []")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sessions must be at least 1"), "{err}");
        let err = from_toml::<ProbeSpec>("t", "steps = []\nidle = 3")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t:2:1: unknown field `idle`"), "{err}");
        let text = "steps = [\n  { login = true },\n  { send = \"X\", size = 1 },\n]";
        let err = from_toml::<ProbeSpec>("t", text).unwrap_err().to_string();
        assert!(
            err.starts_with("t:1:9: steps[1]: `size` does not apply"),
            "{err}"
        );
        let text = "steps = [\n  { login = true },\n  { send = \"X\", sizes = 1 },\n]";
        let err = from_toml::<ProbeSpec>("t", text).unwrap_err().to_string();
        assert!(err.starts_with("t:3:17: unknown field `sizes`"), "{err}");
    }

    #[rstest]
    #[case("226", &[226], &[225, 126, 326])]
    #[case("2", &[200, 226, 250], &[150, 550])]
    #[case("55", &[550, 553], &[530])]
    #[case("522,425", &[522, 425], &[226])]
    fn expect_matches(#[case] text: &str, #[case] yes: &[u16], #[case] no: &[u16]) {
        let e: Expect = text.parse().unwrap();
        assert!(yes.iter().all(|c| e.matches(*c)), "{e}");
        assert!(no.iter().all(|c| !e.matches(*c)), "{e}");
    }

    #[rstest]
    #[case("")]
    #[case("0")]
    #[case("6")]
    #[case("2x")]
    #[case("1234")]
    #[case("226,")]
    fn expect_refuses(#[case] text: &str) {
        assert!(text.parse::<Expect>().is_err());
    }

    #[test]
    fn renders_placeholders() {
        let values = Values {
            user: "u",
            password: "p",
            own_ip: "10.0.0.2".parse().unwrap(),
            decoy: Some("10.0.0.9:2121".parse().unwrap()),
            own_port: 50100,
        };
        let r = |l: &str| render(l, &values);
        assert_eq!(r("USER {user}").unwrap(), "USER u");
        assert_eq!(r("PORT {decoy_port_args}").unwrap(), "PORT 10,0,0,9,8,73");
        assert_eq!(r("PORT {own_port_args}").unwrap(), "PORT 10,0,0,2,195,180");
        assert_eq!(r("EPRT {own_eprt}").unwrap(), "EPRT |1|10.0.0.2|50100|");
        assert_eq!(r("EPRT {decoy_eprt}").unwrap(), "EPRT |1|10.0.0.9|2121|");
        assert_eq!(r("PORT {own_port_args_22}").unwrap(), "PORT 10,0,0,2,0,22");
        assert_eq!(r("EPRT {own_eprt_22}").unwrap(), "EPRT |1|10.0.0.2|22|");
        let none = Values {
            decoy: None,
            ..values
        };
        assert!(render("PORT {decoy_port_args}", &none)
            .unwrap_err()
            .contains("no decoy"));
    }

    #[test]
    fn a_rendered_value_is_not_rendered_again() {
        let values = Values {
            user: "u",
            password: "{user}",
            own_ip: "10.0.0.2".parse().unwrap(),
            decoy: None,
            own_port: 50100,
        };
        assert_eq!(
            render("SITE {password} {user}", &values).unwrap(),
            "SITE {user} u"
        );
    }
}
