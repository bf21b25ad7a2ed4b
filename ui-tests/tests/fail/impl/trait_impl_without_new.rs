use oplink::prelude::*;

#[derive(Default)]
struct Op;

// A trait of the user's own, whose `new` has a default: the impl holds `apply` alone.
trait Operator: Default {
    fn new() -> Result<Self> {
        Ok(Self::default())
    }
    fn apply(&mut self, change: Change) -> Result<Change>;
    fn describe(&self) -> String;
}

#[oplink::operator(name = "op", version = "1.0.0")]
impl Operator for Op {
    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn describe(&self) -> String {
        "op".to_owned()
    }
}

fn main() {}
