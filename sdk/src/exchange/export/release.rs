//! Giving a block's arrays back: the `release` the receiver calls, and what it frees.

use std::sync::atomic::{Ordering, fence};

use arrow_array::RecordBatch;

use super::Kept;
use super::block::{Bounds, Header, Top};
use crate::data::Diff;
use crate::exchange::MAX_SCHEMA_DEPTH;
use crate::exchange::raw::RawArray;

/// The `release` of a top-level array: the block's, once `private_data` is the block again.
pub(super) unsafe extern "C" fn release_top(array: *mut RawArray) {
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

/// The `release` of every array a block holds. It releases the array's whole subtree at
/// once: every array of the block under it that is still in place is marked released and
/// counted, so the block's count falls by one atomic step per release call, not one per
/// array (children moved out by the consumer were marked released in place, and are
/// counted when their own release comes).
pub(super) unsafe extern "C" fn release(array: *mut RawArray) {
    // SAFETY: called by the consumer on an array of ours that it has not released yet; its
    // lists and its children live in the block, which this array's count keeps alive.
    unsafe {
        let array = &mut *array;
        if array.release.is_none() {
            return;
        }
        let header = array.private_data.cast::<Header>();
        let released = take_subtree(array, header);
        count_off(header, released);
    }
}

/// Takes `released` off the count of a block's unreleased arrays (a pin counts as one):
/// the last ones drop the values the block keeps and give up the arrays' reference.
///
/// # Safety
/// `header` is a live block whose count includes `released` that the caller gives up.
pub(super) unsafe fn count_off(header: *mut Header, released: usize) {
    // SAFETY: alive while the caller's counts are (caller).
    unsafe {
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

/// Marks `array` and every unreleased array of ours under it released, releases the
/// foreign ones under it (laid out by arrow-rs), and returns how many of ours it marked.
///
/// # Safety
/// `array` is an unreleased array of the block of `header`.
pub(super) unsafe fn take_subtree(array: &mut RawArray, header: *mut Header) -> usize {
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
pub(super) unsafe fn give_up(header: *mut Header) {
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
