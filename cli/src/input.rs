//! Reading data files (CSV, TSV, JSON lines, Arrow IPC, Parquet) in batches, with arrow-rs's
//! readers. What is oplink's own: choosing the format, the schema notation, and turning a
//! reader's error into the file's line and column.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oplink::arrow::array::{RecordBatch, RecordBatchReader};
use oplink::arrow::schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::args::InputFormat;
use crate::error::{CliError, Result};

/// How many records a schema is inferred from.
pub const INFER_RECORDS: usize = 10_000;

/// The input format of `path`: the one given, else its extension's.
pub fn input_format(path: &Path, given: Option<InputFormat>) -> Result<InputFormat> {
    if let Some(format) = given {
        return Ok(format);
    }
    let extension = extension(path);
    Ok(match extension.as_str() {
        "csv" => InputFormat::Csv,
        "tsv" | "tab" => InputFormat::Tsv,
        "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
        "arrow" | "ipc" | "feather" | "arrows" => InputFormat::Ipc,
        "parquet" | "pq" => InputFormat::Parquet,
        _ if path == Path::new("-") && !path.exists() => {
            return Err(CliError::Usage(
                "`oplink run` does not read standard input (`-`): it reads its input more than once, so save the stream to a file first".to_owned(),
            ));
        }
        // What the path is says more than its extension when it is no file at all.
        _ if let Err(error) = std::fs::metadata(path) => {
            return Err(CliError::io("read", path, error));
        }
        _ if path.is_dir() => {
            return Err(CliError::Usage(format!(
                "`{}` is a folder, not a data file",
                path.display()
            )));
        }
        _ if let Some((compression, _, undo)) = crate::output::compressed_extension(path) => {
            return Err(CliError::Usage(format!(
                "`{}` is named as {compression}, but `oplink run` reads no compressed files; decompress it first (`{undo}`)",
                path.display()
            )));
        }
        _ => {
            return Err(CliError::Usage(format!(
                "cannot tell the format of `{}` from its extension; name it with `--format csv|tsv|jsonl|ipc|parquet`",
                path.display()
            )));
        }
    })
}

pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Parses `--delimiter`: one ASCII character (not a quote or a line break), or `tab` / `\t`.
pub fn parse_delimiter(spec: &str) -> Result<u8> {
    match spec {
        "tab" | "\\t" => return Ok(b'\t'),
        "\"" | "\n" | "\r" => {
            return Err(CliError::Usage(format!(
                "--delimiter cannot be `{}`: it quotes or ends CSV records",
                spec.escape_default()
            )));
        }
        _ => {}
    }
    match spec.as_bytes() {
        [byte] if byte.is_ascii() => Ok(*byte),
        _ => Err(CliError::Usage(format!(
            "--delimiter must be one ASCII character, or `tab`, not `{spec}`"
        ))),
    }
}

/// The field separator `format` reads with: `given`, else the format's own; an error when
/// one is given for a format that has none.
fn delimiter_for(path: &Path, format: InputFormat, given: Option<u8>) -> Result<u8> {
    match (format, given) {
        (InputFormat::Csv, given) => Ok(given.unwrap_or(b',')),
        (InputFormat::Tsv, given) => Ok(given.unwrap_or(b'\t')),
        (_, None) => Ok(b','),
        (format, Some(_)) => Err(CliError::Usage(format!(
            "--delimiter is for CSV and TSV input; `{}` is read as {}",
            path.display(),
            match format {
                InputFormat::Jsonl => "JSON lines",
                InputFormat::Ipc => "Arrow IPC",
                _ => "Parquet",
            }
        ))),
    }
}

/// Parses a schema written as `name:type,...`; every field may hold nulls.
pub fn parse_schema(spec: &str) -> Result<Schema> {
    let mut fields = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, ty)) = part.rsplit_once(':') else {
            return Err(CliError::Usage(format!(
                "--schema: `{part}` is not `name:type` (for example `amount:int64`)"
            )));
        };
        let data_type = match ty.trim().to_ascii_lowercase().as_str() {
            "utf8" | "string" | "str" => DataType::Utf8,
            "int8" => DataType::Int8,
            "int16" => DataType::Int16,
            "int32" => DataType::Int32,
            "int64" | "int" => DataType::Int64,
            "uint8" => DataType::UInt8,
            "uint16" => DataType::UInt16,
            "uint32" => DataType::UInt32,
            "uint64" => DataType::UInt64,
            "float32" => DataType::Float32,
            "float64" | "float" | "double" => DataType::Float64,
            "bool" | "boolean" => DataType::Boolean,
            "date32" | "date" => DataType::Date32,
            "timestamp_ms" => DataType::Timestamp(TimeUnit::Millisecond, None),
            "timestamp_us" | "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
            other => {
                return Err(CliError::Usage(format!(
                    "--schema: unknown type `{other}` for `{}`; use one of utf8, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool, date32, timestamp_ms, timestamp_us",
                    name.trim()
                )));
            }
        };
        if fields.iter().any(|f: &Field| f.name() == name.trim()) {
            return Err(CliError::Usage(format!(
                "--schema names the column `{}` twice",
                name.trim()
            )));
        }
        fields.push(Field::new(name.trim(), data_type, true));
    }
    if fields.is_empty() {
        return Err(CliError::Usage(
            "--schema is empty; write it as `name:type,...`".to_owned(),
        ));
    }
    Ok(Schema::new(fields))
}

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

/// The UTF-8 byte-order mark some editors put first in a text file.
pub(crate) const BOM: &str = "\u{feff}";

/// `text` without a byte-order mark first.
pub(crate) fn without_bom(text: String) -> String {
    match text.strip_prefix(BOM) {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// A file read from after its UTF-8 byte-order mark, if it starts with one (as files saved
/// by some Windows editors do): positions count from there, so rewinding goes back to it.
struct AfterBom {
    file: File,
    start: u64,
}

impl AfterBom {
    fn new(mut file: File) -> std::io::Result<AfterBom> {
        let mut head = [0u8; 3];
        let read = file.read(&mut head)?;
        let start = if head[..read] == *BOM.as_bytes() {
            3
        } else {
            0
        };
        file.seek(std::io::SeekFrom::Start(start))?;
        Ok(AfterBom { file, start })
    }
}

impl Read for AfterBom {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for AfterBom {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let to = match to {
            std::io::SeekFrom::Start(n) => std::io::SeekFrom::Start(n + self.start),
            other => other,
        };
        let at = self.file.seek(to)?;
        Ok(at.saturating_sub(self.start))
    }
}

/// A reader that counts the bytes it has read (and, for CSV, follows its quotes).
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
    quotes: Option<Arc<std::sync::Mutex<Quotes>>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(quotes) = &self.quotes {
            let mut quotes = quotes.lock().unwrap_or_else(|e| e.into_inner());
            quotes.feed(&buf[..n]);
            // Nothing read into room for something: the end of the file.
            quotes.ended |= n == 0 && !buf.is_empty();
        }
        Ok(n)
    }
}

fn open(path: &Path) -> Result<File> {
    let file = File::open(path).map_err(|e| CliError::io("read", path, e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(CliError::Usage(format!(
            "`{}` is a folder, not a data file",
            path.display()
        )));
    }
    Ok(file)
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

/// The columns of a file that its reader would cut short, read as their text and parsed
/// here, strictly: in JSON lines the integer columns (arrow-json would give `1.9` to an
/// integer column as 1, and `1e3` as 1000, where CSV's reader refuses it) and the dates and
/// times; in CSV the dates and times (arrow-csv reads `10:00:00.5` into a column of whole
/// seconds as `10:00:00`). A value that is not one of the column's type, or that the type
/// would cut short, is an error naming its row (and, through [`located`] or
/// [`csv_located`], its line and column).
struct StrictText {
    /// The schema the reader decodes with: text where the file's schema has an integer.
    read_schema: SchemaRef,
    /// The file's schema.
    schema: SchemaRef,
    /// The columns read as text.
    columns: Vec<usize>,
    /// Whether a number in a date or time column counts the type's units (JSON's numbers);
    /// otherwise it is text like any other.
    counts: bool,
    /// Rows of the file before the batch at hand.
    rows: u64,
}

/// A value of a JSON lines file that does not fit its column, by the row it is in (from 0,
/// counting JSON objects): the file is read again to say which line that is.
#[derive(Debug)]
struct BadValue {
    row: u64,
    key: String,
    reason: String,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}: {}", self.row, self.reason)
    }
}

impl std::error::Error for BadValue {}

/// Whether `ty` holds whole numbers only: an integer, or a decimal of scale 0 (as
/// [`whole_numbers`] infers for numbers past `i64`).
fn integral(ty: &DataType) -> bool {
    ty.is_integer() || matches!(ty, DataType::Decimal128(_, 0))
}

/// Whether `ty` is a date, time, timestamp or duration: JSON gives it as text, or as a
/// number that counts its units, which must then be whole.
fn temporal(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(..)
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Duration(_)
    )
}

/// Whether `text` is a JSON number (`-1`, `2.5`, `1e3`), as arrow-json gives a number read
/// as text: a date or time written as text is none.
fn number_text(text: &str) -> bool {
    let rest = text.strip_prefix('-').unwrap_or(text);
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let whole = digits(rest);
    if whole == 0 {
        return false;
    }
    let mut rest = &rest[whole..];
    if let Some(after) = rest.strip_prefix('.') {
        let n = digits(after);
        if n == 0 {
            return false;
        }
        rest = &after[n..];
    }
    if let Some(after) = rest.strip_prefix(['e', 'E']) {
        let after = after.strip_prefix(['+', '-']).unwrap_or(after);
        let n = digits(after);
        if n == 0 {
            return false;
        }
        rest = &after[n..];
    }
    rest.is_empty()
}

/// Whether `text` is a whole number as JSON writes one: digits after an optional `-`.
fn whole_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

impl StrictText {
    /// For JSON lines: integers, dates and times.
    fn new(schema: &SchemaRef) -> StrictText {
        Self::reading(schema, |ty| integral(ty) || temporal(ty), true)
    }

    /// `batches` with the columns read as text parsed (as they come when there are none).
    fn over(
        mut self,
        batches: impl Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + 'static,
    ) -> Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>>> {
        if self.columns.is_empty() {
            Box::new(batches)
        } else {
            Box::new(batches.map(move |batch| self.parse(batch?)))
        }
    }

    /// For CSV: dates and times.
    fn times(schema: &SchemaRef) -> StrictText {
        Self::reading(schema, temporal, false)
    }

    fn reading(
        schema: &SchemaRef,
        read_as_text: fn(&DataType) -> bool,
        counts: bool,
    ) -> StrictText {
        let columns: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| read_as_text(schema.field(i).data_type()))
            .collect();
        let read_schema = if columns.is_empty() {
            schema.clone()
        } else {
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .map(|field| match read_as_text(field.data_type()) {
                    true => field.as_ref().clone().with_data_type(DataType::Utf8),
                    false => field.as_ref().clone(),
                })
                .collect();
            Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
        };
        StrictText {
            read_schema,
            schema: schema.clone(),
            columns,
            counts,
            rows: 0,
        }
    }

    /// `batch` (read with the text schema) with its integer columns parsed.
    fn parse(&mut self, batch: RecordBatch) -> std::result::Result<RecordBatch, ArrowError> {
        use arrow_cast::{CastOptions, cast_with_options};
        let strictly = CastOptions {
            safe: false,
            ..CastOptions::default()
        };
        let mut columns = batch.columns().to_vec();
        for &index in &self.columns {
            let ty = self.schema.field(index).data_type();
            if temporal(ty) {
                columns[index] = self.temporal(&columns[index], index, &strictly)?;
                continue;
            }
            // A decimal's parser rounds a fraction (`1.5` to 2) and reads exponents: a
            // whole-number column takes digits only.
            let fraction = match ty {
                DataType::Decimal128(..) => columns[index]
                    .as_any()
                    .downcast_ref::<arrow_array::StringArray>()
                    .and_then(|text| {
                        (0..arrow_array::Array::len(text))
                            .find(|&row| {
                                arrow_array::Array::is_valid(text, row)
                                    && !whole_text(text.value(row))
                            })
                            .map(|row| (row, text.value(row)))
                    }),
                _ => None,
            };
            if let Some((row, value)) = fraction {
                return Err(ArrowError::ExternalError(Box::new(BadValue {
                    row: self.rows + row as u64,
                    key: self.schema.field(index).name().clone(),
                    reason: format!("`{value}` is not a valid {ty}"),
                })));
            }
            match cast_with_options(&columns[index], ty, &strictly) {
                Ok(parsed) => columns[index] = parsed,
                Err(_) => {
                    // Found again value by value, to name the first that does not fit.
                    let text = columns[index]
                        .as_any()
                        .downcast_ref::<arrow_array::StringArray>();
                    let bad = first_unfit(&columns[index], ty, &strictly);
                    let (Some(text), Some(row)) = (text, bad) else {
                        return Err(ArrowError::CastError(format!(
                            "a value of `{}` is not a valid {ty}",
                            self.schema.field(index).name()
                        )));
                    };
                    return Err(ArrowError::ExternalError(Box::new(BadValue {
                        row: self.rows + row as u64,
                        key: self.schema.field(index).name().clone(),
                        reason: format!("`{}` is not a valid {ty}", text.value(row)),
                    })));
                }
            }
        }
        self.rows += batch.num_rows() as u64;
        RecordBatch::try_new(self.schema.clone(), columns)
    }

    /// Column `index`, of a date, time, timestamp or duration type, read as text: its
    /// numbers (whole counts of the type's unit, as arrow-json reads them; one with a
    /// fraction or an exponent is an error, which arrow-json would cut to a whole count)
    /// and its text (parsed as the type) put together.
    fn temporal(
        &self,
        column: &oplink::arrow::array::ArrayRef,
        index: usize,
        strictly: &arrow_cast::CastOptions<'_>,
    ) -> std::result::Result<oplink::arrow::array::ArrayRef, ArrowError> {
        use arrow_array::{Array, BooleanArray, Int64Array, StringArray};
        use arrow_cast::cast_with_options;
        let ty = self.schema.field(index).data_type();
        let bad = |row: usize, value: &str| {
            ArrowError::ExternalError(Box::new(BadValue {
                row: self.rows + row as u64,
                key: self.schema.field(index).name().clone(),
                reason: format!("`{value}` is not a valid {ty}"),
            }))
        };
        let Some(text) = column.as_any().downcast_ref::<StringArray>() else {
            return Ok(column.clone());
        };
        // JSON's numbers: counts of the type's units, parsed apart from the text.
        let numbers = if self.counts {
            let is_number: BooleanArray = text
                .iter()
                .map(|v| Some(v.is_some_and(number_text)))
                .collect();
            let mut counts = Vec::with_capacity(text.len());
            for row in 0..text.len() {
                if !is_number.value(row) {
                    counts.push(None);
                    continue;
                }
                let value = text.value(row);
                match whole_text(value)
                    .then(|| value.parse::<i64>().ok())
                    .flatten()
                {
                    Some(count) => counts.push(Some(count)),
                    None => return Err(bad(row, value)),
                }
            }
            // The count in the type's own width (days and 32-bit times in 32 bits), then
            // the type.
            let width = match ty {
                DataType::Date32 | DataType::Time32(_) => DataType::Int32,
                _ => DataType::Int64,
            };
            let counts = cast_with_options(&Int64Array::from(counts), &width, strictly)
                .and_then(|counts| cast_with_options(&counts, ty, strictly))
                .map_err(|_| {
                    let row = (0..text.len())
                        .find(|&row| is_number.value(row))
                        .unwrap_or(0);
                    bad(row, text.value(row))
                })?;
            Some((is_number, counts))
        } else {
            None
        };
        // The text to parse: without JSON's numbers; in CSV an empty field is no value (in
        // JSON, `""` is text, and no date).
        let words: std::borrow::Cow<'_, StringArray> = match &numbers {
            Some((is_number, _)) => std::borrow::Cow::Owned(
                text.iter()
                    .zip(is_number.iter())
                    .map(|(value, number)| value.filter(|_| number != Some(true)))
                    .collect(),
            ),
            None if text.iter().any(|v| v == Some("")) => {
                std::borrow::Cow::Owned(text.iter().map(|v| v.filter(|v| !v.is_empty())).collect())
            }
            None => std::borrow::Cow::Borrowed(text),
        };
        let words = words.as_ref();
        let parsed = match cast_with_options(words, ty, strictly) {
            Ok(parsed) => parsed,
            Err(_) => {
                let row = first_unfit(words, ty, strictly).unwrap_or(0);
                // The parser's reason, when it gives one: "Error parsing timestamp from
                // 'noon': timestamp must contain at least 10 characters".
                let why = cast_with_options(&words.slice(row, 1), ty, strictly)
                    .err()
                    .and_then(|e| {
                        let message = e.to_string();
                        let (_, why) = message.split_once(" from '")?.1.split_once("': ")?;
                        Some(why.to_owned())
                    });
                return Err(match why {
                    Some(why) => ArrowError::ExternalError(Box::new(BadValue {
                        row: self.rows + row as u64,
                        key: self.schema.field(index).name().clone(),
                        reason: format!("`{}` is not a valid {ty}: {why}", words.value(row)),
                    })),
                    None => bad(row, words.value(row)),
                });
            }
        };
        for (row, word) in words.iter().enumerate() {
            if let Some(lost) = word.and_then(|word| cut_short(ty, word)) {
                return Err(ArrowError::ExternalError(Box::new(BadValue {
                    row: self.rows + row as u64,
                    key: self.schema.field(index).name().clone(),
                    reason: format!("`{}` {lost}", word.unwrap_or("")),
                })));
            }
        }
        match numbers {
            Some((is_number, counts)) => {
                oplink::arrow::select::zip::zip(&is_number, &counts, &parsed)
            }
            None => Ok(parsed),
        }
    }
}

/// What a date or time written as `text` loses read into a column of `ty`, in words that
/// follow the value: the time of day of a date column (or the day, for midnight ahead of
/// UTC), the digits of a fraction of a second past the type's unit; `None` when nothing (the
/// parser cuts these short without a word).
fn cut_short(ty: &DataType, text: &str) -> Option<String> {
    let text = text.trim();
    let kept = match ty {
        DataType::Timestamp(unit, _)
        | DataType::Time32(unit)
        | DataType::Time64(unit)
        | DataType::Duration(unit) => match unit {
            TimeUnit::Second => 0,
            TimeUnit::Millisecond => 3,
            TimeUnit::Microsecond => 6,
            TimeUnit::Nanosecond => 9,
        },
        DataType::Date64 => 3,
        DataType::Date32 => {
            // The time after the date (`T` or a space), up to its zone.
            let at = text
                .char_indices()
                .skip(8)
                .find(|(_, c)| matches!(c, 'T' | 't' | ' '))?
                .0;
            let rest = &text[at + 1..];
            let time = rest.split(['Z', 'z', '+', '-']).next().unwrap_or_default();
            if time.bytes().any(|b| matches!(b, b'1'..=b'9')) {
                return Some(format!(
                    "is finer than {ty} holds: its time of day `{}` would be dropped",
                    time.trim()
                ));
            }
            // Midnight ahead of UTC is the day before in UTC, which the date is taken in.
            let offset = rest[time.len()..].trim();
            return (offset.starts_with('+') && offset.bytes().any(|b| matches!(b, b'1'..=b'9')))
                .then(|| {
                    format!("falls on the day before in UTC at its offset `{offset}`, and {ty} holds the date in UTC")
                });
        }
        _ => return None,
    };
    // The fraction follows the seconds: `:SS.fff`.
    let bytes = text.as_bytes();
    let dot = memchr::memchr_iter(b'.', bytes).find(|&at| {
        at >= 3
            && bytes[at - 3] == b':'
            && bytes[at - 2].is_ascii_digit()
            && bytes[at - 1].is_ascii_digit()
    })?;
    let digits = &text[dot + 1..];
    let digits = &digits[..digits.bytes().take_while(u8::is_ascii_digit).count()];
    let significant = digits.trim_end_matches('0');
    (significant.len() > kept).then(|| {
        let unit = match kept {
            0 => "whole seconds",
            3 => "milliseconds",
            6 => "microseconds",
            _ => "nanoseconds",
        };
        match kept {
            0 => format!(
                "is finer than {ty} holds: it keeps {unit}, and its fraction `.{digits}` would be dropped"
            ),
            _ => format!(
                "is finer than {ty} holds: it keeps {unit}, and its fraction `.{digits}` would be cut to `.{}`",
                &digits[..kept]
            ),
        }
    })
}

/// The first row of `column` (text) that does not cast to `ty`: after a cast of the whole
/// column failed, to name the value.
fn first_unfit(
    column: &dyn arrow_array::Array,
    ty: &DataType,
    strictly: &arrow_cast::CastOptions<'_>,
) -> Option<usize> {
    (0..column.len())
        .find(|&row| arrow_cast::cast_with_options(&column.slice(row, 1), ty, strictly).is_err())
}

/// [`BadValue`] located in `path`: its line (the row's, blank lines skipped) and where its
/// key is on it.
fn located(path: &Path, bad: &BadValue, inferred: bool) -> CliError {
    let lines = File::open(path)
        .map(BufReader::new)
        .into_iter()
        .flat_map(BufRead::lines);
    let found = lines
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .nth(bad.row as usize);
    let (line, column) = match found {
        Some((index, Ok(text))) => (
            Some(index as u64 + 1),
            key_column(&text, std::slice::from_ref(&bad.key))
                .map(|at| format!("{at} (`{}`)", bad.key)),
        ),
        _ => (None, None),
    };
    CliError::Data {
        path: path.to_owned(),
        line,
        column,
        reason: format!(
            "{}{}",
            bad.reason,
            if inferred { INFERRED_HINT } else { "" }
        ),
    }
}

/// [`BadValue`] of a CSV file, located: its line (the header is record 1) and column.
fn csv_located(
    path: &Path,
    delimiter: u8,
    schema: &Schema,
    bad: &BadValue,
    inferred: bool,
) -> CliError {
    CliError::Data {
        path: path.to_owned(),
        line: Some(record_line(path, delimiter, bad.row + 2)),
        column: schema
            .index_of(&bad.key)
            .ok()
            .map(|index| format!("{} (`{}`)", index + 1, bad.key)),
        reason: format!(
            "{}{}",
            bad.reason,
            if inferred { INFERRED_HINT } else { "" }
        ),
    }
}

/// `schema` settled against the rows inference read, for the columns it took for dates and
/// times by their look alone (arrow-csv infers them by pattern):
/// - a column with a value that does not read as its type (`2024-13-01` for a date) is
///   text, as any column whose values are not all of one type;
/// - a timestamp column inferred without a zone whose values give an offset (`+05:30`,
///   `Z`) has the zone UTC: arrow-csv reads them as the instants they are, in UTC, and
///   without a zone they would be written as local times, the offset lost.
fn settle_times(schema: Schema, path: &Path, delimiter: u8) -> Schema {
    let temporal: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| schema.field(i).data_type().is_temporal())
        .collect();
    if temporal.is_empty() {
        return schema;
    }
    let Ok(mut reader) = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)
    else {
        return schema;
    };
    let mut offset = vec![false; schema.fields().len()];
    let mut values: Vec<Vec<String>> = vec![Vec::new(); schema.fields().len()];
    for record in reader.records().take(INFER_RECORDS).flatten() {
        for &i in &temporal {
            if let Some(value) = record.get(i).filter(|v| !v.is_empty()) {
                offset[i] |= gives_offset(value);
                values[i].push(value.to_owned());
            }
        }
    }
    let strictly = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let mut ty = field.data_type().clone();
            if let DataType::Timestamp(unit, None) = &ty
                && offset[i]
            {
                ty = DataType::Timestamp(*unit, Some("+00:00".into()));
            }
            if ty.is_temporal() {
                let text = arrow_array::StringArray::from_iter_values(&values[i]);
                if arrow_cast::cast_with_options(&text, &ty, &strictly).is_err() {
                    ty = DataType::Utf8;
                }
            }
            field.as_ref().clone().with_data_type(ty)
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// Whether a timestamp's text ends with an offset: `Z`, or `+hh`, `+hhmm`, `+hh:mm` (or
/// `-`) after its date, or a zone's name after a space (`EST`, `Europe/Paris`), which
/// arrow-rs reads too, turning the time into UTC.
fn gives_offset(text: &str) -> bool {
    let text = text.trim();
    if text.ends_with(['Z', 'z']) {
        return true;
    }
    if let Some((at, zone)) = text.rsplit_once(' ')
        && at.len() > 10
        && zone.contains(|c: char| c.is_ascii_alphabetic())
        && zone.parse::<arrow_array::timezone::Tz>().is_ok()
    {
        return true;
    }
    // The date's own dashes are in its first 10 characters.
    text.char_indices()
        .rev()
        .find(|(_, c)| matches!(c, '+' | '-'))
        .is_some_and(|(at, _)| {
            let zone = &text[at + 1..];
            at > 10
                && matches!(zone.len(), 2 | 4 | 5)
                && zone.chars().all(|c| c.is_ascii_digit() || c == ':')
        })
}

/// `schema` with text for every column inferred as `Null` (empty in every row inference
/// read): a value further on is then read, not dropped.
fn text_for_null(schema: Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Null => field.as_ref().clone().with_data_type(DataType::Utf8),
            _ => field.as_ref().clone(),
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// The names of `schema`'s columns, each in backticks.
fn names(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|field| format!("`{}`", field.name()))
        .collect()
}

/// The columns named by a CSV file's header line, every one `Utf8`.
pub(crate) fn csv_header(path: &Path, delimiter: u8) -> Result<Schema> {
    let (schema, _) = arrow_csv::reader::Format::default()
        .with_header(true)
        .with_delimiter(delimiter)
        .infer_schema(open(path)?, Some(0))
        .map_err(|e| csv_error(path, delimiter, None, e, false))?;
    Ok(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

/// The keys of the JSON object `text`, in order and as often as they are written (a parsed
/// object keeps one of each, sorted); `None` when `text` is no JSON object.
pub(crate) fn object_keys(text: &str) -> Option<Vec<String>> {
    /// The keys of one JSON object, in order.
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Keys>(text)
        .ok()
        .map(|Keys(keys)| keys)
}

/// A warning naming the keys of `--schema` that none of the first lines of a JSON lines
/// file has (each would read as a column of nulls: a typo, or a key of another case, which
/// JSON tells apart). Only a warning: a line that cannot be read ends the look (the reading
/// proper says what is wrong with it), and it looks at no more than the lines inference
/// reads, nor past 64 MiB. The caller rewinds the reader.
fn keys_never_seen<R: BufRead>(schema: &Schema, reader: &mut R) -> Option<String> {
    const MOST_BYTES: usize = 64 << 20;
    let mut seen = std::collections::HashSet::new();
    let mut line = Vec::new();
    let (mut lines, mut bytes) = (0, 0);
    for _ in 0..INFER_RECORDS {
        line.clear();
        match reader
            .by_ref()
            .take((MOST_BYTES - bytes) as u64)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes += n,
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            break;
        };
        if let Some(keys) = object_keys(text) {
            lines += 1;
            seen.extend(keys);
        }
        if bytes >= MOST_BYTES {
            break;
        }
    }
    let missing: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name())
        .filter(|name| !seen.contains(*name))
        .map(
            |name| match seen.iter().find(|key| key.eq_ignore_ascii_case(name)) {
                Some(near) => format!("`{name}` (the lines have `{near}`)"),
                None => format!("`{name}`"),
            },
        )
        .collect();
    if missing.is_empty() || lines == 0 {
        return None;
    }
    let (what, named) = match missing.split_last() {
        Some((last, [])) => ("a key", last.clone()),
        Some((last, rest)) => ("keys", format!("{} and {last}", rest.join(", "))),
        None => unreachable!("checked above"),
    };
    Some(format!(
        "--schema names {what} that none of the first {} has, read as nulls: {named}",
        crate::counted(lines, "line", "lines"),
    ))
}

/// `schema` with its fields in the order the keys first appear in the file (arrow-json
/// infers them sorted by name); the reader is left at the start.
fn in_file_order<R: BufRead + Seek>(schema: Schema, reader: &mut R) -> std::io::Result<Schema> {
    // Each key's place among the keys first seen (a map: a wide file has many thousands).
    let mut order: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut line = String::new();
    for _ in 0..INFER_RECORDS {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        if let Some(keys) = object_keys(&line) {
            for key in keys {
                let next = order.len();
                order.entry(key).or_insert(next);
            }
        }
    }
    reader.rewind()?;
    let position = |name: &str| order.get(name).copied().unwrap_or(usize::MAX);
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.sort_by_cached_key(|f| position(f.name()));
    Ok(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `schema` with an integer type for each `Float64` column that holds only whole numbers in
/// the lines inference read: arrow-json infers `Float64` for a number past `i64`'s range (a
/// 64-bit hash, an unsigned id), which would round every value of the column to 53 bits.
/// All of them at least 0 and within `u64`: `UInt64`; otherwise `Decimal128(20, 0)` while
/// every one has at most 20 digits, `Decimal128(38, 0)` up to 38. Longer ones stay `Float64`
/// (no Arrow integer holds them). Numbers are judged by their text, since `serde_json`
/// reads a whole number past both ranges as a float. The reader is left at the start.
fn whole_numbers<R: BufRead + Seek>(schema: Schema, reader: &mut R) -> std::io::Result<Schema> {
    use serde_json::value::RawValue;
    /// Of a column whose values read so far are all whole numbers: whether one is
    /// negative or past `u64`, and the most digits of one.
    #[derive(Clone, Copy, Default)]
    struct Whole {
        beyond_u64: bool,
        digits: usize,
    }
    let floats: Vec<&str> = schema
        .fields()
        .iter()
        .filter(|f| f.data_type() == &DataType::Float64)
        .map(|f| f.name().as_str())
        .collect();
    if floats.is_empty() {
        return Ok(schema);
    }
    let mut whole: std::collections::HashMap<&str, Option<Whole>> = floats
        .iter()
        .map(|name| (*name, Some(Whole::default())))
        .collect();
    let mut line = String::new();
    // The records inference read: blank lines are none.
    let mut records = 0;
    while records < INFER_RECORDS {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        records += 1;
        let Ok(object) =
            serde_json::from_str::<std::collections::HashMap<String, &RawValue>>(&line)
        else {
            continue;
        };
        for (name, kind) in whole.iter_mut() {
            let Some(seen) = kind else { continue };
            let text = match object.get(*name) {
                None => continue,
                Some(raw) if raw.get() == "null" => continue,
                Some(raw) => raw.get(),
            };
            if !whole_text(text) {
                *kind = None;
                continue;
            }
            let magnitude = text.strip_prefix('-').unwrap_or(text);
            seen.digits = seen.digits.max(magnitude.len());
            seen.beyond_u64 |= text.starts_with('-') || magnitude.parse::<u64>().is_err();
        }
    }
    reader.rewind()?;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| {
            let typed = |data_type| field.as_ref().clone().with_data_type(data_type);
            match whole.get(field.name().as_str()) {
                // A column without a value in the lines read here stays as inferred.
                Some(Some(w)) if w.digits == 0 => field.as_ref().clone(),
                Some(Some(w)) if !w.beyond_u64 => typed(DataType::UInt64),
                Some(Some(w)) if w.digits <= 20 => typed(DataType::Decimal128(20, 0)),
                Some(Some(w)) if w.digits <= 38 => typed(DataType::Decimal128(38, 0)),
                _ => field.as_ref().clone(),
            }
        })
        .collect();
    Ok(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The line (from 1) of `path` that holds byte `offset` (from the file's start).
fn line_at(path: &Path, offset: u64) -> u64 {
    let Ok(file) = File::open(path) else {
        return 1;
    };
    let mut before = file.take(offset);
    let (mut line, mut chunk) = (1, vec![0; 1 << 16]);
    while let Ok(n @ 1..) = before.read(&mut chunk) {
        line += memchr::memchr_iter(b'\n', &chunk[..n]).count() as u64;
    }
    line
}

/// What a field-count error means when the record holds a quote never closed.
const UNCLOSED_QUOTE: &str = "a field opened with `\"` is never closed: the quote runs to the end of the file, so this line took in the rest of it";

/// Where CSV record `record` of `path` starts (counted from 1 with the header, blank lines
/// left out, as arrow-csv counts them), in bytes: where the reader stood before the blank
/// lines ahead of it; and whether it is the file's last. `None` when the file cannot be
/// read again.
fn record_start(path: &Path, delimiter: u8, record: u64) -> Option<(u64, bool)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .ok()?;
    let mut row = csv::ByteRecord::new();
    let mut counted = 0;
    while counted < record {
        match reader.read_byte_record(&mut row) {
            // A blank line is no record to arrow-csv.
            Ok(true) if row.len() <= 1 && row.get(0).is_none_or(<[u8]>::is_empty) => {}
            Ok(true) => counted += 1,
            _ => return None,
        }
    }
    let start = row.position().map(csv::Position::byte)?;
    let last = matches!(reader.read_byte_record(&mut row), Ok(false));
    Some((start, last))
}

/// Whether record `record` (counted as [`record_start`] counts) opens a quote that is never
/// closed: it is the file's last (the quote took in the rest), and the quotes from its
/// start to the end of the file leave one open.
fn unclosed_quote(path: &Path, delimiter: u8, record: u64) -> bool {
    let Some((start, true)) = record_start(path, delimiter, record) else {
        return false;
    };
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let mut quotes = Quotes::new(delimiter);
    let mut chunk = vec![0; 1 << 16];
    if file.seek(std::io::SeekFrom::Start(start)).is_err() {
        return false;
    }
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => quotes.feed(&chunk[..n]),
            Err(_) => return false,
        }
    }
    quotes.open().is_some()
}

/// Where the quoted fields of CSV text open and close, followed through its bytes in order
/// (a field is quoted when a `"` starts it; `""` inside is a quote; a `"` elsewhere is
/// text): a quote opened and never closed makes a reader take the rest of the file as one
/// field, with no error of its own.
#[derive(Debug)]
struct Quotes {
    delimiter: u8,
    state: QuoteState,
    /// The byte before the bytes fed next (the start counts as a line break).
    last: u8,
    /// Bytes fed so far.
    fed: u64,
    /// Where the quote still open opened, in bytes from the start.
    opened: u64,
    /// Whether the end of the file was reached.
    ended: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum QuoteState {
    Outside,
    Inside,
    /// Just past a `"` inside a quoted field: a second `"` is a quote, anything else ends
    /// the quoting.
    Closing,
}

impl Quotes {
    fn new(delimiter: u8) -> Quotes {
        Quotes {
            delimiter,
            state: QuoteState::Outside,
            last: b'\n',
            fed: 0,
            opened: 0,
            ended: false,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        // A byte-order mark is no part of the first field.
        let skip = if self.fed == 0 && bytes.starts_with(BOM.as_bytes()) {
            BOM.len()
        } else {
            0
        };
        let mut i = skip;
        while i < bytes.len() {
            match self.state {
                QuoteState::Outside => {
                    let Some(k) = memchr::memchr(b'"', &bytes[i..]) else {
                        break;
                    };
                    let at = i + k;
                    let before = if at > skip {
                        bytes[at - 1]
                    } else if skip > 0 {
                        b'\n'
                    } else {
                        self.last
                    };
                    if before == self.delimiter || before == b'\n' || before == b'\r' {
                        self.state = QuoteState::Inside;
                        self.opened = self.fed + at as u64;
                    }
                    i = at + 1;
                }
                QuoteState::Inside => {
                    let Some(k) = memchr::memchr(b'"', &bytes[i..]) else {
                        break;
                    };
                    self.state = QuoteState::Closing;
                    i += k + 1;
                }
                QuoteState::Closing => {
                    self.state = if bytes[i] == b'"' {
                        QuoteState::Inside
                    } else {
                        QuoteState::Outside
                    };
                    i += 1;
                }
            }
        }
        if bytes.len() > skip {
            self.last = bytes[bytes.len() - 1];
        }
        self.fed += bytes.len() as u64;
    }

    /// Where a quote opened that is still open, in bytes from the start.
    fn open(&self) -> Option<u64> {
        (self.state == QuoteState::Inside).then_some(self.opened)
    }
}

/// The line of `path` on which its CSV record `record` (the header is record 1) starts:
/// blank lines and quoted line breaks make the two differ. `record` itself when the file
/// cannot be read again.
pub(crate) fn record_line(path: &Path, delimiter: u8, record: u64) -> u64 {
    // The csv crate's own line count leaves blank lines out, and a record's position is
    // where the reader stood before the blank lines ahead of it: count the line breaks up to
    // there, and those of the blank lines after.
    let Some((start, _)) = record_start(path, delimiter, record) else {
        return record;
    };
    // Read up to the record only (a bad value early in a large file), in chunks.
    let Ok(file) = std::fs::File::open(path) else {
        return record;
    };
    let mut bytes = BufReader::new(file).bytes();
    let mut line = 1;
    for _ in 0..start {
        match bytes.next() {
            Some(Ok(b'\n')) => line += 1,
            Some(Ok(_)) => {}
            _ => return record,
        }
    }
    for byte in bytes {
        match byte {
            Ok(b'\n') => line += 1,
            Ok(b'\r') => {}
            _ => break,
        }
    }
    line
}

/// The number after `word ` in `text`.
fn number_after(text: &str, word: &str) -> Option<u64> {
    let at = text.find(word)? + word.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// What a value error says when the schema was inferred.
const INFERRED_HINT: &str =
    " (the schema was inferred from the first rows; give `--schema` to set it)";

/// A CSV reader's error, with the line (of the file, the header being line 1) and the
/// column's name when the message gives them.
fn csv_error(
    path: &Path,
    delimiter: u8,
    schema: Option<&Schema>,
    error: ArrowError,
    inferred: bool,
) -> CliError {
    let message = match &error {
        ArrowError::ParseError(m) | ArrowError::CsvError(m) => m.clone(),
        other => other.to_string(),
    };
    // arrow-csv's `at line N` counts data records from 1 after the header; its `for line N`
    // counts the file's lines. Both are turned into the file's line.
    let (line, column, reason) = if let Some(value) = message
        .strip_prefix("Error while parsing value '")
        .and_then(|rest| rest.split_once("' as type '"))
    {
        let (value, rest) = value;
        let ty = rest.split('\'').next().unwrap_or_default();
        let hint = if inferred { INFERRED_HINT } else { "" };
        (
            // Records from 1 after the header: the header is record 1.
            number_after(&message, "at line ")
                .map(|record| record_line(path, delimiter, record + 1)),
            number_after(&message, "for column "),
            format!("`{value}` is not a valid {ty}{hint}"),
        )
    } else if message.starts_with("incorrect number of fields") {
        let expected = number_after(&message, "expected ");
        let got = message
            .rsplit("got ")
            .next()
            .map(str::to_owned)
            .unwrap_or_default();
        let record = number_after(&message, "for line ");
        (
            record.map(|record| record_line(path, delimiter, record)),
            None,
            if record.is_some_and(|record| unclosed_quote(path, delimiter, record)) {
                UNCLOSED_QUOTE.to_owned()
            } else {
                format!(
                    "{} where the header has {}",
                    crate::counted(&got, "field", "fields"),
                    expected.map_or("another number".to_owned(), |e| e.to_string())
                )
            },
        )
    } else if message.starts_with("Encountered unequal lengths") {
        // The csv crate's own count, while inferring: its lines leave blank lines out, so
        // they count records.
        let record = number_after(&message, "at line ");
        (
            record.map(|record| record_line(path, delimiter, record)),
            None,
            if record.is_some_and(|record| unclosed_quote(path, delimiter, record)) {
                UNCLOSED_QUOTE.to_owned()
            } else {
                format!(
                    "{} where the header has {}",
                    crate::counted(
                        number_after(&message, "found ")
                            .map_or("another number".to_owned(), |n| n.to_string()),
                        "field",
                        "fields"
                    ),
                    number_after(&message, "Expected ")
                        .map_or("another number".to_owned(), |n| n.to_string()),
                )
            },
        )
    } else if message.starts_with("Encountered invalid UTF-8") {
        // While reading: records counted from 1 with the header, fields from 1.
        (
            number_after(&message, "for line ").map(|record| record_line(path, delimiter, record)),
            number_after(&message, "and field ").map(|f| f.saturating_sub(1)),
            NOT_UTF8.to_owned(),
        )
    } else if message.starts_with("Encountered UTF-8 error") {
        // While inferring (the csv crate's words): fields counted from 0.
        (
            number_after(&message, "at line "),
            number_after(&message, "in field "),
            NOT_UTF8.to_owned(),
        )
    } else if message.starts_with("Error parsing column") {
        // "Error parsing column C at line R: Parser error: Error parsing timestamp from
        // 'V': why" (records counted as in the value branch above).
        let reason = message
            .split_once(": ")
            .map(|(_, r)| r.trim_start_matches("Parser error: "))
            .unwrap_or(&message);
        let reason = reason
            .strip_prefix("Error parsing ")
            .and_then(|rest| rest.split_once(" from '"))
            .and_then(|(what, rest)| {
                let (value, why) = rest.split_once("': ")?;
                Some(format!("`{value}` is not a valid {what}: {why}"))
            })
            .unwrap_or_else(|| reason.to_owned());
        let reason = if inferred {
            format!("{reason}{INFERRED_HINT}")
        } else {
            reason
        };
        (
            number_after(&message, "at line ")
                .map(|record| record_line(path, delimiter, record + 1)),
            number_after(&message, "Error parsing column "),
            reason,
        )
    } else {
        (None, None, message)
    };
    let column = column.map(|index| {
        let name = schema.and_then(|s| s.fields().get(index as usize));
        match name {
            Some(field) => format!("{} (`{}`)", index + 1, field.name()),
            None => (index + 1).to_string(),
        }
    });
    CliError::Data {
        path: path.to_owned(),
        line,
        column,
        reason,
    }
}

/// A JSON lines reader's error. arrow-json does not say where, so the file is read again
/// line by line to find the first line that is not valid JSON, or that does not decode with
/// the schema on its own.
/// A JSON lines reader's error, with the line and the field's column where they can be
/// found: `schema` is the one the file is read with, and whether it was inferred (then a
/// key it lacks is an error).
fn json_error(path: &Path, schema: Option<(&SchemaRef, bool)>, error: ArrowError) -> CliError {
    let fallback = || CliError::Data {
        path: path.to_owned(),
        line: None,
        column: None,
        reason: shortened(&error.to_string()),
    };
    let Ok(file) = File::open(path) else {
        return fallback();
    };
    // The lines inference reads, each valid JSON on its own, kept to find the first one
    // whose type disagrees with those before it (below).
    let mut read: Vec<(usize, String)> = Vec::new();
    let mut decoder: Option<arrow_json::reader::Decoder> = None;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        // A byte-order mark is no part of the first line's JSON (the reader skips it).
        let line = line.map(|l| if index == 0 { without_bom(l) } else { l });
        let Ok(line) = line else {
            return CliError::Data {
                path: path.to_owned(),
                line: Some(index as u64 + 1),
                column: None,
                reason: NOT_UTF8.to_owned(),
            };
        };
        if line.trim().is_empty() {
            continue;
        }
        let value = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(value) => value,
            // JSON documents over several lines (pretty-printed), which are no JSON lines.
            Err(bad)
                if bad.is_eof()
                    && read.is_empty()
                    && let Some((n, arrays)) = documents(path) =>
            {
                let reason = match n {
                    1 => "one JSON document over several lines, where JSON lines hold one object per line (it converts with `jq -c '.[]'` for an array of objects, `jq -c .` for one object)".to_owned(),
                    n => format!(
                        "{n} JSON documents written over several lines, where JSON lines hold one object per line (they convert with {})",
                        if arrays { "`jq -c '.[]'`, being arrays" } else { "`jq -c .`" }
                    ),
                };
                return CliError::Data {
                    path: path.to_owned(),
                    line: Some(index as u64 + 1),
                    column: None,
                    reason,
                };
            }
            Err(bad) => {
                return CliError::Data {
                    path: path.to_owned(),
                    line: Some(index as u64 + 1),
                    column: Some(bad.column().to_string()),
                    reason: format!("not valid JSON: {}", without_position(&bad.to_string())),
                };
            }
        };
        if !value.is_object() {
            let reason = if value.is_array() {
                "a JSON array where JSON lines hold one object per line (a file of one array converts with `jq -c '.[]'`)".to_owned()
            } else {
                format!(
                    "{} where JSON lines hold one object per line",
                    json_kind(&value)
                )
                .replace("true or false where", "`true` or `false` where")
            };
            return CliError::Data {
                path: path.to_owned(),
                line: Some(index as u64 + 1),
                column: None,
                reason,
            };
        }
        let Some((schema, inferred)) = schema else {
            read.push((index, line));
            if read.len() == INFER_RECORDS {
                break; // inference reads no further
            }
            continue;
        };
        // Read as the run reads it (numbers taken as text where the schema has text), one
        // decoder for every line.
        let decoder = match &mut decoder {
            Some(decoder) => decoder,
            None => match arrow_json::ReaderBuilder::new(schema.clone())
                .with_coerce_primitive(true)
                .with_strict_mode(inferred)
                .build_decoder()
            {
                Ok(made) => decoder.insert(made),
                Err(_) => return fallback(),
            },
        };
        let decoded = decoder
            .decode(line.as_bytes())
            .and_then(|_| decoder.decode(b"\n"))
            .and_then(|_| decoder.flush());
        if let Err(bad) = decoded {
            let text = bad.to_string();
            if let Some(key) = text
                .split_once("column '")
                .and_then(|(_, rest)| rest.split_once("' missing from schema"))
                .map(|(key, _)| key)
            {
                return CliError::Data {
                    path: path.to_owned(),
                    line: Some(index as u64 + 1),
                    column: key_column(&line, &[key.to_owned()]).map(|at| at.to_string()),
                    reason: format!(
                        "the key `{key}` is not among the columns inferred from the first lines; give `--schema` to name the columns to read"
                    ),
                };
            }
            let field = text
                .split_once("field '")
                .and_then(|(_, rest)| rest.split_once('\''))
                .map(|(name, _)| name.to_owned());
            let column = field.as_ref().and_then(|name| {
                key_column(&line, std::slice::from_ref(name)).map(|at| format!("{at} (`{name}`)"))
            });
            // A key inference took for a list (a list on some line, a plain value on
            // others), read here as a plain value: said with the line of a list.
            let value_here = field.as_ref().and_then(|key| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line)
                    .ok()
                    .and_then(|mut object| object.remove(key))
            });
            if inferred
                && let Some(key) = &field
                && text.contains(&format!("whilst decoding field '{key}': expected ["))
                && value_here
                    .as_ref()
                    .is_some_and(|v| !v.is_array() && !v.is_null())
                && let Some(list_line) = first_list_of(path, key)
            {
                let here = value_here.as_ref().map(json_kind);
                return CliError::Data {
                    path: path.to_owned(),
                    line: Some(index as u64 + 1),
                    column,
                    reason: format!(
                        "the key `{key}` holds {} here, and a list on line {list_line}: a column holds one type (make every value of the key a list)",
                        here.unwrap_or("a plain value")
                    ),
                };
            }
            return CliError::Data {
                path: path.to_owned(),
                line: Some(index as u64 + 1),
                column,
                reason: format!(
                    "{}{}",
                    shortened(text.strip_prefix("Json error: ").unwrap_or(&text)),
                    if inferred { INFERRED_HINT } else { "" }
                ),
            };
        }
    }
    if schema.is_none()
        && let Some((index, why)) = first_disagreeing(&read)
    {
        let at = read.iter().position(|(i, _)| *i == index).unwrap_or(0);
        let line = &read[at].1;
        let (reason, column) = match disagreeing_key(&read[..at], (index, line)) {
            Some(found) => (
                match found.before {
                    Against::Itself => format!(
                        "the key `{}` holds {} here whose elements disagree in JSON type: a list's elements make one column, which holds one type (make them agree)",
                        found.path(),
                        found.here
                    ),
                    before => format!(
                        "the key `{}` holds {} here, and {}: a column holds one type (make the values of the key agree)",
                        found.path(),
                        found.here,
                        match before {
                            Against::Value(before, kind) if before == index + 1 => {
                                format!("{kind} before it on this line")
                            }
                            Against::Value(before, kind) => format!("{kind} on line {before}"),
                            _ => "other values before it".to_owned(),
                        }
                    ),
                },
                key_column(line, &found.keys).map(|at| at.to_string()),
            ),
            None => (
                format!(
                    "a field's JSON type here disagrees with the values before it ({})",
                    shortened(why.strip_prefix("Json error: ").unwrap_or(&why))
                ),
                None,
            ),
        };
        return CliError::Data {
            path: path.to_owned(),
            line: Some(index as u64 + 1),
            column,
            reason,
        };
    }
    fallback()
}

/// How many JSON documents the file at `path` (past a byte-order mark) holds one after
/// another, however many lines each spans, when it is nothing else: asked only of a file
/// whose first line is not JSON on its own (`jq .` writes a stream of objects so).
/// With the count, whether every document is an array (of objects, as a rule).
fn documents(path: &Path) -> Option<(usize, bool)> {
    let file = File::open(path).and_then(AfterBom::new).ok()?;
    let (mut count, mut arrays) = (0, true);
    for document in
        serde_json::Deserializer::from_reader(BufReader::new(file)).into_iter::<serde_json::Value>()
    {
        arrays &= document.ok()?.is_array();
        count += 1;
    }
    (count > 0).then_some((count, arrays))
}

/// The line (from 1) of the first of the lines inference reads whose top-level `key` holds
/// a list.
fn first_list_of(path: &Path, key: &str) -> Option<usize> {
    let file = File::open(path).and_then(AfterBom::new).ok()?;
    BufReader::new(file)
        .lines()
        .take(INFER_RECORDS)
        .map_while(std::result::Result::ok)
        .position(|line| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line)
                .is_ok_and(|object| object.get(key).is_some_and(serde_json::Value::is_array))
        })
        .map(|index| index + 1)
}

/// What a JSON value is, in words: `a number`.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "true or false",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A value whose JSON type disagrees with the values before it in its column, found by
/// [`disagreeing_key`].
struct Disagreement {
    /// The keys of the path, from the line's object (`[]` for an array's elements).
    keys: Vec<String>,
    /// The value here, in words.
    here: &'static str,
    /// What it disagrees with.
    before: Against,
}

/// What a value disagrees with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Against {
    /// The nearest earlier value that disagrees with it: its line (from 1) and its kind in
    /// words.
    Value(usize, &'static str),
    /// The earlier values, only together.
    Together,
    /// Its own elements, whichever came before (an array that infers as no column alone).
    Itself,
}

/// What in `line` (numbered from 0 in the file) arrow-json's inference cannot take for the
/// same column as the lines of `before` gave it (or the values before it on the line, in an
/// array): what a failed inference means. `None` when nothing is found to disagree (or
/// `line` is no JSON serde_json reads).
fn disagreeing_key(
    before: &[(usize, String)],
    (index, line): (usize, &str),
) -> Option<Disagreement> {
    let values: Vec<(usize, serde_json::Value)> = before
        .iter()
        .map(|(index, line)| (*index, line.as_str()))
        .chain([(index, line)])
        .filter_map(|(index, line)| Some((index + 1, serde_json::from_str(line).ok()?)))
        .collect();
    let values: Vec<(usize, &serde_json::Value)> = values.iter().map(|(n, v)| (*n, v)).collect();
    let (mut keys, here, before) = disagreeing_in(&values).filter(|(path, ..)| !path.is_empty())?;
    keys.reverse();
    Some(Disagreement { keys, here, before })
}

impl Disagreement {
    /// The key's path from the line's object: `a`, `a.b` (a key inside objects that agree),
    /// `a[]` (the elements of the arrays of key `a`).
    fn path(&self) -> String {
        let mut words = String::new();
        for key in &self.keys {
            if !words.is_empty() && key != "[]" {
                words.push('.');
            }
            words.push_str(key);
        }
        words
    }
}

/// The column (from 1, in bytes) of the first key of `keys` in `line`, or of the innermost
/// key before an array's elements (which element is not known here): each key searched
/// as a key (its JSON string followed by `:`) after the one before it, so that a value
/// that reads as the key is passed over. `None` when one is not found so (a key written
/// with escapes other than serde_json's).
fn key_column(line: &str, keys: &[String]) -> Option<usize> {
    let mut at = None;
    for key in keys.iter().take_while(|key| *key != "[]") {
        let quoted = serde_json::to_string(key).ok()?;
        let mut from = at.map_or(0, |at: usize| at + 1);
        at = loop {
            let found = from + line.get(from..)?.find(&quoted)?;
            let after = found + quoted.len();
            if line[after..].trim_start().starts_with(':') {
                break Some(found);
            }
            from = after;
        };
    }
    at.map(|at| at + 1)
}

/// Whether `values` (of one column, with their line numbers) infer as one column.
fn one_column(values: &[(usize, &serde_json::Value)]) -> bool {
    let text: String = values
        .iter()
        .map(|(_, value)| format!("{{\"k\":{value}}}\n"))
        .collect();
    arrow_json::reader::infer_json_schema(BufReader::new(text.as_bytes()), None).is_ok()
}

/// What [`disagreeing_in`] finds: the path's keys (from the innermost), the value in words,
/// the nearest earlier value that disagrees.
type Found = (Vec<String>, &'static str, Against);

/// The first value of the column `values` (in file order, with their line numbers) that
/// disagrees with those before it, as [`disagreeing_key`] gives it (the path's keys from the
/// innermost). Inside objects, the key that disagrees; inside arrays, the element. Each
/// inference is of one column's values, and only the failing key's column is searched
/// further, so the whole costs a few times inferring the lines.
fn disagreeing_in(values: &[(usize, &serde_json::Value)]) -> Option<Found> {
    use serde_json::Value;
    let values: Vec<(usize, &Value)> = values
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_null())
        .collect();
    if one_column(&values) {
        return None;
    }
    // Invariant: the first `good` values infer as one column; the first `bad` do not.
    let (mut good, mut bad) = (0, values.len());
    while bad - good > 1 {
        let middle = good + (bad - good) / 2;
        if one_column(&values[..middle]) {
            good = middle;
        } else {
            bad = middle;
        }
    }
    let (line, value) = values[bad - 1];
    let earlier = &values[..bad - 1];
    match value {
        // Objects before it: the key of it that disagrees.
        Value::Object(object) if earlier.iter().all(|(_, v)| v.is_object()) => {
            for (key, inner) in object {
                let column: Vec<(usize, &Value)> = earlier
                    .iter()
                    .filter_map(|(line, v)| Some((*line, v.get(key)?)))
                    .chain([(line, inner)])
                    .collect();
                if let Some((mut path, here, before)) = disagreeing_in(&column) {
                    path.push(key.clone());
                    return Some((path, here, before));
                }
            }
        }
        // Arrays (or plain values, which inference takes for one-element lists) before it:
        // the element of it that disagrees.
        Value::Array(items) if earlier.iter().all(|(_, v)| !v.is_object()) => {
            let column: Vec<(usize, &Value)> = earlier
                .iter()
                .flat_map(|(line, v)| match v {
                    Value::Array(items) => items.iter().map(|item| (*line, item)).collect(),
                    other => vec![(*line, *other)],
                })
                .chain(items.iter().map(|item| (line, item)))
                .collect();
            if let Some((mut path, here, before)) = disagreeing_in(&column) {
                path.push("[]".to_owned());
                return Some((path, here, before));
            }
        }
        _ => {}
    }
    // A value that is no column alone (`[1, [2]]`: inside a list, a plain value and a list
    // do not mix, where one key's do) disagrees with itself, whatever came before.
    if value.is_array() && !one_column(&[(line, value)]) {
        return Some((Vec::new(), json_kind(value), Against::Itself));
    }
    let nearest = earlier
        .iter()
        .rev()
        .take(1_000)
        .find(|one| !one_column(&[**one, (line, value)]))
        .map(|(line, was)| (*line, json_kind(was)));
    Some((
        Vec::new(),
        json_kind(value),
        nearest.map_or(Against::Together, |(line, kind)| Against::Value(line, kind)),
    ))
}

/// The first of `lines` (numbered from 0 in the file) at which inferring a schema from the
/// lines up to it fails, with the failure: inference fails from there on, so a binary search
/// over the prefixes finds it.
fn first_disagreeing(lines: &[(usize, String)]) -> Option<(usize, String)> {
    let infer = |count: usize| {
        let text: String = lines[..count]
            .iter()
            .map(|(_, line)| format!("{line}\n"))
            .collect();
        arrow_json::reader::infer_json_schema(BufReader::new(text.as_bytes()), None)
            .err()
            .map(|e| e.to_string())
    };
    let why = infer(lines.len())?;
    // Invariant: the first `good` lines infer; the first `bad` lines do not.
    let (mut good, mut bad, mut last) = (0, lines.len(), why);
    while bad - good > 1 {
        let middle = good + (bad - good) / 2;
        match infer(middle) {
            Some(why) => (bad, last) = (middle, why),
            None => good = middle,
        }
    }
    Some((lines[bad - 1].0, last))
}

/// An arrow-rs message without the Rust debug dump some carry (`RangeOutOfBounds { range:
/// .., error_trace: .. }`), cut to a readable length.
fn arrow_words(message: &str) -> String {
    shortened(message.split(" { ").next().unwrap_or(message))
}

/// A reader's message cut to a readable length: arrow-json quotes whole values in its
/// messages (a line's every field, in Rust's debug notation).
fn shortened(message: &str) -> String {
    const MAX: usize = 300;
    match message.char_indices().nth(MAX) {
        Some((at, _)) => format!("{} …", &message[..at]),
        None => message.to_owned(),
    }
}

/// serde_json's message without its " at line L column C" suffix.
pub(crate) fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Refuses a file that is no Parquet file, or one cut short, before parquet-rs says only
/// "Corrupt footer": a Parquet file starts with `PAR1` and ends with its footer's length and
/// `PAR1` (`PARE` at both ends when the footer is encrypted, which this reader cannot read).
fn parquet_magic(file: &File) -> std::result::Result<(), String> {
    use std::os::unix::fs::FileExt;
    let Some(size) = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
    else {
        return Ok(());
    };
    let read = |at: u64| {
        let mut magic = [0u8; 4];
        file.read_exact_at(&mut magic, at).ok().map(|()| magic)
    };
    if size == 0 {
        return Err("it is empty".to_owned());
    }
    let head = read(0);
    let tail = parquet_tail(file, size);
    match (head, tail) {
        // Its magic at both ends and the footer's length: 12 bytes at the least.
        (Some(head), _) if &head == b"PAR1" && size < 12 => Err(format!(
            "it is cut short: it starts as a Parquet file, but is {size} bytes long, shorter than any"
        )),
        // Encrypted footer mode: `PARE` at both ends, and nothing readable without keys.
        (Some(head), _) if &head == b"PARE" => Err(
            "it is a Parquet file whose footer is encrypted, which `oplink run` cannot read: it holds no keys to decrypt it".to_owned(),
        ),
        (Some(head), _) if &head != b"PAR1" => Err(format!(
            "it is not a Parquet file: it starts with {}, not `PAR1`",
            shown(&head)
        )),
        (None, _) => Err(format!(
            "it is not a Parquet file: it is {size} bytes long, shorter than any"
        )),
        // The footer's length, just before the closing magic, must fit the file.
        (_, Some((footer, end))) if &end == b"PAR1" => {
            if u64::from(footer) + 12 > size {
                return Err(format!(
                    "it is damaged: its footer says it is {footer} bytes long, but a file of {size} bytes has room for {} at most",
                    size - 12
                ));
            }
            Ok(())
        }
        _ => Err(
            "it is cut short: it starts as a Parquet file, but does not end with the footer every Parquet file ends with".to_owned(),
        ),
    }
}

/// Why a file to be read as text (`format`) is not: it starts as a binary format does (a
/// Parquet or Arrow file named `.csv`, a compressed file), which a text reader would take
/// for text and refuse at some line, or read as one column.
fn not_text(file: &File, format: InputFormat) -> Option<String> {
    use std::os::unix::fs::FileExt;
    // Each magic in full, so that no header line of a text file is taken for one.
    let mut head = [0u8; 10];
    let n = file.read_at(&mut head, 0).ok()?;
    let head = &head[..n];
    // A Parquet file ends with its footer's length, which must fit, and the magic again.
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let parquet_end = |magic: &[u8; 4]| {
        parquet_tail(file, size)
            .is_some_and(|(footer, end)| &end == magic && u64::from(footer) + 12 <= size)
    };
    let (what, magic, instead) = if head.starts_with(b"PAR1") && parquet_end(b"PAR1") {
        (
            "a Parquet file",
            4,
            "give `--format parquet`, or name it `.parquet`",
        )
    } else if head.starts_with(b"PARE") && parquet_end(b"PARE") {
        (
            "a Parquet file whose footer is encrypted",
            4,
            "`oplink run` cannot read it, having no keys to decrypt it",
        )
    } else if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        (
            "UTF-16 text",
            2,
            "convert it to UTF-8 first (`iconv -f utf-16 -t utf-8`)",
        )
    } else if head.starts_with(b"ARROW1\0\0") {
        (
            "an Arrow IPC file",
            6,
            "give `--format ipc`, or name it `.arrow`",
        )
    } else if head.starts_with(&[0xff; 4]) {
        (
            "an Arrow IPC stream",
            4,
            "give `--format ipc`, or name it `.arrows`",
        )
    } else if head.starts_with(&[0x1f, 0x8b]) {
        ("compressed with gzip", 2, "decompress it first (`gunzip`)")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        (
            "compressed with Zstandard",
            4,
            "decompress it first (`unzstd`)",
        )
    } else if head.starts_with(b"BZh")
        && head.get(3).is_some_and(u8::is_ascii_digit)
        && head.get(4..10) == Some(&[0x31, 0x41, 0x59, 0x26, 0x53, 0x59][..])
    {
        (
            "compressed with bzip2",
            3,
            "decompress it first (`bunzip2`)",
        )
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        ("compressed with xz", 6, "decompress it first (`unxz`)")
    } else if head.starts_with(b"PK\x03\x04") {
        ("a zip archive", 4, "unpack it first (`unzip`)")
    } else {
        return None;
    };
    let text = match format {
        InputFormat::Csv => "CSV",
        InputFormat::Tsv => "TSV",
        _ => "JSON lines",
    };
    Some(format!(
        "it is {what} (it starts with {}), not {text}: {instead}",
        shown(&head[..magic])
    ))
}

/// What a CSV, TSV or JSON lines file that is not UTF-8 is told: text in another encoding
/// (Latin-1, Windows-1252) is the usual cause.
const NOT_UTF8: &str = "the text is not valid UTF-8 (text in another encoding can be converted first, e.g. `iconv -f latin1 -t utf-8`)";

/// The last 8 bytes of a Parquet file of `size` bytes: its footer's length and its closing
/// magic (`PAR1`, or `PARE` for an encrypted footer); `None` for a file too short for them.
fn parquet_tail(file: &File, size: u64) -> Option<(u32, [u8; 4])> {
    use std::os::unix::fs::FileExt;
    let mut tail = [0u8; 8];
    let at = size.checked_sub(8)?;
    file.read_exact_at(&mut tail, at).ok()?;
    let [a, b, c, d, magic @ ..] = tail;
    Some((u32::from_le_bytes([a, b, c, d]), magic))
}

/// The first bytes of a file, as text when they are printable, else in hex.
pub(crate) fn shown(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("`{}`", String::from_utf8_lossy(bytes))
    } else {
        format!("the bytes {bytes:02x?}")
    }
}

/// The first column of `schema` with timestamps, at any depth, in a time zone that is
/// neither a zone's name nor an offset, and that zone.
fn unknown_zone(schema: &Schema) -> Option<(&str, &str)> {
    fn zone_in(ty: &DataType) -> Option<&str> {
        match ty {
            DataType::Timestamp(_, Some(zone)) => zone
                .parse::<arrow_array::timezone::Tz>()
                .is_err()
                .then_some(zone.as_ref()),
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::ListView(f)
            | DataType::LargeListView(f)
            | DataType::FixedSizeList(f, _)
            | DataType::Map(f, _)
            | DataType::RunEndEncoded(_, f) => zone_in(f.data_type()),
            DataType::Struct(fields) => fields.iter().find_map(|f| zone_in(f.data_type())),
            DataType::Union(fields, _) => fields.iter().find_map(|(_, f)| zone_in(f.data_type())),
            DataType::Dictionary(_, values) => zone_in(values),
            _ => None,
        }
    }
    schema
        .fields()
        .iter()
        .find_map(|f| Some((f.name().as_str(), zone_in(f.data_type())?)))
}

/// The first column name that `schema` holds twice, if any.
/// (In one pass: a file may have tens of thousands of columns.)
pub fn named_twice(schema: &Schema) -> Option<&str> {
    let mut seen = std::collections::HashSet::with_capacity(schema.fields().len());
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .find(|name| !seen.insert(*name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_time_loses_in_its_column() {
        let ms = DataType::Timestamp(TimeUnit::Millisecond, Some("+05:30".into()));
        let lost = |ty: &DataType, text: &str| cut_short(ty, text);
        // Offsets hold colons and no fraction; trailing zeros lose nothing.
        assert_eq!(lost(&ms, "2024-01-01T10:00:00.123+05:30"), None);
        assert_eq!(lost(&ms, "2024-01-01T10:00:00.123000Z"), None);
        assert_eq!(lost(&ms, "2024-01-01T10:00:00+05:30"), None);
        assert_eq!(
            lost(&ms, "2024-01-01T10:00:00.1234+05:30").as_deref(),
            Some(
                "is finer than Timestamp(ms, \"+05:30\") holds: it keeps milliseconds, and its fraction `.1234` would be cut to `.123`"
            )
        );
        assert_eq!(
            lost(&DataType::Time32(TimeUnit::Second), "10:00:00.5").as_deref(),
            Some(
                "is finer than Time32(s) holds: it keeps whole seconds, and its fraction `.5` would be dropped"
            )
        );
        let ns = DataType::Timestamp(TimeUnit::Nanosecond, None);
        assert_eq!(lost(&ns, "2024-01-01 10:00:00.123456789"), None);
        assert!(lost(&ns, "2024-01-01 10:00:00.1234567891").is_some());
        assert_eq!(lost(&DataType::Date32, "2024-01-01"), None);
        assert_eq!(
            lost(&DataType::Date32, "2024-01-01 00:00:00.000-08:00"),
            None
        );
        assert_eq!(
            lost(&DataType::Date32, "2024-01-01 00:00:01").as_deref(),
            Some("is finer than Date32 holds: its time of day `00:00:01` would be dropped")
        );
        // Midnight ahead of UTC is the day before there; behind it, the same day.
        assert_eq!(
            lost(&DataType::Date32, "2024-01-01T00:00:00+05:30").as_deref(),
            Some(
                "falls on the day before in UTC at its offset `+05:30`, and Date32 holds the date in UTC"
            )
        );
        assert_eq!(lost(&DataType::Date32, "2024-01-01T00:00:00+00:00"), None);
        assert_eq!(lost(&DataType::Date32, "2024-01-01T00:00:00Z"), None);
        assert_eq!(lost(&DataType::Int64, "2024-01-01 00:00:01.5"), None);
    }

    #[test]
    fn a_timestamp_with_an_offset_is_told_from_a_local_one() {
        for with in [
            "2024-01-01T10:00:00Z",
            "2024-01-01 10:00:00+05:30",
            "2024-01-01T10:00:00.123-0800",
            "2024-01-01T10:00:00+02",
            "2024-01-01T10:00:00 EST",
            "2024-01-01 10:00:00.5 Europe/Paris",
        ] {
            assert!(gives_offset(with), "{with}");
        }
        for without in [
            "2024-01-01T10:00:00",
            "2024-01-01",
            "2024-01-01 10:00:00.5",
            "2024-01-01 10:00:00 PM",
            "",
        ] {
            assert!(!gives_offset(without), "{without}");
        }
    }

    #[test]
    fn the_first_name_given_twice_is_found() {
        let schema = |names: &[&str]| {
            Schema::new(
                names
                    .iter()
                    .map(|n| Field::new(*n, DataType::Int8, true))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(named_twice(&schema(&["a", "b", "c"])), None);
        assert_eq!(named_twice(&schema(&["a", "b", "b", "a"])), Some("b"));
        assert_eq!(named_twice(&schema(&[])), None);
    }

    #[test]
    fn arrow_messages_lose_their_debug_dumps_and_length() {
        assert_eq!(
            arrow_words(
                "Unable to get root as message: RangeOutOfBounds { range: 8..16, error_trace: ErrorTrace([]) }"
            ),
            "Unable to get root as message: RangeOutOfBounds"
        );
        let long = "x".repeat(1000);
        assert_eq!(arrow_words(&long), format!("{} …", "x".repeat(300)));
    }

    #[test]
    fn a_wide_file_gets_fewer_rows_per_batch() {
        assert_eq!(rows_per_batch(8192, 2), 8192);
        assert_eq!(rows_per_batch(8192, 20_000), 419);
        assert_eq!(rows_per_batch(MAX_BATCH_SIZE, 2_000), 4194);
        assert_eq!(rows_per_batch(8192, usize::MAX), 1);
    }

    #[test]
    fn a_schema_spec_names_every_field_and_refuses_unknown_types() {
        let schema = parse_schema("customer:utf8, amount:int64,price:float64").unwrap();
        assert_eq!(schema.field(1).data_type(), &DataType::Int64);
        assert_eq!(schema.fields().len(), 3);
        assert_eq!(
            parse_schema("amount:money").unwrap_err().to_string(),
            "--schema: unknown type `money` for `amount`; use one of utf8, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool, date32, timestamp_ms, timestamp_us"
        );
        assert_eq!(
            parse_schema("amount").unwrap_err().to_string(),
            "--schema: `amount` is not `name:type` (for example `amount:int64`)"
        );
        assert_eq!(
            parse_schema(" , ").unwrap_err().to_string(),
            "--schema is empty; write it as `name:type,...`"
        );
        // A name may hold a `:`: the type is after the last one.
        let schema = parse_schema("time:utc:timestamp_ms").unwrap();
        assert_eq!(schema.field(0).name(), "time:utc");
    }

    #[test]
    fn the_format_comes_from_the_extension_or_a_clear_error() {
        assert_eq!(
            input_format(Path::new("a.PARQUET"), None).unwrap(),
            InputFormat::Parquet
        );
        // A file that is there (this crate's manifest), of no data file's extension.
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert_eq!(
            input_format(&manifest, None).unwrap_err().to_string(),
            format!(
                "cannot tell the format of `{}` from its extension; name it with `--format csv|tsv|jsonl|ipc|parquet`",
                manifest.display()
            )
        );
        // A compressed file, named as one: what to do.
        let dir = tempfile::tempdir().unwrap();
        let packed = dir.path().join("orders.csv.gz");
        std::fs::write(&packed, [0x1f, 0x8b, 8, 0]).unwrap();
        assert_eq!(
            input_format(&packed, None).unwrap_err().to_string(),
            format!(
                "`{}` is named as gzip, but `oplink run` reads no compressed files; decompress it first (`gunzip`)",
                packed.display()
            )
        );
        assert_eq!(
            input_format(Path::new("no-such-data.txt"), None)
                .unwrap_err()
                .to_string(),
            "`no-such-data.txt` does not exist"
        );
    }

    /// A disagreeing key's column is that of the key, not of a value that reads as it, and
    /// a key holding a `.` is one key.
    #[test]
    fn a_disagreeing_key_is_found_as_a_key() {
        let keys = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        let line = r#"{"x":"a", "a" :{"b":"b","c":{"b":1}}}"#;
        assert_eq!(key_column(line, &keys(&["a"])), Some(11));
        assert_eq!(key_column(line, &keys(&["a", "b"])), Some(17));
        assert_eq!(key_column(line, &keys(&["a", "c", "[]", "d"])), Some(25));
        assert_eq!(key_column(line, &keys(&["z"])), None);
        let before = [(0, r#"{"a.b":{"c":1}}"#.to_owned())];
        let found = disagreeing_key(&before, (1, r#"{"x":"a.b","a.b":5}"#)).unwrap();
        assert_eq!(
            (
                found.path().as_str(),
                &found.keys[..],
                found.here,
                found.before
            ),
            (
                "a.b",
                &keys(&["a.b"])[..],
                "a number",
                Against::Value(1, "an object")
            )
        );
        assert_eq!(key_column(r#"{"x":"a.b","a.b":5}"#, &found.keys), Some(12));
    }
}
