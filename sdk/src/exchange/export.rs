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

use core::ffi::c_void;
use std::alloc::Layout;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering, fence};

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::types::{ByteArrayType, ByteViewType};
use arrow_array::{
    Array, ArrowPrimitiveType, BooleanArray, DictionaryArray, FixedSizeBinaryArray,
    GenericByteArray, GenericByteViewArray, GenericListArray, OffsetSizeTrait, PrimitiveArray,
    RecordBatch, StructArray, UInt64Array, downcast_dictionary_array, downcast_primitive_array,
};
use arrow_buffer::{Buffer, NullBuffer};
use arrow_schema::{DataType, SchemaRef};

use super::built::{DiffOut, RowsOut};
use super::raw::RawArray;
use super::{MAX_SCHEMA_DEPTH, SchemaOutbox};
use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT, DIFF_REMOVE, DIFF_UPDATE};
use crate::data::{Change, Diff, Rows, Timestamp};
use crate::{Error, Result};

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

    /// Takes back the change laid out last when the receiver returned it untouched: every
    /// array of its block in its place, unreleased, none moved out (ABI 2.2: an `apply`
    /// whose output is its input); arrays arrow-rs laid out under ours count as in place
    /// while unreleased. The arrays are then released in place (ours without a call,
    /// arrow-rs's by their own `release`), and the block is free for the next change.
    /// `None` (and nothing changed) otherwise.
    pub fn take_back(&mut self) -> Option<Vec<Diff>> {
        let header = self.block.block?.as_ptr();
        // SAFETY: the tops follow the header, as `block_layout` lays them out.
        let tops = unsafe { header.cast::<u8>().add(tops_offset()) }.cast::<Top>();
        // First from the diff array and the block's own records alone (nothing a release
        // writes): every side that holds arrays holds the block's next batch, both its
        // top-level arrays ours and unreleased. Then the block's values cannot be dropped by
        // a release while they are read below: each of those arrays keeps its count.
        // SAFETY: written when the block was laid out, and only then.
        let batches = unsafe { (*header).batches };
        let mut batch = 0;
        for abi in &self.diffs {
            if abi.reserved != 0 {
                return None;
            }
            for slot in [&abi.pre, &abi.post] {
                let (columns, numbers) = arrays_of(slot);
                if columns.is_released() && numbers.is_released() {
                    continue;
                }
                if batch == batches {
                    return None;
                }
                // SAFETY: `batch` is below the block's count of batches; two tops each.
                let own = unsafe { tops.add(2 * batch) };
                batch += 1;
                let ours = is_our_top(columns)
                    && is_our_top(numbers)
                    && columns.private_data == own.cast()
                    // SAFETY: as above.
                    && numbers.private_data == unsafe { own.add(1) }.cast();
                if !ours {
                    return None;
                }
            }
        }
        if batch != batches {
            return None;
        }
        // SAFETY: set before any array was handed out; pinned by the unreleased tops.
        let Some(Kept::Diffs(diffs)) = (unsafe { (*header).kept.as_ref() }) else {
            return None;
        };
        if diffs.len() != self.diffs.len() {
            return None;
        }
        let mut foreign = false;
        for (diff, abi) in diffs.iter().zip(&self.diffs) {
            if abi.kind != kind(diff) {
                return None;
            }
            let [pre, post] = sides(diff);
            for (rows, slot) in [(pre, &abi.pre), (post, &abi.post)] {
                let (columns, numbers) = arrays_of(slot);
                let whole = match rows {
                    None => columns.is_released() && numbers.is_released(),
                    Some(rows) => {
                        // As laid out: nothing sliced, nothing dropped.
                        let batch = rows.batch();
                        let as_laid_out = !columns.is_released()
                            && (columns.length, columns.offset, columns.null_count)
                                == (batch.num_rows() as i64, 0, 0)
                            && (columns.n_buffers, columns.n_children)
                                == (1, batch.num_columns() as i64)
                            && (numbers.length, numbers.offset, numbers.null_count)
                                == (rows.len() as i64, 0, 0)
                            && (numbers.n_buffers, numbers.n_children) == (2, 0);
                        as_laid_out
                            // SAFETY: our own unreleased top-level arrays (checked above),
                            // with the lists and children we laid out (`intact` reads the
                            // arrays of the block, and only the `release` and
                            // `private_data` of those arrow-rs laid out into it).
                            && unsafe {
                                intact(columns, header, &mut foreign)
                                    && intact(numbers, header, &mut foreign)
                            }
                    }
                };
                if !whole {
                    return None;
                }
            }
        }
        // Every array of the block is in place and unreleased, so nobody else holds any:
        // they are all released at once, by marking the tops released (so `clear` calls
        // nothing) and giving the block back to the hold; arrays arrow-rs laid out, if any,
        // are released by their own `release` on the way.
        for abi in &mut self.diffs {
            for slot in [&mut abi.pre, &mut abi.post] {
                // SAFETY: the same layout (asserted in `raw`); an unreleased top of ours
                // with everything under it in place (checked above), or a released one.
                unsafe {
                    let columns = &mut *(&raw mut slot.columns).cast::<RawArray>();
                    if foreign && !columns.is_released() {
                        take_subtree(columns, header);
                    }
                    columns.release = None;
                    (*(&raw mut slot.row_numbers).cast::<RawArray>()).release = None;
                }
            }
        }
        self.diffs.clear();
        // SAFETY: no array of the block is left, so the header is the sender's alone; its
        // counts go back to the hold only.
        unsafe {
            (*header).arrays.store(0, Ordering::Relaxed);
            (*header).refs.store(1, Ordering::Relaxed);
            if !(*header).extras.is_empty() {
                (*header).extras.clear();
            }
            match (*header).kept.take() {
                Some(Kept::Diffs(diffs)) => Some(diffs),
                _ => unreachable!("checked above"),
            }
        }
    }

    /// How many changes were written over the held block in place.
    #[cfg(test)]
    pub(super) fn refills(&self) -> usize {
        self.block.refills
    }

    /// Releases whatever the receiver did not take, and keeps the allocations.
    #[inline]
    pub fn clear(&mut self) {
        // Most calls find it empty: a change without diffs left nothing.
        if !self.diffs.is_empty() {
            self.diffs.clear();
        }
        if !self.schemas.is_empty() {
            self.schemas.clear();
        }
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

/// The start of a block; its arrays, buffer lists and child lists follow in the same
/// allocation.
struct Header {
    /// Arrays of this block not released yet: the release that takes the last ones drops
    /// what the block keeps.
    arrays: AtomicUsize,
    /// One while any array is unreleased, plus one for the sender's hold, if any: the last
    /// one frees the block.
    refs: AtomicUsize,
    /// The allocation's layout (at least what the arrays in it need).
    layout: Layout,
    /// Set once the arrays are laid out, before any is handed out.
    kept: Option<Kept>,
    /// Bitmaps copied to realign them, and the size lists of view arrays.
    extras: Vec<Buffer>,
    /// How many batches the block was laid out for (each with its two top-level arrays).
    /// Written by the sender only, when it lays the block out.
    batches: usize,
    /// The `private_data` of each array arrow-rs laid out under the block's own: what a
    /// take-back accepts as such. Written by the sender only, when it lays the block out.
    foreign: Vec<*mut c_void>,
    /// Where the arrays and the child lists lie in the block. Written by the sender only,
    /// when it lays the block out.
    areas: Areas,
}

/// Where a block keeps its arrays (below its top-level ones) and its child lists: offsets
/// from its start, and counts.
#[derive(Clone, Copy, Debug, Default)]
struct Areas {
    nodes_at: usize,
    nodes: usize,
    lists_at: usize,
    lists: usize,
}

/// How many arrays, buffer pointers and child pointers a change needs.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    nodes: usize,
    buffers: usize,
    children: usize,
    /// Top-level arrays (each batch's struct array and its row numbers).
    tops: usize,
}

impl Counts {
    /// What one batch and its row numbers need.
    fn of(batch: &RecordBatch, numbers: Option<&UInt64Array>, index: usize) -> Counts {
        let mut counts = Counts::default();
        top_level(batch, numbers, index, &mut counts);
        counts
    }

    fn add(&mut self, other: Counts) {
        self.nodes += other.nodes;
        self.buffers += other.buffers;
        self.children += other.children;
        self.tops += other.tops;
    }
}

/// The counts of the schemas a sender met last. They follow from the schema alone unless it
/// has a view array (whose data buffers vary from batch to batch), so a steady stream
/// counts each schema once. The `Arc`s held keep their addresses from being reused.
#[derive(Debug, Default)]
struct CountCache(Vec<(SchemaRef, bool, Counts)>);

impl CountCache {
    /// How many schemas it remembers.
    const SIZE: usize = 8;

    fn of(&mut self, batch: &RecordBatch, numbers: Option<&UInt64Array>, index: usize) -> Counts {
        let schema = batch.schema_ref();
        let numbered = numbers.is_some();
        if let Some((_, _, counts)) = self
            .0
            .iter()
            .find(|(known, with, _)| Arc::ptr_eq(known, schema) && *with == numbered)
        {
            return *counts;
        }
        let counts = Counts::of(batch, numbers, index);
        if !schema.fields().iter().any(|f| has_views(f.data_type())) {
            if self.0.len() == Self::SIZE {
                self.0.remove(0);
            }
            self.0.push((schema.clone(), numbered, counts));
        }
        counts
    }
}

/// Whether `data_type` is or holds a view array.
fn has_views(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8View | DataType::BinaryView => true,
        DataType::Struct(fields) => fields.iter().any(|f| has_views(f.data_type())),
        DataType::List(f) | DataType::LargeList(f) => has_views(f.data_type()),
        DataType::Dictionary(_, values) => has_views(values),
        // Types arrow-rs lays out count as one node whatever they hold.
        _ => false,
    }
}

/// Where an export writes: nowhere (counting what a block needs) or into a block.
trait Sink {
    /// Stores a list of buffer pointers.
    fn buffers(&mut self, list: &[*const c_void]) -> *mut *const c_void;
    /// Space for `n` child pointers.
    fn children(&mut self, n: usize) -> *mut *mut RawArray;
    /// Stores an array that is not top-level, returning where it lives.
    fn node(&mut self, array: RawArray) -> *mut RawArray;
    /// A buffer the block must own (made only when filling).
    fn extra(&mut self, make: &mut dyn FnMut() -> Buffer) -> *const c_void;
    /// An array of oplink's: released through the block.
    fn ours(&mut self, array: RawArray) -> RawArray;
    /// Marks an array of ours as the top-level array of batch `batch` (its row numbers with
    /// `numbers`), so that this process recognises it if it comes back.
    fn top(&mut self, array: RawArray, batch: usize, numbers: bool) -> RawArray;
    /// An array exported by arrow-rs (made only when filling).
    fn foreign(&mut self, array: &dyn Array) -> RawArray;
}

impl Sink for Counts {
    fn buffers(&mut self, list: &[*const c_void]) -> *mut *const c_void {
        self.buffers += list.len();
        std::ptr::null_mut()
    }
    fn children(&mut self, n: usize) -> *mut *mut RawArray {
        self.children += n;
        std::ptr::null_mut()
    }
    fn node(&mut self, _: RawArray) -> *mut RawArray {
        self.nodes += 1;
        std::ptr::null_mut()
    }
    fn extra(&mut self, _: &mut dyn FnMut() -> Buffer) -> *const c_void {
        std::ptr::null()
    }
    fn ours(&mut self, array: RawArray) -> RawArray {
        array
    }
    fn top(&mut self, array: RawArray, _: usize, _: bool) -> RawArray {
        self.tops += 1;
        array
    }
    fn foreign(&mut self, _: &dyn Array) -> RawArray {
        RawArray::RELEASED
    }
}

/// Writes into a block laid out for the counts.
struct Fill {
    header: *mut Header,
    nodes: *mut RawArray,
    tops: *mut Top,
    buffers: *mut *const c_void,
    children: *mut *mut RawArray,
    used: Counts,
    limit: Counts,
    /// Arrays of ours written so far: the block's initial count.
    ours: usize,
}

impl Sink for Fill {
    #[inline(always)]
    fn buffers(&mut self, list: &[*const c_void]) -> *mut *const c_void {
        assert!(self.used.buffers + list.len() <= self.limit.buffers);
        // SAFETY: within the block's buffer area (asserted against the counts it was sized
        // for), which nothing else writes.
        unsafe {
            let at = self.buffers.add(self.used.buffers);
            std::ptr::copy_nonoverlapping(list.as_ptr(), at, list.len());
            self.used.buffers += list.len();
            at
        }
    }
    #[inline(always)]
    fn children(&mut self, n: usize) -> *mut *mut RawArray {
        assert!(self.used.children + n <= self.limit.children);
        // SAFETY: within the block's child area, as above.
        let at = unsafe { self.children.add(self.used.children) };
        self.used.children += n;
        at
    }
    #[inline(always)]
    fn node(&mut self, array: RawArray) -> *mut RawArray {
        assert!(self.used.nodes < self.limit.nodes);
        // SAFETY: within the block's node area, as above.
        unsafe {
            let at = self.nodes.add(self.used.nodes);
            at.write(array);
            self.used.nodes += 1;
            at
        }
    }
    #[inline(always)]
    fn extra(&mut self, make: &mut dyn FnMut() -> Buffer) -> *const c_void {
        let buffer = make();
        let ptr = buffer.as_ptr().cast();
        // SAFETY: the header of the block being filled, not handed out yet.
        unsafe { (*self.header).extras.push(buffer) };
        ptr
    }
    #[inline(always)]
    fn ours(&mut self, mut array: RawArray) -> RawArray {
        array.release = Some(release);
        array.private_data = self.header.cast();
        self.ours += 1;
        array
    }
    #[inline(always)]
    fn top(&mut self, mut array: RawArray, batch: usize, numbers: bool) -> RawArray {
        assert!(self.used.tops < self.limit.tops);
        // SAFETY: within the block's area of top-level records, as above.
        let at = unsafe { self.tops.add(self.used.tops) };
        // SAFETY: as above; written once, before any array of the block is handed out.
        unsafe {
            at.write(Top {
                header: self.header,
                batch,
                numbers,
            })
        };
        self.used.tops += 1;
        array.release = Some(release_top);
        array.private_data = at.cast();
        array
    }
    #[inline(always)]
    fn foreign(&mut self, array: &dyn Array) -> RawArray {
        let array = RawArray::from_ffi(FFI_ArrowArray::new(&array.to_data()));
        // SAFETY: the header of the block being filled, which nobody else reads yet.
        unsafe { (*self.header).foreign.push(array.private_data) };
        array
    }
}

/// What a top-level array's `private_data` points to: its block, and which batch of the
/// block it is.
struct Top {
    header: *mut Header,
    batch: usize,
    numbers: bool,
}

/// The `release` of a top-level array: the block's, once `private_data` is the block again.
unsafe extern "C" fn release_top(array: *mut RawArray) {
    // SAFETY: called by the consumer on a top-level array of ours not released yet; its
    // `Top` lives in the block, which this array's count keeps alive.
    unsafe {
        if (*array).release.is_none() {
            return;
        }
        let top = (*array).private_data.cast::<Top>();
        (*array).private_data = (*top).header.cast();
        release(array);
    }
}

/// Whether `array`'s `release` is this process's `release_top`: an array this process
/// exported, come back.
fn is_our_top(array: &RawArray) -> bool {
    array.release.map(|f| f as *const () as usize) == Some(release_top as *const () as usize)
}

/// The rows this process exported as `columns` and `numbers` (top-level arrays that came
/// back to it unreleased), when both are ours, of the same batch, and unchanged where
/// the receiver could have changed them: the struct's length, offset and children, each
/// child still present with its length and offset. `None` otherwise (import them then).
///
/// # Safety
/// `columns` and `numbers` are valid C Data Interface arrays, `columns` unreleased. The
/// rows returned live as long as these arrays stay unreleased.
pub(super) unsafe fn recognize<'a>(columns: &'a RawArray, numbers: &RawArray) -> Option<&'a Rows> {
    if !is_our_top(columns) || !is_our_top(numbers) {
        return None;
    }
    // SAFETY: both are our top-level arrays, so `private_data` is their `Top`, in a block
    // kept alive by these unreleased arrays; the block's values are dropped only when its
    // last array is released, and nothing writes them meanwhile.
    let (top, other, kept) = unsafe {
        let top = &*columns.private_data.cast::<Top>();
        let other = &*numbers.private_data.cast::<Top>();
        (top, other, (*top.header).kept.as_ref()?)
    };
    if top.numbers || !other.numbers || top.batch != other.batch || top.header != other.header {
        return None;
    }
    let Kept::Diffs(diffs) = kept else {
        return None;
    };
    let rows = diffs.iter().flat_map(sides).flatten().nth(top.batch)?;
    let (batch, row_numbers) = (rows.batch(), rows.row_numbers());
    let unchanged = |array: &RawArray, length: usize| {
        !array.is_released() && array.offset == 0 && array.length == length as i64
    };
    if !unchanged(columns, batch.num_rows())
        || !unchanged(numbers, row_numbers.len())
        || columns.n_children != batch.num_columns() as i64
    {
        return None;
    }
    // The columns' list and arrays where this process laid them out, in their order: the
    // other side may have changed the pointers of arrays it moved.
    // SAFETY: the header of the live block of these unreleased arrays.
    let bounds = unsafe { Bounds::of(top.header) };
    // SAFETY: our top-level struct array (checked above).
    let children = unsafe { bounds.children(columns) };
    if children.len() != batch.num_columns() || !laid_out_in_order(children) {
        return None;
    }
    for (&child, column) in children.iter().zip(batch.columns()) {
        // SAFETY: one of the block's array slots (checked first), alive with it.
        if !bounds.slot(child) || !unchanged(unsafe { &*child }, column.len()) {
            return None;
        }
    }
    Some(rows)
}

/// The two top-level arrays of a side of a diff array, as the C structs.
fn arrays_of(slot: &AbiRows) -> (&RawArray, &RawArray) {
    // SAFETY: the same layout (asserted in `raw`).
    unsafe {
        (
            &*(&raw const slot.columns).cast::<RawArray>(),
            &*(&raw const slot.row_numbers).cast::<RawArray>(),
        )
    }
}

/// Where a block's top-level records start: right after its header (as `block_layout`
/// lays them out).
const fn tops_offset() -> usize {
    size_of::<Header>().next_multiple_of(align_of::<Top>())
}

/// Whether `array` and everything under it are in place and unreleased: none was moved out
/// or replaced. An array of ours must name `header`, the block's; an array arrow-rs laid
/// out (a child of ours whose `release` is not ours) must be one the block recorded, and is
/// not looked into; `foreign` is set when there is one, since taking the block back must
/// then release it.
///
/// # Safety
/// `array` is an unreleased array this process laid out, with its lists as it wrote them.
unsafe fn intact(array: &RawArray, header: *mut Header, foreign: &mut bool) -> bool {
    // As many visits as the block has arrays: a tree visits each once, and lists the other
    // side pointed at one another would make the walk's visits grow past any bound.
    // SAFETY: the header of a live block (caller).
    let mut visits = unsafe { (*header).areas.nodes };
    // SAFETY: as the caller says.
    unsafe { intact_below(array, header, foreign, 0, &mut visits) }
}

/// [`intact`] for an array `depth` levels below a top-level one: no deeper than a crossing
/// nests (a list the other side pointed back up the tree ends there, as a mismatch), and no
/// more than `visits` arrays of the block visited.
///
/// # Safety
/// As for [`intact`].
unsafe fn intact_below(
    array: &RawArray,
    header: *mut Header,
    foreign: &mut bool,
    depth: usize,
    visits: &mut usize,
) -> bool {
    if array.is_released() || depth > MAX_SCHEMA_DEPTH + 1 {
        return false;
    }
    let mut in_place = |child: &RawArray| match child.release {
        None => false,
        Some(f) if std::ptr::fn_addr_eq(f, release as unsafe extern "C" fn(*mut RawArray)) => {
            let Some(left) = visits.checked_sub(1) else {
                return false; // more visits than arrays: lists that point at one another
            };
            *visits = left;
            // SAFETY: an array of the block (caller), recursively.
            child.private_data == header.cast()
                && unsafe { intact_below(child, header, foreign, depth + 1, visits) }
        }
        Some(_) => {
            *foreign = true;
            // SAFETY: the header of the block (caller), whose list only its sender writes.
            unsafe { (*header).foreign.contains(&child.private_data) }
        }
    };
    // Every child and the dictionary must be inside the block: one that is not was changed
    // by the other side.
    // SAFETY: the header of a live block (caller).
    let bounds = unsafe { Bounds::of(header) };
    // SAFETY: an array of the block (caller).
    let children = unsafe { bounds.children(array) };
    children.len() == array.n_children.max(0) as usize
        && laid_out_in_order(children)
        && children.iter().all(|&child| {
            // SAFETY: an array slot inside the block (checked first).
            bounds.slot(child) && in_place(unsafe { &*child })
        })
        && (array.dictionary.is_null()
            // SAFETY: as above.
            || bounds.slot(array.dictionary) && in_place(unsafe { &*array.dictionary }))
}

/// The `release` of every array a block holds. It releases the array's whole subtree at
/// once: every array of the block under it that is still in place is marked released and
/// counted, so the block's count falls by one atomic step per release call, not one per
/// array (children moved out by the consumer were marked released in place, and are
/// counted when their own release comes).
unsafe extern "C" fn release(array: *mut RawArray) {
    // SAFETY: called by the consumer on an array of ours that it has not released yet; its
    // lists and its children live in the block, which this array's count keeps alive.
    unsafe {
        let array = &mut *array;
        if array.release.is_none() {
            return;
        }
        let header = array.private_data.cast::<Header>();
        let released = take_subtree(array, header);
        if (*header).arrays.fetch_sub(released, Ordering::AcqRel) == released {
            // The last arrays: the values they borrowed from go now, whoever holds the
            // block. Nobody else touches them: the sender waits for `refs` to fall to its
            // hold, and this call's reference is given up only after.
            let kept = (*header).kept.take();
            let extras = std::mem::take(&mut (*header).extras);
            drop_kept(kept);
            drop(extras);
            give_up(header);
        }
    }
}

/// Whether a list's arrays stand at rising addresses, as they were laid out (one after
/// another): none moved to another place of the list.
fn laid_out_in_order(children: &[*mut RawArray]) -> bool {
    children.windows(2).all(|pair| pair[0] < pair[1])
}

/// Where a block keeps its arrays and its child lists: every array laid under one of ours
/// is one of the block's array slots, and every list of children lies in its area for
/// lists. What the other side changed to point elsewhere (a count past its list, a null
/// list, a null or stray child, a pointer into the block's header or between two arrays)
/// is not followed.
#[derive(Clone, Copy)]
struct Bounds {
    nodes: usize,
    nodes_end: usize,
    lists: usize,
    lists_end: usize,
}

impl Bounds {
    /// The bounds of the block of `header`.
    ///
    /// # Safety
    /// `header` is the header of a live block.
    #[inline(always)]
    unsafe fn of(header: *const Header) -> Bounds {
        let start = header as usize;
        // SAFETY: a live block's header (caller).
        let areas = unsafe { (*header).areas };
        // No overflow: offsets and sizes within the block's allocation (`block_layout`).
        let nodes = start + areas.nodes_at;
        let lists = start + areas.lists_at;
        Bounds {
            nodes,
            nodes_end: nodes + areas.nodes * size_of::<RawArray>(),
            lists,
            lists_end: lists + areas.lists * size_of::<*mut RawArray>(),
        }
    }

    /// Whether `child` is one of the block's array slots.
    #[inline(always)]
    fn slot(self, child: *mut RawArray) -> bool {
        let at = child as usize;
        at >= self.nodes
            && at < self.nodes_end
            && (at - self.nodes).is_multiple_of(size_of::<RawArray>())
    }

    /// The child list of `array` when it lies in the block's area for lists, else none.
    ///
    /// # Safety
    /// `array` is an array of the block.
    #[inline(always)]
    unsafe fn children(self, array: &RawArray) -> &[*mut RawArray] {
        let list = array.children as usize;
        let count = array.n_children.max(0) as usize;
        let inside = list >= self.lists
            && (list - self.lists).is_multiple_of(size_of::<*mut RawArray>())
            && count
                .checked_mul(size_of::<*mut RawArray>())
                .and_then(|bytes| list.checked_add(bytes))
                .is_some_and(|past| past <= self.lists_end);
        if !inside || count == 0 {
            return &[];
        }
        // SAFETY: `count` pointers inside the block, which the array's count keeps alive.
        unsafe { std::slice::from_raw_parts(array.children, count) }
    }
}

/// Marks `array` and every unreleased array of ours under it released, releases the
/// foreign ones under it (laid out by arrow-rs), and returns how many of ours it marked.
///
/// # Safety
/// `array` is an unreleased array of the block of `header`.
unsafe fn take_subtree(array: &mut RawArray, header: *mut Header) -> usize {
    // SAFETY: as the caller says.
    unsafe { take_subtree_below(array, header, 0) }
}

/// [`take_subtree`] for an array `depth` levels below where the release began: no deeper
/// than a crossing nests. Lists the other side rewired into a longer chain are not
/// followed past that (what lies below stays counted, and the block is never freed: a
/// leak, where following them could exhaust the stack).
///
/// # Safety
/// As for [`take_subtree`].
unsafe fn take_subtree_below(array: &mut RawArray, header: *mut Header, depth: usize) -> usize {
    array.release = None;
    let mut ours = 1;
    if depth > MAX_SCHEMA_DEPTH + 1 {
        return ours;
    }
    // SAFETY: the header of a live block (caller).
    let bounds = unsafe { Bounds::of(header) };
    // SAFETY: an array of the block (caller).
    for &child in unsafe { bounds.children(array) } {
        if bounds.slot(child) {
            // SAFETY: an array slot inside the block (checked).
            ours += unsafe { take_child(child, header, depth + 1) };
        }
    }
    if bounds.slot(array.dictionary) {
        // SAFETY: as above.
        ours += unsafe { take_child(array.dictionary, header, depth + 1) };
    }
    ours
}

/// [`take_subtree`] for a child or dictionary: nothing when it was moved out (released in
/// place), its own release when it is foreign.
///
/// # Safety
/// `child` is an array slot inside the block of `header`.
#[inline(always)]
unsafe fn take_child(child: *mut RawArray, header: *mut Header, depth: usize) -> usize {
    // SAFETY: an array slot inside the block (caller).
    let child = unsafe { &mut *child };
    match child.release {
        None => 0,
        Some(f) if std::ptr::fn_addr_eq(f, release as unsafe extern "C" fn(*mut RawArray)) => {
            if child.private_data != header.cast() {
                // Not an array of this block: not ours to mark.
                0
            } else if child.n_children == 0 && child.dictionary.is_null() {
                // A leaf, the common case.
                child.release = None;
                1
            } else {
                // SAFETY: an unreleased array of the block.
                unsafe { take_subtree_below(child, header, depth) }
            }
        }
        Some(foreign) => {
            // Only an array arrow-rs laid out here (the block recorded it) is released by
            // its own release; a `release` the other side wrote is not called.
            // SAFETY: the header of a live block (caller), whose list only its sender
            // writes.
            if unsafe { (*header).foreign.contains(&child.private_data) } {
                // SAFETY: a foreign array not released yet: its own release frees it.
                unsafe { foreign(child) };
            }
            0
        }
    }
}

/// Gives up one reference to a block; the last one frees it.
///
/// # Safety
/// `header` is a live block of which the caller holds a reference (an array or the hold).
unsafe fn give_up(header: *mut Header) {
    // SAFETY: alive while the caller's reference is (caller); the last reference is the
    // only one left to touch the header, after the fence.
    unsafe {
        if (*header).refs.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::Acquire);
            let Header {
                layout,
                kept,
                extras,
                foreign,
                ..
            } = header.read();
            std::alloc::dealloc(header.cast(), layout);
            drop_kept(kept);
            drop((extras, foreign));
        }
    }
}

/// Drops what a block kept, where no panic may unwind (a `release` is called from C, and
/// from the other side of the boundary): each column and each row-number array under its
/// own `catch_unwind`, so that a `Drop` that panics there (the owner of a buffer made with
/// `bytes::Bytes::from_owner`, say) is reported by the panic hook as any panic outside a
/// call is, and the other columns are still dropped; the process goes on. (Two such
/// panics inside one column, a struct's two children say, would still abort: the second
/// comes while the first unwinds.)
fn drop_kept(kept: Option<Kept>) {
    let batch = |batch: RecordBatch| {
        let (schema, columns, _) = batch.into_parts();
        drop(schema);
        for column in columns {
            drop_unwinding_nowhere(column);
        }
    };
    match kept {
        None => {}
        Some(Kept::Batch(one)) => batch(one),
        // Plain vectors of plain values: their drop cannot panic.
        Some(Kept::Typed(diffs)) => drop(diffs),
        Some(Kept::Diffs(diffs)) => {
            for diff in diffs {
                let (pre, post) = match diff {
                    Diff::Insert { post } => (None, Some(post)),
                    Diff::Update { pre, post } => (Some(pre), Some(post)),
                    Diff::Remove { pre } => (Some(pre), None),
                };
                for rows in [pre, post].into_iter().flatten() {
                    let (numbers, columns) = rows.into_parts();
                    drop_unwinding_nowhere(numbers);
                    batch(columns);
                }
            }
        }
    }
}

/// Drops `value` with any panic contained (see [`drop_kept`]).
#[inline]
fn drop_unwinding_nowhere<T>(value: T) {
    crate::trampoline::unwinding_nowhere(move || drop(value));
}

/// The sender's hold on its last block, and the counts of the schemas it met.
#[derive(Debug, Default)]
struct Hold {
    block: Option<std::ptr::NonNull<Header>>,
    counts: CountCache,
    /// How the held block was laid out, when a change of the same batches can be written
    /// over it in place.
    template: Template,
    /// Changes written over the held block in place (for the tests).
    #[cfg(test)]
    refills: usize,
}

impl Hold {
    /// The held block, if every array of it has been released and it has room for
    /// `layout`: it is the sender's alone again.
    fn reusable(&self, layout: Layout) -> Option<*mut Header> {
        let header = self.block?.as_ptr();
        // SAFETY: the hold keeps the block alive; `Acquire` pairs with the releases, so
        // what the last array dropped is dropped before the block is written again.
        let (refs, held) = unsafe { ((*header).refs.load(Ordering::Acquire), (*header).layout) };
        (refs == 1 && held.size() >= layout.size() && held.align() >= layout.align())
            .then_some(header)
    }

    /// Gives the hold up (the block is freed now if no array of it is left).
    fn let_go(&mut self) {
        self.template.clear();
        if let Some(header) = self.block.take() {
            // SAFETY: the hold is a reference to a live block.
            unsafe { give_up(header.as_ptr()) };
        }
    }
}

/// How the held block was last laid out, when every column of its batches is of a type
/// whose array can be written over in place (fixed width, boolean, Utf8 and Binary, plain
/// or large): a change of the same batches (the same schemas, in the same `Arc`s, with row
/// numbers alike) is then written into the block's arrays and lists where they are, without
/// counting or laying anything out again. Every pointer it writes through is its own
/// record, never one read back from the block (whose arrays the receiver had). Empty when
/// the last layout had any other column or made a buffer of its own.
#[derive(Debug, Default)]
struct Template {
    batches: Vec<TemplateBatch>,
    /// The columns, batch after batch.
    columns: Vec<TemplateColumn>,
    /// False once a column without a writer was met.
    whole: bool,
}

/// One batch of a [`Template`]: where its top-level arrays' lists are in the block.
#[derive(Debug)]
struct TemplateBatch {
    /// Held, so that its address is not another schema's while the template lives.
    schema: SchemaRef,
    numbered: bool,
    /// The struct array's buffer list (one pointer) and child list.
    struct_buffers: *mut *const c_void,
    children: *mut *mut RawArray,
    /// The row numbers' buffer list (two pointers; null without row numbers).
    numbers_buffers: *mut *const c_void,
}

/// One column of a [`Template`]: its array in the block, that array's buffer list, and how
/// to write it.
#[derive(Debug)]
struct TemplateColumn {
    node: *mut RawArray,
    buffers: *mut *const c_void,
    rewrite: Rewrite,
}

/// Writes an array of the block over `node`, with `buffers` as its buffer list, for a column
/// of the type the writer was chosen for; `false`, having written nothing, when it cannot
/// (a bitmap at an offset that is not a whole byte needs a realigned copy).
///
/// # Safety
/// `node` and `buffers` are an array and a buffer list of a block (`header`) laid out for
/// `array`'s type, which nobody else reads.
type Rewrite = unsafe fn(&dyn Array, *mut RawArray, *mut *const c_void, *mut Header) -> bool;

impl Template {
    fn clear(&mut self) {
        self.batches.clear();
        self.columns.clear();
        self.whole = true;
    }

    /// Adds a batch just laid out, from its top-level arrays.
    fn record(&mut self, schema: &SchemaRef, columns: &RawArray, numbers: Option<&RawArray>) {
        if !self.whole {
            return;
        }
        for (i, field) in schema.fields().iter().enumerate() {
            let Some(rewrite) = rewrite_for(field.data_type()) else {
                self.clear();
                self.whole = false;
                return;
            };
            // SAFETY: the child list just laid out, one pointer per field, to nodes of
            // the block being filled.
            let node = unsafe { *columns.children.add(i) };
            self.columns.push(TemplateColumn {
                node,
                // SAFETY: as above.
                buffers: unsafe { (*node).buffers },
                rewrite,
            });
        }
        self.batches.push(TemplateBatch {
            schema: schema.clone(),
            numbered: numbers.is_some(),
            struct_buffers: columns.buffers,
            children: columns.children,
            numbers_buffers: numbers.map_or(std::ptr::null_mut(), |n| n.buffers),
        });
    }

    /// Whether `kept` has exactly the batches this template was made for.
    fn fits(&self, kept: &Kept) -> bool {
        if !self.whole || self.batches.is_empty() || matches!(kept, Kept::Typed(_)) {
            return false;
        }
        let mut index = 0;
        let mut fits = true;
        kept.each(|batch, numbers| {
            fits &= self.batches.get(index).is_some_and(|known| {
                Arc::ptr_eq(&known.schema, batch.schema_ref())
                    && known.numbered == numbers.is_some()
            });
            index += 1;
        });
        fits && index == self.batches.len()
    }
}

/// The writer of a column of `data_type`, if its arrays can be written over in place.
fn rewrite_for(data_type: &DataType) -> Option<Rewrite> {
    use arrow_array::types::{BinaryType, LargeBinaryType, LargeUtf8Type, Utf8Type};
    macro_rules! fixed {
        ($t:ty) => {
            Some(rewrite_fixed::<$t> as Rewrite)
        };
    }
    arrow_array::downcast_primitive!(
        data_type => (fixed),
        DataType::Boolean => Some(rewrite_boolean as Rewrite),
        DataType::Utf8 => Some(rewrite_bytes::<Utf8Type> as Rewrite),
        DataType::LargeUtf8 => Some(rewrite_bytes::<LargeUtf8Type> as Rewrite),
        DataType::Binary => Some(rewrite_bytes::<BinaryType> as Rewrite),
        DataType::LargeBinary => Some(rewrite_bytes::<LargeBinaryType> as Rewrite),
        _ => None,
    )
}

/// Writes an array of ours over `node`, with these buffers in its buffer list.
///
/// # Safety
/// As for [`Rewrite`], the list holding `values.len()` pointers.
#[inline(always)]
unsafe fn rewrite_node(
    node: *mut RawArray,
    list: *mut *const c_void,
    header: *mut Header,
    length: usize,
    null_count: usize,
    values: &[*const c_void],
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        std::ptr::copy_nonoverlapping(values.as_ptr(), list, values.len());
        node.write(RawArray {
            length: length as i64,
            null_count: null_count as i64,
            offset: 0,
            n_buffers: values.len() as i64,
            n_children: 0,
            buffers: list,
            children: std::ptr::null_mut(),
            dictionary: std::ptr::null_mut(),
            release: Some(release),
            private_data: header.cast(),
        });
    }
}

/// # Safety
/// As for [`Rewrite`].
unsafe fn rewrite_fixed<T: ArrowPrimitiveType>(
    array: &dyn Array,
    node: *mut RawArray,
    list: *mut *const c_void,
    header: *mut Header,
) -> bool {
    let Some(array) = array.as_any().downcast_ref::<PrimitiveArray<T>>() else {
        return false;
    };
    let Some((validity, nulls)) = plain_validity(array.nulls()) else {
        return false;
    };
    let values = array.values().inner().as_ptr().cast();
    // SAFETY: a node laid out for a fixed-width array, whose list has two pointers (caller).
    unsafe { rewrite_node(node, list, header, array.len(), nulls, &[validity, values]) };
    true
}

/// # Safety
/// As for [`Rewrite`].
unsafe fn rewrite_boolean(
    array: &dyn Array,
    node: *mut RawArray,
    list: *mut *const c_void,
    header: *mut Header,
) -> bool {
    let Some(array) = array.as_any().downcast_ref::<BooleanArray>() else {
        return false;
    };
    let (Some((validity, nulls)), Some(values)) =
        (plain_validity(array.nulls()), plain_bits(array.values()))
    else {
        return false;
    };
    // SAFETY: a node laid out for a boolean array, whose list has two pointers (caller).
    unsafe { rewrite_node(node, list, header, array.len(), nulls, &[validity, values]) };
    true
}

/// # Safety
/// As for [`Rewrite`].
unsafe fn rewrite_bytes<T: ByteArrayType>(
    array: &dyn Array,
    node: *mut RawArray,
    list: *mut *const c_void,
    header: *mut Header,
) -> bool {
    let Some(array) = array.as_any().downcast_ref::<GenericByteArray<T>>() else {
        return false;
    };
    let Some((validity, nulls)) = plain_validity(array.nulls()) else {
        return false;
    };
    let offsets = array.offsets().inner().inner().as_ptr().cast();
    let values = array.values().as_ptr().cast();
    let buffers = [validity, offsets, values];
    // SAFETY: a node laid out for a byte array, whose list has three pointers (caller).
    unsafe { rewrite_node(node, list, header, array.len(), nulls, &buffers) };
    true
}

impl Hold {
    /// Writes `kept` over the held block when the block's template fits it and every array
    /// of the block has been released, handing each batch's top-level arrays to `out` as
    /// [`Block::export`] does; gives `kept` back otherwise (nothing was handed out then).
    fn refill(
        &mut self,
        kept: Kept,
        out: &mut dyn FnMut(RawArray, Option<RawArray>),
    ) -> std::result::Result<(), Kept> {
        let Some(block) = self.block else {
            return Err(kept);
        };
        let header = block.as_ptr();
        // SAFETY: the hold keeps the block alive; `Acquire` pairs with the releases, so
        // what the last array dropped is dropped before the block is written again.
        if unsafe { (*header).refs.load(Ordering::Acquire) } != 1 || !self.template.fits(&kept) {
            return Err(kept);
        }
        // Every column first: a writer may refuse, and then the block is laid out anew
        // (nothing was handed out yet, and the block is the sender's alone).
        let mut columns = self.template.columns.iter();
        let mut written = true;
        kept.each(|batch, _| {
            for column in batch.columns() {
                let known = columns.next().expect("a template column per column");
                // SAFETY: an array and list of the block laid out for this column's type
                // (the template fits), which nobody else reads (refs is 1).
                written = written
                    && unsafe {
                        (known.rewrite)(column.as_ref(), known.node, known.buffers, header)
                    };
            }
        });
        if !written {
            return Err(kept);
        }
        let mut arrays = 0;
        let mut index = 0;
        let mut top = 0;
        let mut columns = self.template.columns.iter();
        // SAFETY: the tops follow the header, as `block_layout` lays them out.
        let tops = unsafe { header.cast::<u8>().add(tops_offset()) }.cast::<Top>();
        kept.each(|batch, numbers| {
            let known = &self.template.batches[index];
            index += 1;
            arrays += 1 + batch.num_columns();
            for i in 0..batch.num_columns() {
                let column = columns.next().expect("a template column per column");
                // SAFETY: the child list laid out for this batch, one pointer per column.
                unsafe { known.children.add(i).write(column.node) };
            }
            // SAFETY: the struct's list of one buffer; its top-level record, one per
            // top-level array in the order they were laid out.
            let own = unsafe {
                known.struct_buffers.write(std::ptr::null());
                tops.add(top)
            };
            top += 1;
            let columns = RawArray {
                length: batch.num_rows() as i64,
                null_count: 0,
                offset: 0,
                n_buffers: 1,
                n_children: batch.num_columns() as i64,
                buffers: known.struct_buffers,
                children: known.children,
                dictionary: std::ptr::null_mut(),
                release: Some(release_top),
                private_data: own.cast(),
            };
            let numbers = numbers.map(|numbers| {
                arrays += 1;
                let values = numbers.values().inner().as_ptr().cast();
                // SAFETY: the row numbers' list of two buffers (row numbers have no nulls)
                // and their top-level record, as above.
                let theirs = unsafe {
                    known.numbers_buffers.write(std::ptr::null());
                    known.numbers_buffers.add(1).write(values);
                    tops.add(top)
                };
                top += 1;
                RawArray {
                    length: numbers.len() as i64,
                    null_count: 0,
                    offset: 0,
                    n_buffers: 2,
                    n_children: 0,
                    buffers: known.numbers_buffers,
                    children: std::ptr::null_mut(),
                    dictionary: std::ptr::null_mut(),
                    release: Some(release_top),
                    private_data: theirs.cast(),
                }
            });
            out(columns, numbers);
        });
        #[cfg(test)]
        {
            self.refills += 1;
        }
        // SAFETY: as above; the values move in after the arrays that borrow from them were
        // written (moving a `Vec` or a `RecordBatch` does not move their buffers). One
        // reference for the arrays, one for the hold.
        unsafe {
            (*header).kept = Some(kept);
            (*header).arrays.store(arrays, Ordering::Relaxed);
            (*header).refs.store(2, Ordering::Release);
        }
        Ok(())
    }
}

/// Lays out blocks.
struct Block;

impl Block {
    /// One batch, without row numbers, in a block of its own: its struct array.
    fn export_lone(batch: RecordBatch) -> Result<RawArray> {
        let mut columns = RawArray::RELEASED;
        Block::export(Kept::Batch(batch), None, &mut |array, _| columns = array)?;
        Ok(columns)
    }

    /// Lays out every batch of `kept` (and its row numbers) in one block, and hands each
    /// batch's top-level arrays to `out`, in order. With a `hold`, the block is the held one
    /// when that is free and large enough, and is held afterwards.
    fn export(
        kept: Kept,
        mut hold: Option<&mut Hold>,
        out: &mut dyn FnMut(RawArray, Option<RawArray>),
    ) -> Result<()> {
        let kept = match hold.as_deref_mut() {
            Some(hold) => match hold.refill(kept, out) {
                Ok(()) => return Ok(()),
                Err(kept) => kept,
            },
            None => kept,
        };
        let mut counts = Counts::default();
        let mut index = 0;
        let mut cache = hold.as_deref_mut().map(|hold| &mut hold.counts);
        kept.each(|batch, numbers| {
            counts.add(match cache.as_deref_mut() {
                Some(cache) => cache.of(batch, numbers, index),
                None => Counts::of(batch, numbers, index),
            });
            index += 1;
        });
        kept.each_typed(|rows| {
            let mut each = Counts::default();
            typed_top_level(rows, index, &mut each);
            counts.add(each);
            index += 1;
        });
        let (layout, tops_at, nodes_at, buffers_at, children_at) = block_layout(counts)?;
        let reused = hold.as_ref().and_then(|hold| hold.reusable(layout));
        let header = match reused {
            Some(header) => {
                // SAFETY: a free block of the hold's (see `Hold::reusable`): the sender's
                // alone.
                unsafe { (*header).foreign.clear() };
                header
            }
            None => {
                if let Some(hold) = hold.as_deref_mut() {
                    hold.let_go();
                }
                // SAFETY: the layout is non-zero-sized (it holds the header).
                let base = unsafe { std::alloc::alloc(layout) };
                if base.is_null() {
                    std::alloc::handle_alloc_error(layout);
                }
                let header = base.cast::<Header>();
                // SAFETY: a fresh allocation laid out for a header at its start.
                unsafe {
                    header.write(Header {
                        arrays: AtomicUsize::new(0),
                        refs: AtomicUsize::new(0),
                        layout,
                        kept: None,
                        extras: Vec::new(),
                        batches: 0,
                        foreign: Vec::new(),
                        areas: Areas::default(),
                    });
                }
                header
            }
        };
        let base = header.cast::<u8>();
        // SAFETY: all three are offsets within the allocation, from `block_layout` (a
        // reused block is at least as large).
        let (tops, nodes, buffers, children) = unsafe {
            (
                base.add(tops_at).cast(),
                base.add(nodes_at).cast(),
                base.add(buffers_at).cast(),
                base.add(children_at).cast(),
            )
        };
        let mut fill = Fill {
            header,
            nodes,
            tops,
            buffers,
            children,
            used: Counts::default(),
            limit: counts,
            ours: 0,
        };
        // `out` only stores the arrays: none is released before this function returns.
        let mut index = 0;
        let mut template = hold.as_deref_mut().map(|hold| {
            hold.template.clear();
            &mut hold.template
        });
        kept.each(|batch, numbers| {
            let (columns, numbers) = top_level(batch, numbers, index, &mut fill);
            if let Some(template) = template.as_deref_mut() {
                template.record(batch.schema_ref(), &columns, numbers.as_ref());
            }
            index += 1;
            out(columns, numbers);
        });
        // Typed columns leave the template (cleared above) empty: the next change is laid
        // out anew.
        kept.each_typed(|rows| {
            let (columns, numbers) = typed_top_level(rows, index, &mut fill);
            index += 1;
            out(columns, Some(numbers));
        });
        if let Some(template) = template
            // SAFETY: the header of the block being filled, not handed out yet.
            && !unsafe { (*header).extras.is_empty() }
        {
            // A buffer made for this change (a realigned bitmap) would not be remade.
            template.clear();
        }
        let held = usize::from(hold.is_some());
        // SAFETY: the header of a block nobody else reads yet (fresh, or free: see
        // `Hold::reusable`; and `out` releases nothing). The values move in after the
        // arrays that borrow from them were laid out (moving a `Vec` or a `RecordBatch`
        // does not move their buffers).
        unsafe {
            (*header).kept = Some(kept);
            (*header).batches = index;
            (*header).areas = Areas {
                nodes_at,
                nodes: counts.nodes,
                lists_at: children_at,
                lists: counts.children,
            };
            (*header).arrays.store(fill.ours, Ordering::Relaxed);
            (*header)
                .refs
                .store(usize::from(fill.ours > 0) + held, Ordering::Release);
        }
        if let Some(hold) = hold {
            hold.block = std::ptr::NonNull::new(header);
        }
        Ok(())
    }
}

/// A block's layout: the header, then the nodes, the buffer pointers and the child pointers.
fn block_layout(counts: Counts) -> Result<(Layout, usize, usize, usize, usize)> {
    let too_big = |_| Error::unlocated("a change is too large to export");
    let header = Layout::new::<Header>();
    let (layout, tops) = header
        .extend(Layout::array::<Top>(counts.tops).map_err(too_big)?)
        .map_err(too_big)?;
    let (layout, nodes) = layout
        .extend(Layout::array::<RawArray>(counts.nodes).map_err(too_big)?)
        .map_err(too_big)?;
    let (layout, buffers) = layout
        .extend(Layout::array::<*const c_void>(counts.buffers).map_err(too_big)?)
        .map_err(too_big)?;
    let (layout, children) = layout
        .extend(Layout::array::<*mut RawArray>(counts.children).map_err(too_big)?)
        .map_err(too_big)?;
    Ok((layout.pad_to_align(), tops, nodes, buffers, children))
}

/// A batch as a struct array (its length is the row count, so a batch without columns
/// keeps its rows), and its row numbers.
#[inline(always)]
fn top_level<S: Sink>(
    batch: &RecordBatch,
    numbers: Option<&UInt64Array>,
    index: usize,
    sink: &mut S,
) -> (RawArray, Option<RawArray>) {
    let columns = batch.columns();
    let children = sink.children(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let array = export(column.as_ref(), sink);
        let node = sink.node(array);
        if !children.is_null() {
            // SAFETY: `children` has room for one pointer per column (asked for above).
            unsafe { children.add(i).write(node) };
        }
    }
    let columns = batch_array(sink, batch.num_rows(), columns.len(), children);
    let columns = sink.top(columns, index, false);
    let numbers = numbers.map(|numbers| {
        let array = primitive(numbers, sink);
        sink.top(array, index, true)
    });
    (columns, numbers)
}

/// A side built from typed values as a struct array of its columns, and its row numbers:
/// what [`top_level`] lays out for a batch.
#[inline(always)]
fn typed_top_level<S: Sink>(rows: &RowsOut, index: usize, sink: &mut S) -> (RawArray, RawArray) {
    let columns = rows.columns();
    let children = sink.children(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let mut list = [std::ptr::null(); 3];
        let n = column.buffers(&mut list);
        let array = with_buffers(sink, column.len(), column.null_count(), &list[..n], &mut []);
        let node = sink.node(array);
        if !children.is_null() {
            // SAFETY: `children` has room for one pointer per column (asked for above).
            unsafe { children.add(i).write(node) };
        }
    }
    let struct_array = batch_array(sink, rows.num_rows(), columns.len(), children);
    let numbers = rows.row_numbers();
    let numbers = with_buffers(
        sink,
        numbers.len(),
        0,
        &[std::ptr::null(), numbers.as_ptr().cast()],
        &mut [],
    );
    (
        sink.top(struct_array, index, false),
        sink.top(numbers, index, true),
    )
}

/// The struct array of a batch of `rows` rows whose `columns` arrays are listed at
/// `children` (its length is the row count, so a batch without columns keeps its rows).
#[inline(always)]
fn batch_array<S: Sink>(
    sink: &mut S,
    rows: usize,
    columns: usize,
    children: *mut *mut RawArray,
) -> RawArray {
    let buffers = sink.buffers(&[std::ptr::null()]);
    sink.ours(RawArray {
        length: rows as i64,
        null_count: 0,
        offset: 0,
        n_buffers: 1,
        n_children: columns as i64,
        buffers,
        children,
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    })
}

/// Exports one column (of any depth).
fn export<S: Sink>(array: &dyn Array, sink: &mut S) -> RawArray {
    use arrow_array::types::{
        BinaryType, BinaryViewType, LargeBinaryType, LargeUtf8Type, StringViewType, Utf8Type,
    };
    let n = array.len();
    downcast_primitive_array!(
        array => primitive(array, sink),
        DataType::Boolean => {
            let array = array.as_any().downcast_ref::<BooleanArray>().expect("a boolean array");
            let (validity, nulls) = validity(array.nulls(), sink);
            let values = bits(array.values(), sink);
            with_buffers(sink, n, nulls, &[validity, values], &mut [])
        }
        DataType::Utf8 => bytes::<Utf8Type, S>(array, sink),
        DataType::LargeUtf8 => bytes::<LargeUtf8Type, S>(array, sink),
        DataType::Binary => bytes::<BinaryType, S>(array, sink),
        DataType::LargeBinary => bytes::<LargeBinaryType, S>(array, sink),
        DataType::Utf8View => views::<StringViewType, S>(array, sink),
        DataType::BinaryView => views::<BinaryViewType, S>(array, sink),
        DataType::FixedSizeBinary(_) => {
            let array = array
                .as_any()
                .downcast_ref::<FixedSizeBinaryArray>()
                .expect("a fixed-size binary array");
            let (validity, nulls) = validity(array.nulls(), sink);
            let values = array.value_data().as_ptr().cast();
            with_buffers(sink, n, nulls, &[validity, values], &mut [])
        }
        DataType::Null => sink.ours(RawArray {
            length: n as i64,
            null_count: n as i64,
            ..RawArray::RELEASED
        }),
        DataType::Struct(_) => {
            let array = array.as_any().downcast_ref::<StructArray>().expect("a struct array");
            let (validity, nulls) = validity(array.nulls(), sink);
            let mut children: Vec<RawArray> =
                array.columns().iter().map(|column| export(column.as_ref(), sink)).collect();
            with_buffers(sink, n, nulls, &[validity], &mut children)
        }
        DataType::List(_) => list::<i32, S>(array, sink),
        DataType::LargeList(_) => list::<i64, S>(array, sink),
        DataType::Dictionary(_, _) => downcast_dictionary_array!(
            array => dictionary(array, sink),
            _ => sink.foreign(array)
        ),
        // Every other type: arrow-rs lays it out, as a child of ours.
        _ => sink.foreign(array)
    )
}

/// An array of ours with these buffers (validity first) and children.
#[inline(always)]
fn with_buffers<S: Sink>(
    sink: &mut S,
    length: usize,
    null_count: usize,
    buffers: &[*const c_void],
    children: &mut [RawArray],
) -> RawArray {
    let list = sink.buffers(buffers);
    let kids = sink.children(children.len());
    for (i, child) in children.iter_mut().enumerate() {
        let node = sink.node(std::mem::replace(child, RawArray::RELEASED));
        if !kids.is_null() {
            // SAFETY: `kids` has room for one pointer per child (asked for above).
            unsafe { kids.add(i).write(node) };
        }
    }
    sink.ours(RawArray {
        length: length as i64,
        null_count: null_count as i64,
        offset: 0,
        n_buffers: buffers.len() as i64,
        n_children: children.len() as i64,
        buffers: list,
        children: kids,
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    })
}

#[inline(always)]
fn primitive<T: ArrowPrimitiveType, S: Sink>(array: &PrimitiveArray<T>, sink: &mut S) -> RawArray {
    let (validity, nulls) = validity(array.nulls(), sink);
    let values = array.values().inner().as_ptr().cast();
    with_buffers(sink, array.len(), nulls, &[validity, values], &mut [])
}

#[inline(always)]
fn bytes<T: ByteArrayType, S: Sink>(array: &dyn Array, sink: &mut S) -> RawArray {
    let array = array
        .as_any()
        .downcast_ref::<GenericByteArray<T>>()
        .expect("the byte array of its type");
    let (validity, nulls) = validity(array.nulls(), sink);
    let offsets = array.offsets().inner().inner().as_ptr().cast();
    let values = array.values().as_ptr().cast();
    with_buffers(
        sink,
        array.len(),
        nulls,
        &[validity, offsets, values],
        &mut [],
    )
}

fn views<T: ByteViewType + ?Sized, S: Sink>(array: &dyn Array, sink: &mut S) -> RawArray {
    let array = array
        .as_any()
        .downcast_ref::<GenericByteViewArray<T>>()
        .expect("the view array of its type");
    let (validity, nulls) = validity(array.nulls(), sink);
    let mut list = vec![validity, array.views().inner().as_ptr().cast()];
    list.extend(
        array
            .data_buffers()
            .iter()
            .map(|b| b.as_ptr().cast::<c_void>()),
    );
    // The C Data Interface adds a buffer with the size of each data buffer.
    let sizes: Vec<i64> = array
        .data_buffers()
        .iter()
        .map(|b| b.len() as i64)
        .collect();
    list.push(sink.extra(&mut || Buffer::from_vec(sizes.clone())));
    with_buffers(sink, array.len(), nulls, &list, &mut [])
}

fn list<O: OffsetSizeTrait, S: Sink>(array: &dyn Array, sink: &mut S) -> RawArray {
    let array = array
        .as_any()
        .downcast_ref::<GenericListArray<O>>()
        .expect("the list array of its type");
    let (validity, nulls) = validity(array.nulls(), sink);
    let offsets = array.offsets().inner().inner().as_ptr().cast();
    let mut child = [export(array.values().as_ref(), sink)];
    with_buffers(sink, array.len(), nulls, &[validity, offsets], &mut child)
}

fn dictionary<K: arrow_array::types::ArrowDictionaryKeyType, S: Sink>(
    array: &DictionaryArray<K>,
    sink: &mut S,
) -> RawArray {
    let values = export(array.values().as_ref(), sink);
    let values = sink.node(values);
    let mut keys = primitive(array.keys(), sink);
    keys.dictionary = values;
    keys
}

/// The validity bitmap as the C Data Interface wants it (offset 0, or none when there are
/// no nulls) and the null count.
#[inline(always)]
fn validity<S: Sink>(nulls: Option<&NullBuffer>, sink: &mut S) -> (*const c_void, usize) {
    match nulls {
        Some(nulls) if nulls.null_count() > 0 => (bits(nulls.inner(), sink), nulls.null_count()),
        _ => (std::ptr::null(), 0),
    }
}

/// A bitmap starting at bit 0 of the pointer: the buffer itself when its offset is a whole
/// number of bytes, a realigned copy otherwise.
#[inline(always)]
fn bits<S: Sink>(bits: &arrow_buffer::BooleanBuffer, sink: &mut S) -> *const c_void {
    plain_bits(bits).unwrap_or_else(|| sink.extra(&mut || bits.sliced()))
}

/// The validity bitmap as [`validity`] exports it, when that needs no copy.
#[inline(always)]
fn plain_validity(nulls: Option<&NullBuffer>) -> Option<(*const c_void, usize)> {
    match nulls {
        Some(nulls) if nulls.null_count() > 0 => {
            plain_bits(nulls.inner()).map(|bits| (bits, nulls.null_count()))
        }
        _ => Some((std::ptr::null(), 0)),
    }
}

/// A bitmap's first byte, when it starts at a whole byte: what [`bits`] exports without a
/// copy.
#[inline(always)]
fn plain_bits(bits: &arrow_buffer::BooleanBuffer) -> Option<*const c_void> {
    let offset = bits.offset();
    // SAFETY: `offset / 8` bytes into the bitmap's own buffer.
    offset
        .is_multiple_of(8)
        .then(|| unsafe { bits.inner().as_ptr().add(offset / 8) }.cast())
}

/// Refuses a schema that nests deeper than [`MAX_SCHEMA_DEPTH`], naming the column, without
/// recursion: exporting it (arrow-rs's schema export, oplink's layout) and reading it on the
/// other side recurse once per level, and a deep enough column would overflow the stack.
fn check_depth(schema: &SchemaRef) -> Result<()> {
    let mut stack: Vec<(&DataType, &str, usize)> = schema
        .fields()
        .iter()
        .map(|field| (field.data_type(), field.name().as_str(), 1))
        .collect();
    while let Some((data_type, column, depth)) = stack.pop() {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(Error::unlocated(format!(
                "column `{column}` nests deeper than {MAX_SCHEMA_DEPTH} levels, more than a crossing takes"
            )));
        }
        let deeper = depth + 1;
        match data_type {
            DataType::List(field)
            | DataType::LargeList(field)
            | DataType::ListView(field)
            | DataType::LargeListView(field)
            | DataType::FixedSizeList(field, _)
            | DataType::Map(field, _) => stack.push((field.data_type(), column, deeper)),
            DataType::Struct(fields) => stack.extend(
                fields
                    .iter()
                    .map(|field| (field.data_type(), column, deeper)),
            ),
            DataType::Union(fields, _) => stack.extend(
                fields
                    .iter()
                    .map(|(_, field)| (field.data_type(), column, deeper)),
            ),
            DataType::Dictionary(_, values) => stack.push((values.as_ref(), column, deeper)),
            DataType::RunEndEncoded(ends, values) => {
                stack.push((ends.data_type(), column, deeper));
                stack.push((values.data_type(), column, deeper));
            }
            _ => {}
        }
    }
    Ok(())
}
