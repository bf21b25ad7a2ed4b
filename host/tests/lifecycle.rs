//! The lifecycle of instances in a long-running host: durable state across a killed
//! process, reloads under load and every rollback path, recovery after a panic.

mod common;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{fixture, plugin_path, rows, tally_report};
use oplink::{Change, Diff, Timestamp};
use oplink_host::{Error, Host, Instance, LiveInstance, Plugin, StateStore};
use serde_json::json;

/// Keys cycle through 7 customers.
fn key_of(row: u64) -> String {
    format!("k{}", row % 7)
}

/// Batch `i`: 10 rows numbered `10 i ..`, keyed by [`key_of`].
fn batch_change(i: u64) -> Change {
    let first = i * 10;
    let keys: Vec<String> = (first..first + 10).map(key_of).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let amounts: Vec<i64> = (0..10).collect();
    Change::new(
        i,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&amounts, &keys, first),
        }],
    )
}

/// The per-key counts of `tally` after rows `0..rows`.
fn expected_counts(rows: u64) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for row in 0..rows {
        *counts.entry(format!("n/{}", key_of(row))).or_insert(0) += 1;
    }
    counts
}

fn counts_in(store: &StateStore, scope: &str) -> BTreeMap<String, u64> {
    store
        .entries(scope)
        .unwrap()
        .into_iter()
        .map(|(key, value)| {
            (
                String::from_utf8(key).unwrap(),
                u64::from_le_bytes(value.try_into().unwrap()),
            )
        })
        .collect()
}

fn tally_config() -> serde_json::Value {
    json!({"key": "customer"})
}

/// A fresh folder under `target/` for one test.
fn folder(name: &str) -> PathBuf {
    let dir = common::workspace()
        .join("target")
        .join("lifecycle-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const CHILD_STORE: &str = "OPLINK_TEST_CHILD_STORE";

/// The child of `flushed_state_survives_a_killed_process_and_is_never_half_written`: feeds
/// batches forever, flushing after every fifth and saying so on stdout.
fn feed_until_killed(store: &Path) {
    let host = Host::builder()
        .state_store(StateStore::open(store).unwrap())
        .build();
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut tally = plugin
        .instantiate_named("tally", tally_config(), &host, "tally-durable")
        .unwrap();
    for i in 0..1_000_000u64 {
        tally.apply(batch_change(i)).unwrap();
        if i % 5 == 4 {
            tally.flush_state().unwrap();
            println!("flushed {i}");
        }
    }
}

#[test]
fn flushed_state_survives_a_killed_process_and_is_never_half_written() {
    if let Some(store) = std::env::var_os(CHILD_STORE) {
        feed_until_killed(Path::new(&store));
        return;
    }
    let dir = folder("killed");
    let store = dir.join("state.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "flushed_state_survives_a_killed_process_and_is_never_half_written",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_STORE, &store)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut last_seen = None;
    let mut seen = 0;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(i) = line.strip_prefix("flushed ") {
            last_seen = Some(i.parse::<u64>().unwrap());
            seen += 1;
            if seen == 4 {
                // In the middle of the run: between flushes, or inside one.
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    let last_seen = last_seen.expect("the child flushed before it was killed");

    let store = StateStore::open(&store).unwrap();
    let counts = counts_in(&store, "tally-durable");
    let total: u64 = counts.values().sum();
    // Whole flushes only: the rows of batches 0..=F for a flush F at or after the last one
    // the child reported, never part of one.
    assert_eq!(total % 50, 0, "a flush was half written: {counts:?}");
    assert!(total >= (last_seen + 1) * 10, "flushed state was lost");
    assert_eq!(counts, expected_counts(total));
}

/// A host with the state store in the file at `path`, and a `tally` of `plugin` whose state
/// is named `name` in it.
fn tally_in_store(plugin: &Plugin, path: &Path, name: &str) -> (Host, oplink_host::Instance) {
    let host = Host::builder()
        .state_store(StateStore::open(path).unwrap())
        .build();
    let tally = plugin
        .instantiate_named("tally", tally_config(), &host, name)
        .unwrap();
    (host, tally)
}

#[test]
fn a_state_in_use_names_its_holder_and_is_free_once_the_holder_is_dropped() {
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let host = Host::default();
    let tally = plugin
        .instantiate_named("tally", tally_config(), &host, "shared")
        .unwrap();
    // Another operator asking for the same name is told which one holds it.
    let err = plugin
        .instantiate_named("passthrough", json!({}), &host, "shared")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "state `shared` of the in-memory state store is in use by a live instance of operator `tally`; give each instance a name of its own, or drop that one first"
    );
    assert_eq!(err.path(), None);
    drop(tally);
    plugin
        .instantiate_named("passthrough", json!({}), &host, "shared")
        .unwrap();
}

#[test]
fn named_state_outlives_its_instance_and_unflushed_writes_do_not() {
    let dir = folder("named");
    let path = dir.join("state.redb");
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    {
        let (host, mut tally) = tally_in_store(&plugin, &path, "t");
        assert_eq!(tally.state_name(), Some("t"));
        // One live instance per name.
        let err = plugin
            .instantiate_named("tally", tally_config(), &host, "t")
            .unwrap_err();
        assert!(matches!(err, Error::StateInUse { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "state `t` of state store `{}` is in use by a live instance of operator `tally`; give each instance a name of its own, or drop that one first",
                path.display()
            )
        );
        assert_eq!(err.path(), Some(path.as_path()));
        tally.apply(batch_change(0)).unwrap();
        tally.flush_state().unwrap();
        tally.apply(batch_change(1)).unwrap(); // never flushed
    }
    // A restart: the store reopened, the name taken again.
    let store = StateStore::open(&path).unwrap();
    assert_eq!(counts_in(&store, "t"), expected_counts(10));
    let host = Host::builder().state_store(store.clone()).build();
    let mut tally = plugin
        .instantiate_named("tally", tally_config(), &host, "t")
        .unwrap();
    tally.apply(batch_change(1)).unwrap();
    // A flush in two steps: the operator's own, its writes still pending; then the store's.
    tally.prepare_flush().unwrap();
    assert_eq!(counts_in(&store, "t"), expected_counts(10));
    tally.commit_state().unwrap();
    assert_eq!(counts_in(&store, "t"), expected_counts(20));
    // A call that panicked half way leaves writes pending: a poisoned instance commits none.
    let mut config = tally_config();
    config["panic_on"] = json!("k3");
    let mut panics = plugin
        .instantiate_named("tally", config, &host, "p")
        .unwrap();
    assert!(matches!(
        panics.apply(batch_change(0)).unwrap_err(),
        Error::Panicked { .. }
    ));
    let err = panics.commit_state().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Poisoned {
                method: "commit_state",
                live: false,
                ..
            }
        ),
        "{err:?}"
    );
    // A plain instance is dropped and created anew; its state is named, as a live one's.
    assert_eq!(
        err.to_string(),
        "operator `tally` (state `p`) is poisoned by a panic in `apply` and refuses `commit_state`; drop it and create a new one (a `LiveInstance` has `recover()` for that)"
    );
    assert!(counts_in(&store, "p").is_empty());
    // An unnamed instance keeps its state to itself.
    assert!(
        plugin
            .instantiate("tally", tally_config(), &host)
            .unwrap()
            .state_name()
            .is_none()
    );
}

/// Instances commit their state at once: a poisoned one among them stops the commit before
/// anything is written, and instances of other stores are committed too. (All or none on a
/// failing disk is the store's one transaction: redb's, not tested here.)
#[test]
fn instances_commit_their_state_together() {
    let dir = folder("together");
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let store = StateStore::open(dir.join("state.redb")).unwrap();
    let host = Host::builder().state_store(store.clone()).build();
    let named = |name: &str, config| {
        plugin
            .instantiate_named("tally", config, &host, name)
            .unwrap()
    };
    let (mut a, mut b) = (named("a", tally_config()), named("b", tally_config()));
    a.apply(batch_change(0)).unwrap();
    b.apply(batch_change(0)).unwrap();
    b.apply(batch_change(1)).unwrap();
    // A poisoned instance among them: nothing is written, and the others' writes stay
    // pending.
    let mut config = tally_config();
    config["panic_on"] = json!("k3");
    let mut panics = named("p", config);
    assert!(matches!(
        panics.apply(batch_change(0)).unwrap_err(),
        Error::Panicked { .. }
    ));
    let err = Instance::commit_states([&mut a, &mut panics, &mut b]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Poisoned {
                method: "commit_state",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(counts_in(&store, "a").is_empty() && counts_in(&store, "b").is_empty());
    // Without it, both at once; with an instance of another store beside them, that one too.
    let other = StateStore::in_memory();
    let elsewhere = Host::builder().state_store(other.clone()).build();
    let mut c = plugin
        .instantiate_named("tally", tally_config(), &elsewhere, "c")
        .unwrap();
    c.apply(batch_change(2)).unwrap();
    Instance::commit_states([&mut a, &mut c, &mut b]).unwrap();
    assert_eq!(counts_in(&store, "a"), expected_counts(10));
    assert_eq!(counts_in(&store, "b"), expected_counts(20));
    assert_eq!(counts_in(&other, "c").values().sum::<u64>(), 10);
    // Nothing pending is nothing to write.
    Instance::commit_states([&mut a, &mut b]).unwrap();
    Instance::commit_states([]).unwrap();
    assert_eq!(counts_in(&store, "b"), expected_counts(20));
}

/// A host's own entries commit with its instances' states, in their store's transaction:
/// a poisoned instance among them stops both; a scope a live instance holds is refused;
/// without an instance of that store they commit alone.
#[test]
fn a_hosts_entries_commit_with_the_states() {
    let dir = folder("with_entries");
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let store = StateStore::open(dir.join("state.redb")).unwrap();
    let host = Host::builder().state_store(store.clone()).build();
    let mut a = plugin
        .instantiate_named("tally", tally_config(), &host, "a")
        .unwrap();
    a.apply(batch_change(0)).unwrap();
    let offset = |n: u64| n.to_le_bytes().to_vec();
    let mark = offset(4096);
    let entries: &[oplink_host::HostEntry] = &[
        ("#input", b"offset", Some(&mark)),
        ("#input", b"gone", None),
    ];
    // A poisoned instance: neither its neighbours' state nor the host's entries.
    let mut config = tally_config();
    config["panic_on"] = json!("k3");
    let mut panics = plugin
        .instantiate_named("tally", config, &host, "p")
        .unwrap();
    assert!(panics.apply(batch_change(0)).is_err());
    let err = Instance::commit_states_with([&mut a, &mut panics], &store, entries).unwrap_err();
    assert!(matches!(err, Error::Poisoned { .. }), "{err:?}");
    assert!(store.entries("#input").unwrap().is_empty());
    assert!(counts_in(&store, "a").is_empty());
    // The host's scopes start with `#`: not a live instance's, nor any other.
    for scope in ["a", "input", ""] {
        let err = Instance::commit_states_with([&mut a], &store, &[(scope, b"k", Some(b"v"))])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "state store `{}`: the scope {} of the host's entries does not start with `#`; give them one that does (no instance's state can)",
                dir.join("state.redb").display(),
                if scope.is_empty() {
                    "`\"\"`".to_owned()
                } else {
                    format!("`{scope}`")
                }
            )
        );
        assert!(counts_in(&store, "a").is_empty(), "nothing written");
        assert!(store.entries(scope).unwrap().is_empty(), "nothing written");
    }
    // Together.
    Instance::commit_states_with([&mut a], &store, entries).unwrap();
    assert_eq!(counts_in(&store, "a"), expected_counts(10));
    assert_eq!(
        store.entries("#input").unwrap(),
        [(b"offset".to_vec(), offset(4096))]
    );
    // Alone, with no instance of that store; a `None` removes.
    let mark = offset(8192);
    Instance::commit_states_with([], &store, &[("#input", b"offset", Some(&mark))]).unwrap();
    assert_eq!(
        store.entries("#input").unwrap(),
        [(b"offset".to_vec(), offset(8192))]
    );
    Instance::commit_states_with([], &store, &[("#input", b"offset", None)]).unwrap();
    assert!(store.entries("#input").unwrap().is_empty());
    // An in-memory store is named so.
    let memory = StateStore::in_memory();
    let host = Host::builder().state_store(memory.clone()).build();
    let mut m = plugin
        .instantiate_named("tally", tally_config(), &host, "m")
        .unwrap();
    let err = Instance::commit_states_with([&mut m], &memory, &[("m", b"k", None)]).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "the in-memory state store: the scope `m` of the host's entries does not start with `#`"
        ),
        "{err}"
    );
    assert_eq!(err.path(), None, "no file");
    // No instance takes a name of the host's entries, nor an empty one.
    for (name, said) in [
        (
            "#input",
            "the in-memory state store: the state name `#input` starts with `#`, which keeps a host's own entries (`Instance::commit_states_with`) apart from its instances' states; give the instance a name that does not",
        ),
        (
            "",
            "the in-memory state store: an instance's state needs a name, and `\"\"` is none; give it one, or create the instance with `instantiate` to keep its state in memory, dropped with it",
        ),
    ] {
        let err = plugin
            .instantiate_named("tally", tally_config(), &host, name)
            .unwrap_err();
        assert_eq!(err.to_string(), said);
    }
}

#[test]
fn a_store_that_cannot_be_opened_is_an_error_naming_it() {
    let dir = folder("unopenable");
    let path = dir.join("missing-folder").join("state.redb");
    let err = StateStore::open(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "state store `{}`: its folder `{}` does not exist (a store's file is created, not its folder)",
            path.display(),
            dir.join("missing-folder").display()
        )
    );
    // A folder given for the store's file: said so, not the system's "Is a directory".
    assert_eq!(
        StateStore::open(&dir).unwrap_err().to_string(),
        format!(
            "state store `{}`: it is a folder, not a file: give the path of the store's file (in that folder, say; it is created when missing)",
            dir.display()
        )
    );
    // One store open twice (two runs sharing a state folder): the second says why.
    let shared = dir.join("state.redb");
    let _first = StateStore::open(&shared).unwrap();
    assert_eq!(
        StateStore::open(&shared).unwrap_err().to_string(),
        format!(
            "state store `{}`: it is open already, in this process or another (hosts of one process share a store by cloning its `StateStore`)",
            shared.display()
        )
    );
    // A file that is no store, cut short, or emptied: said so, never a fresh empty store.
    let good = std::fs::read(&shared).unwrap();
    drop(_first);
    for (what, bytes, said) in [
        (
            "text",
            b"not a store at all\n".repeat(300),
            "the file is damaged or is not a state store; give the path of a state store, or move this file away to start with no state",
        ),
        (
            "short",
            good[..100].to_vec(),
            "the file is damaged or is not a state store (it ends early); give the path of a state store, or move this file away to start with no state",
        ),
        (
            "empty",
            Vec::new(),
            "the file is empty, as no store ever is (was it truncated?); remove it to start with no state",
        ),
    ] {
        let file = dir.join(format!("{what}.redb"));
        std::fs::write(&file, bytes).unwrap();
        assert_eq!(
            StateStore::open(&file).unwrap_err().to_string(),
            format!("state store `{}`: {said}", file.display()),
            "{what}"
        );
    }
}

#[test]
fn a_reload_under_load_loses_and_duplicates_nothing() {
    const BATCHES: u64 = 400;
    const RELOADS: u64 = 12;
    let store = StateStore::in_memory();
    let host = Host::builder().state_store(store.clone()).build();
    let base = plugin_path("toolkit");
    let next = plugin_path("toolkit_next");
    let live = LiveInstance::new(
        &Plugin::load(&base).unwrap(),
        "tally",
        tally_config(),
        &host,
        Some("under-load"),
    )
    .unwrap();

    // The new builds are loaded (copied, checked, validated) before the rows flow, so that
    // the reloads themselves land among the batches.
    let builds: Vec<Plugin> = (0..RELOADS)
        .map(|n| Plugin::load_fresh(if n % 2 == 0 { &next } else { &base }).unwrap())
        .collect();
    use std::sync::atomic::{AtomicU64, Ordering};
    // `progress`: batches the feeder has had back; `started`: reloads begun. Each reload
    // starts after the feeder has passed another 30 batches, and the feeder does not run
    // more than 30 batches ahead of the reloads begun, so every reload runs while rows
    // flow, however the two threads are scheduled.
    let (progress, started) = (
        std::sync::Arc::new(AtomicU64::new(0)),
        std::sync::Arc::new(AtomicU64::new(0)),
    );
    let feeder = {
        let (live, progress, started) = (live.clone(), progress.clone(), started.clone());
        std::thread::spawn(move || {
            let (mut out, mut generations) = (Vec::new(), std::collections::BTreeSet::new());
            for i in 0..BATCHES {
                let due = (i / 30).min(RELOADS);
                while started.load(Ordering::Acquire) < due {
                    std::thread::yield_now();
                }
                let change = live.apply(batch_change(i)).unwrap();
                generations.insert(live.generation());
                for diff in change.diffs {
                    let Diff::Insert { post } = diff else {
                        panic!("tally forwards inserts")
                    };
                    out.extend_from_slice(post.row_numbers().values());
                }
                if i % 50 == 49 {
                    live.flush_state().unwrap();
                }
                progress.store(i + 1, Ordering::Release);
            }
            (out, generations)
        })
    };
    for (n, build) in (0..).zip(&builds) {
        // Each reload while rows flow: after the feeder passed another 30 batches. The
        // builds alternate between the two libraries, each a fresh copy of its file.
        while progress.load(Ordering::Acquire) < (n + 1) * 30 {
            std::thread::yield_now();
        }
        started.store(n + 1, Ordering::Release);
        assert_eq!(live.reload(build).unwrap(), n + 2);
    }
    let (rows, generations) = feeder.join().unwrap();
    live.flush_state().unwrap();
    assert!(
        generations.len() > RELOADS as usize / 2,
        "the feeder saw only generations {generations:?}: the reloads did not overlap it"
    );

    assert_eq!(
        rows,
        (0..BATCHES * 10).collect::<Vec<_>>(),
        "lost or duplicated rows"
    );
    assert_eq!(live.generation(), RELOADS + 1);
    // What one uninterrupted run gives: the rows counted in memory (handed over by every
    // reload), and the per-key counts in the store (which moved with the instance).
    assert_eq!(tally_report(&live), (BATCHES * 10, "base".to_owned()));
    assert_eq!(
        counts_in(&store, "under-load"),
        expected_counts(BATCHES * 10)
    );
}

/// A live `tally` of the base build that has counted 20 rows (10 of them flushed), with
/// `restore` set as the variant build will read it.
fn serving(restore: &str) -> (LiveInstance, StateStore) {
    let store = StateStore::in_memory();
    let host = Host::builder().state_store(store.clone()).build();
    let live = LiveInstance::new(
        &Plugin::load(plugin_path("toolkit")).unwrap(),
        "tally",
        json!({"key": "customer", "restore": restore}),
        &host,
        Some("serving"),
    )
    .unwrap();
    live.apply(batch_change(0)).unwrap();
    live.flush_state().unwrap();
    live.apply(batch_change(1)).unwrap();
    (live, store)
}

/// The instance still answers as the old build, with its state whole.
fn still_serving(live: &LiveInstance, store: &StateStore) {
    assert_eq!(live.generation(), 1);
    assert!(!live.is_poisoned());
    assert_eq!(tally_report(live), (20, "base".to_owned()));
    let out = live.apply(batch_change(2)).unwrap();
    assert_eq!(out.row_count(), 10);
    live.flush_state().unwrap();
    assert_eq!(counts_in(store, "serving"), expected_counts(30));
}

#[test]
fn every_failed_reload_rolls_back_and_the_old_instance_keeps_serving() {
    // A new build that fails validation never gets to the instance.
    let (live, store) = serving("accept");
    let broken = fixture("BAD_MAGIC");
    let err = Plugin::load_fresh(&broken).unwrap_err().to_string();
    // Named as the user named it, not after the copy that was checked.
    assert!(
        err.starts_with(&format!("`{}`", broken.display())) && err.contains("magic"),
        "{err}"
    );
    // The loader's own words too: a file that is not a library at all.
    let text = std::env::temp_dir().join(format!("libnotes-{}.so", std::process::id()));
    std::fs::write(&text, "not a library").unwrap();
    let err = Plugin::load_fresh(&text).unwrap_err().to_string();
    std::fs::remove_file(&text).unwrap();
    assert!(!err.contains("oplink-reload"), "{err}");
    assert!(err.contains(&*text.to_string_lossy()), "{err}");
    still_serving(&live, &store);

    // A new build without the operator.
    let (live, store) = serving("accept");
    let threshold = Plugin::load_fresh(plugin_path("threshold")).unwrap();
    // Named as the user named it, not after the removed copy it was loaded from.
    let named = std::path::absolute(plugin_path("threshold")).unwrap();
    assert_eq!(threshold.path(), named);
    let err = live.reload(&threshold).unwrap_err();
    assert!(matches!(err, Error::Reload { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "reloading operator `tally` (state `serving`) failed, and the old instance keeps serving: the new build `{}` has no operator `tally`; it has: `threshold`",
            named.display()
        )
    );
    still_serving(&live, &store);

    // A new build that cannot create the instance.
    let store = StateStore::in_memory();
    let host = Host::builder().state_store(store.clone()).build();
    let live = LiveInstance::new(
        &Plugin::load(plugin_path("toolkit")).unwrap(),
        "tally",
        json!({"key": "customer", "create": "reject"}),
        &host,
        None,
    )
    .unwrap();
    let next = Plugin::load_fresh(plugin_path("toolkit_next")).unwrap();
    let err = live.reload(&next).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "reloading operator `tally` failed, and the old instance keeps serving: the new build could not create it: operator `tally` failed in `new`: this build refuses to be created"
        ),
        "{err}"
    );
    assert_eq!(live.generation(), 1);
    live.apply(batch_change(0)).unwrap();

    // A new build whose `restore` rejects the snapshot, with a message.
    let (live, store) = serving("reject");
    let next = Plugin::load_fresh(plugin_path("toolkit_next")).unwrap();
    let err = live.reload(&next).unwrap_err();
    assert!(
        err.to_string().contains(
            "the new build's `restore` refused the snapshot: operator `tally` failed in `restore`"
        ) && err
            .to_string()
            .contains("this build cannot read snapshots of the base build"),
        "{err}"
    );
    still_serving(&live, &store);

    // A new build that panics in `restore`.
    let (live, store) = serving("panic");
    let err = live.reload(&next).unwrap_err();
    assert!(
        err.to_string().contains("panicked in `restore`")
            && err.to_string().contains("restore panicked on purpose"),
        "{err}"
    );
    still_serving(&live, &store);

    // A new build whose `restore` writes to the state before it refuses: the write goes
    // with it (the old instance's state is as it was).
    let (live, store) = serving("scribble");
    let err = live.reload(&next).unwrap_err();
    assert!(
        err.to_string()
            .contains("this build wrote to the state, then refused the snapshot"),
        "{err}"
    );
    still_serving(&live, &store);
}

/// A bound of no builds means nothing (an instance runs on the build it was made from): it is
/// refused, as a nonsensical builder argument is in std, not made 1 without a word.
#[test]
fn a_bound_of_no_builds_is_refused() {
    let (live, _store) = serving("accept");
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        live.clone().with_max_generations(0)
    }))
    .unwrap_err();
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or(panic.downcast_ref::<String>().map(String::as_str))
        .unwrap();
    assert_eq!(
        message,
        "`LiveInstance::with_max_generations(0)`: an instance runs on one build at least (the one it was created from); give 1 to refuse every reload to a new build"
    );
    // The instance is untouched, and serves.
    assert!(!live.is_poisoned());
    live.apply(batch_change(2)).unwrap();
}

#[test]
fn reloads_stop_at_the_bound_of_builds_mapped() {
    let (live, _store) = serving("accept");
    let live = live.with_max_generations(2);
    let base = live.plugin();
    let next = Plugin::load_fresh(plugin_path("toolkit_next")).unwrap();
    assert_eq!(live.reload(&next).unwrap(), 2);
    assert_eq!(tally_report(&live), (20, "variant".to_owned()));
    // Builds it ran on before map nothing new: back and forth as often as needed.
    assert_eq!(live.reload(&base).unwrap(), 3);
    assert_eq!(live.reload(&next).unwrap(), 4);
    // So is a file loaded again, which maps the copy loaded before.
    let base_again = Plugin::load(base.path()).unwrap();
    assert_eq!(live.reload(&base_again).unwrap(), 5);
    assert_eq!(live.reload(&next).unwrap(), 6);
    // A third build would.
    let third = Plugin::load_fresh(plugin_path("toolkit_next")).unwrap();
    let err = live.reload(&third).unwrap_err();
    assert_eq!(
        err.to_string(),
        "reloading operator `tally` (state `serving`) failed, and the old instance keeps serving: it has run on 2 builds, its bound (each new build keeps one more copy of a library mapped); raise it with `with_max_generations`"
    );
    // A build without the operator says that first: a higher bound would not help it.
    let other = Plugin::load(plugin_path("threshold")).unwrap();
    assert_eq!(
        live.reload(&other).unwrap_err().to_string(),
        format!(
            "reloading operator `tally` (state `serving`) failed, and the old instance keeps serving: the new build `{}` has no operator `tally`; it has: `threshold`",
            other.path().display()
        )
    );
    assert_eq!(live.generation(), 6);
}

/// A recovery to the point a reload made runs the new build's `restore` again on the
/// state as it was before that `restore` ran: what `restore` wrote is there once, not twice
/// (a `restore` that adds to the state would count its snapshot twice otherwise).
#[test]
fn a_recovery_to_a_reloads_point_runs_restore_on_the_state_it_first_ran_on() {
    let store = StateStore::in_memory();
    let host = Host::builder().state_store(store.clone()).build();
    let live = LiveInstance::new(
        &Plugin::load(plugin_path("toolkit")).unwrap(),
        "tally",
        json!({"key": "customer", "restore": "migrate", "panic_on": "poison"}),
        &host,
        Some("migrated"),
    )
    .unwrap();
    live.apply(batch_change(0)).unwrap(); // 10 rows, pending
    let next = Plugin::load_fresh(plugin_path("toolkit_next")).unwrap();
    assert_eq!(live.reload(&next).unwrap(), 2); // `restore` adds 10 to `n/migrated`
    let poison = Change::new(
        9,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1], &["poison"], 1_000),
        }],
    );
    assert!(matches!(live.apply(poison), Err(Error::Panicked { .. })));
    assert_eq!(live.recover().unwrap(), 3);
    live.flush_state().unwrap();
    let mut expected = expected_counts(10);
    expected.insert("n/migrated".to_owned(), 10);
    assert_eq!(counts_in(&store, "migrated"), expected);
    assert_eq!(tally_report(&live), (10, "variant".to_owned()));
}

/// What the old instance writes in its `destroy` as a reload replaces it (a C operator may
/// use its services until `destroy` returns) belongs to the reload's recovery point: a
/// recovery keeps it. The fixture writes `destroyed-N` for its Nth destroyed instance.
#[test]
fn a_recovery_to_a_reloads_point_keeps_what_the_old_instance_wrote_in_destroy() {
    let store = StateStore::in_memory();
    let host = Host::builder().state_store(store.clone()).build();
    let plugin = Plugin::load(fixture("DESTROY_WRITES")).unwrap();
    let live = LiveInstance::new(&plugin, "c_op", json!(null), &host, Some("destroyer")).unwrap();
    assert_eq!(live.reload(&plugin).unwrap(), 2); // the first instance: `destroyed-1`
    assert!(live.apply(Change::new(99, Timestamp(0), vec![])).is_err());
    assert!(live.is_poisoned());
    assert_eq!(live.recover().unwrap(), 3); // the poisoned one: `destroyed-2`
    live.flush_state().unwrap();
    let keys: Vec<String> = store
        .entries("destroyer")
        .unwrap()
        .into_iter()
        .map(|(key, _)| String::from_utf8(key).unwrap())
        .collect();
    assert_eq!(keys, ["destroyed-1", "destroyed-2"]);
}

/// An instance taken out of a `LiveInstance` (through `with`) is a plain one again: its
/// refusals say to drop it, not to recover it; the one put in its place is held, and says
/// to recover it.
#[test]
fn an_instance_taken_out_of_a_live_instance_is_told_to_be_dropped() {
    let host = Host::default();
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let config = json!({"key": "customer", "panic_on": "poison"});
    let live = LiveInstance::new(&plugin, "tally", &config, &host, None).unwrap();
    let other = plugin.instantiate("tally", &config, &host).unwrap();
    let mut taken = live.with(|op| std::mem::replace(op, other));
    let poison = || {
        Change::new(
            9,
            Timestamp(0),
            vec![Diff::Insert {
                post: rows(&[1], &["poison"], 1_000),
            }],
        )
    };
    assert!(matches!(
        taken.apply(poison()).unwrap_err(),
        Error::Panicked { .. }
    ));
    let err = taken.apply(batch_change(0)).unwrap_err();
    assert!(
        matches!(err, Error::Poisoned { live: false, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "operator `tally` is poisoned by a panic in `apply` and refuses `apply`; drop it and create a new one (a `LiveInstance` has `recover()` for that)"
    );
    // The one put in its place is the live instance's.
    assert!(matches!(
        live.apply(poison()).unwrap_err(),
        Error::Panicked { .. }
    ));
    let err = live.apply(batch_change(0)).unwrap_err();
    assert!(matches!(err, Error::Poisoned { live: true, .. }), "{err:?}");
    // Put back (a plain instance given to a live one), it is held again.
    let mut taken = Some(taken);
    live.with(|op| *op = taken.take().unwrap());
    let err = live.apply(batch_change(0)).unwrap_err();
    assert!(matches!(err, Error::Poisoned { live: true, .. }), "{err:?}");
}

#[test]
fn a_poisoned_instance_is_recovered_from_its_last_good_snapshot_with_its_state() {
    let store = StateStore::in_memory();
    let host = Host::builder().state_store(store.clone()).build();
    let live = LiveInstance::new(
        &Plugin::load(plugin_path("toolkit")).unwrap(),
        "tally",
        json!({"key": "customer", "panic_on": "poison"}),
        &host,
        Some("recovered"),
    )
    .unwrap();
    live.apply(batch_change(0)).unwrap();
    live.checkpoint().unwrap(); // 10 rows counted in memory
    live.apply(batch_change(1)).unwrap();
    live.flush_state().unwrap(); // 20 rows in the store

    // A panic poisons it: every call is refused until it is recovered.
    let poison = Change::new(
        9,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1], &["poison"], 1_000),
        }],
    );
    let err = live.apply(poison).unwrap_err();
    assert!(matches!(err, Error::Panicked { .. }), "{err:?}");
    assert!(live.is_poisoned());
    // Each refusal names the state, and says to recover it (through `with` too): not to
    // drop the instance, which the `LiveInstance` holds.
    // A checkpoint is refused under its own name, not that of the snapshot it would take.
    for (err, method) in [
        (live.apply(batch_change(2)).unwrap_err(), "apply"),
        (live.checkpoint().unwrap_err(), "checkpoint"),
        (
            live.flush_and_checkpoint().unwrap_err(),
            "flush_and_checkpoint",
        ),
        (live.with(|op| op.flush_state()).unwrap_err(), "flush_state"),
    ] {
        assert!(matches!(err, Error::Poisoned { live: true, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "operator `tally` (state `recovered`) is poisoned by a panic in `apply` and refuses `{method}`; call `recover()` on its `LiveInstance` to create it again from its last good snapshot (from scratch if it has none), or `reload` a fixed build"
            )
        );
    }

    // One call recreates it from its checkpoint: its memory goes back to the checkpoint,
    // its store keeps everything flushed.
    assert_eq!(live.recover().unwrap(), 2);
    assert!(!live.is_poisoned());
    assert_eq!(tally_report(&live).0, 10);
    assert_eq!(counts_in(&store, "recovered"), expected_counts(20));
    live.apply(batch_change(2)).unwrap();
    assert_eq!(tally_report(&live).0, 20);
    // A second recovery (another thread's, which saw it poisoned too) changes nothing: the
    // change applied since is kept.
    assert_eq!(live.recover().unwrap(), 2);
    assert_eq!(tally_report(&live).0, 20);

    // Without a checkpoint, from scratch.
    let fresh = LiveInstance::new(
        &Plugin::load(plugin_path("toolkit")).unwrap(),
        "tally",
        json!({"key": "customer", "panic_on": "poison"}),
        &host,
        None,
    )
    .unwrap();
    fresh.apply(batch_change(0)).unwrap();
    let poison = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1], &["poison"], 1_000),
        }],
    );
    assert!(fresh.apply(poison).is_err());
    assert_eq!(fresh.recover().unwrap(), 2);
    assert_eq!(tally_report(&fresh).0, 0);
}

/// A recovery returns the state's pending writes to the recovery point with the memory:
/// the writes made since (those of the call that panicked part way among them) are
/// dropped, so a replay of the changes since counts nothing twice. A flush since the point
/// cannot be undone: then only the writes pending after it are dropped.
#[test]
fn a_recovery_drops_the_writes_made_since_its_point_with_the_call_that_panicked() {
    let store = StateStore::in_memory();
    let host = Host::builder().state_store(store.clone()).build();
    let change = |version: u64, keys: &[&str]| {
        let amounts = vec![1; keys.len()];
        Change::new(
            version,
            Timestamp(0),
            vec![Diff::Insert {
                post: rows(&amounts, keys, version * 100),
            }],
        )
    };
    let counts = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, n)| (format!("n/{k}"), *n)).collect()
    };
    for flush_after_checkpoint in [false, true] {
        let scope = format!("rollback-{flush_after_checkpoint}");
        let live = LiveInstance::new(
            &Plugin::load(plugin_path("toolkit")).unwrap(),
            "tally",
            json!({"key": "customer", "panic_on": "poison"}),
            &host,
            Some(&scope),
        )
        .unwrap();
        live.apply(change(1, &["ann", "bob"])).unwrap();
        live.checkpoint().unwrap();
        live.apply(change(2, &["ann"])).unwrap();
        if flush_after_checkpoint {
            live.flush_state().unwrap();
        }
        // Counts `cy`, then panics.
        assert!(live.apply(change(3, &["cy", "poison"])).is_err());
        live.recover().unwrap();
        assert_eq!(tally_report(&live).0, 2, "memory as at the checkpoint");
        live.flush_state().unwrap();
        if flush_after_checkpoint {
            // Change 2 was flushed: it stays; `cy` is gone.
            assert_eq!(counts_in(&store, &scope), counts(&[("ann", 2), ("bob", 1)]));
        } else {
            // As at the checkpoint: replaying change 2 counts `ann` once more, not twice.
            assert_eq!(counts_in(&store, &scope), counts(&[("ann", 1), ("bob", 1)]));
            live.apply(change(2, &["ann"])).unwrap();
            live.flush_state().unwrap();
            assert_eq!(counts_in(&store, &scope), counts(&[("ann", 2), ("bob", 1)]));
        }
    }
    // `flush_and_checkpoint`: the store and the snapshot of one moment, and a recovery
    // returns to both.
    let live = LiveInstance::new(
        &Plugin::load(plugin_path("toolkit")).unwrap(),
        "tally",
        json!({"key": "customer", "panic_on": "poison"}),
        &host,
        Some("rollback-together"),
    )
    .unwrap();
    live.apply(change(1, &["ann", "bob"])).unwrap();
    live.flush_and_checkpoint().unwrap();
    assert_eq!(
        counts_in(&store, "rollback-together"),
        counts(&[("ann", 1), ("bob", 1)])
    );
    live.apply(change(2, &["ann"])).unwrap();
    assert!(live.apply(change(3, &["cy", "poison"])).is_err());
    live.recover().unwrap();
    live.flush_state().unwrap();
    assert_eq!(tally_report(&live).0, 2);
    assert_eq!(
        counts_in(&store, "rollback-together"),
        counts(&[("ann", 1), ("bob", 1)])
    );
}

#[test]
fn a_poisoned_instance_is_reloaded_from_its_last_good_snapshot() {
    let poisoned_with = |checkpoint: bool, restore: &str| {
        let live = LiveInstance::new(
            &Plugin::load(plugin_path("toolkit")).unwrap(),
            "tally",
            json!({"key": "customer", "panic_on": "poison", "restore": restore}),
            &Host::default(),
            None,
        )
        .unwrap();
        live.apply(batch_change(0)).unwrap();
        if checkpoint {
            live.checkpoint().unwrap(); // 10 rows
        }
        live.apply(batch_change(1)).unwrap();
        let poison = Change::new(
            9,
            Timestamp(0),
            vec![Diff::Insert {
                post: rows(&[1], &["poison"], 1_000),
            }],
        );
        assert!(matches!(
            live.apply(poison).unwrap_err(),
            Error::Panicked { .. }
        ));
        assert!(live.is_poisoned());
        live
    };
    let poisoned = |checkpoint: bool| poisoned_with(checkpoint, "accept");
    let next = Plugin::load_fresh(plugin_path("toolkit_next")).unwrap();

    // A new build that refuses the last good snapshot: it stays poisoned, and says so.
    let live = poisoned_with(true, "reject");
    let err = live.reload(&next).unwrap_err();
    assert!(matches!(err, Error::StillPoisoned { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(
            "reloading operator `tally` failed, and it is poisoned: the new build's `restore` refused the last good snapshot: operator `tally` failed in `restore`: this build cannot read snapshots of the base build"
        ),
        "{err}"
    );
    assert!(live.is_poisoned());
    assert_eq!(live.generation(), 1);

    // A fixed build takes the place of the one that panicked, from its checkpoint.
    let live = poisoned(true);
    assert_eq!(live.reload(&next).unwrap(), 2);
    assert!(!live.is_poisoned());
    assert_eq!(tally_report(&live), (10, "variant".to_owned()));
    live.apply(batch_change(2)).unwrap();
    assert_eq!(tally_report(&live).0, 20);

    // Without one, from scratch.
    let live = poisoned(false);
    assert_eq!(live.reload(&next).unwrap(), 2);
    assert_eq!(tally_report(&live), (0, "variant".to_owned()));
}

/// A recovery that fails (the build's `restore` refuses its own last good snapshot) leaves
/// the instance poisoned, and says how it gets out of that: a build that fixes it.
#[test]
fn a_failed_recovery_says_the_instance_stays_poisoned_and_what_to_do() {
    let live = LiveInstance::new(
        &Plugin::load(plugin_path("toolkit_next")).unwrap(),
        "tally",
        json!({"key": "customer", "panic_on": "poison", "restore": "reject"}),
        &Host::default(),
        None,
    )
    .unwrap();
    live.apply(batch_change(0)).unwrap();
    live.checkpoint().unwrap(); // 10 rows
    let poison = Change::new(
        9,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1], &["poison"], 1_000),
        }],
    );
    assert!(matches!(
        live.apply(poison).unwrap_err(),
        Error::Panicked { .. }
    ));
    let err = live.recover().unwrap_err();
    assert!(matches!(err, Error::StillPoisoned { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "recovering operator `tally` failed, and it is poisoned: its last good snapshot could not be restored: operator `tally` failed in `restore`: this build cannot read snapshots of the base build (at "
        ) && text.ends_with(
            "; it refuses every call until a `recover()` or `reload` succeeds (`reload` a build that fixes this, or drop it)"
        ),
        "{text}"
    );
    assert!(live.is_poisoned());
    assert_eq!(live.generation(), 1);
    // As it says: a build whose `restore` reads the snapshot takes its place.
    let fixed = Plugin::load_fresh(plugin_path("toolkit")).unwrap();
    assert_eq!(live.reload(&fixed).unwrap(), 2);
    assert!(!live.is_poisoned());
    assert_eq!(tally_report(&live).0, 10);
}

/// A recovery whose `new` fails (the operator cannot be created again: here `faulty`, made
/// to fail every creation after the first) leaves the instance poisoned, and says so with
/// the constructor's error and what to do.
#[test]
fn a_recovery_whose_new_fails_says_it_could_not_be_created_again() {
    let live = LiveInstance::new(
        &Plugin::load(plugin_path("faulty")).unwrap(),
        "faulty",
        json!({"fail_in": "apply", "how": "panic", "once": "a-recovery-whose-new-fails"}),
        &Host::default(),
        None,
    )
    .unwrap();
    assert!(matches!(
        live.apply(batch_change(0)).unwrap_err(),
        Error::Panicked { .. }
    ));
    assert!(live.is_poisoned());
    let err = live.recover().unwrap_err();
    assert!(matches!(err, Error::StillPoisoned { .. }), "{err:?}");
    let source =
        std::fs::read_to_string(common::workspace().join("examples/faulty/src/lib.rs")).unwrap();
    let line = 1 + source
        .lines()
        .position(|l| l.contains("bail!(\"faulty fails every creation after the first"))
        .unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "recovering operator `faulty` failed, and it is poisoned: it could not be created again: operator `faulty` failed in `new`: faulty fails every creation after the first with `once` \"a-recovery-whose-new-fails\" (at examples/faulty/src/lib.rs:{line}:17); it refuses every call until a `recover()` or `reload` succeeds (`reload` a build that fixes this, or drop it)"
        )
    );
    assert!(live.is_poisoned());
    assert_eq!(live.generation(), 1);
    assert!(matches!(
        live.apply(batch_change(1)).unwrap_err(),
        Error::Poisoned { .. }
    ));
}

#[test]
fn a_reload_whose_old_snapshot_panics_says_the_instance_is_poisoned() {
    let live = LiveInstance::new(
        &Plugin::load(plugin_path("faulty")).unwrap(),
        "faulty",
        json!({"fail_in": "snapshot", "how": "panic"}),
        &Host::default(),
        None,
    )
    .unwrap();
    let fresh = Plugin::load_fresh(plugin_path("faulty")).unwrap();
    let err = live.reload(&fresh).unwrap_err();
    assert!(matches!(err, Error::StillPoisoned { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(
            "reloading operator `faulty` failed, and it is poisoned: the old instance's snapshot panicked, which poisoned it: operator `faulty` panicked in `snapshot`: faulty panics in snapshot"
        ),
        "{err}"
    );
    assert!(live.is_poisoned());
}

/// A snapshot the host kept from an earlier process, restored through
/// `LiveInstance::restore`, is the point a recovery returns to (restored through `with`,
/// it was not: a recovery after it started from scratch, losing it without a word).
#[test]
fn a_snapshot_restored_by_the_host_is_the_point_a_recovery_returns_to() {
    let host = Host::default();
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let config = json!({"key": "customer", "panic_on": "k6"});
    // The earlier process: two changes counted, and its snapshot kept.
    let earlier = LiveInstance::new(&plugin, "tally", &config, &host, None).unwrap();
    earlier.apply(batch_change_without_k6(0)).unwrap();
    earlier.apply(batch_change_without_k6(1)).unwrap();
    let counted = tally_report(&earlier).0;
    assert!(counted > 0);
    let kept = earlier.with(|instance| instance.snapshot()).unwrap();
    drop(earlier);
    // This process: restored, then a panic, then a recovery.
    let live = LiveInstance::new(&plugin, "tally", &config, &host, None).unwrap();
    live.restore(&kept).unwrap();
    assert_eq!(tally_report(&live).0, counted);
    live.apply(batch_change_without_k6(2)).unwrap();
    assert!(matches!(
        live.apply(batch_change(3)).unwrap_err(),
        Error::Panicked { .. }
    ));
    live.recover().unwrap();
    assert_eq!(
        tally_report(&live).0,
        counted,
        "back to the snapshot restored"
    );
    // A snapshot the operator refuses leaves the recovery point as it was.
    assert!(live.restore(b"\x01").is_err());
    live.apply(batch_change(3)).unwrap_err();
    live.recover().unwrap();
    assert_eq!(tally_report(&live).0, counted);

    // A `restore` through `with` is no recovery point: a recovery after it starts from
    // scratch.
    let live = LiveInstance::new(&plugin, "tally", &config, &host, None).unwrap();
    live.with(|instance| instance.restore(&kept)).unwrap();
    assert_eq!(tally_report(&live).0, counted);
    live.apply(batch_change(3)).unwrap_err();
    live.recover().unwrap();
    assert_eq!(tally_report(&live).0, 0, "from scratch");
}

/// A named instance dropped with writes never flushed drops them, as a transaction dropped
/// uncommitted, and a `debug` event of `oplink_host` says how many keys they held.
#[test]
fn writes_never_flushed_go_with_their_instance_and_a_debug_event_counts_them() {
    let store = StateStore::in_memory();
    let host = Host::builder().state_store(store.clone()).build();
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut tally = plugin
        .instantiate_named("tally", tally_config(), &host, "unflushed")
        .unwrap();
    tally.apply(batch_change(0)).unwrap(); // 10 rows of 7 keys
    let recorder = common::Recorder::default();
    let events = recorder.0.clone();
    tracing::subscriber::with_default(recorder, || drop(tally));
    assert!(store.entries("unflushed").unwrap().is_empty());
    let events = events.lock().unwrap();
    let dropped = events
        .iter()
        .find(|e| e.target == "oplink_host::state")
        .expect("an event of the dropped writes");
    assert_eq!(dropped.level, tracing::Level::DEBUG);
    assert_eq!(
        dropped.field("message"),
        Some("an instance's state was dropped with writes never flushed; they are dropped too")
    );
    assert_eq!(dropped.field("state"), Some("unflushed"));
    assert_eq!(dropped.field("unflushed"), Some("7"));
}

/// `recover` leaves an instance that is not poisoned as it is, so `if live.is_poisoned() {
/// live.recover()?; }` from several threads at once recovers once and loses nothing.
#[test]
fn a_recovery_of_an_instance_that_is_not_poisoned_leaves_it() {
    let host = Host::default();
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let config = json!({"key": "customer", "panic_on": "k6"});
    let live = LiveInstance::new(&plugin, "tally", &config, &host, None).unwrap();
    live.apply(batch_change_without_k6(0)).unwrap();
    let counted = tally_report(&live).0;
    assert_eq!(live.recover().unwrap(), 1);
    assert_eq!(tally_report(&live).0, counted, "nothing undone");
    for round in 0..10 {
        live.apply(batch_change(1)).unwrap_err();
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    barrier.wait();
                    if live.is_poisoned() {
                        live.recover().unwrap();
                    }
                });
            }
        });
        assert!(!live.is_poisoned());
        assert_eq!(live.generation(), 2 + round, "one recovery per panic");
    }
}

/// Batch `i` of [`batch_change`] without its rows keyed `k6` (on which `tally` panics when
/// told to).
fn batch_change_without_k6(i: u64) -> Change {
    let first = i * 10;
    let rows_of: Vec<u64> = (first..first + 10).filter(|r| key_of(*r) != "k6").collect();
    let keys: Vec<String> = rows_of.iter().map(|r| key_of(*r)).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let amounts: Vec<i64> = (0..rows_of.len() as i64).collect();
    Change::new(
        i,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&amounts, &keys, first),
        }],
    )
}

#[test]
fn a_library_reload_swaps_every_instance_or_none() {
    let host = Host::default();
    let base = Plugin::load(plugin_path("toolkit")).unwrap();
    let make = |restore: &str| {
        let live = LiveInstance::new(
            &base,
            "tally",
            json!({"key": "customer", "restore": restore}),
            &host,
            None,
        )
        .unwrap();
        live.apply(batch_change(0)).unwrap();
        live
    };
    let next = Plugin::load_fresh(plugin_path("toolkit_next")).unwrap();

    let both = [make("accept"), make("accept")];
    assert_eq!(oplink_host::reload_all(&both, &next).unwrap(), 2);
    for live in &both {
        assert_eq!(live.generation(), 2);
        assert_eq!(tally_report(live), (10, "variant".to_owned()));
    }
    // Shared across threads by cloning, as the README says.
    fn shared_across_threads<T: Send + Sync + Clone>(_: &T) {}
    shared_across_threads(&both[0]);
    // Listed by reference, or as `Arc`s, as well.
    assert_eq!(
        oplink_host::reload_all([&both[0], &both[1]], &next).unwrap(),
        2
    );
    let shared: Vec<Arc<LiveInstance>> = both.iter().cloned().map(Arc::new).collect();
    assert_eq!(oplink_host::reload_all(&shared, &next).unwrap(), 2);
    assert_eq!(oplink_host::reload_all(shared, &next).unwrap(), 2);
    for live in &both {
        assert_eq!(live.generation(), 5);
        assert_eq!(tally_report(live), (10, "variant".to_owned()));
    }
    // One instance listed twice (two clones share it) is reloaded once, and does not wait
    // for itself.
    let (done, finished) = std::sync::mpsc::channel();
    let twice = [both[0].clone(), both[0].clone()];
    let again = next.clone();
    std::thread::spawn(move || done.send(oplink_host::reload_all(&twice, &again).unwrap()));
    let reloaded = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("reload_all of one instance listed twice did not finish in 60 s");
    assert_eq!(reloaded, 1);
    assert_eq!(both[0].generation(), 6);

    // One of them cannot take the new build: neither changes.
    let mixed = [make("accept"), make("reject")];
    let err = oplink_host::reload_all(&mixed, &next).unwrap_err();
    assert!(err.to_string().contains("refused the snapshot"), "{err}");
    assert!(
        err.to_string()
            .ends_with("; so none of the 2 instances given to `reload_all` was reloaded"),
        "{err}"
    );
    for live in &mixed {
        assert_eq!(live.generation(), 1);
        assert_eq!(tally_report(live), (10, "base".to_owned()));
    }
}

#[test]
fn a_library_reload_is_not_starved_by_traffic_on_its_instances() {
    use std::sync::atomic::{AtomicBool, Ordering};
    // Eight instances, each called in a tight loop by two threads: `reload_all` let all go
    // whenever one was busy, and the traffic took each back at once, so it never held all
    // eight (none finished in 40 s).
    let host = Host::default();
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let instances: Vec<LiveInstance> = (0..8)
        .map(|_| LiveInstance::new(&plugin, "passthrough", json!({}), &host, None).unwrap())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let feeders: Vec<_> = instances
        .iter()
        .flat_map(|live| [live.clone(), live.clone()])
        .map(|live| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut calls = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    live.apply(batch_change(calls % 4)).unwrap();
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let (done, reloaded) = std::sync::mpsc::channel();
    let reloading = instances.clone();
    std::thread::spawn(move || {
        for _ in 0..3 {
            done.send(oplink_host::reload_all(&reloading, &plugin).unwrap())
                .unwrap();
        }
    });
    for _ in 0..3 {
        let count = reloaded
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("reload_all did not finish in 60 s while its instances were called");
        assert_eq!(count, 8);
    }
    stop.store(true, Ordering::Relaxed);
    for feeder in feeders {
        assert!(feeder.join().unwrap() > 0);
    }
}

#[test]
fn a_fresh_copy_of_a_missing_file_is_an_error_naming_it() {
    let missing = folder("missing").join("libnothing.so");
    let err = Plugin::load_fresh(&missing).unwrap_err();
    assert!(matches!(err, Error::CopyFailed { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "cannot copy `{}` to load a fresh copy of it: No such file or directory",
            missing.display()
        )
    );
}

#[test]
fn a_damaged_state_file_is_an_error_not_a_crash() {
    let dir = folder("damaged");
    let path = dir.join("state.redb");
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    {
        let (_host, mut tally) = tally_in_store(&plugin, &path, "damaged");
        for i in 0..200 {
            tally.apply(batch_change(i)).unwrap();
        }
        tally.flush_state().unwrap();
    }
    let whole = std::fs::read(&path).unwrap();
    // Cut at a page inside the file (redb asserts on this one rather than report it).
    for cut in [4096, whole.len() / 2] {
        std::fs::write(&path, &whole[..cut]).unwrap();
        let err = StateStore::open(&path).unwrap_err();
        assert!(matches!(err, Error::State { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("state store `{}`", path.display())),
            "{err}"
        );
        assert!(
            err.to_string().contains(": the file is damaged (redb: "),
            "{err}"
        );
    }
}

/// A new store is made whole under a temporary name and only then appears at its path: a
/// process killed (or a disk that fills) while redb writes a new file left an empty or
/// half-written `state.redb`, which every later open refused as truncated or damaged (and a
/// second process opening the path meanwhile found it empty). A temporary file a killed
/// process left is removed; none is left by a store made.
#[test]
fn a_new_store_appears_whole_and_leaves_no_temporary_file() {
    let dir = folder("made_whole");
    let path = dir.join("state.redb");
    // What a process that no longer exists (pid past pid_max) was making.
    let stale = dir.join(".state.redb.4294967295-0.new");
    std::fs::write(&stale, b"half").unwrap();
    let store = StateStore::open(&path).unwrap();
    assert!(store.created());
    assert!(store.entries("any").unwrap().is_empty());
    drop(store);
    let names = || -> Vec<String> {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    assert_eq!(names(), ["state.redb"]);
    // Opened again: the same store, not made by this open; what a process killed after it
    // linked its store left (the temporary name, a second link to it) is removed too.
    std::fs::hard_link(&path, dir.join(".state.redb.4294967295-1.new")).unwrap();
    let again = StateStore::open(&path).unwrap();
    assert!(!again.created());
    assert_eq!(names(), ["state.redb"]);
    assert!(!StateStore::in_memory().created());
}

/// Two threads opening one new store at once: one makes it, the other opens what that one
/// made or is refused as the store being open already; never both made, and no temporary
/// file is left.
#[test]
fn a_new_store_opened_twice_at_once_is_made_once() {
    let dir = folder("made_once");
    let path = dir.join("state.redb");
    for _ in 0..20 {
        let _ = std::fs::remove_file(&path);
        let barrier = std::sync::Barrier::new(2);
        let opened: Vec<_> = std::thread::scope(|s| {
            let open = || {
                barrier.wait();
                StateStore::open(&path).map(|store| store.created())
            };
            let a = s.spawn(open);
            let b = s.spawn(open);
            [a.join().unwrap(), b.join().unwrap()].into_iter().collect()
        });
        // (The one that made it may then be refused, when the other opened it first.)
        let made = opened.iter().filter(|o| matches!(o, Ok(true))).count();
        assert!(made <= 1, "{opened:?}");
        assert!(opened.iter().any(Result::is_ok), "{opened:?}");
        for other in opened.iter().filter(|o| !matches!(o, Ok(true))) {
            // Opened after the first closed it, or refused while it was open.
            match other {
                Ok(created) => assert!(!created),
                Err(e) => assert!(e.to_string().contains("it is open already"), "{e}"),
            }
        }
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["state.redb"]);
    }
}
