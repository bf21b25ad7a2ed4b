use oplink::prelude::*;
use oplink::view::{ChangeOut, ChangeView};

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: ChangeView, ctx: &mut Context) -> Result<ChangeOut> {
        let _ = ctx;
        Ok(change.forward())
    }
}

fn main() {}
