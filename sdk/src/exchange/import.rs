//! The receiving side. Everything here treats what arrives as untrusted: a malformed change
//! is an `Err`, and every array it carried is released whatever happens.
//!
//! Each batch that crosses gets one owner, holding its arrays as the producer laid them out;
//! every buffer imported from them shares that owner, so the producer's `release` runs once,
//! when the last buffer of the batch is dropped. A buffer of at most [`SMALL`] bytes of a
//! type built here, read through an inbox, is copied instead while the change's block has
//! room (`small`'s notes); when every buffer of a batch was, nothing shares the owner, and
//! the producer's arrays are released before the read returns. The common types (fixed
//! width, boolean, Utf8/Binary and their large and view forms, fixed-size binary, lists,
//! structs and dictionaries) are built here straight from the C structs; arrow-rs's `ffi`
//! module imports the others in place, through a copy of their header that holds the
//! batch's owner.
//!
//! What is checked is the shape of each array: its buffer and child counts against its type,
//! non-null pointers, non-negative lengths and offsets, a null count within the length, and
//! the lengths that a buffer's contents declare where they can be read in constant time (the
//! last offset of a list against its child's length, a view array's data buffer sizes). The
//! contents themselves (offsets increasing, UTF-8, dictionary keys in range) are the
//! producer's word, as the C Data Interface has it and as arrow-rs's own importer takes them.

use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi_and_data_type};
use arrow_array::types::{
    ArrowDictionaryKeyType, BinaryType, BinaryViewType, ByteArrayType, ByteViewType,
    LargeBinaryType, LargeUtf8Type, StringViewType, UInt64Type, Utf8Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, DictionaryArray, FixedSizeBinaryArray,
    GenericByteArray, GenericByteViewArray, GenericListArray, NullArray, OffsetSizeTrait,
    PrimitiveArray, RecordBatch, StructArray, UInt64Array, downcast_integer, downcast_primitive,
    make_array,
};
use arrow_buffer::alloc::Allocation;
use arrow_buffer::{
    ArrowNativeType, BooleanBuffer, Buffer, MutableBuffer, NullBuffer, OffsetBuffer, ScalarBuffer,
};
use arrow_schema::{DataType, FieldRef, Fields, Schema, SchemaRef};

use super::export::recognize;
use super::raw::{RawArray, RawSchema, Taken};
use super::schema::Received;
use super::small::{Copies, SMALL};
use super::{MAX_SCHEMA_DEPTH, SchemaInbox};
use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT, DIFF_REMOVE, DIFF_UPDATE};
use crate::data::{Change, Diff, Rows, Timestamp};
use crate::{Error, Result};

/// Takes a change laid out by the other side.
///
/// # Safety
/// `abi` must describe `diff_count` diffs whose arrays are valid C Data Interface arrays
/// (or released ones) not taken yet, with non-null schemas alive for this call.
pub unsafe fn import_change(abi: &AbiChange, inbox: &mut SchemaInbox) -> Result<Change> {
    inbox.start_copies();
    // The count is the producer's word, checked below: not trusted for an allocation.
    let mut out = Vec::with_capacity(abi.diff_count.min(1024));
    // SAFETY: forwarded from the caller; each diff's schemas are alive for the call.
    unsafe {
        take_each_diff(abi, inbox, |inbox, kind, pre, post| {
            inbox.push_diff(kind, pre, post, &mut out)
        })
    }?;
    Ok(Change {
        version: abi.version,
        changed_at: Timestamp(abi.changed_at),
        diffs: out,
    })
}

/// Hands each diff of `abi`, in order, to `read` with the inbox, its kind (one of the
/// three, its reserved field 0, and its sides those of its kind: checked here) and its two
/// sides in place (each side's arrays are released when its `Slot` drops, unless `read`
/// took them). On the first error, every array left is released too, the
/// schemas that the failed diff and the ones after it carried are stored all the same (the
/// sender counts them as sent), and the error names the diff.
///
/// # Safety
/// As for [`import_change`].
#[inline(always)]
pub(super) unsafe fn take_each_diff(
    abi: &AbiChange,
    inbox: &mut SchemaInbox,
    mut read: impl FnMut(&mut SchemaInbox, u32, Slot<'_>, Slot<'_>) -> Result<()>,
) -> Result<()> {
    let diffs: &mut [AbiDiff] = if abi.diff_count == 0 {
        &mut []
    } else if abi.diffs.is_null() || !abi.diffs.is_aligned() {
        return Err(Error::unlocated(format!(
            "a change lists {} but its diff array is null or misaligned",
            crate::__private::counted(abi.diff_count, "diff", "diffs")
        )));
    } else if abi.diff_count > isize::MAX as usize / size_of::<AbiDiff>() {
        return Err(Error::unlocated(format!(
            "a change lists {} diffs, more than memory can hold",
            abi.diff_count
        )));
    } else {
        // SAFETY: the caller guarantees `diff_count` valid diffs at `diffs`, not aliased.
        unsafe { std::slice::from_raw_parts_mut(abi.diffs, abi.diff_count) }
    };
    for index in 0..diffs.len() {
        let diff = &mut diffs[index];
        let (kind, reserved) = (diff.kind, diff.reserved);
        if !sound_header(diff) {
            return Err(untrusted(index, kind, reserved, inbox));
        }
        // SAFETY: the arrays of an exported diff are valid and not taken yet (caller).
        let (pre, post) = unsafe { (Slot::new(&mut diff.pre), Slot::new(&mut diff.post)) };
        let result = match sides_fit(kind, &pre, &post) {
            Ok(()) => read(inbox, kind, pre, post),
            Err(error) => {
                drop((pre, post)); // releases the arrays
                Err(error)
            }
        };
        if let Err(error) = result {
            // SAFETY: the diffs after this one are untaken (caller); every schema pointer
            // of the change is null or valid for the call.
            return Err(unsafe { release_rest(diffs, index, inbox, error) });
        }
    }
    Ok(())
}

/// Whether a diff's header is one a sender writes: a known kind, a reserved field of 0.
#[inline(always)]
fn sound_header(diff: &AbiDiff) -> bool {
    diff.reserved == 0 && matches!(diff.kind, DIFF_INSERT | DIFF_UPDATE | DIFF_REMOVE)
}

/// Diff `index` has a header no sender writes (an unknown kind, a reserved field not 0): a
/// sign that the diff array is not what the sender says it is (a count past the diffs it
/// holds, a wild pointer), so nothing from that diff on is touched: no array released (they
/// leak, where releasing garbage would crash), no schema read. Every schema received so
/// far is forgotten instead, so that a later batch naming one is an error, never read
/// under a schema the sender may since have replaced.
#[cold]
#[inline(never)]
fn untrusted(index: usize, kind: u32, reserved: u32, inbox: &mut SchemaInbox) -> Error {
    inbox.forget_all();
    let what = if reserved != 0 {
        format!("its reserved field is {reserved}, not 0")
    } else {
        // Zeroed memory past the diffs written is the likeliest source of a kind of 0.
        let hint = if kind == 0 {
            " (is `diff_count` larger than the diffs written?)"
        } else {
            ""
        };
        format!("its kind is {kind}, not 1, 2 or 3{hint}")
    };
    Error::unlocated(format!(
        "diff {index} of the change: {what}; the diffs from it on were left untouched (not released), since nothing they point to can be trusted"
    ))
}

/// After diff `failed` of `diffs` failed: stores the schemas it and the diffs after it carry,
/// in order, as the sender expects (a schema that cannot be read empties its slot, so that
/// a later batch naming it is an error, never read under an older schema), releases the
/// diffs after it (every array of the change is released whatever happens), and names the
/// failed one in the error.
///
/// # Safety
/// The diffs after `failed` are valid, their arrays not taken yet; every schema pointer in
/// `diffs` is null or valid for the call.
#[cold]
#[inline(never)]
unsafe fn release_rest(
    diffs: &mut [AbiDiff],
    failed: usize,
    inbox: &mut SchemaInbox,
    error: Error,
) -> Error {
    // A later diff with a header no sender writes ends what can be trusted, as in
    // `take_each_diff`: nothing from it on is read or released.
    let trusted = diffs[failed + 1..]
        .iter()
        .position(|diff| !sound_header(diff))
        .map_or(diffs.len(), |bad| failed + 1 + bad);
    for diff in &diffs[failed..trusted] {
        for side in [&diff.pre, &diff.post] {
            // SAFETY: null or valid (caller).
            unsafe { inbox.note(side.schema_id, side.schema) };
        }
    }
    for diff in &mut diffs[failed + 1..trusted] {
        // SAFETY: as above; a dropped slot releases its arrays.
        drop(unsafe { (Slot::new(&mut diff.pre), Slot::new(&mut diff.post)) });
    }
    if trusted < diffs.len() {
        inbox.forget_all();
        return error.context(format!(
            "diff {failed} of the change (and diff {trusted} has a header no sender writes: the diffs from it on were left untouched, not released, since nothing they point to can be trusted)"
        ));
    }
    error.context(format!("diff {failed} of the change"))
}

/// Takes a batch laid out by `Outgoing::export_batch`.
///
/// # Safety
/// As for [`import_change`], for one `AbiRows`.
pub unsafe fn import_batch(rows: &mut AbiRows, inbox: &mut SchemaInbox) -> Result<RecordBatch> {
    inbox.start_copies();
    // SAFETY: forwarded from the caller.
    let slot = unsafe { Slot::new(rows) };
    // SAFETY: forwarded from the caller.
    let (_, batch) = unsafe { inbox.read(slot, false) }?;
    Ok(batch)
}

/// Takes a batch that crossed with its own schema (a service argument or return value).
///
/// # Safety
/// `array` is a valid C Data Interface array (or a released one); `schema` is a valid
/// schema alive for the call.
pub unsafe fn import_standalone_batch(
    array: FFI_ArrowArray,
    schema: &FFI_ArrowSchema,
) -> Result<RecordBatch> {
    let owner = Arc::new(Owner {
        columns: Taken(RawArray::from_ffi(array)),
        numbers: Taken(RawArray::RELEASED),
    });
    if owner.columns.0.is_released() {
        return Err(Error::unlocated("a batch arrived without its array"));
    }
    let schema = Arc::new(read_schema(schema)?);
    let columns = Column::for_schema(&schema);
    // SAFETY: a valid array (caller).
    unsafe { Importer::new(&owner, None).batch(&owner.columns.0, &schema, &columns) }
}

/// The arrays of one batch as the producer laid them out: every buffer imported from them
/// holds it, and the last one to go releases them.
#[derive(Debug)]
pub(super) struct Owner {
    pub(super) columns: Taken,
    pub(super) numbers: Taken,
}

impl Owner {
    /// Releases the arrays now, leaving released ones in their place.
    fn release(&mut self) {
        for array in [&mut self.columns, &mut self.numbers] {
            drop(std::mem::replace(array, Taken(RawArray::RELEASED)));
        }
    }
}

/// How many emptied owners an inbox keeps for its next batches.
const MAX_SPARE_OWNERS: usize = 64;

/// An owner that nothing else refers to: no buffer, no clone, and no `Weak` (none is ever
/// made of an `Owner`). It is refilled for the next batch without an atomic
/// read-modify-write (`Arc::get_mut` takes one), which waits for every store before it: on
/// a small batch, as long as the rest of the owner's bookkeeping.
#[derive(Debug)]
pub(super) struct Unshared(Arc<Owner>);

impl Unshared {
    /// `owner`, if nothing else refers to it (dropped otherwise).
    #[inline(always)]
    pub(super) fn of(owner: Arc<Owner>) -> Option<Unshared> {
        // A count of 1 is this reference alone, since there is no `Weak` to upgrade. The
        // fence puts whatever the last other holder did before its drop's release decrement
        // before what follows, as `Arc::get_mut` does. (ThreadSanitizer, which does not
        // model a fence on its own, would report a race here that is not one.)
        (Arc::strong_count(&owner) == 1).then(|| {
            std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
            Unshared(owner)
        })
    }

    /// The owner, to change.
    #[inline(always)]
    pub(super) fn owner_mut(&mut self) -> &mut Owner {
        // SAFETY: nothing else refers to the owner (`Unshared::of`), and `self`, which holds
        // its only reference, is borrowed mutably for as long as the result lives.
        unsafe { &mut *Arc::as_ptr(&self.0).cast_mut() }
    }
}

/// Keeps `owner`, emptied (its arrays released), for the next batch's `Slot::take_owner`,
/// while `spares` has room.
pub(super) fn keep_spare(spares: &mut Vec<Unshared>, owner: Unshared) {
    if spares.len() < MAX_SPARE_OWNERS {
        spares.push(owner);
    }
}

/// One side of a diff as it arrived, its arrays still in place: whoever reads it may take
/// them (into an owner); whatever is left is released when the slot drops, so every array
/// is released whatever happens.
#[derive(Debug)]
pub(super) struct Slot<'a>(&'a mut AbiRows);

impl<'a> Slot<'a> {
    /// # Safety
    /// The arrays in `rows` must be valid C Data Interface arrays (or released ones), not
    /// taken by anyone else.
    pub(super) unsafe fn new(rows: &'a mut AbiRows) -> Slot<'a> {
        Slot(rows)
    }

    pub(super) fn schema_id(&self) -> u64 {
        self.0.schema_id
    }

    pub(super) fn schema(&self) -> *const FFI_ArrowSchema {
        self.0.schema
    }

    /// The batch's struct array (released when absent or taken).
    pub(super) fn columns(&self) -> &RawArray {
        // SAFETY: the same layout as `RawArray` (asserted in `raw`).
        unsafe { &*(&raw const self.0.columns).cast::<RawArray>() }
    }

    /// The row numbers (released when absent or taken).
    pub(super) fn numbers(&self) -> &RawArray {
        // SAFETY: as above.
        unsafe { &*(&raw const self.0.row_numbers).cast::<RawArray>() }
    }

    fn arrays(&mut self) -> (*mut RawArray, *mut RawArray) {
        (
            (&raw mut self.0.columns).cast(),
            (&raw mut self.0.row_numbers).cast(),
        )
    }

    /// Takes the arrays into one owner, or `None` when the batch has no columns array (the
    /// absent side of an insert or a remove). An owner of `spares` (emptied ones, unshared)
    /// is used if there is one: a view that returns its input gives its owners back.
    #[inline(always)]
    pub(super) fn take_owner(mut self, spares: &mut Vec<Unshared>) -> Option<Arc<Owner>> {
        if self.columns().is_released() {
            return None;
        }
        let (columns, numbers) = self.arrays();
        // SAFETY: valid arrays (`Slot::new`); `take` leaves released ones behind, so the
        // other side sees them as taken and the drop of `self` releases nothing.
        let (columns, numbers) = unsafe { (RawArray::take(columns), RawArray::take(numbers)) };
        if let Some(mut spare) = spares.pop() {
            let owner = spare.owner_mut();
            // The spare's arrays were moved out (released), so nothing is released here.
            owner.columns = Taken(columns);
            owner.numbers = Taken(numbers);
            return Some(spare.0);
        }
        Some(Arc::new(Owner {
            columns: Taken(columns),
            numbers: Taken(numbers),
        }))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let (columns, numbers) = self.arrays();
        for array in [columns, numbers] {
            // SAFETY: a valid array (`Slot::new`); taken, it is released by `Taken`'s drop.
            unsafe {
                if !(*array).is_released() {
                    drop(Taken(RawArray::take(array)));
                }
            }
        }
    }
}

/// How many fields a schema that crosses may have in all (a thousand columns of nested
/// types stay far below); its depth is bounded by [`MAX_SCHEMA_DEPTH`].
const MAX_SCHEMA_NODES: usize = 1 << 20;

/// Reads a schema that crossed. Its tree is checked first, without recursion (every pointer
/// non-null and aligned, child counts not negative, a format on every node, bounded depth
/// and size); then arrow-rs reads it, under the guard, since it asserts on what it does not
/// expect (a name or format that is not UTF-8, say).
pub(super) fn read_schema(ffi: &FFI_ArrowSchema) -> Result<Schema> {
    let unreadable =
        |why: &dyn std::fmt::Display| Error::unlocated(format!("unreadable schema: {why}"));
    // SAFETY: the same `#[repr(C)]` layout (asserted in `raw`); only read.
    let root: *const RawSchema = (ffi as *const FFI_ArrowSchema).cast();
    let mut stack = vec![(root, 0usize)];
    let mut nodes = 0usize;
    while let Some((node, depth)) = stack.pop() {
        nodes += 1;
        if depth > MAX_SCHEMA_DEPTH || nodes > MAX_SCHEMA_NODES {
            return Err(unreadable(&format_args!(
                "it nests deeper than {MAX_SCHEMA_DEPTH} levels or has more than {MAX_SCHEMA_NODES} fields"
            )));
        }
        if node.is_null() || !node.is_aligned() {
            return Err(unreadable(
                &"a child or dictionary pointer is null or misaligned",
            ));
        }
        // SAFETY: non-null, aligned, and a schema (the producer's word).
        let node = unsafe { &*node };
        if node.format.is_null() {
            return Err(unreadable(&"a field has no format"));
        }
        let Ok(children) = usize::try_from(node.n_children) else {
            return Err(unreadable(&format_args!(
                "a field has {} children, a negative count",
                node.n_children
            )));
        };
        if children > 0 && (node.children.is_null() || !node.children.is_aligned()) {
            return Err(unreadable(&"a child list is null or misaligned"));
        }
        if children > MAX_SCHEMA_NODES {
            return Err(unreadable(&format_args!(
                "a field has {children} children, more than the {MAX_SCHEMA_NODES} a schema may hold"
            )));
        }
        for index in 0..children {
            // SAFETY: a list of `n_children` pointers (the producer's word), checked above.
            stack.push((unsafe { *node.children.add(index) }.cast_const(), depth + 1));
        }
        if !node.dictionary.is_null() {
            stack.push((node.dictionary.cast_const(), depth + 1));
        }
    }
    let mut schema = None;
    let outcome = crate::trampoline::guard(&mut || {
        schema = Some(Schema::try_from(ffi)?);
        Ok(())
    });
    match (outcome, schema) {
        (Ok(()), Some(schema)) => Ok(schema),
        (Err(failure), _) => Err(unreadable(&failing_column(ffi).unwrap_or(failure.message))),
        (Ok(()), None) => Err(unreadable(&"arrow-rs read nothing")),
    }
}

/// For a schema arrow-rs could not read (its tree checked already): the first column it
/// cannot read, named, with arrow-rs's reason (`column `qty`: ...`); `None` when every
/// column reads (the root itself is at fault) or the name is not UTF-8.
#[cold]
#[inline(never)]
fn failing_column(ffi: &FFI_ArrowSchema) -> Option<String> {
    let mut found = None;
    let _ = crate::trampoline::guard(&mut || {
        for column in ffi.children() {
            if let Err(error) = arrow_schema::Field::try_from(column) {
                let name = column.name().unwrap_or_default();
                let reason = match error {
                    arrow_schema::ArrowError::CDataInterface(words) => words,
                    other => other.to_string(),
                };
                // arrow-rs quotes a format it does not know twice (`""q""`): undone for
                // that format only, so no other doubled quote is touched.
                let format = column.format();
                let reason = reason.replace(&format!("\"\"{format}\"\""), &format!("\"{format}\""));
                found = Some(format!("column `{name}` (format `{format}`): {reason}"));
                break;
            }
        }
        Ok(())
    });
    found
}

impl SchemaInbox {
    /// One diff, from its kind and its two sides (taken, so released whatever happens),
    /// pushed onto `out`. An insert or a remove is written straight into `out`'s next
    /// slot: a `Diff` is a few hundred bytes, and moving one just built costs a stall per
    /// move (the copy's wide loads wait for the narrow stores that built it).
    ///
    /// # Safety
    /// As for [`SchemaInbox::read`].
    #[inline(always)]
    unsafe fn push_diff(
        &mut self,
        kind: u32,
        pre: Slot<'_>,
        post: Slot<'_>,
        out: &mut Vec<Diff>,
    ) -> Result<()> {
        out.reserve(1);
        let next = &mut out.spare_capacity_mut()[0];
        // SAFETY: every arm forwards the caller's guarantees; a value is assumed initialised
        // only after the `rows_into` that writes it returned `Ok`.
        unsafe {
            match kind {
                DIFF_INSERT => self.rows_into(post, Side::Post, next)?,
                DIFF_REMOVE => self.rows_into(pre, Side::Pre, next)?,
                DIFF_UPDATE => {
                    let (mut before, mut after) = (MaybeUninit::uninit(), MaybeUninit::uninit());
                    self.rows_into(pre, Side::Pre, &mut before)?;
                    // Read (and so dropped on an error) before `after` is.
                    let Diff::Remove { pre } = before.assume_init() else {
                        unreachable!("`rows_into` writes a remove for the pre side")
                    };
                    self.rows_into(post, Side::Post, &mut after)?;
                    let Diff::Insert { post } = after.assume_init() else {
                        unreachable!("`rows_into` writes an insert for the post side")
                    };
                    same_numbers(pre.row_numbers().values(), post.row_numbers().values())?;
                    next.write(Diff::Update { pre, post });
                }
                _ => unreachable!("`take_each_diff` admits only the three kinds"),
            }
            // SAFETY: the slot after the last diff, written just above.
            out.set_len(out.len() + 1);
        }
        Ok(())
    }

    /// Stores the schema an `AbiRows` carries, then reads its batch and, with `numbered`,
    /// its row numbers.
    ///
    /// # Safety
    /// The slot's schema must be null or point to a valid `FFI_ArrowSchema`.
    #[inline(always)]
    unsafe fn read(
        &mut self,
        slot: Slot<'_>,
        numbered: bool,
    ) -> Result<(Option<UInt64Array>, RecordBatch)> {
        let own = numbered && self.recognizes_own();
        let schema_id = slot.schema_id();
        // SAFETY: forwarded from the caller.
        unsafe { self.take_in(schema_id, slot.schema()) }?;
        let (received, copies, spares) = self.reading(schema_id)?;
        let schema = &received.schema;
        if slot.columns().is_released() {
            return Err(Error::unlocated(
                "a batch has no columns array (its release is null: released already, or never filled in)",
            ));
        }
        if own {
            // SAFETY: valid arrays (`Slot::new`), the columns unreleased (checked above).
            if let Some(rows) = unsafe { own_rows(schema, slot.columns(), slot.numbers()) } {
                return Ok(rows);
            }
        }
        let owner = slot.take_owner(spares).expect("columns checked above");
        // SAFETY: valid arrays (`Slot::new`).
        let read = unsafe { read_owned(&owner, schema, &received.columns, numbered, Some(copies)) };
        // No buffer shares the owner when every one was copied: the producer's arrays are
        // released now, and the owner serves the next batch.
        if let Some(mut emptied) = Unshared::of(owner) {
            emptied.owner_mut().release();
            keep_spare(spares, emptied);
        }
        read
    }

    /// Stores the schema a side carries, if any, whatever becomes of its batch (one that
    /// cannot be read empties its slot): for a change that failed part way. An absent side
    /// (schema id 0, or an id that names no slot) carries none, whatever its pointer holds:
    /// the ABI leaves that pointer unset there.
    ///
    /// # Safety
    /// `schema` is null or points to a valid `FFI_ArrowSchema` when `schema_id` names a
    /// slot.
    unsafe fn note(&mut self, schema_id: u64, schema: *const FFI_ArrowSchema) {
        if (1..=crate::abi::MAX_SCHEMA_ID).contains(&schema_id) && !schema.is_null() {
            // SAFETY: as the caller says. An error is the failed change's, reported already.
            let _ = unsafe { self.receive(schema_id, schema) };
        }
    }

    /// Stores the schema a side carries, if any, and returns the one its id names.
    ///
    /// # Safety
    /// `schema` is null or points to a valid `FFI_ArrowSchema`.
    pub(super) unsafe fn receive(
        &mut self,
        schema_id: u64,
        schema: *const FFI_ArrowSchema,
    ) -> Result<&Received> {
        // SAFETY: forwarded from the caller.
        unsafe { self.take_in(schema_id, schema) }?;
        self.received(schema_id)
    }

    /// Stores the schema a side carries, if any.
    ///
    /// # Safety
    /// As for [`SchemaInbox::receive`].
    unsafe fn take_in(&mut self, schema_id: u64, schema: *const FFI_ArrowSchema) -> Result<()> {
        if !schema.is_null() {
            let read = if schema.is_aligned() {
                // SAFETY: non-null, aligned and valid (caller).
                read_schema(unsafe { &*schema })
            } else {
                Err(Error::unlocated("a schema pointer is misaligned"))
            };
            match read {
                Ok(schema) => self.store(schema_id, Arc::new(schema))?,
                // The sender counts its schema as sent: a later batch naming the slot must be
                // an error, never read under the schema it held before.
                Err(error) => {
                    self.forget(schema_id);
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// One side of a diff, its whole import inlined into this one body (which the diff's
    /// kinds share, so the code is there once), written into `out` as the diff of that side
    /// alone (a remove of `pre` rows, an insert of `post` ones) when it is read, and left
    /// as it was when it is not.
    ///
    /// # Safety
    /// As for [`SchemaInbox::read`].
    #[inline(never)]
    unsafe fn rows_into(
        &mut self,
        slot: Slot<'_>,
        side: Side,
        out: &mut MaybeUninit<Diff>,
    ) -> Result<()> {
        let name = side.name();
        // SAFETY: forwarded.
        let (numbers, batch) =
            unsafe { self.read(slot, true) }.map_err(|e| e.context(format!("its {name} rows")))?;
        let numbers = numbers.expect("read with row numbers");
        if !Rows::pair(&numbers, &batch) {
            return Err(unpaired(numbers, batch, name));
        }
        let rows = Rows::paired(numbers, batch);
        out.write(match side {
            Side::Pre => Diff::Remove { pre: rows },
            Side::Post => Diff::Insert { post: rows },
        });
        Ok(())
    }
}

/// Which side of a diff a batch is.
#[derive(Clone, Copy)]
enum Side {
    Pre,
    Post,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Pre => "pre",
            Side::Post => "post",
        }
    }
}

/// The error of one side's row numbers that do not pair with its batch. (It takes them by
/// value: a reference to them would keep them in memory on the path that reads well, and
/// cost a copy there.)
#[cold]
#[inline(never)]
fn unpaired(numbers: UInt64Array, batch: RecordBatch, side: &str) -> Error {
    let why = crate::data::unpaired(&numbers, &batch);
    Error::unlocated(format!("its {side} rows: {why}"))
}

/// The sides of a diff of kind `kind` (a known one) are those of its kind: each side it
/// has names a schema, and the side it does not have is empty.
#[inline(always)]
fn sides_fit(kind: u32, pre: &Slot<'_>, post: &Slot<'_>) -> Result<()> {
    match kind {
        DIFF_INSERT => {
            absent(pre, "an insert", "pre")?;
            present(post, "an insert", "post")
        }
        DIFF_UPDATE => {
            present(pre, "an update", "pre")?;
            present(post, "an update", "post")
        }
        _ => {
            absent(post, "a remove", "post")?;
            present(pre, "a remove", "pre")
        }
    }
}

/// The side a diff does not have (an insert's pre, a remove's post) is empty: schema id 0
/// and released arrays (what it holds is released all the same).
#[inline(always)]
fn absent(slot: &Slot<'_>, diff: &str, side: &str) -> Result<()> {
    if slot.schema_id() == 0 && slot.columns().is_released() && slot.numbers().is_released() {
        return Ok(());
    }
    Err(cold(format_args!(
        "{diff} has no {side} rows, but its {side} side is not empty (schema id {}{}); an absent side is schema id 0 with released arrays",
        slot.schema_id(),
        if slot.columns().is_released() && slot.numbers().is_released() {
            ""
        } else {
            ", arrays not released"
        }
    )))
}

/// A side the diff has is there: a schema id (0 means an absent side).
#[inline(always)]
fn present(slot: &Slot<'_>, diff: &str, side: &str) -> Result<()> {
    if slot.schema_id() != 0 {
        return Ok(());
    }
    Err(cold(format_args!(
        "{diff} needs {side} rows, but its {side} side has schema id 0"
    )))
}

/// An update's two sides carry the same row numbers, in the same order (a consumer pairs
/// them by position: each old row just before its new one).
pub(crate) fn same_numbers(pre: &[u64], post: &[u64]) -> Result<()> {
    if pre == post {
        return Ok(());
    }
    Err(
        match pre.iter().zip(post.iter()).position(|(a, b)| a != b) {
            Some(at) => cold(format_args!(
                "an update's pre and post rows must carry the same row numbers in the same order, but its row {at} is number {} in pre and {} in post",
                pre[at], post[at]
            )),
            None => cold(format_args!(
                "an update's pre and post rows must carry the same row numbers in the same order, but pre has {} and post {}",
                rows(pre.len()),
                rows(post.len())
            )),
        },
    )
}

/// What an array that declares `n` nulls and has no validity bitmap is told (the import's
/// and the view's words alike).
#[cold]
pub(super) fn no_bitmap(n: usize) -> String {
    format!(
        "it has {} but no validity bitmap",
        crate::__private::counted(n, "null", "nulls")
    )
}

fn rows(n: usize) -> String {
    if n == 1 {
        "1 row".to_owned()
    } else {
        format!("{n} rows")
    }
}

/// The rows this process exported as `columns` and `numbers`, come back unchanged (see
/// [`recognize`]), as `schema` declares them: the very batch sent when `schema` is its own,
/// rebuilt with `schema` when that describes the same columns; `None` otherwise (import them
/// then). Out of line: most batches are not one's own.
///
/// # Safety
/// As for [`recognize`]; the rows are cloned before the arrays can be released.
#[inline(never)]
unsafe fn own_rows(
    schema: &SchemaRef,
    columns: &RawArray,
    numbers: &RawArray,
) -> Option<(Option<UInt64Array>, RecordBatch)> {
    // SAFETY: forwarded from the caller.
    let rows = unsafe { recognize(columns, numbers) }?;
    let batch = rows.batch();
    if Arc::ptr_eq(schema, batch.schema_ref()) || **schema == **batch.schema_ref() {
        return Some((Some(rows.row_numbers().clone()), batch.clone()));
    }
    if !describes(schema, batch.columns()) {
        return None;
    }
    // SAFETY: the batch's own columns, of its row count, each of the type and nullability
    // its field in `schema` declares (`describes`).
    let batch = unsafe {
        RecordBatch::new_unchecked(schema.clone(), batch.columns().to_vec(), batch.num_rows())
    };
    Some((Some(rows.row_numbers().clone()), batch))
}

/// Whether `schema` describes `columns`: one field per column, of its type, nullable
/// unless the column has no nulls.
fn describes(schema: &SchemaRef, columns: &[ArrayRef]) -> bool {
    let fields = schema.fields();
    fields.len() == columns.len()
        && fields.iter().zip(columns).all(|(field, column)| {
            field.data_type() == column.data_type()
                && (field.is_nullable() || column.null_count() == 0)
        })
}

/// Reads the batch of `owner` as `schema` and, with `numbered`, its row numbers.
///
/// # Safety
/// The owner's arrays are valid C Data Interface arrays (or released ones).
#[inline(always)]
pub(super) unsafe fn read_owned(
    owner: &Arc<Owner>,
    schema: &SchemaRef,
    columns: &[Column],
    numbered: bool,
    copies: Option<&mut Copies>,
) -> Result<(Option<UInt64Array>, RecordBatch)> {
    let mut importer = Importer::new(owner, copies);
    let numbers = if numbered {
        if owner.numbers.0.is_released() {
            return Err(Error::unlocated(
                "no row numbers (their array's release is null: released already, or never filled in)",
            ));
        }
        // SAFETY: a valid array (caller), kept alive by the importer's owner.
        let numbers = no_dictionary(&owner.numbers.0, &DataType::UInt64)
            .and_then(|()| unsafe { importer.primitive::<UInt64Type>(&owner.numbers.0) })
            .map_err(|e| e.context("its row numbers"))?;
        Some(numbers)
    } else {
        None
    };
    // SAFETY: a valid array (caller).
    let batch = unsafe { importer.batch(&owner.columns.0, schema, columns) }?;
    Ok((numbers, batch))
}

/// What every array's header must satisfy, read once.
#[derive(Debug)]
pub(super) struct Shape {
    pub(super) length: usize,
    pub(super) offset: usize,
    /// None when the producer did not count.
    pub(super) null_count: Option<usize>,
}

impl Shape {
    /// Checks `raw`'s header against a type with `buffers` buffers and `children` children.
    ///
    /// # Safety
    /// `raw` is a C Data Interface array as far as its fields' types go: its pointers are
    /// checked here only for being null or misaligned.
    #[inline(always)]
    pub(super) unsafe fn of(raw: &RawArray, buffers: usize, children: usize) -> Result<Shape> {
        // One test of everything on the way in; which check failed is worked out out of line.
        let fine = !raw.is_released()
            && raw.length >= 0
            && raw.offset >= 0
            // Slots a pointer can count to (on 64 bits, every sum that does not overflow).
            && raw
                .length
                .checked_add(raw.offset)
                .is_some_and(|end| end as u64 <= isize::MAX as u64)
            && (raw.null_count == -1 || (0..=raw.length).contains(&raw.null_count))
            && raw.n_buffers == buffers as i64
            && raw.n_children == children as i64
            && (buffers == 0 || (!raw.buffers.is_null() && raw.buffers.is_aligned()))
            && (children == 0 || (!raw.children.is_null() && raw.children.is_aligned()));
        if !fine {
            return Err(Shape::error(raw, buffers, children));
        }
        Ok(Shape {
            length: raw.length as usize,
            offset: raw.offset as usize,
            null_count: (raw.null_count != -1).then_some(raw.null_count as usize),
        })
    }

    /// What is wrong with a header that [`Shape::of`] refused: the first check it fails.
    #[cold]
    #[inline(never)]
    fn error(raw: &RawArray, buffers: usize, children: usize) -> Error {
        if raw.is_released() {
            return Error::unlocated("the array is released");
        }
        let (Ok(length), Ok(offset)) = (usize::try_from(raw.length), usize::try_from(raw.offset))
        else {
            return Error::unlocated(format!(
                "its length {} or offset {} is negative",
                raw.length, raw.offset
            ));
        };
        if raw
            .length
            .checked_add(raw.offset)
            .is_none_or(|end| end as u64 > isize::MAX as u64)
        {
            return Error::unlocated(format!(
                "its length {length} and offset {offset} are more slots than memory can hold"
            ));
        }
        if raw.null_count != -1 && !(0..=raw.length).contains(&raw.null_count) {
            return Error::unlocated(format!(
                "its null count {} is outside 0..={length}",
                raw.null_count
            ));
        }
        if raw.n_buffers != buffers as i64 {
            return Error::unlocated(format!(
                "it has {} buffers where its type has {buffers}",
                raw.n_buffers
            ));
        }
        if raw.n_children != children as i64 {
            return Error::unlocated(format!(
                "it has {} children where its type has {children}",
                raw.n_children
            ));
        }
        if buffers > 0 && (raw.buffers.is_null() || !raw.buffers.is_aligned()) {
            return Error::unlocated("its buffer list is null or misaligned");
        }
        Error::unlocated("its child list is null or misaligned")
    }

    /// Offset plus length: how many slots the buffers hold.
    pub(super) fn end(&self) -> usize {
        self.offset + self.length
    }

    /// The slots of this array that a parent of shape `parent` sees (a struct's offset and
    /// length apply to its children), or an error when the array is too short for them.
    #[inline(always)]
    fn within(&self, parent: &Shape) -> Result<Shape> {
        if self.length < parent.end() {
            return Err(too_short(self.length, parent.end()));
        }
        let whole = parent.offset == 0 && parent.length == self.length;
        Ok(Shape {
            // No overflow: at most `self.offset + self.length`, checked by `Shape::of`.
            offset: self.offset + parent.offset,
            length: parent.length,
            null_count: if whole || self.null_count == Some(0) {
                self.null_count
            } else {
                None
            },
        })
    }
}

/// How one top-level column of a schema is imported: a builder chosen for its type once,
/// when the schema arrives, so that a stream of batches does not match on the type of each
/// column of each batch. Fixed-width, boolean and Utf8/Binary columns (plain and large)
/// are built straight into their arrow-rs array at the struct's slots; every other type
/// goes through [`Importer::child`].
#[derive(Clone, Copy)]
pub(super) struct Column(ColumnBuild);

/// Imports the column at a child pointer of a struct of the given shape, as a data type.
type ColumnBuild =
    unsafe fn(&mut Importer<'_>, *mut RawArray, &DataType, &Shape) -> Result<ArrayRef>;

impl std::fmt::Debug for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Column")
    }
}

impl Column {
    /// The builder for a column of `data_type`.
    pub(super) fn for_type(data_type: &DataType) -> Column {
        macro_rules! fixed {
            ($t:ty) => {
                if *data_type == <$t as ArrowPrimitiveType>::DATA_TYPE {
                    Column(fixed_column::<$t, true>)
                } else {
                    Column(fixed_column::<$t, false>)
                }
            };
        }
        downcast_primitive!(
            data_type => (fixed),
            DataType::Boolean => Column(boolean_column),
            DataType::Utf8 => Column(bytes_column::<Utf8Type>),
            DataType::LargeUtf8 => Column(bytes_column::<LargeUtf8Type>),
            DataType::Binary => Column(bytes_column::<BinaryType>),
            DataType::LargeBinary => Column(bytes_column::<LargeBinaryType>),
            _ => Column(any_column),
        )
    }

    /// The builders for every column of `schema`.
    pub(super) fn for_schema(schema: &SchemaRef) -> Box<[Column]> {
        schema
            .fields()
            .iter()
            .map(|field| Column::for_type(field.data_type()))
            .collect()
    }

    /// Imports the column at `raw`, child of a struct of shape `parent`.
    ///
    /// # Safety
    /// `raw` is null or a valid C Data Interface array kept alive by the importer's owner;
    /// `data_type` is the type this builder was chosen for.
    #[inline(always)]
    unsafe fn import(
        self,
        importer: &mut Importer<'_>,
        raw: *mut RawArray,
        data_type: &DataType,
        parent: &Shape,
    ) -> Result<ArrayRef> {
        // SAFETY: forwarded from the caller.
        unsafe { (self.0)(importer, raw, data_type, parent) }
    }
}

/// The array a child pointer points to, once it is known to be non-null and aligned.
///
/// # Safety
/// `raw` is null or points to a valid C Data Interface array.
#[inline(always)]
unsafe fn node<'r>(raw: *mut RawArray) -> Result<&'r RawArray> {
    if raw.is_null() || !raw.is_aligned() {
        return Err(cold(format_args!(
            "the array pointer is null or misaligned"
        )));
    }
    // SAFETY: non-null, aligned and valid (caller).
    Ok(unsafe { &*raw })
}

/// An error unless `raw` has no dictionary (only a dictionary array has one).
#[inline(always)]
pub(super) fn no_dictionary(raw: &RawArray, data_type: &DataType) -> Result<()> {
    if raw.dictionary.is_null() {
        return Ok(());
    }
    Err(cold(format_args!(
        "an array of type {data_type} has a dictionary"
    )))
}

/// The error of a child shorter than the slots its parent needs of it.
#[cold]
fn too_short(length: usize, needed: usize) -> Error {
    cold(format_args!(
        "it has {length} rows where its parent needs {needed}"
    ))
}

/// An error made out of line, so that the path that does not fail carries no formatting
/// code.
#[cold]
#[inline(never)]
fn cold(message: std::fmt::Arguments<'_>) -> Error {
    Error::unlocated(std::fmt::format(message))
}

/// A fixed-width column (`EXACT` when its type is `T`'s own, not a parametric one such as
/// a timestamp with a zone).
///
/// # Safety
/// As for [`Column::import`].
#[inline(always)]
unsafe fn fixed_column<T: ArrowPrimitiveType, const EXACT: bool>(
    importer: &mut Importer<'_>,
    raw: *mut RawArray,
    data_type: &DataType,
    parent: &Shape,
) -> Result<ArrayRef> {
    // SAFETY: forwarded from the caller; the shape is checked before the buffers are read.
    let array = unsafe {
        let raw = node(raw)?;
        let shape = Shape::of(raw, 2, 0)?.within(parent)?;
        let array = importer.primitive_shaped::<T>(raw, &shape)?;
        no_dictionary(raw, data_type)?;
        array
    };
    Ok(if EXACT {
        Arc::new(array)
    } else {
        Arc::new(array.with_data_type(data_type.clone()))
    })
}

/// A boolean column.
///
/// # Safety
/// As for [`Column::import`].
#[inline(always)]
unsafe fn boolean_column(
    importer: &mut Importer<'_>,
    raw: *mut RawArray,
    data_type: &DataType,
    parent: &Shape,
) -> Result<ArrayRef> {
    // SAFETY: as above.
    unsafe {
        let raw = node(raw)?;
        let shape = Shape::of(raw, 2, 0)?.within(parent)?;
        let array = importer.boolean_shaped(raw, &shape)?;
        no_dictionary(raw, data_type)?;
        Ok(Arc::new(array))
    }
}

/// A Utf8 or Binary column, plain or large.
///
/// # Safety
/// As for [`Column::import`].
#[inline(always)]
unsafe fn bytes_column<T: ByteArrayType>(
    importer: &mut Importer<'_>,
    raw: *mut RawArray,
    data_type: &DataType,
    parent: &Shape,
) -> Result<ArrayRef> {
    // SAFETY: as above.
    unsafe {
        let raw = node(raw)?;
        let shape = Shape::of(raw, 3, 0)?.within(parent)?;
        let array = importer.bytes_shaped::<T>(raw, &shape)?;
        no_dictionary(raw, data_type)?;
        Ok(Arc::new(array))
    }
}

/// A column of any other type, through the general importer.
///
/// # Safety
/// As for [`Column::import`].
unsafe fn any_column(
    importer: &mut Importer<'_>,
    raw: *mut RawArray,
    data_type: &DataType,
    parent: &Shape,
) -> Result<ArrayRef> {
    // SAFETY: forwarded from the caller.
    unsafe { importer.child_at(raw, data_type, parent) }
}

/// Bytes for `count` values of `width` bytes, or an error naming the overflow.
#[inline(always)]
fn bytes_for(count: usize, width: usize) -> Result<usize> {
    // No allocation is larger than `isize::MAX` bytes: a length past that is a lie that
    // pointer arithmetic must never see.
    match count.checked_mul(width) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(bytes),
        _ => Err(cold(format_args!(
            "{count} values of {width} bytes are more than memory can hold"
        ))),
    }
}

/// A buffer misaligned for its type, copied into an aligned one (as arrow-rs requires of
/// typed buffers).
///
/// # Safety
/// `len` bytes are readable at `ptr`.
#[cold]
#[inline(never)]
unsafe fn aligned_copy(ptr: NonNull<u8>, len: usize) -> Buffer {
    // SAFETY: forwarded from the caller.
    Buffer::from_slice_ref(unsafe { std::slice::from_raw_parts(ptr.as_ptr(), len) })
}

/// Builds arrow-rs arrays over one batch's buffers.
struct Importer<'a> {
    owner: &'a Arc<Owner>,
    /// Where small buffers are copied; with none, every buffer is shared.
    copies: Option<&'a mut Copies>,
}

impl<'a> Importer<'a> {
    fn new(owner: &'a Arc<Owner>, copies: Option<&'a mut Copies>) -> Importer<'a> {
        Importer { owner, copies }
    }

    /// The batch at `raw`: a struct array without nulls whose children are the columns of
    /// `schema`.
    ///
    /// # Safety
    /// `raw` is a valid C Data Interface array, kept alive by the owner.
    #[inline(always)]
    unsafe fn batch(
        &mut self,
        raw: &RawArray,
        schema: &SchemaRef,
        plan: &[Column],
    ) -> Result<RecordBatch> {
        let fields = schema.fields();
        debug_assert_eq!(plan.len(), fields.len(), "one plan per field");
        if raw.n_children != fields.len() as i64 {
            return Err(Error::unlocated(format!(
                "the batch has {} columns where its schema has {}",
                raw.n_children,
                fields.len()
            )));
        }
        // SAFETY: a valid array (caller).
        let shape = unsafe { Shape::of(raw, 1, fields.len()) }?;
        if !raw.dictionary.is_null() {
            return Err(cold(format_args!(
                "a batch's struct array has a dictionary"
            )));
        }
        // SAFETY: as above.
        if unsafe { self.nulls(raw, &shape) }
            .map_err(|e| e.context("a batch's struct array"))?
            .is_some()
        {
            return Err(Error::unlocated(
                "a batch's struct array must not have null rows",
            ));
        }
        let mut columns = Vec::with_capacity(fields.len());
        for (i, (field, column)) in fields.iter().zip(plan).enumerate() {
            // SAFETY: `Shape::of` checked the child list (caller: the arrays are valid),
            // and the plan was made for this field's type.
            let column = unsafe { column.import(self, raw.child(i), field.data_type(), &shape) }
                .map_err(|e| e.context(format!("column `{}`", field.name())))?;
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(cold(format_args!(
                    "column `{}` is declared without nulls but has {}",
                    field.name(),
                    crate::__private::counted(column.null_count(), "null", "nulls")
                )));
            }
            columns.push(column);
        }
        // SAFETY: each column was built for its field's type, and `child` gave each the
        // struct's length.
        Ok(unsafe { RecordBatch::new_unchecked(schema.clone(), columns, shape.length) })
    }

    /// Buffer `index` of `raw`, `len` bytes long, shared with the owner (or copied when
    /// it is not aligned to `align`, as arrow-rs requires of typed buffers).
    ///
    /// # Safety
    /// `raw`'s buffer list holds `n_buffers` readable pointers (checked by `Shape::of`),
    /// and the producer declared buffer `index` to hold `len` bytes.
    #[inline(always)]
    unsafe fn buffer(
        &mut self,
        raw: &RawArray,
        index: usize,
        len: usize,
        align: usize,
    ) -> Result<Buffer> {
        // SAFETY: forwarded.
        unsafe { self.buffer_range(raw, index, 0, len, align) }
    }

    /// Bytes `skip..skip + len` of buffer `index` of `raw` (so a slice needs no second
    /// buffer object), as [`Importer::buffer`] does; copied instead when they are few and
    /// the importer has somewhere to copy them (`small`'s notes).
    ///
    /// # Safety
    /// As for [`Importer::buffer`], the buffer holding `skip + len` bytes; `skip` is a
    /// multiple of `align`.
    #[inline(always)]
    unsafe fn buffer_range(
        &mut self,
        raw: &RawArray,
        index: usize,
        skip: usize,
        len: usize,
        align: usize,
    ) -> Result<Buffer> {
        // SAFETY: within the list (caller).
        let ptr = unsafe { raw.buffer(index) }.cast::<u8>();
        if len == 0 {
            return Ok(match self.copies.as_deref_mut() {
                Some(copies) => copies.empty(),
                None => MutableBuffer::new(0).into(),
            });
        }
        let Some(ptr) = NonNull::new(ptr.cast_mut()) else {
            return Err(cold(format_args!(
                "its buffer {index} is null but must hold {} bytes",
                skip + len
            )));
        };
        // SAFETY: within the buffer's `skip + len` bytes (caller).
        let ptr = unsafe { ptr.add(skip) };
        if len <= SMALL
            && let Some(copies) = self.copies.as_deref_mut()
            // SAFETY: `len` readable bytes (caller).
            && let Some(copy) = unsafe { copies.copy(ptr, len, align) }
        {
            return Ok(copy);
        }
        if !(ptr.as_ptr() as usize).is_multiple_of(align) {
            // SAFETY: `len` readable bytes (caller).
            return Ok(unsafe { aligned_copy(ptr, len) });
        }
        let owner: Arc<dyn Allocation> = Arc::<Owner>::clone(self.owner);
        // SAFETY: `len` readable bytes (caller), kept alive by the owner: the producer
        // releases them only after the last buffer sharing the owner is dropped.
        Ok(unsafe { Buffer::from_custom_allocation(ptr, len, owner) })
    }

    /// The validity bitmap (buffer 0), or none when there are no nulls.
    ///
    /// # Safety
    /// As for [`Importer::buffer`].
    #[inline(always)]
    unsafe fn nulls(&mut self, raw: &RawArray, shape: &Shape) -> Result<Option<NullBuffer>> {
        if shape.null_count == Some(0) || shape.length == 0 {
            return Ok(None);
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.bitmap(raw, shape) }
    }

    /// [`Importer::nulls`] of an array that may have nulls, out of line: only such arrays
    /// pay for its code.
    ///
    /// # Safety
    /// As for [`Importer::buffer`].
    #[inline(never)]
    unsafe fn bitmap(&mut self, raw: &RawArray, shape: &Shape) -> Result<Option<NullBuffer>> {
        // SAFETY: the list has at least one buffer (every caller's type has a bitmap).
        if unsafe { raw.buffer(0) }.is_null() {
            return match shape.null_count {
                None => Ok(None),
                Some(n) => Err(Error::unlocated(no_bitmap(n))),
            };
        }
        // SAFETY: a bitmap covers offset + length bits (the C Data Interface).
        let bits = unsafe { self.buffer(raw, 0, shape.end().div_ceil(8), 1) }?;
        let bits = BooleanBuffer::new(bits, shape.offset, shape.length);
        let nulls = match shape.null_count {
            // SAFETY: the producer's count of the bitmap's zeros, taken on its word as
            // arrow-rs's own importer takes it (counting costs a popcount of the bitmap per
            // column: a quarter more on a wide batch of a thousand rows).
            Some(n) => unsafe { NullBuffer::new_unchecked(bits, n) },
            None => NullBuffer::new(bits),
        };
        Ok(Some(nulls).filter(|nulls| nulls.null_count() > 0))
    }

    /// A `values` buffer of `T`s at `index`, sliced to the array's slots.
    ///
    /// # Safety
    /// As for [`Importer::buffer`].
    #[inline(always)]
    unsafe fn values<T: ArrowNativeType>(
        &mut self,
        raw: &RawArray,
        index: usize,
        offset: usize,
        len: usize,
    ) -> Result<ScalarBuffer<T>> {
        bytes_for(offset + len, size_of::<T>())?;
        let size = size_of::<T>();
        // SAFETY: forwarded; a buffer of fixed-width values holds offset + length of them
        // (whose byte count does not overflow: checked above).
        let buffer =
            unsafe { self.buffer_range(raw, index, offset * size, len * size, align_of::<T>()) }?;
        Ok(ScalarBuffer::from(buffer))
    }

    /// The array at child `index` of `parent` (shape `shape`), as `data_type`, sliced to
    /// the parent's slots (a struct's offset applies to its children).
    ///
    /// # Safety
    /// `parent`'s child list was checked by `Shape::of` and holds valid arrays.
    unsafe fn child(
        &mut self,
        parent: &RawArray,
        index: usize,
        data_type: &DataType,
        shape: &Shape,
    ) -> Result<ArrayRef> {
        // SAFETY: within the list, valid (caller).
        unsafe { self.child_at(parent.child(index), data_type, shape) }
    }

    /// The array at `child`, a child of a parent of shape `shape`, as in [`Importer::child`].
    ///
    /// # Safety
    /// `child` is null or a valid C Data Interface array.
    unsafe fn child_at(
        &mut self,
        child: *mut RawArray,
        data_type: &DataType,
        shape: &Shape,
    ) -> Result<ArrayRef> {
        // SAFETY: a valid array (caller).
        let array = unsafe { self.array(child, data_type) }?;
        if array.len() < shape.end() {
            return Err(too_short(array.len(), shape.end()));
        }
        if shape.offset == 0 && array.len() == shape.length {
            return Ok(array);
        }
        Ok(array.slice(shape.offset, shape.length))
    }

    /// The array at `raw`.
    ///
    /// # Safety
    /// `raw` is null or a valid C Data Interface array under the owner's arrays.
    unsafe fn array(&mut self, raw: *mut RawArray, data_type: &DataType) -> Result<ArrayRef> {
        // SAFETY: null or valid (caller).
        let array = unsafe { node(raw) }?;
        macro_rules! primitive {
            ($t:ty) => {{
                let array = self.primitive::<$t>(array)?;
                // Only parametric types (a timestamp's zone, a decimal's precision) differ.
                if array.data_type() == data_type {
                    Arc::new(array)
                } else {
                    Arc::new(array.with_data_type(data_type.clone()))
                }
            }};
        }
        // SAFETY: every arm reads a valid array (caller) of the type it was given.
        let imported: ArrayRef = unsafe {
            downcast_primitive!(
            data_type => (primitive),
            DataType::Boolean => Arc::new(self.boolean(array)?),
            DataType::Utf8 => Arc::new(self.bytes::<Utf8Type>(array)?),
            DataType::LargeUtf8 => Arc::new(self.bytes::<LargeUtf8Type>(array)?),
            DataType::Binary => Arc::new(self.bytes::<BinaryType>(array)?),
            DataType::LargeBinary => Arc::new(self.bytes::<LargeBinaryType>(array)?),
            DataType::Utf8View => Arc::new(self.views::<StringViewType>(array)?),
            DataType::BinaryView => Arc::new(self.views::<BinaryViewType>(array)?),
            DataType::FixedSizeBinary(width) => Arc::new(self.fixed_binary(array, *width)?),
            DataType::Null => {
                let shape = Shape::of(array, 0, 0)?;
                Arc::new(NullArray::new(shape.length))
            }
            DataType::Struct(fields) => Arc::new(self.structure(array, fields)?),
            DataType::List(field) => Arc::new(self.list::<i32>(array, field)?),
            DataType::LargeList(field) => Arc::new(self.list::<i64>(array, field)?),
            DataType::Dictionary(keys, values) => {
                macro_rules! dictionary {
                    ($k:ty) => {
                        Arc::new(self.dictionary::<$k>(array, values)?)
                    };
                }
                downcast_integer!(
                    keys.as_ref() => (dictionary),
                    other => return Err(Error::unlocated(format!(
                        "its dictionary keys are {other}, where the Arrow format has integers"
                    )))
                )
            }
            // Every other type: arrow-rs imports it, in place.
            _ => return foreign(self.owner, array, data_type),
            )
        };
        if !matches!(data_type, DataType::Dictionary(..)) {
            no_dictionary(array, data_type)?;
        }
        Ok(imported)
    }

    /// # Safety
    /// `raw` is a valid C Data Interface array.
    #[inline(always)]
    unsafe fn primitive<T: ArrowPrimitiveType>(
        &mut self,
        raw: &RawArray,
    ) -> Result<PrimitiveArray<T>> {
        // SAFETY: a valid array (caller), checked before its buffers are read.
        unsafe { self.primitive_shaped(raw, &Shape::of(raw, 2, 0)?) }
    }

    /// The slots `shape` names of a fixed-width array whose header was checked.
    ///
    /// # Safety
    /// `raw` is a valid C Data Interface array whose header `Shape::of` checked; `shape` is
    /// its own or a window of it (`Shape::within`).
    #[inline(always)]
    unsafe fn primitive_shaped<T: ArrowPrimitiveType>(
        &mut self,
        raw: &RawArray,
        shape: &Shape,
    ) -> Result<PrimitiveArray<T>> {
        // SAFETY: forwarded from the caller.
        unsafe {
            let nulls = self.nulls(raw, shape)?;
            let values = self.values::<T::Native>(raw, 1, shape.offset, shape.length)?;
            // SAFETY: a validity bitmap, when there is one, covers the same slots.
            Ok(PrimitiveArray::new_unchecked(values, nulls))
        }
    }

    /// # Safety
    /// As for [`Importer::primitive`].
    unsafe fn boolean(&mut self, raw: &RawArray) -> Result<BooleanArray> {
        // SAFETY: as above.
        unsafe { self.boolean_shaped(raw, &Shape::of(raw, 2, 0)?) }
    }

    /// # Safety
    /// As for [`Importer::primitive_shaped`].
    unsafe fn boolean_shaped(&mut self, raw: &RawArray, shape: &Shape) -> Result<BooleanArray> {
        // SAFETY: as above.
        unsafe {
            let nulls = self.nulls(raw, shape)?;
            let values = self.buffer(raw, 1, shape.end().div_ceil(8), 1)?;
            let values = BooleanBuffer::new(values, shape.offset, shape.length);
            Ok(BooleanArray::new(values, nulls))
        }
    }

    /// The offsets of a variable-length array at buffer 1, with the first and last offset.
    ///
    /// # Safety
    /// As for [`Importer::primitive`].
    #[inline(always)]
    unsafe fn offsets<O: OffsetSizeTrait>(
        &mut self,
        raw: &RawArray,
        shape: &Shape,
    ) -> Result<(OffsetBuffer<O>, usize)> {
        // An empty array may come without offsets.
        // SAFETY: the list has at least two buffers (every caller's type).
        if shape.length == 0 && unsafe { raw.buffer(1) }.is_null() {
            return Ok((OffsetBuffer::new_empty(), 0));
        }
        // SAFETY: offset + length + 1 offsets (the C Data Interface).
        let offsets = unsafe { self.values::<O>(raw, 1, shape.offset, shape.length + 1) }?;
        let last = offset_ends(offsets[0], offsets[shape.length])?;
        // SAFETY: non-decreasing from the first to the last (checked); between them, the
        // producer's word.
        Ok((unsafe { OffsetBuffer::new_unchecked(offsets) }, last))
    }

    /// # Safety
    /// As for [`Importer::primitive`].
    unsafe fn bytes<T: ByteArrayType>(&mut self, raw: &RawArray) -> Result<GenericByteArray<T>> {
        // SAFETY: as above.
        unsafe { self.bytes_shaped(raw, &Shape::of(raw, 3, 0)?) }
    }

    /// # Safety
    /// As for [`Importer::primitive_shaped`].
    #[inline(always)]
    unsafe fn bytes_shaped<T: ByteArrayType>(
        &mut self,
        raw: &RawArray,
        shape: &Shape,
    ) -> Result<GenericByteArray<T>> {
        // SAFETY: as above.
        unsafe {
            let nulls = self.nulls(raw, shape)?;
            let (offsets, end) = self.offsets::<T::Offset>(raw, shape)?;
            let values = self.buffer(raw, 2, end, 1)?;
            Ok(GenericByteArray::new_unchecked(offsets, values, nulls))
        }
    }

    /// # Safety
    /// As for [`Importer::primitive`].
    unsafe fn views<T: ByteViewType + ?Sized>(
        &mut self,
        raw: &RawArray,
    ) -> Result<GenericByteViewArray<T>> {
        // Validity, views, the data buffers, and the list of their sizes. A view names its
        // data buffer with 32 bits: a list of more is refused before it is read.
        let data = view_data_buffers(raw)?;
        // SAFETY: as above.
        unsafe {
            let shape = Shape::of(raw, data + 3, 0)?;
            let nulls = self.nulls(raw, &shape)?;
            let views = self.values::<u128>(raw, 1, shape.offset, shape.length)?;
            // The sizes are read where they are: only the buffers they size are kept.
            let sizes = raw.buffer(data + 2).cast::<i64>();
            if data > 0 && sizes.is_null() {
                return Err(cold(format_args!(
                    "its buffer {} is null but must hold {} bytes",
                    data + 2,
                    data * size_of::<i64>()
                )));
            }
            let mut buffers = Vec::with_capacity(data.min(1024));
            for i in 0..data {
                // SAFETY: one size per data buffer (the C Data Interface), read as it lies.
                let size = sizes.add(i).read_unaligned();
                buffers.push(self.buffer(raw, i + 2, data_size(i, size)?, 1)?);
            }
            Ok(GenericByteViewArray::new_unchecked(
                views,
                buffers.into(),
                nulls,
            ))
        }
    }

    /// # Safety
    /// As for [`Importer::primitive`].
    unsafe fn fixed_binary(&mut self, raw: &RawArray, width: i32) -> Result<FixedSizeBinaryArray> {
        let Ok(size) = usize::try_from(width) else {
            return Err(Error::unlocated(format!(
                "its fixed-size binary width {width} is negative"
            )));
        };
        // SAFETY: as above.
        unsafe {
            let shape = Shape::of(raw, 2, 0)?;
            let nulls = self.nulls(raw, &shape)?;
            let values = self.buffer(raw, 1, bytes_for(shape.end(), size)?, 1)?;
            let values = values.slice_with_length(shape.offset * size, shape.length * size);
            Ok(FixedSizeBinaryArray::new_unchecked(
                width,
                values,
                nulls,
                shape.length,
            ))
        }
    }

    /// # Safety
    /// As for [`Importer::primitive`], children included.
    unsafe fn structure(&mut self, raw: &RawArray, fields: &Fields) -> Result<StructArray> {
        // SAFETY: as above.
        unsafe {
            let shape = Shape::of(raw, 1, fields.len())?;
            let nulls = self.nulls(raw, &shape)?;
            let mut children = Vec::with_capacity(fields.len());
            for (i, field) in fields.iter().enumerate() {
                let child = self
                    .child(raw, i, field.data_type(), &shape)
                    .map_err(|e| e.context(format!("field `{}`", field.name())))?;
                children.push(child);
            }
            Ok(StructArray::new_unchecked_with_length(
                fields.clone(),
                children,
                nulls,
                shape.length,
            ))
        }
    }

    /// # Safety
    /// As for [`Importer::structure`].
    unsafe fn list<O: OffsetSizeTrait>(
        &mut self,
        raw: &RawArray,
        field: &FieldRef,
    ) -> Result<GenericListArray<O>> {
        // SAFETY: as above.
        unsafe {
            let shape = Shape::of(raw, 2, 1)?;
            let nulls = self.nulls(raw, &shape)?;
            let (offsets, end) = self.offsets::<O>(raw, &shape)?;
            let values = self
                .array(raw.child(0), field.data_type())
                .map_err(|e| e.context("its values"))?;
            if values.len() < end {
                return Err(Error::unlocated(format!(
                    "its offsets reach {end} but its values hold {}",
                    values.len()
                )));
            }
            Ok(GenericListArray::new_unchecked(
                field.clone(),
                offsets,
                values,
                nulls,
            ))
        }
    }

    /// # Safety
    /// As for [`Importer::structure`], the dictionary included.
    unsafe fn dictionary<K: ArrowDictionaryKeyType>(
        &mut self,
        raw: &RawArray,
        values: &DataType,
    ) -> Result<DictionaryArray<K>> {
        if raw.dictionary.is_null() {
            return Err(Error::unlocated("a dictionary array has no dictionary"));
        }
        // SAFETY: as above.
        unsafe {
            let keys = self.primitive::<K>(raw)?;
            let values = self
                .array(raw.dictionary, values)
                .map_err(|e| e.context("its dictionary"))?;
            Ok(DictionaryArray::new_unchecked(keys, values))
        }
    }
}

/// Imports the array at `raw` with arrow-rs, in place: arrow-rs takes a copy of its header
/// whose `release` gives up one reference to the batch's owner, and reads the buffers and
/// children where they are. So the batch's arrays stay whole (a view can still forward them,
/// or build its rows again), and they are released with the batch. arrow-rs asserts
/// (panics) where an array's shape disagrees with its type, for instance a union with fewer
/// children than fields; such an array is an error here, never a panic in the caller.
///
/// # Safety
/// `raw` is a valid array under `owner`'s arrays (as for [`Importer::array`]).
unsafe fn foreign(owner: &Arc<Owner>, raw: &RawArray, data_type: &DataType) -> Result<ArrayRef> {
    // arrow-rs takes every header under `raw` as given: check them as ours are checked.
    // SAFETY: a valid array (caller).
    unsafe { foreign_shape(raw, data_type) }?;
    let borrowed = RawArray {
        release: Some(release_borrowed),
        private_data: Box::into_raw(Box::new(owner.clone())).cast(),
        ..*raw
    };
    let mut array = Some(borrowed.into_ffi());
    let mut imported = None;
    // Both the import and the typed array arrow-rs makes of it assert on shapes it does not
    // check (a child shorter than its parent needs): under the guard, they are errors.
    let outcome = crate::trampoline::guard(&mut || {
        if let Some(array) = array.take() {
            // SAFETY: a valid C Data Interface array (caller) of the type its schema gave,
            // whose buffers and children the owner it holds keeps alive.
            let data = unsafe { from_ffi_and_data_type(array, data_type.clone()) }?;
            imported = Some(make_array(data));
        }
        Ok(())
    });
    match (outcome, imported) {
        (Ok(()), Some(array)) => Ok(array),
        (Err(failure), _) => Err(Error::unlocated(format!(
            "an array does not match its type {data_type}: {}",
            failure.message
        ))),
        (Ok(()), None) => Err(Error::unlocated("an array could not be imported")),
    }
}

/// Checks the header of `raw`, an array of `data_type` for arrow-rs to import, and of every
/// array under it, as [`Shape::of`] checks the arrays oplink builds: arrow-rs reads lengths,
/// offsets, counts and lists as given. Errors name the child or dictionary that is wrong.
///
/// # Safety
/// `raw` is a valid C Data Interface array as far as its fields' types go.
unsafe fn foreign_shape(raw: &RawArray, data_type: &DataType) -> Result<()> {
    let layout = arrow_data::layout(data_type);
    let buffers = layout.buffers.len() + usize::from(layout.can_contain_null_mask);
    // A view array has its data buffers and their sizes after the fixed ones.
    let buffers = if layout.variadic && raw.n_buffers > buffers as i64 {
        usize::try_from(raw.n_buffers).unwrap_or(buffers)
    } else if layout.variadic {
        buffers + 1
    } else {
        buffers
    };
    let children: Vec<&DataType> = match data_type {
        DataType::Struct(fields) => fields.iter().map(|f| f.data_type()).collect(),
        DataType::Union(fields, _) => fields.iter().map(|(_, f)| f.data_type()).collect(),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::Map(f, _) => vec![f.data_type()],
        DataType::RunEndEncoded(ends, values) => vec![ends.data_type(), values.data_type()],
        _ => Vec::new(),
    };
    if layout.variadic {
        view_data_buffers(raw)?;
    }
    // SAFETY: as the caller says.
    let shape = unsafe { Shape::of(raw, buffers, children.len()) }?;
    // What arrow-rs computes from the header, held to what memory can hold, as the arrays
    // oplink builds are: each fixed-width buffer's bytes (one slot more, for offsets).
    let slots = shape.offset + shape.length;
    for spec in &layout.buffers {
        if let arrow_data::BufferSpec::FixedWidth { byte_width, .. } = spec {
            bytes_for(slots + 1, *byte_width)?;
        }
    }
    // SAFETY: `Shape::of` checked the buffer list; the offsets' type is the data type's.
    let last = unsafe {
        match data_type {
            DataType::Utf8 | DataType::Binary | DataType::List(_) | DataType::Map(..) => {
                end_offsets::<i32>(raw, &shape)?
            }
            DataType::LargeUtf8 | DataType::LargeBinary | DataType::LargeList(_) => {
                end_offsets::<i64>(raw, &shape)?
            }
            _ => None,
        }
    };
    if layout.variadic {
        // SAFETY: `Shape::of` checked the buffer list: the sizes are its last buffer.
        unsafe { view_sizes(raw, buffers - 3) }?;
    }
    // How many rows each child must have: a list's last offset, a fixed-size list's slots
    // times its size, a struct's slots.
    let needed = match data_type {
        DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) => last,
        DataType::FixedSizeList(_, size) => Some(
            usize::try_from(*size)
                .ok()
                .and_then(|size| slots.checked_mul(size))
                .ok_or_else(|| {
                    cold(format_args!(
                        "{slots} lists of {size} values are more than memory can hold"
                    ))
                })?,
        ),
        DataType::Struct(_) => Some(slots),
        _ => None,
    };
    for (index, child_type) in children.into_iter().enumerate() {
        // SAFETY: `Shape::of` checked the child list: `n_children` pointers.
        let child = unsafe { *raw.children.add(index) };
        // SAFETY: null, misaligned or a valid array (the producer's word).
        unsafe {
            node(child).and_then(|child| {
                foreign_shape(child, child_type)?;
                match needed {
                    Some(needed) if (child.length as usize) < needed => {
                        Err(too_short(child.length as usize, needed))
                    }
                    _ => Ok(()),
                }
            })
        }
        .map_err(|e| e.context(format!("child {index}")))?;
    }
    if let DataType::RunEndEncoded(ends, _) = data_type {
        // SAFETY: both children passed `foreign_shape` just above, run ends of this type.
        unsafe { runs_cover(raw, &shape, ends.data_type()) }?;
    }
    match data_type {
        DataType::Dictionary(_, values) => {
            // SAFETY: null, misaligned or a valid array (the producer's word).
            unsafe {
                node(raw.dictionary).and_then(|values_array| foreign_shape(values_array, values))
            }
            .map_err(|e| e.context("its dictionary"))
        }
        _ => no_dictionary(raw, data_type),
    }
}

/// Whether the runs of a run-end-encoded array cover its rows, as arrow-rs takes them to:
/// it finds a row's run by a binary search over the run ends and reads the run's value
/// unchecked, so the last run end must reach past the array's last slot and every run end
/// needs a value. (That the run ends rise is the producer's word, as a list's offsets
/// between the first and the last are: the search stays among them whatever they hold.)
///
/// # Safety
/// `raw` passed [`foreign_shape`] as a run-end-encoded array of `shape` whose run ends are
/// of `ends`: two valid children, each with its buffer list.
unsafe fn runs_cover(raw: &RawArray, shape: &Shape, ends: &DataType) -> Result<()> {
    if !matches!(ends, DataType::Int16 | DataType::Int32 | DataType::Int64) {
        return Err(cold(format_args!(
            "its run ends are {ends}, where they are Int16, Int32 or Int64"
        )));
    }
    // SAFETY: two valid children (caller).
    let (run_ends, values) = unsafe { (&**raw.children, &**raw.children.add(1)) };
    if values.length < run_ends.length {
        return Err(cold(format_args!(
            "its {} run ends have {} values",
            run_ends.length, values.length
        )));
    }
    if shape.length == 0 {
        return Ok(());
    }
    if run_ends.null_count > 0 {
        return Err(cold(format_args!("its run ends hold nulls")));
    }
    let Some(last) = (run_ends.offset + run_ends.length)
        .checked_sub(1)
        .filter(|_| run_ends.length > 0)
    else {
        return Err(cold(format_args!(
            "it has {} rows and no run ends",
            shape.length
        )));
    };
    // SAFETY: a valid array of a fixed-width type has two buffers (caller).
    let ptr = unsafe { run_ends.buffer(1) };
    /// The value at `at` of the run ends' buffer, when it is there and aligned.
    ///
    /// # Safety
    /// `ptr` holds `at + 1` values of `T` when it is not null (the producer's word).
    unsafe fn read<T: Copy + Into<i64>>(ptr: *const std::ffi::c_void, at: i64) -> Option<i64> {
        let ptr = ptr.cast::<T>();
        // SAFETY: as the caller says.
        (!ptr.is_null() && ptr.is_aligned()).then(|| unsafe { *ptr.add(at as usize) }.into())
    }
    // SAFETY: the run ends' length and offset passed `Shape::of` for their own type, which
    // is the one read; `last` is their last slot.
    let end = unsafe {
        match ends {
            DataType::Int16 => read::<i16>(ptr, last),
            DataType::Int32 => read::<i32>(ptr, last),
            _ => read::<i64>(ptr, last), // Int64: checked above
        }
    }
    .ok_or_else(|| cold(format_args!("its run ends are null or misaligned")))?;
    let rows = shape.end();
    if end < 0 || (end as u64) < rows as u64 {
        return Err(cold(format_args!(
            "its last run ends at {end}, before the end of its {rows} slots"
        )));
    }
    Ok(())
}

/// The first and last offsets of `raw` (buffer 1, of `O`), checked as the importer checks
/// its own lists' (`0 <= first <= last`); `None` for an empty array without offsets.
///
/// # Safety
/// `raw` passed [`Shape::of`] with at least two buffers, and `bytes_for` accepted its
/// `offset + length + 1` offsets of `O`.
unsafe fn end_offsets<O: OffsetSizeTrait>(raw: &RawArray, shape: &Shape) -> Result<Option<usize>> {
    // SAFETY: two buffers at least (caller).
    let ptr = unsafe { raw.buffer(1) }.cast::<O>();
    if ptr.is_null() && shape.length == 0 {
        return Ok(None);
    }
    if ptr.is_null() || !ptr.is_aligned() {
        return Err(cold(format_args!("its offsets are null or misaligned")));
    }
    // SAFETY: `offset + length + 1` offsets (the C Data Interface), within what memory can
    // hold (caller).
    let (first, last) = unsafe {
        (
            *ptr.add(shape.offset),
            *ptr.add(shape.offset + shape.length),
        )
    };
    offset_ends(first, last).map(Some)
}

/// The last of a list's offsets as a count, when its first and last are in order and not
/// negative (what lies between them is the producer's word).
fn offset_ends<O: OffsetSizeTrait>(first: O, last: O) -> Result<usize> {
    match (first.to_usize(), last.to_usize()) {
        (Some(first), Some(last)) if first <= last => Ok(last),
        _ => Err(cold(format_args!(
            "its offsets run from {first:?} to {last:?}"
        ))),
    }
}

/// How many data buffers a view array lists (its buffers past validity, views and sizes):
/// a view names its data buffer with 32 bits, so a list of more is refused before it is
/// read.
fn view_data_buffers(raw: &RawArray) -> Result<usize> {
    let data = (raw.n_buffers.max(3) - 3) as usize;
    if data > u32::MAX as usize {
        return Err(Error::unlocated(format!(
            "it has {} buffers, more than a view array can name",
            raw.n_buffers
        )));
    }
    Ok(data)
}

/// The size of a view array's data buffer `i`, which may not be negative.
fn data_size(i: usize, size: i64) -> Result<usize> {
    usize::try_from(size)
        .map_err(|_| Error::unlocated(format!("its data buffer {i} has a negative size ({size})")))
}

/// Checks the sizes of a view array's `data` data buffers (its last buffer): none
/// negative.
///
/// # Safety
/// `raw` passed [`Shape::of`] with `data + 3` buffers.
unsafe fn view_sizes(raw: &RawArray, data: usize) -> Result<()> {
    if data == 0 {
        return Ok(());
    }
    // SAFETY: `data + 3` buffers (caller).
    let sizes = unsafe { raw.buffer(data + 2) }.cast::<i64>();
    if sizes.is_null() || !sizes.is_aligned() {
        return Err(cold(format_args!(
            "the sizes of its data buffers are null or misaligned"
        )));
    }
    for i in 0..data {
        // SAFETY: one size per data buffer (the C Data Interface).
        data_size(i, unsafe { *sizes.add(i) })?;
    }
    Ok(())
}

/// The `release` of the header [`foreign`] hands arrow-rs: gives up its reference to the
/// batch's owner (the array it copies, with its children, is released with the batch).
///
/// # Safety
/// Called once by arrow-rs on a header made by [`foreign`].
unsafe extern "C" fn release_borrowed(array: *mut RawArray) {
    // SAFETY: a header made by `foreign`, whose `private_data` is a boxed owner (caller).
    unsafe {
        let array = &mut *array;
        if array.release.take().is_some() {
            drop(Box::from_raw(array.private_data.cast::<Arc<Owner>>()));
        }
    }
}
