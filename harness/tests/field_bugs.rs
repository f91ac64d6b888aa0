//! Each field case fails a client with the bug it exists to catch, and passes the same
//! client without it: `clients/buggy.py` is one small ftplib-like client with a chosen bug
//! (`--bug NAME`, or `none`), each one reported against a real client (see FIELD.md). A
//! check that could not fail would show here. Needs root; CI runs it as root.

use std::path::{Path, PathBuf};

use ftpspec::clients::Client;
use ftpspec::{run_scenario, Verdict};
use rstest::rstest;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// buggy.toml with its script's directory and the bug filled in.
fn buggy(dir: &Path, bug: &str) -> Client {
    let text = std::fs::read_to_string(fixtures().join("buggy.toml"))
        .unwrap()
        .replace("@FIXTURES@", fixtures().to_str().unwrap())
        .replace("@BUG@", bug);
    let path = dir.join(format!("buggy-{bug}.toml"));
    std::fs::write(&path, text).unwrap();
    Client::from_file(&path).unwrap()
}

#[rstest]
#[case::cve_2021_22946(
    "security/preauth-230-tls-required",
    "preauth-cleartext",
    "in the clear"
)]
#[case::cve_2021_22947(
    "security/starttls-pipelined-reply",
    "trust-pipelined",
    "before the server had answered"
)]
#[case::no_close_notify("ftps/close-notify-required", "no-close-notify", "close_notify")]
#[case::cr_in_257("security/pwd-control-chars", "pwd-echo", "DELE /ftpspec-injected")]
#[case::reject_125("robustness/125-not-150", "reject-125", "125")]
#[case::pass_after_230("login/230-after-user", "pass-after-230", "503")]
#[case::need_crlf(
    "robustness/lf-only-replies",
    "need-crlf",
    "expected the download to complete"
)]
#[case::ok_after_425("robustness/150-then-425", "ok-after-425", "reported success")]
#[case::close_on_226("robustness/226-before-data-eof", "close-on-226", "the data was wrong")]
#[case::one_read_reply(
    "robustness/byte-at-a-time-replies",
    "one-read-reply",
    "expected the download to complete"
)]
#[case::retry_in_place(
    "robustness/retry-after-421",
    "retry-in-place",
    "the server closed the control connection"
)]
#[tokio::test(flavor = "multi_thread")]
async fn a_field_case_fails_the_bug_it_targets(
    #[case] id: &str,
    #[case] bug: &str,
    #[case] why: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let good = run_scenario(id, &buggy(dir.path(), "none")).await.unwrap();
    assert_eq!(
        good.verdict,
        Verdict::Pass,
        "{id} without the bug: {}\n{}",
        good.reason,
        good.observations.stderr
    );
    let bad = run_scenario(id, &buggy(dir.path(), bug)).await.unwrap();
    assert_eq!(
        bad.verdict,
        Verdict::Fail,
        "{id} with {bug}: {}",
        bad.reason
    );
    assert!(bad.reason.contains(why), "{id} with {bug}: {}", bad.reason);
}
