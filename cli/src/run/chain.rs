//! A change through the chain of operators, and what comes out of it written to the sink.

use std::sync::Arc;
use std::time::Instant;

use oplink::arrow::array::{ArrayRef, RecordBatch, StringArray};
use oplink::arrow::schema::{DataType, Field, Schema};
use oplink::{Change, Diff, Rows};
use oplink_host::Instance;
use serde_json::Value;

use crate::args::Emit;
use crate::error::{CliError, Result};
use crate::output::{Sink, same_but_nullability};

use super::changelog::{OP, ROW};
use super::summary::StageSummary;

/// One operator of the chain.
#[derive(Debug)]
pub(super) struct Stage {
    /// Which of the chain's operators of its name it is, for errors: `, in the 2nd
    /// `running_sum` of the chain`; empty when the name is the chain's only one.
    pub(super) place: String,
    /// Its state scope (with `--state`).
    pub(super) scope: Option<String>,
    /// Its configuration (kept beside its state with `--state`).
    pub(super) config: Value,
    pub(super) instance: Instance,
    /// What it has done so far.
    pub(super) done: StageSummary,
}

/// An operator's failure, with when it happened (said only when it did) and, when the chain
/// holds its name twice, which one it is.
pub(super) fn stage_error(
    place: &str,
    source: oplink_host::Error,
    when: impl FnOnce() -> String,
) -> CliError {
    CliError::Stage {
        source: Box::new(source),
        when: format!("{}{place}", when()),
    }
}

/// `change` through the stages from `from` on; `when` names the change in an error.
pub(super) fn through(
    stages: &mut [Stage],
    from: usize,
    mut change: Change,
    when: &dyn Fn() -> String,
) -> Result<Change> {
    for stage in &mut stages[from..] {
        stage.done.rows_in += change.row_count() as u64;
        let t = Instant::now();
        change = stage
            .instance
            .apply(change)
            .map_err(|e| stage_error(&stage.place, e, when))?;
        stage.done.time += t.elapsed();
        valid(stage, "apply", &change, when)?;
        stage.done.rows_out += change.row_count() as u64;
    }
    Ok(change)
}

/// Checks a change an operator returned in full before anything reads it: an import takes
/// UTF-8, offsets in order and dictionary keys in range on its producer's word, and an
/// operator written in C can get them wrong ([`Change::validate`]).
pub(super) fn valid(
    stage: &Stage,
    method: &'static str,
    change: &Change,
    when: &dyn Fn() -> String,
) -> Result<()> {
    change.validate().map_err(|e| CliError::InvalidOutput {
        operator: stage.instance.info().name().to_owned(),
        method,
        reason: e.message().to_owned(),
        when: format!("{}{}", when(), stage.place),
    })
}

/// Writes what came out of the chain: every row with its `op` (`--emit changes`) or the
/// inserted rows alone, each with its number when `numbers` (`--row-numbers`).
pub(super) fn emit(
    sink: &mut Sink,
    change: Change,
    emit: Emit,
    numbers: bool,
    stages: &[Stage],
) -> Result<()> {
    // Counted only: every row as it is, with no `op` (an update's two rows counted).
    if sink.counts_only() && emit == Emit::Changes {
        for diff in change.diffs {
            let (pre, post) = match diff {
                Diff::Insert { post } => (None, Some(post)),
                Diff::Remove { pre } => (Some(pre), None),
                Diff::Update { pre, post } => (Some(pre), Some(post)),
            };
            for side in [pre, post].into_iter().flatten() {
                sink.write(side.batch())?;
            }
        }
        return Ok(());
    }
    // (Rows whose first column is `row`, written after `op` without `--row-numbers`, would
    // read back as a changelog's numbers.)
    let row_first_checked = emit == Emit::Inserts || numbers || !sink.reads_back();
    for diff in change.diffs {
        if !row_first_checked {
            let (Diff::Insert { post: rows }
            | Diff::Remove { pre: rows }
            | Diff::Update { pre: rows, .. }) = &diff;
            row_not_first(rows.batch().schema_ref())?;
        }
        match (emit, diff) {
            (Emit::Inserts, Diff::Insert { post }) => {
                sink.write(&labelled(None, &post, numbers)?)?
            }
            (Emit::Inserts, other) => {
                let kind = match other {
                    Diff::Remove { .. } => "a remove",
                    _ => "an update",
                };
                // (With no operator, what comes out is the input's own: a changelog's.)
                return Err(CliError::Output(match stages.last() {
                    Some(stage) => format!(
                        "operator `{}` emitted {kind}, and `--emit inserts` writes inserts only; use `--emit changes` to write every diff with its `op`",
                        stage.done.name
                    ),
                    None => format!(
                        "the input, read as a changelog (it has a column `op`), holds {kind} (`{}` rows), and `--emit inserts` writes inserts only; use `--emit changes` to write every diff with its `op`, or `--op-column data` to read `op` as one of the rows' columns",
                        if kind == "a remove" { "-D" } else { "-U`/`+U" }
                    ),
                }));
            }
            (Emit::Changes, Diff::Insert { post }) => {
                sink.write(&labelled(Some("+I"), &post, numbers)?)?
            }
            (Emit::Changes, Diff::Remove { pre }) => {
                sink.write(&labelled(Some("-D"), &pre, numbers)?)?
            }
            (Emit::Changes, Diff::Update { pre, post }) => {
                let pre = labelled(Some("-U"), &pre, numbers)?;
                let post = labelled(Some("+U"), &post, numbers)?;
                match update_pairs(&pre, &post)? {
                    Some(pairs) => sink.write(&pairs)?,
                    None => {
                        sink.write(&pre)?;
                        sink.write(&post)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// An update's rows as a changelog writes them: each old row (`-U`) just before its new
/// row (`+U`), row `i` of `pre` with row `i` of `post`. `None` when the two sides differ in
/// columns (names or types: a column nullable on one side only, as
/// `RecordBatch::try_from_iter` makes one that has nulls on that side, is nullable in the
/// pairs) or rows (then the old rows go first, then the new).
fn update_pairs(pre: &RecordBatch, post: &RecordBatch) -> Result<Option<RecordBatch>> {
    let (before, after) = (pre.schema_ref().fields(), post.schema_ref().fields());
    if !same_but_nullability(pre.schema_ref(), post.schema_ref())
        || pre.num_rows() != post.num_rows()
    {
        return Ok(None);
    }
    let schema = if before == after {
        pre.schema()
    } else {
        let fields: Vec<Field> = before
            .iter()
            .zip(after.iter())
            .map(|(a, b)| {
                let nullable = a.is_nullable() || b.is_nullable();
                a.as_ref().clone().with_nullable(nullable)
            })
            .collect();
        Arc::new(Schema::new_with_metadata(
            fields,
            pre.schema_ref().metadata().clone(),
        ))
    };
    let pairs: Vec<(usize, usize)> = (0..pre.num_rows()).flat_map(|i| [(0, i), (1, i)]).collect();
    let columns = (0..pre.num_columns())
        .map(|c| {
            oplink::arrow::select::interleave::interleave(
                &[pre.column(c).as_ref(), post.column(c).as_ref()],
                &pairs,
            )
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| CliError::Output(e.to_string()))?;
    RecordBatch::try_new(schema, columns)
        .map(Some)
        .map_err(|e| CliError::Output(e.to_string()))
}

/// An error when the first of the rows' columns is `row`: written after `op` (without
/// `--row-numbers`), a changelog read back would take it for the rows' numbers, and the
/// rows would lose it.
pub(super) fn row_not_first(rows: &Schema) -> Result<()> {
    match rows.fields().first() {
        Some(field) if field.name() == ROW => Err(CliError::Output(
            "the rows' first column is named `row`, which, written right after `op`, is where a changelog gives its rows' numbers: read back, the file would take its values for the rows' numbers and lose the column; rename it, or write the rows alone with `--emit inserts`".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// `rows`' batch as written: with a leading `op` column holding `op` on every row (when
/// given), then, when `numbers`, a `row` column with each row's number.
pub(super) fn labelled(op: Option<&str>, rows: &Rows, numbers: bool) -> Result<RecordBatch> {
    let numbers = numbers.then(|| Arc::new(rows.row_numbers().clone()) as ArrayRef);
    with_columns(op, numbers, rows.batch())
}

/// `batch` with a leading `op` column holding `op` on every row (when given), then the
/// `row` column `numbers` (when given); an error when the batch has a column of either name
/// of its own (a changelog read with `--op-column data`, say), which would be written twice
/// under one name.
pub(super) fn with_columns(
    op: Option<&str>,
    numbers: Option<ArrayRef>,
    batch: &RecordBatch,
) -> Result<RecordBatch> {
    if op.is_none() && numbers.is_none() {
        return Ok(batch.clone());
    }
    let schema = batch.schema();
    if op.is_some() && schema.column_with_name(OP).is_some() {
        return Err(CliError::Output(
            "the rows have a column named `op`, the name of the column that holds each row's change (`+I`, `-D`, `-U`, `+U`); rename it, or write the rows alone with `--emit inserts`".to_owned(),
        ));
    }
    if numbers.is_some() && schema.column_with_name(ROW).is_some() {
        return Err(CliError::Output(
            "the rows have a column named `row`, the name of the column `--row-numbers` writes each row's number in; rename it, or leave out `--row-numbers`".to_owned(),
        ));
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    if let Some(op) = op {
        fields.push(Arc::new(Field::new(OP, DataType::Utf8, false)));
        columns.push(Arc::new(StringArray::from(vec![op; batch.num_rows()])));
    }
    if let Some(numbers) = numbers {
        fields.push(Arc::new(Field::new(ROW, DataType::UInt64, false)));
        columns.push(numbers);
    }
    fields.extend(schema.fields().iter().cloned());
    columns.extend(batch.columns().iter().cloned());
    // The schema's metadata is kept, as a file written without `op` keeps it.
    let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
    RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| CliError::Output(e.to_string()))
}

#[cfg(test)]
mod tests {
    use oplink::arrow::array::Int64Array;

    use super::*;

    /// An update whose sides differ only in whether a column is nullable (the old value
    /// present, so `RecordBatch::try_from_iter` made it non-nullable; the new one null) is
    /// written in pairs, each old row just before its new one, under a nullable column.
    #[test]
    fn an_update_whose_sides_differ_only_in_nullability_is_written_in_pairs() {
        let side = |op: &str, values: Vec<Option<i64>>| {
            let ops = StringArray::from(vec![op; values.len()]);
            RecordBatch::try_from_iter([
                ("op", Arc::new(ops) as ArrayRef),
                ("x", Arc::new(Int64Array::from(values)) as ArrayRef),
            ])
            .unwrap()
        };
        let pre = side("-U", vec![Some(1), Some(2)]);
        let post = side("+U", vec![None, Some(3)]);
        assert_ne!(pre.schema(), post.schema());
        let pairs = update_pairs(&pre, &post)
            .unwrap()
            .expect("written in pairs");
        let ops = pairs
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(
            ops.iter().flatten().collect::<Vec<_>>(),
            ["-U", "+U", "-U", "+U"]
        );
        let x = pairs
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(
            x.iter().collect::<Vec<_>>(),
            [Some(1), None, Some(2), Some(3)]
        );
        assert!(pairs.schema().field(1).is_nullable());
        // Sides whose columns differ in type are written one after the other.
        let text = RecordBatch::try_from_iter([
            ("op", Arc::new(StringArray::from(vec!["+U"; 2])) as ArrayRef),
            ("x", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef),
        ])
        .unwrap();
        assert!(update_pairs(&pre, &text).unwrap().is_none());
    }
}
