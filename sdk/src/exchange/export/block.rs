//! Laying a change out: the block's header and areas, and the arrays of each type.

use core::ffi::c_void;
use std::alloc::Layout;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::ffi::FFI_ArrowArray;
use arrow_array::types::{ByteArrayType, ByteViewType};
use arrow_array::{
    Array, ArrowPrimitiveType, BooleanArray, DictionaryArray, FixedSizeBinaryArray,
    GenericByteArray, GenericByteViewArray, GenericListArray, OffsetSizeTrait, PrimitiveArray,
    RecordBatch, StructArray, UInt64Array, downcast_dictionary_array, downcast_primitive_array,
};
use arrow_buffer::{Buffer, NullBuffer};
use arrow_schema::{DataType, SchemaRef};

use super::Kept;
use super::hold::Hold;
use super::release::{release, release_top};
use crate::exchange::MAX_SCHEMA_DEPTH;
use crate::exchange::built::RowsOut;
use crate::exchange::raw::RawArray;
use crate::{Error, Result};

/// The start of a block; its arrays, buffer lists and child lists follow in the same
/// allocation.
pub(super) struct Header {
    /// Arrays of this block not released yet: the release that takes the last ones drops
    /// what the block keeps.
    pub(super) arrays: AtomicUsize,
    /// One while any array is unreleased, plus one for the sender's hold, if any: the last
    /// one frees the block.
    pub(super) refs: AtomicUsize,
    /// The allocation's layout (at least what the arrays in it need).
    pub(super) layout: Layout,
    /// Set once the arrays are laid out, before any is handed out.
    pub(super) kept: Option<Kept>,
    /// Bitmaps copied to realign them, and the size lists of view arrays.
    pub(super) extras: Vec<Buffer>,
    /// How many batches the block was laid out for (each with its two top-level arrays).
    /// Written by the sender only, when it lays the block out.
    pub(super) batches: usize,
    /// The `private_data` of each array arrow-rs laid out under the block's own: what a
    /// take-back accepts as such. Written by the sender only, when it lays the block out.
    pub(super) foreign: Vec<*mut c_void>,
    /// Where the arrays and the child lists lie in the block. Written by the sender only,
    /// when it lays the block out.
    pub(super) areas: Areas,
}

/// Where a block keeps its arrays (below its top-level ones) and its child lists: offsets
/// from its start, and counts.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Areas {
    pub(super) nodes_at: usize,
    pub(super) nodes: usize,
    pub(super) lists_at: usize,
    pub(super) lists: usize,
}

/// How many arrays, buffer pointers and child pointers a change needs.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Counts {
    nodes: usize,
    buffers: usize,
    children: usize,
    /// Top-level arrays (each batch's struct array and its row numbers).
    tops: usize,
}

impl Counts {
    /// What one batch and its row numbers need.
    pub(super) fn of(batch: &RecordBatch, numbers: Option<&UInt64Array>, index: usize) -> Counts {
        let mut counts = Counts::default();
        top_level(batch, numbers, index, &mut counts);
        counts
    }

    fn add(&mut self, other: Counts) {
        self.nodes += other.nodes;
        self.buffers += other.buffers;
        self.children += other.children;
        self.tops += other.tops;
    }
}

/// The counts of the schemas a sender met last. They follow from the schema alone unless it
/// has a view array (whose data buffers vary from batch to batch), so a steady stream
/// counts each schema once. The `Arc`s held keep their addresses from being reused.
#[derive(Debug, Default)]
pub(super) struct CountCache(Vec<(SchemaRef, bool, Counts)>);

impl CountCache {
    /// How many schemas it remembers.
    const SIZE: usize = 8;

    pub(super) fn of(
        &mut self,
        batch: &RecordBatch,
        numbers: Option<&UInt64Array>,
        index: usize,
    ) -> Counts {
        let schema = batch.schema_ref();
        let numbered = numbers.is_some();
        if let Some((_, _, counts)) = self
            .0
            .iter()
            .find(|(known, with, _)| Arc::ptr_eq(known, schema) && *with == numbered)
        {
            return *counts;
        }
        let counts = Counts::of(batch, numbers, index);
        if !schema.fields().iter().any(|f| has_views(f.data_type())) {
            if self.0.len() == Self::SIZE {
                self.0.remove(0);
            }
            self.0.push((schema.clone(), numbered, counts));
        }
        counts
    }
}

/// Whether `data_type` is or holds a view array.
fn has_views(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8View | DataType::BinaryView => true,
        DataType::Struct(fields) => fields.iter().any(|f| has_views(f.data_type())),
        DataType::List(f) | DataType::LargeList(f) => has_views(f.data_type()),
        DataType::Dictionary(_, values) => has_views(values),
        // Types arrow-rs lays out count as one node whatever they hold.
        _ => false,
    }
}

/// Where an export writes: nowhere (counting what a block needs) or into a block.
trait Sink {
    /// Stores a list of buffer pointers.
    fn buffers(&mut self, list: &[*const c_void]) -> *mut *const c_void;
    /// Space for `n` child pointers.
    fn children(&mut self, n: usize) -> *mut *mut RawArray;
    /// Stores an array that is not top-level, returning where it lives.
    fn node(&mut self, array: RawArray) -> *mut RawArray;
    /// A buffer the block must own (made only when filling).
    fn extra(&mut self, make: &mut dyn FnMut() -> Buffer) -> *const c_void;
    /// An array of oplink's: released through the block.
    fn ours(&mut self, array: RawArray) -> RawArray;
    /// Marks an array of ours as the top-level array of batch `batch` (its row numbers with
    /// `numbers`), so that this process recognises it if it comes back.
    fn top(&mut self, array: RawArray, batch: usize, numbers: bool) -> RawArray;
    /// An array exported by arrow-rs (made only when filling).
    fn foreign(&mut self, array: &dyn Array) -> RawArray;
}

impl Sink for Counts {
    fn buffers(&mut self, list: &[*const c_void]) -> *mut *const c_void {
        self.buffers += list.len();
        std::ptr::null_mut()
    }
    fn children(&mut self, n: usize) -> *mut *mut RawArray {
        self.children += n;
        std::ptr::null_mut()
    }
    fn node(&mut self, _: RawArray) -> *mut RawArray {
        self.nodes += 1;
        std::ptr::null_mut()
    }
    fn extra(&mut self, _: &mut dyn FnMut() -> Buffer) -> *const c_void {
        std::ptr::null()
    }
    fn ours(&mut self, array: RawArray) -> RawArray {
        array
    }
    fn top(&mut self, array: RawArray, _: usize, _: bool) -> RawArray {
        self.tops += 1;
        array
    }
    fn foreign(&mut self, _: &dyn Array) -> RawArray {
        RawArray::RELEASED
    }
}

/// Writes into a block laid out for the counts.
struct Fill {
    header: *mut Header,
    nodes: *mut RawArray,
    tops: *mut Top,
    buffers: *mut *const c_void,
    children: *mut *mut RawArray,
    used: Counts,
    limit: Counts,
    /// Arrays of ours written so far: the block's initial count.
    ours: usize,
}

impl Sink for Fill {
    #[inline(always)]
    fn buffers(&mut self, list: &[*const c_void]) -> *mut *const c_void {
        assert!(self.used.buffers + list.len() <= self.limit.buffers);
        // SAFETY: within the block's buffer area (asserted against the counts it was sized
        // for), which nothing else writes.
        unsafe {
            let at = self.buffers.add(self.used.buffers);
            std::ptr::copy_nonoverlapping(list.as_ptr(), at, list.len());
            self.used.buffers += list.len();
            at
        }
    }
    #[inline(always)]
    fn children(&mut self, n: usize) -> *mut *mut RawArray {
        assert!(self.used.children + n <= self.limit.children);
        // SAFETY: within the block's child area, as above.
        let at = unsafe { self.children.add(self.used.children) };
        self.used.children += n;
        at
    }
    #[inline(always)]
    fn node(&mut self, array: RawArray) -> *mut RawArray {
        assert!(self.used.nodes < self.limit.nodes);
        // SAFETY: within the block's node area, as above.
        unsafe {
            let at = self.nodes.add(self.used.nodes);
            at.write(array);
            self.used.nodes += 1;
            at
        }
    }
    #[inline(always)]
    fn extra(&mut self, make: &mut dyn FnMut() -> Buffer) -> *const c_void {
        let buffer = make();
        let ptr = buffer.as_ptr().cast();
        // SAFETY: the header of the block being filled, not handed out yet.
        unsafe { (*self.header).extras.push(buffer) };
        ptr
    }
    #[inline(always)]
    fn ours(&mut self, mut array: RawArray) -> RawArray {
        array.release = Some(release);
        array.private_data = self.header.cast();
        self.ours += 1;
        array
    }
    #[inline(always)]
    fn top(&mut self, mut array: RawArray, batch: usize, numbers: bool) -> RawArray {
        assert!(self.used.tops < self.limit.tops);
        // SAFETY: within the block's area of top-level records, as above.
        let at = unsafe { self.tops.add(self.used.tops) };
        // SAFETY: as above; written once, before any array of the block is handed out.
        unsafe {
            at.write(Top {
                header: self.header,
                batch,
                numbers,
            })
        };
        self.used.tops += 1;
        array.release = Some(release_top);
        array.private_data = at.cast();
        array
    }
    #[inline(always)]
    fn foreign(&mut self, array: &dyn Array) -> RawArray {
        let data = crate::exchange::import::empty_bytes_mended(array.to_data());
        let array = RawArray::from_ffi(FFI_ArrowArray::new(&data));
        // SAFETY: the header of the block being filled, which nobody else reads yet.
        unsafe { (*self.header).foreign.push(array.private_data) };
        array
    }
}

/// What a top-level array's `private_data` points to: its block, and which batch of the
/// block it is.
pub(super) struct Top {
    pub(super) header: *mut Header,
    pub(super) batch: usize,
    pub(super) numbers: bool,
}

/// Where a block's top-level records start: right after its header (as `block_layout`
/// lays them out).
pub(super) const fn tops_offset() -> usize {
    size_of::<Header>().next_multiple_of(align_of::<Top>())
}

/// Where a block keeps its arrays and its child lists: every array laid under one of ours
/// is one of the block's array slots, and every list of children lies in its area for
/// lists. What the other side changed to point elsewhere (a count past its list, a null
/// list, a null or stray child, a pointer into the block's header or between two arrays)
/// is not followed.
#[derive(Clone, Copy)]
pub(super) struct Bounds {
    nodes: usize,
    nodes_end: usize,
    lists: usize,
    lists_end: usize,
}

impl Bounds {
    /// The bounds of the block of `header`.
    ///
    /// # Safety
    /// `header` is the header of a live block.
    #[inline(always)]
    pub(super) unsafe fn of(header: *const Header) -> Bounds {
        let start = header as usize;
        // SAFETY: a live block's header (caller).
        let areas = unsafe { (*header).areas };
        // No overflow: offsets and sizes within the block's allocation (`block_layout`).
        let nodes = start + areas.nodes_at;
        let lists = start + areas.lists_at;
        Bounds {
            nodes,
            nodes_end: nodes + areas.nodes * size_of::<RawArray>(),
            lists,
            lists_end: lists + areas.lists * size_of::<*mut RawArray>(),
        }
    }

    /// Whether `child` is one of the block's array slots.
    #[inline(always)]
    pub(super) fn slot(self, child: *mut RawArray) -> bool {
        let at = child as usize;
        at >= self.nodes
            && at < self.nodes_end
            && (at - self.nodes).is_multiple_of(size_of::<RawArray>())
    }

    /// The child list of `array` when it lies in the block's area for lists, else none.
    ///
    /// # Safety
    /// `array` is an array of the block.
    #[inline(always)]
    pub(super) unsafe fn children(self, array: &RawArray) -> &[*mut RawArray] {
        let list = array.children as usize;
        let count = array.n_children.max(0) as usize;
        let inside = list >= self.lists
            && (list - self.lists).is_multiple_of(size_of::<*mut RawArray>())
            && count
                .checked_mul(size_of::<*mut RawArray>())
                .and_then(|bytes| list.checked_add(bytes))
                .is_some_and(|past| past <= self.lists_end);
        if !inside || count == 0 {
            return &[];
        }
        // SAFETY: `count` pointers inside the block, which the array's count keeps alive.
        unsafe { std::slice::from_raw_parts(array.children, count) }
    }
}

/// Lays out blocks.
pub(super) struct Block;

impl Block {
    /// One batch, without row numbers, in a block of its own: its struct array.
    pub(super) fn export_lone(batch: RecordBatch) -> Result<RawArray> {
        let mut columns = RawArray::RELEASED;
        Block::export(Kept::Batch(batch), None, &mut |array, _| columns = array)?;
        Ok(columns)
    }

    /// Lays out every batch of `kept` (and its row numbers) in one block, and hands each
    /// batch's top-level arrays to `out`, in order. With a `hold`, the block is the held one
    /// when that is free and large enough, and is held afterwards.
    pub(super) fn export(
        kept: Kept,
        mut hold: Option<&mut Hold>,
        out: &mut dyn FnMut(RawArray, Option<RawArray>),
    ) -> Result<()> {
        let kept = match hold.as_deref_mut() {
            Some(hold) => match hold.refill(kept, out) {
                Ok(()) => return Ok(()),
                Err(kept) => kept,
            },
            None => kept,
        };
        let mut counts = Counts::default();
        let mut index = 0;
        let mut cache = hold.as_deref_mut().map(|hold| &mut hold.counts);
        kept.each(|batch, numbers| {
            counts.add(match cache.as_deref_mut() {
                Some(cache) => cache.of(batch, numbers, index),
                None => Counts::of(batch, numbers, index),
            });
            index += 1;
        });
        kept.each_typed(|rows| {
            let mut each = Counts::default();
            typed_top_level(rows, index, &mut each);
            counts.add(each);
            index += 1;
        });
        let (layout, tops_at, nodes_at, buffers_at, children_at) = block_layout(counts)?;
        let reused = hold.as_ref().and_then(|hold| hold.reusable(layout));
        let header = match reused {
            Some(header) => {
                // SAFETY: a free block of the hold's (see `Hold::reusable`): the sender's
                // alone.
                unsafe { (*header).foreign.clear() };
                header
            }
            None => {
                if let Some(hold) = hold.as_deref_mut() {
                    hold.let_go();
                }
                // SAFETY: the layout is non-zero-sized (it holds the header).
                let base = unsafe { std::alloc::alloc(layout) };
                if base.is_null() {
                    std::alloc::handle_alloc_error(layout);
                }
                let header = base.cast::<Header>();
                // SAFETY: a fresh allocation laid out for a header at its start.
                unsafe {
                    header.write(Header {
                        arrays: AtomicUsize::new(0),
                        refs: AtomicUsize::new(0),
                        layout,
                        kept: None,
                        extras: Vec::new(),
                        batches: 0,
                        foreign: Vec::new(),
                        areas: Areas::default(),
                    });
                }
                header
            }
        };
        let base = header.cast::<u8>();
        // SAFETY: all three are offsets within the allocation, from `block_layout` (a
        // reused block is at least as large).
        let (tops, nodes, buffers, children) = unsafe {
            (
                base.add(tops_at).cast(),
                base.add(nodes_at).cast(),
                base.add(buffers_at).cast(),
                base.add(children_at).cast(),
            )
        };
        let mut fill = Fill {
            header,
            nodes,
            tops,
            buffers,
            children,
            used: Counts::default(),
            limit: counts,
            ours: 0,
        };
        // `out` only stores the arrays: none is released before this function returns.
        let mut index = 0;
        let mut template = hold.as_deref_mut().map(|hold| {
            hold.template.clear();
            &mut hold.template
        });
        kept.each(|batch, numbers| {
            let (columns, numbers) = top_level(batch, numbers, index, &mut fill);
            if let Some(template) = template.as_deref_mut() {
                template.record(batch.schema_ref(), &columns, numbers.as_ref());
            }
            index += 1;
            out(columns, numbers);
        });
        // Typed columns leave the template (cleared above) empty: the next change is laid
        // out anew.
        kept.each_typed(|rows| {
            let (columns, numbers) = typed_top_level(rows, index, &mut fill);
            index += 1;
            out(columns, Some(numbers));
        });
        if let Some(template) = template
            // SAFETY: the header of the block being filled, not handed out yet.
            && !unsafe { (*header).extras.is_empty() }
        {
            // A buffer made for this change (a realigned bitmap) would not be remade.
            template.clear();
        }
        let held = usize::from(hold.is_some());
        // SAFETY: the header of a block nobody else reads yet (fresh, or free: see
        // `Hold::reusable`; and `out` releases nothing). The values move in after the
        // arrays that borrow from them were laid out (moving a `Vec` or a `RecordBatch`
        // does not move their buffers).
        unsafe {
            (*header).kept = Some(kept);
            (*header).batches = index;
            (*header).areas = Areas {
                nodes_at,
                nodes: counts.nodes,
                lists_at: children_at,
                lists: counts.children,
            };
            (*header).arrays.store(fill.ours, Ordering::Relaxed);
            (*header)
                .refs
                .store(usize::from(fill.ours > 0) + held, Ordering::Release);
        }
        if let Some(hold) = hold {
            hold.block = std::ptr::NonNull::new(header);
        }
        Ok(())
    }
}

/// A block's layout: the header, then the nodes, the buffer pointers and the child pointers.
fn block_layout(counts: Counts) -> Result<(Layout, usize, usize, usize, usize)> {
    let too_big = |_| Error::unlocated("a change is too large to export");
    let header = Layout::new::<Header>();
    let (layout, tops) = header
        .extend(Layout::array::<Top>(counts.tops).map_err(too_big)?)
        .map_err(too_big)?;
    let (layout, nodes) = layout
        .extend(Layout::array::<RawArray>(counts.nodes).map_err(too_big)?)
        .map_err(too_big)?;
    let (layout, buffers) = layout
        .extend(Layout::array::<*const c_void>(counts.buffers).map_err(too_big)?)
        .map_err(too_big)?;
    let (layout, children) = layout
        .extend(Layout::array::<*mut RawArray>(counts.children).map_err(too_big)?)
        .map_err(too_big)?;
    Ok((layout.pad_to_align(), tops, nodes, buffers, children))
}

/// A batch as a struct array (its length is the row count, so a batch without columns
/// keeps its rows), and its row numbers.
#[inline(always)]
fn top_level<S: Sink>(
    batch: &RecordBatch,
    numbers: Option<&UInt64Array>,
    index: usize,
    sink: &mut S,
) -> (RawArray, Option<RawArray>) {
    let columns = batch.columns();
    let children = sink.children(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let array = export(column.as_ref(), sink);
        let node = sink.node(array);
        if !children.is_null() {
            // SAFETY: `children` has room for one pointer per column (asked for above).
            unsafe { children.add(i).write(node) };
        }
    }
    let columns = batch_array(sink, batch.num_rows(), columns.len(), children);
    let columns = sink.top(columns, index, false);
    let numbers = numbers.map(|numbers| {
        let array = primitive(numbers, sink);
        sink.top(array, index, true)
    });
    (columns, numbers)
}

/// A side built from typed values as a struct array of its columns, and its row numbers:
/// what [`top_level`] lays out for a batch.
#[inline(always)]
fn typed_top_level<S: Sink>(rows: &RowsOut, index: usize, sink: &mut S) -> (RawArray, RawArray) {
    let columns = rows.columns();
    let children = sink.children(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let mut list = [std::ptr::null(); 4];
        let n = column.buffers(&mut list);
        let array = with_buffers(sink, column.len(), column.null_count(), &list[..n], &mut []);
        let node = sink.node(array);
        if !children.is_null() {
            // SAFETY: `children` has room for one pointer per column (asked for above).
            unsafe { children.add(i).write(node) };
        }
    }
    let struct_array = batch_array(sink, rows.num_rows(), columns.len(), children);
    let numbers = rows.row_numbers();
    let numbers = with_buffers(
        sink,
        numbers.len(),
        0,
        &[std::ptr::null(), numbers.as_ptr().cast()],
        &mut [],
    );
    (
        sink.top(struct_array, index, false),
        sink.top(numbers, index, true),
    )
}

/// The struct array of a batch of `rows` rows whose `columns` arrays are listed at
/// `children` (its length is the row count, so a batch without columns keeps its rows).
#[inline(always)]
fn batch_array<S: Sink>(
    sink: &mut S,
    rows: usize,
    columns: usize,
    children: *mut *mut RawArray,
) -> RawArray {
    let buffers = sink.buffers(&[std::ptr::null()]);
    sink.ours(RawArray {
        length: rows as i64,
        null_count: 0,
        offset: 0,
        n_buffers: 1,
        n_children: columns as i64,
        buffers,
        children,
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    })
}

/// Exports one column (of any depth).
fn export<S: Sink>(array: &dyn Array, sink: &mut S) -> RawArray {
    use arrow_array::types::{
        BinaryType, BinaryViewType, LargeBinaryType, LargeUtf8Type, StringViewType, Utf8Type,
    };
    let n = array.len();
    downcast_primitive_array!(
        array => primitive(array, sink),
        DataType::Boolean => {
            let array = array.as_any().downcast_ref::<BooleanArray>().expect("a boolean array");
            let (validity, nulls) = validity(array.nulls(), sink);
            let values = bits(array.values(), sink);
            with_buffers(sink, n, nulls, &[validity, values], &mut [])
        }
        DataType::Utf8 => bytes::<Utf8Type, S>(array, sink),
        DataType::LargeUtf8 => bytes::<LargeUtf8Type, S>(array, sink),
        DataType::Binary => bytes::<BinaryType, S>(array, sink),
        DataType::LargeBinary => bytes::<LargeBinaryType, S>(array, sink),
        DataType::Utf8View => views::<StringViewType, S>(array, sink),
        DataType::BinaryView => views::<BinaryViewType, S>(array, sink),
        DataType::FixedSizeBinary(_) => {
            let array = array
                .as_any()
                .downcast_ref::<FixedSizeBinaryArray>()
                .expect("a fixed-size binary array");
            let (validity, nulls) = validity(array.nulls(), sink);
            let values = array.value_data().as_ptr().cast();
            with_buffers(sink, n, nulls, &[validity, values], &mut [])
        }
        DataType::Null => sink.ours(RawArray {
            length: n as i64,
            null_count: n as i64,
            ..RawArray::RELEASED
        }),
        DataType::Struct(_) => {
            let array = array.as_any().downcast_ref::<StructArray>().expect("a struct array");
            let (validity, nulls) = validity(array.nulls(), sink);
            let mut children: Vec<RawArray> =
                array.columns().iter().map(|column| export(column.as_ref(), sink)).collect();
            with_buffers(sink, n, nulls, &[validity], &mut children)
        }
        DataType::List(_) => list::<i32, S>(array, sink),
        DataType::LargeList(_) => list::<i64, S>(array, sink),
        DataType::Dictionary(_, _) => downcast_dictionary_array!(
            array => dictionary(array, sink),
            _ => sink.foreign(array)
        ),
        // Every other type: arrow-rs lays it out, as a child of ours.
        _ => sink.foreign(array)
    )
}

/// An array of ours with these buffers (validity first) and children.
#[inline(always)]
fn with_buffers<S: Sink>(
    sink: &mut S,
    length: usize,
    null_count: usize,
    buffers: &[*const c_void],
    children: &mut [RawArray],
) -> RawArray {
    let list = sink.buffers(buffers);
    let kids = sink.children(children.len());
    for (i, child) in children.iter_mut().enumerate() {
        let node = sink.node(std::mem::replace(child, RawArray::RELEASED));
        if !kids.is_null() {
            // SAFETY: `kids` has room for one pointer per child (asked for above).
            unsafe { kids.add(i).write(node) };
        }
    }
    sink.ours(RawArray {
        length: length as i64,
        null_count: null_count as i64,
        offset: 0,
        n_buffers: buffers.len() as i64,
        n_children: children.len() as i64,
        buffers: list,
        children: kids,
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    })
}

#[inline(always)]
fn primitive<T: ArrowPrimitiveType, S: Sink>(array: &PrimitiveArray<T>, sink: &mut S) -> RawArray {
    let (validity, nulls) = validity(array.nulls(), sink);
    let values = array.values().inner().as_ptr().cast();
    with_buffers(sink, array.len(), nulls, &[validity, values], &mut [])
}

/// The one offset of an empty variable-width array, `0` as an `i32` and as an `i64` alike.
static EMPTY_OFFSETS: i64 = 0;

/// The offsets buffer to export for `array`: its own from its slot, but for an empty one
/// a single offset of 0. An empty slice's one offset may be any value, with values behind
/// it, as the C Data Interface allows; but arrow-rs's importer (which takes in a union's
/// children, and is what an arrow-rs consumer uses) takes an empty array's values as
/// empty and keeps the offset: an array that fails validation, and that `concat` panics
/// on. A zero offset is read the same by everyone.
#[inline(always)]
pub(super) fn offsets_of<T: ByteArrayType>(array: &GenericByteArray<T>) -> *const c_void {
    if array.is_empty() {
        (&raw const EMPTY_OFFSETS).cast()
    } else {
        array.offsets().inner().inner().as_ptr().cast()
    }
}

#[inline(always)]
fn bytes<T: ByteArrayType, S: Sink>(array: &dyn Array, sink: &mut S) -> RawArray {
    let array = array
        .as_any()
        .downcast_ref::<GenericByteArray<T>>()
        .expect("the byte array of its type");
    let (validity, nulls) = validity(array.nulls(), sink);
    let offsets = offsets_of(array);
    let values = array.values().as_ptr().cast();
    with_buffers(
        sink,
        array.len(),
        nulls,
        &[validity, offsets, values],
        &mut [],
    )
}

fn views<T: ByteViewType + ?Sized, S: Sink>(array: &dyn Array, sink: &mut S) -> RawArray {
    let array = array
        .as_any()
        .downcast_ref::<GenericByteViewArray<T>>()
        .expect("the view array of its type");
    let (validity, nulls) = validity(array.nulls(), sink);
    let mut list = vec![validity, array.views().inner().as_ptr().cast()];
    list.extend(
        array
            .data_buffers()
            .iter()
            .map(|b| b.as_ptr().cast::<c_void>()),
    );
    // The C Data Interface adds a buffer with the size of each data buffer.
    let sizes: Vec<i64> = array
        .data_buffers()
        .iter()
        .map(|b| b.len() as i64)
        .collect();
    list.push(sink.extra(&mut || Buffer::from_vec(sizes.clone())));
    with_buffers(sink, array.len(), nulls, &list, &mut [])
}

fn list<O: OffsetSizeTrait, S: Sink>(array: &dyn Array, sink: &mut S) -> RawArray {
    let array = array
        .as_any()
        .downcast_ref::<GenericListArray<O>>()
        .expect("the list array of its type");
    let (validity, nulls) = validity(array.nulls(), sink);
    let offsets = array.offsets().inner().inner().as_ptr().cast();
    let mut child = [export(array.values().as_ref(), sink)];
    with_buffers(sink, array.len(), nulls, &[validity, offsets], &mut child)
}

fn dictionary<K: arrow_array::types::ArrowDictionaryKeyType, S: Sink>(
    array: &DictionaryArray<K>,
    sink: &mut S,
) -> RawArray {
    let values = export(array.values().as_ref(), sink);
    let values = sink.node(values);
    let mut keys = primitive(array.keys(), sink);
    keys.dictionary = values;
    keys
}

/// The validity bitmap as the C Data Interface wants it (offset 0, or none when there are
/// no nulls) and the null count.
#[inline(always)]
fn validity<S: Sink>(nulls: Option<&NullBuffer>, sink: &mut S) -> (*const c_void, usize) {
    match nulls {
        Some(nulls) if nulls.null_count() > 0 => (bits(nulls.inner(), sink), nulls.null_count()),
        _ => (std::ptr::null(), 0),
    }
}

/// A bitmap starting at bit 0 of the pointer: the buffer itself when its offset is a whole
/// number of bytes, a realigned copy otherwise.
#[inline(always)]
fn bits<S: Sink>(bits: &arrow_buffer::BooleanBuffer, sink: &mut S) -> *const c_void {
    plain_bits(bits).unwrap_or_else(|| sink.extra(&mut || bits.sliced()))
}

/// The validity bitmap as [`validity`] exports it, when that needs no copy.
#[inline(always)]
pub(super) fn plain_validity(nulls: Option<&NullBuffer>) -> Option<(*const c_void, usize)> {
    match nulls {
        Some(nulls) if nulls.null_count() > 0 => {
            plain_bits(nulls.inner()).map(|bits| (bits, nulls.null_count()))
        }
        _ => Some((std::ptr::null(), 0)),
    }
}

/// A bitmap's first byte, when it starts at a whole byte: what [`bits`] exports without a
/// copy.
#[inline(always)]
pub(super) fn plain_bits(bits: &arrow_buffer::BooleanBuffer) -> Option<*const c_void> {
    let offset = bits.offset();
    // SAFETY: `offset / 8` bytes into the bitmap's own buffer.
    offset
        .is_multiple_of(8)
        .then(|| unsafe { bits.inner().as_ptr().add(offset / 8) }.cast())
}

/// Refuses a schema that nests deeper than [`MAX_SCHEMA_DEPTH`], naming the column, without
/// recursion: exporting it (arrow-rs's schema export, oplink's layout) and reading it on the
/// other side recurse once per level, and a deep enough column would overflow the stack.
pub(in crate::exchange) fn check_depth(schema: &SchemaRef) -> Result<()> {
    let mut stack: Vec<(&DataType, &str, usize)> = schema
        .fields()
        .iter()
        .map(|field| (field.data_type(), field.name().as_str(), 1))
        .collect();
    while let Some((data_type, column, depth)) = stack.pop() {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(Error::unlocated(format!(
                "column `{column}` nests deeper than {MAX_SCHEMA_DEPTH} levels, more than a crossing takes (the column is level 1, and what a list, struct, map, union, dictionary or run-end array holds is one level deeper: flatten its type to {MAX_SCHEMA_DEPTH} levels or fewer)"
            )));
        }
        let deeper = depth + 1;
        match data_type {
            DataType::List(field)
            | DataType::LargeList(field)
            | DataType::ListView(field)
            | DataType::LargeListView(field)
            | DataType::FixedSizeList(field, _)
            | DataType::Map(field, _) => stack.push((field.data_type(), column, deeper)),
            DataType::Struct(fields) => stack.extend(
                fields
                    .iter()
                    .map(|field| (field.data_type(), column, deeper)),
            ),
            DataType::Union(fields, _) => stack.extend(
                fields
                    .iter()
                    .map(|(_, field)| (field.data_type(), column, deeper)),
            ),
            DataType::Dictionary(_, values) => stack.push((values.as_ref(), column, deeper)),
            DataType::RunEndEncoded(ends, values) => {
                stack.push((ends.data_type(), column, deeper));
                stack.push((values.data_type(), column, deeper));
            }
            _ => {}
        }
    }
    Ok(())
}
