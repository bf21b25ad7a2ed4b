//! Arrays of every type oplink builds itself, at any depth, over one batch's buffers.

use std::ptr::NonNull;
use std::sync::Arc;

use arrow_array::types::{
    ArrowDictionaryKeyType, BinaryType, BinaryViewType, ByteArrayType, ByteViewType,
    LargeBinaryType, LargeUtf8Type, StringViewType, Utf8Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, DictionaryArray, FixedSizeBinaryArray,
    GenericByteArray, GenericByteViewArray, GenericListArray, NullArray, OffsetSizeTrait,
    PrimitiveArray, RecordBatch, StructArray, downcast_integer, downcast_primitive,
};
use arrow_buffer::alloc::Allocation;
use arrow_buffer::{
    ArrowNativeType, BooleanBuffer, Buffer, MutableBuffer, NullBuffer, OffsetBuffer, ScalarBuffer,
};
use arrow_schema::{DataType, FieldRef, Fields, SchemaRef};

use super::columns::{
    Column, Shape, aligned_copy, bytes_for, cold, no_dictionary, node, too_short,
};
use super::foreign::{data_size, foreign, offset_ends, view_data_buffers};
use super::no_bitmap;
use super::owner::Owner;
use super::sent::Sent;
use crate::exchange::raw::RawArray;
use crate::exchange::small::{Copies, SMALL};
use crate::{Error, Result};

/// Builds arrow-rs arrays over one batch's buffers.
pub(super) struct Importer<'a> {
    owner: &'a Arc<Owner>,
    /// Where small buffers are copied; with none, every buffer is shared.
    copies: Option<&'a mut Copies>,
}

impl<'a> Importer<'a> {
    pub(super) fn new(owner: &'a Arc<Owner>, copies: Option<&'a mut Copies>) -> Importer<'a> {
        Importer { owner, copies }
    }

    /// The batch at `raw`: a struct array without nulls whose children are the columns of
    /// `schema`. With `sent`, the rows this side sent at the same place when this is an
    /// answer to them, each column that holds the values of the sent column of its place is
    /// that column (`sent`'s notes).
    ///
    /// # Safety
    /// `raw` is a valid C Data Interface array, kept alive by the owner.
    #[inline(always)]
    pub(super) unsafe fn batch(
        &mut self,
        raw: &RawArray,
        schema: &SchemaRef,
        plan: &[Column],
        sent: Option<Sent<'_>>,
    ) -> Result<RecordBatch> {
        let fields = schema.fields();
        debug_assert_eq!(plan.len(), fields.len(), "one plan per field");
        if raw.n_children != fields.len() as i64 {
            return Err(Error::unlocated(format!(
                "the batch has {} where its schema has {}",
                crate::__private::counted(raw.n_children, "column", "columns"),
                fields.len()
            )));
        }
        // SAFETY: a valid array (caller).
        let shape = unsafe { Shape::of(raw, 1, fields.len()) }
            .map_err(|e| e.context("a batch's struct array"))?;
        if !raw.dictionary.is_null() {
            return Err(cold(format_args!(
                "a batch's struct array has a dictionary"
            )));
        }
        // SAFETY: as above.
        if unsafe { self.nulls(raw, &shape) }
            .map_err(|e| e.context("a batch's struct array"))?
            .is_some()
        {
            return Err(Error::unlocated(
                "a batch's struct array must not have null rows",
            ));
        }
        // Only a batch of as many rows can hold the sent one's columns.
        let sent = sent.filter(|sent| sent.rows.len() == shape.length && shape.offset == 0);
        let mut columns = Vec::with_capacity(fields.len());
        for (i, (field, column)) in fields.iter().zip(plan).enumerate() {
            // SAFETY: `Shape::of` checked the child list (caller: the arrays are valid),
            // and the plan was made for this field's type.
            let column = unsafe {
                let sent = sent.and_then(|sent| sent.column(i));
                column.import(self, raw.child(i), field.data_type(), &shape, sent)
            }
            .map_err(|e| e.context(format!("column `{}`", field.name())))?;
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(cold(format_args!(
                    "column `{}` is declared without nulls but has {}",
                    field.name(),
                    crate::__private::counted(column.null_count(), "null", "nulls")
                )));
            }
            columns.push(column);
        }
        // SAFETY: each column was built for its field's type, and `child` gave each the
        // struct's length.
        Ok(unsafe { RecordBatch::new_unchecked(schema.clone(), columns, shape.length) })
    }

    /// Buffer `index` of `raw`, `len` bytes long, shared with the owner (or copied when
    /// it is not aligned to `align`, as arrow-rs requires of typed buffers).
    ///
    /// # Safety
    /// `raw`'s buffer list holds `n_buffers` readable pointers (checked by `Shape::of`),
    /// and the producer declared buffer `index` to hold `len` bytes.
    #[inline(always)]
    unsafe fn buffer(
        &mut self,
        raw: &RawArray,
        index: usize,
        len: usize,
        align: usize,
    ) -> Result<Buffer> {
        // SAFETY: forwarded.
        unsafe { self.buffer_range(raw, index, 0, len, align) }
    }

    /// Bytes `skip..skip + len` of buffer `index` of `raw` (so a slice needs no second
    /// buffer object), as [`Importer::buffer`] does; copied instead when they are few and
    /// the importer has somewhere to copy them (`small`'s notes).
    ///
    /// # Safety
    /// As for [`Importer::buffer`], the buffer holding `skip + len` bytes; `skip` is a
    /// multiple of `align`.
    #[inline(always)]
    unsafe fn buffer_range(
        &mut self,
        raw: &RawArray,
        index: usize,
        skip: usize,
        len: usize,
        align: usize,
    ) -> Result<Buffer> {
        // SAFETY: within the list (caller).
        let ptr = unsafe { raw.buffer(index) }.cast::<u8>();
        if len == 0 {
            return Ok(match self.copies.as_deref_mut() {
                Some(copies) => copies.empty(),
                None => MutableBuffer::new(0).into(),
            });
        }
        let Some(ptr) = NonNull::new(ptr.cast_mut()) else {
            return Err(cold(format_args!(
                "its buffer {index} is null but must hold {}",
                crate::__private::counted(skip + len, "byte", "bytes")
            )));
        };
        // SAFETY: within the buffer's `skip + len` bytes (caller).
        let ptr = unsafe { ptr.add(skip) };
        if len <= SMALL
            && let Some(copies) = self.copies.as_deref_mut()
            // SAFETY: `len` readable bytes (caller).
            && let Some(copy) = unsafe { copies.copy(ptr, len, align) }
        {
            return Ok(copy);
        }
        if !(ptr.as_ptr() as usize).is_multiple_of(align) {
            // SAFETY: `len` readable bytes (caller).
            return Ok(unsafe { aligned_copy(ptr, len) });
        }
        let owner: Arc<dyn Allocation> = Arc::<Owner>::clone(self.owner);
        // SAFETY: `len` readable bytes (caller), kept alive by the owner: the producer
        // releases them only after the last buffer sharing the owner is dropped.
        Ok(unsafe { Buffer::from_custom_allocation(ptr, len, owner) })
    }

    /// The validity bitmap (buffer 0), or none when there are no nulls.
    ///
    /// # Safety
    /// As for [`Importer::buffer`].
    #[inline(always)]
    unsafe fn nulls(&mut self, raw: &RawArray, shape: &Shape) -> Result<Option<NullBuffer>> {
        if shape.null_count == Some(0) || shape.length == 0 {
            return Ok(None);
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.bitmap(raw, shape) }
    }

    /// [`Importer::nulls`] of an array that may have nulls, out of line: only such arrays
    /// pay for its code.
    ///
    /// # Safety
    /// As for [`Importer::buffer`].
    #[inline(never)]
    unsafe fn bitmap(&mut self, raw: &RawArray, shape: &Shape) -> Result<Option<NullBuffer>> {
        // SAFETY: the list has at least one buffer (every caller's type has a bitmap).
        if unsafe { raw.buffer(0) }.is_null() {
            return match shape.null_count {
                None => Ok(None),
                Some(n) => Err(Error::unlocated(no_bitmap(n))),
            };
        }
        // SAFETY: a bitmap covers offset + length bits (the C Data Interface).
        let bits = unsafe { self.buffer(raw, 0, shape.end().div_ceil(8), 1) }?;
        let bits = BooleanBuffer::new(bits, shape.offset, shape.length);
        let nulls = match shape.null_count {
            // SAFETY: the producer's count of the bitmap's zeros, taken on its word as
            // arrow-rs's own importer takes it (counting costs a popcount of the bitmap per
            // column: a quarter more on a wide batch of a thousand rows).
            Some(n) => unsafe { NullBuffer::new_unchecked(bits, n) },
            None => NullBuffer::new(bits),
        };
        Ok(Some(nulls).filter(|nulls| nulls.null_count() > 0))
    }

    /// A `values` buffer of `T`s at `index`, sliced to the array's slots.
    ///
    /// # Safety
    /// As for [`Importer::buffer`].
    #[inline(always)]
    unsafe fn values<T: ArrowNativeType>(
        &mut self,
        raw: &RawArray,
        index: usize,
        offset: usize,
        len: usize,
    ) -> Result<ScalarBuffer<T>> {
        bytes_for(offset + len, size_of::<T>())?;
        let size = size_of::<T>();
        // SAFETY: forwarded; a buffer of fixed-width values holds offset + length of them
        // (whose byte count does not overflow: checked above).
        let buffer =
            unsafe { self.buffer_range(raw, index, offset * size, len * size, align_of::<T>()) }?;
        Ok(ScalarBuffer::from(buffer))
    }

    /// The array at child `index` of `parent` (shape `shape`), as `data_type`, sliced to
    /// the parent's slots (a struct's offset applies to its children).
    ///
    /// # Safety
    /// `parent`'s child list was checked by `Shape::of` and holds valid arrays.
    unsafe fn child(
        &mut self,
        parent: &RawArray,
        index: usize,
        data_type: &DataType,
        shape: &Shape,
    ) -> Result<ArrayRef> {
        // SAFETY: within the list, valid (caller).
        unsafe { self.child_at(parent.child(index), data_type, shape) }
    }

    /// The array at `child`, a child of a parent of shape `shape`, as in [`Importer::child`].
    ///
    /// # Safety
    /// `child` is null or a valid C Data Interface array.
    pub(super) unsafe fn child_at(
        &mut self,
        child: *mut RawArray,
        data_type: &DataType,
        shape: &Shape,
    ) -> Result<ArrayRef> {
        // SAFETY: a valid array (caller).
        let array = unsafe { self.array(child, data_type) }?;
        if array.len() < shape.end() {
            return Err(too_short(array.len(), shape.end()));
        }
        if shape.offset == 0 && array.len() == shape.length {
            return Ok(array);
        }
        Ok(array.slice(shape.offset, shape.length))
    }

    /// The array at `raw`.
    ///
    /// # Safety
    /// `raw` is null or a valid C Data Interface array under the owner's arrays.
    unsafe fn array(&mut self, raw: *mut RawArray, data_type: &DataType) -> Result<ArrayRef> {
        // SAFETY: null or valid (caller).
        let array = unsafe { node(raw) }?;
        macro_rules! primitive {
            ($t:ty) => {{
                let array = self.primitive::<$t>(array)?;
                // Only parametric types (a timestamp's zone, a decimal's precision) differ.
                if array.data_type() == data_type {
                    Arc::new(array)
                } else {
                    Arc::new(array.with_data_type(data_type.clone()))
                }
            }};
        }
        // SAFETY: every arm reads a valid array (caller) of the type it was given.
        let imported: ArrayRef = unsafe {
            downcast_primitive!(
            data_type => (primitive),
            DataType::Boolean => Arc::new(self.boolean(array)?),
            DataType::Utf8 => Arc::new(self.bytes::<Utf8Type>(array)?),
            DataType::LargeUtf8 => Arc::new(self.bytes::<LargeUtf8Type>(array)?),
            DataType::Binary => Arc::new(self.bytes::<BinaryType>(array)?),
            DataType::LargeBinary => Arc::new(self.bytes::<LargeBinaryType>(array)?),
            DataType::Utf8View => Arc::new(self.views::<StringViewType>(array)?),
            DataType::BinaryView => Arc::new(self.views::<BinaryViewType>(array)?),
            DataType::FixedSizeBinary(width) => Arc::new(self.fixed_binary(array, *width)?),
            DataType::Null => {
                let shape = Shape::of(array, 0, 0)?;
                Arc::new(NullArray::new(shape.length))
            }
            DataType::Struct(fields) => Arc::new(self.structure(array, fields)?),
            DataType::List(field) => Arc::new(self.list::<i32>(array, field)?),
            DataType::LargeList(field) => Arc::new(self.list::<i64>(array, field)?),
            DataType::Dictionary(keys, values) => {
                macro_rules! dictionary {
                    ($k:ty) => {
                        Arc::new(self.dictionary::<$k>(array, values)?)
                    };
                }
                downcast_integer!(
                    keys.as_ref() => (dictionary),
                    other => return Err(Error::unlocated(format!(
                        "its dictionary keys are {other}, where the Arrow format has integers"
                    )))
                )
            }
            // Every other type: arrow-rs imports it, in place.
            _ => return foreign(self.owner, array, data_type),
            )
        };
        if !matches!(data_type, DataType::Dictionary(..)) {
            no_dictionary(array, data_type)?;
        }
        Ok(imported)
    }

    /// # Safety
    /// `raw` is a valid C Data Interface array.
    #[inline(always)]
    pub(super) unsafe fn primitive<T: ArrowPrimitiveType>(
        &mut self,
        raw: &RawArray,
    ) -> Result<PrimitiveArray<T>> {
        // SAFETY: a valid array (caller), checked before its buffers are read.
        unsafe { self.primitive_shaped(raw, &Shape::of(raw, 2, 0)?) }
    }

    /// The slots `shape` names of a fixed-width array whose header was checked.
    ///
    /// # Safety
    /// `raw` is a valid C Data Interface array whose header `Shape::of` checked; `shape` is
    /// its own or a window of it (`Shape::within`).
    #[inline(always)]
    pub(super) unsafe fn primitive_shaped<T: ArrowPrimitiveType>(
        &mut self,
        raw: &RawArray,
        shape: &Shape,
    ) -> Result<PrimitiveArray<T>> {
        // SAFETY: forwarded from the caller.
        unsafe {
            let nulls = self.nulls(raw, shape)?;
            let values = self.values::<T::Native>(raw, 1, shape.offset, shape.length)?;
            // SAFETY: a validity bitmap, when there is one, covers the same slots.
            Ok(PrimitiveArray::new_unchecked(values, nulls))
        }
    }

    /// # Safety
    /// As for [`Importer::primitive`].
    unsafe fn boolean(&mut self, raw: &RawArray) -> Result<BooleanArray> {
        // SAFETY: as above.
        unsafe { self.boolean_shaped(raw, &Shape::of(raw, 2, 0)?) }
    }

    /// # Safety
    /// As for [`Importer::primitive_shaped`].
    pub(super) unsafe fn boolean_shaped(
        &mut self,
        raw: &RawArray,
        shape: &Shape,
    ) -> Result<BooleanArray> {
        // SAFETY: as above.
        unsafe {
            let nulls = self.nulls(raw, shape)?;
            let values = self.buffer(raw, 1, shape.end().div_ceil(8), 1)?;
            let values = BooleanBuffer::new(values, shape.offset, shape.length);
            Ok(BooleanArray::new(values, nulls))
        }
    }

    /// The offsets of a variable-length array at buffer 1, with the first and last offset.
    ///
    /// # Safety
    /// As for [`Importer::primitive`].
    #[inline(always)]
    unsafe fn offsets<O: OffsetSizeTrait>(
        &mut self,
        raw: &RawArray,
        shape: &Shape,
    ) -> Result<(OffsetBuffer<O>, usize)> {
        // An empty array may come without offsets.
        // SAFETY: the list has at least two buffers (every caller's type).
        if shape.length == 0 && unsafe { raw.buffer(1) }.is_null() {
            return Ok((OffsetBuffer::new_empty(), 0));
        }
        // SAFETY: offset + length + 1 offsets (the C Data Interface).
        let offsets = unsafe { self.values::<O>(raw, 1, shape.offset, shape.length + 1) }?;
        let last = offset_ends(offsets[0], offsets[shape.length])?;
        // SAFETY: non-decreasing from the first to the last (checked); between them, the
        // producer's word.
        Ok((unsafe { OffsetBuffer::new_unchecked(offsets) }, last))
    }

    /// # Safety
    /// As for [`Importer::primitive`].
    unsafe fn bytes<T: ByteArrayType>(&mut self, raw: &RawArray) -> Result<GenericByteArray<T>> {
        // SAFETY: as above.
        unsafe { self.bytes_shaped(raw, &Shape::of(raw, 3, 0)?) }
    }

    /// # Safety
    /// As for [`Importer::primitive_shaped`].
    #[inline(always)]
    pub(super) unsafe fn bytes_shaped<T: ByteArrayType>(
        &mut self,
        raw: &RawArray,
        shape: &Shape,
    ) -> Result<GenericByteArray<T>> {
        // SAFETY: as above.
        unsafe {
            let nulls = self.nulls(raw, shape)?;
            let (offsets, end) = self.offsets::<T::Offset>(raw, shape)?;
            let values = self.buffer(raw, 2, end, 1)?;
            Ok(GenericByteArray::new_unchecked(offsets, values, nulls))
        }
    }

    /// # Safety
    /// As for [`Importer::primitive`].
    unsafe fn views<T: ByteViewType + ?Sized>(
        &mut self,
        raw: &RawArray,
    ) -> Result<GenericByteViewArray<T>> {
        // Validity, views, the data buffers, and the list of their sizes. A view names its
        // data buffer with 32 bits: a list of more is refused before it is read.
        let data = view_data_buffers(raw)?;
        // SAFETY: as above.
        unsafe {
            let shape = Shape::of(raw, data + 3, 0)?;
            let nulls = self.nulls(raw, &shape)?;
            let views = self.values::<u128>(raw, 1, shape.offset, shape.length)?;
            // The sizes are read where they are: only the buffers they size are kept.
            let sizes = raw.buffer(data + 2).cast::<i64>();
            if data > 0 && sizes.is_null() {
                return Err(cold(format_args!(
                    "its buffer {} is null but must hold {}",
                    data + 2,
                    crate::__private::counted(data * size_of::<i64>(), "byte", "bytes")
                )));
            }
            let mut buffers = Vec::with_capacity(data.min(1024));
            for i in 0..data {
                // SAFETY: one size per data buffer (the C Data Interface), read as it lies.
                let size = sizes.add(i).read_unaligned();
                buffers.push(self.buffer(raw, i + 2, data_size(i, size)?, 1)?);
            }
            Ok(GenericByteViewArray::new_unchecked(
                views,
                buffers.into(),
                nulls,
            ))
        }
    }

    /// # Safety
    /// As for [`Importer::primitive`].
    unsafe fn fixed_binary(&mut self, raw: &RawArray, width: i32) -> Result<FixedSizeBinaryArray> {
        let Ok(size) = usize::try_from(width) else {
            return Err(Error::unlocated(format!(
                "its fixed-size binary width {width} is negative"
            )));
        };
        // SAFETY: as above.
        unsafe {
            let shape = Shape::of(raw, 2, 0)?;
            let nulls = self.nulls(raw, &shape)?;
            let values = self.buffer(raw, 1, bytes_for(shape.end(), size)?, 1)?;
            let values = values.slice_with_length(shape.offset * size, shape.length * size);
            Ok(FixedSizeBinaryArray::new_unchecked(
                width,
                values,
                nulls,
                shape.length,
            ))
        }
    }

    /// # Safety
    /// As for [`Importer::primitive`], children included.
    unsafe fn structure(&mut self, raw: &RawArray, fields: &Fields) -> Result<StructArray> {
        // SAFETY: as above.
        unsafe {
            let shape = Shape::of(raw, 1, fields.len())?;
            let nulls = self.nulls(raw, &shape)?;
            let mut children = Vec::with_capacity(fields.len());
            for (i, field) in fields.iter().enumerate() {
                let child = self
                    .child(raw, i, field.data_type(), &shape)
                    .map_err(|e| e.context(format!("field `{}`", field.name())))?;
                children.push(child);
            }
            Ok(StructArray::new_unchecked_with_length(
                fields.clone(),
                children,
                nulls,
                shape.length,
            ))
        }
    }

    /// # Safety
    /// As for [`Importer::structure`].
    unsafe fn list<O: OffsetSizeTrait>(
        &mut self,
        raw: &RawArray,
        field: &FieldRef,
    ) -> Result<GenericListArray<O>> {
        // SAFETY: as above.
        unsafe {
            let shape = Shape::of(raw, 2, 1)?;
            let nulls = self.nulls(raw, &shape)?;
            let (offsets, end) = self.offsets::<O>(raw, &shape)?;
            let values = self
                .array(raw.child(0), field.data_type())
                .map_err(|e| e.context("its values"))?;
            if values.len() < end {
                return Err(Error::unlocated(format!(
                    "its offsets reach {end} but its values hold {}",
                    values.len()
                )));
            }
            Ok(GenericListArray::new_unchecked(
                field.clone(),
                offsets,
                values,
                nulls,
            ))
        }
    }

    /// # Safety
    /// As for [`Importer::structure`], the dictionary included.
    unsafe fn dictionary<K: ArrowDictionaryKeyType>(
        &mut self,
        raw: &RawArray,
        values: &DataType,
    ) -> Result<DictionaryArray<K>> {
        if raw.dictionary.is_null() {
            return Err(Error::unlocated("a dictionary array has no dictionary"));
        }
        // SAFETY: as above.
        unsafe {
            let keys = self.primitive::<K>(raw)?;
            let values = self
                .array(raw.dictionary, values)
                .map_err(|e| e.context("its dictionary"))?;
            Ok(DictionaryArray::new_unchecked(keys, values))
        }
    }
}
