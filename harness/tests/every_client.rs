//! Every built-in client runs a case end to end: installed (scripts/install-deps
//! --all-clients installs them; a missing one fails here, it is not skipped), ready (built
//! where it is a program to build), and passing a plain passive download. Needs
//! root; CI runs it as root.

use ftpspec::clients::{Client, BUILTIN};
use ftpspec::{run_scenario, Verdict};

#[tokio::test(flavor = "multi_thread")]
async fn every_builtin_client_passes_a_plain_download() {
    let mut failures = Vec::new();
    for name in BUILTIN {
        let client = Client::builtin(name).unwrap();
        if !client.available() {
            failures.push(format!(
                "{name}: `{}` is not installed (scripts/install-deps --all-clients)",
                client.program().unwrap_or_default()
            ));
            continue;
        }
        let r = run_scenario("passive/reply-extra-text", &client)
            .await
            .unwrap();
        if r.verdict != Verdict::Pass {
            failures.push(format!("{name}: {} {}", r.verdict.as_str(), r.reason));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
