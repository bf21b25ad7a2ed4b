//! One library, six operators: `passthrough` (and its view form `passthrough_view`), `sink`,
//! `delay`, `tag` and `tally`. One handshake lists them.

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
        touch_all(&change);
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

/// Reads a column's length and its first value through the typed view of its type (for a
/// dictionary, its first row's key, checked against its values).
fn touch_view(column: &ColumnView<'_>) -> Result<()> {
    use oplink::arrow::array::types::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    use oplink::arrow::schema::TimeUnit;
    let first = match column.data_type() {
        DataType::Int64 => column.i64s()?.iter().next().flatten().is_some(),
        DataType::Float64 => column.f64s()?.iter().next().flatten().is_some(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            column.strings()?.iter().next().flatten().is_some()
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            column.binaries()?.iter().next().flatten().is_some()
        }
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
        DataType::Dictionary(key, _) => first_key(column, key)?,
        _ => false,
    };
    std::hint::black_box((column.len(), first));
    Ok(())
}

/// Whether a dictionary whose keys are of type `key` has a first row with a key, which is
/// checked against its values (out of line: the other columns' reads stay in
/// [`touch_view`]).
#[inline(never)]
fn first_key(column: &ColumnView<'_>, key: &DataType) -> Result<bool> {
    use oplink::arrow::array::types::{
        Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
    };
    macro_rules! first_key {
        ($k:ty) => {{
            let dictionary = column.dictionary::<$k>()?;
            dictionary.len() > 0 && dictionary.try_key(0)?.is_some()
        }};
    }
    Ok(match key {
        DataType::Int8 => first_key!(Int8Type),
        DataType::Int16 => first_key!(Int16Type),
        DataType::Int32 => first_key!(Int32Type),
        DataType::Int64 => first_key!(Int64Type),
        DataType::UInt8 => first_key!(UInt8Type),
        DataType::UInt16 => first_key!(UInt16Type),
        DataType::UInt32 => first_key!(UInt32Type),
        DataType::UInt64 => first_key!(UInt64Type),
        _ => false,
    })
}

/// Reads every column of each change, as [`Passthrough`] does, and emits nothing: what a
/// crossing costs when only the input crosses (an operator whose output is empty, as a
/// selective filter's often is).
#[derive(Debug)]
pub struct Sink;

#[oplink::operator(
    name = "sink",
    version = "1.0.0",
    description = "Reads every column of its input and emits nothing"
)]
impl Sink {
    /// Creates the operator.
    pub fn new() -> Result<Self> {
        Ok(Sink)
    }

    /// Reads every column, then drops its input and returns an empty change of the same
    /// version and time.
    pub fn apply(&mut self, change: Change) -> Result<Change> {
        touch_all(&change);
        Ok(Change::new(change.version, change.changed_at, Vec::new()))
    }
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

/// [`touch`]es every side of every diff of `change`.
fn touch_all(change: &Change) {
    for diff in &change.diffs {
        match diff {
            Diff::Insert { post: rows } | Diff::Remove { pre: rows } => touch(rows),
            Diff::Update { pre, post } => {
                touch(pre);
                touch(post);
            }
        }
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

/// Configuration of `tag`: `{"column": "source", "value": "web"}`; with `"numbered": true`
/// each row's value is the change's version and the row's number instead
/// (`"{version}:{row}"`), which shows how rows are numbered.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagConfig {
    /// Name of the added column.
    pub column: String,
    /// Its value on every row.
    #[serde(default)]
    pub value: String,
    /// Whether each row gets `"{version}:{row}"` instead of `value`.
    #[serde(default)]
    pub numbered: bool,
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
        if !self.cfg.numbered {
            // Every side of every diff gets the column; each row keeps its number.
            return change.map(|batch| self.tag(batch, None));
        }
        let version = change.version;
        let numbered = |rows: &Rows| -> Result<Rows> {
            let numbers = rows.row_numbers().values().to_vec();
            let labels: Vec<String> = numbers.iter().map(|n| format!("{version}:{n}")).collect();
            Rows::new(numbers, self.tag(rows.batch(), Some(labels))?)
        };
        let diffs = change
            .diffs
            .iter()
            .map(|diff| {
                Ok(match diff {
                    Diff::Insert { post } => Diff::Insert {
                        post: numbered(post)?,
                    },
                    Diff::Remove { pre } => Diff::Remove {
                        pre: numbered(pre)?,
                    },
                    Diff::Update { pre, post } => Diff::Update {
                        pre: numbered(pre)?,
                        post: numbered(post)?,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Change::new(version, change.changed_at, diffs))
    }
}

impl Tag {
    /// `batch` with the column added: `value` on every row, or the given labels.
    fn tag(&self, batch: &RecordBatch, labels: Option<Vec<String>>) -> Result<RecordBatch> {
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(&self.cfg.column, DataType::Utf8, false));
        let mut columns = batch.columns().to_vec();
        columns.push(match labels {
            Some(labels) => Arc::new(StringArray::from(labels)),
            None => Arc::new(StringArray::from(vec![
                self.cfg.value.as_str();
                batch.num_rows()
            ])),
        });
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?)
    }
}

/// Configuration of `tally`: `{"key": "customer"}`; `ballast` adds that many bytes to the
/// in-memory state (to measure a reload with a large snapshot); `restore` makes `restore`
/// fail on purpose (`"reject"`, `"panic"`, or `"scribble"`: write to the state, then
/// reject) in the build with the `variant` feature, to test a reload's rollback.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TallyConfig {
    /// A `Utf8` column to count rows by.
    pub key: String,
    /// Bytes of in-memory state carried by every snapshot.
    #[serde(default)]
    pub ballast: usize,
    /// What `restore` does in the `variant` build: `"accept"` (the default), `"reject"`,
    /// `"panic"`, `"scribble"`, or `"migrate"` (adds the snapshot's row count to the state
    /// key `n/migrated`: a `restore` that writes to the state, and adds rather than sets).
    #[serde(default)]
    pub restore: String,
    /// A key that makes `apply` panic when it sees it (to test recovery).
    #[serde(default)]
    pub panic_on: Option<String>,
    /// `"reject"`: `new` fails in the `variant` build (a reload's new build that cannot
    /// create the instance).
    #[serde(default)]
    pub create: String,
}

/// Counts rows per key in the instance's state (`n/<key>`, flushed by the host) and all
/// rows in memory (carried across a reload by `snapshot` and `restore`), and forwards every
/// change unchanged: an operator whose state is part in the store, part in memory.
#[derive(Debug)]
pub struct Tally {
    cfg: TallyConfig,
    rows: u64,
    ballast: Vec<u8>,
}

/// Which build this is: the `variant` feature makes a second, distinct library of the same
/// operators (for reload tests).
pub const BUILD: &str = if cfg!(feature = "variant") {
    "variant"
} else {
    "base"
};

#[oplink::operator(
    name = "tally",
    version = "1.0.0",
    description = "Counts rows per key in its state, and all rows in memory"
)]
impl Tally {
    /// Creates the operator.
    pub fn new(cfg: TallyConfig) -> Result<Self> {
        if cfg!(feature = "variant") && cfg.create == "reject" {
            bail!("this build refuses to be created");
        }
        let ballast = vec![7; cfg.ballast];
        Ok(Tally {
            cfg,
            rows: 0,
            ballast,
        })
    }

    /// Counts the inserted rows and forwards the change.
    pub fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let state = ctx.state()?;
        for diff in &change.diffs {
            let Diff::Insert { post } = diff else {
                continue;
            };
            let keys = post
                .batch()
                .column_by_name(&self.cfg.key)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| Error::msg(format!("no Utf8 column `{}`", self.cfg.key)))?;
            for key in keys.iter().flatten() {
                if self.cfg.panic_on.as_deref() == Some(key) {
                    panic!("tally met the key {key:?} it was told to panic on");
                }
                let name = format!("n/{key}");
                let count = state
                    .get(name.as_bytes())?
                    .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
                    .map_or(0, u64::from_le_bytes);
                state.put(name.as_bytes(), &(count + 1).to_le_bytes())?;
            }
            self.rows += post.len() as u64;
        }
        Ok(change)
    }

    /// The rows counted so far, the build, then the ballast.
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let mut out = self.rows.to_le_bytes().to_vec();
        out.extend_from_slice(&self.ballast);
        Ok(out)
    }

    /// Takes the rows counted (and the ballast) from a snapshot.
    pub fn restore(&mut self, ctx: &mut Context, snapshot: &[u8]) -> Result<()> {
        if cfg!(feature = "variant") {
            match self.cfg.restore.as_str() {
                "reject" => bail!("this build cannot read snapshots of the base build"),
                "panic" => panic!("restore panicked on purpose"),
                "scribble" => {
                    ctx.state()?.put(b"n/scribbled", &1u64.to_le_bytes())?;
                    bail!("this build wrote to the state, then refused the snapshot")
                }
                "migrate" => {
                    let rows = snapshot.first_chunk::<8>().copied().unwrap_or_default();
                    let state = ctx.state()?;
                    let before = state
                        .get(b"n/migrated")?
                        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
                        .map_or(0, u64::from_le_bytes);
                    let after = before + u64::from_le_bytes(rows);
                    state.put(b"n/migrated", &after.to_le_bytes())?;
                }
                _ => {}
            }
        }
        let Some((rows, ballast)) = snapshot.split_first_chunk::<8>() else {
            bail!(
                "a snapshot of {} {}; expected at least 8",
                snapshot.len(),
                if snapshot.len() == 1 { "byte" } else { "bytes" }
            );
        };
        self.rows = u64::from_le_bytes(*rows);
        self.ballast = ballast.to_vec();
        Ok(())
    }

    /// The rows counted, and the build that counts them (for tests).
    pub fn pull(&mut self, rows: &[RowNumber]) -> Result<RecordBatch> {
        let n = rows.len();
        Ok(RecordBatch::try_from_iter([
            (
                "rows",
                Arc::new(UInt64Array::from(vec![self.rows; n])) as ArrayRef,
            ),
            (
                "build",
                Arc::new(StringArray::from(vec![BUILD; n])) as ArrayRef,
            ),
        ])?)
    }
}
