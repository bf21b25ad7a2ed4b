use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change, ctx: &mut Context) -> Result<Change> {
        let _ = ctx;
        Ok(change)
    }
}

fn main() {}
