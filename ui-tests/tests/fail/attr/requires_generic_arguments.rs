// A service trait takes no generic arguments: said at the entry, naming it (before: syn's
// "comparison operators cannot be chained"); a comma inside `<..>` does not end the entry.
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

#[oplink::operator(name = "op", version = "1.0.0", requires = [Catalog<u8>, services::Echo<u8, u16>])]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
