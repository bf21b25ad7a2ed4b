use oplink::prelude::*;

#[oplink::operator(name = "op", version = "1.0.0")]
impl (u8, u8) {
    fn new() -> Result<Self> {
        Ok((0, 0))
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
