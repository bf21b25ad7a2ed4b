//! An array's header checked, and the common top-level columns built from it.

use std::ptr::NonNull;
use std::sync::Arc;

use arrow_array::types::{BinaryType, ByteArrayType, LargeBinaryType, LargeUtf8Type, Utf8Type};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, GenericByteArray, PrimitiveArray,
    downcast_primitive,
};
use arrow_buffer::Buffer;
use arrow_schema::{DataType, SchemaRef};

use super::arrays::Importer;
use super::sent::{same_boolean, same_bytes_array, same_fixed};
use crate::exchange::raw::RawArray;
use crate::{Error, Result};

/// What every array's header must satisfy, read once.
#[derive(Debug)]
pub(in crate::exchange) struct Shape {
    pub(in crate::exchange) length: usize,
    pub(in crate::exchange) offset: usize,
    /// None when the producer did not count.
    pub(in crate::exchange) null_count: Option<usize>,
}

impl Shape {
    /// Checks `raw`'s header against a type with `buffers` buffers and `children` children.
    ///
    /// # Safety
    /// `raw` is a C Data Interface array as far as its fields' types go: its pointers are
    /// checked here only for being null or misaligned.
    #[inline(always)]
    pub(in crate::exchange) unsafe fn of(
        raw: &RawArray,
        buffers: usize,
        children: usize,
    ) -> Result<Shape> {
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
                "it has {} where its type has {buffers}",
                crate::__private::counted(raw.n_buffers, "buffer", "buffers")
            ));
        }
        if raw.n_children != children as i64 {
            return Error::unlocated(format!(
                "it has {} where its type has {children}",
                crate::__private::counted(raw.n_children, "child", "children")
            ));
        }
        if buffers > 0 && (raw.buffers.is_null() || !raw.buffers.is_aligned()) {
            return Error::unlocated("its buffer list is null or misaligned");
        }
        Error::unlocated("its child list is null or misaligned")
    }

    /// Offset plus length: how many slots the buffers hold.
    pub(in crate::exchange) fn end(&self) -> usize {
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
pub(in crate::exchange) struct Column(ColumnBuild);

/// Imports the column at a child pointer of a struct of the given shape, as a data type.
/// With the column sent at the same place when this is an answer to a batch this side sent:
/// that column itself is the result when the array holds its values (`sent`'s notes).
type ColumnBuild = unsafe fn(
    &mut Importer<'_>,
    *mut RawArray,
    &DataType,
    &Shape,
    Option<&ArrayRef>,
) -> Result<ArrayRef>;

impl std::fmt::Debug for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Column")
    }
}

impl Column {
    /// The builder for a column of `data_type`.
    pub(in crate::exchange) fn for_type(data_type: &DataType) -> Column {
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
    pub(in crate::exchange) fn for_schema(schema: &SchemaRef) -> Box<[Column]> {
        schema
            .fields()
            .iter()
            .map(|field| Column::for_type(field.data_type()))
            .collect()
    }

    /// Imports the column at `raw`, child of a struct of shape `parent`: `sent` itself,
    /// when given (the column sent at the same place) and `raw` holds its values.
    ///
    /// # Safety
    /// `raw` is null or a valid C Data Interface array kept alive by the importer's owner;
    /// `data_type` is the type this builder was chosen for.
    #[inline(always)]
    pub(super) unsafe fn import(
        self,
        importer: &mut Importer<'_>,
        raw: *mut RawArray,
        data_type: &DataType,
        parent: &Shape,
        sent: Option<&ArrayRef>,
    ) -> Result<ArrayRef> {
        // SAFETY: forwarded from the caller.
        unsafe { (self.0)(importer, raw, data_type, parent, sent) }
    }
}

/// The array a child pointer points to, once it is known to be non-null and aligned.
///
/// # Safety
/// `raw` is null or points to a valid C Data Interface array.
#[inline(always)]
pub(super) unsafe fn node<'r>(raw: *mut RawArray) -> Result<&'r RawArray> {
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
pub(in crate::exchange) fn no_dictionary(raw: &RawArray, data_type: &DataType) -> Result<()> {
    if raw.dictionary.is_null() {
        return Ok(());
    }
    Err(cold(format_args!(
        "an array of type {data_type} has a dictionary"
    )))
}

/// The error of a child shorter than the slots its parent needs of it.
#[cold]
pub(super) fn too_short(length: usize, needed: usize) -> Error {
    cold(format_args!(
        "it has {} where its parent needs {needed}",
        crate::__private::counted(length, "row", "rows")
    ))
}

/// An error made out of line, so that the path that does not fail carries no formatting
/// code.
#[cold]
#[inline(never)]
pub(super) fn cold(message: std::fmt::Arguments<'_>) -> Error {
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
    sent: Option<&ArrayRef>,
) -> Result<ArrayRef> {
    // SAFETY: forwarded from the caller; the shape is checked before the buffers are read.
    let array = unsafe {
        let raw = node(raw)?;
        let shape = Shape::of(raw, 2, 0)?.within(parent)?;
        if let Some(sent) = sent
            && sent.data_type() == data_type
            && let Some(typed) = sent.as_any().downcast_ref::<PrimitiveArray<T>>()
            && same_fixed(raw, &shape, typed)
        {
            return Ok(sent.clone());
        }
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
    sent: Option<&ArrayRef>,
) -> Result<ArrayRef> {
    // SAFETY: as above.
    unsafe {
        let raw = node(raw)?;
        let shape = Shape::of(raw, 2, 0)?.within(parent)?;
        if let Some(sent) = sent
            && let Some(typed) = sent.as_any().downcast_ref::<BooleanArray>()
            && same_boolean(raw, &shape, typed)
        {
            return Ok(sent.clone());
        }
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
    sent: Option<&ArrayRef>,
) -> Result<ArrayRef> {
    // SAFETY: as above.
    unsafe {
        let raw = node(raw)?;
        let shape = Shape::of(raw, 3, 0)?.within(parent)?;
        if let Some(sent) = sent
            && let Some(typed) = sent.as_any().downcast_ref::<GenericByteArray<T>>()
            && same_bytes_array(raw, &shape, typed)
        {
            return Ok(sent.clone());
        }
        let array = importer.bytes_shaped::<T>(raw, &shape)?;
        no_dictionary(raw, data_type)?;
        Ok(Arc::new(array))
    }
}

/// A column of any other type, through the general importer (never compared with a sent
/// one).
///
/// # Safety
/// As for [`Column::import`].
unsafe fn any_column(
    importer: &mut Importer<'_>,
    raw: *mut RawArray,
    data_type: &DataType,
    parent: &Shape,
    _sent: Option<&ArrayRef>,
) -> Result<ArrayRef> {
    // SAFETY: forwarded from the caller.
    unsafe { importer.child_at(raw, data_type, parent) }
}

/// Bytes for `count` values of `width` bytes, or an error naming the overflow.
#[inline(always)]
pub(super) fn bytes_for(count: usize, width: usize) -> Result<usize> {
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
pub(super) unsafe fn aligned_copy(ptr: NonNull<u8>, len: usize) -> Buffer {
    // SAFETY: forwarded from the caller.
    Buffer::from_slice_ref(unsafe { std::slice::from_raw_parts(ptr.as_ptr(), len) })
}
