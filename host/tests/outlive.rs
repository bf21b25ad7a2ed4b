//! An adversarial run of the host guide's promises: what a plugin returned stays valid as
//! long as someone holds it, whatever was dropped before it and on whichever thread (the
//! instance, the `LiveInstance`, the plugin handle, the host, a reloaded build), the
//! batches the host hands in stay the host's, odd inputs (no rows, no columns, sliced,
//! a great many diffs) cross or are refused, and panics under load are errors. Every
//! output kept here is read after everything that made it is gone, and dropped last: its
//! release callback runs the plugin's code, which must still be mapped.
//!
//! `OPLINK_STRESS_SCALE` divides the sizes (for a run under valgrind: `.ci/memcheck`).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;

use common::plugin_path;
use oplink::arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, RecordBatchOptions, StringArray, UInt64Array,
};
use oplink::arrow::schema::Schema;
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Error, Host, Instance, LiveInstance, Plugin};
use serde_json::json;

/// How much smaller than their full sizes the loops and changes here are.
fn scale() -> usize {
    std::env::var("OPLINK_STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(1)
}

/// A tag value long enough that the column's text (over 256 bytes at any row count used
/// here) is not copied by the host on the way back: the output holds the plugin's memory.
const TAG: &str = "a tag value long enough to be shared, not copied";

/// `n` rows: `amount` = `base + i`, `customer` = `"customer-{i % 7}"` (text long enough to
/// be shared), numbered from `base`.
fn rows_of(base: u64, n: usize) -> Rows {
    let amounts: Vec<i64> = (0..n as i64).map(|i| base as i64 + i).collect();
    let customers: Vec<String> = (0..n).map(|i| format!("customer-{}", i % 7)).collect();
    let batch = RecordBatch::try_from_iter([
        ("amount", Arc::new(Int64Array::from(amounts)) as ArrayRef),
        (
            "customer",
            Arc::new(StringArray::from(customers)) as ArrayRef,
        ),
    ])
    .unwrap();
    Rows::new((base..base + n as u64).collect::<Vec<_>>(), batch).unwrap()
}

fn insert_of(version: u64, base: u64, n: usize) -> Change {
    Change::new(
        version,
        Timestamp(version as i64),
        vec![Diff::Insert {
            post: rows_of(base, n),
        }],
    )
}

fn only_rows(change: &Change) -> &Rows {
    assert_eq!(change.diffs.len(), 1, "{change:?}");
    match &change.diffs[0] {
        Diff::Insert { post } => post,
        other => panic!("expected an insert, not {other:?}"),
    }
}

fn i64s(rows: &Rows, column: &str) -> Vec<i64> {
    rows.batch()
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column `{column}`"))
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .values()
        .to_vec()
}

fn strings(rows: &Rows, column: &str) -> Vec<String> {
    rows.batch()
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column `{column}`"))
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_owned())
        .collect()
}

/// An output kept past its makers, and how to check it.
enum Kept {
    /// `tag`'s output of `insert_of(_, base, n)`.
    Tagged { base: u64, n: usize, out: Change },
    /// `scale`'s (factor 3) output of `insert_of(_, base, n)`.
    Scaled { base: u64, n: usize, out: Change },
    /// An output equal to a change the test can make again.
    Same { expected: Change, out: Change },
    /// `tally`'s `pull` of `n` rows after it counted `counted`, from build `build`.
    Pulled {
        counted: u64,
        n: usize,
        build: &'static str,
        out: RecordBatch,
    },
}

impl Kept {
    fn check(&self) {
        match self {
            Kept::Tagged { base, n, out } => {
                let rows = only_rows(out);
                assert_eq!(rows.row_numbers().values().to_vec(), {
                    (*base..*base + *n as u64).collect::<Vec<_>>()
                });
                assert_eq!(i64s(rows, "amount"), i64s(&rows_of(*base, *n), "amount"));
                assert_eq!(strings(rows, "t"), vec![TAG.to_owned(); *n]);
            }
            Kept::Scaled { base, n, out } => {
                let rows = only_rows(out);
                let expected: Vec<i64> = i64s(&rows_of(*base, *n), "amount")
                    .into_iter()
                    .map(|a| a * 3)
                    .collect();
                assert_eq!(i64s(rows, "amount"), expected);
            }
            Kept::Same { expected, out } => assert_eq!(out, expected),
            Kept::Pulled {
                counted,
                n,
                build,
                out,
            } => {
                assert_eq!(out.num_rows(), *n);
                let counts = out
                    .column(0)
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .unwrap();
                assert!(counts.values().iter().all(|c| c == counted), "{counts:?}");
                let builds = out.column(1).as_any().downcast_ref::<StringArray>();
                assert!(builds.unwrap().iter().all(|b| b == Some(*build)));
            }
        }
    }
}

fn check_all(kept: &[Kept]) {
    for k in kept {
        k.check();
    }
}

/// The six orders of three things.
const ORDERS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

/// Outputs of every kind (a batch the plugin built, an output built from typed values, a
/// forwarded view, a `pull`) outlive their instances, plugin handles and host, dropped in
/// each of the six orders; the outputs are read after each drop and dropped last.
#[test]
fn outputs_outlive_instances_plugins_and_host_dropped_in_every_order() {
    let n = 600 / scale();
    for order in ORDERS {
        let host = Host::default();
        let toolkit = Plugin::load(plugin_path("toolkit")).unwrap();
        let scaler = Plugin::load(plugin_path("scale")).unwrap();
        let mut tag = toolkit
            .instantiate("tag", json!({"column": "t", "value": TAG}), &host)
            .unwrap();
        let mut tally = toolkit
            .instantiate("tally", json!({"key": "customer"}), &host)
            .unwrap();
        let mut view = toolkit
            .instantiate("passthrough_view", json!(null), &host)
            .unwrap();
        let mut delay = toolkit.instantiate("delay", json!(null), &host).unwrap();
        let mut scale_op = scaler
            .instantiate("scale", json!({"column": "amount", "factor": 3}), &host)
            .unwrap();
        let mut kept = Vec::new();
        for version in 1..=3u64 {
            let base = version * 10_000;
            let input = insert_of(version, base, n);
            kept.push(Kept::Tagged {
                base,
                n,
                out: tag.apply(input.clone()).unwrap(),
            });
            kept.push(Kept::Scaled {
                base,
                n,
                out: scale_op.apply(input.clone()).unwrap(),
            });
            kept.push(Kept::Same {
                expected: input.clone(),
                out: view.apply(input.clone()).unwrap(),
            });
            // Tagged output fed back into the plugin: its own memory, re-exported.
            let tagged_again = delay.apply(tag.apply(input.clone()).unwrap()).unwrap();
            if version > 1 {
                kept.push(Kept::Tagged {
                    base: base - 10_000,
                    n,
                    out: tagged_again,
                });
            }
            tally.apply(input).unwrap();
            kept.push(Kept::Pulled {
                counted: version * n as u64,
                n,
                build: "base",
                out: tally.pull(&vec![0; n]).unwrap(),
            });
        }
        check_all(&kept);
        let mut instances = Some((tag, tally, view, delay, scale_op));
        let mut plugins = Some((toolkit, scaler));
        let mut host = Some(host);
        for step in order {
            match step {
                0 => drop(instances.take()),
                1 => drop(plugins.take()),
                _ => drop(host.take()),
            }
            check_all(&kept);
        }
        // Dropped on another thread, last.
        thread::spawn(move || {
            check_all(&kept);
            drop(kept);
        })
        .join()
        .unwrap();
    }
}

/// The same through `LiveInstance`s reloaded between three builds (the base build, the
/// variant build, and a fresh copy of the base build, which is a library of its own), with
/// outputs of every generation kept: the live instance, the plugin handles and the host
/// are dropped in each order, the last fresh copy's handle before any output is read.
#[test]
fn outputs_of_every_generation_outlive_reloads_and_every_handle() {
    let n = 400 / scale();
    let mut fresh = Some((
        Plugin::load_fresh(plugin_path("toolkit")).unwrap(),
        Plugin::load_fresh(plugin_path("toolkit-next")).unwrap(),
    ));
    for order in ORDERS {
        let host = Host::default();
        let base = Plugin::load(plugin_path("toolkit")).unwrap();
        // The fresh copies are used in the first round only, and their handles dropped
        // once it reloaded past them: from then on nothing but the outputs hold those
        // libraries.
        let builds: Vec<(Plugin, &'static str)> =
            if let Some((fresh_base, fresh_next)) = fresh.take() {
                vec![
                    (fresh_next, "variant"),
                    (fresh_base, "base"),
                    (base.clone(), "base"),
                ]
            } else {
                vec![
                    (
                        Plugin::load(plugin_path("toolkit-next")).unwrap(),
                        "variant",
                    ),
                    (base.clone(), "base"),
                ]
            };
        let tag = LiveInstance::new(
            &base,
            "tag",
            json!({"column": "t", "value": TAG}),
            &host,
            None,
        )
        .unwrap();
        let tally =
            LiveInstance::new(&base, "tally", json!({"key": "customer"}), &host, None).unwrap();
        let mut kept = Vec::new();
        let mut counted = 0;
        let mut build = "base";
        let mut version = 0;
        for step in 0..=builds.len() {
            for _ in 0..2 {
                version += 1;
                let input = insert_of(version, version * 1_000, n);
                kept.push(Kept::Tagged {
                    base: version * 1_000,
                    n,
                    out: tag.apply(input.clone()).unwrap(),
                });
                kept.push(Kept::Same {
                    expected: input.clone(),
                    out: tally.apply(input).unwrap(),
                });
                counted += n as u64;
                kept.push(Kept::Pulled {
                    counted,
                    n,
                    build,
                    out: tally.pull(&vec![0; n]).unwrap(),
                });
            }
            if let Some((plugin, name)) = builds.get(step) {
                tag.reload(plugin).unwrap();
                tally.reload(plugin).unwrap();
                build = name;
            }
        }
        drop(builds);
        check_all(&kept);
        let mut live = Some((tag, tally));
        let mut plugin = Some(base);
        let mut host = Some(host);
        for step in order {
            match step {
                0 => drop(live.take()),
                1 => drop(plugin.take()),
                _ => drop(host.take()),
            }
            check_all(&kept);
        }
        check_all(&kept);
        let mapped = fresh_copies_mapped();
        drop(kept);
        // Nothing holds the fresh copies now, and they stay mapped all the same.
        assert_eq!(fresh_copies_mapped(), mapped);
        assert!(mapped >= 2);
    }
}

/// A thread that called into a plugin ends after every handle of its library is gone (the
/// plugin's thread-local destructors run then), while another thread holds the outputs.
#[test]
fn a_thread_that_called_a_plugin_ends_after_every_handle_is_gone() {
    let n = 300 / scale();
    let (send, outputs) = mpsc::channel::<Kept>();
    // A copy of its own: nothing but the thread's handles and outputs hold it. (Loaded
    // here: a checked load's child forked from a thread spawned by a test thread is, to
    // valgrind, a process that leaks what the threads it lost referred to.)
    let plugin = Plugin::load_fresh(plugin_path("toolkit")).unwrap();
    let caller = thread::spawn(move || {
        let host = Host::default();
        let mut tag = plugin
            .instantiate("tag", json!({"column": "t", "value": TAG}), &host)
            .unwrap();
        let mut tally = plugin
            .instantiate("tally", json!({"key": "customer"}), &host)
            .unwrap();
        for version in 1..=5 {
            let input = insert_of(version, version * 100, n);
            let out = tag.apply(input.clone()).unwrap();
            send.send(Kept::Tagged {
                base: version * 100,
                n,
                out,
            })
            .unwrap();
            tally.apply(input).unwrap();
        }
        let pulled = tally.pull(&vec![0; n]).unwrap();
        send.send(Kept::Pulled {
            counted: 5 * n as u64,
            n,
            build: "base",
            out: pulled,
        })
        .unwrap();
        drop((tag, tally, plugin, host));
        // The thread ends here, its thread-locals (the plugin's too) destroyed.
    });
    caller.join().unwrap();
    let kept: Vec<Kept> = outputs.iter().collect();
    assert_eq!(kept.len(), 6);
    check_all(&kept);
    drop(kept);
    // Never unloaded: the copy (removed from the disk) is still mapped.
    assert!(fresh_copies_mapped() >= 1);
}

/// How many fresh copies of libraries (`Plugin::load_fresh`) this process has mapped.
fn fresh_copies_mapped() -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mine = format!("/oplink-reload-{}-", std::process::id());
    let mut copies: Vec<&str> = maps
        .lines()
        .filter_map(|line| line.split_once(&mine).map(|(_, copy)| copy))
        .collect();
    copies.sort_unstable();
    copies.dedup();
    copies.len()
}

/// Many instances of one operator applied at once from several threads, each output sent
/// to one thread that keeps them all and drops them after every instance is gone (each
/// instance dropped on the thread that drove it).
#[test]
fn many_instances_of_one_operator_at_once_and_their_outputs_dropped_elsewhere() {
    const THREADS: usize = 4;
    let changes = 60 / scale() as u64;
    let n = 300 / scale();
    let host = Host::default();
    let toolkit = Plugin::load(plugin_path("toolkit")).unwrap();
    let scaler = Plugin::load(plugin_path("scale")).unwrap();
    let (send, outputs) = mpsc::channel::<Kept>();
    let all_done = Arc::new(Barrier::new(THREADS + 1));
    let keeper = {
        let all_done = all_done.clone();
        thread::spawn(move || {
            let mut kept = Vec::new();
            for k in outputs {
                kept.push(k);
            }
            all_done.wait();
            // Every instance is gone (the keeper is told after the workers dropped theirs).
            check_all(&kept);
            kept.len()
        })
    };
    let start = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (toolkit, scaler, host) = (toolkit.clone(), scaler.clone(), host.clone());
            let (send, start, all_done) = (send.clone(), start.clone(), all_done.clone());
            thread::spawn(move || {
                // Created on this thread, from shared handles, concurrently with the others.
                start.wait();
                let mut tag = toolkit
                    .instantiate("tag", json!({"column": "t", "value": TAG}), &host)
                    .unwrap();
                let mut scale_op = scaler
                    .instantiate("scale", json!({"column": "amount", "factor": 3}), &host)
                    .unwrap();
                let mut view = toolkit
                    .instantiate("passthrough_view", json!(null), &host)
                    .unwrap();
                drop((toolkit, scaler, host));
                for version in 1..=changes {
                    let base = (thread as u64) << 32 | version << 16;
                    let input = insert_of(version, base, n);
                    let tagged = tag.apply(input.clone()).unwrap();
                    let scaled = scale_op.apply(input.clone()).unwrap();
                    let viewed = view.apply(input.clone()).unwrap();
                    send.send(Kept::Tagged {
                        base,
                        n,
                        out: tagged,
                    })
                    .unwrap();
                    send.send(Kept::Scaled {
                        base,
                        n,
                        out: scaled,
                    })
                    .unwrap();
                    send.send(Kept::Same {
                        expected: input,
                        out: viewed,
                    })
                    .unwrap();
                }
                drop((tag, scale_op, view));
                drop(send);
                all_done.wait();
            })
        })
        .collect();
    drop((send, toolkit, scaler, host));
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(keeper.join().unwrap(), THREADS * changes as usize * 3);
}

/// A `LiveInstance` reloaded over and over on one thread while others apply changes through
/// it and a third keeps its outputs (plugin-built batches of each generation), which it
/// reads after the live instance and every build's handle are gone.
#[test]
fn a_live_instance_reloaded_on_one_thread_while_another_holds_its_outputs() {
    const APPLIERS: usize = 3;
    let changes = 80 / scale() as u64;
    let n = 200 / scale();
    let host = Host::default();
    let base = Plugin::load(plugin_path("toolkit")).unwrap();
    let next = Plugin::load(plugin_path("toolkit-next")).unwrap();
    let tag = LiveInstance::new(
        &base,
        "tag",
        json!({"column": "t", "value": TAG}),
        &host,
        None,
    )
    .unwrap();
    let tally = LiveInstance::new(&base, "tally", json!({"key": "customer"}), &host, None).unwrap();
    let (send, outputs) = mpsc::channel::<(Kept, RecordBatch)>();
    let keeper = thread::spawn(move || outputs.iter().collect::<Vec<_>>());
    let stop = Arc::new(AtomicBool::new(false));
    // Reloads done so far: each applier waits for the first halfway through its changes, so
    // that at least one reload falls among the calls however the threads are scheduled
    // (under valgrind, which runs one thread at a time, the appliers could otherwise all
    // finish before the reloader first runs).
    let reloaded = Arc::new(AtomicUsize::new(0));
    let appliers: Vec<_> = (0..APPLIERS)
        .map(|thread| {
            let (tag, tally, send) = (tag.clone(), tally.clone(), send.clone());
            let reloaded = reloaded.clone();
            thread::spawn(move || {
                for version in 1..=changes {
                    if version == changes / 2 + 1 {
                        let start = std::time::Instant::now();
                        while reloaded.load(Ordering::SeqCst) == 0
                            && start.elapsed() < std::time::Duration::from_secs(120)
                        {
                            thread::yield_now();
                        }
                    }
                    let base = (thread as u64) << 32 | version << 16;
                    let input = insert_of(version, base, n);
                    let tagged = tag.apply(input.clone()).unwrap();
                    assert_eq!(tally.apply(input).unwrap().row_count(), n);
                    let pulled = tally.pull(&[0; 4]).unwrap();
                    send.send((
                        Kept::Tagged {
                            base,
                            n,
                            out: tagged,
                        },
                        pulled,
                    ))
                    .unwrap();
                }
            })
        })
        .collect();
    drop(send);
    let reloader = {
        let (tag, tally, stop) = (tag.clone(), tally.clone(), stop.clone());
        let (base, next) = (base.clone(), next.clone());
        let reloaded = reloaded.clone();
        thread::spawn(move || {
            let mut reloads = 0;
            while !stop.load(Ordering::SeqCst) {
                let to = if reloads % 2 == 0 { &next } else { &base };
                tag.reload(to).unwrap();
                tally.reload(to).unwrap();
                reloads += 1;
                reloaded.store(reloads, Ordering::SeqCst);
                thread::yield_now();
            }
            reloads
        })
    };
    for a in appliers {
        a.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let reloads = reloader.join().unwrap();
    assert!(reloads > 0, "no reload fell among the calls");
    // Every row counted once, whatever the reloads in between.
    let total = APPLIERS as u64 * changes * n as u64;
    let (counted, _) = common::tally_report(&tally);
    assert_eq!(counted, total);
    drop((tag, tally, base, next, host));
    let kept = keeper.join().unwrap();
    assert_eq!(kept.len(), APPLIERS * changes as usize);
    let mut last_seen = 0;
    for (tagged, pulled) in &kept {
        tagged.check();
        let counts = pulled
            .column(0)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        assert!(counts.values().iter().all(|c| *c == counts.value(0)));
        assert!(counts.value(0) <= total);
        last_seen = last_seen.max(counts.value(0));
        let builds = pulled.column(1).as_any().downcast_ref::<StringArray>();
        assert!(
            builds
                .unwrap()
                .iter()
                .all(|b| matches!(b, Some("base" | "variant")))
        );
    }
    assert_eq!(last_seen, total);
}

/// `delay` keeps the host's batch across calls: the host drops its own copies, and cannot
/// take the kept buffers back for writing (`into_builder` is refused while the plugin
/// shares them), so what the plugin gives back later is what the host sent.
#[test]
fn a_batch_the_plugin_keeps_stays_shared_and_unchanged_while_the_host_lets_go() {
    let n = 1_000;
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let host = Host::default();
    let mut delays: Vec<Instance> = (0..2)
        .map(|_| plugin.instantiate("delay", json!(null), &host).unwrap())
        .collect();
    let mut view = plugin
        .instantiate("passthrough_view", json!(null), &host)
        .unwrap();
    let values: Vec<i64> = (0..n).collect();
    let amounts = Int64Array::from(values.clone());
    let batch =
        RecordBatch::try_from_iter([("amount", Arc::new(amounts.clone()) as ArrayRef)]).unwrap();
    let change = Change::new(
        1,
        Timestamp(1),
        vec![Diff::Insert {
            post: Rows::new((0..n as u64).collect::<Vec<_>>(), batch).unwrap(),
        }],
    );
    let expected = change.clone();
    // The same batch to two instances that keep it, and to one that hands it straight back.
    for delay in &mut delays {
        assert_eq!(delay.apply(change.clone()).unwrap(), Change::default());
    }
    assert_eq!(view.apply(change.clone()).unwrap(), expected);
    drop(change);
    drop(view);
    // The host's last handle on the values: not its alone while the plugin keeps them
    // (8,000 bytes: shared with the plugin, not copied).
    let amounts = amounts
        .into_builder()
        .expect_err("the values are shared with the plugin that keeps them");
    drop(amounts);
    for delay in &mut delays {
        let out = delay.apply(Change::default()).unwrap();
        assert_eq!(out, expected);
        let rows = only_rows(&out);
        assert_eq!(i64s(rows, "amount"), values);
    }
    drop(delays);
    drop((plugin, host));
    assert_eq!(i64s(only_rows(&expected), "amount"), values);
}

/// A change of a great many diffs crosses both ways through every kind of operator.
#[test]
fn a_change_of_a_great_many_diffs_crosses() {
    let diffs = 50_000 / scale();
    let change = Change::new(
        7,
        Timestamp(7),
        (0..diffs as u64)
            .map(|i| {
                let rows = rows_of(i, 1);
                match i % 3 {
                    0 => Diff::Insert { post: rows },
                    1 => Diff::Remove { pre: rows },
                    _ => Diff::Update {
                        pre: rows.clone(),
                        post: rows,
                    },
                }
            })
            .collect(),
    );
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let host = Host::default();
    for operator in ["passthrough", "passthrough_view", "delay", "sink"] {
        let mut op = plugin.instantiate(operator, json!(null), &host).unwrap();
        let out = op.apply(change.clone()).unwrap();
        match operator {
            "delay" => {
                assert_eq!(out, Change::default());
                assert_eq!(op.apply(Change::default()).unwrap(), change);
            }
            "sink" => assert_eq!(out, Change::new(7, Timestamp(7), vec![])),
            _ => assert_eq!(out, change, "{operator}"),
        }
    }
    let mut tag = plugin
        .instantiate("tag", json!({"column": "t", "value": "x"}), &host)
        .unwrap();
    let out = tag.apply(change.clone()).unwrap();
    assert_eq!(out.diffs.len(), diffs);
    assert_eq!(out.row_count(), diffs);
    let mut scale_op = Plugin::load(plugin_path("scale"))
        .unwrap()
        .instantiate("scale", json!({"column": "amount", "factor": 3}), &host)
        .unwrap();
    let scaled = scale_op.apply(change.clone()).unwrap();
    assert_eq!(scaled.diffs.len(), diffs);
    drop((tag, scale_op, plugin, host));
    out.validate().unwrap();
    scaled.validate().unwrap();
}

/// Batches of no rows and no columns, no rows and some columns, and sliced batches (an
/// offset into their buffers) cross every kind of operator, or are refused with an error
/// naming what is missing.
#[test]
fn empty_and_sliced_batches_cross_or_are_refused() {
    let nothing = RecordBatch::new_empty(Arc::new(Schema::empty()));
    let no_rows = rows_of(0, 0);
    let sliced = {
        let whole = rows_of(100, 1_000);
        let numbers = whole.row_numbers().slice(333, 400);
        Rows::new(numbers, whole.batch().slice(333, 400)).unwrap()
    };
    let no_columns_some_rows = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(5)),
    )
    .unwrap();
    // One array twice in one batch, under one name twice.
    let twice = {
        let column: ArrayRef = Arc::new(Int64Array::from((0..100).collect::<Vec<i64>>()));
        let batch = RecordBatch::try_from_iter([
            ("amount", column.clone()),
            ("amount", column.clone()),
            ("other", column),
        ])
        .unwrap();
        Rows::new((0..100).collect::<Vec<u64>>(), batch).unwrap()
    };
    let odd = |rows: Rows| {
        Change::new(
            3,
            Timestamp(3),
            vec![
                Diff::Insert { post: rows.clone() },
                Diff::Update {
                    pre: rows.clone(),
                    post: rows.clone(),
                },
                Diff::Remove { pre: rows },
            ],
        )
    };
    let inputs = [
        (
            "no rows, no columns",
            odd(Rows::new(Vec::<u64>::new(), nothing).unwrap()),
        ),
        ("no rows", odd(no_rows)),
        ("sliced", odd(sliced.clone())),
        ("one array twice", odd(twice)),
        (
            "no columns, 5 rows",
            odd(Rows::new(vec![1, 2, 3, 4, 5], no_columns_some_rows).unwrap()),
        ),
    ];
    let host = Host::default();
    let toolkit = Plugin::load(plugin_path("toolkit")).unwrap();
    let scaler = Plugin::load(plugin_path("scale")).unwrap();
    for (what, input) in &inputs {
        for operator in ["passthrough", "passthrough_view", "delay", "sink"] {
            let mut op = toolkit.instantiate(operator, json!(null), &host).unwrap();
            let mut out = op.apply(input.clone()).unwrap();
            if operator == "delay" {
                out = op.apply(Change::default()).unwrap();
            }
            if operator == "sink" {
                assert!(out.diffs.is_empty(), "{what}");
            } else {
                assert_eq!(&out, input, "{operator}, {what}");
            }
        }
        let mut tag = toolkit
            .instantiate("tag", json!({"column": "t", "value": "x"}), &host)
            .unwrap();
        let out = tag.apply(input.clone()).unwrap();
        out.validate().unwrap();
        assert_eq!(out.row_count(), input.row_count(), "{what}");
        let mut scale_op = scaler
            .instantiate("scale", json!({"column": "amount", "factor": 3}), &host)
            .unwrap();
        match scale_op.apply(input.clone()) {
            Ok(out) => {
                assert!(input.diffs.iter().all(|d| match d {
                    Diff::Insert { post } => post.batch().num_columns() > 0,
                    _ => true,
                }));
                out.validate().unwrap();
                assert_eq!(out.row_count(), input.row_count(), "{what}");
            }
            Err(e @ Error::Failed { .. }) => {
                assert!(e.to_string().contains("amount"), "{what}: {e}");
                assert!(!scale_op.is_poisoned());
            }
            Err(other) => panic!("{what}: {other}"),
        }
    }
    // The sliced rows keep their values through the scale (offset honoured).
    let mut scale_op = scaler
        .instantiate("scale", json!({"column": "amount", "factor": 3}), &host)
        .unwrap();
    let out = scale_op
        .apply(Change::new(
            1,
            Timestamp(1),
            vec![Diff::Insert {
                post: sliced.clone(),
            }],
        ))
        .unwrap();
    let expected: Vec<i64> = i64s(&sliced, "amount").iter().map(|a| a * 3).collect();
    assert_eq!(i64s(only_rows(&out), "amount"), expected);
    assert_eq!(
        only_rows(&out).row_numbers().values().to_vec(),
        sliced.row_numbers().values().to_vec()
    );
}

/// Instances that panic on every other change (a `LiveInstance` recovered after each, from
/// two threads) beside healthy instances on other threads: every call is its output, an
/// `Error::Panicked` or an `Error::Poisoned`, and the healthy ones never notice.
#[test]
fn panics_on_every_other_call_under_load_are_errors() {
    let rounds = 60 / scale() as u64;
    let host = Host::default();
    let toolkit = Plugin::load(plugin_path("toolkit")).unwrap();
    let live = LiveInstance::new(
        &toolkit,
        "tally",
        json!({"key": "customer", "panic_on": "boom"}),
        &host,
        None,
    )
    .unwrap();
    let boom = |version: u64| {
        let batch = RecordBatch::try_from_iter([(
            "customer",
            Arc::new(StringArray::from(vec!["x", "boom", "y"])) as ArrayRef,
        )])
        .unwrap();
        Change::new(
            version,
            Timestamp(0),
            vec![Diff::Insert {
                post: Rows::new(vec![0, 1, 2], batch).unwrap(),
            }],
        )
    };
    let panicked = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(4));
    let racers: Vec<_> = (0..2)
        .map(|thread| {
            let (live, panicked, start) = (live.clone(), panicked.clone(), start.clone());
            let mut own = toolkit
                .instantiate(
                    "tally",
                    json!({"key": "customer", "panic_on": "boom"}),
                    &host,
                )
                .unwrap();
            thread::spawn(move || {
                start.wait();
                let mut kept = Vec::new();
                for version in 1..=rounds {
                    let input = if version % 2 == 0 {
                        boom(version)
                    } else {
                        insert_of(version, version * 100 + thread as u64, 50)
                    };
                    match live.apply(input.clone()) {
                        Ok(out) => kept.push(Kept::Same {
                            expected: input.clone(),
                            out,
                        }),
                        Err(Error::Panicked { message, .. }) => {
                            assert_eq!(
                                message,
                                "tally met the key \"boom\" it was told to panic on"
                            );
                            panicked.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(Error::Poisoned { .. }) => {}
                        Err(other) => panic!("{other}"),
                    }
                    if live.is_poisoned() {
                        live.recover().unwrap();
                    }
                    // A plain instance: poisoned by its first panic, refusing from then on.
                    match own.apply(input) {
                        Ok(_) => assert!(version < 2),
                        Err(Error::Panicked { .. }) => assert_eq!(version, 2),
                        Err(Error::Poisoned { .. }) => assert!(version > 2),
                        Err(other) => panic!("{other}"),
                    }
                }
                (kept, own)
            })
        })
        .collect();
    let healthy: Vec<_> = (0..2)
        .map(|thread| {
            let start = start.clone();
            let mut tag = toolkit
                .instantiate("tag", json!({"column": "t", "value": TAG}), &host)
                .unwrap();
            thread::spawn(move || {
                start.wait();
                let mut kept = Vec::new();
                for version in 1..=rounds * 2 {
                    let base = (thread as u64) << 32 | version << 16;
                    kept.push(Kept::Tagged {
                        base,
                        n: 100,
                        out: tag.apply(insert_of(version, base, 100)).unwrap(),
                    });
                }
                kept
            })
        })
        .collect();
    let mut kept = Vec::new();
    let mut owns = Vec::new();
    for r in racers {
        let (k, own) = r.join().unwrap();
        kept.extend(k);
        owns.push(own);
    }
    for h in healthy {
        kept.extend(h.join().unwrap());
    }
    assert!(panicked.load(Ordering::SeqCst) >= 1);
    if live.is_poisoned() {
        live.recover().unwrap();
    }
    assert!(!live.is_poisoned());
    // Each panic poisoned it once and was recovered once: a second `recover` of one
    // poisoning (the other thread's, after the first) left it as it was.
    assert_eq!(
        live.generation(),
        1 + panicked.load(Ordering::SeqCst) as u64
    );
    drop((live, toolkit, host, owns));
    check_all(&kept);
}

/// Runs `body` on a thread of its own and fails, rather than hangs, when it has not ended
/// within `secs` seconds.
fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, ended) = mpsc::channel();
    let worker = thread::spawn(move || {
        let out = body();
        let _ = done.send(());
        out
    });
    match ended.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(()) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not end within {secs} s"),
    }
}

/// Two threads reload the same two live instances all or nothing, listing them in
/// opposite orders, while others apply changes through both: nothing waits forever, and
/// every row is counted once.
#[test]
fn library_reloads_in_opposite_orders_under_traffic_end_and_lose_nothing() {
    let reloads = 12 / scale();
    let changes = 60 / scale() as u64;
    within(120, "the reloads and the traffic", move || {
        let host = Host::default();
        let base = Plugin::load(plugin_path("toolkit")).unwrap();
        let next = Plugin::load(plugin_path("toolkit-next")).unwrap();
        let a = LiveInstance::new(&base, "tally", json!({"key": "customer"}), &host, None).unwrap();
        let b = LiveInstance::new(&base, "tally", json!({"key": "customer"}), &host, None).unwrap();
        let reloaders: Vec<_> = [[a.clone(), b.clone()], [b.clone(), a.clone()]]
            .into_iter()
            .map(|pair| {
                let (base, next) = (base.clone(), next.clone());
                thread::spawn(move || {
                    for i in 0..reloads {
                        let to = if i % 2 == 0 { &next } else { &base };
                        assert_eq!(oplink_host::reload_all(&pair, to).unwrap(), 2);
                    }
                })
            })
            .collect();
        let users: Vec<_> = (0..2)
            .map(|thread| {
                let (a, b) = (a.clone(), b.clone());
                thread::spawn(move || {
                    for version in 1..=changes {
                        let input = insert_of(version, version * 10 + thread, 5);
                        assert_eq!(a.apply(input.clone()).unwrap(), input);
                        assert_eq!(b.apply(input.clone()).unwrap(), input);
                    }
                })
            })
            .collect();
        for t in reloaders.into_iter().chain(users) {
            t.join().unwrap();
        }
        for live in [&a, &b] {
            assert_eq!(common::tally_report(live).0, 2 * changes * 5);
        }
    });
}

/// What one plugin returned, handed to an instance of another library that keeps it
/// (`delay`), outlives the library that made it: its instance and its only handle (a fresh
/// copy, a library of its own) are dropped before `delay` gives it back.
#[test]
fn an_output_kept_by_another_plugin_outlives_the_library_that_made_it() {
    let n = 500 / scale();
    let host = Host::default();
    let mut delay = Plugin::load(plugin_path("toolkit"))
        .unwrap()
        .instantiate("delay", json!(null), &host)
        .unwrap();
    {
        let scaler = Plugin::load_fresh(plugin_path("scale")).unwrap();
        let mut scale_op = scaler
            .instantiate("scale", json!({"column": "amount", "factor": 3}), &host)
            .unwrap();
        let mut tag = Plugin::load(plugin_path("toolkit"))
            .unwrap()
            .instantiate("tag", json!({"column": "t", "value": TAG}), &host)
            .unwrap();
        let scaled = scale_op.apply(insert_of(1, 0, n)).unwrap();
        // The scaled output crosses again, into `tag` and then into `delay`, which keeps it.
        let tagged = tag.apply(scaled).unwrap();
        assert_eq!(delay.apply(tagged).unwrap(), Change::default());
    }
    let out = delay.apply(Change::default()).unwrap();
    let expected: Vec<i64> = (0..n as i64).map(|a| a * 3).collect();
    assert_eq!(i64s(only_rows(&out), "amount"), expected);
    assert_eq!(strings(only_rows(&out), "t"), vec![TAG.to_owned(); n]);
    drop((delay, host));
    out.validate().unwrap();
}

/// Small outputs (which the host copies into a block it reuses once nothing holds it) kept
/// on other threads while the instance goes on: the block is not reused under them.
#[test]
fn small_outputs_kept_on_other_threads_while_the_instance_goes_on() {
    let changes = 400 / scale() as u64;
    let mut tag = Plugin::load(plugin_path("toolkit"))
        .unwrap()
        .instantiate(
            "tag",
            json!({"column": "t", "value": "v"}),
            &Host::default(),
        )
        .unwrap();
    let (send, outputs) = mpsc::channel::<(u64, Change)>();
    let keepers: Vec<_> = (0..2)
        .map(|_| {
            let (more, outputs) = mpsc::channel::<(u64, Change)>();
            let keeper = thread::spawn(move || {
                let mut kept = Vec::new();
                for (version, out) in outputs {
                    // Every other one is dropped at once, the rest kept.
                    if version % 2 == 0 {
                        kept.push((version, out));
                    }
                }
                kept
            });
            (more, keeper)
        })
        .collect();
    let router = thread::spawn(move || {
        let (senders, keepers): (Vec<_>, Vec<_>) = keepers.into_iter().unzip();
        for (version, out) in outputs {
            senders[(version / 2 % 2) as usize]
                .send((version, out))
                .unwrap();
        }
        drop(senders);
        keepers
            .into_iter()
            .flat_map(|k| k.join().unwrap())
            .collect::<Vec<_>>()
    });
    for version in 0..changes {
        let out = tag.apply(insert_of(version, version, 3)).unwrap();
        send.send((version, out)).unwrap();
    }
    drop(send);
    let kept = router.join().unwrap();
    drop(tag);
    assert_eq!(kept.len() as u64, changes / 2);
    for (version, out) in kept {
        let rows = only_rows(&out);
        assert_eq!(out.version, version);
        assert_eq!(i64s(rows, "amount"), i64s(&rows_of(version, 3), "amount"));
        assert_eq!(
            strings(rows, "customer"),
            strings(&rows_of(version, 3), "customer")
        );
        assert_eq!(strings(rows, "t"), ["v", "v", "v"]);
    }
}

/// One change made by a plugin, cloned and applied at once to many instances on many
/// threads (view and batch operators both): each gets it whole.
#[test]
fn one_plugin_made_change_applied_at_once_on_many_threads() {
    let n = 400 / scale();
    let host = Host::default();
    let toolkit = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut tag = toolkit
        .instantiate("tag", json!({"column": "t", "value": TAG}), &host)
        .unwrap();
    let shared = tag.apply(insert_of(1, 0, n)).unwrap();
    drop(tag);
    let start = Arc::new(Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|thread| {
            let operator = ["passthrough", "passthrough_view", "delay"][thread % 3];
            let mut op = toolkit.instantiate(operator, json!(null), &host).unwrap();
            let (shared, start) = (shared.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..20 {
                    let mut out = op.apply(shared.clone()).unwrap();
                    if operator == "delay" {
                        out = op.apply(Change::default()).unwrap();
                    }
                    assert_eq!(out, shared, "{operator}");
                }
            })
        })
        .collect();
    drop((toolkit, host));
    for t in threads {
        t.join().unwrap();
    }
    Kept::Tagged {
        base: 0,
        n,
        out: shared,
    }
    .check();
}

/// Host code that panics inside `LiveInstance::with`, or calls the instance again from
/// inside it, leaves the instance usable from that same thread afterwards.
#[test]
fn a_panic_or_a_call_back_inside_with_leaves_the_live_instance_usable() {
    let host = Host::default();
    let toolkit = Plugin::load(plugin_path("toolkit")).unwrap();
    let live =
        LiveInstance::new(&toolkit, "tally", json!({"key": "customer"}), &host, None).unwrap();
    let inner = live.clone();
    let err = live.with(|_| inner.apply(insert_of(1, 0, 2))).unwrap_err();
    assert!(matches!(err, Error::Reentrant { .. }), "{err}");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        live.with(|_| inner.generation())
    }))
    .unwrap_err();
    let message = panicked
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("from inside one of its own calls"),
        "{message}"
    );
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        live.with(|instance| {
            instance.apply(insert_of(2, 0, 3)).unwrap();
            panic!("the host's own code panics inside `with`")
        })
    }));
    assert!(panicked.is_err());
    // Same thread: not taken for a call from inside one of its own.
    let input = insert_of(3, 0, 4);
    assert_eq!(live.apply(input.clone()).unwrap(), input);
    assert!(!live.is_poisoned());
    assert_eq!(common::tally_report(&live).0, 3 + 4);
    // And from another thread.
    let other = live.clone();
    thread::spawn(move || other.apply(insert_of(4, 0, 1)).unwrap())
        .join()
        .unwrap();
}

/// `pull` of no rows, and of a row the operator does not know, from a `LiveInstance` and a
/// plain instance.
#[test]
fn pulls_of_no_rows_and_of_unknown_rows() {
    let host = Host::default();
    let mut sums = Plugin::load(plugin_path("running-sum"))
        .unwrap()
        .instantiate(
            "running_sum",
            json!({"key": "customer", "value": "amount"}),
            &host,
        )
        .unwrap();
    sums.apply(insert_of(1, 0, 10)).unwrap();
    assert_eq!(sums.pull(&[]).unwrap().num_rows(), 0);
    let err = sums.pull(&[u64::MAX]).unwrap_err();
    assert!(matches!(err, Error::Failed { .. }), "{err}");
    assert!(!sums.is_poisoned());
    assert_eq!(sums.pull(&[0, 0, 6]).unwrap().num_rows(), 3);
    let live = LiveInstance::new(
        &Plugin::load(plugin_path("toolkit")).unwrap(),
        "tally",
        json!({"key": "customer"}),
        &host,
        None,
    )
    .unwrap();
    assert_eq!(live.pull(&[]).unwrap().num_rows(), 0);
}

/// An operator whose `Drop` panics, in a `LiveInstance`: a reload and a recovery (which
/// destroy the old instance) succeed, and dropping it on another thread is no crash; an
/// output whose buffer panics as it is freed is dropped on another thread after its
/// instance and its library's only handle (a fresh copy) are gone.
#[test]
fn panics_in_drop_and_in_freeing_an_output_after_everything_is_gone() {
    let host = Host::default();
    let faulty = Plugin::load(plugin_path("faulty")).unwrap();
    let fresh = Plugin::load_fresh(plugin_path("faulty")).unwrap();
    let live = LiveInstance::new(
        &faulty,
        "faulty",
        json!({"fail_in": "drop", "how": "panic"}),
        &host,
        None,
    )
    .unwrap();
    let input = insert_of(1, 0, 3);
    assert_eq!(live.apply(input.clone()).unwrap(), input);
    assert_eq!(live.reload(&fresh).unwrap(), 2);
    assert_eq!(live.apply(input.clone()).unwrap(), input);
    assert_eq!(live.reload(&faulty).unwrap(), 3);
    live.checkpoint().unwrap();
    // Not poisoned: a recovery leaves it as it is.
    assert_eq!(live.recover().unwrap(), 3);
    assert!(!live.is_poisoned());
    let mut frees = fresh
        .instantiate(
            "faulty",
            json!({"fail_in": "apply", "how": "panic_on_free"}),
            &host,
        )
        .unwrap();
    let outputs: Vec<Change> = (1..=4)
        .map(|version| frees.apply(insert_of(version, 0, 300)).unwrap())
        .collect();
    drop((frees, fresh, faulty, host));
    thread::spawn(move || drop(live)).join().unwrap();
    let dropper = thread::spawn(move || {
        for out in &outputs {
            assert_eq!(out.row_count(), 300);
            let rows = only_rows(out);
            assert_eq!(rows.batch().num_columns(), 3);
        }
        drop(outputs);
    });
    dropper.join().unwrap();
}

/// An `Echo` that keeps every batch a plugin hands it.
#[derive(Default)]
struct KeepsBatches(std::sync::Mutex<Vec<RecordBatch>>);

macro_rules! echo_back {
    ($($name:ident($($t:ty),*) -> $r:ty;)*) => {
        $(fn $name(&self, $(v: $t),*) -> $r { services::EchoBack.$name($(v as $t),*) })*
    };
}

impl services::Echo for KeepsBatches {
    echo_back! {
        i8(i8) -> i8; i16(i16) -> i16; i32(i32) -> i32; i64(i64) -> i64;
        u8(u8) -> u8; u16(u16) -> u16; u32(u32) -> u32; u64(u64) -> u64;
        usize(usize) -> usize; isize(isize) -> isize; f32(f32) -> f32; f64(f64) -> f64;
        bool(bool) -> bool; char(char) -> char; str(&str) -> String; string(String) -> String;
        bytes(&[u8]) -> Vec<u8>; byte_vec(Vec<u8>) -> Vec<u8>; f64_slice(&[f64]) -> Vec<f64>;
        i32_vec(Vec<i32>) -> Vec<i32>; option(Option<&str>) -> Option<String>;
        option_u64(Option<u64>) -> Option<u64>; result(i64) -> oplink::Result<i64>;
        result_string_error(&str) -> Result<String, String>; unit(u8) -> ();
        customer(oplink::service::Json<services::Customer>) -> oplink::service::Json<services::Customer>;
        fail(&str) -> oplink::Result<u64>; panic(&str) -> oplink::Result<u64>;
        panic_plain(&str) -> u64;
    }
    fn batch(&self, v: RecordBatch) -> RecordBatch {
        self.0.lock().unwrap().push(v.clone());
        v
    }
}

/// Batches a plugin passes to a host service (from four threads of its own at once) and
/// the service keeps, small and large, stay valid after the instance, the plugin and the
/// host are gone.
#[test]
fn batches_a_host_service_keeps_outlive_the_plugin_that_sent_them() {
    let changes = 30 / scale() as u64;
    let kept = Arc::new(KeepsBatches::default());
    {
        let host = Host::builder()
            .provide::<dyn services::Echo>(kept.clone())
            .build();
        let mut echo = Plugin::load(plugin_path("enrich"))
            .unwrap()
            .instantiate("echo", json!({"call": "on_threads"}), &host)
            .unwrap();
        for version in 1..=changes {
            let n = if version.is_multiple_of(2) { 3 } else { 500 };
            let input = insert_of(version, version * 1_000, n);
            assert_eq!(echo.apply(input.clone()).unwrap(), input);
        }
    }
    let kept = Arc::into_inner(kept).expect("the host let go of the service");
    let batches = kept.0.into_inner().unwrap();
    assert_eq!(batches.len() as u64, changes * 4);
    for (i, batch) in batches.iter().enumerate() {
        let version = i as u64 / 4 + 1;
        let n = if version.is_multiple_of(2) { 3 } else { 500 };
        assert_eq!(batch, rows_of(version * 1_000, n).batch(), "call {version}");
    }
}

/// The README's reload path end to end: a folder scanned by a `Discovery`, a new build
/// renamed into place, the folder scanned again with `fresh_when_replaced`, the live
/// instance reloaded to what it found, and the folder then removed: the outputs of both
/// builds outlive everything.
#[test]
fn the_discovery_reload_path_keeps_the_outputs_of_both_builds() {
    use oplink_host::Discovery;
    let n = 300 / scale();
    let dir = std::env::temp_dir().join(format!("oplink-outlive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(plugin_path("toolkit").file_name().unwrap());
    std::fs::copy(plugin_path("toolkit"), &file).unwrap();
    let scan = || Discovery::new([&dir]).fresh_when_replaced(true).scan();
    let host = Host::default();
    let found = scan();
    let live = LiveInstance::new(
        found.plugin_for("tally").unwrap(),
        "tally",
        json!({"key": "customer"}),
        &host,
        None,
    )
    .unwrap();
    drop(found);
    let mut kept = Vec::new();
    live.apply(insert_of(1, 0, n)).unwrap();
    kept.push(Kept::Pulled {
        counted: n as u64,
        n,
        build: "base",
        out: live.pull(&vec![0; n]).unwrap(),
    });
    // A new build renamed into place.
    let partial = dir.join("next.partial");
    std::fs::copy(plugin_path("toolkit-next"), &partial).unwrap();
    std::fs::rename(&partial, &file).unwrap();
    let found = scan();
    assert_eq!(live.reload(found.plugin_for("tally").unwrap()).unwrap(), 2);
    drop(found);
    live.apply(insert_of(2, 0, n)).unwrap();
    kept.push(Kept::Pulled {
        counted: 2 * n as u64,
        n,
        build: "variant",
        out: live.pull(&vec![0; n]).unwrap(),
    });
    std::fs::remove_dir_all(&dir).unwrap();
    drop((live, host));
    check_all(&kept);
}
