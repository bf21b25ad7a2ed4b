// `name("op")`: told the form to write, and not told again that `name` is missing.
use oplink::prelude::*;

pub struct Op;

#[oplink::operator(name("op"), version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
