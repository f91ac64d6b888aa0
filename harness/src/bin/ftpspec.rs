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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Lab(_) | Command::Run(_)) && !nix::unistd::geteuid().is_root()
    {
        return ftpspec::userns::reexec();
    }
    let verbose = matches!(&cli.command, Command::Serve(a) if a.verbose);
    let filter = if verbose {
        "ftpspec=debug,ftpspec_mock=debug,ftpspec_netns=debug"
    } else {
        "ftpspec=info,ftpspec_mock=info,ftpspec_netns=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FTPSPEC_LOG")
        .unwrap_or_else(|_| filter.into());
    let lab = matches!(cli.command, Command::Lab(_) | Command::Run(_));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        // The lab's mock server would interleave its log with the command's output.
        .with_max_level(if lab {
            tracing::Level::WARN
        } else {
            tracing::Level::TRACE
        })
        .init();
    use std::process::ExitCode;
    let (name, result) = match cli.command {
        Command::Serve(args) => (
            "serve",
            ftpspec::serve::run(args).await.map(|()| ExitCode::SUCCESS),
        ),
        Command::Lab(args) => ("lab", ftpspec::lab::run(args).await),
        Command::Run(args) => ("run", ftpspec::cli::run(args).await),
        Command::Diff(args) => ("diff", ftpspec::cli::diff(args)),
        Command::List(args) => ("list", ftpspec::cli::list(args).map(|()| ExitCode::SUCCESS)),
    };
    result.unwrap_or_else(|e| {
        eprintln!("ftpspec {name}: error: {e:#}");
        ExitCode::from(2)
    })
}
