//! Arrays of the types arrow-rs imports, checked first as oplink's own are.

use std::sync::Arc;

use arrow_array::ffi::from_ffi_and_data_type;
use arrow_array::{ArrayRef, OffsetSizeTrait, make_array};
use arrow_data::ArrayData;
use arrow_schema::DataType;

use super::columns::{Shape, bytes_for, cold, no_dictionary, node, too_short};
use super::owner::Owner;
use crate::exchange::raw::RawArray;
use crate::{Error, Result};

/// Imports the array at `raw` with arrow-rs, in place: arrow-rs takes a copy of its header
/// whose `release` gives up one reference to the batch's owner, and reads the buffers and
/// children where they are. So the batch's arrays stay whole (a view can still forward them,
/// or build its rows again), and they are released with the batch. arrow-rs asserts
/// (panics) where an array's shape disagrees with its type, for instance a union with fewer
/// children than fields; such an array is an error here, never a panic in the caller.
///
/// # Safety
/// `raw` is a valid array under `owner`'s arrays (as for [`Importer::array`]).
pub(super) unsafe fn foreign(
    owner: &Arc<Owner>,
    raw: &RawArray,
    data_type: &DataType,
) -> Result<ArrayRef> {
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
            imported = Some(make_array(empty_bytes_mended(data)));
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

/// `data` with every empty Utf8 or Binary array in it (plain or large, at any depth) made
/// anew: no data, one offset of 0. The C Data Interface lets an empty array's one offset
/// be any value, with data behind it, and arrow-rs's exporter writes such arrays (an empty
/// slice shares the offsets from its start: a sparse union's or a fixed-size list's
/// children, sliced with it); arrow-rs's importer takes an empty array's data as empty but
/// keeps that offset, which makes an array that fails validation and that `concat` panics
/// on. So what arrow-rs imports here, and what it exports for oplink, is mended first.
pub(in crate::exchange) fn empty_bytes_mended(data: ArrayData) -> ArrayData {
    fn empty_bytes(data: &ArrayData) -> bool {
        data.is_empty()
            && matches!(
                data.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary
            )
    }
    /// Whether `data` is such an array or holds one.
    fn holds_any(data: &ArrayData) -> bool {
        empty_bytes(data) || data.child_data().iter().any(holds_any)
    }
    fn mend(data: ArrayData) -> ArrayData {
        if empty_bytes(&data) {
            return ArrayData::new_empty(data.data_type());
        }
        if !data.child_data().iter().any(holds_any) {
            return data;
        }
        let children = data.child_data().iter().cloned().map(mend).collect();
        // SAFETY: the array as it was, but for children replaced by arrays of their own
        // type and length: empty ones made anew (which hold no values to read), or ones
        // mended so in turn (their length, offset and buffers kept).
        unsafe { data.into_builder().child_data(children).build_unchecked() }
    }
    mend(data)
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
pub(super) fn offset_ends<O: OffsetSizeTrait>(first: O, last: O) -> Result<usize> {
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
pub(in crate::exchange) fn view_data_buffers(raw: &RawArray) -> Result<usize> {
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
pub(in crate::exchange) fn data_size(i: usize, size: i64) -> Result<usize> {
    usize::try_from(size)
        .map_err(|_| Error::unlocated(format!("its data buffer {i} has a negative size ({size})")))
}

/// The sizes of a view array's `data` data buffers (its last buffer), checked: the buffer
/// there, aligned, and no size negative.
///
/// # Safety
/// `raw` passed [`Shape::of`] with `data + 3` buffers.
pub(in crate::exchange) unsafe fn view_sizes(raw: &RawArray, data: usize) -> Result<&[i64]> {
    if data == 0 {
        return Ok(&[]);
    }
    // SAFETY: `data + 3` buffers (caller).
    let sizes = unsafe { raw.buffer(data + 2) }.cast::<i64>();
    if sizes.is_null() || !sizes.is_aligned() {
        return Err(cold(format_args!(
            "the sizes of its data buffers are null or misaligned"
        )));
    }
    // SAFETY: one size per data buffer (the C Data Interface), aligned (checked), alive as
    // long as the array.
    let sizes = unsafe { std::slice::from_raw_parts(sizes, data) };
    for (i, &size) in sizes.iter().enumerate() {
        data_size(i, size)?;
    }
    Ok(sizes)
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
