//! Building an output from typed values: the other half of the typed view.
//!
//! A view operator that computed its output as plain Rust values (a `Vec<i64>`, strings,
//! flags) hands them over as [`ColumnOut`]s in a [`RowsOut`], and returns them with
//! [`ChangeOut::new`](super::view::ChangeOut::new). The exporter lays the values out for the
//! other side where they lie: no arrow-rs array, buffer or reference count is built on the
//! way, and the values are dropped when the receiver releases the last array that points
//! into them. In process (a unit test, [`ChangeOut::into_change`](super::view::ChangeOut::into_change))
//! the same values become arrow-rs arrays without a copy.

use core::ffi::c_void;
use std::alloc::Layout;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::Arc;

use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, ArrowPrimitiveType, PrimitiveArray, RecordBatch, make_array};
use arrow_buffer::bit_chunk_iterator::BitChunks;
use arrow_buffer::{ArrowNativeType, Buffer};
use arrow_data::ArrayData;
use arrow_schema::{DataType, Field, SchemaRef};

use super::view::Validity;
use crate::data::{Diff, Rows};
use crate::{Error, Result};

/// One column of a [`RowsOut`]: typed values, with their validity.
///
/// Made from a `Vec` of values ([`ColumnOut::new`], [`ColumnOut::i64s`],
/// [`ColumnOut::f64s`]: none null, or nulls added with [`ColumnOut::with_validity`]) or from
/// one `Option` per row ([`ColumnOut::from_options`], [`ColumnOut::strings`],
/// [`ColumnOut::binaries`], [`ColumnOut::booleans`]). Its type is checked against the
/// schema's field when the rows are made ([`RowsOut::new`]).
///
/// ```
/// use oplink::view::ColumnOut;
/// use oplink::arrow::array::types::TimestampMillisecondType;
///
/// let amounts = ColumnOut::i64s(vec![5, 50, 500]);
/// let seen = ColumnOut::new::<TimestampMillisecondType>(vec![1_700_000_000_000; 3]);
/// let names = ColumnOut::strings([Some("ada"), None, Some("grace")]);
/// let flags = ColumnOut::booleans([Some(true), Some(false), None]);
/// assert_eq!((amounts.len(), seen.len(), names.len(), flags.len()), (3, 3, 3, 3));
/// ```
pub struct ColumnOut {
    len: usize,
    /// One bit per value, from bit 0: whether it is present. `None`: every value is.
    validity: Option<Bits>,
    values: Values,
}

/// The offsets of a [`Values::Bytes`]: 32-bit while the data fits them (Utf8 and Binary, or
/// their large forms once widened), 64-bit past that (LargeUtf8 and LargeBinary only).
#[derive(Debug)]
pub(super) enum Offsets {
    Small(Vec<i32>),
    Large(Vec<i64>),
}

impl Offsets {
    fn as_ptr(&self) -> *const c_void {
        match self {
            Offsets::Small(offsets) => offsets.as_ptr().cast(),
            Offsets::Large(offsets) => offsets.as_ptr().cast(),
        }
    }

    /// The same offsets, 64-bit.
    pub(super) fn widen(&mut self) {
        if let Offsets::Small(small) = self {
            *self = Offsets::Large(small.iter().map(|&o| i64::from(o)).collect());
        }
    }
}

impl std::fmt::Debug for ColumnOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnOut")
            .field("built_as", &self.built_as())
            .field("len", &self.len)
            .field("null_count", &self.null_count())
            .finish_non_exhaustive()
    }
}

/// A bitmap from bit 0, and how many of its `len` bits are clear.
#[derive(Debug)]
struct Bits {
    bytes: Vec<u8>,
    unset: usize,
}

#[derive(Debug)]
pub(super) enum Values {
    /// Fixed-width values, with the test their field's type must pass.
    Fixed {
        values: RawValues,
        fits: fn(&DataType) -> bool,
        built_as: DataType,
    },
    /// Strings (`utf8`) or bytes: offsets and data.
    Bytes {
        offsets: Offsets,
        data: Vec<u8>,
        utf8: bool,
    },
    /// Boolean: one bit per value, from bit 0.
    Booleans(Vec<u8>),
    /// Strings (`utf8`) or bytes for a `Utf8View` or `BinaryView` field: a view of 16
    /// bytes per value (the value itself when it has 12 bytes or less, else its first 4
    /// bytes and where it lies in `data`), made from [`Values::Bytes`] when the rows are
    /// made; `data` is their one data buffer, and `sizes` its size, as the C Data
    /// Interface lists it; both empty (no data buffer) when every value is in its view.
    Views {
        views: Vec<u128>,
        data: Vec<u8>,
        sizes: Vec<i64>,
        utf8: bool,
    },
}

/// How a column for a field of `data_type` is built, for the error of one built otherwise.
#[cold]
fn how_to_build(data_type: &DataType) -> String {
    use arrow_schema::{IntervalUnit as I, TimeUnit as T};
    let primitive = match data_type {
        DataType::Int64 => return "build it with `ColumnOut::i64s`, or `ColumnOut::from_options::<Int64Type>` for nulls".to_owned(),
        DataType::Float64 => return "build it with `ColumnOut::f64s`, or `ColumnOut::from_options::<Float64Type>` for nulls".to_owned(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            return "build it with `ColumnOut::strings`".to_owned();
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            return "build it with `ColumnOut::binaries`".to_owned();
        }
        DataType::Boolean => return "build it with `ColumnOut::booleans`".to_owned(),
        DataType::Int8 => "Int8Type",
        DataType::Int16 => "Int16Type",
        DataType::Int32 => "Int32Type",
        DataType::UInt8 => "UInt8Type",
        DataType::UInt16 => "UInt16Type",
        DataType::UInt32 => "UInt32Type",
        DataType::UInt64 => "UInt64Type",
        DataType::Float16 => "Float16Type",
        DataType::Float32 => "Float32Type",
        DataType::Date32 => "Date32Type",
        DataType::Date64 => "Date64Type",
        DataType::Time32(T::Second) => "Time32SecondType",
        DataType::Time32(T::Millisecond) => "Time32MillisecondType",
        DataType::Time64(T::Microsecond) => "Time64MicrosecondType",
        DataType::Time64(T::Nanosecond) => "Time64NanosecondType",
        DataType::Timestamp(T::Second, _) => "TimestampSecondType",
        DataType::Timestamp(T::Millisecond, _) => "TimestampMillisecondType",
        DataType::Timestamp(T::Microsecond, _) => "TimestampMicrosecondType",
        DataType::Timestamp(T::Nanosecond, _) => "TimestampNanosecondType",
        DataType::Duration(T::Second) => "DurationSecondType",
        DataType::Duration(T::Millisecond) => "DurationMillisecondType",
        DataType::Duration(T::Microsecond) => "DurationMicrosecondType",
        DataType::Duration(T::Nanosecond) => "DurationNanosecondType",
        DataType::Interval(I::YearMonth) => "IntervalYearMonthType",
        DataType::Interval(I::DayTime) => "IntervalDayTimeType",
        DataType::Interval(I::MonthDayNano) => "IntervalMonthDayNanoType",
        DataType::Decimal32(_, _) => "Decimal32Type",
        DataType::Decimal64(_, _) => "Decimal64Type",
        DataType::Decimal128(_, _) => "Decimal128Type",
        DataType::Decimal256(_, _) => "Decimal256Type",
        _ => {
            return "a column of that type is not built from typed values: build the change with arrow-rs and return it, `.into()`".to_owned();
        }
    };
    format!(
        "build it with `ColumnOut::new::<{primitive}>`, or `ColumnOut::from_options::<{primitive}>` for nulls"
    )
}

impl ColumnOut {
    /// A column of `values` of the primitive type `T` (`Int32Type`, `TimestampMicrosecondType`,
    /// `Decimal128Type`, …), none null. It fits a field of any type an arrow-rs
    /// `PrimitiveArray<T>` fits: a timestamp column fits its unit with any time zone, a
    /// decimal any precision and scale (its values are not checked against the precision,
    /// as arrow-rs does not check them).
    pub fn new<T: ArrowPrimitiveType>(values: Vec<T::Native>) -> ColumnOut {
        ColumnOut {
            len: values.len(),
            validity: None,
            values: Values::Fixed {
                values: RawValues::new(values),
                fits: PrimitiveArray::<T>::is_compatible,
                built_as: T::DATA_TYPE,
            },
        }
    }

    /// An `Int64` column of `values`, none null.
    pub fn i64s(values: Vec<i64>) -> ColumnOut {
        ColumnOut::new::<Int64Type>(values)
    }

    /// A `Float64` column of `values`, none null.
    pub fn f64s(values: Vec<f64>) -> ColumnOut {
        ColumnOut::new::<Float64Type>(values)
    }

    /// A column of the primitive type `T` with one value per item, `None` for a null.
    pub fn from_options<T: ArrowPrimitiveType>(
        values: impl IntoIterator<Item = Option<T::Native>>,
    ) -> ColumnOut {
        let values = values.into_iter();
        let mut validity = BitsBuilder::with_capacity(values.size_hint().0);
        let values: Vec<T::Native> = values
            .map(|value| {
                validity.push(value.is_some());
                value.unwrap_or_default()
            })
            .collect();
        ColumnOut::new::<T>(values).with_bits(validity.finish())
    }

    /// A `Utf8` (or `LargeUtf8`, or `Utf8View`) column with one string per item, `None`
    /// for a null. Past 2 GiB of strings, only a `LargeUtf8` field takes it. For a
    /// `Utf8View` field, the views are made when the rows are ([`RowsOut::new`]): a string
    /// of 12 bytes or less is copied into its view, the rest stay where they are.
    pub fn strings<S: AsRef<str>>(values: impl IntoIterator<Item = Option<S>>) -> ColumnOut {
        ColumnOut::bytes(values.into_iter().map(|value| value.map(StrBytes)), true)
    }

    /// A `Binary` (or `LargeBinary`, or `BinaryView`) column with one value per item, `None`
    /// for a null. Past 2 GiB of data, only a `LargeBinary` field takes it.
    pub fn binaries<B: AsRef<[u8]>>(values: impl IntoIterator<Item = Option<B>>) -> ColumnOut {
        ColumnOut::bytes(values, false)
    }

    fn bytes<B: AsRef<[u8]>>(values: impl IntoIterator<Item = Option<B>>, utf8: bool) -> ColumnOut {
        let values = values.into_iter();
        let rows = values.size_hint().0;
        let mut validity = BitsBuilder::with_capacity(rows);
        let mut offsets = Offsets::Small(Vec::with_capacity(rows + 1));
        let mut data = Vec::new();
        let push = |offsets: &mut Offsets, end: usize| match offsets {
            Offsets::Small(small) => match i32::try_from(end) {
                Ok(end) => small.push(end),
                Err(_) => {
                    offsets.widen();
                    let Offsets::Large(large) = offsets else {
                        unreachable!("widened just above")
                    };
                    large.push(end as i64);
                }
            },
            Offsets::Large(large) => large.push(end as i64),
        };
        push(&mut offsets, 0);
        let mut len = 0;
        for value in values {
            validity.push(value.is_some());
            if let Some(value) = value {
                data.extend_from_slice(value.as_ref());
            }
            push(&mut offsets, data.len());
            len += 1;
        }
        ColumnOut {
            len,
            validity: None,
            values: Values::Bytes {
                offsets,
                data,
                utf8,
            },
        }
        .with_bits(validity.finish())
    }

    /// A `Boolean` column with one flag per item, `None` for a null.
    pub fn booleans(values: impl IntoIterator<Item = Option<bool>>) -> ColumnOut {
        let values = values.into_iter();
        let rows = values.size_hint().0;
        let mut validity = BitsBuilder::with_capacity(rows);
        let mut flags = BitsBuilder::with_capacity(rows);
        for value in values {
            validity.push(value.is_some());
            flags.push(value == Some(true));
        }
        let flags = flags.finish();
        ColumnOut {
            len: flags.len,
            validity: None,
            values: Values::Booleans(flags.bytes),
        }
        .with_bits(validity.finish())
    }

    /// The same values, also null where `validity` says a value is absent (a column's
    /// validity read in a view, to give an output the nulls of its input): its bits are
    /// copied, and a value the column already had as null stays null. `None` leaves the
    /// column as it is. A validity of another length is an error.
    #[track_caller]
    pub fn with_validity(self, validity: Option<Validity<'_>>) -> Result<ColumnOut> {
        let Some(validity) = validity else {
            return Ok(self);
        };
        if validity.len() != self.len {
            return Err(Error::msg(format!(
                "a validity of {} values for a column of {}: take the validity of a column of the rows this one is built for, one value per row",
                validity.len(),
                self.len
            )));
        }
        let (bits, start, len) = validity.raw();
        let chunks = BitChunks::new(bits, start, len);
        let mut bytes = Vec::with_capacity(len.div_ceil(8));
        for chunk in chunks.iter() {
            bytes.extend_from_slice(&chunk.to_le_bytes());
        }
        bytes.extend_from_slice(&chunks.remainder_bits().to_le_bytes());
        bytes.truncate(len.div_ceil(8));
        if let Some(own) = &self.validity {
            for (byte, own) in bytes.iter_mut().zip(&own.bytes) {
                *byte &= own;
            }
        }
        let unset = super::view::unset_bits(&bytes, 0, len);
        Ok(self.with_bits(Finished { bytes, len, unset }))
    }

    /// Keeps `bits` as the validity when some value is absent.
    fn with_bits(mut self, bits: Finished) -> ColumnOut {
        debug_assert_eq!(bits.len, self.len);
        self.validity = (bits.unset > 0).then_some(Bits {
            bytes: bits.bytes,
            unset: bits.unset,
        });
        self
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many values are null.
    pub fn null_count(&self) -> usize {
        self.validity.as_ref().map_or(0, |bits| bits.unset)
    }

    #[cfg(test)]
    pub(super) fn values_mut(&mut self) -> &mut Values {
        &mut self.values
    }

    /// The type the column was built as, for errors.
    fn built_as(&self) -> DataType {
        match &self.values {
            Values::Fixed { built_as, .. } => built_as.clone(),
            Values::Bytes { offsets, utf8, .. } => match (offsets, utf8) {
                (Offsets::Small(_), true) => DataType::Utf8,
                (Offsets::Small(_), false) => DataType::Binary,
                (Offsets::Large(_), true) => DataType::LargeUtf8,
                (Offsets::Large(_), false) => DataType::LargeBinary,
            },
            Values::Booleans(_) => DataType::Boolean,
            Values::Views { utf8: true, .. } => DataType::Utf8View,
            Values::Views { utf8: false, .. } => DataType::BinaryView,
        }
    }

    /// Whether the column can be laid out as a field of `data_type`.
    fn fits(&self, data_type: &DataType) -> bool {
        match &self.values {
            Values::Fixed { fits, .. } => fits(data_type),
            Values::Bytes { utf8: true, .. } => {
                matches!(
                    data_type,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            }
            Values::Bytes { utf8: false, .. } => {
                matches!(
                    data_type,
                    DataType::Binary | DataType::LargeBinary | DataType::BinaryView
                )
            }
            Values::Booleans(_) => *data_type == DataType::Boolean,
            Values::Views { .. } => *data_type == self.built_as(),
        }
    }

    /// The C Data Interface buffers of the column (validity first, null when every value
    /// is present) into `list`, and how many there are.
    pub(super) fn buffers(&self, list: &mut [*const c_void; 4]) -> usize {
        list[0] = self
            .validity
            .as_ref()
            .map_or(std::ptr::null(), |bits| bits.bytes.as_ptr().cast());
        match &self.values {
            Values::Fixed { values, .. } => {
                list[1] = values.ptr.as_ptr().cast_const().cast();
                2
            }
            Values::Bytes { offsets, data, .. } => {
                list[1] = offsets.as_ptr();
                list[2] = data.as_ptr().cast();
                3
            }
            Values::Booleans(bits) => {
                list[1] = bits.as_ptr().cast();
                2
            }
            Values::Views {
                views, data, sizes, ..
            } => {
                list[1] = views.as_ptr().cast();
                if sizes.is_empty() {
                    // No data buffer: the sizes of none.
                    list[2] = sizes.as_ptr().cast();
                    return 3;
                }
                list[2] = data.as_ptr().cast();
                list[3] = sizes.as_ptr().cast();
                4
            }
        }
    }

    /// The column as an arrow-rs array of `field`'s type, over the same memory.
    fn into_array(self, field: &Field) -> Result<ArrayRef> {
        let nulls = self.validity.map(|bits| Buffer::from_vec(bits.bytes));
        let buffers = match self.values {
            Values::Fixed { values, .. } => {
                let (ptr, len) = (values.ptr, values.bytes);
                // SAFETY: `len` initialized bytes at `ptr`, owned by `values`, which the
                // buffer keeps alive (and frees) through the `Arc`.
                vec![unsafe { Buffer::from_custom_allocation(ptr, len, Arc::new(values)) }]
            }
            Values::Bytes { offsets, data, .. } => vec![
                match offsets {
                    Offsets::Small(offsets) => Buffer::from_vec(offsets),
                    Offsets::Large(offsets) => Buffer::from_vec(offsets),
                },
                Buffer::from_vec(data),
            ],
            Values::Booleans(bits) => vec![Buffer::from_vec(bits)],
            Values::Views {
                views, data, sizes, ..
            } => {
                let mut buffers = vec![Buffer::from_vec(views)];
                if !sizes.is_empty() {
                    buffers.push(Buffer::from_vec(data));
                }
                buffers
            }
        };
        let data = ArrayData::try_new(
            field.data_type().clone(),
            self.len,
            nulls,
            0,
            buffers,
            Vec::new(),
        )
        .map_err(|e| Error::unlocated(format!("column `{}`: {e}", field.name())))?;
        Ok(make_array(data))
    }
}

/// The views of the values that `offsets` delimit in `data`, for a `Utf8View` or
/// `BinaryView` field (see [`Values::Views`]): a value of 12 bytes or less inside its
/// view, a longer one where it lies in `data`, as data buffer 0; and whether any value is
/// longer (so that the views need the data buffer).
fn views_of(offsets: &[i32], data: &[u8]) -> (Vec<u128>, bool) {
    let mut long = false;
    let views = offsets
        .windows(2)
        .map(|ends| {
            // Offsets only grow, from 0, within `data` (they were pushed so).
            let (start, end) = (ends[0] as usize, ends[1] as usize);
            let value = &data[start..end];
            let mut view = [0u8; 16];
            view[0..4].copy_from_slice(&(value.len() as i32).to_ne_bytes());
            if value.len() <= 12 {
                view[4..4 + value.len()].copy_from_slice(value);
            } else {
                long = true;
                view[4..8].copy_from_slice(&value[..4]);
                // Bytes 8..12: data buffer 0, the only one.
                view[12..16].copy_from_slice(&ends[0].to_ne_bytes());
            }
            u128::from_ne_bytes(view)
        })
        .collect();
    (views, long)
}

/// `&str` as bytes, for [`ColumnOut::strings`].
struct StrBytes<S>(S);

impl<S: AsRef<str>> AsRef<[u8]> for StrBytes<S> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref().as_bytes()
    }
}

/// A bitmap built bit by bit.
struct BitsBuilder {
    bytes: Vec<u8>,
    len: usize,
    unset: usize,
}

/// A built bitmap.
struct Finished {
    bytes: Vec<u8>,
    len: usize,
    unset: usize,
}

impl BitsBuilder {
    fn with_capacity(bits: usize) -> BitsBuilder {
        BitsBuilder {
            bytes: Vec::with_capacity(bits.div_ceil(8)),
            len: 0,
            unset: 0,
        }
    }

    #[inline]
    fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit {
            *self.bytes.last_mut().expect("pushed above") |= 1 << (self.len % 8);
        } else {
            self.unset += 1;
        }
        self.len += 1;
    }

    fn finish(self) -> Finished {
        Finished {
            bytes: self.bytes,
            len: self.len,
            unset: self.unset,
        }
    }
}

/// The allocation of a `Vec` of fixed-width values, its type forgotten: what a
/// [`ColumnOut`] keeps without building an arrow-rs buffer. Frees it when dropped.
#[derive(Debug)]
pub(super) struct RawValues {
    /// The vector's pointer: dangling (and aligned) when nothing was allocated.
    ptr: NonNull<u8>,
    /// The bytes the values take.
    bytes: usize,
    /// The allocation's layout: the vector's capacity in bytes and its values' alignment.
    size: usize,
    align: usize,
}

// SAFETY: a `RawValues` owns its allocation of plain values (`ArrowNativeType`s are `Send`
// and `Sync`), which nothing else reaches except through `&self`.
unsafe impl Send for RawValues {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for RawValues {}

impl RawValues {
    fn new<T: ArrowNativeType>(values: Vec<T>) -> RawValues {
        let mut values = ManuallyDrop::new(values);
        RawValues {
            ptr: NonNull::new(values.as_mut_ptr().cast()).expect("a vector's pointer"),
            bytes: values.len() * size_of::<T>(),
            size: values.capacity() * size_of::<T>(),
            align: align_of::<T>(),
        }
    }
}

impl Drop for RawValues {
    fn drop(&mut self) {
        if self.size != 0 {
            // SAFETY: a `Vec<T>` allocated `size` bytes (its capacity times the size of `T`)
            // at `ptr` with `T`'s alignment, from the global allocator, and gave them up to
            // this value alone (`RawValues::new`).
            unsafe {
                std::alloc::dealloc(
                    self.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(self.size, self.align),
                )
            };
        }
    }
}

/// One side of a diff built from typed values: row numbers and one [`ColumnOut`] per field
/// of its schema.
///
/// ```
/// use std::sync::Arc;
/// use oplink::arrow::schema::{DataType, Field, Schema};
/// use oplink::view::{ColumnOut, RowsOut};
///
/// let schema = Arc::new(Schema::new(vec![
///     Field::new("amount", DataType::Int64, false),
///     Field::new("customer", DataType::Utf8, true),
/// ]));
/// let rows = RowsOut::new(
///     schema,
///     vec![7, 8],
///     vec![ColumnOut::i64s(vec![5, 50]), ColumnOut::strings([Some("ada"), None])],
/// )?;
/// assert_eq!(rows.num_rows(), 2);
/// # Ok::<(), oplink::Error>(())
/// ```
#[derive(Debug)]
pub struct RowsOut {
    schema: SchemaRef,
    numbers: Vec<u64>,
    columns: Vec<ColumnOut>,
}

impl RowsOut {
    /// Pairs `row_numbers` with `columns`, one per field of `schema`, in its order. An
    /// error, located at the caller, names the first column that does not fit its field:
    /// another count of columns, another number of values than of row numbers, a type the
    /// field does not take, or nulls in a field that is not nullable.
    ///
    /// Keep the schema in an `Arc` made once (in `new`, say) and clone that: the schema then
    /// crosses the boundary once, not with every change.
    #[track_caller]
    pub fn new(
        schema: SchemaRef,
        row_numbers: Vec<u64>,
        columns: Vec<ColumnOut>,
    ) -> Result<RowsOut> {
        RowsOut::located(schema, row_numbers, columns, Location::caller())
    }

    /// [`RowsOut::new`], its error located at `caller`.
    pub(super) fn located(
        schema: SchemaRef,
        row_numbers: Vec<u64>,
        columns: Vec<ColumnOut>,
        caller: &'static Location<'static>,
    ) -> Result<RowsOut> {
        let error = |message: String| Err(Error::unlocated(message).at(caller));
        let fields = schema.fields();
        let mut columns = columns;
        if columns.len() != fields.len() {
            return error(format!(
                "{} for a schema of {}",
                crate::__private::counted(columns.len(), "column", "columns"),
                crate::__private::counted(fields.len(), "field", "fields"),
            ));
        }
        for (column, field) in columns.iter_mut().zip(fields.iter()) {
            let name = field.name();
            if column.len != row_numbers.len() {
                return error(format!(
                    "column `{name}` has {} for {}",
                    crate::__private::counted(column.len, "value", "values"),
                    crate::__private::counted(row_numbers.len(), "row number", "row numbers"),
                ));
            }
            if !column.fits(field.data_type()) {
                return error(format!(
                    "column `{name}` was built as {}, but its field is {} ({})",
                    super::primitive_type_name(&column.built_as()),
                    field.data_type(),
                    how_to_build(field.data_type())
                ));
            }
            if let Values::Bytes {
                offsets,
                data,
                utf8,
            } = &mut column.values
            {
                match (field.data_type(), &offsets) {
                    (DataType::LargeUtf8 | DataType::LargeBinary, Offsets::Small(_)) => {
                        offsets.widen();
                    }
                    (
                        DataType::Utf8
                        | DataType::Binary
                        | DataType::Utf8View
                        | DataType::BinaryView,
                        Offsets::Large(_),
                    ) => {
                        let what = if matches!(
                            field.data_type(),
                            DataType::Utf8View | DataType::BinaryView
                        ) {
                            // A view array's can, over several data buffers; oplink lays
                            // out one.
                            format!(
                                "the one data buffer oplink lays out for a {} column can hold",
                                field.data_type()
                            )
                        } else {
                            format!("a {} column can", field.data_type())
                        };
                        return error(format!(
                            "column `{name}` holds more than {} bytes, more than {what} (a {} field takes them)",
                            i32::MAX,
                            if matches!(field.data_type(), DataType::Utf8 | DataType::Utf8View) {
                                "LargeUtf8"
                            } else {
                                "LargeBinary"
                            }
                        ));
                    }
                    (DataType::Utf8View | DataType::BinaryView, Offsets::Small(small)) => {
                        let (views, long) = views_of(small, data);
                        // The data stays where it is, as the one data buffer, unless every
                        // value is in its view.
                        let (data, sizes) = if long {
                            let size = data.len() as i64;
                            (std::mem::take(data), vec![size])
                        } else {
                            (Vec::new(), Vec::new())
                        };
                        column.values = Values::Views {
                            views,
                            data,
                            sizes,
                            utf8: *utf8,
                        };
                    }
                    _ => {}
                }
            }
            if !field.is_nullable() && column.null_count() > 0 {
                return error(format!(
                    "column `{name}` has {} but its field is not nullable: make the field nullable (`Field::new(\"{name}\", .., true)`) or build the column without nulls",
                    crate::__private::counted(column.null_count(), "null", "nulls"),
                ));
            }
        }
        Ok(RowsOut {
            schema,
            numbers: row_numbers,
            columns,
        })
    }

    /// How many rows.
    pub fn num_rows(&self) -> usize {
        self.numbers.len()
    }

    /// The schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The row numbers.
    pub fn row_numbers(&self) -> &[u64] {
        &self.numbers
    }

    /// The columns, in the schema's order.
    pub(super) fn columns(&self) -> &[ColumnOut] {
        &self.columns
    }

    /// The rows as arrow-rs arrays over the same memory (nothing is copied).
    pub fn into_rows(self) -> Result<Rows> {
        let RowsOut {
            schema,
            numbers,
            columns,
        } = self;
        let rows = numbers.len();
        let arrays = columns
            .into_iter()
            .zip(schema.fields().iter())
            .map(|(column, field)| column.into_array(field))
            .collect::<Result<Vec<_>>>()?;
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(schema, arrays, &options)
            .map_err(|e| Error::unlocated(format!("the rows do not make a batch: {e}")))?;
        Rows::new(numbers, batch)
    }
}

/// One diff of an output built from typed values: as [`Diff`], over [`RowsOut`].
#[derive(Debug)]
pub enum DiffOut {
    /// New rows.
    Insert {
        /// The rows inserted.
        post: RowsOut,
    },
    /// Rows changed: `pre` and `post` pair up row by row.
    Update {
        /// The rows before.
        pre: RowsOut,
        /// The rows after.
        post: RowsOut,
    },
    /// Rows gone.
    Remove {
        /// The rows removed.
        pre: RowsOut,
    },
}

/// Checks that every update of `diffs` carries the same row numbers on both sides, as the
/// receiver requires; the error names the diff.
pub(super) fn same_numbers_in(diffs: &[DiffOut]) -> Result<()> {
    for (index, diff) in diffs.iter().enumerate() {
        if let DiffOut::Update { pre, post } = diff {
            super::same_numbers(&pre.numbers, &post.numbers)
                .map_err(|e| Error::unlocated(format!("diff {index} of the output: {e}")))?;
        }
    }
    Ok(())
}

impl DiffOut {
    /// Its sides, in the order they cross (`pre`, then `post`).
    pub(super) fn sides(&self) -> [Option<&RowsOut>; 2] {
        match self {
            DiffOut::Insert { post } => [None, Some(post)],
            DiffOut::Update { pre, post } => [Some(pre), Some(post)],
            DiffOut::Remove { pre } => [Some(pre), None],
        }
    }

    /// The diff as arrow-rs arrays (see [`RowsOut::into_rows`]).
    pub fn into_diff(self) -> Result<Diff> {
        Ok(match self {
            DiffOut::Insert { post } => Diff::Insert {
                post: post.into_rows()?,
            },
            DiffOut::Update { pre, post } => Diff::Update {
                pre: pre.into_rows()?,
                post: post.into_rows()?,
            },
            DiffOut::Remove { pre } => Diff::Remove {
                pre: pre.into_rows()?,
            },
        })
    }
}
