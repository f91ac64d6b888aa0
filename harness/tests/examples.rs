//! What a client project writes to test its client with ftpspec from `cargo test` (the
//! README shows the same): the catalogue against a command-line client described by a client
//! file, and one scenario with a Rust closure as the client. Needs root, like every network
//! test.

use ftpspec::clients::{Client, Target};
use ftpspec::scenario::{Action, Setting};
use ftpspec::Verdict;

#[tokio::test]
async fn a_cli_client_against_the_passive_cases() {
    // Your client's command lines; curl stands in for it here.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("myclient.toml");
    std::fs::write(
        &file,
        r#"name = "myclient"
version_command = "curl --version"
[actions]
download = "curl -sS --max-time 20 -o {local_file} ftp://{user}:{password}@{host}:{port}{path}"
[settings]
disable_epsv = "--disable-epsv"
force_pasv_ip = "--ftp-skip-pasv-ip"
"#,
    )
    .unwrap();
    let client = Client::from_file(&file).unwrap();
    let run = ftpspec::run_catalogue(
        &[
            "passive/unroutable",
            "passive/force-ip",
            "passive/epsv-refused",
        ],
        &[client],
    )
    .await
    .unwrap();
    assert_eq!(run.results.len(), 3);
    for r in &run.results {
        assert_eq!(
            r.verdict,
            Verdict::Pass,
            "{} {}: {}",
            r.client,
            r.scenario,
            r.reason
        );
    }
}

/// A client written in Rust (suppaftp here), run inside the client's network namespace.
fn my_client(nat_workaround: bool) -> Client {
    Client::from_fn(
        "my-rust-client",
        "0.1.0",
        &[Action::Download],
        &[Setting::ForcePasvIp, Setting::DisableEpsv],
        move |t: Target| async move {
            tokio::task::spawn_blocking(move || {
                let mut ftp =
                    suppaftp::FtpStream::connect((t.host, t.port)).map_err(|e| e.to_string())?;
                ftp.get_ref()
                    .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .map_err(|e| e.to_string())?;
                ftp.login(&t.user, &t.password).map_err(|e| e.to_string())?;
                ftp.set_passive_nat_workaround(nat_workaround);
                ftp.transfer_type(suppaftp::types::FileType::Binary)
                    .map_err(|e| e.to_string())?;
                let data = ftp
                    .retr_as_buffer(&t.path)
                    .map_err(|e| e.to_string())?
                    .into_inner();
                std::fs::write(&t.local_file, data).map_err(|e| e.to_string())?;
                ftp.quit().map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())?
        },
    )
}

#[tokio::test]
async fn a_rust_client_as_a_closure() {
    let r = ftpspec::run_scenario("passive/unroutable-address", &my_client(true))
        .await
        .unwrap();
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    // Without its NAT workaround suppaftp trusts the 227 address and is caught at it.
    let r = ftpspec::run_scenario("passive/zero-address", &my_client(false))
        .await
        .unwrap();
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    assert!(
        r.reason.contains("expected the download to complete"),
        "{}",
        r.reason
    );
}
