//! A view operator that builds its output from typed values (`examples/scale`), through a
//! real plugin: what the host receives, over a stream of changes, and after the plugin is
//! gone.

mod common;

use std::sync::Arc;

use common::plugin_path;
use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use oplink::arrow::schema::{DataType, Field, Schema};
use oplink::view::ChangeView;
use oplink::{Change, Diff, Rows, Timestamp};
use oplink_host::{Host, Plugin};
use serde_json::json;

/// Rows numbered from `first` with an `amount` (nulls where `None`) and a `customer`.
fn input_rows(amounts: &[Option<i64>], first: u64) -> Rows {
    let customers: Vec<String> = amounts.iter().map(|a| format!("c{a:?}")).collect();
    let batch = RecordBatch::try_from_iter([
        (
            "amount",
            Arc::new(Int64Array::from(amounts.to_vec())) as ArrayRef,
        ),
        (
            "customer",
            Arc::new(StringArray::from(customers)) as ArrayRef,
        ),
    ])
    .unwrap();
    Rows::new(
        (first..first + amounts.len() as u64).collect::<Vec<_>>(),
        batch,
    )
    .unwrap()
}

/// The output rows `scale` makes of them: the amounts times `factor`, same nulls.
fn scaled_rows(amounts: &[Option<i64>], factor: i64, first: u64) -> Rows {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "amount",
        DataType::Int64,
        true,
    )]));
    let scaled: Int64Array = amounts.iter().map(|a| a.map(|a| a * factor)).collect();
    let batch = RecordBatch::try_new(schema, vec![Arc::new(scaled)]).unwrap();
    Rows::new(
        (first..first + amounts.len() as u64).collect::<Vec<_>>(),
        batch,
    )
    .unwrap()
}

/// Every diff kind, with nulls, `rows` rows per side.
fn change(version: u64, rows: usize) -> (Change, Change) {
    let amounts: Vec<Option<i64>> = (0..rows as i64)
        .map(|i| (i % 3 != 1).then_some(i * 10 - 7))
        .collect();
    let later: Vec<Option<i64>> = amounts.iter().map(|a| a.map(|a| a + 1)).collect();
    let input = Change::new(
        version,
        Timestamp(100 + version as i64),
        vec![
            Diff::Insert {
                post: input_rows(&amounts, 0),
            },
            Diff::Update {
                pre: input_rows(&amounts, 1_000),
                post: input_rows(&later, 1_000),
            },
            Diff::Remove {
                pre: input_rows(&later, 5_000),
            },
        ],
    );
    let output = Change::new(
        version,
        Timestamp(100 + version as i64),
        vec![
            Diff::Insert {
                post: scaled_rows(&amounts, 3, 0),
            },
            Diff::Update {
                pre: scaled_rows(&amounts, 3, 1_000),
                post: scaled_rows(&later, 3, 1_000),
            },
            Diff::Remove {
                pre: scaled_rows(&later, 3, 5_000),
            },
        ],
    );
    (input, output)
}

fn config() -> serde_json::Value {
    json!({"column": "amount", "factor": 3})
}

#[test]
fn typed_output_crosses_as_a_record_batch_output_would_and_as_in_process() {
    let plugin = Plugin::load(plugin_path("scale")).unwrap();
    let host = Host::default();
    let mut typed = plugin.instantiate("scale", config(), &host).unwrap();
    let mut batch = plugin.instantiate("scale_batch", config(), &host).unwrap();
    let mut in_process = scale::Scale::new(scale::Config {
        column: "amount".into(),
        factor: 3,
    })
    .unwrap();
    // A stream of changes of changing sizes: the plugin's block is reused as it goes.
    for (version, rows) in [(1, 4), (2, 4), (3, 1), (4, 0), (5, 1_000), (6, 4)] {
        let (input, expected) = change(version, rows);
        assert_eq!(typed.apply(input.clone()).unwrap(), expected, "{rows} rows");
        assert_eq!(batch.apply(input.clone()).unwrap(), expected, "{rows} rows");
        let view = ChangeView::from_change(input).unwrap();
        let here = in_process.apply(view).unwrap().into_change().unwrap();
        assert_eq!(here, expected, "{rows} rows");
    }
    // No diffs at all.
    let empty = Change::new(9, Timestamp(9), vec![]);
    assert_eq!(typed.apply(empty.clone()).unwrap(), empty);
}

#[test]
fn typed_output_the_host_keeps_stays_valid_after_the_instance_and_plugin_are_dropped() {
    let kept = {
        let plugin = Plugin::load(plugin_path("scale")).unwrap();
        let mut op = plugin
            .instantiate("scale", config(), &Host::default())
            .unwrap();
        // 1,000 rows: buffers of more than 256 bytes, which the host shares, not copies.
        (1..5)
            .map(|version| op.apply(change(version, 1_000).0).unwrap())
            .collect::<Vec<_>>()
        // The instance, its caches and the plugin handle drop here; the values the
        // outputs point into live until the host drops them.
    };
    for (i, output) in kept.iter().enumerate() {
        assert_eq!(output, &change(i as u64 + 1, 1_000).1);
    }
}

#[test]
fn a_column_the_operator_cannot_read_is_an_error_naming_it() {
    let plugin = Plugin::load(plugin_path("scale")).unwrap();
    let mut op = plugin
        .instantiate(
            "scale",
            json!({"column": "customer", "factor": 2}),
            &Host::default(),
        )
        .unwrap();
    let err = op.apply(change(1, 2).0).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "operator `scale` failed in `apply`: column `customer`: it is Utf8, not Int64 (at "
        ),
        "{err}"
    );
    assert!(err.contains("examples/scale/src/lib.rs"), "{err}");
    assert!(!op.is_poisoned());
}
