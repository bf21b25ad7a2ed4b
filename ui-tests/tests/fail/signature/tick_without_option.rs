use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn tick(&mut self, now: Timestamp) -> Result<Change> {
        Ok(Change::new(1, now, vec![]))
    }
}

fn main() {}
