use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    // One `&mut` too many: said at the type, not as a mismatch in a call the user never wrote.
    fn apply(&mut self, ctx: &mut &mut Context, change: Change) -> Result<Change> {
        let _ = ctx;
        Ok(change)
    }
}

fn main() {}
