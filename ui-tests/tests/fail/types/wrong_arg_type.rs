use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Rows) -> Result<Change> {
        let _ = change;
        Ok(Change::new(0, Timestamp(0), Vec::new()))
    }
}

fn main() {}
