//! A batch's owner: its arrays as the producer laid them out, until the last buffer goes.

use std::sync::Arc;

use arrow_array::ffi::FFI_ArrowSchema;

use crate::abi::AbiRows;
use crate::exchange::raw::{RawArray, Taken};

/// The arrays of one batch as the producer laid them out: every buffer imported from them
/// holds it, and the last one to go releases them.
#[derive(Debug)]
pub(in crate::exchange) struct Owner {
    pub(in crate::exchange) columns: Taken,
    pub(in crate::exchange) numbers: Taken,
}

impl Owner {
    /// Releases the arrays now, leaving released ones in their place.
    pub(super) fn release(&mut self) {
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
pub(in crate::exchange) struct Unshared(Arc<Owner>);

impl Unshared {
    /// `owner`, if nothing else refers to it (dropped otherwise).
    #[inline(always)]
    pub(in crate::exchange) fn of(owner: Arc<Owner>) -> Option<Unshared> {
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
    pub(in crate::exchange) fn owner_mut(&mut self) -> &mut Owner {
        // SAFETY: nothing else refers to the owner (`Unshared::of`), and `self`, which holds
        // its only reference, is borrowed mutably for as long as the result lives.
        unsafe { &mut *Arc::as_ptr(&self.0).cast_mut() }
    }
}

/// Keeps `owner`, emptied (its arrays released), for the next batch's `Slot::take_owner`,
/// while `spares` has room.
pub(in crate::exchange) fn keep_spare(spares: &mut Vec<Unshared>, owner: Unshared) {
    if spares.len() < MAX_SPARE_OWNERS {
        spares.push(owner);
    }
}

/// One side of a diff as it arrived, its arrays still in place: whoever reads it may take
/// them (into an owner); whatever is left is released when the slot drops, so every array
/// is released whatever happens.
#[derive(Debug)]
pub(in crate::exchange) struct Slot<'a>(&'a mut AbiRows);

impl<'a> Slot<'a> {
    /// # Safety
    /// The arrays in `rows` must be valid C Data Interface arrays (or released ones), not
    /// taken by anyone else.
    pub(in crate::exchange) unsafe fn new(rows: &'a mut AbiRows) -> Slot<'a> {
        Slot(rows)
    }

    pub(in crate::exchange) fn schema_id(&self) -> u64 {
        self.0.schema_id
    }

    pub(in crate::exchange) fn schema(&self) -> *const FFI_ArrowSchema {
        self.0.schema
    }

    /// The batch's struct array (released when absent or taken).
    pub(in crate::exchange) fn columns(&self) -> &RawArray {
        // SAFETY: the same layout as `RawArray` (asserted in `raw`).
        unsafe { &*(&raw const self.0.columns).cast::<RawArray>() }
    }

    /// The row numbers (released when absent or taken).
    pub(in crate::exchange) fn numbers(&self) -> &RawArray {
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
    pub(in crate::exchange) fn take_owner(
        mut self,
        spares: &mut Vec<Unshared>,
    ) -> Option<Arc<Owner>> {
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
