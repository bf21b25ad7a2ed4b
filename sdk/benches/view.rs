//! Reading every string of a column: through the typed view string by string (each one
//! checked as it is read), through the view checked whole once (`StringsView::checked`),
//! and through arrow-rs's `StringArray`, in one run; and the same strings as a `Utf8View`
//! column (`*_utf8view`: each of 12 bytes or less, so held by its view), through the view
//! and through arrow-rs's `StringViewArray`. Run with `cargo bench -p oplink --bench view`.

use std::sync::Arc;

use divan::Bencher;
use oplink::arrow::array::{Array, ArrayRef, RecordBatch, StringArray, StringViewArray};
use oplink::view::{ChangeView, DiffView};
use oplink::{Change, Diff, Rows, Timestamp};

fn main() {
    divan::main();
}

const ROWS: [usize; 2] = [1_000, 100_000];

/// `rows` strings of 5 to 12 bytes, every tenth null.
fn names(rows: usize) -> impl Iterator<Item = Option<String>> {
    (0..rows).map(|i| (i % 10 != 3).then(|| format!("name {}", i * 7919 % 10_000_000)))
}

/// [`names`] as a `Utf8` column, in one insert.
fn change(rows: usize) -> Change {
    insert(Arc::new(StringArray::from_iter(names(rows))))
}

/// [`names`] as a `Utf8View` column, in one insert.
fn view_change(rows: usize) -> Change {
    insert(Arc::new(StringViewArray::from_iter(names(rows))))
}

fn insert(names: ArrayRef) -> Change {
    let rows = names.len();
    let batch = RecordBatch::try_from_iter([("name", names)]).unwrap();
    let post = Rows::new((0..rows as u64).collect::<Vec<_>>(), batch).unwrap();
    Change::new(1, Timestamp(0), vec![Diff::Insert { post }])
}

/// The summed lengths of the strings, so that each is read.
fn total<'a>(strings: impl Iterator<Item = Option<&'a str>>) -> usize {
    strings.map(|s| s.map_or(0, str::len)).sum()
}

#[divan::bench(args = ROWS)]
fn arrow_rs(bencher: Bencher, rows: usize) {
    let change = change(rows);
    let Diff::Insert { post } = &change.diffs[0] else {
        unreachable!()
    };
    let names = post
        .batch()
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(names.len(), rows);
    bencher.bench_local(|| total(divan::black_box(names).iter()));
}

/// Each string checked as it is read (`StringsView::iter`).
#[divan::bench(args = ROWS)]
fn view_each(bencher: Bencher, rows: usize) {
    let view = ChangeView::from_change(change(rows)).unwrap();
    let Some(DiffView::Insert { post }) = view.diff(0) else {
        unreachable!()
    };
    let names = post.column(0).unwrap().strings().unwrap();
    bencher.bench_local(|| total(divan::black_box(&names).iter()));
}

/// The column checked whole, then read (`StringsView::checked`), the check included.
#[divan::bench(args = ROWS)]
fn view_checked(bencher: Bencher, rows: usize) {
    let view = ChangeView::from_change(change(rows)).unwrap();
    let Some(DiffView::Insert { post }) = view.diff(0) else {
        unreachable!()
    };
    let names = post.column(0).unwrap().strings().unwrap();
    bencher.bench_local(|| total(divan::black_box(&names).checked().unwrap().iter()));
}

/// Reading a column checked before (`CheckedStrings::iter`), the check left out.
#[divan::bench(args = ROWS)]
fn view_checked_read(bencher: Bencher, rows: usize) {
    let view = ChangeView::from_change(change(rows)).unwrap();
    let Some(DiffView::Insert { post }) = view.diff(0) else {
        unreachable!()
    };
    let names = post
        .column(0)
        .unwrap()
        .strings()
        .unwrap()
        .checked()
        .unwrap();
    bencher.bench_local(|| total(divan::black_box(&names).iter()));
}

#[divan::bench(args = ROWS)]
fn arrow_rs_utf8view(bencher: Bencher, rows: usize) {
    let change = view_change(rows);
    let Diff::Insert { post } = &change.diffs[0] else {
        unreachable!()
    };
    let names = post
        .batch()
        .column(0)
        .as_any()
        .downcast_ref::<StringViewArray>()
        .unwrap();
    bencher.bench_local(|| total(divan::black_box(names).iter()));
}

/// A `Utf8View` column, each string checked as it is read.
#[divan::bench(args = ROWS)]
fn view_each_utf8view(bencher: Bencher, rows: usize) {
    let view = ChangeView::from_change(view_change(rows)).unwrap();
    let Some(DiffView::Insert { post }) = view.diff(0) else {
        unreachable!()
    };
    let names = post.column(0).unwrap().strings().unwrap();
    bencher.bench_local(|| total(divan::black_box(&names).iter()));
}

/// A `Utf8View` column checked whole, then read (`StringsView::checked`), the check
/// included: every view is checked one by one.
#[divan::bench(args = ROWS)]
fn view_checked_utf8view(bencher: Bencher, rows: usize) {
    let view = ChangeView::from_change(view_change(rows)).unwrap();
    let Some(DiffView::Insert { post }) = view.diff(0) else {
        unreachable!()
    };
    let names = post.column(0).unwrap().strings().unwrap();
    bencher.bench_local(|| total(divan::black_box(&names).checked().unwrap().iter()));
}

/// A `Utf8View` column checked before, the check left out.
#[divan::bench(args = ROWS)]
fn view_checked_read_utf8view(bencher: Bencher, rows: usize) {
    let view = ChangeView::from_change(view_change(rows)).unwrap();
    let Some(DiffView::Insert { post }) = view.diff(0) else {
        unreachable!()
    };
    let names = post
        .column(0)
        .unwrap()
        .strings()
        .unwrap()
        .checked()
        .unwrap();
    bencher.bench_local(|| total(divan::black_box(&names).iter()));
}
