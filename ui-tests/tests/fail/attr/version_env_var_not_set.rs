use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = env!("OPLINK_SURELY_UNSET_VARIABLE"))]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
