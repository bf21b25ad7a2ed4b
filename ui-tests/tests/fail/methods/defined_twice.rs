use oplink::prelude::*;

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    // A second `apply` without `#[cfg]` to choose between them.
    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change.empty_like())
    }
}

fn main() {}
