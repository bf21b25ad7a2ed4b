// A version that no quick fix makes valid: told the form.
use oplink::prelude::*;

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.x")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
