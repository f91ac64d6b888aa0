//! Address formats on the control channel: `PORT`/`227` host-port numbers (RFC 959 §4.1.2,
//! RFC 1123 §4.1.2.6) and `EPRT`/`229` (RFC 2428 §2, §3).
//!
//! Public so that harness code can read what a client announced.
//!
//! ```
//! use ftpspec_mock::wire;
//! let addr = "10.0.0.2:50007".parse().unwrap();
//! assert_eq!(wire::format_host_port(addr), "10,0,0,2,195,87");
//! assert_eq!(wire::parse_host_port("10,0,0,2,195,87").unwrap(), addr);
//! assert_eq!(wire::parse_227("227 Entering Passive Mode (10,0,0,2,195,87).").unwrap(), addr);
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

/// Why an address argument could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not six comma-separated numbers.
    #[error("expected six comma-separated numbers h1,h2,h3,h4,p1,p2, got {0:?}")]
    HostPortShape(String),
    /// A number outside 0..=255.
    #[error("number {0} in host-port is outside 0..=255")]
    OutOfRange(String),
    /// EPRT/229 text not of the form `<d>af<d>addr<d>port<d>`.
    #[error("expected |af|address|port| (RFC 2428), got {0:?}")]
    ExtendedShape(String),
    /// EPRT address family other than 1 (IPv4) or 2 (IPv6).
    #[error("network protocol {0:?} not supported (use 1 or 2)")]
    UnsupportedFamily(String),
    /// The address does not parse for its family.
    #[error("bad address {0:?} for its family")]
    BadAddress(String),
    /// The port is not a number in 1..=65535.
    #[error("bad port {0:?}")]
    BadPort(String),
}

/// `h1,h2,h3,h4,p1,p2` for an IPv4 socket address.
pub fn format_host_port(addr: SocketAddrV4) -> String {
    let [a, b, c, d] = addr.ip().octets();
    let port = addr.port();
    format!("{a},{b},{c},{d},{},{}", port >> 8, port & 0xff)
}

/// Reads `h1,h2,h3,h4,p1,p2` (spaces around numbers allowed), as in a `PORT` argument.
pub fn parse_host_port(text: &str) -> Result<SocketAddrV4, WireError> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() != 6
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(WireError::HostPortShape(text.to_owned()));
    }
    let mut nums = [0u8; 6];
    for (slot, part) in nums.iter_mut().zip(&parts) {
        *slot = part
            .parse::<u8>()
            .map_err(|_| WireError::OutOfRange((*part).to_owned()))?;
    }
    let ip = Ipv4Addr::new(nums[0], nums[1], nums[2], nums[3]);
    Ok(SocketAddrV4::new(
        ip,
        u16::from(nums[4]) << 8 | u16::from(nums[5]),
    ))
}

/// The last line of a reply: with RFC 959 §4.2 multi-line framing (`227-...` lines, then
/// `227 ...`), the one a client reads the result from.
fn last_line(text: &str) -> &str {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .rfind(|line| !line.is_empty())
        .unwrap_or("")
}

/// Reads the address from a 227 reply the way RFC 1123 §4.1.2.6 asks clients to: scan the text
/// after the reply code for the first run of six comma-separated numbers, whatever surrounds
/// it. A multi-line reply is read from its last line (RFC 959 §4.2).
///
/// ```
/// use ftpspec_mock::wire::parse_227;
/// let reply = "227-listen socket created\r\n227 Entering Passive Mode (127,0,0,1,4,1)\r\n";
/// assert_eq!(parse_227(reply).unwrap(), "127.0.0.1:1025".parse().unwrap());
/// ```
pub fn parse_227(text: &str) -> Result<SocketAddrV4, WireError> {
    let text = last_line(text).get(3..).unwrap_or("");
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if bytes[start].is_ascii_digit() {
            let end = text[start..]
                .find(|c: char| !(c.is_ascii_digit() || c == ','))
                .map_or(text.len(), |n| start + n);
            let candidate = &text[start..end];
            if candidate.split(',').count() >= 6 {
                let six: Vec<&str> = candidate.split(',').take(6).collect();
                return parse_host_port(&six.join(","));
            }
            start = end;
        } else {
            start += 1;
        }
    }
    Err(WireError::HostPortShape(text.trim().to_owned()))
}

/// `|1|addr|port|` or `|2|addr|port|` for an `EPRT` argument.
pub fn format_eprt(addr: SocketAddr) -> String {
    let af = if addr.is_ipv4() { 1 } else { 2 };
    format!("|{af}|{}|{}|", addr.ip(), addr.port())
}

/// Reads an `EPRT` argument: `<d><af><d><address><d><port><d>` with any delimiter in
/// ASCII 33..=126 (RFC 2428 §2).
pub fn parse_eprt(text: &str) -> Result<SocketAddr, WireError> {
    let shape = || WireError::ExtendedShape(text.to_owned());
    let delim = text
        .chars()
        .next()
        .filter(|c| ('!'..='~').contains(c))
        .ok_or_else(shape)?;
    let fields: Vec<&str> = text.split(delim).collect();
    if fields.len() != 5 || !fields[0].is_empty() || !fields[4].is_empty() {
        return Err(shape());
    }
    let ip: IpAddr = match fields[1] {
        "1" => IpAddr::V4(
            fields[2]
                .parse()
                .map_err(|_| WireError::BadAddress(fields[2].into()))?,
        ),
        "2" => IpAddr::V6(
            fields[2]
                .parse()
                .map_err(|_| WireError::BadAddress(fields[2].into()))?,
        ),
        other => return Err(WireError::UnsupportedFamily(other.into())),
    };
    let port = parse_port(fields[3])?;
    Ok(SocketAddr::new(ip, port))
}

/// `(|||port|)`, the argument of a 229 reply.
pub fn format_229(port: u16) -> String {
    format!("(|||{port}|)")
}

/// Reads the port from a 229 reply: the text between the parentheses is `<d><d><d>port<d>`.
/// A multi-line reply is read from its last line (RFC 959 §4.2).
pub fn parse_229(text: &str) -> Result<u16, WireError> {
    let shape = || WireError::ExtendedShape(text.to_owned());
    let text = last_line(text);
    let open = text.find('(').ok_or_else(shape)?;
    let close = text[open..].find(')').map(|n| open + n).ok_or_else(shape)?;
    let inner = &text[open + 1..close];
    let delim = inner.chars().next().ok_or_else(shape)?;
    let fields: Vec<&str> = inner.split(delim).collect();
    if fields.len() != 5
        || fields
            .iter()
            .enumerate()
            .any(|(i, f)| i != 3 && !f.is_empty())
    {
        return Err(shape());
    }
    parse_port(fields[3])
}

fn parse_port(text: &str) -> Result<u16, WireError> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err(WireError::BadPort(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case("227 Entering Passive Mode (127,0,0,1,195,80)", "127.0.0.1:50000")]
    #[case("227 Entering Passive Mode (127,0,0,1,195,80).", "127.0.0.1:50000")]
    #[case("227 Entering Passive Mode 127,0,0,1,195,80", "127.0.0.1:50000")]
    #[case("227 =127,0,0,1,195,80", "127.0.0.1:50000")]
    #[case("227 Passive 2 go (127,0,0,1,195,80)", "127.0.0.1:50000")]
    fn reads_227_variants(#[case] text: &str, #[case] addr: &str) {
        assert_eq!(parse_227(text).unwrap(), addr.parse().unwrap());
    }

    #[rstest]
    #[case("227 Entering Passive Mode (256,0,0,1,195,80)")]
    #[case("227 Entering Passive Mode")]
    #[case("227 (1,2,3,4,5)")]
    fn refuses_bad_227(#[case] text: &str) {
        assert!(parse_227(text).is_err());
    }

    #[rstest]
    #[case("1,2,3,4,5")]
    #[case("1,2,3,4,5,6,7")]
    #[case("1,2,3,4,5,256")]
    #[case("1,2,3,-4,5,6")]
    #[case("a,b,c,d,e,f")]
    #[case("1,2,3,4,5,")]
    fn refuses_bad_port_args(#[case] text: &str) {
        assert!(parse_host_port(text).is_err());
    }

    #[rstest]
    #[case("|1|127.0.0.1|50000|", "127.0.0.1:50000")]
    #[case("!2!::1!2121!", "[::1]:2121")]
    fn reads_eprt(#[case] text: &str, #[case] addr: &str) {
        assert_eq!(parse_eprt(text).unwrap(), addr.parse().unwrap());
    }

    #[rstest]
    #[case("|3|127.0.0.1|50000|", WireError::UnsupportedFamily("3".into()))]
    #[case("|1|::1|50000|", WireError::BadAddress("::1".into()))]
    #[case("|1|127.0.0.1|0|", WireError::BadPort("0".into()))]
    #[case("|1|127.0.0.1|70000|", WireError::BadPort("70000".into()))]
    #[case("|1|127.0.0.1|+80|", WireError::BadPort("+80".into()))]
    #[case("|1|127.0.0.1|", WireError::ExtendedShape("|1|127.0.0.1|".into()))]
    #[case(" 1 127.0.0.1 80 ", WireError::ExtendedShape(" 1 127.0.0.1 80 ".into()))]
    fn refuses_bad_eprt(#[case] text: &str, #[case] err: WireError) {
        assert_eq!(parse_eprt(text), Err(err));
    }

    proptest! {
        #[test]
        fn host_port_round_trips(ip in any::<u32>(), port in any::<u16>()) {
            let addr = SocketAddrV4::new(Ipv4Addr::from(ip), port);
            prop_assert_eq!(parse_host_port(&format_host_port(addr)).unwrap(), addr);
            let reply = format!("227 Entering Passive Mode ({}).", format_host_port(addr));
            prop_assert_eq!(parse_227(&reply).unwrap(), addr);
        }

        #[test]
        fn eprt_and_229_round_trip(addr in any::<SocketAddr>()) {
            prop_assume!(addr.port() != 0);
            let addr = match addr { SocketAddr::V6(v6) => SocketAddr::new(IpAddr::V6(*v6.ip()), v6.port()), v4 => v4 };
            prop_assert_eq!(parse_eprt(&format_eprt(addr)).unwrap(), addr);
            let reply = format!("229 Entering Extended Passive Mode {}", format_229(addr.port()));
            prop_assert_eq!(parse_229(&reply).unwrap(), addr.port());
        }

        #[test]
        fn parsers_never_panic(text in ".*") {
            let _ = parse_host_port(&text);
            let _ = parse_227(&text);
            let _ = parse_eprt(&text);
            let _ = parse_229(&text);
        }
    }
}
