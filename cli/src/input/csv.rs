//! Opening a CSV or TSV file: its schema (its header's columns, or inferred, with the dates
//! and times inference took by their look alone settled against their values), and its
//! reader.

use std::fs::File;
use std::io::Seek;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use oplink::arrow::schema::{DataType, Field, Schema};

use crate::error::{CliError, Result};

use super::csv_errors::{csv_error, no_header};
use super::file::{Counting, open};
use super::messages::arrow_words;
use super::quotes::Quotes;
use super::schema::{names, text_for_null};
use super::strict::StrictText;
use super::{INFER_RECORDS, Opened, Progress, rows_per_batch, unplaced};

/// Opens the CSV or TSV file `path` (`file`, of `size` bytes) to read batches of up to
/// `batch_size` rows of fields separated by `delimiter`: with `schema`, whose names must be
/// the header's, or else with the one inferred from its first [`INFER_RECORDS`] records.
/// Its quotes are followed as it is read, for the error of one never closed.
pub(super) fn open_csv(
    path: &Path,
    mut file: File,
    size: u64,
    schema: Option<Schema>,
    delimiter: u8,
    batch_size: usize,
) -> Result<Opened> {
    let data = |reason: String| unplaced(path, reason);
    let read = Arc::new(AtomicU64::new(0));
    let schema = match schema {
        Some(schema) => {
            // arrow-csv reads columns by position: the names must agree.
            let header = csv_header(path, delimiter)?;
            if header.fields().is_empty() {
                return Err(data(no_header(size == 0, delimiter)));
            }
            if names(&header) != names(&schema) {
                return Err(CliError::Usage(format!(
                    "--schema names the columns {}, but the header of `{}` has {}: give each of the header's columns, in its order, as `name:type`",
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
            let schema = settled(text_for_null(schema), path, delimiter);
            file.rewind().map_err(|e| CliError::io("read", path, e))?;
            schema
        }
    };
    if schema.fields().is_empty() {
        return Err(data(no_header(size == 0, delimiter)));
    }
    let schema = Arc::new(schema);
    let quotes = Arc::new(Mutex::new(Quotes::new(delimiter)));
    // Dates and times are read as text and parsed strictly: arrow-csv cuts a value finer
    // than its column short without a word.
    let strict = StrictText::times(&schema);
    let reader = arrow_csv::ReaderBuilder::new(strict.read_schema.clone())
        .with_header(true)
        .with_delimiter(delimiter)
        .with_batch_size(rows_per_batch(batch_size, schema.fields().len()))
        .build(Counting {
            inner: file,
            read: read.clone(),
            quotes: Some(quotes.clone()),
        })
        .map_err(|e| data(arrow_words(&e.to_string())))?;
    Ok(Opened {
        schema,
        progress: Progress::Bytes(read, size),
        batches: strict.over(reader),
        warning: None,
        left_out: Vec::new(),
        quotes: Some(quotes),
    })
}

/// `schema` settled against the rows inference read, for the columns it took for dates and
/// times by their look alone (arrow-csv infers them by pattern):
/// - a column with a value that does not read as its type (`2024-13-01` for a date) is
///   text, as any column whose values are not all of one type;
/// - a timestamp column inferred without a zone whose values give an offset (`+05:30`,
///   `Z`) has the zone UTC: arrow-csv reads them as the instants they are, in UTC, and
///   without a zone they would be written as local times, the offset lost.
fn settle_times(schema: Schema, records: &[csv::StringRecord]) -> Schema {
    let temporal: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| schema.field(i).data_type().is_temporal())
        .collect();
    if temporal.is_empty() {
        return schema;
    }
    let mut offset = vec![false; schema.fields().len()];
    let mut values: Vec<Vec<String>> = vec![Vec::new(); schema.fields().len()];
    for record in records {
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

/// `schema` with `UInt64` for each text column whose values in the rows inference read are
/// all whole numbers from 0 to `u64::MAX`, one of them past `i64`'s range (a 64-bit hash,
/// an unsigned id): arrow-csv infers text for a number past `i64`, where JSON lines get
/// `UInt64`. A later value that is no such number is an error naming its line and column,
/// as in any integer column. A column with a negative number past `i64`, or one past
/// `u64`, stays text, as written (arrow-csv's decimals would round a later fraction).
fn settle_unsigned(schema: Schema, records: &[csv::StringRecord]) -> Schema {
    let texts: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| schema.field(i).data_type() == &DataType::Utf8)
        .collect();
    if texts.is_empty() {
        return schema;
    }
    // Of each text column: `None` once a value is no whole number within `u64`, else
    // whether one so far is past `i64`.
    let mut unsigned: Vec<Option<bool>> = vec![Some(false); schema.fields().len()];
    for record in records {
        for &i in &texts {
            let (Some(seen), Some(value)) = (unsigned[i], record.get(i)) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            unsigned[i] = match value.parse::<u64>() {
                Ok(n) if !value.starts_with('+') => Some(seen || i64::try_from(n).is_err()),
                _ => None,
            };
        }
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| match unsigned[i] {
            Some(true) if texts.contains(&i) => {
                field.as_ref().clone().with_data_type(DataType::UInt64)
            }
            _ => field.as_ref().clone(),
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// `schema`, as arrow-csv inferred it from `path`, with what it infers by look alone
/// settled ([`settle_times`], [`settle_unsigned`]) from the records inference read (the
/// first [`INFER_RECORDS`] after the header), read again once for both, when there is a
/// temporal or a text column; as it is when the file cannot be opened again.
fn settled(schema: Schema, path: &Path, delimiter: u8) -> Schema {
    let settles = |ty: &DataType| ty.is_temporal() || ty == &DataType::Utf8;
    if !schema.fields().iter().any(|f| settles(f.data_type())) {
        return schema;
    }
    let Ok(reader) = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)
    else {
        return schema;
    };
    let records: Vec<csv::StringRecord> = reader
        .into_records()
        .take(INFER_RECORDS)
        .flatten()
        .collect();
    settle_unsigned(settle_times(schema, &records), &records)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
