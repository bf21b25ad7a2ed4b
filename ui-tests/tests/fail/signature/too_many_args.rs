use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, ctx: &mut Context, change: Change, extra: u32) -> Result<Change> {
        let _ = (ctx, extra);
        Ok(change)
    }
}

fn main() {}
