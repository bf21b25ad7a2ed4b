use oplink::prelude::*;

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new(config: Change) -> Result<Self> {
        let _ = config;
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
