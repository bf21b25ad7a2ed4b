//! The `oplink` command: see `oplink --help`, and `oplink_cli` for the code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use oplink_cli::args::{Cli, Command};
use oplink_cli::{CliError, check, inspect, new, run};
use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|error| {
        // clap's message (help and the version included), then, for an argument it did
        // not expect that is a configuration the shell split, how to quote it.
        let _ = error.print();
        if error.kind() == clap::error::ErrorKind::UnknownArgument {
            let args: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            if let Some(hint) = oplink_cli::args::split_config_hint(&args) {
                let _ = writeln!(std::io::stderr(), "\n  tip: {hint}");
            }
        }
        std::process::exit(error.exit_code())
    });
    // Plugins' `tracing` events reach this subscriber: warnings always, more with
    // `run -v` or as `run --log` says (the other commands run no operator code in this
    // process).
    let (verbose, log) = match &cli.command {
        Command::Run(args) => (args.verbose, args.log.clone()),
        _ => (0, None),
    };
    let by_target = log.is_some();
    let filter = log.unwrap_or_else(|| {
        Targets::new().with_default(match verbose {
            0 => Level::WARN,
            1 => Level::INFO,
            2 => Level::DEBUG,
            _ => Level::TRACE,
        })
    });
    // The most any target shows, so that plugins build no event the filter would drop.
    let most = filter
        .iter()
        .map(|(_, level)| level)
        .chain(filter.default_level())
        .max()
        .unwrap_or(LevelFilter::OFF);
    tracing_subscriber::fmt()
        .with_max_level(most)
        .with_target(by_target)
        .without_time()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .finish()
        .with(filter)
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
