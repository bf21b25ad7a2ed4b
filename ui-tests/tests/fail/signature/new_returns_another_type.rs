use oplink::prelude::*;

pub struct Op;
pub struct Other;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Other> {
        Ok(Other)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
