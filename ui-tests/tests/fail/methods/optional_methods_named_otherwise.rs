use oplink::prelude::*;

struct Op;

// The optional methods under names of other frameworks: each is pointed at by its form.
#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn checkpoint(&self, ctx: &mut Context) -> Result<Vec<u8>> {
        let _ = ctx;
        Ok(Vec::new())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<()> {
        let _ = bytes;
        Ok(())
    }

    fn on_timer(&mut self, now: Timestamp) -> Result<Option<Change>> {
        let _ = now;
        Ok(None)
    }

    fn lookup(&self, rows: &[RowNumber]) -> Result<RecordBatch> {
        let _ = rows;
        bail!("no")
    }
}

fn main() {}
