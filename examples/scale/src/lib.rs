//! A projection that multiplies one `Int64` column by a factor, written with the typed view
//! both ways: it reads the column in place as a `&[i64]` and builds its output from a
//! `Vec<i64>` ([`ColumnOut`]), so no arrow-rs array is built on either side of the plugin's
//! call. `scale_batch` is the same operator returning an arrow-rs `RecordBatch`, for
//! comparison (`cargo bench -p oplink-host --bench apply -- scale`).
//!
//! Each side of each diff becomes a side of one column, the scaled one, under the same
//! name and with the same nulls; inserts stay inserts, updates updates, removes removes.

use std::sync::Arc;

use oplink::arrow::buffer::NullBuffer;
use oplink::arrow::schema::Schema;
use oplink::prelude::*;
use oplink::view::{ChangeOut, ChangeView, ColumnOut, DiffView, PrimitiveView, RowsView};

/// Configuration: `{"column": "amount", "factor": 3}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// An `Int64` column of the input.
    pub column: String,
    /// What each value is multiplied by (wrapping on overflow).
    pub factor: i64,
}

/// Multiplies a column by a factor, building its output from typed values.
#[derive(Debug)]
pub struct Scale {
    cfg: Config,
    /// The output's schema, made once so that it crosses once.
    schema: SchemaRef,
}

#[oplink::operator(
    name = "scale",
    version = "1.0.0",
    description = "Multiplies an Int64 column by `factor`, read in place and built from typed values"
)]
impl Scale {
    /// Creates the operator.
    pub fn new(cfg: Config) -> Result<Self> {
        let schema = output_schema(&cfg.column);
        Ok(Scale { cfg, schema })
    }

    /// Scales each side of each diff: each row keeps its number and its diff.
    pub fn apply(&mut self, change: ChangeView) -> Result<ChangeOut> {
        change.map(&self.schema, |rows| {
            let values = rows.column_by_name(&self.cfg.column)?.i64s()?;
            let scaled = scaled(&values, self.cfg.factor);
            Ok(vec![
                ColumnOut::i64s(scaled).with_validity(values.validity())?,
            ])
        })
    }
}

/// [`Scale`] building its output as an arrow-rs `RecordBatch`: the same result, for
/// comparison.
#[derive(Debug)]
pub struct ScaleBatch {
    cfg: Config,
    schema: SchemaRef,
}

#[oplink::operator(
    name = "scale_batch",
    version = "1.0.0",
    description = "Multiplies an Int64 column by `factor`, read in place and built as a RecordBatch"
)]
impl ScaleBatch {
    /// Creates the operator.
    pub fn new(cfg: Config) -> Result<Self> {
        let schema = output_schema(&cfg.column);
        Ok(ScaleBatch { cfg, schema })
    }

    /// Scales each side of each diff.
    pub fn apply(&mut self, change: ChangeView) -> Result<ChangeOut> {
        let mut diffs = Vec::with_capacity(change.len());
        for diff in change.diffs() {
            diffs.push(match diff {
                DiffView::Insert { post } => Diff::Insert {
                    post: self.scale(&post)?,
                },
                DiffView::Update { pre, post } => Diff::Update {
                    pre: self.scale(&pre)?,
                    post: self.scale(&post)?,
                },
                DiffView::Remove { pre } => Diff::Remove {
                    pre: self.scale(&pre)?,
                },
            });
        }
        Ok(Change::new(change.version(), change.changed_at(), diffs).into())
    }
}

impl ScaleBatch {
    fn scale(&self, rows: &RowsView<'_>) -> Result<Rows> {
        let values = rows.column_by_name(&self.cfg.column)?.i64s()?;
        let nulls = values
            .validity()
            .map(|validity| NullBuffer::new(validity.to_bits()));
        let scaled = Int64Array::new(scaled(&values, self.cfg.factor).into(), nulls);
        let batch = RecordBatch::try_new(self.schema.clone(), vec![Arc::new(scaled)])?;
        Rows::new(rows.row_numbers()?.to_vec(), batch)
    }
}

/// One nullable `Int64` column named `column`.
fn output_schema(column: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(column, DataType::Int64, true)]))
}

/// Each value times `factor` (a null's slot too: its value is unspecified anyway).
fn scaled(values: &PrimitiveView<'_, i64>, factor: i64) -> Vec<i64> {
    values
        .values()
        .iter()
        .map(|v| v.wrapping_mul(factor))
        .collect()
}

#[cfg(test)]
mod tests {
    use oplink::view::RowsOut;

    use super::*;

    #[test]
    fn rows_that_do_not_fit_are_an_error_located_at_the_line_that_made_them() {
        let schema = output_schema("amount");
        let error =
            RowsOut::new(schema, vec![1, 2], vec![ColumnOut::f64s(vec![1.0, 2.0])]).unwrap_err();
        assert_eq!(
            error.message(),
            "column `amount` was built as Float64, but its field is Int64 (build it with `ColumnOut::i64s`, or `ColumnOut::from_options::<Int64Type>` for nulls)"
        );
        let location = error.location().expect("located");
        assert!(location.file().ends_with("lib.rs"), "{location}");
        assert_eq!(location.line(), line!() - 7);
    }

    #[test]
    fn map_locates_columns_that_do_not_fit_at_its_caller() {
        let batch = RecordBatch::try_from_iter([(
            "amount",
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
        )])
        .unwrap();
        let change = Change::new(
            1,
            Timestamp(0),
            vec![Diff::Insert {
                post: Rows::new(vec![0, 1], batch).unwrap(),
            }],
        );
        let view = ChangeView::from_change(change).unwrap();
        let error = view
            .map(&output_schema("amount"), |_| {
                Ok(vec![ColumnOut::f64s(vec![1.0, 2.0])])
            })
            .unwrap_err();
        assert_eq!(
            error.message(),
            "diff 0 of the output, its post rows: column `amount` was built as Float64, but its field is Int64 (build it with `ColumnOut::i64s`, or `ColumnOut::from_options::<Int64Type>` for nulls)"
        );
        let location = error.location().expect("located");
        assert!(location.file().ends_with("lib.rs"), "{location}");
        assert_eq!(location.line(), line!() - 10);
    }
}
