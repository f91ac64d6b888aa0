//! FTP through the simulated networks: the mock server in the server host, real clients
//! (curl, lftp) in the client host, and the routers' observations. These are the facts the
//! scenario catalogue is built on: the NAT really forwards and drops, the conntrack FTP
//! helper really rewrites a private 227 for plain FTP and cannot for FTPS, the strict
//! firewall really drops, the decoy records. Needs root; CI runs it as root.

use std::net::{IpAddr, SocketAddr};
use std::process::Output;
use std::time::Duration;

use ftpspec_mock::script::{command, passive_reply, Mock};
use ftpspec_mock::{Builder, DataMode, EventLog, Ftps, MockServer};
use ftpspec_netns::{Attempt, AttemptOutcome, Preset, PresetName, PresetOptions, Topology};

struct Lab {
    preset: Preset,
    topo: Topology,
    server: Option<MockServer>,
    dir: tempfile::TempDir,
}

impl Lab {
    fn new(
        name: PresetName,
        opts: PresetOptions,
        builder: impl FnOnce(Builder) -> Builder + Send + 'static,
    ) -> Lab {
        let preset = name.build(&opts).unwrap();
        let topo = Topology::build(&preset.spec).unwrap();
        let server = topo
            .host(&preset.roles.server)
            .unwrap()
            .in_thread(move || {
                let b = MockServer::builder()
                    .bind("0.0.0.0:21".parse().unwrap())
                    .data_timeout(Duration::from_secs(5))
                    .file("/readme.txt", "Hello through the lab\n");
                let b = builder(b);
                b.start_blocking()
            })
            .unwrap()
            .unwrap();
        Lab {
            preset,
            topo,
            server: Some(server),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn server(&self) -> &MockServer {
        self.server.as_ref().unwrap()
    }

    /// The event log, once the server is done with the sessions of clients that ended.
    fn log(&self) -> EventLog {
        self.server().wait_idle_blocking(Duration::from_secs(5));
        self.server().events()
    }

    fn url(&self, path: &str) -> String {
        format!("ftp://{}{path}", self.preset.roles.server_addr)
    }

    async fn client(&self, args: &[&str]) -> Output {
        let mut full = vec![
            "curl",
            "-sS",
            "-v",
            "--connect-timeout",
            "3",
            "--max-time",
            "20",
        ];
        full.extend_from_slice(args);
        let client = self.topo.host(&self.preset.roles.client).unwrap();
        client.run(&full, Duration::from_secs(40)).await.unwrap()
    }

    fn attempts(&self) -> Vec<Attempt> {
        self.topo.attempts().unwrap()
    }

    fn explain(&self, out: &Output) -> String {
        format!(
            "curl: {}\nstderr: {}\nserver transcript:\n{}\nrouters saw: {:#?}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log().transcript(),
            self.attempts()
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        drop(self.server.take());
    }
}

fn sa(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

fn pasv_port(log: &EventLog) -> u16 {
    log.events
        .iter()
        .find_map(|e| match &e.kind {
            ftpspec_mock::EventKind::PassiveListening { local, .. } => Some(local.port()),
            _ => None,
        })
        .expect("a passive listener")
}

#[tokio::test]
async fn server_nat_unroutable_227_needs_the_control_address() {
    let lab = Lab::new(PresetName::ServerNat, PresetOptions::default(), |b| {
        b.pasv_ports(50000..=50010)
    });
    let r = lab.preset.roles.clone();
    // curl's default ignores the 227 address and uses the control connection's.
    let out = lab
        .client(&["--disable-epsv", &lab.url("/readme.txt")])
        .await;
    assert!(out.status.success(), "{}", lab.explain(&out));
    assert_eq!(out.stdout, b"Hello through the lab\n");
    let log = lab.log();
    let data = &log.data_connections()[0];
    assert_eq!(
        (data.mode, data.peer.ip()),
        (DataMode::Passive, r.client_addr)
    );
    assert!(log.reply_codes().contains(&227));
    // Told to trust the 227, curl tries the server's private address, which the NAT drops.
    lab.server().clear_events();
    let out = lab
        .client(&[
            "--disable-epsv",
            "--no-ftp-skip-pasv-ip",
            &lab.url("/readme.txt"),
        ])
        .await;
    assert!(!out.status.success(), "{}", lab.explain(&out));
    let port = pasv_port(&lab.log());
    let attempts = lab.attempts();
    assert!(
        attempts
            .iter()
            .any(|a| a.outcome == AttemptOutcome::Dropped && a.to == sa(r.server_own_addr, port)),
        "the NAT saw the client try {}:{port}: {attempts:#?}",
        r.server_own_addr
    );
}

#[tokio::test]
async fn smart_firewall_rewrites_227_for_plain_ftp_only() {
    let lab = Lab::new(
        PresetName::ServerSmartFirewall,
        PresetOptions::default(),
        |b| b.ftps(Ftps::explicit().names(&["203.0.113.1"])),
    );
    let r = lab.preset.roles.clone();
    let ca = lab.dir.path().join("ca.pem");
    lab.server().tls().unwrap().write_ca_pem(&ca).unwrap();
    // Plain FTP, trusting the 227: the helper rewrote 10.0.0.2 to the NAT's address and
    // opened the port, so the download works.
    let out = lab
        .client(&[
            "--disable-epsv",
            "--no-ftp-skip-pasv-ip",
            &lab.url("/readme.txt"),
        ])
        .await;
    assert!(out.status.success(), "{}", lab.explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("227 Entering Passive Mode (203,0,113,1,"),
        "the client saw the rewritten reply: {stderr}"
    );
    let sent = lab.log().dialogue();
    assert!(
        sent.contains("227 Entering Passive Mode (10,0,0,2,"),
        "the server sent its private address: {sent}"
    );
    let forwarded = lab.attempts();
    assert!(
        forwarded
            .iter()
            .any(|a| a.outcome == AttemptOutcome::Forwarded
                && a.to.ip() == r.server_own_addr
                && a.to.port() != 21),
        "{forwarded:#?}"
    );

    // FTPS: the helper cannot read the 227, so neither way to the data port works.
    let ca = ca.to_str().unwrap();
    for extra in [&["--no-ftp-skip-pasv-ip"][..], &[][..]] {
        lab.server().clear_events();
        let mut args = vec!["--disable-epsv", "--ssl-reqd", "--cacert", ca];
        args.extend_from_slice(extra);
        let url = lab.url("/readme.txt");
        args.push(&url);
        let out = lab.client(&args).await;
        assert!(!out.status.success(), "{}", lab.explain(&out));
        let log = lab.log();
        assert_eq!(log.control_tls().len(), 1, "{}", log.transcript());
        assert!(log.data_connections().is_empty(), "{}", log.transcript());
    }
}

#[tokio::test]
async fn strict_firewall_admits_active_connections_only_in_the_range() {
    let lab = Lab::new(
        PresetName::ClientStrictFirewall,
        PresetOptions::default(),
        |b| b,
    );
    let r = lab.preset.roles.clone();
    let inside = format!("{}:50100-50110", r.client_addr);
    let out = lab
        .client(&["--disable-eprt", "-P", &inside, &lab.url("/readme.txt")])
        .await;
    assert!(out.status.success(), "{}", lab.explain(&out));
    let targets = lab.log().active_targets();
    assert!(
        targets.iter().all(|t| (50100..=50110).contains(&t.port())),
        "{targets:?}"
    );

    lab.server().clear_events();
    let outside = format!("{}:40000-40010", r.client_addr);
    let out = lab
        .client(&["--disable-eprt", "-P", &outside, &lab.url("/readme.txt")])
        .await;
    assert!(!out.status.success(), "{}", lab.explain(&out));
    let target = lab.log().active_targets()[0];
    let attempts = lab.attempts();
    assert!(
        attempts
            .iter()
            .any(|a| a.host == "fw" && a.outcome == AttemptOutcome::Dropped && a.to == target),
        "{attempts:#?}"
    );
}

#[tokio::test]
async fn client_nat_active_mode_needs_the_external_address() {
    let opts = PresetOptions {
        forward_active_ports: true,
        ..PresetOptions::default()
    };
    let lab = Lab::new(PresetName::ClientNat, opts, |b| b);
    let r = lab.preset.roles.clone();
    let external = format!("{}:50100-50110", r.client_public_addr);
    let out = lab
        .client(&["--disable-eprt", "-P", &external, &lab.url("/readme.txt")])
        .await;
    assert!(out.status.success(), "{}", lab.explain(&out));
    assert_eq!(lab.log().active_targets()[0].ip(), r.client_public_addr);
    // Announcing its private address: the server refuses it (not the control peer).
    lab.server().clear_events();
    let out = lab
        .client(&["--disable-eprt", "-P", "-", &lab.url("/readme.txt")])
        .await;
    assert!(!out.status.success(), "{}", lab.explain(&out));
    assert_eq!(lab.log().active_targets()[0].ip(), r.client_addr);
}

#[tokio::test]
async fn client_smart_firewall_rewrites_port() {
    let lab = Lab::new(
        PresetName::ClientSmartFirewall,
        PresetOptions::default(),
        |b| b,
    );
    let r = lab.preset.roles.clone();
    let out = lab
        .client(&["--disable-eprt", "-P", "-", &lab.url("/readme.txt")])
        .await;
    assert!(out.status.success(), "{}", lab.explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PORT 192,168,1,2,"),
        "the client announced its private address: {stderr}"
    );
    assert_eq!(
        lab.log().active_targets()[0].ip(),
        r.client_public_addr,
        "the helper rewrote it"
    );
}

#[tokio::test]
async fn the_decoy_shows_who_trusts_a_third_party_227() {
    let opts = PresetOptions {
        decoy: true,
        ..PresetOptions::default()
    };
    let lab = Lab::new(PresetName::ServerNat, opts, |b| {
        b.pasv_ports(50000..=50010)
            .mount(Mock::given(command("PASV")).respond_with(passive_reply(
                "227 Entering Passive Mode (192,0,2,66,{p1},{p2})",
            )))
    });
    let decoy = lab.preset.roles.decoy.unwrap();
    let out = lab
        .client(&["--disable-epsv", &lab.url("/readme.txt")])
        .await;
    assert!(out.status.success(), "{}", lab.explain(&out));
    assert!(lab
        .attempts()
        .iter()
        .all(|a| a.outcome != AttemptOutcome::ReachedDecoy));
    let out = lab
        .client(&[
            "--disable-epsv",
            "--no-ftp-skip-pasv-ip",
            "--max-time",
            "8",
            &lab.url("/readme.txt"),
        ])
        .await;
    assert!(!out.status.success(), "{}", lab.explain(&out));
    let attempts = lab.attempts();
    assert!(
        attempts
            .iter()
            .any(|a| a.outcome == AttemptOutcome::ReachedDecoy && a.to.ip() == decoy),
        "{attempts:#?}"
    );
}

#[tokio::test]
async fn lftp_fixes_the_private_227_behind_a_nat() {
    let lab = Lab::new(PresetName::ServerNat, PresetOptions::default(), |b| {
        b.pasv_ports(50000..=50010)
    });
    let client = lab.topo.host(&lab.preset.roles.client).unwrap();
    let script = "set net:max-retries 1; set net:timeout 5; cat /readme.txt; bye";
    let out = client
        .run(
            &[
                "lftp",
                "-e",
                script,
                "-u",
                "test,test",
                &lab.preset.roles.server_addr.to_string(),
            ],
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(out.status.success(), "{}", lab.explain(&out));
    assert_eq!(out.stdout, b"Hello through the lab\n");
    assert!(lab
        .attempts()
        .iter()
        .all(|a| a.outcome != AttemptOutcome::Dropped));
}

/// curl's defaults (EPSV, then the control address) in every preset: passive mode works
/// wherever the server's passive ports are reachable.
#[rstest::rstest]
#[case::direct(PresetName::Direct, true)]
#[case::server_nat(PresetName::ServerNat, true)]
#[case::server_nat_no_range(PresetName::ServerNatNoRange, false)]
#[case::client_nat(PresetName::ClientNat, true)]
#[case::both_nat(PresetName::BothNat, true)]
#[case::server_smart_firewall(PresetName::ServerSmartFirewall, true)]
#[case::client_smart_firewall(PresetName::ClientSmartFirewall, true)]
#[case::client_strict_firewall(PresetName::ClientStrictFirewall, true)]
#[tokio::test]
async fn curl_passive_defaults_in_every_preset(#[case] name: PresetName, #[case] works: bool) {
    let lab = Lab::new(name, PresetOptions::default(), |b| {
        b.pasv_ports(50000..=50010)
    });
    let out = lab
        .client(&["--connect-timeout", "2", &lab.url("/readme.txt")])
        .await;
    assert_eq!(out.status.success(), works, "{name}: {}", lab.explain(&out));
    if works {
        assert_eq!(out.stdout, b"Hello through the lab\n");
        let data = &lab.log().data_connections()[0];
        assert_eq!(
            data.peer.ip(),
            lab.preset.roles.client_public_addr,
            "{name}"
        );
    } else {
        // EPSV and then PASV: both data ports are closed on the NAT (only 21 is forwarded).
        assert!(lab.log().data_connections().is_empty());
    }
}
