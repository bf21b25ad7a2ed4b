//! `c_filter`, an operator written in C against `oplink.h` alone (`examples/c-operator`),
//! loaded by the same host as the Rust plugins: it must filter exactly as the Rust
//! `threshold` does, report its errors through the error slot, log through the host, and a
//! build of it against ABI 2.0 must load and run in this 2.2 host.

mod common;

use std::sync::Arc;

use common::{Recorder, plugin_path};
use oplink::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Error, Host, Plugin};
use serde_json::json;

/// Rows with nulls in every column and a batch sliced at a non-zero offset.
fn rows(first: u64) -> Rows {
    let batch = RecordBatch::try_from_iter([
        (
            "amount",
            Arc::new(Int64Array::from(vec![
                Some(5),
                Some(10),
                None,
                Some(50),
                Some(7),
                Some(99),
            ])) as ArrayRef,
        ),
        (
            "customer",
            Arc::new(StringArray::from(vec![
                Some("ann"),
                None,
                Some("carol"),
                Some("dave"),
                Some(""),
                Some("eve"),
            ])) as ArrayRef,
        ),
        (
            "paid",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
                Some(true),
            ])) as ArrayRef,
        ),
        (
            "rate",
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                None,
                Some(1.5),
                Some(2.5),
                Some(3.5),
                Some(4.5),
            ])) as ArrayRef,
        ),
    ])
    .unwrap()
    .slice(1, 5);
    Rows::new((first..first + 5).collect::<Vec<_>>(), batch).unwrap()
}

fn change() -> Change {
    Change::new(
        9,
        Timestamp(1234),
        vec![
            Diff::Insert { post: rows(100) },
            Diff::Remove { pre: rows(200) },
            Diff::Update {
                pre: rows(300),
                post: rows(300),
            },
            // Nothing of this one passes: it leaves no diff.
            Diff::Insert {
                post: rows(400).slice_for_test(1, 1),
            },
            // Rows that pass before and after, stop passing, start passing, never pass, and
            // one null before: an update, a remove and an insert.
            Diff::Update {
                pre: amounts(500, vec![Some(50), Some(50), Some(1), Some(1), None]),
                post: amounts(500, vec![Some(60), Some(5), Some(15), Some(2), Some(20)]),
            },
        ],
    )
}

fn amounts(first: u64, values: Vec<Option<i64>>) -> Rows {
    let numbers: Vec<u64> = (first..).take(values.len()).collect();
    let batch =
        RecordBatch::try_from_iter([("amount", Arc::new(Int64Array::from(values)) as ArrayRef)])
            .unwrap();
    Rows::new(numbers, batch).unwrap()
}

trait SliceForTest {
    fn slice_for_test(self, offset: usize, len: usize) -> Rows;
}

impl SliceForTest for Rows {
    fn slice_for_test(self, offset: usize, len: usize) -> Rows {
        let (numbers, batch) = self.into_parts();
        Rows::new(numbers.slice(offset, len), batch.slice(offset, len)).unwrap()
    }
}

#[test]
fn the_c_operator_filters_exactly_as_the_rust_one_does() {
    let host = Host::default();
    let config = json!({"column": "amount", "min": 10});
    let c = Plugin::load(c_operator::LIBRARY).unwrap();
    let info = c.operator("c_filter").unwrap();
    assert_eq!(info.version(), "1.0.0");
    assert_eq!(c.build().abi, (2, 2));
    assert!(
        c.build().rustc_version.starts_with("cc "),
        "{:?}",
        c.build()
    );
    let names: Vec<&str> = info.requires().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["oplink.Log"]);

    let rust = Plugin::load(plugin_path("threshold")).unwrap();
    let mut c_op = c.instantiate("c_filter", &config, &host).unwrap();
    let mut rust_op = rust.instantiate("threshold", &config, &host).unwrap();
    for _ in 0..3 {
        // The same schema again: cached on both sides from the second call on.
        let from_c = c_op.apply(change()).unwrap();
        let from_rust = rust_op.apply(change()).unwrap();
        assert_eq!(from_c, from_rust);
        assert_eq!((from_c.version, from_c.changed_at), (9, Timestamp(1234)));
        assert_eq!(from_c.diffs.len(), 6);
        let Diff::Insert { post } = &from_c.diffs[0] else {
            panic!("{:?}", from_c.diffs)
        };
        assert_eq!(post.row_numbers().values(), &[100, 102, 104]);
        let numbers = |rows: &Rows| rows.row_numbers().values().to_vec();
        let [
            Diff::Update { pre, post },
            Diff::Remove { pre: stopped },
            Diff::Insert { post: started },
        ] = &from_c.diffs[3..]
        else {
            panic!("{:?}", &from_c.diffs[3..])
        };
        assert_eq!((numbers(pre), numbers(post)), (vec![500], vec![500]));
        assert_eq!(numbers(stopped), vec![501]);
        assert_eq!(numbers(started), vec![502, 504]);
    }
    // A change without diffs.
    let empty = c_op.apply(Change::new(1, Timestamp(0), vec![])).unwrap();
    assert!(empty.diffs.is_empty());
    // The defaults of the methods it leaves out.
    assert_eq!(c_op.tick(Timestamp(1)).unwrap(), None);
    c_op.flush_state().unwrap();
    assert!(c_op.snapshot().unwrap().is_empty());
    c_op.restore(&[]).unwrap();
}

#[test]
fn a_c_operator_reports_errors_through_the_error_slot() {
    let host = Host::default();
    let plugin = Plugin::load(c_operator::LIBRARY).unwrap();
    let err = plugin
        .instantiate("c_filter", json!({"min": 10}), &host)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(
            "invalid configuration for operator `c_filter`: expected {\"column\": \"...\", \"min\": N}"
        ),
        "{err}"
    );
    // A key it does not know, named, as a Rust operator's serde names it (a key inside a
    // value, or a known key's name inside a string, is none).
    let err = plugin
        .instantiate(
            "c_filter",
            json!({"column": "amount", "min": 10, "extra": 2}),
            &host,
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid configuration for operator `c_filter`: unknown field `extra`, expected `column` or `min`"
    );
    for fine in [
        json!({"min": 10, "column": "the \"extra\": one"}),
        json!({"column": "amount", "min": 10}),
    ] {
        plugin.instantiate("c_filter", &fine, &host).unwrap();
    }
    let mut op = plugin
        .instantiate("c_filter", json!({"column": "price", "min": 1}), &host)
        .unwrap();
    let err = op.apply(change()).unwrap_err();
    let Error::Failed {
        message, location, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(message, "input has no column `price`");
    // `file:line`: C gives no column, and 0 (unknown) is not shown.
    assert!(
        location
            .as_deref()
            .and_then(|l| l.rsplit_once(':'))
            .is_some_and(|(file, line)| file.ends_with("filter.c")
                && line.parse::<u32>().is_ok_and(|n| n > 0)),
        "{location:?}"
    );
    assert!(!op.is_poisoned());
    let mut op = plugin
        .instantiate("c_filter", json!({"column": "customer", "min": 1}), &host)
        .unwrap();
    let err = op.apply(change()).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "operator `c_filter` failed in `apply`: column `customer` is `u`, expected Int64 (`l`)"
        ),
        "{err}"
    );
    let err = op.restore(b"state").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "operator `c_filter` failed in `restore`: it keeps no state, so it cannot accept a snapshot of 5 bytes"
        ),
        "{err}"
    );
    let err = op.pull(&[1]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("operator `c_filter` failed in `pull`: it does not implement `pull`"),
        "{err}"
    );
}

#[test]
fn a_c_operator_logs_through_the_hosts_standard_service() {
    let recorder = Recorder::default();
    let events = recorder.0.clone();
    tracing::subscriber::with_default(recorder, || {
        let plugin = Plugin::load(c_operator::LIBRARY).unwrap();
        let mut op = plugin
            .instantiate(
                "c_filter",
                json!({"column": "amount", "min": 10}),
                &Host::default(),
            )
            .unwrap();
        op.apply(change()).unwrap();
        let events = events.lock().unwrap().clone();
        let created = events
            .iter()
            .find(|e| e.level == tracing::Level::INFO && e.target == "c_filter")
            .expect("the message of `create`");
        assert_eq!(created.target, "c_filter");
        assert_eq!(created.field("operator"), Some("c_filter"));
        assert_eq!(
            created.field("message"),
            Some("keeping the rows whose `amount` is at least 10")
        );
        let applied = events
            .iter()
            .find(|e| e.level == tracing::Level::DEBUG && e.target == "c_filter")
            .expect("the message of `apply`");
        assert_eq!(applied.field("message"), Some("kept 12 of 21 rows"));
    });
}

#[test]
fn a_library_of_an_older_minor_loads_and_runs_in_this_host() {
    let plugin = Plugin::load(c_operator::LIBRARY_MINOR_0).unwrap();
    assert_eq!(plugin.build().abi, (2, 0));
    const { assert!(oplink::abi::ABI_MINOR > 0, "this host speaks a newer minor") };
    let host = Host::default();
    let config = json!({"column": "amount", "min": 10});
    let mut old = plugin.instantiate("c_filter", &config, &host).unwrap();
    let mut new = Plugin::load(c_operator::LIBRARY)
        .unwrap()
        .instantiate("c_filter", &config, &host)
        .unwrap();
    assert_eq!(old.apply(change()).unwrap(), new.apply(change()).unwrap());
}

/// The host's `oplink.Lookup`: one table, `tiers`.
struct Tiers;

/// The line of `Tiers::get`'s error, which the operator's error names.
const OFFLINE_LINE: u32 = line!() + 5;

impl oplink::services::Lookup for Tiers {
    fn get(&self, table: &str, key: &str) -> oplink::Result<Option<String>> {
        if table != "tiers" || key == "boom" {
            return Err(oplink::Error::msg(format!("table `{table}` is offline")));
        }
        Ok((key == "alice").then(|| "gold".to_owned()))
    }
}

/// `oplink.h` declares `oplink.Lookup`'s table beside the standard services': a C operator
/// (the `LOOKUP` fixture) that lists it in its requirements and calls `get` through
/// `OplinkLookupTable` reads the host's answer, absent keys and errors included.
#[test]
fn a_c_operator_calls_oplink_lookup_through_the_headers_table() {
    let plugin = Plugin::load(common::fixture("LOOKUP")).unwrap();
    let host = Host::builder()
        .provide::<dyn oplink::services::Lookup>(Arc::new(Tiers))
        .build();
    let found = |key: &str| {
        let mut op = plugin.instantiate("c_op", json!(key), &host).unwrap();
        String::from_utf8(op.snapshot().unwrap()).unwrap()
    };
    assert_eq!(found("alice"), "gold");
    assert_eq!(found("bob"), "(none)");
    // The host's error reaches the operator's error slot, and the operator passes it on.
    let err = plugin
        .instantiate("c_op", json!("boom"), &host)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "operator `c_op` failed in `new`: table `tiers` is offline (at host/tests/c_operator.rs:{OFFLINE_LINE}:24)"
        )
    );
    let err = plugin.instantiate("c_op", json!(7), &host).unwrap_err();
    assert_eq!(
        err.to_string(),
        "operator `c_op` refused its configuration: the configuration is the key to look up, a JSON string"
    );
    // One that calls it without listing it gets no table, though the host provides it.
    let unlisted = Plugin::load(common::fixture("LOOKUP_UNDECLARED")).unwrap();
    let err = unlisted
        .instantiate("c_op", json!("alice"), &host)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "operator `c_op` failed in `new`: `oplink.Lookup` is not in this operator's requirements, so the host gives it no table: list it (`requires_` in C, `requires = [..]` in Rust), and the host checks it before creating the operator"
    );
    // Without the service, the host refuses the operator before its `create` runs.
    let err = plugin
        .instantiate("c_op", json!("alice"), &Host::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "operator `c_op` requires the host service `oplink.Lookup`, which this host does not provide (it provides only the standard services `oplink.Log`, `oplink.State`, `oplink.Clock` and `oplink.Spans`); add it with `Host::builder().provide::<dyn oplink::services::Lookup>(..)`"
    );
}
