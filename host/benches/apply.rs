//! The cost of one `apply` through a loaded plugin, against the same method called directly
//! in-process and against arrow-rs's own C Data Interface round trip of the same change, in
//! one run. Run with `cargo bench -p oplink-host --bench apply` (it builds the example
//! plugins in release mode first). Each timed call includes dropping what it returned, so
//! every free a crossing causes is counted, wherever it falls (see `time`).
//!
//! * `passthrough_*`: `toolkit`'s `passthrough` reads every column of its input and returns
//!   it, so the plugin's numbers are the cost of crossing a change both ways (the host
//!   takes the columns that come back unchanged as its own arrays, without building new
//!   ones: `Outgoing::answered`).
//! * `threshold_*`: a filter on an Int64 column: the share of that cost in real work.
//! * `sink_*`: `toolkit`'s `sink` reads every column of its input as `passthrough` does and
//!   returns an empty change: the cost of crossing a change one way, as a host meets it
//!   (`threshold` at 1 row returns an empty change too, its one row being filtered out).
//! * `arrow_ffi_baseline`: the same change exported and imported both ways with arrow-rs's
//!   `ffi` module (`FFI_ArrowArray::new`, `from_ffi_and_data_type`, cached types), in this
//!   process: what crossing costs with arrow-rs alone.
//! * `wide_*`: a change of 1,000 rows × 20 columns of Int64, Float64, Utf8, Boolean and
//!   Timestamp, with nulls, through `passthrough` and through the arrow-rs baseline.
//!
//! * `scale_plugin`, `scale_batch_plugin`: `examples/scale`, a view operator that multiplies
//!   the `amount` column and returns it as a new batch, built from typed values
//!   (`ColumnOut`, no arrow-rs array on the plugin's side) or as an arrow-rs `RecordBatch`:
//!   what building an output the view's way saves.
//! * `passthrough_view_plugin`, `wide_view_plugin`: the same, through `passthrough_view`,
//!   which reads every column with the typed borrowed view and forwards its input.
//! * `oplink_exchange`: oplink's own exchange both ways in this process, with no plugin call.
//! * `oplink_one_way`: oplink's exchange one way in this process (laid out, taken in as
//!   `RecordBatch`es, dropped, released): what `import_floor` bounds.
//! * `import_floor`: the arrow-rs objects that any import of this change into a `Change` of
//!   `RecordBatch`es must build (an owner, one `Buffer` per buffer, one `Arc` per column, the
//!   columns' `Vec`, the batch, the row numbers, the diffs' `Vec`), built by hand over the
//!   change's own buffers with nothing checked, then dropped: the least a crossing into a
//!   `RecordBatch` operator that shares every buffer can cost on this machine, whoever lays
//!   it out (oplink copies buffers of 256 bytes or less instead, which builds fewer).
//! * `threshold_floor`: `threshold` in process, its input and its output rebuilt as
//!   `import_floor` builds them: the least `threshold_plugin` can cost while `threshold`
//!   takes and returns `RecordBatch`es, whoever lays them out and takes them in.
//!
//! Row counts (the argument): 0 (a change with no diffs), 1, 1,000 and 1,000,000 for
//! `passthrough_in_process`, `passthrough_plugin`, `passthrough_view_plugin`,
//! `threshold_in_process`, `threshold_plugin`, `arrow_ffi_baseline` and `oplink_exchange`; 1
//! and 1,000 for `sink_*`, `scale_*`, `oplink_one_way`, `import_floor` and `threshold_floor`.
//! Those names, with `wide_plugin`, `wide_view_plugin` and `wide_arrow_ffi_baseline`, are
//! stable: the README's, `docs/performance.md`'s and `docs/performance-history.md`'s tables
//! cite them from run to run.
//!
//! `OPLINK_PROFILE=one`, `thousand`, `wide` or `empty` runs one crossing in a loop instead,
//! for a profiler (`OPLINK_PROFILE_IN_PROCESS=1`: without the plugin, the exchange alone, or
//! with `OPLINK_PROFILE_OPERATOR=threshold`, `import_floor` or `threshold_floor` that
//! benchmark's work; `OPLINK_PROFILE_TIMES=N`: N times;
//! `OPLINK_PROFILE_OPERATOR=passthrough_view`: another operator of `toolkit`, `threshold`,
//! `scale` or `scale_batch`).

use std::ptr::NonNull;
use std::sync::Arc;

use divan::Bencher;
use oplink::arrow::array::ffi::{FFI_ArrowArray, from_ffi_and_data_type};
use oplink::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray, UInt64Array,
};
use oplink::arrow::buffer::alloc::Allocation;
use oplink::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use oplink::arrow::schema::DataType;
use oplink::exchange::{Outgoing, SchemaInbox, SchemaOutbox, import_change};
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Host, Instance, Plugin};
use serde_json::json;

const SIZES: [usize; 4] = [0, 1, 1_000, 1_000_000];

mod common;

fn main() {
    // `OPLINK_PROFILE=one|thousand|wide|empty` runs that crossing in a loop instead, for a
    // profiler: `OPLINK_PROFILE=one perf record -e cpu-clock -g -o /tmp/perf.data
    // target/release/deps/apply-*` from the workspace's root (without `-o`, `perf.data`
    // lands in the folder it runs in).
    if let Ok(what) = std::env::var("OPLINK_PROFILE") {
        profile(&what);
        return;
    }
    divan::main();
}

fn profile(what: &str) {
    let (change, times) = match what {
        "one" => (change(1), 3_000_000),
        "thousand" => (change(1_000), 1_000_000),
        "wide" => (wide_change(), 300_000),
        "empty" => (change(0), 10_000_000),
        other => panic!("OPLINK_PROFILE is one, thousand, wide or empty, not {other:?}"),
    };
    // `OPLINK_PROFILE_TIMES=N` for a slower profiler (callgrind).
    let times = match std::env::var("OPLINK_PROFILE_TIMES") {
        Ok(n) => n.parse().unwrap_or_else(|_| {
            panic!("OPLINK_PROFILE_TIMES is a count of crossings (such as 1000), not {n:?}")
        }),
        Err(_) => times,
    };
    let operator = std::env::var("OPLINK_PROFILE_OPERATOR").unwrap_or("passthrough".into());
    // The operators configured with the `amount` column, and the floors built for the
    // 2-column change, do not fit the wide change: said before anything runs. (In
    // process, any other name is the exchange alone.)
    let in_process = std::env::var_os("OPLINK_PROFILE_IN_PROCESS").is_some();
    let reads_amount: &[&str] = if in_process {
        &["threshold", "import_floor", "threshold_floor"]
    } else {
        &["threshold", "scale", "scale_batch"]
    };
    assert!(
        what != "wide" || !reads_amount.contains(&operator.as_str()),
        "OPLINK_PROFILE=wide does not fit OPLINK_PROFILE_OPERATOR={operator}, made for the change of `amount` and `customer`: profile it with one, thousand or empty"
    );
    if in_process {
        let mut step: Box<dyn FnMut(Change)> = match operator.as_str() {
            "threshold" => {
                let mut op = in_process_threshold();
                Box::new(move |c| drop(divan::black_box(op.apply(c).unwrap())))
            }
            "import_floor" => Box::new(import_by_hand),
            "threshold_floor" => {
                let mut op = in_process_threshold();
                Box::new(move |c| drop(divan::black_box(rebuild(op.apply(rebuild(c)).unwrap()))))
            }
            // The exchange alone, one way.
            _ => {
                let mut out = Outgoing::default();
                let (mut outbox, mut inbox) = (SchemaOutbox::default(), SchemaInbox::default());
                Box::new(move |c| {
                    drop(divan::black_box(oplink_cross(
                        c,
                        &mut out,
                        &mut outbox,
                        &mut inbox,
                    )))
                })
            }
        };
        for _ in 0..times {
            step(change.clone());
        }
        return;
    }
    // `OPLINK_PROFILE_OPERATOR=passthrough_view`: another operator of `toolkit`, `scale`,
    // `scale_batch` or `threshold` (in process too).
    let mut op = match operator.as_str() {
        "threshold" => instance(
            "threshold",
            "threshold",
            json!({"column": "amount", "min": 50}),
        ),
        "scale" | "scale_batch" => {
            instance("scale", &operator, json!({"column": "amount", "factor": 3}))
        }
        other => instance("toolkit", other, json!(null)),
    };
    for _ in 0..times {
        divan::black_box(op.apply(change.clone()).unwrap());
    }
}

/// `threshold` in this process, configured as the plugin's instance is.
fn in_process_threshold() -> threshold::Threshold {
    threshold::Threshold::new(threshold::Config {
        column: "amount".into(),
        min: 50,
    })
    .unwrap()
}

fn plugin(name: &str) -> Plugin {
    common::release_plugin(&["threshold", "toolkit", "scale"], name)
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

/// 1,000 rows × 20 columns of mixed types, every seventh value null.
fn wide_change() -> Change {
    const ROWS: usize = 1_000;
    let valid = |i: usize| i % 7 != 3;
    let mut columns: Vec<(String, ArrayRef)> = Vec::new();
    for c in 0..4 {
        columns.push((
            format!("int_{c}"),
            Arc::new(Int64Array::from_iter(
                (0..ROWS).map(|i| valid(i + c).then_some(i as i64 * 3)),
            )),
        ));
        columns.push((
            format!("float_{c}"),
            Arc::new(Float64Array::from_iter(
                (0..ROWS).map(|i| valid(i + c).then_some(i as f64 / 4.0)),
            )),
        ));
        columns.push((
            format!("text_{c}"),
            Arc::new(StringArray::from_iter(
                (0..ROWS).map(|i| valid(i + c).then(|| format!("value {i}"))),
            )),
        ));
        columns.push((
            format!("flag_{c}"),
            Arc::new(BooleanArray::from_iter(
                (0..ROWS).map(|i| valid(i + c).then_some(i % 2 == 0)),
            )),
        ));
        columns.push((
            format!("time_{c}"),
            Arc::new(
                TimestampMicrosecondArray::from_iter(
                    (0..ROWS).map(|i| valid(i + c).then_some(1_700_000_000_000_000 + i as i64)),
                )
                .with_timezone("UTC"),
            ),
        ));
    }
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let post = Rows::new((0..ROWS as u64).collect::<Vec<_>>(), batch).unwrap();
    Change::new(1, Timestamp(0), vec![Diff::Insert { post }])
}

fn instance(library: &str, operator: &str, config: serde_json::Value) -> Instance {
    plugin(library)
        .instantiate(operator, config, &Host::default())
        .unwrap()
}

/// One crossing of `change` with arrow-rs alone: every batch and its row numbers exported
/// with `FFI_ArrowArray::new` and imported with `from_ffi_and_data_type`, the types cached
/// (as oplink caches schemas).
fn arrow_cross(change: Change) -> Change {
    let rows = |rows: Rows| {
        let (numbers, batch) = rows.into_parts();
        let schema = batch.schema();
        let struct_type = DataType::Struct(schema.fields().clone());
        let columns = FFI_ArrowArray::new(&StructArray::from(batch).into_data());
        let numbers = FFI_ArrowArray::new(&numbers.into_data());
        // SAFETY: arrays exported just above, of these types.
        let (columns, numbers) = unsafe {
            (
                from_ffi_and_data_type(columns, struct_type).unwrap(),
                from_ffi_and_data_type(numbers, DataType::UInt64).unwrap(),
            )
        };
        let batch = RecordBatch::from(StructArray::from(columns));
        Rows::new(UInt64Array::from(numbers), batch).unwrap()
    };
    let diffs = change
        .diffs
        .into_iter()
        .map(|diff| match diff {
            Diff::Insert { post } => Diff::Insert { post: rows(post) },
            Diff::Update { pre, post } => Diff::Update {
                pre: rows(pre),
                post: rows(post),
            },
            Diff::Remove { pre } => Diff::Remove { pre: rows(pre) },
        })
        .collect();
    Change::new(change.version, change.changed_at, diffs)
}

/// The baseline: there and back with arrow-rs, reading every column on the way, as the
/// passthrough does.
fn arrow_round_trip(change: Change) -> Change {
    let mut there = toolkit::Passthrough::new().unwrap();
    let change = there.apply(arrow_cross(change)).unwrap();
    arrow_cross(change)
}

/// One crossing of oplink's own exchange in this process, laid out and taken in, without a
/// plugin call: what a crossing itself costs, apart from the thunks around it.
fn oplink_cross(
    change: Change,
    out: &mut Outgoing,
    outbox: &mut SchemaOutbox,
    inbox: &mut SchemaInbox,
) -> Change {
    let abi = out.export_change(change, outbox).unwrap();
    // SAFETY: exported just above, not taken yet.
    let back = unsafe { import_change(&abi, inbox) }.unwrap();
    outbox.commit();
    back
}

/// Times `f` on clones of `input`, each call with the drop of what it returned: a crossing
/// costs the frees it causes too, whether they come inside the call or when its output is
/// dropped, and a crossing that frees early would otherwise be charged for what one that
/// frees late is not. (Up to the twenty-ninth session outputs were dropped outside the
/// timing; `OPLINK_BENCH_KEEP_OUTPUTS=1` times them so again, to compare with those runs.)
/// After 50 ms of untimed calls: divan sizes its samples from the first ones, and the
/// first calls through a plugin fill its caches (schemas, the allocator's), which would
/// leave every sample at one call, timer overhead included.
fn time<O>(bencher: Bencher, input: &Change, mut f: impl FnMut(Change) -> O) {
    let start = std::time::Instant::now();
    for _ in 0..16 {
        drop(f(input.clone()));
    }
    while start.elapsed() < std::time::Duration::from_millis(50) {
        drop(f(input.clone()));
    }
    let inputs = bencher.with_inputs(|| input.clone());
    if std::env::var_os("OPLINK_BENCH_KEEP_OUTPUTS").is_some() {
        inputs.bench_local_values(f);
    } else {
        inputs.bench_local_values(|c| drop(f(c)));
    }
}

#[divan::bench(args = SIZES)]
fn oplink_exchange(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut there = toolkit::Passthrough::new().unwrap();
    let mut sides = [
        (
            Outgoing::default(),
            SchemaOutbox::default(),
            SchemaInbox::default(),
        ),
        (
            Outgoing::default(),
            SchemaOutbox::default(),
            SchemaInbox::default(),
        ),
    ];
    bencher
        .with_inputs(|| input.clone())
        .bench_local_values(|c| {
            let [(o1, ob1, ib1), (o2, ob2, ib2)] = &mut sides;
            let c = oplink_cross(c, o1, ob1, ib1);
            let c = there.apply(c).unwrap();
            oplink_cross(c, o2, ob2, ib2)
        });
}

/// One way through oplink's exchange, in this process: laid out, taken in, dropped (which
/// releases the sender's block and drops the change).
#[divan::bench(args = [1, 1_000])]
fn oplink_one_way(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut out = Outgoing::default();
    let (mut outbox, mut inbox) = (SchemaOutbox::default(), SchemaInbox::default());
    time(bencher, &input, |c| {
        drop(oplink_cross(c, &mut out, &mut outbox, &mut inbox));
    });
}

/// What a buffer shared with its producer holds on to: the change, as an exported block
/// does.
#[derive(Debug)]
struct Producer(#[allow(dead_code)] Change);

impl std::panic::RefUnwindSafe for Producer {}

/// `change` as an import into `RecordBatch`es would hand it over, built by hand over its own
/// buffers (Int64 and Utf8 columns, as `change` and `threshold`'s output make them): a fresh
/// owner holding the change (as an exported block does), one `Buffer` per buffer sharing it,
/// one `Arc` per column, the columns' `Vec`, the batch, the row numbers and the diffs' `Vec`,
/// with nothing checked. Dropping the result drops the change, as a release does.
fn rebuild(change: Change) -> Change {
    let producer = Arc::new(Producer(change));
    let change = &producer.0;
    let owner: Arc<dyn Allocation> = producer.clone();
    let share = |buffer: &Buffer, len: usize| {
        let ptr = NonNull::new(buffer.as_ptr().cast_mut()).expect("a buffer");
        // SAFETY: `len` bytes of a live buffer of the change, which the owner keeps alive.
        unsafe { Buffer::from_custom_allocation(ptr, len, owner.clone()) }
    };
    let mut diffs = Vec::with_capacity(change.diffs.len());
    for diff in &change.diffs {
        let Diff::Insert { post } = diff else {
            unreachable!("the benchmark's changes are inserts")
        };
        let batch = post.batch();
        let rows = batch.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        for column in batch.columns() {
            let column: ArrayRef = if let Some(ints) = column.as_any().downcast_ref::<Int64Array>()
            {
                let values = share(ints.values().inner(), rows * 8);
                Arc::new(Int64Array::new(ScalarBuffer::from(values), None))
            } else {
                let strings = column.as_any().downcast_ref::<StringArray>().expect("Utf8");
                let offsets = share(strings.offsets().inner().inner(), (rows + 1) * 4);
                // SAFETY: the offsets of a valid array.
                let offsets = unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)) };
                let values = share(strings.values(), strings.values().len());
                // SAFETY: the parts of a valid array.
                Arc::new(unsafe { StringArray::new_unchecked(offsets, values, None) })
            };
            columns.push(column);
        }
        // SAFETY: the batch's own schema, columns and row count.
        let batch = unsafe { RecordBatch::new_unchecked(batch.schema(), columns, rows) };
        let numbers = share(post.row_numbers().values().inner(), rows * 8);
        let numbers = UInt64Array::new(ScalarBuffer::from(numbers), None);
        diffs.push(Diff::Insert {
            post: Rows::new(numbers, batch).expect("as many numbers as rows"),
        });
    }
    let rebuilt = Change::new(change.version, change.changed_at, diffs);
    drop((owner, producer));
    rebuilt
}

/// The objects an import of `change` builds, then dropped (see [`rebuild`]).
fn import_by_hand(change: Change) {
    drop(divan::black_box(rebuild(change)));
}

/// The floor of an import into `RecordBatch`es: see the module's notes.
#[divan::bench(args = [1, 1_000])]
fn import_floor(bencher: Bencher, rows: usize) {
    let input = change(rows);
    time(bencher, &input, import_by_hand);
}

#[divan::bench(args = SIZES)]
fn passthrough_in_process(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = toolkit::Passthrough::new().unwrap();
    time(bencher, &input, |c| op.apply(c).unwrap());
}

#[divan::bench(args = SIZES)]
fn passthrough_plugin(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = instance("toolkit", "passthrough", json!(null));
    time(bencher, &input, |c| op.apply(c).unwrap());
}

/// `passthrough` written with the typed borrowed view: it reads every column in place and
/// forwards its input.
#[divan::bench(args = SIZES)]
fn passthrough_view_plugin(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = instance("toolkit", "passthrough_view", json!(null));
    time(bencher, &input, |c| op.apply(c).unwrap());
}

#[divan::bench(args = SIZES)]
fn arrow_ffi_baseline(bencher: Bencher, rows: usize) {
    let input = change(rows);
    time(bencher, &input, arrow_round_trip);
}

#[divan::bench(args = SIZES)]
fn threshold_in_process(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = in_process_threshold();
    time(bencher, &input, |c| op.apply(c).unwrap());
}

/// `threshold` in process on its input rebuilt as an import would hand it over, its output
/// rebuilt in turn (see [`rebuild`]): what `threshold` would cost through a boundary whose
/// crossing cost nothing but the arrow-rs objects each side must build, with no layout, no
/// checks, no call through a library and no release.
#[divan::bench(args = [1, 1_000])]
fn threshold_floor(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = in_process_threshold();
    time(bencher, &input, |c| rebuild(op.apply(rebuild(c)).unwrap()));
}

#[divan::bench(args = SIZES)]
fn threshold_plugin(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = instance(
        "threshold",
        "threshold",
        json!({"column": "amount", "min": 50}),
    );
    time(bencher, &input, |c| op.apply(c).unwrap());
}

#[divan::bench(args = [1, 1_000])]
fn sink_in_process(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = toolkit::Sink::new().unwrap();
    time(bencher, &input, |c| op.apply(c).unwrap());
}

#[divan::bench(args = [1, 1_000])]
fn sink_plugin(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = instance("toolkit", "sink", json!(null));
    time(bencher, &input, |c| op.apply(c).unwrap());
}

#[divan::bench(args = [1, 1_000])]
fn scale_plugin(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = instance("scale", "scale", json!({"column": "amount", "factor": 3}));
    time(bencher, &input, |c| op.apply(c).unwrap());
}

#[divan::bench(args = [1, 1_000])]
fn scale_batch_plugin(bencher: Bencher, rows: usize) {
    let input = change(rows);
    let mut op = instance(
        "scale",
        "scale_batch",
        json!({"column": "amount", "factor": 3}),
    );
    time(bencher, &input, |c| op.apply(c).unwrap());
}

#[divan::bench]
fn wide_plugin(bencher: Bencher) {
    let input = wide_change();
    let mut op = instance("toolkit", "passthrough", json!(null));
    time(bencher, &input, |c| op.apply(c).unwrap());
}

#[divan::bench]
fn wide_view_plugin(bencher: Bencher) {
    let input = wide_change();
    let mut op = instance("toolkit", "passthrough_view", json!(null));
    time(bencher, &input, |c| op.apply(c).unwrap());
}

#[divan::bench]
fn wide_arrow_ffi_baseline(bencher: Bencher) {
    let input = wide_change();
    time(bencher, &input, arrow_round_trip);
}
