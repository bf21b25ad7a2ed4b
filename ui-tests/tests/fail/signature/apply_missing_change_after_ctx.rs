use oplink::prelude::*;

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    // `change` left out after `ctx`.
    fn apply(&mut self, ctx: &mut Context) -> Result<Change> {
        let _ = ctx;
        Ok(Change::default())
    }
}

fn main() {}
