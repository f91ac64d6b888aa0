//! A fixed run: two clients, four scenarios, every verdict, a network with a NAT and a
//! decoy, attempts, a TLS dialogue and the server's event log of wget's
//! passive/unroutable-address (its ladder: the data connection dropped at the NAT).
#![allow(dead_code)]

use ftpspec_report::{
    Attempt, AttemptOutcome, CaseResult, CaseRole, ClientInfo, HostSummary, LinkSummary,
    NetworkSummary, Observations, Role, RunResults, Verdict, SCHEMA,
};

pub fn network() -> NetworkSummary {
    let host = |name: &str, role, nat| HostSummary {
        name: name.into(),
        role,
        nat,
        helper: false,
        firewall: nat,
    };
    NetworkSummary {
        hosts: vec![
            host("client", Role::Client, false),
            host("decoy", Role::Decoy, false),
            host("nat", Role::Router, true),
            host("server", Role::Server, false),
        ],
        links: vec![
            LinkSummary {
                a: "client".into(),
                a_addrs: vec!["203.0.113.10".into()],
                b: "nat".into(),
                b_addrs: vec!["203.0.113.1".into()],
            },
            LinkSummary {
                a: "nat".into(),
                a_addrs: vec!["10.0.0.1".into()],
                b: "server".into(),
                b_addrs: vec!["10.0.0.2".into()],
            },
            LinkSummary {
                a: "client".into(),
                a_addrs: vec!["192.0.2.1".into()],
                b: "decoy".into(),
                b_addrs: vec!["192.0.2.66".into()],
            },
        ],
    }
}

fn case(client: &str, scenario: &str, verdict: Verdict, reason: &str) -> CaseResult {
    CaseResult {
        client_version: format!("{client} 1.0"),
        title: format!("title of {scenario}"),
        requirement: format!("requirement of {scenario}"),
        references: vec!["RFC 959 §4.1.2".into()],
        reason: reason.into(),
        duration_ms: 1234,
        observations: Observations {
            command: vec![client.into(), "--flag".into(), "ftp://203.0.113.1/gen/64K".into()],
            exit_code: Some(if verdict == Verdict::Pass { 0 } else { 7 }),
            client_ok: verdict == Verdict::Pass,
            client_ms: 812,
            stderr: "some output".into(),
            bytes_ok: Some(verdict == Verdict::Pass),
            bytes: Some(65536),
            dialogue: "S: 220 ready\nC: AUTH TLS\nS: 234 ok\n== control TLS: TLSv1.3, new session\nC: USER ftpspec\nS: 331 password\n".into(),
            // As the server logs it (wget in passive/unroutable-address, with TLS): the 227
            // names the server's own address, which the NAT drops.
            transcript: "   0.008s #1 connected 203.0.113.10:55720 -> 10.0.0.2:21
   0.009s #1 S< 220 ready
   0.009s #1 C> AUTH TLS
   0.009s #1 S< 234 ok
   0.012s #1 tls: Control with 203.0.113.10:55720: TLSv1.3 TLS13_AES_256_GCM_SHA384, new session
   0.012s #1 C> USER ftpspec
   0.012s #1 S< 331 password
   0.013s #1 C> PASV
   0.013s #1 data: passive listener on 10.0.0.2:50000, advertised as 10.0.0.2:50000
   0.013s #1 S< 227 Entering Passive Mode (10,0,0,2,195,80).
  10.013s #1 control connection closed: ClientClosed
"
            .into(),
            data_connections: vec!["passive 10.0.0.2:50000 <-> 203.0.113.10:41000, 65536 bytes sent, 0 received".into()],
            data_tls: Some(false),
            attempts: vec![
                Attempt { host: "nat".into(), outcome: AttemptOutcome::Forwarded, from: "203.0.113.10".parse().unwrap(), to: "10.0.0.2:21".parse().unwrap() },
                Attempt { host: "nat".into(), outcome: AttemptOutcome::Dropped, from: "203.0.113.10".parse().unwrap(), to: "10.0.0.2:50000".parse().unwrap() },
                Attempt { host: "decoy".into(), outcome: AttemptOutcome::ReachedDecoy, from: "192.0.2.1".parse().unwrap(), to: "192.0.2.66:50001".parse().unwrap() },
            ],
            topology: "server-nat".into(),
            server_addr: Some("203.0.113.1".parse().unwrap()),
            server_own_addr: Some("10.0.0.2".parse().unwrap()),
            network: Some(network()),
            ..Observations::default()
        },
        ..CaseResult::new(client, scenario, verdict)
    }
}

pub fn fixture() -> RunResults {
    let mut run = RunResults {
        schema: SCHEMA,
        ftpspec_version: "0.1.0".into(),
        clients: vec![
            ClientInfo { name: "wget".into(), version: "wget 1.0".into(), role: CaseRole::Client },
            ClientInfo { name: "curl".into(), version: "curl 1.0".into(), role: CaseRole::Client },
        ],
        missing_clients: vec!["tnftp".into()],
        interrupted: false,
        repeat: 1,
        seed: None,
        partition: None,
        merged_from: Vec::new(),
        timing: None,
        results: vec![
            case("curl", "passive/unroutable-address", Verdict::Pass, "curl reported success after 0.8 s, 65536 bytes right"),
            case("wget", "passive/unroutable-address", Verdict::Fail, "expected the data connection via the control address 203.0.113.1; wget tried 10.0.0.2:50000, unroutable from its network"),
            case("curl", "passive/epsv-blocked", Verdict::Informational, "curl exited 28 after 10.0 s"),
            case("wget", "upload/passive-upload", Verdict::Unsupported, "wget cannot upload, which this case needs"),
            case("curl", "upload/passive-upload", Verdict::Error, "the harness failed, not the client: cannot build the topology"),
        ],
    };
    run.sort();
    run
}

/// The fixed run, each case run three times, shuffled with seed 42: curl's
/// passive/unroutable-address flaky and mostly passing, wget's flaky, mostly failing and
/// quarantined; the others steady.
pub fn flaky_fixture() -> RunResults {
    let mut run = fixture();
    run.repeat = 3;
    run.seed = Some(42);
    for r in &mut run.results {
        let verdicts = match (r.client.as_str(), r.scenario.as_str()) {
            ("curl", "passive/unroutable-address") => [Verdict::Pass, Verdict::Fail, Verdict::Pass],
            ("wget", "passive/unroutable-address") => [Verdict::Fail, Verdict::Pass, Verdict::Fail],
            _ => [r.verdict; 3],
        };
        let runs = verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut one = r.clone();
                one.verdict = *v;
                one.reason = format!("{} at try {}", v.as_str(), i + 1);
                one.duration_ms = 1000 * (i as u64 + 1);
                one
            })
            .collect();
        *r = CaseResult::combine(runs).unwrap();
        if r.client == "wget" && r.scenario == "passive/unroutable-address" {
            r.quarantined = Some("wget trusts the 227 address: upstream bug 123".into());
        }
    }
    run
}

/// The fixed run plus wget's failing case again under `scenario` (an id with an axis, say),
/// keeping the diagnostics bundle `text`.
pub fn fixture_with_bundle(scenario: &str, text: &str) -> RunResults {
    let mut run = fixture();
    let mut case = run
        .get("wget", "passive/unroutable-address")
        .unwrap()
        .clone();
    case.scenario = scenario.into();
    case.keep_diagnostics(text.into());
    run.results.push(case);
    run.sort();
    run
}

/// The page with each case's packed detail view unpacked in place: what the snapshots show.
pub fn unpacked(page: &str) -> String {
    ftpspec_report::html::unpack(page).expect("a page this crate wrote")
}
