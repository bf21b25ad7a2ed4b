//! `oplink run`: a data file through a chain of operators, into a sink.

mod chain;
pub(crate) mod changelog;
mod host;
mod keep;
mod progress;
mod restore;
mod spec;
mod state_files;
mod summary;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::ProgressDrawTarget;
use oplink::arrow::array::RecordBatch;
use oplink::arrow::schema::Schema;
use oplink::{Change, Diff, Rows, Timestamp};

use crate::args::{Emit, OpColumn, OutputFormat, RunArgs};
use crate::error::{CliError, Result};
use crate::input::{Input, Progress, input_format, parse_delimiter, parse_schema};
use crate::lookup::Tables;
use crate::output::{Sink, format_name, output_format};

use self::chain::{Stage, emit, row_not_first, stage_error, through, valid, with_columns};
use self::changelog::Changelog;
use self::host::{FreshState, build_host};
use self::keep::{Numbering, close_operators, commit_stores};
use self::progress::{SHOW_AFTER, progress_bar};
use self::restore::instantiate;

pub use self::spec::{Given, OpSpec, parse_op};
pub use self::summary::{StageSummary, Summary};

/// The last act of a process that ran [`run`]: a signal that came once the run had kept
/// its output and state (held off since) ends the process now, as it would have, after a
/// line saying that the run is complete, so that nobody runs it again (which would count
/// its input twice in the state).
pub fn finish() {
    crate::interrupt::release_at_exit(&|signal| {
        format!(
            "oplink: {signal} came once the output and state were being put in place: the run is complete, and both are kept (do not run it again for this input)"
        )
    });
}

/// What a run stopped by a signal before it keeps anything says: what it left as it was,
/// and to run it again.
fn stop_note(args: &RunArgs) -> String {
    let shown = |path: &Path| crate::escape_controls(&path.display().to_string(), &[]).into_owned();
    // (What went to standard output, a table say, is there already.)
    let printed = match args.to {
        Some(crate::args::OutputFormat::None) => None,
        _ if args.output.is_none() => Some("what it printed is only part of its output"),
        _ => None,
    };
    let left = match (&args.output, &args.state) {
        (Some(out), Some(state)) => format!(
            "nothing of it was kept: `{}` and the state in `{}` are as they were",
            shown(out),
            shown(state)
        ),
        (None, Some(state)) => format!(
            "nothing of it was kept: the state in `{}` is as it was{}",
            shown(state),
            printed.map_or(String::new(), |p| format!(", and {p}"))
        ),
        (Some(out), None) => format!("`{}` was not written: it is as it was", shown(out)),
        (None, None) => printed.unwrap_or("nothing of it was kept").to_owned(),
    };
    format!("oplink: stopped by a signal before the run ended: {left}; run it again\n")
}

/// Runs `args`. The summary is for the caller to print; then call [`finish`].
pub fn run(args: &RunArgs) -> Result<Summary> {
    match run_all(args) {
        // Not a failure (`| head` is how one looks at a run), unless the state was to be
        // kept: it was not, since the output was not all written.
        Err(CliError::BrokenPipe) if args.state.is_some() => Err(CliError::ClosedBeforeStateSaved),
        ran => ran,
    }
}

/// [`run_inner`], and what it made of `--state` removed when it fails before the state is
/// kept (everything it opened is closed by then).
///
/// An operator's failure on an input read as one column (its delimiter is another than
/// the one read with) carries what to give for it, the warning `--quiet` hides: an
/// operator looking for a column meets only that one.
fn run_all(args: &RunArgs) -> Result<Summary> {
    let mut fresh = FreshState::default();
    let mut one_column = None;
    let ran = run_inner(args, &mut fresh, &mut one_column).map_err(|e| match (e, one_column) {
        (CliError::Stage { source, when }, Some(hint))
            if matches!(
                *source,
                oplink_host::Error::Failed { .. }
                    | oplink_host::Error::Panicked { .. }
                    | oplink_host::Error::Data { .. }
            ) =>
        {
            CliError::Stage {
                source,
                when: format!("{when}; {hint}"),
            }
        }
        (e, _) => e,
    });
    if ran.is_err() && !fresh.kept {
        fresh.undo();
    }
    ran
}

/// The run; `one_column` is set to the warning of an input read as one column.
fn run_inner(
    args: &RunArgs,
    fresh: &mut FreshState,
    one_column: &mut Option<String>,
) -> Result<Summary> {
    let started = Instant::now();
    // Everything the command line says is checked before any plugin is loaded.
    let specs = args
        .ops
        .iter()
        .map(|s| parse_op(s))
        .collect::<Result<Vec<_>>>()?;
    let schema = args.schema.as_deref().map(parse_schema).transpose()?;
    let delimiter = args.delimiter.as_deref().map(parse_delimiter).transpose()?;
    let format = input_format(&args.input, args.format)?;
    let output = output_format(args.output.as_deref(), args.to)?;
    check_output(args, output)?;
    let tables = Tables::read(&args.lookup)?;
    // Opening reads for the schema (inference reads up to 10,000 rows): reading time too.
    let opening = Instant::now();
    let mut input = Input::open(&args.input, format, schema, args.batch_size, delimiter)?;
    let opened = opening.elapsed();
    if let Some(warning) = input.warning().filter(|_| !args.quiet) {
        crate::say!("oplink: warning: {warning}");
    }
    *one_column = input.delimiter_hint();
    if let Some(hint) = one_column.as_ref().filter(|_| !args.quiet) {
        crate::say!("oplink: warning: {hint}");
    }
    let host = build_host(args, tables, fresh)?;
    // With `--state`, this run's rows and changes are numbered on from where the last run
    // that kept its state stopped: a row keeps its number for its whole life, and the rows
    // of this run are others than the last one's.
    let numbered_from = if args.state.is_some() {
        Numbering::kept(host.state_store())?
    } else {
        Numbering::default()
    };
    let mut stages = instantiate(args, &specs, &host)?;
    let mut sink = Sink::create(output, args.output.as_deref())?;
    if !args.quiet {
        crate::interrupt::note_on_stop(stop_note(args));
    }

    let progress = progress_bar(&input.progress);
    // Whether the bar may appear at all, decided once (not a system call per batch).
    let may_show = !args.quiet && std::io::stderr().is_terminal();
    // Rows written to the terminal the bar is drawn on are written with the bar put away.
    let beside_bar = may_show && output_shares_the_terminal(args);
    // A column `op` makes the input a changelog (unless `--op-column data`).
    let mut changelog = Changelog::of(
        &input.path,
        input.row_lines(),
        &input.schema,
        args.op_column,
    )?;
    if let Some(warning) = changelog.as_ref().and_then(Changelog::warning)
        && !args.quiet
    {
        crate::say!("oplink: warning: {warning}");
    }
    // A JSON lines changelog whose `op` or `row` `--schema` leaves out is read as inserts,
    // or numbered by position: said, as it is no error.
    if !args.quiet && args.op_column == OpColumn::Changes {
        let left_out = input.left_out();
        if left_out.contains(&changelog::OP) {
            crate::say!(
                "oplink: warning: the lines of `{}` have a key `op`, which --schema leaves out: the rows are read as inserts, whatever their `op`; name `op:utf8` in --schema (and `row:uint64` right after it, for the rows' numbers) to read the file as a changelog, or give `--op-column data` to leave `op` out without this warning",
                input.path.display()
            );
        } else if left_out.contains(&changelog::ROW)
            && changelog.as_ref().is_some_and(|log| !log.numbers_rows())
        {
            crate::say!(
                "oplink: warning: the lines of `{}` have a key `row`, which --schema leaves out: the changelog's rows are numbered by their positions; name `row:uint64` in --schema right after `op` to take their numbers from it",
                input.path.display()
            );
        }
    }
    let mut rows_read = 0u64;
    let mut changes = 0u64;
    let mut read_time = opened;
    let mut write_time = Duration::ZERO;
    loop {
        let t = Instant::now();
        let Some(batch) = input.next_batch()? else {
            read_time += t.elapsed();
            break;
        };
        read_time += t.elapsed();
        let at = rows_read;
        rows_read += batch.num_rows() as u64;
        // The change's diffs, and the stretch of the file they hold: a changelog's batch
        // that ends inside an update leaves that update's rows for the next one.
        let (first, count, diffs) = match &mut changelog {
            Some(log) => match log.diffs(batch, at, numbered_from.rows)? {
                Some(stretch) => (stretch.first, stretch.rows, stretch.diffs),
                None => (at, 0, Vec::new()),
            },
            None => {
                let numbers =
                    changelog::numbered(&args.input, numbered_from.rows, at, batch.num_rows())?;
                let rows = Rows::new(numbers, batch).map_err(|e| CliError::Usage(e.to_string()))?;
                (at, rows_read - at, vec![Diff::Insert { post: rows }])
            }
        };
        if !diffs.is_empty() {
            changes += 1;
            // (An error names it by its version, as the operators see it, and its rows by
            // their positions in the file, from 0, and, when `--state` numbers them on, by
            // the numbers the operators see too.)
            let version = numbered_from.changes + changes;
            let change = Change::new(version, Timestamp::now(), diffs);
            let offset = numbered_from.rows;
            let numbered = offset > 0 && !changelog.as_ref().is_some_and(Changelog::numbers_rows);
            let out = through(&mut stages, 0, change, &|| match count.checked_sub(1) {
                Some(last) if numbered => format!(
                    "change {version} (input rows {first} to {}, numbered {} to {})",
                    first + last,
                    offset + first,
                    offset + first + last
                ),
                Some(last) => format!("change {version} (input rows {first} to {})", first + last),
                None => format!("change {version} (no input rows)"),
            })?;
            let t = Instant::now();
            let numbers = args.row_numbers;
            if beside_bar && !progress.is_hidden() {
                progress.suspend(|| emit(&mut sink, out, args.emit, numbers, &stages))?;
            } else {
                emit(&mut sink, out, args.emit, numbers, &stages)?;
            }
            write_time += t.elapsed();
        }
        match &input.progress {
            Progress::Bytes(read, _) => {
                progress.set_position(read.load(std::sync::atomic::Ordering::Relaxed))
            }
            Progress::Rows(_) => progress.set_position(rows_read),
        }
        if may_show && progress.is_hidden() && started.elapsed() > SHOW_AFTER {
            progress.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
    if let Some(log) = &changelog {
        log.finish()?;
    }
    // End of input: operators that act on time get one tick, whose output flows on.
    closing_ticks(&mut stages, &mut sink, args.emit, args.row_numbers)?;
    progress.finish_and_clear();
    let t = Instant::now();
    if !sink.started() && !matches!(output, OutputFormat::Table | OutputFormat::None) {
        let rows = changelog.as_ref().map_or(&input.schema, Changelog::schema);
        write_columns_alone(&mut sink, &stages, rows, args)?;
    }
    let nulled = sink.nulled();
    let emptied = sink.emptied();
    let written = sink.finish()?;
    write_time += t.elapsed();
    if nulled > 0 && !args.quiet {
        crate::say!(
            "oplink: warning: JSON has no number for NaN or infinity: {} {} written as null",
            crate::counted(nulled, "value", "values"),
            if nulled == 1 { "was" } else { "were" }
        );
    }
    if emptied > 0 && !args.quiet {
        crate::say!(
            "oplink: warning: {} has no way to tell an empty text from a null: {} written as an empty field, which reads back as a null; write JSON lines, Arrow IPC or Parquet to keep the two apart",
            crate::output::format_name(output),
            crate::counted(emptied, "empty value was", "empty values were"),
        );
    }
    // The operators close (their last flush, and the snapshots `--state` keeps, under
    // temporary names) once the output is written whole; then the output goes into place,
    // and only then the state: the stores, then the snapshots. A run that fails before the
    // state is kept leaves it as it was (running it again writes the output again and
    // counts nothing twice); a failure closing the operators leaves an earlier output too.
    let snapshots = close_operators(args, &mut stages, written.file())?;
    // From the output's rename to the last snapshot's, a Ctrl-C waits: stopping between
    // two stores would keep one operator's state and not the next one's.
    let held = crate::interrupt::hold();
    let t = Instant::now();
    let rows_written = written.commit()?;
    write_time += t.elapsed();
    // From here the state is being kept: a failure leaves what it kept.
    fresh.kept = true;
    if let Some(store) = &fresh.made_store {
        crate::interrupt::forget(store);
    }
    crate::interrupt::forget_folders();
    // (Rows numbered by a changelog's `row` leave the next run's numbers past them.)
    let numbered_to = Numbering {
        rows: (numbered_from.rows.saturating_add(rows_read)).max(
            changelog
                .as_ref()
                .and_then(Changelog::highest)
                .map_or(0, |h| h.saturating_add(1)),
        ),
        changes: numbered_from.changes + changes,
    };
    if let Err(error) = commit_stores(
        args,
        &mut stages,
        host.state_store(),
        &snapshots,
        numbered_to,
    ) {
        // A commit that fails may have reached the store all the same (an `fsync` that
        // fails after redb wrote its pages: the next process reads the commit). The
        // snapshots and the mark stay for the next run, which keeps them with the store
        // when it holds this run's mark and removes them otherwise: removing them here
        // would leave a store that counted this run beside snapshots that did not.
        return Err(snapshots.leave_for_next_run(error, args.output.as_deref()));
    }
    snapshots.commit()?;
    // Nothing is cut short from here: a signal waits for the end of the process
    // ([`finish`]), which says that the run it came too late to stop is whole.
    held.until_exit();
    Ok(Summary {
        rows_read,
        changes,
        read_time,
        stages: stages.into_iter().map(|s| s.done).collect(),
        rows_written,
        write_time,
        total: started.elapsed(),
    })
}

/// Refuses an output the run cannot write as asked (`--to none` with `--output`, a binary
/// format to a terminal, a file the run reads), and warns of an extension that disagrees
/// with `--to`: all before any plugin is loaded.
fn check_output(args: &RunArgs, output: OutputFormat) -> Result<()> {
    if let (OutputFormat::None, Some(path)) = (output, &args.output) {
        // It would leave an empty file where the caller may expect one with rows.
        return Err(CliError::Usage(format!(
            "--to none writes nothing: drop --output `{}`, or name another format",
            path.display()
        )));
    }
    refuse_binary_on_a_terminal(
        output,
        args.output.is_none() && std::io::stdout().is_terminal(),
    )?;
    if let Some(path) = &args.output {
        refuse_output_over_what_is_read(path, args)?;
        if let Some(warning) = args
            .to
            .and_then(|to| crate::output::extension_disagrees(path, to))
            .filter(|_| !args.quiet)
        {
            crate::say!("oplink: warning: {warning}");
        }
    }
    Ok(())
}

/// Whether the rows are written to a terminal (standard output, or `--output` naming one),
/// where the progress bar would be drawn among them.
fn output_shares_the_terminal(args: &RunArgs) -> bool {
    match &args.output {
        None => std::io::stdout().is_terminal(),
        // `-o /dev/tty`, `-o /dev/stdout`: a terminal by a path (opened only when it is
        // a device: a named pipe would wait for a reader).
        Some(path) => {
            use std::os::unix::fs::FileTypeExt;
            std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device())
                && std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .is_ok_and(|f| f.is_terminal())
        }
    }
}

/// One tick for each operator that acts on time, at the end of the input; what a tick
/// emits flows through the rest of the chain into `sink`.
fn closing_ticks(stages: &mut [Stage], sink: &mut Sink, how: Emit, numbers: bool) -> Result<()> {
    for index in 0..stages.len() {
        if !stages[index].instance.info().implemented().tick() {
            continue;
        }
        let t = Instant::now();
        let ticked = stages[index]
            .instance
            .tick(Timestamp::now())
            .map_err(|e| stage_error(&stages[index].place, e, || "the closing tick".to_owned()))?;
        stages[index].done.time += t.elapsed();
        if let Some(change) = ticked {
            valid(&stages[index], "tick", &change, &|| {
                "the closing tick".to_owned()
            })?;
            stages[index].done.rows_out += change.row_count() as u64;
            let out = through(stages, index + 1, change, &|| "the closing tick".to_owned())?;
            emit(sink, out, how, numbers, stages)?;
        }
    }
    Ok(())
}

/// An output file that nothing came out to: its columns where they are known (`rows`, the
/// input's rows' columns, when there is no operator).
fn write_columns_alone(
    sink: &mut Sink,
    stages: &[Stage],
    rows: &Arc<Schema>,
    args: &RunArgs,
) -> Result<()> {
    // Nothing came out. A file still gets its columns where they are known (with no
    // operators, the input's), and none otherwise: an Arrow or Parquet file then has a
    // schema without columns, to be read at all (a text file, which cannot say that,
    // stays empty: see `Sink::write`).
    let columns = if stages.is_empty() {
        let empty = RecordBatch::new_empty(rows.clone());
        let op = (args.emit == Emit::Changes).then_some("+I");
        let numbers = args
            .row_numbers
            .then(|| Arc::new(oplink::arrow::array::UInt64Array::from(Vec::<u64>::new())) as _);
        if op.is_some() && numbers.is_none() {
            row_not_first(&empty.schema())?;
        }
        with_columns(op, numbers, &empty)?.schema()
    } else {
        Arc::new(Schema::empty())
    };
    sink.write(&RecordBatch::new_empty(columns))?;
    Ok(())
}

/// Binary formats are not written to a terminal.
fn refuse_binary_on_a_terminal(format: OutputFormat, to_terminal: bool) -> Result<()> {
    if to_terminal
        && matches!(
            format,
            OutputFormat::Ipc | OutputFormat::IpcStream | OutputFormat::Parquet
        )
    {
        return Err(CliError::Usage(format!(
            "{} is binary: write it to a file with `--output FILE`, or redirect standard output",
            format_name(format)
        )));
    }
    Ok(())
}

/// Refuses an `--output` that is a regular file the run reads (the input or a `--lookup`
/// table, by any name: a link, `./`), or any file of the `--state` folder: the output goes
/// into its place once written, so what it was would be lost.
fn refuse_output_over_what_is_read(output: &Path, args: &RunArgs) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    // Regular files only: a terminal or a pipe read and written at once (`/dev/stdin` and
    // `/dev/stdout` on one terminal) is no file replaced.
    let identity = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| (m.dev(), m.ino()))
    };
    // The state folder's files (the store, snapshots, fingerprints) are replaced after the
    // output, which would take one's place or lose its own: compared where the output
    // really goes (through links) and where the folder is or will be made.
    if let Some(state) = &args.state {
        let target = crate::output::written_path(output)?;
        if target.parent().map(resolved) == Some(resolved(state)) {
            return Err(CliError::Usage(format!(
                "--output `{}` is in the --state folder `{}`, which holds the operators' state; write it elsewhere",
                output.display(),
                state.display()
            )));
        }
    }
    let Some(written) = identity(output) else {
        return Ok(());
    };
    let lookups = args.lookup.iter().filter_map(|spec| {
        let (name, file) = spec.split_once('=')?;
        Some((
            format!("the table of --lookup `{}`", name.trim()),
            Path::new(file),
        ))
    });
    let configs = args.ops.iter().filter_map(|spec| {
        let (name, config) = spec.split_once('=')?;
        let file = config.strip_prefix('@')?;
        Some((
            format!("the configuration of `{}`", name.trim()),
            PathBuf::from(file),
        ))
    });
    // The libraries of `--plugins`: those named, and those in the folders named.
    let libraries = args.plugins.iter().flat_map(|path| {
        let found: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|e| e == std::env::consts::DLL_EXTENSION)
                })
                .collect()
        } else {
            vec![path.clone()]
        };
        found
            .into_iter()
            .map(|library| ("a plugin library of --plugins".to_owned(), library))
    });
    let read = std::iter::once(("the input".to_owned(), args.input.clone()))
        .chain(lookups.map(|(what, path)| (what, path.to_path_buf())))
        .chain(configs)
        .chain(libraries);
    for (what, path) in read {
        let path = path.as_path();
        if identity(path) == Some(written) {
            return Err(CliError::Usage(format!(
                "--output `{}` is {what} (`{}`): the output would take its place; write it to another file",
                output.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

/// `path` made absolute, with the longest part of it that exists resolved (links, `..`)
/// and the rest as given: two names of one place, made or not yet, come out the same.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut rest = Vec::new();
    let mut at = absolute.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            return rest.iter().rev().fold(real, |path, part| path.join(part));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                at = parent;
            }
            _ => return absolute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_output_is_refused_on_a_terminal_only() {
        assert_eq!(
            refuse_binary_on_a_terminal(OutputFormat::Parquet, true)
                .unwrap_err()
                .to_string(),
            "Parquet is binary: write it to a file with `--output FILE`, or redirect standard output"
        );
        assert!(refuse_binary_on_a_terminal(OutputFormat::Parquet, false).is_ok());
        assert!(refuse_binary_on_a_terminal(OutputFormat::Csv, true).is_ok());
    }

    /// What a run stopped by a signal says, by where it writes and whether it keeps state.
    #[test]
    fn a_stopped_run_says_what_it_left_as_it_was() {
        use clap::Parser;
        let note = |args: &[&str]| {
            let cli =
                crate::args::Cli::try_parse_from(["oplink", "run", "in.csv"].iter().chain(args))
                    .unwrap();
            let crate::args::Command::Run(run) = cli.command else {
                panic!("a run");
            };
            stop_note(&run)
        };
        let start = "oplink: stopped by a signal before the run ended: ";
        assert_eq!(
            note(&["-o", "out.csv", "--state", "st"]),
            format!(
                "{start}nothing of it was kept: `out.csv` and the state in `st` are as they were; run it again\n"
            )
        );
        assert_eq!(
            note(&["--state", "st"]),
            format!(
                "{start}nothing of it was kept: the state in `st` is as it was, and what it printed is only part of its output; run it again\n"
            )
        );
        assert_eq!(
            note(&["--state", "st", "--to", "none"]),
            format!(
                "{start}nothing of it was kept: the state in `st` is as it was; run it again\n"
            )
        );
        assert_eq!(
            note(&["-o", "out.csv"]),
            format!("{start}`out.csv` was not written: it is as it was; run it again\n")
        );
        assert_eq!(
            note(&[]),
            format!("{start}what it printed is only part of its output; run it again\n")
        );
        assert_eq!(
            note(&["--to", "none"]),
            format!("{start}nothing of it was kept; run it again\n")
        );
    }
}
