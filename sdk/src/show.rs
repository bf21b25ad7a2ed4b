//! A readable print of changes: `Display` for [`Change`], [`Diff`], [`Rows`] and
//! [`Timestamp`]; and where two changes first differ, in words (`first_difference`,
//! `assert_change_eq!`), for tests.
//!
//! One line per row, as `oplink run` writes a changelog: the row's kind (`+I`, `-U`, `+U`,
//! `-D`), its number, and its values by column name. The derived `Debug` stays as it is:
//! it shows the schemas and types, which this print leaves out, so `assert_eq!` still
//! tells two changes apart that differ only there.
//!
//! Values are written by hand from arrow-rs's own arrays (no formatting crate: a plugin
//! builds the SDK, and arrow-cast's display would add to every build).

use std::fmt::{self, Display, Formatter};

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::{
    as_date, as_datetime, as_time, date32_to_datetime, timestamp_ns_to_datetime,
};
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType, Fields, IntervalUnit, Schema, TimeUnit};

use crate::data::{Change, Diff, Rows, Timestamp};

/// Rows shown of each side of a diff by `{}`; `{:#}` shows every row.
const ROWS_SHOWN: usize = 10;

impl Display for Timestamp {
    /// The instant in UTC, as RFC 3339 writes it: `2026-12-07T10:00:00Z`, with as many
    /// digits of the second's fraction as it needs.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match timestamp_ns_to_datetime(self.0) {
            Some(at) => write!(f, "{}Z", at.to_string().replacen(' ', "T", 1)),
            None => write!(f, "{} ns after the Unix epoch", self.0),
        }
    }
}

impl Display for Change {
    /// A line for the change, then one line per row of each diff in order, indented:
    ///
    /// ```text
    /// change 7 at 2026-12-07T10:00:00Z: 2 diffs, 2 rows
    ///   +I row 10 {id: 1, name: "ada"}
    ///   -U row 4 {id: 4, name: "bob"}
    ///   +U row 4 {id: 4, name: "rob"}
    /// ```
    ///
    /// Each side of a diff shows its first 10 rows and counts the rest; `{:#}` shows every
    /// row.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "change {} at {}: ", self.version, self.changed_at)?;
        let diffs = self.diffs.len();
        let rows = self.row_count();
        match diffs {
            0 => write!(f, "no diffs")?,
            1 => write!(f, "1 diff, {}", count(rows, "row"))?,
            _ => write!(f, "{diffs} diffs, {}", count(rows, "row"))?,
        }
        for diff in &self.diffs {
            lines(diff, "  ", f)?;
        }
        Ok(())
    }
}

impl Display for Diff {
    /// One line per row, as in a [`Change`]'s print: `+I` for an insert, `-D` for a
    /// remove, and for an update each row's `-U` (before) then its `+U` (after).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Diff::Insert { post } => write!(f, "insert of {}", count(post.len(), "row"))?,
            Diff::Update { post, .. } => write!(f, "update of {}", count(post.len(), "row"))?,
            Diff::Remove { pre } => write!(f, "remove of {}", count(pre.len(), "row"))?,
        }
        lines(self, "  ", f)
    }
}

impl Display for Rows {
    /// One line per row: `row 10 {id: 1, name: "ada"}`, the first 10 rows unless `{:#}`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", count(self.len(), "row"))?;
        let shown = shown(self.len(), f);
        for i in 0..shown {
            write!(f, "\n  ")?;
            row(self, i, f)?;
        }
        more(self.len() - shown, "  ", f)
    }
}

impl Change {
    /// Where this change and `other` first differ, in words (`left` is this change,
    /// `right` the other, as in `assert_eq!`): the version, the time, the number of diffs,
    /// or the first diff that differs, down to its side, row and column; `None` when they
    /// are equal. [`assert_change_eq!`](crate::assert_change_eq) panics with it.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oplink::prelude::*;
    /// let rows = |amount: i64| {
    ///     let batch = RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(vec![1, amount])) as ArrayRef)])?;
    ///     Rows::new(vec![7, 8], batch)
    /// };
    /// let got = Change::new(1, Timestamp(0), vec![Diff::Insert { post: rows(5)? }]);
    /// let want = Change::new(1, Timestamp(0), vec![Diff::Insert { post: rows(6)? }]);
    /// assert_eq!(
    ///     got.first_difference(&want).unwrap(),
    ///     "diff 0 (an insert), its post rows: row 1 (number 8), column `amount`: left 5, right 6"
    /// );
    /// assert_eq!(got.first_difference(&got.clone()), None);
    /// # Ok::<(), oplink::Error>(())
    /// ```
    pub fn first_difference(&self, other: &Change) -> Option<String> {
        if self == other {
            return None;
        }
        if self.version != other.version {
            return Some(format!(
                "the version: left {}, right {}",
                self.version, other.version
            ));
        }
        if self.changed_at != other.changed_at {
            return Some(format!(
                "the time (`changed_at`): left {}, right {}",
                self.changed_at, other.changed_at
            ));
        }
        for (i, (left, right)) in self.diffs.iter().zip(&other.diffs).enumerate() {
            if let Some(difference) = left.first_difference(right) {
                return Some(format!("diff {i} {difference}"));
            }
        }
        Some(format!(
            "the number of diffs: left {}, right {}",
            self.diffs.len(),
            other.diffs.len()
        ))
    }
}

impl Diff {
    /// Where this diff and `other` first differ, as [`Change::first_difference`] says it:
    /// the kind, or the side, row and column; `None` when they are equal.
    pub fn first_difference(&self, other: &Diff) -> Option<String> {
        let sides = |rows: &[(&str, &Rows, &Rows)]| {
            rows.iter().find_map(|&(side, left, right)| {
                left.first_difference(right)
                    .map(|difference| format!("its {side} rows: {difference}"))
            })
        };
        let found = match (self, other) {
            (Diff::Insert { post: left }, Diff::Insert { post: right }) => {
                sides(&[("post", left, right)])
            }
            (Diff::Remove { pre: left }, Diff::Remove { pre: right }) => {
                sides(&[("pre", left, right)])
            }
            (
                Diff::Update {
                    pre: left_pre,
                    post: left_post,
                },
                Diff::Update {
                    pre: right_pre,
                    post: right_post,
                },
            ) => sides(&[
                ("pre", left_pre, right_pre),
                ("post", left_post, right_post),
            ]),
            _ => {
                return Some(format!(
                    "is of another kind: left {}, right {}",
                    kind(self),
                    kind(other)
                ));
            }
        };
        found.map(|difference| format!("({}), {difference}", kind(self)))
    }
}

impl Rows {
    /// Where these rows and `other` first differ, as [`Change::first_difference`] says
    /// it: a row's number, the schema (a column's name, type, nullability or metadata, or
    /// the schema's metadata), a value (its row, number and column), or the number of
    /// rows; `None` when they are equal.
    pub fn first_difference(&self, other: &Rows) -> Option<String> {
        if self == other {
            return None;
        }
        let (left, right) = (self.row_numbers().values(), other.row_numbers().values());
        if let Some(i) = (0..left.len().min(right.len())).find(|&i| left[i] != right[i]) {
            return Some(format!(
                "row {i}'s number: left {}, right {}",
                left[i], right[i]
            ));
        }
        if left.len() != right.len() {
            return Some(format!(
                "the number of rows: left {}, right {}",
                left.len(),
                right.len()
            ));
        }
        let (left_schema, right_schema) = (self.batch().schema_ref(), other.batch().schema_ref());
        if let Some(difference) = columns_difference(left_schema, right_schema) {
            return Some(difference);
        }
        let columns = self.batch().columns().iter().zip(other.batch().columns());
        for (field, (left, right)) in self.batch().schema_ref().fields().iter().zip(columns) {
            if left == right {
                continue;
            }
            let row = (0..left.len()).find(|&i| left.slice(i, 1) != right.slice(i, 1));
            return Some(match row {
                Some(i) => {
                    let (l, r) = (
                        Value(left.as_ref(), i).to_string(),
                        Value(right.as_ref(), i).to_string(),
                    );
                    // Floats compare by their bits: two NaNs of another sign or payload
                    // print alike.
                    let alike = if l == r {
                        ", which print alike but are not equal (a NaN of another sign or payload, say)"
                    } else {
                        ""
                    };
                    format!(
                        "row {i} (number {}), column `{}`: left {l}, right {r}{alike}",
                        self.row_numbers().value(i),
                        field.name(),
                    )
                }
                // Equal row by row, unequal whole: what equality compares beyond the
                // values (a dictionary's unused values, say).
                None => format!(
                    "column `{}`, though every row's value is the same: its arrays differ beyond their values",
                    field.name()
                ),
            });
        }
        // The values are the same: what is left is what the schema says of them.
        Some(
            fields_difference(left_schema, right_schema)
                .unwrap_or_else(|| "the batches differ beyond their columns and schema".to_owned()),
        )
    }
}

/// Asserts that two [`Change`]s (or two [`Diff`]s, or two [`Rows`]) are equal, as
/// `assert_eq!` does; when they are not, the panic says where they first differ (the
/// diff, side, row and column, or the schema: [`Change::first_difference`]) and prints
/// both one row per line, where `assert_eq!` prints arrow-rs's `Debug` of each. As with
/// `assert_eq!`, a message may follow: `assert_change_eq!(got, want, "after {n} changes")`.
///
/// ```should_panic
/// # use std::sync::Arc;
/// # use oplink::prelude::*;
/// # let rows = |amount: i64| Rows::new(vec![7], RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(vec![amount])) as ArrayRef)]).unwrap()).unwrap();
/// let got = Change::new(1, Timestamp(0), vec![Diff::Insert { post: rows(5) }]);
/// let want = Change::new(1, Timestamp(0), vec![Diff::Insert { post: rows(6) }]);
/// // assertion `left == right` failed: diff 0 (an insert), its post rows: row 0 (number 7),
/// // column `amount`: left 5, right 6
/// //  left: change 1 at 1970-01-01T00:00:00Z: 1 diff, 1 row
/// //   +I row 7 {amount: 5}
/// // right: …
/// oplink::assert_change_eq!(got, want);
/// ```
#[macro_export]
macro_rules! assert_change_eq {
    ($left:expr, $right:expr $(,)?) => {
        match (&$left, &$right) {
            (left, right) => {
                if let ::std::option::Option::Some(difference) = left.first_difference(right) {
                    ::std::panic!(
                        "assertion `left == right` failed: {difference}\n  left: {left}\n right: {right}"
                    );
                }
            }
        }
    };
    ($left:expr, $right:expr, $($message:tt)+) => {
        match (&$left, &$right) {
            (left, right) => {
                if let ::std::option::Option::Some(difference) = left.first_difference(right) {
                    ::std::panic!(
                        "assertion `left == right` failed: {}: {difference}\n  left: {left}\n right: {right}",
                        ::std::format_args!($($message)+)
                    );
                }
            }
        }
    };
}

/// `an insert`, `an update`, `a remove`.
fn kind(diff: &Diff) -> &'static str {
    match diff {
        Diff::Insert { .. } => "an insert",
        Diff::Update { .. } => "an update",
        Diff::Remove { .. } => "a remove",
    }
}

/// The first difference of two schemas' columns: their names, or a column's type.
fn columns_difference(left: &Schema, right: &Schema) -> Option<String> {
    let names = |schema: &Schema| {
        schema
            .fields()
            .iter()
            .map(|f| format!("`{}`", f.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if left.fields().len() != right.fields().len()
        || left
            .fields()
            .iter()
            .zip(right.fields())
            .any(|(l, r)| l.name() != r.name())
    {
        return Some(format!(
            "the columns: left {}, right {}",
            names(left),
            names(right)
        ));
    }
    left.fields().iter().zip(right.fields()).find_map(|(l, r)| {
        (l.data_type() != r.data_type()).then(|| {
            format!(
                "column `{}`'s type: left {}, right {}",
                l.name(),
                l.data_type(),
                r.data_type()
            )
        })
    })
}

/// The first difference of two schemas of the same columns: a column's nullability or
/// metadata, or the schema's metadata.
fn fields_difference(left: &Schema, right: &Schema) -> Option<String> {
    for (l, r) in left.fields().iter().zip(right.fields()) {
        let name = l.name();
        if l.is_nullable() != r.is_nullable() {
            let said = |nullable: bool| if nullable { "nullable" } else { "not nullable" };
            return Some(format!(
                "column `{name}`'s nullability: left {}, right {} (`RecordBatch::try_from_iter` makes a column nullable only when it holds a null: build both sides' batches of one schema)",
                said(l.is_nullable()),
                said(r.is_nullable())
            ));
        }
        if l != r {
            return Some(format!(
                "column `{name}`'s field: left {:?}, right {:?}",
                l.metadata(),
                r.metadata()
            ));
        }
    }
    if left.metadata() != right.metadata() {
        return Some(format!(
            "the schema's metadata: left {:?}, right {:?}",
            left.metadata(),
            right.metadata()
        ));
    }
    None
}

/// A value as the print shows it.
struct Value<'a>(&'a dyn Array, usize);

impl Display for Value<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        value(self.0, self.1, f)
    }
}

/// `1 row`, `3 rows`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// How many of `len` rows to show: all under `{:#}`, else the first [`ROWS_SHOWN`].
fn shown(len: usize, f: &Formatter<'_>) -> usize {
    if f.alternate() {
        len
    } else {
        len.min(ROWS_SHOWN)
    }
}

fn more(hidden: usize, indent: &str, f: &mut Formatter<'_>) -> fmt::Result {
    if hidden > 0 {
        let rows = count(hidden, "more row");
        write!(f, "\n{indent}… {rows}")?;
    }
    Ok(())
}

/// A diff's rows, each on a new line after `indent`.
fn lines(diff: &Diff, indent: &str, f: &mut Formatter<'_>) -> fmt::Result {
    match diff {
        Diff::Insert { post } => side("+I", post, indent, f),
        Diff::Remove { pre } => side("-D", pre, indent, f),
        Diff::Update { pre, post } => {
            // Pairs in order, as a changelog writes an update; a side longer than the
            // other (an update `Change::validate` refuses) still shows all it has.
            let len = pre.len().max(post.len());
            let shown = shown(len, f);
            for i in 0..shown {
                if i < pre.len() {
                    write!(f, "\n{indent}-U ")?;
                    row(pre, i, f)?;
                }
                if i < post.len() {
                    write!(f, "\n{indent}+U ")?;
                    row(post, i, f)?;
                }
            }
            more(len - shown, indent, f)
        }
    }
}

fn side(op: &str, rows: &Rows, indent: &str, f: &mut Formatter<'_>) -> fmt::Result {
    let shown = shown(rows.len(), f);
    for i in 0..shown {
        write!(f, "\n{indent}{op} ")?;
        row(rows, i, f)?;
    }
    more(rows.len() - shown, indent, f)
}

/// `row 10 {id: 1, name: "ada"}`.
fn row(rows: &Rows, i: usize, f: &mut Formatter<'_>) -> fmt::Result {
    // `Rows::new` refuses a null row number.
    write!(f, "row {} ", rows.row_numbers().value(i))?;
    record(rows.batch(), i, f)
}

fn record(batch: &RecordBatch, i: usize, f: &mut Formatter<'_>) -> fmt::Result {
    named_values(batch.schema_ref().fields(), batch.columns(), i, f)
}

/// `{name: value, …}` of row `i` of `columns`, named by `fields`: a batch's row, a struct's
/// value.
fn named_values(
    fields: &Fields,
    columns: &[ArrayRef],
    i: usize,
    f: &mut Formatter<'_>,
) -> fmt::Result {
    f.write_str("{")?;
    for (c, (field, column)) in fields.iter().zip(columns).enumerate() {
        if c > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}: ", name(field.name()))?;
        value(column.as_ref(), i, f)?;
    }
    f.write_str("}")
}

/// A column's name as written, or quoted when it would not read as one word (empty, or
/// holding spaces, punctuation of the print or control characters).
fn name(name: &str) -> NameShown<'_> {
    NameShown(name)
}

struct NameShown<'a>(&'a str);

impl Display for NameShown<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let plain = !self.0.is_empty()
            && self
                .0
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.');
        if plain {
            f.write_str(self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

/// The value at `i` of `array`, or `null`.
fn value(array: &dyn Array, i: usize, f: &mut Formatter<'_>) -> fmt::Result {
    if array.is_null(i) {
        return f.write_str("null");
    }
    match array.data_type() {
        DataType::Null => f.write_str("null"),
        DataType::Boolean => write!(f, "{}", array.as_boolean().value(i)),
        DataType::Int8 => write!(f, "{}", array.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => write!(f, "{}", array.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => write!(f, "{}", array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => write!(f, "{}", array.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => write!(f, "{}", array.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => write!(f, "{}", array.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => write!(f, "{}", array.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => write!(f, "{}", array.as_primitive::<UInt64Type>().value(i)),
        // `Debug` writes a float as a float (`1.0`, not `1`), and NaN and infinities by name.
        DataType::Float16 => {
            let v = array.as_primitive::<Float16Type>().value(i);
            write!(f, "{:?}", f32::from(v))
        }
        DataType::Float32 => write!(f, "{:?}", array.as_primitive::<Float32Type>().value(i)),
        DataType::Float64 => write!(f, "{:?}", array.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => write!(f, "{:?}", array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => write!(f, "{:?}", array.as_string::<i64>().value(i)),
        DataType::Utf8View => write!(f, "{:?}", array.as_string_view().value(i)),
        DataType::Binary => bytes(array.as_binary::<i32>().value(i), f),
        DataType::LargeBinary => bytes(array.as_binary::<i64>().value(i), f),
        DataType::BinaryView => bytes(array.as_binary_view().value(i), f),
        DataType::FixedSizeBinary(_) => bytes(array.as_fixed_size_binary().value(i), f),
        DataType::Decimal32(precision, scale) => {
            let v = array.as_primitive::<Decimal32Type>().value(i);
            f.write_str(&Decimal32Type::format_decimal(v, *precision, *scale))
        }
        DataType::Decimal64(precision, scale) => {
            let v = array.as_primitive::<Decimal64Type>().value(i);
            f.write_str(&Decimal64Type::format_decimal(v, *precision, *scale))
        }
        DataType::Decimal128(precision, scale) => {
            let v = array.as_primitive::<Decimal128Type>().value(i);
            f.write_str(&Decimal128Type::format_decimal(v, *precision, *scale))
        }
        DataType::Decimal256(precision, scale) => {
            let v = array.as_primitive::<Decimal256Type>().value(i);
            f.write_str(&Decimal256Type::format_decimal(v, *precision, *scale))
        }
        DataType::Date32 => {
            let v = array.as_primitive::<Date32Type>().value(i);
            match date32_to_datetime(v) {
                Some(at) => write!(f, "{}", at.date()),
                None => write!(f, "{v} days after 1970-01-01"),
            }
        }
        DataType::Date64 => {
            let v = array.as_primitive::<Date64Type>().value(i);
            match as_date::<Date64Type>(v) {
                Some(date) => write!(f, "{date}"),
                None => write!(f, "{v} ms after 1970-01-01"),
            }
        }
        DataType::Time32(TimeUnit::Second) => time::<Time32SecondType>(array, i, "s", f),
        DataType::Time32(_) => time::<Time32MillisecondType>(array, i, "ms", f),
        DataType::Time64(TimeUnit::Microsecond) => time::<Time64MicrosecondType>(array, i, "µs", f),
        DataType::Time64(_) => time::<Time64NanosecondType>(array, i, "ns", f),
        DataType::Timestamp(unit, zone) => {
            // A zone's timestamp is an instant, shown in UTC (`Z`); one without a zone is
            // a wall-clock time, shown without one.
            let zone = if zone.is_some() { "Z" } else { "" };
            match unit {
                TimeUnit::Second => stamp::<TimestampSecondType>(array, i, "s", zone, f),
                TimeUnit::Millisecond => stamp::<TimestampMillisecondType>(array, i, "ms", zone, f),
                TimeUnit::Microsecond => stamp::<TimestampMicrosecondType>(array, i, "µs", zone, f),
                TimeUnit::Nanosecond => stamp::<TimestampNanosecondType>(array, i, "ns", zone, f),
            }
        }
        DataType::Duration(unit) => {
            let (v, unit) = match unit {
                TimeUnit::Second => (array.as_primitive::<DurationSecondType>().value(i), "s"),
                TimeUnit::Millisecond => (
                    array.as_primitive::<DurationMillisecondType>().value(i),
                    "ms",
                ),
                TimeUnit::Microsecond => (
                    array.as_primitive::<DurationMicrosecondType>().value(i),
                    "µs",
                ),
                TimeUnit::Nanosecond => (
                    array.as_primitive::<DurationNanosecondType>().value(i),
                    "ns",
                ),
            };
            write!(f, "{v}{unit}")
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            let months = array.as_primitive::<IntervalYearMonthType>().value(i);
            write!(f, "{}", count_signed(i64::from(months), "month"))
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            let v = array.as_primitive::<IntervalDayTimeType>().value(i);
            write!(
                f,
                "{} {}ms",
                count_signed(i64::from(v.days), "day"),
                v.milliseconds
            )
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = array.as_primitive::<IntervalMonthDayNanoType>().value(i);
            write!(
                f,
                "{} {} {}ns",
                count_signed(i64::from(v.months), "month"),
                count_signed(i64::from(v.days), "day"),
                v.nanoseconds
            )
        }
        DataType::List(_) => list(&array.as_list::<i32>().value(i), f),
        DataType::LargeList(_) => list(&array.as_list::<i64>().value(i), f),
        DataType::ListView(_) => list(&array.as_list_view::<i32>().value(i), f),
        DataType::LargeListView(_) => list(&array.as_list_view::<i64>().value(i), f),
        DataType::FixedSizeList(..) => list(&array.as_fixed_size_list().value(i), f),
        DataType::Struct(fields) => named_values(fields, array.as_struct().columns(), i, f),
        DataType::Map(..) => {
            let entries = array.as_map().value(i);
            f.write_str("{")?;
            for e in 0..entries.len() {
                if e > 0 {
                    f.write_str(", ")?;
                }
                value(entries.column(0).as_ref(), e, f)?;
                f.write_str(": ")?;
                value(entries.column(1).as_ref(), e, f)?;
            }
            f.write_str("}")
        }
        DataType::Union(..) => {
            let union = array.as_union();
            let child = union.child(union.type_id(i));
            value(child.as_ref(), union.value_offset(i), f)
        }
        DataType::Dictionary(..) => {
            let dictionary = array.as_any_dictionary();
            // A key past the values is refused by arrow-rs's constructors, but not by
            // `new_unchecked` nor by every importer: said, where reading it would panic.
            match key(dictionary.keys(), i).filter(|&key| key < dictionary.values().len()) {
                Some(key) => value(dictionary.values().as_ref(), key, f),
                None => f.write_str("<key out of range>"),
            }
        }
        DataType::RunEndEncoded(run_ends, _) => match run_ends.data_type() {
            DataType::Int16 => run::<Int16Type>(array, i, f),
            DataType::Int32 => run::<Int32Type>(array, i, f),
            _ => run::<Int64Type>(array, i, f),
        },
    }
}

/// A dictionary's key at `i` as an index into its values.
fn key(keys: &dyn Array, i: usize) -> Option<usize> {
    let key = match keys.data_type() {
        DataType::Int8 => i64::from(keys.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => i64::from(keys.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => i64::from(keys.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => keys.as_primitive::<Int64Type>().value(i),
        DataType::UInt8 => i64::from(keys.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => i64::from(keys.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => i64::from(keys.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => i64::try_from(keys.as_primitive::<UInt64Type>().value(i)).ok()?,
        _ => return None,
    };
    usize::try_from(key).ok()
}

/// `-1 month`, `2 months`.
fn count_signed(n: i64, what: &str) -> String {
    if n == 1 || n == -1 {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn bytes(bytes: &[u8], f: &mut Formatter<'_>) -> fmt::Result {
    f.write_str("0x")?;
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

fn list(items: &dyn Array, f: &mut Formatter<'_>) -> fmt::Result {
    f.write_str("[")?;
    for i in 0..items.len() {
        if i > 0 {
            f.write_str(", ")?;
        }
        value(items, i, f)?;
    }
    f.write_str("]")
}

fn time<T>(array: &dyn Array, i: usize, unit: &str, f: &mut Formatter<'_>) -> fmt::Result
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    let v: i64 = array.as_primitive::<T>().value(i).into();
    match as_time::<T>(v) {
        Some(at) => write!(f, "{at}"),
        None => write!(f, "{v}{unit} after midnight"),
    }
}

fn stamp<T>(
    array: &dyn Array,
    i: usize,
    unit: &str,
    zone: &str,
    f: &mut Formatter<'_>,
) -> fmt::Result
where
    T: ArrowPrimitiveType<Native = i64>,
{
    let v = array.as_primitive::<T>().value(i);
    match as_datetime::<T>(v) {
        Some(at) => write!(f, "{}{zone}", at.to_string().replacen(' ', "T", 1)),
        None => write!(f, "{v}{unit} after the Unix epoch"),
    }
}

fn run<R>(array: &dyn Array, i: usize, f: &mut Formatter<'_>) -> fmt::Result
where
    R: RunEndIndexType,
{
    let runs = array.as_run::<R>();
    value(runs.values().as_ref(), runs.get_physical_index(i), f)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{Int32Builder, ListBuilder, MapBuilder, StringBuilder};
    use arrow_array::types::Int32Type;
    use arrow_array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray,
        DurationMillisecondArray, Float64Array, Int32Array, Int64Array, IntervalMonthDayNanoArray,
        ListArray, RecordBatch, RecordBatchOptions, RunArray, StringArray, StructArray,
        Time64MicrosecondArray, TimestampMillisecondArray, UnionArray,
    };
    use arrow_buffer::{IntervalMonthDayNano, ScalarBuffer};
    use arrow_schema::{DataType, Field, Schema, UnionFields};

    use crate::{Change, Diff, Rows, Timestamp};

    fn rows(numbers: Vec<u64>, columns: Vec<(&str, ArrayRef)>) -> Rows {
        Rows::new(numbers, RecordBatch::try_from_iter(columns).unwrap()).unwrap()
    }

    fn people(numbers: Vec<u64>, ids: Vec<i64>, names: Vec<Option<&str>>) -> Rows {
        rows(
            numbers,
            vec![
                ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                ("name", Arc::new(StringArray::from(names))),
            ],
        )
    }

    #[test]
    fn a_change_prints_one_line_per_row_in_changelog_order() {
        let change = Change::new(
            7,
            Timestamp(1_765_101_600_000_000_000),
            vec![
                Diff::Insert {
                    post: people(vec![10, 11], vec![1, 2], vec![Some("ada"), None]),
                },
                Diff::Update {
                    pre: people(vec![4, 5], vec![4, 5], vec![Some("bob"), Some("cy")]),
                    post: people(vec![4, 5], vec![4, 5], vec![Some("rob"), Some("cyd")]),
                },
                Diff::Remove {
                    pre: people(vec![3], vec![3], vec![Some("tab\there")]),
                },
            ],
        );
        assert_eq!(
            change.to_string(),
            "change 7 at 2025-12-07T10:00:00Z: 3 diffs, 5 rows\n\
             \x20 +I row 10 {id: 1, name: \"ada\"}\n\
             \x20 +I row 11 {id: 2, name: null}\n\
             \x20 -U row 4 {id: 4, name: \"bob\"}\n\
             \x20 +U row 4 {id: 4, name: \"rob\"}\n\
             \x20 -U row 5 {id: 5, name: \"cy\"}\n\
             \x20 +U row 5 {id: 5, name: \"cyd\"}\n\
             \x20 -D row 3 {id: 3, name: \"tab\\there\"}"
        );
        assert_eq!(
            change.diffs[1].to_string(),
            "update of 2 rows\n\
             \x20 -U row 4 {id: 4, name: \"bob\"}\n\
             \x20 +U row 4 {id: 4, name: \"rob\"}\n\
             \x20 -U row 5 {id: 5, name: \"cy\"}\n\
             \x20 +U row 5 {id: 5, name: \"cyd\"}"
        );
        assert_eq!(
            people(vec![9], vec![9], vec![Some("x")]).to_string(),
            "1 row\n  row 9 {id: 9, name: \"x\"}"
        );
        let empty = Change::new(1, Timestamp(1_500), vec![]);
        assert_eq!(
            empty.to_string(),
            "change 1 at 1970-01-01T00:00:00.000001500Z: no diffs"
        );
    }

    #[test]
    fn a_long_side_shows_ten_rows_and_counts_the_rest_unless_alternate() {
        let n = 12;
        let ids: Vec<i64> = (0..n).collect();
        let post = people((0..12).collect(), ids, vec![None; 12]);
        let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post }]);
        let short = change.to_string();
        assert_eq!(short.lines().count(), 1 + 10 + 1, "{short}");
        assert!(
            short.ends_with("+I row 9 {id: 9, name: null}\n  … 2 more rows"),
            "{short}"
        );
        let long = format!("{change:#}");
        assert_eq!(long.lines().count(), 1 + 12, "{long}");
        assert!(long.ends_with("+I row 11 {id: 11, name: null}"), "{long}");
    }

    #[test]
    fn every_kind_of_value_prints_as_written() {
        let list =
            ListArray::from_iter_primitive::<Int32Type, _, _>([Some(vec![Some(1), None, Some(3)])]);
        let point = StructArray::from(vec![
            (
                Arc::new(Field::new("x", DataType::Float64, false)),
                Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("is on", DataType::Boolean, true)),
                Arc::new(BooleanArray::from(vec![Some(true)])) as ArrayRef,
            ),
        ]);
        let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
        map.keys().append_value("a");
        map.values().append_value(1);
        map.append(true).unwrap();
        let union = UnionArray::try_new(
            UnionFields::try_new(
                [0, 1],
                [
                    Field::new("n", DataType::Int32, true),
                    Field::new("s", DataType::Utf8, true),
                ],
            )
            .unwrap(),
            ScalarBuffer::from(vec![1i8]),
            None,
            vec![
                Arc::new(Int32Array::from(vec![0])) as ArrayRef,
                Arc::new(StringArray::from(vec!["u"])),
            ],
        )
        .unwrap();
        let dictionary: DictionaryArray<Int32Type> = vec!["red"].into_iter().collect();
        let runs = RunArray::<Int32Type>::try_new(
            &Int32Array::from(vec![1]),
            &StringArray::from(vec!["run"]),
        )
        .unwrap();
        let row = rows(
            vec![0],
            vec![
                (
                    "at",
                    Arc::new(TimestampMillisecondArray::from(vec![1_500]).with_timezone("+01:00")),
                ),
                ("local", Arc::new(TimestampMillisecondArray::from(vec![0]))),
                ("day", Arc::new(Date32Array::from(vec![20_429]))),
                (
                    "time",
                    Arc::new(Time64MicrosecondArray::from(vec![3_600_000_001])),
                ),
                (
                    "took",
                    Arc::new(DurationMillisecondArray::from(vec![-1_500])),
                ),
                (
                    "every",
                    Arc::new(IntervalMonthDayNanoArray::from(vec![
                        IntervalMonthDayNano::new(1, 2, 3),
                    ])),
                ),
                (
                    "price",
                    Arc::new(
                        Decimal128Array::from(vec![-12_345])
                            .with_precision_and_scale(10, 2)
                            .unwrap(),
                    ),
                ),
                ("raw", Arc::new(BinaryArray::from(vec![&[0u8, 0xab][..]]))),
                ("nan", Arc::new(Float64Array::from(vec![f64::NAN]))),
                ("list", Arc::new(list)),
                ("point", Arc::new(point)),
                ("map", Arc::new(map.finish())),
                ("either", Arc::new(union)),
                ("colour", Arc::new(dictionary)),
                ("runs", Arc::new(runs)),
                ("", Arc::new(Int32Array::from(vec![1]))),
                ("a b", Arc::new(Int32Array::from(vec![2]))),
            ],
        );
        assert_eq!(
            row.to_string(),
            "1 row\n  row 0 {at: 1970-01-01T00:00:01.500Z, local: 1970-01-01T00:00:00, \
             day: 2025-12-07, time: 01:00:00.000001, took: -1500ms, \
             every: 1 month 2 days 3ns, price: -123.45, raw: 0x00ab, nan: NaN, \
             list: [1, null, 3], point: {x: 1.0, \"is on\": true}, map: {\"a\": 1}, \
             either: \"u\", colour: \"red\", runs: \"run\", \"\": 1, \"a b\": 2}"
        );
    }

    #[test]
    fn the_first_difference_of_two_changes_is_named_down_to_its_row_and_column() {
        let insert = |ids: Vec<i64>, names: Vec<Option<&str>>| Diff::Insert {
            post: people((10..10 + ids.len() as u64).collect(), ids, names),
        };
        let change = |version, at, diffs| Change::new(version, Timestamp(at), diffs);
        let base = change(3, 0, vec![insert(vec![1, 2], vec![Some("a"), None])]);
        let differs = |other: Change| base.first_difference(&other).unwrap();
        assert_eq!(base.first_difference(&base.clone()), None);
        assert_eq!(
            differs(change(4, 0, base.diffs.clone())),
            "the version: left 3, right 4"
        );
        assert_eq!(
            differs(change(3, 1_000_000_000, base.diffs.clone())),
            "the time (`changed_at`): left 1970-01-01T00:00:00Z, right 1970-01-01T00:00:01Z"
        );
        assert_eq!(
            differs(change(3, 0, vec![])),
            "the number of diffs: left 1, right 0"
        );
        assert_eq!(
            differs(change(
                3,
                0,
                vec![insert(vec![1, 2], vec![Some("a"), Some("b")])]
            )),
            "diff 0 (an insert), its post rows: row 1 (number 11), column `name`: left null, right \"b\""
        );
        assert_eq!(
            differs(change(3, 0, vec![insert(vec![1], vec![Some("a")])])),
            "diff 0 (an insert), its post rows: the number of rows: left 2, right 1"
        );
        let renumbered = people(vec![10, 12], vec![1, 2], vec![Some("a"), None]);
        assert_eq!(
            differs(change(
                3,
                0,
                vec![Diff::Insert {
                    post: renumbered.clone()
                }]
            )),
            "diff 0 (an insert), its post rows: row 1's number: left 11, right 12"
        );
        assert_eq!(
            differs(change(3, 0, vec![Diff::Remove { pre: renumbered }])),
            "diff 0 is of another kind: left an insert, right a remove"
        );
        let update = |name: &str| Diff::Update {
            pre: people(vec![4], vec![4], vec![Some("x")]),
            post: people(vec![4], vec![4], vec![Some(name)]),
        };
        assert_eq!(
            update("y").first_difference(&update("z")).unwrap(),
            "(an update), its post rows: row 0 (number 4), column `name`: left \"y\", right \"z\""
        );

        // The schema: columns, a type, nullability, a field's and the schema's metadata.
        let with_schema = |schema: Schema, ids: ArrayRef| {
            let batch = RecordBatch::try_new(Arc::new(schema), vec![ids]).unwrap();
            Rows::new(vec![0u64], batch).unwrap()
        };
        let field = |name: &str, nullable| Field::new(name, DataType::Int64, nullable);
        let one = || Arc::new(Int64Array::from(vec![1])) as ArrayRef;
        let rows = with_schema(Schema::new(vec![field("id", false)]), one());
        let differs = |other: Rows| rows.first_difference(&other).unwrap();
        assert_eq!(
            differs(with_schema(Schema::new(vec![field("key", false)]), one())),
            "the columns: left `id`, right `key`"
        );
        assert_eq!(
            differs(with_schema(
                Schema::new(vec![Field::new("id", DataType::Int32, false)]),
                Arc::new(Int32Array::from(vec![1]))
            )),
            "column `id`'s type: left Int64, right Int32"
        );
        assert_eq!(
            differs(with_schema(Schema::new(vec![field("id", true)]), one())),
            "column `id`'s nullability: left not nullable, right nullable (`RecordBatch::try_from_iter` makes a column nullable only when it holds a null: build both sides' batches of one schema)"
        );
        let nan = |nan: f64| {
            let batch = RecordBatch::try_from_iter([(
                "ratio",
                Arc::new(Float64Array::from(vec![1.0, nan])) as ArrayRef,
            )])
            .unwrap();
            Rows::new(vec![0u64, 1], batch).unwrap()
        };
        assert_eq!(
            nan(f64::NAN).first_difference(&nan(-f64::NAN)).unwrap(),
            "row 1 (number 1), column `ratio`: left NaN, right NaN, which print alike but are not equal (a NaN of another sign or payload, say)"
        );
        let tagged = field("id", false).with_metadata(std::collections::HashMap::from([(
            "unit".to_owned(),
            "cm".to_owned(),
        )]));
        assert_eq!(
            differs(with_schema(Schema::new(vec![tagged]), one())),
            "column `id`'s field: left {}, right {\"unit\": \"cm\"}"
        );
        let schema =
            Schema::new(vec![field("id", false)]).with_metadata(std::collections::HashMap::from([
                ("source".to_owned(), "pg".to_owned()),
            ]));
        assert_eq!(
            differs(with_schema(schema, one())),
            "the schema's metadata: left {}, right {\"source\": \"pg\"}"
        );
    }

    #[test]
    fn assert_change_eq_panics_with_the_difference_and_both_prints() {
        let change = |name| {
            Change::new(
                1,
                Timestamp(0),
                vec![Diff::Insert {
                    post: people(vec![7], vec![1], vec![Some(name)]),
                }],
            )
        };
        crate::assert_change_eq!(change("a"), change("a"));
        crate::assert_change_eq!(change("a"), change("a"), "never said: {}", 1);
        let panic = std::panic::catch_unwind(|| {
            crate::assert_change_eq!(change("a"), change("b"), "after {} changes", 3)
        })
        .unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(
            message.starts_with(
                "assertion `left == right` failed: after 3 changes: diff 0 (an insert), its post rows: row 0 (number 7), column `name`: left \"a\", right \"b\"\n  left: "
            ),
            "{message}"
        );
        let panic = std::panic::catch_unwind(|| crate::assert_change_eq!(change("a"), change("b")))
            .unwrap_err();
        assert_eq!(
            panic.downcast_ref::<String>().unwrap(),
            "assertion `left == right` failed: diff 0 (an insert), its post rows: row 0 (number 7), column `name`: left \"a\", right \"b\"\n  \
             left: change 1 at 1970-01-01T00:00:00Z: 1 diff, 1 row\n  +I row 7 {id: 1, name: \"a\"}\n \
             right: change 1 at 1970-01-01T00:00:00Z: 1 diff, 1 row\n  +I row 7 {id: 1, name: \"b\"}"
        );
    }

    /// A sliced batch prints its own rows: the slice's offset reaches nested, union, map,
    /// dictionary and run-end encoded values; a zero-column batch prints `{}`.
    #[test]
    fn a_sliced_batch_prints_the_rows_it_holds() {
        let mut list = ListBuilder::new(Int32Builder::new());
        list.append_value([Some(1)]);
        list.append_null();
        list.append_value([None, Some(3)]);
        let point = StructArray::from(vec![(
            Arc::new(Field::new("x", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
        )]);
        let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
        for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
            map.keys().append_value(k);
            map.values().append_value(v);
            map.append(true).unwrap();
        }
        let fields = || {
            UnionFields::try_new(
                [0, 1],
                [
                    Field::new("n", DataType::Int32, true),
                    Field::new("s", DataType::Utf8, true),
                ],
            )
            .unwrap()
        };
        let sparse = UnionArray::try_new(
            fields(),
            ScalarBuffer::from(vec![0i8, 1, 0]),
            None,
            vec![
                Arc::new(Int32Array::from(vec![10, 20, 30])) as ArrayRef,
                Arc::new(StringArray::from(vec!["a", "b", "c"])),
            ],
        )
        .unwrap();
        let dense = UnionArray::try_new(
            fields(),
            ScalarBuffer::from(vec![0i8, 1, 0]),
            Some(ScalarBuffer::from(vec![0i32, 0, 1])),
            vec![
                Arc::new(Int32Array::from(vec![10, 30])) as ArrayRef,
                Arc::new(StringArray::from(vec!["b"])),
            ],
        )
        .unwrap();
        let dictionary: DictionaryArray<Int32Type> =
            vec![Some("x"), None, Some("z")].into_iter().collect();
        let runs = RunArray::<Int32Type>::try_new(
            &Int32Array::from(vec![1, 3]),
            &StringArray::from(vec![Some("r"), None]),
        )
        .unwrap();
        let all = rows(
            vec![0, 1, 2],
            vec![
                ("list", Arc::new(list.finish()) as ArrayRef),
                ("point", Arc::new(point)),
                ("map", Arc::new(map.finish())),
                ("sparse", Arc::new(sparse)),
                ("dense", Arc::new(dense)),
                ("colour", Arc::new(dictionary)),
                ("runs", Arc::new(runs)),
            ],
        );
        let sliced = Rows::new(vec![1u64, 2], all.batch().slice(1, 2)).unwrap();
        assert_eq!(
            sliced.to_string(),
            "2 rows\n  \
             row 1 {list: null, point: {x: null}, map: {\"b\": 2}, sparse: \"b\", dense: \"b\", colour: null, runs: null}\n  \
             row 2 {list: [null, 3], point: {x: 3}, map: {\"c\": 3}, sparse: 30, dense: 30, colour: \"z\", runs: null}"
        );
        let no_columns = RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )
        .unwrap();
        assert_eq!(
            Rows::new(vec![4u64], no_columns).unwrap().to_string(),
            "1 row\n  row 4 {}"
        );
    }

    /// A dictionary key past its values (which arrow-rs's checked constructors refuse, but
    /// `new_unchecked` does not) prints as such, where reading it would panic.
    #[test]
    fn a_dictionary_key_past_its_values_prints_as_out_of_range() {
        let keys = Int32Array::from(vec![0, 5]);
        let values = Arc::new(StringArray::from(vec!["a"]));
        // SAFETY: a key past the values is the case tested; the print reads only keys in
        // range.
        let dictionary = unsafe { DictionaryArray::<Int32Type>::new_unchecked(keys, values) };
        assert_eq!(
            rows(
                vec![0, 1],
                vec![("colour", Arc::new(dictionary) as ArrayRef)]
            )
            .to_string(),
            "2 rows\n  row 0 {colour: \"a\"}\n  row 1 {colour: <key out of range>}"
        );
    }

    #[test]
    fn a_timestamp_prints_in_utc() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999999Z");
    }
}
