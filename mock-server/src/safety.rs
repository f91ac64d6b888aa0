//! The network-safety rule: outside a network namespace created by ftpspec, the server only
//! ever points clients at, or connects to, loopback addresses (and 0.0.0.0/8, which Linux
//! treats as "this host"). Inside one, the namespace itself keeps traffic on the machine.

use std::net::IpAddr;

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

/// The IPv4 address a client could take from a 227 text, read leniently: the first four
/// numbers, each taken modulo 256 (as some clients wrap out-of-range octets).
pub(crate) fn lenient_227_address(text: &str) -> Option<std::net::Ipv4Addr> {
    let nums: Vec<u64> = text
        .get(3..)?
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(4)
        .map(|s| s.parse::<u64>().unwrap_or(u64::MAX) % 256)
        .collect();
    (nums.len() == 4).then(|| {
        std::net::Ipv4Addr::new(nums[0] as u8, nums[1] as u8, nums[2] as u8, nums[3] as u8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

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
    fn lenient(#[case] text: &str, #[case] ip: Option<&str>) {
        assert_eq!(lenient_227_address(text), ip.map(|i| i.parse().unwrap()));
    }

    #[test]
    fn the_test_process_is_not_in_an_ftpspec_namespace() {
        assert!(!in_ftpspec_netns());
    }
}
