//! `oplink run`: a data file through a chain of operators, into a sink.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use oplink::__private::ordinal;
use oplink::arrow::array::{ArrayRef, RecordBatch, StringArray};
use oplink::arrow::schema::{DataType, Field, Schema};
use oplink::services::Lookup;
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Host, Instance, StateStore};
use serde_json::Value;

use crate::args::{Emit, OutputFormat, RunArgs};
use crate::error::{CliError, Result};
use crate::input::{Input, Progress, input_format, parse_delimiter, parse_schema};
use crate::lookup::Tables;
use crate::output::{Sink, format_name, output_format};
use crate::plugins::Plugins;

/// One `--op`: an operator's name and configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct OpSpec {
    /// The operator's name.
    pub name: String,
    /// Its configuration.
    pub config: Value,
    /// Where the configuration came from, for an operator that refuses it.
    pub given: Given,
}

/// Where an `--op`'s configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Given {
    /// None: `--op NAME`, which passes `{}`.
    Nothing,
    /// After `=`.
    Inline,
    /// From `@FILE`.
    File(String),
}

/// Parses `NAME`, `NAME=JSON` or `NAME=@FILE`.
pub fn parse_op(spec: &str) -> Result<OpSpec> {
    let (name, config) = match spec.split_once('=') {
        Some((name, config)) => (name.trim(), Some(config)),
        None => (spec.trim(), None),
    };
    if name.is_empty() {
        return Err(CliError::Usage(format!(
            "--op `{spec}` names no operator; write `NAME`, `NAME=JSON` or `NAME=@FILE`"
        )));
    }
    // The rule every library's operator names follow (checked at load).
    let named = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    // A library given where its operator's name goes: a name may hold a `.`, but not a
    // `/`, and no operator is named after a file that is there.
    let library = std::path::Path::new(name);
    if library
        .extension()
        .is_some_and(|e| e == std::env::consts::DLL_EXTENSION)
        && (name.contains('/') || library.is_file())
    {
        return Err(CliError::Usage(format!(
            "--op `{spec}` names a library file, not an operator: give the library with `--plugins {name}` and the operator by its name (`oplink inspect {name}` lists them)"
        )));
    }
    if !named {
        return Err(CliError::Usage(format!(
            "--op `{spec}` names no operator: `{name}` is not an operator name (1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with a letter); write `NAME`, `NAME=JSON` or `NAME=@FILE`"
        )));
    }
    let (text, source_text, given) = match config {
        None => {
            return Ok(OpSpec {
                name: name.to_owned(),
                config: Value::Object(Default::default()),
                given: Given::Nothing,
            });
        }
        Some(config) => match config.strip_prefix('@') {
            Some("") => {
                return Err(CliError::Usage(format!(
                    "--op `{spec}`: `@` needs a file name, as in `NAME=@config.json`"
                )));
            }
            Some(file) => {
                let path = Path::new(file);
                let text = std::fs::read_to_string(path)
                    .map(crate::input::without_bom)
                    .map_err(|e| {
                        CliError::Usage(format!(
                            "--op `{spec}`: cannot read the configuration of `{name}`: {}",
                            CliError::io("read", path, e)
                        ))
                    })?;
                (
                    text,
                    format!("(from `{file}`)"),
                    Given::File(file.to_owned()),
                )
            }
            None => (config.to_owned(), "(inline)".to_owned(), Given::Inline),
        },
    };
    if text.trim().is_empty() {
        return Err(CliError::Usage(if given == Given::Inline {
            format!(
                "--op `{spec}`: the configuration of `{name}` after `=` is empty; give JSON (`{{}}` for none), or leave out `=`"
            )
        } else {
            format!(
                "--op `{spec}`: the configuration of `{name}` {source_text} is empty; write JSON in it (`{{}}` for none)"
            )
        }));
    }
    match serde_json::from_str::<Strict>(&text) {
        Ok(_) if let Some((line, column, number)) = integer_past_64_bits(&text) => {
            Err(CliError::BadConfig {
                operator: name.to_owned(),
                source_text,
                reason: format!(
                    "holds the whole number `{number}` at line {line} column {}, past what 64 bits hold: it would reach the operator as a float, rounded; write it as a string if the operator reads one",
                    text.lines()
                        .nth(line - 1)
                        .map_or(column, |l| character_column(l, column))
                ),
                excerpt: text.lines().nth(line - 1).map(|l| excerpt(l, column)),
            })
        }
        Ok(Strict(config)) => Ok(OpSpec {
            name: name.to_owned(),
            config,
            given,
        }),
        Err(error) => {
            let (line, column) = (error.line(), error.column());
            let excerpt = text
                .lines()
                .nth(line.saturating_sub(1))
                .map(|l| excerpt(l, column));
            // `--op t={"key":"customer"}` unquoted reaches us as `t={key:customer}` (and
            // `--op t={"a":"b","c":1}` as `t=a:b` and `t=c:1`, the braces expanded): a bare
            // word where a value or key should be, and not a quote left.
            let bare_word = excerpt.is_some()
                && text
                    .lines()
                    .nth(line.saturating_sub(1))
                    .and_then(|l| l.get(column.saturating_sub(1)..))
                    .is_some_and(|rest| {
                        rest.starts_with(|c: char| c.is_ascii_alphabetic())
                            && !["true", "false", "null"]
                                .iter()
                                .any(|w| rest.starts_with(w))
                    });
            let unquoted = given == Given::Inline && bare_word && !text.contains(['"', '\'']);
            // serde_json counts the column in bytes: said in characters, as a reader
            // counts them (the caret, placed by bytes, is right either way).
            let mut reason = error.to_string();
            if let Some(text_line) = text.lines().nth(line.saturating_sub(1))
                && !text_line.is_ascii()
                && let Some(at) = reason.rfind(" at line ")
            {
                let characters = character_column(text_line, column);
                reason.truncate(at);
                reason.push_str(&format!(" at line {line} column {characters}"));
            }
            if unquoted {
                reason.push_str(&format!(
                    " (the configuration has no quotes left: did the shell take them? Put the whole option in single quotes: --op '{name}={{\"key\": \"value\"}}')"
                ));
            }
            Err(CliError::BadConfig {
                operator: name.to_owned(),
                source_text,
                reason: format!("is not valid JSON: {reason}"),
                excerpt,
            })
        }
    }
}

/// A JSON value whose objects give each key once: `serde_json::Value` keeps the last of two
/// silently, and a configuration that says `"min"` twice is a mistake to point at (the
/// error is located, so the caret goes under the second).
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Strict, D::Error> {
        use serde::de::{Error, MapAccess, SeqAccess, Visitor};
        struct Strictly;
        impl<'de> Visitor<'de> for Strictly {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
                Ok(Value::from(v))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
                Ok(Value::from(v))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
                Ok(Value::from(v))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
                Ok(Value::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
                Ok(Value::String(v))
            }
            fn visit_unit<E>(self) -> std::result::Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(Strict(item)) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Value, A::Error> {
                let mut object = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if object.contains_key(&key) {
                        return Err(A::Error::custom(format!("the key `{key}` is given twice")));
                    }
                    let Strict(value) = map.next_value()?;
                    object.insert(key, value);
                }
                Ok(Value::Object(object))
            }
        }
        d.deserialize_any(Strictly).map(Strict)
    }
}

/// The column (from 1) in characters of `line`'s byte column `column` (from 1, as
/// serde_json counts): the characters that start before or at that byte, a character of
/// several bytes counting once wherever in it the column falls.
fn character_column(line: &str, column: usize) -> usize {
    line.char_indices()
        .filter(|(start, _)| *start < column)
        .count()
}

/// The first whole number of the JSON `text` that no 64-bit integer holds (serde_json reads
/// it as a float), with its line and column (bytes, from 1).
fn integer_past_64_bits(text: &str) -> Option<(usize, usize, &str)> {
    let bytes = text.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    let (mut line, mut line_start) = (1, 0);
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'\n' {
            line += 1;
            line_start = at + 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = at;
            while at < bytes.len()
                && matches!(bytes[at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                at += 1;
            }
            let number = &text[start..at];
            if !number.contains(['.', 'e', 'E'])
                && number.parse::<i64>().is_err()
                && number.parse::<u64>().is_err()
            {
                return Some((line, start - line_start + 1, number));
            }
            continue;
        }
        at += 1;
    }
    None
}

/// `line` with a caret under its `column` (serde_json's: bytes, counted from 1), cut to the
/// 80 characters around it when longer (a configuration file may be one line of
/// megabytes). Control characters are shown as escapes, and the caret counts them so.
fn excerpt(line: &str, column: usize) -> String {
    const AROUND: usize = 40;
    let byte = column.saturating_sub(1).min(line.len());
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let at = chars
        .iter()
        .position(|&(i, _)| i >= byte)
        .unwrap_or(chars.len());
    let start = at.saturating_sub(AROUND);
    let end = (at + AROUND).min(chars.len());
    let (before, after) = (
        if start > 0 { "…" } else { "" },
        if end < chars.len() { "…" } else { "" },
    );
    let shown = |c: char| crate::escape_controls(c.encode_utf8(&mut [0; 4]), &[]).into_owned();
    let text: String = chars[start..end].iter().map(|&(_, c)| shown(c)).collect();
    let indent = before.chars().count()
        + chars[start..at]
            .iter()
            .map(|&(_, c)| shown(c).chars().count())
            .sum::<usize>();
    format!("  {before}{text}{after}\n  {}^", " ".repeat(indent))
}

/// One operator of the chain.
#[derive(Debug)]
struct Stage {
    /// Which of the chain's operators of its name it is, for errors: `, in the 2nd
    /// `running_sum` of the chain`; empty when the name is the chain's only one.
    place: String,
    /// Its state scope (with `--state`).
    scope: Option<String>,
    /// Its configuration (kept beside its state with `--state`).
    config: Value,
    instance: Instance,
    /// What it has done so far.
    done: StageSummary,
}

/// What one operator of the chain did.
#[derive(Clone, Debug, Default)]
pub struct StageSummary {
    /// The operator's name.
    pub name: String,
    /// Rows it was given.
    pub rows_in: u64,
    /// Rows it returned.
    pub rows_out: u64,
    /// Time spent in its calls.
    pub time: Duration,
}

/// What a run did.
#[derive(Debug)]
pub struct Summary {
    /// Rows read from the input.
    pub rows_read: u64,
    /// Changes fed to the chain.
    pub changes: u64,
    /// Time spent reading the input.
    pub read_time: Duration,
    /// Each operator.
    pub stages: Vec<StageSummary>,
    /// Rows written.
    pub rows_written: u64,
    /// Time spent writing.
    pub write_time: Duration,
    /// The whole run.
    pub total: Duration,
}

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

    let progress = progress_bar(&input.progress);
    // Whether the bar may appear at all, decided once (not a system call per batch).
    let may_show = !args.quiet && std::io::stderr().is_terminal();
    // Rows written to the terminal the bar is drawn on are written with the bar put away.
    let beside_bar = may_show
        && match &args.output {
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
        };
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
        let first = rows_read;
        rows_read += batch.num_rows() as u64;
        changes += 1;
        let numbers = numbered_from.rows + first..numbered_from.rows + rows_read;
        let rows = Rows::new(numbers.collect::<Vec<u64>>(), batch)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        // (An error names it by its version, as the operators see it, and its rows by
        // their positions in the file, from 0.)
        let version = numbered_from.changes + changes;
        let change = Change::new(version, Timestamp::now(), vec![Diff::Insert { post: rows }]);
        let out = through(&mut stages, 0, change, &|| match rows_read.checked_sub(1) {
            Some(last) if last >= first => {
                format!("change {version} (input rows {first} to {last})")
            }
            _ => format!("change {version} (no input rows)"),
        })?;
        let t = Instant::now();
        if beside_bar && !progress.is_hidden() {
            progress.suspend(|| emit(&mut sink, out, args.emit, &stages))?;
        } else {
            emit(&mut sink, out, args.emit, &stages)?;
        }
        write_time += t.elapsed();
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
    // End of input: operators that act on time get one tick, whose output flows on.
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
            let out = through(&mut stages, index + 1, change, &|| {
                "the closing tick".to_owned()
            })?;
            emit(&mut sink, out, args.emit, &stages)?;
        }
    }
    progress.finish_and_clear();
    let t = Instant::now();
    if !sink.started() && !matches!(output, OutputFormat::Table | OutputFormat::None) {
        // Nothing came out. A file still gets its columns where they are known (with no
        // operators, the input's), and none otherwise: an Arrow or Parquet file then has a
        // schema without columns, to be read at all (a text file, which cannot say that,
        // stays empty: see `Sink::write`).
        let columns = if stages.is_empty() {
            let empty = RecordBatch::new_empty(input.schema.clone());
            match args.emit {
                Emit::Inserts => empty.schema(),
                Emit::Changes => with_op("+I", &empty)?.schema(),
            }
        } else {
            Arc::new(Schema::empty())
        };
        sink.write(&RecordBatch::new_empty(columns))?;
    }
    let nulled = sink.nulled();
    let written = sink.finish()?;
    write_time += t.elapsed();
    if nulled > 0 && !args.quiet {
        crate::say!(
            "oplink: warning: JSON has no number for NaN or infinity: {} {} written as null",
            crate::counted(nulled, "value", "values"),
            if nulled == 1 { "was" } else { "were" }
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
    let numbered_to = Numbering {
        rows: numbered_from.rows + rows_read,
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

/// Binary formats are not written to a terminal.
fn refuse_binary_on_a_terminal(format: OutputFormat, to_terminal: bool) -> Result<()> {
    if to_terminal && matches!(format, OutputFormat::Ipc | OutputFormat::Parquet) {
        return Err(CliError::Usage(format!(
            "{} is binary: write it to a file with `--output FILE`, or redirect standard output",
            format_name(format)
        )));
    }
    Ok(())
}

/// An operator's failure, with when it happened (said only when it did) and, when the chain
/// holds its name twice, which one it is.
fn stage_error(place: &str, source: oplink_host::Error, when: impl FnOnce() -> String) -> CliError {
    CliError::Stage {
        source: Box::new(source),
        when: format!("{}{place}", when()),
    }
}

/// `change` through the stages from `from` on; `when` names the change in an error.
fn through(
    stages: &mut [Stage],
    from: usize,
    mut change: Change,
    when: &dyn Fn() -> String,
) -> Result<Change> {
    for stage in &mut stages[from..] {
        stage.done.rows_in += change.row_count() as u64;
        let t = Instant::now();
        change = stage
            .instance
            .apply(change)
            .map_err(|e| stage_error(&stage.place, e, when))?;
        stage.done.time += t.elapsed();
        valid(stage, "apply", &change, when)?;
        stage.done.rows_out += change.row_count() as u64;
    }
    Ok(change)
}

/// Checks a change an operator returned in full before anything reads it: an import takes
/// UTF-8, offsets in order and dictionary keys in range on its producer's word, and an
/// operator written in C can get them wrong ([`Change::validate`]).
fn valid(
    stage: &Stage,
    method: &'static str,
    change: &Change,
    when: &dyn Fn() -> String,
) -> Result<()> {
    change.validate().map_err(|e| CliError::InvalidOutput {
        operator: stage.instance.info().name().to_owned(),
        method,
        reason: e.message().to_owned(),
        when: format!("{}{}", when(), stage.place),
    })
}

/// Writes what came out of the chain.
fn emit(sink: &mut Sink, change: Change, emit: Emit, stages: &[Stage]) -> Result<()> {
    // Counted only: every row as it is, with no `op` (an update's two rows counted).
    if sink.counts_only() && emit == Emit::Changes {
        for diff in change.diffs {
            let (pre, post) = match diff {
                Diff::Insert { post } => (None, Some(post)),
                Diff::Remove { pre } => (Some(pre), None),
                Diff::Update { pre, post } => (Some(pre), Some(post)),
            };
            for side in [pre, post].into_iter().flatten() {
                sink.write(side.batch())?;
            }
        }
        return Ok(());
    }
    for diff in change.diffs {
        match (emit, diff) {
            (Emit::Inserts, Diff::Insert { post }) => sink.write(post.batch())?,
            (Emit::Inserts, other) => {
                let kind = match other {
                    Diff::Remove { .. } => "a remove",
                    _ => "an update",
                };
                return Err(CliError::Output(format!(
                    "{} emitted {kind}, and `--emit inserts` writes inserts only; use `--emit changes` to write every diff with its `op`",
                    stages.last().map_or("the input".to_owned(), |s| format!(
                        "operator `{}`",
                        s.done.name
                    ))
                )));
            }
            (Emit::Changes, Diff::Insert { post }) => sink.write(&with_op("+I", post.batch())?)?,
            (Emit::Changes, Diff::Remove { pre }) => sink.write(&with_op("-D", pre.batch())?)?,
            (Emit::Changes, Diff::Update { pre, post }) => {
                match update_pairs(pre.batch(), post.batch())? {
                    Some(pairs) => sink.write(&pairs)?,
                    None => {
                        sink.write(&with_op("-U", pre.batch())?)?;
                        sink.write(&with_op("+U", post.batch())?)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// An update's rows as a changelog writes them: each old row (`-U`) just before its new
/// row (`+U`), row `i` of `pre` with row `i` of `post`. `None` when the two sides differ in
/// columns or rows (then the old rows go first, then the new).
fn update_pairs(pre: &RecordBatch, post: &RecordBatch) -> Result<Option<RecordBatch>> {
    if pre.schema().fields() != post.schema().fields() || pre.num_rows() != post.num_rows() {
        return Ok(None);
    }
    let (pre, post) = (with_op("-U", pre)?, with_op("+U", post)?);
    let pairs: Vec<(usize, usize)> = (0..pre.num_rows()).flat_map(|i| [(0, i), (1, i)]).collect();
    let columns = (0..pre.num_columns())
        .map(|c| {
            oplink::arrow::select::interleave::interleave(
                &[pre.column(c).as_ref(), post.column(c).as_ref()],
                &pairs,
            )
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| CliError::Output(e.to_string()))?;
    RecordBatch::try_new(pre.schema(), columns)
        .map(Some)
        .map_err(|e| CliError::Output(e.to_string()))
}

/// `batch` with a leading `op` column holding `op` on every row; an error when the batch
/// has an `op` column of its own (a changelog read back in, say), which would be written
/// twice under one name.
fn with_op(op: &str, batch: &RecordBatch) -> Result<RecordBatch> {
    if batch.schema().column_with_name("op").is_some() {
        return Err(CliError::Output(
            "the rows have a column named `op`, the name of the column that holds each row's change (`+I`, `-D`, `-U`, `+U`); rename it, or write the rows alone with `--emit inserts`".to_owned(),
        ));
    }
    let mut fields = vec![Arc::new(Field::new("op", DataType::Utf8, false))];
    fields.extend(batch.schema().fields().iter().cloned());
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec![op; batch.num_rows()]))];
    columns.extend(batch.columns().iter().cloned());
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| CliError::Output(e.to_string()))
}

/// What of `--state` a run made: folders (the deepest first), a store; and whether it got
/// as far as keeping its state.
#[derive(Default)]
struct FreshState {
    made_dirs: Vec<PathBuf>,
    made_store: Option<PathBuf>,
    kept: bool,
}

impl FreshState {
    /// Removes what the run made: the store (this run's own: it opened it, so no other
    /// run had it open), then each folder it made while it is empty.
    fn undo(&self) {
        if let Some(store) = &self.made_store {
            crate::interrupt::remove(store);
        }
        for dir in &self.made_dirs {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

/// The host: the standard services, `oplink.Lookup` when tables were given, and the state
/// store of `--state`.
fn build_host(args: &RunArgs, tables: Tables, fresh: &mut FreshState) -> Result<Host> {
    let mut builder = Host::builder();
    if !tables.is_empty() {
        builder = builder.provide::<dyn Lookup>(Arc::new(tables));
    }
    if let Some(dir) = &args.state {
        if dir.exists() && !dir.is_dir() {
            return Err(CliError::Usage(format!(
                "--state `{}` is a file; name a folder (it is created if missing)",
                dir.display()
            )));
        }
        // The folders missing (a link counts as there, even to nowhere), deepest first.
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .take_while(|p| std::fs::symlink_metadata(p).is_err())
            .map(Path::to_path_buf)
            .collect();
        // (Listed first: a folder made and then refused is removed with the run.)
        fresh.made_dirs = missing.clone();
        make_state_folder(dir, missing.last().map(PathBuf::as_path))?;
        crate::interrupt::remove_folders_on_interrupt(&missing);
        let path = dir.join("state.redb");
        // Every run with `--state` makes the store, and writes each operator's
        // configuration file beside it: a folder with such a file and no store lost it.
        if std::fs::symlink_metadata(&path).is_err() && !args.quiet && kept_any(dir) {
            crate::say!(
                "oplink: warning: the state store `{}` is gone, though a run kept its state in `{}`: the operators continue from their snapshots alone, and what they kept in the store starts afresh",
                path.display(),
                dir.display()
            );
        }
        let store = StateStore::open(&path).map_err(|e| match e {
            // The library's words ("it is open already, in this process or another") speak
            // to a host; here the other holder is another process.
            oplink_host::Error::State { reason, .. }
                if reason.starts_with(oplink_host::load::OPEN_ALREADY) =>
            {
                CliError::Usage(format!(
                    "--state `{}` is in use: its store `{}` is open in another process (another `oplink run` with this folder?); wait for it to end, or give this run another folder",
                    dir.display(),
                    path.display()
                ))
            }
            other => other.into(),
        })?;
        finish_kept(dir, &store, args.quiet)?;
        // Made by this run (not by another that made it meanwhile): removed with it.
        let new = store.created();
        builder = builder.state_store(store);
        if new {
            // Gone with the run if a signal ends it before its state is kept, as it is on
            // any failure: a store left empty would stop the next run.
            crate::interrupt::remove_on_interrupt(&path);
            fresh.made_store = Some(path);
        }
    }
    Ok(builder.build())
}

/// Makes the `--state` folder `dir` (`first_missing` is the highest of its folders not
/// there) and checks that it takes new files, as every run with it writes some (the store,
/// the snapshots and their configurations' files, under temporary names, then renamed):
/// said before the run rather than once its work is done.
fn make_state_folder(dir: &Path, first_missing: Option<&Path>) -> Result<()> {
    let given = format!("--state `{}`", dir.display());
    if let Err(error) = CliError::create_dir(dir) {
        let file_above = dir
            .ancestors()
            .skip(1)
            .find(|p| !p.as_os_str().is_empty() && p.is_file());
        if let Some(file) = file_above {
            return Err(CliError::Usage(format!(
                "{given} cannot be made: `{}` is a file, not a folder; name a folder (it is created if missing)",
                file.display()
            )));
        }
        // The folder it would be made in: the deepest one there.
        let parent = match first_missing.and_then(Path::parent) {
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => return Err(error),
        };
        return Err(match closed_folder(parent) {
            Some(Closed::ToYou) => CliError::Usage(format!(
                "{given} cannot be made: its folder `{}` takes no new folder from you; make it writable, or give `--state` another folder",
                parent.display()
            )),
            Some(Closed::ReadOnly) => CliError::Usage(format!(
                "{given} cannot be made: its folder `{}` is on a read-only file system; give `--state` another folder",
                parent.display()
            )),
            None => error,
        });
    }
    match closed_folder(dir) {
        Some(Closed::ToYou) => Err(CliError::Usage(format!(
            "{given} takes no new file from you, and every run with it writes its files there (the store, the snapshots, each under a temporary name, then renamed); make it writable, or give `--state` another folder"
        ))),
        Some(Closed::ReadOnly) => Err(CliError::Usage(format!(
            "{given} is on a read-only file system, and every run with it writes its files there (the store, the snapshots); give `--state` another folder"
        ))),
        None => Ok(()),
    }
}

/// Another state of the `index`th operator of the chain (`specs`, kept as `scopes`) in the
/// folder `dir`, `NAME` or `NAME.N`, that was kept with its configuration, and that no
/// operator of the chain continues with the configuration it was kept with: where that
/// operator's state went when the chain's operators of its name changed places.
fn kept_with_this_elsewhere(
    dir: &Path,
    specs: &[OpSpec],
    scopes: &[String],
    index: usize,
) -> Option<String> {
    let name = &specs[index].name;
    let wanted = fingerprint(&specs[index].config);
    let mut others: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().into_string().ok()?;
            let scope = file.strip_suffix(".config")?;
            let rest = scope.strip_prefix(name.as_str())?;
            let its = rest.is_empty()
                || rest
                    .strip_prefix('.')
                    .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n >= 2));
            (its && scope != scopes[index]).then(|| scope.to_owned())
        })
        .collect();
    others.sort();
    others.into_iter().find(|other| {
        let Ok(Some(kept)) = kept_config(dir, other) else {
            return false;
        };
        // `NAME.3` may be the state of an operator named so (not this one's third).
        if kept.operator.as_ref().is_some_and(|keeper| keeper != name) {
            return false;
        }
        let in_use = scopes
            .iter()
            .zip(specs)
            .any(|(scope, spec)| scope == other && fingerprint(&spec.config) == kept.fingerprint);
        kept.fingerprint == wanted && !in_use
    })
}

/// The state of an operator of the chain that would continue from another's (its
/// operators of one name changed places, or one was removed): [`changed_places`].
struct Moved<'a> {
    /// The state the operator would continue from.
    scope: &'a str,
    /// What that state's configuration file says it was kept with.
    kept: Option<&'a Kept>,
    /// Whether the store holds a part of that state (unknown: taken to).
    in_store: bool,
    /// The state kept with the operator's configuration.
    other: &'a str,
}

/// Why the `index`th operator of the chain (`specs`; `place`: its place among those of its
/// name, and how many there are) may not continue from `moved.scope`, and the ways out.
fn changed_places(
    dir: &Path,
    specs: &[OpSpec],
    index: usize,
    place: (usize, usize),
    moved: Moved<'_>,
) -> CliError {
    let spec = &specs[index];
    let Moved {
        scope,
        kept,
        in_store,
        other,
    } = moved;
    let who = match place {
        (nth, 2..) => format!("the {} `{}` of the chain", ordinal(nth), spec.name),
        _ => format!("operator `{}`", spec.name),
    };
    // The state's files: its configuration's, and its snapshot when there is one.
    let files = [snapshot_path(dir, scope), config_path(dir, scope)]
        .iter()
        .filter(|file| file.exists())
        .map(|file| format!("`{}`", file.display()))
        .collect::<Vec<_>>()
        .join(" and ");
    // The state is another operator's of the chain when one has the configuration it was
    // kept with (they changed places): removing it would start that one afresh, or (its
    // files gone and the other state left) let it continue from the other state with a mere
    // warning.
    let wanted = kept.is_some_and(|kept| {
        specs
            .iter()
            .any(|other| other.name == spec.name && fingerprint(&other.config) == kept.fingerprint)
    });
    // Removing its files starts the operator afresh only when the store holds nothing of
    // the state: a scope of the store cannot be removed by hand.
    let ways = if wanted {
        "put the chain back as it was, or give `--state` another folder to start afresh".to_owned()
    } else if in_store {
        format!(
            "put the chain back as it was, or give `--state` another folder to start afresh (removing the files of the state `{scope}`, {files}, would not do: its part in the store `{}` would stay, and a state's part in the store cannot be removed by hand)",
            dir.join("state.redb").display()
        )
    } else {
        format!(
            "put the chain back as it was, give `--state` another folder to start afresh, or remove the files of the state `{scope}` if it is no longer wanted, {files}, for this operator to start afresh"
        )
    };
    CliError::Usage(format!(
        "{who} would continue from the state `{scope}` in `{}`, kept with another configuration, while the state `{other}` there was kept with its configuration: the chain's `{}` operators changed places, or one was removed; {ways}",
        dir.display(),
        spec.name,
    ))
}

/// Why a folder takes no new file.
enum Closed {
    /// Its permissions (mode, owner, access list) keep this process out.
    ToYou,
    /// Its file system is mounted read-only.
    ReadOnly,
}

/// Why this process may not add files to the folder `dir`; `None` when it may, or when that
/// cannot be told (then making the file says what is wrong).
fn closed_folder(dir: &Path) -> Option<Closed> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::access(name.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        return None;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EACCES) => Some(Closed::ToYou),
        Some(libc::EROFS) => Some(Closed::ReadOnly),
        _ => None,
    }
}

/// The instances of the chain, with their state restored from `--state`.
fn instantiate(args: &RunArgs, specs: &[OpSpec], host: &Host) -> Result<Vec<Stage>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let scopes = if args.state.is_some() {
        state_scopes(specs)?
    } else {
        Vec::new()
    };
    let plugins = Plugins::open(&args.plugins)?;
    let lookup_name = <dyn Lookup as oplink::service::Service>::NAME;
    let mut stages = Vec::new();
    let places = places(specs.iter().map(|s| s.name.as_str()));
    for (index, spec) in specs.iter().enumerate() {
        let plugin = plugins.plugin_for(&spec.name)?;
        let info = plugin.operator(&spec.name).expect("the plugin offers it");
        for service in info.requires() {
            if oplink::services::is_standard(&service.name) {
                continue;
            }
            if service.name == lookup_name {
                if args.lookup.is_empty() {
                    return Err(CliError::Usage(format!(
                        "operator `{}` requires the host service `{lookup_name}`: give it its tables with `--lookup NAME=FILE`",
                        spec.name
                    )));
                }
                continue;
            }
            return Err(CliError::Usage(format!(
                "operator `{}` requires the host service `{}`, which `oplink run` cannot provide (it provides the standard services and `{lookup_name}`); run it in a host that provides `{}`",
                spec.name, service.name, service.name
            )));
        }
        let place = match places[index] {
            (nth, 2..) => format!(", in the {} `{}` of the chain", ordinal(nth), spec.name),
            _ => String::new(),
        };
        // A configuration refused: where it came from, when that was not on the command
        // line itself.
        let from = match &spec.given {
            Given::File(file) => format!(" (the configuration read from `{file}`)"),
            Given::Nothing => format!(
                " (`--op {}` gives it no configuration, read as `{{}}`: give one, `--op '{}={{...}}'` or `--op {}=@FILE`)",
                spec.name, spec.name, spec.name
            ),
            Given::Inline => String::new(),
        };
        // An operator the chain names twice: which one could not be made.
        let created = |made: oplink_host::Result<Instance>| {
            made.map_err(|e| {
                let from = if matches!(e, oplink_host::Error::InvalidConfig { .. }) {
                    from.as_str()
                } else {
                    ""
                };
                match (from, place.as_str()) {
                    ("", "") => CliError::Host(e),
                    (from, place) => CliError::Usage(format!("{e}{from}{place}")),
                }
            })
        };
        let (instance, scope) = match &args.state {
            None => (
                created(plugin.instantiate(&spec.name, &spec.config, host))?,
                None,
            ),
            Some(dir) => {
                let scope = scopes[index].clone();
                let mut instance =
                    created(plugin.instantiate_named(&spec.name, &spec.config, host, &scope))?;
                let snapshot = snapshot_path(dir, &scope);
                // What a run killed before it kept its state left (what one killed after it
                // kept its store was put in place by `finish_kept`): said, then removed.
                for left in [partial_of(&snapshot), partial_of(&config_path(dir, &scope))] {
                    if std::fs::symlink_metadata(&left).is_ok_and(|m| m.is_file()) {
                        if !args.quiet {
                            crate::say!(
                                "oplink: warning: `{}` is left by a run stopped before it kept its state, and is removed: operator `{}` continues from the state kept before that run",
                                left.display(),
                                spec.name,
                            );
                        }
                        let _ = std::fs::remove_file(&left);
                    }
                }
                // A snapshot kept here is handed back to the operator, and one that cannot
                // take it back (a build without `restore`, after one that had it) is
                // refused below rather than its state dropped without a word; so is one
                // that cannot write it again (a build without `snapshot`).
                let takes_back = instance.info().implemented().restore();
                let snapshot_kept = snapshot.exists();
                // A store that cannot say whether it holds state is taken to hold some: the
                // question only decides a warning.
                let kept = kept_config(dir, &scope)?;
                let continues = || {
                    (snapshot_kept && takes_back)
                        || host.state_store().has_entries(&scope).unwrap_or(true)
                };
                if !args.quiet
                    && let Some(Kept {
                        operator: Some(keeper),
                        ..
                    }) = &kept
                    && *keeper != spec.name
                    && continues()
                {
                    // A numbered state (`tally.2`) of one run is the name of another's
                    // operator.
                    crate::say!(
                        "oplink: warning: operator `{}` continues from the state `{scope}` in `{}`, which operator `{keeper}` kept; give `--state` another folder to start afresh",
                        spec.name,
                        dir.display(),
                    );
                } else if kept
                    .as_ref()
                    .is_some_and(|kept| kept.fingerprint != fingerprint(&spec.config))
                    && continues()
                {
                    // Another of the operator's states there was kept with this
                    // configuration: the chain's operators of this name changed places, or
                    // one was removed. Refused: continuing would mix the two states for
                    // good (putting the chain back after would mix them again).
                    if let Some(other) = kept_with_this_elsewhere(dir, specs, &scopes, index) {
                        let in_store = host.state_store().has_entries(&scope).unwrap_or(true);
                        return Err(changed_places(
                            dir,
                            specs,
                            index,
                            places[index],
                            Moved {
                                scope: &scope,
                                kept: kept.as_ref(),
                                in_store,
                                other: &other,
                            },
                        ));
                    }
                    if !args.quiet {
                        crate::say!(
                            "oplink: warning: operator `{}` continues from its state `{scope}` in `{}`, which was kept with another configuration; give `--state` another folder to start afresh",
                            spec.name,
                            dir.display(),
                        );
                    }
                }
                // Whether the store keeps a part of this operator's state, which a snapshot
                // removed does not take with it (unknown: taken to).
                let in_store = || host.state_store().has_entries(&scope).unwrap_or(true);
                // A run kept this operator's state here (its configuration's fingerprint is
                // written beside its snapshot), but the snapshot is gone: it starts afresh,
                // or from its store alone.
                if !args.quiet
                    && takes_back
                    && instance.info().implemented().snapshot()
                    && !snapshot.exists()
                    && config_path(dir, &scope).is_file()
                {
                    let starts = if in_store() {
                        format!("starts from its store `{scope}` alone")
                    } else {
                        "starts afresh".to_owned()
                    };
                    crate::say!(
                        "oplink: warning: operator `{}` {starts}: its snapshot `{}` is gone, though a run kept its state in `{}`",
                        spec.name,
                        snapshot.display(),
                        dir.display(),
                    );
                }
                if snapshot_kept {
                    let bytes =
                        std::fs::read(&snapshot).map_err(|e| CliError::io("read", &snapshot, e))?;
                    let advice = || {
                        if in_store() {
                            format!(
                                "remove it to let the operator start from its store `{scope}` alone, or give `--state` another folder to start afresh"
                            )
                        } else {
                            "remove it to start afresh".to_owned()
                        }
                    };
                    if let Some(Kept {
                        snapshot: Some(written),
                        ..
                    }) = &kept
                        && *written != SnapshotSum::of(&bytes)
                    {
                        return Err(CliError::Data {
                            path: snapshot.clone(),
                            line: None,
                            column: None,
                            reason: format!(
                                "operator `{}`'s snapshot is not what the run that kept it wrote, by `{}` ({} bytes, sum {:016x}; it holds {} bytes): one of the two was changed since; restore the folder from a backup, or {}",
                                spec.name,
                                config_path(dir, &scope).display(),
                                written.length,
                                written.sum,
                                bytes.len(),
                                advice()
                            ),
                        });
                    }
                    if !takes_back && !bytes.is_empty() {
                        return Err(CliError::Usage(cannot_take_back(
                            &spec.name,
                            bytes.len(),
                            &snapshot,
                            instance.info().implemented().snapshot(),
                        )));
                    }
                    // Nor one this build would restore at every run and never write
                    // again: every run would start from that same state.
                    if takes_back && !instance.info().implemented().snapshot() && !bytes.is_empty()
                    {
                        return Err(CliError::Usage(cannot_update(
                            &spec.name,
                            bytes.len(),
                            &snapshot,
                        )));
                    }
                    // An empty snapshot is no state: nothing to hand to an operator
                    // without `restore`.
                    if takes_back {
                        instance
                            .restore(&bytes)
                            .map_err(|source| CliError::Restore {
                                path: snapshot.clone(),
                                advice: advice(),
                                source: Box::new(source),
                            })?;
                    }
                }
                (instance, Some(scope))
            }
        };
        stages.push(Stage {
            place,
            scope,
            config: spec.config.clone(),
            instance,
            done: StageSummary {
                name: spec.name.clone(),
                ..StageSummary::default()
            },
        });
    }
    Ok(stages)
}

/// For each of `names` (a chain's operators), which of its name it is (from 1) and how many
/// of its name the chain holds.
fn places<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Vec<(usize, usize)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    names
        .clone()
        .map(|name| {
            let nth = seen.entry(name).or_insert(0);
            *nth += 1;
            (*nth, names.clone().filter(|n| *n == name).count())
        })
        .collect()
}

/// The state scope of each operator of the chain: its name, and `NAME.N` for the N-th
/// operator of one name from the second on; refused when one of those is another
/// operator's name in the chain, since the two would share their state.
fn state_scopes(specs: &[OpSpec]) -> Result<Vec<String>> {
    // Each scope with the operator's name and which of that name it is.
    let mut scopes: Vec<(String, &str, usize)> = Vec::with_capacity(specs.len());
    let places = places(specs.iter().map(|s| s.name.as_str()));
    for (spec, &(count, _)) in specs.iter().zip(&places) {
        let scope = match count {
            1 => spec.name.clone(),
            n => format!("{}.{n}", spec.name),
        };
        // Only a name and a numbered scope can meet: a scope's number follows its last dot.
        if let Some((_, other, other_count)) = scopes.iter().find(|(s, ..)| *s == scope) {
            let (named, numbered, n) = if *other_count == 1 {
                (*other, spec.name.as_str(), count)
            } else {
                (spec.name.as_str(), *other, *other_count)
            };
            return Err(CliError::Usage(format!(
                "with `--state`, the {} `{numbered}` of the chain keeps its state as `{scope}`, which is the name of operator `{named}` too: the two would share one state; run them in separate chains, each with its own `--state` folder",
                ordinal(n)
            )));
        }
        scopes.push((scope, &spec.name, count));
    }
    Ok(scopes.into_iter().map(|(scope, ..)| scope).collect())
}

fn snapshot_path(dir: &Path, scope: &str) -> PathBuf {
    dir.join(format!("{scope}.snapshot"))
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

/// Where `--state` keeps the fingerprint of the configuration an operator's state was
/// kept with (a fingerprint, not the configuration, which may hold secrets).
fn config_path(dir: &Path, scope: &str) -> PathBuf {
    dir.join(format!("{scope}.config"))
}

/// The fingerprint of a configuration: FNV-1a (64 bits) of its JSON text with every
/// object's keys in order (serde_json's map keeps them sorted), so that the same
/// configuration written otherwise has the same one.
fn fingerprint(config: &Value) -> String {
    use oplink::abi::decl::{FNV_OFFSET, fnv1a};
    format!("{:016x}", fnv1a(FNV_OFFSET, config.to_string().as_bytes()))
}

/// Whether a run kept state in the folder `dir` (an operator's configuration file is there).
fn kept_any(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.ends_with(".config"))
                && entry.file_type().is_ok_and(|t| t.is_file())
        })
}

/// What `--state` wrote of the state of `scope` when it was last kept: the fingerprint of
/// the configuration, and the operator that kept it (absent from a file of an earlier
/// oplink). It feeds warnings, the check of the snapshot's sum, and the refusal of
/// operators of one name that changed places.
struct Kept {
    fingerprint: String,
    operator: Option<String>,
    /// The snapshot written with it (`snapshot LENGTH SUM`), absent from a file of an
    /// earlier oplink and for an operator without a snapshot.
    snapshot: Option<SnapshotSum>,
}

/// A file there that cannot be read (its permissions) is an error: passed over, the
/// snapshot's sum would go unchecked.
fn kept_config(dir: &Path, scope: &str) -> Result<Option<Kept>> {
    let path = config_path(dir, scope);
    // A named pipe there would wait for a writer: only a file is read.
    if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(|e| CliError::io("read", &path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines().map(str::trim);
    Ok(Some(Kept {
        fingerprint: lines.next().unwrap_or_default().to_owned(),
        operator: lines.next().filter(|l| !l.is_empty()).map(str::to_owned),
        snapshot: lines.next().and_then(SnapshotSum::parse),
    }))
}

/// What the configuration file records of a snapshot: its length and the FNV-1a (64 bits)
/// of its bytes, so that a snapshot damaged since it was kept (a bit flipped, a file cut
/// short at a record's end) is refused rather than restored as a different state.
#[derive(Debug, PartialEq)]
struct SnapshotSum {
    length: u64,
    sum: u64,
}

impl SnapshotSum {
    fn of(bytes: &[u8]) -> SnapshotSum {
        use oplink::abi::decl::{FNV_OFFSET, fnv1a};
        SnapshotSum {
            length: bytes.len() as u64,
            sum: fnv1a(FNV_OFFSET, bytes),
        }
    }

    /// The line `snapshot LENGTH SUM` (the sum in hexadecimal); `None` for another line.
    fn parse(line: &str) -> Option<SnapshotSum> {
        let mut parts = line.strip_prefix("snapshot ")?.split(' ');
        let length = parts.next()?.parse().ok()?;
        let sum = u64::from_str_radix(parts.next()?, 16).ok()?;
        Some(SnapshotSum { length, sum })
    }
}

impl std::fmt::Display for SnapshotSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "snapshot {} {:016x}", self.length, self.sum)
    }
}

/// At the end, in two steps that keep nothing yet: every operator's own `flush_state`
/// (what it writes stays pending in its instance), then with `--state` every snapshot,
/// taken and written under a temporary name (which [`Snapshots::commit`] puts in place).
/// A snapshot so sees the state the flush left, as a host's snapshot after a flush does;
/// [`commit_stores`] writes the pending state once the output is in place.
fn close_operators(
    args: &RunArgs,
    stages: &mut [Stage],
    output: Option<(&Path, (u64, u64))>,
) -> Result<Snapshots> {
    for stage in stages.iter_mut().filter(|stage| flushed(args, stage)) {
        let t = Instant::now();
        stage
            .instance
            .prepare_flush()
            .map_err(|e| stage_error(&stage.place, e, || "the closing flush".to_owned()))?;
        stage.done.time += t.elapsed();
    }
    let mut snapshots = Snapshots::default();
    for stage in stages.iter_mut() {
        let t = Instant::now();
        let mut sum = None;
        // Kept for an operator that can take it back: another's snapshot would refuse
        // the next run (above).
        if let (Some(dir), Some(scope)) = (&args.state, &stage.scope)
            && stage.instance.info().implemented().snapshot()
            && stage.instance.info().implemented().restore()
        {
            let bytes = stage
                .instance
                .snapshot()
                .map_err(|e| stage_error(&stage.place, e, || "the closing snapshot".to_owned()))?;
            let path = snapshot_path(dir, scope);
            a_file_or_nothing(&path)?;
            let partial = partial_of(&path);
            // Listed first, so that a write that fails part way is removed too.
            snapshots.pending.push((partial.clone(), path));
            crate::interrupt::remove_on_interrupt(&partial);
            write_synced(&partial, &bytes)?;
            sum = Some(SnapshotSum::of(&bytes));
        }
        if let (Some(dir), Some(scope)) = (&args.state, &stage.scope) {
            // The configuration the state is kept with, for a warning when it changes.
            let path = config_path(dir, scope);
            a_file_or_nothing(&path)?;
            let partial = partial_of(&path);
            snapshots.pending.push((partial.clone(), path));
            crate::interrupt::remove_on_interrupt(&partial);
            // The fingerprint, then the operator that kept the state, then its snapshot's
            // length and sum.
            write_synced(
                &partial,
                format!(
                    "{}\n{}\n{}",
                    fingerprint(&stage.config),
                    stage.instance.name(),
                    sum.map(|sum| format!("{sum}\n")).unwrap_or_default()
                )
                .as_bytes(),
            )?;
        }
        stage.done.time += t.elapsed();
    }
    if let Some(dir) = &args.state {
        // The mark of this run's keeping, once every file is written: the store gets it in
        // its transaction, and a run killed before the snapshots are in place is finished
        // by the next (see `finish_kept`).
        let path = dir.join(KEEPING);
        a_file_or_nothing(&path)?;
        let token = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        crate::interrupt::remove_on_interrupt(&path);
        snapshots.mark = Some((path.clone(), token.clone()));
        // The token, then the files this run puts in place, by name: only those are the
        // next run's to finish.
        let mut mark = format!("{token}\n");
        for (partial, _) in &snapshots.pending {
            if let Some(name) = partial.file_name().and_then(|n| n.to_str()) {
                mark.push_str(name);
                mark.push('\n');
            }
        }
        // The output file, which goes into place after the mark and before the store (a
        // run killed between the two leaves it new beside the state kept before), by the
        // file it will be.
        if let Some((output, (device, inode))) = output
            && let Some(output) = std::path::absolute(output)
                .ok()
                .and_then(|p| p.to_str().map(str::to_owned))
            && !output.contains('\n')
        {
            mark.push_str(&format!("{OUTPUT_LINE}{device} {inode} {output}\n"));
        }
        write_synced(&path, mark.as_bytes())?;
        // The entries of the snapshots and the mark on the disk before the store is kept.
        crate::output::sync_folder_of(&path)?;
    }
    Ok(snapshots)
}

/// Why a run stops at a snapshot of `length` bytes for an operator without `restore`, and
/// what to do. Who kept it: a build with `restore`, another operator of the name, or, for
/// an operator with `snapshot`, an earlier oplink, which kept the snapshots of operators
/// without `restore` too (never handed back): then nothing is lost by removing it.
fn cannot_take_back(operator: &str, length: usize, path: &Path, snapshots: bool) -> String {
    let start = format!(
        "operator `{operator}` has no `restore`, so it cannot take back the {} of state in `{}`",
        crate::counted(length, "byte", "bytes"),
        path.display(),
    );
    if snapshots {
        format!(
            "{start}, kept by a build of it that had `restore`, by another operator of its name, or by an earlier oplink (which also kept the snapshots of operators without `restore`, never handing them back: then nothing is lost by removing it); run the build that kept it, or remove the file to run without that state"
        )
    } else {
        format!(
            "{start}, kept by a build of it that had `restore` or by another operator of its name; run that build, or remove the file to run without that state"
        )
    }
}

/// Why a run stops at a snapshot of `length` bytes for an operator with `restore` and no
/// `snapshot`: restored at every run and never written again, it would start every run
/// from the same state. (Refused rather than said in a warning, since every run's output
/// would be wrong, as the refusal of a snapshot an operator cannot take back is.)
fn cannot_update(operator: &str, length: usize, path: &Path) -> String {
    format!(
        "operator `{operator}` has no `snapshot`, so the {} of state in `{}` (kept by a build of it that had `snapshot`, or by another operator of its name) would be restored at every run and never updated, each run starting from that same state; run the build that kept it, or remove the file to run without that state",
        crate::counted(length, "byte", "bytes"),
        path.display(),
    )
}

/// Where a state file (`NAME.snapshot`, `NAME.config`) is written before it is put in
/// place: `NAME.snapshot.partial`.
fn partial_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// An error unless `path`, where the state keeps a file, is a file or is not there: found
/// while nothing is kept yet (a folder there would refuse its rename only after the output
/// and the stores were).
fn a_file_or_nothing(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(CliError::Usage(format!(
            "`{}` is {}, where `--state` keeps a file; remove it",
            path.display(),
            if meta.is_dir() {
                "a folder"
            } else {
                "no regular file"
            }
        ))),
        _ => Ok(()),
    }
}

/// Writes `bytes` to the new file `path` and syncs them to the disk: a state file is on the
/// disk before the output and the stores are kept, so that none of them waits on it after.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    // A new file, never written through what is there (a link left in the folder would
    // take the bytes elsewhere): what is there is a temporary file of an earlier run.
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|e| CliError::io("write", path, e))
}

/// Whether the run flushes this stage's state at the end: it has a `flush_state`, or
/// `--state` keeps its store.
fn flushed(args: &RunArgs, stage: &Stage) -> bool {
    stage.instance.info().implemented().flush_state() || args.state.is_some()
}

/// Every instance's pending writes committed to the store (once the output is in place), in
/// one transaction: a failure (a full disk) keeps none of them.
fn commit_stores(
    args: &RunArgs,
    stages: &mut [Stage],
    store: &StateStore,
    snapshots: &Snapshots,
    numbered_to: Numbering,
) -> Result<()> {
    let kept = stages
        .iter_mut()
        .filter(|stage| flushed(args, stage))
        .map(|stage| &mut stage.instance);
    let committed = match &snapshots.mark {
        // With `--state`, the run's mark and where its numbering stopped in the same
        // transaction.
        Some((_, token)) => Instance::commit_states_with(
            kept,
            store,
            &[
                (RUN_SCOPE, KEPT_KEY, Some(token.as_bytes())),
                (
                    RUN_SCOPE,
                    NEXT_ROW_KEY,
                    Some(&numbered_to.rows.to_le_bytes()),
                ),
                (
                    RUN_SCOPE,
                    NEXT_CHANGE_KEY,
                    Some(&numbered_to.changes.to_le_bytes()),
                ),
            ],
        ),
        None => Instance::commit_states(kept),
    };
    committed.map_err(|source| CliError::Stage {
        source: Box::new(source),
        when: "the closing flush".to_owned(),
    })
}

/// The file that marks a run keeping its state in a `--state` folder (written once every
/// snapshot is, removed once they are all in place), and where the store keeps that mark:
/// a scope no operator can have.
const KEEPING: &str = "keeping.partial";
/// The line of the mark that names the run's output file.
const OUTPUT_LINE: &str = "output ";
const RUN_SCOPE: &str = "#oplink-run";
const KEPT_KEY: &[u8] = b"kept";
/// Where the store keeps the number of the next run's first row, and the version its
/// first change follows.
const NEXT_ROW_KEY: &[u8] = b"next-row";
const NEXT_CHANGE_KEY: &[u8] = b"next-change";

/// Where a run's numbering starts: row numbers and change versions go on from the last
/// run that kept its state in the `--state` folder (from 0 and 1 without one).
#[derive(Clone, Copy, Default)]
struct Numbering {
    /// The first row's number.
    rows: u64,
    /// The version before the first change's.
    changes: u64,
}

impl Numbering {
    /// Where the last run kept in `store` stopped (a store of an earlier oplink, without
    /// the entries: from the start).
    fn kept(store: &StateStore) -> Result<Numbering> {
        let entries = store.entries(RUN_SCOPE).map_err(CliError::Host)?;
        let read = |key: &[u8]| -> u64 {
            entries
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, value)| value.as_slice().try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        Ok(Numbering {
            rows: read(NEXT_ROW_KEY),
            changes: read(NEXT_CHANGE_KEY),
        })
    }
}

/// Finishes what a run killed while it kept its state in `dir` left, by the files its mark
/// names: when the store holds that run's mark, the store was kept and its snapshots were
/// not all put in place, so they are now; otherwise the store was not kept, and they are
/// removed (what no mark names is removed by [`instantiate`], with a warning, for the
/// operators of the chain). Says which, unless `quiet`.
fn finish_kept(dir: &Path, store: &StateStore, quiet: bool) -> Result<()> {
    let mark = dir.join(KEEPING);
    let Ok(meta) = std::fs::symlink_metadata(&mark) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Err(CliError::Usage(format!(
            "`{}` is {}, where `--state` keeps a file of its own while it keeps the state; remove it",
            mark.display(),
            match meta.file_type() {
                t if t.is_dir() => "a folder",
                t if t.is_symlink() => "a symbolic link",
                _ => "no regular file",
            }
        )));
    }
    let text = std::fs::read_to_string(&mark).map_err(|e| CliError::io("read", &mark, e))?;
    let mut lines = text.lines();
    let token = lines.next().unwrap_or_default();
    let kept = store
        .entries(RUN_SCOPE)
        .map_err(CliError::Host)?
        .into_iter()
        .any(|(key, value)| key == KEPT_KEY && value == token.as_bytes());
    // The files the mark names that are still there: temporary state files of the folder.
    let left: Vec<PathBuf> = lines
        .filter(|name| {
            !name.contains('/')
                && (name.ends_with(".snapshot.partial") || name.ends_with(".config.partial"))
        })
        .map(|name| dir.join(name))
        .filter(|path| std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()))
        .collect();
    for partial in &left {
        if kept {
            crate::output::put_in_place(partial, &partial.with_extension(""))?;
        } else {
            std::fs::remove_file(partial).map_err(|e| CliError::io("remove", partial, e))?;
        }
    }
    std::fs::remove_file(&mark).map_err(|e| CliError::io("remove", &mark, e))?;
    if !quiet && !left.is_empty() {
        let files = crate::counted(left.len(), "temporary file", "temporary files");
        if kept {
            crate::say!(
                "oplink: warning: the last run with `--state {}` kept its store but did not put its snapshots in place (it was stopped, or failed): its {files} {} put in place now",
                dir.display(),
                if left.len() == 1 { "was" } else { "were" }
            );
        } else {
            let output = output_put_in_place(&text).map(|output| format!(
                "; its output `{}` was put in place all the same, and holds rows this state does not count: run that input again",
                output.display()
            ));
            crate::say!(
                "oplink: warning: the last run with `--state {}` was stopped, or failed, before it kept its state: its {files} {} removed, and the state is the one kept before it{}",
                dir.display(),
                if left.len() == 1 { "was" } else { "were" },
                output.unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// The output file a run's mark (`text`) names, when it is the file that run wrote: it
/// went into place.
fn output_put_in_place(text: &str) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    text.lines().find_map(|line| {
        let mut parts = line.strip_prefix(OUTPUT_LINE)?.splitn(3, ' ');
        let device: u64 = parts.next()?.parse().ok()?;
        let inode: u64 = parts.next()?.parse().ok()?;
        let path = PathBuf::from(parts.next()?);
        let now = std::fs::metadata(&path).ok()?;
        ((now.dev(), now.ino()) == (device, inode)).then_some(path)
    })
}

/// Snapshots written under temporary names: dropped before [`Snapshots::commit`], they are
/// removed.
#[derive(Default)]
struct Snapshots {
    pending: Vec<(PathBuf, PathBuf)>,
    /// With `--state`: the file that marks this run keeping its state, and the mark.
    mark: Option<(PathBuf, String)>,
}

impl Snapshots {
    /// Called once the store is kept: a file that cannot be put in place leaves it, the
    /// files after it and the mark for the next run, which finishes the work.
    fn commit(mut self) -> Result<()> {
        // One at a time off the list, in the order they were written (each snapshot before
        // its configuration's fingerprint).
        while let Some((partial, path)) = self.pending.first().cloned() {
            if let Err(error) = crate::output::put_in_place(&partial, &path) {
                for (left, _) in std::mem::take(&mut self.pending) {
                    crate::interrupt::forget(&left);
                }
                let Some((mark, _)) = self.mark.take() else {
                    return Err(error);
                };
                crate::interrupt::forget(&mark);
                return Err(CliError::Usage(format!(
                    "{error}; the state store was kept, and the next run with `--state {}` puts the snapshots in place",
                    crate::output::folder_of(&mark).display()
                )));
            }
            self.pending.remove(0);
            crate::interrupt::forget(&partial);
        }
        // Every file in place: nothing left for a next run to finish.
        if let Some((mark, _)) = self.mark.take() {
            crate::interrupt::remove(&mark);
        }
        Ok(())
    }

    /// Called when the store's commit failed: whether it was kept is unknown, so the
    /// temporary files and the mark are left for the next run to settle by the store
    /// (see [`finish_kept`]), and the error says so.
    fn leave_for_next_run(mut self, error: CliError, output: Option<&Path>) -> CliError {
        let Some((mark, _)) = self.mark.take() else {
            return error;
        };
        for (left, _) in std::mem::take(&mut self.pending) {
            crate::interrupt::forget(&left);
        }
        crate::interrupt::forget(&mark);
        let output = output.map(|output| {
            format!(
                " (the output `{}` is in place: when the next run says the state was not kept, run this input again)",
                output.display()
            )
        });
        CliError::Usage(format!(
            "{error}; the next run with `--state {}` finds whether the store kept this run's state, and keeps the snapshots with it or removes them{}",
            crate::output::folder_of(&mark).display(),
            output.unwrap_or_default()
        ))
    }
}

impl Drop for Snapshots {
    fn drop(&mut self) {
        for (partial, _) in &self.pending {
            crate::interrupt::remove(partial);
        }
        if let Some((mark, _)) = &self.mark {
            crate::interrupt::remove(mark);
        }
    }
}

/// A progress bar, hidden until the run has taken a moment (and always when standard
/// error is not a terminal or `--quiet` is given).
fn progress_bar(progress: &Progress) -> ProgressBar {
    let (len, template) = match progress {
        Progress::Bytes(_, total) => (
            *total,
            "{spinner} reading {bytes}/{total_bytes} [{wide_bar}] {eta} left",
        ),
        Progress::Rows(total) => (
            *total,
            "{spinner} reading {human_pos}/{human_len} rows [{wide_bar}] {eta} left",
        ),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// How long a run goes before its progress bar appears.
const SHOW_AFTER: Duration = Duration::from_millis(400);

impl Summary {
    /// The closing summary, for standard error.
    pub fn to_text(&self, input: &Path) -> String {
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        let rows = |n: u64| crate::counted(n, "row", "rows");
        let mut text = format!(
            "read {} in {} {} from `{}` in {}\n",
            rows(self.rows_read),
            self.changes,
            if self.changes == 1 {
                "change"
            } else {
                "changes"
            },
            crate::escape_controls(&input.display().to_string(), &[]),
            ms(self.read_time)
        );
        if !self.stages.is_empty() {
            // An operator the chain names twice is told apart by its place: `tally (2nd)`.
            let places = places(self.stages.iter().map(|s| s.name.as_str()));
            let labels: Vec<String> = self
                .stages
                .iter()
                .zip(places)
                .map(|(stage, place)| match place {
                    (nth, 2..) => format!("{} ({})", stage.name, ordinal(nth)),
                    _ => stage.name.clone(),
                })
                .collect();
            let width = labels.iter().map(String::len).max().unwrap_or(0).max(8);
            text.push_str(&format!(
                "{:<width$}  {:>10}  {:>10}  {:>10}\n",
                "operator", "rows in", "rows out", "time"
            ));
            for (stage, label) in self.stages.iter().zip(&labels) {
                text.push_str(&format!(
                    "{:<width$}  {:>10}  {:>10}  {:>10}\n",
                    label,
                    stage.rows_in,
                    stage.rows_out,
                    ms(stage.time)
                ));
            }
        }
        let rate = if self.total > Duration::from_millis(100) {
            format!(
                ", {:.0} rows/s",
                self.rows_read as f64 / self.total.as_secs_f64()
            )
        } else {
            String::new()
        };
        text.push_str(&format!(
            "wrote {} in {}; {} in all{rate}\n",
            rows(self.rows_written),
            ms(self.write_time),
            ms(self.total),
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_for_an_operator_without_restore_names_who_may_have_kept_it() {
        let path = Path::new("state/tally.snapshot");
        // Without `snapshot` either: only another build or operator wrote it.
        assert_eq!(
            cannot_take_back("tally", 1, path, false),
            "operator `tally` has no `restore`, so it cannot take back the 1 byte of state in `state/tally.snapshot`, kept by a build of it that had `restore` or by another operator of its name; run that build, or remove the file to run without that state"
        );
        // With `snapshot`: an earlier oplink kept this very build's snapshots, unread.
        assert_eq!(
            cannot_take_back("tally", 12, path, true),
            "operator `tally` has no `restore`, so it cannot take back the 12 bytes of state in `state/tally.snapshot`, kept by a build of it that had `restore`, by another operator of its name, or by an earlier oplink (which also kept the snapshots of operators without `restore`, never handing them back: then nothing is lost by removing it); run the build that kept it, or remove the file to run without that state"
        );
    }

    #[test]
    fn an_op_is_a_name_with_an_inline_or_file_configuration() {
        assert_eq!(
            parse_op("threshold={\"min\": 3}").unwrap(),
            OpSpec {
                name: "threshold".into(),
                config: serde_json::json!({"min": 3}),
                given: Given::Inline,
            }
        );
        assert_eq!(
            parse_op("passthrough").unwrap().config,
            serde_json::json!({})
        );
        assert_eq!(
            parse_op("=1").unwrap_err().to_string(),
            "--op `=1` names no operator; write `NAME`, `NAME=JSON` or `NAME=@FILE`"
        );
        assert_eq!(
            parse_op("t=@/no/such.json").unwrap_err().to_string(),
            "--op `t=@/no/such.json`: cannot read the configuration of `t`: `/no/such.json` does not exist"
        );
        assert_eq!(
            parse_op("plugins/libthreshold.so").unwrap_err().to_string(),
            "--op `plugins/libthreshold.so` names a library file, not an operator: give the library with `--plugins plugins/libthreshold.so` and the operator by its name (`oplink inspect plugins/libthreshold.so` lists them)"
        );
        // A configuration written without its name.
        assert_eq!(
            parse_op(r#"{"min":1}"#).unwrap_err().to_string(),
            r#"--op `{"min":1}` names no operator: `{"min":1}` is not an operator name (1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with a letter); write `NAME`, `NAME=JSON` or `NAME=@FILE`"#
        );
    }

    #[test]
    fn bad_json_points_at_the_problem() {
        let error = parse_op("threshold={\"column\" \"amount\"}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `threshold` (inline) is not valid JSON: expected `:` at line 1 column 11\n  {\"column\" \"amount\"}\n            ^"
        );
        // A long line is shown around the problem only.
        let long = format!(
            "threshold={{\"pad\": \"{}\", \"min\" 1}}",
            "x".repeat(100_000)
        );
        let shown = parse_op(&long).unwrap_err().to_string();
        assert!(shown.len() < 300, "{} bytes", shown.len());
        assert!(
            shown.ends_with(&format!(
                "\n  …{}\", \"min\" 1}}\n  {}^",
                "x".repeat(31),
                " ".repeat(41)
            )),
            "{shown}"
        );
        // Tabs shown as escapes and letters of several bytes: the caret stays under the
        // character serde_json names (it counts bytes), and the column is counted in
        // characters.
        let error = parse_op("t={\"c\u{e9}\u{e9}\": \"x\"\t\"min\": 1}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `t` (inline) is not valid JSON: expected `,` or `}` at line 1 column 13\n  {\"c\u{e9}\u{e9}\": \"x\"\\t\"min\": 1}\n               ^"
        );
        // A whole number past 64 bits (serde_json would make it a float) is pointed at; one
        // in a string, a float, and the largest of 64 bits are not.
        let error = parse_op(
            "t={\"n\": \"1e99 99999999999999999999\",\n \"é\": [1.5e300, -9223372036854775809]}",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `t` (inline) holds the whole number `-9223372036854775809` at line 2 column 17, past what 64 bits hold: it would reach the operator as a float, rounded; write it as a string if the operator reads one\n   \"é\": [1.5e300, -9223372036854775809]}\n                  ^"
        );
        assert!(parse_op(r#"t={"n": 18446744073709551615, "m": -9223372036854775808}"#).is_ok());
        // A key given twice, at any depth, is pointed at (serde_json would keep the last).
        // The column in characters when serde_json names a byte inside one.
        let error = parse_op(r#"t={"éé": [1, é]}"#).unwrap_err();
        assert!(
            error.to_string().contains(" at line 1 column 12\n"),
            "{error}"
        );
        let error = parse_op(r#"t={"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `t` (inline) is not valid JSON: the key `b` is given twice at line 1 column 18\n  {\"a\": {\"b\": 1, \"b\": 2}}\n                   ^"
        );
        // Quotes the shell took: said so, with how to keep them.
        let error = parse_op("count={key:customer}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `count` (inline) is not valid JSON: key must be a string at line 1 column 2 (the configuration has no quotes left: did the shell take them? Put the whole option in single quotes: --op 'count={\"key\": \"value\"}')\n  {key:customer}\n   ^"
        );
        for taken in ["t=column:amount", "t=alice"] {
            let error = parse_op(taken).unwrap_err().to_string();
            assert!(error.contains("did the shell take them?"), "{error}");
        }
        // Not for other mistakes, nor for quotes of another kind.
        for other in [
            "t=[true, false,]",
            "t=[1e400]",
            "t={'min': 3}",
            r#"t={"a": b}"#,
        ] {
            let error = parse_op(other).unwrap_err().to_string();
            assert!(!error.contains("shell"), "{error}");
        }
        // Everything else reads as serde_json reads it.
        let spec =
            parse_op(r#"t={"n": [1, -2, 2.5, "x", null, true, {}], "big": 18446744073709551615}"#)
                .unwrap();
        assert_eq!(
            spec.config,
            serde_json::json!({"n": [1, -2, 2.5, "x", null, true, {}], "big": 18446744073709551615u64})
        );
    }

    /// Only a state the operator's own name kept counts as where its state went: `tally.3`
    /// kept by an operator named so, with the same configuration, is another's.
    #[test]
    fn a_state_kept_elsewhere_is_one_this_operator_kept() {
        let dir = tempfile::tempdir().unwrap();
        let tally = parse_op(r#"tally={"key": "region"}"#).unwrap();
        let kept_with = fingerprint(&tally.config);
        let keep = |scope: &str, operator: &str| {
            let text = format!("{kept_with}\n{operator}\n");
            std::fs::write(config_path(dir.path(), scope), text).unwrap();
        };
        // This one's own state, kept with another configuration.
        std::fs::write(
            config_path(dir.path(), "tally"),
            "0000000000000000\ntally\n",
        )
        .unwrap();
        keep("tally.3", "tally.3");
        let (specs, scopes) = (vec![tally], vec!["tally".to_owned()]);
        assert_eq!(
            kept_with_this_elsewhere(dir.path(), &specs, &scopes, 0),
            None
        );
        keep("tally.2", "tally");
        assert_eq!(
            kept_with_this_elsewhere(dir.path(), &specs, &scopes, 0).as_deref(),
            Some("tally.2")
        );
    }

    #[test]
    fn a_repeated_operator_numbers_its_state_and_meets_no_other_name() {
        let chain = |names: &[&str]| -> Vec<OpSpec> {
            names.iter().map(|n| parse_op(n).unwrap()).collect()
        };
        assert_eq!(
            state_scopes(&chain(&["tally", "tally.3", "tally"])).unwrap(),
            ["tally", "tally.3", "tally.2"]
        );
        for names in [["tally.2", "tally", "tally"], ["tally", "tally", "tally.2"]] {
            let e = state_scopes(&chain(&names)).unwrap_err().to_string();
            assert_eq!(
                e,
                "with `--state`, the 2nd `tally` of the chain keeps its state as `tally.2`, which is the name of operator `tally.2` too: the two would share one state; run them in separate chains, each with its own `--state` folder",
                "{names:?}"
            );
        }
    }

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
}
