use oplink::prelude::*;

/// An error type that is not a `std::error::Error`.
#[derive(Debug)]
pub struct Refused;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> std::result::Result<Change, Refused> {
        Ok(change)
    }
}

fn main() {}
