//! [`Sink`]: the result written batch by batch in its format, what the format cannot hold
//! refused before anything is written, then finished into a [`Written`] (made by
//! [`Sink::create`], in destination.rs).

use std::io::Write;

use oplink::arrow::array::{RecordBatch, RecordBatchOptions};
use std::sync::Arc;

use oplink::arrow::schema::{Field, Schema, SchemaRef};

use super::Writer;
use super::columns::{
    empty_texts, fields_in_words, holds_empty_struct, holds_month_day_nano, holds_union,
    not_finite, seconds_as_milliseconds, unwritable_time,
};
use super::destination::{Destination, Written};
use super::errors::{arrow_write, in_file, naming_file, parquet_write, writer_panicked};
use super::format::format_name;
use super::table::TablePart;
use crate::args::OutputFormat;
use crate::error::{CliError, Result};

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
    /// Empty texts written by CSV or TSV as an empty field, which reads back as a null.
    emptied: u64,
}

enum SinkState {
    Start,
    /// The table part being gathered.
    Table(TablePart),
    Csv(arrow_csv::Writer<Writer>),
    Jsonl(arrow_json::LineDelimitedWriter<Writer>),
    Ipc(arrow_ipc::writer::FileWriter<Writer>),
    IpcStream(arrow_ipc::writer::StreamWriter<Writer>),
    Parquet(Box<parquet::arrow::ArrowWriter<Writer>>),
    Done,
}

impl Sink {
    /// A sink writing to `out` (for tests and benchmarks).
    pub fn to_writer(format: OutputFormat, out: Writer) -> Sink {
        Sink::new(format, Destination::Stream, out)
    }

    pub(super) fn new(format: OutputFormat, destination: Destination, out: Writer) -> Sink {
        Sink {
            format,
            destination,
            out: Some(out),
            schema: None,
            state: SinkState::Start,
            rows: 0,
            finished: false,
            nulled: 0,
            emptied: 0,
        }
    }

    /// Whether a batch was written (the output's columns are set).
    pub fn started(&self) -> bool {
        self.schema.is_some()
    }

    /// How many values JSON lines output wrote as `null` because JSON has no number for
    /// them (NaN, infinities).
    pub fn nulled(&self) -> u64 {
        self.nulled
    }

    /// How many empty texts (or binaries) CSV or TSV output wrote as an empty field, the
    /// same as a null's, which reads back as a null.
    pub fn emptied(&self) -> u64 {
        self.emptied
    }

    /// Whether rows are only counted (`--to none`): what they hold does not matter.
    pub fn counts_only(&self) -> bool {
        self.format == OutputFormat::None
    }

    /// Whether the output is a file `oplink run` can read back (not a table, not `none`).
    pub fn reads_back(&self) -> bool {
        !matches!(self.format, OutputFormat::None | OutputFormat::Table)
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
        // A batch whose columns differ from the ones written before only in which may hold
        // nulls is the same output: an operator that builds its batches with
        // `RecordBatch::try_from_iter` makes a column non-nullable in a batch that happens
        // to have no nulls in it, and nullable in the next. A file with a schema of its
        // own declares every column nullable (below), and takes such a batch under it.
        let relabelled;
        let batch = match &self.schema {
            Some(schema)
                if schema.fields() != batch.schema_ref().fields()
                    && same_but_nullability(schema, batch.schema_ref()) =>
            {
                if has_file_schema(self.format) {
                    relabelled = under(schema.clone(), batch)?;
                    &relabelled
                } else {
                    self.schema = Some(batch.schema());
                    batch
                }
            }
            _ => batch,
        };
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
                refuse_unwritable_columns(self.format, batch.schema_ref())?;
                if has_file_schema(self.format) {
                    // Every column nullable, so that a later batch with nulls where this
                    // one has none fits the schema the file declared.
                    let schema = Arc::new(all_nullable(batch.schema_ref()));
                    self.schema = Some(schema.clone());
                    let out = self.out.take().expect("the writer is taken once");
                    self.state = writer_for(self.format, out, schema.clone())?;
                    let batch = under(schema, batch)?;
                    return self.write_batch(&batch);
                }
                let out = self.out.take().expect("the writer is taken once");
                self.state = writer_for(self.format, out, batch.schema())?;
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
            SinkState::Csv(w) => {
                self.emptied += empty_texts(batch);
                w.write(batch).map_err(arrow_write)?
            }
            SinkState::Jsonl(w) => {
                self.nulled += not_finite(batch);
                w.write(batch).map_err(arrow_write)?
            }
            SinkState::Ipc(w) => w.write(batch).map_err(arrow_write)?,
            SinkState::IpcStream(w) => w.write(batch).map_err(arrow_write)?,
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
            SinkState::IpcStream(mut w) => {
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

/// Refuses, before anything is written, a column the output format cannot hold: a union,
/// at any depth, in any but Arrow IPC, a nested one in CSV or TSV, a struct without fields
/// or an interval of months, days and nanoseconds in Parquet.
fn refuse_unwritable_columns(format: OutputFormat, schema: &Schema) -> Result<()> {
    if matches!(
        format,
        OutputFormat::Csv | OutputFormat::Tsv | OutputFormat::Jsonl | OutputFormat::Parquet
    ) && let Some(field) = schema.fields().iter().find(|f| holds_union(f.data_type()))
    {
        // arrow-json says so with the type's debug form, and arrow-rs's Parquet writer
        // "not implemented: See ARROW-8817", naming no column; neither holds a union, so
        // neither is offered for one.
        return Err(CliError::Output(format!(
            "{} cannot hold the column `{}` of type {}: of the formats `oplink run` writes, only Arrow IPC holds a union; write Arrow IPC instead (an output file named `.arrow`, or `--to ipc`)",
            format_name(format),
            field.name(),
            field.data_type()
        )));
    }
    if matches!(format, OutputFormat::Csv | OutputFormat::Tsv)
        && let Some(field) = schema.fields().iter().find(|f| f.data_type().is_nested())
    {
        // Said before the header is written, not after.
        return Err(CliError::Output(format!(
            "{} cannot hold the column `{}` of type {}: write `--to jsonl`, `ipc` or `parquet`",
            format_name(format),
            field.name(),
            field.data_type()
        )));
    }
    if format == OutputFormat::Parquet
        && let Some(field) = schema
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
    if format == OutputFormat::Parquet
        && let Some(field) = schema
            .fields()
            .iter()
            .find(|f| holds_month_day_nano(f.data_type()))
    {
        // arrow-rs's Parquet writer says only "NYI" (not yet implemented).
        return Err(CliError::Output(format!(
            "Parquet cannot hold the column `{}` of type {}: its writer has no interval of months, days and nanoseconds; write Arrow IPC instead (an output file named `.arrow`, or `--to ipc`), or JSON lines, which write it as text",
            field.name(),
            field.data_type()
        )));
    }
    Ok(())
}

/// Whether `format` writes a schema of its own into the file (Arrow IPC and Parquet), which
/// then holds for every batch, rather than columns' names alone.
fn has_file_schema(format: OutputFormat) -> bool {
    matches!(
        format,
        OutputFormat::Ipc | OutputFormat::IpcStream | OutputFormat::Parquet
    )
}

/// Whether `a` and `b` have the same columns, of the same names and types, and differ at
/// most in which of them may hold nulls.
pub(crate) fn same_but_nullability(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields().iter().zip(b.fields().iter()).all(|(a, b)| {
            a.name() == b.name() && a.data_type() == b.data_type() && a.metadata() == b.metadata()
        })
}

/// `batch`'s columns under `schema` (the same columns, which may differ in nullability).
fn under(schema: SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
    // The row count given, for a batch of no columns.
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema, batch.columns().to_vec(), &options)
        .map_err(arrow_write)
}

/// `schema` with every top-level column nullable.
fn all_nullable(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// The writer of a file `format` (not a table, nor `--to none`, which write none) whose
/// first batch is of `schema`, writing to `out`.
fn writer_for(format: OutputFormat, out: Writer, schema: SchemaRef) -> Result<SinkState> {
    Ok(match format {
        OutputFormat::Table | OutputFormat::None => {
            unreachable!("a table and `--to none` have no file writer")
        }
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
            arrow_ipc::writer::FileWriter::try_new(out, &schema).map_err(arrow_write)?,
        ),
        OutputFormat::IpcStream => SinkState::IpcStream(
            arrow_ipc::writer::StreamWriter::try_new(out, &schema).map_err(arrow_write)?,
        ),
        OutputFormat::Parquet => SinkState::Parquet(Box::new(
            parquet::arrow::ArrowWriter::try_new(out, schema, None).map_err(parquet_write)?,
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

#[cfg(test)]
/// Batches that differ only in which columns are nullable.
mod nullable_columns {
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, Int64Array};
    use oplink::arrow::array::RecordBatch;
    use oplink::arrow::schema::{DataType, Field, Schema};

    use super::Sink;
    use crate::args::OutputFormat;

    /// A batch of one `Int64` column `x`, nullable or not as its values need, as
    /// `RecordBatch::try_from_iter` makes one.
    fn batch(values: Vec<Option<i64>>) -> RecordBatch {
        RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(values)) as ArrayRef)]).unwrap()
    }

    /// Reads an Arrow IPC file or a Parquet file back: its schema and the nulls of `x`.
    fn read_back(format: OutputFormat, path: &std::path::Path) -> (Schema, Vec<Option<i64>>) {
        let file = std::fs::File::open(path).unwrap();
        let batches: Vec<RecordBatch> = match format {
            OutputFormat::Ipc => arrow_ipc::reader::FileReader::try_new(file, None)
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            OutputFormat::IpcStream => arrow_ipc::reader::StreamReader::try_new(file, None)
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            _ => parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
                .collect(),
        };
        let schema = batches[0].schema().as_ref().clone();
        let values = batches
            .iter()
            .flat_map(|b| {
                let x = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                x.iter().collect::<Vec<_>>()
            })
            .collect();
        (schema, values)
    }

    /// An operator's batches may differ in whether a column is nullable (one without nulls
    /// made by `RecordBatch::try_from_iter` is not): that is no change of columns, in a
    /// text format, and a file with a schema of its own declares the column nullable.
    #[test]
    fn batches_that_differ_only_in_nullability_are_one_output() {
        let no_nulls = batch(vec![Some(1), Some(2)]);
        let nulls = batch(vec![None, Some(3)]);
        assert!(!no_nulls.schema().field(0).is_nullable());
        assert!(nulls.schema().field(0).is_nullable());
        for order in [[&no_nulls, &nulls], [&nulls, &no_nulls]] {
            for format in [OutputFormat::Csv, OutputFormat::Tsv, OutputFormat::Jsonl] {
                let mut sink = Sink::to_writer(format, Box::new(std::io::sink()));
                for b in order {
                    sink.write(b).unwrap_or_else(|e| panic!("{format:?}: {e}"));
                }
                assert_eq!(sink.rows(), 4);
            }
            for format in [
                OutputFormat::Ipc,
                OutputFormat::IpcStream,
                OutputFormat::Parquet,
            ] {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("out");
                let file = std::fs::File::create(&path).unwrap();
                let mut sink = Sink::to_writer(format, Box::new(file));
                for b in order {
                    sink.write(b).unwrap_or_else(|e| panic!("{format:?}: {e}"));
                }
                sink.finish().unwrap();
                let (schema, values) = read_back(format, &path);
                assert_eq!(schema.field(0), &Field::new("x", DataType::Int64, true));
                let mut want: Vec<Option<i64>> = Vec::new();
                for b in order {
                    let x = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                    want.extend(x.iter());
                }
                assert_eq!(values, want, "{format:?}");
                assert_eq!(want.iter().filter(|v| v.is_none()).count(), 1);
            }
        }
        // A change of a column's type is still refused.
        let mut sink = Sink::to_writer(OutputFormat::Csv, Box::new(std::io::sink()));
        sink.write(&no_nulls).unwrap();
        let text = RecordBatch::try_from_iter([(
            "x",
            Arc::new(arrow_array::StringArray::from(vec!["a"])) as ArrayRef,
        )])
        .unwrap();
        assert!(sink.write(&text).is_err());
    }
}
