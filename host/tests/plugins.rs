//! Real example plugins, built as cdylibs and loaded with `dlopen`: every slot on the happy
//! path, and a panic and an error in every slot.

mod common;

use common::{amounts, batch, insert, plugin_path, rows};
use oplink::arrow::array::{Array, Int64Array, StringArray, UInt64Array};
use oplink::{Change, Diff, Timestamp};
use oplink_host::{Error, Host, Plugin};
use serde_json::json;

/// The `sum` column (the second) of running_sum's output.
fn sums(rows: &oplink::Rows) -> Vec<i64> {
    let column = rows.batch().column(1);
    column
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .values()
        .to_vec()
}

#[test]
fn threshold_filters_through_the_boundary() {
    let plugin = Plugin::load(plugin_path("threshold")).unwrap();
    let info: Vec<_> = plugin
        .operators()
        .map(|o| (o.name().to_owned(), o.version().to_owned()))
        .collect();
    assert_eq!(info, [("threshold".to_owned(), "1.0.0".to_owned())]);
    let op = plugin.operator("threshold").unwrap();
    assert_eq!(
        op.description(),
        "Keeps the rows whose column is at least `min`"
    );
    assert!(op.implemented().names().is_empty());
    assert_eq!(plugin.build().abi, (2, 2));
    assert_eq!(plugin.build().profile, "debug");

    let host = Host::builder().build();
    let mut op = plugin
        .instantiate("threshold", json!({"column": "amount", "min": 10}), &host)
        .unwrap();
    let input = Change::new(
        3,
        Timestamp(77),
        vec![
            Diff::Insert {
                post: rows(&[5, 10, 50], &["a", "b", "c"], 100),
            },
            Diff::Remove {
                pre: rows(&[1, 20], &["d", "e"], 7),
            },
            Diff::Update {
                pre: rows(&[4, 30], &["f", "g"], 40),
                post: rows(&[11, 3], &["f", "g"], 40),
            },
        ],
    );
    let out = op.apply(input).unwrap();
    assert_eq!((out.version, out.changed_at), (3, Timestamp(77)));
    // The update's row 40 starts passing (4 to 11): an insert downstream, which never saw
    // it; row 41 stops (30 to 3): a remove of what downstream saw.
    let [
        Diff::Insert { post },
        Diff::Remove { pre },
        Diff::Remove { pre: stopped },
        Diff::Insert { post: started },
    ] = &out.diffs[..]
    else {
        panic!("unexpected diffs: {:?}", out.diffs);
    };
    assert_eq!(amounts(post), [10, 50]);
    assert_eq!(post.row_numbers().values(), &[101, 102]);
    assert_eq!(amounts(pre), [20]);
    assert_eq!(pre.row_numbers().values(), &[8]);
    assert_eq!(amounts(stopped), [30]);
    assert_eq!(stopped.row_numbers().values(), &[41]);
    assert_eq!(amounts(started), [11]);
    assert_eq!(started.row_numbers().values(), &[40]);
    let customers = started.batch().column_by_name("customer").unwrap();
    assert_eq!(
        customers
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0),
        "f"
    );

    // Same schema again: served from the caches on both sides.
    let out = op.apply(insert(4, &[9, 10])).unwrap();
    assert_eq!(out.row_count(), 1);

    // The defaults of the slots threshold leaves out.
    assert_eq!(op.tick(Timestamp(5)).unwrap(), None);
    op.flush_state().unwrap();
    assert_eq!(op.snapshot().unwrap(), Vec::<u8>::new());
    op.restore(&[]).unwrap();
    let err = op.pull(&[1]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("operator `threshold` failed in `pull`: it does not implement `pull`"),
        "{err}"
    );
    let err = op.restore(b"state").unwrap_err();
    assert!(
        err.to_string()
            .contains("does not implement `restore`, so it cannot accept a snapshot of 5 bytes"),
        "{err}"
    );
    // Errors (not panics) leave the instance usable.
    assert!(!op.is_poisoned());
    assert_eq!(op.apply(insert(5, &[1])).unwrap().row_count(), 0);
}

#[test]
fn operator_errors_name_operator_method_and_location() {
    let plugin = Plugin::load(plugin_path("threshold")).unwrap();
    let host = Host::default();
    let mut op = plugin
        .instantiate("threshold", json!({"column": "price", "min": 1}), &host)
        .unwrap();
    let err = op.apply(insert(1, &[1])).unwrap_err();
    let Error::Failed {
        operator,
        method,
        message,
        location,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (operator.as_str(), *method, message.as_str()),
        ("threshold", "apply", "input has no column `price`")
    );
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("threshold/src/lib.rs:")),
        "{location:?}"
    );
    assert!(
        err.to_string().starts_with(
            "operator `threshold` failed in `apply`: input has no column `price` (at "
        )
    );
    // Not poisoned: the next good call works.
    assert!(!op.is_poisoned());
}

#[test]
fn bad_configuration_is_an_error_naming_operator_and_field() {
    let plugin = Plugin::load(plugin_path("threshold")).unwrap();
    let host = Host::default();
    let err = plugin
        .instantiate("threshold", json!({"column": "amount"}), &host)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid configuration for operator `threshold`: missing field `min`"
    );
    let err = plugin
        .instantiate(
            "threshold",
            json!({"column": "amount", "min": "ten"}),
            &host,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration for operator `threshold` at `min`: invalid type: string \"ten\", expected i64"
    );
    // A list where an object goes, even one that serde would read as the fields in order:
    // refused, naming the fields.
    for list in [json!([1, 2]), json!(["amount", 2])] {
        let err = plugin.instantiate("threshold", list, &host).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `threshold`: it is a JSON list, but the operator takes an object that names its fields: `{\"column\": …, \"min\": …}`"
        );
    }
    let err = plugin
        .instantiate(
            "threshold",
            json!({"column": "amount", "min": 1, "max": 2}),
            &host,
        )
        .unwrap_err();
    assert!(err.to_string().contains("unknown field `max`"), "{err}");
    // A configuration that JSON cannot hold (a map with keys that are not strings).
    let keyed_by_pairs = std::collections::BTreeMap::from([((1, 2), 3)]);
    let err = plugin
        .instantiate("threshold", keyed_by_pairs, &host)
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "cannot serialise the configuration of operator `threshold` as JSON, which is how it reaches the plugin: key must be a string; give a value `serde_json::to_value` takes (a map's keys must be strings)"
    );
    let err = plugin.instantiate("thresh", json!({}), &host).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` has no operator `thresh`; it has: `threshold`",
            plugin.path().display()
        )
    );
}

#[test]
fn one_library_carries_several_operators() {
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut names: Vec<_> = plugin.operators().map(|o| o.name().to_owned()).collect();
    names.sort();
    assert_eq!(names, common::TOOLKIT_OPERATORS);
    let host = Host::default();
    let mut pass = plugin.instantiate("passthrough", (), &host).unwrap();
    let mut tag = plugin
        .instantiate("tag", json!({"column": "source", "value": "web"}), &host)
        .unwrap();
    assert_ne!(pass.id(), tag.id());
    let input = insert(1, &[1, 2]);
    assert_eq!(pass.apply(input.clone()).unwrap(), input);
    let out = tag.apply(input).unwrap();
    let Diff::Insert { post } = &out.diffs[0] else {
        panic!()
    };
    let source = post.batch().column_by_name("source").unwrap();
    assert_eq!(
        source
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(1),
        "web"
    );
    assert_eq!(post.batch().num_columns(), 3);
    // `sink` reads its input and answers with an empty change of the same version and time;
    // the host's copy of the input is untouched.
    let mut sink = plugin.instantiate("sink", (), &host).unwrap();
    let input = insert(7, &[1, 2]);
    let out = sink.apply(input.clone()).unwrap();
    assert_eq!(
        out,
        Change::new(input.version, input.changed_at, Vec::new())
    );
    assert_eq!(input, insert(7, &[1, 2]));
}

#[test]
fn stateful_operator_sums_pulls_snapshots_and_restores() {
    let plugin = Plugin::load(plugin_path("running-sum")).unwrap();
    let info = plugin.operator("running_sum").unwrap();
    assert_eq!(info.implemented().names(), ["pull", "snapshot", "restore"]);
    assert_eq!(info.description(), "Running sum of a value column per key.");
    let host = Host::default();
    let config = json!({"key": "customer", "value": "amount"});
    let mut op = plugin.instantiate("running_sum", &config, &host).unwrap();
    let first = Change::new(
        1,
        Timestamp(1),
        vec![Diff::Insert {
            post: rows(&[5, 7, 1], &["ann", "bob", "ann"], 0),
        }],
    );
    let out = op.apply(first).unwrap();
    let [Diff::Insert { post }] = &out.diffs[..] else {
        panic!("{out:?}")
    };
    assert_eq!(sums(post), &[6, 7]);

    let second = Change::new(
        2,
        Timestamp(2),
        vec![Diff::Remove {
            pre: rows(&[5], &["ann"], 0),
        }],
    );
    let out = op.apply(second).unwrap();
    let [Diff::Update { pre, post }] = &out.diffs[..] else {
        panic!("{out:?}")
    };
    assert_eq!(sums(pre), &[6]);
    assert_eq!(sums(post), &[1]);
    assert_eq!(post.row_numbers().values(), &[0]);

    let pulled = op.pull(&[1, 0]).unwrap();
    let keys = pulled
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!((keys.value(0), keys.value(1)), ("bob", "ann"));
    let err = op.pull(&[9]).unwrap_err();
    assert!(err.to_string().contains("no key has row number 9"), "{err}");

    let snapshot = op.snapshot().unwrap();
    let mut fresh = plugin.instantiate("running_sum", &config, &host).unwrap();
    fresh.restore(&snapshot).unwrap();
    assert_eq!(fresh.pull(&[0, 1]).unwrap(), op.pull(&[0, 1]).unwrap());
    let err = fresh.restore(&snapshot[..snapshot.len() - 3]).unwrap_err();
    assert!(err.to_string().contains("snapshot is truncated"), "{err}");
}

const METHODS: [&str; 7] = [
    "apply",
    "pull",
    "tick",
    "flush_state",
    "snapshot",
    "restore",
    "new",
];

fn call(op: &mut oplink_host::Instance, method: &str) -> oplink_host::Result<()> {
    match method {
        "apply" => op.apply(insert(1, &[1])).map(drop),
        "pull" => op.pull(&[3]).map(drop),
        "tick" => op.tick(Timestamp(2)).map(drop),
        "flush_state" => op.flush_state(),
        "snapshot" => op.snapshot().map(drop),
        "restore" => op.restore(b"x"),
        other => unreachable!("{other}"),
    }
}

#[test]
fn a_panic_in_any_slot_is_an_error_and_poisons_only_that_instance() {
    let plugin = Plugin::load(plugin_path("faulty")).unwrap();
    let host = Host::default();
    let mut healthy = plugin
        .instantiate("faulty", json!({"fail_in": "none", "how": "panic"}), &host)
        .unwrap();
    for method in METHODS {
        let config = json!({"fail_in": method, "how": "panic"});
        let err = match plugin.instantiate("faulty", &config, &host) {
            Err(err) => err,
            Ok(mut op) => {
                let err = call(&mut op, method).unwrap_err();
                assert!(op.is_poisoned(), "{method}");
                let again = call(&mut op, "apply").unwrap_err();
                assert!(matches!(again, Error::Poisoned { .. }), "{again:?}");
                assert_eq!(
                    again.to_string(),
                    format!(
                        "operator `faulty` is poisoned by a panic in `{method}` and refuses `apply`; drop it and create a new one (a `LiveInstance` has `recover()` for that)"
                    )
                );
                err
            }
        };
        let method_name = if method == "new" { "new" } else { method };
        let Error::Panicked {
            operator,
            method: m,
            message,
            location,
        } = &err
        else {
            panic!("{method}: {err:?}")
        };
        assert_eq!((operator.as_str(), *m), ("faulty", method_name));
        assert_eq!(message, &format!("faulty panics in {method}"));
        assert!(
            location
                .as_deref()
                .is_some_and(|l| l.contains("faulty/src/lib.rs:")),
            "{location:?}"
        );
        // The host and the other instance go on.
        for method in [
            "apply",
            "pull",
            "tick",
            "flush_state",
            "snapshot",
            "restore",
        ] {
            call(&mut healthy, method).unwrap();
        }
    }
}

#[test]
fn an_error_in_any_slot_is_an_error_and_does_not_poison() {
    let plugin = Plugin::load(plugin_path("faulty")).unwrap();
    let host = Host::default();
    for method in METHODS {
        let config = json!({"fail_in": method, "how": "error"});
        let err = match plugin.instantiate("faulty", &config, &host) {
            Err(err) => err,
            Ok(mut op) => {
                let err = call(&mut op, method).unwrap_err();
                assert!(!op.is_poisoned());
                // Other methods still work.
                let other = if method == "apply" {
                    "flush_state"
                } else {
                    "apply"
                };
                call(&mut op, other).unwrap();
                err
            }
        };
        assert_eq!(
            err.to_string().split(" (at ").next().unwrap(),
            format!("operator `faulty` failed in `{method}`: faulty fails in {method}")
        );
    }
}

#[test]
fn a_pull_that_answers_other_rows_than_asked_is_an_error() {
    let plugin = Plugin::load(plugin_path("faulty")).unwrap();
    let mut op = plugin
        .instantiate(
            "faulty",
            json!({"fail_in": "pull", "how": "short"}),
            &Host::default(),
        )
        .unwrap();
    let err = op.pull(&[4, 5, 6]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "operator `faulty` in `pull`: it returned 2 rows for 3 row numbers (a fault of the operator: `pull` returns one row per number, in their order)"
    );
    assert!(!op.is_poisoned());
}

#[test]
fn an_input_the_plugin_refuses_is_a_data_error_that_says_it_is_the_inputs_fault() {
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut op = plugin
        .instantiate("passthrough", json!(null), &Host::default())
        .unwrap();
    // An update whose two sides carry other row numbers: the plugin cannot read it.
    let update = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Update {
            pre: rows(&[5], &["a"], 1),
            post: rows(&[6], &["a"], 2),
        }],
    );
    let err = op.apply(update).unwrap_err();
    assert!(matches!(err, Error::Data { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "operator `passthrough` in `apply`: it refused the input the host sent (a fault of the input, not of the operator): cannot read the input change: diff 0 of the change: an update's pre and post rows must carry the same row numbers in the same order, but its row 0 is number 1 in pre and 2 in post"
    );
    assert!(!op.is_poisoned());
    assert_eq!(op.apply(insert(2, &[7])).unwrap().diffs.len(), 1);
}

#[test]
fn a_panic_while_dropping_is_contained() {
    let plugin = Plugin::load(plugin_path("faulty")).unwrap();
    let host = Host::default();
    let mut op = plugin
        .instantiate("faulty", json!({"fail_in": "drop", "how": "panic"}), &host)
        .unwrap();
    op.apply(insert(1, &[1])).unwrap();
    // Logged as a warning of `oplink_host`, not propagated.
    let recorder = common::Recorder::default();
    let events = recorder.0.clone();
    tracing::subscriber::with_default(recorder, || drop(op));
    let events = events.lock().unwrap();
    let warning = events
        .iter()
        .find(|e| e.level == tracing::Level::WARN)
        .expect("a warning");
    assert_eq!(warning.target, "oplink_host::instance");
    assert_eq!(
        warning.field("message"),
        Some("destroying an operator instance failed")
    );
    assert_eq!(warning.field("operator"), Some("faulty"));
    let error = warning.field("error").unwrap();
    assert!(
        error.starts_with(
            "operator `faulty` panicked in `drop`: faulty panics in drop (at examples/faulty/src/lib.rs:"
        ),
        "{error}"
    );
    let mut again = plugin
        .instantiate("faulty", json!({"fail_in": "none", "how": "error"}), &host)
        .unwrap();
    again.flush_state().unwrap();
}

#[test]
fn a_panic_while_the_plugin_frees_its_output_is_contained() {
    // The plugin frees what it returned when the host releases it, in a `release` the host
    // calls, where a panic cannot unwind: in a child, so that an abort fails this test
    // rather than ending the run.
    let name = "a_panic_while_the_plugin_frees_its_output_is_contained";
    let stderr = common::in_child(name, || {
        let plugin = Plugin::load(plugin_path("faulty")).unwrap();
        let mut op = plugin
            .instantiate(
                "faulty",
                json!({"fail_in": "apply", "how": "panic_on_free"}),
                &Host::default(),
            )
            .unwrap();
        // An update: both sides get a column that panics when freed, two panics in one
        // release (the second came while the first unwound, and aborted, when the block's
        // values were dropped whole).
        let update = Change::new(
            1,
            Timestamp(0),
            vec![Diff::Update {
                pre: rows(&[1, 2], &["a", "b"], 0),
                post: rows(&[3, 4], &["a", "b"], 0),
            }],
        );
        let out = op.apply(update).unwrap();
        let Diff::Update { pre, post } = &out.diffs[0] else {
            panic!("{out:?}")
        };
        assert_eq!(pre.batch().schema().field(2).name(), "boom");
        assert_eq!(post.batch().schema().field(2).name(), "boom");
        drop(out); // the plugin's buffers panic as they are freed: printed, not fatal
        // Freed while the plugin lays out the next output (the host's hold on the
        // previous one's block goes then), and the instance is not poisoned.
        let out = op.apply(insert(2, &[3])).unwrap();
        assert!(!op.is_poisoned());
        drop((out, op));
    });
    if let Some(stderr) = stderr {
        // Each panic printed by the plugin's panic hook, as any panic outside a call.
        assert_eq!(
            stderr
                .matches("faulty panics as its output is freed")
                .count(),
            3,
            "{stderr}"
        );
    }
}

#[test]
fn a_plugin_that_makes_a_context_of_its_own_is_told_it_is_for_tests() {
    let plugin = Plugin::load(plugin_path("faulty")).unwrap();
    let mut op = plugin
        .instantiate(
            "faulty",
            json!({"fail_in": "apply", "how": "own_context"}),
            &Host::default(),
        )
        .unwrap();
    let err = op.apply(insert(1, &[1])).unwrap_err();
    let Error::Panicked {
        message, location, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        message,
        "`Context::new(\"faulty\")` is for unit tests: a plugin's context is the host's, which a method takes as `ctx: &mut Context` (one of its own would keep its state nowhere); `new` gets none, so do what needs one in the first call that has a `ctx`"
    );
    // Located at the plugin's call, not inside oplink.
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("faulty/src/lib.rs:")),
        "{location:?}"
    );
}

#[test]
fn tick_may_or_may_not_emit() {
    let plugin = Plugin::load(plugin_path("faulty")).unwrap();
    let mut op = plugin
        .instantiate(
            "faulty",
            json!({"fail_in": "none", "how": "error"}),
            &Host::default(),
        )
        .unwrap();
    assert_eq!(op.tick(Timestamp(3)).unwrap(), None);
    assert_eq!(
        op.tick(Timestamp(4)).unwrap(),
        Some(Change::new(1, Timestamp(4), vec![]))
    );
    let pulled = op.pull(&[4, 2]).unwrap();
    assert_eq!(
        pulled
            .column(0)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap()
            .values(),
        &[4, 2]
    );
    assert_eq!(op.snapshot().unwrap(), b"initial");
    op.restore(b"next").unwrap();
    assert_eq!(op.snapshot().unwrap(), b"next");
}

#[test]
fn instances_keep_their_library_and_move_between_threads() {
    let mut op = {
        let plugin = Plugin::load(plugin_path("threshold")).unwrap();
        plugin
            .instantiate(
                "threshold",
                json!({"column": "amount", "min": 0}),
                &Host::default(),
            )
            .unwrap()
    }; // the Plugin handle is gone; the instance still owns its library
    let out = std::thread::spawn(move || op.apply(insert(1, &[1, 2])).unwrap())
        .join()
        .unwrap();
    assert_eq!(out.row_count(), 2);
    assert_eq!(batch(&[1], &["a"]).num_rows(), 1);
}

/// `faulty` passes every change through unchanged when it is not failing.
fn passthrough() -> oplink_host::Instance {
    Plugin::load(plugin_path("faulty"))
        .unwrap()
        .instantiate(
            "faulty",
            json!({"fail_in": "nothing", "how": "error"}),
            &Host::default(),
        )
        .unwrap()
}

#[test]
fn a_batch_without_columns_crosses_both_ways_with_its_row_count() {
    use oplink::arrow::array::{RecordBatch, RecordBatchOptions};
    use oplink::arrow::schema::Schema;
    let empty = RecordBatch::try_new_with_options(
        std::sync::Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(3)),
    )
    .unwrap();
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: oplink::Rows::new(vec![7, 8, 9], empty).unwrap(),
        }],
    );
    let mut op = passthrough();
    let out = op.apply(change.clone()).unwrap();
    assert_eq!(out, change);
    assert_eq!(out.row_count(), 3);
}

#[test]
fn a_new_schema_in_every_call_crosses_in_bounded_caches() {
    let mut op = passthrough();
    // Far more schemas than either side keeps: each one is sent, used, and later evicted.
    for n in 0..300u64 {
        let batch = oplink::arrow::array::RecordBatch::try_from_iter([(
            format!("column_{n}"),
            std::sync::Arc::new(Int64Array::from(vec![n as i64, -(n as i64)])) as _,
        )])
        .unwrap();
        let change = Change::new(
            n,
            Timestamp(0),
            vec![Diff::Insert {
                post: oplink::Rows::new(vec![n, n + 1], batch).unwrap(),
            }],
        );
        assert_eq!(op.apply(change.clone()).unwrap(), change, "call {n}");
    }
    // An early schema again: it was evicted long ago, so it crosses again, correctly.
    let again = insert(1000, &[1, 2, 3]);
    assert_eq!(op.apply(again.clone()).unwrap(), again);
}

#[test]
fn a_bad_configuration_has_no_location_inside_oplink() {
    let plugin = Plugin::load(plugin_path("threshold")).unwrap();
    let err = plugin
        .instantiate(
            "threshold",
            json!({"column": 3, "min": 1}),
            &Host::default(),
        )
        .unwrap_err();
    // The configuration is the host's data: the error names the field, and no source line
    // (certainly none inside oplink).
    assert_eq!(
        err.to_string(),
        "invalid configuration for operator `threshold` at `column`: invalid type: integer `3`, expected a string"
    );
}

/// A change of `n` rows with a string column, each call's values different.
fn numbered_change(version: u64, n: usize) -> Change {
    let amounts: Vec<i64> = (0..n as i64).map(|i| i * 10 + version as i64).collect();
    let names: Vec<String> = (0..n).map(|i| format!("v{version} r{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Change::new(
        version,
        Timestamp(version as i64),
        vec![Diff::Insert {
            post: rows(&amounts, &names, version * 100),
        }],
    )
}

#[test]
fn batches_kept_by_the_plugin_across_calls_stay_valid() {
    let mut op = Plugin::load(plugin_path("toolkit"))
        .unwrap()
        .instantiate("delay", json!(null), &Host::default())
        .unwrap();
    assert_eq!(op.apply(numbered_change(1, 3)).unwrap(), Change::default());
    for version in 2..20 {
        // The plugin returns what it kept from the call before, which the host exported then.
        let out = op.apply(numbered_change(version, 3)).unwrap();
        assert_eq!(out, numbered_change(version - 1, 3), "call {version}");
    }
}

/// A change with no diffs takes a shorter way on both sides; what comes back may still have
/// diffs (here the change `delay` kept), and an empty answer keeps its version and time.
#[test]
fn an_empty_change_crosses_both_ways_and_may_bring_back_rows() {
    let mut op = Plugin::load(plugin_path("toolkit"))
        .unwrap()
        .instantiate("delay", json!(null), &Host::default())
        .unwrap();
    let empty = Change::new(5, Timestamp(42), vec![]);
    assert_eq!(op.apply(empty.clone()).unwrap(), Change::default());
    assert_eq!(op.apply(numbered_change(6, 3)).unwrap(), empty);
    assert_eq!(
        op.apply(Change::new(7, Timestamp(43), vec![])).unwrap(),
        numbered_change(6, 3)
    );
    assert_eq!(
        op.apply(numbered_change(8, 2)).unwrap(),
        Change::new(7, Timestamp(43), vec![])
    );
}

#[test]
fn batches_the_host_keeps_stay_valid_after_the_instance_and_plugin_are_dropped() {
    let kept = {
        let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
        let mut op = plugin
            .instantiate("passthrough", json!(null), &Host::default())
            .unwrap();
        (1..5)
            .map(|version| op.apply(numbered_change(version, 4)).unwrap())
            .collect::<Vec<_>>()
        // The instance, its caches and the plugin handle drop here.
    };
    for (i, change) in kept.iter().enumerate() {
        assert_eq!(change, &numbered_change(i as u64 + 1, 4));
    }
}

#[test]
fn a_view_operator_reads_in_place_and_forwards_every_diff_kind_unchanged() {
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut op = plugin
        .instantiate("passthrough_view", (), &Host::default())
        .unwrap();
    let change = Change::new(
        4,
        Timestamp(8),
        vec![
            Diff::Insert {
                post: rows(&[1, 2, 3], &["a", "b", "ä"], 0),
            },
            Diff::Update {
                pre: rows(&[4], &["d"], 3),
                post: rows(&[5], &[""], 3),
            },
            Diff::Remove {
                pre: rows(&[6, 7], &["f", "g"], 9),
            },
        ],
    );
    let original = match &change.diffs[0] {
        Diff::Insert { post } => post.batch().column(0).to_data().buffers()[0].as_ptr(),
        _ => unreachable!(),
    };
    // Twice: the second call reuses the first one's schemas and its diff vector.
    for _ in 0..2 {
        let out = op.apply(change.clone()).unwrap();
        assert_eq!(out, change);
        let Diff::Insert { post } = &out.diffs[0] else {
            panic!("expected an insert")
        };
        // What came back is the host's own buffer: nothing was copied either way.
        assert_eq!(
            post.batch().column(0).to_data().buffers()[0].as_ptr(),
            original
        );
    }
    let empty = Change::new(9, Timestamp(1), vec![]);
    assert_eq!(op.apply(empty.clone()).unwrap(), empty);
}

/// Zero copy both ways for an operator of `RecordBatch`es too: what `passthrough` returns,
/// and what `threshold` returns when every row passes, is made of the host's own buffers
/// (every one past the 256 bytes a reader copies), shared into the plugin and laid out
/// back at the same addresses, so that the host takes each column back as its own (a copy
/// made in the plugin would be read as laid out instead, and fail here).
#[test]
fn a_record_batch_operator_hands_back_the_hosts_own_large_buffers() {
    fn buffers(change: &Change) -> Vec<*const u8> {
        let Diff::Insert { post } = &change.diffs[0] else {
            panic!("expected an insert")
        };
        let mut all = vec![post.row_numbers().values().inner().as_ptr()];
        for column in post.batch().columns() {
            all.extend(column.to_data().buffers().iter().map(|b| b.as_ptr()));
        }
        all
    }
    let host = Host::default();
    let amounts: Vec<i64> = (0..1_000).collect();
    // 8,000 bytes of amounts and of row numbers, 4,004 of offsets, 1,000 of text.
    let change = insert(3, &amounts);
    let sent = buffers(&change);
    assert_eq!(sent.len(), 4);
    for (library, operator, config) in [
        ("toolkit", "passthrough", json!(null)),
        (
            "threshold",
            "threshold",
            json!({"column": "amount", "min": 0}),
        ),
    ] {
        let mut op = Plugin::load(plugin_path(library))
            .unwrap()
            .instantiate(operator, config, &host)
            .unwrap();
        // Twice: the second call reuses the first one's schemas and block.
        for _ in 0..2 {
            let out = op.apply(change.clone()).unwrap();
            assert_eq!(out, change, "{operator}");
            assert_eq!(buffers(&out), sent, "{operator}: a buffer was copied");
        }
    }
}

/// Columns an operator of `RecordBatch`es returns unchanged come back as the host's own
/// arrays (the very `Arc`s it sent), whether their buffers were shared both ways or copied
/// (256 bytes or less); a column the operator made, or changed, is read as usual.
#[test]
fn columns_returned_unchanged_come_back_as_the_hosts_own_arrays() {
    use oplink::Rows;
    use oplink::arrow::array::{
        ArrayRef, BooleanArray, Float64Array, RecordBatch, TimestampMicrosecondArray,
    };
    use std::sync::Arc;
    fn rows_of(change: &Change) -> &Rows {
        let Diff::Insert { post } = &change.diffs[0] else {
            panic!("expected an insert")
        };
        post
    }
    /// A batch of `n` rows of every type compared, with nulls, one of them sliced (at a
    /// whole byte of its bitmap: a bitmap at any other offset is realigned on the way out,
    /// and the column is then read as usual).
    fn mixed(n: usize) -> Change {
        let every = |i: usize| !i.is_multiple_of(3);
        let texts: StringArray = (0..n + 8)
            .map(|i| every(i).then(|| format!("v{i}")))
            .collect();
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "amount",
                Arc::new(Int64Array::from_iter((0..n as i64).map(Some))),
            ),
            (
                "price",
                Arc::new(Float64Array::from_iter(
                    (0..n).map(|i| every(i).then_some(i as f64)),
                )),
            ),
            ("text", Arc::new(texts.slice(8, n))),
            (
                "flag",
                Arc::new(BooleanArray::from_iter(
                    (0..n).map(|i| every(i).then_some(i % 2 == 0)),
                )),
            ),
            (
                "at",
                Arc::new(
                    TimestampMicrosecondArray::from_iter((0..n as i64).map(Some))
                        .with_timezone("UTC"),
                ),
            ),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let post = Rows::new((0..n as u64).collect::<Vec<_>>(), batch).unwrap();
        Change::new(1, Timestamp(2), vec![Diff::Insert { post }])
    }
    let host = Host::default();
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut op = plugin
        .instantiate("passthrough", json!(null), &host)
        .unwrap();
    // 1 row: every buffer copied on the way in; 1,000 and 5,000: the large ones shared, the
    // bitmaps copied (125 bytes) or shared (625).
    for n in [0, 1, 1_000, 5_000] {
        let change = mixed(n);
        for _ in 0..2 {
            let out = op.apply(change.clone()).unwrap();
            assert_eq!(out, change, "{n} rows");
            let (sent, back) = (rows_of(&change), rows_of(&out));
            for (i, (a, b)) in sent
                .batch()
                .columns()
                .iter()
                .zip(back.batch().columns())
                .enumerate()
            {
                assert!(Arc::ptr_eq(a, b), "{n} rows: column {i} was rebuilt");
            }
            assert!(
                sent.row_numbers()
                    .values()
                    .inner()
                    .ptr_eq(back.row_numbers().values().inner()),
                "{n} rows: the row numbers were rebuilt"
            );
        }
    }
    // `tag` appends a column: the host's own come back as they were, the new one is read.
    let mut op = plugin
        .instantiate("tag", json!({"column": "source", "value": "here"}), &host)
        .unwrap();
    for n in [1, 1_000] {
        let change = mixed(n);
        let out = op.apply(change.clone()).unwrap();
        let (sent, back) = (rows_of(&change), rows_of(&out));
        assert_eq!(back.batch().num_columns(), 6);
        for (a, b) in sent.batch().columns().iter().zip(back.batch().columns()) {
            assert!(
                Arc::ptr_eq(a, b),
                "{n} rows: `tag` kept a column that came back rebuilt"
            );
        }
        let source = back
            .batch()
            .column(5)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(source.iter().all(|v| v == Some("here")));
    }
    // `scale_batch` returns the amounts multiplied, as many rows, in a buffer of its own:
    // compared with the sent column (at 1 row byte for byte) and read as laid out, over
    // the plugin's buffer past 256 bytes.
    let mut op = Plugin::load(plugin_path("scale"))
        .unwrap()
        .instantiate(
            "scale_batch",
            json!({"column": "amount", "factor": 3}),
            &host,
        )
        .unwrap();
    for n in [1, 2, 1_000] {
        let change = mixed(n);
        let out = op.apply(change.clone()).unwrap();
        let (sent, back) = (rows_of(&change), rows_of(&out));
        // One row: 0 × 3 is 0, the same 8 bytes, so the sent column itself comes back.
        assert_eq!(
            Arc::ptr_eq(sent.batch().column(0), back.batch().column(0)),
            n == 1,
            "{n} rows"
        );
        let amounts = back
            .batch()
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(
            amounts.values().to_vec(),
            (0..n as i64).map(|v| v * 3).collect::<Vec<_>>()
        );
    }
    // `threshold` returns new arrays for the rows that pass: none of them is the host's.
    let mut op = Plugin::load(plugin_path("threshold"))
        .unwrap()
        .instantiate("threshold", json!({"column": "amount", "min": 500}), &host)
        .unwrap();
    let change = mixed(1_000);
    let out = op.apply(change.clone()).unwrap();
    let (sent, back) = (rows_of(&change), rows_of(&out));
    assert_eq!(back.len(), 500);
    for (a, b) in sent.batch().columns().iter().zip(back.batch().columns()) {
        assert!(!Arc::ptr_eq(a, b));
    }
}

#[test]
fn a_view_operator_is_also_an_ordinary_method_in_process() {
    use oplink::view::ChangeView;
    let mut op = toolkit::PassthroughView::new().unwrap();
    let change = insert(2, &[10, 20]);
    let view = ChangeView::from_change(change.clone()).unwrap();
    assert_eq!(op.apply(view).unwrap().into_change().unwrap(), change);
}

#[test]
fn a_view_operator_forwards_columns_arrow_rs_lays_out_and_the_host_takes_its_change_back() {
    use oplink::Rows;
    use oplink::arrow::array::{ArrayRef, FixedSizeListArray, Int32Array, RecordBatch};
    use oplink::arrow::schema::{DataType, Field};
    use std::sync::Arc;
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut op = plugin
        .instantiate("passthrough_view", (), &Host::default())
        .unwrap();
    // A fixed-size list: a type arrow-rs lays out and imports, not oplink.
    let pairs = FixedSizeListArray::new(
        Arc::new(Field::new("item", DataType::Int32, true)),
        2,
        Arc::new(Int32Array::from(vec![1, 2, 3, 4])),
        None,
    );
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ("pair", Arc::new(pairs) as ArrayRef),
    ])
    .unwrap();
    let change = Change::new(
        1,
        Timestamp(2),
        vec![Diff::Insert {
            post: Rows::new(vec![0u64, 1], batch).unwrap(),
        }],
    );
    let schema = |change: &Change| match &change.diffs[0] {
        Diff::Insert { post } => post.batch().schema(),
        _ => unreachable!("an insert"),
    };
    for _ in 0..3 {
        let out = op.apply(change.clone()).unwrap();
        assert_eq!(out, change);
        // The very change sent, taken back whole: its own schema, not one read back.
        assert!(Arc::ptr_eq(&schema(&out), &schema(&change)));
    }
    let plain = insert(2, &[10, 20]);
    assert_eq!(op.apply(plain.clone()).unwrap(), plain);
    assert_eq!(op.apply(change.clone()).unwrap(), change);
}

#[test]
fn a_view_operator_reads_view_columns_in_place_and_a_malformed_view_is_its_error() {
    use oplink::arrow::array::{ArrayRef, BinaryViewArray, RecordBatch, StringViewArray};
    use oplink::arrow::buffer::{Buffer, ScalarBuffer};
    use std::sync::Arc;
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut op = plugin
        .instantiate("passthrough_view", (), &Host::default())
        .unwrap();
    let change = |names: StringViewArray| {
        let blobs = BinaryViewArray::from(vec![Some(&[1u8; 20][..]); names.len()]);
        let batch = RecordBatch::try_from_iter([
            ("name", Arc::new(names) as ArrayRef),
            ("blob", Arc::new(blobs) as ArrayRef),
        ])
        .unwrap();
        let rows = (0..batch.num_rows() as u64).collect::<Vec<_>>();
        Change::new(
            1,
            Timestamp(0),
            vec![Diff::Insert {
                post: oplink::Rows::new(rows, batch).unwrap(),
            }],
        )
    };
    // `passthrough_view` reads the first string and the first blob of each column.
    let good = change(StringViewArray::from(vec![
        Some("a name longer than twelve bytes"),
        None,
        Some("short"),
    ]));
    assert_eq!(op.apply(good.clone()).unwrap(), good);
    // A view naming a data buffer the column does not have: an error naming the column
    // and the string, not a read out of bounds.
    let mut view = [0u8; 16];
    view[0..4].copy_from_slice(&20i32.to_ne_bytes());
    view[8..12].copy_from_slice(&3i32.to_ne_bytes());
    // SAFETY: deliberately unchecked, to send a malformed view; its buffers are valid.
    let names = unsafe {
        StringViewArray::new_unchecked(
            ScalarBuffer::from(vec![u128::from_ne_bytes(view)]),
            vec![Buffer::from(vec![b'x'; 20])].into(),
            None,
        )
    };
    let err = op.apply(change(names)).unwrap_err();
    let Error::Panicked { message, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        message,
        "column `name`: the view of string 0 names data buffer 3, but the column has 1 data buffer"
    );
}

#[test]
fn a_view_operator_reads_dictionary_columns_and_a_key_past_the_values_is_its_error() {
    use oplink::arrow::array::types::{Int8Type, UInt16Type};
    use oplink::arrow::array::{ArrayRef, DictionaryArray, RecordBatch, StringViewArray};
    use std::sync::Arc;
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut op = plugin
        .instantiate("passthrough_view", (), &Host::default())
        .unwrap();
    let change = |tags: ArrayRef| {
        let rows = (0..tags.len() as u64).collect::<Vec<_>>();
        let batch = RecordBatch::try_from_iter([("tag", tags)]).unwrap();
        Change::new(
            1,
            Timestamp(0),
            vec![Diff::Insert {
                post: oplink::Rows::new(rows, batch).unwrap(),
            }],
        )
    };
    // `passthrough_view` reads the first row's key, checked against the dictionary's values.
    let words = DictionaryArray::<UInt16Type>::try_new(
        vec![1u16, 0, 1].into(),
        Arc::new(StringViewArray::from(vec![
            "red",
            "a green longer than twelve",
        ])),
    )
    .unwrap();
    let good = change(Arc::new(words));
    assert_eq!(op.apply(good.clone()).unwrap(), good);
    // SAFETY: deliberately unchecked, to send a key past the dictionary's two values.
    let bad = unsafe {
        DictionaryArray::<Int8Type>::new_unchecked(
            vec![7i8].into(),
            Arc::new(StringArray::from(vec!["a", "b"])),
        )
    };
    let err = op.apply(change(Arc::new(bad))).unwrap_err();
    assert!(
        err.to_string()
            .contains("column `tag`: key 0 is 7, not an index into its dictionary's 2 values"),
        "{err}"
    );
}

#[test]
fn a_panic_inside_oplinks_code_is_reported_without_a_location_inside_oplink() {
    use oplink::arrow::array::{ArrayRef, RecordBatch};
    use oplink::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
    // A string column whose first string is not UTF-8: `passthrough_view` reads it with
    // `StringsView::iter`, which panics on a malformed string, inside oplink's view.
    let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0i32, 2]));
    // SAFETY: offsets and values of matching lengths; the bytes are not UTF-8 on purpose,
    // which the receiving side must catch.
    let names =
        unsafe { StringArray::new_unchecked(offsets, Buffer::from(vec![0xffu8, 0xfe]), None) };
    let batch =
        RecordBatch::try_from_iter([("name", std::sync::Arc::new(names) as ArrayRef)]).unwrap();
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: oplink::Rows::new(vec![0u64], batch).unwrap(),
        }],
    );
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    let mut op = plugin
        .instantiate("passthrough_view", json!(null), &Host::default())
        .unwrap();
    let err = op.apply(change).unwrap_err();
    let Error::Panicked {
        message, location, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(
        message.starts_with("column `name`: string 0 is not UTF-8"),
        "{message}"
    );
    assert_eq!(location, &None, "{err}");
}

/// A column nested `depth` lists deep, of one row.
fn nested(depth: usize) -> oplink::Rows {
    use oplink::arrow::array::{ArrayRef, Int32Array, ListArray, RecordBatch};
    use oplink::arrow::buffer::OffsetBuffer;
    use oplink::arrow::schema::Field;
    let mut column: ArrayRef = std::sync::Arc::new(Int32Array::from(vec![1]));
    for _ in 1..depth {
        let item = std::sync::Arc::new(Field::new_list_field(column.data_type().clone(), true));
        column = std::sync::Arc::new(ListArray::new(
            item,
            OffsetBuffer::from_lengths([1]),
            column,
            None,
        ));
    }
    let batch = RecordBatch::try_from_iter([("deep", column)]).unwrap();
    oplink::Rows::new(vec![0], batch).unwrap()
}

/// Nesting as deep as a crossing takes (16 levels) crosses, both ways, on a 2 MiB thread
/// in a debug build; deeper is refused by the sender before anything is laid out, never a
/// stack overflow, however deep.
#[test]
fn deeply_nested_columns_cross_or_are_refused_never_overflow_the_stack() {
    let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let host = Host::default();
            for operator in ["passthrough", "passthrough_view", "delay"] {
                let mut op = plugin
                    .instantiate(operator, serde_json::Value::Null, &host)
                    .unwrap();
                let deepest = nested(16);
                let change = Change::new(
                    1,
                    Timestamp(0),
                    vec![Diff::Insert {
                        post: deepest.clone(),
                    }],
                );
                op.apply(change.clone()).unwrap();
                if operator == "delay" {
                    // What it kept crosses back on the next call.
                    let back = op.apply(Change::new(2, Timestamp(0), Vec::new())).unwrap();
                    assert_eq!(back.diffs.len(), 1, "{operator}");
                }
                for depth in [17, 1000] {
                    let change = Change::new(
                        3,
                        Timestamp(0),
                        vec![Diff::Insert {
                            post: nested(depth),
                        }],
                    );
                    let err = op.apply(change).unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        format!(
                            "operator `{operator}` in `apply`: its input cannot be laid out: column `deep` nests deeper than 16 levels, more than a crossing takes (the column is level 1, and what a list, struct, map, union, dictionary or run-end array holds is one level deeper: flatten its type to 16 levels or fewer)"
                        ),
                        "{depth}"
                    );
                    assert!(!op.is_poisoned(), "{operator}");
                }
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

/// The batch generator of the exchange's property tests (every Arrow type arrow-rs
/// supports, alone and nested, with nulls, slices and metadata).
#[allow(dead_code)]
#[path = "../../sdk/src/exchange/generate.rs"]
mod generate;

/// A change of one to three diffs of every kind, each side a generated batch of zero to
/// five columns of random kinds (nested ones among them) and zero to twenty rows, sliced
/// from a longer one at a random row, with row numbers sliced alike; one diff in eight
/// has sides of a thousand columns.
fn generated_change(g: &mut generate::Gen, version: u64) -> Change {
    use oplink::Rows;
    let diffs = (0..1 + g.below(3))
        .map(|_| {
            let kinds: Vec<usize> = if g.below(8) == 0 {
                (0..1000)
                    .map(|i| (i + g.below(7)) % generate::KINDS)
                    .collect()
            } else {
                (0..g.below(6)).map(|_| g.below(generate::KINDS)).collect()
            };
            let (len, skip) = (g.below(21), g.below(4));
            let numbers = UInt64Array::from_iter_values(100..(100 + skip + len) as u64);
            let numbers = numbers.slice(skip, len);
            let side =
                |g: &mut generate::Gen| generate::batch(g, &kinds, skip + len).slice(skip, len);
            match g.below(3) {
                0 => Diff::Insert {
                    post: Rows::new(numbers, side(g)).unwrap(),
                },
                1 => Diff::Update {
                    pre: Rows::new(numbers.clone(), side(g)).unwrap(),
                    post: Rows::new(numbers, side(g)).unwrap(),
                },
                _ => Diff::Remove {
                    pre: Rows::new(numbers, side(g)).unwrap(),
                },
            }
        })
        .collect();
    Change::new(version, Timestamp(version as i64), diffs)
}

/// Fails unless every column of every side of `change` passes arrow-rs's full validation.
fn fully_valid(change: &Change, what: &str) {
    for diff in &change.diffs {
        let sides = match diff {
            Diff::Insert { post } => [None, Some(post)],
            Diff::Update { pre, post } => [Some(pre), Some(post)],
            Diff::Remove { pre } => [Some(pre), None],
        };
        for rows in sides.into_iter().flatten() {
            for (field, column) in rows
                .batch()
                .schema()
                .fields()
                .iter()
                .zip(rows.batch().columns())
            {
                if let Err(e) = column.to_data().validate_full() {
                    panic!("{what}: column `{}` is not valid: {e}", field.name());
                }
            }
        }
    }
}

/// Generated changes of every Arrow type, nested ones with nulls at every level and
/// children at non-zero offsets, zero rows, zero columns, a thousand columns, metadata and
/// a new schema in nearly every call, cross a loaded plugin and come back exactly: through
/// an operator that reads every column as arrow-rs arrays (`passthrough`), one that reads
/// them in place and forwards its input (`passthrough_view`), and one that keeps each
/// change until the next call (`delay`); what the host keeps stays valid after the
/// instances and the plugin are dropped.
#[test]
fn generated_changes_of_every_type_cross_a_loaded_plugin_and_back_exactly() {
    let mut kept = Vec::new();
    {
        let plugin = Plugin::load(plugin_path("toolkit")).unwrap();
        let host = Host::default();
        let mut instances: Vec<_> = ["passthrough", "passthrough_view", "delay"]
            .into_iter()
            .map(|name| (name, plugin.instantiate(name, json!(null), &host).unwrap()))
            .collect();
        let mut g = generate::Gen(0x0b11_4c5e);
        let mut previous = Change::default();
        for version in 0..48 {
            let change = generated_change(&mut g, version);
            for (name, op) in &mut instances {
                let expected = if *name == "delay" { &previous } else { &change };
                let out = op
                    .apply(change.clone())
                    .unwrap_or_else(|e| panic!("{name}, call {version}: {e}"));
                assert_eq!(&out, expected, "{name}, call {version}");
                fully_valid(&out, &format!("{name}, call {version}"));
                if version % 4 == 0 {
                    kept.push((out, expected.clone()));
                }
            }
            previous = change;
        }
        // The instances, their caches and the plugin handle drop here.
    }
    for (out, expected) in &kept {
        assert_eq!(out, expected, "kept by the host");
        fully_valid(out, "kept by the host");
    }
}
