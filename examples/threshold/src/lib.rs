//! A stateless operator over one column: keeps the rows whose `column` is at least `min`.
//!
//! Inserts are filtered; an update keeps the rows whose new value passes, and a remove keeps
//! the rows whose old value passed, so downstream sees a consistent filtered view.

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

    /// Filters one change.
    pub fn apply(&mut self, change: Change) -> Result<Change> {
        let mut out = change.empty_like();
        for diff in change.diffs {
            let kept = match diff {
                Diff::Insert { post } => self.keep(&post)?.map(|post| Diff::Insert { post }),
                Diff::Remove { pre } => self.keep(&pre)?.map(|pre| Diff::Remove { pre }),
                Diff::Update { pre, post } => {
                    let keep = self.mask(&post)?;
                    match (pre.filter(&keep)?, post.filter(&keep)?) {
                        (pre, _) if pre.is_empty() => None,
                        (pre, post) => Some(Diff::Update { pre, post }),
                    }
                }
            };
            out.diffs.extend(kept);
        }
        Ok(out)
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

    fn keep(&self, rows: &Rows) -> Result<Option<Rows>> {
        let kept = rows.filter(&self.mask(rows)?)?;
        Ok((!kept.is_empty()).then_some(kept))
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
