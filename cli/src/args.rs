//! The command line's arguments (clap), with an example in every subcommand's `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_subscriber::filter::Targets;

/// Inspect, check and run oplink operator plugins, and start new ones.
#[derive(Debug, Parser)]
#[command(
    name = "oplink",
    version,
    after_help = "Examples:
  oplink inspect target/debug/libthreshold.so
  oplink check target/debug/libthreshold.so target/debug/libenrich.so
  oplink run examples/data/orders.csv --plugins target/debug \\
      --op 'threshold={\"column\": \"amount\", \"min\": 10}'
  oplink new my-operator

Run `oplink help <COMMAND>` for each command's options and examples."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a plugin library declares: its build and every operator.
    #[command(
        after_help = "Inspecting opens the library in a child process first and runs no \
operator code. For a folder, every library in it is shown.

Examples:
  oplink inspect target/debug/libenrich.so
  oplink inspect --json target/debug/libthreshold.so | jq '.[0].operators[0].name'
  oplink inspect target/debug"
    )]
    Inspect(InspectArgs),
    /// Validate libraries against this host, each in a child process; exit 0 only if all pass.
    #[command(
        after_help = "One line per library: `ok` with its operators, or `FAILED` with the \
reason. A library that crashes its loader or hangs fails the check without ending the command. \
Folders are searched for libraries (not recursively); in a folder, a library that is no plugin \
(a proc-macro, a dependency) is `skipped`, and named itself it fails.

Examples:
  oplink check target/debug/libthreshold.so
  oplink check target/release && echo all good
  oplink check --timeout 30 plugins/"
    )]
    Check(CheckArgs),
    /// Feed a data file through a chain of operators and write the result.
    #[command(
        after_help = "The input is read in batches; each batch crosses the chain as one \
change of inserts (row numbers are the rows' positions in the file, from 0; with --state, row \
numbers and change versions go on from the last run that kept its state). What comes out is \
written with a leading `op` column: +I (insert), -D (remove), -U and +U (an update's old and new \
rows), and with --row-numbers a `row` column after it. An input with an `op` column is read \
back as such a changelog: its removes and updates reach the operators as they are, and a \
`row` column right after `op` gives the rows' numbers. A closing summary (rows in and out and \
time per operator) goes to stderr.

Examples:
  oplink run examples/data/orders.csv --plugins target/debug \\
      --op 'threshold={\"column\": \"amount\", \"min\": 10}' \\
      --op 'lookup={\"column\": \"customer\", \"table\": \"tiers\", \"into\": \"tier\"}' \\
      --lookup tiers=examples/data/tiers.csv \\
      --op 'running_sum={\"key\": \"tier\", \"value\": \"amount\"}'
  oplink run big.parquet --plugins plugins/ --op threshold=@filter.json \\
      --emit inserts -o kept.parquet
  oplink run events.jsonl --schema 'user:utf8,amount:int64' --op my_op --to csv > out.csv
  oplink run orders.csv --op my_op --row-numbers -o changes.csv
  oplink run changes.csv --op my_next_op"
    )]
    Run(Box<RunArgs>),
    /// Create a new plugin crate (or a C operator) that builds and passes `oplink check`.
    #[command(
        after_help = "The Rust crate has a documented operator (a filter to start from), \
a unit test that calls it in process and a README with the commands to build and check it. \
With `--lang c`, a C operator against oplink.h (copied in) with a Makefile.

Examples:
  oplink new my-filter && cd my-filter && cargo build && oplink check target/debug/libmy_filter.so
  oplink new --lang c counter && make -C counter && oplink check counter/libcounter.so"
    )]
    New(NewArgs),
}

/// `oplink inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A plugin library, or a folder of them.
    pub path: PathBuf,
    /// Print JSON instead of a table: an array with one object per library.
    #[arg(long)]
    pub json: bool,
}

/// `oplink check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Libraries, or folders of them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Seconds a library's check may take before it fails as hung (a fraction of a second
    /// is fine; one past what a clock can count sets no deadline).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
}

/// The data formats `oplink run` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Comma-separated values with a header line (another separator: `--delimiter`).
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
    /// One JSON object per line.
    Jsonl,
    /// Arrow IPC, file or stream format.
    Ipc,
    /// Apache Parquet.
    Parquet,
}

/// The formats `oplink run` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people (the default on standard output).
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
    /// One JSON object per line.
    Jsonl,
    /// Arrow IPC file format (`.arrow`, `.ipc`, `.feather`).
    Ipc,
    /// Arrow IPC stream format (`.arrows`), written as the batches come.
    IpcStream,
    /// Apache Parquet.
    Parquet,
    /// Nothing: the summary still counts the rows out (for timing a chain).
    None,
}

/// What `oplink run` writes of the changes that come out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// Every row of every diff, with a leading `op` column (+I, -D, -U, +U).
    #[default]
    Changes,
    /// The inserted rows alone, without the `op` column; any other diff is an error.
    Inserts,
}

/// What `oplink run` makes of an input column named `op`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OpColumn {
    /// The input is a changelog, as `oplink run` writes one: `op` says what each row is.
    #[default]
    Changes,
    /// `op` is one of the rows' columns, like any other.
    Data,
}

/// `oplink run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The data file: .csv, .tsv, .jsonl/.ndjson/.json, .arrow/.arrows/.ipc/.feather or .parquet.
    pub input: PathBuf,
    /// An operator of the chain, in order: `NAME`, `NAME=JSON` or `NAME=@FILE.json`.
    /// Repeat it for a chain; none passes the input through.
    #[arg(long = "op", value_name = "NAME[=CONFIG]")]
    pub ops: Vec<String>,
    /// Where to find plugins: a folder (searched, not recursively) or a library file.
    /// Repeatable; by default the folders of OPLINK_PLUGIN_PATH.
    #[arg(long, short = 'p', value_name = "PATH")]
    pub plugins: Vec<PathBuf>,
    /// The input's format, when its extension does not say.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<InputFormat>,
    /// The field separator of a CSV input: one ASCII character, or `tab` (default: `,`, a
    /// tab for a .tsv file or `--format tsv`).
    #[arg(long, short = 'd', value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// The input's schema, for CSV, TSV and JSON lines, as `name:type,...` (types: utf8, int8 to
    /// int64, uint8 to uint64, float32, float64, bool, date32, timestamp_ms, timestamp_us;
    /// every field may hold nulls). Inferred from the first 10,000 rows when absent.
    #[arg(long, value_name = "SPEC")]
    pub schema: Option<String>,
    /// Rows per batch (per change), 1 to 1,048,576.
    #[arg(long, default_value_t = 8192, value_name = "ROWS")]
    pub batch_size: usize,
    /// Write the result to this file instead of standard output, written whole under a
    /// temporary name and then renamed (format from its extension: .csv, .tsv,
    /// .jsonl/.ndjson/.json, .arrow/.ipc/.feather, .arrows for an IPC stream, .parquet, .txt
    /// for a table).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The output's format (default: from --output's extension, else a table).
    #[arg(long, value_name = "FORMAT")]
    pub to: Option<OutputFormat>,
    /// What to write of the changes that come out.
    #[arg(long, value_enum, default_value_t = Emit::Changes)]
    pub emit: Emit,
    /// Write each row's number in a `row` column (after `op`), which a changelog read back
    /// in takes its rows' numbers from.
    #[arg(long)]
    pub row_numbers: bool,
    /// What an input column named `op` is: `changes` reads the input as a changelog (each
    /// row's `op` is +I, -D, -U or +U; a `row` column right after it numbers the rows),
    /// `data` as one of the rows' columns.
    #[arg(long, value_enum, default_value_t = OpColumn::Changes, value_name = "WHAT")]
    pub op_column: OpColumn,
    /// Keep the operators' state in this folder, across runs: their store (`state.redb`,
    /// flushed at the end) and the snapshots of operators that both take them and take them
    /// back.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Provide the `oplink.Lookup` host service with the table NAME, read from a CSV file
    /// (key and value: the first two columns) or a JSON object. Repeatable.
    #[arg(long, value_name = "NAME=FILE")]
    pub lookup: Vec<String>,
    /// No progress bar, no summary and none of the command's own warnings (the operators'
    /// warnings and errors still show).
    #[arg(long, short)]
    pub quiet: bool,
    /// Show the operators' log events: `-v` for info, `-vv` for debug, `-vvv` for trace
    /// (warnings and errors always show).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Show log events by target instead of `-v`: a level, `TARGET=LEVEL`, or both,
    /// comma-separated (`--log running_sum=debug`, `--log info,enrich=trace`). An
    /// operator's events have its code's module path as target (`running_sum`), oplink's
    /// own `oplink_host`; a target named nowhere shows warnings and errors, or what a bare
    /// level says. Each line then names its target.
    #[arg(long, value_name = "FILTER", value_parser = log_filter, conflicts_with = "verbose")]
    pub log: Option<Targets>,
}

/// Reads `--log`: `tracing-subscriber`'s target directives, with warnings and errors shown
/// for the targets the filter does not name unless it gives a level of its own for them.
fn log_filter(text: &str) -> Result<Targets, String> {
    let targets: Targets = text.parse().map_err(|error| {
        format!("{error} (expected a level, `TARGET=LEVEL`, or both, comma-separated)")
    })?;
    Ok(match targets.default_level() {
        Some(_) => targets,
        None => targets.with_default(tracing::Level::WARN),
    })
}

/// The languages of `oplink new`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// A Rust crate with `#[oplink::operator]`.
    #[default]
    Rust,
    /// A C operator against oplink.h, with a Makefile.
    C,
}

/// `oplink new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name: lowercase letters, digits, `-` and `_`, starting with a letter;
    /// for a Rust crate, not a Rust keyword, nor a crate it would hide (`std`, `core`,
    /// `alloc`, `proc_macro`, `test`, `oplink`, `oplink_macros`, `serde`). The
    /// operator is named after it (with `_` for `-`).
    pub name: String,
    /// The language.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,
    /// The folder to create (default: ./NAME). It must not exist, or be empty.
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// How a Rust crate depends on oplink: a path to oplink's `sdk` folder, or a version
    /// requirement such as `0.2` (or `^0.2`, `>=0.2, <0.3`: any that cargo reads, that this
    /// oplink's version meets and the next 0.x does not) for an oplink from a registry
    /// (`--registry`) (default: the SDK this command was built from; an error when it is no
    /// longer there).
    #[arg(long, value_name = "PATH|VERSION")]
    pub oplink: Option<String>,
    /// The registry, as cargo's configuration names it (`[registries]`), that `--oplink
    /// VERSION` comes from: oplink is not on crates.io. Without it, the version comes from
    /// crates.io's name, which builds only where cargo's configuration replaces crates.io
    /// with a source that has oplink (a mirror, a vendored folder).
    #[arg(long, value_name = "NAME")]
    pub registry: Option<String>,
}

/// For arguments clap refused: when an `--op`'s configuration was split by the shell, words
/// that say so and how to quote it. Two ways: an unquoted `--op t={"a":"b","c":1}` reaches
/// the command as `--op t=a:b t=c:1` (its braces expanded at the comma, its quotes removed),
/// and an unquoted `--op t={"a": "b"}` as `--op t={a: b}`... split at each space, its first
/// piece opening more braces or brackets than it closes.
pub fn split_config_hint<S: AsRef<str>>(args: &[S]) -> Option<String> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    // `NAME=rest`, NAME an operator's name.
    fn named(word: &str) -> Option<(&str, &str)> {
        word.split_once('=')
            .filter(|(name, _)| oplink::__private::is_operator_name(name))
    }
    // `NAME=key:value`, with no quote, brace or bracket left: what brace expansion made.
    fn expanded(word: &str) -> Option<(&str, &str)> {
        named(word).filter(|(_, rest)| {
            rest.contains(':') && !rest.contains(['"', '\'', '{', '}', '[', ']'])
        })
    }
    // `NAME={…` or `NAME=[…` with more opened than closed: the first piece of a split at spaces.
    fn unclosed(word: &str) -> Option<&str> {
        let (name, rest) = named(word)?;
        let count = |chars: [char; 2]| rest.matches(chars).count();
        (rest.starts_with(['{', '[']) && count(['{', '[']) > count(['}', ']'])).then_some(name)
    }
    // The shell puts the words of one option side by side: the word right after an
    // `--op`'s value (`--op t=a:b --op t=c:1` is two operators).
    let (name, stray, split_at) = (0..args.len()).find_map(|at| {
        let (value, next) = match args[at].strip_prefix("--op=") {
            Some(value) => (value, at + 1),
            None if args[at] == "--op" => (*args.get(at + 1)?, at + 2),
            None => return None,
        };
        let stray = *args.get(next)?;
        if let Some(name) = unclosed(value) {
            return (!stray.starts_with('-')).then_some((name, stray, "a space"));
        }
        let (name, _) = expanded(value)?;
        expanded(stray)
            .is_some_and(|(other, _)| other == name)
            .then_some((
                name,
                stray,
                "a comma (with its braces and quotes taken away)",
            ))
    })?;
    Some(format!(
        "`{stray}` looks like part of the configuration of `{name}`, split by the shell at {split_at}: put the whole option in single quotes, --op '{name}={{\"key\": \"value\", \"other\": 1}}'"
    ))
}

#[cfg(test)]
mod tests {
    use super::split_config_hint;

    /// Only a word right after an `--op`'s value, of its name, is taken for a piece of it.
    #[test]
    fn a_split_configuration_is_the_words_beside_its_op() {
        let stray = |args: &[&str]| {
            split_config_hint(args).map(|hint| hint.split('`').nth(1).unwrap_or("").to_owned())
        };
        let split = ["oplink", "run", "in.csv", "--op", "t=a:b", "t=c:1"];
        assert_eq!(stray(&split).as_deref(), Some("t=c:1"));
        assert_eq!(
            stray(&["oplink", "run", "--op=t=a:b", "t=c:1", "in.csv"]).as_deref(),
            Some("t=c:1")
        );
        // A second operator's configuration split: found past the first's.
        assert_eq!(
            stray(&[
                "oplink", "run", "in.csv", "--op", "t=a:b", "--op", "u=a:b", "u=c:1"
            ])
            .as_deref(),
            Some("u=c:1")
        );
        // Two operators, each given on its own, and something else refused: no tip.
        for args in [
            &[
                "oplink", "run", "in.csv", "--op", "t=a:b", "--op", "t=c:1", "--bogus",
            ][..],
            &[
                "oplink", "run", "in.csv", "--op", "t=a:b", "--bogus", "t=c:1",
            ][..],
            &["oplink", "run", "in.csv", "--op", "t", "t=c:1"][..],
        ] {
            assert_eq!(stray(args), None, "{args:?}");
        }
    }

    /// An unquoted configuration with spaces: the word after its first piece, which opens
    /// a brace it does not close, is named, and the split is said to be at a space.
    #[test]
    fn a_configuration_split_at_its_spaces_is_named() {
        let args = [
            "oplink",
            "run",
            "in.csv",
            "--op",
            "t={column:",
            "amount,",
            "min:",
            "10}",
        ];
        assert_eq!(
            split_config_hint(&args).as_deref(),
            Some(
                "`amount,` looks like part of the configuration of `t`, split by the shell at a space: put the whole option in single quotes, --op 't={\"key\": \"value\", \"other\": 1}'"
            )
        );
        // `--op=`'s value split the same way; one closed, or followed by an option: no tip.
        assert!(split_config_hint(&["oplink", "run", "--op=t=[1,", "2]"]).is_some());
        assert_eq!(
            split_config_hint(&["oplink", "run", "--op", "t={a:1}", "x"]),
            None
        );
        assert_eq!(
            split_config_hint(&["oplink", "run", "--op", "t={a:", "--bogus"]),
            None
        );
    }
}
