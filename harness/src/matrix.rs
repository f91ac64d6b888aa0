//! Running many cases: scenarios x clients, a few at a time, each in its own network; and the
//! library API for `cargo test` in a client project ([`run_scenario`], [`run_catalogue`]).

use std::sync::Arc;

use ftpspec_report::{CaseResult, ClientInfo, RunResults, SCHEMA};

use crate::case::run_case;
use crate::clients::Client;
use crate::error::{Error, Result};
use crate::scenario::{self, Scenario};

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
    let versions: Vec<String> = clients.iter().map(|c| c.version()).collect();
    let cases: Vec<(Scenario, Client, String)> = scenarios
        .iter()
        .flat_map(|s| {
            clients
                .iter()
                .zip(&versions)
                .map(move |(c, v)| (s.clone(), c.clone(), v.clone()))
        })
        .collect();
    let total = cases.len();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (s, c, v) in cases {
        let sem = semaphore.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            run_case(&s, &c, &v).await
        });
    }
    let mut results = Vec::new();
    tokio::pin!(stop);
    let mut interrupted = false;
    loop {
        tokio::select! {
            next = set.join_next() => match next {
                None => break,
                Some(Ok(r)) => {
                    progress(results.len() + 1, total, &r);
                    results.push(r);
                }
                Some(Err(e)) => {
                    eprintln!("ftpspec run: a case crashed: {e}");
                }
            },
            _ = &mut stop, if !interrupted => {
                interrupted = true;
                // Dropping the running cases tears their networks down.
                set.abort_all();
            }
        }
    }
    let mut run = RunResults {
        schema: SCHEMA,
        ftpspec_version: env!("CARGO_PKG_VERSION").into(),
        clients: clients
            .iter()
            .zip(versions)
            .map(|(c, version)| ClientInfo {
                name: c.name().into(),
                version,
            })
            .collect(),
        missing_clients: Vec::new(),
        interrupted,
        results,
    };
    run.sort();
    run
}

/// Runs one scenario of the catalogue (or of `extra` directories) against a client; for
/// `cargo test` in a client project.
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
    let Some(s) = all.into_iter().find(|s| s.id == id) else {
        return Err(Error::UnknownScenario { id: id.to_owned() });
    };
    let version = client.version();
    Ok(run_case(&s, client, &version).await)
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
