//! An input read as a changelog: a column `op` says what each row is (`+I` an insert, `-D`
//! a remove, `-U` and `+U` an update's old and new row), as `oplink run` writes one, and a
//! column `row` right after it, when there is one, gives the rows' numbers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_cast::cast;
use oplink::arrow::array::cast::AsArray;
use oplink::arrow::array::{Array, RecordBatch, UInt32Array};
use oplink::arrow::schema::{DataType, Schema, SchemaRef};
use oplink::arrow::select::concat::concat_batches;
use oplink::arrow::select::take::take_record_batch;
use oplink::{Diff, Rows};

use crate::args::OpColumn;
use crate::error::{CliError, Result};
use crate::input::{RowLines, unplaced};

/// The name of the column that says what each row of a changelog is.
pub(crate) const OP: &str = "op";
/// The name of the column that numbers a changelog's rows, right after [`OP`].
pub(crate) const ROW: &str = "row";

/// What a changelog's `op` says of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Insert,
    Remove,
    /// An update's old row (`-U`).
    Old,
    /// An update's new row (`+U`).
    New,
}

/// Reads batches of a changelog into diffs.
#[derive(Debug)]
pub(super) struct Changelog {
    /// The input (for errors).
    path: PathBuf,
    /// Where its rows are (for errors naming a row's line).
    lines: RowLines,
    /// Where `op` is in the input's columns.
    op: usize,
    /// Where `row` is, when the input numbers its rows.
    row: Option<usize>,
    /// The columns of the rows: all but `op` and `row`, in their order.
    data: Vec<usize>,
    /// The rows' schema.
    schema: SchemaRef,
    /// The rows read of an update whose last row is still to come (a batch ended inside
    /// it), with the position of the first in the file.
    pending: Option<(RecordBatch, u64)>,
    /// The highest row number a `row` column gave.
    highest: Option<u64>,
    /// A column `row` that is not right after `op`, read as one of the rows' columns.
    row_elsewhere: bool,
}

/// The diffs of a stretch of the input, read by [`Changelog::diffs`].
pub(super) struct Stretch {
    /// The position in the file of its first row, from 0.
    pub(super) first: u64,
    /// How many rows of the file it holds.
    pub(super) rows: u64,
    /// Its diffs, in the order of the file.
    pub(super) diffs: Vec<Diff>,
}

impl Changelog {
    /// The changelog `schema` is, when it has a column `op` and `how` reads it so; an error
    /// when such an `op` or `row` cannot be read as one.
    pub(super) fn of(
        path: &Path,
        lines: RowLines,
        schema: &Schema,
        how: OpColumn,
    ) -> Result<Option<Changelog>> {
        let Some((op, field)) = schema
            .column_with_name(OP)
            .filter(|_| how == OpColumn::Changes)
        else {
            return Ok(None);
        };
        let unreadable = |reason: String| unplaced(path, reason);
        if !is_text(field.data_type()) {
            return Err(unreadable(format!(
                "its column `op` holds {} values, where a changelog's `op` is text that says what each row is (`+I`, `-D`, `-U`, `+U`); give `--op-column data` to read `op` as one of the rows' columns",
                field.data_type()
            )));
        }
        let row = schema
            .fields()
            .get(op + 1)
            .filter(|f| f.name() == ROW)
            .map(|f| {
                // (Text too: a column of no values, or of numbers and something else,
                // reads as text; and floats, `3.0`: each value is then read as a whole
                // number, or named.)
                if is_number_or_text(f.data_type()) {
                    Ok(op + 1)
                } else {
                    Err(unreadable(format!(
                        "its column `row`, after `op`, holds {} values, where a changelog numbers its rows with whole numbers from 0; rename `row`, or move it so that it is not right after `op`, to read it as one of the rows' columns",
                        f.data_type()
                    )))
                }
            })
            .transpose()?;
        let row_elsewhere = row.is_none() && schema.column_with_name(ROW).is_some();
        let data: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| i != op && Some(i) != row)
            .collect();
        let schema = Arc::new(
            schema
                .project(&data)
                .map_err(|e| unreadable(e.to_string()))?,
        );
        Ok(Some(Changelog {
            path: path.to_owned(),
            lines,
            op,
            row,
            data,
            schema,
            pending: None,
            highest: None,
            row_elsewhere,
        }))
    }

    /// The rows' schema: the input's without `op` and `row`.
    pub(super) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Whether the input numbers its rows (a column `row`).
    pub(super) fn numbers_rows(&self) -> bool {
        self.row.is_some()
    }

    /// A warning when the input has a column `row` that is not right after `op`: it is
    /// read as one of the rows' columns, not as their numbers.
    pub(super) fn warning(&self) -> Option<String> {
        self.row_elsewhere.then(|| {
            format!(
                "`{}` is read as a changelog (it has a column `op`), and its column `row` is not right after `op`: `row` is read as one of the rows' columns, and the rows are numbered by their positions; put `row` right after `op` for it to give the rows' numbers",
                self.path.display()
            )
        })
    }

    /// The highest row number the input gave so far.
    pub(super) fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// The diffs of `batch`, whose first row is at `first` in the file: a run of inserts is
    /// an insert, a run of removes a remove, and a run of `-U` and `+U` rows an update whose
    /// `n`th old row goes with its `n`th new row. An update the batch ends inside waits for
    /// the next batch (`None` when that leaves nothing to send). Without a `row` column a
    /// row's number is `numbered_from` and its position, and an update's new row takes the
    /// number of its old one.
    pub(super) fn diffs(
        &mut self,
        batch: RecordBatch,
        first: u64,
        numbered_from: u64,
    ) -> Result<Option<Stretch>> {
        let (batch, first) = match self.pending.take() {
            Some((pending, at)) => (
                concat_batches(&batch.schema(), [&pending, &batch])
                    .map_err(|e| self.error(e.to_string()))?,
                at,
            ),
            None => (batch, first),
        };
        let ops = self.ops(&batch, first)?;
        let numbers = self.numbers(&batch, first, numbered_from)?;
        let rows = batch
            .project(&self.data)
            .map_err(|e| self.error(e.to_string()))?;
        let mut diffs = Vec::new();
        let mut at = 0;
        while at < ops.len() {
            let end = at
                + ops[at..]
                    .iter()
                    .take_while(|&&op| same_run(op, ops[at]))
                    .count();
            match ops[at] {
                Op::Insert => diffs.push(Diff::Insert {
                    post: self.run(&rows, &numbers, at..end)?,
                }),
                Op::Remove => diffs.push(Diff::Remove {
                    pre: self.run(&rows, &numbers, at..end)?,
                }),
                Op::Old | Op::New => {
                    let (old, new) = self.pairs(&ops, &numbers, at..end, first)?;
                    if old.len() > new.len() {
                        // The batch ends inside the update: its pairs complete so far go
                        // now, and its rows from the last point where every old row had
                        // its new row wait for the next batch (a row or two in a
                        // changelog `oplink run` wrote: not the rest of a long update,
                        // held and copied again at every batch).
                        debug_assert_eq!(end, ops.len());
                        let split = at + balanced(&ops[at..end]);
                        let done = (split - at) / 2;
                        if done > 0 {
                            let numbered: Vec<u64> =
                                old[..done].iter().map(|&i| numbers[i]).collect();
                            diffs.push(Diff::Update {
                                pre: self.taken(&rows, numbered.clone(), &old[..done])?,
                                post: self.taken(&rows, numbered, &new[..done])?,
                            });
                        }
                        self.pending =
                            Some((batch.slice(split, end - split), first + split as u64));
                        return Ok(if diffs.is_empty() {
                            None
                        } else {
                            Some(Stretch {
                                first,
                                rows: split as u64,
                                diffs,
                            })
                        });
                    }
                    // Both sides under the old rows' numbers (the same as the new rows'
                    // when the input numbers its rows: `pairs` checked).
                    let numbered: Vec<u64> = old.iter().map(|&i| numbers[i]).collect();
                    diffs.push(Diff::Update {
                        pre: self.taken(&rows, numbered.clone(), &old)?,
                        post: self.taken(&rows, numbered, &new)?,
                    });
                }
            }
            at = end;
        }
        Ok(Some(Stretch {
            first,
            rows: ops.len() as u64,
            diffs,
        }))
    }

    /// At the end of the input: an error when an update's old row has no new row after it.
    pub(super) fn finish(&self) -> Result<()> {
        match &self.pending {
            Some((_, at)) => Err(self.error_at(*at, format!(
                "row {at} (counting from 0) is `-U`, an update's old row, and the input ends without the `+U` row that goes with it"
            ))),
            None => Ok(()),
        }
    }

    /// What each row of `batch` is.
    fn ops(&self, batch: &RecordBatch, first: u64) -> Result<Vec<Op>> {
        let column = cast(batch.column(self.op), &DataType::Utf8)
            .map_err(|e| self.error(format!("its column `op`: {e}")))?;
        let text = column.as_string::<i32>();
        (0..text.len())
            .map(|i| {
                if text.is_null(i) {
                    return Err(self.error_at(first + i as u64, format!(
                        "row {} (counting from 0) has no `op`: a changelog says what each row is (`+I`, `-D`, `-U`, `+U`); give the row its `op`, or give `--op-column data` to read `op` as one of the rows' columns",
                        first + i as u64
                    )));
                }
                match text.value(i) {
                    "+I" => Ok(Op::Insert),
                    "-D" => Ok(Op::Remove),
                    "-U" => Ok(Op::Old),
                    "+U" => Ok(Op::New),
                    other => Err(match near_op(other) {
                        Some(near) => self.error_at(first + i as u64, format!(
                            "row {} (counting from 0) has `op` `{}`, which is not `{near}`: a changelog's `op` is `+I`, `-D`, `-U` or `+U` as written, {}; write `{near}`",
                            first + i as u64,
                            crate::escape_controls(&crate::input::messages::cut(other, 40), &[]),
                            match (other.trim() == other, other.trim() == near) {
                                (false, true) => "with no space around it",
                                (true, _) => "in capitals",
                                (false, false) => "in capitals and with no space around it",
                            },
                        )),
                        None => self.error_at(first + i as u64, format!(
                            "row {} (counting from 0) has `op` `{}`, which is none of `+I` (insert), `-D` (remove), `-U` and `+U` (an update's old and new row): a column named `op` makes the input a changelog, as `oplink run` writes one; give `--op-column data` to read `op` as one of the rows' columns",
                            first + i as u64,
                            crate::escape_controls(&crate::input::messages::cut(other, 40), &[])
                        )),
                    }),
                }
            })
            .collect()
    }

    /// Each row's number: its `row`, or `numbered_from` and its position.
    fn numbers(&mut self, batch: &RecordBatch, first: u64, numbered_from: u64) -> Result<Vec<u64>> {
        let Some(row) = self.row else {
            return numbered(&self.path, numbered_from, first, batch.num_rows());
        };
        let given = batch.column(row);
        // (A dictionary's values, as the column it stands for.)
        let plain = match given.data_type() {
            DataType::Dictionary(_, values) => cast(given, values),
            _ => Ok(given.clone()),
        }
        .map_err(|e| self.error(format!("its column `row`: {e}")))?;
        // (The highest whole number up to which a float of the column's type holds every
        // whole number, and its power of 2.)
        let (exact, power) = match plain.data_type() {
            DataType::Float16 => (2048.0, 11),
            DataType::Float32 => (16_777_216.0, 24),
            _ => (EXACT_IN_F64, 53),
        };
        let numbers: Vec<Option<u64>> = if plain.data_type().is_floating() {
            // Whole numbers written as floats (`3.0`, as pandas writes a column of whole
            // numbers with a gap), where a float of that type holds them exactly.
            let floats = cast(&plain, &DataType::Float64)
                .map_err(|e| self.error(format!("its column `row`: {e}")))?;
            let floats = floats.as_primitive::<oplink::arrow::array::types::Float64Type>();
            (0..floats.len())
                .map(|i| {
                    let v = floats.value(i);
                    (floats.is_valid(i) && v.fract() == 0.0 && (0.0..=exact).contains(&v))
                        .then_some(v as u64)
                })
                .collect()
        } else {
            let whole = cast(&plain, &DataType::UInt64)
                .map_err(|e| self.error(format!("its column `row`: {e}")))?;
            whole
                .as_primitive::<oplink::arrow::array::types::UInt64Type>()
                .iter()
                .collect()
        };
        if let Some(i) = numbers.iter().position(Option::is_none) {
            let at = first + i as u64;
            if plain.is_null(i) {
                return Err(self.error_at(at, format!(
                    "row {at} (counting from 0) has no `row`: a changelog that numbers its rows numbers every one"
                )));
            }
            let value = arrow_cast::display::array_value_to_string(&plain, i).unwrap_or_default();
            let past_exact = plain.data_type().is_floating()
                && value
                    .parse::<f64>()
                    .is_ok_and(|v| v.fract() == 0.0 && v > exact);
            let value = match is_text(plain.data_type()) {
                true => format!(
                    "`{}`",
                    crate::escape_controls(&crate::input::messages::cut(&value, 40), &[])
                ),
                false => value,
            };
            return Err(self.error_at(at, if past_exact {
                format!(
                    "row {at} (counting from 0) has `row` {value}, a float ({}), which holds whole numbers exactly only up to {exact} (2^{power}): write the row numbers as whole numbers, as `--row-numbers` does",
                    plain.data_type()
                )
            } else {
                format!("row {at} (counting from 0) has `row` {value}: row numbers are whole numbers from 0")
            }));
        }
        let numbers: Vec<u64> = numbers.into_iter().flatten().collect();
        let highest = numbers.iter().copied().max();
        self.highest = self.highest.max(highest);
        Ok(numbers)
    }

    /// The old and new rows of the update at `run` (positions in the batch), in pairs; the
    /// old rows left over are those of an update the batch ends inside. An error when a new
    /// row has no old row before it, or, with a `row` column, carries another number.
    fn pairs(
        &self,
        ops: &[Op],
        numbers: &[u64],
        run: std::ops::Range<usize>,
        first: u64,
    ) -> Result<(Vec<usize>, Vec<usize>)> {
        let (mut old, mut new) = (Vec::new(), Vec::new());
        for i in run.clone() {
            match ops[i] {
                Op::Old => old.push(i),
                _ => {
                    let Some(&paired) = old.get(new.len()) else {
                        return Err(self.error_at(first + i as u64, format!(
                            "row {} (counting from 0) is `+U`, an update's new row, with no `-U` row before it: a changelog writes an update's old row (`-U`) before its new row",
                            first + i as u64
                        )));
                    };
                    if self.row.is_some() && numbers[paired] != numbers[i] {
                        return Err(self.error_at(first + i as u64, format!(
                            "rows {} and {} (counting from 0) are an update's old and new row, numbered {} and {}: the two rows of an update are one row, under one number",
                            first + paired as u64,
                            first + i as u64,
                            numbers[paired],
                            numbers[i]
                        )));
                    }
                    new.push(i);
                }
            }
        }
        if old.len() > new.len() && run.end < ops.len() {
            return Err(self.error_at(first + old[new.len()] as u64, format!(
                "row {} (counting from 0) is `-U`, an update's old row, with no `+U` row after it (row {} is `{}`): a changelog writes an update's new row (`+U`) after its old row",
                first + old[new.len()] as u64,
                first + run.end as u64,
                match ops[run.end] {
                    Op::Insert => "+I",
                    _ => "-D",
                }
            )));
        }
        Ok((old, new))
    }

    /// The rows at `run` with their numbers.
    fn run(
        &self,
        rows: &RecordBatch,
        numbers: &[u64],
        run: std::ops::Range<usize>,
    ) -> Result<Rows> {
        Rows::new(
            numbers[run.clone()].to_vec(),
            rows.slice(run.start, run.len()),
        )
        .map_err(|e| self.error(e.to_string()))
    }

    /// The rows at `at` (positions in the batch, in order), numbered `numbers`.
    fn taken(&self, rows: &RecordBatch, numbers: Vec<u64>, at: &[usize]) -> Result<Rows> {
        let indices = UInt32Array::from_iter_values(at.iter().map(|&i| i as u32));
        let batch = take_record_batch(rows, &indices).map_err(|e| self.error(e.to_string()))?;
        Rows::new(numbers, batch).map_err(|e| self.error(e.to_string()))
    }

    fn error(&self, reason: String) -> CliError {
        unplaced(&self.path, reason)
    }

    /// An error about the input's row `row` (counting from 0), at its line in a text file.
    fn error_at(&self, row: u64, reason: String) -> CliError {
        CliError::Data {
            path: self.path.clone(),
            line: self.lines.line(row),
            column: None,
            reason,
        }
    }
}

/// The numbers of `count` rows of `path` from its row `first` (counting from 0), the
/// rows of this run being numbered from `from` on (`--state` numbers them on from where
/// the last run stopped): an error, rather than a number past `u64`'s range or one used
/// before, when that passes `u64::MAX - 1` (`u64::MAX` is left unused, so that the number
/// after the last one given is one too).
pub(super) fn numbered(path: &Path, from: u64, first: u64, count: usize) -> Result<Vec<u64>> {
    let last = LAST_ROW_NUMBER;
    match from.checked_add(first + count as u64) {
        Some(end) if end <= last + 1 => Ok((from + first..end).collect()),
        _ => Err(CliError::Usage(format!(
            "cannot number the rows of `{}`: `--state` numbers this run's rows on from {from} (past the highest number a changelog's `row` gave in a run with that state), and row {} (counting from 0) would be numbered past {last}, the last number a row can get; keep this run's state in another `--state` folder",
            path.display(),
            (u64::MAX - from).max(first),
        ))),
    }
}

/// The highest number a row of the input gets by its position ([`numbered`]).
pub(super) const LAST_ROW_NUMBER: u64 = u64::MAX - 1;

/// How many of an update's `ops` (old and new rows, each new row after its old one) come
/// before the last point where every old row so far has its new row.
fn balanced(ops: &[Op]) -> usize {
    let mut open = 0usize;
    let mut last = 0;
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Old => open += 1,
            _ => open = open.saturating_sub(1),
        }
        if open == 0 {
            last = i + 1;
        }
    }
    last
}

/// The `op` that `text` is but for spaces around it or its letters' case (`+i`, ` +I`).
fn near_op(text: &str) -> Option<&'static str> {
    let upper = text.trim().to_ascii_uppercase();
    ["+I", "-D", "-U", "+U"].into_iter().find(|op| *op == upper)
}

/// Whether a row of `op` goes on the run of `start`: an update's old and new rows make one
/// run.
fn same_run(op: Op, start: Op) -> bool {
    match start {
        Op::Old | Op::New => matches!(op, Op::Old | Op::New),
        other => op == other,
    }
}

/// The highest whole number up to which every whole number is a `f64` of its own (2^53).
const EXACT_IN_F64: f64 = 9_007_199_254_740_992.0;

/// Whether a column of `data_type` may hold row numbers: whole numbers, floats (read when
/// whole), or text (read as numbers), or a dictionary of them.
fn is_number_or_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, values) => is_number_or_text(values),
        other => other.is_integer() || other.is_floating() || is_text(other),
    }
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}
