//! Arrays of ours that come back: a change returned whole, and rows recognised.

use std::sync::atomic::Ordering;

use arrow_array::Array;

use super::block::{Bounds, Header, Top, tops_offset};
use super::release::{release, release_top, take_subtree};
use super::{Kept, Outgoing, kind, sides};
use crate::abi::AbiRows;
use crate::data::{Diff, Rows};
use crate::exchange::MAX_SCHEMA_DEPTH;
use crate::exchange::raw::RawArray;

impl Outgoing {
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
        // A pin is given up with the arrays: the values are taken back whole.
        self.pinned = false;
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
pub(in crate::exchange) unsafe fn recognize<'a>(
    columns: &'a RawArray,
    numbers: &RawArray,
) -> Option<&'a Rows> {
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

/// Whether a list's arrays stand at rising addresses, as they were laid out (one after
/// another): none moved to another place of the list.
fn laid_out_in_order(children: &[*mut RawArray]) -> bool {
    children.windows(2).all(|pair| pair[0] < pair[1])
}
