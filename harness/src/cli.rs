//! The `ftpspec run`, `ftpspec list` and `ftpspec diff` commands (`lab` and `serve` have
//! their own modules).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};

use ftpspec_report::{RunResults, Verdict};

use crate::clients::{Client, BUILTIN};
use crate::matrix::run_matrix;
use crate::scenario;

/// Options of `ftpspec run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// A built-in client (repeatable): curl, lftp, wget, python-ftplib, tnftp, suppaftp.
    /// Default: every built-in client installed on this machine.
    #[arg(long = "client", value_name = "NAME")]
    pub clients: Vec<String>,
    /// A client file (TOML) for another client (repeatable).
    #[arg(long = "client-file", value_name = "FILE")]
    pub client_files: Vec<PathBuf>,
    /// A directory of your own scenarios (`<group>/<name>.toml`), added to the catalogue.
    #[arg(long = "scenarios", value_name = "DIR")]
    pub scenario_dirs: Vec<PathBuf>,
    /// Only scenarios whose id starts with this (repeatable), e.g. passive/ or ftps/implicit.
    #[arg(long = "filter", value_name = "PREFIX")]
    pub filters: Vec<String>,
    /// Where to write results.json, junit.xml and index.html.
    #[arg(long, value_name = "DIR", default_value = "ftpspec-results")]
    pub out: PathBuf,
    /// Cases run at once (each has its own network).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub jobs: usize,
    /// A previous results.json: exit 1 if any verdict got worse.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
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
}

/// `ftpspec list`.
pub fn list(args: ListArgs) -> anyhow::Result<()> {
    let scenarios = scenario::select(&args.scenario_dirs, &args.filters)?;
    if scenarios.is_empty() {
        bail!("no scenario matches {:?}", args.filters);
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
    }
    println!("{} scenario(s)", scenarios.len());
    Ok(())
}

/// The clients a run uses, and the built-in ones that are missing.
pub fn resolve_clients(args: &RunArgs) -> anyhow::Result<(Vec<Client>, Vec<String>)> {
    let mut clients = Vec::new();
    let mut missing = Vec::new();
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
    let scenarios = scenario::select(&args.scenario_dirs, &args.filters)?;
    if scenarios.is_empty() {
        bail!(
            "no scenario matches {:?} (ftpspec list shows them)",
            args.filters
        );
    }
    let (clients, missing) = resolve_clients(&args)?;
    let baseline = match &args.baseline {
        Some(p) => Some(RunResults::read(p)?),
        None => None,
    };
    if !missing.is_empty() {
        eprintln!(
            "ftpspec run: not installed, so not run: {} (scripts/install-deps installs them)",
            missing.join(", ")
        );
    }
    eprintln!(
        "ftpspec run: {} scenario(s) x {} client(s) ({}), {} at a time",
        scenarios.len(),
        clients.len(),
        clients
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", "),
        args.jobs
    );
    let started = Instant::now();
    let mut run = run_matrix(
        &scenarios,
        &clients,
        args.jobs,
        |done, total, r| {
            eprintln!(
                "[{done:>3}/{total}] {:<14} {:<40} {:<13} {:.1} s",
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
    run.write(&args.out, baseline.as_ref())
        .with_context(|| format!("cannot write the results to {}", args.out.display()))?;
    Ok(summarize(&run, baseline.as_ref(), started, &args.out))
}

/// Prints the matrix, the counts, the errors and the regressions; the exit status.
fn summarize(
    run: &RunResults,
    baseline: Option<&RunResults>,
    started: Instant,
    out: &std::path::Path,
) -> ExitCode {
    println!("{}", run.table());
    let counts: Vec<String> = run
        .counts()
        .iter()
        .map(|(v, n)| format!("{n} {}", v.as_str()))
        .collect();
    println!(
        "ftpspec run: {} in {:.0} s; wrote {}/results.json, junit.xml, index.html",
        counts.join(", "),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    for r in run.results.iter().filter(|r| r.verdict == Verdict::Error) {
        println!("  error: {} {}: {}", r.client, r.scenario, r.reason);
    }
    if run.interrupted {
        return ExitCode::from(130);
    }
    if let Some(base) = baseline {
        let d = ftpspec_report::diff(base, run);
        if d.has_regressions() {
            println!(
                "ftpspec run: {} regression(s) against the baseline:",
                d.regressions.len()
            );
            for c in &d.regressions {
                println!(
                    "  {} {}: {} -> {}",
                    c.client,
                    c.scenario,
                    c.old.map_or("-", Verdict::as_str),
                    c.new.map_or("-", Verdict::as_str)
                );
            }
            return ExitCode::from(1);
        }
        println!("ftpspec run: no regression against the baseline");
        return ExitCode::SUCCESS;
    }
    if run.results.iter().any(|r| r.verdict == Verdict::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
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
