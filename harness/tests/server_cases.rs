//! Servers under test, end to end: the catalogue's `server/` cases against each built-in
//! server (vsftpd, proftpd, pure-ftpd, pyftpdlib: `scripts/install-deps` installs them),
//! through `ftpspec run --server`, and against a Rust server started from a closure
//! (ftpspec-mock, configured well and badly) through the cargo-test API. Needs root
//! (namespaces); CI runs it as root.

use std::process::Command;

use ftpspec::mock::{Advertise, MockServer};
use ftpspec::results::RunResults;
use ftpspec::servers::{ServerSetting, ServerSetup, ServerUnderTest};
use ftpspec::{CaseResult, Verdict};

fn case<'r>(run: &'r RunResults, server: &str, id: &str) -> &'r CaseResult {
    let r = run
        .results
        .iter()
        .find(|r| r.scenario == id && r.client == server);
    r.unwrap_or_else(|| panic!("no case {server} {id}"))
}

/// At least one case per built-in server, through the command line: the verdicts measured
/// when the cases were written (see the README's server matrix). A server whose behaviour
/// changes shows up here.
#[test]
fn the_builtin_servers_through_ftpspec_run() {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ftpspec"));
    cmd.args(["run", "--jobs", "8", "--capture", "none"]);
    for s in ftpspec::servers::BUILTIN {
        cmd.args(["--server", s]);
    }
    for f in EXPECTED.iter().map(|(id, _)| *id) {
        cmd.args(["--filter", f]);
    }
    let output = cmd.arg("--out").arg(out.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    let run = RunResults::read(&out.path().join("results.json")).unwrap();
    for info in &run.clients {
        assert_eq!(
            info.role,
            ftpspec::results::CaseRole::Server,
            "{}",
            info.name
        );
    }
    for (id, verdicts) in EXPECTED {
        for (server, want) in ftpspec::servers::BUILTIN.iter().zip(verdicts.iter()) {
            let r = case(&run, server, id);
            assert_eq!(r.role, ftpspec::results::CaseRole::Server);
            assert_eq!(
                r.verdict, *want,
                "{server} {id}: {}\n{}",
                r.reason, r.observations.dialogue
            );
        }
    }
    // The report shows the servers as columns, marked as servers.
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(html.contains("Clients and servers"));
}

/// The cases CI runs against every built-in server, with each server's verdict, in the
/// order of [`ftpspec::servers::BUILTIN`] (vsftpd, proftpd, pure-ftpd, pyftpdlib), as
/// measured with Debian 12's packages. Each `Fail` is the server's own behaviour:
/// - bounce-port-refused, pyftpdlib: after refusing the PORT, it answers LIST with 150 and
///   no data connection set up, instead of 425;
/// - epsv-all: vsftpd accepts EPRT after EPSV ALL, pure-ftpd PASV (RFC 2428 §4);
/// - abor: vsftpd reads no command during a transfer (async_abor_enable=NO, its default),
///   so the whole file is sent before ABOR is answered;
/// - ftps-explicit, pyftpdlib: the probe passes, but curl as the case's real client gets
///   `curl: (13) Bad PASV/EPSV response: 200` (pyftpdlib#604, fixed after Debian's 1.5.7).
const EXPECTED: [(&str, [Verdict; 4]); 6] = {
    use Verdict::{Fail, Pass};
    [
        ("server/epsv", [Pass; 4]),
        ("server/pasv-port-range", [Pass; 4]),
        ("server/ftps-explicit", [Pass, Pass, Pass, Fail]),
        ("server/bounce-port-refused", [Pass, Pass, Pass, Fail]),
        ("server/epsv-all", [Fail, Pass, Fail, Pass]),
        ("server/abor", [Fail, Pass, Pass, Pass]),
    ]
};

/// ftpspec-mock as a Rust server under test, started from a closure in the server host: what
/// a libunftp user writes. `bounce` lets it connect to any address (a bounce-vulnerable
/// server).
fn mock_server(bounce: bool) -> ServerUnderTest {
    let supports = [ServerSetting::PasvPorts, ServerSetting::ExternalIp];
    ServerUnderTest::from_fn("mock", "0", &supports, move |setup: &ServerSetup| {
        let mut b = MockServer::builder()
            .bind(([0, 0, 0, 0], setup.port).into())
            .credentials(&setup.user, &setup.password)
            .root_dir(&setup.root)
            .allow_foreign_data_address(bounce);
        if let Some(r) = &setup.pasv_ports {
            b = b.pasv_ports(r.clone());
        }
        if let Some(ip) = setup.external_ip {
            let std::net::IpAddr::V4(v4) = ip else {
                return Err("an IPv4 external address".to_string());
            };
            b = b.advertise(Advertise::Ip(v4));
        }
        let server = b.start_blocking().map_err(|e| e.to_string())?;
        Ok(Box::new(server))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_server_from_a_closure_passes_and_a_bounce_vulnerable_one_fails() {
    let good = mock_server(false);
    for id in [
        "server/epsv",
        "server/epsv-all",
        "server/feat-format",
        "server/bounce-port-refused",
        "server/port-low-port-refused",
        "server/nat-external-address",
        "server/pasv-port-range",
        "server/concurrent-sessions",
    ] {
        let r = ftpspec::run_server_scenario(id, &good).await.unwrap();
        assert_eq!(r.verdict, Verdict::Pass, "{id}: {}", r.reason);
    }
    // A setting the closure does not declare: unsupported, not run.
    let r = ftpspec::run_server_scenario("server/ftps-explicit", &good)
        .await
        .unwrap();
    assert_eq!(r.verdict, Verdict::Unsupported, "{}", r.reason);
    assert!(r.reason.contains("ftps_explicit"), "{}", r.reason);
    // The same server letting PORT name anyone: the decoy is reached, and the case fails.
    let bad = mock_server(true);
    let r = ftpspec::run_server_scenario("server/bounce-port-refused", &bad)
        .await
        .unwrap();
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
}
