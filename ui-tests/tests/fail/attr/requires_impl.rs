// `impl Catalog` is refused as `dyn Catalog` is, naming the trait to write.
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

#[oplink::operator(name = "op", version = "1.0.0", requires = [impl Catalog])]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
