//! What the formats need of a batch's columns: the checks made before writing (times text
//! cannot show, structs without fields Parquet cannot hold), seconds made milliseconds for
//! Parquet, the NaNs and infinities JSON writes as `null` counted, and the columns in words.

use oplink::arrow::array::RecordBatch;
use oplink::arrow::schema::Schema;

use super::format::format_name;
use crate::args::OutputFormat;
use crate::error::{CliError, Result};

/// How many values of `batch`'s floating-point columns are NaN or infinite (JSON has no
/// number for them).
pub(super) fn not_finite(batch: &RecordBatch) -> u64 {
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

/// How many values of `batch`'s text and binary columns (dictionary-encoded ones included)
/// are empty but not null: CSV and TSV write both as an empty field, which reads back as a
/// null.
pub(super) fn empty_texts(batch: &RecordBatch) -> u64 {
    batch.columns().iter().map(empty_in).sum()
}

fn empty_in(column: &oplink::arrow::array::ArrayRef) -> u64 {
    use arrow_array::cast::AsArray;
    use oplink::arrow::schema::DataType;
    let count = |empty: &dyn Fn(usize) -> bool| {
        (0..column.len())
            .filter(|&i| column.is_valid(i) && empty(i))
            .count() as u64
    };
    match column.data_type() {
        DataType::Utf8 => {
            let v = column.as_string::<i32>();
            count(&|i| v.value_length(i) == 0)
        }
        DataType::LargeUtf8 => {
            let v = column.as_string::<i64>();
            count(&|i| v.value_length(i) == 0)
        }
        DataType::Utf8View => {
            let v = column.as_string_view();
            count(&|i| v.value(i).is_empty())
        }
        DataType::Binary => {
            let v = column.as_binary::<i32>();
            count(&|i| v.value_length(i) == 0)
        }
        DataType::LargeBinary => {
            let v = column.as_binary::<i64>();
            count(&|i| v.value_length(i) == 0)
        }
        DataType::BinaryView => {
            let v = column.as_binary_view();
            count(&|i| v.value(i).is_empty())
        }
        // Expanded to count (as the CSV writer expands it to write): only a dictionary of
        // text or binary can hold an empty one.
        DataType::Dictionary(_, values)
            if matches!(
                **values,
                DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::BinaryView
            ) =>
        {
            arrow_cast::cast(column, values).map_or(0, |plain| empty_in(&plain))
        }
        _ => 0,
    }
}

/// `batch` with its timestamps and times in whole seconds (what CSV's inference gives a
/// timestamp without a fraction), at any depth, in milliseconds, when it has any: Parquet
/// has no timestamp in seconds, and arrow-rs writes them as plain integers, which other
/// readers (pyarrow, DuckDB, Spark) take for numbers.
pub(super) fn seconds_as_milliseconds(batch: &RecordBatch) -> Result<Option<RecordBatch>> {
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
pub(super) fn holds_empty_struct(ty: &oplink::arrow::schema::DataType) -> bool {
    use oplink::arrow::schema::DataType;
    holds(
        ty,
        &|ty| matches!(ty, DataType::Struct(fields) if fields.is_empty()),
    )
}

/// Whether `ty` is, or holds at any depth, an interval of months, days and nanoseconds,
/// which arrow-rs's Parquet writer does not write.
pub(super) fn holds_month_day_nano(ty: &oplink::arrow::schema::DataType) -> bool {
    use oplink::arrow::schema::{DataType, IntervalUnit};
    holds(ty, &|ty| {
        matches!(ty, DataType::Interval(IntervalUnit::MonthDayNano))
    })
}

/// Whether `ty` is, or holds at any depth, a union, which only Arrow IPC writes.
pub(super) fn holds_union(ty: &oplink::arrow::schema::DataType) -> bool {
    use oplink::arrow::schema::DataType;
    holds(ty, &|ty| matches!(ty, DataType::Union(_, _)))
}

/// Whether `ty`, or a type it holds at any depth, is one that `is` picks.
fn holds(
    ty: &oplink::arrow::schema::DataType,
    is: &dyn Fn(&oplink::arrow::schema::DataType) -> bool,
) -> bool {
    use oplink::arrow::schema::DataType;
    if is(ty) {
        return true;
    }
    match ty {
        DataType::Struct(fields) => fields.iter().any(|f| holds(f.data_type(), is)),
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::LargeListView(item)
        | DataType::FixedSizeList(item, _)
        | DataType::Map(item, _) => holds(item.data_type(), is),
        DataType::Dictionary(_, values) => holds(values, is),
        DataType::RunEndEncoded(_, values) => holds(values.data_type(), is),
        DataType::Union(fields, _) => fields.iter().any(|(_, f)| holds(f.data_type(), is)),
        _ => false,
    }
}

pub(super) fn fields_in_words(schema: &Schema) -> String {
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
pub(super) fn unwritable_time(batch: &RecordBatch, format: OutputFormat) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Sink;

    #[test]
    fn empty_texts_are_counted_in_every_text_and_binary_type() {
        use arrow_array::types::Int32Type;
        use arrow_array::{
            ArrayRef, BinaryArray, DictionaryArray, Int64Array, LargeStringArray, StringArray,
            StringViewArray,
        };
        use std::sync::Arc;
        let batch = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from(vec![Some(""), None, Some("a")])) as ArrayRef,
            ),
            (
                "l",
                Arc::new(LargeStringArray::from(vec![Some(""), Some(""), None])),
            ),
            (
                "v",
                Arc::new(StringViewArray::from(vec![Some(""), Some("b"), None])),
            ),
            (
                "b",
                Arc::new(BinaryArray::from(vec![Some(&b""[..]), None, Some(b"x")])),
            ),
            (
                "d",
                Arc::new(DictionaryArray::<Int32Type>::from_iter([
                    Some(""),
                    None,
                    Some(""),
                ])),
            ),
            ("n", Arc::new(Int64Array::from(vec![0, 0, 0]))),
        ])
        .unwrap();
        assert_eq!(empty_texts(&batch), 1 + 2 + 1 + 1 + 2);
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
}
