//! What a steady stream of small changes allocates on the receiving side: the objects
//! arrow-rs's `RecordBatch` needs and nothing for the buffers (copied into the inbox's
//! block) or the batch's owner (reused); and a change with no diffs, nothing either way.
//! Its own test binary, for its counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use oplink::arrow::array::{Int64Array, RecordBatch, StringArray};
use oplink::exchange::{Outgoing, SchemaInbox, SchemaOutbox, import_change};
use oplink::{Change, Diff, Rows, Timestamp};

/// The system allocator, counting this thread's allocations while `COUNTING` is set.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|on| {
            if on.get() {
                COUNT.with(|n| n.set(n.get() + 1));
            }
        });
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A change of one insert of one row: an Int64 and a Utf8 column.
fn change(value: i64, label: &str) -> Change {
    let batch = RecordBatch::try_from_iter([
        ("amount", Arc::new(Int64Array::from(vec![value])) as _),
        ("label", Arc::new(StringArray::from(vec![label])) as _),
    ])
    .unwrap();
    let post = Rows::new(vec![value as u64], batch).unwrap();
    Change::new(1, Timestamp(0), vec![Diff::Insert { post }])
}

#[test]
fn a_steady_stream_of_one_row_changes_allocates_only_what_record_batches_need() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    for (round, label) in ["#0", "#1", "", "a longer label"].into_iter().enumerate() {
        let abi = out
            .export_change(change(round as i64, label), &mut outbox)
            .unwrap();
        COUNT.with(|n| n.set(0));
        COUNTING.with(|on| on.set(true));
        // SAFETY: exported just above, not read yet.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        COUNTING.with(|on| on.set(false));
        outbox.commit();
        assert_eq!(back, change(round as i64, label));
        drop(back);
        let allocations = COUNT.with(Cell::get);
        if round > 0 {
            // The two columns' `Arc`s, the batch's `Vec` of columns and the change's `Vec`
            // of diffs; the four buffers are copies and the owner is the last one's.
            assert_eq!(allocations, 4, "change {round} ({label:?})");
        }
    }
}

/// An answer that returns the input's columns unchanged (an operator that forwards them):
/// read beside the input, it builds none of them again, so the host's read allocates only
/// the output's `Vec` of diffs and its batch's `Vec` of columns, whatever the columns.
#[test]
fn an_answer_of_the_columns_sent_allocates_only_its_vectors() {
    use oplink::exchange::import_answer;
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
    // One schema for the stream, as a host's source would send it (the same `Arc`).
    let schema = {
        let [Diff::Insert { post }] = &change(0, "").diffs[..] else {
            unreachable!()
        };
        post.batch().schema()
    };
    for (round, label) in ["#0", "#1", "", "a longer label"].into_iter().enumerate() {
        let sent = {
            let [Diff::Insert { post }] = &change(round as i64, label).diffs[..] else {
                unreachable!()
            };
            let batch = RecordBatch::try_new(schema.clone(), post.batch().columns().to_vec());
            let post = Rows::new(post.row_numbers().clone(), batch.unwrap()).unwrap();
            Change::new(1, Timestamp(0), vec![Diff::Insert { post }])
        };
        let abi = ours.export_change(sent.clone(), &mut to_them).unwrap();
        // SAFETY: exported just above, not read yet.
        let input = unsafe { import_change(&abi, &mut their_in) }.unwrap();
        to_them.commit();
        let abi = theirs.export_change(input, &mut to_us).unwrap();
        COUNT.with(|n| n.set(0));
        COUNTING.with(|on| on.set(true));
        // SAFETY: exported just above; what was sent is pinned until `clear`.
        let back = unsafe { import_answer(&abi, &mut our_in, ours.sent()) }.unwrap();
        COUNTING.with(|on| on.set(false));
        to_us.commit();
        ours.clear();
        assert_eq!(back, sent);
        if round > 0 {
            assert_eq!(COUNT.with(Cell::get), 2, "change {round} ({label:?})");
        }
    }
}

/// A change with no diffs takes the short way (`docs/performance.md`'s "nothing laid out,
/// nothing taken back"): neither its export nor its import allocates, the first time (no
/// schema to send) or later.
#[test]
fn a_change_without_diffs_crosses_without_allocating() {
    let (mut outbox, mut inbox, mut out) = (
        SchemaOutbox::default(),
        SchemaInbox::default(),
        Outgoing::default(),
    );
    for round in 0..3 {
        let empty = Change::new(round, Timestamp(round as i64), Vec::new());
        COUNT.with(|n| n.set(0));
        COUNTING.with(|on| on.set(true));
        let abi = out.export_change(empty.clone(), &mut outbox).unwrap();
        // SAFETY: exported just above, not read yet.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        outbox.commit();
        drop(back);
        COUNTING.with(|on| on.set(false));
        assert_eq!(COUNT.with(Cell::get), 0, "round {round}");
    }
    // After changes with diffs too (an `Outgoing` that has laid out a block).
    let abi = out.export_change(change(1, "one"), &mut outbox).unwrap();
    // SAFETY: as above.
    drop(unsafe { import_change(&abi, &mut inbox) }.unwrap());
    outbox.commit();
    COUNT.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    let abi = out
        .export_change(Change::new(9, Timestamp(9), Vec::new()), &mut outbox)
        .unwrap();
    // SAFETY: as above.
    let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
    outbox.commit();
    drop(back);
    COUNTING.with(|on| on.set(false));
    assert_eq!(COUNT.with(Cell::get), 0, "after a change with diffs");
}

/// `Change::filter` leaves out a side that no row of passes without building it, and
/// keeps a side whose every row passes as it is: a change filtered whole costs no
/// allocation beyond its masks and the output's `Vec` of diffs (building and dropping an
/// empty batch of two columns was half the instructions of a 1-row filter, and 15
/// allocations).
#[test]
fn a_filter_that_keeps_no_row_builds_no_batch() {
    use oplink::arrow::array::BooleanArray;
    let remove = |value: i64| {
        let [Diff::Insert { post }] = &change(value, "old").diffs[..] else {
            unreachable!()
        };
        Change::new(2, Timestamp(0), vec![Diff::Remove { pre: post.clone() }])
    };
    for (name, input, keep, diffs) in [
        ("an insert", change(5, "five"), false, 0),
        ("a remove", remove(5), false, 0),
        ("an insert that passes", change(5, "five"), true, 1),
        ("a remove that passes", remove(5), true, 1),
    ] {
        let mask = BooleanArray::from(vec![keep]);
        let expected = if keep {
            input.diffs.clone()
        } else {
            Vec::new()
        };
        COUNT.with(|n| n.set(0));
        COUNTING.with(|on| on.set(true));
        let out = input.filter(|_| Ok(mask.clone())).unwrap();
        COUNTING.with(|on| on.set(false));
        let allocations = COUNT.with(Cell::get);
        assert_eq!(out.diffs, expected, "{name}");
        // The output's `Vec` of diffs when it has one; nothing else.
        assert_eq!(allocations, diffs, "{name}");
    }
}
