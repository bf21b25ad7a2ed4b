use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new(first: u32, second: u32) -> Result<Self> {
        let _ = (first, second);
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
