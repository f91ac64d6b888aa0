//! The `ftpspec` command line.

use clap::{Parser, Subcommand};

/// FTP client conformance suite: real FTP clients against a scriptable mock server, in
/// simulated networks.
#[derive(Debug, Parser)]
#[command(name = "ftpspec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the scriptable mock FTP server in the foreground, logging every command.
    Serve(ftpspec::serve::ServeArgs),
    /// Build a simulated network (namespaces, NAT, firewalls), start the mock server in its
    /// server host, and run a command (or a shell) in its client host. Needs root.
    Lab(ftpspec::lab::LabArgs),
    /// Run the scenario catalogue against FTP clients; writes results.json, junit.xml and
    /// index.html. Needs root (or unprivileged user namespaces).
    Run(ftpspec::cli::RunArgs),
    /// List the scenarios (id, title, requirement) without running anything.
    List(ftpspec::cli::ListArgs),
    /// Compare two results.json files: regressions first; exit 1 if any verdict got worse.
    Diff(ftpspec::cli::DiffArgs),
    /// Join the results of several runs of disjoint cases (the jobs of `run --partition`)
    /// into one results.json, junit.xml and index.html.
    Merge(ftpspec::cli::MergeArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Lab(_) | Command::Run(_)) && !nix::unistd::geteuid().is_root()
    {
        return ftpspec::userns::reexec();
    }
    init_log(&cli.command);
    use std::process::ExitCode;
    let (name, result) = match cli.command {
        Command::Serve(args) => (
            "serve",
            ftpspec::serve::run(args).await.map(|()| ExitCode::SUCCESS),
        ),
        Command::Lab(args) => ("lab", ftpspec::lab::run(args).await),
        Command::Run(args) => ("run", ftpspec::cli::run(args).await),
        Command::Diff(args) => ("diff", ftpspec::cli::diff(args)),
        Command::Merge(args) => ("merge", ftpspec::cli::merge(args)),
        Command::List(args) => ("list", ftpspec::cli::list(args).map(|()| ExitCode::SUCCESS)),
    };
    result.unwrap_or_else(|e| {
        eprintln!("ftpspec {name}: error: {e:#}");
        ExitCode::from(2)
    })
}

/// ftpspec's own records only, by default: `info` for `serve`, warnings for `run` and `lab`
/// (whose mock server would interleave its log with the command's output). Dependencies'
/// records (rustls, tokio) come only with `serve -v` or `FTPSPEC_LOG` (tracing's filter
/// syntax, e.g. `FTPSPEC_LOG=debug`).
fn init_log(command: &Command) {
    let ours = |level: &str| format!("ftpspec={level},ftpspec_mock={level},ftpspec_netns={level}");
    let default = match command {
        Command::Serve(a) if a.verbose => format!("{},debug", ours("debug")),
        Command::Serve(_) => ours("info"),
        Command::Lab(_) | Command::Run(_) => ours("warn"),
        Command::List(_) | Command::Diff(_) | Command::Merge(_) => ours("info"),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FTPSPEC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // No with_max_level here: on the builder it would replace this filter, not narrow it.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
