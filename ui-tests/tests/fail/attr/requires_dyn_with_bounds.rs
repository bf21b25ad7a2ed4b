// `Box<dyn Catalog + Send + Sync>` and `&(dyn Catalog + Send)` name the trait before the
// other bounds (before: "write `Box`", and no trait named for the reference).
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

#[oplink::operator(name = "op", version = "1.0.0", requires = [Box<dyn Catalog + Send + Sync>, &(dyn services::Echo + Send)])]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
