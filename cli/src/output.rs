//! Writing a run's result (a table, CSV, TSV, JSON lines, Arrow IPC, Parquet, or nothing) with
//! arrow-rs's writers and pretty printer: to standard output, or to a file written under a
//! temporary name and renamed when complete.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use oplink::arrow::array::RecordBatch;
use oplink::arrow::schema::{ArrowError, Schema, SchemaRef};

use crate::args::OutputFormat;
use crate::error::{CliError, Result};
use crate::input::extension;

/// The output format: the one given, else `--output`'s extension's, else a table.
pub fn output_format(path: Option<&Path>, given: Option<OutputFormat>) -> Result<OutputFormat> {
    if let Some(format) = given {
        return Ok(format);
    }
    let Some(path) = path else {
        return Ok(OutputFormat::Table);
    };
    if let Some((compression, tool, _)) = compressed_extension(path) {
        return Err(CliError::Usage(format!(
            "`{}` is named as {compression}, but `oplink run` writes no compressed files; write to standard output with `--to csv` (or another format) and pipe it through `{tool}`",
            path.display()
        )));
    }
    by_extension(path).ok_or_else(|| {
        CliError::Usage(format!(
            "cannot tell the format to write `{}` in from its extension; name it with `--to table|csv|tsv|jsonl|ipc|parquet`",
            path.display()
        ))
    })
}

/// The format an output file's extension names, if it names one.
fn by_extension(path: &Path) -> Option<OutputFormat> {
    Some(match extension(path).as_str() {
        "csv" => OutputFormat::Csv,
        "tsv" | "tab" => OutputFormat::Tsv,
        "jsonl" | "ndjson" | "json" => OutputFormat::Jsonl,
        "arrow" | "ipc" | "feather" => OutputFormat::Ipc,
        "parquet" | "pq" => OutputFormat::Parquet,
        "txt" | "table" => OutputFormat::Table,
        _ => return None,
    })
}

/// The compression an extension names (`out.csv.gz`: gzip), the tool that makes it and the
/// one that undoes it: `oplink run` neither reads nor writes compressed files, so an output
/// of such a name would hold what it does not say, and an input is decompressed first.
pub(crate) fn compressed_extension(
    path: &Path,
) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match extension(path).as_str() {
        "gz" | "gzip" => ("gzip", "gzip", "gunzip"),
        "zst" | "zstd" => ("Zstandard", "zstd", "unzstd"),
        "bz2" => ("bzip2", "bzip2", "bunzip2"),
        "xz" => ("xz", "xz", "unxz"),
        "zip" => ("a zip archive", "zip", "unzip"),
        _ => return None,
    })
}

/// A warning for `--to` naming another format than `--output`'s extension does (`-o
/// out.csv --to parquet` writes Parquet, which whatever opens `out.csv` next will not read).
pub fn extension_disagrees(path: &Path, given: OutputFormat) -> Option<String> {
    if let Some((compression, tool, _)) = compressed_extension(path) {
        return Some(format!(
            "`{}` is written as {}, uncompressed, though its extension says {compression}: `oplink run` writes no compressed files (pipe standard output through `{tool}`)",
            path.display(),
            format_name(given),
        ));
    }
    let named = by_extension(path).filter(|&named| named != given)?;
    Some(format!(
        "`{}` is written as {}, as `--to` says, though its extension says {}",
        path.display(),
        format_name(given),
        format_name(named)
    ))
}

/// Where the output goes.
#[derive(Debug)]
pub enum Destination {
    /// Standard output, or a device or named pipe (written to as it is).
    Stream,
    /// A file, written under a temporary name and renamed into place when complete, so a
    /// failed run leaves any earlier file as it was.
    File {
        /// The final path.
        path: PathBuf,
        /// The temporary path being written.
        partial: PathBuf,
        /// The temporary file, to sync to the disk once written.
        file: File,
    },
}

/// How `path` ends when its text names a folder rather than a file: `/`, `.` or `..`.
fn folder_ending(path: &Path) -> Option<&'static str> {
    let text = path.as_os_str().as_encoded_bytes();
    let last = text.rsplit(|&byte| byte == b'/').next().unwrap_or_default();
    match last {
        _ if text.ends_with(b"/") => Some("/"),
        b"." => Some("."),
        b".." => Some(".."),
        _ => None,
    }
}

/// The file `--output` writes: the path itself, or, for a symbolic link, the file it names
/// (the link stays a link, and what it names gets the output).
pub(crate) fn written_path(given: &Path) -> Result<PathBuf> {
    let is_link = std::fs::symlink_metadata(given).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(given.to_owned());
    }
    if let Ok(target) = std::fs::canonicalize(given) {
        return Ok(target);
    }
    // A link to nothing yet (through any number of links): the file at the end is created.
    let mut at = given.to_owned();
    for _ in 0..40 {
        if !std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Ok(at);
        }
        let target = std::fs::read_link(&at).map_err(|e| CliError::io("read", given, e))?;
        at = match at.parent() {
            Some(folder) if target.is_relative() => folder.join(target),
            _ => target,
        };
    }
    Err(CliError::Usage(format!(
        "--output `{}` is a chain of links that does not end",
        given.display()
    )))
}

/// Whether `path` (of metadata `meta`) lies in a sticky folder, which lets only a file's
/// owner, the folder's owner or root remove or replace it, and this process is none of them.
fn sticky_and_not_ours(path: &Path, meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let folder = folder_of(path);
    let Ok(dir) = std::fs::metadata(folder) else {
        return false;
    };
    // SAFETY: asks for this process's effective user id, nothing else.
    let me = unsafe { libc::geteuid() };
    dir.mode() & libc::S_ISVTX != 0 && me != 0 && meta.uid() != me && dir.uid() != me
}

/// Why this process may not write the existing file `path`, in words, or `None` when it may
/// (`access(W_OK)`: its mode, owner and any access list, as the kernel would judge an
/// `open` for writing). A question that cannot be asked counts as "it may": the write
/// itself then says what is wrong.
fn not_writable(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::access(name.as_ptr(), libc::W_OK) } == 0 {
        return None;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EACCES) => {
            Some("is a file you may not write (read-only): make it writable or name another file")
        }
        Some(libc::EROFS) => Some("is on a read-only file system: name another file"),
        Some(libc::EPERM) => Some("may not be written (an immutable file?): name another file"),
        _ => None,
    }
}

/// A descriptor of standard output, when `meta` is the file standard output writes to.
fn standard_output_if_same(meta: &std::fs::Metadata) -> Option<File> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let out = File::from(std::io::stdout().as_fd().try_clone_to_owned().ok()?);
    let its = out.metadata().ok()?;
    (its.dev() == meta.dev() && its.ino() == meta.ino()).then_some(out)
}

/// What the output is written to.
type Writer = Box<dyn Write + Send>;

/// The result written in a format; writers with a fixed schema take it from the first
/// batch.
pub struct Sink {
    format: OutputFormat,
    destination: Destination,
    out: Option<Writer>,
    schema: Option<SchemaRef>,
    state: SinkState,
    rows: u64,
    finished: bool,
    /// Values written as JSON's `null` because JSON has no number for them (NaN, ±∞).
    nulled: u64,
}

enum SinkState {
    Start,
    /// The table part being gathered.
    Table(TablePart),
    Csv(arrow_csv::Writer<Writer>),
    Jsonl(arrow_json::LineDelimitedWriter<Writer>),
    Ipc(arrow_ipc::writer::FileWriter<Writer>),
    Parquet(Box<parquet::arrow::ArrowWriter<Writer>>),
    Done,
}

/// The most rows one table holds: a longer output is printed as it comes, in tables of
/// this many rows, so that a long run neither waits to the end nor holds every row as text
/// (arrow-rs's table takes ~100 times the rows' size in memory).
pub const TABLE_PART_ROWS: usize = 10_000;

/// The part of a table being gathered: batches of the same columns.
#[derive(Default)]
struct TablePart {
    batches: Vec<RecordBatch>,
    /// Their rows, at most [`TABLE_PART_ROWS`].
    rows: usize,
    /// Whether a part of these columns was printed already (so a batch of no rows needs
    /// no header of its own).
    shown: bool,
}

impl TablePart {
    /// Adds `batch`, printing the part first when the columns change and whenever it is
    /// full (a batch split where it must).
    fn add(&mut self, out: &mut Writer, batch: &RecordBatch) -> Result<()> {
        if self
            .batches
            .first()
            .is_some_and(|first| first.schema().fields() != batch.schema().fields())
        {
            self.print(out)?;
            self.shown = false;
        }
        let mut at = 0;
        while at < batch.num_rows() {
            let take = (TABLE_PART_ROWS - self.rows).min(batch.num_rows() - at);
            self.batches.push(batch.slice(at, take));
            (at, self.rows) = (at + take, self.rows + take);
            if self.rows == TABLE_PART_ROWS {
                self.print(out)?;
            }
        }
        if batch.num_rows() == 0 && self.batches.is_empty() && !self.shown {
            // A batch of no rows still gives its columns a header, once.
            self.batches.push(batch.clone());
        }
        Ok(())
    }

    /// Prints the part as one table, unless it is empty, and empties it.
    fn print(&mut self, out: &mut Writer) -> Result<()> {
        if !self.batches.is_empty() {
            let shown: Vec<RecordBatch> = self.batches.iter().map(printable).collect();
            let table = arrow_cast::pretty::pretty_format_batches(&shown)
                .map_err(|e| CliError::Output(e.to_string()))?;
            writeln!(out, "{table}").map_err(CliError::write)?;
            self.batches.clear();
            self.rows = 0;
            self.shown = true;
        }
        Ok(())
    }
}

/// The folder `path` is in (`.` for a bare name).
pub(crate) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

/// How many values of `batch`'s floating-point columns are NaN or infinite (JSON has no
/// number for them).
fn not_finite(batch: &RecordBatch) -> u64 {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float16Type, Float32Type, Float64Type};
    use oplink::arrow::schema::DataType;
    batch
        .columns()
        .iter()
        .map(|column| {
            let count = |finite: &dyn Fn(usize) -> bool| {
                (0..column.len())
                    .filter(|&i| column.is_valid(i) && !finite(i))
                    .count() as u64
            };
            match column.data_type() {
                DataType::Float16 => {
                    let v = column.as_primitive::<Float16Type>();
                    count(&|i| v.value(i).is_finite())
                }
                DataType::Float32 => {
                    let v = column.as_primitive::<Float32Type>();
                    count(&|i| v.value(i).is_finite())
                }
                DataType::Float64 => {
                    let v = column.as_primitive::<Float64Type>();
                    count(&|i| v.value(i).is_finite())
                }
                _ => 0,
            }
        })
        .sum()
}

/// The most characters of a value a table shows: the rest is cut, and said. (A table lays
/// out each cell in time that grows with the square of its length: a cell of a few
/// megabytes took minutes. Any other format writes values whole.)
const MAX_CELL_CHARS: usize = 1_000;

/// `text`, cut to [`MAX_CELL_CHARS`] characters with how many there were, when longer.
fn cut_short(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        Some((at, _)) => {
            let all = text.chars().count();
            format!(
                "{}… ({all} characters; the table shows {MAX_CELL_CHARS})",
                &text[..at]
            )
            .into()
        }
        None => text.into(),
    }
}

/// `batch` as a table shows it: control characters in its text columns and column names
/// (an escape sequence that would recolour or move the terminal's cursor, a line break that
/// would break the table) written as Rust escapes (`\u{1b}`, `\n`). Other columns, and
/// text without such characters, are shown as they are (shared, not copied).
fn printable(batch: &RecordBatch) -> RecordBatch {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use oplink::arrow::array::{Array, ArrayRef, StringArray};
    use oplink::arrow::schema::{DataType, Field};

    let escaped = |text: &str| match crate::escape_controls(text, &[]) {
        std::borrow::Cow::Owned(shown) => Some(shown),
        std::borrow::Cow::Borrowed(_) => None,
    };
    let column = |array: &ArrayRef| -> Option<ArrayRef> {
        // A dictionary of text is shown as its text; a nested value (a list, a struct, a
        // map) as the text the table shows for it, which may hold text of its own, or be
        // long.
        let cast;
        let array = match array.data_type() {
            DataType::Dictionary(_, values)
                if matches!(
                    **values,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                cast = arrow_cast::cast(array, &DataType::Utf8).ok()?;
                &cast
            }
            // Bytes too, shown in hex, and the other dictionaries and run-end encoded
            // columns, as their values: a long value is cut as long text is.
            shown_as_text
                if shown_as_text.is_nested()
                    || matches!(
                        shown_as_text,
                        DataType::Binary
                            | DataType::LargeBinary
                            | DataType::BinaryView
                            | DataType::FixedSizeBinary(_)
                            | DataType::Dictionary(_, _)
                            | DataType::RunEndEncoded(_, _)
                    ) =>
            {
                let options = arrow_cast::display::FormatOptions::default();
                let shown = arrow_cast::display::ArrayFormatter::try_new(array, &options).ok()?;
                let text: StringArray = (0..array.len())
                    .map(|i| array.is_valid(i).then(|| shown.value(i).to_string()))
                    .collect();
                cast = Arc::new(text) as ArrayRef;
                &cast
            }
            _ => array,
        };
        let values: Vec<Option<&str>> = match array.data_type() {
            DataType::Utf8 => array.as_string::<i32>().iter().collect(),
            DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
            DataType::Utf8View => array.as_string_view().iter().collect(),
            _ => return None,
        };
        if !values
            .iter()
            .flatten()
            .any(|v| v.len() > MAX_CELL_CHARS || v.contains(char::is_control))
        {
            return None;
        }
        let shown: StringArray = values
            .iter()
            .map(|v| {
                v.map(|v| {
                    // Cut first: the count is the value's, and no escape is cut in two.
                    let cut = cut_short(v);
                    escaped(&cut).unwrap_or_else(|| cut.into_owned())
                })
            })
            .collect();
        Some(Arc::new(shown))
    };
    let schema = batch.schema();
    let changed: Vec<Option<ArrayRef>> = batch.columns().iter().map(column).collect();
    let renamed = schema
        .fields()
        .iter()
        .any(|f| f.name().contains(char::is_control));
    if !renamed && changed.iter().all(Option::is_none) {
        return batch.clone();
    }
    let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .zip(changed)
        .map(|((field, array), shown)| {
            let name = escaped(field.name()).unwrap_or_else(|| field.name().clone());
            match shown {
                Some(shown) => (Field::new(name, DataType::Utf8, true), shown),
                None => (field.as_ref().clone().with_name(name), array.clone()),
            }
        })
        .unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap_or_else(|_| batch.clone())
}

impl Sink {
    /// A sink writing `format` to `output` (standard output when `None`).
    pub fn create(format: OutputFormat, output: Option<&Path>) -> Result<Sink> {
        let (destination, out): (Destination, Writer) = match output {
            None => (Destination::Stream, Box::new(std::io::stdout())),
            Some(given) => {
                // What the path names, links followed by the kernel: a link such as
                // `/dev/stdout` names a pipe that has no path of its own.
                let named = std::fs::metadata(given);
                let path = match &named {
                    Ok(meta) if !meta.is_file() => given.to_owned(),
                    _ => written_path(given)?,
                };
                let stdout = named.as_ref().ok().and_then(standard_output_if_same);
                match named {
                    // Standard output by another name (`-o /dev/stdout` with standard
                    // output redirected to a file): written through its descriptor, where
                    // it stands (`>>` appends), not replaced.
                    Ok(_) if let Some(stdout) = stdout => (
                        Destination::Stream,
                        Box::new(std::io::BufWriter::with_capacity(1 << 16, stdout)),
                    ),
                    Ok(meta) if meta.is_dir() => {
                        return Err(CliError::Usage(format!(
                            "--output `{}` is a folder; name a file",
                            given.display()
                        )));
                    }
                    // Another user's file in a sticky folder (`/tmp`): the rename would be
                    // refused at the end of the run, after all its work.
                    Ok(meta) if meta.is_file() && sticky_and_not_ours(&path, &meta) => {
                        return Err(CliError::Usage(format!(
                            "--output `{}` is another user's file in a folder that keeps each file to its owner (sticky, as `/tmp`): name another file",
                            given.display()
                        )));
                    }
                    // A file its permissions keep us from writing is not replaced either
                    // (the temporary file's rename would not ask them), as a shell's `>`.
                    Ok(meta)
                        if meta.is_file()
                            && let Some(why) = not_writable(&path) =>
                    {
                        return Err(CliError::Usage(format!(
                            "--output `{}` {why}",
                            given.display()
                        )));
                    }
                    // A device or a named pipe (`/dev/null`, a FIFO): written to as it is,
                    // never replaced by a file.
                    Ok(meta) if !meta.is_file() => {
                        let file = File::options()
                            .write(true)
                            .open(&path)
                            .map_err(|e| CliError::io("write", given, e))?;
                        (
                            Destination::Stream,
                            Box::new(std::io::BufWriter::with_capacity(1 << 16, file)),
                        )
                    }
                    _ => {
                        // A path ending in `/`, `.` or `..` names a folder, there or not:
                        // `Path::file_name` reads `out/.` as `out`, and the file written
                        // beside it could not be renamed to it at the end of the run.
                        let folder_ending = folder_ending(given);
                        let name = path
                            .file_name()
                            .filter(|_| folder_ending.is_none())
                            .ok_or_else(|| {
                                CliError::Usage(format!(
                                    "--output `{}` names a folder (it ends in `{}`); name a file",
                                    given.display(),
                                    folder_ending.unwrap_or("..")
                                ))
                            })?
                            .to_string_lossy();
                        // This process's own: two runs writing one file do not share it.
                        let partial =
                            path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
                        // What runs killed while they wrote it left.
                        oplink_host::load::remove_stale(folder_of(&path), &name, ".partial");
                        // Listed before it exists (a signal in between finds nothing to
                        // remove), by its absolute path.
                        let partial = std::path::absolute(&partial).unwrap_or(partial);
                        crate::interrupt::remove_on_interrupt(&partial);
                        let file = File::create(&partial).map_err(|e| {
                            crate::interrupt::forget(&partial);
                            match path.parent().filter(|p| !p.as_os_str().is_empty()) {
                                Some(folder)
                                    if e.kind() == std::io::ErrorKind::NotFound
                                        && !folder.exists() =>
                                {
                                    CliError::Usage(format!(
                                        "cannot create `{}`: its folder `{}` does not exist",
                                        given.display(),
                                        folder.display()
                                    ))
                                }
                                // The file is written beside its name and renamed: it is
                                // the folder that must take a new file.
                                _ if e.kind() == std::io::ErrorKind::PermissionDenied => {
                                    let folder = folder_of(&path);
                                    CliError::Usage(format!(
                                        "cannot write `{}`: its folder `{}` takes no new file from you (the output is written beside it under a temporary name, then renamed)",
                                        given.display(),
                                        folder.display()
                                    ))
                                }
                                _ => CliError::io("create", given, e),
                            }
                        })?;
                        // The file replaced keeps its permissions (one made private stays so).
                        if let Ok(meta) = std::fs::metadata(&path) {
                            let _ = file.set_permissions(meta.permissions());
                        }
                        let synced = file.try_clone().map_err(|e| {
                            crate::interrupt::remove(&partial);
                            CliError::io("create", given, e)
                        })?;
                        (
                            Destination::File {
                                path,
                                partial,
                                file: synced,
                            },
                            Box::new(std::io::BufWriter::with_capacity(1 << 16, file)),
                        )
                    }
                }
            }
        };
        Ok(Sink::new(format, destination, out))
    }

    /// A sink writing to `out` (for tests and benchmarks).
    pub fn to_writer(format: OutputFormat, out: Writer) -> Sink {
        Sink::new(format, Destination::Stream, out)
    }

    fn new(format: OutputFormat, destination: Destination, out: Writer) -> Sink {
        Sink {
            format,
            destination,
            out: Some(out),
            schema: None,
            state: SinkState::Start,
            rows: 0,
            finished: false,
            nulled: 0,
        }
    }

    /// Whether a batch was written (the output's columns are set).
    pub fn started(&self) -> bool {
        self.schema.is_some()
    }

    /// Whether rows are only counted (`--to none`): what they hold does not matter.
    /// How many values JSON lines output wrote as `null` because JSON has no number for
    /// them (NaN, infinities).
    pub fn nulled(&self) -> u64 {
        self.nulled
    }

    pub fn counts_only(&self) -> bool {
        self.format == OutputFormat::None
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes `batch`. A writer that panics (arrow-rs's Parquet writer on a union column,
    /// say) is an error naming the format, never a crash.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let format = self.format;
        crate::quiet_panics(|| self.write_batch(batch))
            .unwrap_or_else(|message| Err(writer_panicked(format, &message)))
            .map_err(|e| naming_file(e, &self.destination))
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.format == OutputFormat::None {
            self.rows += batch.num_rows() as u64;
            return Ok(());
        }
        if matches!(
            self.format,
            OutputFormat::Table | OutputFormat::Csv | OutputFormat::Tsv | OutputFormat::Jsonl
        ) {
            // Text formats write times as text: arrow-rs writes one it cannot as the text of
            // its error (JSON lines, a table) or fails on its row within the batch (CSV).
            unwritable_time(batch, self.format)?;
        }
        let in_millis;
        let batch = if self.format == OutputFormat::Parquet {
            in_millis = seconds_as_milliseconds(batch)?;
            in_millis.as_ref().unwrap_or(batch)
        } else {
            batch
        };
        if batch.num_columns() == 0
            && matches!(
                self.format,
                OutputFormat::Csv | OutputFormat::Tsv | OutputFormat::Jsonl
            )
        {
            // Text formats have no way to write rows without columns (nor the lack of them).
            self.rows += batch.num_rows() as u64;
            return Ok(());
        }
        let changed = self
            .schema
            .as_ref()
            .is_none_or(|schema| schema.fields() != batch.schema_ref().fields());
        if changed
            && self.format != OutputFormat::Table
            && let Some(twice) = crate::input::named_twice(batch.schema_ref())
        {
            // Said before anything is written: such a file cannot be read back.
            let refused_by = if self.format == OutputFormat::Parquet {
                "Parquet readers and `oplink run` refuse it"
            } else {
                "`oplink run` refuses it as input"
            };
            return Err(CliError::Output(format!(
                "it has two columns named `{twice}`, and {} output with two columns of one name cannot be read back ({refused_by}); rename one in the operator that adds it, or write a table",
                format_name(self.format)
            )));
        }
        match &self.schema {
            None => {
                self.schema = Some(batch.schema());
                if self.format == OutputFormat::Table {
                    self.state = SinkState::Table(TablePart::default());
                    return self.write_batch(batch);
                }
                if matches!(self.format, OutputFormat::Csv | OutputFormat::Tsv)
                    && let Some(field) = batch
                        .schema_ref()
                        .fields()
                        .iter()
                        .find(|f| f.data_type().is_nested())
                {
                    // Said before the header is written, not after.
                    return Err(CliError::Output(format!(
                        "{} cannot hold the column `{}` of type {}: write `--to jsonl`, `ipc` or `parquet`",
                        format_name(self.format),
                        field.name(),
                        field.data_type()
                    )));
                }
                if self.format == OutputFormat::Jsonl
                    && let Some(field) = batch.schema_ref().fields().iter().find(|f| {
                        matches!(f.data_type(), oplink::arrow::schema::DataType::Union(_, _))
                    })
                {
                    // arrow-json says so only with the type's debug form.
                    return Err(CliError::Output(format!(
                        "JSON lines cannot hold the column `{}` of type {}: write `--to ipc` or `parquet`",
                        field.name(),
                        field.data_type()
                    )));
                }
                if self.format == OutputFormat::Parquet
                    && let Some(field) = batch
                        .schema_ref()
                        .fields()
                        .iter()
                        .find(|f| holds_empty_struct(f.data_type()))
                {
                    return Err(CliError::Output(format!(
                        "Parquet cannot hold the column `{}` of type {}: it has a struct without fields (an empty JSON object read in, say); write JSON lines or Arrow IPC instead (an output file named `.jsonl` or `.arrow`, or `--to jsonl` or `ipc`)",
                        field.name(),
                        field.data_type()
                    )));
                }
                let out = self.out.take().expect("the writer is taken once");
                self.state = match self.format {
                    OutputFormat::Table => unreachable!("handled above"),
                    OutputFormat::Csv => {
                        SinkState::Csv(arrow_csv::WriterBuilder::new().with_header(true).build(out))
                    }
                    OutputFormat::Tsv => SinkState::Csv(
                        arrow_csv::WriterBuilder::new()
                            .with_header(true)
                            .with_delimiter(b'\t')
                            .build(out),
                    ),
                    // A null is written as `null`, not left out: a column of nulls stays a
                    // column when the file is read back.
                    OutputFormat::Jsonl => SinkState::Jsonl(
                        arrow_json::WriterBuilder::new()
                            .with_explicit_nulls(true)
                            .build::<_, arrow_json::writer::LineDelimited>(out),
                    ),
                    OutputFormat::Ipc => SinkState::Ipc(
                        arrow_ipc::writer::FileWriter::try_new(out, &batch.schema())
                            .map_err(arrow_write)?,
                    ),
                    OutputFormat::Parquet => SinkState::Parquet(Box::new(
                        parquet::arrow::ArrowWriter::try_new(out, batch.schema(), None)
                            .map_err(parquet_write)?,
                    )),
                    OutputFormat::None => unreachable!("handled above"),
                };
            }
            Some(schema) if schema.fields() != batch.schema().fields() => {
                if !matches!(self.format, OutputFormat::Jsonl | OutputFormat::Table) {
                    return Err(CliError::Output(format!(
                        "the output's columns changed from ({}) to ({}), and {} holds one schema; write JSON lines or a table instead",
                        fields_in_words(schema),
                        fields_in_words(&batch.schema()),
                        format_name(self.format),
                    )));
                }
                self.schema = Some(batch.schema());
            }
            Some(_) => {}
        }
        match &mut self.state {
            SinkState::Table(part) => {
                part.add(self.out.as_mut().expect("a table keeps its writer"), batch)?;
            }
            SinkState::Csv(w) => w.write(batch).map_err(arrow_write)?,
            SinkState::Jsonl(w) => {
                self.nulled += not_finite(batch);
                w.write(batch).map_err(arrow_write)?
            }
            SinkState::Ipc(w) => w.write(batch).map_err(arrow_write)?,
            SinkState::Parquet(w) => w.write(batch).map_err(parquet_write)?,
            SinkState::Start | SinkState::Done => {
                unreachable!("a writer exists after the first batch")
            }
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finishes writing the output (a table is printed now); a file is complete under its
    /// temporary name and goes into place with [`Written::commit`]. A sink dropped
    /// unfinished, or a [`Written`] dropped uncommitted, removes its partial file. A writer
    /// that panics is an error, as in [`Sink::write`].
    pub fn finish(self) -> Result<Written> {
        let format = self.format;
        let file = match &self.destination {
            Destination::File { path, .. } => Some(path.clone()),
            Destination::Stream => None,
        };
        crate::quiet_panics(|| self.finish_writing())
            .unwrap_or_else(|message| Err(writer_panicked(format, &message)))
            .map_err(|e| match file {
                Some(path) => in_file(e, path),
                None => e,
            })
    }

    fn finish_writing(mut self) -> Result<Written> {
        let state = std::mem::replace(&mut self.state, SinkState::Done);
        let mut out: Writer = match state {
            SinkState::Start => {
                let mut out = self.out.take().expect("unused writer");
                if self.format == OutputFormat::Table {
                    writeln!(out, "(no rows)").map_err(CliError::write)?;
                }
                out
            }
            SinkState::Table(mut part) => {
                let mut out = self.out.take().expect("a table keeps its writer");
                part.print(&mut out)?;
                out
            }
            SinkState::Csv(w) => w.into_inner(),
            SinkState::Jsonl(mut w) => {
                w.finish().map_err(arrow_write)?;
                w.into_inner()
            }
            SinkState::Ipc(mut w) => {
                w.finish().map_err(arrow_write)?;
                w.into_inner().map_err(arrow_write)?
            }
            SinkState::Parquet(w) => w.into_inner().map_err(parquet_write)?,
            SinkState::Done => unreachable!("a sink is finished once"),
        };
        out.flush().map_err(CliError::write)?;
        drop(out);
        // On the disk before it is put in place, and so before any state is kept.
        if let Destination::File { path, file, .. } = &self.destination {
            file.sync_all()
                .map_err(|e| CliError::io("write", path, e))?;
        }
        self.finished = true;
        Ok(Written {
            destination: std::mem::replace(&mut self.destination, Destination::Stream),
            rows: self.rows,
            committed: false,
        })
    }
}

/// Renames the complete file `partial`, already synced to the disk by its writer, to
/// `path`, then syncs the folder so that the rename reaches the disk before any state kept
/// after it: a power cut leaves the old file or the new one whole, never the new name over
/// missing data. A folder this process may not open, or a file system that does not sync
/// folders, leaves the rename as it is; a sync that fails otherwise (an I/O error) is an
/// error, so that no state is kept after an output that may not be on the disk.
pub(crate) fn put_in_place(partial: &Path, path: &Path) -> Result<()> {
    std::fs::rename(partial, path).map_err(|e| CliError::io("write", path, e))?;
    sync_folder_of(path)
}

/// Syncs the folder of `path`, so that its entry (a file made or renamed there) is on the
/// disk: a folder this process may not open, or that does not sync, is left as it is.
pub(crate) fn sync_folder_of(path: &Path) -> Result<()> {
    let folder = folder_of(path);
    let Ok(folder) = File::open(folder) else {
        return Ok(());
    };
    match folder.sync_all() {
        Err(e)
            if !matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Err(CliError::io("write", path, e))
        }
        _ => Ok(()),
    }
}

/// An output written whole, a file still under its temporary name until
/// [`Written::commit`] (dropped uncommitted, it removes that file).
#[derive(Debug)]
pub struct Written {
    destination: Destination,
    rows: u64,
    committed: bool,
}

impl Written {
    /// The file this output goes to, and the device and inode of what it writes there
    /// (which the file has once it is in place); `None` for standard output or a device.
    pub fn file(&self) -> Option<(&Path, (u64, u64))> {
        use std::os::unix::fs::MetadataExt;
        match &self.destination {
            Destination::File { path, file, .. } => {
                let meta = file.metadata().ok()?;
                Some((path, (meta.dev(), meta.ino())))
            }
            Destination::Stream => None,
        }
    }

    /// Puts a file into place; returns the rows written.
    pub fn commit(mut self) -> Result<u64> {
        if let Destination::File { path, partial, .. } = &self.destination {
            put_in_place(partial, path)?;
            crate::interrupt::forget(partial);
        }
        self.committed = true;
        Ok(self.rows)
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        if let (false, Destination::File { partial, .. }) = (self.committed, &self.destination) {
            crate::interrupt::remove(partial);
        }
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("format", &self.format)
            .field("destination", &self.destination)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let (false, Destination::File { partial, .. }) = (self.finished, &self.destination) {
            crate::interrupt::remove(partial);
        }
    }
}

/// `error`, naming the file when the output goes to one.
fn naming_file(error: CliError, destination: &Destination) -> CliError {
    match destination {
        Destination::File { path, .. } => in_file(error, path.clone()),
        Destination::Stream => error,
    }
}

/// An error writing the output, said of the file `path` it was written to.
fn in_file(error: CliError, path: PathBuf) -> CliError {
    match error {
        CliError::Output(reason) => CliError::OutputFile { path, reason },
        other => other,
    }
}

/// The error of a writer that panicked.
fn writer_panicked(format: OutputFormat, message: &str) -> CliError {
    let name = match format {
        OutputFormat::Table => "table",
        other => format_name(other),
    };
    CliError::Output(format!(
        "the {name} writer cannot write these columns ({message}); write another format"
    ))
}

/// The Parquet writer's error; a closed standard output is not a failure (the writer wraps
/// the I/O error it met).
fn parquet_write(error: parquet::errors::ParquetError) -> CliError {
    use parquet::errors::ParquetError;
    match &error {
        ParquetError::External(inner) => {
            if let Some(io) = inner.downcast_ref::<std::io::Error>() {
                return CliError::write(std::io::Error::new(io.kind(), io.to_string()));
            }
        }
        // Its last flush, in words only.
        ParquetError::General(words) if words.contains(&broken_pipe_words()) => {
            return CliError::BrokenPipe;
        }
        _ => {}
    }
    CliError::Output(error.to_string())
}

/// An arrow writer's error; a closed standard output is not a failure.
fn arrow_write(error: ArrowError) -> CliError {
    match error {
        ArrowError::IoError(_, io) => CliError::write(io),
        // The CSV writer keeps only the words of the I/O error it met.
        ArrowError::CsvError(words) if words.contains(&broken_pipe_words()) => CliError::BrokenPipe,
        // Its words (an I/O error's, as a rule) without "Csv error:" and "(os error N)".
        ArrowError::CsvError(words) => CliError::Output(
            words
                .split(" (os error")
                .next()
                .unwrap_or(&words)
                .to_owned(),
        ),
        other => CliError::Output(other.to_string()),
    }
}

/// How the system words a write to a closed pipe (`EPIPE`, 32 on Linux and macOS).
fn broken_pipe_words() -> String {
    const EPIPE: i32 = 32;
    let text = std::io::Error::from_raw_os_error(EPIPE).to_string();
    text.split(" (os error").next().unwrap_or(&text).to_owned()
}

/// `batch` with its timestamps and times in whole seconds (what CSV's inference gives a
/// timestamp without a fraction), at any depth, in milliseconds, when it has any: Parquet
/// has no timestamp in seconds, and arrow-rs writes them as plain integers, which other
/// readers (pyarrow, DuckDB, Spark) take for numbers.
fn seconds_as_milliseconds(batch: &RecordBatch) -> Result<Option<RecordBatch>> {
    let schema = batch.schema();
    if !schema
        .fields()
        .iter()
        .any(|f| in_millis(f.data_type()).is_some())
    {
        return Ok(None);
    }
    let strictly = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let Some(ty) = in_millis(field.data_type()) else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        };
        let column = arrow_cast::cast_with_options(column, &ty, &strictly).map_err(|e| {
            CliError::Output(format!(
                "the column `{}` holds timestamps in seconds, which Parquet keeps in milliseconds, and they cannot be: {e}",
                field.name()
            ))
        })?;
        fields.push(field.as_ref().clone().with_data_type(ty));
        columns.push(column);
    }
    let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
    RecordBatch::try_new(std::sync::Arc::new(schema), columns)
        .map(Some)
        .map_err(|e| CliError::Output(e.to_string()))
}

/// `ty` with every timestamp and time in seconds, at any depth, in milliseconds; `None` when
/// it holds none.
fn in_millis(ty: &oplink::arrow::schema::DataType) -> Option<oplink::arrow::schema::DataType> {
    use oplink::arrow::schema::{DataType, Field, Fields, TimeUnit};
    let field = |f: &Field| in_millis(f.data_type()).map(|ty| f.clone().with_data_type(ty));
    let fields = |fs: &Fields| -> Option<Fields> {
        let changed: Vec<Option<Field>> = fs.iter().map(|f| field(f)).collect();
        changed.iter().any(Option::is_some).then(|| {
            fs.iter()
                .zip(changed)
                .map(|(f, c)| c.unwrap_or_else(|| f.as_ref().clone()))
                .collect()
        })
    };
    match ty {
        DataType::Timestamp(TimeUnit::Second, zone) => {
            Some(DataType::Timestamp(TimeUnit::Millisecond, zone.clone()))
        }
        DataType::Time32(TimeUnit::Second) => Some(DataType::Time32(TimeUnit::Millisecond)),
        DataType::Struct(fs) => fields(fs).map(DataType::Struct),
        DataType::List(item) => field(item).map(|f| DataType::List(f.into())),
        DataType::LargeList(item) => field(item).map(|f| DataType::LargeList(f.into())),
        DataType::FixedSizeList(item, n) => {
            field(item).map(|f| DataType::FixedSizeList(f.into(), *n))
        }
        DataType::Map(entries, sorted) => field(entries).map(|f| DataType::Map(f.into(), *sorted)),
        DataType::Dictionary(key, values) => {
            in_millis(values).map(|v| DataType::Dictionary(key.clone(), Box::new(v)))
        }
        _ => None,
    }
}

/// Whether `ty` is, or holds at any depth, a struct without fields, which Parquet cannot
/// write.
fn holds_empty_struct(ty: &oplink::arrow::schema::DataType) -> bool {
    use oplink::arrow::schema::DataType;
    match ty {
        DataType::Struct(fields) => {
            fields.is_empty() || fields.iter().any(|f| holds_empty_struct(f.data_type()))
        }
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::LargeListView(item)
        | DataType::FixedSizeList(item, _)
        | DataType::Map(item, _) => holds_empty_struct(item.data_type()),
        DataType::Dictionary(_, values) => holds_empty_struct(values),
        DataType::RunEndEncoded(_, values) => holds_empty_struct(values.data_type()),
        DataType::Union(fields, _) => fields
            .iter()
            .any(|(_, f)| holds_empty_struct(f.data_type())),
        _ => false,
    }
}

fn fields_in_words(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error when a top-level column of `batch` holds a date, time, timestamp or duration
/// that text cannot show (a date past the years chrono holds, a time past a day): the
/// smallest and largest value of each such column are formatted, the values between them
/// being as writable as they are.
fn unwritable_time(batch: &RecordBatch, format: OutputFormat) -> Result<()> {
    use arrow_array::Array;
    use arrow_cast::display::{ArrayFormatter, FormatOptions};
    use oplink::arrow::array::Int64Array;
    use oplink::arrow::schema::DataType;
    let strict = FormatOptions::new().with_display_error(false);
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let data_type = column.data_type();
        if !data_type.is_temporal() || matches!(data_type, DataType::Interval(_)) {
            continue;
        }
        let Ok(numbers) = arrow_cast::cast(column, &DataType::Int64) else {
            continue;
        };
        let Some(numbers) = numbers.as_any().downcast_ref::<Int64Array>() else {
            continue;
        };
        let ends = numbers
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (v, i)))
            .fold(
                None,
                |ends: Option<((i64, usize), (i64, usize))>, v| match ends {
                    None => Some((v, v)),
                    Some((low, high)) => Some((low.min(v), high.max(v))),
                },
            );
        let Some(((low, at_low), (high, at_high))) = ends else {
            continue;
        };
        for (value, at) in [(low, at_low), (high, at_high)] {
            let one = column.slice(at, 1);
            let Ok(formatter) = ArrayFormatter::try_new(one.as_ref(), &strict) else {
                continue;
            };
            let mut text = String::new();
            // A duration past what chrono holds is shown as `<invalid>`, not an error.
            if std::fmt::Write::write_fmt(&mut text, format_args!("{}", formatter.value(0)))
                .is_err()
                || text == "<invalid>"
            {
                return Err(CliError::Output(format!(
                    "the column `{}` holds a {data_type} value ({value}) past the range of dates and times that {} can write as text; write Arrow IPC or Parquet instead (`--to ipc` or `parquet`)",
                    field.name(),
                    format_name(format)
                )));
            }
        }
    }
    Ok(())
}

/// The format's name, for messages.
pub fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Table => "a table",
        OutputFormat::Csv => "CSV",
        OutputFormat::Tsv => "TSV",
        OutputFormat::Jsonl => "JSON lines",
        OutputFormat::Ipc => "Arrow IPC",
        OutputFormat::Parquet => "Parquet",
        OutputFormat::None => "nothing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer into a buffer the test keeps.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_file_is_put_in_place_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (partial, path) = (
            dir.path().join(".out.csv.1.partial"),
            dir.path().join("out.csv"),
        );
        std::fs::write(&path, "old\n").unwrap();
        std::fs::write(&partial, "new\n").unwrap();
        put_in_place(&partial, &path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert!(!partial.exists());
        // A partial file gone before its turn: the error names the file it was to become,
        // which stays as it was.
        let err = put_in_place(&partial, &path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot write `{}`", path.display())),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }

    #[test]
    fn a_table_shows_control_characters_as_escapes() {
        use std::sync::Arc;

        use oplink::arrow::array::types::Int8Type;
        use oplink::arrow::array::{Array, ArrayRef, DictionaryArray, Int64Array, StringArray};
        let batch = RecordBatch::try_from_iter([
            (
                "note\x07",
                Arc::new(StringArray::from(vec![
                    Some("\x1b[31mred"),
                    None,
                    Some("two\nlines"),
                ])) as ArrayRef,
            ),
            (
                "plain",
                Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
            ),
            (
                "dict",
                Arc::new(
                    ["x\ty", "x\ty", "z"]
                        .into_iter()
                        .collect::<DictionaryArray<Int8Type>>(),
                ) as ArrayRef,
            ),
            ("n", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ])
        .unwrap();
        let shown = printable(&batch);
        assert_eq!(shown.schema().field(0).name(), "note\\u{7}");
        let notes = shown
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(notes.value(0), "\\u{1b}[31mred");
        assert!(notes.is_null(1));
        assert_eq!(notes.value(2), "two\\nlines");
        // A dictionary of text, as its text.
        let dict = shown
            .column(2)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(dict.value(0), "x\\ty");
        assert_eq!(dict.value(2), "z");
        // Columns without such characters are the batch's own.
        assert!(Arc::ptr_eq(shown.column(1), batch.column(1)));
        assert!(Arc::ptr_eq(shown.column(3), batch.column(3)));
        // Text inside a list, as the table shows the list.
        let mut lists = oplink::arrow::array::builder::ListBuilder::new(
            oplink::arrow::array::builder::StringBuilder::new(),
        );
        lists.values().append_value("a\x1b[2J");
        lists.values().append_value("b");
        lists.append(true);
        lists.append_null();
        let nested =
            RecordBatch::try_from_iter([("l", Arc::new(lists.finish()) as ArrayRef)]).unwrap();
        let shown = printable(&nested);
        let text = shown
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(text.value(0), "[a\\u{1b}[2J, b]");
        assert!(text.is_null(1));
        // A batch without any is itself.
        let plain = batch.project(&[1, 3]).unwrap();
        assert!(Arc::ptr_eq(printable(&plain).column(0), plain.column(0)));
    }

    /// A batch of no rows gives its columns a header only when no part of them was
    /// printed: after a full part, nothing more.
    #[test]
    fn a_table_part_prints_a_header_for_no_rows_only_once() {
        use oplink::arrow::array::{ArrayRef, Int64Array};
        let batch = |rows: i64| {
            RecordBatch::try_from_iter([(
                "n",
                std::sync::Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
            )])
            .unwrap()
        };
        let tables = |batches: &[RecordBatch]| {
            let shared = Shared::default();
            let mut out: Writer = Box::new(shared.clone());
            let mut part = TablePart::default();
            for b in batches {
                part.add(&mut out, b).unwrap();
            }
            part.print(&mut out).unwrap();
            let text = String::from_utf8(shared.0.lock().unwrap().clone()).unwrap();
            text.matches("| n ").count()
        };
        assert_eq!(tables(&[batch(0)]), 1, "a header for no rows");
        assert_eq!(tables(&[batch(0), batch(0)]), 1);
        let full = TABLE_PART_ROWS as i64;
        assert_eq!(
            tables(&[batch(full), batch(0)]),
            1,
            "no header-only table after it"
        );
        assert_eq!(tables(&[batch(full), batch(1)]), 2);
    }

    #[test]
    fn a_schema_change_is_refused_by_writers_of_one_schema() {
        use oplink::arrow::array::{ArrayRef, Int64Array, StringArray};
        let a = RecordBatch::try_from_iter([(
            "amount",
            std::sync::Arc::new(Int64Array::from(vec![1])) as ArrayRef,
        )])
        .unwrap();
        let b = RecordBatch::try_from_iter([(
            "customer",
            std::sync::Arc::new(StringArray::from(vec!["ann"])) as ArrayRef,
        )])
        .unwrap();
        let mut sink = Sink::to_writer(OutputFormat::Csv, Box::new(std::io::sink()));
        sink.write(&a).unwrap();
        assert_eq!(
            sink.write(&b).unwrap_err().to_string(),
            "cannot write the output: the output's columns changed from (amount: Int64) to (customer: Utf8), and CSV holds one schema; write JSON lines or a table instead"
        );
        let mut sink = Sink::to_writer(OutputFormat::Jsonl, Box::new(std::io::sink()));
        sink.write(&a).unwrap();
        sink.write(&b).unwrap();
        assert_eq!(sink.finish().unwrap().commit().unwrap(), 2);
    }

    #[test]
    fn seconds_go_to_parquet_in_milliseconds_at_any_depth() {
        use oplink::arrow::schema::{DataType, Field, Fields, TimeUnit};
        let seconds = DataType::Timestamp(TimeUnit::Second, Some("UTC".into()));
        let millis = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        let nested = |ty: DataType| {
            DataType::Struct(Fields::from(vec![
                Field::new("id", DataType::Int64, true),
                Field::new_list("at", Field::new_list_field(ty, true), true),
            ]))
        };
        assert_eq!(
            in_millis(&nested(seconds.clone())),
            Some(nested(millis.clone()))
        );
        assert_eq!(in_millis(&seconds), Some(millis.clone()));
        assert_eq!(
            in_millis(&DataType::Time32(TimeUnit::Second)),
            Some(DataType::Time32(TimeUnit::Millisecond))
        );
        assert_eq!(in_millis(&nested(millis)), None);
        assert_eq!(in_millis(&DataType::Int64), None);
    }

    #[test]
    fn seconds_past_what_milliseconds_hold_are_an_error_naming_the_column() {
        use oplink::arrow::array::{ArrayRef, TimestampSecondArray};
        let far = TimestampSecondArray::from(vec![i64::MAX / 100]);
        let batch =
            RecordBatch::try_from_iter([("at", std::sync::Arc::new(far) as ArrayRef)]).unwrap();
        let mut sink = Sink::to_writer(OutputFormat::Parquet, Box::new(std::io::sink()));
        let said = sink.write(&batch).unwrap_err().to_string();
        assert!(
            said.starts_with("cannot write the output: the column `at` holds timestamps in seconds, which Parquet keeps in milliseconds, and they cannot be: "),
            "{said}"
        );
    }

    #[test]
    fn parquet_names_a_column_with_a_struct_without_fields() {
        use oplink::arrow::array::{ArrayRef, Int64Array, ListArray, StructArray};
        use oplink::arrow::schema::{DataType, Field, Fields};
        let empty = StructArray::new_empty_fields(1, None);
        let item = Field::new("item", DataType::Struct(Fields::empty()), true);
        let list = ListArray::new(
            std::sync::Arc::new(item),
            oplink::arrow::buffer::OffsetBuffer::from_lengths([1]),
            std::sync::Arc::new(empty.clone()),
            None,
        );
        for (column, ty) in [
            (std::sync::Arc::new(empty) as ArrayRef, "Struct()"),
            (std::sync::Arc::new(list) as ArrayRef, "List(Struct())"),
        ] {
            let batch = RecordBatch::try_from_iter([
                ("a", column),
                (
                    "b",
                    std::sync::Arc::new(Int64Array::from(vec![1])) as ArrayRef,
                ),
            ])
            .unwrap();
            let mut sink = Sink::to_writer(OutputFormat::Parquet, Box::new(std::io::sink()));
            assert_eq!(
                sink.write(&batch).unwrap_err().to_string(),
                format!(
                    "cannot write the output: Parquet cannot hold the column `a` of type {ty}: it has a struct without fields (an empty JSON object read in, say); write JSON lines or Arrow IPC instead (an output file named `.jsonl` or `.arrow`, or `--to jsonl` or `ipc`)"
                )
            );
        }
    }

    #[test]
    fn the_format_comes_from_the_extension_or_a_clear_error() {
        assert_eq!(output_format(None, None).unwrap(), OutputFormat::Table);
        assert_eq!(
            output_format(Some(Path::new("out.xlsx")), None)
                .unwrap_err()
                .to_string(),
            "cannot tell the format to write `out.xlsx` in from its extension; name it with `--to table|csv|tsv|jsonl|ipc|parquet`"
        );
    }
}
