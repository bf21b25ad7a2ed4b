//! The sender's hold on its last block, and changes written over it in place.

use core::ffi::c_void;
use std::alloc::Layout;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::types::ByteArrayType;
use arrow_array::{Array, ArrowPrimitiveType, BooleanArray, GenericByteArray, PrimitiveArray};
use arrow_schema::{DataType, SchemaRef};

use super::Kept;
use super::block::{CountCache, Header, Top, plain_bits, plain_validity, tops_offset};
use super::release::{give_up, release, release_top};
use crate::exchange::raw::RawArray;

/// The sender's hold on its last block, and the counts of the schemas it met.
#[derive(Debug, Default)]
pub(super) struct Hold {
    pub(super) block: Option<std::ptr::NonNull<Header>>,
    pub(super) counts: CountCache,
    /// How the held block was laid out, when a change of the same batches can be written
    /// over it in place.
    pub(super) template: Template,
    /// Changes written over the held block in place (for the tests).
    #[cfg(test)]
    pub(super) refills: usize,
}

impl Hold {
    /// The held block, if every array of it has been released and it has room for
    /// `layout`: it is the sender's alone again.
    pub(super) fn reusable(&self, layout: Layout) -> Option<*mut Header> {
        let header = self.block?.as_ptr();
        // SAFETY: the hold keeps the block alive; `Acquire` pairs with the releases, so
        // what the last array dropped is dropped before the block is written again.
        let (refs, held) = unsafe { ((*header).refs.load(Ordering::Acquire), (*header).layout) };
        (refs == 1 && held.size() >= layout.size() && held.align() >= layout.align())
            .then_some(header)
    }

    /// Gives the hold up (the block is freed now if no array of it is left).
    pub(super) fn let_go(&mut self) {
        self.template.clear();
        if let Some(header) = self.block.take() {
            // SAFETY: the hold is a reference to a live block.
            unsafe { give_up(header.as_ptr()) };
        }
    }
}

/// How the held block was last laid out, when every column of its batches is of a type
/// whose array can be written over in place (fixed width, boolean, Utf8 and Binary, plain
/// or large): a change of the same batches (the same schemas, in the same `Arc`s, with row
/// numbers alike) is then written into the block's arrays and lists where they are, without
/// counting or laying anything out again. Every pointer it writes through is its own
/// record, never one read back from the block (whose arrays the receiver had). Empty when
/// the last layout had any other column or made a buffer of its own.
#[derive(Debug, Default)]
pub(super) struct Template {
    batches: Vec<TemplateBatch>,
    /// The columns, batch after batch.
    columns: Vec<TemplateColumn>,
    /// False once a column without a writer was met.
    whole: bool,
}

/// One batch of a [`Template`]: where its top-level arrays' lists are in the block.
#[derive(Debug)]
struct TemplateBatch {
    /// Held, so that its address is not another schema's while the template lives.
    schema: SchemaRef,
    numbered: bool,
    /// The struct array's buffer list (one pointer) and child list.
    struct_buffers: *mut *const c_void,
    children: *mut *mut RawArray,
    /// The row numbers' buffer list (two pointers; null without row numbers).
    numbers_buffers: *mut *const c_void,
}

/// One column of a [`Template`]: its array in the block, that array's buffer list, and how
/// to write it.
#[derive(Debug)]
struct TemplateColumn {
    node: *mut RawArray,
    buffers: *mut *const c_void,
    rewrite: Rewrite,
}

/// Writes an array of the block over `node`, with `buffers` as its buffer list, for a column
/// of the type the writer was chosen for; `false`, having written nothing, when it cannot
/// (a bitmap at an offset that is not a whole byte needs a realigned copy).
///
/// # Safety
/// `node` and `buffers` are an array and a buffer list of a block (`header`) laid out for
/// `array`'s type, which nobody else reads.
type Rewrite = unsafe fn(&dyn Array, *mut RawArray, *mut *const c_void, *mut Header) -> bool;

impl Template {
    pub(super) fn clear(&mut self) {
        self.batches.clear();
        self.columns.clear();
        self.whole = true;
    }

    /// Adds a batch just laid out, from its top-level arrays.
    pub(super) fn record(
        &mut self,
        schema: &SchemaRef,
        columns: &RawArray,
        numbers: Option<&RawArray>,
    ) {
        if !self.whole {
            return;
        }
        for (i, field) in schema.fields().iter().enumerate() {
            let Some(rewrite) = rewrite_for(field.data_type()) else {
                self.clear();
                self.whole = false;
                return;
            };
            // SAFETY: the child list just laid out, one pointer per field, to nodes of
            // the block being filled.
            let node = unsafe { *columns.children.add(i) };
            self.columns.push(TemplateColumn {
                node,
                // SAFETY: as above.
                buffers: unsafe { (*node).buffers },
                rewrite,
            });
        }
        self.batches.push(TemplateBatch {
            schema: schema.clone(),
            numbered: numbers.is_some(),
            struct_buffers: columns.buffers,
            children: columns.children,
            numbers_buffers: numbers.map_or(std::ptr::null_mut(), |n| n.buffers),
        });
    }

    /// Whether `kept` has exactly the batches this template was made for.
    fn fits(&self, kept: &Kept) -> bool {
        if !self.whole || self.batches.is_empty() || matches!(kept, Kept::Typed(_)) {
            return false;
        }
        let mut index = 0;
        let mut fits = true;
        kept.each(|batch, numbers| {
            fits &= self.batches.get(index).is_some_and(|known| {
                Arc::ptr_eq(&known.schema, batch.schema_ref())
                    && known.numbered == numbers.is_some()
            });
            index += 1;
        });
        fits && index == self.batches.len()
    }
}

/// The writer of a column of `data_type`, if its arrays can be written over in place.
fn rewrite_for(data_type: &DataType) -> Option<Rewrite> {
    use arrow_array::types::{BinaryType, LargeBinaryType, LargeUtf8Type, Utf8Type};
    macro_rules! fixed {
        ($t:ty) => {
            Some(rewrite_fixed::<$t> as Rewrite)
        };
    }
    arrow_array::downcast_primitive!(
        data_type => (fixed),
        DataType::Boolean => Some(rewrite_boolean as Rewrite),
        DataType::Utf8 => Some(rewrite_bytes::<Utf8Type> as Rewrite),
        DataType::LargeUtf8 => Some(rewrite_bytes::<LargeUtf8Type> as Rewrite),
        DataType::Binary => Some(rewrite_bytes::<BinaryType> as Rewrite),
        DataType::LargeBinary => Some(rewrite_bytes::<LargeBinaryType> as Rewrite),
        _ => None,
    )
}

/// Writes an array of ours over `node`, with these buffers in its buffer list.
///
/// # Safety
/// As for [`Rewrite`], the list holding `values.len()` pointers.
#[inline(always)]
unsafe fn rewrite_node(
    node: *mut RawArray,
    list: *mut *const c_void,
    header: *mut Header,
    length: usize,
    null_count: usize,
    values: &[*const c_void],
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        std::ptr::copy_nonoverlapping(values.as_ptr(), list, values.len());
        node.write(RawArray {
            length: length as i64,
            null_count: null_count as i64,
            offset: 0,
            n_buffers: values.len() as i64,
            n_children: 0,
            buffers: list,
            children: std::ptr::null_mut(),
            dictionary: std::ptr::null_mut(),
            release: Some(release),
            private_data: header.cast(),
        });
    }
}

/// # Safety
/// As for [`Rewrite`].
unsafe fn rewrite_fixed<T: ArrowPrimitiveType>(
    array: &dyn Array,
    node: *mut RawArray,
    list: *mut *const c_void,
    header: *mut Header,
) -> bool {
    let Some(array) = array.as_any().downcast_ref::<PrimitiveArray<T>>() else {
        return false;
    };
    let Some((validity, nulls)) = plain_validity(array.nulls()) else {
        return false;
    };
    let values = array.values().inner().as_ptr().cast();
    // SAFETY: a node laid out for a fixed-width array, whose list has two pointers (caller).
    unsafe { rewrite_node(node, list, header, array.len(), nulls, &[validity, values]) };
    true
}

/// # Safety
/// As for [`Rewrite`].
unsafe fn rewrite_boolean(
    array: &dyn Array,
    node: *mut RawArray,
    list: *mut *const c_void,
    header: *mut Header,
) -> bool {
    let Some(array) = array.as_any().downcast_ref::<BooleanArray>() else {
        return false;
    };
    let (Some((validity, nulls)), Some(values)) =
        (plain_validity(array.nulls()), plain_bits(array.values()))
    else {
        return false;
    };
    // SAFETY: a node laid out for a boolean array, whose list has two pointers (caller).
    unsafe { rewrite_node(node, list, header, array.len(), nulls, &[validity, values]) };
    true
}

/// # Safety
/// As for [`Rewrite`].
unsafe fn rewrite_bytes<T: ByteArrayType>(
    array: &dyn Array,
    node: *mut RawArray,
    list: *mut *const c_void,
    header: *mut Header,
) -> bool {
    let Some(array) = array.as_any().downcast_ref::<GenericByteArray<T>>() else {
        return false;
    };
    let Some((validity, nulls)) = plain_validity(array.nulls()) else {
        return false;
    };
    let offsets = super::block::offsets_of(array);
    let values = array.values().as_ptr().cast();
    let buffers = [validity, offsets, values];
    // SAFETY: a node laid out for a byte array, whose list has three pointers (caller).
    unsafe { rewrite_node(node, list, header, array.len(), nulls, &buffers) };
    true
}

impl Hold {
    /// Writes `kept` over the held block when the block's template fits it and every array
    /// of the block has been released, handing each batch's top-level arrays to `out` as
    /// [`Block::export`] does; gives `kept` back otherwise (nothing was handed out then).
    #[inline]
    pub(super) fn refill(
        &mut self,
        kept: Kept,
        out: &mut dyn FnMut(RawArray, Option<RawArray>),
    ) -> std::result::Result<(), Kept> {
        let Some(block) = self.block else {
            return Err(kept);
        };
        let header = block.as_ptr();
        // SAFETY: the hold keeps the block alive; `Acquire` pairs with the releases, so
        // what the last array dropped is dropped before the block is written again.
        if unsafe { (*header).refs.load(Ordering::Acquire) } != 1 || !self.template.fits(&kept) {
            return Err(kept);
        }
        // Every column first: a writer may refuse, and then the block is laid out anew
        // (nothing was handed out yet, and the block is the sender's alone).
        let mut columns = self.template.columns.iter();
        let mut written = true;
        kept.each(|batch, _| {
            for column in batch.columns() {
                let known = columns.next().expect("a template column per column");
                // SAFETY: an array and list of the block laid out for this column's type
                // (the template fits), which nobody else reads (refs is 1).
                written = written
                    && unsafe {
                        (known.rewrite)(column.as_ref(), known.node, known.buffers, header)
                    };
            }
        });
        if !written {
            return Err(kept);
        }
        let mut arrays = 0;
        let mut index = 0;
        let mut top = 0;
        let mut columns = self.template.columns.iter();
        // SAFETY: the tops follow the header, as `block_layout` lays them out.
        let tops = unsafe { header.cast::<u8>().add(tops_offset()) }.cast::<Top>();
        kept.each(|batch, numbers| {
            let known = &self.template.batches[index];
            index += 1;
            arrays += 1 + batch.num_columns();
            for i in 0..batch.num_columns() {
                let column = columns.next().expect("a template column per column");
                // SAFETY: the child list laid out for this batch, one pointer per column.
                unsafe { known.children.add(i).write(column.node) };
            }
            // SAFETY: the struct's list of one buffer; its top-level record, one per
            // top-level array in the order they were laid out.
            let own = unsafe {
                known.struct_buffers.write(std::ptr::null());
                tops.add(top)
            };
            top += 1;
            let columns = RawArray {
                length: batch.num_rows() as i64,
                null_count: 0,
                offset: 0,
                n_buffers: 1,
                n_children: batch.num_columns() as i64,
                buffers: known.struct_buffers,
                children: known.children,
                dictionary: std::ptr::null_mut(),
                release: Some(release_top),
                private_data: own.cast(),
            };
            let numbers = numbers.map(|numbers| {
                arrays += 1;
                let values = numbers.values().inner().as_ptr().cast();
                // SAFETY: the row numbers' list of two buffers (row numbers have no nulls)
                // and their top-level record, as above.
                let theirs = unsafe {
                    known.numbers_buffers.write(std::ptr::null());
                    known.numbers_buffers.add(1).write(values);
                    tops.add(top)
                };
                top += 1;
                RawArray {
                    length: numbers.len() as i64,
                    null_count: 0,
                    offset: 0,
                    n_buffers: 2,
                    n_children: 0,
                    buffers: known.numbers_buffers,
                    children: std::ptr::null_mut(),
                    dictionary: std::ptr::null_mut(),
                    release: Some(release_top),
                    private_data: theirs.cast(),
                }
            });
            out(columns, numbers);
        });
        #[cfg(test)]
        {
            self.refills += 1;
        }
        // SAFETY: as above; the values move in after the arrays that borrow from them were
        // written (moving a `Vec` or a `RecordBatch` does not move their buffers). One
        // reference for the arrays, one for the hold.
        unsafe {
            (*header).kept = Some(kept);
            (*header).arrays.store(arrays, Ordering::Relaxed);
            (*header).refs.store(2, Ordering::Release);
        }
        Ok(())
    }
}
