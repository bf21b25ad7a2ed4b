use oplink::prelude::*;
use oplink::view::ChangeOut;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<ChangeOut> {
        Ok(change.into())
    }
}

fn main() {}
