// A version written without its quotes (`1.0.0`, which syn reads as a field of `1.0`): told
// to quote it (before: "takes a string literal, such as `version = \"...\"`").
use oplink::prelude::*;

pub struct Op;

#[oplink::operator(name = "op", version = 1.0.0)]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
