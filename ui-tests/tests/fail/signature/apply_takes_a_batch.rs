use oplink::prelude::*;

struct Op;

// An operator written as a function of one batch: the argument says how to reach the
// batches of a change, the return type what to return instead.
#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        Ok(batch)
    }
}

fn main() {}
