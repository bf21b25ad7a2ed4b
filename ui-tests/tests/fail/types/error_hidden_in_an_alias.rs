use oplink::prelude::*;

/// An error type that is no `std::error::Error`, behind an alias (as `anyhow::Result` is).
pub struct Failure;
pub type Outcome<T> = std::result::Result<T, Failure>;

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Outcome<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
