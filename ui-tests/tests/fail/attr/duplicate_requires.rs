// `requires` given twice: one list holds every service.
use oplink::prelude::*;

#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Option<String>;
}

#[oplink::host_callbacks]
pub trait Geo {
    fn country(&self, code: &str) -> String;
}

struct Op;

#[oplink::operator(name = "op", version = "1.0.0", requires = [Catalog], requires = [Geo])]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
