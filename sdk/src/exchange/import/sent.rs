//! Columns that come back as they were sent.
//!
//! An operator that returns columns of its input unchanged, where they were (one that
//! forwards its input, a filter that keeps every row, one that appends a column) answers
//! with arrays whose buffers are the sender's own (the operator's import shared them and its
//! export laid them out again) or byte-for-byte copies of them (small buffers, which an
//! import copies). The sender, reading the answer with the batch it sent at the same place
//! beside it, compares each column's header and buffers with the sent column of its name (at
//! its own index when the names agree there, as they do unless columns were dropped, added
//! or reordered before it: a [`Placement`]). When they hold the
//! same values it takes the sent column itself (one reference count) instead of building a
//! new array over the other side's buffers; the other side's arrays are then released as
//! soon as nothing else of them is used.
//!
//! A buffer is the same when it is at the same address, or when it is at most [`SMALL`]
//! bytes long and equal byte for byte: the test costs a comparison of pointers, or of a few
//! bytes. Anything else (a longer buffer elsewhere, a bitmap at an offset that is not a
//! whole byte, a null count the producer did not give) is imported as usual, and so is
//! every type but the fixed-width, boolean and Utf8/Binary ones. Only what the import would
//! read is read, so a column compared is never read further than importing it would.
//!
//! The sender's values must stay alive while it reads the answer, whatever the other side
//! released meanwhile: `Outgoing::answered` keeps them.

use std::sync::Arc;

use arrow_array::types::ByteArrayType;
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, GenericByteArray, PrimitiveArray,
};
use arrow_buffer::{ArrowNativeType, NullBuffer};
use arrow_schema::{Schema, SchemaRef};

use super::columns::{Shape, bytes_for};
use crate::data::Rows;
use crate::exchange::raw::RawArray;
use crate::exchange::small::SMALL;

/// A column with no place in the schema sent.
const NOWHERE: u32 = u32::MAX;

/// How many columns a schema sent may have for a column that is not at its own index in it
/// to be looked for by name (each such column costs a scan of them, once per pair of
/// schemas).
const MAX_SEARCHED: usize = 256;

/// Where each column of a received schema was in the schemas of the batches sent at the
/// places of its batches: for the last two schemas sent (an update's two sides may have
/// two), each worked out again only when a third comes (another `Arc`), which in a steady
/// stream is never. Held with the received schema.
#[derive(Debug, Default)]
pub(in crate::exchange) struct Placement {
    known: [Placed; 2],
    /// The entry a third schema replaces.
    oldest: usize,
}

/// Where each column received was among one schema's columns.
#[derive(Debug, Default)]
struct Placed {
    /// Held, so that its address is not another schema's while it is known.
    sent: Option<SchemaRef>,
    /// Per column received, its index among the columns sent, or [`NOWHERE`].
    at: Vec<u32>,
}

impl Placement {
    /// Where each field of `ours` is among `sent`'s fields: at its own index when the names
    /// agree there, else at the first field of its name (looked for when `sent` has at most
    /// [`MAX_SEARCHED`] fields), else at its own index again (a column renamed), else
    /// nowhere. A name is only where to look: what is taken back is decided by the values
    /// alone.
    pub(in crate::exchange) fn of(&mut self, ours: &Schema, sent: &SchemaRef) -> &[u32] {
        let known = |placed: &Placed| placed.sent.as_ref().is_some_and(|s| Arc::ptr_eq(s, sent));
        let index = match self.known.iter().position(known) {
            Some(index) => index,
            None => {
                let index = self.oldest;
                self.oldest = 1 - index;
                self.known[index].work_out(ours, sent);
                index
            }
        };
        &self.known[index].at
    }
}

impl Placed {
    /// Where each field of `ours` is among `sent`'s (see [`Placement::of`]).
    fn work_out(&mut self, ours: &Schema, sent: &SchemaRef) {
        let theirs = sent.fields();
        self.at.clear();
        self.at
            .extend(ours.fields().iter().enumerate().map(|(i, field)| {
                let at = match theirs.get(i) {
                    Some(there) if there.name() == field.name() => Some(i),
                    _ if theirs.len() <= MAX_SEARCHED => theirs
                        .iter()
                        .position(|there| there.name() == field.name())
                        .or((i < theirs.len()).then_some(i)),
                    _ => (i < theirs.len()).then_some(i),
                };
                at.map_or(NOWHERE, |at| at as u32)
            }));
        self.sent = Some(sent.clone());
    }
}

/// The rows sent at the place of a batch being read, and where each of its columns was
/// among them ([`Placement::of`]).
#[derive(Clone, Copy, Debug)]
pub(in crate::exchange) struct Sent<'a> {
    pub(in crate::exchange) rows: &'a Rows,
    pub(in crate::exchange) at: &'a [u32],
}

impl<'a> Sent<'a> {
    /// The column sent where column `i` of the batch being read was.
    #[inline(always)]
    pub(in crate::exchange) fn column(&self, i: usize) -> Option<&'a ArrayRef> {
        let at = *self.at.get(i)?;
        self.rows.batch().columns().get(at as usize)
    }
}

/// Whether `ours` (`len` bytes the producer declared, or null) and `sent` (`len` bytes of a
/// live buffer) hold the same bytes: at the same address, or at most [`SMALL`] bytes equal.
///
/// # Safety
/// `ours` is null or `len` readable bytes; `sent` is `len` readable bytes.
#[inline(always)]
unsafe fn same_bytes(ours: *const u8, sent: *const u8, len: usize) -> bool {
    len == 0
        || std::ptr::eq(ours, sent)
        || (len <= SMALL
            && !ours.is_null()
            // SAFETY: both are `len` readable bytes (caller).
            && unsafe {
                std::slice::from_raw_parts(ours, len) == std::slice::from_raw_parts(sent, len)
            })
}

/// Whether the validity the import would build from `raw` (of shape `shape`, whose buffer 0
/// is its bitmap) is `sent`'s: none on both sides, or the same count over the same bits.
///
/// # Safety
/// `raw`'s buffer list was checked by `Shape::of`, and its bitmap, when there is one,
/// covers `shape.offset + shape.length` bits.
#[inline(always)]
unsafe fn same_validity(raw: &RawArray, shape: &Shape, sent: Option<&NullBuffer>) -> bool {
    let Some(sent) = sent.filter(|nulls| nulls.null_count() > 0) else {
        // The import builds none for a count of 0 or no rows.
        return shape.null_count == Some(0) || shape.length == 0;
    };
    if shape.null_count != Some(sent.null_count())
        || !shape.offset.is_multiple_of(8)
        || !sent.offset().is_multiple_of(8)
    {
        return false;
    }
    // SAFETY: buffer 0 of a checked list (caller).
    let bits = unsafe { raw.buffer(0) }.cast::<u8>();
    if bits.is_null() {
        return false;
    }
    // SAFETY: the bitmap covers offset + length bits (caller); the sent one its own.
    unsafe {
        same_bytes(
            bits.add(shape.offset / 8),
            sent.buffer().as_ptr().add(sent.offset() / 8),
            shape.length.div_ceil(8),
        )
    }
}

/// Whether the fixed-width array the import would build from `raw` (of shape `shape`) holds
/// `sent`'s values: the same length, validity and value bytes, and no dictionary.
///
/// # Safety
/// `raw` is a valid C Data Interface array of a fixed-width type whose header `Shape::of`
/// checked (two buffers); `shape` is its own or a window of it.
#[inline(always)]
pub(super) unsafe fn same_fixed<T: ArrowPrimitiveType>(
    raw: &RawArray,
    shape: &Shape,
    sent: &PrimitiveArray<T>,
) -> bool {
    let size = size_of::<T::Native>();
    // More bytes than memory can hold: the import names it, and no pointer is made to them.
    if bytes_for(shape.end(), size).is_err() {
        return false;
    }
    let (skip, len) = (shape.offset * size, shape.length * size);
    // SAFETY: the list was checked (caller); the values hold offset + length of them.
    unsafe {
        shape.length == sent.len()
            && raw.dictionary.is_null()
            && same_validity(raw, shape, sent.nulls())
            && values_at(raw, 1, skip, len)
                .is_some_and(|values| same_bytes(values, sent.values().inner().as_ptr(), len))
    }
}

/// Whether the boolean array the import would build from `raw` holds `sent`'s values.
///
/// # Safety
/// As for [`same_fixed`], for a boolean array.
#[inline(always)]
pub(super) unsafe fn same_boolean(raw: &RawArray, shape: &Shape, sent: &BooleanArray) -> bool {
    let values = sent.values();
    if shape.length != sent.len()
        || !raw.dictionary.is_null()
        || !shape.offset.is_multiple_of(8)
        || !values.offset().is_multiple_of(8)
    {
        return false;
    }
    let len = shape.length.div_ceil(8);
    // SAFETY: as above; the bits cover offset + length of them.
    unsafe {
        same_validity(raw, shape, sent.nulls())
            && values_at(raw, 1, shape.offset / 8, len).is_some_and(|bits| {
                same_bytes(bits, values.inner().as_ptr().add(values.offset() / 8), len)
            })
    }
}

/// Whether the Utf8 or Binary array the import would build from `raw` holds `sent`'s values:
/// the same offsets, and the same bytes between the first offset and the last.
///
/// # Safety
/// As for [`same_fixed`], for a Utf8 or Binary array (three buffers).
#[inline(always)]
pub(super) unsafe fn same_bytes_array<T: ByteArrayType>(
    raw: &RawArray,
    shape: &Shape,
    sent: &GenericByteArray<T>,
) -> bool {
    if shape.length != sent.len() || !raw.dictionary.is_null() {
        return false;
    }
    // SAFETY: as above.
    if !unsafe { same_validity(raw, shape, sent.nulls()) } {
        return false;
    }
    if shape.length == 0 {
        return true; // no values, whatever the offsets
    }
    let size = size_of::<T::Offset>();
    // As for `same_fixed`: the import names a count of offsets past what memory can hold.
    if bytes_for(shape.end() + 1, size).is_err() {
        return false;
    }
    let (skip, len) = (shape.offset * size, (shape.length + 1) * size);
    let offsets = sent.offsets();
    // SAFETY: the offsets hold offset + length + 1 of them (caller).
    let same_offsets = unsafe {
        values_at(raw, 1, skip, len)
            .is_some_and(|ours| same_bytes(ours, offsets.inner().inner().as_ptr(), len))
    };
    if !same_offsets {
        return false;
    }
    // The offsets are the same numbers on both sides, so the values they point at are
    // compared at the same places; the import reads the values up to the last offset.
    let (first, last) = (offsets[0].as_usize(), offsets[shape.length].as_usize());
    // SAFETY: the values hold up to the last offset, on both sides.
    unsafe {
        values_at(raw, 2, first, last - first)
            .is_some_and(|ours| same_bytes(ours, sent.values().as_ptr().add(first), last - first))
    }
}

/// Byte `skip` of buffer `index` of `raw`, when the buffer is not null or nothing of it is
/// needed (`len` 0: a dangling pointer that is never read).
///
/// # Safety
/// `raw`'s list was checked, and buffer `index` holds `skip + len` bytes when not null.
#[inline(always)]
unsafe fn values_at(raw: &RawArray, index: usize, skip: usize, len: usize) -> Option<*const u8> {
    // SAFETY: within the list (caller).
    let buffer = unsafe { raw.buffer(index) }.cast::<u8>();
    if len == 0 {
        return Some(std::ptr::NonNull::dangling().as_ptr());
    }
    // SAFETY: within the buffer's `skip + len` bytes (caller).
    (!buffer.is_null()).then(|| unsafe { buffer.add(skip) })
}
