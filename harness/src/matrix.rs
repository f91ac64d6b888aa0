//! Running many cases: scenarios x clients, a few at a time, each in its own network; and the
//! library API for `cargo test` in a client project ([`run_scenario`], [`run_catalogue`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use ftpspec_report::{CaseResult, CaseRole, ClientInfo, RunResults, SCHEMA};

use crate::capture::CaptureTo;
use crate::case::{run_case, run_case_capturing};
use crate::clients::Client;
use crate::error::{Error, Result};
use crate::partition::Partition;
use crate::scenario::server::ServerScenario;
use crate::scenario::{self, Scenario};
use crate::schedule::{longest_first, Durations};
use crate::server_case::run_server_case;
use crate::servers::ServerUnderTest;

/// How a run goes, beyond which cases it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Cases run at once (each has its own network).
    pub jobs: usize,
    /// How many times each case runs (at least once).
    pub repeat: u32,
    /// Shuffle the cases with this seed (`None`: the [`Plan::order`]); a seed overrides
    /// the order, so that it replays one.
    pub seed: Option<u64>,
    /// Run only this share of the cases (`--partition`); `None`: every case.
    pub partition: Option<Partition>,
    /// Packet captures: where, and which cases keep theirs (`--capture`); `None`: none.
    pub capture: Option<CaptureTo>,
    /// The order cases start in when there is no seed.
    pub order: Order,
}

/// The order cases start in (without a `--shuffle` seed); see [`crate::schedule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// Catalogue order: scenario, then client.
    Catalogue,
    /// Longest expected first: from these durations of a previous run, else estimated from
    /// the scenario.
    LongestFirst(Durations),
}

/// Cases run at once by default: 12 per CPU, at least 4 and at most 48. A case mostly
/// waits (on client timeouts, delays the server scripts, a NAT forgetting a connection):
/// on 2 CPUs the whole catalogue x six clients at 24 jobs took ftpspec and its clients
/// about half of one CPU, and 32 jobs were no faster (the longest case, 74 s, bounds the
/// run). See the README's "Speed".
pub fn default_jobs() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus * 12).clamp(4, 48)
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            jobs: 4,
            repeat: 1,
            seed: None,
            partition: None,
            capture: None,
            order: Order::LongestFirst(Durations::default()),
        }
    }
}

/// Where a run is, given with each finished run of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Runs finished, this one included.
    pub done: usize,
    /// Runs in all (cases x repeat).
    pub total: usize,
    /// Which run of its case this was (1-based).
    pub run: u32,
    /// How many runs each case has.
    pub repeat: u32,
}

/// Runs scenarios against clients, `jobs` at a time, reporting each finished case through
/// `progress`. Stops early (returning what finished, marked interrupted) when `stop`
/// resolves. The results come sorted, with each client's version asked once.
pub async fn run_matrix(
    scenarios: &[Scenario],
    clients: &[Client],
    jobs: usize,
    mut progress: impl FnMut(usize, usize, &CaseResult),
    stop: impl std::future::Future<Output = ()>,
) -> RunResults {
    let plan = Plan {
        jobs,
        ..Plan::default()
    };
    run_plan(
        scenarios,
        clients,
        &plan,
        |p, r| progress(p.done, p.total, r),
        stop,
    )
    .await
}

/// [`run_matrix`] with a [`Plan`]: only the cases of `plan.partition` (all without one,
/// chosen on catalogue order), each case `plan.repeat` times, in rounds (every case once,
/// then every case again), each round in `plan.order` (longest expected first, or
/// catalogue order) or, with a seed, in its own shuffled order. A case run several times becomes one result ([`CaseResult::combine`]:
/// the worst run's verdict, every run, flaky when they differ). Cases start in exactly the
/// planned order, `plan.jobs` at a time.
pub async fn run_plan(
    scenarios: &[Scenario],
    clients: &[Client],
    plan: &Plan,
    progress: impl FnMut(&Progress, &CaseResult),
    stop: impl std::future::Future<Output = ()>,
) -> RunResults {
    let cases = Cases {
        scenarios,
        clients,
        ..Cases::default()
    };
    run_cases(&cases, plan, progress, stop).await
}

/// What a run tests: client scenarios x clients, and server scenarios x servers under test
/// (`ftpspec run --server`); either side may be empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cases<'a> {
    /// The client scenarios.
    pub scenarios: &'a [Scenario],
    /// The clients.
    pub clients: &'a [Client],
    /// The server scenarios (the `server/` group).
    pub server_scenarios: &'a [ServerScenario],
    /// The servers under test.
    pub servers: &'a [ServerUnderTest],
}

/// One case of a run, by index: a client scenario and a client, or a server scenario and a
/// server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Client(usize, usize),
    Server(usize, usize),
}

impl Cases<'_> {
    /// The case's scenario id and implementation name.
    fn names(&self, key: Key) -> (&str, &str) {
        match key {
            Key::Client(s, c) => (self.scenarios[s].id.as_str(), self.clients[c].name()),
            Key::Server(s, v) => (self.server_scenarios[s].id.as_str(), self.servers[v].name()),
        }
    }
}

/// [`run_plan`] over both sides of [`Cases`]: clients and servers run in one schedule, and
/// their results come in one [`RunResults`], each marked with its role.
pub async fn run_cases(
    cases: &Cases<'_>,
    plan: &Plan,
    mut progress: impl FnMut(&Progress, &CaseResult),
    stop: impl std::future::Future<Output = ()>,
) -> RunResults {
    let versions: Vec<String> = cases.clients.iter().map(|c| c.version()).collect();
    let server_versions: Vec<String> = cases.servers.iter().map(|s| s.version()).collect();
    let work = planned(cases, plan);
    let repeat = plan.repeat.max(1);
    let total = work.len();
    let started = std::time::Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(plan.jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let mut queue = work.into_iter();
    let mut next = queue.next();
    let mut runs: BTreeMap<Key, Vec<(u32, CaseResult)>> = BTreeMap::new();
    let mut done = 0;
    tokio::pin!(stop);
    let mut interrupted = false;
    loop {
        let busy = next.is_some() || !set.is_empty();
        tokio::select! {
            _ = &mut stop, if busy && !interrupted => {
                interrupted = true;
                next = None;
                // Dropping the running cases tears their networks down.
                set.abort_all();
            }
            permit = semaphore.clone().acquire_owned(), if next.is_some() => {
                let (key, run) = next.take().expect("a case is next");
                next = queue.next();
                let capture = plan.capture.clone();
                // Each run of a repeated case its own capture file.
                let nth = if repeat > 1 { run } else { 1 };
                match key {
                    Key::Client(si, ci) => {
                        let (s, c, v) = (cases.scenarios[si].clone(), cases.clients[ci].clone(), versions[ci].clone());
                        set.spawn(async move {
                            let _permit = permit;
                            let r = run_case_capturing(&s, &c, &v, capture.as_ref(), nth).await;
                            (key, run, r)
                        });
                    }
                    Key::Server(si, vi) => {
                        let (s, v, ver) = (cases.server_scenarios[si].clone(), cases.servers[vi].clone(), server_versions[vi].clone());
                        set.spawn(async move {
                            let _permit = permit;
                            let r = run_server_case(&s, &v, &ver, capture.as_ref(), nth).await;
                            (key, run, r)
                        });
                    }
                }
            }
            finished = set.join_next(), if !set.is_empty() => match finished {
                Some(Ok((case, run, r))) => {
                    done += 1;
                    let p = Progress { done, total, run, repeat };
                    progress(&p, &r);
                    runs.entry(case).or_default().push((run, r));
                }
                Some(Err(e)) => eprintln!("ftpspec run: a case crashed: {e}"),
                None => {}
            },
            else => break,
        }
    }
    let wall = started.elapsed();
    let results: Vec<CaseResult> = runs
        .into_values()
        .filter_map(|mut rs| {
            rs.sort_by_key(|(run, _)| *run);
            CaseResult::combine(rs.into_iter().map(|(_, r)| r).collect())
        })
        .collect();
    let clients = cases
        .clients
        .iter()
        .zip(versions)
        .map(|(c, version)| ClientInfo {
            name: c.name().into(),
            version,
            role: CaseRole::Client,
        });
    let servers = cases
        .servers
        .iter()
        .zip(server_versions)
        .map(|(s, version)| ClientInfo {
            name: s.name().into(),
            version,
            role: CaseRole::Server,
        });
    let mut run = RunResults {
        schema: SCHEMA,
        ftpspec_version: env!("CARGO_PKG_VERSION").into(),
        clients: clients.chain(servers).collect(),
        missing_clients: Vec::new(),
        interrupted,
        repeat,
        seed: plan.seed,
        partition: plan.partition.map(|p| p.to_string()),
        merged_from: Vec::new(),
        // The jobs that could run at once: a run of 4 cases at `--jobs 24` had 4 slots busy
        // at most, and its efficiency is measured against those.
        timing: Some(crate::schedule::timing(
            &results,
            wall,
            plan.jobs.clamp(1, total.max(1)),
        )),
        results,
    };
    run.sort();
    run
}

/// The runs of a plan, in the order they start: `(case, run)`, client cases (scenario, then
/// client) before server cases in catalogue order.
fn planned(cases: &Cases<'_>, plan: &Plan) -> Vec<(Key, u32)> {
    let clients = (0..cases.scenarios.len())
        .flat_map(|s| (0..cases.clients.len()).map(move |c| Key::Client(s, c)));
    let servers = (0..cases.server_scenarios.len())
        .flat_map(|s| (0..cases.servers.len()).map(move |v| Key::Server(s, v)));
    let mut keys: Vec<Key> = clients.chain(servers).collect();
    if let Some(p) = &plan.partition {
        let keep = p.select(keys.iter().map(|&k| cases.names(k)));
        keys = keep.into_iter().map(|i| keys[i]).collect();
    }
    if let (None, Order::LongestFirst(durations)) = (plan.seed, &plan.order) {
        longest_first(&mut keys, |&k| match k {
            Key::Client(s, c) => durations.expected(&cases.scenarios[s], cases.clients[c].name()),
            Key::Server(s, v) => {
                durations.expected_server(&cases.server_scenarios[s], cases.servers[v].name())
            }
        });
    }
    let repeat = plan.repeat.max(1);
    let mut rng = plan.seed;
    let mut work = Vec::with_capacity(keys.len() * repeat as usize);
    for run in 1..=repeat {
        let mut round = keys.clone();
        if let Some(state) = rng.as_mut() {
            shuffle(&mut round, state);
        }
        work.extend(round.into_iter().map(|case| (case, run)));
    }
    work
}

/// A seed for `--shuffle` without `--seed`: 32 bits, short to type and exact in any JSON
/// reader (some read numbers as doubles).
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is keyed from the OS's random source, anew in each process.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() & 0xffff_ffff
}

/// Fisher-Yates driven by SplitMix64, written out here rather than taken from a crate, so a
/// seed gives the same order for as long as this function stays as it is.
fn shuffle<T>(items: &mut [T], state: &mut u64) {
    for i in (1..items.len()).rev() {
        let j = (splitmix64(state) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    crate::partition::mix(*state)
}

/// Runs one scenario of the catalogue (or of `extra` directories) against a client; for
/// `cargo test` in a client project. A variant's id runs that variant
/// (`transfer/zero-byte-download@ip=6,tls=explicit`; see [`scenario::variant`]).
///
/// ```no_run
/// use ftpspec::clients::Client;
/// use ftpspec::Verdict;
/// # async fn demo() {
/// let client = Client::builtin("curl").unwrap();
/// let result = ftpspec::run_scenario("passive/unroutable-address", &client).await.unwrap();
/// assert_eq!(result.verdict, Verdict::Pass, "{}", result.reason);
/// # }
/// ```
pub async fn run_scenario(id: &str, client: &Client) -> Result<CaseResult> {
    let all = scenario::catalogue()?;
    let unknown = || Error::UnknownScenario { id: id.to_owned() };
    let base = scenario::base_id(id);
    let s = all.into_iter().find(|s| s.id == base).ok_or_else(unknown)?;
    let s = match id.split_once('@') {
        None => s,
        Some((_, values)) => variant_of(s, values, id).ok_or_else(unknown)?,
    };
    let version = client.version();
    Ok(run_case(&s, client, &version).await)
}

/// The variant `id` of a scenario, from its axis values (`ip=6,tls=explicit`).
fn variant_of(s: Scenario, values: &str, id: &str) -> Option<Scenario> {
    let mut axes = scenario::Axes::default();
    for v in values.split(',') {
        axes.add(v).ok()?;
    }
    let variants = scenario::expand(&[s], &axes).ok()?;
    variants.into_iter().find(|v| v.id == id)
}

/// Runs the catalogue's scenarios whose ids start with one of `filters` (none: all) against
/// `clients`, four cases at a time; for `cargo test` in a client project.
///
/// ```no_run
/// use ftpspec::clients::Client;
/// use ftpspec::Verdict;
/// # async fn demo() {
/// let client = Client::from_file("tests/myclient.toml".as_ref()).unwrap();
/// let run = ftpspec::run_catalogue(&["passive/"], &[client]).await.unwrap();
/// for r in &run.results {
///     assert_ne!(r.verdict, Verdict::Fail, "{} {}: {}", r.client, r.scenario, r.reason);
/// }
/// # }
/// ```
pub async fn run_catalogue(filters: &[&str], clients: &[Client]) -> Result<RunResults> {
    let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
    let scenarios = scenario::select(&[], &filters)?;
    if scenarios.is_empty() {
        return Err(Error::NoScenario { filters });
    }
    Ok(run_matrix(&scenarios, clients, 4, |_, _, _| {}, std::future::pending()).await)
}

/// Runs one server case of the catalogue (`server/...`, or of `extra` directories) against a
/// server under test; for `cargo test` in a server project. The server may be built in, a
/// server file, or your own code started from a closure inside the case's server host
/// ([`ServerUnderTest::from_fn`]).
///
/// ```no_run
/// use ftpspec::servers::{ServerSetting, ServerUnderTest};
/// use ftpspec::Verdict;
/// # async fn demo() {
/// let server = ServerUnderTest::from_fn("myserver", "1.0", &[ServerSetting::PasvPorts], |setup| {
///     // Start your server on setup.port, serving setup.root to setup.user; the box is
///     // dropped to stop it.
///     # let _ = setup;
///     Ok(Box::new(()))
/// });
/// let result = ftpspec::run_server_scenario("server/epsv", &server).await.unwrap();
/// assert_eq!(result.verdict, Verdict::Pass, "{}", result.reason);
/// # }
/// ```
pub async fn run_server_scenario(id: &str, server: &ServerUnderTest) -> Result<CaseResult> {
    let all = scenario::server::catalogue()?;
    let s = all
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| Error::UnknownScenario { id: id.to_owned() })?;
    let version = server.version();
    Ok(run_server_case(&s, server, &version, None, 1).await)
}

/// Runs the catalogue's server cases whose ids start with one of `filters` (none: all)
/// against `servers`, four at a time; for `cargo test` in a server project.
pub async fn run_server_catalogue(
    filters: &[&str],
    servers: &[ServerUnderTest],
) -> Result<RunResults> {
    let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
    let scenarios = scenario::server::select(&[], &filters)?;
    if scenarios.is_empty() {
        return Err(Error::NoScenario { filters });
    }
    let cases = Cases {
        server_scenarios: &scenarios,
        servers,
        ..Cases::default()
    };
    let plan = Plan {
        jobs: 4,
        ..Plan::default()
    };
    Ok(run_cases(&cases, &plan, |_, _| {}, std::future::pending()).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variant_id_names_its_variant() {
        let id = "transfer/zero-byte-download";
        let s = scenario::catalogue()
            .unwrap()
            .into_iter()
            .find(|s| s.id == id)
            .unwrap();
        let v = |values: &str| variant_of(s.clone(), values, &format!("{id}@{values}"));
        let explicit = v("ip=6,tls=explicit").unwrap();
        assert_eq!(explicit.variant.axes().len(), 2);
        assert!(v("tls=explicit,ip=6").is_none(), "not the id's order");
        assert!(v("tls=tcp").is_none());
    }

    fn plan_of(order: Order, seed: Option<u64>, repeat: u32) -> Plan {
        Plan {
            jobs: 4,
            repeat,
            seed,
            partition: None,
            order,
            capture: None,
        }
    }

    #[rstest::rstest]
    // No history: the static estimates (slow-226's 65 s late reply, then the NAT idle case).
    #[case::estimated(&[], &["robustness/slow-226-after-upload", "nat/idle-control-default", "passive/unroutable-address"])]
    // A previous run's durations win over the estimate.
    #[case::from_history(&[("passive/unroutable-address", 90_000)], &["passive/unroutable-address", "robustness/slow-226-after-upload", "nat/idle-control-default"])]
    fn cases_start_longest_expected_first(#[case] known: &[(&str, u64)], #[case] order: &[&str]) {
        let ids = [
            "passive/unroutable-address",
            "nat/idle-control-default",
            "robustness/slow-226-after-upload",
        ];
        let all = scenario::catalogue().unwrap();
        let scenarios: Vec<Scenario> = ids
            .iter()
            .map(|id| all.iter().find(|s| s.id == *id).unwrap().clone())
            .collect();
        let clients = [Client::builtin("curl").unwrap()];
        let mut previous: RunResults =
            serde_json::from_str(r#"{"schema":1,"ftpspec_version":"0","clients":[],"results":[]}"#)
                .unwrap();
        for (id, ms) in known {
            previous
                .results
                .push(crate::schedule::tests::result(id, "curl", *ms));
        }
        let durations = Durations::from_results(&previous);
        let names = |work: Vec<(Key, u32)>| -> Vec<(String, u32)> {
            work.into_iter()
                .map(|(k, run)| match k {
                    Key::Client(s, _) => (scenarios[s].id.clone(), run),
                    Key::Server(..) => unreachable!("no server case planned"),
                })
                .collect()
        };
        let cases = Cases {
            scenarios: &scenarios,
            clients: &clients,
            ..Cases::default()
        };
        let lpt = plan_of(Order::LongestFirst(durations.clone()), None, 2);
        let want: Vec<(String, u32)> = [1, 2]
            .iter()
            .flat_map(|&run| order.iter().map(move |id| (id.to_string(), run)))
            .collect();
        assert_eq!(names(planned(&cases, &lpt)), want, "each round alike");
        // Catalogue order: as given.
        let cat = plan_of(Order::Catalogue, None, 1);
        let given: Vec<(String, u32)> = ids.iter().map(|id| (id.to_string(), 1)).collect();
        assert_eq!(names(planned(&cases, &cat)), given);
        // A seed overrides the order: the seed's shuffle of catalogue order, durations or not.
        let shuffled = |order: Order| names(planned(&cases, &plan_of(order, Some(3), 1)));
        let mut expect: Vec<usize> = (0..ids.len()).collect();
        shuffle(&mut expect, &mut 3);
        let expect: Vec<(String, u32)> = expect.iter().map(|&i| (ids[i].to_string(), 1)).collect();
        assert_eq!(shuffled(Order::LongestFirst(durations)), expect);
        assert_eq!(shuffled(Order::Catalogue), expect);
    }

    #[test]
    fn a_seed_gives_one_order() {
        let order = |seed: u64| {
            let mut v: Vec<u32> = (0..20).collect();
            let mut state = seed;
            shuffle(&mut v, &mut state);
            v
        };
        assert_eq!(order(7), order(7));
        assert_ne!(order(7), order(8));
        let mut sorted = order(7);
        sorted.sort();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>(), "a permutation");
        // Pinned: a seed must replay the same order in later versions.
        assert_eq!(order(1)[..5], [1, 14, 10, 3, 19], "{:?}", order(1));
        assert!(random_seed() <= u64::from(u32::MAX));
    }
}
