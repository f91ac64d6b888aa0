//! The `ftpspec run`, `ftpspec list`, `ftpspec diff` and `ftpspec merge` commands (`lab` and `serve` have
//! their own modules).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};

use ftpspec_report::{RunResults, Verdict};

use crate::capture::{CaptureMode, CaptureTo};
use crate::clients::{Client, BUILTIN};
use crate::matrix::{default_jobs, random_seed, run_cases, Cases, Order, Plan};
use crate::partition::Partition;
use crate::quarantine::Quarantine;
use crate::scenario;
use crate::scenario::server::ServerScenario;
use crate::schedule::{self, Durations};
use crate::servers::ServerUnderTest;

/// Options of `ftpspec run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// A built-in client (repeatable): the core six, curl, lftp, wget, python-ftplib, tnftp,
    /// suppaftp, and ten more (inetutils-ftp, ncftp, ftp-ssl, perl-net-ftp, php-ftp,
    /// ruby-net-ftp, commons-net, go-ftp, basic-ftp, aioftp). Default: every built-in client
    /// installed on this machine.
    #[arg(long = "client", value_name = "NAME")]
    pub clients: Vec<String>,
    /// A client file (TOML) for another client (repeatable).
    #[arg(long = "client-file", value_name = "FILE")]
    pub client_files: Vec<PathBuf>,
    /// A built-in server to test (repeatable): vsftpd, proftpd, pure-ftpd, pyftpdlib. Runs
    /// the server cases (the `server/` group) against it; without --client or
    /// --client-file, only those.
    #[arg(long = "server", value_name = "NAME")]
    pub servers: Vec<String>,
    /// A server file (TOML) for another server to test (repeatable); see `ftpspec::servers`
    /// for its format.
    #[arg(long = "server-file", value_name = "FILE")]
    pub server_files: Vec<PathBuf>,
    /// A directory of your own scenarios (`<group>/<name>.toml`), added to the catalogue.
    #[arg(long = "scenarios", value_name = "DIR")]
    pub scenario_dirs: Vec<PathBuf>,
    /// Only scenarios whose id starts with this (repeatable), e.g. passive/ or ftps/implicit.
    #[arg(long = "filter", value_name = "PREFIX")]
    pub filters: Vec<String>,
    /// Where to write results.json, junit.xml and index.html.
    #[arg(long, value_name = "DIR", default_value = "ftpspec-results")]
    pub out: PathBuf,
    /// Cases run at once (each has its own network); default: 12 per CPU, 4 to 48 (cases
    /// mostly wait on timeouts).
    #[arg(long, value_name = "N", default_value_t = default_jobs())]
    pub jobs: usize,
    /// A previous results.json: exit 1 if any verdict got worse.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Run each case N times; a case whose verdict changes between runs is flaky, and its
    /// verdict is its worst run's.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Run the cases in a shuffled order (each round of --repeat shuffled anew); the seed is
    /// printed and kept in results.json. Default: --order (longest expected first).
    #[arg(long)]
    pub shuffle: bool,
    /// The seed for --shuffle, to replay a run's order (default: a random one).
    #[arg(long, value_name = "S", requires = "shuffle")]
    pub seed: Option<u64>,
    /// The order cases start in (without --shuffle): longest-first (longest expected
    /// first, so no long case starts last: see --durations) or catalogue.
    #[arg(long, value_enum, default_value_t = OrderArg::LongestFirst, conflicts_with = "shuffle")]
    pub order: OrderArg,
    /// A previous results.json whose case durations are the expected ones for
    /// --order longest-first (default: the --baseline, else the results.json already in
    /// --out, if any); cases it lacks are estimated from their scenario's timings.
    #[arg(long, value_name = "FILE")]
    pub durations: Option<PathBuf>,
    /// A quarantine file (TOML: `[[quarantine]]` scenario, client, reason): those cases run as
    /// usual, but their verdicts do not count toward the exit status. An entry for a
    /// scenario covers its variants too (`x` covers `x@tls=explicit`).
    #[arg(long, value_name = "FILE")]
    pub quarantine: Option<PathBuf>,
    /// Rerun each scenario that admits the axis (its `axes` key) once per value, the values in
    /// the case id (`x@tls=explicit`); repeatable: tls=plain,explicit,implicit, ip=4,6,
    /// personality=NAME,... A scenario that does not admit it runs once, under its own id.
    #[arg(long = "axis", value_name = "AXIS=V1,V2")]
    pub axes: Vec<String>,
    /// Run every scenario against this server personality (repeatable; the axis
    /// `personality=NAME`): a name (ftpspec list --personalities) or a personality file.
    /// A scenario that names its own personality keeps it, and runs once.
    #[arg(long = "personality", value_name = "NAME|FILE")]
    pub personalities: Vec<String>,
    /// Run only one share of the cases, to spread a run over CI jobs: hash:K/N (by a fixed
    /// hash of scenario and client: a case keeps its share when cases are added) or
    /// count:K/N (round-robin: balanced counts, but every job must have the same cases).
    /// Join the jobs' results with `ftpspec merge`.
    #[arg(long, value_name = "SCHEME:K/N")]
    pub partition: Option<Partition>,
    /// Packet captures (pcapng, one per case, beside its diagnostics bundle: every interface
    /// of its network as host:link, the TLS keys inside so Wireshark decrypts FTPS):
    /// `--capture` alone keeps every case's; `failing` (the default) those of failed,
    /// informational and erred cases; `none` captures nothing.
    #[arg(long, value_name = "all|failing|none", value_enum, num_args = 0..=1,
          default_missing_value = "all", default_value = "failing")]
    pub capture: CaptureMode,
}

/// `--order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderArg {
    /// Longest expected first.
    LongestFirst,
    /// Scenario, then client.
    Catalogue,
}

/// The expected durations for `--order longest-first`: `--durations` (an error if it cannot
/// be read), else the baseline, else `--out`'s results.json when it reads (a missing or old
/// one: none, every case estimated).
fn durations(args: &RunArgs, baseline: Option<&RunResults>) -> anyhow::Result<Durations> {
    Ok(match (&args.durations, baseline) {
        (Some(p), _) => Durations::from_results(&RunResults::read(p)?),
        (None, Some(b)) => Durations::from_results(b),
        (None, None) => RunResults::read(&args.out.join("results.json"))
            .map(|r| Durations::from_results(&r))
            .unwrap_or_default(),
    })
}

/// Options of `ftpspec list`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// Only scenarios whose id starts with this (repeatable).
    #[arg(long = "filter", value_name = "PREFIX")]
    pub filters: Vec<String>,
    /// A directory of your own scenarios, added to the catalogue.
    #[arg(long = "scenarios", value_name = "DIR")]
    pub scenario_dirs: Vec<PathBuf>,
    /// List the server personalities (for --personality) instead of the scenarios.
    #[arg(long)]
    pub personalities: bool,
}

/// `ftpspec list`.
pub fn list(args: ListArgs) -> anyhow::Result<()> {
    if args.personalities {
        return list_personalities();
    }
    let scenarios = scenario::select(&args.scenario_dirs, &args.filters)?;
    let server_cases = scenario::server::select(&args.scenario_dirs, &args.filters)?;
    if scenarios.is_empty() && server_cases.is_empty() {
        bail!("no scenario matches {:?}", args.filters);
    }
    if !scenarios.is_empty() {
        println!("Client cases (ftpspec run --client NAME):\n");
    }
    for s in &scenarios {
        let kind = if s.file.informational {
            " (informational)"
        } else {
            ""
        };
        println!(
            "{}{kind}\n    {}\n    {}",
            s.id,
            s.file.title,
            s.file.requirement.replace('\n', " ")
        );
        if !s.file.references.is_empty() {
            println!("    references: {}", s.file.references.join("; "));
        }
        if let Some(p) = &s.personality {
            println!("    personality: {p}");
        }
        if !s.file.axes.is_empty() {
            let axes: Vec<&str> = s.file.axes.iter().map(|a| a.as_str()).collect();
            println!("    axes: {}", axes.join(", "));
        }
    }
    if !server_cases.is_empty() {
        println!(
            "{}Server cases (ftpspec run --server NAME; servers: {}):\n",
            if scenarios.is_empty() { "" } else { "\n" },
            crate::servers::BUILTIN.join(", ")
        );
    }
    for s in &server_cases {
        let f = &s.file;
        let kind = if f.informational {
            " (informational)"
        } else {
            ""
        };
        println!(
            "{}{kind}\n    {}\n    {}",
            s.id,
            f.title,
            f.requirement.replace('\n', " ")
        );
        if !f.server.needs.is_empty() {
            let needs: Vec<&str> = f.server.needs.iter().map(|n| n.as_str()).collect();
            println!("    server settings: {}", needs.join(", "));
        }
        if !f.references.is_empty() {
            println!("    references: {}", f.references.join("; "));
        }
    }
    println!(
        "{} client scenario(s), {} server scenario(s)",
        scenarios.len(),
        server_cases.len()
    );
    Ok(())
}

/// `ftpspec list --personalities`.
fn list_personalities() -> anyhow::Result<()> {
    let all = scenario::personality::personalities()?;
    for p in &all {
        println!("{}\n    {}", p.name, p.title);
        if !p.references.is_empty() {
            println!("    references: {}", p.references.join("; "));
        }
    }
    println!("{} personality(ies)", all.len());
    Ok(())
}

/// Whether the run tests clients: clients named, or no server named (the default run).
fn tests_clients(args: &RunArgs) -> bool {
    let servers = !args.servers.is_empty() || !args.server_files.is_empty();
    !servers || !args.clients.is_empty() || !args.client_files.is_empty()
}

/// The server cases of the run (none unless a server is named).
fn server_cases(args: &RunArgs) -> anyhow::Result<Vec<ServerScenario>> {
    if args.servers.is_empty() && args.server_files.is_empty() {
        return Ok(Vec::new());
    }
    let cases = scenario::server::select(&args.scenario_dirs, &args.filters)?;
    if cases.is_empty() {
        bail!(
            "no server case matches {:?} (ftpspec list shows them under \"Server cases\")",
            args.filters
        );
    }
    Ok(cases)
}

/// The servers under test a run names; an error for an unknown or missing one.
pub fn resolve_servers(args: &RunArgs) -> anyhow::Result<Vec<ServerUnderTest>> {
    let mut out = Vec::new();
    for name in &args.servers {
        let Some(s) = ServerUnderTest::builtin(name) else {
            bail!(
                "unknown server {name:?}; the built-in servers are {}; for another server write a server file (--server-file)",
                crate::servers::BUILTIN.join(", ")
            );
        };
        if !s.available() {
            bail!(
                "server {name}: `{}` is not installed; scripts/install-deps installs the built-in servers",
                s.program().unwrap_or_default()
            );
        }
        out.push(s);
    }
    for file in &args.server_files {
        let s = ServerUnderTest::from_file(file)?;
        if !s.available() {
            bail!(
                "{}: `{}` not found",
                file.display(),
                s.program().unwrap_or_default()
            );
        }
        out.push(s);
    }
    Ok(out)
}

/// The run's cases: the scenarios, each expanded on the axes it admits.
fn cases(args: &RunArgs) -> anyhow::Result<(Vec<scenario::Scenario>, usize)> {
    if !tests_clients(args) {
        return Ok((Vec::new(), 0));
    }
    let scenarios = scenario::select(&args.scenario_dirs, &args.filters)?;
    if scenarios.is_empty() {
        bail!(
            "no scenario matches {:?} (ftpspec list shows them)",
            args.filters
        );
    }
    let mut axes = scenario::Axes::default();
    for a in &args.axes {
        axes.add(a)?;
    }
    for p in &args.personalities {
        axes.add_personality(p)?;
    }
    Ok((scenario::expand(&scenarios, &axes)?, scenarios.len()))
}

/// The clients a run uses, and the built-in ones that are missing.
pub fn resolve_clients(args: &RunArgs) -> anyhow::Result<(Vec<Client>, Vec<String>)> {
    let mut clients = Vec::new();
    let mut missing = Vec::new();
    if !tests_clients(args) {
        return Ok((clients, missing));
    }
    let names: Vec<String> = if args.clients.is_empty() && args.client_files.is_empty() {
        BUILTIN.iter().map(|s| s.to_string()).collect()
    } else {
        args.clients.clone()
    };
    for name in &names {
        let Some(c) = Client::builtin(name) else {
            bail!("unknown client {name:?}; the built-in clients are {}; for another client write a client file (--client-file)", BUILTIN.join(", "));
        };
        if c.available() {
            clients.push(c);
        } else if args.clients.is_empty() {
            missing.push(name.clone());
        } else {
            bail!(
                "client {name}: `{}` is not installed (Debian: apt-get install {}); scripts/install-deps installs every built-in client",
                c.program().unwrap_or_default(),
                c.program().unwrap_or_default()
            );
        }
    }
    for file in &args.client_files {
        let c = Client::from_file(file)?;
        if !c.available() {
            bail!(
                "{}: `{}` not found on PATH",
                file.display(),
                c.program().unwrap_or_default()
            );
        }
        clients.push(c);
    }
    if clients.is_empty() {
        bail!("no client to run: none of the built-in clients is installed (scripts/install-deps installs them)");
    }
    Ok((clients, missing))
}

/// `ftpspec run`.
pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let (scenarios, from) = cases(&args)?;
    let (clients, missing) = resolve_clients(&args)?;
    let server_scenarios = server_cases(&args)?;
    let servers = resolve_servers(&args)?;
    let baseline = match &args.baseline {
        Some(p) => Some(RunResults::read(p)?),
        None => None,
    };
    let quarantine = match &args.quarantine {
        Some(p) => {
            // Any scenario of the catalogue (and --scenarios), not only those filtered in.
            let all = scenario::select(&args.scenario_dirs, &[])?;
            let all_servers = scenario::server::select(&args.scenario_dirs, &[])?;
            let exists =
                |id: &str| all.iter().any(|s| s.id == id) || all_servers.iter().any(|s| s.id == id);
            Some(Quarantine::read(p, exists)?)
        }
        None => None,
    };
    let order = match args.order {
        OrderArg::Catalogue => Order::Catalogue,
        OrderArg::LongestFirst if args.shuffle => Order::Catalogue,
        OrderArg::LongestFirst => Order::LongestFirst(durations(&args, baseline.as_ref())?),
    };
    let plan = Plan {
        jobs: args.jobs,
        repeat: args.repeat,
        seed: args.shuffle.then(|| args.seed.unwrap_or_else(random_seed)),
        partition: args.partition,
        capture: (args.capture != CaptureMode::None).then(|| CaptureTo {
            dir: args.out.clone(),
            mode: args.capture,
        }),
        order,
    };
    if !missing.is_empty() {
        eprintln!(
            "ftpspec run: not installed, so not run: {} (scripts/install-deps installs them)",
            missing.join(", ")
        );
    }
    let mut how = String::new();
    if plan.repeat > 1 {
        how.push_str(&format!(", each {} times", plan.repeat));
    }
    if let Some(seed) = plan.seed {
        how.push_str(&format!(", shuffled (replay: --shuffle --seed {seed})"));
    } else if let Order::LongestFirst(_) = plan.order {
        how.push_str(", longest expected first");
    }
    let variants = match scenarios.len() == from {
        true => String::new(),
        false => format!(" (variants of {from})"),
    };
    if let Some(p) = plan.partition {
        how.push_str(&format!(", only partition {p} of the cases"));
    }
    let mut sides = Vec::new();
    if !clients.is_empty() {
        sides.push(format!(
            "{} scenario(s){variants} x {} client(s) ({})",
            scenarios.len(),
            clients.len(),
            clients
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !servers.is_empty() {
        sides.push(format!(
            "{} server case(s) x {} server(s) ({})",
            server_scenarios.len(),
            servers.len(),
            servers
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    eprintln!(
        "ftpspec run: {}, {} at a time{how}",
        sides.join(" and "),
        args.jobs
    );
    let started = Instant::now();
    let cases = Cases {
        scenarios: &scenarios,
        clients: &clients,
        server_scenarios: &server_scenarios,
        servers: &servers,
    };
    let mut run = run_cases(
        &cases,
        &plan,
        |p, r| {
            let run = if p.repeat > 1 {
                format!("run {}/{} ", p.run, p.repeat)
            } else {
                String::new()
            };
            eprintln!(
                "[{:>3}/{}] {run}{:<14} {:<40} {:<13} {:.1} s",
                p.done,
                p.total,
                r.client,
                r.scenario,
                r.verdict.as_str(),
                r.duration_ms as f64 / 1000.0
            );
        },
        async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("ftpspec run: interrupted; tearing down and writing the results so far");
        },
    )
    .await;
    run.missing_clients = missing;
    if let Some(q) = &quarantine {
        q.apply(&mut run);
    }
    run.write(&args.out, baseline.as_ref())
        .with_context(|| format!("cannot write the results to {}", args.out.display()))?;
    Ok(summarize(
        &run,
        baseline.as_ref(),
        quarantine.is_some(),
        started,
        &args.out,
    ))
}

/// Prints the matrix, the counts, the errors and the regressions; the exit status.
/// Quarantined cases are shown but not counted: neither their errors nor their regressions.
fn summarize(
    run: &RunResults,
    baseline: Option<&RunResults>,
    quarantine: bool,
    started: Instant,
    out: &std::path::Path,
) -> ExitCode {
    println!("{}", run.table());
    let counts = counts(run);
    let mut also = Vec::new();
    if run.repeat > 1 {
        also.push(format!("{} flaky", run.flaky()));
    }
    if quarantine {
        also.push(format!("{} quarantined", run.quarantined().count()));
    }
    let also = if also.is_empty() {
        String::new()
    } else {
        format!(" ({})", also.join(", "))
    };
    println!(
        "ftpspec run: {counts}{also} in {}; wrote {}/results.json, junit.xml, index.html",
        run.timing.as_ref().map_or_else(
            || format!("{:.0} s", started.elapsed().as_secs_f64()),
            schedule::timing_line
        ),
        out.display()
    );
    let quarantined = |q: &Option<String>| {
        q.as_ref()
            .map(|q| format!(" [quarantined, not counted: {q}]"))
            .unwrap_or_default()
    };
    for r in run.results.iter().filter(|r| r.flaky) {
        println!(
            "  flaky: {} {}: {}{}",
            r.client,
            r.scenario,
            r.run_counts(),
            quarantined(&r.quarantined)
        );
    }
    for r in run.results.iter().filter(|r| r.verdict == Verdict::Error) {
        println!(
            "  error: {} {}: {}{}",
            r.client,
            r.scenario,
            r.reason,
            quarantined(&r.quarantined)
        );
    }
    if run.interrupted {
        return ExitCode::from(130);
    }
    if let Some(base) = baseline {
        let d = ftpspec_report::diff(base, run);
        let counted = d.counted_regressions().count();
        let not_counted = d.regressions.len() - counted;
        if counted > 0 {
            println!("ftpspec run: {counted} regression(s) against the baseline:");
        } else if not_counted > 0 {
            println!("ftpspec run: no regression against the baseline but quarantined ones:");
        }
        for c in &d.regressions {
            println!(
                "  {} {}: {} -> {}{}",
                c.client,
                c.scenario,
                c.old_text(),
                c.new_text(),
                quarantined(&c.quarantined)
            );
        }
        if counted > 0 {
            return ExitCode::from(1);
        }
        if not_counted == 0 {
            println!("ftpspec run: no regression against the baseline");
        }
        return ExitCode::SUCCESS;
    }
    errors_status(run)
}

/// `3 pass, 1 fail`: how many cases got each verdict.
fn counts(run: &RunResults) -> String {
    let counts: Vec<String> = run
        .counts()
        .iter()
        .map(|(v, n)| format!("{n} {}", v.as_str()))
        .collect();
    counts.join(", ")
}

/// 1 when a case not quarantined is an error (the harness failed), else 0.
fn errors_status(run: &RunResults) -> ExitCode {
    if run
        .results
        .iter()
        .any(|r| r.verdict == Verdict::Error && r.quarantined.is_none())
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Options of `ftpspec merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// The runs to join: their directories (each with a results.json), or results.json
    /// files. Each case may be in only one of them (e.g. the jobs of `--partition hash:K/N`).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where to write the joined results.json, junit.xml and index.html (not one of the
    /// runs' directories).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `ftpspec merge`: exit 1 when a case (not quarantined) is an error, as `ftpspec run` does.
pub fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let same = |a: &std::path::Path, b: &std::path::Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    let mut runs = Vec::new();
    for dir in &args.dirs {
        if same(dir, &args.out) {
            bail!(
                "--out {} is one of the runs to merge; write the merged run elsewhere",
                args.out.display()
            );
        }
        let file = if dir.is_dir() {
            dir.join("results.json")
        } else {
            dir.clone()
        };
        let mut run = RunResults::read(&file).context("cannot merge")?;
        let base = file.parent().unwrap_or(std::path::Path::new("."));
        for w in run.read_bundles(base) {
            eprintln!("ftpspec merge: warning: {w}");
        }
        runs.push((dir.display().to_string(), run));
    }
    let (run, warnings) = ftpspec_report::merge(runs)?;
    for w in &warnings {
        eprintln!("ftpspec merge: warning: {w}");
    }
    run.write(&args.out, None)
        .with_context(|| format!("cannot write the results to {}", args.out.display()))?;
    println!("{}", run.table());
    println!(
        "ftpspec merge: {} runs, {} cases: {}; wrote {}/results.json, junit.xml, index.html",
        run.merged_from.len(),
        run.results.len(),
        counts(&run),
        args.out.display()
    );
    Ok(errors_status(&run))
}

/// Options of `ftpspec diff`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The earlier results.json.
    pub old: PathBuf,
    /// The later results.json.
    pub new: PathBuf,
    /// Also write the later run's report, with the changes marked and regressions first.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `ftpspec diff`: exit 1 when a verdict got worse.
pub fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let old = RunResults::read(&args.old)?;
    let new = RunResults::read(&args.new)?;
    let d = ftpspec_report::diff(&old, &new);
    print!("{}", d.text());
    if let Some(path) = &args.html {
        std::fs::write(path, ftpspec_report::html::html(&new, Some(&old)))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("ftpspec diff: wrote {}", path.display());
    }
    Ok(if d.has_regressions() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use clap::Args;

    /// `--client`'s help names every built-in client, so it does not fall behind the list.
    #[test]
    fn the_client_help_names_every_builtin_client() {
        let mut cmd = super::RunArgs::augment_args(clap::Command::new("run"));
        let help = cmd.render_long_help().to_string();
        for name in crate::clients::BUILTIN {
            assert!(help.contains(name), "--client's help lacks {name}: {help}");
        }
    }
}
