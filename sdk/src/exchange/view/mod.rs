//! Reading a change in place: the typed borrowed view.
//!
//! An operator whose `apply` takes a [`ChangeView`] instead of a [`Change`] reads its input
//! straight from the C Data Interface arrays that crossed: a column of `Int64` is a
//! `&[i64]`, a column of `Utf8` (plain, large or view) yields `&str`s, one of `Binary`
//! `&[u8]`s, a dictionary its keys and its values as a column of their own, validity is a
//! bitmap read in place. No arrow-rs array is built unless the operator asks for one
//! ([`RowsView::to_rows`]). It returns a [`ChangeOut`]: a [`Change`] it built (as any
//! operator does), its input forwarded unchanged, whose arrays go back to the host as they
//! came, with nothing laid out again, or an output built from typed values ([`RowsOut`] of
//! [`ColumnOut`]s, through [`ChangeOut::new`]), laid out where the values lie with no
//! arrow-rs array built.
//!
//! What is checked is what the importer checks (the shape of each batch when the view is
//! made, of each column when it is asked for, against its type), plus what a borrowed slice
//! needs: a buffer's pointer is aligned for its values. Strings are checked when they are
//! read (their offsets lie within the data, or their views within their data buffers, and
//! their bytes are UTF-8; a dictionary's keys within its values), so reading costs in
//! proportion to what is read; [`StringsView::checked`] checks a column whole, once, for an
//! operator that reads most of it, and its reads are then slices. Anything wrong is an `Err` naming the column, located at the
//! line that asked. A column of a type the view does not read, or whose buffer is not
//! aligned for a slice, can still be read through [`RowsView::to_rows`]; that takes the
//! producer's word for what the C Data Interface leaves to it (offsets between the first
//! and the last, UTF-8), as every import into arrow-rs does, so it does not mend a string
//! that [`StringsView::try_get`] refused. A panic of [`StringsView::get`] or
//! [`StringsView::iter`] on a malformed string poisons the instance, as any panic does.

use std::sync::Arc;

use arrow_array::BooleanArray;
use arrow_schema::{DataType, Field, SchemaRef};

use super::import::{
    Column, Owner, Shape, Slot, Unshared, keep_spare, no_dictionary, read_owned, take_each_diff,
};

pub use super::built::{ColumnOut, DiffOut, RowsOut};
use super::raw::RawArray;
use super::{Outgoing, SchemaInbox, SchemaOutbox};
use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT, DIFF_REMOVE, DIFF_UPDATE};
use crate::data::{Change, Diff, Rows, Timestamp};
use crate::{Error, Result};

mod columns;

pub(super) use columns::unset_bits;
use columns::values;
pub use columns::{
    BinariesView, BooleansView, CheckedStrings, ColumnView, DictionaryView, PrimitiveView,
    StringsView, Validity,
};

/// A change read in place: what an operator's `apply` takes when it declares
/// `change: ChangeView`.
///
/// ```
/// use oplink::prelude::*;
/// use oplink::view::{ChangeOut, ChangeView, DiffView};
///
/// /// Passes every change on, after checking that no `amount` is negative.
/// struct NoNegatives;
///
/// #[oplink::operator(name = "no_negatives", version = "1.0.0")]
/// impl NoNegatives {
///     fn new() -> Result<Self> {
///         Ok(NoNegatives)
///     }
///
///     fn apply(&mut self, change: ChangeView) -> Result<ChangeOut> {
///         for diff in change.diffs() {
///             if let DiffView::Insert { post } = diff {
///                 let amounts = post.column_by_name("amount")?.i64s()?;
///                 if let Some(row) = amounts.iter().position(|v| v.is_some_and(|v| v < 0)) {
///                     bail!("row {} has a negative amount", post.row_numbers()?[row]);
///                 }
///             }
///         }
///         // The input goes back as it came: nothing is built or laid out again.
///         Ok(change.forward())
///     }
/// }
/// # fn main() {}
/// ```
///
/// In a unit test, [`ChangeView::from_change`] makes one from a [`Change`], laid out as it
/// would cross.
#[derive(Debug)]
pub struct ChangeView(Box<Parts>);

/// What a view holds. Boxed, so that a view moves as one pointer (in a register, not
/// through memory) and the box serves the instance's next view.
#[derive(Debug)]
pub(crate) struct Parts {
    version: u64,
    changed_at: Timestamp,
    diffs: Vec<Sides>,
    /// The input this view was read from, when it was one (see [`Origin`]).
    origin: Option<Origin>,
}

/// The box of a view that went back, for the next view (none at first).
pub(crate) type Spare = Option<Box<Parts>>;

impl Parts {
    /// `spare`'s box, or a new one.
    fn reuse(spare: Spare) -> Box<Parts> {
        spare.unwrap_or_else(|| {
            Box::new(Parts {
                version: 0,
                changed_at: Timestamp(0),
                diffs: Vec::new(),
                origin: None,
            })
        })
    }
}

/// Which call's input a view was read from: its diff array and the call's number. A view
/// forwarded by the call that read it goes back into that diff array, in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The address of the input's diff array.
    pub(crate) diffs: usize,
    /// How many diffs it holds.
    pub(crate) count: usize,
    /// The instance's count of calls when it was read.
    pub(crate) call: u64,
}

/// One diff's sides, checked.
#[derive(Debug)]
pub(crate) enum Sides {
    Insert(Side),
    Update(Side, Side),
    Remove(Side),
}

/// One side of a diff: its arrays, held by one owner, and its schema.
#[derive(Debug)]
pub(crate) struct Side {
    schema: SchemaRef,
    owner: Arc<Owner>,
    /// The batch's row count.
    length: usize,
    /// The batch's offset, which applies to its columns.
    offset: usize,
}

/// A diff of a [`ChangeView`]: [`Diff`]'s shape, with [`RowsView`]s for its sides.
#[derive(Debug)]
pub enum DiffView<'v> {
    /// Rows that appear.
    Insert {
        /// The new rows.
        post: RowsView<'v>,
    },
    /// Rows that change: `pre[i]` becomes `post[i]`.
    Update {
        /// The rows as they were.
        pre: RowsView<'v>,
        /// The rows as they are now.
        post: RowsView<'v>,
    },
    /// Rows that go.
    Remove {
        /// The rows that go.
        pre: RowsView<'v>,
    },
}

/// The rows of one side of a diff, read in place.
#[derive(Clone, Copy, Debug)]
pub struct RowsView<'v> {
    side: &'v Side,
}

/// What a view operator's `apply` returns: a change it built, its input forwarded, or an
/// output built from typed values.
///
/// Made with `.into()` from a [`Change`], with [`ChangeView::forward`], or with
/// [`ChangeOut::new`] from [`DiffOut`]s of [`RowsOut`].
#[derive(Debug)]
pub struct ChangeOut(Out);

#[derive(Debug)]
enum Out {
    Built(Change),
    Forwarded(ChangeView),
    Typed {
        version: u64,
        changed_at: Timestamp,
        diffs: Vec<DiffOut>,
    },
}

impl From<Change> for ChangeOut {
    fn from(change: Change) -> ChangeOut {
        ChangeOut(Out::Built(change))
    }
}

impl From<ChangeView> for ChangeOut {
    fn from(view: ChangeView) -> ChangeOut {
        ChangeOut(Out::Forwarded(view))
    }
}

impl ChangeOut {
    /// An output built from typed values ([`RowsOut`]): laid out for the other side where
    /// the values lie, with no arrow-rs array built (see [`ColumnOut`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use oplink::prelude::*;
    /// use oplink::arrow::schema::{DataType, Field, Schema};
    /// use oplink::view::{ChangeOut, ChangeView, ColumnOut, DiffOut, DiffView, RowsOut};
    ///
    /// /// Doubles every `amount`, keeping its nulls.
    /// struct Double {
    ///     schema: SchemaRef,
    /// }
    ///
    /// #[oplink::operator(name = "double", version = "1.0.0")]
    /// impl Double {
    ///     fn new() -> Result<Self> {
    ///         let field = Field::new("doubled", DataType::Int64, true);
    ///         Ok(Double { schema: Arc::new(Schema::new(vec![field])) })
    ///     }
    ///
    ///     fn apply(&mut self, change: ChangeView) -> Result<ChangeOut> {
    ///         let mut diffs = Vec::new();
    ///         for diff in change.diffs() {
    ///             let DiffView::Insert { post } = diff else { continue };
    ///             let amounts = post.column_by_name("amount")?.i64s()?;
    ///             let doubled = amounts.values().iter().map(|v| v.wrapping_mul(2)).collect();
    ///             let column = ColumnOut::i64s(doubled).with_validity(amounts.validity())?;
    ///             let numbers = post.row_numbers()?.to_vec();
    ///             let post = RowsOut::new(self.schema.clone(), numbers, vec![column])?;
    ///             diffs.push(DiffOut::Insert { post });
    ///         }
    ///         Ok(ChangeOut::new(change.version(), change.changed_at(), diffs))
    ///     }
    /// }
    /// # fn main() -> Result<()> {
    /// # let amounts = RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(vec![Some(5), None])) as ArrayRef)])?;
    /// # let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post: Rows::new(vec![7, 8], amounts)? }]);
    /// # let out = Double::new()?.apply(ChangeView::from_change(change)?)?.into_change()?;
    /// # let Diff::Insert { post } = &out.diffs[0] else { panic!() };
    /// # let doubled = post.batch().column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    /// # assert_eq!(doubled.iter().collect::<Vec<_>>(), [Some(10), None]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(version: u64, changed_at: Timestamp, diffs: Vec<DiffOut>) -> ChangeOut {
        ChangeOut(Out::Typed {
            version,
            changed_at,
            diffs,
        })
    }

    /// Whether this is a view forwarded as it came.
    #[cfg(test)]
    pub(crate) fn is_forwarded(&self) -> bool {
        matches!(self.0, Out::Forwarded(_))
    }

    /// An output without diffs as its version and time (and a forwarded view's vector, for
    /// reuse); any other output unchanged.
    pub(crate) fn into_empty(self) -> Result<(u64, Timestamp, Spare), ChangeOut> {
        match self.0 {
            Out::Built(change) if change.diffs.is_empty() => {
                Ok((change.version, change.changed_at, None))
            }
            Out::Forwarded(view) if view.0.diffs.is_empty() => {
                Ok((view.0.version, view.0.changed_at, Some(view.0)))
            }
            Out::Typed {
                version,
                changed_at,
                diffs,
            } if diffs.is_empty() => Ok((version, changed_at, None)),
            other => Err(ChangeOut(other)),
        }
    }

    /// The change this output stands for, as arrow-rs batches (a forwarded view is read
    /// into them): for tests, and for whoever calls a view operator in-process.
    ///
    /// # Errors
    ///
    /// When a forwarded view's arrays cannot be read into batches (as
    /// [`RowsView::to_rows`]), or an update built from typed values carries other row
    /// numbers on its two sides.
    pub fn into_change(self) -> Result<Change> {
        match self.0 {
            Out::Built(change) => Ok(change),
            Out::Forwarded(view) => view.into_change(),
            Out::Typed {
                version,
                changed_at,
                diffs,
            } => {
                super::built::same_numbers_in(&diffs)?;
                Ok(Change::new(
                    version,
                    changed_at,
                    diffs
                        .into_iter()
                        .map(DiffOut::into_diff)
                        .collect::<Result<_>>()?,
                ))
            }
        }
    }
}

impl ChangeView {
    /// Reads a change laid out by the other side, taking all its arrays (released whatever
    /// happens). `spare` is the box of an earlier view, to reuse.
    ///
    /// # Safety
    /// As for [`super::import_change`].
    pub(crate) unsafe fn import(
        abi: &AbiChange,
        inbox: &mut SchemaInbox,
        spare: Spare,
    ) -> Result<ChangeView> {
        // SAFETY: forwarded.
        unsafe { ChangeView::import_call(abi, inbox, spare, 0) }
    }

    /// [`ChangeView::import`] for call number `call` of an instance, remembered so that a
    /// forward from that call can return the input in place.
    ///
    /// # Safety
    /// As for [`super::import_change`].
    pub(crate) unsafe fn import_call(
        abi: &AbiChange,
        inbox: &mut SchemaInbox,
        spare: Spare,
        call: u64,
    ) -> Result<ChangeView> {
        let mut parts = Parts::reuse(spare);
        // The owners a returned view emptied serve this view's sides.
        for side in parts.diffs.drain(..).flat_map(Sides::each) {
            if let Some(mut owner) = Unshared::of(side.owner)
                && owner.owner_mut().columns.0.is_released()
            {
                keep_spare(&mut inbox.spare_owners, owner);
            }
        }
        let diffs = &mut parts.diffs;
        // SAFETY: forwarded from the caller; each diff's schemas are alive for the call.
        unsafe {
            take_each_diff(abi, inbox, |inbox, kind, pre, post| {
                diffs.push(Sides::read(kind, pre, post, inbox)?);
                Ok(())
            })
        }?;
        let (version, changed_at) = abi.version_and_time();
        parts.version = version;
        parts.changed_at = Timestamp(changed_at);
        parts.origin = Some(Origin {
            diffs: abi.diffs as usize,
            count: abi.diff_count,
            call,
        });
        Ok(ChangeView(parts))
    }

    /// A view of a change with no diffs, in `spare`'s box.
    pub(crate) fn empty(version: u64, changed_at: Timestamp, spare: Spare) -> ChangeView {
        let mut parts = Parts::reuse(spare);
        parts.diffs.clear();
        parts.version = version;
        parts.changed_at = changed_at;
        parts.origin = None;
        ChangeView(parts)
    }

    /// Lays `change` out as it would cross, and reads it back as a view: for unit tests of
    /// a view operator, and for calling one in-process.
    pub fn from_change(change: Change) -> Result<ChangeView> {
        let mut out = Outgoing::default();
        let mut outbox = SchemaOutbox::default();
        let abi = out.export_change(change, &mut outbox)?;
        let mut inbox = SchemaInbox::default();
        // SAFETY: a change just laid out by this crate's exporter, alive in `out` (the view
        // takes every array before `out` is dropped).
        unsafe { ChangeView::import(&abi, &mut inbox, None) }
    }

    /// The change's version.
    pub fn version(&self) -> u64 {
        self.0.version
    }

    /// When the change happened.
    pub fn changed_at(&self) -> Timestamp {
        self.0.changed_at
    }

    /// How many diffs the change has.
    pub fn len(&self) -> usize {
        self.0.diffs.len()
    }

    /// Whether the change has no diffs.
    pub fn is_empty(&self) -> bool {
        self.0.diffs.is_empty()
    }

    /// Diff `index`, or `None` past the last.
    pub fn diff(&self, index: usize) -> Option<DiffView<'_>> {
        self.0.diffs.get(index).map(Sides::view)
    }

    /// The diffs, in order.
    pub fn diffs(&self) -> impl ExactSizeIterator<Item = DiffView<'_>> + '_ {
        self.0.diffs.iter().map(Sides::view)
    }

    /// The rows of every diff, `pre` before `post`.
    pub fn rows(&self) -> impl Iterator<Item = RowsView<'_>> + '_ {
        self.0
            .diffs
            .iter()
            .flat_map(Sides::iter)
            .map(|side| RowsView { side })
    }

    /// An output of no diffs with this change's version and time: what an operator that
    /// takes in a change and emits nothing for it returns (an aggregate whose result did
    /// not change, a sink), as [`Change::empty_like`] is for a `Change`.
    ///
    /// ```
    /// # use oplink::prelude::*;
    /// # use oplink::view::ChangeView;
    /// let view = ChangeView::from_change(Change::new(7, Timestamp(3), vec![]))?;
    /// let out = view.empty_like().into_change()?;
    /// assert_eq!((out.version, out.changed_at, out.diffs.len()), (7, Timestamp(3), 0));
    /// # Ok::<(), oplink::Error>(())
    /// ```
    #[must_use]
    pub fn empty_like(&self) -> ChangeOut {
        ChangeOut::new(self.version(), self.changed_at(), Vec::new())
    }

    /// Returns this change unchanged: its arrays go back to the host as they came.
    pub fn forward(self) -> ChangeOut {
        ChangeOut(Out::Forwarded(self))
    }

    /// The rows that `keep` selects, read from the view, as a built change: what
    /// [`Change::filter`] does (an update splits into an update, a remove and an insert),
    /// with each side's flags computed from the view, and its rows built (sharing the
    /// buffers that crossed, as [`RowsView::to_rows`] does) to be filtered only when it
    /// keeps some. An error of `keep`, a mask of the wrong length or a side that keeps
    /// rows and cannot be built is the result.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oplink::prelude::*;
    /// # use oplink::view::{ChangeView, RowsView};
    /// let amounts = RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(vec![5, 50])) as ArrayRef)])?;
    /// let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post: Rows::new(vec![7, 8], amounts)? }]);
    /// let view = ChangeView::from_change(change)?;
    /// let at_least_10 = |rows: &RowsView<'_>| -> Result<BooleanArray> {
    ///     let amount = rows.column_by_name("amount")?.i64s()?;
    ///     Ok(amount.iter().map(|v| v.map(|v| v >= 10)).collect())
    /// };
    /// let out = view.filter(at_least_10)?;
    /// assert_eq!(out.row_count(), 1);
    /// # Ok::<(), oplink::Error>(())
    /// ```
    #[track_caller]
    pub fn filter(
        self,
        mut keep: impl FnMut(&RowsView<'_>) -> Result<BooleanArray>,
    ) -> Result<Change> {
        // Whether a side's mask (of the right length: else the error comes below) keeps
        // nothing, so that its rows need not be built.
        let keeps_none = |mask: &BooleanArray, side: &RowsView<'_>| {
            // `true_count` counts the flags set and not null, as `Change::filter` does.
            mask.len() == side.num_rows() && mask.true_count() == 0
        };
        let mut diffs = Vec::with_capacity(self.0.diffs.len());
        for (index, sides) in self.0.diffs.iter().enumerate() {
            let (diff, masks) = match sides.view() {
                DiffView::Insert { post } => {
                    let mask = keep(&post)?;
                    if keeps_none(&mask, &post) {
                        continue;
                    }
                    let post = located(post.rows_here())?;
                    (Diff::Insert { post }, [None, Some(mask)])
                }
                DiffView::Update { pre, post } => {
                    let (before, after) = (keep(&pre)?, keep(&post)?);
                    if keeps_none(&before, &pre) && keeps_none(&after, &post) {
                        continue;
                    }
                    let (pre, post) = (located(pre.rows_here())?, located(post.rows_here())?);
                    (Diff::Update { pre, post }, [Some(before), Some(after)])
                }
                DiffView::Remove { pre } => {
                    let mask = keep(&pre)?;
                    if keeps_none(&mask, &pre) {
                        continue;
                    }
                    let pre = located(pre.rows_here())?;
                    (Diff::Remove { pre }, [Some(mask), None])
                }
            };
            diff.filter_into(index, masks, &mut diffs)?;
        }
        Ok(Change::new(self.0.version, self.0.changed_at, diffs))
    }

    /// The rows that `keep` selects, as [`ChangeView::filter`] selects them; but when `keep`
    /// keeps every row of every side, the change itself, forwarded (its arrays go back as
    /// they came, nothing is built): for a filter that mostly keeps everything (a check, a
    /// guard), the cheap way out. A change with a diff of no rows is not forwarded: it is
    /// filtered, so that the empty diff is dropped, as `filter` drops it. `keep` runs once
    /// per side, `pre` before `post`, as in `filter`; its errors, and a mask of the wrong
    /// length, are the result.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oplink::prelude::*;
    /// # use oplink::view::{ChangeOut, ChangeView, RowsView};
    /// # let amounts = RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(vec![5, 50])) as ArrayRef)])?;
    /// # let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post: Rows::new(vec![7, 8], amounts)? }]);
    /// let positive = |rows: &RowsView<'_>| -> Result<BooleanArray> {
    ///     let amount = rows.column_by_name("amount")?.i64s()?;
    ///     Ok(amount.iter().map(|v| v.map(|v| v > 0)).collect())
    /// };
    /// // Every amount is positive: the change goes back as it came.
    /// let out: ChangeOut = ChangeView::from_change(change)?.retain(positive)?;
    /// assert_eq!(out.into_change()?.row_count(), 2);
    /// # Ok::<(), oplink::Error>(())
    /// ```
    #[track_caller]
    pub fn retain(
        self,
        mut keep: impl FnMut(&RowsView<'_>) -> Result<BooleanArray>,
    ) -> Result<ChangeOut> {
        let mut masks = Vec::with_capacity(self.0.diffs.len());
        let mut every_row = true;
        for rows in self.rows() {
            let mask = keep(&rows)?;
            // `true_count` counts the flags set and not null, as `filter` does. A side of no
            // rows is a diff `filter` drops: forwarding it would keep it.
            every_row &= rows.num_rows() > 0
                && mask.len() == rows.num_rows()
                && mask.true_count() == mask.len();
            masks.push(mask);
        }
        if every_row {
            return Ok(self.forward());
        }
        let mut masks = masks.into_iter();
        Ok(self
            .filter(|_| Ok(masks.next().expect("a mask per side, in the same order")))?
            .into())
    }

    /// New columns for every side of every diff, built from typed values: `columns` makes a
    /// side's columns (one [`ColumnOut`] per field of `schema`, one value per row) from its
    /// view, and each row keeps its number and its diff, as [`Change::map`] does (an
    /// update's old and new rows both go through `columns`). The output has this change's
    /// version and time. An error of `columns`, or columns that do not fit `schema` (as
    /// [`RowsOut::new`] checks them, located at the caller and naming the diff and side),
    /// is the result.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oplink::prelude::*;
    /// # use oplink::view::{ChangeView, ColumnOut};
    /// # let amounts = RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(vec![Some(5), None])) as ArrayRef)])?;
    /// # let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post: Rows::new(vec![7, 8], amounts)? }]);
    /// let view = ChangeView::from_change(change)?;
    /// let schema = Arc::new(Schema::new(vec![Field::new("doubled", DataType::Int64, true)]));
    /// // Each `amount` doubled, with its nulls.
    /// let out = view.map(&schema, |rows| {
    ///     let amounts = rows.column_by_name("amount")?.i64s()?;
    ///     let doubled = amounts.values().iter().map(|v| v.wrapping_mul(2)).collect();
    ///     Ok(vec![ColumnOut::i64s(doubled).with_validity(amounts.validity())?])
    /// })?;
    /// let out = out.into_change()?;
    /// let Diff::Insert { post } = &out.diffs[0] else { unreachable!() };
    /// assert_eq!(post.row_numbers().values(), &[7, 8]);
    /// # Ok::<(), oplink::Error>(())
    /// ```
    #[track_caller]
    pub fn map(
        &self,
        schema: &SchemaRef,
        mut columns: impl FnMut(&RowsView<'_>) -> Result<Vec<ColumnOut>>,
    ) -> Result<ChangeOut> {
        let caller = std::panic::Location::caller();
        let mut side = |index: usize, name: &str, rows: RowsView<'_>| -> Result<RowsOut> {
            let made = columns(&rows)?;
            let numbers = rows.row_numbers().map_err(|e| e.at(caller))?.to_vec();
            RowsOut::located(schema.clone(), numbers, made, caller)
                .map_err(|e| e.context(format!("diff {index} of the output, its {name} rows")))
        };
        let mut diffs = Vec::with_capacity(self.0.diffs.len());
        for (i, diff) in self.diffs().enumerate() {
            diffs.push(match diff {
                DiffView::Insert { post } => DiffOut::Insert {
                    post: side(i, "post", post)?,
                },
                DiffView::Update { pre, post } => DiffOut::Update {
                    pre: side(i, "pre", pre)?,
                    post: side(i, "post", post)?,
                },
                DiffView::Remove { pre } => DiffOut::Remove {
                    pre: side(i, "pre", pre)?,
                },
            });
        }
        Ok(ChangeOut::new(self.0.version, self.0.changed_at, diffs))
    }

    /// The whole change as arrow-rs batches, sharing the buffers that crossed.
    ///
    /// # Errors
    ///
    /// The first error of [`RowsView::to_rows`] on any side, naming the column.
    pub fn into_change(self) -> Result<Change> {
        let mut diffs = Vec::with_capacity(self.0.diffs.len());
        for sides in &self.0.diffs {
            diffs.push(match sides.view() {
                DiffView::Insert { post } => Diff::Insert {
                    post: post.to_rows()?,
                },
                DiffView::Update { pre, post } => Diff::Update {
                    pre: pre.to_rows()?,
                    post: post.to_rows()?,
                },
                DiffView::Remove { pre } => Diff::Remove {
                    pre: pre.to_rows()?,
                },
            });
        }
        Ok(Change::new(self.0.version, self.0.changed_at, diffs))
    }
}

impl ChangeView {
    /// Moves every side's arrays back into the diff array they were taken from and returns
    /// that array as the output (with the emptied vector, for reuse).
    fn return_in_place(mut self, origin: Origin) -> (AbiChange, Spare) {
        let diffs = origin.diffs as *mut AbiDiff;
        // The sides stay in the vector with their owners emptied, for the next view.
        for (index, sides) in self.0.diffs.iter_mut().enumerate() {
            // SAFETY: the input of the call running (`origin` matched it), `count` diffs,
            // whose slots this view's sides were taken from (left released by the take).
            let diff = unsafe { &mut *diffs.add(index) };
            let slots: [Option<&mut AbiRows>; 2] = match sides {
                Sides::Insert(_) => [None, Some(&mut diff.post)],
                Sides::Update(..) => [Some(&mut diff.pre), Some(&mut diff.post)],
                Sides::Remove(_) => [Some(&mut diff.pre), None],
            };
            for (slot, side) in slots.into_iter().flatten().zip(sides.iter_mut()) {
                let Some(owner) = Arc::get_mut(&mut side.owner) else {
                    unreachable!("unshared: checked by the caller")
                };
                let columns = std::mem::replace(&mut owner.columns.0, RawArray::RELEASED);
                let numbers = std::mem::replace(&mut owner.numbers.0, RawArray::RELEASED);
                // SAFETY: slots of the input, released since the take; the arrays go back
                // to them whole.
                unsafe {
                    (&raw mut slot.columns).cast::<RawArray>().write(columns);
                    (&raw mut slot.row_numbers)
                        .cast::<RawArray>()
                        .write(numbers);
                }
            }
        }
        let abi = AbiChange {
            version: self.0.version,
            changed_at: self.0.changed_at.0,
            diffs,
            diff_count: origin.count,
        };
        (abi, Some(self.0))
    }
}

impl Sides {
    /// # Safety
    /// The schemas of `pre` and `post` are null or valid; their arrays are valid C Data
    /// Interface arrays (or released ones).
    unsafe fn read(
        kind: u32,
        pre: Slot<'_>,
        post: Slot<'_>,
        inbox: &mut SchemaInbox,
    ) -> Result<Sides> {
        // SAFETY: every arm forwards the caller's guarantees.
        unsafe {
            match kind {
                DIFF_INSERT => Ok(Sides::Insert(Side::read(post, inbox, "post")?)),
                DIFF_UPDATE => {
                    let pre = Side::read(pre, inbox, "pre")?;
                    let post = Side::read(post, inbox, "post")?;
                    let numbers = |side| RowsView { side }.row_numbers();
                    super::import::same_numbers(numbers(&pre)?, numbers(&post)?)?;
                    Ok(Sides::Update(pre, post))
                }
                DIFF_REMOVE => Ok(Sides::Remove(Side::read(pre, inbox, "pre")?)),
                _ => unreachable!("`take_each_diff` admits only the three kinds"),
            }
        }
    }

    fn view(&self) -> DiffView<'_> {
        match self {
            Sides::Insert(post) => DiffView::Insert {
                post: RowsView { side: post },
            },
            Sides::Update(pre, post) => DiffView::Update {
                pre: RowsView { side: pre },
                post: RowsView { side: post },
            },
            Sides::Remove(pre) => DiffView::Remove {
                pre: RowsView { side: pre },
            },
        }
    }

    /// Each side, `pre` before `post`.
    fn each(self) -> impl Iterator<Item = Side> {
        let (first, second) = match self {
            Sides::Insert(post) => (post, None),
            Sides::Update(pre, post) => (pre, Some(post)),
            Sides::Remove(pre) => (pre, None),
        };
        std::iter::once(first).chain(second)
    }

    /// Each side, `pre` before `post`, borrowed mutably.
    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Side> {
        let (first, second) = match self {
            Sides::Insert(post) => (post, None),
            Sides::Update(pre, post) => (pre, Some(post)),
            Sides::Remove(pre) => (pre, None),
        };
        std::iter::once(first).chain(second)
    }

    /// Each side, `pre` before `post`, borrowed.
    fn iter(&self) -> impl Iterator<Item = &Side> {
        let (first, second) = match self {
            Sides::Insert(post) => (post, None),
            Sides::Update(pre, post) => (pre, Some(post)),
            Sides::Remove(pre) => (pre, None),
        };
        std::iter::once(first).chain(second)
    }
}

impl Side {
    /// Checks a side's struct array and row numbers against its schema.
    ///
    /// # Safety
    /// As for [`Sides::read`].
    unsafe fn read(slot: Slot<'_>, inbox: &mut SchemaInbox, name: &str) -> Result<Side> {
        let context = |e: Error| e.context(format!("its {name} rows"));
        // SAFETY: forwarded from the caller.
        let schema = unsafe { inbox.receive(slot.schema_id(), slot.schema()) }
            .map_err(context)?
            .schema
            .clone();
        let Some(owner) = slot.take_owner(&mut inbox.spare_owners) else {
            return Err(context(Error::unlocated(
                "a batch has no columns array (its release is null: released already, or never filled in)",
            )));
        };
        let columns = &owner.columns.0;
        let fields = schema.fields().len();
        if columns.n_children != fields as i64 {
            return Err(context(Error::unlocated(format!(
                "the batch has {} where its schema has {fields}",
                crate::__private::counted(columns.n_children, "column", "columns")
            ))));
        }
        // SAFETY: a valid array (caller).
        let shape = unsafe { Shape::of(columns, 1, fields) }.map_err(context)?;
        if !columns.dictionary.is_null() {
            return Err(context(Error::unlocated(
                "a batch's struct array has a dictionary",
            )));
        }
        // SAFETY: `Shape::of` checked the buffer list.
        unsafe {
            no_null_rows(
                columns,
                &shape,
                "a batch's struct array",
                "a batch's struct array must not have null rows",
            )
        }
        .map_err(context)?;
        let numbers = &owner.numbers.0;
        if numbers.is_released() {
            return Err(context(Error::unlocated(
                "no row numbers (their array's release is null: released already, or never filled in)",
            )));
        }
        // SAFETY: a valid array (caller).
        let counted = unsafe { Shape::of(numbers, 2, 0) }
            .and_then(|shape| no_dictionary(numbers, &DataType::UInt64).map(|()| shape))
            .map_err(|e| context(e.context("its row numbers")))?;
        if counted.length != shape.length {
            return Err(context(Error::unlocated(format!(
                "{} for a batch of {}",
                crate::__private::counted(counted.length, "row number", "row numbers"),
                crate::__private::counted(shape.length, "row", "rows")
            ))));
        }
        // SAFETY: `Shape::of` checked the buffer list.
        unsafe {
            no_null_rows(
                numbers,
                &counted,
                "its row numbers",
                "row numbers must not be null",
            )
        }
        .map_err(context)?;
        Ok(Side {
            schema,
            owner,
            length: shape.length,
            offset: shape.offset,
        })
    }
}

/// Refuses an array of a side (its struct array, its row numbers) that declares nulls:
/// with a bitmap the null count must be 0, since the view reads no bitmap there (`nulls`
/// is the message then); without one, a count other than 0 or -1 disagrees with the
/// missing bitmap, as the import says too (`what` names the array).
///
/// # Safety
/// `Shape::of` checked `raw`'s buffer list (it has a first entry).
#[inline(always)]
unsafe fn no_null_rows(
    raw: &RawArray,
    shape: &Shape,
    what: &str,
    nulls: &'static str,
) -> Result<()> {
    // What every exporter declares, checked in line; the rest out of it.
    if shape.null_count == Some(0) {
        return Ok(());
    }
    // SAFETY: forwarded from the caller.
    unsafe { declared_nulls(raw, shape.null_count, what, nulls) }
}

/// [`no_null_rows`] of a side that does not declare 0 nulls.
///
/// # Safety
/// As for [`no_null_rows`].
#[cold]
#[inline(never)]
unsafe fn declared_nulls(
    raw: &RawArray,
    null_count: Option<usize>,
    what: &str,
    nulls: &'static str,
) -> Result<()> {
    // SAFETY: forwarded from the caller.
    let bitmap = !unsafe { raw.buffer(0) }.is_null();
    match null_count {
        _ if bitmap => Err(Error::unlocated(nulls)),
        None | Some(0) => Ok(()),
        Some(n) => Err(Error::unlocated(super::import::no_bitmap(n)).context(what)),
    }
}

impl<'v> RowsView<'v> {
    /// How many rows.
    #[inline]
    pub fn num_rows(&self) -> usize {
        self.side.length
    }

    /// How many columns.
    #[inline]
    pub fn num_columns(&self) -> usize {
        self.side.schema.fields().len()
    }

    /// The rows' schema.
    #[inline]
    pub fn schema(&self) -> &'v SchemaRef {
        &self.side.schema
    }

    /// The row numbers, one per row.
    ///
    /// # Errors
    ///
    /// When the buffer that crossed is not aligned for `u64`s, located at the caller.
    #[inline]
    #[track_caller]
    pub fn row_numbers(&self) -> Result<&'v [u64]> {
        located(self.row_numbers_here())
    }

    #[inline]
    fn row_numbers_here(&self) -> Result<&'v [u64]> {
        let raw = &self.side.owner.numbers.0;
        // SAFETY: checked by `Side::read` as an array of two buffers without nulls; its
        // values hold offset + length numbers (the C Data Interface).
        unsafe { values::<u64>(raw, raw.offset as usize, self.side.length) }
            .map_err(|e| e.context("the row numbers"))
    }

    /// Column `index`.
    ///
    /// # Errors
    ///
    /// When there is no column `index` (saying how many there are), or when the column's
    /// array that crossed is malformed (naming it); located at the caller.
    #[inline]
    #[track_caller]
    pub fn column(&self, index: usize) -> Result<ColumnView<'v>> {
        located(self.column_here(index))
    }

    #[inline]
    fn column_here(&self, index: usize) -> Result<ColumnView<'v>> {
        let fields = self.side.schema.fields();
        let Some(field) = fields.get(index) else {
            return Err(Error::msg(format!(
                "no column {index}: the rows have {}",
                crate::__private::counted(fields.len(), "column", "columns")
            )));
        };
        self.column_at(index, field)
    }

    /// The column named `name`.
    ///
    /// # Errors
    ///
    /// When there is no column `name` (listing the columns there are), or when the
    /// column's array that crossed is malformed (naming it); located at the caller.
    #[inline]
    #[track_caller]
    pub fn column_by_name(&self, name: &str) -> Result<ColumnView<'v>> {
        located(self.column_by_name_here(name))
    }

    #[inline]
    fn column_by_name_here(&self, name: &str) -> Result<ColumnView<'v>> {
        let fields = self.side.schema.fields();
        match fields.find(name) {
            Some((index, field)) => self.column_at(index, field),
            None => Err(Error::msg(crate::data::no_column(name, fields))),
        }
    }

    /// The columns, in order.
    #[inline]
    pub fn columns(&self) -> impl ExactSizeIterator<Item = Result<ColumnView<'v>>> + '_ {
        (0..self.num_columns()).map(|index| self.column(index))
    }

    /// These rows as arrow-rs batches, sharing the buffers that crossed (nothing is
    /// copied); they stay valid after the view is gone.
    ///
    /// # Errors
    ///
    /// When an array that crossed cannot be read as its field's type, naming the column;
    /// located at the caller.
    #[inline]
    #[track_caller]
    pub fn to_rows(&self) -> Result<Rows> {
        located(self.rows_here())
    }

    #[inline]
    fn rows_here(&self) -> Result<Rows> {
        // SAFETY: the owner's arrays were checked when the view was made, and are valid
        // C Data Interface arrays (the producer's word).
        let (numbers, batch) = unsafe {
            read_owned(
                &self.side.owner,
                &self.side.schema,
                &Column::for_schema(&self.side.schema),
                true,
                None,
                None,
            )
        }?;
        Rows::new(numbers.expect("read with row numbers"), batch)
    }

    #[inline]
    fn column_at(&self, index: usize, field: &'v Field) -> Result<ColumnView<'v>> {
        let parent = &self.side.owner.columns.0;
        let context = |e: Error| e.context(format!("column `{}`", field.name()));
        // SAFETY: `Side::read` checked the child list's count and pointer.
        let child = unsafe { parent.child(index) };
        if child.is_null() || !child.is_aligned() {
            return Err(context(Error::unlocated(
                "the array pointer is null or misaligned",
            )));
        }
        // SAFETY: non-null, aligned, and a valid array (the producer's word), alive as long
        // as the side's owner, which `'v` borrows.
        let raw: &'v RawArray = unsafe { &*child };
        if raw.is_released() {
            return Err(context(Error::unlocated("the array is released")));
        }
        if !matches!(field.data_type(), DataType::Dictionary(..)) {
            no_dictionary(raw, field.data_type()).map_err(context)?;
        }
        let (length, offset) = (
            usize::try_from(raw.length).unwrap_or(0),
            usize::try_from(raw.offset).map_err(|_| {
                context(Error::unlocated(format!(
                    "its offset {} is negative",
                    raw.offset
                )))
            })?,
        );
        let end = self.side.offset + self.side.length;
        if length < end {
            return Err(context(Error::unlocated(format!(
                "it has {} where its parent needs {end}",
                crate::__private::counted(raw.length, "row", "rows")
            ))));
        }
        Ok(ColumnView {
            raw,
            field,
            data_type: field.data_type(),
            dictionary_values: false,
            start: offset + self.side.offset,
            len: self.side.length,
        })
    }
}

/// `result`, its error located at the line that called the view's accessor (an error
/// made inside oplink has no location of its own).
#[inline]
#[track_caller]
fn located<T>(result: Result<T>) -> Result<T> {
    match result {
        Ok(value) => Ok(value),
        Err(error) => Err(error.at(std::panic::Location::caller())),
    }
}

impl Outgoing {
    /// Lays out what a view operator returned: a built change as [`Outgoing::export_change`]
    /// does; a forwarded view by moving its arrays back out, each side with its schema id
    /// (none is laid out again). Returns the view's emptied diff vector for reuse.
    ///
    /// `input` is the input of the call running, when the output may go back into it: a
    /// view forwarded whole by the call that read it is returned in place (its arrays moved
    /// back where they came from, and the input's diff array as the output's, ABI 2.2).
    pub(crate) fn export_out(
        &mut self,
        out: ChangeOut,
        outbox: &mut SchemaOutbox,
        input: Option<Origin>,
    ) -> Result<(AbiChange, Spare)> {
        let view = match out.0 {
            Out::Built(change) => return Ok((self.export_change(change, outbox)?, None)),
            Out::Forwarded(view) => view,
            Out::Typed {
                version,
                changed_at,
                diffs,
            } => return Ok((self.export_typed(version, changed_at, diffs, outbox)?, None)),
        };
        // A side whose arrays someone else still shares (a `to_rows` kept in the operator's
        // state) cannot move: then the whole change is exported as built batches.
        let shared = view
            .0
            .diffs
            .iter()
            .flat_map(Sides::iter)
            .any(|side| Arc::strong_count(&side.owner) > 1);
        if shared {
            return Ok((self.export_change(view.into_change()?, outbox)?, None));
        }
        if let (Some(origin), Some(input)) = (view.0.origin, input)
            && origin == input
            && origin.count == view.0.diffs.len()
        {
            self.clear();
            return Ok(view.return_in_place(origin));
        }
        self.clear();
        let mut parts = view.0;
        let (version, changed_at) = (parts.version, parts.changed_at);
        if !parts.diffs.is_empty() {
            outbox.begin();
        }
        for sides in parts.diffs.drain(..) {
            let kind = match sides {
                Sides::Insert(_) => DIFF_INSERT,
                Sides::Update(..) => DIFF_UPDATE,
                Sides::Remove(_) => DIFF_REMOVE,
            };
            let mut abi = [AbiRows::absent(), AbiRows::absent()];
            let slots: &mut [AbiRows] = match kind {
                DIFF_INSERT => &mut abi[1..],
                DIFF_REMOVE => &mut abi[..1],
                _ => &mut abi[..],
            };
            for (slot, side) in slots.iter_mut().zip(sides.each()) {
                let (schema_id, schema) = self.schema_for(&side.schema, outbox)?;
                let mut owner = Arc::try_unwrap(side.owner)
                    .map_err(|_| Error::unlocated("a forwarded batch is shared"))?;
                *slot = AbiRows {
                    schema_id,
                    schema,
                    columns: std::mem::replace(&mut owner.columns.0, RawArray::RELEASED).into_ffi(),
                    row_numbers: std::mem::replace(&mut owner.numbers.0, RawArray::RELEASED)
                        .into_ffi(),
                };
            }
            let [pre, post] = abi;
            self.push_diff(AbiDiff {
                kind,
                reserved: 0,
                pre,
                post,
            });
        }
        Ok((self.finish(version, changed_at.0), Some(parts)))
    }
}
