//! The data model operators exchange: changes of Arrow record batches.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_array::{Array, BooleanArray, RecordBatch, UInt64Array};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{DataType, Schema};

use crate::__private::counted;
use crate::{Error, Result};

/// The stable number of a row, kept by every diff that touches it.
pub type RowNumber = u64;

/// A point in time: nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current system time.
    pub fn now() -> Timestamp {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Timestamp(i64::try_from(nanos).unwrap_or(i64::MAX))
    }

    /// Nanoseconds since the Unix epoch.
    pub fn as_nanos(self) -> i64 {
        self.0
    }

    /// The time `secs` seconds after the Unix epoch (before it when negative), at the
    /// nearest end of the range (about 292 years either side) past it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oplink::Timestamp;
    ///
    /// let start = Timestamp::from_secs(60);
    /// assert_eq!(start, Timestamp::from_millis(60_000));
    /// assert_eq!(start + Duration::from_millis(1_500), Timestamp::from_micros(61_500_000));
    /// assert_eq!(Timestamp::from_secs(75).duration_since(start), Some(Duration::from_secs(15)));
    /// assert_eq!(start.duration_since(Timestamp::from_secs(75)), None);
    /// ```
    pub const fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000_000_000))
    }

    /// The time `millis` milliseconds after the Unix epoch, as [`Timestamp::from_secs`].
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis.saturating_mul(1_000_000))
    }

    /// The time `micros` microseconds after the Unix epoch, as [`Timestamp::from_secs`].
    pub const fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros.saturating_mul(1_000))
    }

    /// This time plus `duration`, or `None` past the range.
    pub fn checked_add(self, duration: Duration) -> Option<Timestamp> {
        let nanos = i64::try_from(duration.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(Timestamp)
    }

    /// This time minus `duration`, or `None` past the range.
    pub fn checked_sub(self, duration: Duration) -> Option<Timestamp> {
        let nanos = i64::try_from(duration.as_nanos()).ok()?;
        self.0.checked_sub(nanos).map(Timestamp)
    }

    /// How long after `earlier` this time is, or `None` when it is before it.
    pub fn duration_since(self, earlier: Timestamp) -> Option<Duration> {
        // (Any two differ by at most 2^64 - 1 nanoseconds, which a `u64` holds.)
        let nanos = i128::from(self.0) - i128::from(earlier.0);
        u64::try_from(nanos).ok().map(Duration::from_nanos)
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// # Panics
    ///
    /// Past the range, about 292 years either side of the Unix epoch, as `SystemTime`'s
    /// `+` panics; [`Timestamp::checked_add`] says `None` instead.
    #[track_caller]
    fn add(self, duration: Duration) -> Timestamp {
        self.checked_add(duration).unwrap_or_else(|| {
            panic!(
                "a timestamp of {} ns plus {duration:?} is past the range of `Timestamp`",
                self.0
            )
        })
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;

    /// # Panics
    ///
    /// Past the range, as `+`; [`Timestamp::checked_sub`] says `None` instead.
    #[track_caller]
    fn sub(self, duration: Duration) -> Timestamp {
        self.checked_sub(duration).unwrap_or_else(|| {
            panic!(
                "a timestamp of {} ns minus {duration:?} is past the range of `Timestamp`",
                self.0
            )
        })
    }
}

/// A batch of rows and their row numbers, one number per row.
///
/// ```
/// use std::sync::Arc;
/// use oplink::arrow::array::{Int64Array, RecordBatch};
/// use oplink::Rows;
///
/// let batch = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![5, 7])) as _)])?;
/// let rows = Rows::new(vec![10, 11], batch)?;
/// assert_eq!(rows.len(), 2);
/// assert_eq!(rows.row_numbers().values(), &[10, 11]);
/// # Ok::<(), oplink::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Rows {
    row_numbers: UInt64Array,
    batch: RecordBatch,
}

impl Rows {
    /// Pairs row numbers with a batch.
    ///
    /// # Errors
    ///
    /// When there are not as many numbers as rows, or a number is null (naming the first
    /// such row); located at the caller.
    #[track_caller]
    pub fn new(row_numbers: impl Into<UInt64Array>, batch: RecordBatch) -> Result<Rows> {
        let row_numbers = row_numbers.into();
        if !Rows::pair(&row_numbers, &batch) {
            return Err(Error::msg(refused(&row_numbers, &batch)));
        }
        Ok(Rows { row_numbers, batch })
    }

    /// Whether `row_numbers` can pair with `batch`: as many numbers as rows, none null
    /// ([`Rows::new`]'s check, which the importer makes too; [`unpaired`] says why not).
    #[inline(always)]
    pub(crate) fn pair(row_numbers: &UInt64Array, batch: &RecordBatch) -> bool {
        row_numbers.len() == batch.num_rows() && row_numbers.null_count() == 0
    }

    /// Row numbers and a batch that [`Rows::pair`] found to pair.
    #[inline(always)]
    pub(crate) fn paired(row_numbers: UInt64Array, batch: RecordBatch) -> Rows {
        debug_assert!(Rows::pair(&row_numbers, &batch));
        Rows { row_numbers, batch }
    }

    /// The rows' numbers, one per row.
    pub fn row_numbers(&self) -> &UInt64Array {
        &self.row_numbers
    }

    /// The rows.
    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    /// The column named `name` as the arrow-rs array `A` (`Int64Array`, `StringArray`,
    /// `BooleanArray`, ...): the lookup and downcast an operator that reads a configured
    /// column writes, with both failures said for it.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oplink::prelude::*;
    /// let batch = RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(vec![5, 50])) as ArrayRef)])?;
    /// let rows = Rows::new(vec![7, 8], batch)?;
    /// assert_eq!(rows.column_as::<Int64Array>("amount")?.values(), &[5, 50]);
    /// assert_eq!(
    ///     rows.column_as::<StringArray>("amount").unwrap_err().message(),
    ///     "column `amount` is Int64, not the StringArray asked for"
    /// );
    /// assert_eq!(
    ///     rows.column_as::<Int64Array>("amuont").unwrap_err().message(),
    ///     "no column `amuont`: the columns are `amount`"
    /// );
    /// # Ok::<(), oplink::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When there is no column `name` (listing the columns there are), or when it holds
    /// another type (naming both); located at the caller.
    #[track_caller]
    pub fn column_as<A: Array + 'static>(&self, name: &str) -> Result<&A> {
        let Some(column) = self.batch.column_by_name(name) else {
            return Err(Error::msg(no_column(
                name,
                self.batch.schema_ref().fields(),
            )));
        };
        match column.as_any().downcast_ref::<A>() {
            Some(array) => Ok(array),
            None => Err(Error::msg(format!(
                "column `{name}` is {}, not the {} asked for",
                column.data_type(),
                array_name::<A>()
            ))),
        }
    }

    /// The schema of the rows.
    pub fn schema(&self) -> Arc<Schema> {
        self.batch.schema()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.batch.num_rows() == 0
    }

    /// The row numbers and the batch.
    pub fn into_parts(self) -> (UInt64Array, RecordBatch) {
        (self.row_numbers, self.batch)
    }

    /// Checks every array of the rows in full, as arrow-rs's `ArrayData::validate_full`
    /// does: offsets that never decrease and stay within their data, UTF-8 text,
    /// dictionary keys, union type ids and view indices in range, null counts that agree
    /// with their bitmaps. Of a column of fixed-width values (numbers, times, booleans),
    /// which any bits make valid, only the null count is checked.
    /// A change that crossed from another library was taken on its producer's word for
    /// these (as the Arrow C Data Interface leaves them to it, and as arrow-rs's own
    /// import does); a host that runs operators it does not trust, written in C say,
    /// checks their output with this before reading text out of it. It costs time in
    /// proportion to the data. What no consumer can check is a last offset past the end
    /// of the data a producer allocated: the C Data Interface does not carry buffer sizes.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oplink::prelude::*;
    /// let batch = RecordBatch::try_from_iter([("name", Arc::new(StringArray::from(vec!["a"])) as ArrayRef)])?;
    /// Rows::new(vec![7], batch)?.validate()?;
    /// # Ok::<(), oplink::Error>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        let schema = self.batch.schema_ref();
        for (column, field) in self.batch.columns().iter().zip(schema.fields()) {
            // Any bits are a valid fixed-width value, and the import has checked every
            // buffer's length: only offsets, text, keys and the like remain to check.
            let fixed = column.data_type().is_primitive()
                || matches!(
                    column.data_type(),
                    DataType::Boolean | DataType::Null | DataType::FixedSizeBinary(_)
                );
            if !fixed {
                column.to_data().validate_full().map_err(|e| {
                    Error::unlocated(format!("column `{}`: {}", field.name(), arrow_words(&e)))
                })?;
            } else if let Some(nulls) = column.nulls() {
                // A null count the producer declared, against its bitmap (a popcount).
                let marked = nulls.len() - nulls.inner().count_set_bits();
                if marked != nulls.null_count() {
                    return Err(Error::unlocated(format!(
                        "column `{}`: its null count is {}, but its validity bitmap marks {}",
                        field.name(),
                        nulls.null_count(),
                        counted(marked, "row null", "rows null")
                    )));
                }
            }
        }
        Ok(())
    }

    /// The same rows, their batch replaced by what `f` makes of it: a column added,
    /// computed, renamed or dropped. Each row keeps its number, so `f` must return as many
    /// rows as it was given, in the same order (an error otherwise, located at the caller;
    /// [`Rows::filter`] drops rows).
    #[track_caller]
    pub fn map(self, f: impl FnOnce(&RecordBatch) -> Result<RecordBatch>) -> Result<Rows> {
        let batch = f(&self.batch)?;
        self.mapped(batch)
    }

    /// [`Rows::map`] for one side of diff `index` of a change: `f`'s own error is the
    /// result as it is; a batch of another row count is an error naming the diff and side.
    #[track_caller]
    fn map_side(
        self,
        f: &mut impl FnMut(&RecordBatch) -> Result<RecordBatch>,
        index: usize,
        side: &str,
    ) -> Result<Rows> {
        let batch = f(&self.batch)?;
        self.mapped(batch)
            .map_err(|e| e.context(format!("diff {index} of the change, its {side} rows")))
    }

    /// These rows' numbers with `batch`, what `map`'s function made of their batch: an
    /// error, located at the caller, when it does not have as many rows.
    #[track_caller]
    fn mapped(self, batch: RecordBatch) -> Result<Rows> {
        if batch.num_rows() != self.batch.num_rows() {
            return Err(Error::msg(format!(
                "`map` keeps every row and its number, but the batch of {} became one of {}; drop rows with `filter`",
                counted(self.batch.num_rows(), "row", "rows"),
                counted(batch.num_rows(), "row", "rows"),
            )));
        }
        Ok(Rows {
            row_numbers: self.row_numbers,
            batch,
        })
    }

    /// Keeps the rows where `keep` is true (a null is not kept), with their numbers. `keep`
    /// holds one flag per row. When every row is kept, the result shares these rows'
    /// arrays: nothing is copied.
    ///
    /// # Errors
    ///
    /// When `keep` does not hold one flag per row; located at the caller.
    #[track_caller]
    pub fn filter(&self, keep: &BooleanArray) -> Result<Rows> {
        if keep.len() != self.len() {
            return Err(wrong_length(keep, self, "row"));
        }
        // `true_count` counts the flags that are set and not null.
        self.filter_counted(keep, keep.true_count())
    }

    /// [`Rows::filter`] with a mask of the right length that keeps `count` rows.
    #[track_caller]
    fn filter_counted(&self, keep: &BooleanArray, count: usize) -> Result<Rows> {
        if count == keep.len() {
            return Ok(self.clone());
        }
        // One predicate for the columns and the row numbers: more than one array, which an
        // optimized predicate (its kept runs worked out once) serves best.
        let mut predicate = arrow_select::filter::FilterBuilder::new(keep);
        if self.batch.num_columns() > 0 {
            predicate = predicate.optimize();
        }
        let predicate = predicate.build();
        let batch = predicate.filter_record_batch(&self.batch)?;
        let numbers = predicate.filter(&self.row_numbers)?;
        let numbers = numbers.as_any().downcast_ref::<UInt64Array>().cloned();
        Rows::new(
            numbers.ok_or_else(|| Error::msg("filtered row numbers are not UInt64"))?,
            batch,
        )
    }
}

/// Why row numbers and a batch that [`Rows::pair`] refused do not pair.
#[cold]
#[inline(never)]
pub(crate) fn unpaired(row_numbers: &UInt64Array, batch: &RecordBatch) -> String {
    if row_numbers.len() != batch.num_rows() {
        miscounted(row_numbers.len(), batch.num_rows())
    } else {
        "row numbers must not be null".to_owned()
    }
}

/// Why [`Rows::new`] refused its arguments, and what it takes: [`unpaired`]'s words, with
/// the first row whose number is null named.
#[cold]
#[inline(never)]
fn refused(row_numbers: &UInt64Array, batch: &RecordBatch) -> String {
    let why = unpaired(row_numbers, batch);
    match row_numbers
        .nulls()
        .and_then(|nulls| nulls.iter().position(|valid| !valid))
    {
        Some(row) if row_numbers.len() == batch.num_rows() => {
            format!("{why}, but row {row}'s is null: `Rows::new` takes one number per row")
        }
        _ => format!("{why}: `Rows::new` takes one number per row"),
    }
}

/// The words of `numbers` row numbers for a batch of `rows` rows.
pub(crate) fn miscounted(numbers: usize, rows: usize) -> String {
    format!(
        "{} for a batch of {}",
        counted(numbers, "row number", "row numbers"),
        counted(rows, "row", "rows")
    )
}

/// One diff of a change.
#[derive(Clone, Debug, PartialEq)]
pub enum Diff {
    /// New rows.
    Insert {
        /// The rows after the change.
        post: Rows,
    },
    /// Changed rows: `pre` and `post` hold the same row numbers in the same order.
    Update {
        /// The rows before the change.
        pre: Rows,
        /// The rows after the change.
        post: Rows,
    },
    /// Removed rows.
    Remove {
        /// The rows before the change.
        pre: Rows,
    },
}

/// A change: what happened to a set of rows at one version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Change {
    /// Monotonic version of the change.
    pub version: u64,
    /// When the change happened.
    pub changed_at: Timestamp,
    /// What changed.
    pub diffs: Vec<Diff>,
}

impl Change {
    /// A change with these diffs.
    pub fn new(version: u64, changed_at: Timestamp, diffs: Vec<Diff>) -> Change {
        Change {
            version,
            changed_at,
            diffs,
        }
    }

    /// An empty change that keeps the version and time of `self` (handy for outputs).
    #[must_use]
    pub fn empty_like(&self) -> Change {
        Change {
            version: self.version,
            changed_at: self.changed_at,
            diffs: Vec::new(),
        }
    }

    /// Every side of every diff with its batch replaced by what `f` makes of it, each row
    /// keeping its number and its diff: the change an operator that adds, computes, renames
    /// or drops columns returns. An update's old and new rows both go through `f`, so that
    /// downstream sees the old computed values leave and the new ones arrive. `f` must
    /// return as many rows as it was given ([`Rows::map`]). An error of `f` is the result as
    /// it was made; a batch of another number of rows is an error located at the caller
    /// that names the diff and the side (`diff 1 of the change, its post rows: …`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oplink::prelude::*;
    /// let amounts = RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(vec![5, 50])) as ArrayRef)])?;
    /// let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post: Rows::new(vec![7, 8], amounts)? }]);
    /// // Adds `doubled`, twice `amount`.
    /// let out = change.map(|batch| {
    ///     let amount = batch.column_by_name("amount").and_then(|c| c.as_any().downcast_ref::<Int64Array>())
    ///         .ok_or_else(|| Error::msg("no Int64 column `amount`"))?;
    ///     let doubled: Int64Array = amount.iter().map(|v| v.map(|v| v * 2)).collect();
    ///     let mut columns: Vec<(&str, ArrayRef)> = vec![("amount", batch.column(0).clone())];
    ///     columns.push(("doubled", Arc::new(doubled)));
    ///     Ok(RecordBatch::try_from_iter(columns)?)
    /// })?;
    /// let Diff::Insert { post } = &out.diffs[0] else { unreachable!() };
    /// assert_eq!(post.row_numbers().values(), &[7, 8]);
    /// assert_eq!(post.batch().num_columns(), 2);
    /// # Ok::<(), oplink::Error>(())
    /// ```
    #[track_caller]
    pub fn map(self, mut f: impl FnMut(&RecordBatch) -> Result<RecordBatch>) -> Result<Change> {
        let mut out = self.empty_like();
        out.diffs.reserve(self.diffs.len());
        for (index, diff) in self.diffs.into_iter().enumerate() {
            out.diffs.push(match diff {
                Diff::Insert { post } => Diff::Insert {
                    post: post.map_side(&mut f, index, "post")?,
                },
                Diff::Update { pre, post } => Diff::Update {
                    pre: pre.map_side(&mut f, index, "pre")?,
                    post: post.map_side(&mut f, index, "post")?,
                },
                Diff::Remove { pre } => Diff::Remove {
                    pre: pre.map_side(&mut f, index, "pre")?,
                },
            });
        }
        Ok(out)
    }

    /// Keeps the rows that `keep` selects, so that whoever applies the output sees a
    /// consistent filtered view of the input: an insert keeps its new rows that pass, a
    /// remove its old rows that passed; a row updated from passing to passing stays an
    /// update, one that stops passing becomes a remove of its old values, and one that
    /// starts passing an insert of its new values. `keep` gets each side's rows and answers
    /// one flag per row (a null flag is not kept); diffs left with no rows are dropped. An
    /// error from `keep`, a mask of the wrong length, or an update whose two sides do not
    /// carry the same row numbers in the same order is the result (located at the caller;
    /// the last two name the diff: `diff 0 of the change: the filter's mask has …`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oplink::prelude::*;
    /// let amounts = |v: Vec<i64>| RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(v)) as ArrayRef)]);
    /// // Row 1 goes from 50 to 5, row 2 from 1 to 15; keep amounts of at least 10.
    /// let change = Change::new(1, Timestamp(0), vec![Diff::Update {
    ///     pre: Rows::new(vec![1, 2], amounts(vec![50, 1])?)?,
    ///     post: Rows::new(vec![1, 2], amounts(vec![5, 15])?)?,
    /// }]);
    /// let at_least_10 = |rows: &Rows| -> Result<BooleanArray> {
    ///     let amount = rows.batch().column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    ///     Ok(amount.iter().map(|v| v.map(|v| v >= 10)).collect())
    /// };
    /// let out = change.filter(at_least_10)?;
    /// // Downstream saw row 1 (50) and never row 2: row 1 is removed, row 2 inserted.
    /// assert!(matches!(&out.diffs[..], [Diff::Remove { pre }, Diff::Insert { post }]
    ///     if pre.row_numbers().values() == &[1] && post.row_numbers().values() == &[2]));
    /// # Ok::<(), oplink::Error>(())
    /// ```
    #[track_caller]
    pub fn filter(self, mut keep: impl FnMut(&Rows) -> Result<BooleanArray>) -> Result<Change> {
        let mut out = self.empty_like();
        for (index, diff) in self.diffs.into_iter().enumerate() {
            let masks = match &diff {
                Diff::Insert { post } => [None, Some(keep(post)?)],
                Diff::Update { pre, post } => [Some(keep(pre)?), Some(keep(post)?)],
                Diff::Remove { pre } => [Some(keep(pre)?), None],
            };
            diff.filter_into(index, masks, &mut out.diffs)?;
        }
        Ok(out)
    }

    /// Checks every array of every diff in full ([`Rows::validate`]), and that an update's
    /// two sides carry the same row numbers (as it must to cross); the error names the
    /// diff, its side and the column.
    pub fn validate(&self) -> Result<()> {
        for (index, diff) in self.diffs.iter().enumerate() {
            if let Diff::Update { pre, post } = diff
                && let Err(e) = crate::exchange::same_numbers(
                    pre.row_numbers().values(),
                    post.row_numbers().values(),
                )
            {
                return Err(e.context(format!("diff {index} of the change")));
            }
            let sides: [(&str, Option<&Rows>); 2] = match diff {
                Diff::Insert { post } => [("pre", None), ("post", Some(post))],
                Diff::Update { pre, post } => [("pre", Some(pre)), ("post", Some(post))],
                Diff::Remove { pre } => [("pre", Some(pre)), ("post", None)],
            };
            for (side, rows) in sides {
                if let Some(rows) = rows {
                    rows.validate().map_err(|e| {
                        e.context(format!("diff {index} of the change: its {side} rows"))
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Total number of rows across all diffs (an update counts its `post` rows).
    pub fn row_count(&self) -> usize {
        self.diffs
            .iter()
            .map(|d| match d {
                Diff::Insert { post } | Diff::Update { post, .. } => post.len(),
                Diff::Remove { pre } => pre.len(),
            })
            .sum()
    }
}

impl Diff {
    /// Pushes onto `out` what of this diff `masks` (`pre`'s, `post`'s, each there when the
    /// diff has that side) keeps, split as [`Change::filter`] says; errors are located at
    /// the caller and name the diff (`index`, its place in its change).
    #[track_caller]
    pub(crate) fn filter_into(
        self,
        index: usize,
        masks: [Option<BooleanArray>; 2],
        out: &mut Vec<Diff>,
    ) -> Result<()> {
        self.filter_unnamed(masks, out)
            .map_err(|e| e.context(format!("diff {index} of the change")))
    }

    /// [`Diff::filter_into`], its errors not naming the diff.
    #[track_caller]
    fn filter_unnamed(self, masks: [Option<BooleanArray>; 2], out: &mut Vec<Diff>) -> Result<()> {
        // A side no row of which passes is left out without being filtered: no empty
        // batch is built only to be dropped.
        match (self, masks) {
            (Diff::Insert { post }, [_, Some(mask)]) => {
                let mask = one_per_row(mask, &post, "post row")?;
                if let Some(post) = passing(post, &mask)? {
                    out.push(Diff::Insert { post });
                }
            }
            (Diff::Remove { pre }, [Some(mask), _]) => {
                let mask = one_per_row(mask, &pre, "pre row")?;
                if let Some(pre) = passing(pre, &mask)? {
                    out.push(Diff::Remove { pre });
                }
            }
            (Diff::Update { pre, post }, [Some(before), Some(after)]) => {
                if let Err(e) = crate::exchange::same_numbers(
                    pre.row_numbers().values(),
                    post.row_numbers().values(),
                ) {
                    return Err(Error::msg(e.message()));
                }
                let before = kept(&one_per_row(before, &pre, "pre row")?);
                let after = kept(&one_per_row(after, &post, "post row")?);
                let both = BooleanArray::from(&before & &after);
                let stopped = BooleanArray::from(&before & &!&after);
                let started = BooleanArray::from(&!&before & &after);
                let count = both.true_count();
                if count > 0 {
                    out.push(Diff::Update {
                        pre: pre.filter_counted(&both, count)?,
                        post: post.filter_counted(&both, count)?,
                    });
                }
                if let Some(pre) = passing(pre, &stopped)? {
                    out.push(Diff::Remove { pre });
                }
                if let Some(post) = passing(post, &started)? {
                    out.push(Diff::Insert { post });
                }
            }
            _ => unreachable!("a mask for every side the diff has"),
        }
        Ok(())
    }
}

/// The rows of `rows` that `mask` (one flag per row) keeps: `None` when it keeps none,
/// `rows` themselves when it keeps all.
#[track_caller]
fn passing(rows: Rows, mask: &BooleanArray) -> Result<Option<Rows>> {
    match mask.true_count() {
        0 => Ok(None),
        count if count == rows.len() => Ok(Some(rows)),
        count => rows.filter_counted(mask, count).map(Some),
    }
}

/// `mask`, checked to hold one flag per row of `rows` (`row` names them in the error).
#[track_caller]
fn one_per_row(mask: BooleanArray, rows: &Rows, row: &str) -> Result<BooleanArray> {
    if mask.len() == rows.len() {
        Ok(mask)
    } else {
        Err(wrong_length(&mask, rows, row))
    }
}

/// A mask that does not hold one flag per row.
#[track_caller]
fn wrong_length(mask: &BooleanArray, rows: &Rows, row: &str) -> Error {
    Error::msg(format!(
        "the filter's mask has {} for {}: it needs one flag per row",
        counted(mask.len(), "flag", "flags"),
        counted(rows.len(), row, &format!("{row}s"))
    ))
}

/// The rows `mask` keeps: its true flags, a null being false.
pub(crate) fn kept(mask: &BooleanArray) -> BooleanBuffer {
    match mask.nulls() {
        Some(nulls) => mask.values() & nulls.inner(),
        None => mask.values().clone(),
    }
}

/// An arrow-rs error's own words, without the kind it prefixes them with, also where a
/// nested array's error is quoted inside its parent's (`... child #0 invalid: Invalid
/// argument error: ...`): only there, so that a field's name in a quoted type keeps its
/// words whatever they are.
fn arrow_words(error: &arrow_schema::ArrowError) -> String {
    const KIND: &str = "Invalid argument error: ";
    let words = match error {
        arrow_schema::ArrowError::InvalidArgumentError(words) => words.clone(),
        other => return other.to_string(),
    };
    // arrow-rs's `validate_full` quotes a child's error as `{type} child #{i} invalid: {e}`.
    let mut out = String::with_capacity(words.len());
    let mut rest = words.as_str();
    while let Some(at) = rest.find(" invalid: ") {
        let (before, after) = rest.split_at(at + " invalid: ".len());
        out.push_str(before);
        let quoted = before[..at]
            .rsplit_once(" child #")
            .is_some_and(|(_, i)| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
        rest = match after.strip_prefix(KIND) {
            Some(inner) if quoted => inner,
            _ => after,
        };
    }
    out.push_str(rest);
    out
}

/// "no column `name`: the columns are `a`, `b`" (or "none"): what an operator that asks
/// for a column by name is told when there is none.
pub(crate) fn no_column(name: &str, fields: &arrow_schema::Fields) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    format!(
        "no column `{name}`: the columns are {}",
        if names.is_empty() {
            "none".to_owned()
        } else {
            format!("`{}`", names.join("`, `"))
        }
    )
}

/// The name an author writes for the arrow-rs array type `A`: `Int64Array` for
/// `arrow_array::array::primitive_array::PrimitiveArray<arrow_array::types::Int64Type>`,
/// `StringArray`, `ListArray`; another type by its own name, without module paths.
fn array_name<A>() -> String {
    let mut short = String::new();
    let mut word = String::new();
    for c in std::any::type_name::<A>().chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            short.push_str(word.rsplit("::").next().unwrap_or_default());
            word.clear();
            short.push(c);
        }
    }
    short.push_str(word.rsplit("::").next().unwrap_or_default());
    let alias = match short.as_str() {
        "GenericByteArray<GenericStringType<i32>>" => "StringArray",
        "GenericByteArray<GenericStringType<i64>>" => "LargeStringArray",
        "GenericByteArray<GenericBinaryType<i32>>" => "BinaryArray",
        "GenericByteArray<GenericBinaryType<i64>>" => "LargeBinaryArray",
        "GenericByteViewArray<StringViewType>" => "StringViewArray",
        "GenericByteViewArray<BinaryViewType>" => "BinaryViewArray",
        "GenericListArray<i32>" => "ListArray",
        "GenericListArray<i64>" => "LargeListArray",
        _ => {
            if let Some(ty) = short
                .strip_prefix("PrimitiveArray<")
                .and_then(|rest| rest.strip_suffix("Type>"))
            {
                return format!("{ty}Array");
            }
            return short;
        }
    };
    alias.to_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Int32Type;
    use arrow_array::*;

    use super::*;

    /// A timestamp's constructors saturate at the range, its arithmetic says `None` past
    /// it (or panics naming the values, for `+` and `-`), and a duration is never negative.
    #[test]
    fn timestamps_convert_and_add_within_their_range() {
        assert_eq!(Timestamp::from_secs(2), Timestamp(2_000_000_000));
        assert_eq!(Timestamp::from_millis(-3), Timestamp(-3_000_000));
        assert_eq!(Timestamp::from_micros(7), Timestamp(7_000));
        assert_eq!(Timestamp::from_secs(i64::MAX), Timestamp(i64::MAX));
        assert_eq!(Timestamp::from_secs(i64::MIN), Timestamp(i64::MIN));
        let day = Duration::from_secs(86_400);
        assert_eq!(Timestamp(0) - day + day, Timestamp(0));
        assert_eq!(
            Timestamp(i64::MAX).checked_add(Duration::from_nanos(1)),
            None
        );
        assert_eq!(
            Timestamp(i64::MIN).checked_sub(Duration::from_nanos(1)),
            None
        );
        assert_eq!(Timestamp(0).checked_add(Duration::MAX), None);
        assert_eq!(
            Timestamp(5).duration_since(Timestamp(2)),
            Some(Duration::from_nanos(3))
        );
        assert_eq!(Timestamp(2).duration_since(Timestamp(5)), None);
        assert_eq!(
            Timestamp(i64::MAX).duration_since(Timestamp(i64::MIN)),
            Some(Duration::from_nanos(u64::MAX))
        );
        assert_eq!(
            Timestamp(i64::MIN).duration_since(Timestamp(i64::MAX)),
            None
        );
        let panic =
            std::panic::catch_unwind(|| Timestamp(i64::MAX) + Duration::from_secs(1)).unwrap_err();
        assert_eq!(
            panic.downcast_ref::<String>().unwrap(),
            "a timestamp of 9223372036854775807 ns plus 1s is past the range of `Timestamp`"
        );
    }

    /// A column asked for as another type names the type asked for as an author writes it.
    #[test]
    fn a_column_of_another_type_names_both_as_written() {
        let batch = RecordBatch::try_from_iter([
            ("n", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("s", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
        ])
        .unwrap();
        let rows = Rows::new(vec![0], batch).unwrap();
        let said = |error: Error| error.message().to_owned();
        assert_eq!(
            said(
                rows.column_as::<TimestampMicrosecondArray>("n")
                    .unwrap_err()
            ),
            "column `n` is Int64, not the TimestampMicrosecondArray asked for"
        );
        assert_eq!(
            said(rows.column_as::<LargeStringArray>("s").unwrap_err()),
            "column `s` is Utf8, not the LargeStringArray asked for"
        );
        assert_eq!(
            said(
                rows.column_as::<DictionaryArray<Int32Type>>("s")
                    .unwrap_err()
            ),
            "column `s` is Utf8, not the DictionaryArray<Int32Type> asked for"
        );
        for (name, expected) in [
            (array_name::<BooleanArray>(), "BooleanArray"),
            (array_name::<BinaryArray>(), "BinaryArray"),
            (array_name::<LargeBinaryArray>(), "LargeBinaryArray"),
            (array_name::<StringViewArray>(), "StringViewArray"),
            (array_name::<BinaryViewArray>(), "BinaryViewArray"),
            (array_name::<ListArray>(), "ListArray"),
            (array_name::<LargeListArray>(), "LargeListArray"),
            (array_name::<Decimal128Array>(), "Decimal128Array"),
            (array_name::<Float64Array>(), "Float64Array"),
            (array_name::<StructArray>(), "StructArray"),
        ] {
            assert_eq!(name, expected);
        }
        assert_eq!(
            said(rows.column_as::<Int64Array>("none").unwrap_err()),
            "no column `none`: the columns are `n`, `s`"
        );
    }
}
