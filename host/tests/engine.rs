//! An engine's view of `oplink-host`: many instances of several plugins driven from many
//! threads at once, moved and dropped on threads other than their own, outliving their
//! `Plugin` and `Host` handles; a live instance reloaded between two builds while it and
//! instances of the old build are in use on other threads; failing operators next to
//! healthy ones; and host services used from every thread at once.

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex, MutexGuard, OnceLock};
use std::thread;

use common::{Captured, Recorder, amounts, plugin_path, rows, tally_report};
use oplink::arrow::array::{Array, StringArray};
use oplink::services::Lookup;
use oplink::{Change, Diff, Timestamp};
use oplink_host::{Error, Host, Instance, LiveInstance, Plugin};
use serde_json::json;
use services::{Catalog, Echo, EchoBack};

/// The process's subscriber, installed before any instance is created (an instance created
/// before any subscriber forwards nothing).
fn events() -> Arc<Mutex<Vec<Captured>>> {
    static RECORDER: OnceLock<Recorder> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            let recorder = Recorder::default();
            tracing::subscriber::set_global_default(recorder.clone())
                .expect("the only subscriber of this test binary");
            recorder
        })
        .0
        .clone()
}

/// Held by the tests that count events: instance ids are unique per host only, so two
/// such tests at once would count each other's.
fn counting_events() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

struct Customers;

impl Catalog for Customers {
    fn tier(&self, customer: &str) -> Option<String> {
        customer.strip_prefix("gold-").map(|_| "gold".to_owned())
    }
    fn customers_in(&self, _: &str) -> oplink::Result<u64> {
        Ok(1)
    }
}

struct Regions;

impl Lookup for Regions {
    fn get(&self, table: &str, key: &str) -> oplink::Result<Option<String>> {
        match table {
            "regions" => Ok(Some(format!("region-of-{key}"))),
            other => Err(oplink::Error::msg(format!("no table `{other}`"))),
        }
    }
}

fn engine_host() -> Host {
    Host::builder()
        .provide::<dyn Catalog>(Arc::new(Customers))
        .provide::<dyn Echo>(Arc::new(EchoBack))
        .provide::<dyn Lookup>(Arc::new(Regions))
        .build()
}

/// A change inserting `n` rows numbered from `first`, with amounts `first..` and customers
/// `gold-<thread>` and `c<thread>` alternately.
fn change(version: u64, thread: usize, first: u64, n: u64) -> Change {
    let amounts: Vec<i64> = (first..first + n).map(|a| a as i64).collect();
    let customers: Vec<String> = (first..first + n)
        .map(|row| {
            if row % 2 == 0 {
                format!("gold-{thread}")
            } else {
                format!("c{thread}")
            }
        })
        .collect();
    let customers: Vec<&str> = customers.iter().map(String::as_str).collect();
    Change::new(
        version,
        Timestamp(version as i64),
        vec![Diff::Insert {
            post: rows(&amounts, &customers, first),
        }],
    )
}

fn inserted(change: &Change) -> &oplink::Rows {
    match change.diffs.as_slice() {
        [Diff::Insert { post }] => post,
        other => panic!("expected one insert, got {other:?}"),
    }
}

fn strings(rows: &oplink::Rows, column: &str) -> Vec<Option<String>> {
    rows.batch()
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column `{column}`"))
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .iter()
        .map(|s| s.map(str::to_owned))
        .collect()
}

#[test]
fn the_handles_an_engine_shares_between_threads_are_send_and_sync() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<Instance>();
    send_sync::<LiveInstance>();
    send_sync::<Plugin>();
    send_sync::<Host>();
    send_sync::<Change>();
    send_sync::<Error>();
}

/// What each kind of instance must have made of `input`.
fn check_output(kind: &str, thread: usize, input: &Change, output: &Change) {
    let (rows_in, rows_out) = (inserted(input), output);
    match kind {
        "threshold" => {
            let kept: Vec<i64> = amounts(rows_in).into_iter().filter(|a| *a >= 10).collect();
            let got = if rows_out.diffs.is_empty() {
                Vec::new()
            } else {
                amounts(inserted(rows_out))
            };
            assert_eq!(got, kept);
        }
        "passthrough" | "passthrough_view" => assert_eq!(output, input),
        "tag" => assert_eq!(
            strings(inserted(output), "engine"),
            vec![Some(format!("t{thread}")); rows_in.len()]
        ),
        "enrich" => {
            let expected: Vec<Option<String>> = strings(rows_in, "customer")
                .into_iter()
                .map(|c| c.unwrap().starts_with("gold-").then(|| "gold".to_owned()))
                .collect();
            assert_eq!(strings(inserted(output), "tier"), expected);
        }
        "lookup" => {
            let expected: Vec<Option<String>> = strings(rows_in, "customer")
                .into_iter()
                .map(|c| Some(format!("region-of-{}", c.unwrap())))
                .collect();
            assert_eq!(strings(inserted(output), "region"), expected);
        }
        "echo" | "counter" => assert_eq!(output, input),
        other => panic!("no check for {other}"),
    }
}

const KINDS: [(&str, &str); 9] = [
    ("threshold", "threshold"),
    ("toolkit", "passthrough"),
    ("toolkit", "passthrough_view"),
    ("toolkit", "tag"),
    ("enrich", "enrich"),
    ("enrich", "lookup"),
    ("enrich", "echo"),
    ("enrich", "counter"),
    ("toolkit", "delay"),
];

fn config(operator: &str, thread: usize) -> serde_json::Value {
    match operator {
        "threshold" => json!({"column": "amount", "min": 10}),
        "tag" => json!({"column": "engine", "value": format!("t{thread}")}),
        "enrich" => json!({"customer_column": "customer"}),
        "lookup" => json!({"column": "customer", "table": "regions", "into": "region"}),
        _ => json!(null),
    }
}

#[test]
fn many_instances_run_on_many_threads_and_their_output_outlives_everything() {
    let _counting = counting_events();
    let events = events();
    events.lock().unwrap().clear();
    const THREADS: usize = 6;
    const CHANGES: u64 = 40;
    // Created on this thread, all of them, then the plugins and the host go.
    let mut per_thread: Vec<Vec<(&'static str, Instance)>> = Vec::new();
    let mut ids = Vec::new();
    let store = {
        let host = engine_host();
        let plugins: BTreeMap<&str, Plugin> = ["threshold", "toolkit", "enrich"]
            .into_iter()
            .map(|name| (name, Plugin::load(plugin_path(name)).unwrap()))
            .collect();
        for thread in 0..THREADS {
            let mut mine = Vec::new();
            for (library, operator) in KINDS {
                let instance = if operator == "counter" {
                    plugins[library]
                        .instantiate_named(
                            operator,
                            json!(null),
                            &host,
                            &format!("counter-{thread}"),
                        )
                        .unwrap()
                } else {
                    plugins[library]
                        .instantiate(operator, config(operator, thread), &host)
                        .unwrap()
                };
                ids.push(instance.id());
                mine.push((operator, instance));
            }
            per_thread.push(mine);
        }
        // The store outlives the host (a clone of it), as the named instances' scopes do.
        let store = host.state_store().clone();
        drop(plugins);
        drop(host);
        store
    };
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), THREADS * KINDS.len(), "instance ids are unique");

    // Each worker drives its instances, and hands them to a reaper thread, which drops them.
    let (reap, reaped) = mpsc::channel::<Vec<(&'static str, Instance)>>();
    let reaper = thread::spawn(move || {
        let mut n = 0;
        for batch in reaped {
            n += batch.len();
            drop(batch);
        }
        n
    });
    let start = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = per_thread
        .into_iter()
        .enumerate()
        .map(|(thread, mut mine)| {
            let reap = reap.clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                let mut kept = Vec::new();
                for version in 1..=CHANGES {
                    let input = change(version, thread, version * 8, 8);
                    let mut delayed: Option<Change> = None;
                    for (operator, instance) in &mut mine {
                        let output = instance
                            .apply(input.clone())
                            .unwrap_or_else(|e| panic!("{operator} on thread {thread}: {e}"));
                        if *operator == "delay" {
                            delayed = Some(output);
                        } else {
                            kept.push((*operator, input.clone(), output));
                        }
                    }
                    let delayed = delayed.unwrap();
                    if version == 1 {
                        assert!(delayed.diffs.is_empty());
                    } else {
                        assert_eq!(delayed, change(version - 1, thread, (version - 1) * 8, 8));
                    }
                }
                for (operator, instance) in &mut mine {
                    instance
                        .flush_state()
                        .unwrap_or_else(|e| panic!("{operator}: {e}"));
                }
                reap.send(mine).unwrap();
                kept
            })
        })
        .collect();
    drop(reap);
    let outputs: Vec<Vec<_>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(reaper.join().unwrap(), THREADS * KINDS.len());

    // Every instance, plugin handle and the host are gone: the outputs are still whole.
    for (thread, kept) in outputs.iter().enumerate() {
        assert_eq!(kept.len(), CHANGES as usize * (KINDS.len() - 1));
        for (operator, input, output) in kept {
            check_output(operator, thread, input, output);
        }
    }
    // Each counter counted its own changes, in its own scope of the store.
    for thread in 0..THREADS {
        assert_eq!(
            store.entries(&format!("counter-{thread}")).unwrap(),
            [(b"changes".to_vec(), CHANGES.to_le_bytes().to_vec())]
        );
    }
    // Every enrich instance logged under its own id, from whichever thread drove it.
    let events = events.lock().unwrap();
    let enrich_instances: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e.field("operator") == Some("enrich") && e.target == "enrich")
        .filter_map(|e| e.field("instance"))
        .collect();
    assert_eq!(enrich_instances.len(), THREADS, "{enrich_instances:?}");
}

#[test]
fn a_reload_while_old_build_instances_serve_on_other_threads_loses_nothing() {
    events();
    const THREADS: usize = 4;
    const CHANGES: u64 = 60;
    let host = Host::default();
    let base = Plugin::load(plugin_path("toolkit")).unwrap();
    let next = Plugin::load_fresh(plugin_path("toolkit-next")).unwrap();
    let live = LiveInstance::new(
        &base,
        "tally",
        json!({"key": "customer"}),
        &host,
        Some("tally"),
    )
    .unwrap();
    // Plain instances of the old build, each on a thread of its own, all through the reloads.
    let old_build: Vec<_> = (0..THREADS)
        .map(|thread| {
            let mut tally = base
                .instantiate("tally", json!({"key": "customer"}), &host)
                .unwrap();
            thread::spawn(move || {
                for version in 1..=CHANGES {
                    tally
                        .apply(change(version, thread, version * 4, 4))
                        .unwrap();
                }
                let batch = tally.pull(&[0]).unwrap();
                let build = batch
                    .column(1)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap();
                assert_eq!(build.value(0), "base", "a plain instance keeps its build");
                tally
            })
        })
        .collect();
    let users: Vec<_> = (0..THREADS)
        .map(|thread| {
            let live = live.clone();
            thread::spawn(move || {
                for version in 1..=CHANGES {
                    let out = live.apply(change(version, thread, version * 4, 4)).unwrap();
                    assert_eq!(out.row_count(), 4);
                    if version % 8 == 0 {
                        live.flush_state().unwrap();
                    }
                }
            })
        })
        .collect();
    let mut generations = Vec::new();
    for i in 0..6 {
        let to = if i % 2 == 0 { &next } else { &base };
        generations.push(live.reload(to).unwrap());
        thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(generations, [2, 3, 4, 5, 6, 7]);
    for user in users {
        user.join().unwrap();
    }
    // The plain instances of the old build are dropped on this thread, after the reloads.
    for old in old_build {
        drop(old.join().unwrap());
    }
    // The snapshot carried the in-memory count across every reload, and the store every
    // key's count.
    let (rows, build) = tally_report(&live);
    assert_eq!(rows, THREADS as u64 * CHANGES * 4);
    assert_eq!(build, "base");
    live.flush_state().unwrap();
    let counts: BTreeMap<String, u64> = host
        .state_store()
        .entries("tally")
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8(k).unwrap(),
                u64::from_le_bytes(v.try_into().unwrap()),
            )
        })
        .collect();
    let expected: BTreeMap<String, u64> = (0..THREADS)
        .flat_map(|t| {
            [
                (format!("n/gold-{t}"), CHANGES * 2),
                (format!("n/c{t}"), CHANGES * 2),
            ]
        })
        .collect();
    assert_eq!(counts, expected);
    // The plugin and host handles may go before the live instance.
    drop((base, next, host));
    let (rows, _) = tally_report(&live);
    assert_eq!(rows, THREADS as u64 * CHANGES * 4);
}

#[test]
fn a_failing_operator_on_one_thread_leaves_the_others_running() {
    events();
    let host = engine_host();
    let toolkit = Plugin::load(plugin_path("toolkit")).unwrap();
    let faulty = Plugin::load(plugin_path("faulty")).unwrap();
    let start = Arc::new(Barrier::new(4));
    let healthy: Vec<_> = (0..3)
        .map(|thread| {
            let mut op = toolkit
                .instantiate("passthrough", json!(null), &host)
                .unwrap();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for version in 1..=200 {
                    let input = change(version, thread, 0, 3);
                    assert_eq!(op.apply(input.clone()).unwrap(), input);
                }
            })
        })
        .collect();
    let failing = {
        let mut panics = faulty
            .instantiate("faulty", json!({"fail_in": "apply", "how": "panic"}), &host)
            .unwrap();
        let mut errs = faulty
            .instantiate("faulty", json!({"fail_in": "apply", "how": "error"}), &host)
            .unwrap();
        let mut frees = faulty
            .instantiate(
                "faulty",
                json!({"fail_in": "apply", "how": "panic_on_free"}),
                &host,
            )
            .unwrap();
        let start = start.clone();
        thread::spawn(move || {
            start.wait();
            for version in 1..=20 {
                let input = change(version, 9, 0, 3);
                match panics.apply(input.clone()) {
                    Err(Error::Panicked {
                        operator,
                        method,
                        message,
                        location,
                    }) if version == 1 => {
                        assert_eq!((operator.as_str(), method), ("faulty", "apply"));
                        assert_eq!(message, "faulty panics in apply");
                        assert!(location.unwrap().contains("faulty/src/lib.rs"));
                    }
                    Err(e @ Error::Poisoned { .. }) if version > 1 => assert_eq!(
                        e.to_string(),
                        "operator `faulty` is poisoned by a panic in `apply` and refuses `apply`; drop it and create a new one (a `LiveInstance` has `recover()` for that)"
                    ),
                    other => panic!("version {version}: {other:?}"),
                }
                assert!(panics.is_poisoned());
                match errs.apply(input.clone()) {
                    Err(Error::Failed { message, .. }) => {
                        assert_eq!(message, "faulty fails in apply")
                    }
                    other => panic!("{other:?}"),
                }
                assert!(!errs.is_poisoned());
                // Its output panics as it is freed, here: contained.
                let out = frees.apply(input).unwrap();
                assert_eq!(out.row_count(), 3);
                drop(out);
            }
            assert!(matches!(
                panics.flush_state(),
                Err(Error::Poisoned {
                    method: "flush_state",
                    ..
                })
            ));
            assert!(matches!(
                panics.apply(Change::default()),
                Err(Error::Poisoned {
                    method: "apply",
                    ..
                })
            ));
        })
    };
    failing.join().unwrap();
    for h in healthy {
        h.join().unwrap();
    }
}

#[test]
fn a_live_instance_poisoned_under_load_is_refused_to_its_callers_until_one_recovers_it() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    events();
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
    live.checkpoint().unwrap();
    // The refusals the callers met, and whether to stop.
    let refused = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let users: Vec<_> = (0..3)
        .map(|thread| {
            let (live, refused, stop) = (live.clone(), refused.clone(), stop.clone());
            thread::spawn(move || {
                let mut done = 0;
                while !stop.load(Ordering::SeqCst) {
                    match live.apply(change(1, thread, 0, 2)) {
                        Ok(_) => done += 1,
                        Err(Error::Poisoned {
                            panicked_in: "apply",
                            cause: "a panic",
                            ..
                        }) => {
                            refused.fetch_add(1, Ordering::SeqCst);
                            if live.is_poisoned() {
                                live.recover().unwrap();
                            }
                        }
                        Err(other) => panic!("{other}"),
                    }
                }
                done
            })
        })
        .collect();
    let boom = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1], &["boom"], 0),
        }],
    );
    for round in 1..=5 {
        // Only this thread poisons it: once recovered, its next call panics again.
        if live.is_poisoned() {
            live.recover().unwrap();
        }
        let before = refused.load(Ordering::SeqCst);
        match live.apply(boom.clone()) {
            Err(Error::Panicked { message, .. }) => {
                assert_eq!(
                    message,
                    "tally met the key \"boom\" it was told to panic on"
                )
            }
            other => panic!("{other:?}"),
        }
        // A caller meets the poisoned instance (and recovers it) before the next round.
        let waited = std::time::Instant::now();
        while refused.load(Ordering::SeqCst) == before && live.is_poisoned() {
            assert!(
                waited.elapsed() < std::time::Duration::from_secs(30),
                "round {round}: no caller was refused"
            );
            thread::yield_now();
        }
    }
    stop.store(true, Ordering::SeqCst);
    let done: usize = users.into_iter().map(|user| user.join().unwrap()).sum();
    assert!(done > 0);
    assert!(refused.load(Ordering::SeqCst) >= 1, "no caller was refused");
    if live.is_poisoned() {
        live.recover().unwrap();
    }
    assert!(!live.is_poisoned());
    assert!(live.generation() >= 2);
}

#[test]
fn host_services_serve_many_instances_at_once() {
    let _counting = counting_events();
    let events = events();
    events.lock().unwrap().clear();
    let host = engine_host();
    let enrich = Plugin::load(plugin_path("enrich")).unwrap();
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let mut echo = enrich
                .instantiate("echo", json!({"call": "all"}), &host)
                .unwrap();
            let mut failing = enrich
                .instantiate(
                    "echo",
                    json!({"call": if thread % 2 == 0 { "fail" } else { "panic" }}),
                    &host,
                )
                .unwrap();
            let mut enricher = enrich
                .instantiate("enrich", json!({"customer_column": "customer"}), &host)
                .unwrap();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for version in 1..=30 {
                    let input = change(version, thread, version, 4);
                    assert_eq!(echo.apply(input.clone()).unwrap(), input);
                    let out = enricher.apply(input.clone()).unwrap();
                    check_output("enrich", thread, &input, &out);
                    match failing.apply(input) {
                        Err(Error::Failed { message, .. }) if thread % 2 == 0 => {
                            assert_eq!(message, "the host says no")
                        }
                        Err(Error::Failed { message, .. }) => assert!(
                            message.starts_with("the host panicked in `Echo::panic` at ")
                                && message.ends_with(": the host fell over"),
                            "{message}"
                        ),
                        other => panic!("{other:?}"),
                    }
                }
                (echo.id(), enricher.id())
            })
        })
        .collect();
    let ids: Vec<(u64, u64)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let events = events.lock().unwrap();
    for (_, enricher) in ids {
        let warned = events
            .iter()
            .filter(|e| {
                e.field("operator") == Some("enrich")
                    && e.field("instance") == Some(&enricher.to_string())
                    && e.level == tracing::Level::WARN
            })
            .count();
        assert_eq!(warned, 30, "instance {enricher}");
    }
}
