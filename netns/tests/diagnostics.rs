//! The diagnostics bundle of a live topology: a FTP control connection through the
//! `server-smart-firewall` preset's conntrack FTP helper, held open while the bundle is taken,
//! shows up in it (the ruleset, the helper's conntrack entry and the expectation its 227
//! opened, each host's sockets). Needs root, `conntrack` and `ss`; CI runs it as root.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use ftpspec_netns::{PresetName, PresetOptions, Topology};

/// The server's private address and passive port, as its 227 gives them.
const PASV_REPLY: &str = "227 Entering Passive Mode (10,0,0,2,195,80).\r\n";

#[test]
fn a_ftp_control_connection_through_the_helper_is_in_the_bundle() {
    let p = PresetName::ServerSmartFirewall
        .build(&PresetOptions {
            decoy: true,
            ..PresetOptions::default()
        })
        .unwrap();
    let topo = Topology::build(&p.spec).unwrap();
    let r = p.roles.clone();
    // The server: greets, answers PASV with its private address, holds the connection
    // until told to let go.
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let server = topo
        .host(&r.server)
        .unwrap()
        .spawn(move || {
            let l = TcpListener::bind("0.0.0.0:21").unwrap();
            ready_tx.send(()).unwrap();
            let (mut s, _) = l.accept().unwrap();
            s.write_all(b"220 ready\r\n").unwrap();
            let mut line = String::new();
            BufReader::new(s.try_clone().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert_eq!(line, "PASV\r\n");
            s.write_all(PASV_REPLY.as_bytes()).unwrap();
            let _ = done_rx.recv_timeout(Duration::from_secs(20));
        })
        .unwrap();
    ready_rx.recv().unwrap();
    // The client: PASV through the firewall, and what came back.
    let (client_tx, client_rx) = mpsc::channel::<()>();
    let to = SocketAddr::new(r.server_addr, 21);
    let (reply_tx, reply_rx) = mpsc::channel();
    let client = topo
        .host(&r.client)
        .unwrap()
        .spawn(move || {
            let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(3)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            let mut read = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            read.read_line(&mut line).unwrap();
            s.write_all(b"PASV\r\n").unwrap();
            line.clear();
            read.read_line(&mut line).unwrap();
            reply_tx.send(line).unwrap();
            let _ = client_rx.recv_timeout(Duration::from_secs(20));
        })
        .unwrap();
    let reply = reply_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        reply.contains(&r.server_addr.to_string().replace('.', ",")),
        "the helper rewrote the 227: {reply:?}"
    );

    let d = topo.diagnostics();
    let text = d.to_string();
    let part = |host: &str, command: &str| {
        d.parts
            .iter()
            .find(|p| p.host == host && p.command == command)
            .unwrap_or_else(|| panic!("no {host}: {command} in\n{text}"))
    };
    for p in &d.parts {
        assert!(
            p.note.is_none(),
            "{}: {}: {:?}\n{text}",
            p.host,
            p.command,
            p.note
        );
        assert!(
            text.contains(&format!("== {}: {} ==", p.host, p.command)),
            "labelled: {text}"
        );
    }
    let ruleset = &part("nat", "nft list ruleset").output;
    assert!(
        ruleset.contains("ct helper ftp-21") && ruleset.contains("type \"ftp\" protocol tcp"),
        "{ruleset}"
    );
    let table = &part("nat", "conntrack -L -o extended").output;
    let control = table
        .lines()
        .find(|l| l.contains("dport=21 ") && l.contains("ESTABLISHED"))
        .unwrap_or_else(|| panic!("no established control connection: {table}"));
    assert!(control.contains("helper=ftp"), "{control}");
    let expect = &part("nat", "conntrack -L expect").output;
    assert!(
        expect
            .lines()
            .any(|l| l.contains("dport=50000") && l.contains("ftp")),
        "the expectation the 227 opened (port 195*256+80 = 50000): {expect}"
    );
    // Every host's sockets: the server's listener and both ends of the connection.
    let server_ss = &part(&r.server, "ss -tanpo").output;
    assert!(
        server_ss
            .lines()
            .any(|l| l.starts_with("LISTEN") && l.contains(":21 ")),
        "{server_ss}"
    );
    assert!(server_ss.contains("ESTAB"), "{server_ss}");
    let client_ss = &part(&r.client, "ss -tanpo").output;
    assert!(
        client_ss.contains(&format!("{}:21", r.server_addr)),
        "{client_ss}"
    );
    // The decoy is a host with rules: its ruleset is there too, and hosts without rules
    // have only their sockets.
    part("decoy", "nft list ruleset");
    assert!(!d
        .parts
        .iter()
        .any(|p| p.host == r.client && p.command.starts_with("conntrack")));

    done_tx.send(()).unwrap();
    client_tx.send(()).unwrap();
    server.join().unwrap();
    client.join().unwrap();
    topo.destroy().unwrap();
}
