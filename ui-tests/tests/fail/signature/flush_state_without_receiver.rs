use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn flush_state(ctx: &mut Context) -> Result<()> {
        let _ = ctx;
        Ok(())
    }
}

fn main() {}
