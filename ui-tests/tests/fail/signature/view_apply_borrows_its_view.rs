use oplink::prelude::*;
use oplink::view::{ChangeOut, ChangeView};

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: &ChangeView) -> Result<ChangeOut> {
        let _ = change;
        bail!("no")
    }
}

fn main() {}
