//! What the plugin boundary costs end to end: `oplink run` with the `threshold` plugin over
//! a generated file of a million rows (CSV and Parquet), against the same filter applied in
//! process to the same parsed batches, and against reading alone. Run with
//! `cargo bench -p oplink-cli --bench run` (it builds the `threshold` plugin in release mode
//! and writes the data files under `oplink-bench-data` in the target folder the benchmark was
//! built in, the first time).
//!
//! Each benchmark reads the whole file, so each sample is one run; the counter turns the
//! times into rows per second.

#[path = "../../host/benches/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use divan::Bencher;
use divan::counter::ItemsCount;
use oplink::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_cli::args::{Emit, InputFormat, OpColumn, OutputFormat, RunArgs};
use oplink_cli::input::Input;

const ROWS: usize = 1_000_000;
const BATCH: usize = 8192;
const MIN: i64 = 500;

fn main() {
    divan::main();
}

/// The data files, written once: `id`, `customer` (100 names), `amount` (0 to 999, so the
/// filter keeps half) and `price`.
fn data(format: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = common::target_dir().join("oplink-bench-data");
        std::fs::create_dir_all(&dir).expect("create the data folder");
        let csv = dir.join(format!("orders-{ROWS}.csv"));
        let parquet = dir.join(format!("orders-{ROWS}.parquet"));
        if !csv.exists() || !parquet.exists() {
            let mut batches = Vec::new();
            let names: Vec<String> = (0..100).map(|i| format!("customer{i:03}")).collect();
            for start in (0..ROWS).step_by(BATCH) {
                let n = BATCH.min(ROWS - start);
                let ids: Vec<i64> = (start..start + n).map(|i| i as i64).collect();
                let customers: Vec<&str> = (start..start + n)
                    .map(|i| names[(i * 7) % 100].as_str())
                    .collect();
                let amounts: Vec<i64> = (start..start + n)
                    .map(|i| ((i as u64).wrapping_mul(2_654_435_761) % 1000) as i64)
                    .collect();
                let prices: Vec<f64> = amounts.iter().map(|a| *a as f64 * 1.25).collect();
                batches.push(
                    RecordBatch::try_from_iter([
                        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                        (
                            "customer",
                            Arc::new(StringArray::from(customers)) as ArrayRef,
                        ),
                        ("amount", Arc::new(Int64Array::from(amounts)) as ArrayRef),
                        ("price", Arc::new(Float64Array::from(prices)) as ArrayRef),
                    ])
                    .expect("a batch"),
                );
            }
            // Each file is written under another name and renamed when whole, so that a run
            // stopped while writing leaves no short file for the next run to take.
            let partial = |path: &PathBuf| {
                let mut name = path.clone().into_os_string();
                name.push(".partial");
                PathBuf::from(name)
            };
            let file = std::fs::File::create(partial(&csv)).expect("create the CSV file");
            let mut writer = arrow_csv::Writer::new(file);
            for batch in &batches {
                writer.write(batch).expect("write CSV");
            }
            drop(writer.into_inner());
            std::fs::rename(partial(&csv), &csv).expect("name the CSV file");
            let file = std::fs::File::create(partial(&parquet)).expect("create the Parquet file");
            let mut writer = parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), None)
                .expect("a Parquet writer");
            for batch in &batches {
                writer.write(batch).expect("write Parquet");
            }
            writer.close().expect("close Parquet");
            std::fs::rename(partial(&parquet), &parquet).expect("name the Parquet file");
        }
        dir
    });
    dir.join(format!("orders-{ROWS}.{format}"))
}

fn input_format(format: &str) -> InputFormat {
    match format {
        "csv" => InputFormat::Csv,
        _ => InputFormat::Parquet,
    }
}

/// `oplink run FILE --op threshold=... --to none`: reading, the chain through the plugin,
/// and counting what comes out, as the command does it.
#[divan::bench(args = ["csv", "parquet"], sample_count = 5, sample_size = 1)]
fn oplink_run(bencher: Bencher, format: &str) {
    let args = RunArgs {
        input: data(format),
        ops: vec![format!(r#"threshold={{"column": "amount", "min": {MIN}}}"#)],
        plugins: vec![common::release_path(&["threshold"], "threshold")],
        format: None,
        schema: None,
        delimiter: None,
        batch_size: BATCH,
        output: None,
        to: Some(OutputFormat::None),
        emit: Emit::Inserts,
        row_numbers: false,
        op_column: OpColumn::Changes,
        state: None,
        lookup: Vec::new(),
        quiet: true,
        verbose: 0,
        log: None,
    };
    bencher.counter(ItemsCount::new(ROWS)).bench(|| {
        let summary = oplink_cli::run::run(&args).expect("the run");
        assert_eq!(summary.rows_read, ROWS as u64);
        summary.rows_written
    });
}

/// The same batches from the same reader through the same filter, called in process.
#[divan::bench(args = ["csv", "parquet"], sample_count = 5, sample_size = 1)]
fn in_process(bencher: Bencher, format: &str) {
    let path = data(format);
    bencher.counter(ItemsCount::new(ROWS)).bench(|| {
        let mut input =
            Input::open(&path, input_format(format), None, BATCH, None).expect("open the input");
        let mut filter = threshold::Threshold::new(threshold::Config {
            column: "amount".to_owned(),
            min: MIN,
        })
        .expect("a filter");
        let (mut first, mut kept, mut version) = (0u64, 0usize, 0u64);
        while let Some(batch) = input.next_batch().expect("a batch") {
            let n = batch.num_rows() as u64;
            version += 1;
            let rows = Rows::new((first..first + n).collect::<Vec<u64>>(), batch).expect("rows");
            first += n;
            let change = Change::new(version, Timestamp::now(), vec![Diff::Insert { post: rows }]);
            kept += filter.apply(change).expect("apply").row_count();
        }
        kept
    });
}

/// Reading alone: what the file format costs before any operator.
#[divan::bench(args = ["csv", "parquet"], sample_count = 5, sample_size = 1)]
fn read_only(bencher: Bencher, format: &str) {
    let path = data(format);
    bencher.counter(ItemsCount::new(ROWS)).bench(|| {
        let mut input =
            Input::open(&path, input_format(format), None, BATCH, None).expect("open the input");
        let mut rows = 0;
        while let Some(batch) = input.next_batch().expect("a batch") {
            rows += batch.num_rows();
        }
        rows
    });
}
