//! A stateful operator: a running sum of a value column per key.
//!
//! Every change updates the sums of the keys it touches and emits, per key, the new total
//! as an update (or an insert the first time a key is seen). The row number of a key's
//! output row is stable: the order in which the key was first seen. `snapshot` and
//! `restore` hand the sums over across a hot reload; `pull` returns the current sum of any
//! key by row number.

use std::collections::BTreeMap;
use std::sync::Arc;

use oplink::prelude::*;

/// Configuration: `{"key": "customer", "value": "amount"}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A `Utf8` column to group by.
    pub key: String,
    /// An `Int64` column to add up; nulls count as 0.
    pub value: String,
}

/// Running sums per key.
#[derive(Debug)]
pub struct RunningSum {
    cfg: Config,
    /// Key -> (row number, sum).
    sums: BTreeMap<String, (u64, i64)>,
    schema: SchemaRef,
}

#[oplink::operator(name = "running_sum", version = "0.2.0")]
/// Running sum of a value column per key.
impl RunningSum {
    fn new(cfg: Config) -> Result<Self> {
        let schema = Arc::new(Schema::new(vec![
            Field::new(&cfg.key, DataType::Utf8, false),
            Field::new("sum", DataType::Int64, false),
        ]));
        // Shown by `oplink run -v` (info) and `-vv` (debug, once per change).
        oplink::tracing::info!(key = %cfg.key, value = %cfg.value, "summing");
        Ok(RunningSum {
            cfg,
            sums: BTreeMap::new(),
            schema,
        })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        let mut touched: BTreeMap<String, Option<i64>> = BTreeMap::new();
        for diff in &change.diffs {
            let (minus, plus) = match diff {
                Diff::Insert { post } => (None, Some(post)),
                Diff::Update { pre, post } => (Some(pre), Some(post)),
                Diff::Remove { pre } => (Some(pre), None),
            };
            for (rows, sign) in [(minus, -1), (plus, 1)] {
                let Some(rows) = rows else { continue };
                let (keys, values) = self.columns(rows)?;
                for i in 0..rows.len() {
                    let key = keys.value(i).to_owned();
                    let delta = if values.is_null(i) {
                        0
                    } else {
                        values.value(i) * sign
                    };
                    let next_row = self.sums.len() as u64;
                    let known = self.sums.get(&key).map(|(_, sum)| *sum);
                    touched.entry(key.clone()).or_insert(known);
                    self.sums.entry(key).or_insert((next_row, 0)).1 += delta;
                }
            }
        }
        oplink::tracing::debug!(keys = touched.len(), "a change summed");
        oplink::tracing::trace!(keys = self.sums.len(), "sums kept");
        let mut out = change.empty_like();
        let (mut fresh, mut before, mut after) = (Vec::new(), Vec::new(), Vec::new());
        for (key, old) in touched {
            let (row, new) = self.sums[&key];
            match old {
                Some(old) if old == new => {}
                Some(old) => {
                    before.push((row, key.clone(), old));
                    after.push((row, key, new));
                }
                None => fresh.push((row, key, new)),
            }
        }
        if !fresh.is_empty() {
            out.diffs.push(Diff::Insert {
                post: self.rows(&fresh)?,
            });
        }
        if !after.is_empty() {
            out.diffs.push(Diff::Update {
                pre: self.rows(&before)?,
                post: self.rows(&after)?,
            });
        }
        Ok(out)
    }

    fn pull(&mut self, rows: &[RowNumber]) -> Result<RecordBatch> {
        let by_row: BTreeMap<u64, (&String, i64)> = self
            .sums
            .iter()
            .map(|(k, (row, sum))| (*row, (k, *sum)))
            .collect();
        let mut picked = Vec::with_capacity(rows.len());
        for row in rows {
            let (key, sum) = by_row
                .get(row)
                .ok_or_else(|| Error::msg(format!("no key has row number {row}")))?;
            picked.push((*row, (*key).clone(), *sum));
        }
        Ok(self.rows(&picked)?.batch().clone())
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for (key, (row, sum)) in &self.sums {
            out.extend_from_slice(&(key.len() as u32).to_le_bytes());
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(&row.to_le_bytes());
            out.extend_from_slice(&sum.to_le_bytes());
        }
        Ok(out)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        let mut sums = BTreeMap::new();
        let mut rest = snapshot;
        while !rest.is_empty() {
            let len = u32::from_le_bytes(take(&mut rest, 4)?.try_into()?) as usize;
            let key = std::str::from_utf8(take(&mut rest, len)?)?.to_owned();
            let row = u64::from_le_bytes(take(&mut rest, 8)?.try_into()?);
            let sum = i64::from_le_bytes(take(&mut rest, 8)?.try_into()?);
            sums.insert(key, (row, sum));
        }
        self.sums = sums;
        Ok(())
    }
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    if rest.len() < n {
        bail!(
            "snapshot is truncated: needed {n} more bytes, {} left",
            rest.len()
        );
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

impl RunningSum {
    fn columns<'a>(&self, rows: &'a Rows) -> Result<(&'a StringArray, &'a Int64Array)> {
        let batch = rows.batch();
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| Error::msg(format!("input has no column `{name}`")))
        };
        let keys = column(&self.cfg.key)?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::msg(format!("column `{}` must be Utf8", self.cfg.key)))?;
        let values = column(&self.cfg.value)?
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| Error::msg(format!("column `{}` must be Int64", self.cfg.value)))?;
        Ok((keys, values))
    }

    fn rows(&self, entries: &[(u64, String, i64)]) -> Result<Rows> {
        let keys = StringArray::from_iter_values(entries.iter().map(|(_, k, _)| k.as_str()));
        let sums = Int64Array::from_iter_values(entries.iter().map(|(_, _, s)| *s));
        let batch =
            RecordBatch::try_new(self.schema.clone(), vec![Arc::new(keys), Arc::new(sums)])?;
        Rows::new(
            entries.iter().map(|(row, _, _)| *row).collect::<Vec<_>>(),
            batch,
        )
    }
}
