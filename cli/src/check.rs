//! `oplink check`: each library validated in a child process, one line each.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use oplink_host::{Discovery, Outcome, Plugin};

use crate::args::CheckArgs;
use crate::error::{CliError, Result};

/// Checks every library of `args`, writing one line per library to `out`. An error when
/// any fails (or the arguments name nothing to check).
pub fn check(args: &CheckArgs, out: &mut dyn Write) -> Result<()> {
    let timeout = match Duration::try_from_secs_f64(args.timeout) {
        _ if args.timeout.is_nan() || args.timeout <= 0.0 => Err(format!(
            "--timeout must be a positive number of seconds, not {}",
            args.timeout
        )),
        // Past what a clock can count: no deadline.
        Err(_) => Ok(Duration::MAX),
        Ok(timeout) if timeout.is_zero() => Err(format!(
            "--timeout must be at least a nanosecond (0.000000001 seconds), not {}",
            args.timeout
        )),
        Ok(timeout) => Ok(timeout),
    }
    .map_err(CliError::Usage)?;
    let mut verdicts: Vec<(PathBuf, Verdict)> = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            // A folder: its libraries, each checked; libraries that are not oplink plugins
            // (a proc-macro, a dependency) are listed as skipped, not failed.
            let found = Discovery::new([path]).check_timeout(timeout).scan();
            let before = verdicts.len();
            for (entry, plugin) in found.entries_with_plugins() {
                let verdict = match (&entry.outcome, plugin) {
                    (_, Some(plugin)) => Verdict::Ok(operators_of(plugin)),
                    (Outcome::Skipped(reason), None) => Verdict::Skipped(reason.clone()),
                    (Outcome::Rejected(error), None) => Verdict::Failed(error.to_string()),
                    (Outcome::Loaded(_), None) => continue,
                };
                verdicts.push((entry.path.clone(), verdict));
            }
            if verdicts[before..]
                .iter()
                .all(|(_, v)| matches!(v, Verdict::Skipped(_)))
            {
                verdicts.push((
                    path.clone(),
                    Verdict::Failed(format!(
                        "a folder without oplink plugins (*.{}){}",
                        std::env::consts::DLL_EXTENSION,
                        crate::plugins::rust_only_hint(path)
                    )),
                ));
            }
        } else if std::fs::symlink_metadata(path).is_err()
            || std::fs::metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            // Nothing there, or a link to nothing (a loop of links is said by the load).
            let hint = oplink_host::load::library_path_hint(path);
            let words = hint.map_or("does not exist".to_owned(), |h| {
                format!("does not exist ({h})")
            });
            verdicts.push((path.clone(), Verdict::Missing(words)));
        } else {
            let verdict = match Plugin::load_checked_within(path, timeout) {
                Ok(plugin) => Verdict::Ok(operators_of(&plugin)),
                Err(error) => Verdict::Failed(error.to_string()),
            };
            verdicts.push((path.clone(), verdict));
        }
    }
    // A library named twice (by itself and in its folder, say) is said once, by its
    // verdict rather than a skip (a link in a folder is skipped, the file it names not).
    let mut first: std::collections::HashMap<PathBuf, usize> = Default::default();
    let mut kept = vec![true; verdicts.len()];
    for (index, (path, verdict)) in verdicts.iter().enumerate() {
        let file = std::fs::canonicalize(path).unwrap_or(path.clone());
        match first.get(&file) {
            None => {
                first.insert(file, index);
            }
            Some(&earlier)
                if matches!(verdicts[earlier].1, Verdict::Skipped(_))
                    && !matches!(verdict, Verdict::Skipped(_)) =>
            {
                kept[earlier] = false;
                first.insert(file, index);
            }
            Some(_) => kept[index] = false,
        }
    }
    let mut kept = kept.into_iter();
    verdicts.retain(|_| kept.next().unwrap_or(true));
    let total = verdicts
        .iter()
        .filter(|(_, v)| !matches!(v, Verdict::Skipped(_)))
        .count();
    let mut failed = 0;
    let mut folders = false;
    // The paths that are not there, as shown.
    let mut missing: Vec<String> = Vec::new();
    // One line per library, whatever its name or a library's words hold.
    let shown = |text: &str| crate::escape_controls(text, &[]).into_owned();
    for (path, verdict) in &verdicts {
        let path_shown = shown(&path.display().to_string());
        match verdict {
            Verdict::Ok(operators) => writeln!(out, "ok       {path_shown}: {operators}"),
            Verdict::Skipped(reason) => {
                writeln!(out, "skipped  {path_shown}: {}", shown(reason))
            }
            Verdict::Failed(reason) => {
                failed += 1;
                folders |= path.is_dir();
                writeln!(out, "FAILED   {path_shown}: {}", shown(reason))
            }
            Verdict::Missing(reason) => {
                failed += 1;
                missing.push(path_shown.clone());
                writeln!(out, "FAILED   {path_shown}: {}", shown(reason))
            }
        }
        .map_err(CliError::write)?;
    }
    if failed > 0 {
        return Err(CliError::CheckFailed {
            failed,
            total,
            folders,
            missing,
        });
    }
    Ok(())
}

/// What became of one library.
enum Verdict {
    /// It passed: its operators, in words.
    Ok(String),
    /// In a folder, a library that is not an oplink plugin.
    Skipped(String),
    /// It failed: why.
    Failed(String),
    /// Nothing is there (or a link to nothing): no library, and so counted as a path.
    Missing(String),
}

fn operators_of(plugin: &Plugin) -> String {
    let operators: Vec<String> = plugin
        .operators()
        .map(|o| format!("{} {}", o.name(), o.version()))
        .collect();
    if operators.is_empty() {
        "no operators".to_owned()
    } else {
        operators.join(", ")
    }
}
