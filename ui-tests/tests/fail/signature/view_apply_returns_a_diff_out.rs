use oplink::prelude::*;
use oplink::view::{ChangeView, DiffOut};

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: ChangeView) -> Result<DiffOut> {
        let _ = change;
        todo!()
    }
}

fn main() {}
