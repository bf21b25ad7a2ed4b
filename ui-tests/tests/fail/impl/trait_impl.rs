use oplink::prelude::*;

struct Op;

trait Operator {
    fn new() -> Result<Self>
    where
        Self: Sized;
    fn apply(&mut self, change: Change) -> Result<Change>;
}

#[oplink::operator(name = "op", version = "1.0.0")]
impl Operator for Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
