// A borrowing configuration written without its lifetime: rustc's errors, not oplink's (the
// README says so); pinned so that a change to them is seen.
use oplink::prelude::*;

#[derive(serde::Deserialize)]
pub struct Config<'a> {
    pub column: &'a str,
}

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    pub fn new(config: Config) -> Result<Self> {
        let _ = config.column;
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
