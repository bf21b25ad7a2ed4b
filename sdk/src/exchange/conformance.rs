//! The exchange against an independent producer and consumer (arrow-rs's own `ffi` module),
//! over generated batches of every Arrow type arrow-rs supports (`generate`), alone and
//! nested, with nulls at every level, slices at non-zero offsets (of the batch, of nested
//! children and of the row numbers), field and schema metadata: as a lone batch and as a
//! change (arrow-rs reading the arrays of a change oplink laid out, oplink reading through
//! an inbox a change whose arrays arrow-rs laid out); the typed view's readers against
//! arrow-rs's over the same batches; and against arrays malformed on purpose, by hand and
//! by spoiling each header of every generated type.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi, from_ffi_and_data_type};
use arrow_array::types::*;
use arrow_array::*;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, UnionFields, UnionMode};
use proptest::prelude::*;

use super::generate::*;
use super::raw::RawArray;
use super::*;
use crate::data::{Change, Diff, Rows, Timestamp};

/// There and back through oplink's exchange as a change, with row numbers.
fn through_change(rows: Rows) -> Rows {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let change = Change::new(1, Timestamp(2), vec![Diff::Insert { post: rows }]);
    let abi = out.export_change(change, &mut outbox).unwrap();
    // SAFETY: exported just above.
    let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    match back.diffs.into_iter().next() {
        Some(Diff::Insert { post }) => post,
        other => panic!("one insert crossed, not {other:?}"),
    }
}

/// Exported by oplink, imported by arrow-rs.
fn ours_to_arrow(batch: &RecordBatch) -> RecordBatch {
    let (array, schema) = export_batch(batch).unwrap();
    // SAFETY: a batch exported just above with its schema.
    let data = unsafe { from_ffi(array, &schema) }.unwrap();
    let columns = StructArray::from(data);
    let (_, arrays, _) = columns.into_parts();
    RecordBatch::try_new_with_options(
        batch.schema(),
        arrays,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .unwrap()
}

/// Exported by arrow-rs, imported by oplink.
fn arrow_to_ours(batch: &RecordBatch) -> RecordBatch {
    let array = FFI_ArrowArray::new(&StructArray::from(batch.clone()).into_data());
    let schema = FFI_ArrowSchema::try_from(batch.schema().as_ref()).unwrap();
    // SAFETY: exported just above by arrow-rs.
    unsafe { import_standalone_batch(array, &schema) }.unwrap()
}

/// A batch and its row numbers as arrow-rs imports them, from the arrays and schema of the
/// columns and row numbers of a side oplink laid out.
fn arrow_reads(rows: &mut crate::abi::AbiRows, schema: &FFI_ArrowSchema) -> Rows {
    let columns = std::mem::replace(&mut rows.columns, FFI_ArrowArray::empty());
    let numbers = std::mem::replace(&mut rows.row_numbers, FFI_ArrowArray::empty());
    // SAFETY: arrays oplink laid out, not taken yet, of the schema it sent.
    let data = unsafe { from_ffi(columns, schema) }.unwrap();
    // SAFETY: as above; row numbers are UInt64.
    let numbers = unsafe { from_ffi_and_data_type(numbers, DataType::UInt64) }.unwrap();
    let schema = Arc::new(Schema::try_from(schema).unwrap());
    let length = data.len();
    let (_, arrays, _) = StructArray::from(data).into_parts();
    let options = RecordBatchOptions::new().with_row_count(Some(length));
    let batch = RecordBatch::try_new_with_options(schema, arrays, &options).unwrap();
    Rows::new(UInt64Array::from(numbers), batch).unwrap()
}

/// Laid out by oplink as a change (with its row numbers, in one block), read by arrow-rs;
/// twice through one `Outgoing`, the second time in the block the first one used (which
/// arrow-rs released), and with the schema sent the first time only.
fn change_to_arrow(rows: &Rows) {
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let schema = FFI_ArrowSchema::try_from(rows.batch().schema().as_ref()).unwrap();
    for round in 0..2 {
        let change = Change::new(1, Timestamp(2), vec![Diff::Insert { post: rows.clone() }]);
        let abi = out.export_change(change, &mut outbox).unwrap();
        outbox.commit();
        // SAFETY: the change just laid out has one diff, which nothing else refers to.
        let post = unsafe { &mut (*abi.diffs).post };
        assert_eq!(post.schema.is_null(), round > 0, "the schema is sent once");
        let sent = if post.schema.is_null() {
            &schema
        } else {
            // SAFETY: the schema oplink sent with the batch, alive until `out` clears.
            unsafe { &*post.schema }
        };
        let back = arrow_reads(post, sent);
        assert_eq!(&back, rows, "oplink's change to arrow-rs, round {round}");
        valid(back.batch(), "oplink's change to arrow-rs");
    }
}

/// Laid out by arrow-rs (columns and row numbers exported by `FFI_ArrowArray::new`), read
/// by oplink as a change through an inbox (which copies small buffers): twice, the second
/// time naming the schema the first one sent.
fn arrow_to_change(rows: &Rows) -> Rows {
    use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT};
    let mut inbox = SchemaInbox::default();
    let schema = FFI_ArrowSchema::try_from(rows.batch().schema().as_ref()).unwrap();
    let mut back = None;
    for round in 0..2 {
        let mut diff = AbiDiff {
            kind: DIFF_INSERT,
            reserved: 0,
            pre: AbiRows::absent(),
            post: AbiRows {
                schema_id: 1,
                schema: if round == 0 {
                    &schema
                } else {
                    std::ptr::null()
                },
                columns: FFI_ArrowArray::new(&StructArray::from(rows.batch().clone()).into_data()),
                row_numbers: FFI_ArrowArray::new(&rows.row_numbers().to_data()),
            },
        };
        let abi = AbiChange {
            version: 1,
            changed_at: 2,
            diffs: &mut diff,
            diff_count: 1,
        };
        // SAFETY: one diff of arrays arrow-rs exported just above, and their schema.
        let change = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        let Some(Diff::Insert { post }) = change.diffs.into_iter().next() else {
            panic!("one insert crossed")
        };
        assert_eq!(&post, rows, "arrow-rs's change to oplink, round {round}");
        valid(post.batch(), "arrow-rs's change to oplink");
        back = Some(post);
    }
    back.unwrap()
}

fn check_all_ways(batch: &RecordBatch, numbers: &UInt64Array) {
    let rows = Rows::new(numbers.clone(), batch.clone()).unwrap();
    let back = through_change(rows.clone());
    assert_eq!(back, rows, "oplink to oplink");
    valid(back.batch(), "oplink to oplink");
    // What crossed, crossing again (an operator handing back its input, or a batch it
    // kept): arrays imported by either importer, exported once more.
    let again = through_change(back);
    assert_eq!(again, rows, "oplink to oplink, twice");
    valid(again.batch(), "oplink to oplink, twice");
    let back = ours_to_arrow(batch);
    assert_eq!(&back, batch, "oplink to arrow-rs");
    valid(&back, "oplink to arrow-rs");
    let back = arrow_to_ours(batch);
    assert_eq!(&back, batch, "arrow-rs to oplink");
    valid(&back, "arrow-rs to oplink");
    change_to_arrow(&rows);
    // What oplink imported from arrow-rs, laid out by oplink and read by arrow-rs again.
    change_to_arrow(&arrow_to_change(&rows));
}

/// Fails unless every column of `batch` passes arrow-rs's full validation: equality alone
/// does not see a bad offset of an empty array, which later reads (a `concat`) trip on.
fn valid(batch: &RecordBatch, way: &str) {
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if let Err(e) = column.to_data().validate_full() {
            panic!(
                "{way}: column `{}` ({}) is not valid: {e}",
                field.name(),
                field.data_type()
            );
        }
    }
}

/// A batch of `kinds` columns generated from `seed`, of `len + start` rows, sliced to `take`
/// rows (at most `len`) from row `start`, and its row numbers sliced alike: what the
/// property tests cross.
fn sliced_batch(
    seed: u64,
    kinds: &[usize],
    len: usize,
    start: usize,
    take: usize,
) -> (RecordBatch, UInt64Array) {
    let whole = batch(&mut Gen(seed), kinds, len + start);
    let take = take.min(len);
    let numbers = UInt64Array::from_iter_values(0..(len + start) as u64).slice(start, take);
    (whole.slice(start, take), numbers)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Every type, alone and mixed, at any slice of any length, round-trips exactly.
    #[test]
    fn every_type_round_trips_both_ways(
        seed in 1u64..,
        kinds in proptest::collection::vec(0..KINDS, 0..6),
        len in 0usize..24,
        start in 0usize..5,
        take in 0usize..24,
    ) {
        let (sliced, numbers) = sliced_batch(seed, &kinds, len, start, take);
        check_all_ways(&sliced, &numbers);
    }
}

/// Each value of `column` as the typed view reads it (`{:?}` of it, `None` for a null), or
/// `None` for a type the view does not read; and, for strings, the same once more through
/// `checked()`.
fn read_by_view(column: &super::view::ColumnView<'_>) -> Option<Vec<Option<String>>> {
    let debug = |value: &dyn std::fmt::Debug| format!("{value:?}");
    macro_rules! primitive {
        ($t:ty) => {{
            let values = column.primitive::<$t>().unwrap();
            Some(values.iter().map(|v| v.map(|v| debug(&v))).collect())
        }};
    }
    downcast_primitive!(
        column.data_type() => (primitive),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let strings = column.strings().unwrap();
            let read: Vec<Option<String>> = strings.iter().map(|v| v.map(|v| debug(&v))).collect();
            let checked: Vec<Option<String>> =
                strings.checked().unwrap().iter().map(|v| v.map(|v| debug(&v))).collect();
            assert_eq!(read, checked, "{} read whole", column.name());
            Some(read)
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Some(
            column.binaries().unwrap().iter().map(|v| v.map(|v| debug(&v))).collect()
        ),
        DataType::Boolean => Some(
            column.booleans().unwrap().iter().map(|v| v.map(|v| debug(&v))).collect()
        ),
        DataType::Dictionary(key, value)
            if **key == DataType::Int16 && **value == DataType::Utf8 =>
        {
            let words = column.dictionary::<Int16Type>().unwrap();
            let values = words.values().strings().unwrap();
            Some(
                (0..words.len())
                    .map(|i| words.key(i).and_then(|at| values.get(at)).map(|v| debug(&v)))
                    .collect(),
            )
        }
        _ => None,
    )
}

/// Each value of `array` as arrow-rs reads it, for the types [`read_by_view`] reads.
fn read_by_arrow(array: &dyn Array) -> Option<Vec<Option<String>>> {
    use arrow_array::cast::AsArray;
    let debug = |value: &dyn std::fmt::Debug| format!("{value:?}");
    let each = |value: &dyn Fn(usize) -> String| {
        Some(
            (0..array.len())
                .map(|i| array.is_valid(i).then(|| value(i)))
                .collect(),
        )
    };
    macro_rules! primitive {
        ($t:ty) => {{
            let values = array.as_primitive::<$t>();
            each(&|i| debug(&values.value(i)))
        }};
    }
    downcast_primitive!(
        array.data_type() => (primitive),
        DataType::Utf8 => each(&|i| debug(&array.as_string::<i32>().value(i))),
        DataType::LargeUtf8 => each(&|i| debug(&array.as_string::<i64>().value(i))),
        DataType::Utf8View => each(&|i| debug(&array.as_string_view().value(i))),
        DataType::Binary => each(&|i| debug(&array.as_binary::<i32>().value(i))),
        DataType::LargeBinary => each(&|i| debug(&array.as_binary::<i64>().value(i))),
        DataType::BinaryView => each(&|i| debug(&array.as_binary_view().value(i))),
        DataType::Boolean => each(&|i| debug(&array.as_boolean().value(i))),
        DataType::Dictionary(key, value)
            if **key == DataType::Int16 && **value == DataType::Utf8 =>
        {
            let words = array.as_dictionary::<Int16Type>();
            let values = words.values().as_string::<i32>();
            Some(
                words
                    .keys()
                    .iter()
                    .map(|key| {
                        key.map(|at| at as usize)
                            .filter(|&at| values.is_valid(at))
                            .map(|at| debug(&values.value(at)))
                    })
                    .collect(),
            )
        }
        _ => None,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every column the typed view reads (every primitive type, strings and bytes in their
    /// plain, large and view forms, booleans, a dictionary of strings), of any slice of a
    /// generated batch, reads as arrow-rs reads it; and it reads every type it should.
    #[test]
    fn the_view_reads_every_column_as_arrow_rs_reads_it(
        seed in 1u64..,
        kinds in proptest::collection::vec(0..KINDS, 1..6),
        len in 0usize..24,
        start in 0usize..5,
        take in 0usize..24,
    ) {
        let (sliced, numbers) = sliced_batch(seed, &kinds, len, start, take);
        let rows = Rows::new(numbers, sliced.clone()).unwrap();
        let change = Change::new(1, Timestamp(2), vec![Diff::Insert { post: rows }]);
        let view = super::view::ChangeView::from_change(change).unwrap();
        let Some(super::view::DiffView::Insert { post }) = view.diff(0) else {
            panic!("one insert")
        };
        for (i, array) in sliced.columns().iter().enumerate() {
            let column = post.column(i).unwrap();
            prop_assert_eq!(
                read_by_view(&column),
                read_by_arrow(array.as_ref()),
                "column {} of type {}",
                i,
                array.data_type()
            );
        }
    }
}

#[test]
fn each_type_round_trips_with_nulls_and_offsets() {
    let mut g = Gen(7);
    for kind in 0..KINDS {
        for (len, start) in [(0, 0), (0, 5), (1, 0), (9, 3), (17, 1)] {
            let whole = batch(&mut g, &[kind], len + start);
            let sliced = whole.slice(start, len);
            let numbers = UInt64Array::from_iter_values(0..len as u64);
            check_all_ways(&sliced, &numbers);
        }
    }
}

/// An empty slice, at an offset, of arrays whose Utf8 or Binary children arrow-rs exports
/// and imports (a sparse union's, a fixed-size list's) crosses valid every way, also a
/// second time: arrow-rs alone makes of such a child an array whose one offset points past
/// its (empty) data.
#[test]
fn empty_slices_of_byte_children_cross_valid() {
    let words = |n: usize| StringArray::from_iter_values((0..n).map(|i| format!("word {i}")));
    let fields = UnionFields::try_new(
        [0, 1],
        [
            Field::new("s", DataType::Utf8, true),
            Field::new("b", DataType::LargeBinary, true),
        ],
    )
    .unwrap();
    let sparse: ArrayRef = Arc::new(
        UnionArray::try_new(
            fields,
            vec![0i8, 1, 0, 1, 0, 1, 0, 1].into(),
            None,
            vec![
                Arc::new(words(8)),
                Arc::new(LargeBinaryArray::from_iter_values(
                    (0..8).map(|i| vec![i as u8; 5]),
                )),
            ],
        )
        .unwrap(),
    );
    let listed: ArrayRef = Arc::new(FixedSizeListArray::new(
        Arc::new(Field::new_list_field(DataType::Utf8, true)),
        2,
        Arc::new(words(16)),
        None,
    ));
    for column in [sparse, listed] {
        for (start, len) in [(5, 0), (8, 0), (3, 2)] {
            let batch = RecordBatch::try_from_iter([("c", column.slice(start, len))]).unwrap();
            let numbers = UInt64Array::from_iter_values(0..len as u64);
            check_all_ways(&batch, &numbers);
        }
    }
}

#[test]
fn a_thousand_columns_and_no_columns_round_trip() {
    let mut g = Gen(11);
    // Every kind but the nested ones (which other tests nest), over and over.
    let kinds: Vec<usize> = (0..1000).map(|i| i % FLAT.end).collect();
    let wide = batch(&mut g, &kinds, 5);
    check_all_ways(&wide, &UInt64Array::from_iter_values(0..5));
    let none = batch(&mut g, &[], 3);
    check_all_ways(&none, &UInt64Array::from_iter_values(0..3));
}

#[test]
fn a_schema_that_changes_between_calls_is_followed() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let mut g = Gen(5);
    for round in 0..12 {
        let kinds = [round % KINDS, (round * 7) % KINDS];
        let batch = batch(&mut g, &kinds[..round % 3], 4);
        let rows = Rows::new(vec![1, 2, 3, 4], batch).unwrap();
        let change = Change::new(
            round as u64,
            Timestamp(0),
            vec![Diff::Insert { post: rows }],
        );
        let abi = out.export_change(change.clone(), &mut outbox).unwrap();
        // SAFETY: exported just above.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        outbox.commit();
        assert_eq!(back, change, "round {round}");
    }
}

#[test]
fn a_batch_outlives_the_exporter_and_the_call() {
    let mut g = Gen(3);
    let original = batch(
        &mut g,
        &[
            kind::INT64,
            kind::UTF8,
            kind::LIST,
            kind::STRUCT,
            kind::DICTIONARY,
        ],
        10,
    );
    let rows = Rows::new(UInt64Array::from_iter_values(0..10), original.clone()).unwrap();
    let kept = {
        let (mut outbox, mut inbox, mut out) = (
            SchemaOutbox::default(),
            SchemaInbox::default(),
            Outgoing::default(),
        );
        let abi = out
            .export_change(
                Change::new(1, Timestamp(0), vec![Diff::Insert { post: rows }]),
                &mut outbox,
            )
            .unwrap();
        // SAFETY: exported just above.
        unsafe { import_change(&abi, &mut inbox) }.unwrap()
        // The exporter's `Outgoing`, caches and the change it was given all drop here.
    };
    match &kept.diffs[0] {
        Diff::Insert { post } => assert_eq!(post.batch(), &original),
        other => panic!("{other:?}"),
    }
}

// ---- Arrays malformed on purpose -------------------------------------------------------

/// A hand-made producer: arrays over memory the test owns, whose release only marks them.
unsafe extern "C" fn mark_released(array: *mut RawArray) {
    // SAFETY: the importer calls this on an array of the test's, once.
    unsafe { (*array).release = None };
}

struct Made {
    /// The top-level struct's child list and buffers, and the column's.
    _lists: Vec<Box<[*const std::ffi::c_void]>>,
    _children: Vec<Box<[*mut RawArray]>>,
    // Boxed so that the nodes keep their addresses while the vector grows.
    #[allow(clippy::vec_box)]
    _nodes: Vec<Box<RawArray>>,
}

fn raw(length: i64, buffers: &[*const std::ffi::c_void], made: &mut Made) -> RawArray {
    let list: Box<[*const std::ffi::c_void]> = buffers.into();
    let ptr = list.as_ptr().cast_mut();
    made._lists.push(list);
    RawArray {
        length,
        null_count: 0,
        offset: 0,
        n_buffers: buffers.len() as i64,
        n_children: 0,
        buffers: ptr,
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: Some(mark_released),
        private_data: std::ptr::null_mut(),
    }
}

fn with_children(mut array: RawArray, children: Vec<RawArray>, made: &mut Made) -> RawArray {
    let nodes: Vec<*mut RawArray> = children
        .into_iter()
        .map(|child| {
            let mut node = Box::new(child);
            let ptr: *mut RawArray = &mut *node;
            made._nodes.push(node);
            ptr
        })
        .collect();
    let list: Box<[*mut RawArray]> = nodes.into();
    array.n_children = list.len() as i64;
    array.children = list.as_ptr().cast_mut();
    made._children.push(list);
    array
}

/// Imports a one-column batch of `field` whose column is `column`; the error's text.
fn import_malformed(field: Field, column: RawArray) -> String {
    let mut made = Made {
        _lists: vec![],
        _children: vec![],
        _nodes: vec![],
    };
    let length = column.length;
    let top = raw(length, &[std::ptr::null()], &mut made);
    let top = with_children(top, vec![column], &mut made);
    let schema = FFI_ArrowSchema::try_from(&Schema::new(vec![field])).unwrap();
    // SAFETY: the arrays are readable as far as their declared counts go (each test breaks
    // only what the importer must catch).
    let result = unsafe { import_standalone_batch(top.into_ffi(), &schema) };
    result.unwrap_err().to_string()
}

/// A buffer misaligned for its type (arrow-rs never makes one; a producer written in C may)
/// is copied into an aligned one by the receiver, which arrow-rs's typed arrays require: in
/// a lone batch and in a change read through an inbox alike, past the size a change's
/// reader copies anyway. Everything else is still shared.
#[test]
fn a_buffer_misaligned_for_its_type_is_copied_aligned_by_the_receiver() {
    use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT};
    use arrow_array::cast::AsArray;
    const ROWS: usize = 100; // 800 bytes of Int64: shared when aligned
    let values: Vec<i64> = (0..ROWS as i64).map(|v| v * 3 - 7).collect();
    // One byte into a buffer of the test's own: misaligned for `i64`.
    let mut bytes = vec![0u8; 1 + ROWS * 8];
    for (i, v) in values.iter().enumerate() {
        bytes[1 + i * 8..9 + i * 8].copy_from_slice(&v.to_ne_bytes());
    }
    let misaligned = bytes[1..].as_ptr();
    assert_ne!(
        misaligned.align_offset(8),
        0,
        "the test's buffer is misaligned"
    );
    // An aligned column beside it, shared as ever.
    let aligned = Int64Array::from_iter_values(0..ROWS as i64);
    let aligned_ptr = aligned.values().inner().as_ptr();
    let schema = FFI_ArrowSchema::try_from(&Schema::new(vec![
        Field::new("amount", DataType::Int64, false),
        Field::new("id", DataType::Int64, false),
    ]))
    .unwrap();
    let mut made = Made {
        _lists: vec![],
        _children: vec![],
        _nodes: vec![],
    };
    let mut columns = || {
        let amount = raw(
            ROWS as i64,
            &[std::ptr::null(), misaligned.cast()],
            &mut made,
        );
        let id = raw(
            ROWS as i64,
            &[std::ptr::null(), aligned_ptr.cast()],
            &mut made,
        );
        let top = raw(ROWS as i64, &[std::ptr::null()], &mut made);
        with_children(top, vec![amount, id], &mut made).into_ffi()
    };
    let check = |batch: &RecordBatch, way: &str| {
        let amount = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!(amount.values().as_ref(), &values[..], "{way}");
        let copy = amount.values().inner().as_ptr();
        assert_eq!(copy.align_offset(8), 0, "{way}: the copy is aligned");
        assert_ne!(copy, misaligned, "{way}");
        let id = batch.column(1).as_primitive::<Int64Type>();
        assert_eq!(id, &aligned, "{way}");
        assert_eq!(id.values().inner().as_ptr(), aligned_ptr, "{way}: shared");
    };

    // SAFETY: the arrays are readable as far as their counts go, over the test's memory.
    let batch = unsafe { import_standalone_batch(columns(), &schema) }.unwrap();
    check(&batch, "a lone batch");

    let mut inbox = SchemaInbox::default();
    let mut diff = AbiDiff {
        kind: DIFF_INSERT,
        reserved: 0,
        pre: AbiRows::absent(),
        post: AbiRows {
            schema_id: 1,
            schema: &schema,
            columns: columns(),
            row_numbers: FFI_ArrowArray::new(
                &UInt64Array::from_iter_values(0..ROWS as u64).to_data(),
            ),
        },
    };
    let abi = AbiChange {
        version: 1,
        changed_at: 2,
        diffs: &mut diff,
        diff_count: 1,
    };
    // SAFETY: as above, and row numbers arrow-rs exported just above.
    let change = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    let Some(Diff::Insert { post }) = change.diffs.first() else {
        panic!("one insert crossed")
    };
    check(post.batch(), "a change");
    drop(change);
    drop(bytes);
}

#[test]
fn malformed_arrays_are_errors_never_crashes() {
    let values = [1i64, 2, 3, 4];
    let ints = values.as_ptr().cast::<std::ffi::c_void>();
    let null = std::ptr::null::<std::ffi::c_void>();
    let offsets = [0i32, 1, 2, 9];
    let offs = offsets.as_ptr().cast::<std::ffi::c_void>();
    let text = b"abcdefghij".as_ptr().cast::<std::ffi::c_void>();
    let int64 = || Field::new("n", DataType::Int64, true);
    let mut made = Made {
        _lists: vec![],
        _children: vec![],
        _nodes: vec![],
    };

    let three_buffers = raw(4, &[null, ints, ints], &mut made);
    assert_eq!(
        import_malformed(int64(), three_buffers),
        "column `n`: it has 3 buffers where its type has 2"
    );

    let with_a_child = with_children(
        raw(4, &[null, ints], &mut made),
        vec![raw(4, &[null, ints], &mut made)],
        &mut made,
    );
    assert_eq!(
        import_malformed(int64(), with_a_child),
        "column `n`: it has 1 child where its type has 0"
    );

    let null_values = raw(4, &[null, null], &mut made);
    assert_eq!(
        import_malformed(int64(), null_values),
        "column `n`: its buffer 1 is null but must hold 32 bytes"
    );

    let mut negative = raw(4, &[null, ints], &mut made);
    negative.offset = -2;
    assert_eq!(
        import_malformed(int64(), negative),
        "column `n`: its length 4 or offset -2 is negative"
    );

    let mut nulls_without_bitmap = raw(4, &[null, ints], &mut made);
    nulls_without_bitmap.null_count = 2;
    assert_eq!(
        import_malformed(int64(), nulls_without_bitmap),
        "column `n`: it has 2 nulls but no validity bitmap"
    );

    let mut too_many_nulls = raw(4, &[null, ints], &mut made);
    too_many_nulls.null_count = 5;
    assert_eq!(
        import_malformed(int64(), too_many_nulls),
        "column `n`: its null count 5 is outside 0..=4"
    );

    // A list whose last offset (9) is past its child's 4 values.
    let list = with_children(
        raw(3, &[null, offs], &mut made),
        vec![raw(4, &[null, ints], &mut made)],
        &mut made,
    );
    assert_eq!(
        import_malformed(
            Field::new("l", DataType::new_list(DataType::Int64, true), true),
            list
        ),
        "column `l`: its offsets reach 9 but its values hold 4"
    );

    // Offsets that run backwards from the first to the last.
    let backwards = [5i32, 1];
    let strings = raw(1, &[null, backwards.as_ptr().cast(), text], &mut made);
    assert_eq!(
        import_malformed(Field::new("s", DataType::Utf8, true), strings),
        "column `s`: its offsets run from 5 to 1"
    );

    // A negative first offset, named as it is.
    let negative = [-1i32, 1];
    let strings = raw(1, &[null, negative.as_ptr().cast(), text], &mut made);
    assert_eq!(
        import_malformed(Field::new("s", DataType::Utf8, true), strings),
        "column `s`: its offsets run from -1 to 1"
    );

    // A view array listing more data buffers than its views can name: refused before the
    // list is read.
    let views = [0u128; 4];
    let too_many = RawArray {
        n_buffers: 1 << 40,
        ..raw(4, &[null, views.as_ptr().cast(), null], &mut made)
    };
    assert_eq!(
        import_malformed(Field::new("v", DataType::Utf8View, true), too_many),
        "column `v`: it has 1099511627776 buffers, more than a view array can name"
    );

    // A struct column shorter than the batch.
    let inner = Fields::from(vec![Field::new("x", DataType::Int64, true)]);
    let short = with_children(
        raw(4, &[null], &mut made),
        vec![raw(2, &[null, ints], &mut made)],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("s", DataType::Struct(inner), true), short),
        "column `s`: field `x`: it has 2 rows where its parent needs 4"
    );

    // A dictionary array without its dictionary, and a plain array with one.
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let keys = [0i32, 0, 0, 0];
    let no_dictionary = raw(4, &[null, keys.as_ptr().cast()], &mut made);
    assert_eq!(
        import_malformed(Field::new("d", dict, true), no_dictionary),
        "column `d`: a dictionary array has no dictionary"
    );

    // A union that arrow-rs would assert on: one child where the type has two.
    let union = DataType::Union(
        UnionFields::try_new(
            [0, 1],
            [
                Field::new("i", DataType::Int32, true),
                Field::new("s", DataType::Utf8, true),
            ],
        )
        .unwrap(),
        UnionMode::Sparse,
    );
    let ids = [0i8; 4];
    let one_child = with_children(
        raw(4, &[ids.as_ptr().cast()], &mut made),
        vec![raw(4, &[null, ints], &mut made)],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("u", union, true), one_child),
        "column `u`: it has 1 child where its type has 2"
    );

    // Run-end-encoded columns whose runs do not cover their rows: arrow-rs would read a
    // value past the values' end for the rows after the last run.
    let ree = DataType::RunEndEncoded(
        Arc::new(Field::new("run_ends", DataType::Int32, false)),
        Arc::new(Field::new("values", DataType::Int64, true)),
    );
    let (four, one) = ([4i32], [1i32]);
    let runs = |ends: &[i32], values: i64, made: &mut Made| {
        let ends = raw(ends.len() as i64, &[null, ends.as_ptr().cast()], made);
        let values = raw(values, &[null, ints], made);
        with_children(raw(4, &[], made), vec![ends, values], made)
    };
    for (column, message) in [
        (runs(&four, 0, &mut made), "its 1 run ends have 0 values"),
        (
            runs(&one, 1, &mut made),
            "its last run ends at 1, before the end of its 4 slots",
        ),
        (runs(&[], 0, &mut made), "it has 4 rows and no run ends"),
    ] {
        assert_eq!(
            import_malformed(Field::new("r", ree.clone(), true), column),
            format!("column `r`: {message}")
        );
    }

    // Run ends declared with nulls, and run ends without their buffer.
    let mut nulls = raw(1, &[null, four.as_ptr().cast()], &mut made);
    nulls.null_count = 1;
    let values = raw(1, &[null, ints], &mut made);
    let column = with_children(raw(4, &[], &mut made), vec![nulls, values], &mut made);
    assert_eq!(
        import_malformed(Field::new("r", ree.clone(), true), column),
        "column `r`: its run ends hold nulls"
    );
    let missing = raw(1, &[null, null], &mut made);
    let values = raw(1, &[null, ints], &mut made);
    let column = with_children(raw(4, &[], &mut made), vec![missing, values], &mut made);
    assert_eq!(
        import_malformed(Field::new("r", ree.clone(), true), column),
        "column `r`: its run ends are null or misaligned"
    );

    // Run ends of a type they cannot be (here Int8): refused before any is read as another.
    let narrow = DataType::RunEndEncoded(
        Arc::new(Field::new("run_ends", DataType::Int8, false)),
        Arc::new(Field::new("values", DataType::Int64, true)),
    );
    let bytes = [4i8];
    let ends = raw(1, &[null, bytes.as_ptr().cast()], &mut made);
    let values = raw(1, &[null, ints], &mut made);
    let column = with_children(raw(4, &[], &mut made), vec![ends, values], &mut made);
    assert_eq!(
        import_malformed(Field::new("r", narrow, true), column),
        "column `r`: its run ends are Int8, where they are Int16, Int32 or Int64"
    );

    // A fixed-size list whose child is shorter than the list needs (arrow-rs asserts when it
    // makes the typed array): refused before arrow-rs sees it.
    let pairs = DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Int32, true)), 2);
    let short_child = with_children(
        raw(4, &[null], &mut made),
        vec![raw(4, &[null, ints], &mut made)],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("p", pairs.clone(), true), short_child),
        "column `p`: child 0: it has 4 rows where its parent needs 8"
    );
    // So many lists that their values' count wraps (arrow-rs would multiply the length by
    // the size and slice its child past its end, outside any guard).
    let quads = DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Int32, true)), 4);
    let wrapping = with_children(
        RawArray {
            length: 1 << 62,
            null_count: 0,
            ..raw(4, &[null], &mut made)
        },
        vec![raw(0, &[null, ints], &mut made)],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("q", quads, true), wrapping),
        "column `q`: 4611686018427387904 lists of 4 values are more than memory can hold"
    );
    // Under a type arrow-rs imports, text whose length arrow-rs would turn into a byte count
    // that wraps (it then read at a wild address), text whose offsets go negative, and views
    // naming more data buffers than a view can: refused as oplink refuses its own.
    let one_text = DataType::FixedSizeList(Arc::new(Field::new("t", DataType::Utf8, true)), 1);
    let endless = with_children(
        raw(1, &[null], &mut made),
        vec![RawArray {
            length: i64::MAX - 1,
            null_count: 0,
            ..raw(1, &[null, null, null], &mut made)
        }],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("t", one_text.clone(), true), endless),
        "column `t`: child 0: 9223372036854775807 values of 4 bytes are more than memory can hold"
    );
    let no_offsets = with_children(
        raw(1, &[null], &mut made),
        vec![raw(1, &[null, null, null], &mut made)],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("t", one_text.clone(), true), no_offsets),
        "column `t`: child 0: its offsets are null or misaligned"
    );
    let back = [0i32, -1];
    let backwards = with_children(
        raw(1, &[null], &mut made),
        vec![raw(1, &[null, back.as_ptr().cast(), null], &mut made)],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("t", one_text, true), backwards),
        "column `t`: child 0: its offsets run from 0 to -1"
    );
    let one_view = DataType::FixedSizeList(Arc::new(Field::new("v", DataType::Utf8View, true)), 1);
    let many = with_children(
        raw(1, &[null], &mut made),
        vec![RawArray {
            n_buffers: 1 << 61,
            ..raw(1, &[null, views.as_ptr().cast(), null], &mut made)
        }],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("v", one_view.clone(), true), many),
        "column `v`: child 0: it has 2305843009213693952 buffers, more than a view array can name"
    );
    // One data buffer, its size listed as negative, or its list of sizes missing.
    let data = [0u8; 4];
    let negative_sizes = [-1i64];
    for (sizes, said) in [
        (
            negative_sizes.as_ptr().cast(),
            "column `v`: child 0: its data buffer 0 has a negative size (-1)",
        ),
        (
            null,
            "column `v`: child 0: the sizes of its data buffers are null or misaligned",
        ),
    ] {
        let sized = with_children(
            raw(1, &[null], &mut made),
            vec![raw(
                1,
                &[null, views.as_ptr().cast(), data.as_ptr().cast(), sizes],
                &mut made,
            )],
            &mut made,
        );
        assert_eq!(
            import_malformed(Field::new("v", one_view.clone(), true), sized),
            said
        );
    }
    // A view column oplink builds itself reads the sizes in place: a missing list is an
    // error naming its buffer.
    let unsized_column = raw(
        1,
        &[null, views.as_ptr().cast(), data.as_ptr().cast(), null],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("v", DataType::Utf8View, true), unsized_column),
        "column `v`: its buffer 3 is null but must hold 8 bytes"
    );

    // Under a type arrow-rs imports, every header is checked as oplink checks its own.
    let negative = with_children(
        raw(2, &[null], &mut made),
        vec![RawArray {
            length: -4,
            ..raw(4, &[null, ints], &mut made)
        }],
        &mut made,
    );
    assert_eq!(
        import_malformed(Field::new("p", pairs, true), negative),
        "column `p`: child 0: its length -4 or offset 0 is negative"
    );

    // The batch's own struct array released, or with the wrong column count.
    let schema = FFI_ArrowSchema::try_from(&Schema::new(vec![int64()])).unwrap();
    // SAFETY: a released array is valid input.
    let released = unsafe { import_standalone_batch(FFI_ArrowArray::empty(), &schema) };
    assert_eq!(
        released.unwrap_err().to_string(),
        "a batch arrived without its array"
    );
}

/// The types of the children of an array of type `data_type`, in order (a dictionary's
/// values are not a child: see [`nodes`]).
fn child_types(data_type: &DataType) -> Vec<DataType> {
    match data_type {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::Map(f, _) => vec![f.data_type().clone()],
        DataType::Struct(fields) => fields.iter().map(|f| f.data_type().clone()).collect(),
        DataType::Union(fields, _) => fields.iter().map(|(_, f)| f.data_type().clone()).collect(),
        DataType::RunEndEncoded(ends, values) => {
            vec![ends.data_type().clone(), values.data_type().clone()]
        }
        _ => vec![],
    }
}

/// One array of a tree: where it is, its type, and its parent's type (none for a column).
struct Node {
    at: *mut RawArray,
    data_type: DataType,
    parent: Option<DataType>,
}

/// Every array of the tree at `at` (of type `data_type`), children and dictionaries, in
/// depth-first order.
///
/// # Safety
/// `at` is a valid array of type `data_type`.
unsafe fn nodes(at: *mut RawArray, data_type: &DataType, parent: Option<&DataType>) -> Vec<Node> {
    let mut out = vec![Node {
        at,
        data_type: data_type.clone(),
        parent: parent.cloned(),
    }];
    // SAFETY: a valid array (caller), whose children and dictionary are valid arrays of the
    // types its own type gives them.
    unsafe {
        let array = &*at;
        for (i, child) in child_types(data_type).iter().enumerate() {
            out.extend(nodes(*array.children.add(i), child, Some(data_type)));
        }
        if let DataType::Dictionary(_, values) = data_type {
            out.extend(nodes(array.dictionary, values, Some(data_type)));
        }
    }
    out
}

/// Ways to spoil one array's header that the importer must refuse whatever the array's type
/// and wherever it is in the tree: a buffer or a child fewer or more than its type has
/// (one more: a null buffer, a released child), a negative offset, more nulls than rows,
/// and, under a struct, a fixed-size list or a sparse union, a child with no rows.
#[derive(Clone, Copy, Debug)]
enum Spoil {
    BufferFewer,
    BufferMore,
    ChildFewer,
    ChildMore,
    NegativeOffset,
    TooManyNulls,
    NoRows,
}

/// Spoils the array at `node` as `spoil` says, keeping in `keep` any list it needs; false
/// when `spoil` does not apply to it.
///
/// # Safety
/// `node.at` is a valid array that nothing reads while it is spoiled.
unsafe fn spoil(node: &Node, spoil: Spoil, keep: &mut Made) -> bool {
    // SAFETY: a valid array (caller), not read by anyone else.
    let array = unsafe { &mut *node.at };
    let views = matches!(node.data_type, DataType::Utf8View | DataType::BinaryView);
    match spoil {
        // A view array with one buffer fewer is a view array of one data buffer fewer,
        // which its header alone does not tell from a sound one.
        Spoil::BufferFewer if array.n_buffers > 0 && !views => array.n_buffers -= 1,
        Spoil::BufferMore => {
            let n = array.n_buffers as usize;
            // SAFETY: a list of `n_buffers` buffers (a valid array).
            let mut list: Vec<_> = (0..n).map(|i| unsafe { *array.buffers.add(i) }).collect();
            list.push(std::ptr::null());
            let list: Box<[*const std::ffi::c_void]> = list.into();
            array.buffers = list.as_ptr().cast_mut();
            array.n_buffers += 1;
            keep._lists.push(list);
        }
        Spoil::ChildFewer if array.n_children > 0 => array.n_children -= 1,
        Spoil::ChildMore => {
            let n = array.n_children as usize;
            // SAFETY: a list of `n_children` children (a valid array).
            let mut list: Vec<_> = (0..n).map(|i| unsafe { *array.children.add(i) }).collect();
            let mut released = Box::new(RawArray::RELEASED);
            list.push(&mut *released);
            keep._nodes.push(released);
            let list: Box<[*mut RawArray]> = list.into();
            array.children = list.as_ptr().cast_mut();
            array.n_children += 1;
            keep._children.push(list);
        }
        Spoil::NegativeOffset => array.offset = -1,
        Spoil::TooManyNulls => array.null_count = array.length + 1,
        Spoil::NoRows
            if array.length > 0
                && matches!(
                    node.parent,
                    Some(
                        DataType::Struct(_)
                            | DataType::FixedSizeList(..)
                            | DataType::Union(_, UnionMode::Sparse)
                    )
                ) =>
        {
            array.length = 0
        }
        _ => return false,
    }
    true
}

/// Every array of a generated column of every type (nested ones included), laid out by
/// arrow-rs and spoiled in its header in each way [`Spoil`] lists, is refused by the
/// importer with an error naming the column, never imported, never a crash.
#[test]
fn every_array_of_every_type_spoiled_in_its_header_is_an_error() {
    use Spoil::*;
    let mut accepted = Vec::new();
    // How many spoiled trees were refused, by way of spoiling (`Spoil`'s order).
    let mut refused = [0usize; 7];
    for kind in 0..KINDS {
        // Several seeds for every kind: a kind may pick among types (a union's mode, a
        // dictionary's key type, a timestamp's unit), and a nested one among shapes.
        let seeds = if FLAT.contains(&kind) { 1..5 } else { 1..13 };
        for seed in seeds {
            let whole = batch(&mut Gen(seed), &[kind], 6);
            let sliced = whole.slice(1, 4);
            let data_type = sliced.column(0).data_type().clone();
            let schema = FFI_ArrowSchema::try_from(sliced.schema().as_ref()).unwrap();
            // The batch laid out by arrow-rs (released when dropped, unless moved out), and
            // the arrays of its column.
            let export = || {
                let top = FFI_ArrowArray::new(&StructArray::from(sliced.clone()).into_data());
                let top = Box::new(top);
                let raw: *const RawArray = (&*top as *const FFI_ArrowArray).cast();
                // SAFETY: the same layout; arrow-rs's export of a struct of one column of
                // `data_type`, whose arrays stay where they are while it lives.
                let nodes = unsafe { nodes(*(*raw).children, &data_type, None) };
                (top, nodes)
            };
            let count = export().1.len();
            for at in 0..count {
                for how in [
                    BufferFewer,
                    BufferMore,
                    ChildFewer,
                    ChildMore,
                    NegativeOffset,
                    TooManyNulls,
                    NoRows,
                ] {
                    let mut keep = Made {
                        _lists: vec![],
                        _children: vec![],
                        _nodes: vec![],
                    };
                    let (mut top, nodes) = export();
                    let node = &nodes[at];
                    // SAFETY: an array of the tree just exported, read by nobody yet.
                    if !unsafe { spoil(node, how, &mut keep) } {
                        continue;
                    }
                    let what = format!(
                        "{how:?} at array {at} ({}) of {data_type} (kind {kind}, seed {seed})",
                        node.data_type
                    );
                    let array = std::mem::replace(&mut *top, FFI_ArrowArray::empty());
                    // SAFETY: arrow-rs's arrays, readable as far as their declared counts go
                    // (an extra buffer or child is in `keep`'s lists); only one header was
                    // spoiled, which the importer must catch.
                    match unsafe { import_standalone_batch(array, &schema) } {
                        Ok(_) => accepted.push(what),
                        Err(e) => {
                            assert!(e.to_string().starts_with("column `c0`: "), "{what}: {e}");
                            refused[how as usize] += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "{} accepted: {accepted:#?}",
        accepted.len()
    );
    // Every way of spoiling applied, to many arrays (2,323 refusals in all, 81 to 430 each).
    assert!(refused.iter().all(|&n| n > 40), "{refused:?}");
    assert!(refused.iter().sum::<usize>() > 2000, "{refused:?}");
}

// ---- Small buffers copied into an inbox's block, under load -----------------------------

/// Random changes of every type at small sizes through one inbox, some kept, some read and
/// dropped on other threads, some failing part way: what was imported reads the same,
/// whole blocks included (arrow-rs's `Debug` prints the block under a copied buffer), after
/// any number of later imports.
mod small_stress {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};
    use std::sync::mpsc;

    use arrow_schema::SchemaRef;

    use super::*;
    use crate::abi::AbiChange;
    use crate::exchange::export::sides;

    /// How many changes a test sends (`OPLINK_SMALL_STRESS` overrides, for a longer run).
    fn rounds(default: usize) -> usize {
        std::env::var("OPLINK_SMALL_STRESS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    /// Every buffer under `change` as arrow-rs's `Debug` prints it (the whole allocation
    /// under each, a copy's whole block included), hashed.
    fn printed(change: &Change) -> u64 {
        let mut hash = DefaultHasher::new();
        for diff in &change.diffs {
            for rows in sides(diff).into_iter().flatten() {
                format!("{:?}", rows.row_numbers().to_data()).hash(&mut hash);
                for column in rows.batch().columns() {
                    format!("{:?}", column.to_data()).hash(&mut hash);
                }
            }
        }
        hash.finish()
    }

    /// Buffers under `change` copied into a block (their capacity is the block's), and
    /// the blocks they are in.
    fn copied(change: &Change, blocks: &mut std::collections::HashSet<usize>) -> (usize, usize) {
        fn walk(
            data: &arrow_data::ArrayData,
            blocks: &mut std::collections::HashSet<usize>,
            n: &mut (usize, usize),
        ) {
            let nulls = data.nulls().map(|n| n.inner().inner().clone());
            for buffer in data.buffers().iter().chain(nulls.as_ref()) {
                if buffer.capacity() == crate::exchange::small::BLOCK
                    && (buffer.data_ptr().as_ptr() as usize).is_multiple_of(16)
                {
                    n.0 += 1;
                    blocks.insert(buffer.data_ptr().as_ptr() as usize);
                } else {
                    n.1 += 1;
                }
            }
            for child in data.child_data() {
                walk(child, blocks, n);
            }
        }
        let mut n = (0, 0);
        for diff in &change.diffs {
            for rows in sides(diff).into_iter().flatten() {
                walk(&rows.row_numbers().to_data(), blocks, &mut n);
                for column in rows.batch().columns() {
                    walk(&column.to_data(), blocks, &mut n);
                }
            }
        }
        n
    }

    /// Kinds of column lists that recur, so that schemas are found in the caches too.
    const RECURRING: [&[usize]; 8] = [
        &[3],
        &[2, 22],
        &[21, 4, 26],
        &[11, 12, 19],
        &[30, 34],
        &[36, 28, 29],
        &[31, 27, 8],
        &[37, 35, 33, 32],
    ];

    /// A batch of `len` rows sliced out of a longer one, its schema shared with earlier
    /// batches of the same schema (from `schemas`).
    fn random_batch(g: &mut Gen, schemas: &mut Vec<SchemaRef>, len: usize) -> RecordBatch {
        let kinds: Vec<usize> = if g.below(2) == 0 {
            RECURRING[g.below(RECURRING.len())].to_vec()
        } else {
            (0..1 + g.below(4)).map(|_| g.below(KINDS)).collect()
        };
        let skip = if g.below(2) == 0 { 0 } else { g.below(11) };
        let extra = g.below(3);
        let whole = batch(g, &kinds, skip + len + extra);
        let sliced = whole.slice(skip, len);
        let schema = match schemas.iter().find(|s| **s == *sliced.schema_ref()) {
            Some(schema) => schema.clone(),
            None => {
                if schemas.len() == 128 {
                    schemas.remove(0);
                }
                schemas.push(sliced.schema());
                sliced.schema()
            }
        };
        sliced.with_schema(schema).unwrap()
    }

    /// `len` row numbers, sometimes a slice of a longer array.
    fn numbers(g: &mut Gen, len: usize) -> UInt64Array {
        let skip = g.below(5);
        UInt64Array::from_iter_values((0..(skip + len) as u64).map(|n| n * 3 + 1)).slice(skip, len)
    }

    /// A change of one to four diffs of every kind, 0 to 40 rows a side; one in sixteen has
    /// a side of twelve Int64 columns of 32 rows (more small buffers than a block holds).
    fn random_change(g: &mut Gen, schemas: &mut Vec<SchemaRef>, version: u64) -> Change {
        let diffs = (0..1 + g.below(4))
            .map(|_| {
                let len = g.below(41);
                let numbers = numbers(g, len);
                let mut side = |g: &mut Gen| {
                    let batch = if g.below(16) == 0 {
                        // 12 x 256 bytes of values: more than a block holds.
                        batch(g, &[kind::INT64; 12], 32).slice(0, len.min(32))
                    } else {
                        random_batch(g, schemas, len)
                    };
                    let numbers = numbers.slice(0, batch.num_rows());
                    Rows::new(numbers, batch).unwrap()
                };
                match g.below(3) {
                    0 => Diff::Insert { post: side(g) },
                    1 => {
                        let pre = side(g);
                        let mut post = side(g);
                        if post.len() != pre.len() {
                            post = Rows::new(
                                pre.row_numbers().clone(),
                                post.batch().slice(0, pre.len().min(post.len())),
                            )
                            .unwrap_or_else(|_| pre.clone());
                        }
                        Diff::Update { pre, post }
                    }
                    _ => Diff::Remove { pre: side(g) },
                }
            })
            .collect();
        Change::new(version, Timestamp(version as i64), diffs)
    }

    /// Makes the last diff of `abi` (when it has more than one) name a slot never sent,
    /// when that side carries no schema. `None` when nothing was broken; otherwise what
    /// the error says.
    fn break_last(g: &mut Gen, abi: &AbiChange) -> Option<Vec<String>> {
        let last = abi.diff_count.checked_sub(1).filter(|&last| last > 0)?;
        // SAFETY: a diff of the change exported for this test, not read yet, and nothing
        // else refers to it.
        let diff = unsafe { &mut *abi.diffs.add(last) };
        let side = if diff.kind == crate::abi::DIFF_INSERT {
            &mut diff.post
        } else {
            &mut diff.pre
        };
        if g.below(2) == 0 && side.schema.is_null() {
            side.schema_id = 1000;
            return Some(vec![
                format!("diff {last} of the change"),
                "batch refers to schema id 1000, which was never sent".to_owned(),
            ]);
        }
        None
    }

    /// Puts a diff the importer refuses at a random place of `change`, after reading its
    /// small buffers (copied) or some of them: an update whose sides' row numbers differ,
    /// or a column declared without nulls that has some, after one that is copied. Returns
    /// what the error says.
    fn bad_diff(g: &mut Gen, change: &mut Change) -> Vec<String> {
        let at = g.below(change.diffs.len() + 1);
        let len = 1 + g.below(30);
        let numbers = UInt64Array::from_iter_values(0..len as u64);
        let (diff, why) = if g.below(2) == 0 {
            let pre = Rows::new(numbers, batch(g, &[kind::INT64, kind::BOOLEAN], len)).unwrap();
            let moved = UInt64Array::from_iter_values(1..=len as u64);
            let post = Rows::new(moved, batch(g, &[kind::INT32, kind::UTF8], len)).unwrap();
            let why = "an update's pre and post rows must carry the same row numbers";
            (Diff::Update { pre, post }, why.to_owned())
        } else {
            let values: ArrayRef =
                Arc::new(Int64Array::from_iter((0..len).map(|v| Some(v as i64))));
            let holes: ArrayRef = Arc::new(Int32Array::from_iter(
                (0..len).map(|v| (v % 2 == 1).then_some(7)),
            ));
            let schema = Schema::new(vec![
                Field::new("v", DataType::Int64, true),
                Field::new("holes", DataType::Int32, false),
            ]);
            // SAFETY: columns of the schema's types and the row count; only the nullability
            // is a lie, which the importer must refuse.
            let batch =
                unsafe { RecordBatch::new_unchecked(Arc::new(schema), vec![values, holes], len) };
            let post = Rows::new(numbers, batch).unwrap();
            (
                Diff::Insert { post },
                "column `holes` is declared without nulls but has".to_owned(),
            )
        };
        change.diffs.insert(at, diff);
        vec![format!("diff {at} of the change"), why]
    }

    /// One kept change, as it was sent and as it was printed when it arrived.
    struct Kept {
        back: Change,
        sent: Change,
        seen: u64,
    }

    impl Kept {
        fn check(&self) {
            assert_eq!(self.back, self.sent, "a kept change reads as sent");
            assert_eq!(
                printed(&self.back),
                self.seen,
                "no byte under it was written"
            );
        }
    }

    #[test]
    fn random_small_changes_kept_and_read_on_other_threads_read_the_same() {
        let (mut outbox, mut inbox, mut out) = (
            SchemaOutbox::default(),
            SchemaInbox::default(),
            Outgoing::default(),
        );
        let mut g = Gen(0x5eed_0001);
        let mut schemas = Vec::new();
        let mut kept: Vec<Kept> = Vec::new();
        let (mut failed, mut batches, mut handed) = (0, 0, 0);
        let mut blocks = std::collections::HashSet::new();
        let mut buffers = (0, 0);
        std::thread::scope(|scope| {
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let (tx, rx) = mpsc::channel::<Arc<Kept>>();
                    let reader = scope.spawn(move || {
                        let mut held: Vec<Arc<Kept>> = Vec::new();
                        let mut n = 0u64;
                        for one in rx {
                            one.check();
                            held.push(one);
                            // Read a few again, and drop some, while imports go on.
                            n += 1;
                            let at = (n as usize * 7) % held.len();
                            held[at].check();
                            if held.len() > 8 {
                                held.swap_remove(at).check();
                            }
                        }
                        held.iter().for_each(|one| one.check());
                    });
                    (tx, reader)
                })
                .collect();
            for version in 0..rounds(400) as u64 {
                if g.below(10) == 0 {
                    // A batch read on its own (a `pull`), through the same inbox.
                    let len = g.below(41);
                    let sent = random_batch(&mut g, &mut schemas, len);
                    let mut abi = out.export_batch(sent.clone(), &mut outbox).unwrap();
                    // SAFETY: exported just above.
                    let back = unsafe { import_batch(&mut abi, &mut inbox) }.unwrap();
                    outbox.commit();
                    assert_eq!(back, sent);
                    batches += 1;
                    if g.below(4) == 0 {
                        // Kept as an insert of the batch (so `Kept` checks it).
                        let numbers = UInt64Array::from_iter_values(0..sent.num_rows() as u64);
                        let insert = |batch| {
                            let post = Rows::new(numbers.clone(), batch).unwrap();
                            Change::new(0, Timestamp(0), vec![Diff::Insert { post }])
                        };
                        let (back, sent) = (insert(back), insert(sent));
                        let seen = printed(&back);
                        kept.push(Kept { back, sent, seen });
                    }
                    continue;
                }
                let mut sent = random_change(&mut g, &mut schemas, version);
                let mut broken = match g.below(16) {
                    0 => Some(bad_diff(&mut g, &mut sent)),
                    _ => None,
                };
                let abi = out.export_change(sent.clone(), &mut outbox).unwrap();
                if broken.is_none() && g.below(16) == 0 {
                    broken = break_last(&mut g, &abi);
                }
                // SAFETY: exported just above (one side's schema id may have been changed
                // to a slot that holds none, which the importer checks).
                let back = unsafe { import_change(&abi, &mut inbox) };
                outbox.commit();
                if let Some(why) = broken {
                    let error = back.unwrap_err().to_string();
                    assert!(why.iter().all(|w| error.contains(w)), "{error}: {why:?}");
                    failed += 1;
                    continue;
                }
                let back = back.unwrap();
                assert_eq!(back, sent, "version {version}");
                let (copies, shares) = copied(&back, &mut blocks);
                buffers.0 += copies;
                buffers.1 += shares;
                if !kept.is_empty() {
                    kept[g.below(kept.len())].check();
                }
                match g.below(12) {
                    0 | 1 => {
                        let seen = printed(&back);
                        kept.push(Kept { back, sent, seen });
                    }
                    2 => {
                        let seen = printed(&back);
                        let one = Arc::new(Kept { back, sent, seen });
                        readers[g.below(2)].0.send(one).unwrap();
                        handed += 1;
                    }
                    _ => drop(back),
                }
                if kept.len() > 40 {
                    kept.swap_remove(g.below(kept.len())).check();
                }
            }
            for (tx, reader) in readers {
                drop(tx);
                reader.join().unwrap();
            }
        });
        kept.iter().for_each(Kept::check);
        // Both kinds of buffer crossed, through many blocks, and every path was taken.
        assert!(
            buffers.0 > 0 && buffers.1 > 0 && blocks.len() > 1,
            "{buffers:?}"
        );
        assert!(
            failed > 0 && batches > 0 && handed > 0,
            "{failed} {batches} {handed}"
        );
    }

    /// Changes kept from the start, read whole (`Debug`) on two threads for as long as
    /// random changes cross through the same inbox; nothing crosses between the threads
    /// but the spawn and the join, so a race detector (helgrind) sees any byte written
    /// under a reader.
    #[test]
    fn kept_changes_read_on_other_threads_while_random_changes_cross() {
        let (mut outbox, mut inbox, mut out) = (
            SchemaOutbox::default(),
            SchemaInbox::default(),
            Outgoing::default(),
        );
        let mut g = Gen(0x5eed_0003);
        let mut schemas = Vec::new();
        let mut cross = |g: &mut Gen, version: u64| {
            let sent = random_change(g, &mut schemas, version);
            let abi = out.export_change(sent.clone(), &mut outbox).unwrap();
            // SAFETY: exported just above.
            let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
            outbox.commit();
            assert_eq!(back, sent, "version {version}");
            let seen = printed(&back);
            Kept { back, sent, seen }
        };
        let kept: Vec<Kept> = (0..16).map(|version| cross(&mut g, version)).collect();
        let rounds = rounds(400) as u64;
        std::thread::scope(|scope| {
            for share in kept.chunks(8) {
                scope.spawn(move || {
                    for _ in 0..rounds / 100 + 1 {
                        share.iter().for_each(Kept::check);
                    }
                });
            }
            let mut recent = Vec::new();
            for version in 16..rounds {
                recent.push(cross(&mut g, version));
                if recent.len() > g.below(4) {
                    recent.swap_remove(g.below(recent.len())).check();
                }
            }
        });
        kept.iter().for_each(Kept::check);
    }

    /// A plugin that passes its input on (a slice of its own block, or a batch shared
    /// with the host) and a host that imports what it returns, each through its own inbox,
    /// recognising its own batches or not, or reading the answer beside what it sent (an
    /// answered `Outgoing`, as a host's); the plugin keeps some of its inputs.
    #[test]
    fn passthrough_of_copied_buffers_both_ways_reads_the_same() {
        for (own, answered) in [(false, false), (true, false), (false, true)] {
            let inbox = || {
                if own {
                    SchemaInbox::recognizing_own()
                } else {
                    SchemaInbox::default()
                }
            };
            let (mut to_plugin, mut plugin_in, mut host_out) = (
                SchemaOutbox::default(),
                inbox(),
                if answered {
                    Outgoing::answered()
                } else {
                    Outgoing::default()
                },
            );
            // Columns of the answers that are the very arrays sent.
            let mut taken_back = 0;
            let (mut to_host, mut host_in, mut plugin_out) =
                (SchemaOutbox::default(), inbox(), Outgoing::default());
            let mut g = Gen(0x5eed_0002 + own as u64);
            let mut schemas = Vec::new();
            let mut plugin_kept: Vec<Kept> = Vec::new();
            let mut host_kept: Vec<Kept> = Vec::new();
            for version in 0..rounds(400) as u64 / 2 {
                let sent = random_change(&mut g, &mut schemas, version);
                let abi = host_out
                    .export_change(sent.clone(), &mut to_plugin)
                    .unwrap();
                // SAFETY: exported just above.
                let input = unsafe { import_change(&abi, &mut plugin_in) }.unwrap();
                to_plugin.commit();
                assert_eq!(input, sent);
                let abi = plugin_out
                    .export_change(input.clone(), &mut to_host)
                    .unwrap();
                if g.below(6) == 0 {
                    let seen = printed(&input);
                    plugin_kept.push(Kept {
                        back: input,
                        sent: sent.clone(),
                        seen,
                    });
                } else {
                    drop(input);
                }
                // SAFETY: exported just above; what the host sent is pinned, if answered.
                let output = unsafe { import_answer(&abi, &mut host_in, host_out.sent()) };
                let output = output.unwrap();
                host_out.clear();
                to_host.commit();
                assert_eq!(output, sent);
                for (diff, back) in sent.diffs.iter().zip(&output.diffs) {
                    let [pre, post] = crate::exchange::export::sides(diff);
                    let [pre_back, post_back] = crate::exchange::export::sides(back);
                    for (rows, came) in pre
                        .into_iter()
                        .chain(post)
                        .zip(pre_back.into_iter().chain(post_back))
                    {
                        taken_back += rows
                            .batch()
                            .columns()
                            .iter()
                            .zip(came.batch().columns())
                            .filter(|(a, b)| Arc::ptr_eq(a, b))
                            .count();
                    }
                }
                if g.below(6) == 0 {
                    let seen = printed(&output);
                    host_kept.push(Kept {
                        back: output,
                        sent,
                        seen,
                    });
                }
                for kept in [&mut plugin_kept, &mut host_kept] {
                    if !kept.is_empty() {
                        kept[g.below(kept.len())].check();
                    }
                    if kept.len() > 20 {
                        kept.swap_remove(g.below(kept.len())).check();
                    }
                }
            }
            plugin_kept.iter().chain(&host_kept).for_each(Kept::check);
            // An answered host takes columns back; a plain one never does, and one that
            // recognises its own does when its own arrays come back.
            assert!(
                taken_back > 0 || !(answered || own),
                "{taken_back} columns taken back"
            );
            assert!(taken_back == 0 || answered || own);
        }
    }
}

/// A schema whose dictionary fields (one a column, one a list's items) are ordered or not.
fn ordered_schema(column: bool, item: bool) -> SchemaRef {
    let words = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let item = Field::new_list_field(words.clone(), true).with_dict_is_ordered(item);
    Arc::new(Schema::new(vec![
        Field::new("d", words, true).with_dict_is_ordered(column),
        Field::new("l", DataType::List(Arc::new(item)), true),
    ]))
}

/// The `dict_is_ordered` flags of [`ordered_schema`]'s two dictionary fields in `schema`.
fn ordering(schema: &Schema) -> (Option<bool>, Option<bool>) {
    let DataType::List(item) = schema.field(1).data_type() else {
        panic!("{schema:?}")
    };
    (schema.field(0).dict_is_ordered(), item.dict_is_ordered())
}

fn ordered_batch(schema: SchemaRef) -> RecordBatch {
    let words: DictionaryArray<Int32Type> = vec!["b", "a", "b"].into_iter().collect();
    let items: DictionaryArray<Int32Type> = vec!["x", "y", "x", "z"].into_iter().collect();
    let DataType::List(item) = schema.field(1).data_type() else {
        unreachable!()
    };
    let list = ListArray::new(
        item.clone(),
        arrow_buffer::OffsetBuffer::from_lengths([1, 0, 3]),
        Arc::new(items),
        None,
    );
    RecordBatch::try_new(schema, vec![Arc::new(words), Arc::new(list)]).unwrap()
}

/// A dictionary field's `dict_is_ordered` flag (the C Data Interface's
/// `ARROW_FLAG_DICTIONARY_ORDERED`), on a column and nested, crosses every way; a schema that
/// differs from one sent before only in that flag (which arrow-rs's `Field` equality leaves
/// out) is a new schema, not the one sent before; and a batch of one's own come back under
/// such a schema is read with the flags the other side declared.
#[test]
fn a_dictionarys_ordered_flag_crosses_and_a_change_of_it_is_a_new_schema() {
    let flags = [(false, false), (true, false), (true, true), (false, true)];
    for (column, item) in flags {
        let batch = ordered_batch(ordered_schema(column, item));
        let want = (Some(column), Some(item));
        assert_eq!(
            ordering(&ours_to_arrow(&batch).schema()),
            want,
            "to arrow-rs"
        );
        assert_eq!(
            ordering(&arrow_to_ours(&batch).schema()),
            want,
            "from arrow-rs"
        );
    }

    // One stream, each schema differing from the one before only in the flags.
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    for (round, (column, item)) in flags.into_iter().chain(flags).enumerate() {
        let rows = Rows::new(vec![1, 2, 3], ordered_batch(ordered_schema(column, item))).unwrap();
        let change = Change::new(1, Timestamp(2), vec![Diff::Insert { post: rows }]);
        let abi = out.export_change(change, &mut outbox).unwrap();
        // SAFETY: exported just above.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        outbox.commit();
        let Some(Diff::Insert { post }) = back.diffs.first() else {
            panic!("one insert crossed")
        };
        assert_eq!(
            ordering(&post.batch().schema()),
            (Some(column), Some(item)),
            "round {round}"
        );
    }

    // A batch of one's own, answered under a schema that orders its dictionaries.
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let rows = Rows::new(vec![1, 2, 3], ordered_batch(ordered_schema(false, false))).unwrap();
    let change = Change::new(1, Timestamp(2), vec![Diff::Insert { post: rows }]);
    let abi = out.export_change(change, &mut outbox).unwrap();
    let ordered = FFI_ArrowSchema::try_from(ordered_schema(true, true).as_ref()).unwrap();
    // SAFETY: the change just laid out has one diff, whose schema travels with it.
    unsafe { (*abi.diffs).post.schema = &ordered };
    let mut inbox = SchemaInbox::recognizing_own();
    // SAFETY: exported above; only its schema was swapped for one of the same types.
    let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    let Some(Diff::Insert { post }) = back.diffs.first() else {
        panic!("one insert crossed")
    };
    assert_eq!(ordering(&post.batch().schema()), (Some(true), Some(true)));
}

/// What `data` (a column, or an array `nested` in one) and every array under it (children,
/// a dictionary's values) are, as the names [`EVERY_TYPE`] lists: each type with the
/// detail that changes its layout or what crosses (units, time zones, key and run-end
/// types, union modes and type ids, how view arrays place their values, sorted maps,
/// fields under a struct), whether it is nested, and whether it has nulls. The match names
/// every variant of arrow-rs's `DataType`, so that a type arrow-rs adds fails to compile
/// here until it is generated and listed.
fn census(data: &arrow_data::ArrayData, nested: bool, seen: &mut BTreeSet<String>) {
    use arrow_schema::{IntervalUnit, TimeUnit};
    let mut note = |name: &str| {
        seen.insert(name.to_owned());
    };
    let name: String = match data.data_type() {
        DataType::Null => "Null".into(),
        DataType::Boolean => "Boolean".into(),
        DataType::Int8 => "Int8".into(),
        DataType::Int16 => "Int16".into(),
        DataType::Int32 => "Int32".into(),
        DataType::Int64 => "Int64".into(),
        DataType::UInt8 => "UInt8".into(),
        DataType::UInt16 => "UInt16".into(),
        DataType::UInt32 => "UInt32".into(),
        DataType::UInt64 => "UInt64".into(),
        DataType::Float16 => "Float16".into(),
        DataType::Float32 => "Float32".into(),
        DataType::Float64 => "Float64".into(),
        DataType::Timestamp(unit, zone) => {
            note(match zone {
                Some(_) => "Timestamp with a time zone",
                None => "Timestamp without a time zone",
            });
            format!("Timestamp({unit:?})")
        }
        DataType::Date32 => "Date32".into(),
        DataType::Date64 => "Date64".into(),
        DataType::Time32(unit @ (TimeUnit::Second | TimeUnit::Millisecond))
        | DataType::Time64(unit @ (TimeUnit::Microsecond | TimeUnit::Nanosecond)) => {
            let bits = if matches!(data.data_type(), DataType::Time32(_)) {
                32
            } else {
                64
            };
            format!("Time{bits}({unit:?})")
        }
        DataType::Time32(_) | DataType::Time64(_) => panic!("{} is invalid", data.data_type()),
        DataType::Duration(unit) => format!("Duration({unit:?})"),
        DataType::Interval(
            unit @ (IntervalUnit::YearMonth | IntervalUnit::DayTime | IntervalUnit::MonthDayNano),
        ) => format!("Interval({unit:?})"),
        DataType::Binary => "Binary".into(),
        DataType::FixedSizeBinary(_) => "FixedSizeBinary".into(),
        DataType::LargeBinary => "LargeBinary".into(),
        DataType::Utf8 => "Utf8".into(),
        DataType::LargeUtf8 => "LargeUtf8".into(),
        DataType::BinaryView | DataType::Utf8View => {
            let name = format!("{}", data.data_type());
            let views = &data.buffer::<u128>(0)[data.offset()..data.offset() + data.len()];
            let lengths = (0..data.len())
                .filter(|&i| data.is_valid(i))
                .map(|i| views[i] as u32);
            for length in lengths {
                match length {
                    0 => {}
                    1..=12 => note(&format!("{name} with a value inline")),
                    _ => note(&format!("{name} with a value in a data buffer")),
                }
            }
            if data.buffers().len() > 2 {
                note(&format!("{name} with several data buffers"));
            }
            name
        }
        DataType::List(_) => "List".into(),
        DataType::ListView(_) => "ListView".into(),
        DataType::FixedSizeList(..) => "FixedSizeList".into(),
        DataType::LargeList(_) => "LargeList".into(),
        DataType::LargeListView(_) => "LargeListView".into(),
        DataType::Struct(fields) if fields.is_empty() => "Struct without fields".into(),
        DataType::Struct(_) => "Struct".into(),
        DataType::Union(fields, mode) => {
            let name = format!("Union({mode:?})");
            if fields
                .iter()
                .enumerate()
                .any(|(i, (id, _))| id as usize != i)
            {
                note(&format!("{name} with type ids not its children's indices"));
            }
            name
        }
        DataType::Dictionary(keys, values) => {
            if matches!(**values, DataType::Dictionary(..)) {
                note("Dictionary of dictionaries");
            }
            format!("Dictionary({keys})")
        }
        DataType::Decimal32(..) => "Decimal32".into(),
        DataType::Decimal64(..) => "Decimal64".into(),
        DataType::Decimal128(..) => "Decimal128".into(),
        DataType::Decimal256(..) => "Decimal256".into(),
        DataType::Map(_, sorted) => {
            if *sorted {
                note("Map with sorted keys");
            }
            "Map".into()
        }
        DataType::RunEndEncoded(ends, _) => format!("RunEndEncoded({})", ends.data_type()),
    };
    note(&name);
    // The type without its details (`Dictionary(Int8)` as `Dictionary`), but a union's mode.
    let family = match data.data_type() {
        DataType::Union(_, mode) => format!("Union({mode:?})"),
        _ => name.split(['(', ' ']).next().unwrap_or_default().to_owned(),
    };
    if data.null_count() > 0 {
        note(if nested {
            "nulls nested"
        } else {
            "nulls in a column"
        });
    }
    if nested {
        note(&format!("{family} nested"));
    }
    for child in data.child_data() {
        census(child, true, seen);
    }
}

/// Every type arrow-rs has, as [`census`] names them, with the details and placements the
/// property tests promise to cross.
const EVERY_TYPE: &[&str] = &[
    "Null",
    "Boolean",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "Float16",
    "Float32",
    "Float64",
    "Decimal32",
    "Decimal64",
    "Decimal128",
    "Decimal256",
    "Date32",
    "Date64",
    "Time32(Second)",
    "Time32(Millisecond)",
    "Time64(Microsecond)",
    "Time64(Nanosecond)",
    "Timestamp(Second)",
    "Timestamp(Millisecond)",
    "Timestamp(Microsecond)",
    "Timestamp(Nanosecond)",
    "Timestamp with a time zone",
    "Timestamp without a time zone",
    "Duration(Second)",
    "Duration(Millisecond)",
    "Duration(Microsecond)",
    "Duration(Nanosecond)",
    "Interval(YearMonth)",
    "Interval(DayTime)",
    "Interval(MonthDayNano)",
    "Binary",
    "LargeBinary",
    "FixedSizeBinary",
    "Utf8",
    "LargeUtf8",
    "BinaryView",
    "BinaryView with a value inline",
    "BinaryView with a value in a data buffer",
    "BinaryView with several data buffers",
    "Utf8View",
    "Utf8View with a value inline",
    "Utf8View with a value in a data buffer",
    "Utf8View with several data buffers",
    "List",
    "LargeList",
    "FixedSizeList",
    "ListView",
    "LargeListView",
    "Struct",
    "Struct without fields",
    "Map",
    "Map with sorted keys",
    "Dictionary(Int8)",
    "Dictionary(Int16)",
    "Dictionary(Int32)",
    "Dictionary(Int64)",
    "Dictionary(UInt8)",
    "Dictionary(UInt16)",
    "Dictionary(UInt32)",
    "Dictionary(UInt64)",
    "Dictionary of dictionaries",
    "RunEndEncoded(Int16)",
    "RunEndEncoded(Int32)",
    "RunEndEncoded(Int64)",
    "Union(Sparse)",
    "Union(Dense)",
    "Union(Sparse) with type ids not its children's indices",
    "Union(Dense) with type ids not its children's indices",
    // Each nested type (and the view types) nested in another, and nulls at every level.
    "List nested",
    "LargeList nested",
    "FixedSizeList nested",
    "ListView nested",
    "LargeListView nested",
    "Struct nested",
    "Map nested",
    "Dictionary nested",
    "RunEndEncoded nested",
    "Union(Sparse) nested",
    "Union(Dense) nested",
    "Utf8View nested",
    "BinaryView nested",
    "nulls in a column",
    "nulls nested",
];

/// Every type arrow-rs has (`EVERY_TYPE`, which `census` keeps in step with arrow-rs's
/// `DataType`), with its details, nested and with nulls, is among the generated
/// batches this test crosses every way: a few seeds of each kind the generator makes, more
/// of the nested kinds, so that the property tests' generator is known to make them all
/// (the property tests draw from it at random).
#[test]
fn the_batches_crossed_hold_every_type_arrow_rs_has() {
    let mut seen = BTreeSet::new();
    for kind in 0..KINDS {
        let seeds = if FLAT.contains(&kind) { 1..17 } else { 1..65 };
        for seed in seeds {
            let start = seed as usize % 3;
            let (sliced, numbers) = sliced_batch(seed, &[kind], 7, start, 7);
            check_all_ways(&sliced, &numbers);
            for column in sliced.columns() {
                census(&column.to_data(), false, &mut seen);
            }
        }
    }
    let missing: Vec<&str> = EVERY_TYPE
        .iter()
        .copied()
        .filter(|name| !seen.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "never crossed: {missing:#?}\nseen: {seen:#?}"
    );
}
