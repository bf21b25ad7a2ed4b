//! Small buffers are copied, not shared.
//!
//! Sharing a buffer with its producer costs an allocation for arrow-rs's `Bytes` per buffer,
//! one for the batch's owner, and as many frees afterwards; copying a few bytes costs far
//! less. So a buffer of at most [`SMALL`] bytes is copied into a block the inbox keeps, and
//! handed out as a slice of one `Buffer` over the whole block. A batch whose buffers were all
//! copied takes no allocation for its buffers, and its producer's arrays are released as
//! soon as it is read. Larger buffers are shared as before: the data itself is never copied
//! where copying would cost more than sharing.
//!
//! A block is written only while every slice of it is held by the change being read. Before
//! each change the inbox looks: when no slice of its block is left (the usual case: each
//! change is dropped before the next one arrives), the block is filled from its start again;
//! when slices of it are held elsewhere (a batch kept in an operator's state, or by the
//! host), the block is theirs from then on, never written again, and the next copy begins a
//! new one. Whoever holds a slice may read the whole block (arrow-rs's `Debug` of a buffer
//! prints all of it), so nothing less would do. A change's copies take one block at most:
//! what does not fit is shared.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};

use arrow_buffer::Buffer;
use arrow_buffer::alloc::Allocation;

/// The largest buffer that is copied rather than shared, in bytes: 32 rows of an Int64
/// column. Copying it costs about what one allocation does.
pub(super) const SMALL: usize = 256;

/// The size of a block, in bytes: four of the largest copies, or dozens of small ones. With
/// the reference counts before it, a block takes 1 KiB: a new one (after the last was kept)
/// comes from the allocator's per-thread cache, and is cheap to clear.
pub(super) const BLOCK: usize = 1024 - COUNTS;

/// What an `Arc` puts before a block: its two counts, padded to the block's alignment (16
/// bytes on 64-bit and 32-bit targets alike: a 32-bit target's 8 bytes of counts are
/// padded to 16).
const COUNTS: usize = (2 * size_of::<usize>()).next_multiple_of(BLOCK_ALIGN);

/// Every copy starts at a multiple of this (or of its type's alignment, when larger), as
/// arrow-rs requires of typed buffers.
const MIN_ALIGN: usize = 8;

/// The alignment of a block, and so the largest a copy can have: that of `i128` and
/// `i256`, the most any Arrow type needs. (Arrow's own 64 would send every new block
/// through the allocator's slow path for aligned memory.)
const BLOCK_ALIGN: usize = 16;

/// The bytes copies are made into.
#[repr(C, align(16))]
struct Block(UnsafeCell<[u8; BLOCK]>);

const _: () = assert!(align_of::<Block>() == BLOCK_ALIGN);

/// An `Arc`'s allocation of a block, laid out as the standard library's `ArcInner` is (two
/// counts, then the value, `#[repr(C)]`): it must take 1 KiB exactly.
#[allow(dead_code)]
#[repr(C)]
struct Counted {
    strong: usize,
    weak: usize,
    block: Block,
}

const _: () = assert!(size_of::<Counted>() == 1024);

// SAFETY: a block's bytes are written only by `Copies::copy`, on the thread reading a
// change, while every slice of the block is held by that read (`Copies::start` gives a block
// up for good once a slice of it is held anywhere else). So no byte is written while another
// thread can read any of the block.
unsafe impl Sync for Block {}

// A panic cannot leave a block half-written in a way anyone can see: a slice covers only
// bytes copied in full before it was made.
impl std::panic::RefUnwindSafe for Block {}

/// The block being filled, and the buffer over all of it that every copy is a slice of.
struct Filling {
    block: Arc<Block>,
    whole: Buffer,
    /// Bytes handed out from the start of the block.
    used: usize,
}

impl Filling {
    /// A new block: once per inbox, and again after slices of the last one were kept.
    #[cold]
    #[inline(never)]
    fn new() -> Filling {
        let block = Arc::new(Block(UnsafeCell::new([0; BLOCK])));
        let start = NonNull::new(block.0.get().cast::<u8>()).expect("an allocation");
        let owner: Arc<dyn Allocation> = block.clone();
        // SAFETY: `BLOCK` initialised bytes, kept alive by `owner` as long as any slice of
        // `whole` is.
        let whole = unsafe { Buffer::from_custom_allocation(start, BLOCK, owner) };
        Filling {
            block,
            whole,
            used: 0,
        }
    }
}

/// One inbox's block for copies of small buffers, if it has one (see the module's notes).
#[derive(Default)]
pub(crate) struct Copies(Option<Filling>);

impl std::fmt::Debug for Copies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = self.0.as_ref().map(|filling| filling.used);
        f.debug_struct("Copies").field("used", &used).finish()
    }
}

impl Copies {
    /// Before a change (or a batch read on its own) is read: the block is filled from its
    /// start again when no slice of it is left, and given up when one is held elsewhere.
    #[inline(always)]
    pub(super) fn start(&mut self) {
        if let Some(filling) = &mut self.0 {
            if filling.whole.strong_count() == 1 {
                // The last slice's drop decremented the count with release ordering: this
                // makes every read through it happen before anything written from here on.
                fence(Ordering::Acquire);
                filling.used = 0;
            } else {
                self.0 = None;
            }
        }
    }

    /// A buffer holding a copy of the `len` bytes at `src`, aligned to `align` (a power of
    /// two); or none when the block has no room left for it (the buffer is shared then).
    ///
    /// # Safety
    /// `len` (at most [`SMALL`]) bytes are readable at `src`.
    #[inline]
    pub(super) unsafe fn copy(
        &mut self,
        src: NonNull<u8>,
        len: usize,
        align: usize,
    ) -> Option<Buffer> {
        debug_assert!(len <= SMALL && align.is_power_of_two());
        if align > BLOCK_ALIGN {
            return None;
        }
        let filling = match &mut self.0 {
            Some(filling) => filling,
            none => none.insert(Filling::new()),
        };
        let at = filling.used.next_multiple_of(align.max(MIN_ALIGN));
        if at + len > BLOCK {
            return None;
        }
        // SAFETY: `at + len <= BLOCK`. Every slice of the block is held by this read, and
        // covers bytes before `used` (see `Block`'s `Sync`), so nobody reads these bytes
        // while they are written, and `src` (the producer's, alive for the call) is not
        // among them.
        unsafe {
            std::ptr::copy_nonoverlapping(
                src.as_ptr(),
                filling.block.0.get().cast::<u8>().add(at),
                len,
            );
        }
        filling.used = at + len;
        Some(filling.whole.slice_with_length(at, len))
    }

    /// An empty buffer: an empty slice of the block, aligned for any type.
    #[inline]
    pub(super) fn empty(&mut self) -> Buffer {
        self.0
            .get_or_insert_with(Filling::new)
            .whole
            .slice_with_length(0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of `bytes` through `copies`, if it has room.
    fn copy(copies: &mut Copies, bytes: &[u8], align: usize) -> Option<Buffer> {
        let src = NonNull::new(bytes.as_ptr().cast_mut()).expect("a slice's pointer");
        // SAFETY: `bytes.len()` readable bytes at `src`.
        unsafe { copies.copy(src, bytes.len(), align) }
    }

    /// One change's copies of `each`.
    fn change(copies: &mut Copies, each: &[(&[u8], usize)]) -> Vec<Option<Buffer>> {
        copies.start();
        each.iter()
            .map(|(bytes, align)| copy(copies, bytes, *align))
            .collect()
    }

    #[test]
    fn copies_start_at_the_block_again_once_none_is_left() {
        let mut copies = Copies::default();
        let first = change(&mut copies, &[(&[1; 24], 8)]).remove(0).unwrap();
        let start = first.as_ptr();
        assert_eq!(start as usize % 16, 0, "the block is aligned to 16");
        drop(first);
        let again = change(&mut copies, &[(&[2; 24], 8)]).remove(0).unwrap();
        assert_eq!(again.as_ptr(), start, "filled from its start again");
        assert_eq!(again.as_slice(), &[2; 24]);
    }

    #[test]
    fn a_block_with_a_slice_held_elsewhere_is_never_written_again() {
        let mut copies = Copies::default();
        let kept = change(&mut copies, &[(&[7; 3], 1)]).remove(0).unwrap();
        // Whoever holds a slice may read the whole block: arrow-rs's `Debug` prints it.
        let seen = format!("{kept:?}");
        for i in 0..100u8 {
            let next = change(&mut copies, &[(&[i; 40], 8)]).remove(0).unwrap();
            assert_ne!(next.data_ptr(), kept.data_ptr(), "another block");
            assert_eq!(next.as_slice(), &[i; 40]);
        }
        assert_eq!(format!("{kept:?}"), seen, "not a byte of its block written");
        assert_eq!(kept.as_slice(), &[7; 3]);
    }

    #[test]
    fn one_change_takes_one_block_at_most_and_shares_the_rest() {
        let mut copies = Copies::default();
        let big = [5u8; SMALL];
        let fit = BLOCK / SMALL;
        let buffers = change(&mut copies, &vec![(&big[..], 8); fit + 1]);
        assert!(
            buffers[..fit].iter().all(Option::is_some),
            "{fit} fill the block"
        );
        assert!(buffers[fit].is_none(), "the next one is shared");
        let blocks: std::collections::HashSet<_> =
            buffers.iter().flatten().map(Buffer::data_ptr).collect();
        assert_eq!(blocks.len(), 1);
    }

    #[test]
    fn every_copy_is_aligned_for_its_type() {
        let mut copies = Copies::default();
        let each: Vec<(&[u8], usize)> =
            vec![(&[1; 3], 1), (&[2; 16], 16), (&[3; 5], 4), (&[4; 32], 32)];
        let buffers = change(&mut copies, &each);
        for (buffer, (bytes, align)) in buffers[..3].iter().zip(&each) {
            let buffer = buffer.as_ref().unwrap();
            assert_eq!(buffer.as_ptr() as usize % (*align).max(8), 0);
            assert_eq!(buffer.as_slice(), *bytes);
        }
        assert!(
            buffers[3].is_none(),
            "no Arrow type needs 32: such a buffer is shared"
        );
    }
}
