use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, RecordBatchOptions, StringArray};
use arrow_schema::Schema;

use super::raw::RawSchema;
use super::*;
use crate::abi::{AbiChange, AbiDiff};
use crate::data::{Change, Diff, Rows, Timestamp};

fn rows(values: &[i64], first: u64) -> Rows {
    let batch = RecordBatch::try_from_iter([
        ("amount", Arc::new(Int64Array::from(values.to_vec())) as _),
        (
            "label",
            Arc::new(StringArray::from_iter_values(
                values.iter().map(|v| format!("#{v}")),
            )) as _,
        ),
    ])
    .unwrap();
    Rows::new(
        (first..first + values.len() as u64).collect::<Vec<_>>(),
        batch,
    )
    .unwrap()
}

fn abi_diff(abi: &AbiChange, i: usize) -> &AbiDiff {
    // SAFETY: tests only index diffs they exported.
    unsafe { &*abi.diffs.add(i) }
}

#[test]
fn change_round_trips_zero_copy_and_schema_crosses_once() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let change = Change::new(
        7,
        Timestamp(42),
        vec![
            // A buffer past `SMALL` bytes is shared, never copied.
            Diff::Insert {
                post: rows(&(1..=100).collect::<Vec<_>>(), 0),
            },
            Diff::Update {
                pre: rows(&[4], 109),
                post: rows(&[5], 109),
            },
            Diff::Remove {
                pre: rows(&[6, 7], 120),
            },
        ],
    );
    let amount_ptr = match &change.diffs[0] {
        Diff::Insert { post } => post.batch().column(0).to_data().buffers()[0].as_ptr(),
        _ => unreachable!(),
    };
    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    assert!(
        !abi_diff(&abi, 0).post.schema.is_null(),
        "first batch carries its schema"
    );
    assert!(
        abi_diff(&abi, 2).pre.schema.is_null(),
        "later ones in the change do not"
    );
    // SAFETY: exported just above, arrays not taken yet.
    let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    assert_eq!(back, change);
    let back_ptr = match &back.diffs[0] {
        Diff::Insert { post } => post.batch().column(0).to_data().buffers()[0].as_ptr(),
        _ => unreachable!(),
    };
    assert_eq!(back_ptr, amount_ptr, "a large buffer must not be copied");
    assert_eq!(inbox.len(), 1);

    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    assert!(
        abi_diff(&abi, 0).post.schema.is_null(),
        "a known schema is not sent again"
    );
    // SAFETY: as above.
    assert_eq!(unsafe { import_change(&abi, &mut inbox) }.unwrap(), change);
}

#[test]
fn a_change_without_diffs_crosses_with_a_null_diff_array() {
    let mut out = Outgoing::default();
    let abi = out
        .export_change(
            Change::new(3, Timestamp(1), vec![]),
            &mut SchemaOutbox::default(),
        )
        .unwrap();
    assert!(abi.diffs.is_null() && abi.diff_count == 0);
    // SAFETY: exported above.
    let back = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap();
    assert_eq!(back, Change::new(3, Timestamp(1), vec![]));
}

#[test]
fn a_batch_without_columns_keeps_its_row_count_both_ways() {
    let empty = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(5)),
    )
    .unwrap();
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: Rows::new(vec![0, 1, 2, 3, 4], empty.clone()).unwrap(),
        }],
    );
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    // SAFETY: exported above.
    let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    assert_eq!(back, change);
    assert_eq!(back.row_count(), 5);

    let mut abi = out.export_batch(empty.clone(), &mut outbox).unwrap();
    // SAFETY: exported above.
    let back = unsafe { import_batch(&mut abi, &mut inbox) }.unwrap();
    assert_eq!(back.num_rows(), 5);

    let (array, schema) = export_batch(&empty).unwrap();
    // SAFETY: exported above.
    let back = unsafe { import_standalone_batch(array, &schema) }.unwrap();
    assert_eq!(back, empty);
}

#[test]
fn many_schemas_cross_in_bounded_caches_and_every_batch_stays_right() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::with_capacity(4),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    for round in 0..3 {
        for n in 0..20i64 {
            // A schema of its own per `n`, and several of them in one change.
            let batch = |k: i64| {
                RecordBatch::try_from_iter([(
                    format!("c{}", (n + k) % 20),
                    Arc::new(Int64Array::from(vec![n + k, round])) as _,
                )])
                .unwrap()
            };
            let change = Change::new(
                n as u64,
                Timestamp(0),
                (0..6)
                    .map(|k| Diff::Insert {
                        post: Rows::new(vec![1, 2], batch(k)).unwrap(),
                    })
                    .collect(),
            );
            let abi = out.export_change(change.clone(), &mut outbox).unwrap();
            // SAFETY: exported above.
            let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
            outbox.commit();
            assert_eq!(back, change);
            assert!(
                outbox.len() <= 4 && inbox.len() <= 4,
                "{} {}",
                outbox.len(),
                inbox.len()
            );
        }
    }
}

#[test]
fn an_unknown_schema_id_is_an_error_and_the_arrays_are_released() {
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1], 0),
        }],
    );
    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    outbox.commit();
    // SAFETY: exported above.
    unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap();
    // The second send omits the schema; a fresh inbox does not know it.
    let abi = out.export_change(change, &mut outbox).unwrap();
    // SAFETY: exported above.
    let err = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "diff 0 of the change: its post rows: batch refers to schema id 1, which was never sent"
    );
    assert!(
        abi_diff(&abi, 0).post.columns.is_released(),
        "arrays were taken and released"
    );
}

#[test]
fn an_array_whose_shape_disagrees_with_its_schema_is_an_error_not_a_panic() {
    let (mut inbox, mut out) = (SchemaInbox::default(), Outgoing::default());
    let two_columns = rows(&[1], 0).batch().clone();
    let mut abi = out
        .export_batch(two_columns, &mut SchemaOutbox::default())
        .unwrap();
    // SAFETY: exported above.
    unsafe { import_batch(&mut abi, &mut inbox) }.unwrap();
    // A one-column batch claiming the two-column schema's slot.
    let one_column = rows(&[2], 0).batch().project(&[0]).unwrap();
    let mut abi = out
        .export_batch(one_column, &mut SchemaOutbox::default())
        .unwrap();
    abi.schema = std::ptr::null();
    // SAFETY: exported above; the schema id is wrong on purpose, the arrays are valid.
    let err = unsafe { import_batch(&mut abi, &mut inbox) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the batch has 1 column where its schema has 2"
    );
}

#[test]
fn a_batch_round_trips_alone() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let batch = rows(&[3, 4], 0).batch().clone();
    let mut abi = out.export_batch(batch.clone(), &mut outbox).unwrap();
    // SAFETY: exported above.
    let back = unsafe { import_batch(&mut abi, &mut inbox) }.unwrap();
    assert_eq!(back, batch);
}

/// Exports a one-insert change, lets `spoil` change what crossed, and imports it: the error.
fn import_spoiled(spoil: impl FnOnce(&mut AbiChange)) -> String {
    import_spoiled_then(|abi| {
        spoil(abi);
        || {}
    })
}

/// [`import_spoiled`], running what `spoil` returns after the import (while the block is
/// still held).
fn import_spoiled_then<After: FnOnce()>(spoil: impl FnOnce(&mut AbiChange) -> After) -> String {
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1, 2], 0),
        }],
    );
    let mut abi = out.export_change(change, &mut outbox).unwrap();
    let after = spoil(&mut abi);
    // SAFETY: exported above; each spoiling keeps the arrays readable and releasable.
    let err = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap_err();
    after();
    err.to_string()
}

/// Headers of our own arrays changed by the other side (a count past the child list, a
/// null list, a null child): the import refuses them, and the release that follows its
/// error follows no pointer outside the block (each aborted or crashed the process once).
/// The arrays the changed header hid from that release are released afterwards, as a
/// consumer that moved them out would, so that the block goes.
#[test]
fn a_header_the_other_side_changed_is_an_error_and_its_release_no_crash() {
    let cases = [
        "diff 0 of the change: its post rows: the batch has 3 columns where its schema has 2",
        "diff 0 of the change: its post rows: a batch's struct array: its child list is null or misaligned",
        "diff 0 of the change: its post rows: column `amount`: the array pointer is null or misaligned",
    ];
    for (case, expected) in cases.into_iter().enumerate() {
        let spoil = |abi: &mut AbiChange| {
            let columns = raw(&mut post(abi).columns);
            let (list, count) = (columns.children, columns.n_children as usize);
            // SAFETY: the exporter's child list, with an entry per column.
            let first = unsafe { *list };
            match case {
                0 => columns.n_children += 1,
                1 => columns.children = std::ptr::null_mut(),
                // SAFETY: as above, writable.
                _ => unsafe { *list = std::ptr::null_mut() },
            }
            // SAFETY: the block is alive while any of its arrays is unreleased; the list
            // and its children are the exporter's, put back as they were.
            move || unsafe {
                *list = first;
                for i in 0..count {
                    let child = &mut **list.add(i);
                    if let Some(release) = child.release {
                        release(child);
                    }
                }
            }
        };
        assert_eq!(import_spoiled_then(spoil), expected);
    }
}

/// The first diff's `post` side, mutably.
fn post(abi: &mut AbiChange) -> &mut crate::abi::AbiRows {
    // SAFETY: tests only spoil changes they exported, which have a first diff.
    unsafe { &mut (*abi.diffs).post }
}

/// An array of an `AbiRows` as the C struct, to spoil its fields.
pub(super) fn raw(array: &mut arrow_array::ffi::FFI_ArrowArray) -> &mut super::raw::RawArray {
    // SAFETY: the same `#[repr(C)]` layout (asserted in `raw`).
    unsafe { &mut *(array as *mut arrow_array::ffi::FFI_ArrowArray).cast() }
}

/// A change to what crossed, made on purpose.
type Spoil = Box<dyn FnOnce(&mut AbiChange)>;

/// A validity bitmap whose first slot is null.
static FIRST_NULL: [u8; 8] = [0b1111_1110, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/// A released array, to hang where no dictionary belongs.
pub(super) struct Released(pub(super) std::cell::UnsafeCell<super::raw::RawArray>);

// SAFETY: only ever read (a release finds it released and leaves it).
unsafe impl Sync for Released {}

static RELEASED_DICTIONARY: Released =
    Released(std::cell::UnsafeCell::new(super::raw::RawArray::RELEASED));

/// Hangs a dictionary on `array`, which should have none: a released array, so that the
/// producer's release finds nothing to release in it.
pub(super) fn hang_dictionary(array: &mut super::raw::RawArray) {
    array.dictionary = RELEASED_DICTIONARY.0.get();
}

#[test]
fn every_malformed_change_is_an_error_naming_what_is_wrong() {
    let cases: [(&str, Spoil); 20] = [
        (
            "diff 0 of the change: its post rows: a batch's struct array has a dictionary",
            Box::new(|abi| hang_dictionary(raw(&mut post(abi).columns))),
        ),
        (
            "a change lists 4611686018427387904 diffs, more than memory can hold",
            Box::new(|abi| {
                // The exported diffs are released when `Outgoing` is dropped.
                abi.diff_count = 1 << 62;
            }),
        ),
        (
            "a change lists 1 diff but its diff array is null or misaligned",
            Box::new(|abi| {
                // The exported diffs are released when `Outgoing` is dropped.
                abi.diffs = std::ptr::null_mut();
            }),
        ),
        (
            "diff 0 of the change: its reserved field is 1, not 0 (is `diff_count` larger than the diffs written?); the diffs from it on were left untouched (not released), since nothing they point to can be trusted",
            // SAFETY: the change has a first diff.
            Box::new(|abi| unsafe { (*abi.diffs).reserved = 1 }),
        ),
        (
            "diff 0 of the change: an insert has no pre rows, but its pre side is not empty (schema id 7); an absent side is schema id 0 with released arrays",
            // SAFETY: as above.
            Box::new(|abi| unsafe { (*abi.diffs).pre.schema_id = 7 }),
        ),
        (
            "diff 0 of the change: an update needs pre rows, but its pre side has schema id 0",
            // SAFETY: as above.
            Box::new(|abi| unsafe { (*abi.diffs).kind = crate::abi::DIFF_UPDATE }),
        ),
        (
            "diff 0 of the change: a remove has no post rows, but its post side is not empty (schema id 1, arrays not released); an absent side is schema id 0 with released arrays",
            // SAFETY: as above.
            Box::new(|abi| unsafe { (*abi.diffs).kind = crate::abi::DIFF_REMOVE }),
        ),
        (
            "diff 0 of the change: its kind is 9, not 1, 2 or 3 (is `diff_count` larger than the diffs written?); the diffs from it on were left untouched (not released), since nothing they point to can be trusted",
            // SAFETY: as above.
            Box::new(|abi| unsafe { (*abi.diffs).kind = 9 }),
        ),
        (
            "diff 0 of the change: its kind is 0, not 1, 2 or 3 (is `diff_count` larger than the diffs written?); the diffs from it on were left untouched (not released), since nothing they point to can be trusted",
            // SAFETY: as above.
            Box::new(|abi| unsafe { (*abi.diffs).kind = 0 }),
        ),
        (
            "diff 0 of the change: its post rows: a schema pointer is misaligned",
            Box::new(|abi| {
                let rows = post(abi);
                rows.schema = rows.schema.cast::<u8>().wrapping_add(1).cast();
            }),
        ),
        (
            "diff 0 of the change: its post rows: a batch has no columns array (its release is null: released already, or never filled in)",
            Box::new(|abi| {
                // SAFETY: a valid array not taken yet; dropping it releases it.
                drop(unsafe { arrow_array::ffi::FFI_ArrowArray::from_raw(&mut post(abi).columns) });
            }),
        ),
        (
            "diff 0 of the change: its post rows: no row numbers (their array's release is null: released already, or never filled in)",
            Box::new(|abi| {
                // SAFETY: as above.
                drop(unsafe {
                    arrow_array::ffi::FFI_ArrowArray::from_raw(&mut post(abi).row_numbers)
                });
            }),
        ),
        (
            "diff 0 of the change: its post rows: row numbers must not be null",
            Box::new(|abi| {
                let numbers = raw(&mut post(abi).row_numbers);
                numbers.null_count = 1;
                // SAFETY: the exporter's buffer list, writable, with a validity slot.
                unsafe { *numbers.buffers = FIRST_NULL.as_ptr().cast() };
            }),
        ),
        (
            // Fewer numbers than rows: a shorter length reads less.
            "diff 0 of the change: its post rows: 0 row numbers for a batch of 2 rows",
            Box::new(|abi| raw(&mut post(abi).row_numbers).length = 0),
        ),
        (
            // A batch longer than its row numbers is refused before its columns are read
            // (which would say a column is shorter than its batch, or read past buffers
            // made for the numbers' count).
            "diff 0 of the change: its post rows: 2 row numbers for a batch of 3 rows",
            Box::new(|abi| raw(&mut post(abi).columns).length = 3),
        ),
        (
            "diff 0 of the change: its post rows: its row numbers: an array of type UInt64 has a dictionary",
            Box::new(|abi| hang_dictionary(raw(&mut post(abi).row_numbers))),
        ),
        (
            "diff 0 of the change: its post rows: a batch's struct array must not have null rows",
            Box::new(|abi| {
                let columns = raw(&mut post(abi).columns);
                columns.null_count = 1;
                // SAFETY: as above.
                unsafe { *columns.buffers = FIRST_NULL.as_ptr().cast() };
            }),
        ),
        (
            "diff 0 of the change: its post rows: its row numbers: it has 1 null but no validity bitmap",
            Box::new(|abi| raw(&mut post(abi).row_numbers).null_count = 1),
        ),
        (
            "diff 0 of the change: its post rows: a batch's struct array: it has 1 null but no validity bitmap",
            Box::new(|abi| raw(&mut post(abi).columns).null_count = 1),
        ),
        (
            // The insert's absent pre side carries a pointer the ABI leaves unset (here one
            // that would crash if read): the failure's clean-up reads no schema there.
            "diff 0 of the change: its post rows: a batch's struct array: it has 1 null but no validity bitmap",
            Box::new(|abi| {
                // SAFETY: the change has a first diff.
                unsafe { (*abi.diffs).pre.schema = std::ptr::dangling() };
                raw(&mut post(abi).columns).null_count = 1;
            }),
        ),
    ];
    for (expected, spoil) in cases {
        assert_eq!(import_spoiled(spoil), expected);
    }
}

/// Column `index` of the first diff's post rows, as the C struct.
fn post_column(abi: &mut AbiChange, index: usize) -> &mut super::raw::RawArray {
    let columns = raw(&mut post(abi).columns);
    // SAFETY: an exported batch's child list holds one valid array per column.
    unsafe { &mut *columns.child(index) }
}

/// What the mutation fuzzing of the exchange found (each was accepted, and the first
/// crashed): a length past what memory can hold, nulls in a column declared without them.
/// (A null count the bitmap disagrees with is taken on the producer's word, as arrow-rs's
/// importer takes it: docs/abi.md.)
#[test]
fn sizes_and_nullability_that_lie_are_errors() {
    let cases: [(&str, Spoil); 2] = [
        (
            "diff 0 of the change: its post rows: its row numbers: 1152921504606846978 values of 8 bytes are more than memory can hold",
            Box::new(|abi| raw(&mut post(abi).row_numbers).offset = 1 << 60),
        ),
        (
            "diff 0 of the change: its post rows: column `amount`: 1152921504606846978 values of 8 bytes are more than memory can hold",
            Box::new(|abi| post_column(abi, 0).offset = 1 << 60),
        ),
    ];
    for (expected, spoil) in cases {
        assert_eq!(import_spoiled(spoil), expected);
    }
    // Nulls in a column its schema declares without them.
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "amount",
        arrow_schema::DataType::Int64,
        false,
    )]));
    let batch =
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2])) as _]).unwrap();
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: Rows::new(vec![0u64, 1], batch).unwrap(),
        }],
    );
    let mut abi = out.export_change(change, &mut outbox).unwrap();
    let amount = post_column(&mut abi, 0);
    amount.null_count = 1;
    // SAFETY: the exporter's buffer list, writable, with a validity slot.
    unsafe { *amount.buffers = FIRST_NULL.as_ptr().cast() };
    // SAFETY: exported above; the arrays stay readable and releasable.
    let err = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "diff 0 of the change: its post rows: column `amount` is declared without nulls but has 1 null"
    );
}

/// The block a change's first `post` side was laid out in.
fn block_of(abi: &mut AbiChange) -> *mut std::ffi::c_void {
    raw(&mut post(abi).columns).private_data
}

#[test]
fn a_steady_stream_reuses_one_block_and_never_one_still_in_use() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let change = |v| {
        Change::new(
            v,
            Timestamp(0),
            vec![Diff::Insert {
                post: rows(&(0..100).collect::<Vec<_>>(), 0),
            }],
        )
    };
    let mut abi = out.export_change(change(1), &mut outbox).unwrap();
    let first = block_of(&mut abi);
    // SAFETY: exported just above.
    drop(unsafe { import_change(&abi, &mut inbox) }.unwrap());
    outbox.commit();
    let mut abi = out.export_change(change(2), &mut outbox).unwrap();
    assert_eq!(block_of(&mut abi), first, "a released block is reused");
    // SAFETY: as above.
    let kept = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    let mut abi = out.export_change(change(3), &mut outbox).unwrap();
    assert_ne!(block_of(&mut abi), first, "a block still in use is not");
    // SAFETY: as above.
    let third = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    drop(out);
    assert_eq!((kept, third), (change(2), change(3)));
}

#[test]
fn the_senders_values_go_when_the_last_array_does_not_when_the_block_is_reused() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let sent = rows(&[1, 2], 0);
    let column = sent.batch().column(0).clone();
    let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post: sent }]);
    let abi = out.export_change(change, &mut outbox).unwrap();
    assert_eq!(Arc::strong_count(&column), 2, "the block keeps the change");
    // SAFETY: exported just above.
    drop(unsafe { import_change(&abi, &mut inbox) }.unwrap());
    assert_eq!(
        Arc::strong_count(&column),
        1,
        "released with the last array, though the block is still held"
    );
}

/// An answered sender's values stay alive after the receiver released every array, until
/// `clear`: the answer is read beside them.
#[test]
fn an_answered_senders_values_stay_until_clear_whatever_the_receiver_released() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::answered(),
    );
    let sent = rows(&[1, 2], 0);
    let column = sent.batch().column(0).clone();
    let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post: sent }]);
    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    // SAFETY: exported just above.
    drop(unsafe { import_change(&abi, &mut inbox) }.unwrap());
    // `change`, `column`, and the block's values.
    assert_eq!(Arc::strong_count(&column), 3, "pinned: still kept");
    assert_eq!(out.sent(), Some(&change.diffs[..]));
    out.clear();
    assert_eq!(Arc::strong_count(&column), 2, "given up with the pin");
    assert_eq!(out.sent(), None);
    // The block is free again: the next change is written over it.
    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    // SAFETY: exported just above.
    drop(unsafe { import_change(&abi, &mut inbox) }.unwrap());
    drop(out);
    assert_eq!(Arc::strong_count(&column), 2, "`change` and `column`");
}

/// The other side of an answered exchange: imports `sent` (as a plugin would), lets `edit`
/// change what it will answer, lays that out, and reads it back beside what was sent.
fn answer(sent: &Change, edit: impl FnOnce(Change) -> Change) -> Change {
    answer_read(sent, edit, |_| {}, true).unwrap()
}

/// The round trip under [`answer`] and [`answer_spoiled`]: `sent` imported by the other side,
/// changed by `edit`, laid out back, spoiled by `spoil`, and read beside what was sent
/// (`answered`) or not.
fn answer_read(
    sent: &Change,
    edit: impl FnOnce(Change) -> Change,
    spoil: impl FnOnce(&mut AbiChange),
    answered: bool,
) -> crate::Result<Change> {
    let (mut to_them, mut their_in, mut ours) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::answered(),
    );
    let (mut to_us, mut our_in, mut theirs) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let abi = ours.export_change(sent.clone(), &mut to_them).unwrap();
    // SAFETY: exported just above.
    let input = unsafe { import_change(&abi, &mut their_in) }.unwrap();
    to_them.commit();
    let mut abi = theirs.export_change(edit(input), &mut to_us).unwrap();
    spoil(&mut abi);
    let beside = if answered { ours.sent() } else { None };
    // SAFETY: exported just above; what was sent is pinned until `clear`; each spoiling
    // keeps the arrays readable and releasable.
    let back = unsafe { import_answer(&abi, &mut our_in, beside) };
    to_us.commit();
    ours.clear();
    back
}

/// The rows of the insert that is `change`'s first diff.
fn inserted(change: &Change) -> &Rows {
    match &change.diffs[0] {
        Diff::Insert { post } => post,
        _ => unreachable!("an insert"),
    }
}

/// A change of one insert of `batch`, its rows numbered `numbers`.
fn insert_numbered(numbers: impl Into<arrow_array::UInt64Array>, batch: RecordBatch) -> Change {
    let post = Rows::new(numbers, batch).unwrap();
    Change::new(1, Timestamp(0), vec![Diff::Insert { post }])
}

fn columns_of(change: &Change, diff: usize) -> Vec<arrow_array::ArrayRef> {
    let [pre, post] = super::export::sides(&change.diffs[diff]);
    pre.into_iter()
        .chain(post)
        .flat_map(|rows| rows.batch().columns().to_vec())
        .collect()
}

/// What reading an answer to `sent`, spoiled by `spoil` on its way, says: beside what was
/// sent (`answered`) or not.
fn answer_spoiled(sent: &Change, answered: bool, spoil: &dyn Fn(&mut AbiChange)) -> String {
    let read = answer_read(sent, |input| input, spoil, answered);
    read.map(|_| ()).unwrap_err().to_string()
}

/// An answered column or row numbers whose offset puts their bytes past what memory can
/// hold is the import's error, beside what was sent as without it: nothing is compared,
/// and no pointer is made past the buffer.
#[test]
fn an_answer_with_an_offset_past_memory_is_the_same_error_beside_what_was_sent() {
    let sent = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1, 2, 3], 0),
        }],
    );
    type SpoilInPlace<'a> = &'a dyn Fn(&mut AbiChange);
    let spoils: [(&str, SpoilInPlace); 3] = [
        ("column `amount`", &|abi| {
            post_column(abi, 0).offset = 1 << 60
        }),
        ("column `label`", &|abi| {
            post_column(abi, 1).offset = 1 << 61
        }),
        ("row numbers", &|abi| {
            raw(&mut post(abi).row_numbers).offset = 1 << 60
        }),
    ];
    for (what, spoil) in spoils {
        let beside = answer_spoiled(&sent, true, spoil);
        assert_eq!(beside, answer_spoiled(&sent, false, spoil), "{what}");
        assert!(
            beside.contains(what) && beside.contains("more than memory can hold"),
            "{beside}"
        );
    }
}

/// A column answered over the sent one's buffers but declared another type (a timestamp
/// with a zone over Int64 values, a decimal of another precision) is read as its field
/// says, not taken back as the sent array.
#[test]
fn a_column_answered_as_another_type_over_the_same_buffers_is_read_as_declared() {
    use arrow_array::{Decimal128Array, TimestampMicrosecondArray};
    use arrow_schema::DataType;
    let batch = RecordBatch::try_from_iter([
        (
            "at",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as arrow_array::ArrayRef,
        ),
        (
            "price",
            Arc::new(
                Decimal128Array::from(vec![100, 250, 399])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ) as _,
        ),
    ])
    .unwrap();
    let sent = insert_numbered(vec![0u64, 1, 2], batch);
    let back = answer(&sent, |input| {
        let post = inserted(&input);
        let at = post
            .batch()
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        let at = TimestampMicrosecondArray::new(at.values().clone(), None).with_timezone("UTC");
        let price = post
            .batch()
            .column(1)
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .unwrap();
        let price = price.clone().with_precision_and_scale(12, 2).unwrap();
        let batch = RecordBatch::try_from_iter([
            ("at", Arc::new(at) as arrow_array::ArrayRef),
            ("price", Arc::new(price) as _),
        ])
        .unwrap();
        insert_numbered(post.row_numbers().clone(), batch)
    });
    let (ours, theirs) = (columns_of(&sent, 0), columns_of(&back, 0));
    for (i, want) in [
        DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Decimal128(12, 2),
    ]
    .into_iter()
    .enumerate()
    {
        assert!(
            !Arc::ptr_eq(&ours[i], &theirs[i]),
            "column {i} taken back as the sent type"
        );
        assert_eq!(theirs[i].data_type(), &want);
        let Diff::Insert { post } = &back.diffs[0] else {
            unreachable!()
        };
        assert_eq!(post.batch().schema().field(i).data_type(), &want);
    }
}

/// Columns answered as they were sent are the very arrays sent, whether their buffers were
/// shared (past `SMALL` bytes) or copied on the way (all of them, in a row of one); so are
/// row numbers. Every side of every kind of diff is compared at its own place.
#[test]
fn columns_answered_as_they_were_sent_are_the_very_arrays_sent() {
    let change = Change::new(
        3,
        Timestamp(9),
        vec![
            Diff::Insert {
                post: rows(&(0..500).collect::<Vec<_>>(), 0),
            },
            Diff::Update {
                pre: rows(&[4], 600),
                post: rows(&[5], 600),
            },
            Diff::Remove {
                pre: rows(&[6, 7], 700),
            },
        ],
    );
    let back = answer(&change, |input| input);
    assert_eq!(back, change);
    for diff in 0..3 {
        for (sent, came) in columns_of(&change, diff)
            .iter()
            .zip(columns_of(&back, diff))
        {
            assert!(
                Arc::ptr_eq(sent, &came),
                "diff {diff}: a column was rebuilt"
            );
        }
        let [pre, post] = super::export::sides(&change.diffs[diff]);
        let [pre_back, post_back] = super::export::sides(&back.diffs[diff]);
        for (sent, came) in pre
            .into_iter()
            .chain(post)
            .zip(pre_back.into_iter().chain(post_back))
        {
            assert!(
                sent.row_numbers()
                    .values()
                    .inner()
                    .ptr_eq(came.row_numbers().values().inner()),
                "diff {diff}: row numbers rebuilt"
            );
        }
    }
}

/// A column answered with other values (one of them changed, in a small buffer or a large
/// one; fewer rows; another column at its place) is read as the other side laid it out,
/// and reads as it should; the columns beside it are still taken back.
#[test]
fn columns_answered_changed_are_read_as_laid_out() {
    let sent = |n: i64| {
        Change::new(
            1,
            Timestamp(0),
            vec![Diff::Insert {
                post: rows(&(0..n).collect::<Vec<_>>(), 0),
            }],
        )
    };
    let with_amounts = |change: Change, amounts: Vec<i64>| {
        let post = inserted(&change);
        let mut columns = post.batch().columns().to_vec();
        columns[0] = Arc::new(Int64Array::from(amounts));
        let batch = RecordBatch::try_new(post.batch().schema(), columns).unwrap();
        insert_numbered(post.row_numbers().clone(), batch)
    };
    // 3 rows (small buffers, compared byte for byte) and 500 (a large one, elsewhere).
    for n in [3, 500] {
        let change = sent(n);
        let mut amounts: Vec<i64> = (0..n).collect();
        amounts[1] = 99;
        let back = answer(&change, |input| with_amounts(input, amounts.clone()));
        let (ours, theirs) = (columns_of(&change, 0), columns_of(&back, 0));
        assert!(
            !Arc::ptr_eq(&ours[0], &theirs[0]),
            "{n} rows: a changed column taken back"
        );
        assert_eq!(
            theirs[0]
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec(),
            amounts
        );
        assert!(
            Arc::ptr_eq(&ours[1], &theirs[1]),
            "{n} rows: the label column rebuilt"
        );
        // Equal values in a buffer of their own: taken back when small, read when large.
        let same: Vec<i64> = (0..n).collect();
        let back = answer(&change, |input| with_amounts(input, same.clone()));
        let theirs = columns_of(&back, 0);
        assert_eq!(Arc::ptr_eq(&ours[0], &theirs[0]), n == 3, "{n} rows");
        assert_eq!(back, change);
    }
    // Fewer rows: nothing of the sent batch is compared.
    let change = sent(4);
    let back = answer(&change, |input| {
        let post = inserted(&input);
        let post = Rows::new(post.row_numbers().slice(0, 2), post.batch().slice(0, 2)).unwrap();
        Change::new(1, Timestamp(0), vec![Diff::Insert { post }])
    });
    assert_eq!(columns_of(&back, 0)[0].len(), 2);
    // Another column at a column's place (the two swapped, of different types): each found
    // where it was sent by its name, and taken back.
    let swapped = |input: Change| {
        let post = inserted(&input);
        let batch = RecordBatch::try_from_iter([
            ("label", post.batch().column(1).clone()),
            ("amount", post.batch().column(0).clone()),
        ])
        .unwrap();
        insert_numbered(post.row_numbers().clone(), batch)
    };
    let back = answer(&change, swapped);
    let (ours, theirs) = (columns_of(&change, 0), columns_of(&back, 0));
    assert!(Arc::ptr_eq(&ours[0], &theirs[1]) && Arc::ptr_eq(&ours[1], &theirs[0]));
    assert_eq!(
        theirs[0]
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(3),
        "#3"
    );
}

/// The columns an operator keeps of its input, wherever it puts them (one dropped before
/// them, one renamed, one appended), are found among those sent by their names (or at
/// their place, renamed) and taken back; a column sent that is not where its name says
/// (another of the same name) is read as laid out.
#[test]
fn columns_kept_by_a_projection_are_found_by_name_and_taken_back() {
    let batch = RecordBatch::try_from_iter([
        (
            "a",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as arrow_array::ArrayRef,
        ),
        ("b", Arc::new(StringArray::from(vec!["x", "y", "z"])) as _),
        ("c", Arc::new(Int64Array::from(vec![7, 8, 9])) as _),
    ])
    .unwrap();
    let sent = insert_numbered(vec![0u64, 1, 2], batch);
    let project = |names: &'static [(&'static str, usize)]| {
        move |input: Change| {
            let post = inserted(&input);
            let columns = names.iter().map(|&(name, at)| {
                let column = match at {
                    usize::MAX => Arc::new(Int64Array::from(vec![0, 0, 0])) as _,
                    at => post.batch().column(at).clone(),
                };
                (name, column)
            });
            let batch = RecordBatch::try_from_iter(columns).unwrap();
            insert_numbered(post.row_numbers().clone(), batch)
        }
    };
    let ours = columns_of(&sent, 0);
    // `c` then `b` (`a` dropped), a renamed `c` at `c`'s place, and a new column.
    for (names, taken) in [
        (&[("c", 2), ("b", 1)][..], &[Some(2), Some(1)][..]),
        (
            &[("a", 0), ("b", 1), ("renamed", 2)][..],
            &[Some(0), Some(1), Some(2)][..],
        ),
        (&[("a", 0), ("new", usize::MAX)][..], &[Some(0), None][..]),
        // `a`'s name on `c`'s values: looked for at `a`, not found there, so read.
        (&[("b", 1), ("a", 2)][..], &[Some(1), None][..]),
    ] {
        let back = answer(&sent, project(names));
        let theirs = columns_of(&back, 0);
        for (i, want) in taken.iter().enumerate() {
            match want {
                Some(at) => assert!(Arc::ptr_eq(&ours[*at], &theirs[i]), "{names:?}: column {i}"),
                None => assert!(
                    ours.iter().all(|ours| !Arc::ptr_eq(ours, &theirs[i])),
                    "{names:?}: column {i}"
                ),
            }
        }
        let Diff::Insert { post } = &back.diffs[0] else {
            unreachable!()
        };
        assert_eq!(post.batch().num_columns(), names.len());
    }
}

/// A `Drop` that panics in what a block keeps does not unwind out of the `release` that
/// drops it (an `extern "C"` function: the process would abort), and the other values of
/// the block are still dropped.
#[test]
fn a_value_whose_drop_panics_does_not_unwind_out_of_the_release() {
    /// The owner of a buffer, which panics when the buffer goes.
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("a buffer's owner panicked in its drop");
        }
    }
    static VALUES: [i64; 1] = [7];
    let ptr = std::ptr::NonNull::from(&VALUES).cast::<u8>();
    // SAFETY: 8 bytes of a static, alive for ever.
    let bomb = unsafe { arrow_buffer::Buffer::from_custom_allocation(ptr, 8, Arc::new(Bomb)) };
    let kept = Arc::new(Int64Array::from(vec![8])) as arrow_array::ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("bomb", Arc::new(Int64Array::new(bomb.into(), None)) as _),
        ("kept", kept.clone()),
    ])
    .unwrap();
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: Rows::new(vec![0], batch).unwrap(),
        }],
    );
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    out.export_change(change, &mut outbox).unwrap();
    assert_eq!(Arc::strong_count(&kept), 2, "the block keeps the change");
    // The receiver took nothing: the arrays are released here, the last one dropping the
    // values (the panic hook prints the bomb's panic).
    out.clear();
    assert_eq!(
        Arc::strong_count(&kept),
        1,
        "the other column was dropped too"
    );
}

/// Exports `change` and takes it back in the same process through an inbox that
/// recognises its own arrays, after `spoil` changed what crossed.
fn back_home(change: &Change, spoil: impl FnOnce(&mut AbiChange)) -> Change {
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let mut abi = out.export_change(change.clone(), &mut outbox).unwrap();
    spoil(&mut abi);
    let mut inbox = SchemaInbox::recognizing_own();
    // SAFETY: exported above; each spoiling keeps the arrays readable and releasable.
    unsafe { import_change(&abi, &mut inbox) }.unwrap()
}

fn first_column_of(change: &Change) -> arrow_array::ArrayRef {
    match &change.diffs[0] {
        Diff::Insert { post } => post.batch().column(0).clone(),
        _ => unreachable!(),
    }
}

#[test]
fn batches_that_come_back_unchanged_are_taken_back_as_the_very_batches_sent() {
    let change = Change::new(
        1,
        Timestamp(0),
        vec![
            Diff::Insert {
                post: rows(&[1, 2, 3], 0),
            },
            Diff::Update {
                pre: rows(&[4], 9),
                post: rows(&[5], 9),
            },
        ],
    );
    let back = back_home(&change, |_| {});
    assert_eq!(back, change);
    // The same column objects, not new arrays over the same buffers.
    assert!(Arc::ptr_eq(
        &first_column_of(&back),
        &first_column_of(&change)
    ));
    // A default inbox imports them instead: equal values, new arrays.
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    // SAFETY: exported above.
    let imported = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap();
    assert_eq!(imported, change);
    assert!(!Arc::ptr_eq(
        &first_column_of(&imported),
        &first_column_of(&change)
    ));
}

#[test]
fn batches_changed_on_the_way_or_swapped_are_imported_not_recognised() {
    let change = Change::new(
        1,
        Timestamp(0),
        vec![
            Diff::Insert {
                post: rows(&[1, 2, 3], 0),
            },
            Diff::Insert {
                post: rows(&[7, 8, 9], 10),
            },
        ],
    );
    // The receiver shortened the batch: what comes back is the shorter batch.
    let back = back_home(&change, |abi| {
        raw(&mut post(abi).columns).length = 2;
        raw(&mut post(abi).row_numbers).length = 2;
    });
    let Diff::Insert { post: first } = &back.diffs[0] else {
        unreachable!()
    };
    assert_eq!(first.batch().num_rows(), 2);
    assert!(!Arc::ptr_eq(
        &first.batch().column(0).clone(),
        &first_column_of(&change)
    ));
    // Row numbers of one batch with the columns of another: imported as they are.
    let back = back_home(&change, |abi| {
        // SAFETY: the change has two diffs; their row-number arrays swap places whole.
        unsafe {
            let second = &mut (*abi.diffs.add(1)).post.row_numbers;
            std::mem::swap(&mut (*abi.diffs).post.row_numbers, second);
        }
    });
    let Diff::Insert { post: first } = &back.diffs[0] else {
        unreachable!()
    };
    assert_eq!(first.row_numbers().values(), &[10, 11, 12]);
    assert_eq!(
        first.batch().column(0).as_ref(),
        first_column_of(&change).as_ref()
    );
    // Two columns of one type swapped in their list: read where they now stand, not taken
    // for the batch sent.
    let pair = RecordBatch::try_from_iter([
        ("a", Arc::new(Int64Array::from(vec![1, 2])) as _),
        ("b", Arc::new(Int64Array::from(vec![3, 4])) as _),
    ])
    .unwrap();
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: Rows::new(vec![0u64, 1], pair).unwrap(),
        }],
    );
    let back = back_home(&change, |abi| {
        // SAFETY: the batch's list of two column pointers, as laid out.
        unsafe {
            let list = raw(&mut post(abi).columns).children;
            std::ptr::swap(list, list.add(1));
        }
    });
    let Diff::Insert { post: swapped } = &back.diffs[0] else {
        unreachable!()
    };
    let values = |i: usize| {
        let column = swapped.batch().column(i);
        column
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .values()
            .to_vec()
    };
    assert_eq!((values(0), values(1)), (vec![3, 4], vec![1, 2]));
}

#[test]
fn a_batch_of_ours_declared_with_another_schema_is_not_taken_back() {
    let swapped = RecordBatch::try_from_iter([
        ("label", Arc::new(StringArray::from(vec!["a", "b"])) as _),
        ("amount", Arc::new(Int64Array::from(vec![1, 2])) as _),
    ])
    .unwrap();
    let change = Change::new(
        1,
        Timestamp(0),
        vec![
            Diff::Insert {
                post: rows(&[1, 2], 0),
            },
            Diff::Insert {
                post: Rows::new(vec![5, 6], swapped).unwrap(),
            },
        ],
    );
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let abi = out.export_change(change, &mut outbox).unwrap();
    // Each side now claims the other's schema (both schemas travel with this change).
    // SAFETY: the change has two diffs, each with its schema pointer set.
    unsafe {
        let (first, second) = (&mut (*abi.diffs).post, &mut (*abi.diffs.add(1)).post);
        std::mem::swap(&mut first.schema_id, &mut second.schema_id);
        std::mem::swap(&mut first.schema, &mut second.schema);
    }
    let mut inbox = SchemaInbox::recognizing_own();
    // SAFETY: exported above; the schemas and arrays are intact, only paired differently.
    let err = unsafe { import_change(&abi, &mut inbox) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "diff 0 of the change: its post rows: column `label`: it has 2 buffers where its type has 3"
    );
}

/// A change of an insert and an update, the update's `pre` with a struct column (whose
/// child a receiver may move out).
fn two_diffs() -> Change {
    let nested = RecordBatch::try_from_iter([(
        "point",
        Arc::new(arrow_array::StructArray::from(vec![(
            Arc::new(arrow_schema::Field::new(
                "x",
                arrow_schema::DataType::Int64,
                false,
            )),
            Arc::new(Int64Array::from(vec![7, 8])) as arrow_array::ArrayRef,
        )])) as _,
    )])
    .unwrap();
    Change::new(
        3,
        Timestamp(4),
        vec![
            Diff::Insert {
                post: rows(&[1, 2, 3], 0),
            },
            Diff::Update {
                pre: Rows::new(vec![5u64, 6], nested).unwrap(),
                post: rows(&[9, 10], 5),
            },
        ],
    )
}

#[test]
fn a_change_returned_untouched_is_taken_back_whole_and_its_block_reused() {
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let change = two_diffs();
    let column = first_column_of(&change);
    let mut abi = out.export_change(change.clone(), &mut outbox).unwrap();
    let block = block_of(&mut abi);
    let back = out.take_back().expect("every array is in place");
    assert_eq!(back, change.diffs);
    let Diff::Insert { post } = &back[0] else {
        panic!("expected an insert")
    };
    assert!(
        Arc::ptr_eq(post.batch().column(0), &column),
        "the very arrays that were sent"
    );
    assert!(out.take_back().is_none(), "nothing is left to take back");
    // Nobody read the schemas: they go again.
    outbox.rollback();
    let mut abi = out.export_change(change.clone(), &mut outbox).unwrap();
    assert_eq!(block_of(&mut abi), block, "the block is free at once");
    drop(back);
    // SAFETY: exported just above.
    let again = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap();
    assert_eq!(again, change);
}

/// The release of an array another producer made: nothing to free.
unsafe extern "C" fn another_producers_release(array: *mut raw::RawArray) {
    // SAFETY: called on the array it was set on, still valid.
    unsafe { (*array).release = None };
}

#[test]
fn a_change_with_an_array_taken_moved_out_replaced_or_sliced_is_not_taken_back() {
    type Take = fn(&mut AbiChange) -> Box<dyn std::any::Any>;
    let takes: [(&str, Take); 5] = [
        ("a child replaced by another producer's array", |abi| {
            // SAFETY: the second diff's pre, as below; the slot gets an array whose release
            // is another producer's (it only marks it released).
            let taken = unsafe {
                let pre = &mut (*abi.diffs.add(1)).pre;
                let point = *raw(&mut pre.columns).children;
                let slot = *(*point).children;
                let taken = raw::RawArray::take(slot);
                slot.write(raw::RawArray {
                    length: taken.length,
                    n_buffers: taken.n_buffers,
                    buffers: taken.buffers,
                    release: Some(another_producers_release),
                    ..raw::RawArray::RELEASED
                });
                taken
            };
            Box::new(raw::Taken(taken))
        }),
        ("a top-level array sliced in place", |abi| {
            raw(&mut post(abi).columns).length -= 1;
            Box::new(())
        }),
        ("a top-level array", |abi| {
            // SAFETY: the first diff's post columns, exported by the test.
            let taken = unsafe { raw::RawArray::take(raw(&mut post(abi).columns)) };
            Box::new(raw::Taken(taken))
        }),
        ("the row numbers", |abi| {
            // SAFETY: as above.
            let taken = unsafe { raw::RawArray::take(raw(&mut post(abi).row_numbers)) };
            Box::new(raw::Taken(taken))
        }),
        ("a child of a struct column", |abi| {
            // SAFETY: the second diff's pre: a batch of one struct column with one child.
            let taken = unsafe {
                let pre = &mut (*abi.diffs.add(1)).pre;
                let columns = raw(&mut pre.columns);
                let point = *columns.children;
                raw::RawArray::take(*(*point).children)
            };
            Box::new(raw::Taken(taken))
        }),
    ];
    for (what, take) in takes {
        let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
        let mut abi = out.export_change(two_diffs(), &mut outbox).unwrap();
        let taken = take(&mut abi);
        assert!(out.take_back().is_none(), "{what} was taken");
        // The rest is released as usual, and what was taken stays valid until dropped.
        out.clear();
        drop(taken);
    }
}

#[test]
fn a_change_whose_lists_were_reordered_or_looped_is_not_taken_back() {
    // Two columns swapped in their list: each still in place, but not in its place.
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let mut abi = out.export_change(two_diffs(), &mut outbox).unwrap();
    let list = raw(&mut post(&mut abi).columns).children;
    // SAFETY: the first diff's post batch has two columns.
    unsafe { std::ptr::swap(list, list.add(1)) };
    assert!(out.take_back().is_none(), "columns swapped were taken");
    out.clear();

    // A struct column whose child list points back at the struct itself: the walk stops
    // (it recursed until the stack ran out).
    let abi = out.export_change(two_diffs(), &mut outbox).unwrap();
    // SAFETY: the second diff's pre: a batch of one struct column with one child.
    let (point, child) = unsafe {
        let point = *raw(&mut (*abi.diffs.add(1)).pre.columns).children;
        let child = *(*point).children;
        (*(*point).children) = point;
        (point, child)
    };
    assert!(out.take_back().is_none(), "a looped tree was taken");
    // Put back, so that the release finds every array.
    // SAFETY: as above.
    unsafe { *(*point).children = child };
    out.clear();

    // A column whose list is made its batch's own list (each array of it then has the
    // whole list below it, again and again): the walk stops after as many visits as the
    // block has arrays, where it would have made 2^17.
    let mut abi = out.export_change(two_diffs(), &mut outbox).unwrap();
    let columns = raw(&mut post(&mut abi).columns);
    let (list, width) = (columns.children, columns.n_children);
    // SAFETY: the first diff's post batch: two columns (leaves) in a list of two.
    let amount = unsafe { &mut **list };
    (amount.children, amount.n_children) = (list, width);
    assert!(out.take_back().is_none(), "a rewired tree was taken");
    (amount.children, amount.n_children) = (std::ptr::null_mut(), 0);
    out.clear();
}

/// The schema of [`stream_change`]'s batches.
fn stream_schema() -> arrow_schema::SchemaRef {
    use arrow_schema::{DataType, Field};
    Arc::new(Schema::new(vec![
        Field::new("amount", DataType::Int64, true),
        Field::new("label", DataType::Utf8, true),
        Field::new("flag", DataType::Boolean, true),
    ]))
}

/// A change of one insert whose batch has `schema` (Int64 `amount` with nulls, Utf8 `label`,
/// Boolean `flag`), sliced to rows `skip..`.
fn stream_change(schema: &arrow_schema::SchemaRef, values: &[Option<i64>], skip: usize) -> Change {
    let amounts = Int64Array::from(values.to_vec());
    let labels = StringArray::from_iter(values.iter().map(|v| v.map(|v| format!("#{v}"))));
    let flags = arrow_array::BooleanArray::from_iter(values.iter().map(|v| v.map(|v| v > 2)));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(amounts), Arc::new(labels), Arc::new(flags)],
    )
    .unwrap()
    .slice(skip, values.len() - skip);
    let numbers = (100..100 + batch.num_rows() as u64).collect::<Vec<_>>();
    Change::new(
        values.len() as u64,
        Timestamp(0),
        vec![Diff::Insert {
            post: Rows::new(numbers, batch).unwrap(),
        }],
    )
}

/// An empty slice's Utf8 column gets the single offset 0 when its block is written over
/// in place, as when it is laid out: arrow-rs's importer keeps an empty array's offset and
/// takes its data as empty, an invalid array when the offset is the slice's own.
#[test]
fn an_empty_slice_written_over_in_place_has_the_offset_zero() {
    let schema = stream_schema();
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let changes = [
        stream_change(&schema, &[Some(1); 4], 0),
        // At a whole byte, so that the booleans' bits need no copy (which is laid out anew).
        stream_change(&schema, &[Some(7); 16], 16),
    ];
    for (round, change) in changes.iter().enumerate() {
        let mut abi = out.export_change(change.clone(), &mut outbox).unwrap();
        assert_eq!(out.refills(), round, "the second is written over the first");
        let columns = raw(&mut post(&mut abi).columns);
        // SAFETY: the batch just laid out: its second column is a Utf8 array whose buffer
        // list holds its validity, offsets and data.
        let first_offset = unsafe {
            let label = &**columns.children.add(1);
            *(*label.buffers.add(1)).cast::<i32>()
        };
        assert_eq!(first_offset, 0, "round {round}");
        // SAFETY: exported just above.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        outbox.commit();
        assert_eq!(&back, change);
    }
}

#[test]
fn a_stream_of_one_schema_is_written_over_its_block_in_place_and_reads_back_exactly() {
    let schema = stream_schema();
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let mut cross = |change: &Change, out: &mut Outgoing| {
        let mut abi = out.export_change(change.clone(), &mut outbox).unwrap();
        let block = block_of(&mut abi);
        // SAFETY: exported just above.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        outbox.commit();
        assert_eq!(&back, change);
        block
    };
    let first = cross(&stream_change(&schema, &[Some(1), Some(2)], 0), &mut out);
    assert_eq!(out.refills(), 0, "the first change is laid out");
    // Other lengths, nulls where there were none, a slice at a whole byte.
    let changes = [
        stream_change(&schema, &[Some(3), None, Some(5), Some(6), None], 0),
        stream_change(&schema, &[Some(7); 20], 8),
        stream_change(&schema, &[], 0),
    ];
    for (i, change) in changes.iter().enumerate() {
        assert_eq!(cross(change, &mut out), first, "the same block");
        assert_eq!(out.refills(), i + 1, "written over in place");
    }
    // A bitmap at an offset within a byte needs a copy: laid out again, and still exact.
    let change = stream_change(&schema, &[Some(1), None, Some(3), None, Some(5)], 3);
    cross(&change, &mut out);
    assert_eq!(out.refills(), 3, "not written over in place");
    // Another schema (even an equal one in another `Arc`) is laid out, then becomes the
    // template.
    let other = Arc::new(Schema::new(schema.fields().clone()));
    cross(&stream_change(&other, &[Some(1)], 0), &mut out);
    assert_eq!(out.refills(), 3);
    cross(&stream_change(&other, &[Some(2), None], 0), &mut out);
    assert_eq!(out.refills(), 4);
    // Two diffs where the template has one: laid out.
    let mut two = stream_change(&other, &[Some(1)], 0);
    two.diffs.extend(stream_change(&other, &[Some(9)], 0).diffs);
    cross(&two, &mut out);
    assert_eq!(out.refills(), 4);
}

#[test]
fn a_block_still_in_use_is_never_written_over() {
    let schema = Arc::new(Schema::new(vec![
        arrow_schema::Field::new("amount", arrow_schema::DataType::Int64, true),
        arrow_schema::Field::new("label", arrow_schema::DataType::Utf8, true),
        arrow_schema::Field::new("flag", arrow_schema::DataType::Boolean, true),
    ]));
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    // Large enough to be shared: the import holds the block.
    let first = stream_change(&schema, &(0..100).map(Some).collect::<Vec<_>>(), 0);
    let abi = out.export_change(first.clone(), &mut outbox).unwrap();
    // SAFETY: exported just above.
    let kept = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    let second = stream_change(&schema, &[Some(3)], 0);
    let abi = out.export_change(second.clone(), &mut outbox).unwrap();
    assert_eq!(out.refills(), 0, "the first block is still read");
    // SAFETY: as above.
    let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    assert_eq!((kept, back), (first, second));
}

#[test]
fn a_change_whose_export_failed_half_way_leaves_no_schema_counted_as_sent() {
    use arrow_schema::{DataType, Field};
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let good = rows(&[1, 2], 0);
    // A field name with a NUL byte has no C string: its schema cannot be exported.
    let bad_schema = Arc::new(Schema::new(vec![Field::new(
        "a\0b",
        DataType::Int64,
        false,
    )]));
    let bad = Rows::new(
        vec![0u64],
        RecordBatch::try_new(bad_schema, vec![Arc::new(Int64Array::from(vec![7]))]).unwrap(),
    )
    .unwrap();
    let failing = Change::new(
        1,
        Timestamp(0),
        vec![
            Diff::Insert { post: good.clone() },
            Diff::Insert { post: bad },
        ],
    );
    let err = out.export_change(failing, &mut outbox).unwrap_err();
    assert!(err.to_string().contains("schema"), "{err}");
    // The next change with the first schema carries it: the failed one never reached the
    // receiver.
    let change = Change::new(2, Timestamp(0), vec![Diff::Insert { post: good }]);
    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    assert!(
        !abi_diff(&abi, 0).post.schema.is_null(),
        "the schema travels"
    );
    // SAFETY: exported just above.
    let back = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap();
    assert_eq!(back, change);
}

/// A schema node made by hand, as a malformed producer might send it.
fn node(format: &'static [u8], n_children: i64, children: *mut *mut RawSchema) -> RawSchema {
    RawSchema {
        format: format.as_ptr().cast(),
        name: c"f".as_ptr(),
        metadata: std::ptr::null(),
        flags: 0,
        n_children,
        children,
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    }
}

/// What reading `schema` gives, as an error message.
fn read_error(schema: &RawSchema) -> String {
    // SAFETY: the same `#[repr(C)]` layout (asserted in `raw`); only read.
    let ffi = unsafe { &*(schema as *const RawSchema).cast::<arrow_array::ffi::FFI_ArrowSchema>() };
    super::import::read_schema(ffi).unwrap_err().to_string()
}

#[test]
fn a_malformed_schema_is_an_error_never_a_crash() {
    let mut no_format = node(b"+s\0", 0, std::ptr::null_mut());
    no_format.format = std::ptr::null();
    assert_eq!(
        read_error(&no_format),
        "unreadable schema: a field has no format"
    );

    assert_eq!(
        read_error(&node(b"+s\0", -1, std::ptr::null_mut())),
        "unreadable schema: a field has -1 children, a negative count"
    );
    // A count past the bound is refused before the list is read.
    let mut one: [*mut RawSchema; 1] = [std::ptr::null_mut()];
    assert_eq!(
        read_error(&node(b"+s\0", (1 << 20) + 1, one.as_mut_ptr())),
        "unreadable schema: a field has 1048577 children, more than the 1048576 a schema may hold"
    );

    let mut null_child: [*mut RawSchema; 1] = [std::ptr::null_mut()];
    assert_eq!(
        read_error(&node(b"+s\0", 1, null_child.as_mut_ptr())),
        "unreadable schema: a child or dictionary pointer is null or misaligned"
    );

    // A struct whose child is itself: arrow-rs would recurse until the stack overflows.
    let mut cycle = node(b"+s\0", 1, std::ptr::null_mut());
    let mut list: [*mut RawSchema; 1] = [&raw mut cycle];
    cycle.children = list.as_mut_ptr();
    assert_eq!(
        read_error(&cycle),
        "unreadable schema: it nests deeper than 16 levels or has more than 1048576 fields"
    );

    // A name that is not UTF-8: arrow-rs asserts; that is an error too.
    let mut bad_name = node(b"l\0", 0, std::ptr::null_mut());
    bad_name.name = c"\xff".as_ptr();
    let mut children: [*mut RawSchema; 1] = [&raw mut bad_name];
    let message = read_error(&node(b"+s\0", 1, children.as_mut_ptr()));
    assert!(
        message.starts_with("unreadable schema: ") && message.contains("non-utf8"),
        "{message}"
    );

    // A format arrow-rs does not know: the column is named.
    let int = node(b"l\0", 0, std::ptr::null_mut());
    let mut unknown = node(b"q\0", 0, std::ptr::null_mut());
    unknown.name = c"qty".as_ptr();
    let mut children: [*mut RawSchema; 2] = [(&raw const int).cast_mut(), &raw mut unknown];
    assert_eq!(
        read_error(&node(b"+s\0", 2, children.as_mut_ptr())),
        "unreadable schema: column `qty` (format `q`): The datatype \"q\" is still not supported in Rust implementation"
    );
}

/// The receiver reads a schema as deep and as wide as its bounds (16 levels, 2^20 fields
/// besides the batch itself), and refuses one a level or a field past them, as the sender
/// does (a sender built before the bound sent deeper schemas).
#[test]
fn a_schema_at_the_bounds_is_read_and_one_past_them_is_refused() {
    use arrow_schema::{DataType, Field};
    let refused =
        "unreadable schema: it nests deeper than 16 levels or has more than 1048576 fields";
    // A column `levels` deep: a list of lists … of Int64 (the column at level 1).
    let deep = |levels: usize| {
        let mut data_type = DataType::Int64;
        for _ in 1..levels {
            data_type = DataType::List(Arc::new(Field::new_list_field(data_type, true)));
        }
        Arc::new(Schema::new(vec![Field::new("deep", data_type, true)]))
    };
    for (levels, readable) in [(16, true), (17, false)] {
        let schema = deep(levels);
        let ffi = arrow_array::ffi::FFI_ArrowSchema::try_from(schema.as_ref()).unwrap();
        match super::import::read_schema(&ffi) {
            Ok(read) => assert!(readable && read == *schema, "{levels} levels"),
            Err(error) => assert_eq!((readable, error.to_string().as_str()), (false, refused)),
        }
        assert_eq!(
            super::export::check_depth(&schema).is_ok(),
            readable,
            "the sender's bound is the receiver's ({levels} levels)"
        );
    }

    // 2^20 fields pass the bound: arrow-rs then reads them, and stops at the first, whose
    // format it does not know (so that the test does not build a million fields).
    let mut leaf = node(b"q\0", 0, std::ptr::null_mut());
    let mut wide = vec![&raw mut leaf; 1 << 20];
    let message = read_error(&node(b"+s\0", 1 << 20, wide.as_mut_ptr()));
    assert!(
        message.starts_with("unreadable schema: column `f` (format `q`)"),
        "{message}"
    );
    // Two structs of 2^19 fields each: 2^20 + 2 fields in all.
    let mut half = node(b"+s\0", 1 << 19, wide.as_mut_ptr());
    let mut two = [&raw mut half, &raw mut half];
    assert_eq!(read_error(&node(b"+s\0", 2, two.as_mut_ptr())), refused);
}

/// A release follows the block's lists no deeper than a crossing nests (17 levels below
/// where it began): a chain the other side wired through the block's arrays is left
/// unreleased past that (a leak), where following it could exhaust the stack.
#[test]
fn a_release_descends_no_deeper_than_a_crossing_nests() {
    const WIDTH: usize = 40;
    let batch = RecordBatch::try_from_iter((0..WIDTH).map(|i| {
        (
            format!("c{i}"),
            Arc::new(Int64Array::from(vec![i as i64])) as _,
        )
    }))
    .unwrap();
    let first = batch.column(0).clone();
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: Rows::new(vec![0], batch).unwrap(),
        }],
    );
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let mut abi = out.export_change(change, &mut outbox).unwrap();
    let columns = raw(&mut post(&mut abi).columns);
    let list = columns.children;
    // SAFETY: the batch just laid out: `WIDTH` columns (leaves, arrays of the block) in a
    // list of the block's. The struct keeps the first; each is made the parent of the
    // next, through that list: column `i` is `i + 1` levels below the struct.
    let column = |i: usize| unsafe { &mut **list.add(i) };
    columns.n_children = 1;
    for i in 0..WIDTH - 1 {
        // SAFETY: as above.
        (column(i).children, column(i).n_children) = (unsafe { list.add(i + 1) }, 1);
    }
    let release = columns.release.unwrap();
    // SAFETY: the top-level array of ours, unreleased.
    unsafe { release(columns) };
    // Lists are followed down to the arrays 17 levels below the struct, whose own list
    // (the arrays at level 18, column 17) is marked but not followed.
    let released: Vec<bool> = (0..WIDTH).map(|i| column(i).release.is_none()).collect();
    let last = crate::exchange::MAX_SCHEMA_DEPTH + 2;
    assert_eq!(
        released,
        (0..WIDTH).map(|i| i < last).collect::<Vec<_>>(),
        "released down to level {last} (column {}), no further",
        last - 1
    );
    assert_eq!(Arc::strong_count(&first), 2, "the block keeps its values");
    // The chain undone and the rest released by hand: the block's values go.
    for i in 0..WIDTH {
        (column(i).children, column(i).n_children) = (std::ptr::null_mut(), 0);
        if let Some(release) = column(i).release {
            // SAFETY: an unreleased array of the block, a leaf again.
            unsafe { release(column(i)) };
        }
    }
    out.clear();
    assert_eq!(
        Arc::strong_count(&first),
        1,
        "the last array took the values"
    );
}

/// A batch naming a slot the receiver emptied says why it is empty.
#[test]
fn an_emptied_schema_slot_says_why() {
    let mut inbox = SchemaInbox::default();
    assert_eq!(
        inbox.get(3).unwrap_err().to_string(),
        "batch refers to schema id 3, which was never sent"
    );
    inbox.forget(3);
    assert_eq!(
        inbox.get(3).unwrap_err().to_string(),
        "batch refers to schema id 3, whose slot is empty: the schema last sent into it could not be read"
    );
    let schema = Arc::new(arrow_schema::Schema::empty());
    inbox.store(3, schema).unwrap();
    inbox.get(3).unwrap();
    inbox.forget_all();
    assert_eq!(
        inbox.get(3).unwrap_err().to_string(),
        "batch refers to schema id 3, whose slot is empty: every schema was forgotten after a change whose diffs could not be trusted"
    );
}

/// One insert of `n` Int64 columns named after `name`: a schema of its own per name.
fn insert_of(name: &str, n: usize) -> Diff {
    let columns: Vec<(String, arrow_array::ArrayRef)> = (0..n)
        .map(|i| {
            (
                format!("{name}{i}"),
                Arc::new(Int64Array::from(vec![i as i64])) as _,
            )
        })
        .collect();
    Diff::Insert {
        post: Rows::new(vec![0u64], RecordBatch::try_from_iter(columns).unwrap()).unwrap(),
    }
}

#[test]
fn a_change_that_fails_part_way_still_leaves_its_schemas_where_the_sender_counts_them() {
    let (mut outbox, mut out, mut inbox) = (
        SchemaOutbox::default(),
        Outgoing::default(),
        SchemaInbox::default(),
    );
    let (a, b, c) = (insert_of("a", 1), insert_of("b", 2), insert_of("c", 3));
    let first = Change::new(1, Timestamp(0), vec![a, b.clone(), c.clone()]);
    let abi = out.export_change(first, &mut outbox).unwrap();
    // Diff 1 is malformed: the import fails there, after diff 0 was read.
    // SAFETY: the change has three diffs.
    hang_dictionary(raw(unsafe { &mut (*abi.diffs.add(1)).post.columns }));
    // SAFETY: exported just above.
    let err = unsafe { import_change(&abi, &mut inbox) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "diff 1 of the change: its post rows: a batch's struct array has a dictionary"
    );
    // The sender (a plugin does) counts the change's schemas as sent.
    outbox.commit();
    let next = Change::new(2, Timestamp(0), vec![b, c]);
    let abi = out.export_change(next.clone(), &mut outbox).unwrap();
    assert!(abi_diff(&abi, 0).post.schema.is_null(), "sent before");
    // SAFETY: exported just above.
    assert_eq!(unsafe { import_change(&abi, &mut inbox) }.unwrap(), next);
}

/// A diff whose header no sender writes (here: a count of diffs past the ones laid out)
/// leaves it and the diffs after it untouched, and every schema received forgotten.
#[test]
fn a_diff_with_a_broken_header_is_not_released_and_the_schemas_are_forgotten() {
    let (mut outbox, mut out, mut inbox) = (
        SchemaOutbox::default(),
        Outgoing::default(),
        SchemaInbox::default(),
    );
    let (a, b) = (insert_of("a", 1), insert_of("b", 2));
    let first = Change::new(1, Timestamp(0), vec![a.clone(), b]);
    let abi = out.export_change(first, &mut outbox).unwrap();
    // SAFETY: exported just above.
    unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    assert_eq!(inbox.len(), 2);
    let abi = out
        .export_change(
            Change::new(2, Timestamp(0), vec![a.clone(), a.clone()]),
            &mut outbox,
        )
        .unwrap();
    // SAFETY: the change has two diffs. The first is broken, so the message does not ask
    // whether `diff_count` is too large (it would for the last).
    unsafe { (*abi.diffs).reserved = 3 };
    // SAFETY: exported just above.
    let err = unsafe { import_change(&abi, &mut inbox) }.unwrap_err();
    assert!(err.to_string().starts_with("diff 0 of the change: its reserved field is 3, not 0; the diffs from it on were left untouched"), "{err}");
    // Not released: its release callback is still there (the exporter frees its block).
    // SAFETY: as above.
    assert!(!raw(unsafe { &mut (*abi.diffs).post.columns }).is_released());
    assert!(inbox.is_empty(), "every schema forgotten");
    // A later batch naming a schema sent before is refused, not read under it.
    outbox.commit();
    let abi = out
        .export_change(Change::new(3, Timestamp(0), vec![a]), &mut outbox)
        .unwrap();
    // SAFETY: exported just above.
    let err = unsafe { import_change(&abi, &mut inbox) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "diff 0 of the change: its post rows: batch refers to schema id 1, whose slot is empty: every schema was forgotten after a change whose diffs could not be trusted"
    );
}

#[test]
fn a_schema_that_cannot_be_read_empties_its_slot() {
    let (mut outbox, mut out, mut inbox) = (
        SchemaOutbox::default(),
        Outgoing::default(),
        SchemaInbox::default(),
    );
    let change = Change::new(1, Timestamp(0), vec![insert_of("a", 1)]);
    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    // SAFETY: exported just above.
    unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    // The same slot again, its schema unreadable (no format): an error, and the slot empty.
    let mut broken = node(b"+s\0", 0, std::ptr::null_mut());
    broken.format = std::ptr::null();
    let abi = out.export_change(change.clone(), &mut outbox).unwrap();
    // SAFETY: the first diff of the change just exported; the schema lives to the import.
    unsafe { (*abi.diffs).post.schema = (&raw const broken).cast() };
    // SAFETY: exported above; the schema pointer is valid for the call.
    let err = unsafe { import_change(&abi, &mut inbox) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "diff 0 of the change: its post rows: unreadable schema: a field has no format"
    );
    // A batch naming the slot is not read under the schema it held before.
    let abi = out.export_change(change, &mut outbox).unwrap();
    // SAFETY: exported just above.
    let err = unsafe { import_change(&abi, &mut inbox) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "diff 0 of the change: its post rows: batch refers to schema id 1, whose slot is empty: the schema last sent into it could not be read"
    );
}

#[test]
fn an_update_whose_sides_carry_other_row_numbers_is_an_error_both_ways_in() {
    let cases = [
        (
            rows(&[4, 5], 9),
            rows(&[6, 7], 10),
            "its row 0 is number 9 in pre and 10 in post",
        ),
        (
            rows(&[4], 9),
            rows(&[6, 7], 9),
            "pre has 1 row and post 2 rows",
        ),
    ];
    for (pre, post, why) in cases {
        let change = Change::new(1, Timestamp(0), vec![Diff::Update { pre, post }]);
        let expected = format!(
            "diff 0 of the change: an update's pre and post rows must carry the same row numbers in the same order, but {why}"
        );
        let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
        let abi = out.export_change(change.clone(), &mut outbox).unwrap();
        // SAFETY: exported above.
        let err = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap_err();
        assert_eq!(err.to_string(), expected);
        let err = crate::exchange::view::ChangeView::from_change(change).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

/// The address of the first buffer of column `column` of the first diff's `post` rows.
fn first_buffer(change: &Change, column: usize) -> *const u8 {
    match &change.diffs[0] {
        Diff::Insert { post } => post.batch().column(column).to_data().buffers()[0].as_ptr(),
        _ => unreachable!("the tests' changes are inserts"),
    }
}

/// A change of one insert of `values`, its row numbers from 0.
fn insert(values: &[i64]) -> Change {
    Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(values, 0),
        }],
    )
}

#[test]
fn small_buffers_are_copied_and_their_producer_released_at_once() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let small = insert(&[1, 2, 3]);
    let abi = out.export_change(small.clone(), &mut outbox).unwrap();
    assert_eq!(
        senders(&small),
        2,
        "the exported block holds the sender's change"
    );
    // SAFETY: exported just above.
    let kept = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    assert_eq!(kept, small);
    assert_ne!(
        first_buffer(&kept, 0),
        first_buffer(&small, 0),
        "24 bytes are copied"
    );
    assert_eq!(
        senders(&small),
        1,
        "the import released the exported arrays, though their copy is kept"
    );
    // The next change is laid out in the same block.
    let mut abi = out.export_change(insert(&[4]), &mut outbox).unwrap();
    let block = block_of(&mut abi);
    // SAFETY: as above.
    let next = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    let mut abi = out.export_change(insert(&[5]), &mut outbox).unwrap();
    assert_eq!(block_of(&mut abi), block, "a released block is reused");
    // SAFETY: as above.
    drop(unsafe { import_change(&abi, &mut inbox) }.unwrap());
    assert_eq!((kept, next), (small, insert(&[4])));
}

/// The line the README and `docs/abi.md` draw: a buffer of 256 bytes or less is copied,
/// one byte more is shared.
#[test]
fn a_buffer_of_256_bytes_is_copied_and_a_longer_one_shared() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    // 32 Int64 values take 256 bytes; 33 take 264.
    for (values, copied) in [(32, true), (33, false)] {
        let sent = insert(&(0..values).collect::<Vec<_>>());
        let abi = out.export_change(sent.clone(), &mut outbox).unwrap();
        // SAFETY: exported just above.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        outbox.commit();
        assert_eq!(back, sent);
        assert_eq!(
            first_buffer(&back, 0) != first_buffer(&sent, 0),
            copied,
            "{} bytes",
            values * 8
        );
    }
}

/// How many hold the first column of the first diff's `post` rows: the sender's change,
/// and an exported block that keeps it.
fn senders(change: &Change) -> usize {
    match &change.diffs[0] {
        Diff::Insert { post } => Arc::strong_count(post.batch().column(0)),
        _ => unreachable!("the tests' changes are inserts"),
    }
}

#[test]
fn a_batch_with_a_large_buffer_shares_it_and_copies_the_rest() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    // 100 Int64 values take 800 bytes (shared); 100 flags take 13 (copied).
    let batch = RecordBatch::try_from_iter([
        (
            "amount",
            Arc::new(Int64Array::from_iter_values(0..100)) as _,
        ),
        (
            "flag",
            Arc::new(arrow_array::BooleanArray::from_iter(
                (0..100).map(|v| Some(v % 3 == 0)),
            )) as _,
        ),
    ])
    .unwrap();
    let mixed = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: Rows::new((0..100).collect::<Vec<u64>>(), batch).unwrap(),
        }],
    );
    let abi = out.export_change(mixed.clone(), &mut outbox).unwrap();
    // SAFETY: exported just above.
    let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    assert_eq!(back, mixed);
    assert_eq!(
        first_buffer(&back, 0),
        first_buffer(&mixed, 0),
        "800 bytes are shared"
    );
    assert_ne!(
        first_buffer(&back, 1),
        first_buffer(&mixed, 1),
        "13 bytes are copied"
    );
    // The shared buffers hold the exported arrays until the change is dropped.
    assert_eq!(senders(&mixed), 2, "held while a shared buffer is");
    drop(back);
    assert_eq!(senders(&mixed), 1, "released with the last shared buffer");
}

#[test]
fn a_steady_stream_of_small_changes_copies_into_one_block() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let mut cross = |values: &[i64]| {
        let abi = out.export_change(insert(values), &mut outbox).unwrap();
        // SAFETY: exported just above.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        outbox.commit();
        assert_eq!(back, insert(values));
        back
    };
    let first = first_buffer(&cross(&[1]), 0);
    assert_eq!(first.align_offset(8), 0, "aligned for Int64");
    for v in 2..100 {
        // Each change is dropped before the next: the block is filled from its start.
        assert_eq!(first_buffer(&cross(&[v]), 0), first, "copy {v}");
    }
    // A change kept: the next copies go after it, and never over it, whatever follows.
    let kept = cross(&[7, 8, 9]);
    for v in 0..1_000 {
        let back = cross(&[v, v + 1]);
        assert_ne!(first_buffer(&back, 0), first_buffer(&kept, 0));
    }
    assert_eq!(
        kept,
        insert(&[7, 8, 9]),
        "a kept change is never written over"
    );
}

#[test]
fn a_kept_small_batch_reads_the_same_on_another_thread_while_changes_cross() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let values = [5, 6, 7];
    let abi = out.export_change(insert(&values), &mut outbox).unwrap();
    // SAFETY: exported just above.
    let kept = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            for _ in 0..200 {
                assert_eq!(kept, insert(&values));
            }
        });
        for v in 0..2_000 {
            let abi = out.export_change(insert(&[v]), &mut outbox).unwrap();
            // SAFETY: exported just above.
            drop(unsafe { import_change(&abi, &mut inbox) }.unwrap());
            outbox.commit();
        }
        reader.join().unwrap();
    });
}

// An inbox moves with its instance and may be shared, as before the copies of small buffers.
static_assertions::assert_impl_all!(
    SchemaInbox: Send,
    Sync,
    std::panic::RefUnwindSafe,
    std::panic::UnwindSafe
);

/// The values of the first column of the first diff's `post` rows, as arrow-rs's `Debug`
/// prints its buffer (the whole allocation under it, a copy's whole block included).
fn printed(change: &Change) -> String {
    match &change.diffs[0] {
        Diff::Insert { post } => format!("{:?}", post.batch().column(0).to_data().buffers()[0]),
        _ => unreachable!("the tests' changes are inserts"),
    }
}

#[test]
fn a_kept_change_reads_the_same_whole_block_after_later_changes() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let abi = out.export_change(insert(&[1, 2, 3]), &mut outbox).unwrap();
    // SAFETY: exported just above.
    let kept = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    let seen = printed(&kept);
    for v in 0..50 {
        let abi = out
            .export_change(insert(&[v * 1_000_003; 4]), &mut outbox)
            .unwrap();
        // SAFETY: as above.
        drop(unsafe { import_change(&abi, &mut inbox) }.unwrap());
        outbox.commit();
    }
    assert_eq!(
        printed(&kept),
        seen,
        "no byte of a kept change's block is written"
    );
}

#[test]
fn a_batch_read_on_its_own_and_kept_reads_the_same_after_later_ones() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    let batch = |v: i64| insert(&[v, v + 1]).diffs[0].clone();
    let Diff::Insert { post } = batch(1) else {
        unreachable!()
    };
    let mut abi = out.export_batch(post.batch().clone(), &mut outbox).unwrap();
    // SAFETY: exported just above.
    let kept = unsafe { import_batch(&mut abi, &mut inbox) }.unwrap();
    outbox.commit();
    let seen = format!("{:?}", kept.column(0).to_data().buffers()[0]);
    for v in 0..50 {
        let Diff::Insert { post } = batch(v * 7) else {
            unreachable!()
        };
        let mut abi = out.export_batch(post.batch().clone(), &mut outbox).unwrap();
        // SAFETY: as above.
        let back = unsafe { import_batch(&mut abi, &mut inbox) }.unwrap();
        outbox.commit();
        assert_eq!(&back, post.batch());
    }
    assert_eq!(format!("{:?}", kept.column(0).to_data().buffers()[0]), seen);
    assert_eq!(&kept, rows(&[1, 2], 0).batch());
}

/// An output's diff array judged against the input's: one that starts within the input's
/// allocation and lists more diffs than the input has from there is an overrun, also when
/// it starts in the spare capacity past them; one that starts where that allocation ends
/// is another allocation (an allocator may place one right there), not an overrun.
#[test]
fn an_overrun_is_judged_by_the_inputs_allocation_not_only_its_length() {
    let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
    let three = Change::new(
        1,
        Timestamp(0),
        vec![
            Diff::Insert {
                post: rows(&[1], 0)
            };
            3
        ],
    );
    out.export_change(three, &mut outbox).unwrap();
    outbox.commit();
    // One diff now, in an array with room for more: spare capacity past it.
    let one = Change::new(
        2,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[2], 1),
        }],
    );
    let abi = out.export_change(one, &mut outbox).unwrap();
    let capacity = out.diff_capacity();
    assert!(capacity >= 3, "the first change's room is kept");
    let at = |diffs: usize, diff_count: usize| AbiChange {
        diffs: abi.diffs.wrapping_add(diffs),
        diff_count,
        ..abi
    };
    assert_eq!(out.overrun_by(&abi), None, "the input itself");
    assert_eq!(out.overrun_by(&at(0, 0)), None, "no diffs");
    assert_eq!(out.overrun_by(&at(0, 3)), Some(1));
    assert_eq!(
        out.overrun_by(&at(1, 1)),
        Some(0),
        "just past the input's diffs"
    );
    assert_eq!(
        out.overrun_by(&at(2, 1)),
        Some(0),
        "further into the spare capacity"
    );
    assert_eq!(out.overrun_by(&at(2, 0)), None, "nothing listed there");
    out.clear();
    // Cleared, the array keeps its room, and nothing in it is a diff any more.
    assert_eq!(out.diff_capacity(), capacity);
    assert_eq!(
        out.overrun_by(&at(0, 1)),
        Some(0),
        "a diff of the last change"
    );
    assert_eq!(out.overrun_by(&at(0, 0)), None);
    // An array that starts where the input's allocation ends is another's, also when the
    // input fills its allocation (its end is then that allocation's).
    let mut full = false;
    for n in 1..=8 {
        let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
        let change = Change::new(
            1,
            Timestamp(0),
            vec![
                Diff::Insert {
                    post: rows(&[1], 0)
                };
                n
            ],
        );
        let abi = out.export_change(change, &mut outbox).unwrap();
        let capacity = out.diff_capacity();
        full |= capacity == n;
        let next = AbiChange {
            diffs: abi.diffs.wrapping_add(capacity),
            diff_count: 1,
            ..abi
        };
        assert_eq!(
            out.overrun_by(&next),
            None,
            "{n} diffs in room for {capacity}"
        );
    }
    assert!(full, "some input fills its allocation");
}
