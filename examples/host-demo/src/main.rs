//! An example host: loads the `threshold`, `enrich` and `running_sum` plugins, feeds a CSV
//! file of `customer,amount` rows through them in that order, and prints every change. It
//! also runs each change through `c_filter`, the same filter written in C against
//! `oplink.h` (`examples/c-operator`), and shows that it keeps the same rows.
//! `enrich` calls back into this host: it requires the `Catalog` service (declared in the
//! shared `services` crate), which the host provides from a small in-memory table, and it
//! logs through `tracing`, which arrives in this host's subscriber.
//!
//! ```text
//! cargo build --workspace && cargo run -p host-demo -- [DATA.csv] [PLUGIN_DIR]
//! ```
//! `PLUGIN_DIR` defaults to the folder of this executable (`target/debug`), where cargo put
//! the example plugins.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oplink::arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Host, Plugin};
use serde_json::json;
use services::Catalog;

/// The host's side of the `Catalog` service: who is a gold or silver customer.
struct Tiers;

impl Catalog for Tiers {
    fn tier(&self, customer: &str) -> Option<String> {
        match customer {
            "ann" | "carol" => Some("gold".to_owned()),
            "bob" => Some("silver".to_owned()),
            _ => None,
        }
    }

    fn customers_in(&self, region: &str) -> oplink::Result<u64> {
        match region {
            "eu" => Ok(3),
            other => Err(oplink::Error::msg(format!("no region `{other}`"))),
        }
    }
}

fn main() {
    if let Err(error) = run() {
        eprintln!("host-demo: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let data = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| "examples/data/orders.csv".into());
    let plugins = match args.next() {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_exe()?
            .parent()
            .ok_or("executable has no folder")?
            .to_path_buf(),
    };
    let library = |name: &str| {
        plugins.join(format!(
            "{}{name}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ))
    };

    // Plugin events (here: `enrich`'s warning about unknown customers) reach this subscriber.
    tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_writer(std::io::stdout)
        .init();

    let host = Host::builder()
        .provide::<dyn Catalog>(Arc::new(Tiers))
        .build();
    let threshold = Plugin::load(library("threshold"))?;
    let enrich = Plugin::load(library("enrich"))?;
    let running_sum = Plugin::load(library("running_sum"))?;
    let c_filter = Plugin::load(c_operator::LIBRARY)?;
    for plugin in [&threshold, &enrich, &running_sum, &c_filter] {
        for op in plugin.operators() {
            println!(
                "loaded {} {} from {}: {}",
                op.name(),
                op.version(),
                plugin.path().display(),
                op.description()
            );
        }
    }
    let config = json!({"column": "amount", "min": 10});
    let mut filter = threshold.instantiate("threshold", &config, &host)?;
    let mut filter_in_c = c_filter.instantiate("c_filter", &config, &host)?;
    let mut tiers = enrich.instantiate("enrich", json!({"customer_column": "customer"}), &host)?;
    let mut sums = running_sum.instantiate(
        "running_sum",
        json!({"key": "customer", "value": "amount"}),
        &host,
    )?;

    let input = read_csv(&data)?;
    println!("\ninput: {} rows from {}", input.num_rows(), data.display());
    // Two changes: the first half of the file, then the second.
    let half = input.num_rows() / 2;
    for (version, (offset, len)) in [(0, half), (half, input.num_rows() - half)]
        .into_iter()
        .enumerate()
    {
        let rows = Rows::new(
            (offset as u64..(offset + len) as u64).collect::<Vec<_>>(),
            input.slice(offset, len),
        )?;
        let change = Change::new(
            version as u64 + 1,
            Timestamp::now(),
            vec![Diff::Insert { post: rows }],
        );
        let filtered = filter.apply(change.clone())?;
        let filtered_in_c = filter_in_c.apply(change)?;
        println!(
            "\nchange {}: threshold kept {} rows; c_filter (written in C) kept {}{}",
            version + 1,
            filtered.row_count(),
            filtered_in_c.row_count(),
            if filtered_in_c == filtered {
                ", the same ones"
            } else {
                ", NOT the same ones"
            }
        );
        let enriched = tiers.apply(filtered)?;
        print_tiers(&enriched);
        let totals = sums.apply(enriched)?;
        print_change(&totals);
    }
    Ok(())
}

fn read_csv(path: &Path) -> Result<RecordBatch, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header = lines
        .next()
        .ok_or_else(|| format!("{} is empty", path.display()))?;
    if header.trim() != "customer,amount" {
        return Err(format!(
            "{}: expected the header `customer,amount`, found `{header}`",
            path.display()
        )
        .into());
    }
    let (mut customers, mut amounts) = (Vec::new(), Vec::new());
    for (index, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (customer, amount) = line.split_once(',').ok_or_else(|| {
            format!(
                "{}:{}: expected `customer,amount`",
                path.display(),
                index + 2
            )
        })?;
        let amount: i64 = amount
            .trim()
            .parse()
            .map_err(|e| format!("{}:{}: amount `{amount}`: {e}", path.display(), index + 2))?;
        customers.push(customer.trim().to_owned());
        amounts.push(amount);
    }
    Ok(RecordBatch::try_from_iter([
        (
            "customer",
            Arc::new(StringArray::from(customers)) as ArrayRef,
        ),
        ("amount", Arc::new(Int64Array::from(amounts)) as ArrayRef),
    ])?)
}

fn print_change(change: &Change) {
    for diff in &change.diffs {
        let (label, rows) = match diff {
            Diff::Insert { post } => ("insert", post),
            Diff::Update { post, .. } => ("update", post),
            Diff::Remove { pre } => ("remove", pre),
        };
        let keys = rows
            .batch()
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>();
        let sums = rows.batch().column(1).as_any().downcast_ref::<Int64Array>();
        let (Some(keys), Some(sums)) = (keys, sums) else {
            continue;
        };
        for i in 0..rows.len() {
            println!(
                "  {label:<6} row {:>2}  {:<6} sum = {}",
                rows.row_numbers().value(i),
                keys.value(i),
                sums.value(i)
            );
        }
    }
}

fn print_tiers(change: &Change) {
    for diff in &change.diffs {
        let Diff::Insert { post } = diff else {
            continue;
        };
        let column = |name: &str| {
            post.batch()
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
        };
        let (Some(customers), Some(tiers)) = (column("customer"), column("tier")) else {
            continue;
        };
        for i in 0..post.len() {
            let tier = if tiers.is_null(i) {
                "-"
            } else {
                tiers.value(i)
            };
            println!(
                "  enrich row {:>2}  {:<6} tier = {tier}",
                post.row_numbers().value(i),
                customers.value(i)
            );
        }
    }
}
