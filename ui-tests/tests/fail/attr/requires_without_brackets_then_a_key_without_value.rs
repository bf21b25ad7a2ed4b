// Two mistakes: a service without its brackets, then a key without its value. Each is
// reported as itself (before: `description` was read into the list, and not reported).
use oplink::prelude::*;

#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Option<String>;
}

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.0", requires = Catalog, description)]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
