//! `{{op}}`: an oplink operator plugin.
//!
//! Build and check it:
//!
//! ```text
//! cargo build
//! oplink check target/debug/lib{{op}}.so
//! ```
//!
//! Run it over a CSV file with an `amount` column:
//!
//! ```text
//! oplink run data.csv --plugins target/debug --op '{{op}}={"column": "amount", "min": 10}'
//! ```

use oplink::prelude::*;

/// The configuration, from the host's JSON: `{"column": "amount", "min": 10}`. A field
/// that is missing, misspelt or of the wrong type is refused with a message naming it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// An `Int64` column of the input.
    pub column: String,
    /// The smallest value kept.
    pub min: i64,
}

/// Keeps the rows whose `column` is at least `min`; a null is never kept.
#[derive(Debug)]
pub struct {{Struct}} {
    cfg: Config,
}

#[oplink::operator(
    name = "{{op}}",
    version = "0.1.0",
    description = "Keeps the rows whose column is at least `min`"
)]
impl {{Struct}} {
    /// Creates the operator from its configuration.
    pub fn new(cfg: Config) -> Result<Self> {
        Ok({{Struct}} { cfg })
    }

    /// Filters one change so that downstream sees a consistent filtered view: inserts and
    /// removes by their own rows; an update stays an update where its old and new rows
    /// both pass, and becomes a remove (only the old one passed) or an insert (only the new
    /// one passes) otherwise (`Change::filter`).
    pub fn apply(&mut self, change: Change) -> Result<Change> {
        change.filter(|rows| self.keep(rows))
    }
}

impl {{Struct}} {
    /// Which rows pass: an error names the column when it is missing (listing those there
    /// are) or not `Int64` (naming its type).
    fn keep(&self, rows: &Rows) -> Result<BooleanArray> {
        let values = rows.column_as::<Int64Array>(&self.cfg.column)?;
        Ok(values
            .iter()
            .map(|v| Some(v.is_some_and(|v| v >= self.cfg.min)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Calls the operator in process, as the host would through the plugin boundary.
    #[test]
    fn keeps_the_rows_at_or_above_min() {
        let amounts = Int64Array::from(vec![Some(5), Some(10), None, Some(42)]);
        let batch = RecordBatch::try_from_iter([("amount", Arc::new(amounts) as ArrayRef)])
            .expect("a batch");
        let rows = Rows::new(vec![0u64, 1, 2, 3], batch).expect("rows");
        let change = Change::new(1, Timestamp::now(), vec![Diff::Insert { post: rows }]);

        let mut op = {{Struct}}::new(Config {
            column: "amount".to_owned(),
            min: 10,
        })
        .expect("a valid configuration");
        let out = op.apply(change).expect("apply");

        let Diff::Insert { post } = &out.diffs[0] else {
            panic!("expected an insert, got {out}");
        };
        assert_eq!(post.row_numbers().values().to_vec(), vec![1, 3]);
    }

    /// A row updated from a value that passed to one that does not is removed downstream.
    #[test]
    fn an_update_that_stops_passing_is_a_remove() {
        let rows = |amount: i64| {
            let batch = RecordBatch::try_from_iter([(
                "amount",
                Arc::new(Int64Array::from(vec![amount])) as ArrayRef,
            )])
            .expect("a batch");
            Rows::new(vec![7u64], batch).expect("rows")
        };
        let change = Change::new(
            2,
            Timestamp::now(),
            vec![Diff::Update {
                pre: rows(50),
                post: rows(5),
            }],
        );

        let mut op = {{Struct}}::new(Config {
            column: "amount".to_owned(),
            min: 10,
        })
        .expect("a valid configuration");
        let out = op.apply(change).expect("apply");

        let [Diff::Remove { pre }] = &out.diffs[..] else {
            panic!("expected one remove, got {out}");
        };
        assert_eq!(pre.row_numbers().values().to_vec(), vec![7]);
    }

    /// A configuration is read as the host reads it, and refused in its words.
    #[test]
    fn a_configuration_without_min_is_refused_naming_it() {
        let err = oplink::read_config::<Config>("{{op}}", r#"{"column": "amount"}"#)
            .expect_err("`min` is missing");
        assert_eq!(
            err.message(),
            "invalid configuration for operator `{{op}}`: missing field `min`"
        );
    }
}
