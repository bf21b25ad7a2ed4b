//! The typed borrowed view: what it reads, what it forwards, and its errors.

use std::sync::Arc;

use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{
    Array, BooleanArray, Float64Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};

use super::tests::{hang_dictionary, raw};
use super::view::{ChangeOut, ChangeView, DiffView, Origin};
use super::*;
use crate::abi::AbiChange;
use crate::data::{Change, Diff, Rows, Timestamp};

/// A batch of every type the view reads, with nulls.
fn mixed(first: u64) -> Rows {
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3), Some(4)])) as _,
        ),
        (
            "price",
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                Some(1.5),
                None,
                Some(-2.0),
            ])) as _,
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![
                Some("ä"),
                Some(""),
                None,
                Some("long"),
            ])) as _,
        ),
        (
            "note",
            Arc::new(LargeStringArray::from(vec![
                None,
                Some("x"),
                Some("yz"),
                None,
            ])) as _,
        ),
        (
            "ok",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
            ])) as _,
        ),
        (
            "at",
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(10), Some(20), Some(30), None])
                    .with_timezone("+01:00"),
            ) as _,
        ),
    ])
    .unwrap();
    Rows::new((first..first + 4).collect::<Vec<_>>(), batch).unwrap()
}

fn insert(rows: Rows) -> Change {
    Change::new(3, Timestamp(9), vec![Diff::Insert { post: rows }])
}

fn post_of(view: &ChangeView) -> super::view::RowsView<'_> {
    match view.diff(0).unwrap() {
        DiffView::Insert { post } => post,
        other => panic!("expected an insert, got {other:?}"),
    }
}

#[test]
fn every_typed_column_reads_in_place_as_arrow_rs_reads_it() {
    let rows = mixed(100);
    let view = ChangeView::from_change(insert(rows.clone())).unwrap();
    assert_eq!(
        (view.version(), view.changed_at(), view.len()),
        (3, Timestamp(9), 1)
    );
    let post = post_of(&view);
    assert_eq!((post.num_rows(), post.num_columns()), (4, 6));
    assert_eq!(post.row_numbers().unwrap(), &[100, 101, 102, 103]);

    let ids = post.column_by_name("id").unwrap().i64s().unwrap();
    assert_eq!(
        ids.iter().collect::<Vec<_>>(),
        [Some(1), None, Some(3), Some(4)]
    );
    // The slice borrows the very buffer that crossed.
    let original = rows.batch().column(0).to_data().buffers()[0].as_ptr();
    assert_eq!(ids.values().as_ptr().cast::<u8>(), original);

    let prices = post.column(1).unwrap().f64s().unwrap();
    assert_eq!(
        prices.iter().collect::<Vec<_>>(),
        [Some(0.5), Some(1.5), None, Some(-2.0)]
    );
    let names = post.column_by_name("name").unwrap().strings().unwrap();
    assert_eq!(
        names.iter().collect::<Vec<_>>(),
        [Some("ä"), Some(""), None, Some("long")]
    );
    let notes = post.column_by_name("note").unwrap().strings().unwrap();
    assert_eq!(
        notes.iter().collect::<Vec<_>>(),
        [None, Some("x"), Some("yz"), None]
    );
    // Checked whole, once, they read the same.
    for column in [&names, &notes] {
        let checked = column.checked().unwrap();
        assert_eq!(
            checked.iter().collect::<Vec<_>>(),
            column.iter().collect::<Vec<_>>()
        );
        assert_eq!(checked.len(), 4);
    }
    assert_eq!(names.checked().unwrap().value(0), "ä");
    let ok = post.column_by_name("ok").unwrap().booleans().unwrap();
    assert_eq!(
        ok.iter().collect::<Vec<_>>(),
        [Some(true), Some(false), None, Some(true)]
    );
    let at = post.column_by_name("at").unwrap();
    let at = at.primitive::<TimestampMillisecondType>().unwrap();
    assert_eq!(
        at.iter().collect::<Vec<_>>(),
        [Some(10), Some(20), Some(30), None]
    );
    assert_eq!(at.validity().unwrap().count_nulls(), 1);
    // A bitmap as arrow-rs bits, to combine word by word: `id` is null at 1, `at` at 3.
    let both = &ids.validity().unwrap().to_bits() & &at.validity().unwrap().to_bits();
    assert_eq!(both.iter().collect::<Vec<_>>(), [true, false, true, false]);
    // The values bitmap counts false bits: the false value and the null's slot.
    assert_eq!(ok.values().count_nulls(), 2);
}

#[test]
fn a_sliced_batch_reads_from_its_offset() {
    let rows = mixed(0);
    let (numbers, batch) = rows.into_parts();
    let sliced = Rows::new(numbers.slice(1, 3), batch.slice(1, 3)).unwrap();
    let view = ChangeView::from_change(insert(sliced)).unwrap();
    let post = post_of(&view);
    assert_eq!(post.row_numbers().unwrap(), &[1, 2, 3]);
    let ids = post.column(0).unwrap().i64s().unwrap();
    assert_eq!(ids.iter().collect::<Vec<_>>(), [None, Some(3), Some(4)]);
    let validity = ids.validity().unwrap();
    assert_eq!(validity.count_nulls(), 1);
    assert_eq!(
        validity.to_bits().iter().collect::<Vec<_>>(),
        [false, true, true]
    );
    let names = post.column(2).unwrap().strings().unwrap();
    assert_eq!(
        names.iter().collect::<Vec<_>>(),
        [Some(""), None, Some("long")]
    );
    let ok = post.column(4).unwrap().booleans().unwrap();
    assert_eq!(
        ok.iter().collect::<Vec<_>>(),
        [Some(false), None, Some(true)]
    );
}

#[test]
fn every_diff_kind_and_no_diff_read_and_come_back_whole() {
    let change = Change::new(
        5,
        Timestamp(1),
        vec![
            Diff::Insert { post: mixed(0) },
            // An update's sides carry the same row numbers.
            Diff::Update {
                pre: mixed(10),
                post: mixed(10),
            },
            Diff::Remove { pre: mixed(30) },
        ],
    );
    let view = ChangeView::from_change(change.clone()).unwrap();
    assert_eq!(view.diffs().len(), 3);
    let firsts: Vec<u64> = view.rows().map(|r| r.row_numbers().unwrap()[0]).collect();
    assert_eq!(firsts, [0, 10, 10, 30]);
    assert_eq!(view.into_change().unwrap(), change);

    let empty = ChangeView::from_change(Change::new(1, Timestamp(2), vec![])).unwrap();
    assert!(empty.is_empty());
    assert_eq!(
        ChangeOut::from(empty).into_change().unwrap(),
        Change::new(1, Timestamp(2), vec![])
    );
}

/// What a view operator's output looks like to the host: exported by the thunk's path,
/// imported as the host does.
fn across(out: ChangeOut) -> Change {
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let (abi, _spare) = outgoing.export_out(out, &mut outbox, None).unwrap();
    // SAFETY: laid out just above, alive in `outgoing`.
    unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap()
}

/// A change of an update and a remove, version 2 at time 3.
fn update_and_remove() -> Change {
    Change::new(
        2,
        Timestamp(3),
        vec![
            Diff::Update {
                pre: mixed(0),
                post: mixed(0),
            },
            Diff::Remove { pre: mixed(8) },
        ],
    )
}

#[test]
fn a_forwarded_view_goes_back_with_the_same_buffers() {
    let change = update_and_remove();
    let original = match &change.diffs[1] {
        Diff::Remove { pre } => pre.batch().column(2).to_data().buffers()[1].as_ptr(),
        _ => unreachable!(),
    };
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let out = ChangeView::from_change(change.clone()).unwrap().forward();
    let (abi, _spare) = outgoing.export_out(out, &mut outbox, None).unwrap();
    // SAFETY: the remove's rows were laid out just above, with a third column whose values
    // are its third buffer; the block lives in `outgoing`.
    let laid_out = unsafe {
        let columns: *const super::raw::RawArray =
            (&raw const (*abi.diffs.add(1)).pre.columns).cast();
        (**(*columns).children.add(2)).buffer(2)
    };
    assert_eq!(laid_out.cast(), original, "forwarding copies nothing");
    // SAFETY: laid out above, alive in `outgoing`.
    let back = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap();
    assert_eq!(back, change);
}

#[test]
fn a_view_whose_rows_were_kept_is_still_forwarded_whole() {
    let change = insert(mixed(0));
    let view = ChangeView::from_change(change.clone()).unwrap();
    // The operator keeps the rows in its state, then forwards the change.
    let kept = post_of(&view).to_rows().unwrap();
    let back = across(view.forward());
    assert_eq!(back, change);
    assert_eq!(kept, mixed(0));
}

#[test]
fn a_built_change_goes_out_as_any_change() {
    let built = insert(mixed(7));
    assert_eq!(across(ChangeOut::from(built.clone())), built);
}

#[test]
fn empty_like_keeps_the_version_and_time_and_drops_every_diff() {
    let change = Change::new(9, Timestamp(42), update_and_remove().diffs);
    let view = ChangeView::from_change(change).unwrap();
    assert_eq!(
        across(view.empty_like()),
        Change::new(9, Timestamp(42), Vec::new())
    );
}

#[test]
fn a_missing_or_mistyped_column_is_an_error_naming_it() {
    let view = ChangeView::from_change(insert(mixed(0))).unwrap();
    let post = post_of(&view);
    fn message<T>(r: crate::Result<T>) -> String {
        r.map(|_| ()).unwrap_err().to_string()
    }
    assert_eq!(
        message(post.column_by_name("nope")),
        "no column `nope`: the columns are `id`, `price`, `name`, `note`, `ok`, `at`"
    );
    assert_eq!(
        message(post.column(6)),
        "no column 6: the rows have 6 columns"
    );
    let one = ChangeView::from_change(insert(string_views(vec![0], b""))).unwrap();
    assert_eq!(
        message(post_of(&one).column(1)),
        "no column 1: the rows have 1 column"
    );
    assert_eq!(
        message(post.column(2).and_then(|c| c.i64s())),
        "column `name`: it is Utf8, not Int64"
    );
    assert_eq!(
        message(post.column(0).and_then(|c| c.strings())),
        "column `id`: it is Int64, not Utf8, LargeUtf8 or Utf8View"
    );
    assert_eq!(
        message(post.column(0).and_then(|c| c.booleans())),
        "column `id`: it is Int64, not Boolean"
    );
    assert_eq!(
        message(post.column(0).and_then(|c| c.primitive::<Float64Type>())),
        "column `id`: it is Int64, not Float64"
    );
    // A decimal read as another: the type asked for is named without the precision and
    // scale that any column of it may have.
    let decimals = arrow_array::Decimal128Array::from(vec![1_i128])
        .with_precision_and_scale(10, 2)
        .unwrap();
    let batch = RecordBatch::try_from_iter([("price", Arc::new(decimals) as _)]).unwrap();
    let view = ChangeView::from_change(insert(Rows::new(vec![0u64], batch).unwrap())).unwrap();
    let price = post_of(&view).column(0).unwrap();
    assert_eq!(
        message(price.primitive::<arrow_array::types::Decimal256Type>()),
        "column `price`: it is Decimal128(10, 2), not Decimal256"
    );
    assert_eq!(
        message(price.primitive::<arrow_array::types::Decimal64Type>()),
        "column `price`: it is Decimal128(10, 2), not Decimal64"
    );
    assert!(
        price
            .primitive::<arrow_array::types::Decimal128Type>()
            .is_ok()
    );
    // A dictionary: how to read it.
    let tags: arrow_array::DictionaryArray<arrow_array::types::Int32Type> =
        vec!["a", "b", "a"].into_iter().collect();
    let batch = RecordBatch::try_from_iter([("tag", Arc::new(tags) as _)]).unwrap();
    let view =
        ChangeView::from_change(insert(Rows::new(vec![0u64, 1, 2], batch).unwrap())).unwrap();
    assert_eq!(
        message(post_of(&view).column(0).and_then(|c| c.strings())),
        "column `tag`: it is Dictionary(Int32, Utf8), not Utf8, LargeUtf8 or Utf8View (read it with `dictionary::<Int32Type>()`, and its values as their type)"
    );
    // A type the view reads none of: how to read it.
    let lists =
        arrow_array::ListArray::from_iter_primitive::<Int64Type, _, _>([Some(vec![Some(1)])]);
    let batch = RecordBatch::try_from_iter([("list", Arc::new(lists) as _)]).unwrap();
    let view = ChangeView::from_change(insert(Rows::new(vec![0u64], batch).unwrap())).unwrap();
    assert_eq!(
        message(post_of(&view).column(0).and_then(|c| c.i64s())),
        "column `list`: it is List(Int64), not Int64 (the view reads primitive, Boolean, Utf8 and Binary columns in place, plain, large and view, and dictionaries of them; read this one from the side's `to_rows()`)"
    );
    // A column of no columns names none.
    let empty = RecordBatch::try_new_with_options(
        Arc::new(arrow_schema::Schema::empty()),
        vec![],
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .unwrap();
    let view = ChangeView::from_change(insert(Rows::new(vec![0], empty).unwrap())).unwrap();
    assert_eq!(
        message(post_of(&view).column_by_name("x")),
        "no column `x`: the columns are none"
    );
}

/// One column `text` of these values, rows numbered from 0.
fn text_rows(array: arrow_array::ArrayRef) -> Rows {
    let len = array.len() as u64;
    let batch = RecordBatch::try_from_iter([("text", array)]).unwrap();
    Rows::new((0..len).collect::<Vec<_>>(), batch).unwrap()
}

/// A string column whose offsets and bytes are whatever the test says, as a C producer
/// could send them.
fn strings(offsets: Vec<i32>, bytes: &[u8]) -> Rows {
    // SAFETY: deliberately unchecked, to produce malformed strings; the view must not trust
    // them (the buffers themselves are valid memory of the lengths the offsets' ends give).
    let array = unsafe {
        StringArray::new_unchecked(
            OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
            Buffer::from(bytes.to_vec()),
            None,
        )
    };
    text_rows(Arc::new(array))
}

#[test]
fn malformed_strings_are_errors_when_read_and_the_rest_still_reads() {
    // String 0 ends past where the data ends (the last offset), string 1 is not UTF-8.
    let view = ChangeView::from_change(insert(strings(vec![0, 7, 2, 3, 6], b"ab\xffcd!"))).unwrap();
    let texts = post_of(&view).column(0).unwrap().strings().unwrap();
    assert_eq!(
        texts.try_get(0).unwrap_err().to_string(),
        "column `text`: the offsets of string 0 do not lie within its 6 bytes of data"
    );
    assert_eq!(
        texts.try_get(1).unwrap_err().to_string(),
        "column `text`: the offsets of string 1 do not lie within its 6 bytes of data"
    );
    assert_eq!(
        texts.try_get(2).unwrap_err().to_string(),
        "column `text`: string 2 is not UTF-8: invalid utf-8 sequence of 1 bytes from index 0"
    );
    assert_eq!(texts.try_get(3).unwrap(), Some("cd!"));
    let panic = std::panic::catch_unwind(|| texts.get(2)).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "column `text`: string 2 is not UTF-8: invalid utf-8 sequence of 1 bytes from index 0"
    );

    // Checked whole, the first malformed string is the error.
    assert_eq!(
        texts.checked().unwrap_err().to_string(),
        "column `text`: string 0 has its offsets out of order (or negative)"
    );
    let view = ChangeView::from_change(insert(strings(vec![0, 2, 3, 6], b"ab\xffcd!"))).unwrap();
    let texts = post_of(&view).column(0).unwrap().strings().unwrap();
    assert_eq!(
        texts.checked().unwrap_err().to_string(),
        "column `text`: string 1 is not UTF-8"
    );
    // Valid UTF-8 whole, but string 1 starts inside `é`.
    let view = ChangeView::from_change(insert(strings(vec![0, 1, 2], "é".as_bytes()))).unwrap();
    let texts = post_of(&view).column(0).unwrap().strings().unwrap();
    assert_eq!(
        texts.checked().unwrap_err().to_string(),
        "column `text`: string 1 starts inside a character"
    );
    // A sliced column is checked from its first string.
    let sliced = {
        let rows = strings(vec![0, 1, 3, 6], b"abcdef");
        let (numbers, batch) = rows.into_parts();
        Rows::new(numbers.slice(1, 2), batch.slice(1, 2)).unwrap()
    };
    let view = ChangeView::from_change(insert(sliced)).unwrap();
    let texts = post_of(&view).column(0).unwrap().strings().unwrap();
    assert_eq!(
        texts.checked().unwrap().iter().collect::<Vec<_>>(),
        [Some("bc"), Some("def")]
    );

    let view = ChangeView::from_change(insert(strings(vec![4, 2], b"abcd"))).unwrap();
    let column = post_of(&view).column(0).unwrap();
    assert_eq!(
        column.strings().unwrap_err().to_string(),
        "column `text`: its offsets fall from 4 to 2"
    );
}

/// The first column of the first diff's `post`, as the C struct, to spoil.
fn first_column(abi: &mut AbiChange) -> &mut super::raw::RawArray {
    // SAFETY: tests spoil changes they exported, with a first diff and a first column,
    // whose struct lives in the exporter's block.
    unsafe {
        let post = &mut (*abi.diffs).post;
        let columns: *mut super::raw::RawArray = (&raw mut post.columns).cast();
        &mut **(*columns).children
    }
}

#[test]
fn a_misaligned_or_short_column_is_an_error_and_to_rows_still_reads_it() {
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    // Four values, of which the batch holds three: the buffer has a spare value's room.
    let values = Int64Array::from(vec![1, 2, 3, 4]).slice(0, 3);
    let batch = RecordBatch::try_from_iter([("x", Arc::new(values) as _)]).unwrap();
    let mut abi = out
        .export_change(
            insert(Rows::new(vec![0, 1, 2], batch).unwrap()),
            &mut outbox,
        )
        .unwrap();
    // Move the values one byte on: still within the buffer (it has room for a fourth
    // value), but no longer aligned for `i64`.
    let column = first_column(&mut abi);
    // SAFETY: the column's buffer list has two entries, in the exporter's block.
    unsafe {
        let values = column.buffers.add(1);
        *values = (*values).cast::<u8>().add(1).cast();
    }
    // SAFETY: exported above; the spoiled pointer stays within the buffer's allocation.
    let view = unsafe { ChangeView::import(&abi, &mut SchemaInbox::default(), None) }.unwrap();
    let post = post_of(&view);
    assert_eq!(
        post.column(0).unwrap().i64s().unwrap_err().to_string(),
        "column `x`: its values buffer is not aligned to 8 bytes, so it cannot be borrowed as a slice (read it with `to_rows`, which copies it)"
    );
    let copied = post.to_rows().unwrap();
    assert_eq!(copied.len(), 3);
    drop(view);

    let mut abi = out.export_change(insert(mixed(0)), &mut outbox).unwrap();
    first_column(&mut abi).length = 2;
    // SAFETY: exported above; a shorter length reads less.
    let view = unsafe { ChangeView::import(&abi, &mut SchemaInbox::default(), None) }.unwrap();
    assert_eq!(
        post_of(&view).column(0).unwrap_err().to_string(),
        "column `id`: it has 2 rows where its parent needs 4"
    );
}

#[test]
fn a_malformed_batch_is_an_error_when_the_view_is_made() {
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let abi = out.export_change(insert(mixed(0)), &mut outbox).unwrap();
    // SAFETY: the first diff exists; its row numbers are an exported array.
    unsafe {
        let numbers: *mut super::raw::RawArray = (&raw mut (*abi.diffs).post.row_numbers).cast();
        (*numbers).length = 3;
    }
    // SAFETY: exported above; a shorter length reads less.
    let err = unsafe { ChangeView::import(&abi, &mut SchemaInbox::default(), None) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "diff 0 of the change: its post rows: 3 row numbers for a batch of 4 rows"
    );
}

#[test]
fn a_primitive_view_reads_any_primitive_type() {
    let view = ChangeView::from_change(insert(mixed(0))).unwrap();
    let ids = post_of(&view).column(0).unwrap();
    let typed = ids.primitive::<Int64Type>().unwrap();
    assert_eq!(
        (typed.len(), typed.get(0), typed.get(1)),
        (4, Some(1), None)
    );
    assert_eq!(typed.values()[2], 3);
    assert_eq!((ids.name(), ids.len(), ids.is_empty()), ("id", 4, false));
}

/// A validity bitmap whose first slot is null.
static FIRST_NULL: [u8; 8] = [0b1111_1110, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/// Exports `mixed(0)` as one insert, lets `spoil` change the column `column` of what
/// crossed (and the `post` side), views it and reads that column with `read`: the error.
/// Every spoiling keeps the arrays releasable.
fn view_spoiled(
    column: usize,
    spoil: impl FnOnce(&mut super::raw::RawArray, &mut crate::abi::AbiRows),
    read: impl FnOnce(super::view::ColumnView<'_>) -> crate::Result<()>,
) -> String {
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let abi = out.export_change(insert(mixed(0)), &mut outbox).unwrap();
    // SAFETY: the change has a first diff whose `post` has six columns, in the block.
    let (target, post) = unsafe {
        let post = &mut (*abi.diffs).post;
        let columns: *mut super::raw::RawArray = (&raw mut post.columns).cast();
        (&mut **(*columns).children.add(column), post)
    };
    spoil(target, post);
    // SAFETY: exported above; the spoiled fields are read only as the view checks them.
    match unsafe { ChangeView::import(&abi, &mut SchemaInbox::default(), None) } {
        Err(error) => error.to_string(),
        Ok(view) => post_of(&view)
            .column(column)
            .and_then(read)
            .unwrap_err()
            .to_string(),
    }
}

#[test]
fn every_malformed_column_or_side_is_an_error_naming_what_is_wrong() {
    let take = |slot: &mut arrow_array::ffi::FFI_ArrowArray| {
        // SAFETY: an exported array, moved out whole and released by the drop.
        drop(super::raw::Taken(unsafe {
            super::raw::RawArray::take((slot as *mut arrow_array::ffi::FFI_ArrowArray).cast())
        }));
    };
    // The closures below write fields of arrays and buffer lists that live in the
    // exporter's block; the release of a block array reads neither the buffers nor the
    // null count.
    let cases: Vec<(String, String)> = vec![
        (
            view_spoiled(0, |_, post| take(&mut post.row_numbers), |_| Ok(())),
            "diff 0 of the change: its post rows: no row numbers (their array's release is null: released already, or never filled in)".into(),
        ),
        (
            view_spoiled(0, |_, post| take(&mut post.columns), |_| Ok(())),
            "diff 0 of the change: its post rows: a batch has no columns array (its release is null: released already, or never filled in)".into(),
        ),
        (
            view_spoiled(
                0,
                // SAFETY: the row numbers' buffer list (two entries) is in the block.
                |_, post| unsafe {
                    let numbers: *mut super::raw::RawArray = (&raw mut post.row_numbers).cast();
                    (*numbers).null_count = 1;
                    *(*numbers).buffers = FIRST_NULL.as_ptr().cast();
                },
                |_| Ok(()),
            ),
            "diff 0 of the change: its post rows: row numbers must not be null".into(),
        ),
        (
            view_spoiled(
                0,
                // A null count with no bitmap to back it.
                |_, post| raw(&mut post.row_numbers).null_count = 1,
                |_| Ok(()),
            ),
            "diff 0 of the change: its post rows: its row numbers: it has 1 null but no validity bitmap".into(),
        ),
        (
            view_spoiled(0, |_, post| raw(&mut post.columns).null_count = 1, |_| Ok(())),
            "diff 0 of the change: its post rows: a batch's struct array: it has 1 null but no validity bitmap"
                .into(),
        ),
        (
            view_spoiled(
                0,
                |_, post| hang_dictionary(raw(&mut post.columns)),
                |_| Ok(()),
            ),
            "diff 0 of the change: its post rows: a batch's struct array has a dictionary".into(),
        ),
        (
            view_spoiled(
                0,
                |c, _| hang_dictionary(c),
                |c| c.i64s().map(drop),
            ),
            "column `id`: an array of type Int64 has a dictionary".into(),
        ),
        (
            view_spoiled(
                0,
                |_, post| hang_dictionary(raw(&mut post.row_numbers)),
                |_| Ok(()),
            ),
            "diff 0 of the change: its post rows: its row numbers: an array of type UInt64 has a dictionary"
                .into(),
        ),
        (
            view_spoiled(
                0,
                // SAFETY: the column's buffer list is in the block.
                |c, _| unsafe {
                    // No nulls, so that only the values are looked at; an offset no buffer
                    // can reach.
                    c.null_count = 0;
                    *c.buffers = std::ptr::null();
                    c.offset = 1 << 61;
                },
                |c| c.i64s().map(drop),
            ),
            "column `id`: 2305843009213693952 + 4 values of 8 bytes are more than memory can hold"
                .into(),
        ),
        (
            view_spoiled(0, |c, _| c.offset = -1, |_| Ok(())),
            "column `id`: its offset -1 is negative".into(),
        ),
        (
            view_spoiled(
                0,
                // SAFETY: the column's buffer list is in the block.
                |c, _| unsafe { *c.buffers.add(1) = std::ptr::null() },
                |c| c.i64s().map(drop),
            ),
            "column `id`: its values buffer is null but must hold 4 values".into(),
        ),
        (
            view_spoiled(
                0,
                // SAFETY: the column's buffer list is in the block.
                |c, _| unsafe { *c.buffers = std::ptr::null() },
                |c| c.i64s().map(drop),
            ),
            "column `id`: it has 1 null but no validity bitmap".into(),
        ),
        (
            view_spoiled(
                2,
                // SAFETY: the column's buffer list is in the block.
                |c, _| unsafe { *c.buffers.add(2) = std::ptr::null() },
                |c| c.strings().map(drop),
            ),
            "column `name`: its data buffer is null but must hold 6 bytes".into(),
        ),
        (
            view_spoiled(
                4,
                // SAFETY: the column's buffer list is in the block.
                |c, _| unsafe { *c.buffers.add(1) = std::ptr::null() },
                |c| c.booleans().map(drop),
            ),
            "column `ok`: its values buffer is null".into(),
        ),
        (
            view_spoiled(0, |c, _| c.n_buffers = 3, |c| c.i64s().map(drop)),
            "column `id`: it has 3 buffers where its type has 2".into(),
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn negative_string_offsets_are_an_error() {
    let view = ChangeView::from_change(insert(strings(vec![-1, 2], b"ab"))).unwrap();
    assert_eq!(
        post_of(&view)
            .column(0)
            .unwrap()
            .strings()
            .unwrap_err()
            .to_string(),
        "column `text`: its offsets are negative"
    );
}

/// `change` laid out by the host, and a plugin's view of it read as call `call`, with the
/// origin that call's thunk gives `export_out`.
struct Crossing {
    sent: Outgoing,
    input: AbiChange,
    inbox: SchemaInbox,
    returned: Outgoing,
    plugin_outbox: SchemaOutbox,
}

impl Crossing {
    fn new(change: &Change) -> Crossing {
        let (mut sent, mut host_outbox) = (Outgoing::default(), SchemaOutbox::default());
        let input = sent
            .export_change(change.clone(), &mut host_outbox)
            .unwrap();
        Crossing {
            sent,
            input,
            inbox: SchemaInbox::recognizing_own(),
            returned: Outgoing::default(),
            plugin_outbox: SchemaOutbox::default(),
        }
    }

    /// The input as call `call` of the plugin reads it.
    fn read(&mut self, spare: super::view::Spare, call: u64) -> ChangeView {
        // SAFETY: laid out by `new`, alive in `sent`, its arrays back in place if a view
        // took them before.
        unsafe { ChangeView::import_call(&self.input, &mut self.inbox, spare, call) }.unwrap()
    }

    /// What the plugin sends back when call `call` returns `view` forwarded.
    fn forward(&mut self, view: ChangeView, call: u64) -> (AbiChange, super::view::Spare) {
        let origin = Origin {
            diffs: self.input.diffs as usize,
            count: self.input.diff_count,
            call,
        };
        self.returned
            .export_out(view.forward(), &mut self.plugin_outbox, Some(origin))
            .unwrap()
    }
}

#[test]
fn a_view_forwarded_by_the_call_that_read_it_goes_back_in_place_and_home_whole() {
    let change = update_and_remove();
    let mut crossing = Crossing::new(&change);
    let view = crossing.read(None, 7);
    let (out, spare) = crossing.forward(view, 7);
    assert_eq!(
        out.diffs, crossing.input.diffs,
        "the output is the input's diff array"
    );
    assert_eq!((out.version, out.diff_count), (2, 2));
    // The owners it emptied (and its box) serve the next view.
    assert!(spare.is_some(), "a forwarded view's box");
    let again = crossing.read(spare, 8);
    assert!(
        crossing.inbox.spare_owners.is_empty(),
        "all three owners were reused"
    );
    let (out, _) = crossing.forward(again, 8);
    assert_eq!(out.diffs, crossing.input.diffs);
    // The host takes its change back whole.
    let back = crossing.sent.take_back().expect("every array in its place");
    assert_eq!(Change::new(2, Timestamp(3), back), change);
}

#[test]
fn a_view_kept_from_an_earlier_call_is_laid_out_anew_when_forwarded() {
    let change = insert(mixed(0));
    let mut crossing = Crossing::new(&change);
    let view = crossing.read(None, 1);
    // Forwarded by call 2, whose input (by chance) has the same address.
    let (out, _) = crossing.forward(view, 2);
    assert_ne!(
        out.diffs, crossing.input.diffs,
        "laid out in the plugin's own diff array"
    );
    assert!(
        crossing.sent.take_back().is_none(),
        "the arrays moved to the plugin's output"
    );
    // SAFETY: laid out just above, alive in `returned`.
    let back = unsafe { import_change(&out, &mut SchemaInbox::recognizing_own()) }.unwrap();
    assert_eq!(back, change);
}

/// A batch whose columns arrow-rs lays out and imports (a fixed-size list, a run-end
/// encoded column, a sparse union), beside one oplink builds itself.
fn foreign_columns() -> Change {
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, FixedSizeListArray, Int32Array, RunArray, UnionArray};
    use arrow_schema::{DataType, Field, UnionFields};
    let pairs = FixedSizeListArray::new(
        Arc::new(Field::new("item", DataType::Int32, true)),
        2,
        Arc::new(Int32Array::from(vec![
            Some(1),
            None,
            Some(3),
            Some(4),
            Some(5),
            Some(6),
        ])),
        None,
    );
    let runs: RunArray<Int32Type> = ["a", "a", "b"].into_iter().collect();
    let fields = UnionFields::try_new(
        [0, 1],
        [
            Field::new("i", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
        ],
    )
    .unwrap();
    let union = UnionArray::try_new(
        fields,
        vec![0i8, 1, 0].into(),
        None,
        vec![
            Arc::new(Int32Array::from(vec![7, 8, 9])) as ArrayRef,
            Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef,
        ],
    )
    .unwrap();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ("pair", Arc::new(pairs) as ArrayRef),
        ("run", Arc::new(runs) as ArrayRef),
        ("either", Arc::new(union) as ArrayRef),
    ])
    .unwrap();
    insert(Rows::new(vec![4u64, 5, 6], batch).unwrap())
}

#[test]
fn a_forwarded_view_with_columns_arrow_rs_laid_out_goes_home_whole() {
    let change = foreign_columns();
    let mut crossing = Crossing::new(&change);
    for call in [1, 2] {
        let view = crossing.read(None, call);
        let (out, _) = crossing.forward(view, call);
        assert_eq!(out.diffs, crossing.input.diffs, "returned in place");
        let back = crossing
            .sent
            .take_back()
            .expect("arrow-rs's arrays in place count as in place");
        assert_eq!(Change::new(3, Timestamp(9), back), change);
        if call == 1 {
            // Lay the change out again for the second call, over the same block.
            crossing.input = crossing
                .sent
                .export_change(change.clone(), &mut SchemaOutbox::default())
                .unwrap();
        }
    }
}

#[test]
fn rows_built_from_a_view_leave_its_arrays_whole_for_a_forward() {
    let change = foreign_columns();
    let mut crossing = Crossing::new(&change);
    let view = crossing.read(None, 1);
    // Built twice (arrow-rs imports three of the columns), then dropped: nothing was moved
    // out of the view's arrays.
    let first = post_of(&view).to_rows().unwrap();
    let again = post_of(&view).to_rows().unwrap();
    let Diff::Insert { post } = &change.diffs[0] else {
        unreachable!("an insert")
    };
    assert_eq!((&first, &again), (post, post));
    drop((first, again));
    let (out, _) = crossing.forward(view, 1);
    assert_eq!(out.diffs, crossing.input.diffs, "returned in place");
    let back = crossing.sent.take_back().expect("every array in its place");
    assert_eq!(Change::new(3, Timestamp(9), back), change);
}

#[test]
fn a_view_whose_rows_are_kept_is_laid_out_anew_with_its_foreign_columns() {
    let change = foreign_columns();
    let mut crossing = Crossing::new(&change);
    let view = crossing.read(None, 1);
    let kept = post_of(&view).to_rows().unwrap();
    let (out, _) = crossing.forward(view, 1);
    assert_ne!(out.diffs, crossing.input.diffs, "laid out as built batches");
    // SAFETY: laid out just above, alive in `returned`.
    let back = unsafe { import_change(&out, &mut SchemaInbox::recognizing_own()) }.unwrap();
    assert_eq!(back, change);
    let Diff::Insert { post } = &change.diffs[0] else {
        unreachable!("an insert")
    };
    assert_eq!(&kept, post);
}

#[test]
fn an_empty_string_column_without_offsets_reads_as_empty() {
    let batch = RecordBatch::try_from_iter([(
        "name",
        Arc::new(StringArray::from(Vec::<&str>::new())) as arrow_array::ArrayRef,
    )])
    .unwrap();
    let change = insert(Rows::new(Vec::<u64>::new(), batch).unwrap());
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let abi = out.export_change(change, &mut outbox).unwrap();
    // The C Data Interface lets an empty array come without its offsets buffer.
    // SAFETY: the change's first diff, its post columns and their lists in the block.
    unsafe {
        let columns: *mut super::raw::RawArray = (&raw mut (*abi.diffs).post.columns).cast();
        let name = *(*columns).children;
        *(*name).buffers.add(1) = std::ptr::null();
    }
    // SAFETY: exported above.
    let view = unsafe { ChangeView::import(&abi, &mut SchemaInbox::default(), None) }.unwrap();
    let strings = post_of(&view).column(0).unwrap().strings().unwrap();
    assert!(strings.is_empty());
    assert_eq!(strings.iter().count(), 0);
}

#[test]
fn binary_columns_read_in_place_as_byte_slices() {
    use arrow_array::{BinaryArray, LargeBinaryArray};
    let bytes = BinaryArray::from(vec![Some(&b"\xff\x00"[..]), None, Some(b""), Some(b"abc")]);
    let large = LargeBinaryArray::from(vec![None, Some(&b"x"[..]), Some(b"yz"), None]);
    let batch = RecordBatch::try_from_iter([
        ("bytes", Arc::new(bytes.clone()) as _),
        ("large", Arc::new(large) as _),
    ])
    .unwrap();
    let rows = Rows::new(vec![0, 1, 2, 3], batch).unwrap();
    let view = ChangeView::from_change(insert(rows.clone())).unwrap();
    let post = post_of(&view);
    let values = post.column(0).unwrap().binaries().unwrap();
    assert_eq!(
        values.iter().collect::<Vec<_>>(),
        [Some(&b"\xff\x00"[..]), None, Some(b""), Some(b"abc")]
    );
    assert_eq!(
        (values.len(), values.validity().unwrap().count_nulls()),
        (4, 1)
    );
    // Borrowed from the very buffer that crossed.
    assert_eq!(
        values.try_value(3).unwrap().as_ptr(),
        bytes.value(3).as_ptr()
    );
    assert_eq!(
        post.column(1)
            .unwrap()
            .binaries()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [None, Some(&b"x"[..]), Some(b"yz"), None]
    );
    // From a slice's offset, too.
    let sliced = Rows::new(vec![1, 2], rows.batch().slice(2, 2)).unwrap();
    let view = ChangeView::from_change(insert(sliced)).unwrap();
    assert_eq!(
        post_of(&view).column(0).unwrap().binaries().unwrap().get(1),
        Some(&b"abc"[..])
    );
    // Strings are not binaries, nor the other way round.
    let view = ChangeView::from_change(insert(mixed(0))).unwrap();
    assert_eq!(
        post_of(&view)
            .column(2)
            .unwrap()
            .binaries()
            .unwrap_err()
            .to_string(),
        "column `name`: it is Utf8, not Binary, LargeBinary or BinaryView"
    );
    let view = ChangeView::from_change(insert(rows)).unwrap();
    assert_eq!(
        post_of(&view)
            .column(0)
            .unwrap()
            .strings()
            .unwrap_err()
            .to_string(),
        "column `bytes`: it is Binary, not Utf8, LargeUtf8 or Utf8View"
    );
    // Offsets past the data are an error when read (bytes need no UTF-8 check).
    // SAFETY: deliberately unchecked, to produce malformed offsets (the buffers are valid
    // memory of the lengths the last offset gives).
    let array = unsafe {
        BinaryArray::new_unchecked(
            OffsetBuffer::new_unchecked(ScalarBuffer::from(vec![0, 5, 1, 2])),
            Buffer::from(b"a\xffb".to_vec()),
            None,
        )
    };
    let batch = RecordBatch::try_from_iter([("blob", Arc::new(array) as _)]).unwrap();
    let view = ChangeView::from_change(insert(Rows::new(vec![0, 1, 2], batch).unwrap())).unwrap();
    let blobs = post_of(&view).column(0).unwrap().binaries().unwrap();
    assert_eq!(
        blobs.try_get(0).unwrap_err().to_string(),
        "column `blob`: the offsets of value 0 do not lie within its 2 bytes of data"
    );
    assert_eq!(blobs.try_get(2).unwrap(), Some(&b"\xff"[..]));
    // Past the end: the panic names the column, as the view's errors do, with nulls too.
    let panic = std::panic::catch_unwind(|| blobs.get(3)).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "column `blob`: index 3 out of 3 values"
    );
    let view = ChangeView::from_change(insert(mixed(0))).unwrap();
    let names = post_of(&view)
        .column_by_name("name")
        .unwrap()
        .strings()
        .unwrap();
    assert!(names.validity().is_some());
    // A column of numbers too.
    let ids = post_of(&view).column(0).unwrap().i64s().unwrap();
    let panic = std::panic::catch_unwind(|| ids.get(ids.len())).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        &format!("column `id`: index {0} out of {0} values", ids.len())
    );
    let panic = std::panic::catch_unwind(|| names.get(4)).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "column `name`: index 4 out of 4 strings"
    );
    // Strings checked whole, with nulls and without, and flags: the same.
    let checked = names.checked().unwrap();
    for panic in [
        std::panic::catch_unwind(|| checked.get(4)).unwrap_err(),
        std::panic::catch_unwind(|| checked.value(4)).unwrap_err(),
    ] {
        assert_eq!(
            panic.downcast_ref::<String>().unwrap(),
            "column `name`: index 4 out of 4 strings"
        );
    }
    let plain =
        RecordBatch::try_from_iter([("plain", Arc::new(StringArray::from(vec!["a"])) as _)])
            .unwrap();
    let one = ChangeView::from_change(insert(Rows::new(vec![0], plain).unwrap())).unwrap();
    let texts = post_of(&one).column(0).unwrap().strings().unwrap();
    assert!(texts.validity().is_none());
    let checked = texts.checked().unwrap();
    let panic = std::panic::catch_unwind(|| checked.get(1)).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "column `plain`: index 1 out of 1 string"
    );
    let flags = post_of(&view)
        .column_by_name("ok")
        .unwrap()
        .booleans()
        .unwrap();
    assert!(flags.validity().is_some());
    let panic = std::panic::catch_unwind(|| flags.get(4)).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "column `ok`: index 4 out of 4 values"
    );
    let panic = std::panic::catch_unwind(|| blobs.get(1)).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "column `blob`: the offsets of value 1 do not lie within its 2 bytes of data"
    );
}

/// A view array's view (16 bytes) of a value of `len` bytes that lies in data buffer
/// `buffer` at `offset` (its first 4 bytes as the prefix), as the Arrow format lays it out.
fn long_view(len: i32, prefix: &[u8], buffer: i32, offset: i32) -> u128 {
    let mut view = [0u8; 16];
    view[0..4].copy_from_slice(&len.to_ne_bytes());
    view[4..8].copy_from_slice(&prefix[..4]);
    view[8..12].copy_from_slice(&buffer.to_ne_bytes());
    view[12..16].copy_from_slice(&offset.to_ne_bytes());
    u128::from_ne_bytes(view)
}

#[test]
fn view_columns_read_in_place_short_values_from_the_view_long_ones_from_the_data() {
    use arrow_array::{BinaryViewArray, StringViewArray};
    let long = "a string of more than twelve bytes";
    let texts = StringViewArray::from(vec![Some("short"), None, Some(long), Some(""), Some("é€")]);
    let blobs = BinaryViewArray::from(vec![
        Some(&b"\xff\x00"[..]),
        Some(&[7u8; 40][..]),
        None,
        Some(b""),
        Some(b"twelve bytes"),
    ]);
    let batch = RecordBatch::try_from_iter([
        ("text", Arc::new(texts.clone()) as _),
        ("blob", Arc::new(blobs.clone()) as _),
    ])
    .unwrap();
    let rows = Rows::new(vec![0, 1, 2, 3, 4], batch).unwrap();
    let view = ChangeView::from_change(insert(rows.clone())).unwrap();
    let post = post_of(&view);
    let strings = post.column(0).unwrap().strings().unwrap();
    let expected = [Some("short"), None, Some(long), Some(""), Some("é€")];
    assert_eq!(strings.iter().collect::<Vec<_>>(), expected);
    assert_eq!(
        strings.checked().unwrap().iter().collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        (strings.len(), strings.validity().unwrap().count_nulls()),
        (5, 1)
    );
    // A long string is borrowed from the data buffer that crossed.
    assert_eq!(
        strings.try_value(2).unwrap().as_ptr(),
        texts.value(2).as_ptr()
    );
    let values = post.column(1).unwrap().binaries().unwrap();
    assert_eq!(
        values.iter().collect::<Vec<_>>(),
        [
            Some(&b"\xff\x00"[..]),
            Some(&[7u8; 40][..]),
            None,
            Some(b""),
            Some(b"twelve bytes")
        ]
    );
    assert_eq!(
        values.try_value(1).unwrap().as_ptr(),
        blobs.value(1).as_ptr()
    );
    // From a slice's offset, too.
    let sliced = Rows::new(vec![2, 3], rows.batch().slice(2, 2)).unwrap();
    let view = ChangeView::from_change(insert(sliced)).unwrap();
    let post = post_of(&view);
    assert_eq!(
        post.column(0)
            .unwrap()
            .strings()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [Some(long), Some("")]
    );
    assert_eq!(post.column(1).unwrap().binaries().unwrap().get(0), None);
    // A view column is a string or a binary column as its plain forms are.
    assert_eq!(
        post.column(1).unwrap().strings().unwrap_err().to_string(),
        "column `blob`: it is BinaryView, not Utf8, LargeUtf8 or Utf8View"
    );
    // No rows: nothing to read, whatever the views buffer is.
    let empty = Rows::new(Vec::<u64>::new(), rows.batch().slice(0, 0)).unwrap();
    let view = ChangeView::from_change(insert(empty)).unwrap();
    assert!(
        post_of(&view)
            .column(0)
            .unwrap()
            .strings()
            .unwrap()
            .is_empty()
    );
}

/// A `Utf8View` column of these views over one data buffer, unchecked, as a C producer
/// could send it.
fn string_views(views: Vec<u128>, data: &[u8]) -> Rows {
    use arrow_array::StringViewArray;
    // SAFETY: deliberately unchecked, to produce malformed views; the view must not trust
    // them (the buffers themselves are valid memory of the sizes they declare).
    let array = unsafe {
        StringViewArray::new_unchecked(
            ScalarBuffer::from(views),
            vec![Buffer::from(data.to_vec())].into(),
            None,
        )
    };
    text_rows(Arc::new(array))
}

#[test]
fn malformed_views_are_errors_when_read_and_the_rest_still_reads() {
    let data = b"0123456789abcdef\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3";
    let good = long_view(16, b"0123", 0, 0);
    let rows = string_views(
        vec![
            good,
            long_view(13, b"0123", 1, 0),
            long_view(16, b"0123", 0, 20),
            long_view(-3, b"0123", 0, 0),
            long_view(13, b"\xff\xfe\xfd\xfc", 0, 16),
            long_view(13, b"0123", -1, 0),
        ],
        data,
    );
    let view = ChangeView::from_change(insert(rows)).unwrap();
    let texts = post_of(&view).column(0).unwrap().strings().unwrap();
    assert_eq!(texts.try_get(0).unwrap(), Some("0123456789abcdef"));
    let errors: Vec<String> = (1..6)
        .map(|i| texts.try_get(i).unwrap_err().to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "column `text`: the view of string 1 names data buffer 1, but the column has 1 data buffer",
            "column `text`: the view of string 2 lies at bytes 20..36 of data buffer 0, which holds 29",
            "column `text`: the view of string 3 has a negative length (-3)",
            "column `text`: string 4 is not UTF-8: invalid utf-8 sequence of 1 bytes from index 0",
            "column `text`: the view of string 5 names a negative data buffer (-1)",
        ]
    );
    let panic = std::panic::catch_unwind(|| texts.get(1)).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "column `text`: the view of string 1 names data buffer 1, but the column has 1 data buffer"
    );
    // Checked whole, the first malformed string is the error.
    assert_eq!(
        texts.checked().unwrap_err().to_string(),
        "column `text`: the view of string 1 names data buffer 1, but the column has 1 data buffer"
    );
    // The same view read as bytes: no UTF-8 check.
    let values = {
        let rows = string_views(vec![long_view(13, b"\xff\xfe\xfd\xfc", 0, 16)], data);
        let (numbers, batch) = rows.into_parts();
        let array = batch
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::StringViewArray>()
            .unwrap();
        // SAFETY: the same views and buffers, as a binary view array.
        let binary = unsafe {
            arrow_array::BinaryViewArray::new_unchecked(
                array.views().clone(),
                array.data_buffers().to_vec().into(),
                None,
            )
        };
        let batch = RecordBatch::try_from_iter([("blob", Arc::new(binary) as _)]).unwrap();
        Rows::new(numbers, batch).unwrap()
    };
    let view = ChangeView::from_change(insert(values)).unwrap();
    let blobs = post_of(&view).column(0).unwrap().binaries().unwrap();
    assert_eq!(blobs.try_get(0).unwrap(), Some(&data[16..29]));
}

#[test]
fn a_view_column_with_a_spoiled_data_buffer_is_an_error_when_asked_for() {
    use arrow_array::StringViewArray;
    let long = "a string of more than twelve bytes";
    let batch = RecordBatch::try_from_iter([(
        "text",
        Arc::new(StringViewArray::from(vec![long, "short"])) as _,
    )])
    .unwrap();
    let change = insert(Rows::new(vec![0, 1], batch).unwrap());
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    // The error of `strings()` once the column's buffer list (validity, views, one data
    // buffer, sizes) is spoiled by `spoil`.
    let mut spoiled = |spoil: &dyn Fn(&mut [*const std::ffi::c_void])| {
        let mut abi = out.export_change(change.clone(), &mut outbox).unwrap();
        // SAFETY: the column's list of four buffers, in the exporter's block, which nothing
        // else reads while it is spoiled; the sizes buffer is the exporter's own.
        spoil(unsafe { std::slice::from_raw_parts_mut(first_column(&mut abi).buffers, 4) });
        // SAFETY: exported above, spoiled only where the view must refuse it.
        let view = unsafe { ChangeView::import(&abi, &mut SchemaInbox::default(), None) }.unwrap();
        post_of(&view)
            .column(0)
            .unwrap()
            .strings()
            .map(drop)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        spoiled(&|buffers| buffers[2] = std::ptr::null()),
        format!(
            "column `text`: its data buffer 0 is null but must hold {} bytes",
            long.len()
        )
    );
    assert_eq!(
        // SAFETY: the sizes buffer, one `i64` (see above).
        spoiled(&|buffers| unsafe { *buffers[3].cast::<i64>().cast_mut() = -1 }),
        "column `text`: its data buffer 0 has a negative size (-1)"
    );
    assert_eq!(
        spoiled(&|buffers| buffers[3] = std::ptr::null()),
        "column `text`: the sizes of its data buffers are null or misaligned"
    );
    assert_eq!(
        spoiled(&|buffers| buffers[1] = std::ptr::null()),
        "column `text`: its views buffer is null but must hold 2 views"
    );
    // Slots whose views would be more bytes than any buffer holds: refused before a
    // pointer is computed from them.
    let mut abi = out.export_change(change, &mut outbox).unwrap();
    first_column(&mut abi).offset = 1 << 60;
    first_column(&mut abi).length = (1 << 60) + 2;
    // SAFETY: exported above; the view refuses the slots before it reads through them.
    let view = unsafe { ChangeView::import(&abi, &mut SchemaInbox::default(), None) }.unwrap();
    assert_eq!(
        post_of(&view)
            .column(0)
            .unwrap()
            .strings()
            .map(drop)
            .unwrap_err()
            .to_string(),
        "column `text`: 1152921504606846976 + 2 views of 16 bytes are more than memory can hold"
    );
}

/// Many data buffers (a small block size), nulls, a slice of them: read back exactly,
/// one by one and after `checked()`, as strings and as bytes.
#[test]
fn view_columns_with_many_data_buffers_read_exactly() {
    use arrow_array::builder::{BinaryViewBuilder, StringViewBuilder};
    let values: Vec<Option<String>> = (0..60)
        .map(|i| (i % 7 != 3).then(|| format!("v{i}-{}", "é".repeat(i % 11))))
        .collect();
    let mut strings = StringViewBuilder::new().with_fixed_block_size(32);
    let mut blobs = BinaryViewBuilder::new().with_fixed_block_size(24);
    for v in &values {
        strings.append_option(v.as_deref());
        blobs.append_option(v.as_deref().map(str::as_bytes));
    }
    let (texts, bytes) = (strings.finish(), blobs.finish());
    assert!(
        texts.data_buffers().len() > 5,
        "{}",
        texts.data_buffers().len()
    );
    assert!(bytes.data_buffers().len() > 5);
    let batch = RecordBatch::try_from_iter([
        ("text", Arc::new(texts) as _),
        ("blob", Arc::new(bytes) as _),
    ])
    .unwrap();
    let rows = Rows::new((0..60).collect::<Vec<_>>(), batch.clone()).unwrap();
    for (first, len) in [(0, 60), (7, 40), (59, 1)] {
        let sliced = Rows::new(
            (first as u64..(first + len) as u64).collect::<Vec<_>>(),
            rows.batch().slice(first, len),
        )
        .unwrap();
        let view = ChangeView::from_change(insert(sliced)).unwrap();
        let post = post_of(&view);
        let want: Vec<Option<&str>> = values[first..first + len]
            .iter()
            .map(|v| v.as_deref())
            .collect();
        let s = post.column(0).unwrap().strings().unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), want);
        assert_eq!(s.checked().unwrap().iter().collect::<Vec<_>>(), want);
        let b = post.column(1).unwrap().binaries().unwrap();
        let want_b: Vec<Option<&[u8]>> = want.iter().map(|v| v.map(str::as_bytes)).collect();
        assert_eq!(b.iter().collect::<Vec<_>>(), want_b);
    }
}

/// No data buffers at all (every value inline): the exporter still sends the sizes buffer.
#[test]
fn a_view_column_of_inline_values_only_reads() {
    use arrow_array::StringViewArray;
    let texts = StringViewArray::from(vec![Some("a"), None, Some(""), Some("twelve bytes")]);
    assert_eq!(texts.data_buffers().len(), 0);
    let batch = RecordBatch::try_from_iter([("text", Arc::new(texts) as _)]).unwrap();
    let view =
        ChangeView::from_change(insert(Rows::new(vec![0, 1, 2, 3], batch).unwrap())).unwrap();
    let s = post_of(&view).column(0).unwrap().strings().unwrap();
    let want = [Some("a"), None, Some(""), Some("twelve bytes")];
    assert_eq!(s.iter().collect::<Vec<_>>(), want);
    assert_eq!(s.checked().unwrap().iter().collect::<Vec<_>>(), want);
}

/// A non-zero `start` (the column's own offset, or its parent's): the exporter never sends
/// one for a view array (a slice moves its views buffer instead).
#[test]
fn a_view_column_with_an_offset_reads_from_it() {
    use arrow_array::StringViewArray;
    let all = [
        Some("zero"),
        Some("a long string, number one"),
        None,
        Some("three"),
        Some("another long string: four"),
    ];
    let batch =
        RecordBatch::try_from_iter([("text", Arc::new(StringViewArray::from(all.to_vec())) as _)])
            .unwrap();
    let change = insert(Rows::new(vec![0, 1, 2, 3, 4], batch).unwrap());
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    for parent in [false, true] {
        let mut abi = out.export_change(change.clone(), &mut outbox).unwrap();
        // SAFETY: the exporter's block; four of the five rows, from row 1, through the
        // column's offset or through its parent's (and the row numbers').
        unsafe {
            let post = &mut (*abi.diffs).post;
            let columns: *mut super::raw::RawArray = (&raw mut post.columns).cast();
            let numbers: *mut super::raw::RawArray = (&raw mut post.row_numbers).cast();
            (*columns).length = 4;
            (*numbers).length = 4;
            if parent {
                (*columns).offset = 1;
                (*numbers).offset = 1;
            }
        }
        if !parent {
            let c = first_column(&mut abi);
            c.offset = 1;
            c.length = 4;
        }
        // SAFETY: exported above, reshaped within its buffers.
        let view = unsafe { ChangeView::import(&abi, &mut SchemaInbox::default(), None) }.unwrap();
        let s = post_of(&view).column(0).unwrap().strings().unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), all[1..], "parent {parent}");
        assert_eq!(s.checked().unwrap().iter().collect::<Vec<_>>(), all[1..]);
    }
}

/// A null whose view is malformed: `iter` skips it, `checked()` checks every view (as
/// arrow-rs's validation does) and refuses the column.
#[test]
fn checked_checks_a_nulls_view_too() {
    use arrow_array::StringViewArray;
    use arrow_buffer::NullBuffer;
    let data = b"0123456789abcdef";
    // SAFETY: deliberately unchecked, to send a malformed view in a null's slot.
    let array = unsafe {
        StringViewArray::new_unchecked(
            ScalarBuffer::from(vec![
                long_view(13, b"0123", 5, 0),
                long_view(16, b"0123", 0, 0),
            ]),
            vec![Buffer::from(data.to_vec())].into(),
            Some(NullBuffer::from(vec![false, true])),
        )
    };
    let batch = RecordBatch::try_from_iter([("text", Arc::new(array) as _)]).unwrap();
    let view = ChangeView::from_change(insert(Rows::new(vec![0, 1], batch).unwrap())).unwrap();
    let strings = post_of(&view).column(0).unwrap().strings().unwrap();
    assert_eq!(
        strings.iter().collect::<Vec<_>>(),
        [None, Some("0123456789abcdef")]
    );
    assert_eq!(
        strings.checked().unwrap_err().to_string(),
        "column `text`: the view of string 0 names data buffer 5, but the column has 1 data buffer"
    );
}

#[test]
fn a_views_padding_prefix_and_negative_offset_are_checked_as_arrow_rs_checks_them() {
    let mut inline = [0u8; 16];
    inline[0..4].copy_from_slice(&2i32.to_ne_bytes());
    inline[4..6].copy_from_slice(b"\xff\xfe");
    let mut padded = [0u8; 16];
    padded[0..4].copy_from_slice(&2i32.to_ne_bytes());
    padded[4..7].copy_from_slice(b"ab!");
    let rows = string_views(
        vec![
            u128::from_ne_bytes(inline),
            long_view(13, b"0123", 0, -4),
            u128::from_ne_bytes(padded),
            long_view(13, b"0124", 0, 0),
        ],
        b"0123456789abcdef",
    );
    let view = ChangeView::from_change(insert(rows)).unwrap();
    let strings = post_of(&view).column(0).unwrap().strings().unwrap();
    let errors: Vec<String> = (0..4)
        .map(|i| strings.try_get(i).unwrap_err().to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "column `text`: string 0 is not UTF-8: invalid utf-8 sequence of 1 bytes from index 0",
            "column `text`: the view of string 1 has a negative offset (-4)",
            "column `text`: the view of string 2 holds 2 bytes, but its bytes past them are not zeros",
            "column `text`: the view of string 3 has a prefix that is not its value's first 4 bytes",
        ]
    );
}

/// Short views are read by a fast path for ASCII and by the full check for the rest: both
/// must agree with arrow-rs's validation of the same view, for every length a view can
/// hold and any byte of it changed (a high bit, a character's first or next byte, a zero,
/// a byte past the string's end).
#[test]
fn short_views_read_exactly_as_arrow_rs_validates_them() {
    use arrow_array::StringViewArray;
    let data = b"0123456789abcdef";
    let mut views = Vec::new();
    for len in -1i32..=13 {
        let mut view = [0u8; 16];
        view[0..4].copy_from_slice(&len.to_ne_bytes());
        for k in 0..len.clamp(0, 12) as usize {
            view[4 + k] = b'a' + k as u8;
        }
        views.push(view);
        for at in 4..16 {
            for byte in [0x00, 0x7f, 0x80, 0xc3, 0xa9, 0xff] {
                let mut changed = view;
                changed[at] = byte;
                views.push(changed);
            }
        }
        if (2..=12).contains(&len) {
            // A valid two-byte character at the end.
            let mut accented = view;
            accented[4 + len as usize - 2..4 + len as usize].copy_from_slice("é".as_bytes());
            views.push(accented);
        }
    }
    let mut agreed = 0;
    for view in views {
        let view = u128::from_ne_bytes(view);
        let arrow = StringViewArray::try_new(
            ScalarBuffer::from(vec![view]),
            vec![Buffer::from(data.to_vec())],
            None,
        );
        let change = insert(string_views(vec![view], data));
        let ours = ChangeView::from_change(change).unwrap();
        let strings = post_of(&ours).column(0).unwrap().strings().unwrap();
        match (&arrow, strings.try_value(0)) {
            (Ok(arrow), Ok(text)) => assert_eq!(text, arrow.value(0), "view {view:032x}"),
            (Err(_), Err(_)) => {}
            (arrow, ours) => panic!("view {view:032x}: arrow-rs {arrow:?}, the view {ours:?}"),
        }
        assert_eq!(strings.checked().is_ok(), arrow.is_ok(), "view {view:032x}");
        agreed += 1;
    }
    assert!(agreed > 1_000, "{agreed} views");
}

#[test]
fn every_column_view_can_cross_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<super::view::PrimitiveView<'static, i64>>();
    send_and_sync::<super::view::StringsView<'static>>();
    send_and_sync::<super::view::BinariesView<'static>>();
    send_and_sync::<super::view::CheckedStrings<'static>>();
    send_and_sync::<super::view::BooleansView<'static>>();
    send_and_sync::<super::view::Validity<'static>>();
    send_and_sync::<super::view::ColumnView<'static>>();
    send_and_sync::<super::view::DictionaryView<'static, i32>>();
}

#[test]
fn dictionary_columns_read_their_keys_and_values_in_place() {
    use arrow_array::types::{Int8Type, Int32Type, UInt16Type};
    use arrow_array::{DictionaryArray, StringViewArray};
    // Strings with nulls among the keys and among the values.
    let values = StringArray::from(vec![Some("red"), None, Some("a rather long green")]);
    let keys = arrow_array::Int32Array::from(vec![Some(2), Some(0), None, Some(1), Some(2)]);
    let tags = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
    // Numbers, under 16-bit keys; strings as views, under 8-bit keys.
    let sizes = DictionaryArray::<UInt16Type>::try_new(
        vec![1u16, 1, 0, 1, 0].into(),
        Arc::new(Int64Array::from(vec![10, 20])),
    )
    .unwrap();
    let views = DictionaryArray::<Int8Type>::try_new(
        vec![0i8, 0, 0, 0, 0].into(),
        Arc::new(StringViewArray::from(vec!["more than twelve bytes"])),
    )
    .unwrap();
    let batch = RecordBatch::try_from_iter([
        ("tag", Arc::new(tags.clone()) as _),
        ("size", Arc::new(sizes) as _),
        ("view", Arc::new(views) as _),
    ])
    .unwrap();
    let rows = Rows::new(vec![0, 1, 2, 3, 4], batch).unwrap();
    let view = ChangeView::from_change(insert(rows.clone())).unwrap();
    let post = post_of(&view);

    let dictionary = post.column(0).unwrap().dictionary::<Int32Type>().unwrap();
    assert_eq!(dictionary.len(), 5);
    assert_eq!(
        dictionary.keys().iter().collect::<Vec<_>>(),
        [Some(2), Some(0), None, Some(1), Some(2)]
    );
    let strings = dictionary.values().strings().unwrap();
    let read: Vec<Option<&str>> = (0..dictionary.len())
        .map(|i| dictionary.key(i).and_then(|at| strings.get(at)))
        .collect();
    let by_arrow: Vec<Option<&str>> = {
        let values = tags
            .values()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        tags.keys()
            .iter()
            .map(|k| {
                k.and_then(|k| {
                    values
                        .is_valid(k as usize)
                        .then(|| values.value(k as usize))
                })
            })
            .collect()
    };
    assert_eq!(read, by_arrow);
    assert_eq!(
        read,
        [
            Some("a rather long green"),
            Some("red"),
            None,
            None,
            Some("a rather long green")
        ]
    );
    // The validity is the keys' alone: row 3, whose key points at a null value, reads as
    // null above but is valid here.
    assert_eq!(
        dictionary.validity().unwrap().iter().collect::<Vec<_>>(),
        [true, true, false, true, true]
    );
    // Borrowed from the dictionary that crossed.
    assert_eq!(
        strings.try_value(2).unwrap().as_ptr(),
        tags.values().to_data().buffers()[1]
            .as_ptr()
            .wrapping_add(3)
    );
    assert_eq!(
        dictionary.values().data_type(),
        &arrow_schema::DataType::Utf8
    );

    let sizes = post.column(1).unwrap().dictionary::<UInt16Type>().unwrap();
    let numbers = sizes.values().i64s().unwrap();
    assert_eq!(
        (0..5)
            .map(|i| numbers.values()[sizes.key(i).unwrap()])
            .collect::<Vec<_>>(),
        [20, 20, 10, 20, 10]
    );
    let views = post.column(2).unwrap().dictionary::<Int8Type>().unwrap();
    assert_eq!(
        views.values().strings().unwrap().get(views.key(4).unwrap()),
        Some("more than twelve bytes")
    );

    // A slice reads its own keys; the dictionary is whole.
    let sliced = Rows::new(vec![3, 4], rows.batch().slice(3, 2)).unwrap();
    let view = ChangeView::from_change(insert(sliced)).unwrap();
    let dictionary = post_of(&view)
        .column(0)
        .unwrap()
        .dictionary::<Int32Type>()
        .unwrap();
    assert_eq!(
        dictionary.keys().iter().collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    assert_eq!(dictionary.values().len(), 3);

    // The errors.
    let view = ChangeView::from_change(insert(rows)).unwrap();
    let post = post_of(&view);
    assert_eq!(
        post.column(0)
            .unwrap()
            .dictionary::<Int8Type>()
            .unwrap_err()
            .to_string(),
        "column `tag`: it is Dictionary(Int32, Utf8), not a dictionary of Int8 keys (read it with `dictionary::<Int32Type>()`, and its values as their type)"
    );
    let view = ChangeView::from_change(insert(mixed(0))).unwrap();
    assert_eq!(
        post_of(&view)
            .column(0)
            .unwrap()
            .dictionary::<Int32Type>()
            .unwrap_err()
            .to_string(),
        "column `id`: it is Int64, not a dictionary of Int32 keys"
    );
}

#[test]
fn a_key_past_its_dictionarys_values_is_try_keys_error_and_keys_panic() {
    use arrow_array::DictionaryArray;
    use arrow_array::types::Int32Type;
    // SAFETY: deliberately unchecked, to send keys past the values (-1 and 7 of 2).
    let tags = unsafe {
        DictionaryArray::<Int32Type>::new_unchecked(
            vec![0, -1, 7].into(),
            Arc::new(StringArray::from(vec!["a", "b"])),
        )
    };
    let batch = RecordBatch::try_from_iter([("tag", Arc::new(tags) as _)]).unwrap();
    let change = insert(Rows::new(vec![0, 1, 2], batch).unwrap());
    let view = ChangeView::from_change(change).unwrap();
    let dictionary = post_of(&view)
        .column(0)
        .unwrap()
        .dictionary::<Int32Type>()
        .unwrap();
    assert_eq!(dictionary.key(0), Some(0));
    assert_eq!(
        dictionary.try_key(1).unwrap_err().to_string(),
        "column `tag`: key 1 is -1, not an index into its dictionary's 2 values"
    );
    assert_eq!(
        dictionary.try_key(2).unwrap_err().to_string(),
        "column `tag`: key 2 is 7, not an index into its dictionary's 2 values"
    );

    // `key` panics where `try_key` returns the error; `iter` as `key` does.
    let panic = std::panic::catch_unwind(|| dictionary.key(2)).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "column `tag`: key 2 is 7, not an index into its dictionary's 2 values"
    );
    assert!(std::panic::catch_unwind(|| dictionary.iter().count()).is_err());
    assert_eq!(dictionary.iter().take(1).collect::<Vec<_>>(), [Some(0)]);
    assert!(dictionary.validity().is_none());
}

/// A `Dictionary(Int32, Utf8)` column of keys 0, 1, 2 over "a", "bb", "ccc", laid out, spoiled
/// by `spoil` and read through the view by `read` (`dictionary()`'s error otherwise).
fn spoiled_dictionary(
    spoil: &dyn Fn(&mut super::raw::RawArray),
    read: &dyn Fn(&super::view::DictionaryView<'_, i32>) -> String,
) -> String {
    use arrow_array::DictionaryArray;
    use arrow_array::types::Int32Type;
    let tags = DictionaryArray::<Int32Type>::try_new(
        vec![0, 1, 2].into(),
        Arc::new(StringArray::from(vec!["a", "bb", "ccc"])),
    )
    .unwrap();
    let batch = RecordBatch::try_from_iter([("tag", Arc::new(tags) as _)]).unwrap();
    let change = insert(Rows::new(vec![0, 1, 2], batch).unwrap());
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let mut abi = out.export_change(change, &mut outbox).unwrap();
    let column: *mut super::raw::RawArray = first_column(&mut abi);
    // SAFETY: the column's array and its dictionary's in the exporter's block, which
    // nothing else reads now; the dictionary's header is copied bit for bit, to be put
    // back.
    let (dictionary, header) = unsafe {
        let dictionary = (*column).dictionary;
        (dictionary, std::ptr::read(dictionary))
    };
    // SAFETY: as above.
    spoil(unsafe { &mut *column });
    // SAFETY: exported above, spoiled only where the view must refuse it.
    let view = unsafe { ChangeView::import(&abi, &mut SchemaInbox::default(), None) }.unwrap();
    let read = match post_of(&view).column(0).unwrap().dictionary::<Int32Type>() {
        Ok(dictionary) => read(&dictionary),
        Err(e) => e.to_string(),
    };
    // The dictionary back where the block's release finds it as it was laid out, or the
    // block leaks.
    // SAFETY: as above; no reader of it is left.
    unsafe {
        (*column).dictionary = dictionary;
        std::ptr::write(dictionary, header);
    }
    drop(view);
    read
}

#[test]
fn a_dictionary_reads_from_its_own_offset_and_its_values_errors_say_they_are_its() {
    // The dictionary at its own offset 1, length 2: "bb", "ccc".
    let read = spoiled_dictionary(
        // SAFETY: the column's dictionary, in the exporter's block; within its buffers.
        &|column| unsafe {
            (*column.dictionary).offset = 1;
            (*column.dictionary).length = 2;
        },
        &|tags| {
            let names = tags.values().strings().unwrap();
            format!(
                "{:?} {:?} of {}",
                names.get(tags.key(0).unwrap()),
                names.get(tags.key(1).unwrap()),
                tags.values().len()
            )
        },
    );
    assert_eq!(read, r#"Some("bb") Some("ccc") of 2"#);
    let error =
        |spoil: &dyn Fn(&mut super::raw::RawArray),
         read: &dyn Fn(&super::view::DictionaryView<'_, i32>) -> crate::Result<()>| {
            spoiled_dictionary(spoil, &|tags| read(tags).unwrap_err().to_string())
        };
    let strings = |tags: &super::view::DictionaryView<'_, i32>| tags.values().strings().map(drop);
    assert_eq!(
        error(&|_| {}, &|tags| tags.values().i64s().map(drop)),
        "column `tag`, its dictionary's values: it is Utf8, not Int64"
    );
    assert_eq!(
        error(
            // SAFETY: as above.
            &|column| unsafe { (*column.dictionary).n_buffers = 2 },
            &strings
        ),
        "column `tag`, its dictionary's values: it has 2 buffers where its type has 3"
    );
    assert_eq!(
        error(
            // SAFETY: as above.
            &|column| unsafe { (*column.dictionary).null_count = 7 },
            &strings
        ),
        "column `tag`, its dictionary's values: its null count 7 is outside 0..=3"
    );
    // The dictionary itself.
    let made =
        |spoil: &dyn Fn(&mut super::raw::RawArray)| spoiled_dictionary(spoil, &|_| "made".into());
    assert_eq!(
        // SAFETY: as above.
        made(&|column| unsafe { (*column.dictionary).offset = -1 }),
        "column `tag`: its dictionary's offset (-1) or length (3) is negative or past what memory can hold"
    );
    assert_eq!(
        // SAFETY: as above.
        made(&|column| unsafe { (*column.dictionary).offset = i64::MAX }),
        format!(
            "column `tag`: its dictionary's offset ({}) or length (3) is negative or past what memory can hold",
            i64::MAX
        )
    );
    assert_eq!(
        made(&|column| column.dictionary = column.dictionary.cast::<u8>().wrapping_add(1).cast()),
        "column `tag`: its dictionary is null or misaligned"
    );
    assert_eq!(
        made(&|column| column.dictionary = std::ptr::null_mut()),
        "column `tag`: its dictionary is null or misaligned"
    );
    assert_eq!(
        // SAFETY: as above.
        made(&|column| unsafe { (*column.dictionary).length = -2 }),
        "column `tag`: its dictionary's offset (0) or length (-2) is negative or past what memory can hold"
    );
    assert_eq!(
        // SAFETY: as above.
        made(&|column| unsafe { hang_dictionary(&mut *column.dictionary) }),
        "column `tag`: its dictionary: an array of type Utf8 has a dictionary"
    );
    assert_eq!(
        // SAFETY: as above.
        made(&|column| unsafe { (*column.dictionary).release = None }),
        "column `tag`: its dictionary is released"
    );
    // The keys' own array.
    assert_eq!(
        made(&|column| column.n_buffers = 3),
        "column `tag`: it has 3 buffers where its type has 2"
    );
    // Past the keys: a panic naming the column, as slices do.
    let panic = std::panic::catch_unwind(|| {
        spoiled_dictionary(&|_| {}, &|tags| format!("{:?}", tags.key(3)))
    })
    .unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        "column `tag`: index 3 out of 3 keys"
    );
}

#[test]
fn a_dictionary_of_booleans_and_a_dictionary_of_a_dictionary_read() {
    use arrow_array::DictionaryArray;
    use arrow_array::types::{Int8Type, Int16Type};
    // Booleans under Int8 keys; a dictionary of strings under a dictionary.
    let flags = DictionaryArray::<Int8Type>::try_new(
        vec![1i8, 0, 1].into(),
        Arc::new(BooleanArray::from(vec![false, true])),
    )
    .unwrap();
    let inner = DictionaryArray::<Int8Type>::try_new(
        vec![1i8, 0].into(),
        Arc::new(StringArray::from(vec!["x", "y"])),
    )
    .unwrap();
    let outer =
        DictionaryArray::<Int16Type>::try_new(vec![0i16, 1, 1].into(), Arc::new(inner)).unwrap();
    let batch = RecordBatch::try_from_iter([
        ("flag", Arc::new(flags) as _),
        ("nested", Arc::new(outer) as _),
    ])
    .unwrap();
    let view = ChangeView::from_change(insert(Rows::new(vec![0, 1, 2], batch).unwrap())).unwrap();
    let post = post_of(&view);
    let flags = post.column(0).unwrap().dictionary::<Int8Type>().unwrap();
    let values = flags.values().booleans().unwrap();
    assert_eq!(
        (0..3)
            .map(|i| values.get(flags.key(i).unwrap()))
            .collect::<Vec<_>>(),
        [Some(true), Some(false), Some(true)]
    );
    let outer = post.column(1).unwrap().dictionary::<Int16Type>().unwrap();
    let inner = outer.values().dictionary::<Int8Type>().unwrap();
    let names = inner.values().strings().unwrap();
    let read: Vec<Option<&str>> = (0..3)
        .map(|i| {
            let at = outer.key(i).unwrap();
            names.get(inner.key(at).unwrap())
        })
        .collect();
    assert_eq!(read, [Some("y"), Some("x"), Some("x")]);
}

#[test]
fn retain_forwards_a_change_whose_every_row_is_kept_and_filters_any_other() {
    let change = Change::new(
        3,
        Timestamp(9),
        vec![
            Diff::Update {
                pre: mixed(0),
                post: mixed(0),
            },
            Diff::Remove { pre: mixed(20) },
        ],
    );
    // `id` is 1, null, 3, 4 on every side: keeping the present ones keeps all but one row
    // per side, keeping every row (nulls too) keeps the change whole.
    let every = |rows: &super::view::RowsView<'_>| -> crate::Result<BooleanArray> {
        Ok(BooleanArray::from(vec![true; rows.num_rows()]))
    };
    let out = ChangeView::from_change(change.clone())
        .unwrap()
        .retain(every)
        .unwrap();
    assert!(out.is_forwarded());
    assert_eq!(out.into_change().unwrap(), change);

    let present = |rows: &super::view::RowsView<'_>| -> crate::Result<BooleanArray> {
        let ids = rows.column_by_name("id")?.i64s()?;
        Ok(ids.iter().map(|v| Some(v.is_some())).collect())
    };
    let out = ChangeView::from_change(change.clone())
        .unwrap()
        .retain(present)
        .unwrap();
    assert!(!out.is_forwarded());
    let filtered = ChangeView::from_change(change.clone())
        .unwrap()
        .filter(present)
        .unwrap();
    assert_eq!(out.into_change().unwrap(), filtered);
    assert_eq!(filtered.row_count(), 6);

    // A mask of the wrong length is the error `filter` gives; so is an error of `keep`.
    let short = |_: &super::view::RowsView<'_>| -> crate::Result<BooleanArray> {
        Ok(BooleanArray::from(vec![true]))
    };
    let by_filter = ChangeView::from_change(change.clone())
        .unwrap()
        .filter(short)
        .unwrap_err()
        .to_string();
    let by_retain = ChangeView::from_change(change.clone())
        .unwrap()
        .retain(short)
        .map(drop)
        .unwrap_err()
        .to_string();
    assert_eq!(by_retain, by_filter);
    let failing =
        |_: &super::view::RowsView<'_>| -> crate::Result<BooleanArray> { crate::bail!("no") };
    assert_eq!(
        ChangeView::from_change(change)
            .unwrap()
            .retain(failing)
            .map(drop)
            .unwrap_err()
            .to_string(),
        "no"
    );
}

/// A diff of no rows is dropped by `filter`, so `retain`, which selects what `filter`
/// selects, does not forward a change that has one, even when every other row is kept.
#[test]
fn retain_drops_a_diff_of_no_rows_as_filter_does() {
    let no_rows = || Rows::new(Vec::<u64>::new(), mixed(0).batch().slice(0, 0)).unwrap();
    let change = Change::new(
        4,
        Timestamp(2),
        vec![
            Diff::Insert { post: mixed(0) },
            Diff::Remove { pre: no_rows() },
        ],
    );
    let every = |rows: &super::view::RowsView<'_>| -> crate::Result<BooleanArray> {
        Ok(BooleanArray::from(vec![true; rows.num_rows()]))
    };
    let filtered = ChangeView::from_change(change.clone())
        .unwrap()
        .filter(every)
        .unwrap();
    assert_eq!(filtered.diffs.len(), 1);
    let out = ChangeView::from_change(change.clone())
        .unwrap()
        .retain(every)
        .unwrap();
    assert!(!out.is_forwarded());
    assert_eq!(out.into_change().unwrap(), filtered);

    // A change of empty diffs only comes back with none, as from `filter`.
    let empty = Change::new(4, Timestamp(2), vec![Diff::Insert { post: no_rows() }]);
    let out = ChangeView::from_change(empty)
        .unwrap()
        .retain(every)
        .unwrap();
    assert!(out.into_change().unwrap().diffs.is_empty());
}

/// A `Float16` column reads as `oplink::arrow::f16`s: a plugin names the type without a
/// `half` dependency of its own.
#[test]
fn half_floats_read_as_the_reexported_f16() {
    use crate::arrow::f16;
    let halves = arrow_array::Float16Array::from(vec![Some(f16::from_f32(1.5)), None]);
    let batch = RecordBatch::try_from_iter([("h", Arc::new(halves) as _)]).unwrap();
    let view = ChangeView::from_change(insert(Rows::new(vec![0u64, 1], batch).unwrap())).unwrap();
    let column = post_of(&view).column(0).unwrap();
    let values = column
        .primitive::<arrow_array::types::Float16Type>()
        .unwrap();
    let read: Vec<Option<f16>> = values.iter().collect();
    assert_eq!(read, [Some(f16::from_f32(1.5)), None]);
}
