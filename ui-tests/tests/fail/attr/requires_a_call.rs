// `requires = Catalog::new()`: an expression, quoted as written (it read `Catalog::new ()`).
use oplink::prelude::*;

#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Option<String>;
}

struct Op;

#[oplink::operator(name = "op", version = "1.0.0", requires = Catalog::new())]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
