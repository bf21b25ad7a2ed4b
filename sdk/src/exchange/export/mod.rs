//! The sending side: a change laid out as C Data Interface arrays in one allocation.
//!
//! Every array of a change (each batch's struct array and its columns at any depth, each
//! row-number array) lives in one block with their buffer and child lists; the block also
//! owns the change's Rust values, which keep the buffers alive, and counts how many of its
//! arrays are still unreleased. Each array's `release` releases its children, then gives up
//! its own count; the last one frees the block. So exporting a change costs one allocation,
//! whatever its shape; a change with no diffs costs none. Nothing is copied, except the
//! validity bitmap of an array sliced at an offset that is not a multiple of 8 (the C Data
//! Interface has one offset per array, arrow-rs one per buffer). Types this exporter does
//! not lay out itself are exported by arrow-rs, as a child of the block's arrays.
//!
//! The parts: [`block`] lays a change out (the block's header, its areas, the arrays of each
//! type); [`release`] is what the receiver calls to give arrays back; [`hold`] keeps the
//! sender's last block for the next change and writes a change of the same batches over
//! it in place; [`take_back`] recognises arrays of ours that come back.

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{RecordBatch, UInt64Array};
use arrow_schema::SchemaRef;
use std::sync::atomic::Ordering;

use super::SchemaOutbox;
use super::built::{DiffOut, RowsOut};
use super::raw::RawArray;
use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT, DIFF_REMOVE, DIFF_UPDATE};
use crate::data::{Change, Diff, Rows, Timestamp};
use crate::{Error, Result};

mod block;
mod hold;
mod release;
mod take_back;

use block::Block;
pub(in crate::exchange) use block::check_depth;
use hold::Hold;
pub(super) use take_back::recognize;

/// A change or batch laid out for the other side: the ABI structs plus what they borrow.
/// Keep it alive (and unmoved) until the receiver has taken the arrays; the next export or
/// [`Outgoing::clear`] releases whatever the receiver left.
#[derive(Debug, Default)]
pub struct Outgoing {
    diffs: Vec<AbiDiff>,
    // Boxed on purpose: the ABI structs hold pointers to these schemas, which must not move
    // when the vector grows.
    #[allow(clippy::vec_box)]
    schemas: Vec<Box<FFI_ArrowSchema>>,
    /// The block of the last change, held so that the next change can reuse it once the
    /// receiver has released all its arrays (a steady stream then allocates no block).
    block: Hold,
    /// Made with [`Outgoing::answered`]: each change laid out is pinned.
    answered: bool,
    /// The change laid out last is pinned: its block counts one array more than it handed
    /// out, so its values stay alive whatever the receiver releases, until [`Outgoing::clear`].
    pinned: bool,
}

impl Drop for Outgoing {
    fn drop(&mut self) {
        // Whatever the receiver did not take goes first, then the hold on the block.
        self.clear();
        self.block.let_go();
    }
}

// SAFETY: `Outgoing` owns its schemas and diffs; the raw pointers inside point into its own
// boxes and into blocks whose contents are `Send`.
unsafe impl Send for Outgoing {}

impl Outgoing {
    /// An `Outgoing` for changes that are answered (a host's, sending `apply`'s input): each
    /// change laid out keeps its values alive until [`Outgoing::clear`], whatever the
    /// receiver releases meanwhile, so that the answer can be read beside it
    /// ([`Outgoing::sent`], [`super::import_answer`]): columns that come back as they were
    /// sent are then taken as the sender's own. (The values are dropped by `clear` instead
    /// of by the receiver's last release; nothing else changes.)
    pub fn answered() -> Outgoing {
        let mut outgoing = Outgoing::default();
        outgoing.answered = true;
        outgoing
    }

    /// The diffs of the change laid out last, while they are pinned (an
    /// [`Outgoing::answered`] one, until [`Outgoing::clear`]); `None` otherwise.
    #[inline]
    pub fn sent(&self) -> Option<&[Diff]> {
        if !self.pinned {
            return None;
        }
        let header = self.block.block?.as_ptr();
        // SAFETY: the pin keeps the block's values (no release takes them while the count
        // is above 0) and the hold keeps the block; only the sender writes them, when it lays
        // a change out, which needs `&mut self`.
        match unsafe { (*header).kept.as_ref() } {
            Some(Kept::Diffs(diffs)) => Some(diffs),
            _ => None,
        }
    }

    /// Gives up the pin on the change laid out last, if any: its values go now if the
    /// receiver released every array of it.
    #[inline]
    fn unpin(&mut self) {
        if !std::mem::take(&mut self.pinned) {
            return;
        }
        let header = self.block.block.expect("a pinned block is held").as_ptr();
        // SAFETY: the pin is one count of the held block's, given up once (cleared above).
        unsafe { release::count_off(header, 1) };
    }

    /// Lays `change` out for the other side, reusing this buffer's allocations. A change
    /// with no diffs allocates nothing; any other change, one block.
    pub fn export_change(
        &mut self,
        change: Change,
        outbox: &mut SchemaOutbox,
    ) -> Result<AbiChange> {
        self.clear();
        let Change {
            version,
            changed_at,
            diffs,
        } = change;
        if diffs.is_empty() {
            return Ok(AbiChange::without_diffs(version, changed_at.0));
        }
        outbox.begin();
        // The diffs with their schemas, in the order the receiver reads them; their arrays
        // come next, from the block.
        self.diffs.reserve(diffs.len());
        for diff in &diffs {
            let schemas = sides(diff).map(|rows| rows.map(|rows| rows.batch().schema_ref()));
            self.push_header(kind(diff), schemas, outbox)?;
        }
        self.lay_out(Kept::Diffs(diffs))?;
        if self.answered {
            self.pin();
        }
        Ok(AbiChange {
            version,
            changed_at: changed_at.0,
            diffs: self.diffs.as_mut_ptr(),
            diff_count: self.diffs.len(),
        })
    }

    /// Lays out what a view operator built from typed values, as [`Outgoing::export_change`]
    /// lays out a change: the arrays point into the values, which the block keeps.
    pub(super) fn export_typed(
        &mut self,
        version: u64,
        changed_at: Timestamp,
        diffs: Vec<DiffOut>,
        outbox: &mut SchemaOutbox,
    ) -> Result<AbiChange> {
        self.clear();
        if diffs.is_empty() {
            return Ok(AbiChange::without_diffs(version, changed_at.0));
        }
        super::built::same_numbers_in(&diffs)?;
        outbox.begin();
        self.diffs.reserve(diffs.len());
        for diff in &diffs {
            let kind = match diff {
                DiffOut::Insert { .. } => DIFF_INSERT,
                DiffOut::Update { .. } => DIFF_UPDATE,
                DiffOut::Remove { .. } => DIFF_REMOVE,
            };
            let schemas = diff.sides().map(|rows| rows.map(RowsOut::schema));
            self.push_header(kind, schemas, outbox)?;
        }
        self.lay_out(Kept::Typed(diffs))?;
        Ok(AbiChange {
            version,
            changed_at: changed_at.0,
            diffs: self.diffs.as_mut_ptr(),
            diff_count: self.diffs.len(),
        })
    }

    /// Pushes a diff of `kind` whose sides have these schemas (`None`: the side it does not
    /// have), its arrays to come from the block ([`Outgoing::lay_out`]).
    #[inline(always)]
    fn push_header(
        &mut self,
        kind: u32,
        [pre, post]: [Option<&SchemaRef>; 2],
        outbox: &mut SchemaOutbox,
    ) -> Result<()> {
        let mut schema = |schema: Option<&SchemaRef>| match schema {
            Some(schema) => self.schema_for(schema, outbox),
            None => Ok((0, std::ptr::null())),
        };
        let (pre, post) = (schema(pre)?, schema(post)?);
        // Built in place: an `AbiDiff` is 360 bytes on 64-bit targets.
        self.diffs.push(AbiDiff::EMPTY);
        let abi = self.diffs.last_mut().expect("pushed just above");
        abi.kind = kind;
        (abi.pre.schema_id, abi.pre.schema) = pre;
        (abi.post.schema_id, abi.post.schema) = post;
        Ok(())
    }

    /// Pins the change just laid out (see [`Outgoing::answered`]).
    fn pin(&mut self) {
        let Some(block) = self.block.block else {
            debug_assert!(
                false,
                "a change with diffs was laid out into the held block"
            );
            return;
        };
        let header = block.as_ptr();
        // SAFETY: the block was just laid out and nothing of it was handed out yet, so the
        // count is the sender's alone to write; handing the arrays out orders it before
        // any release.
        unsafe {
            let arrays = (*header).arrays.load(Ordering::Relaxed);
            // The arrays' reference to the block is counted only when there are some (each
            // batch has its top-level arrays): the pin shares it, and must not outlast it.
            debug_assert!(arrays > 0, "a laid-out change has arrays");
            (*header).arrays.store(arrays + 1, Ordering::Relaxed);
        }
        self.pinned = true;
    }

    /// Lays out the arrays of `kept`, whose diffs (with their schemas) were pushed, into the
    /// diffs' slots, side after side.
    fn lay_out(&mut self, kept: Kept) -> Result<()> {
        // Schema ids start at 1: an absent side has 0.
        let mut slots = self.diffs.iter_mut().flat_map(|diff| {
            [&mut diff.pre, &mut diff.post]
                .into_iter()
                .filter(|rows| rows.schema_id != 0)
        });
        Block::export(kept, Some(&mut self.block), &mut |columns, numbers| {
            let rows = slots.next().expect("a slot per side");
            rows.columns = columns.into_ffi();
            rows.row_numbers = numbers.unwrap_or(RawArray::RELEASED).into_ffi();
        })
    }

    /// Lays a batch out for the other side (with no row numbers).
    pub fn export_batch(
        &mut self,
        batch: RecordBatch,
        outbox: &mut SchemaOutbox,
    ) -> Result<AbiRows> {
        self.clear();
        outbox.begin();
        let (schema_id, schema) = self.schema_for(batch.schema_ref(), outbox)?;
        Ok(AbiRows {
            schema_id,
            schema,
            columns: Block::export_lone(batch)?.into_ffi(),
            row_numbers: FFI_ArrowArray::empty(),
        })
    }

    /// Adds a diff laid out elsewhere (a forwarded one).
    pub(super) fn push_diff(&mut self, diff: AbiDiff) {
        self.diffs.push(diff);
    }

    /// The change whose diffs were pushed.
    pub(super) fn finish(&mut self, version: u64, changed_at: i64) -> AbiChange {
        AbiChange {
            version,
            changed_at,
            diffs: if self.diffs.is_empty() {
                std::ptr::null_mut()
            } else {
                self.diffs.as_mut_ptr()
            },
            diff_count: self.diffs.len(),
        }
    }

    /// Whether `change` names the diff array of the change laid out last (an output that is
    /// the input itself, ABI 2.2), judged by this side's own record of that array: the
    /// other side may have written over the input it was handed.
    pub fn is_laid_out(&self, change: &AbiChange) -> bool {
        !self.diffs.is_empty()
            && change.diffs.cast_const() == self.diffs.as_ptr()
            && change.diff_count == self.diffs.len()
    }

    /// When `change`'s diff array starts inside the allocation of the one laid out last
    /// and lists more diffs than lie from there to that array's end, how many do (none, for
    /// one that starts in the spare capacity past them): an output that claims more of the
    /// input's diffs than there are, which must not be read (past them is this side's
    /// spare capacity, or memory it does not own). `None` otherwise, also for any array
    /// that is not this side's: one that starts where this side's allocation ends is
    /// another allocation (an allocator may place one right after it). An array with no
    /// diffs keeps its room, which is judged the same way (nothing lies in it).
    pub fn overrun_by(&self, change: &AbiChange) -> Option<usize> {
        let start = self.diffs.as_ptr().addr();
        let end = start + self.diffs.len() * size_of::<AbiDiff>();
        let allocated = start + self.diffs.capacity() * size_of::<AbiDiff>();
        let at = change.diffs.addr();
        if at < start || at >= allocated {
            return None;
        }
        let within = end.saturating_sub(at) / size_of::<AbiDiff>();
        (change.diff_count > within).then_some(within)
    }

    /// How many diffs the diff array has room for.
    #[cfg(test)]
    pub(super) fn diff_capacity(&self) -> usize {
        self.diffs.capacity()
    }

    /// How many changes were written over the held block in place.
    #[cfg(test)]
    pub(super) fn refills(&self) -> usize {
        self.block.refills
    }

    /// Releases whatever the receiver did not take, gives up the pin of an answered change,
    /// and keeps the allocations.
    #[inline]
    pub fn clear(&mut self) {
        // Most calls find it empty: a change without diffs left nothing.
        if !self.diffs.is_empty() {
            self.diffs.clear();
        }
        if !self.schemas.is_empty() {
            self.schemas.clear();
        }
        self.unpin();
    }

    pub(super) fn schema_for(
        &mut self,
        schema: &SchemaRef,
        outbox: &mut SchemaOutbox,
    ) -> Result<(u64, *const FFI_ArrowSchema)> {
        let (id, send) = outbox.id_of(schema);
        if !send {
            return Ok((id, std::ptr::null()));
        }
        let ffi = Box::new(export_schema(schema)?);
        let ptr: *const FFI_ArrowSchema = &*ffi;
        self.schemas.push(ffi);
        Ok((id, ptr))
    }
}

impl AbiRows {
    /// The unused side of an insert or a remove.
    pub fn absent() -> AbiRows {
        AbiRows::ABSENT
    }
}

impl AbiDiff {
    /// A diff of kind 0 with two absent sides, to fill in place.
    const EMPTY: AbiDiff = AbiDiff {
        kind: 0,
        reserved: 0,
        pre: AbiRows::ABSENT,
        post: AbiRows::ABSENT,
    };
}

impl AbiRows {
    /// [`AbiRows::absent`], as a constant.
    const ABSENT: AbiRows = AbiRows {
        schema_id: 0,
        schema: std::ptr::null(),
        columns: RawArray::RELEASED.into_ffi(),
        row_numbers: RawArray::RELEASED.into_ffi(),
    };
}

#[inline(always)]
fn kind(diff: &Diff) -> u32 {
    match diff {
        Diff::Insert { .. } => DIFF_INSERT,
        Diff::Update { .. } => DIFF_UPDATE,
        Diff::Remove { .. } => DIFF_REMOVE,
    }
}

/// The `pre` and `post` of a diff, in the order they cross.
#[inline(always)]
pub(super) fn sides(diff: &Diff) -> [Option<&Rows>; 2] {
    match diff {
        Diff::Insert { post } => [None, Some(post)],
        Diff::Update { pre, post } => [Some(pre), Some(post)],
        Diff::Remove { pre } => [Some(pre), None],
    }
}

fn export_schema(schema: &SchemaRef) -> Result<FFI_ArrowSchema> {
    check_depth(schema)?;
    FFI_ArrowSchema::try_from(schema.as_ref())
        .map_err(|e| Error::unlocated(format!("cannot export the schema {schema}: {e}")))
}

/// A batch with its own schema, for a service argument or return value.
pub fn export_batch(batch: &RecordBatch) -> Result<(FFI_ArrowArray, FFI_ArrowSchema)> {
    let schema = export_schema(batch.schema_ref())?;
    Ok((Block::export_lone(batch.clone())?.into_ffi(), schema))
}

/// What a block keeps alive: the Rust values whose buffers its arrays point into.
#[derive(Debug)]
enum Kept {
    Diffs(Vec<Diff>),
    Batch(RecordBatch),
    /// An output built from typed values: no arrow-rs batch (see [`Kept::each_typed`]).
    Typed(Vec<DiffOut>),
}

impl Kept {
    /// Calls `f` on each side built from typed values, in order (none unless `Typed`).
    fn each_typed(&self, mut f: impl FnMut(&RowsOut)) {
        if let Kept::Typed(diffs) = self {
            diffs
                .iter()
                .flat_map(DiffOut::sides)
                .flatten()
                .for_each(&mut f);
        }
    }

    /// Calls `f` on each arrow-rs batch to export, with its row numbers (none for a lone
    /// batch); on none for `Typed` (see [`Kept::each_typed`]).
    #[inline]
    fn each(&self, mut f: impl FnMut(&RecordBatch, Option<&UInt64Array>)) {
        match self {
            Kept::Diffs(diffs) => {
                for diff in diffs {
                    for rows in sides(diff).into_iter().flatten() {
                        f(rows.batch(), Some(rows.row_numbers()));
                    }
                }
            }
            Kept::Batch(batch) => f(batch, None),
            Kept::Typed(_) => {}
        }
    }
}
