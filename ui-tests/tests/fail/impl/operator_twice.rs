use oplink::prelude::*;

struct Op;

// Two names for one operator: refused at the second attribute (before: rustc's "conflicting
// implementations of trait `oplink::__private::OperatorImpl`").
#[oplink::operator(name = "a", version = "1.0.0")]
#[oplink::operator(name = "b", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
