use oplink::prelude::*;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    // A `where` clause alone (no generics) is reported at the clause, not at the attribute.
    fn apply(&mut self, change: Change) -> Result<Change>
    where
        Self: Sized,
    {
        Ok(change)
    }
}

fn main() {}
