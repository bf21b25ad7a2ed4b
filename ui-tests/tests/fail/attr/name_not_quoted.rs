// A name written as an identifier: told to quote it.
use oplink::prelude::*;

pub struct Op;

#[oplink::operator(name = threshold, version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
