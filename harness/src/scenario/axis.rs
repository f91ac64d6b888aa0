//! The axes of variants and their values ([`super::variant`] applies them).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::personality::Personality;

/// An axis a scenario can admit in its `axes` key.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Axis {
    /// Plain FTP, explicit FTPS, implicit FTPS.
    Tls,
    /// IPv4 or IPv6.
    Ip,
}

impl Axis {
    /// The name in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Axis::Tls => "tls",
            Axis::Ip => "ip",
        }
    }
}

/// A value of the `tls` axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// As written.
    Plain,
    /// AUTH TLS on the plain port.
    Explicit,
    /// TLS from the first byte.
    Implicit,
}

impl Tls {
    /// Every value.
    pub const ALL: [Tls; 3] = [Tls::Plain, Tls::Explicit, Tls::Implicit];

    /// The name in ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Tls::Plain => "plain",
            Tls::Explicit => "explicit",
            Tls::Implicit => "implicit",
        }
    }
}

/// A value of the `ip` axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ip {
    /// As written.
    V4,
    /// The preset's IPv6 twin.
    V6,
}

impl Ip {
    /// Every value.
    pub const ALL: [Ip; 2] = [Ip::V4, Ip::V6];

    /// The name in ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Ip::V4 => "4",
            Ip::V6 => "6",
        }
    }
}

/// One value of each axis that applies to a scenario (`None`: the axis does not apply).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variant {
    /// The `ip` axis.
    pub ip: Option<Ip>,
    /// The `personality` axis.
    pub personality: Option<Personality>,
    /// The `tls` axis.
    pub tls: Option<Tls>,
}

impl Variant {
    /// Axis name -> value, in id order (results.json's `axes`).
    pub fn axes(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(ip) = self.ip {
            out.insert("ip".into(), ip.as_str().into());
        }
        if let Some(p) = &self.personality {
            out.insert("personality".into(), p.name.clone());
        }
        if let Some(tls) = self.tls {
            out.insert("tls".into(), tls.as_str().into());
        }
        out
    }

    /// `@ip=6,tls=explicit`, or nothing for the scenario as written.
    pub fn suffix(&self) -> String {
        let axes = self.axes();
        if axes.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = axes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("@{}", parts.join(","))
    }
}
