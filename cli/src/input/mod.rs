//! Reading data files (CSV, TSV, JSON lines, Arrow IPC, Parquet) in batches, with arrow-rs's
//! readers. What is oplink's own: choosing the format, the schema notation, and turning a
//! reader's error into the file's line and column.

mod csv;
mod csv_errors;
mod file;
mod json;
mod json_errors;
mod messages;
mod options;
#[cfg(test)]
mod proptests;
mod quotes;
mod schema;
mod sniff;
mod strict;

use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use oplink::arrow::array::{RecordBatch, RecordBatchReader};
use oplink::arrow::schema::{ArrowError, Schema, SchemaRef};

use crate::args::InputFormat;
use crate::error::{CliError, Result};

use self::csv::settle_times;
use self::csv_errors::{csv_error, csv_located};
use self::file::{AfterBom, Counting, open};
use self::json::{in_file_order, keys_never_seen, whole_numbers};
use self::json_errors::{json_error, located};
use self::messages::arrow_words;
use self::options::delimiter_for;
use self::quotes::{Quotes, UNCLOSED_QUOTE, line_at};
use self::schema::{names, text_for_null, unknown_zone};
use self::sniff::{not_text, parquet_magic};
use self::strict::StrictText;

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
    quotes: Option<Arc<std::sync::Mutex<Quotes>>>,
    batches: Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>>>,
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

/// The batches of `batches` cut into slices of at most `rows` rows (an Arrow IPC file's
/// batches are as its writer made them; slices share their buffers, nothing is copied).
fn sliced(
    batches: impl Iterator<Item = std::result::Result<RecordBatch, ArrowError>>,
    rows: usize,
) -> impl Iterator<Item = std::result::Result<RecordBatch, ArrowError>> {
    batches.flat_map(move |batch| {
        let pieces: Vec<_> = match batch {
            Ok(batch) if batch.num_rows() > rows => (0..batch.num_rows())
                .step_by(rows)
                .map(|start| Ok(batch.slice(start, rows.min(batch.num_rows() - start))))
                .collect(),
            other => vec![other],
        };
        pieces
    })
}

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

impl Input {
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
        let data = |reason: String| CliError::Data {
            path: path.to_owned(),
            line: None,
            column: None,
            reason,
        };
        // Why a stream will not do: each format reads some of the file twice.
        let twice = match format {
            InputFormat::Csv | InputFormat::Tsv | InputFormat::Jsonl => {
                "to infer or check its schema"
            }
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
        let mut file = open(path)?;
        let size = metadata.len();
        if matches!(
            format,
            InputFormat::Csv | InputFormat::Tsv | InputFormat::Jsonl
        ) && let Some(reason) = not_text(&file, format)
        {
            return Err(data(reason));
        }
        if schema.is_some() && matches!(format, InputFormat::Ipc | InputFormat::Parquet) {
            return Err(CliError::Usage(format!(
                "--schema is for CSV, TSV and JSON lines; `{}` carries its own schema",
                path.display()
            )));
        }
        let inferred = schema.is_none();
        let read = Arc::new(AtomicU64::new(0));
        let mut warning = None;
        let mut quotes = None;
        let (schema, progress, batches): (SchemaRef, Progress, Box<dyn Iterator<Item = _>>) =
            match format {
                InputFormat::Csv | InputFormat::Tsv => {
                    let schema = match schema {
                        Some(schema) => {
                            // arrow-csv reads columns by position: the names must agree.
                            let header = csv_header(path, delimiter)?;
                            if header.fields().is_empty() {
                                return Err(data("it has no header line".to_owned()));
                            }
                            if names(&header) != names(&schema) {
                                return Err(CliError::Usage(format!(
                                    "--schema names the columns {}, but the header of `{}` has {}",
                                    names(&schema).join(", "),
                                    path.display(),
                                    names(&header).join(", ")
                                )));
                            }
                            schema
                        }
                        None => {
                            let (schema, _) = arrow_csv::reader::Format::default()
                                .with_header(true)
                                .with_delimiter(delimiter)
                                .infer_schema(&mut file, Some(INFER_RECORDS))
                                .map_err(|e| {
                                    // The header alone names the columns for the message.
                                    let header = csv_header(path, delimiter).ok();
                                    csv_error(path, delimiter, header.as_ref(), e, false)
                                })?;
                            file.rewind().map_err(|e| CliError::io("read", path, e))?;
                            let schema = settle_times(text_for_null(schema), path, delimiter);
                            file.rewind().map_err(|e| CliError::io("read", path, e))?;
                            schema
                        }
                    };
                    if schema.fields().is_empty() {
                        return Err(data("it has no header line".to_owned()));
                    }
                    let schema = Arc::new(schema);
                    let followed = Arc::new(std::sync::Mutex::new(Quotes::new(delimiter)));
                    quotes = Some(followed.clone());
                    // Dates and times are read as text and parsed strictly: arrow-csv cuts a
                    // value finer than its column short without a word.
                    let strict = StrictText::times(&schema);
                    let reader = arrow_csv::ReaderBuilder::new(strict.read_schema.clone())
                        .with_header(true)
                        .with_delimiter(delimiter)
                        .with_batch_size(rows_per_batch(batch_size, schema.fields().len()))
                        .build(Counting {
                            inner: file,
                            read: read.clone(),
                            quotes: Some(followed),
                        })
                        .map_err(|e| data(arrow_words(&e.to_string())))?;
                    (schema, Progress::Bytes(read, size), strict.over(reader))
                }
                InputFormat::Jsonl => {
                    let mut buffered = BufReader::new(
                        AfterBom::new(file).map_err(|e| CliError::io("read", path, e))?,
                    );
                    let schema = match schema {
                        Some(schema) => {
                            warning = keys_never_seen(&schema, &mut buffered);
                            buffered
                                .rewind()
                                .map_err(|e| CliError::io("read", path, e))?;
                            schema
                        }
                        None => {
                            match arrow_json::reader::infer_json_schema_from_seekable(
                                &mut buffered,
                                Some(INFER_RECORDS),
                            ) {
                                Ok((schema, _)) => text_for_null(
                                    in_file_order(schema, &mut buffered)
                                        .and_then(|schema| whole_numbers(schema, &mut buffered))
                                        .map_err(|e| CliError::io("read", path, e))?,
                                ),
                                Err(error) => {
                                    return Err(json_error(path, None, error));
                                }
                            }
                        }
                    };
                    if schema.fields().is_empty() {
                        return Err(data("it holds no JSON objects with fields".to_owned()));
                    }
                    let schema = Arc::new(schema);
                    // Integer columns are read as their text, and parsed strictly below:
                    // arrow-json gives `1.9` to an integer column as 1, dropping the
                    // fraction without a word.
                    let strict = StrictText::new(&schema);
                    // A number where the schema has text is read as its text (JSON lines
                    // often mix `"7"` and `8` in one field).
                    // A key the inferred schema lacks (first seen after the lines inference
                    // read) is an error, not dropped; `--schema` chooses the keys to read.
                    let reader = arrow_json::ReaderBuilder::new(strict.read_schema.clone())
                        .with_batch_size(rows_per_batch(batch_size, schema.fields().len()))
                        .with_coerce_primitive(true)
                        .with_strict_mode(inferred)
                        .build(BufReader::new(Counting {
                            inner: buffered.into_inner(),
                            read: read.clone(),
                            quotes: None,
                        }))
                        .map_err(|e| data(arrow_words(&e.to_string())))?;
                    (schema, Progress::Bytes(read, size), strict.over(reader))
                }
                InputFormat::Ipc => {
                    let mut magic = [0u8; 6];
                    let is_file = file.read_exact(&mut magic).is_ok() && &magic == b"ARROW1";
                    if magic.starts_with(b"FEA1") {
                        return Err(data(
                            "it is a Feather version 1 file, which arrow-rs does not read: write it again as Feather version 2, the default since pyarrow 0.17 (`pyarrow.feather.write_feather(table, path)`)".to_owned(),
                        ));
                    }
                    file.rewind().map_err(|e| CliError::io("read", path, e))?;
                    warning = crate::ipc_sizes::check(&file, is_file).map_err(data)?;
                    if is_file {
                        let reader =
                            contained(|| arrow_ipc::reader::FileReader::try_new(file, None))
                                .map_err(data)?
                                .map_err(|e| data(arrow_words(&e.to_string())))?;
                        let schema = reader.schema();
                        (
                            schema,
                            Progress::Bytes(read, 0),
                            Box::new(sliced(reader, batch_size)),
                        )
                    } else {
                        let reader = arrow_ipc::reader::StreamReader::try_new(
                            BufReader::new(Counting {
                                inner: file,
                                read: read.clone(),
                                quotes: None,
                            }),
                            None,
                        )
                        .map_err(|e| data(arrow_words(&e.to_string())))?;
                        let schema = reader.schema();
                        (
                            schema,
                            Progress::Bytes(read, size),
                            Box::new(sliced(reader, batch_size)),
                        )
                    }
                }
                InputFormat::Parquet => {
                    parquet_magic(&file).map_err(data)?;
                    let builder =
                        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                            file,
                        )
                        .map_err(|e| data(arrow_words(&e.to_string())))?;
                    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
                    let reader = builder
                        .with_batch_size(batch_size)
                        .build()
                        .map_err(|e| data(arrow_words(&e.to_string())))?;
                    let schema = reader.schema();
                    (schema, Progress::Rows(rows), Box::new(reader))
                }
            };
        // Two columns of one name: operators find the first by name, and Parquet readers
        // refuse the file that would be written.
        if let Some(twice) = named_twice(&schema) {
            return Err(data(format!(
                "two of its columns are named `{twice}`; give each column a name of its own"
            )));
        }
        // A zone no one can read fails only when a time is shown, in the output's words.
        if let Some((column, zone)) = unknown_zone(&schema) {
            return Err(data(format!(
                "the column `{column}` holds timestamps in the time zone `{zone}`, which is neither a zone's name (`Europe/Paris`) nor an offset (`+05:30`)"
            )));
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
            batches,
        })
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
