use oplink::prelude::*;

macro_rules! passthrough {
    () => {
        fn apply(&mut self, change: Change) -> Result<Change> {
            Ok(change)
        }
    };
}

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    passthrough!();
}

fn main() {}
