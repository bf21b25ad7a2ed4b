//! An operator with all seven methods, each taking `ctx` where it may.

use oplink::prelude::*;

#[derive(serde::Deserialize)]
struct Config {
    step: i64,
}

struct Full {
    step: i64,
    total: i64,
}

#[oplink::operator(
    name = "full",
    version = "1.2.3-beta.1+build.7",
    description = "Every slot"
)]
impl Full {
    fn new(config: Config) -> Result<Self> {
        Ok(Full {
            step: config.step,
            total: 0,
        })
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let _ = ctx.operator();
        self.total += self.step;
        Ok(change)
    }

    fn pull(&mut self, _ctx: &mut Context, rows: &[RowNumber]) -> Result<RecordBatch> {
        let numbers: UInt64Array = rows.to_vec().into();
        Ok(RecordBatch::try_from_iter([(
            "row",
            std::sync::Arc::new(numbers) as ArrayRef,
        )])?)
    }

    fn tick(&mut self, _ctx: &mut Context, now: Timestamp) -> Result<Option<Change>> {
        Ok((now.as_nanos() < 0).then(|| Change::new(0, now, Vec::new())))
    }

    fn flush_state(&mut self, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        Ok(self.total.to_le_bytes().to_vec())
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        let bytes: [u8; 8] = snapshot
            .try_into()
            .map_err(|_| Error::msg("expected 8 bytes"))?;
        self.total = i64::from_le_bytes(bytes);
        Ok(())
    }
}

fn main() {}

/// `snapshot` and `restore` may reach the instance's `Context` (its state in the store).
struct Mixed {
    in_memory: u64,
}

#[oplink::operator(name = "mixed", version = "1.0.0")]
impl Mixed {
    fn new() -> Result<Self> {
        Ok(Mixed { in_memory: 0 })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn snapshot(&self, ctx: &mut Context) -> Result<Vec<u8>> {
        ctx.state()?.put(b"snapshotted", b"yes")?;
        Ok(self.in_memory.to_le_bytes().to_vec())
    }

    fn restore(&mut self, ctx: &mut Context, snapshot: &[u8]) -> Result<()> {
        let _ = ctx.state()?.get(b"snapshotted")?;
        self.in_memory = snapshot.len() as u64;
        Ok(())
    }
}
