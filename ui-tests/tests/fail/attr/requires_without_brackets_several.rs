// Several services without their brackets: one message, with the list to write (before:
// the second was also reported as an unknown attribute).
use oplink::prelude::*;

pub mod services {
    #[oplink::host_callbacks]
    pub trait Echo {
        fn echo(&self, text: &str) -> String;
    }
}

#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Option<String>;
}

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.0", requires = Catalog, services::Echo)]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
