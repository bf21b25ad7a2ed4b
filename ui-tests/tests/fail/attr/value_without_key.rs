// Values without their keys: said at each (before: "expected `key = \"value\"` pairs …
// (expected identifier)").
use oplink::prelude::*;

pub struct Op;

#[oplink::operator("threshold", "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
