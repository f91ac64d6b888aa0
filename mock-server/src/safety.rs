//! The network-safety rule: outside a network namespace created by ftpspec, the server only
//! ever points clients at, or connects to, loopback addresses (and 0.0.0.0/8, which Linux
//! treats as "this host"). Inside one, the namespace itself keeps traffic on the machine.

use std::net::{IpAddr, Ipv4Addr};

/// Prefix of the names of the network namespaces ftpspec creates (`ip netns` names, bind-mounted
/// under `/run/netns`).
pub const NETNS_PREFIX: &str = "ftpspec-";

/// Where named network namespaces are bind-mounted.
const NETNS_RUN_DIR: &str = "/run/netns";

/// Whether the calling thread is inside a network namespace that ftpspec created: its
/// `/proc/thread-self/ns/net` is the same namespace (device and inode) as one of
/// `/run/netns/ftpspec-*`, which is how `ip netns identify` tells too.
pub fn in_ftpspec_netns() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(me) = std::fs::metadata("/proc/thread-self/ns/net") else {
        return false;
    };
    let Ok(dir) = std::fs::read_dir(NETNS_RUN_DIR) else {
        return false;
    };
    dir.flatten().any(|entry| {
        entry
            .file_name()
            .to_string_lossy()
            .starts_with(NETNS_PREFIX)
            && entry
                .metadata()
                .is_ok_and(|m| m.dev() == me.dev() && m.ino() == me.ino())
    })
}

/// Whether `ip` is safe to advertise or dial when not in an ftpspec namespace.
pub fn host_safe(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_loopback() || v4.octets()[0] == 0,
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified(),
    }
}

/// The lines of a reply (one, or several with RFC 959 §4.2 multi-line framing), each without
/// its reply code: the first line always starts with one; a later line only when three digits
/// are followed by `-`, a space or nothing (other continuation lines are kept whole).
fn reply_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            let b = line.as_bytes();
            let coded = i == 0
                || (b.len() >= 3
                    && b[..3].iter().all(u8::is_ascii_digit)
                    && matches!(b.get(3), None | Some(b'-' | b' ')));
            if coded {
                line.get(3..).unwrap_or("")
            } else {
                line
            }
        })
}

/// The IPv4 address in one line of a 227 reply, read as RFC 1123 §4.1.2.6 tells clients to:
/// from the first digit on, the first four numbers, each taken modulo 256 (as some clients
/// wrap out-of-range octets).
fn line_address(line: &str) -> Option<Ipv4Addr> {
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(4)
        .map(|s| s.parse::<u64>().unwrap_or(u64::MAX) % 256)
        .collect();
    (nums.len() == 4)
        .then(|| Ipv4Addr::new(nums[0] as u8, nums[1] as u8, nums[2] as u8, nums[3] as u8))
}

/// Every IPv4 address any line of a 227 reply names, read leniently (see `line_address`).
/// A client takes the one on the last line (RFC 959 §4.2: the last line of a multi-line reply
/// is the reply), but one that reads the wrong line must not be pointed off the machine
/// either.
pub(crate) fn addresses_in_227(text: &str) -> impl Iterator<Item = Ipv4Addr> + '_ {
    reply_lines(text).filter_map(line_address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// The address a client takes: the last line's.
    fn lenient_227_address(text: &str) -> Option<Ipv4Addr> {
        reply_lines(text).last().and_then(line_address)
    }

    #[rstest]
    #[case("127.0.0.1", true)]
    #[case("127.8.9.10", true)]
    #[case("0.0.0.0", true)]
    #[case("::1", true)]
    #[case("::ffff:127.0.0.1", true)]
    #[case("10.0.0.2", false)]
    #[case("203.0.113.5", false)]
    #[case("192.168.1.1", false)]
    #[case("fe80::1", false)]
    fn safe(#[case] ip: &str, #[case] ok: bool) {
        assert_eq!(host_safe(ip.parse().unwrap()), ok);
    }

    #[rstest]
    #[case("227 Entering Passive Mode (127,0,0,1,4,1)", Some("127.0.0.1"))]
    #[case("227 Entering Passive Mode (300,0,113,50,4,1)", Some("44.0.113.50"))]
    #[case("227 Entering Passive Mode", None)]
    #[case("227 (1,2,3)", None)]
    #[case("227 =10,0,0,2,4,1", Some("10.0.0.2"))]
    #[case(
        "227-listen socket created\r\n227 Entering Passive Mode (127,0,0,1,4,1)\r\n",
        Some("127.0.0.1")
    )]
    #[case(
        "227-10,0,0,2,4,1\r\n227 Entering Passive Mode (127,0,0,1,4,1)",
        Some("127.0.0.1")
    )]
    #[case("227-Entering Passive Mode (127,0,0,1,4,1)\r\n227 End", None)]
    fn lenient(#[case] text: &str, #[case] ip: Option<&str>) {
        assert_eq!(lenient_227_address(text), ip.map(|i| i.parse().unwrap()));
    }

    #[test]
    fn every_line_is_read_for_safety() {
        let text =
            "227-Connect to 10,0,0,2,4,1 instead\r\n227 Entering Passive Mode (127,0,0,1,4,1)";
        let all: Vec<Ipv4Addr> = addresses_in_227(text).collect();
        assert_eq!(all, [Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::LOCALHOST]);
        let issue_16 = "227-listen socket created\r\n227 Entering Passive Mode (127,0,0,1,4,1)";
        let all: Vec<Ipv4Addr> = addresses_in_227(issue_16).collect();
        assert_eq!(all, [Ipv4Addr::LOCALHOST]);
    }

    #[test]
    fn the_test_process_is_not_in_an_ftpspec_namespace() {
        assert!(!in_ftpspec_netns());
    }
}
