//! Real traffic through each preset (plain TCP from Rust threads inside the hosts), the
//! observations, the lifecycle (drop, failed builds, SIGKILL + sweep, keep), and that the
//! host's own namespace is never touched. Needs root; CI runs it as root.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use ftpspec_netns::{
    Attempt, AttemptOutcome, HostSpec, PresetName, PresetOptions, Topology, TopologySpec,
};

/// Listens on `port` in `host` (all addresses, IPv4 and IPv6); returns the peer address of
/// the first connection, or `None` if none came in `wait`.
fn listen_once(
    topo: &Topology,
    host: &str,
    port: u16,
    wait: Duration,
) -> ftpspec_netns::HostThread<Option<SocketAddr>> {
    let h = topo.host(host).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = h
        .spawn(move || {
            let l = TcpListener::bind(("::", port)).unwrap();
            l.set_nonblocking(true).unwrap();
            tx.send(()).unwrap();
            let deadline = Instant::now() + wait;
            while Instant::now() < deadline {
                if let Ok((mut s, peer)) = l.accept() {
                    let _ = s.write_all(b"hi");
                    return Some(SocketAddr::new(peer.ip().to_canonical(), peer.port()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            None
        })
        .unwrap();
    rx.recv().unwrap();
    t
}

/// Connects from `host` to `to`; true if the connection was made and greeted.
fn connect(topo: &Topology, host: &str, to: SocketAddr) -> bool {
    topo.host(host)
        .unwrap()
        .in_thread(move || {
            let Ok(mut s) = TcpStream::connect_timeout(&to, Duration::from_millis(700)) else {
                return false;
            };
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = [0u8; 2];
            s.read_exact(&mut buf).is_ok()
        })
        .unwrap()
}

fn sa(ip: std::net::IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

fn has(attempts: &[Attempt], outcome: AttemptOutcome, to: SocketAddr) -> bool {
    attempts.iter().any(|a| a.outcome == outcome && a.to == to)
}

#[test]
fn direct_connects() {
    let p = PresetName::Direct.build(&PresetOptions::default()).unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let t = listen_once(&topo, "server", 2100, Duration::from_secs(3));
    assert!(connect(&topo, "client", sa(p.roles.server_addr, 2100)));
    assert_eq!(t.join().unwrap().unwrap().ip(), p.roles.client_addr);
    topo.destroy().unwrap();
}

#[test]
fn direct_v6_connects_over_ipv6() {
    let p = PresetName::DirectV6
        .build(&PresetOptions::default())
        .unwrap();
    assert!(p.roles.server_addr.is_ipv6() && p.roles.client_addr.is_ipv6());
    let topo = Topology::build(&p.spec).unwrap();
    let t = listen_once(&topo, "server", 2100, Duration::from_secs(3));
    assert!(connect(&topo, "client", sa(p.roles.server_addr, 2100)));
    assert_eq!(t.join().unwrap().unwrap().ip(), p.roles.client_addr);
    // And back: an active-mode style connection from the server to the client.
    let t = listen_once(&topo, "client", 50105, Duration::from_secs(3));
    assert!(connect(&topo, "server", sa(p.roles.client_addr, 50105)));
    assert_eq!(t.join().unwrap().unwrap().ip(), p.roles.server_addr);
    topo.destroy().unwrap();
}

#[test]
fn lan_balancer_forwards_21_and_drops_the_rest() {
    let p = PresetName::LanBalancer
        .build(&PresetOptions::default())
        .unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let r = &p.roles;
    assert_eq!(r.server_addr.to_string(), "10.0.0.20");
    assert_eq!(r.server_own_addr.to_string(), "10.0.0.2");
    // The control connection goes through the balancer, which translates both ways.
    let t = listen_once(&topo, "server", 21, Duration::from_secs(3));
    assert!(connect(&topo, "client", sa(r.server_addr, 21)));
    assert_eq!(t.join().unwrap().unwrap().ip(), r.server_addr, "SNAT");
    // The server's own address is right: the client reaches it on the LAN.
    let t = listen_once(&topo, "server", 50005, Duration::from_secs(3));
    assert!(connect(&topo, "client", sa(r.server_own_addr, 50005)));
    assert_eq!(t.join().unwrap().unwrap().ip(), r.client_addr, "directly");
    // Another port of the balancer's address: dropped and recorded.
    let t = listen_once(&topo, "server", 50006, Duration::from_secs(1));
    assert!(!connect(&topo, "client", sa(r.server_addr, 50006)));
    assert_eq!(t.join().unwrap(), None);
    let attempts = topo.attempts().unwrap();
    let by_balancer = |outcome, to| {
        attempts
            .iter()
            .any(|a| a.host == "balancer" && a.outcome == outcome && a.to == to)
    };
    assert!(
        by_balancer(AttemptOutcome::Dropped, sa(r.server_addr, 50006)),
        "{attempts:?}"
    );
    assert!(
        by_balancer(AttemptOutcome::Forwarded, sa(r.server_own_addr, 21)),
        "{attempts:?}"
    );
    assert!(
        !has(
            &attempts,
            AttemptOutcome::Forwarded,
            sa(r.server_own_addr, 50005)
        ),
        "the direct connection does not pass the balancer: {attempts:?}"
    );
    topo.destroy().unwrap();
}

#[rstest::rstest]
#[case::ipv4(PresetName::Direct, "198.51.100.21")]
#[case::ipv6(PresetName::DirectV6, "2001:db8:1::21")]
fn the_server_connects_from_its_second_address(#[case] name: PresetName, #[case] second: &str) {
    let second: std::net::IpAddr = second.parse().unwrap();
    let p = name
        .build(&PresetOptions {
            server_second_addr: Some(second),
            ..PresetOptions::default()
        })
        .unwrap();
    assert_eq!(p.roles.server_second_addr, Some(second));
    let topo = Topology::build(&p.spec).unwrap();
    let client = p.roles.client_addr;
    let t = listen_once(&topo, "client", 50105, Duration::from_secs(3));
    let connected = topo
        .host("server")
        .unwrap()
        .in_thread(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let socket = if second.is_ipv6() {
                    tokio::net::TcpSocket::new_v6()
                } else {
                    tokio::net::TcpSocket::new_v4()
                }
                .unwrap();
                socket.bind(sa(second, 0)).unwrap();
                let connecting = socket.connect(sa(client, 50105));
                matches!(
                    tokio::time::timeout(Duration::from_secs(2), connecting).await,
                    Ok(Ok(_))
                )
            })
        })
        .unwrap();
    assert!(connected);
    assert_eq!(
        t.join().unwrap().unwrap().ip(),
        second,
        "the client saw the second address, and its answers were routed back"
    );
    // The client reaches the second address too.
    let t = listen_once(&topo, "server", 2100, Duration::from_secs(3));
    assert!(connect(&topo, "client", sa(second, 2100)));
    t.join().unwrap();
    topo.destroy().unwrap();
}

#[test]
fn server_nat_forwards_21_and_the_range_and_drops_the_private_address() {
    let p = PresetName::ServerNat
        .build(&PresetOptions::default())
        .unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let r = &p.roles;
    let t = listen_once(&topo, "server", 21, Duration::from_secs(3));
    assert!(connect(&topo, "client", sa(r.server_addr, 21)));
    assert_eq!(t.join().unwrap().unwrap().ip(), r.client_addr);
    let t = listen_once(&topo, "server", 50005, Duration::from_secs(3));
    assert!(
        connect(&topo, "client", sa(r.server_addr, 50005)),
        "the passive range is forwarded"
    );
    t.join().unwrap();
    let t = listen_once(&topo, "server", 50007, Duration::from_secs(1));
    assert!(
        !connect(&topo, "client", sa(r.server_own_addr, 50007)),
        "the private address is unreachable"
    );
    assert_eq!(t.join().unwrap(), None);
    let attempts = topo.attempts().unwrap();
    assert!(
        has(
            &attempts,
            AttemptOutcome::Dropped,
            sa(r.server_own_addr, 50007)
        ),
        "{attempts:?}"
    );
    assert!(
        has(
            &attempts,
            AttemptOutcome::Forwarded,
            sa(r.server_own_addr, 21)
        ),
        "{attempts:?}"
    );
    assert!(attempts.iter().all(|a| a.host == "nat"));
    topo.destroy().unwrap();
}

#[test]
fn server_nat_no_range_forwards_only_21() {
    let p = PresetName::ServerNatNoRange
        .build(&PresetOptions::default())
        .unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let t = listen_once(&topo, "server", 50005, Duration::from_secs(1));
    assert!(!connect(&topo, "client", sa(p.roles.server_addr, 50005)));
    assert_eq!(t.join().unwrap(), None);
    let t = listen_once(&topo, "server", 21, Duration::from_secs(3));
    assert!(connect(&topo, "client", sa(p.roles.server_addr, 21)));
    t.join().unwrap();
    topo.destroy().unwrap();
}

#[test]
fn client_nat_masquerades_and_forwards_the_active_range_when_asked() {
    for forward in [false, true] {
        let opts = PresetOptions {
            forward_active_ports: forward,
            ..PresetOptions::default()
        };
        let p = PresetName::ClientNat.build(&opts).unwrap();
        let topo = Topology::build(&p.spec).unwrap();
        let r = &p.roles;
        let t = listen_once(&topo, "server", 21, Duration::from_secs(3));
        assert!(connect(&topo, "client", sa(r.server_addr, 21)));
        assert_eq!(
            t.join().unwrap().unwrap().ip(),
            r.client_public_addr,
            "masqueraded"
        );
        let t = listen_once(&topo, "client", 50105, Duration::from_secs(1));
        assert_eq!(
            connect(&topo, "server", sa(r.client_public_addr, 50105)),
            forward
        );
        assert_eq!(t.join().unwrap().is_some(), forward);
        topo.destroy().unwrap();
    }
}

/// RFC 4787 §4.1's "arbitrary" pooling: two consecutive connections between the same two
/// hosts leave the NAT with its two public addresses in turn (the kernel's `snat to A-B`
/// would give both the same one), and the NAT records which address each got.
#[test]
fn client_nat_pooled_alternates_public_addresses_per_connection() {
    let p = PresetName::ClientNatPooled
        .build(&PresetOptions::default())
        .unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let r = &p.roles;
    let pool: Vec<std::net::IpAddr> = ftpspec_netns::POOLED_PUBLIC_ADDRS
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    assert_eq!(r.client_public_addr, pool[0]);
    let mut seen = Vec::new();
    for port in [21, 50001] {
        let t = listen_once(&topo, "server", port, Duration::from_secs(3));
        assert!(connect(&topo, "client", sa(r.server_addr, port)));
        seen.push(t.join().unwrap().unwrap().ip());
    }
    assert_ne!(
        seen[0], seen[1],
        "consecutive connections get different addresses"
    );
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, pool, "each address of the pool, once");
    let attempts = topo.attempts().unwrap();
    for (port, from) in [21, 50001].into_iter().zip(&seen) {
        assert!(
            attempts.iter().any(|a| a.host == "nat"
                && a.outcome == AttemptOutcome::Translated
                && a.from == *from
                && a.to == sa(r.server_addr, port)),
            "the NAT records the address each connection got: {attempts:?}"
        );
        assert!(
            attempts
                .iter()
                .any(|a| a.outcome == AttemptOutcome::Forwarded
                    && a.from == r.client_addr
                    && a.to == sa(r.server_addr, port)),
            "{attempts:?}"
        );
    }
    topo.destroy().unwrap();
}

#[test]
fn both_nat_connects_through_two_nats() {
    let p = PresetName::BothNat
        .build(&PresetOptions::default())
        .unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let r = &p.roles;
    let t = listen_once(&topo, "server", 21, Duration::from_secs(3));
    assert!(connect(&topo, "client", sa(r.server_addr, 21)));
    assert_eq!(t.join().unwrap().unwrap().ip(), r.client_public_addr);
    assert!(!connect(&topo, "client", sa(r.server_own_addr, 50003)));
    let attempts = topo.attempts().unwrap();
    assert!(
        attempts.iter().any(|a| a.host == "snat"
            && a.outcome == AttemptOutcome::Dropped
            && a.to == sa(r.server_own_addr, 50003)),
        "{attempts:?}"
    );
    topo.destroy().unwrap();
}

#[rstest::rstest]
#[case::ipv4(PresetName::ClientStrictFirewall)]
#[case::ipv6(PresetName::ClientStrictFirewallV6)]
fn strict_firewall_admits_only_the_range(#[case] name: PresetName) {
    let p = name.build(&PresetOptions::default()).unwrap();
    assert_eq!(
        p.roles.client_addr.is_ipv6(),
        name == PresetName::ClientStrictFirewallV6
    );
    let topo = Topology::build(&p.spec).unwrap();
    let r = &p.roles;
    // Out through the firewall: anything.
    let t = listen_once(&topo, "server", 21, Duration::from_secs(3));
    assert!(connect(&topo, "client", sa(r.server_addr, 21)));
    assert_eq!(t.join().unwrap().unwrap().ip(), r.client_addr);
    let t = listen_once(&topo, "client", 50105, Duration::from_secs(3));
    assert!(connect(&topo, "server", sa(r.client_addr, 50105)));
    t.join().unwrap();
    let t = listen_once(&topo, "client", 40000, Duration::from_secs(1));
    assert!(!connect(&topo, "server", sa(r.client_addr, 40000)));
    assert_eq!(t.join().unwrap(), None);
    let attempts = topo.attempts().unwrap();
    assert!(
        has(&attempts, AttemptOutcome::Dropped, sa(r.client_addr, 40000)),
        "{attempts:?}"
    );
    assert!(
        has(
            &attempts,
            AttemptOutcome::Forwarded,
            sa(r.client_addr, 50105)
        ),
        "{attempts:?}"
    );
    topo.destroy().unwrap();
}

#[test]
fn the_decoy_accepts_and_records() {
    let opts = PresetOptions {
        decoy: true,
        ..PresetOptions::default()
    };
    let p = PresetName::ServerNat.build(&opts).unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let decoy = p.roles.decoy.unwrap();
    let reached = topo
        .host("client")
        .unwrap()
        .in_thread(move || {
            TcpStream::connect_timeout(&sa(decoy, 4444), Duration::from_secs(2)).is_ok()
        })
        .unwrap();
    assert!(reached);
    let attempts = topo.attempts().unwrap();
    assert!(
        has(&attempts, AttemptOutcome::ReachedDecoy, sa(decoy, 4444)),
        "{attempts:?}"
    );
    topo.destroy().unwrap();
}

fn host_state() -> String {
    let run = |args: &[&str]| {
        let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let sysctl = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    format!(
        "{}\n{}\n{}\n{}\n{}{}{}",
        run(&["ip", "-o", "link", "show"]),
        run(&["ip", "route", "show", "table", "all"]),
        run(&["nft", "list", "ruleset"]),
        sysctl("/proc/sys/net/ipv4/ip_forward"),
        sysctl("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established"),
        sysctl("/proc/sys/net/netfilter/nf_conntrack_tcp_loose"),
        sysctl("/proc/sys/net/ipv6/conf/default/accept_dad"),
    )
}

#[test]
fn the_host_namespace_is_never_touched() {
    let before = host_state();
    for name in PresetName::ALL {
        // With the idle timeout where the preset has a NAT: its sysctls stay in the NAT.
        let opts = PresetOptions {
            decoy: true,
            nat_idle_timeout_secs: Some(20),
            ..PresetOptions::default()
        };
        let p = name.build(&opts).unwrap_or_else(|_| {
            name.build(&PresetOptions {
                nat_idle_timeout_secs: None,
                ..opts
            })
            .unwrap()
        });
        let topo = Topology::build(&p.spec).unwrap();
        assert_eq!(
            host_state(),
            before,
            "{name} changed the host's links, routes, rules or forwarding"
        );
        topo.destroy().unwrap();
    }
    assert_eq!(host_state(), before);
}

fn namespaces_of(id: &str) -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("{id}-")))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_failed_build_leaves_nothing() {
    let spec = TopologySpec::new()
        .host(
            "a",
            HostSpec {
                nft: Some("this is not nftables".into()),
                ..HostSpec::default()
            },
        )
        .host("b", HostSpec::default())
        .link(
            ("a", "eth0", &["10.9.0.1/24"]),
            ("b", "eth0", &["10.9.0.2/24"]),
        );
    let e = Topology::build(&spec).unwrap_err().to_string();
    assert!(e.contains("nft -f -") && e.contains("syntax error"), "{e}");
    let mine = format!("{}{}-", ftpspec_netns::PREFIX, std::process::id());
    let left: Vec<String> = std::fs::read_dir("/run/netns")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&mine) && n.ends_with("-a"))
        .collect();
    // Other tests in this process may have topologies alive; none of them has a host "a".
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_command_that_hangs_is_killed_and_its_output_kept() {
    let p = PresetName::Direct.build(&PresetOptions::default()).unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let client = topo.host("client").unwrap();
    let started = Instant::now();
    let out = client
        .run_captured(
            &["sh", "-c", "echo started; ip -br addr show eth0; sleep 30"],
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(out.timed_out && out.status.is_none());
    assert!(started.elapsed() < Duration::from_secs(10));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("started\n") && stdout.contains("198.51.100.10/24"),
        "it ran inside the client: {stdout}"
    );
    let out = client
        .run_captured(
            &["sh", "-c", "echo oops >&2; exit 3"],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(out.status.and_then(|s| s.code()), Some(3));
    assert_eq!(out.stderr, b"oops\n");
    let e = client
        .run(&["sleep", "5"], Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("did not finish within 200ms; it was killed"),
        "{e}"
    );
    topo.destroy().unwrap();
}

#[test]
fn dropping_tears_down() {
    let p = PresetName::Direct.build(&PresetOptions::default()).unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let id = topo.id().to_owned();
    assert_eq!(namespaces_of(&id).len(), 2);
    drop(topo);
    assert!(namespaces_of(&id).is_empty());
}

/// Run by `sigkill_then_sweep` as a child process: builds a topology, says its id, waits.
#[test]
fn child_holds_a_topology() {
    if std::env::var_os("FTPSPEC_NETNS_TEST_CHILD").is_none() {
        return; // only meaningful as the child of sigkill_then_sweep
    }
    let p = PresetName::ServerNat
        .build(&PresetOptions::default())
        .unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    println!("TOPOLOGY {}", topo.id());
    let client = topo.host("client").unwrap();
    // A program started as a client is (Host::command): it must die with this process.
    let mut child = client
        .command("sleep")
        .arg("300")
        .as_std_mut()
        .spawn()
        .unwrap();
    println!("CHILD {}", child.id());
    // And one that a program started and left behind, as a client's own child would be:
    // nothing signals it when this process dies; only the sweep can end it.
    let out = Command::new("ip")
        .args(["netns", "exec", client.netns(), "sh", "-c"])
        .arg("sleep 300 >/dev/null 2>&1 & echo $!")
        .output()
        .unwrap();
    println!("ORPHAN {}", String::from_utf8_lossy(&out.stdout).trim());
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    drop(topo);
}

/// Whether a process still runs (not gone, not a zombie waiting to be reaped).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
}

/// Waits up to `secs` for `pid` to stop running.
fn ends_within(pid: i32, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while running(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn sigkill_then_sweep() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_holds_a_topology",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FTPSPEC_NETNS_TEST_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut said = std::collections::BTreeMap::new();
    let mut line = String::new();
    while said.len() < 3 && std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0 {
        // libtest prints "test child_holds_a_topology ... " before the child's own output.
        for key in ["TOPOLOGY", "CHILD", "ORPHAN"] {
            if let Some((_, rest)) = line.trim().split_once(&format!("{key} ")) {
                said.insert(key, rest.trim().to_owned());
            }
        }
        line.clear();
    }
    let id = said.get("TOPOLOGY").expect("the child built a topology");
    let pid = |key: &str| -> i32 { said[key].parse().unwrap() };
    let (client, orphan) = (pid("CHILD"), pid("ORPHAN"));
    assert!(running(client) && running(orphan));
    assert_eq!(namespaces_of(id).len(), 3);
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    assert!(
        ends_within(client, 5),
        "a program from Host::command ends with its runner (parent-death signal)"
    );
    // Nothing but a sweep removes the namespaces and ends the orphan: this one, or one of
    // another test's builds running alongside (each build sweeps first), which may have
    // been quicker; either way the sweep's code did it, and two sweeps at once are safe.
    ftpspec_netns::sweep(false).expect("a sweep alongside another one succeeds");
    assert!(namespaces_of(id).is_empty());
    assert!(
        ends_within(orphan, 5),
        "the sweep ends the processes left in the namespaces it removes"
    );
}

/// Run by `keep_leaves_a_topology_for_debugging` as a child process with FTPSPEC_KEEP=1.
#[test]
fn child_keeps_a_topology() {
    if std::env::var_os("FTPSPEC_NETNS_TEST_KEEP").is_none() {
        return; // only meaningful as the child of keep_leaves_a_topology_for_debugging
    }
    let p = PresetName::Direct.build(&PresetOptions::default()).unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    println!("TOPOLOGY {}", topo.id());
    drop(topo);
}

#[test]
fn keep_leaves_a_topology_for_debugging() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_keeps_a_topology",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FTPSPEC_NETNS_TEST_KEEP", "1")
        .env("FTPSPEC_KEEP", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout
        .split_once("TOPOLOGY ")
        .unwrap()
        .1
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("ip netns exec {id}-client bash")),
        "{stderr}"
    );
    assert_eq!(namespaces_of(&id).len(), 2, "kept after its process ended");
    ftpspec_netns::sweep(false).unwrap();
    assert_eq!(
        namespaces_of(&id).len(),
        2,
        "the ordinary sweep leaves kept ones"
    );
    let removed = ftpspec_netns::sweep(true).unwrap();
    assert!(removed.iter().any(|n| n.starts_with(&id)), "{removed:?}");
    assert!(namespaces_of(&id).is_empty());
}

#[test]
fn setup_and_teardown_times() {
    // Printed for the record (cargo test -- --nocapture); never asserted: timings here are noisy.
    for name in PresetName::ALL {
        let p = name.build(&PresetOptions::default()).unwrap();
        let mut times: Vec<Duration> = (0..11)
            .map(|_| {
                let t = Instant::now();
                Topology::build(&p.spec).unwrap().destroy().unwrap();
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "{name:<24} setup+teardown over 11 runs: median {:?}, min {:?}, max {:?} ({} hosts)",
            times[5],
            times[0],
            times[10],
            p.spec.hosts.len()
        );
    }
}

/// An echo server on port 21 of `host` for `n` connections; each connection's thread counts
/// the bytes it received, and all stop when `stop` is set.
fn echo_server(
    topo: &Topology,
    host: &str,
    n: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> ftpspec_netns::HostThread<Vec<usize>> {
    use std::sync::atomic::Ordering;
    let (tx, rx) = std::sync::mpsc::channel();
    let t = topo
        .host(host)
        .unwrap()
        .spawn(move || {
            let l = TcpListener::bind(("::", 21)).unwrap();
            tx.send(()).unwrap();
            let mut echoes = Vec::new();
            for _ in 0..n {
                let (mut s, _) = l.accept().unwrap();
                let stop = stop.clone();
                echoes.push(std::thread::spawn(move || {
                    s.set_read_timeout(Some(Duration::from_millis(100)))
                        .unwrap();
                    let mut got = 0;
                    let mut buf = [0u8; 64];
                    while !stop.load(Ordering::Relaxed) {
                        match s.read(&mut buf) {
                            Ok(0) => break,
                            Ok(k) => {
                                got += k;
                                let _ = s.write_all(&buf[..k]);
                            }
                            Err(_) => {}
                        }
                    }
                    got
                }));
            }
            echoes.into_iter().map(|e| e.join().unwrap()).collect()
        })
        .unwrap();
    rx.recv().unwrap();
    t
}

/// Sends one byte and waits up to `wait` for its echo.
fn echoed(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 1];
    s.write_all(b"x").is_ok() && s.read_exact(&mut b).is_ok()
}

/// With `nat_idle_timeout_secs` = 5, a connection idle for 7 s is dead while one that sends
/// a byte every second lives; without it (the control case), both live.
#[rstest::rstest]
#[case::with_the_timeout(true)]
#[case::without(false)]
fn a_nat_with_an_idle_timeout_forgets_idle_connections(#[case] forget: bool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    const IDLE: u32 = 5;
    let p = PresetName::ServerNat
        .build(&PresetOptions {
            nat_idle_timeout_secs: forget.then_some(IDLE),
            ..PresetOptions::default()
        })
        .unwrap();
    assert_eq!(
        p.spec.hosts["nat"].idle_timeout_secs,
        forget.then_some(IDLE)
    );
    let topo = Topology::build(&p.spec).unwrap();
    let r = p.roles.clone();
    // The namespace's own conntrack has the settings.
    let sysctl = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/netfilter/{name}"))
            .unwrap()
            .trim()
            .to_owned()
    };
    let (timeout, loose) = topo
        .host("nat")
        .unwrap()
        .in_thread(move || {
            (
                sysctl("nf_conntrack_tcp_timeout_established"),
                sysctl("nf_conntrack_tcp_loose"),
            )
        })
        .unwrap();
    if forget {
        assert_eq!((timeout.as_str(), loose.as_str()), ("5", "0"));
    } else {
        assert_eq!((timeout.as_str(), loose.as_str()), ("432000", "1"));
    }
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let server = echo_server(&topo, "server", 2, stop.clone());
    let to = sa(r.server_addr, 21);
    let (idle_answered, busy_answered) = topo
        .host("client")
        .unwrap()
        .in_thread(move || {
            let mut idle = TcpStream::connect_timeout(&to, Duration::from_secs(2)).unwrap();
            // Accepted in order: the idle connection is the server's first.
            std::thread::sleep(Duration::from_millis(200));
            let mut busy = TcpStream::connect_timeout(&to, Duration::from_secs(2)).unwrap();
            assert!(echoed(&mut idle, Duration::from_secs(2)), "fresh: it works");
            let mut busy_ok = true;
            for _ in 0..IDLE + 2 {
                std::thread::sleep(Duration::from_secs(1));
                busy_ok &= echoed(&mut busy, Duration::from_secs(2));
            }
            let idle_ok = echoed(&mut idle, Duration::from_secs(3));
            busy_ok &= echoed(&mut busy, Duration::from_secs(2));
            (idle_ok, busy_ok)
        })
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let received = server.join().unwrap();
    assert_eq!(
        idle_answered,
        !forget,
        "after {} s idle the NAT has forgotten the connection (only with the timeout)",
        IDLE + 2
    );
    assert_eq!(
        received[0],
        if forget { 1 } else { 2 },
        "the idle connection's late byte reaches the server only without the timeout"
    );
    assert!(
        busy_answered,
        "a byte every second keeps a connection alive"
    );
    assert_eq!(received[1], IDLE as usize + 3);
    let attempts = topo.attempts().unwrap();
    assert!(
        has(
            &attempts,
            AttemptOutcome::Forwarded,
            sa(r.server_own_addr, 21)
        ),
        "the records still work: {attempts:?}"
    );
    topo.destroy().unwrap();
}

#[test]
fn idle_timeouts_need_a_nat() {
    let e = PresetName::Direct
        .build(&PresetOptions {
            nat_idle_timeout_secs: Some(20),
            ..PresetOptions::default()
        })
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "invalid topology: preset direct, nat_idle_timeout_secs: a NAT idle timeout needs a NAT host"
        ),
        "{e}"
    );
}

#[test]
fn processes_in_a_host_are_listed_and_ended_even_in_sessions_of_their_own() {
    let p = PresetName::Direct.build(&PresetOptions::default()).unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let server = topo.host(&p.roles.server).unwrap();
    assert!(server.processes().is_empty());
    // A process that leaves its parent's session and outlives it, as FTP servers' sessions do.
    let out = Command::new("ip")
        .args(["netns", "exec", server.netns(), "sh", "-c"])
        .arg("setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!")
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.processes().contains(&pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.processes(), [pid]);
    // Threads of this process inside the host are not processes of the host.
    let listed = server.in_thread({
        let server = server.clone();
        move || server.processes()
    });
    assert_eq!(listed.unwrap(), [pid]);
    server.end_processes();
    assert!(server.processes().is_empty());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z"))
    );
    topo.destroy().unwrap();
}
