use oplink::prelude::*;

#[oplink::operator(name = "op", version = "1.0.0")]
struct Op;

impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
