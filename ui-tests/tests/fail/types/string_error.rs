use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change, String> {
        if change.diffs.is_empty() {
            return Err("nothing to do".to_owned());
        }
        Ok(change)
    }
}

fn main() {}
