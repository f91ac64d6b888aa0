//! Client files as users write them (harness/tests/clients/): curl described by a file gets
//! the built-in curl's verdicts on the cases that need each part of the format, and a small
//! script whose listing is its stdout passes them too. Needs root; CI runs it as root.

use std::path::{Path, PathBuf};

use ftpspec::clients::Client;
use ftpspec::{run_scenario, Verdict};
use rstest::rstest;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn curl_file() -> Client {
    Client::from_file(&fixtures().join("curl.toml")).unwrap()
}

/// pyftp.toml with the path of its script filled in.
fn script_file(dir: &Path) -> Client {
    let text = std::fs::read_to_string(fixtures().join("pyftp.toml")).unwrap();
    let text = text.replace("@FIXTURES@", fixtures().to_str().unwrap());
    let path = dir.join("pyftp.toml");
    std::fs::write(&path, text).unwrap();
    Client::from_file(&path).unwrap()
}

#[rstest]
#[case::listing_on_stdout("upload/list-directory")]
#[case::ipv6_url("passive/ipv6-epsv")]
#[case::implicit_ftps_url("ftps/implicit")]
#[case::combined_active_settings("active/external-ip")]
#[case::range_on_its_own_address("active/port-range")]
#[case::force_ip("passive/force-ip")]
#[case::explicit_ftps("ftps/explicit")]
#[case::upload("upload/passive-upload")]
#[tokio::test(flavor = "multi_thread")]
async fn curl_through_a_file_gets_the_builtin_verdict(#[case] id: &str) {
    let builtin = run_scenario(id, &Client::builtin("curl").unwrap())
        .await
        .unwrap();
    let file = run_scenario(id, &curl_file()).await.unwrap();
    assert_eq!(builtin.verdict, Verdict::Pass, "{id}: {}", builtin.reason);
    assert_eq!(
        file.verdict, builtin.verdict,
        "{id}: the file: {}\nthe built-in: {}\n{:?}",
        file.reason, builtin.reason, file.observations.command
    );
}

#[rstest]
#[case::listing_on_stdout("upload/list-directory", Verdict::Pass)]
#[case::ipv6_url("passive/ipv6-epsv", Verdict::Pass)]
#[case::always_ignores_the_227_address("passive/force-ip", Verdict::Pass)]
#[case::explicit_ftps("ftps/explicit", Verdict::Pass)]
#[case::active("smart-firewall/plain-active", Verdict::Pass)]
#[case::no_implicit_ftps("ftps/implicit", Verdict::Unsupported)]
#[tokio::test(flavor = "multi_thread")]
async fn a_small_script_through_a_file(#[case] id: &str, #[case] want: Verdict) {
    let dir = tempfile::tempdir().unwrap();
    let r = run_scenario(id, &script_file(dir.path())).await.unwrap();
    assert_eq!(
        r.verdict, want,
        "{id}: {}\n{:?}\n{}",
        r.reason, r.observations.command, r.observations.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_on_stdout_must_hold_the_served_names() {
    // The same script, told to list the root instead of the case's /pub: it prints a
    // listing (pub, incoming), but not the one asked for: readme.txt is missing.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join("pyftp.toml"))
        .unwrap()
        .replace("@FIXTURES@", fixtures().to_str().unwrap())
        .replace(
            "{url} list",
            "{scheme}://{user}:{password}@{url_host}:{port}/ list",
        );
    let path = dir.path().join("wrong.toml");
    std::fs::write(&path, text).unwrap();
    let client = Client::from_file(&path).unwrap();
    let r = run_scenario("upload/list-directory", &client)
        .await
        .unwrap();
    assert!(
        r.observations.stdout.contains("pub"),
        "{:?}",
        r.observations
    );
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    assert!(r.reason.contains("the data was wrong"), "{}", r.reason);
}

/// A session is judged step by step: the script that runs every step passes; the same
/// script given only the first step (it still exits 0) fails, naming the step it skipped.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_is_judged_step_by_step() {
    let id = "ftps/tls13-upload-with-data-tickets";
    let dir = tempfile::tempdir().unwrap();
    let r = run_scenario(id, &script_file(dir.path())).await.unwrap();
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert_eq!(r.observations.steps.len(), 2, "{:?}", r.observations.steps);

    let first_only = dir.path().join("first-step.txt");
    let text = std::fs::read_to_string(fixtures().join("pyftp.toml"))
        .unwrap()
        .replace("@FIXTURES@", fixtures().to_str().unwrap())
        .replace(
            "session {script_file}",
            &format!("session {}", first_only.display()),
        );
    // The upload step as the harness would write it, from a file of the right size.
    let local = dir.path().join("upload.bin");
    let mut bytes = vec![0u8; 256 << 10];
    ftpspec_mock::generated::fill(0, &mut bytes);
    std::fs::write(&local, &bytes).unwrap();
    std::fs::write(
        &first_only,
        format!("upload {} /incoming/tickets.bin\n", local.display()),
    )
    .unwrap();
    let path = dir.path().join("first-only.toml");
    std::fs::write(&path, text).unwrap();
    let r = run_scenario(id, &Client::from_file(&path).unwrap())
        .await
        .unwrap();
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    assert!(
        r.reason
            .contains("step 2 (download /gen/256K: no local file)"),
        "{}",
        r.reason
    );
}
