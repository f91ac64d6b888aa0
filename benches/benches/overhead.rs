//! What ftpspec itself costs per case: building and tearing down each preset's topology, a
//! mock server's start and stop, and one whole scenario with a trivial in-process client.
//! Needs root for the network parts (it says so and measures the rest otherwise).
//!
//! `cargo bench -p ftpspec-benches --bench overhead`

use std::time::Duration;

use criterion::Criterion;
use ftpspec::clients::{Client, Target};
use ftpspec::scenario::Action;
use ftpspec_mock::MockServer;
use ftpspec_netns::{PresetName, PresetOptions, Topology};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let mut g = c.benchmark_group("mock-server");
    g.bench_function("start-stop", |b| {
        b.iter(|| {
            rt.block_on(async {
                MockServer::builder()
                    .start()
                    .await
                    .expect("start")
                    .shutdown()
                    .await
            })
        })
    });
    g.finish();

    if !ftpspec_benches::is_root() {
        eprintln!(
            "overhead: topologies and scenarios need root (network namespaces); not measured"
        );
        c.final_summary();
        return;
    }
    let mut g = c.benchmark_group("topology-setup-teardown");
    for name in PresetName::ALL {
        let spec = name.build(&PresetOptions::default()).expect("preset").spec;
        g.bench_function(name.as_str(), |b| {
            b.iter(|| {
                Topology::build(&spec)
                    .expect("build")
                    .destroy()
                    .expect("destroy")
            })
        });
    }
    g.finish();

    // A client that does nothing but write the expected file: the whole case minus a real
    // client's own time.
    let trivial = Client::from_fn(
        "trivial",
        "0",
        &[Action::Download],
        &[],
        |t: Target| async move {
            let mut data = vec![0u8; 64 << 10];
            ftpspec_mock::generated::fill(0, &mut data);
            std::fs::write(&t.local_file, data).map_err(|e| e.to_string())
        },
    );
    let mut g = c.benchmark_group("scenario");
    g.sample_size(10);
    for id in ["robustness/multiline-replies", "passive/unroutable-address"] {
        g.bench_function(id, |b| {
            b.iter(|| {
                let r = rt
                    .block_on(ftpspec::run_scenario(id, &trivial))
                    .expect("scenario");
                assert_ne!(r.verdict, ftpspec::Verdict::Error, "{}", r.reason);
            })
        });
    }
    g.finish();
    c.final_summary();
}
