//! The `oplink` command: see `oplink --help`, and `oplink_cli` for the code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use oplink_cli::args::{Cli, Command};
use oplink_cli::{CliError, check, inspect, new, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Plugins' `tracing` events reach this subscriber: warnings always, more with
    // `run -v` (the other commands run no operator code in this process).
    let verbose = match &cli.command {
        Command::Run(args) => args.verbose,
        _ => 0,
    };
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let mut stdout = std::io::stdout().lock();
    let result = match &cli.command {
        Command::Inspect(args) => inspect::inspect(args, &mut stdout),
        Command::Check(args) => check::check(args, &mut stdout),
        Command::New(args) => new::new(args, &mut stdout).map(drop),
        Command::Run(args) => {
            drop(stdout);
            let result = run::run(args).map(|summary| {
                if !args.quiet {
                    // Lost, not a panic, when standard error cannot take it.
                    let _ = std::io::Write::write_all(
                        &mut std::io::stderr(),
                        summary.to_text(&args.input).as_bytes(),
                    );
                }
            });
            run::finish();
            result
        }
    };
    match result {
        Ok(()) | Err(CliError::BrokenPipe) => ExitCode::SUCCESS,
        Err(error) => {
            // One line (but the caret under a configuration's mistake), whatever the
            // names and messages in it hold.
            let text = error.to_string();
            let kept: &[char] = match error {
                CliError::BadConfig { .. } => &['\n'],
                _ => &[],
            };
            // Lost, not a panic, when standard error cannot take it.
            let _ = writeln!(
                std::io::stderr(),
                "oplink: {}",
                oplink_cli::escape_controls(&text, kept)
            );
            ExitCode::FAILURE
        }
    }
}
