//! Reading data files (CSV, TSV, JSON lines, Arrow IPC, Parquet) in batches, with arrow-rs's
//! readers. What is oplink's own: choosing the format, the schema notation, and turning a
//! reader's error into the file's line and column.

mod csv;
mod csv_errors;
mod file;
mod ipc;
mod json;
mod json_errors;
pub(crate) mod messages;
mod options;
mod parquet;
#[cfg(test)]
mod proptests;
mod quotes;
mod schema;
mod sniff;
mod strict;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use oplink::arrow::array::RecordBatch;
use oplink::arrow::schema::{ArrowError, Schema, SchemaRef};

use crate::args::InputFormat;
use crate::error::{CliError, Result};

use self::csv::open_csv;
use self::csv_errors::{csv_error, csv_located};
use self::file::open;
use self::ipc::open_ipc;
use self::json::open_jsonl;
use self::json_errors::{json_error, located};
use self::messages::arrow_words;
use self::options::delimiter_for;
use self::parquet::open_parquet;
use self::quotes::{Quotes, UNCLOSED_QUOTE, line_at};
use self::schema::unknown_zone;
use self::sniff::{not_text, other_text};

// What the rest of the crate, and the library's users, reach as `input::…`.
pub(crate) use self::csv::csv_header;
pub(crate) use self::csv_errors::record_line;
pub(crate) use self::file::{BOM, without_bom};
pub(crate) use self::json::object_keys;
pub(crate) use self::messages::without_position;
pub use self::options::{parse_delimiter, parse_schema};
pub use self::schema::named_twice;
pub use self::sniff::input_format;
pub(crate) use self::sniff::{extension, shown};

/// How many records a schema is inferred from.
pub const INFER_RECORDS: usize = 10_000;

/// How far reading has come, for the progress bar.
#[derive(Clone, Debug)]
pub enum Progress {
    /// Bytes of the file consumed, of a total.
    Bytes(Arc<AtomicU64>, u64),
    /// Rows read, of a total.
    Rows(u64),
}

/// The batches a reader gives, or its errors.
type Batches = Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>>>;

/// A data file being read in batches.
pub struct Input {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: InputFormat,
    /// The schema of its batches.
    pub schema: SchemaRef,
    /// How to measure progress.
    pub progress: Progress,
    /// Whether the schema was inferred (for the hint in an error).
    inferred: bool,
    /// The field separator (CSV and TSV).
    delimiter: u8,
    /// A warning about the file found while opening it (an Arrow stream without its end, a
    /// `--schema` key no JSON line has).
    warning: Option<String>,
    /// The quotes of a CSV file, followed as it is read.
    quotes: Option<Arc<Mutex<Quotes>>>,
    /// Of a changelog's `op` and `row`, the keys the lines of a JSON lines file have and
    /// `--schema` leaves out.
    left_out: Vec<&'static str>,
    batches: Batches,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// The most rows a batch may hold (`--batch-size`): a million, far more than a change
/// needs, and a bound on what a reader allocates before it has read anything.
pub const MAX_BATCH_SIZE: usize = 1 << 20;

/// The most values (rows × columns) a batch of a CSV or JSON lines file holds: the readers
/// size a buffer per column for a whole batch before they read a row, so a very wide file
/// gets fewer rows per batch than `--batch-size` asks (20,000 columns: 419 rows).
pub const MAX_BATCH_VALUES: usize = 1 << 23;

/// `batch_size`, lowered for a file of `columns` columns to hold [`MAX_BATCH_VALUES`].
fn rows_per_batch(batch_size: usize, columns: usize) -> usize {
    batch_size.min((MAX_BATCH_VALUES / columns.max(1)).max(1))
}

/// Runs `f`, a reader's step over a file, so that a reader's panic on a damaged file (an
/// arrow-rs reader asserts where it does not check) is an error saying so, not a crash.
fn contained<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    crate::quiet_panics(f)
        .map_err(|message| format!("the file is damaged ({})", arrow_words(&message)))
}

/// What a format's opener gives [`Input::open`]: the file's schema and batches, and what
/// the reading keeps beside them.
struct Opened {
    /// The schema of its batches.
    schema: SchemaRef,
    /// How to measure progress.
    progress: Progress,
    /// Its batches, as the format's reader gives them.
    batches: Batches,
    /// A warning about the file found while opening it.
    warning: Option<String>,
    /// The quotes of a CSV file, followed as it is read.
    quotes: Option<Arc<Mutex<Quotes>>>,
    /// Of `op` and `row`, the keys the file has and `--schema` leaves out.
    left_out: Vec<&'static str>,
}

/// Where the rows of a text input are, to name a row's line in an error found after it was
/// read (a changelog's `op` or `row`).
#[derive(Clone, Debug)]
pub struct RowLines {
    path: PathBuf,
    format: InputFormat,
    delimiter: u8,
}

impl RowLines {
    /// The line (from 1) on which the input's row `row` (counting from 0) starts: after the
    /// header line of a CSV file, and past blank lines and quoted line breaks; `None` for a
    /// binary format, or a JSON lines file that cannot be read again.
    pub fn line(&self, row: u64) -> Option<u64> {
        match self.format {
            InputFormat::Csv | InputFormat::Tsv => {
                // The header is record 1.
                Some(record_line(&self.path, self.delimiter, row + 2))
            }
            InputFormat::Jsonl => json_errors::row_line(&self.path, row),
            InputFormat::Ipc | InputFormat::Parquet => None,
        }
    }
}

/// An error in `path`'s data, at no known line or column: `reason`.
pub(crate) fn unplaced(path: &Path, reason: String) -> CliError {
    CliError::Data {
        path: path.to_owned(),
        line: None,
        column: None,
        reason,
    }
}

/// `path` opened to be read as `format`, and its size, once it is known to be a file that
/// can be read more than once and, for a text format, to be text; `schema_given` is whether
/// `--schema` was, which only the text formats take.
fn checked_file(path: &Path, format: InputFormat, schema_given: bool) -> Result<(File, u64)> {
    // Why a stream will not do: each format reads some of the file twice.
    let twice = match format {
        InputFormat::Csv | InputFormat::Tsv | InputFormat::Jsonl => "to infer or check its schema",
        InputFormat::Ipc => "to tell an Arrow IPC file from a stream",
        InputFormat::Parquet => "a Parquet file's footer, at its end, is read first",
    };
    if path == Path::new("-") && !path.exists() {
        return Err(CliError::Usage(format!(
            "`oplink run` does not read standard input (`-`): it reads its input more than once ({twice}), so save the stream to a file first"
        )));
    }
    // Looked at before it is opened: opening a named pipe waits for its writer.
    let metadata = std::fs::metadata(path).map_err(|e| CliError::io("read", path, e))?;
    if !metadata.is_file() && !metadata.is_dir() {
        // A pipe or a device: read once, it would be gone for the second reading (of
        // the schema, of the header), silently.
        return Err(CliError::Usage(format!(
            "`{}` is not a regular file: `oplink run` reads its input more than once ({twice}), so save the stream to a file first",
            path.display()
        )));
    }
    let file = open(path)?;
    if matches!(
        format,
        InputFormat::Csv | InputFormat::Tsv | InputFormat::Jsonl
    ) && let Some(reason) = not_text(&file, format).or_else(|| other_text(&file, format))
    {
        return Err(unplaced(path, reason));
    }
    if schema_given && matches!(format, InputFormat::Ipc | InputFormat::Parquet) {
        return Err(CliError::Usage(format!(
            "--schema is for CSV, TSV and JSON lines; `{}` carries its own schema",
            path.display()
        )));
    }
    Ok((file, metadata.len()))
}

impl Input {
    /// Where the input's rows are, for errors that name a row's line.
    pub fn row_lines(&self) -> RowLines {
        RowLines {
            path: self.path.clone(),
            format: self.format,
            delimiter: self.delimiter,
        }
    }

    /// Opens `path` to read batches of `batch_size` rows, with `schema` (CSV, TSV and JSON
    /// lines; inferred from the first [`INFER_RECORDS`] records when absent) and, for CSV,
    /// the field separator `delimiter` (`,` when `None`; a tab for TSV).
    pub fn open(
        path: &Path,
        format: InputFormat,
        schema: Option<Schema>,
        batch_size: usize,
        delimiter: Option<u8>,
    ) -> Result<Input> {
        let delimiter = delimiter_for(path, format, delimiter)?;
        if batch_size == 0 {
            return Err(CliError::Usage(
                "--batch-size must be at least 1, not 0".to_owned(),
            ));
        }
        if batch_size > MAX_BATCH_SIZE {
            // Readers size their buffers for a whole batch before they read a row.
            return Err(CliError::Usage(format!(
                "--batch-size must be at most {MAX_BATCH_SIZE} rows, not {batch_size}"
            )));
        }
        let (file, size) = checked_file(path, format, schema.is_some())?;
        let inferred = schema.is_none();
        let Opened {
            schema,
            progress,
            batches,
            warning,
            quotes,
            left_out,
        } = match format {
            InputFormat::Csv | InputFormat::Tsv => {
                open_csv(path, file, size, schema, delimiter, batch_size)?
            }
            InputFormat::Jsonl => open_jsonl(path, file, size, schema, batch_size)?,
            InputFormat::Ipc => open_ipc(path, file, size, batch_size)?,
            InputFormat::Parquet => open_parquet(path, file, batch_size)?,
        };
        // Two columns of one name: operators find the first by name, and Parquet readers
        // refuse the file that would be written.
        if let Some(twice) = named_twice(&schema) {
            return Err(unplaced(
                path,
                format!(
                    "two of its columns are named `{twice}`; give each column a name of its own"
                ),
            ));
        }
        // A zone no one can read fails only when a time is shown, in the output's words.
        if let Some((column, zone)) = unknown_zone(&schema) {
            return Err(unplaced(
                path,
                format!(
                    "the column `{column}` holds timestamps in the time zone `{zone}`, which is neither a zone's name (`Europe/Paris`) nor an offset (`+05:30`)"
                ),
            ));
        }
        Ok(Input {
            path: path.to_owned(),
            format,
            schema,
            progress,
            inferred,
            delimiter,
            warning,
            quotes,
            left_out,
            batches,
        })
    }

    /// Of a changelog's columns `op` and `row`, those the lines of a JSON lines file have
    /// and `--schema` leaves out (a changelog then read as inserts, or numbered by
    /// position).
    pub fn left_out(&self) -> &[&'static str] {
        &self.left_out
    }

    /// A warning found while opening the file: an Arrow stream that ends without its
    /// end-of-stream marker.
    pub fn warning(&self) -> Option<String> {
        self.warning
            .as_ref()
            .map(|w| format!("`{}`: {w}", self.path.display()))
    }

    /// A warning for a CSV or TSV file that looks separated by something else than it was
    /// read with: one column whose name holds a `,`, a `;`, a tab or a `|`.
    pub fn delimiter_hint(&self) -> Option<String> {
        let default = match self.format {
            InputFormat::Csv => b',',
            InputFormat::Tsv => b'\t',
            _ => return None,
        };
        let [field] = &self.schema.fields()[..] else {
            return None;
        };
        let name = field.name();
        let separator = [',', ';', '\t', '|']
            .into_iter()
            .filter(|&c| c != char::from(self.delimiter))
            .find(|&c| name.contains(c))?;
        // What to give: the format's own separator needs no option (the one given is what
        // is wrong), the other format's needs that format (and not the one given).
        let without = if self.delimiter == default {
            ""
        } else {
            " without `--delimiter`"
        };
        let advice = match (separator, self.format) {
            (',', InputFormat::Csv) | ('\t', InputFormat::Tsv) => {
                "leave out `--delimiter`".to_owned()
            }
            (',', _) => format!("give `--format csv`{without}"),
            ('\t', _) => format!("give `--format tsv`{without}"),
            (other, _) => format!("give `--delimiter '{other}'`"),
        };
        Some(format!(
            "`{}` reads as one column, `{}`: if its fields are separated by {}, {advice}",
            self.path.display(),
            name.escape_debug(),
            match separator {
                '\t' => "tabs".to_owned(),
                ',' => "commas".to_owned(),
                _ => format!("`{separator}`"),
            }
        ))
    }

    /// The error of a CSV quote still open; with `only_if_ended`, only once the file has
    /// been read to its end.
    fn open_quote_error(&self, only_if_ended: bool) -> Option<CliError> {
        let quotes = self
            .quotes
            .as_ref()?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let opened = quotes.open().filter(|_| quotes.ended || !only_if_ended)?;
        Some(CliError::Data {
            path: self.path.clone(),
            line: Some(line_at(&self.path, opened)),
            column: None,
            reason: UNCLOSED_QUOTE.to_owned(),
        })
    }

    /// The next batch, or `None` at the end; a reading error names the line and column
    /// where they can be known.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let next = contained(|| self.batches.next()).map_err(|reason| CliError::Data {
            path: self.path.clone(),
            line: None,
            column: None,
            reason,
        })?;
        // A quote never closed takes in the rest of the file as one field, which the reader
        // gives without a word: said at the end, and as soon as the end of the file has been
        // read, before a batch read with it is handed on (the last one holds that field).
        match next {
            None => self.open_quote_error(false).map_or(Ok(None), Err),
            Some(Ok(batch)) => self.open_quote_error(true).map_or(Ok(Some(batch)), Err),
            Some(Err(error)) => Err(match self.format {
                InputFormat::Csv | InputFormat::Tsv
                    if let ArrowError::ExternalError(inner) = &error
                        && let Some(bad) = inner.downcast_ref() =>
                {
                    csv_located(&self.path, self.delimiter, &self.schema, bad, self.inferred)
                }
                InputFormat::Csv | InputFormat::Tsv => csv_error(
                    &self.path,
                    self.delimiter,
                    Some(&self.schema),
                    error,
                    self.inferred,
                ),
                InputFormat::Jsonl => match &error {
                    ArrowError::ExternalError(inner) if let Some(bad) = inner.downcast_ref() => {
                        located(&self.path, bad, self.inferred)
                    }
                    _ => json_error(&self.path, Some((&self.schema, self.inferred)), error),
                },
                InputFormat::Ipc | InputFormat::Parquet => CliError::Data {
                    path: self.path.clone(),
                    line: None,
                    column: None,
                    reason: arrow_words(&error.to_string()),
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_file_gets_fewer_rows_per_batch() {
        assert_eq!(rows_per_batch(8192, 2), 8192);
        assert_eq!(rows_per_batch(8192, 20_000), 419);
        assert_eq!(rows_per_batch(MAX_BATCH_SIZE, 2_000), 4194);
        assert_eq!(rows_per_batch(8192, usize::MAX), 1);
    }
}
