use oplink::prelude::*;

pub mod shop {
    #[oplink::host_callbacks]
    pub trait Catalog {
        fn tier(&self, customer: &str) -> Option<String>;
    }
}

use shop::Catalog as Tiers;

struct Op;

// One trait named by two paths is one service, not two of one name.
#[oplink::operator(name = "op", version = "1.0.0", requires = [shop::Catalog, Tiers])]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
