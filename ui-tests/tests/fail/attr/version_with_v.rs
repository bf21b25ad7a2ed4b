// A version written with a `v`: told to leave it out.
use oplink::prelude::*;

pub struct Op;

#[oplink::operator(name = "op", version = "v1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
