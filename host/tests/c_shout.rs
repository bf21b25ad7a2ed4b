//! `c_shout` (`fixtures/shout.c`), an operator written in C from `docs/abi.md` and
//! `oplink.h` alone, doing what `c_filter` does not: it returns arrays of its own beside
//! input columns it forwards, keeps an input batch from one call to the next (and past its
//! `destroy`), changes its output schema between calls, logs a `LogEvent` in the `Wire`
//! encoding, puts and gets a key of `oplink.State`, and has a snapshot.
//!
//! One test: the library's kept batches are global, and a `create` anywhere releases them.

mod common;

use std::sync::Arc;

use common::{Recorder, fixture_of};
use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Error, Host, Plugin};
use serde_json::json;

fn names() -> ArrayRef {
    Arc::new(StringArray::from(vec![
        Some("alice"),
        None,
        Some("Dörte"),
        Some("bob"),
    ]))
}

fn insert(version: u64, first: u64, names: ArrayRef) -> Change {
    let batch = RecordBatch::try_from_iter([
        ("name", names),
        (
            "amount",
            Arc::new(Int64Array::from(vec![Some(10), Some(7), None, Some(-3)])) as ArrayRef,
        ),
        (
            "city",
            Arc::new(StringArray::from(vec!["paris", "rome", "oslo", "lima"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let rows = Rows::new((first..first + 4).collect::<Vec<u64>>(), batch).unwrap();
    Change::new(version, Timestamp(5), vec![Diff::Insert { post: rows }])
}

fn post(change: &Change) -> &Rows {
    let [Diff::Insert { post }] = &change.diffs[..] else {
        panic!("{:?}", change.diffs)
    };
    post
}

fn column_names(rows: &Rows) -> Vec<String> {
    rows.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

#[test]
fn a_c_operator_builds_forwards_keeps_and_keeps_state() {
    let plugin = Plugin::load(fixture_of("shout", "SHOUT")).unwrap();
    let info = plugin.operator("c_shout").unwrap();
    assert!(info.implemented().snapshot() && info.implemented().restore());
    let host = Host::default();
    let config = json!({"text": "name", "number": "amount", "factor": 3});

    let recorder = Recorder::default();
    let events = recorder.0.clone();
    let kept_names = names();
    tracing::subscriber::with_default(recorder, || {
        let mut op = plugin
            .instantiate_named("c_shout", &config, &host, "shout")
            .unwrap();
        // First call: its own `name` (upper-cased, nulls kept) and `amount_x` beside the
        // forwarded `amount` and `city`.
        let first = op.apply(insert(1, 0, kept_names.clone())).unwrap();
        let rows = post(&first);
        assert_eq!(column_names(rows), ["name", "amount", "city", "amount_x"]);
        let upper = rows.column_as::<StringArray>("name").unwrap();
        assert_eq!(
            upper.iter().collect::<Vec<_>>(),
            [Some("ALICE"), None, Some("DöRTE"), Some("BOB")]
        );
        let scaled = rows.column_as::<Int64Array>("amount_x").unwrap();
        assert_eq!(
            scaled.iter().collect::<Vec<_>>(),
            [Some(30), Some(21), None, Some(-9)]
        );
        assert_eq!(
            rows.column_as::<Int64Array>("amount")
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            [Some(10), Some(7), None, Some(-3)]
        );
        assert_eq!(rows.row_numbers().values(), &[0, 1, 2, 3]);
        drop(first);
        // The operator keeps the input batch (and its `name` column in it) past the call.
        assert!(
            Arc::strong_count(&kept_names) > 1,
            "the kept batch was released"
        );

        // Second call: the schema changes (`prev_name`, counted in the kept batch).
        let second = op.apply(insert(2, 4, names())).unwrap();
        let rows = post(&second);
        assert_eq!(
            column_names(rows),
            ["name", "amount", "city", "amount_x", "prev_name"]
        );
        assert_eq!(
            rows.column_as::<Int64Array>("prev_name").unwrap().value(0),
            3
        );
        drop(second);
        // The first batch was released when the second was kept.
        assert_eq!(Arc::strong_count(&kept_names), 1);

        // A column it is told of and cannot find: an error through the slot, naming it.
        let mut wrong = plugin
            .instantiate("c_shout", json!({"text": "nme", "number": "amount"}), &host)
            .unwrap();
        let err = wrong.apply(insert(1, 0, names())).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "operator `c_shout` failed in `apply`: no column `nme` (configured as `text`) in diff 0's post side"
            ),
            "{err}"
        );
        drop(wrong);
        let err = plugin
            .instantiate("c_shout", json!({"text": "name"}), &host)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
        assert!(err.to_string().contains("missing field `number`"), "{err}");

        // State: `flush_state` puts the count of rows, and logs a `LogEvent`.
        op.flush_state().unwrap();
        let snapshot = op.snapshot().unwrap();
        assert_eq!(snapshot.len(), 24);
        assert_eq!(&snapshot[..6], b"SHOUT1");
        assert_eq!(u64::from_le_bytes(snapshot[8..16].try_into().unwrap()), 8);

        // Destroyed while it keeps the second call's batch: released after `destroy`
        // (at the next `create` of the library).
        let kept_after = names();
        op.apply(insert(3, 8, kept_after.clone())).unwrap();
        drop(op);
        assert!(Arc::strong_count(&kept_after) > 1, "released at destroy");
        let mut again = plugin
            .instantiate_named("c_shout", &config, &host, "shout")
            .unwrap();
        assert_eq!(Arc::strong_count(&kept_after), 1, "never released");
        again.restore(&snapshot).unwrap();
        let err = again.restore(b"not mine").unwrap_err();
        assert!(
            err.to_string()
                .contains("a snapshot of 8 bytes that is not this operator's"),
            "{err}"
        );
    });
    let events = events.lock().unwrap().clone();
    let said = |text: &str| {
        events
            .iter()
            .any(|e| e.field("message").is_some_and(|m| m.contains(text)))
    };
    // `get` of what the first instance's flush put (8 rows), in the second's `create`.
    assert!(said("8 rows seen before"), "{events:#?}");
    assert!(said("restored: 8 rows over 2 calls"), "{events:#?}");
    let event = events
        .iter()
        .find(|e| e.field("message") == Some("rows kept in the state"))
        .unwrap_or_else(|| panic!("no LogEvent in {events:#?}"));
    assert_eq!(event.field("rows"), Some("8"));
    assert_eq!(event.field("column"), Some("name"));
    assert_eq!(event.field("negative"), Some("-5"));
}
