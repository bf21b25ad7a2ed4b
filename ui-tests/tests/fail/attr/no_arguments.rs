use oplink::prelude::*;

struct Op;

// Neither `name` nor `version`: one error for the two.
#[oplink::operator]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
