//! A capture of a live topology (`server-nat`): every interface named `host:link`, a
//! connection seen on each interface it crossed in time order, and one the NAT dropped seen
//! only up to the NAT; the pcapng's blocks well formed, with the key log inside. Needs root;
//! CI runs it as root.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use ftpspec_netns::{CaptureLimits, PresetName, PresetOptions, Topology};

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// A TCP SYN (without ACK) in an Ethernet frame: its destination.
fn syn_to(frame: &[u8]) -> Option<SocketAddr> {
    if frame.len() < 34 || frame[12..14] != [0x08, 0x00] || frame[23] != 6 {
        return None;
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let tcp = &frame[14 + ihl..];
    let dst = Ipv4Addr::new(frame[30], frame[31], frame[32], frame[33]);
    let port = u16::from_be_bytes([tcp[2], tcp[3]]);
    (tcp[13] & 0x12 == 0x02).then_some(SocketAddr::new(IpAddr::V4(dst), port))
}

/// The file's interface names, secrets blocks and packets as (interface, timestamp, frame).
type Parsed = (Vec<String>, Vec<Vec<u8>>, Vec<(usize, u64, Vec<u8>)>);

fn parse(mut b: &[u8]) -> Parsed {
    let (mut names, mut secrets, mut packets) = (Vec::new(), Vec::new(), Vec::new());
    assert_eq!(u32_at(b, 0), 0x0A0D_0D0A, "starts with a section header");
    while !b.is_empty() {
        let (kind, len) = (u32_at(b, 0), u32_at(b, 4) as usize);
        assert_eq!(u32_at(b, len - 4) as usize, len);
        let body = &b[8..len - 4];
        match kind {
            1 => {
                // if_name is the first option, after 8 bytes.
                assert_eq!(u16::from_le_bytes([body[8], body[9]]), 2);
                let n = usize::from(u16::from_le_bytes([body[10], body[11]]));
                names.push(String::from_utf8(body[12..12 + n].to_vec()).unwrap());
            }
            0x0A => {
                assert_eq!(u32_at(body, 0), 0x544C_534B, "an NSS key log");
                secrets.push(body[8..8 + u32_at(body, 4) as usize].to_vec());
            }
            6 => {
                let ts = (u64::from(u32_at(body, 4)) << 32) | u64::from(u32_at(body, 8));
                let n = u32_at(body, 12) as usize;
                packets.push((u32_at(body, 0) as usize, ts, body[20..20 + n].to_vec()));
            }
            _ => {}
        }
        b = &b[len..];
    }
    (names, secrets, packets)
}

#[test]
fn every_interface_of_a_nat_topology_is_captured_in_one_time_line() {
    let p = PresetName::ServerNat
        .build(&PresetOptions::default())
        .unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let r = p.roles.clone();
    let cap = topo.start_capture(CaptureLimits::default()).unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    let server = topo
        .host(&r.server)
        .unwrap()
        .spawn(move || {
            let l = TcpListener::bind("0.0.0.0:21").unwrap();
            ready_tx.send(()).unwrap();
            let (mut s, _) = l.accept().unwrap();
            s.write_all(b"220 ready\r\n").unwrap();
        })
        .unwrap();
    ready_rx.recv().unwrap();
    let public = r.server_addr;
    let private = r.server_own_addr;
    topo.host(&r.client)
        .unwrap()
        .in_thread(move || {
            let mut s =
                TcpStream::connect_timeout(&SocketAddr::new(public, 21), Duration::from_secs(5))
                    .unwrap();
            let mut greeting = String::new();
            s.read_to_string(&mut greeting).unwrap();
            assert_eq!(greeting, "220 ready\r\n");
            // The private address is not routed through the NAT: dropped there.
            let e = TcpStream::connect_timeout(
                &SocketAddr::new(private, 50000),
                Duration::from_millis(300),
            );
            assert!(e.is_err());
        })
        .unwrap();
    server.join().unwrap();
    let recording = cap.finish();
    let file = recording.to_pcapng("CLIENT_RANDOM 00 11\n");
    topo.destroy().unwrap();

    let (names, secrets, packets) = parse(&file);
    assert_eq!(names, ["client:eth0", "nat:wan", "nat:lan", "server:eth0"]);
    assert_eq!(recording.interfaces(), names);
    assert_eq!(secrets, [b"CLIENT_RANDOM 00 11\n".to_vec()]);
    assert_eq!(recording.packets(), packets.len());
    assert!(
        packets.windows(2).all(|w| w[0].1 <= w[1].1),
        "in time order"
    );
    let seen = |to: SocketAddr| -> Vec<&str> {
        packets
            .iter()
            .filter(|(_, _, f)| syn_to(f) == Some(to))
            .map(|(i, _, _)| names[*i].as_str())
            .collect()
    };
    // The control connection's SYN, on each interface in the order it crossed them (the
    // NAT rewrote its destination on the way in).
    let control = seen(SocketAddr::new(public, 21));
    assert_eq!(control, ["client:eth0", "nat:wan"]);
    assert_eq!(
        seen(SocketAddr::new(private, 21)),
        ["nat:lan", "server:eth0"]
    );
    // The dropped one: on the client's link only (retried, perhaps), never past the NAT.
    let dropped = seen(SocketAddr::new(private, 50000));
    assert!(!dropped.is_empty());
    assert!(
        dropped
            .iter()
            .all(|i| *i == "client:eth0" || *i == "nat:wan"),
        "{dropped:?}"
    );
}
