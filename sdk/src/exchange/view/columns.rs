//! The columns of a view: fixed-width values, strings, bytes and flags, and validity, read
//! in place.

use arrow_array::types::{ArrowDictionaryKeyType, Float64Type, Int64Type};
use arrow_array::{ArrowPrimitiveType, PrimitiveArray};
use arrow_buffer::bit_chunk_iterator::BitChunks;
use arrow_buffer::{ArrowNativeType, BooleanBuffer, Buffer};
use arrow_schema::{DataType, Field};

use super::located;
use crate::exchange::import::{Shape, no_bitmap, no_dictionary, view_data_buffers, view_sizes};
use crate::exchange::raw::RawArray;
use crate::{Error, Result};

/// One column of a [`RowsView`](super::RowsView), or a dictionary's values
/// ([`DictionaryView::values`]), read in place.
#[derive(Clone, Copy, Debug)]
pub struct ColumnView<'v> {
    pub(super) raw: &'v RawArray,
    pub(super) field: &'v Field,
    /// The type read: the field's, or a dictionary's value type for its values.
    pub(super) data_type: &'v DataType,
    /// Whether these are a dictionary's values (its errors say so).
    pub(super) dictionary_values: bool,
    /// The first slot of the column's buffers that belongs to these rows.
    pub(super) start: usize,
    pub(super) len: usize,
}

// SAFETY: a `ColumnView` only reads: the array's header and the buffers under it, which
// nothing writes while `'v` lasts (the change that holds them is borrowed for `'v`; only
// consuming it moves arrays or releases them), so sharing or sending one is sharing or
// sending `&'v` borrows of immutable data; it never calls the array's `release`.
unsafe impl Send for ColumnView<'_> {}
// SAFETY: as above.
unsafe impl Sync for ColumnView<'_> {}

/// A bitmap read in place: bit `start + i` tells whether value `i` is present (for the
/// values of a [`BooleansView`], whether value `i` is true).
#[derive(Clone, Copy, Debug)]
pub struct Validity<'v> {
    bits: &'v [u8],
    start: usize,
    len: usize,
}

/// A column of fixed-width values: the values as a slice, and their validity.
#[derive(Clone, Copy, Debug)]
pub struct PrimitiveView<'v, T> {
    values: &'v [T],
    validity: Option<Validity<'v>>,
    /// The column, for the panic of an index past the end.
    name: Named<'v>,
}

/// A `Utf8`, `LargeUtf8` or `Utf8View` column: its strings, and their validity.
#[derive(Clone, Copy, Debug)]
pub struct StringsView<'v>(BinariesView<'v>);

/// A `Binary`, `LargeBinary` or `BinaryView` column: its values as byte slices, and their
/// validity.
#[derive(Clone, Copy, Debug)]
pub struct BinariesView<'v> {
    /// The column, for errors.
    name: Named<'v>,
    offsets: Offsets<'v>,
    /// The data up to the last value's end (empty for views, whose data buffers are in
    /// [`Offsets::Views`]).
    data: &'v [u8],
    validity: Option<Validity<'v>>,
}

/// A column as its errors name it: ``column `tag` `` or, for a dictionary's values,
/// ``column `tag`, its dictionary's values``.
#[derive(Clone, Copy, Debug)]
struct Named<'v> {
    name: &'v str,
    dictionary_values: bool,
}

impl std::fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column `{}`", self.name)?;
        if self.dictionary_values {
            f.write_str(", its dictionary's values")?;
        }
        Ok(())
    }
}

/// Where a column's values lie: between offsets into its data, or where its views say.
#[derive(Clone, Copy, Debug)]
enum Offsets<'v> {
    Small(&'v [i32]),
    Large(&'v [i64]),
    Views(Views<'v>),
}

/// The values of a view array (`Utf8View`, `BinaryView`): a view of 16 bytes per value,
/// which holds a value of up to 12 bytes itself, and names where a longer one lies in the
/// data buffers.
#[derive(Clone, Copy, Debug)]
struct Views<'v> {
    /// The views of these rows, 16 bytes each, from the first row's.
    views: &'v [u8],
    /// The data buffers' pointers, as the array lists them.
    data: DataBuffers<'v>,
    /// The data buffers' sizes (the C Data Interface's last buffer), none negative.
    sizes: &'v [i64],
}

/// The pointers to a view array's data buffers: bytes borrowed for `'v`, never written,
/// as a `&'v [u8]` is (so the views that hold them are `Send` and `Sync` as the other
/// column views are).
#[derive(Clone, Copy, Debug)]
struct DataBuffers<'v>(&'v [*const u8]);

// SAFETY: the pointers are to immutable bytes borrowed for `'v` (the crossing's buffers,
// which nothing writes while a view of them lives), so sharing or sending them is sharing
// or sending `&'v [u8]`s.
unsafe impl Send for DataBuffers<'_> {}
// SAFETY: as above.
unsafe impl Sync for DataBuffers<'_> {}

/// A dictionary-encoded column: a key per row (of the primitive type `K`), indexing the
/// dictionary's values, which are a column of their own type.
#[derive(Clone, Copy, Debug)]
pub struct DictionaryView<'v, K> {
    /// The column, for errors.
    name: Named<'v>,
    keys: PrimitiveView<'v, K>,
    values: ColumnView<'v>,
}

/// A `Boolean` column: its values and their validity, as bitmaps read in place.
#[derive(Clone, Copy, Debug)]
pub struct BooleansView<'v> {
    values: Validity<'v>,
    validity: Option<Validity<'v>>,
    /// The column, for the panic of an index past the end.
    name: Named<'v>,
}

impl<'v> ColumnView<'v> {
    /// The column's name.
    #[inline]
    pub fn name(&self) -> &'v str {
        self.field.name()
    }

    /// The column as its errors name it.
    #[inline]
    fn named(&self) -> Named<'v> {
        Named {
            name: self.name(),
            dictionary_values: self.dictionary_values,
        }
    }

    /// The column's field (name, type, nullability, metadata); for a dictionary's values,
    /// the dictionary column's.
    #[inline]
    pub fn field(&self) -> &'v Field {
        self.field
    }

    /// The column's type (for a dictionary's values, the dictionary's value type).
    #[inline]
    pub fn data_type(&self) -> &'v DataType {
        self.data_type
    }

    /// How many values (the row count; for a dictionary's values, the dictionary's length).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the column has no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The validity bitmap in buffer 0, or `None` when the producer counted no nulls.
    #[inline]
    fn validity(&self, shape: &Shape) -> Result<Option<Validity<'v>>> {
        if shape.null_count == Some(0) || self.len == 0 {
            return Ok(None);
        }
        // SAFETY: every type this view reads has a bitmap as buffer 0 of a list `Shape::of`
        // checked.
        let bits = unsafe { self.raw.buffer(0) }.cast::<u8>();
        if bits.is_null() {
            return match shape.null_count {
                None => Ok(None),
                Some(n) => Err(self.error(no_bitmap(n))),
            };
        }
        // SAFETY: a bitmap covers offset + length bits (the C Data Interface); `start +
        // len` is within them (a column's rows within its array, checked in `column_at`; a
        // dictionary's values are its whole array).
        let bits = unsafe { std::slice::from_raw_parts(bits, shape.end().div_ceil(8)) };
        Ok(Some(Validity {
            bits,
            start: self.start,
            len: self.len,
        }))
    }

    /// The error for a column read as `wanted` that is of another type; for a type the
    /// view reads none of (a list, a struct, a union, …), or a dictionary, it says how to
    /// read it.
    #[cold]
    fn mismatch(&self, wanted: impl std::fmt::Display) -> Error {
        let data_type = self.data_type();
        let readable = data_type.is_primitive()
            || matches!(
                data_type,
                DataType::Boolean
                    | DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::Utf8View
                    | DataType::BinaryView
            );
        let hint = if readable {
            String::new()
        } else if let DataType::Dictionary(key, _) = data_type {
            format!(" (read it with `dictionary::<{key}Type>()`, and its values as their type)")
        } else {
            " (the view reads primitive, Boolean, Utf8 and Binary columns in place, plain, large and view, and dictionaries of them; read this one from the side's `to_rows()`)".to_owned()
        };
        self.error(format!("it is {data_type}, not {wanted}{hint}"))
    }

    /// The values of a column of `T`s (any primitive type: integers, floats, dates,
    /// times, timestamps, durations, decimals) as a slice, with their validity.
    #[inline]
    #[track_caller]
    pub fn primitive<T: ArrowPrimitiveType>(&self) -> Result<PrimitiveView<'v, T::Native>> {
        located(self.primitive_here::<T>())
    }

    #[inline]
    fn primitive_here<T: ArrowPrimitiveType>(&self) -> Result<PrimitiveView<'v, T::Native>> {
        if !PrimitiveArray::<T>::is_compatible(self.data_type()) {
            return Err(self.mismatch(crate::exchange::primitive_type_name(&T::DATA_TYPE)));
        }
        // SAFETY: a valid array (the producer's word).
        let shape = unsafe { Shape::of(self.raw, 2, 0) }.map_err(|e| self.wrap(e))?;
        let validity = self.validity(&shape)?;
        // SAFETY: a checked array of two buffers whose values hold offset + length `T`s.
        let values = unsafe { values::<T::Native>(self.raw, self.start, self.len) }
            .map_err(|e| self.wrap(e))?;
        Ok(PrimitiveView {
            values,
            validity,
            name: self.named(),
        })
    }

    /// An `Int64` column.
    #[inline]
    #[track_caller]
    pub fn i64s(&self) -> Result<PrimitiveView<'v, i64>> {
        self.primitive::<Int64Type>()
    }

    /// A `Float64` column.
    #[inline]
    #[track_caller]
    pub fn f64s(&self) -> Result<PrimitiveView<'v, f64>> {
        self.primitive::<Float64Type>()
    }

    /// A `Utf8`, `LargeUtf8` or `Utf8View` column's strings.
    #[inline]
    #[track_caller]
    pub fn strings(&self) -> Result<StringsView<'v>> {
        located(self.strings_here())
    }

    #[inline]
    fn strings_here(&self) -> Result<StringsView<'v>> {
        // SAFETY: a valid array (the producer's word) of the type each arm names.
        unsafe {
            match self.data_type() {
                DataType::Utf8 => self.bytes_of(|o: &'v [i32]| Offsets::Small(o)),
                DataType::LargeUtf8 => self.bytes_of(|o: &'v [i64]| Offsets::Large(o)),
                DataType::Utf8View => self.views_of(),
                _ => Err(self.mismatch("Utf8, LargeUtf8 or Utf8View")),
            }
        }
        .map(StringsView)
    }

    /// A `Binary`, `LargeBinary` or `BinaryView` column's values.
    #[inline]
    #[track_caller]
    pub fn binaries(&self) -> Result<BinariesView<'v>> {
        located(self.binaries_here())
    }

    #[inline]
    fn binaries_here(&self) -> Result<BinariesView<'v>> {
        // SAFETY: a valid array (the producer's word) of the type each arm names.
        unsafe {
            match self.data_type() {
                DataType::Binary => self.bytes_of(|o: &'v [i32]| Offsets::Small(o)),
                DataType::LargeBinary => self.bytes_of(|o: &'v [i64]| Offsets::Large(o)),
                DataType::BinaryView => self.views_of(),
                _ => Err(self.mismatch("Binary, LargeBinary or BinaryView")),
            }
        }
    }

    /// # Safety
    /// The column is a valid array of strings or binaries with `O` offsets.
    #[inline]
    unsafe fn bytes_of<O: ArrowNativeType>(
        &self,
        wrap: impl FnOnce(&'v [O]) -> Offsets<'v>,
    ) -> Result<BinariesView<'v>> {
        // SAFETY: a valid array (caller).
        let shape = unsafe { Shape::of(self.raw, 3, 0) }.map_err(|e| self.wrap(e))?;
        let validity = self.validity(&shape)?;
        // An empty array may come without offsets (as the importer takes it).
        // SAFETY: the list has three buffers (checked).
        if shape.length == 0 && unsafe { self.raw.buffer(1) }.is_null() {
            return Ok(BinariesView {
                name: self.named(),
                offsets: Offsets::Small(&[0]),
                data: &[],
                validity,
            });
        }
        // SAFETY: the offsets buffer holds offset + length + 1 offsets (the C Data
        // Interface).
        let offsets = unsafe { values::<O>(self.raw, self.start, self.len + 1) }
            .map_err(|e| self.wrap(e.context("its offsets")))?;
        let (Some(first), Some(last)) = (offsets[0].to_usize(), offsets[self.len].to_usize())
        else {
            return Err(self.error("its offsets are negative"));
        };
        if first > last {
            return Err(self.error(format!("its offsets fall from {first} to {last}")));
        }
        let data = if last == 0 {
            &[][..]
        } else {
            // SAFETY: the list has three buffers (checked).
            let ptr = unsafe { self.raw.buffer(2) }.cast::<u8>();
            if ptr.is_null() {
                return Err(self.error(format!(
                    "its data buffer is null but must hold {}",
                    crate::__private::counted(last, "byte", "bytes")
                )));
            }
            // SAFETY: the data buffer holds the bytes up to the last offset (the C Data
            // Interface), alive as long as the view.
            unsafe { std::slice::from_raw_parts(ptr, last) }
        };
        Ok(BinariesView {
            name: self.named(),
            offsets: wrap(offsets),
            data,
            validity,
        })
    }

    /// A view column's values: its views and data buffers, checked as the importer checks
    /// them (the buffer count, the sizes not negative, a data buffer with bytes not null);
    /// each view is checked when its value is read.
    ///
    /// # Safety
    /// The column is a valid array (the producer's word) of a view type.
    unsafe fn views_of(&self) -> Result<BinariesView<'v>> {
        let data = view_data_buffers(self.raw).map_err(|e| self.wrap(e))?;
        // SAFETY: a valid array (caller).
        let shape = unsafe { Shape::of(self.raw, data + 3, 0) }.map_err(|e| self.wrap(e))?;
        let validity = self.validity(&shape)?;
        let views = if self.len == 0 {
            &[][..]
        } else {
            // SAFETY: the list has `data + 3` buffers (checked).
            let ptr = unsafe { self.raw.buffer(1) }.cast::<u8>();
            if ptr.is_null() {
                return Err(self.error(format!(
                    "its views buffer is null but must hold {} views",
                    self.len
                )));
            }
            // No buffer holds more than `isize::MAX` bytes: slots that say otherwise are
            // refused before any pointer is computed from them.
            let end = (self.start + self.len).checked_mul(16);
            if end.is_none_or(|end| end > isize::MAX as usize) {
                return Err(self.error(format!(
                    "{} + {} views of 16 bytes are more than memory can hold",
                    self.start, self.len
                )));
            }
            // SAFETY: the views buffer holds offset + length views of 16 bytes (the C Data
            // Interface), `start + len` of them within (a column's rows within its array,
            // checked in `column_at`; a dictionary's values are its whole array), and their
            // bytes fit a buffer (checked above).
            unsafe { std::slice::from_raw_parts(ptr.add(self.start * 16), self.len * 16) }
        };
        // SAFETY: a valid array (caller) of `data + 3` buffers (checked), alive for `'v`.
        let sizes = unsafe { view_sizes(self.raw, data) }.map_err(|e| self.wrap(e))?;
        let pointers = if data == 0 {
            &[][..]
        } else {
            // SAFETY: buffers 2 .. data + 2 are the data buffers (the C Data Interface); the
            // list has `data + 3` readable buffers (`Shape::of`).
            unsafe { std::slice::from_raw_parts(self.raw.buffers.add(2).cast::<*const u8>(), data) }
        };
        for (i, (&pointer, &size)) in pointers.iter().zip(sizes).enumerate() {
            if size > 0 && pointer.is_null() {
                return Err(self.error(format!(
                    "its data buffer {i} is null but must hold {}",
                    crate::__private::counted(size, "byte", "bytes")
                )));
            }
        }
        Ok(BinariesView {
            name: self.named(),
            offsets: Offsets::Views(Views {
                views,
                data: DataBuffers(pointers),
                sizes,
            }),
            data: &[],
            validity,
        })
    }

    /// A dictionary-encoded column whose keys are `K`s (`Int32Type`, `UInt16Type`, …):
    /// its keys, and its values as a column of their own type (`values().strings()?`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oplink::prelude::*;
    /// use oplink::arrow::array::{DictionaryArray, types::Int32Type};
    /// use oplink::view::{ChangeView, DiffView};
    ///
    /// let tags: DictionaryArray<Int32Type> = vec!["red", "green", "red"].into_iter().collect();
    /// let batch = RecordBatch::try_from_iter([("tag", Arc::new(tags) as ArrayRef)])?;
    /// let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post: Rows::new(vec![7, 8, 9], batch)? }]);
    /// let view = ChangeView::from_change(change)?;
    /// let Some(DiffView::Insert { post }) = view.diff(0) else { unreachable!() };
    /// let tags = post.column_by_name("tag")?.dictionary::<Int32Type>()?;
    /// let names = tags.values().strings()?;
    /// let read = (0..tags.len())
    ///     .map(|i| Ok(tags.try_key(i)?.and_then(|at| names.get(at))))
    ///     .collect::<Result<Vec<_>>>()?;
    /// assert_eq!(read, [Some("red"), Some("green"), Some("red")]);
    /// # Ok::<(), oplink::Error>(())
    /// ```
    #[inline]
    #[track_caller]
    pub fn dictionary<K: ArrowDictionaryKeyType>(&self) -> Result<DictionaryView<'v, K::Native>> {
        located(self.dictionary_here::<K>())
    }

    fn dictionary_here<K: ArrowDictionaryKeyType>(&self) -> Result<DictionaryView<'v, K::Native>> {
        let wanted = || format!("a dictionary of {} keys", K::DATA_TYPE);
        let DataType::Dictionary(key, value) = self.data_type() else {
            return Err(self.mismatch(wanted()));
        };
        if **key != K::DATA_TYPE {
            return Err(self.mismatch(wanted()));
        }
        // The keys are this array, read as their primitive type.
        let keys = ColumnView {
            data_type: key,
            ..*self
        }
        .primitive_here::<K>()?;
        let dictionary = self.raw.dictionary;
        if dictionary.is_null() || !dictionary.is_aligned() {
            return Err(self.error("its dictionary is null or misaligned"));
        }
        // SAFETY: non-null, aligned, and a valid array (the producer's word), alive as long
        // as the array that points to it.
        let raw: &'v RawArray = unsafe { &*dictionary };
        if raw.is_released() {
            return Err(self.error("its dictionary is released"));
        }
        if !matches!(value.as_ref(), DataType::Dictionary(..)) {
            no_dictionary(raw, value).map_err(|e| self.wrap(e.context("its dictionary")))?;
        }
        // Slots a pointer can count to, as `Shape::of` checks any array's (the values'
        // accessors check them again, with their buffers).
        let fits = raw.offset >= 0
            && raw.length >= 0
            && raw
                .offset
                .checked_add(raw.length)
                .is_some_and(|end| end as u64 <= isize::MAX as u64);
        if !fits {
            return Err(self.error(format!(
                "its dictionary's offset ({}) or length ({}) is negative or past what memory can hold",
                raw.offset, raw.length
            )));
        }
        let (start, len) = (raw.offset as usize, raw.length as usize);
        Ok(DictionaryView {
            name: self.named(),
            keys,
            values: ColumnView {
                raw,
                field: self.field,
                data_type: value,
                dictionary_values: true,
                start,
                len,
            },
        })
    }

    /// A `Boolean` column.
    #[inline]
    #[track_caller]
    pub fn booleans(&self) -> Result<BooleansView<'v>> {
        located(self.booleans_here())
    }

    #[inline]
    fn booleans_here(&self) -> Result<BooleansView<'v>> {
        if self.data_type() != &DataType::Boolean {
            return Err(self.mismatch("Boolean"));
        }
        // SAFETY: a valid array (the producer's word).
        let shape = unsafe { Shape::of(self.raw, 2, 0) }.map_err(|e| self.wrap(e))?;
        let validity = self.validity(&shape)?;
        let end = shape.end();
        let bits = if end == 0 {
            &[][..]
        } else {
            // SAFETY: two buffers (checked).
            let ptr = unsafe { self.raw.buffer(1) }.cast::<u8>();
            if ptr.is_null() {
                return Err(self.error("its values buffer is null"));
            }
            // SAFETY: a boolean array's values are a bitmap of offset + length bits.
            unsafe { std::slice::from_raw_parts(ptr, end.div_ceil(8)) }
        };
        Ok(BooleansView {
            values: Validity {
                bits,
                start: self.start,
                len: self.len,
            },
            validity,
            name: self.named(),
        })
    }

    #[cold]
    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::msg(format!("{}: {message}", self.named()))
    }

    #[cold]
    fn wrap(&self, error: Error) -> Error {
        self.error(error.message())
    }
}

/// `len` values of `T` from slot `start` of buffer 1 of `raw`, borrowed in place.
///
/// # Safety
/// `raw` has at least two buffers in a readable list, and buffer 1 holds at least
/// `start + len` values of `T` (the caller checked the slots against the array's length).
pub(super) unsafe fn values<T: ArrowNativeType>(
    raw: &RawArray,
    start: usize,
    len: usize,
) -> Result<&[T]> {
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: two buffers (caller).
    let ptr = unsafe { raw.buffer(1) }.cast::<T>();
    if ptr.is_null() {
        return Err(Error::msg(format!(
            "its values buffer is null but must hold {len} values"
        )));
    }
    if !ptr.is_aligned() {
        return Err(Error::msg(format!(
            "its values buffer is not aligned to {} bytes, so it cannot be borrowed as a slice (read it with `to_rows`, which copies it)",
            align_of::<T>()
        )));
    }
    // No buffer holds more than `isize::MAX` bytes: lengths that say otherwise are refused
    // before any pointer is computed from them.
    let end = start
        .checked_add(len)
        .and_then(|end| end.checked_mul(size_of::<T>()));
    if end.is_none_or(|bytes| bytes > isize::MAX as usize) {
        return Err(Error::msg(format!(
            "{start} + {len} values of {} bytes are more than memory can hold",
            size_of::<T>()
        )));
    }
    // SAFETY: aligned, non-null, and holding `start + len` values (caller), alive as long
    // as `raw` is.
    Ok(unsafe { std::slice::from_raw_parts(ptr.add(start), len) })
}

/// How many of bits `start..start + len` of `bits` are clear.
pub(in crate::exchange) fn unset_bits(bits: &[u8], start: usize, len: usize) -> usize {
    let chunks = BitChunks::new(bits, start, len);
    let set = chunks
        .iter()
        .map(|c| c.count_ones() as usize)
        .sum::<usize>()
        + chunks.remainder_bits().count_ones() as usize;
    len - set
}

impl<'v> Validity<'v> {
    /// Whether value `i` is present. Panics past the end, as slice indexing does.
    #[inline]
    #[track_caller]
    pub fn is_valid(&self, i: usize) -> bool {
        assert!(i < self.len, "index {i} out of {} values", self.len);
        let bit = self.start + i;
        self.bits[bit / 8] & (1 << (bit % 8)) != 0
    }

    /// How many values.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Each value's presence, in order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = bool> + 'v {
        let this = *self;
        (0..self.len).map(move |i| this.is_valid(i))
    }

    /// Bits `start..start + len` of `bits`.
    #[cfg(test)]
    pub(in crate::exchange) fn at(bits: &'v [u8], start: usize, len: usize) -> Validity<'v> {
        assert!(start + len <= bits.len() * 8);
        Validity { bits, start, len }
    }

    /// The bytes, the first bit and the number of bits.
    pub(in crate::exchange) fn raw(&self) -> (&'v [u8], usize, usize) {
        (self.bits, self.start, self.len)
    }

    /// How many values are absent (for a [`BooleansView`]'s values: how many are false).
    #[inline]
    pub fn count_nulls(&self) -> usize {
        unset_bits(self.bits, self.start, self.len)
    }

    /// The bits as an arrow-rs [`BooleanBuffer`] (a copy of the bytes they lie in, its bit
    /// offset kept): to combine validities with arrow-rs's word-at-a-time operations
    /// (`NullBuffer::union`, or `&` and `|`, which take the buffers by reference:
    /// `&a.to_bits() & &b.to_bits()`) rather than bit by bit, or to build an output's
    /// `NullBuffer` (`NullBuffer::new(bits)`).
    pub fn to_bits(&self) -> BooleanBuffer {
        let bytes = &self.bits[self.start / 8..(self.start + self.len).div_ceil(8)];
        BooleanBuffer::new(Buffer::from_slice_ref(bytes), self.start % 8, self.len)
    }
}

impl<'v, T: Copy> PrimitiveView<'v, T> {
    /// The values as a slice; a null's slot holds an unspecified value.
    #[inline]
    pub fn values(&self) -> &'v [T] {
        self.values
    }

    /// The validity bitmap, or `None` when every value is present.
    #[inline]
    pub fn validity(&self) -> Option<Validity<'v>> {
        self.validity
    }

    /// How many values.
    #[inline]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Value `i`, or `None` for a null. Panics past the end, naming the column.
    #[inline]
    #[track_caller]
    pub fn get(&self, i: usize) -> Option<T> {
        let Some(&value) = self.values.get(i) else {
            past_the_end(self.name, i, self.values.len())
        };
        match &self.validity {
            Some(validity) if !validity.is_valid(i) => None,
            _ => Some(value),
        }
    }

    /// Each value, `None` for a null.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<T>> + 'v {
        let this = *self;
        (0..self.len()).map(move |i| this.get(i))
    }
}

/// The panic of value `i` of a column of `len` values, out of line.
#[cold]
#[inline(never)]
#[track_caller]
fn past_the_end(name: Named<'_>, i: usize, len: usize) -> ! {
    panic!(
        "{name}: index {i} out of {}",
        crate::__private::counted(len, "value", "values")
    )
}

impl Offsets<'_> {
    /// How many values the offsets delimit (one fewer than there are offsets), or the
    /// views.
    #[inline]
    fn values(&self) -> usize {
        match self {
            Offsets::Small(o) => o.len() - 1,
            Offsets::Large(o) => o.len() - 1,
            Offsets::Views(v) => v.views.len() / 16,
        }
    }
}

/// For each length up to 12, the bits that must be 0 in the 12 bytes a view holds (as
/// [`Views::short_ascii`] reads them) when they are an ASCII string of that length padded
/// with zeros: the high bit of each of the string's bytes, and every bit after them.
const NOT_SHORT_ASCII: [u128; 13] = {
    let mut masks = [0u128; 13];
    let mut len = 0;
    while len <= 12 {
        let mut byte = 0;
        while byte < 12 {
            let bits: u128 = if byte < len { 0x80 } else { 0xff };
            masks[len] |= bits << (8 * byte);
            byte += 1;
        }
        len += 1;
    }
    masks
};

/// The length of the string a view holds when it holds one of ASCII text, padded with
/// zeros (see [`Views::short_ascii`]).
#[inline(always)]
fn short_ascii_len(view: &[u8; 16]) -> Option<usize> {
    let len = i32::from_ne_bytes([view[0], view[1], view[2], view[3]]) as u32 as usize;
    // Bytes 4.. of the view, byte 4 + k at bits 8k.. whatever the machine's byte order.
    let held = u128::from_le_bytes(*view) >> 32;
    (len <= 12 && held & NOT_SHORT_ASCII[len] == 0).then_some(len)
}

impl<'v> Views<'v> {
    /// The bytes of value `i`, where its view says they are, with nothing checked.
    ///
    /// # Safety
    /// `i` is below the count and [`Views::bytes`] found view `i` sound, or
    /// [`short_ascii_len`] accepted it (which `Views::bytes` accepts too: a subset).
    #[inline(always)]
    unsafe fn bytes_unchecked(&self, i: usize) -> &'v [u8] {
        // SAFETY: 16 bytes of view `i` (caller), whose length is not negative, its bytes
        // inline when 12 or less, else within the data buffer it names (caller).
        unsafe {
            let view = self.views.as_ptr().add(i * 16);
            let word = |at: usize| view.add(at).cast::<i32>().read_unaligned() as usize;
            let len = word(0);
            let start = if len <= 12 {
                view.add(4)
            } else {
                self.data.0.get_unchecked(word(8)).add(word(12))
            };
            std::slice::from_raw_parts(start, len)
        }
    }

    /// Value `i` (below the count) when its view holds it as ASCII text padded with zeros,
    /// as most short strings are: checked in a few word operations, where
    /// [`Views::bytes`] and a UTF-8 check take several times as long. `None` for any
    /// other view, which the full check then reads (and names what is wrong with).
    #[inline(always)]
    fn short_ascii(&self, i: usize) -> Option<&'v str> {
        let view: &'v [u8; 16] = self.views[i * 16..i * 16 + 16]
            .try_into()
            .expect("16 bytes");
        let len = short_ascii_len(view)?;
        // SAFETY: every byte of the string is below 0x80 (`short_ascii_len`): ASCII, which
        // is UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(&view[4..4 + len]) })
    }

    /// The bytes of value `i` (below the count), where its view says they are; what is
    /// wrong with the view otherwise. Besides where the bytes lie, what arrow-rs's own
    /// validation of a view checks is checked too (an inline value padded with zeros, a
    /// longer one's first four bytes repeated in its view), so that what an operator reads
    /// is what arrow-rs's kernels see in the same column.
    #[inline]
    fn bytes(&self, i: usize) -> std::result::Result<&'v [u8], String> {
        let view = &self.views[i * 16..i * 16 + 16];
        let word = |at: usize| i32::from_ne_bytes(view[at..at + 4].try_into().expect("4 bytes"));
        let Ok(len) = usize::try_from(word(0)) else {
            return Err(format!("has a negative length ({})", word(0)));
        };
        if len <= 12 {
            if view[4 + len..].iter().any(|&b| b != 0) {
                return Err(format!(
                    "holds {len} bytes, but its bytes past them are not zeros"
                ));
            }
            return Ok(&view[4..4 + len]);
        }
        let Ok(buffer) = usize::try_from(word(8)) else {
            return Err(format!("names a negative data buffer ({})", word(8)));
        };
        let Ok(offset) = usize::try_from(word(12)) else {
            return Err(format!("has a negative offset ({})", word(12)));
        };
        let Some(&ptr) = self.data.0.get(buffer) else {
            let n = self.data.0.len();
            return Err(format!(
                "names data buffer {buffer}, but the column has {n} data buffer{}",
                if n == 1 { "" } else { "s" }
            ));
        };
        // Not negative: checked when the view was made.
        let size = self.sizes[buffer] as usize;
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(format!(
                "lies at bytes {offset}..{} of data buffer {buffer}, which holds {size}",
                offset.saturating_add(len)
            ));
        }
        // SAFETY: within the `size` bytes of a data buffer that is not null when it has
        // any (checked when the view was made), alive as long as the view.
        let bytes = unsafe { std::slice::from_raw_parts(ptr.add(offset), len) };
        if bytes[..4] != view[4..8] {
            return Err("has a prefix that is not its value's first 4 bytes".to_string());
        }
        Ok(bytes)
    }
}

impl<'v> BinariesView<'v> {
    /// How many values.
    #[inline]
    pub fn len(&self) -> usize {
        self.offsets.values()
    }

    /// Whether there are no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The validity bitmap, or `None` when every value is present.
    #[inline]
    pub fn validity(&self) -> Option<Validity<'v>> {
        self.validity
    }

    /// Value `i`, also for a null (whose value is usually empty), or an error when its
    /// offsets (or its view) are malformed. Panics past the end, as slice indexing does.
    #[inline]
    #[track_caller]
    pub fn try_value(&self, i: usize) -> Result<&'v [u8]> {
        located(self.bytes_at(i, "value"))
    }

    /// The bytes of value `i` (a `what`, for the error).
    #[inline(always)]
    #[track_caller]
    fn bytes_at(&self, i: usize, what: &str) -> Result<&'v [u8]> {
        self.in_bounds(i, what);
        let (start, end) = match self.offsets {
            Offsets::Small(o) => (usize::try_from(o[i]).ok(), usize::try_from(o[i + 1]).ok()),
            Offsets::Large(o) => (usize::try_from(o[i]).ok(), usize::try_from(o[i + 1]).ok()),
            Offsets::Views(views) => return self.view_bytes(views, i, what),
        };
        start
            .zip(end)
            .and_then(|(start, end)| self.data.get(start..end))
            .ok_or_else(|| {
                Error::msg(format!(
                    "{}: the offsets of {what} {i} do not lie within its {} bytes of data",
                    self.name,
                    self.data.len()
                ))
            })
    }

    /// [`BinariesView::bytes_at`] for a view column, out of line: the offsets' path, the
    /// common one, stays small enough to inline.
    #[inline(never)]
    fn view_bytes(&self, views: Views<'v>, i: usize, what: &str) -> Result<&'v [u8]> {
        views
            .bytes(i)
            .map_err(|why| Error::msg(format!("{}: the view of {what} {i} {why}", self.name)))
    }

    /// Panics, naming the column, when `i` is past the end (before any bitmap is read).
    #[inline]
    #[track_caller]
    fn in_bounds(&self, i: usize, what: &str) {
        assert!(
            i < self.len(),
            "{}: index {i} out of {}",
            self.name,
            crate::__private::counted(self.len(), what, &format!("{what}s"))
        );
    }

    /// Value `i`, or `None` for a null, or an error when its offsets (or its view) are
    /// malformed. Panics past the end.
    #[inline]
    #[track_caller]
    pub fn try_get(&self, i: usize) -> Result<Option<&'v [u8]>> {
        self.in_bounds(i, "value");
        match &self.validity {
            Some(validity) if !validity.is_valid(i) => Ok(None),
            _ => self.try_value(i).map(Some),
        }
    }

    /// Value `i`, or `None` for a null. Panics past the end, and on malformed offsets (or a
    /// malformed view; the panic becomes the call's error, [`BinariesView::try_get`]
    /// returns it instead).
    #[inline]
    #[track_caller]
    pub fn get(&self, i: usize) -> Option<&'v [u8]> {
        match self.try_get(i) {
            Ok(value) => value,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// Each value, `None` for a null. Panics on malformed offsets (or views), as
    /// [`BinariesView::get`] does.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<&'v [u8]>> + 'v {
        let this = *self;
        (0..self.len()).map(move |i| this.get(i))
    }
}

impl<'v> StringsView<'v> {
    /// How many values.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The validity bitmap, or `None` when every value is present.
    #[inline]
    pub fn validity(&self) -> Option<Validity<'v>> {
        self.0.validity
    }

    /// String `i`, also for a null (whose string is usually empty), or an error when its
    /// offsets or its bytes are malformed. Panics past the end, as slice indexing does.
    ///
    /// Each string is checked when it is read (its offsets lie within the data and its
    /// bytes are UTF-8), so reading a column costs in proportion to what is read.
    #[inline]
    #[track_caller]
    pub fn try_value(&self, i: usize) -> Result<&'v str> {
        located(self.try_value_here(i))
    }

    #[inline]
    #[track_caller]
    fn try_value_here(&self, i: usize) -> Result<&'v str> {
        if let Offsets::Views(views) = &self.0.offsets {
            self.0.in_bounds(i, "string");
            if let Some(text) = views.short_ascii(i) {
                return Ok(text);
            }
        }
        let bytes = self.0.bytes_at(i, "string")?;
        if bytes.is_ascii() {
            // SAFETY: ASCII (checked just above) is UTF-8. Most strings are, and this check
            // costs a fraction of `from_utf8`'s on short ones.
            return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        std::str::from_utf8(bytes)
            .map_err(|e| Error::msg(format!("{}: string {i} is not UTF-8: {e}", self.0.name)))
    }

    /// String `i`, or `None` for a null, or an error when it is malformed. Panics past the
    /// end.
    #[inline]
    #[track_caller]
    pub fn try_get(&self, i: usize) -> Result<Option<&'v str>> {
        self.0.in_bounds(i, "string");
        match &self.0.validity {
            Some(validity) if !validity.is_valid(i) => Ok(None),
            _ => self.try_value(i).map(Some),
        }
    }

    /// String `i`, or `None` for a null. Panics past the end, and on a malformed string
    /// (the panic becomes the call's error; [`StringsView::try_get`] returns it instead).
    #[inline]
    #[track_caller]
    pub fn get(&self, i: usize) -> Option<&'v str> {
        // A `match`, not a closure: the panic is then located at the caller's line.
        match self.try_get(i) {
            Ok(value) => value,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// Each string, `None` for a null. Panics on a malformed string, as
    /// [`StringsView::get`] does (the panic becomes the call's error and poisons the
    /// instance); read with [`StringsView::try_get`] to get the error instead.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<&'v str>> + 'v {
        let this = *self;
        (0..self.len()).map(move |i| this.get(i))
    }

    /// The column checked whole, once: its offsets in order and within the data, its bytes
    /// UTF-8, every string starting on a character. Reads from the result are then slices,
    /// as fast as arrow-rs's: for an operator that reads most strings of a column (reading
    /// them one by one checks each, at several times the cost). An error names the first
    /// string that is malformed. In a `Utf8View` column the views need not lie in order,
    /// so every string is checked one by one, a null's view too (as arrow-rs's validation
    /// checks them; a short ASCII string in a few word operations on its view); reads
    /// after it are unchecked.
    #[track_caller]
    pub fn checked(&self) -> Result<CheckedStrings<'v>> {
        located(self.checked_here())
    }

    fn checked_here(&self) -> Result<CheckedStrings<'v>> {
        match self.0.offsets {
            Offsets::Small(o) => self.check_offsets(o),
            Offsets::Large(o) => self.check_offsets(o),
            Offsets::Views(_) => self.check_views(),
        }
    }

    /// [`StringsView::checked`] for a view column: every view within its data buffer,
    /// every string UTF-8 (one at a time: they need not lie in order, or apart). A null's
    /// view too, as arrow-rs's validation of a view array checks it: a column that
    /// `iter` reads (skipping nulls) can still be refused here.
    fn check_views(&self) -> Result<CheckedStrings<'v>> {
        let Offsets::Views(views) = self.0.offsets else {
            unreachable!("check_views called for a column without views")
        };
        for (i, view) in views.views.chunks_exact(16).enumerate() {
            if short_ascii_len(view.try_into().expect("16 bytes")).is_none() {
                self.try_value_here(i)?;
            } else {
                // What the fast path accepts, the full check accepts (`value` relies on it).
                debug_assert!(views.bytes(i).is_ok(), "view {i}");
            }
        }
        Ok(CheckedStrings {
            text: "",
            first: 0,
            offsets: self.0.offsets,
            validity: self.0.validity,
            name: self.0.name,
        })
    }

    /// [`StringsView::checked`] over offsets of one width (the loop then has no branch on
    /// the width).
    fn check_offsets<O: Copy + TryInto<usize>>(&self, o: &[O]) -> Result<CheckedStrings<'v>> {
        let view = &self.0;
        let bad = |i: usize, why: &str| Error::msg(format!("{}: string {i} {why}", view.name));
        let at = |i: usize| -> Option<usize> { o[i].try_into().ok() };
        let n = o.len() - 1;
        let (Some(first), Some(last)) = (at(0), at(n)) else {
            return Err(bad(0, "has a negative offset"));
        };
        if first > last || last > view.data.len() {
            return Err(bad(
                n.saturating_sub(1),
                &format!("does not lie within its {} bytes of data", view.data.len()),
            ));
        }
        // The first string whose offsets are out of order (or negative), if any.
        let disorder = || {
            let mut start = first;
            (0..n).find(|&i| match at(i + 1) {
                Some(end) if end >= start && end <= last => {
                    start = end;
                    false
                }
                _ => true,
            })
        };
        let text = match std::str::from_utf8(&view.data[first..last]) {
            Ok(text) => text,
            Err(e) => {
                if let Some(i) = disorder() {
                    return Err(bad(i, "has its offsets out of order (or negative)"));
                }
                // The string the first bad byte falls in.
                let byte = first + e.valid_up_to();
                let i = (0..n).find(|&i| at(i + 1).is_some_and(|end| end > byte));
                return Err(bad(i.unwrap_or(0), "is not UTF-8"));
            }
        };
        // In order, within the text, each string starting on a character: one pass.
        let mut start = first;
        for i in 0..n {
            match at(i + 1) {
                Some(end) if end >= start && end <= last => {
                    if !text.is_char_boundary(end - first) {
                        return Err(bad(i + 1, "starts inside a character"));
                    }
                    start = end;
                }
                _ => return Err(bad(i, "has its offsets out of order (or negative)")),
            }
        }
        Ok(CheckedStrings {
            text,
            first,
            offsets: view.offsets,
            validity: view.validity,
            name: view.name,
        })
    }
}

/// A `Utf8`, `LargeUtf8` or `Utf8View` column checked whole ([`StringsView::checked`]):
/// its strings read as slices of its text (or where their views say), with no check left
/// to make.
#[derive(Clone, Copy, Debug)]
pub struct CheckedStrings<'v> {
    /// The strings' bytes, from the first string's start to the last one's end (empty for
    /// a view column, whose strings lie where their views say).
    text: &'v str,
    /// Where `text` starts in the column's data: the first offset.
    first: usize,
    /// The column's offsets, checked: in order, not negative, within `text`; or its views,
    /// each checked within its data buffer and UTF-8.
    offsets: Offsets<'v>,
    validity: Option<Validity<'v>>,
    /// The column, for the panic of an index past the end.
    name: Named<'v>,
}

impl<'v> CheckedStrings<'v> {
    /// How many strings.
    #[inline]
    pub fn len(&self) -> usize {
        self.offsets.values()
    }

    /// Whether there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The validity bitmap, or `None` when every value is present.
    #[inline]
    pub fn validity(&self) -> Option<Validity<'v>> {
        self.validity
    }

    /// String `i`, also for a null (usually empty). Panics past the end, naming the column.
    #[inline]
    #[track_caller]
    pub fn value(&self, i: usize) -> &'v str {
        self.in_bounds(i);
        let (start, end) = match self.offsets {
            // SAFETY: `i + 1` indexes the offsets (`i < len`, and there are `len + 1`);
            // `checked` found them not negative, so `as` loses nothing.
            Offsets::Small(o) => unsafe {
                (
                    *o.get_unchecked(i) as usize,
                    *o.get_unchecked(i + 1) as usize,
                )
            },
            // SAFETY: as for `Small`.
            Offsets::Large(o) => unsafe {
                (
                    *o.get_unchecked(i) as usize,
                    *o.get_unchecked(i + 1) as usize,
                )
            },
            // SAFETY: `checked` read every view (`i` is one): each holds ASCII bytes inline
            // (`short_ascii_len`) or names bytes within a data buffer (`Views::bytes`),
            // which are UTF-8.
            Offsets::Views(views) => unsafe {
                return std::str::from_utf8_unchecked(views.bytes_unchecked(i));
            },
        };
        // SAFETY: `checked` found every offset not negative (so `as` loses nothing), in
        // order, within `text` after `first`, and on a character boundary of it: the range
        // is in bounds and its bytes are UTF-8.
        unsafe {
            std::str::from_utf8_unchecked(
                self.text
                    .as_bytes()
                    .get_unchecked(start - self.first..end - self.first),
            )
        }
    }

    /// String `i`, or `None` for a null. Panics past the end, naming the column.
    #[inline]
    #[track_caller]
    pub fn get(&self, i: usize) -> Option<&'v str> {
        // Before the validity is read, whose own panic would not name the column.
        self.in_bounds(i);
        match &self.validity {
            Some(validity) if !validity.is_valid(i) => None,
            _ => Some(self.value(i)),
        }
    }

    /// Panics, naming the column, when `i` is past the end.
    #[inline]
    #[track_caller]
    fn in_bounds(&self, i: usize) {
        assert!(
            i < self.len(),
            "{}: index {i} out of {}",
            self.name,
            crate::__private::counted(self.len(), "string", "strings")
        );
    }

    /// Each string, `None` for a null.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<&'v str>> + 'v {
        let this = *self;
        (0..self.len()).map(move |i| this.get(i))
    }
}

impl<'v, K: ArrowNativeType> DictionaryView<'v, K> {
    /// How many rows (keys).
    #[inline]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no rows.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, one per row; their validity is the rows' nulls (a row is also null where
    /// its key points at a null value).
    #[inline]
    pub fn keys(&self) -> PrimitiveView<'v, K> {
        self.keys
    }

    /// The dictionary's values: a column of their own type, read with its accessor
    /// (`strings()?`, `i64s()?`, …) and indexed by [`DictionaryView::key`].
    #[inline]
    pub fn values(&self) -> ColumnView<'v> {
        self.values
    }

    /// The keys' validity, or `None` when every key is present: the rows whose key is null,
    /// and only those (a row whose key points at a null value is null too, which only the
    /// values' validity says).
    #[inline]
    pub fn validity(&self) -> Option<Validity<'v>> {
        self.keys.validity()
    }

    /// Where row `i`'s value is among the values: `None` for a null key, an error for a key
    /// that is negative or past the values. Panics past the end, as slice indexing does.
    #[inline]
    #[track_caller]
    pub fn try_key(&self, i: usize) -> Result<Option<usize>> {
        assert!(
            i < self.len(),
            "{}: index {i} out of {}",
            self.name,
            crate::__private::counted(self.len(), "key", "keys")
        );
        let Some(key) = self.keys.get(i) else {
            return Ok(None);
        };
        match key.to_usize() {
            Some(at) if at < self.values.len => Ok(Some(at)),
            _ => Err(Error::msg(format!(
                "{}: key {i} is {key:?}, not an index into its dictionary's {} values",
                self.name, self.values.len
            ))),
        }
    }

    /// Where row `i`'s value is among the values, `None` for a null key. Panics past the
    /// end, and on a key that is negative or past the values (the panic becomes the call's
    /// error; [`DictionaryView::try_key`] returns it instead).
    #[inline]
    #[track_caller]
    pub fn key(&self, i: usize) -> Option<usize> {
        match self.try_key(i) {
            Ok(key) => key,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// Each row's index among the values, `None` for a null key. Panics on a key that is
    /// negative or past the values, as [`DictionaryView::key`] does.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<usize>> + 'v
    where
        K: 'v,
    {
        let this = *self;
        (0..self.len()).map(move |i| this.key(i))
    }
}

impl<'v> BooleansView<'v> {
    /// How many values.
    #[inline]
    pub fn len(&self) -> usize {
        self.values.len
    }

    /// Whether there are no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.values.len == 0
    }

    /// The values as a bitmap (a null's bit is unspecified).
    #[inline]
    pub fn values(&self) -> Validity<'v> {
        self.values
    }

    /// The validity bitmap, or `None` when every value is present.
    #[inline]
    pub fn validity(&self) -> Option<Validity<'v>> {
        self.validity
    }

    /// Value `i`, or `None` for a null. Panics past the end, naming the column.
    #[inline]
    #[track_caller]
    pub fn get(&self, i: usize) -> Option<bool> {
        if i >= self.len() {
            past_the_end(self.name, i, self.len())
        }
        let value = self.values.is_valid(i);
        match &self.validity {
            Some(validity) if !validity.is_valid(i) => None,
            _ => Some(value),
        }
    }

    /// Each value, `None` for a null.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<bool>> + 'v {
        let this = *self;
        (0..self.len()).map(move |i| this.get(i))
    }
}
