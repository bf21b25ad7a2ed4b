//! Soak and resource checks of oplink-host: `oplink-soak SCENARIO [N [M]]`, run by
//! `scripts/soak/run`. Each scenario prints samples of the process's resident memory
//! (VmRSS, VmHWM), the bytes malloc has handed out and not taken back (`mallinfo2`: every
//! arena, both sides of the boundary; run with `GLIBC_TUNABLES=glibc.malloc.tcache_count=0`
//! so that chunks cached per thread do not count as in use), open descriptors, threads,
//! mappings, mapped libraries and child processes, then what grew after its warm-up.
//!
//! Plugins are read from `$PLUGINS` (default: the workspace's `target/debug`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Discovery, Error, Host, LiveInstance, Plugin, StateStore};
use serde_json::json;

#[repr(C)]
#[derive(Default)]
struct Mallinfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}
// SAFETY: glibc's `mallinfo2`, which takes nothing and returns this struct by value.
unsafe extern "C" {
    fn mallinfo2() -> Mallinfo2;
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    rss_kb: u64,
    hwm_kb: u64,
    heap_kb: u64,
    fds: usize,
    threads: usize,
    maps: usize,
    so_files: usize,
}

fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn sample() -> Sample {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut files: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.contains(".so"))
        .collect();
    files.sort();
    files.dedup();
    // SAFETY: mallinfo2 has no preconditions.
    let mi = unsafe { mallinfo2() };
    Sample {
        rss_kb: status_kb("VmRSS:"),
        hwm_kb: status_kb("VmHWM:"),
        heap_kb: ((mi.uordblks + mi.hblkhd) / 1024) as u64,
        fds: std::fs::read_dir("/proc/self/fd").unwrap().count(),
        threads: std::fs::read_dir("/proc/self/task").unwrap().count(),
        maps: maps.lines().count(),
        so_files: files.len(),
    }
}

fn children() -> usize {
    // child processes (zombies included) of this process
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|s| {
                    let after = s.rsplit_once(')')?.1.to_owned();
                    after.split_whitespace().nth(1).map(|p| p == me)
                })
                .unwrap_or(false)
        })
        .count()
}

fn show(label: &str, i: u64, s: Sample, t0: Instant) {
    println!(
        "{label:>28} {i:>9}  rss {:>8} kB  hwm {:>8} kB  heap {:>8} kB  fds {:>3}  threads {:>2}  maps {:>5}  .so {:>4}  kids {}  {:>6.1}s",
        s.rss_kb,
        s.hwm_kb,
        s.heap_kb,
        s.fds,
        s.threads,
        s.maps,
        s.so_files,
        children(),
        t0.elapsed().as_secs_f64()
    );
}

fn dir() -> PathBuf {
    std::env::var_os("PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
                || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../target"),
                PathBuf::from,
            );
            target.join("debug")
        })
}

fn lib(name: &str) -> PathBuf {
    dir().join(format!("lib{name}.so"))
}

fn batch(first: u64, n: usize) -> RecordBatch {
    let amounts: Vec<i64> = (0..n as i64).map(|i| (first as i64 + i) % 20).collect();
    const NAMES: [&str; 10] = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"];
    let customers: Vec<&str> = (0..n).map(|i| NAMES[(first as usize + i) % 10]).collect();
    RecordBatch::try_from_iter([
        ("amount", Arc::new(Int64Array::from(amounts)) as ArrayRef),
        (
            "customer",
            Arc::new(StringArray::from(customers)) as ArrayRef,
        ),
    ])
    .unwrap()
}

fn change(version: u64, first: u64, n: usize) -> Change {
    let rows = Rows::new(
        (first..first + n as u64).collect::<Vec<_>>(),
        batch(first, n),
    )
    .unwrap();
    Change::new(
        version,
        Timestamp(version as i64),
        vec![Diff::Insert { post: rows }],
    )
}

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// 1. steady stream through one instance of each of several operators.
fn steady() {
    let calls = arg(2, 1_000_000);
    let rows = arg(3, 1) as usize;
    let same = std::env::var_os("SAME").is_some();
    let t0 = Instant::now();
    let host = Host::default();
    let toolkit = Plugin::load(lib("toolkit")).unwrap();
    let threshold = Plugin::load(lib("threshold")).unwrap();
    let scale = Plugin::load(lib("scale")).unwrap();
    let ops: Vec<(&str, Plugin, serde_json::Value)> = vec![
        ("passthrough", toolkit.clone(), json!({})),
        ("passthrough_view", toolkit.clone(), json!({})),
        (
            "threshold",
            threshold,
            json!({"column": "amount", "min": 10}),
        ),
        (
            "scale",
            scale.clone(),
            json!({"column": "amount", "factor": 3}),
        ),
        (
            "scale_batch",
            scale,
            json!({"column": "amount", "factor": 3}),
        ),
        ("tally", toolkit, json!({"key": "customer"})),
    ];
    let only = std::env::var("OPS").ok();
    show("start", 0, sample(), t0);
    for (name, plugin, cfg) in ops {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| x == name))
        {
            continue;
        }
        let mut op = plugin.instantiate(name, cfg, &host).unwrap();
        let fixed = change(1, 0, rows);
        let warm = calls / 10;
        let mut out_rows = 0usize;
        let mut base = None;
        for i in 0..calls {
            let c = if same {
                fixed.clone()
            } else {
                change(i + 1, i * rows as u64, rows)
            };
            let out = op.apply(c).unwrap();
            out_rows += out.diffs.len();
            drop(out);
            if i + 1 == warm {
                let s = sample();
                base = Some(s);
                show(&format!("{name}/{rows} warm"), i + 1, s, t0);
            } else if (i + 1) % (calls / 5).max(1) == 0 {
                show(&format!("{name}/{rows}"), i + 1, sample(), t0);
            }
        }
        let end = sample();
        if let Some(b) = base {
            println!(
                "{:>28} after warm-up: rss {:+} kB, heap {:+} kB over {} calls ({} diffs out)",
                name,
                end.rss_kb as i64 - b.rss_kb as i64,
                end.heap_kb as i64 - b.heap_kb as i64,
                calls - warm,
                out_rows
            );
        }
        drop(op);
    }
    show("end", 0, sample(), t0);
}

/// 2a. create and drop many instances.
fn instances() {
    let n = arg(2, 20_000);
    let t0 = Instant::now();
    let host = Host::builder().state_store(StateStore::in_memory()).build();
    let toolkit = Plugin::load(lib("toolkit")).unwrap();
    let running = Plugin::load(lib("running_sum")).unwrap();
    show("start", 0, sample(), t0);
    for (kind, mode) in [
        ("instantiate", 0),
        ("instantiate_named uniq", 1),
        ("named+flush uniq", 4),
        ("LiveInstance", 2),
        ("running_sum", 3),
    ] {
        let b = sample();
        for i in 0..n {
            match mode {
                0 => {
                    let mut op = toolkit
                        .instantiate("tally", json!({"key": "customer"}), &host)
                        .unwrap();
                    op.apply(change(1, 0, 3)).unwrap();
                }
                1 => {
                    let mut op = toolkit
                        .instantiate_named(
                            "tally",
                            json!({"key": "customer"}),
                            &host,
                            &format!("s{i}"),
                        )
                        .unwrap();
                    op.apply(change(1, 0, 3)).unwrap();
                }
                4 => {
                    let mut op = toolkit
                        .instantiate_named("passthrough", json!({}), &host, &format!("f{i}"))
                        .unwrap();
                    op.apply(change(1, 0, 3)).unwrap();
                    op.flush_state().unwrap();
                }
                2 => {
                    let live = LiveInstance::new(
                        &toolkit,
                        "tally",
                        json!({"key": "customer"}),
                        &host,
                        Some("live"),
                    )
                    .unwrap();
                    live.apply(change(1, 0, 3)).unwrap();
                    live.checkpoint().unwrap();
                }
                _ => {
                    let mut op = running
                        .instantiate(
                            "running_sum",
                            json!({"key": "customer", "value": "amount"}),
                            &host,
                        )
                        .unwrap();
                    op.apply(change(1, 0, 3)).unwrap();
                }
            }
            if (i + 1) % (n / 4).max(1) == 0 {
                show(kind, i + 1, sample(), t0);
            }
        }
        let e = sample();
        println!(
            "{kind:>28}: rss {:+} kB, heap {:+} kB over {n} instances ({:.1} B/instance heap)",
            e.rss_kb as i64 - b.rss_kb as i64,
            e.heap_kb as i64 - b.heap_kb as i64,
            (e.heap_kb as f64 - b.heap_kb as f64) * 1024.0 / n as f64
        );
    }
}

/// 2b. load the same libraries many times.
fn loads() {
    let n = arg(2, 100_000);
    let t0 = Instant::now();
    let paths = [lib("toolkit"), lib("threshold"), lib("scale")];
    let mut kept = Vec::new();
    for p in &paths {
        kept.push(Plugin::load(p).unwrap());
    }
    show("start", 0, sample(), t0);
    let b = sample();
    for i in 0..n {
        let p = Plugin::load(&paths[i as usize % 3]).unwrap();
        assert!(p == kept[i as usize % 3]);
        if (i + 1) % (n / 4).max(1) == 0 {
            show("Plugin::load", i + 1, sample(), t0);
        }
    }
    let e = sample();
    println!(
        "Plugin::load: heap {:+} kB over {n}",
        e.heap_kb as i64 - b.heap_kb as i64
    );
    let b = sample();
    for i in 0..n / 10 {
        let _p = Plugin::load_checked(&paths[i as usize % 3]).unwrap();
        if (i + 1) % (n / 40).max(1) == 0 {
            show("Plugin::load_checked", i + 1, sample(), t0);
        }
    }
    let e = sample();
    println!(
        "load_checked: heap {:+} kB over {}",
        e.heap_kb as i64 - b.heap_kb as i64,
        n / 10
    );
    // A load that fails: a missing file, a file that is no library.
    let junk = std::env::temp_dir().join("soak-junk.so");
    std::fs::write(
        &junk,
        b"not a library at all, just text that is long enough to have an ELF header's room",
    )
    .unwrap();
    let b = sample();
    for i in 0..n / 10 {
        let _ = Plugin::load("/nonexistent/libx.so").unwrap_err();
        let _ = Plugin::load(&junk).unwrap_err();
        if (i + 1) % (n / 40).max(1) == 0 {
            show("failed loads", i + 1, sample(), t0);
        }
    }
    let e = sample();
    println!(
        "failed loads: heap {:+} kB over {}",
        e.heap_kb as i64 - b.heap_kb as i64,
        n / 10
    );
}

/// 2c. rescan a folder of plugins, some broken.
fn discovery() {
    let n = arg(2, 2_000);
    let t0 = Instant::now();
    let folder = std::env::temp_dir().join(format!("soak-plugins-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    for name in ["toolkit", "threshold", "running_sum"] {
        std::fs::copy(lib(name), folder.join(format!("lib{name}.so"))).unwrap();
    }
    // A library that is no plugin, and a truncated one.
    let libm = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .unwrap();
    std::fs::copy(libm, folder.join("libnotaplugin.so")).unwrap();
    {
        let bytes = std::fs::read(lib("threshold")).unwrap();
        std::fs::write(folder.join("libtruncated.so"), &bytes[..bytes.len() / 2]).unwrap();
    }
    let checked = std::env::var_os("UNCHECKED").is_none();
    let ballast_mb: usize = std::env::var("BALLAST_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let ballast = vec![1u8; ballast_mb << 20];
    std::hint::black_box(&ballast);
    let discovery = Discovery::new([&folder])
        .checked(checked)
        .fresh_when_replaced(true);
    let first = discovery.scan();
    for e in first.entries() {
        println!("{e}");
    }
    drop(first);
    show("start", 0, sample(), t0);
    let b = sample();
    let replace_every = arg(3, 0);
    let mut replaced = 0;
    let t1 = Instant::now();
    for i in 0..n {
        if replace_every != 0 && (i + 1) % replace_every == 0 {
            // a new build renamed into place
            let tmp = folder.join(".tmp-threshold");
            std::fs::copy(lib("threshold"), &tmp).unwrap();
            std::fs::rename(&tmp, folder.join("libthreshold.so")).unwrap();
            replaced += 1;
        }
        let found = discovery.scan();
        assert_eq!(found.plugins().len(), 3, "{:?}", found.entries());
        if (i + 1) % (n / 5).max(1) == 0 {
            show("scan", i + 1, sample(), t0);
        }
    }
    let e = sample();
    println!(
        "{:.2} ms per scan",
        t1.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
    println!(
        "scan: rss {:+} kB, heap {:+} kB, .so {:+} over {n} scans ({replaced} replacements)",
        e.rss_kb as i64 - b.rss_kb as i64,
        e.heap_kb as i64 - b.heap_kb as i64,
        e.so_files as i64 - b.so_files as i64
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

/// 2d. load_fresh repeatedly (each maps a copy).
fn fresh() {
    let n = arg(2, 200);
    let t0 = Instant::now();
    let path = lib(&std::env::var("LIB").unwrap_or_else(|_| "threshold".into()));
    let _first = Plugin::load(&path).unwrap();
    show("start", 0, sample(), t0);
    let b = sample();
    for i in 0..n {
        let p = Plugin::load_fresh(&path).unwrap();
        drop(p);
        if (i + 1) % (n / 5).max(1) == 0 {
            show("load_fresh", i + 1, sample(), t0);
        }
    }
    let e = sample();
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("oplink-reload-{}", std::process::id()))
        })
        .count();
    println!(
        "load_fresh: rss {:+} kB ({:.0} kB each), heap {:+} kB, maps {:+}, .so {:+} over {n}; temp folders left {leftovers}",
        e.rss_kb as i64 - b.rss_kb as i64,
        (e.rss_kb as f64 - b.rss_kb as f64) / n as f64,
        e.heap_kb as i64 - b.heap_kb as i64,
        e.maps as i64 - b.maps as i64,
        e.so_files as i64 - b.so_files as i64
    );
}

/// 2e. reload a live instance thousands of times while another thread applies.
fn reload() {
    let n = arg(2, 5_000);
    let t0 = Instant::now();
    let host = Host::builder().state_store(StateStore::in_memory()).build();
    let a = Plugin::load(lib("toolkit")).unwrap();
    let b = Plugin::load(lib("toolkit_next")).unwrap();
    let live = LiveInstance::new(
        &a,
        "tally",
        json!({"key": "customer", "ballast": 1000}),
        &host,
        Some("t"),
    )
    .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let applied = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let worker = {
        let live = live.clone();
        let stop = stop.clone();
        let applied = applied.clone();
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                live.apply(change(i + 1, i * 10, 10)).unwrap();
                i += 1;
                if i.is_multiple_of(100) {
                    live.flush_and_checkpoint().unwrap();
                }
                applied.store(i, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    show("start", 0, sample(), t0);
    let mut base = None;
    for i in 0..n {
        let to = if i % 2 == 0 { &b } else { &a };
        live.reload(to).unwrap();
        if i % 10 == 0 {
            live.recover().unwrap(); // not poisoned: a no-op
        }
        if i + 1 == n / 10 {
            base = Some(sample());
        }
        if (i + 1) % (n / 5).max(1) == 0 {
            show("reload", i + 1, sample(), t0);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    worker.join().unwrap();
    let e = sample();
    let bs = base.unwrap();
    println!(
        "reload: generation {}, {} changes applied meanwhile; after warm-up rss {:+} kB, heap {:+} kB, .so {:+}",
        live.generation(),
        applied.load(std::sync::atomic::Ordering::Relaxed),
        e.rss_kb as i64 - bs.rss_kb as i64,
        e.heap_kb as i64 - bs.heap_kb as i64,
        e.so_files as i64 - bs.so_files as i64
    );
}

/// 3. faults: an operator that errors every Nth call and panics every Mth.
fn faults() {
    let n = arg(2, 200_000);
    let t0 = Instant::now();
    let host = Host::builder().state_store(StateStore::in_memory()).build();
    let skip_flaky = std::env::var_os("FAULTY").is_some();
    let flaky = Plugin::load(lib("flaky")).unwrap();
    if std::env::var_os("SUBSCRIBER").is_some() {
        tracing::subscriber::set_global_default(Null::default()).unwrap();
    }
    let cfg = json!({"error_every": 7, "panic_every": 50, "log_every": 5});
    // A live instance, recovered after each panic.
    if !skip_flaky {
        let live = LiveInstance::new(&flaky, "flaky", &cfg, &host, Some("flaky")).unwrap();
        let (mut ok, mut failed, mut panicked) = (0u64, 0u64, 0u64);
        let mut base = None;
        show("start", 0, sample(), t0);
        for i in 0..n {
            match live.apply(change(i + 1, i, 1)) {
                Ok(_) => ok += 1,
                Err(Error::Failed { .. }) => failed += 1,
                Err(Error::Panicked { .. }) => {
                    panicked += 1;
                    live.recover().unwrap();
                }
                Err(other) => panic!("{other}"),
            }
            if i % 20 == 0 {
                live.flush_and_checkpoint().unwrap();
            }
            if i + 1 == n / 10 {
                base = Some(sample());
            }
            if (i + 1) % (n / 5).max(1) == 0 {
                show("live flaky", i + 1, sample(), t0);
            }
        }
        let e = sample();
        let bs = base.unwrap();
        println!(
            "live flaky: {ok} ok, {failed} errors, {panicked} panics, generation {}; after warm-up rss {:+} kB, heap {:+} kB",
            live.generation(),
            e.rss_kb as i64 - bs.rss_kb as i64,
            e.heap_kb as i64 - bs.heap_kb as i64
        );
        drop(live);
        // Plain instances: dropped and made anew after a panic.
        let mut op = flaky.instantiate("flaky", &cfg, &host).unwrap();
        let (mut ok, mut failed, mut panicked) = (0u64, 0u64, 0u64);
        let b = sample();
        for i in 0..n {
            match op.apply(change(i + 1, i, 1)) {
                Ok(_) => ok += 1,
                Err(Error::Failed { .. }) => failed += 1,
                Err(Error::Panicked { .. }) => {
                    panicked += 1;
                    assert!(op.is_poisoned());
                    assert!(matches!(
                        op.apply(change(1, 0, 1)),
                        Err(Error::Poisoned { .. })
                    ));
                    op = flaky.instantiate("flaky", &cfg, &host).unwrap();
                }
                Err(other) => panic!("{other}"),
            }
            if (i + 1) % (n / 5).max(1) == 0 {
                show("plain flaky", i + 1, sample(), t0);
            }
        }
        let e = sample();
        println!(
            "plain flaky: {ok} ok, {failed} errors, {panicked} panics; rss {:+} kB, heap {:+} kB",
            e.rss_kb as i64 - b.rss_kb as i64,
            e.heap_kb as i64 - b.heap_kb as i64
        );
    }
    // The faulty example's other faults, in a loop.
    let faulty = Plugin::load(lib("faulty")).unwrap();
    for (fail_in, how) in [
        ("new", "panic"),
        ("new", "error"),
        ("drop", "panic"),
        ("apply", "panic_on_free"),
        ("apply", "bad_utf8"),
        ("snapshot", "panic"),
        ("pull", "short"),
    ] {
        if std::env::var("FAULTY").is_ok_and(|f| f != format!("{fail_in}/{how}")) {
            continue;
        }
        let m = n / 20;
        let b = sample();
        for _ in 0..m {
            match faulty.instantiate("faulty", json!({"fail_in": fail_in, "how": how}), &host) {
                Err(_) => {}
                Ok(mut op) => {
                    let _ = op.apply(change(1, 0, 4));
                    let _ = op.snapshot();
                    let _ = op.pull(&[1, 2, 3]);
                }
            }
        }
        let e = sample();
        show(&format!("faulty {fail_in}/{how}"), m, e, t0);
        println!(
            "faulty {fail_in}/{how}: rss {:+} kB, heap {:+} kB over {m}",
            e.rss_kb as i64 - b.rss_kb as i64,
            e.heap_kb as i64 - b.heap_kb as i64
        );
    }
}

/// A subscriber that wants everything and keeps nothing but counts.
#[derive(Default)]
struct Null {
    next: std::sync::atomic::AtomicU64,
    events: std::sync::atomic::AtomicU64,
}

impl tracing::Subscriber for Null {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(
            1 + self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        )
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {
        self.events
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// 2f. many short-lived threads each calling an instance (thread-locals of host and plugin).
fn threads() {
    let n = arg(2, 10_000);
    let t0 = Instant::now();
    let host = Host::default();
    let toolkit = Plugin::load(lib("toolkit")).unwrap();
    let flaky = Plugin::load(lib("flaky")).unwrap();
    let live = LiveInstance::new(&toolkit, "passthrough", json!({}), &host, None).unwrap();
    let bad = LiveInstance::new(
        &flaky,
        "flaky",
        json!({"error_every": 3, "panic_every": 4, "log_every": 2}),
        &host,
        None,
    )
    .unwrap();
    show("start", 0, sample(), t0);
    let mut base = None;
    for i in 0..n {
        let live = live.clone();
        let bad = bad.clone();
        std::thread::spawn(move || {
            live.apply(change(i + 1, i, 2)).unwrap();
            let mut op = toolkit_instance();
            op.apply(change(1, 0, 1)).unwrap();
            if bad.apply(change(1, 0, 1)).is_err() && bad.is_poisoned() {
                bad.recover().unwrap();
            }
        })
        .join()
        .unwrap();
        if i + 1 == n / 10 {
            base = Some(sample());
        }
        if (i + 1) % (n / 5).max(1) == 0 {
            show("thread", i + 1, sample(), t0);
        }
    }
    let e = sample();
    let b = base.unwrap();
    println!(
        "threads: after warm-up rss {:+} kB, heap {:+} kB, threads {}",
        e.rss_kb as i64 - b.rss_kb as i64,
        e.heap_kb as i64 - b.heap_kb as i64,
        e.threads
    );
}

fn toolkit_instance() -> oplink_host::Instance {
    Plugin::load(lib("toolkit"))
        .unwrap()
        .instantiate("tally", json!({"key": "customer"}), &Host::default())
        .unwrap()
}

/// 2g. an on-disk store flushed many times.
fn store() {
    let n = arg(2, 20_000);
    let t0 = Instant::now();
    let path = std::env::temp_dir().join(format!("soak-state-{}.redb", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let host = Host::builder()
        .state_store(StateStore::open(&path).unwrap())
        .build();
    let toolkit = Plugin::load(lib("toolkit")).unwrap();
    let live = LiveInstance::new(
        &toolkit,
        "tally",
        json!({"key": "customer"}),
        &host,
        Some("t"),
    )
    .unwrap();
    show("start", 0, sample(), t0);
    let mut base = None;
    for i in 0..n {
        live.apply(change(i + 1, i * 100, 100)).unwrap();
        live.flush_and_checkpoint().unwrap();
        if i + 1 == n / 10 {
            base = Some((sample(), std::fs::metadata(&path).unwrap().len()));
        }
        if (i + 1) % (n / 5).max(1) == 0 {
            show("flush", i + 1, sample(), t0);
            println!(
                "{:>28} file {} bytes",
                "",
                std::fs::metadata(&path).unwrap().len()
            );
        }
    }
    let e = sample();
    let (b, size) = base.unwrap();
    println!(
        "store: after warm-up rss {:+} kB, heap {:+} kB, file {} -> {} bytes",
        e.rss_kb as i64 - b.rss_kb as i64,
        e.heap_kb as i64 - b.heap_kb as i64,
        size,
        std::fs::metadata(&path).unwrap().len()
    );
    drop(live);
    drop(host);
    let _ = std::fs::remove_file(&path);
}

/// 2h. host services: `enrich` (Catalog) and `echo` (every type of the vocabulary).
fn services_soak() {
    use services::{Catalog, Echo, EchoBack};
    struct Tiers;
    impl Catalog for Tiers {
        fn tier(&self, customer: &str) -> Option<String> {
            customer.ends_with('1').then(|| "gold".to_owned())
        }
        fn customers_in(&self, region: &str) -> oplink::Result<u64> {
            Err(oplink::Error::msg(format!("no region `{region}`")))
        }
    }
    let n = arg(2, 50_000);
    let t0 = Instant::now();
    let host = Host::builder()
        .provide::<dyn Catalog>(Arc::new(Tiers))
        .provide::<dyn Echo>(Arc::new(EchoBack))
        .build();
    let enrich = Plugin::load(lib("enrich")).unwrap();
    show("start", 0, sample(), t0);
    for (op, cfg) in [
        ("enrich", json!({"customer_column": "customer"})),
        ("echo", json!({"call": "all"})),
        ("echo", json!({"call": "fail"})),
        ("echo", json!({"call": "panic"})),
        ("echo", json!({"call": "on_threads"})),
    ] {
        let mut inst = enrich.instantiate(op, &cfg, &host).unwrap();
        let mut base = None;
        let (mut ok, mut err) = (0, 0);
        let m = if cfg["call"] == "on_threads" {
            n / 10
        } else {
            n
        };
        for i in 0..m {
            match inst.apply(change(i + 1, i * 4, 4)) {
                Ok(_) => ok += 1,
                Err(_) => {
                    err += 1;
                    if inst.is_poisoned() {
                        inst = enrich.instantiate(op, &cfg, &host).unwrap();
                    }
                }
            }
            if i + 1 == m / 10 {
                base = Some(sample());
            }
        }
        let e = sample();
        let b = base.unwrap();
        show(&format!("{op} {}", cfg), m, e, t0);
        println!(
            "{op} {cfg}: {ok} ok, {err} errors; after warm-up rss {:+} kB, heap {:+} kB",
            e.rss_kb as i64 - b.rss_kb as i64,
            e.heap_kb as i64 - b.heap_kb as i64
        );
    }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    match which.as_str() {
        "steady" => steady(),
        "instances" => instances(),
        "loads" => loads(),
        "discovery" => discovery(),
        "fresh" => fresh(),
        "reload" => reload(),
        "faults" => faults(),
        "threads" => threads(),
        "store" => store(),
        "services" => services_soak(),
        other => eprintln!("unknown scenario {other:?}"),
    }
}
