//! One library, three operators: `passthrough`, `delay` and `tag`. One handshake lists them.

use std::sync::Arc;

use oplink::prelude::*;
use oplink::view::{ChangeOut, ChangeView, ColumnView};

/// Emits every change unchanged after reading every column of it (so that whatever the
/// receiving side builds lazily is built): the cheapest useful operator, used to measure
/// the cost of crossing the boundary.
#[derive(Debug)]
pub struct Passthrough;

#[oplink::operator(
    name = "passthrough",
    version = "1.0.0",
    description = "Emits its input unchanged"
)]
impl Passthrough {
    /// Creates the operator.
    pub fn new() -> Result<Self> {
        Ok(Passthrough)
    }

    /// Reads every column, then returns its input.
    pub fn apply(&mut self, change: Change) -> Result<Change> {
        for diff in &change.diffs {
            match diff {
                Diff::Insert { post: rows } | Diff::Remove { pre: rows } => touch(rows),
                Diff::Update { pre, post } => {
                    touch(pre);
                    touch(post);
                }
            }
        }
        Ok(change)
    }
}

/// [`Passthrough`] through the typed borrowed view: reads every column of its input in
/// place (no arrow-rs array is built) and forwards the input, whose arrays go back to the
/// host as they came.
#[derive(Debug)]
pub struct PassthroughView;

#[oplink::operator(
    name = "passthrough_view",
    version = "1.0.0",
    description = "Emits its input unchanged, read in place"
)]
impl PassthroughView {
    /// Creates the operator.
    pub fn new() -> Result<Self> {
        Ok(PassthroughView)
    }

    /// Reads every column in place, then forwards its input.
    pub fn apply(&mut self, change: ChangeView) -> Result<ChangeOut> {
        for rows in change.rows() {
            let numbers = rows.row_numbers()?;
            std::hint::black_box((numbers.len(), numbers.first()));
            for column in rows.columns() {
                touch_view(&column?)?;
            }
        }
        Ok(change.forward())
    }
}

/// Reads a column's length and its first value through the typed view of its type.
fn touch_view(column: &ColumnView<'_>) -> Result<()> {
    use oplink::arrow::array::types::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    use oplink::arrow::schema::TimeUnit;
    let first = match column.data_type() {
        DataType::Int64 => column.i64s()?.iter().next().flatten().is_some(),
        DataType::Float64 => column.f64s()?.iter().next().flatten().is_some(),
        DataType::Utf8 | DataType::LargeUtf8 => column.strings()?.iter().next().flatten().is_some(),
        DataType::Boolean => column.booleans()?.iter().next().flatten().is_some(),
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => column.primitive::<TimestampSecondType>()?.iter().next(),
            TimeUnit::Millisecond => column
                .primitive::<TimestampMillisecondType>()?
                .iter()
                .next(),
            TimeUnit::Microsecond => column
                .primitive::<TimestampMicrosecondType>()?
                .iter()
                .next(),
            TimeUnit::Nanosecond => column.primitive::<TimestampNanosecondType>()?.iter().next(),
        }
        .flatten()
        .is_some(),
        _ => false,
    };
    std::hint::black_box((column.len(), first));
    Ok(())
}

/// Returns each change one call late: the batches it received stay in its state, past the
/// call that brought them, until the next call returns them.
#[derive(Debug, Default)]
pub struct Delay {
    kept: Option<Change>,
}

#[oplink::operator(
    name = "delay",
    version = "1.0.0",
    description = "Emits the previous change it received"
)]
impl Delay {
    /// Creates the operator, holding nothing.
    pub fn new() -> Result<Self> {
        Ok(Delay::default())
    }

    /// Keeps `change` and returns the one before (an empty change the first time).
    pub fn apply(&mut self, change: Change) -> Result<Change> {
        let previous = self.kept.replace(change);
        Ok(previous.unwrap_or_default())
    }
}

/// Reads the length, the null count and the first value's validity of every column.
fn touch(rows: &Rows) {
    let numbers = rows.row_numbers();
    std::hint::black_box((numbers.len(), numbers.values().first()));
    for column in rows.batch().columns() {
        std::hint::black_box((column.len(), column.null_count(), column.is_valid(0)));
    }
}

/// Configuration of `tag`: `{"column": "source", "value": "web"}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagConfig {
    /// Name of the added column.
    pub column: String,
    /// Its value on every row.
    pub value: String,
}

/// Adds a constant `Utf8` column to every batch.
#[derive(Debug)]
pub struct Tag {
    cfg: TagConfig,
}

#[oplink::operator(
    name = "tag",
    version = "1.1.0",
    description = "Adds a constant column"
)]
impl Tag {
    fn new(cfg: TagConfig) -> Result<Self> {
        Ok(Tag { cfg })
    }

    fn apply(&mut self, _ctx: &mut Context, change: Change) -> Result<Change> {
        let mut out = change.empty_like();
        for diff in change.diffs {
            out.diffs.push(match diff {
                Diff::Insert { post } => Diff::Insert {
                    post: self.tag(post)?,
                },
                Diff::Update { pre, post } => Diff::Update {
                    pre: self.tag(pre)?,
                    post: self.tag(post)?,
                },
                Diff::Remove { pre } => Diff::Remove {
                    pre: self.tag(pre)?,
                },
            });
        }
        Ok(out)
    }
}

impl Tag {
    fn tag(&self, rows: Rows) -> Result<Rows> {
        let (numbers, batch) = rows.into_parts();
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(&self.cfg.column, DataType::Utf8, false));
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(StringArray::from(vec![
            self.cfg.value.as_str();
            batch.num_rows()
        ])));
        Rows::new(
            numbers,
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?,
        )
    }
}
