//! Property tests of the readers, through [`Input::open`] and [`Input::next_batch`] as
//! `oplink run` calls them (`--schema` given as `parse_schema` reads it, `--delimiter`,
//! `--batch-size`): generated tables written by arrow-rs's own writers come back whole, and
//! files damaged at random come back whole, or as an error that names the file (and, for a
//! defect at a known line of a text file, that line), never as a panic or rows lost.
//!
//! Here rather than through the binary: `oplink run` reads with this same [`Input`], and a
//! process per case would make the hundreds of cases take minutes.
//!
//! Nothing lost, for a damaged file read without an error, is per format:
//! - CSV and TSV: as many rows as the csv crate (csv-core, as arrow-csv) finds records past
//!   the header, every record of the header's length; an error where one is due (a field
//!   more on a line, a byte that is no UTF-8), at the record's line;
//! - JSON lines: as many rows as the file has objects at its top level; a last line cut
//!   short of its object is an error at that line;
//! - Arrow file, Parquet: cut short, an error (their footer is at the end); Arrow stream cut
//!   short: the batches before, with a warning (README: "rows may be missing");
//! - all: every batch valid (`validate_full`), which is what an operator relies on. A byte
//!   changed inside a value of a binary file reads as another value: neither format has a
//!   checksum arrow-rs checks, so that is not asserted.
//!
//! Each property runs a bounded number of cases, so the suite stays fast in a debug build; a
//! failing case prints its shrunk input and the file's text.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow_cast::{CastOptions, cast_with_options};
use oplink::arrow::array::RecordBatch;
use oplink::arrow::schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use proptest::prelude::*;
use proptest::sample::Index;

use super::Input;
use crate::args::InputFormat;
use crate::error::CliError;

/// The formats written and read back.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    /// CSV with the separator given (`--delimiter` when not `,`), and `\r\n` ending its
    /// records when `crlf`.
    Csv {
        delimiter: u8,
        crlf: bool,
    },
    Tsv,
    Jsonl,
    IpcFile,
    IpcStream,
    Parquet,
}

impl Format {
    fn input_format(self) -> InputFormat {
        match self {
            Format::Csv { .. } => InputFormat::Csv,
            Format::Tsv => InputFormat::Tsv,
            Format::Jsonl => InputFormat::Jsonl,
            Format::IpcFile | Format::IpcStream => InputFormat::Ipc,
            Format::Parquet => InputFormat::Parquet,
        }
    }

    fn text(self) -> bool {
        matches!(self, Format::Csv { .. } | Format::Tsv | Format::Jsonl)
    }

    /// The separator of a CSV or TSV file.
    fn delimiter(self) -> Option<u8> {
        match self {
            Format::Csv { delimiter, .. } => Some(delimiter),
            Format::Tsv => Some(b'\t'),
            _ => None,
        }
    }

    /// `--delimiter` as given: for CSV only, and only when not `,`.
    fn delimiter_option(self) -> Option<u8> {
        match self {
            Format::Csv { delimiter, .. } if delimiter != b',' => Some(delimiter),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv { .. } => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
            Format::IpcFile => "arrow",
            Format::IpcStream => "arrows",
            Format::Parquet => "parquet",
        }
    }
}

/// A column's type, and for text what its values look like.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Int,
    Float,
    /// Text of every sort: separators, quotes, line breaks, spaces, non-ASCII, numbers.
    Text,
    /// Text that all looks like numbers (as inference takes it).
    NumberText,
    /// Text that all looks like `true` and `false`.
    BoolText,
    Bool,
    Time,
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Text | Kind::NumberText | Kind::BoolText => DataType::Utf8,
            Kind::Bool => DataType::Boolean,
            Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, None),
        }
    }

    /// The type as `--schema` writes it.
    fn schema_word(self) -> &'static str {
        match self {
            Kind::Int => "int64",
            Kind::Float => "float64",
            Kind::Text | Kind::NumberText | Kind::BoolText => "utf8",
            Kind::Bool => "bool",
            Kind::Time => "timestamp_us",
        }
    }
}

/// A generated table: columns of a name, a kind and a value (or null) per row.
#[derive(Clone, Debug)]
struct Table {
    names: Vec<String>,
    kinds: Vec<Kind>,
    columns: Vec<Values>,
}

#[derive(Clone, Debug)]
enum Values {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    Time(Vec<Option<i64>>),
}

impl Values {
    fn array(&self) -> ArrayRef {
        match self {
            Values::Int(v) => Arc::new(Int64Array::from(v.clone())),
            Values::Float(v) => Arc::new(Float64Array::from(v.clone())),
            Values::Text(v) => Arc::new(StringArray::from(v.clone())),
            Values::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
            Values::Time(v) => Arc::new(TimestampMicrosecondArray::from(v.clone())),
        }
    }
}

impl Table {
    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.names
                .iter()
                .zip(&self.kinds)
                .map(|(name, kind)| Field::new(name, kind.data_type(), true))
                .collect::<Vec<_>>(),
        ))
    }

    fn batch(&self) -> RecordBatch {
        RecordBatch::try_new(
            self.schema(),
            self.columns.iter().map(Values::array).collect(),
        )
        .unwrap()
    }

    /// `--schema` for the table, as written on the command line.
    fn schema_spec(&self) -> String {
        self.names
            .iter()
            .zip(&self.kinds)
            .map(|(name, kind)| format!("{name}:{}", kind.schema_word()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Pieces of text that readers and writers get wrong: separators, quotes, line breaks,
/// spaces at the ends, non-ASCII, and text that looks like a number, a boolean or a null.
const TRICKY: &[&str] = &[
    "",
    " ",
    ",",
    ";",
    "|",
    "\t",
    "\"",
    "\"\"",
    "'",
    "\n",
    "\r\n",
    "\r",
    " lead",
    "trail ",
    "a,b",
    "say \"hi\"",
    "é",
    "日本",
    "😀",
    "\u{feff}",
    "\\",
    "\\n",
    "{\"k\":1}",
    "[1]",
    "null",
    "NULL",
    "NaN",
    "12",
    "-7",
    "1.5",
    "1e3",
    "007",
    "true",
    "False",
    "2024-01-01",
    "2024-01-01T10:00:00",
];

const NUMBER_TEXT: &[&str] = &[
    "0",
    "12",
    "-7",
    "007",
    "1.5",
    "-0.25",
    "1e3",
    "2.5E-3",
    "9223372036854775807",
];

const BOOL_TEXT: &[&str] = &["true", "false", "TRUE", "False"];

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec(proptest::sample::select(TRICKY), 0..4)
            .prop_map(|pieces| pieces.concat()),
        1 => "[a-zA-Z0-9 é日😀]{0,8}",
    ]
}

fn nullable<T: std::fmt::Debug + Clone + 'static>(
    value: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop_oneof![1 => Just(None), 5 => value.prop_map(Some)]
}

fn finite_float() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        (POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO),
        -1e6..1e6f64,
        (-1000i32..1000).prop_map(f64::from),
    ]
}

fn values(kind: Kind, rows: usize) -> BoxedStrategy<Values> {
    use proptest::collection::vec;
    match kind {
        Kind::Int => vec(
            nullable(prop_oneof![any::<i64>(), -1000i64..1000]),
            rows..=rows,
        )
        .prop_map(Values::Int)
        .boxed(),
        Kind::Float => vec(nullable(finite_float()), rows..=rows)
            .prop_map(Values::Float)
            .boxed(),
        Kind::Text => vec(nullable(text_value()), rows..=rows)
            .prop_map(Values::Text)
            .boxed(),
        Kind::NumberText => vec(
            nullable(proptest::sample::select(NUMBER_TEXT).prop_map(str::to_owned)),
            rows..=rows,
        )
        .prop_map(Values::Text)
        .boxed(),
        Kind::BoolText => vec(
            nullable(proptest::sample::select(BOOL_TEXT).prop_map(str::to_owned)),
            rows..=rows,
        )
        .prop_map(Values::Text)
        .boxed(),
        Kind::Bool => vec(nullable(any::<bool>()), rows..=rows)
            .prop_map(Values::Bool)
            .boxed(),
        // 1900 to 2100, in microseconds: whole seconds, milliseconds and microseconds.
        Kind::Time => vec(
            nullable(prop_oneof![
                (-2_208_988_800i64..4_102_444_800).prop_map(|s| s * 1_000_000),
                (-2_208_988_800_000i64..4_102_444_800_000).prop_map(|ms| ms * 1_000),
                -2_208_988_800_000_000i64..4_102_444_800_000_000,
            ]),
            rows..=rows,
        )
        .prop_map(Values::Time)
        .boxed(),
    }
}

/// Column names with spaces inside, non-ASCII and a quote; made unique by their position.
/// (`--schema` trims names and splits at commas, so no name has either.)
const NAMES: &[&str] = &[
    "amount",
    "a b",
    "prix €",
    "名前",
    "x\"y",
    "op:tion",
    "naïve column",
    "😀",
];

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        1 => Just(Kind::Int),
        1 => Just(Kind::Float),
        3 => Just(Kind::Text),
        1 => Just(Kind::NumberText),
        1 => Just(Kind::BoolText),
        1 => Just(Kind::Bool),
        1 => Just(Kind::Time),
    ]
}

/// Tables of 1 to 8 columns and 0 to 300 rows; `time` whether timestamps may be among them.
fn table(time: bool) -> impl Strategy<Value = Table> {
    let kinds = proptest::collection::vec(
        kind().prop_map(move |k| {
            if !time && k == Kind::Time {
                Kind::Int
            } else {
                k
            }
        }),
        1..=8,
    );
    (
        kinds,
        0usize..=300,
        proptest::collection::vec(proptest::sample::select(NAMES), 8),
    )
        .prop_flat_map(|(kinds, rows, names)| {
            let names: Vec<String> = kinds
                .iter()
                .enumerate()
                .map(|(i, _)| format!("{}{i}", names[i]))
                .collect();
            let columns: Vec<BoxedStrategy<Values>> =
                kinds.iter().map(|&kind| values(kind, rows)).collect();
            (Just(names), Just(kinds), columns)
        })
        .prop_map(|(names, kinds, columns)| Table {
            names,
            kinds,
            columns,
        })
}

/// `batch` written as `format` by arrow-rs's own writer, in batches of `chunk` rows (which
/// an Arrow file keeps, and Parquet makes row groups of).
fn write(format: Format, batch: &RecordBatch, chunk: usize) -> Vec<u8> {
    let chunk = chunk.max(1);
    let pieces: Vec<RecordBatch> = (0..batch.num_rows())
        .step_by(chunk)
        .map(|start| batch.slice(start, chunk.min(batch.num_rows() - start)))
        .collect();
    let mut out = Vec::new();
    match format {
        Format::Csv { .. } | Format::Tsv => {
            let mut writer = arrow_csv::WriterBuilder::new()
                .with_header(true)
                .with_delimiter(format.delimiter().unwrap())
                .with_line_terminator(match format {
                    Format::Csv { crlf: true, .. } => arrow_csv::writer::Terminator::CRLF,
                    _ => arrow_csv::writer::Terminator::Any(b'\n'),
                })
                .build(&mut out);
            // The header is written with the first batch.
            writer.write(&batch.slice(0, 0)).unwrap();
            for piece in &pieces {
                writer.write(piece).unwrap();
            }
        }
        Format::Jsonl => {
            // Nulls written (as oplink's own output writes them), so that a column of nulls
            // is still a key.
            let mut writer = arrow_json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow_json::writer::LineDelimited>(&mut out);
            for piece in &pieces {
                writer.write(piece).unwrap();
            }
            writer.finish().unwrap();
        }
        Format::IpcFile => {
            let mut writer =
                arrow_ipc::writer::FileWriter::try_new(&mut out, &batch.schema()).unwrap();
            for piece in &pieces {
                writer.write(piece).unwrap();
            }
            writer.finish().unwrap();
        }
        Format::IpcStream => {
            let mut writer =
                arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
            for piece in &pieces {
                writer.write(piece).unwrap();
            }
            writer.finish().unwrap();
        }
        Format::Parquet => {
            let props = parquet::file::properties::WriterProperties::builder()
                .set_max_row_group_row_count(Some(chunk))
                .set_data_page_row_count_limit(chunk.div_ceil(2).max(1))
                .build();
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props))
                    .unwrap();
            for piece in &pieces {
                writer.write(piece).unwrap();
            }
            writer.close().unwrap();
        }
    }
    out
}

/// What reading a file gave: its schema, its batches and the warning found opening it.
#[derive(Debug)]
struct Read {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    warning: Option<String>,
}

/// `path` read as `oplink run` reads it, a panic caught and returned as `Err(Err(..))`.
#[allow(clippy::type_complexity)]
fn read(
    path: &Path,
    format: Format,
    schema: Option<&str>,
    batch_size: usize,
) -> Result<Result<Read, CliError>, String> {
    let schema = schema.map(|spec| super::parse_schema(spec).unwrap());
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut input = Input::open(
            path,
            format.input_format(),
            schema,
            batch_size,
            format.delimiter_option(),
        )?;
        let mut batches = Vec::new();
        while let Some(batch) = input.next_batch()? {
            batches.push(batch);
        }
        Ok(Read {
            schema: input.schema.clone(),
            batches,
            warning: input.warning.clone(),
        })
    }))
    .map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|m| (*m).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    })
}

/// A file's bytes as a failing case shows them: text as a Rust string, anything else in
/// hex.
fn shown(format: Format, bytes: &[u8]) -> String {
    if format.text() {
        format!("{:?}", String::from_utf8_lossy(bytes))
    } else {
        format!("{bytes:02x?}")
    }
}

/// Writes `bytes` to a file of `format`'s extension in a new temporary folder.
fn file(format: Format, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("data.{}", format.extension()));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .unwrap();
    (dir, path)
}

/// One array of the batches' column `index`.
fn column(read: &Read, index: usize) -> ArrayRef {
    let arrays: Vec<&dyn Array> = read
        .batches
        .iter()
        .map(|b| b.column(index).as_ref())
        .collect();
    if arrays.is_empty() {
        return arrow_array::new_empty_array(read.schema.field(index).data_type());
    }
    oplink::arrow::select::concat::concat(&arrays).unwrap()
}

/// The batch sizes `--batch-size` gives: every batch full but the last, for the readers
/// that cut their own batches; at most that, and never empty, for an Arrow file or
/// stream, whose batches are as their writer made them, sliced.
fn check_batch_sizes(format: Format, read: &Read, batch_size: usize, rows: usize) {
    let sizes: Vec<usize> = read.batches.iter().map(RecordBatch::num_rows).collect();
    assert_eq!(sizes.iter().sum::<usize>(), rows, "batch sizes {sizes:?}");
    match format {
        Format::IpcFile | Format::IpcStream => {
            assert!(
                sizes.iter().all(|&n| n <= batch_size),
                "batch sizes {sizes:?} for --batch-size {batch_size}"
            );
        }
        _ => {
            let (last, full) = sizes.split_last().unwrap_or((&0, &[]));
            assert!(
                full.iter().all(|&n| n == batch_size) && (1..=batch_size).contains(last)
                    || sizes.is_empty(),
                "batch sizes {sizes:?} for --batch-size {batch_size}"
            );
        }
    }
}

/// Column `index` of the table as a text format gives it back with its schema: in CSV and
/// TSV an empty field is a null (README: "in CSV an empty field is null, quoted `""` or
/// not"), so an empty string comes back as a null.
fn expected(format: Format, table: &Table, index: usize) -> ArrayRef {
    match (&table.columns[index], format) {
        (Values::Text(values), Format::Csv { .. } | Format::Tsv) => Arc::new(StringArray::from(
            values
                .iter()
                .map(|v| v.clone().filter(|v| !v.is_empty()))
                .collect::<Vec<_>>(),
        )),
        (values, _) => values.array(),
    }
}

/// The types inference may give a column written as `written` (README "The command line":
/// the schema is inferred from the first 10,000 rows): its own; text for a column of nulls
/// only; for text whose every value reads as a number, a boolean or a time, that type (CSV
/// infers by the values' look); a timestamp in the coarsest unit its values need (CSV); in
/// JSON lines, text for a timestamp (JSON has no timestamp, arrow-json writes its text),
/// and an integer for a float column whose values are all written as whole numbers.
fn inference_may_give(
    format: Format,
    written: &DataType,
    read: &DataType,
    nulls_only: bool,
) -> bool {
    if written == read || (nulls_only && read == &DataType::Utf8) {
        return true;
    }
    let csv = format != Format::Jsonl;
    match (written, read) {
        (DataType::Utf8, DataType::Int64 | DataType::Float64 | DataType::Boolean) => csv,
        (DataType::Utf8, DataType::Timestamp(..) | DataType::Date32) => csv,
        (DataType::Timestamp(..), DataType::Timestamp(_, None)) => csv,
        (DataType::Timestamp(..), DataType::Utf8) => !csv,
        (DataType::Float64, DataType::Int64) => true,
        _ => false,
    }
}

/// Checks that `read`, the file written from `table` as `format` and read back with the
/// schema given (`given`) or inferred, holds every row and value, in order.
fn check_round_trip(format: Format, table: &Table, read: &Read, given: bool, bytes: &[u8]) {
    let rows = table.columns.first().map_or(0, |c| c.array().len());
    let context = || {
        format!(
            "{format:?}, schema {}, file {}",
            if given { "given" } else { "inferred" },
            shown(format, bytes)
        )
    };
    assert_eq!(
        read.schema.fields().len(),
        table.names.len(),
        "columns {:?}; {}",
        read.schema,
        context()
    );
    let strictly = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    for (index, name) in table.names.iter().enumerate() {
        let field = read.schema.field(index);
        assert_eq!(field.name(), name, "{}", context());
        let got = column(read, index);
        assert_eq!(got.len(), rows, "{}", context());
        let want = expected(format, table, index);
        if given || !format.text() {
            assert_eq!(field.data_type(), want.data_type(), "{}", context());
            assert_eq!(&got, &want, "column `{name}`; {}", context());
            continue;
        }
        // Inferred: the type inference may give, holding the values as written, and
        // nothing lost: each value read back is the one written, read as that type, and
        // turns back into it.
        let nulls_only = want.null_count() == want.len();
        assert!(
            inference_may_give(format, want.data_type(), field.data_type(), nulls_only),
            "column `{name}` written as {} read as {}; {}",
            want.data_type(),
            field.data_type(),
            context()
        );
        let as_read = cast_with_options(&want, field.data_type(), &strictly)
            .unwrap_or_else(|e| panic!("column `{name}`: {e}; {}", context()));
        assert_eq!(&got, &as_read, "column `{name}`; {}", context());
        if want.data_type() != &DataType::Utf8 {
            let back = cast_with_options(&got, want.data_type(), &strictly).unwrap();
            assert_eq!(&back, &want, "column `{name}` turned back; {}", context());
        }
    }
}

fn round_trip(format: Format, table: &Table, batch_size: usize, chunk: usize) {
    let batch = table.batch();
    let bytes = write(format, &batch, chunk);
    let (_dir, path) = file(format, &bytes);
    let rows = batch.num_rows();
    let spec = table.schema_spec();
    let mut ways = vec![(false, None)];
    if format.text() {
        ways.push((true, Some(spec.as_str())));
    }
    for (given, schema) in ways {
        let result = read(&path, format, schema, batch_size);
        // An empty JSON lines file has no keys to infer columns from.
        if format == Format::Jsonl && rows == 0 && !given {
            let error = result.unwrap().unwrap_err().to_string();
            assert!(
                error.contains(": it holds no JSON objects with fields, so it names no columns: give them with `--schema`"),
                "{error}"
            );
            continue;
        }
        let read = match result {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => panic!(
                "{format:?} (schema {schema:?}) refused: {error}; file {}",
                shown(format, &bytes)
            ),
            Err(panic) => panic!(
                "{format:?} (schema {schema:?}) panicked: {panic}; file {}",
                shown(format, &bytes)
            ),
        };
        check_batch_sizes(format, &read, batch_size, rows);
        check_round_trip(format, table, &read, given, &bytes);
        assert_eq!(read.warning, None, "{format:?}");
    }
}

fn csv_format() -> impl Strategy<Value = Format> {
    (
        proptest::sample::select(&[b',', b';', b'|', b'\t'][..]),
        any::<bool>(),
    )
        .prop_map(|(delimiter, crlf)| Format::Csv { delimiter, crlf })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn csv_round_trips(format in csv_format(), table in table(true), batch_size in 1usize..400) {
        round_trip(format, &table, batch_size, 300);
    }

    #[test]
    fn tsv_round_trips(table in table(true), batch_size in 1usize..400) {
        round_trip(Format::Tsv, &table, batch_size, 300);
    }

    #[test]
    fn json_lines_round_trip(table in table(true), batch_size in 1usize..400) {
        round_trip(Format::Jsonl, &table, batch_size, 300);
    }

    #[test]
    fn arrow_files_round_trip(table in table(true), batch_size in 1usize..400, chunk in 1usize..400) {
        round_trip(Format::IpcFile, &table, batch_size, chunk);
    }

    #[test]
    fn arrow_streams_round_trip(table in table(true), batch_size in 1usize..400, chunk in 1usize..400) {
        round_trip(Format::IpcStream, &table, batch_size, chunk);
    }

    #[test]
    fn parquet_round_trips(table in table(true), batch_size in 1usize..400, chunk in 1usize..400) {
        round_trip(Format::Parquet, &table, batch_size, chunk);
    }
}

/// A change to a valid file: bytes cut, flipped, added or removed; a line doubled; a field
/// added to a record; a quote removed; a byte that is no UTF-8 added to a record.
#[derive(Clone, Debug)]
enum Mutation {
    Truncate(Index),
    /// The byte there XOR the value (not 0).
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    DuplicateLine(Index),
    /// A field more at the end of a data record (CSV), a key more in an object (JSON).
    AddField(Index),
    /// One `"` removed.
    BreakQuote(Index),
    /// `0xff` at the end of a data record (CSV), inside the first key of a line (JSON).
    InvalidUtf8(Index),
}

fn mutation(text: bool) -> BoxedStrategy<Mutation> {
    let bytes = prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1u8..=255).prop_map(|(at, x)| Mutation::Flip(at, x)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<Index>().prop_map(Mutation::Delete),
    ];
    if !text {
        return bytes.boxed();
    }
    prop_oneof![
        4 => bytes,
        1 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => any::<Index>().prop_map(Mutation::AddField),
        1 => any::<Index>().prop_map(Mutation::BreakQuote),
        1 => any::<Index>().prop_map(Mutation::InvalidUtf8),
    ]
    .boxed()
}

/// Where each record of a text file starts and where its text ends (before its line
/// break): CSV records as the csv crate reads them (the header first), JSON lines' lines.
fn records(format: Format, bytes: &[u8]) -> Vec<(usize, usize)> {
    let starts: Vec<usize> = match format.delimiter() {
        Some(delimiter) => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes);
            let mut record = csv::ByteRecord::new();
            let mut starts = Vec::new();
            while reader.read_byte_record(&mut record).unwrap() {
                // A record's position may be inside the line break before it (`\r|\n`).
                let mut start = record.position().unwrap().byte() as usize;
                while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
                    start += 1;
                }
                starts.push(start);
            }
            starts
        }
        None => std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', bytes).map(|at| at + 1))
            .filter(|&at| at < bytes.len())
            .collect(),
    };
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let mut end = starts.get(i + 1).copied().unwrap_or(bytes.len());
            if end > start && bytes[end - 1] == b'\n' {
                end -= 1;
            }
            if end > start && bytes[end - 1] == b'\r' {
                end -= 1;
            }
            (start, end)
        })
        .collect()
}

/// The line (from 1) that holds byte `at`.
fn line_of(bytes: &[u8], at: usize) -> u64 {
    1 + memchr::memchr_iter(b'\n', &bytes[..at.min(bytes.len())]).count() as u64
}

/// What a mutation made: the file, and the line an error must name when it fails (`None`
/// when the defect's line cannot be told, or the file need not fail).
struct Mutated {
    bytes: Vec<u8>,
    /// The line an error must name, and whether the file must fail.
    line: Option<(u64, bool)>,
}

/// `bytes`, a valid file of `format`, changed by `mutation`.
fn mutate(format: Format, bytes: &[u8], mutation: &Mutation) -> Mutated {
    let mut out = bytes.to_vec();
    let len = bytes.len().max(1);
    let csv = format.delimiter();
    let structural = |b: u8| matches!(b, b'"' | b'\n' | b'\r') || Some(b) == csv;
    // Data records (for CSV, past the header) of a text file.
    let data: Vec<(usize, usize)> = if format.text() {
        let all = records(format, bytes);
        all[usize::from(csv.is_some()).min(all.len())..].to_vec()
    } else {
        Vec::new()
    };
    // A byte changed in place, within one record whose structure it keeps: an error must
    // name that record's line (for CSV, in a record without quotes).
    let kept_in = |at: usize, new: Option<u8>| -> Option<(u64, bool)> {
        let old = *bytes.get(at)?;
        if structural(old) || new.is_some_and(structural) {
            return None;
        }
        let &(start, end) = data.iter().find(|(s, e)| (*s..*e).contains(&at))?;
        if csv.is_some() && bytes[start..end].contains(&b'"') {
            return None;
        }
        Some((line_of(bytes, start), false))
    };
    let line = match *mutation {
        Mutation::Truncate(at) => {
            let at = at.index(len);
            out.truncate(at);
            // JSON lines: a last line cut short of its object must fail, at that line.
            let last = out.iter().rposition(|&b| b == b'\n').map_or(0, |n| n + 1);
            let tail = &out[last..];
            (format == Format::Jsonl
                && !tail.trim_ascii().is_empty()
                && serde_json::from_slice::<serde_json::Value>(tail).is_err())
            .then(|| (line_of(&out, last), true))
        }
        Mutation::Flip(at, x) => {
            let at = at.index(len);
            let Some(old) = bytes.get(at) else {
                return Mutated {
                    bytes: out,
                    line: None,
                };
            };
            out[at] = old ^ x;
            if format.text() {
                kept_in(at, Some(old ^ x))
            } else {
                None
            }
        }
        Mutation::Insert(at, b) => {
            let at = at.index(len + 1);
            out.insert(at.min(out.len()), b);
            // Inside a record, not at its start (a quote may open there).
            match at.checked_sub(1) {
                Some(before) if format.text() && !structural(b) => {
                    kept_in(before, None).filter(|_| bytes.get(at).is_some_and(|&n| !structural(n)))
                }
                _ => None,
            }
        }
        Mutation::Delete(at) => {
            let at = at.index(len);
            if at < out.len() {
                out.remove(at);
            }
            if format.text() {
                kept_in(at, None)
            } else {
                None
            }
        }
        Mutation::DuplicateLine(at) => {
            let starts: Vec<usize> = std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', bytes).map(|n| n + 1))
                .filter(|&n| n < bytes.len())
                .collect();
            if let Some(&start) = starts.get(at.index(starts.len().max(1))) {
                let end =
                    memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |n| start + n + 1);
                let mut line = bytes[start..end].to_vec();
                if !line.ends_with(b"\n") {
                    line.push(b'\n');
                }
                out.splice(end..end, line);
            }
            None
        }
        Mutation::AddField(at) => {
            let Some(&(start, end)) = data.get(at.index(data.len().max(1))) else {
                return Mutated {
                    bytes: out,
                    line: None,
                };
            };
            match csv {
                // One field more than the header: an error at the record's line.
                Some(delimiter) => {
                    out.splice(end..end, [delimiter, b'x']);
                    Some((line_of(bytes, start), true))
                }
                // A key of its own: read (inferred) or left out (`--schema`).
                None => {
                    let close = bytes[start..end].iter().rposition(|&b| b == b'}').unwrap() + start;
                    out.splice(close..close, *b",\"zz extra\":1");
                    None
                }
            }
        }
        Mutation::BreakQuote(at) => {
            let quotes: Vec<usize> = memchr::memchr_iter(b'"', bytes).collect();
            if let Some(&at) = quotes.get(at.index(quotes.len().max(1))) {
                out.remove(at);
            }
            None
        }
        Mutation::InvalidUtf8(at) => {
            let Some(&(start, end)) = data.get(at.index(data.len().max(1))) else {
                return Mutated {
                    bytes: out,
                    line: None,
                };
            };
            let at = if csv.is_some() { end } else { start + 2 };
            out.insert(at, 0xff);
            Some((line_of(bytes, start), true))
        }
    };
    Mutated { bytes: out, line }
}

/// The rows a text file holds, read by another reader (the csv crate; serde_json, a JSON
/// value after another): `None` when it is no valid file of the format (a record with
/// another number of fields than the header, a value that is no JSON object).
fn rows_in(format: Format, bytes: &[u8]) -> Option<usize> {
    match format.delimiter() {
        Some(delimiter) => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .has_headers(true)
                .from_reader(bytes);
            let mut record = csv::ByteRecord::new();
            let mut rows = 0;
            while reader.read_byte_record(&mut record).ok()? {
                rows += 1;
            }
            Some(rows)
        }
        None => {
            // The objects at the top level, counted by their braces outside strings: what
            // arrow-json reads as rows. (arrow-json takes some text JSON refuses, a control
            // character inside a string or `,,` between fields, without losing a value.)
            let bytes = bytes.strip_prefix(super::BOM.as_bytes()).unwrap_or(bytes);
            let (mut rows, mut depth, mut inside, mut escaped) = (0, 0usize, false, false);
            for &byte in bytes {
                match (byte, inside, escaped) {
                    (_, true, true) => escaped = false,
                    (b'\\', true, false) => escaped = true,
                    (b'"', _, false) if depth > 0 => inside = !inside,
                    (_, true, false) => {}
                    (b'{' | b'[', false, _) => {
                        if depth == 0 {
                            if byte == b'[' {
                                return None;
                            }
                            rows += 1;
                        }
                        depth += 1;
                    }
                    (b'}' | b']', false, _) => depth = depth.checked_sub(1)?,
                    (b' ' | b'\t' | b'\n' | b'\r', false, _) => {}
                    (_, false, _) if depth == 0 => return None,
                    _ => {}
                }
            }
            (depth == 0 && !inside).then_some(rows)
        }
    }
}

/// Reads a damaged file and checks what came of it: no panic; an error names the file, and
/// the line of the defect where it can be told; rows read are the rows the file holds
/// (text), and valid arrays (all formats).
fn check_damaged(
    format: Format,
    table: &Table,
    mutation: &Mutation,
    batch_size: usize,
    chunk: usize,
) {
    let batch = table.batch();
    let bytes = write(format, &batch, chunk);
    let Mutated {
        bytes: damaged,
        line,
    } = mutate(format, &bytes, mutation);
    let (_dir, path) = file(format, &damaged);
    let spec = table.schema_spec();
    let mut ways = vec![None];
    if format.text() {
        ways.push(Some(spec.as_str()));
    }
    for schema in ways {
        let context = || {
            format!(
                "{format:?}, schema {schema:?}, {mutation:?}: file {}",
                shown(format, &damaged)
            )
        };
        let result = read(&path, format, schema, batch_size)
            .unwrap_or_else(|panic| panic!("panicked: {panic}; {}", context()));
        match result {
            Ok(read) => {
                for batch in &read.batches {
                    for column in batch.columns() {
                        column
                            .to_data()
                            .validate_full()
                            .unwrap_or_else(|e| panic!("an invalid batch: {e}; {}", context()));
                    }
                }
                let rows: usize = read.batches.iter().map(RecordBatch::num_rows).sum();
                if format.text() {
                    assert_eq!(
                        Some(rows),
                        rows_in(format, &damaged),
                        "rows read; {}",
                        context()
                    );
                    assert!(
                        !line.is_some_and(|(_, fails)| fails),
                        "read {rows} rows where an error was due; {}",
                        context()
                    );
                }
                match (format, mutation) {
                    // Without its footer, no Arrow or Parquet file reads.
                    (Format::IpcFile | Format::Parquet, Mutation::Truncate(_)) => {
                        panic!("a file cut short read as {rows} rows; {}", context())
                    }
                    // A stream cut short between its messages: the batches before, with a
                    // warning that rows may be missing.
                    (Format::IpcStream, Mutation::Truncate(_)) => assert!(
                        read.warning.is_some() || rows == batch.num_rows(),
                        "a stream cut short read as {rows} rows without a warning; {}",
                        context()
                    ),
                    _ => {}
                }
            }
            Err(error) => {
                let message = error.to_string();
                assert!(
                    message.contains(&path.display().to_string()),
                    "the error does not name the file: {message}; {}",
                    context()
                );
                if format.text() {
                    // A reader's panic, caught: a bug of the reader.
                    assert!(!message.contains("is damaged"), "{message}; {}", context());
                }
                if let Some((want, _)) = line {
                    let CliError::Data { line: got, .. } = &error else {
                        panic!("no line in: {message}; {}", context());
                    };
                    assert_eq!(*got, Some(want), "the line of: {message}; {}", context());
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn damaged_csv_fails_or_reads_whole(
        format in csv_format(), table in table(true), mutation in mutation(true), batch_size in 1usize..400,
    ) {
        check_damaged(format, &table, &mutation, batch_size, 300);
    }

    #[test]
    fn damaged_tsv_fails_or_reads_whole(table in table(true), mutation in mutation(true), batch_size in 1usize..400) {
        check_damaged(Format::Tsv, &table, &mutation, batch_size, 300);
    }

    #[test]
    fn damaged_json_lines_fail_or_read_whole(table in table(true), mutation in mutation(true), batch_size in 1usize..400) {
        check_damaged(Format::Jsonl, &table, &mutation, batch_size, 300);
    }

    #[test]
    fn damaged_arrow_files_fail_or_read(
        table in table(true), mutation in mutation(false), batch_size in 1usize..400, chunk in 1usize..400,
    ) {
        check_damaged(Format::IpcFile, &table, &mutation, batch_size, chunk);
    }

    #[test]
    fn damaged_arrow_streams_fail_or_read(
        table in table(true), mutation in mutation(false), batch_size in 1usize..400, chunk in 1usize..400,
    ) {
        check_damaged(Format::IpcStream, &table, &mutation, batch_size, chunk);
    }

    #[test]
    fn damaged_parquet_fails_or_reads(
        table in table(true), mutation in mutation(false), batch_size in 1usize..400, chunk in 1usize..400,
    ) {
        check_damaged(Format::Parquet, &table, &mutation, batch_size, chunk);
    }
}
