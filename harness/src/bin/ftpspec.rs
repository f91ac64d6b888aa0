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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let Command::Serve(args) = cli.command;
    let filter = if args.verbose {
        "ftpspec=debug,ftpspec_mock=debug"
    } else {
        "ftpspec=info,ftpspec_mock=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FTPSPEC_LOG")
        .unwrap_or_else(|_| filter.into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match ftpspec::serve::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ftpspec serve: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
