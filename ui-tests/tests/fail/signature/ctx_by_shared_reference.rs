use oplink::prelude::*;

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, ctx: &Context, change: Change) -> Result<Change> {
        let _ = ctx;
        Ok(change)
    }
}

fn main() {}
