//! The columns a reader would cut short without a word, read as text and parsed strictly
//! here: integers in JSON lines, dates and times in both text formats.

use std::sync::Arc;

use oplink::arrow::array::RecordBatch;
use oplink::arrow::schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};

/// The columns of a file that its reader would cut short, read as their text and parsed
/// here, strictly: in JSON lines the integer columns (arrow-json would give `1.9` to an
/// integer column as 1, and `1e3` as 1000, where CSV's reader refuses it) and the dates and
/// times; in CSV the dates and times (arrow-csv reads `10:00:00.5` into a column of whole
/// seconds as `10:00:00`). A value that is not one of the column's type, or that the type
/// would cut short, is an error naming its row (and, through [`located`] or
/// [`csv_located`], its line and column).
///
/// [`located`]: super::json_errors::located
/// [`csv_located`]: super::csv_errors::csv_located
pub(super) struct StrictText {
    /// The schema the reader decodes with: text where the file's schema has an integer.
    pub(super) read_schema: SchemaRef,
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
pub(super) struct BadValue {
    pub(super) row: u64,
    pub(super) key: String,
    pub(super) reason: String,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}: {}", self.row, self.reason)
    }
}

impl std::error::Error for BadValue {}

/// Whether `ty` holds whole numbers only: an integer, or a decimal of scale 0 (as
/// [`whole_numbers`] infers for numbers past `i64`).
///
/// [`whole_numbers`]: super::json::whole_numbers
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
pub(super) fn whole_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

impl StrictText {
    /// For JSON lines: integers, dates and times.
    pub(super) fn new(schema: &SchemaRef) -> StrictText {
        Self::reading(schema, |ty| integral(ty) || temporal(ty), true)
    }

    /// `batches` with the columns read as text parsed (as they come when there are none).
    pub(super) fn over(
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
    pub(super) fn times(schema: &SchemaRef) -> StrictText {
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
}
