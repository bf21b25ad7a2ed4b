//! What the lifecycle costs: a reload's handoff with a small and a 10 MiB state, loading a
//! fresh checked copy of a library (a reload's validation), flushing state to the on-disk
//! store, and the memory each reload keeps mapped.
//!
//! Run with `cargo bench -p oplink-host --bench lifecycle` (it builds `toolkit` and
//! `toolkit-next` in release mode first). Before the benchmarks it prints the resident
//! memory that each fresh copy of the release `toolkit` library adds (libraries are never
//! unloaded, so every reload keeps one).
//!
//! * `reload_handoff`: [`LiveInstance::reload`] of `tally` onto an already loaded build:
//!   snapshot, new instance, restore, swap. Argument: the bytes of in-memory state carried
//!   (0, or 10 MiB of `ballast`).
//! * `load_fresh`: [`Plugin::load_fresh`]: copy the file, open and validate it in a child,
//!   load and validate it here. A reload is `load_fresh` + `reload_handoff`.
//! * `flush_state`: a `tally` of 1,000 rows over 1,000 keys, then `flush_state` into an
//!   on-disk store (one redb transaction, made durable before it returns); the throughput
//!   is in keys written per second.

use divan::Bencher;
use divan::counter::ItemsCount;
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Host, LiveInstance, Plugin, StateStore};
use serde_json::json;

mod common;

const CRATES: [&str; 2] = ["toolkit", "toolkit-next"];

fn main() {
    memory_per_reload();
    divan::main();
}

fn toolkit() -> std::path::PathBuf {
    common::release_path(&CRATES, "toolkit")
}

fn toolkit_next() -> std::path::PathBuf {
    common::release_path(&CRATES, "toolkit_next")
}

/// Resident set size of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: `sysconf` only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}

/// Loads fresh copies of `toolkit`, creates and runs an instance of each, and prints what
/// each adds to the resident memory.
fn memory_per_reload() {
    const COPIES: u64 = 8;
    let path = toolkit();
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let host = Host::default();
    // One copy first, so that what every process pays once is not counted.
    let mut keep = vec![Plugin::load_fresh(&path).unwrap()];
    let before = rss();
    for _ in 0..COPIES {
        let plugin = Plugin::load_fresh(&path).unwrap();
        let mut op = plugin
            .instantiate("tally", json!({"key": "k"}), &host)
            .unwrap();
        op.apply(change(100, 0)).unwrap();
        keep.push(plugin);
    }
    let per_copy = (rss().saturating_sub(before)) / COPIES;
    println!(
        "memory per reload: {:.2} MiB of RSS per fresh copy of a {:.1} MB release library ({COPIES} copies)",
        per_copy as f64 / (1024.0 * 1024.0),
        size as f64 / 1e6
    );
}

/// `rows` rows with keys `k{first + i}` (so `rows` distinct keys from `first`).
fn change(rows: u64, first: u64) -> Change {
    let keys: Vec<String> = (first..first + rows).map(|i| format!("k{i}")).collect();
    let batch = oplink::arrow::array::RecordBatch::try_from_iter([(
        "k",
        std::sync::Arc::new(oplink::arrow::array::StringArray::from(keys)) as _,
    )])
    .unwrap();
    Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: Rows::new((first..first + rows).collect::<Vec<_>>(), batch).unwrap(),
        }],
    )
}

#[divan::bench(args = [0, 10 << 20], sample_count = 30)]
fn reload_handoff(bencher: Bencher, ballast: usize) {
    let host = Host::default();
    let builds = [
        Plugin::load(toolkit()).unwrap(),
        Plugin::load(toolkit_next()).unwrap(),
    ];
    let live = LiveInstance::new(
        &builds[0],
        "tally",
        json!({"key": "k", "ballast": ballast}),
        &host,
        None,
    )
    .unwrap()
    .with_max_generations(u64::MAX);
    live.apply(change(100, 0)).unwrap();
    let mut n = 0;
    bencher.bench_local(|| {
        n += 1;
        live.reload(&builds[n % 2]).unwrap()
    });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn load_fresh() -> Plugin {
    Plugin::load_fresh(toolkit()).unwrap()
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn flush_state(bencher: Bencher) {
    let dir = std::env::temp_dir().join(format!("oplink-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = StateStore::open(dir.join("state.redb")).unwrap();
    let host = Host::builder().state_store(store).build();
    let plugin = Plugin::load(toolkit()).unwrap();
    let mut tally = plugin
        .instantiate_named("tally", json!({"key": "k"}), &host, "bench")
        .unwrap();
    let mut first = 0;
    bencher
        .counter(ItemsCount::new(1_000usize))
        .with_inputs(|| {
            first += 1_000;
            change(1_000, first)
        })
        .bench_local_values(|input| {
            tally.apply(input).unwrap();
            tally.flush_state().unwrap();
        });
    let _ = std::fs::remove_dir_all(&dir);
}
