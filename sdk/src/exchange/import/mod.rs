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
//!
//! The parts: this module takes changes and batches in, diff by diff and side by side;
//! [`owner`] holds a batch's arrays until its last buffer goes; [`columns`] checks an
//! array's header and builds the common top-level columns; [`arrays`] builds arrays of
//! every type oplink builds itself, at any depth; [`foreign`] hands the others to arrow-rs.

use std::mem::MaybeUninit;
use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::types::UInt64Type;
use arrow_array::{Array, ArrayRef, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Schema, SchemaRef};

use super::export::{recognize, sides};
use super::raw::{RawArray, RawSchema, Taken};
use super::schema::{Received, same_schema};
use super::small::Copies;
use super::{MAX_SCHEMA_DEPTH, SchemaInbox};
use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT, DIFF_REMOVE, DIFF_UPDATE};
use crate::data::{Change, Diff, Rows, Timestamp};
use crate::{Error, Result};

use arrays::Importer;
use columns::cold;
pub(super) use columns::{Column, Shape, no_dictionary};
pub(super) use foreign::{empty_bytes_mended, view_data_buffers, view_sizes};
pub(super) use owner::{Owner, Slot, Unshared, keep_spare};
pub(super) use sent::Placement;
use sent::Sent;

mod arrays;
mod columns;
mod foreign;
mod owner;
mod sent;

/// Takes a change laid out by the other side.
///
/// # Safety
/// `abi` must describe `diff_count` diffs whose arrays are valid C Data Interface arrays
/// (or released ones) not taken yet, with non-null schemas alive for this call.
pub unsafe fn import_change(abi: &AbiChange, inbox: &mut SchemaInbox) -> Result<Change> {
    // SAFETY: forwarded from the caller.
    unsafe { import_answer(abi, inbox, None) }
}

/// Takes a change laid out by the other side in answer to `sent`, the diffs this side sent
/// it (`Outgoing::sent`): a column that comes back holding the values of the column sent in
/// its place (the same diff and side, the column of its name) is taken as that column
/// itself, with no new array built (the `sent` module's notes). Without `sent`, as
/// [`import_change`].
///
/// # Safety
/// As for [`import_change`]; `sent`'s values are alive (they are borrowed).
pub unsafe fn import_answer(
    abi: &AbiChange,
    inbox: &mut SchemaInbox,
    sent: Option<&[Diff]>,
) -> Result<Change> {
    inbox.start_copies();
    // The count is the producer's word, checked below: not trusted for an allocation.
    let mut out = Vec::with_capacity(abi.diff_count.min(1024));
    // SAFETY: forwarded from the caller; each diff's schemas are alive for the call.
    unsafe {
        take_each_diff(abi, inbox, |inbox, kind, pre, post| {
            let sent = sent.and_then(|sent| sent.get(out.len()));
            inbox.push_diff(kind, pre, post, &mut out, sent)
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
            return Err(untrusted(index, diffs.len(), kind, reserved, inbox));
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
fn untrusted(
    index: usize,
    count: usize,
    kind: u32,
    reserved: u32,
    inbox: &mut SchemaInbox,
) -> Error {
    inbox.forget_all();
    // Zeroed memory past the diffs written is the likeliest source of a kind of 0, and
    // whatever lies past them (another allocation, freed memory) of a bad last diff: a C
    // operator that counts one diff too many meets it there, as any number.
    let hint = if kind == 0 || index + 1 == count {
        " (is `diff_count` larger than the diffs written?)"
    } else {
        ""
    };
    let what = if reserved != 0 {
        format!("its reserved field is {reserved}, not 0{hint}")
    } else {
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
    let (_, batch) = unsafe { inbox.read(slot, false, None) }?;
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
    unsafe { Importer::new(&owner, None).batch(&owner.columns.0, &schema, &columns, None) }
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
    // Fields: every node but the root (the batch itself, at depth 0).
    let mut fields = 0usize;
    while let Some((node, depth)) = stack.pop() {
        fields += usize::from(depth > 0);
        if depth > MAX_SCHEMA_DEPTH || fields > MAX_SCHEMA_NODES {
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
    /// move (the copy's wide loads wait for the narrow stores that built it). `sent`: the
    /// diff this side sent at the same place, when this is an answer to it.
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
        sent: Option<&Diff>,
    ) -> Result<()> {
        out.reserve(1);
        let next = &mut out.spare_capacity_mut()[0];
        let [sent_pre, sent_post] = sent.map_or([None, None], sides);
        // SAFETY: every arm forwards the caller's guarantees; a value is assumed initialised
        // only after the `rows_into` that writes it returned `Ok`.
        unsafe {
            match kind {
                DIFF_INSERT => self.rows_into(post, Side::Post, next, sent_post)?,
                DIFF_REMOVE => self.rows_into(pre, Side::Pre, next, sent_pre)?,
                DIFF_UPDATE => {
                    let (mut before, mut after) = (MaybeUninit::uninit(), MaybeUninit::uninit());
                    self.rows_into(pre, Side::Pre, &mut before, sent_pre)?;
                    // Read (and so dropped on an error) before `after` is.
                    let Diff::Remove { pre } = before.assume_init() else {
                        unreachable!("`rows_into` writes a remove for the pre side")
                    };
                    self.rows_into(post, Side::Post, &mut after, sent_post)?;
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
    /// its row numbers (`sent`: the rows this side sent at the same place, when this is an
    /// answer to them).
    ///
    /// # Safety
    /// The slot's schema must be null or point to a valid `FFI_ArrowSchema`.
    #[inline(always)]
    unsafe fn read(
        &mut self,
        slot: Slot<'_>,
        numbered: bool,
        sent: Option<&Rows>,
    ) -> Result<(Option<UInt64Array>, RecordBatch)> {
        let own = numbered && self.recognizes_own();
        let schema_id = slot.schema_id();
        // SAFETY: forwarded from the caller.
        unsafe { self.take_in(schema_id, slot.schema()) }?;
        let (received, copies, spares) = self.reading(schema_id)?;
        let Received {
            schema,
            columns: plan,
            placement,
        } = received;
        let sent = sent.map(|rows| Sent {
            rows,
            at: placement.of(schema, rows.batch().schema_ref()),
        });
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
        let read = unsafe { read_owned(&owner, schema, plan, numbered, Some(copies), sent) };
        // No buffer shares the owner when every one was copied (or its column is the one
        // sent, taken back): the producer's arrays are released now, and the owner serves
        // the next batch.
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
        sent: Option<&Rows>,
    ) -> Result<()> {
        let name = side.name();
        // SAFETY: forwarded.
        let (numbers, batch) = unsafe { self.read(slot, true, sent) }
            .map_err(|e| e.context(format!("its {name} rows")))?;
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

/// The error of row numbers that a batch's length does not match.
#[cold]
#[inline(never)]
fn miscounted(numbers: usize, rows: usize) -> Error {
    Error::unlocated(crate::data::miscounted(numbers, rows))
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
    if Arc::ptr_eq(schema, batch.schema_ref()) || same_schema(schema, batch.schema_ref()) {
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

/// Reads the batch of `owner` as `schema` and, with `numbered`, its row numbers; with
/// `sent`, the rows this side sent at the same place, a column or row numbers that hold
/// the values of the sent ones of their place are those (the `sent` module's notes).
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
    sent: Option<Sent<'_>>,
) -> Result<(Option<UInt64Array>, RecordBatch)> {
    let mut importer = Importer::new(owner, copies);
    let numbers = if numbered {
        if owner.numbers.0.is_released() {
            return Err(Error::unlocated(
                "no row numbers (their array's release is null: released already, or never filled in)",
            ));
        }
        let numbers = match sent.map(|sent| sent.rows.row_numbers()) {
            // SAFETY: a valid array (caller), unreleased (checked above).
            Some(sent) if unsafe { same_numbers_as(&owner.numbers.0, sent) } => sent.clone(),
            _ => no_dictionary(&owner.numbers.0, &DataType::UInt64)
                // SAFETY: a valid array (caller), kept alive by the importer's owner.
                .and_then(|()| unsafe { importer.primitive::<UInt64Type>(&owner.numbers.0) })
                .map_err(|e| e.context("its row numbers"))?,
        };
        // Counted against the batch's length before its columns are read: a batch longer
        // than its row numbers may be longer than its buffers too (which no one can check).
        if let Ok(rows) = usize::try_from(owner.columns.0.length)
            && rows != numbers.len()
        {
            return Err(miscounted(numbers.len(), rows));
        }
        Some(numbers)
    } else {
        None
    };
    // SAFETY: a valid array (caller).
    let batch = unsafe { importer.batch(&owner.columns.0, schema, columns, sent) }?;
    Ok((numbers, batch))
}

/// Whether the row numbers at `raw` are `sent`'s (see [`sent::same_fixed`]).
///
/// # Safety
/// `raw` is a valid C Data Interface array, unreleased.
#[inline(always)]
unsafe fn same_numbers_as(raw: &RawArray, sent: &UInt64Array) -> bool {
    // SAFETY: a valid array (caller), its header checked before its buffers are read.
    unsafe { Shape::of(raw, 2, 0).is_ok_and(|shape| sent::same_fixed(raw, &shape, sent)) }
}
