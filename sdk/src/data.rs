//! The data model operators exchange: changes of Arrow record batches.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::{Array, RecordBatch, UInt64Array};
use arrow_schema::Schema;

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
    /// Pairs row numbers with a batch; they must have the same length and no null numbers.
    /// An error is located at the caller.
    #[track_caller]
    pub fn new(row_numbers: impl Into<UInt64Array>, batch: RecordBatch) -> Result<Rows> {
        let row_numbers = row_numbers.into();
        if row_numbers.len() != batch.num_rows() {
            return Err(Error::msg(format!(
                "{} row numbers for a batch of {} rows",
                row_numbers.len(),
                batch.num_rows()
            )));
        }
        if row_numbers.null_count() != 0 {
            return Err(Error::msg("row numbers must not be null"));
        }
        Ok(Rows { row_numbers, batch })
    }

    /// The rows' numbers, one per row.
    pub fn row_numbers(&self) -> &UInt64Array {
        &self.row_numbers
    }

    /// The rows.
    pub fn batch(&self) -> &RecordBatch {
        &self.batch
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

    /// Keeps the rows where `keep` is true, with their numbers (zero-copy where Arrow can).
    #[track_caller]
    pub fn filter(&self, keep: &arrow_array::BooleanArray) -> Result<Rows> {
        let batch = arrow_select::filter::filter_record_batch(&self.batch, keep)?;
        let numbers = arrow_select::filter::filter(&self.row_numbers, keep)?;
        let numbers = numbers.as_any().downcast_ref::<UInt64Array>().cloned();
        Rows::new(
            numbers.ok_or_else(|| Error::msg("filtered row numbers are not UInt64"))?,
            batch,
        )
    }
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
    pub fn empty_like(&self) -> Change {
        Change {
            version: self.version,
            changed_at: self.changed_at,
            diffs: Vec::new(),
        }
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
