//! A loop of `apply` calls through `passthrough` (from the `toolkit` example library), for
//! profiling the boundary with tools that want one plain process rather than a benchmark
//! harness:
//!
//! ```text
//! cargo build --release -p toolkit -p oplink-host --example crossing
//! valgrind --tool=callgrind target/release/examples/crossing target/release/libtoolkit.so 2000
//! ```
//!
//! Arguments: the library, the number of calls (default 100,000) and the number of rows in
//! the change (default 1; 0 sends a change with no diffs). It prints the mean time per call.

use std::sync::Arc;
use std::time::Instant;

use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Host, Plugin};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let library = args
        .next()
        .ok_or("usage: crossing LIBRARY [CALLS] [ROWS]")?;
    let calls: u32 = args.next().map_or(Ok(100_000), |s| s.parse())?;
    let rows: usize = args.next().map_or(Ok(1), |s| s.parse())?;

    let plugin = Plugin::load(&library)?;
    let mut op = plugin.instantiate("passthrough", serde_json::Value::Null, &Host::default())?;
    let change = if rows == 0 {
        Change::new(1, Timestamp(0), Vec::new())
    } else {
        let batch = RecordBatch::try_from_iter([
            (
                "amount",
                Arc::new(Int64Array::from_iter_values(0..rows as i64)) as ArrayRef,
            ),
            (
                "customer",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("c{i}")),
                )) as _,
            ),
        ])?;
        let post = Rows::new((0..rows as u64).collect::<Vec<_>>(), batch)?;
        Change::new(1, Timestamp(0), vec![Diff::Insert { post }])
    };

    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(op.apply(change.clone())?);
    }
    let per_call = start.elapsed() / calls.max(1);
    println!("{calls} calls of {rows} row(s): {per_call:?} per call");
    Ok(())
}
