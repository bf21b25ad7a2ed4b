//! A stateless operator over one column: keeps the rows whose `column` is at least `min`.
//!
//! Downstream sees a consistent filtered view: an insert keeps the new rows that pass, a
//! remove the old rows that passed, and an update stays an update where both its old and
//! new values pass, becomes a remove where only the old one did and an insert where only
//! the new one does ([`Change::filter`]).

use oplink::prelude::*;

/// Configuration: `{"column": "amount", "min": 10}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// An `Int64` column of the input.
    pub column: String,
    /// Rows with `column >= min` pass; nulls never pass.
    pub min: i64,
}

/// Keeps the rows whose column is at least a minimum.
#[derive(Debug)]
pub struct Threshold {
    cfg: Config,
}

#[oplink::operator(
    name = "threshold",
    version = "1.0.0",
    description = "Keeps the rows whose column is at least `min`"
)]
impl Threshold {
    /// Creates the operator (also callable directly, in process).
    pub fn new(cfg: Config) -> Result<Self> {
        Ok(Threshold { cfg })
    }

    /// Filters one change (see [`Change::filter`] for how updates are split).
    pub fn apply(&mut self, change: Change) -> Result<Change> {
        change.filter(|rows| self.mask(rows))
    }
}

impl Threshold {
    fn mask(&self, rows: &Rows) -> Result<BooleanArray> {
        let column = rows
            .batch()
            .column_by_name(&self.cfg.column)
            .ok_or_else(|| Error::msg(format!("input has no column `{}`", self.cfg.column)))?;
        let values = column
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| {
                Error::msg(format!(
                    "column `{}` is {}, expected Int64",
                    self.cfg.column,
                    column.data_type()
                ))
            })?;
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

    fn rows(amounts: &[i64]) -> Rows {
        let batch = RecordBatch::try_from_iter([(
            "amount",
            Arc::new(Int64Array::from(amounts.to_vec())) as ArrayRef,
        )])
        .unwrap();
        Rows::new((0..amounts.len() as u64).collect::<Vec<_>>(), batch).unwrap()
    }

    #[test]
    fn filters_in_process_without_ffi() {
        let mut op = Threshold::new(Config {
            column: "amount".into(),
            min: 10,
        })
        .unwrap();
        let out = op
            .apply(Change::new(
                1,
                Timestamp(5),
                vec![Diff::Insert {
                    post: rows(&[3, 10, 42]),
                }],
            ))
            .unwrap();
        let Diff::Insert { post } = &out.diffs[0] else {
            panic!("expected an insert")
        };
        assert_eq!(post.row_numbers().values(), &[1, 2]);
        assert_eq!(out.version, 1);
    }

    #[test]
    fn updates_keep_downstream_consistent() {
        let mut op = Threshold::new(Config {
            column: "amount".into(),
            min: 10,
        })
        .unwrap();
        // Rows 0..4 go from 50 → 60 (stays), 50 → 5 (stops passing), 1 → 15 (starts),
        // 1 → 2 (never passes); then a remove of one passing and one failing row.
        let out = op
            .apply(Change::new(
                2,
                Timestamp(5),
                vec![
                    Diff::Update {
                        pre: rows(&[50, 50, 1, 1]),
                        post: rows(&[60, 5, 15, 2]),
                    },
                    Diff::Remove {
                        pre: rows(&[20, 3]),
                    },
                ],
            ))
            .unwrap();
        let numbers = |rows: &Rows| rows.row_numbers().values().to_vec();
        match &out.diffs[..] {
            [
                Diff::Update { pre, post },
                Diff::Remove { pre: stopped },
                Diff::Insert { post: started },
                Diff::Remove { pre: removed },
            ] => {
                assert_eq!((numbers(pre), numbers(post)), (vec![0], vec![0]));
                assert_eq!(numbers(stopped), vec![1]);
                assert_eq!(numbers(started), vec![2]);
                assert_eq!(numbers(removed), vec![0]);
            }
            other => panic!("unexpected diffs: {other:?}"),
        }
    }

    #[test]
    fn missing_column_is_an_error() {
        let mut op = Threshold::new(Config {
            column: "price".into(),
            min: 1,
        })
        .unwrap();
        let err = op
            .apply(Change::new(
                1,
                Timestamp(0),
                vec![Diff::Insert { post: rows(&[1]) }],
            ))
            .unwrap_err();
        assert_eq!(err.to_string(), "input has no column `price`");
    }
}
