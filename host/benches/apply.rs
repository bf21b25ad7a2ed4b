//! The cost of one `apply` through a loaded plugin versus the same method called directly
//! in-process, for changes of 0, 1, 1,000 and 1,000,000 rows.
//!
//! Run with `cargo bench -p oplink-host --bench apply`. It builds the example plugins in
//! release mode first. `passthrough` returns its input, so its numbers are the pure cost of
//! crossing; `threshold` filters an Int64 column, so its numbers show the share of that cost
//! in real work.

use std::sync::Arc;

use divan::Bencher;
use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Host, Instance, Plugin};
use serde_json::json;

const SIZES: [usize; 4] = [0, 1, 1_000, 1_000_000];

mod common;

fn main() {
    divan::main();
}

fn plugin(name: &str) -> Plugin {
    common::release_plugin(&["threshold", "toolkit"], name)
}

/// A change of `rows` rows (two columns); 0 rows means a change with no diffs at all.
fn change(rows: usize) -> Change {
    if rows == 0 {
        return Change::new(1, Timestamp(0), Vec::new());
    }
    let batch = RecordBatch::try_from_iter([
        (
            "amount",
            Arc::new(Int64Array::from_iter_values(
                (0..rows as i64).map(|i| i % 100),
            )) as ArrayRef,
        ),
        (
            "customer",
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| format!("c{}", i % 50)),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    let post = Rows::new((0..rows as u64).collect::<Vec<_>>(), batch).unwrap();
    Change::new(1, Timestamp(0), vec![Diff::Insert { post }])
}

fn instance(library: &str, operator: &str, config: serde_json::Value) -> Instance {
    plugin(library)
        .instantiate(operator, config, &Host::default())
        .unwrap()
}

#[divan::bench(args = SIZES)]
fn passthrough_in_process(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = toolkit::Passthrough::new().unwrap();
    bencher
        .with_inputs(|| input.clone())
        .bench_local_values(|c| op.apply(c).unwrap());
}

#[divan::bench(args = SIZES)]
fn passthrough_plugin(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = instance("toolkit", "passthrough", json!(null));
    bencher
        .with_inputs(|| input.clone())
        .bench_local_values(|c| op.apply(c).unwrap());
}

#[divan::bench(args = SIZES)]
fn threshold_in_process(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = threshold::Threshold::new(threshold::Config {
        column: "amount".into(),
        min: 50,
    })
    .unwrap();
    bencher
        .with_inputs(|| input.clone())
        .bench_local_values(|c| op.apply(c).unwrap());
}

#[divan::bench(args = SIZES)]
fn threshold_plugin(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = instance(
        "threshold",
        "threshold",
        json!({"column": "amount", "min": 50}),
    );
    bencher
        .with_inputs(|| input.clone())
        .bench_local_values(|c| op.apply(c).unwrap());
}
