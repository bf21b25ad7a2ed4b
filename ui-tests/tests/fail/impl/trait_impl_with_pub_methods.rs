use oplink::prelude::*;

pub struct Op;

pub trait Operator {
    fn apply(&mut self, change: Change) -> Result<Change>;
}

// `pub fn`, as in an inherent impl (where the message sends the methods): the one error is
// the trait impl, not also rustc's "visibility qualifiers are not permitted here".
#[oplink::operator(name = "op", version = "1.0.0")]
impl Operator for Op {
    pub fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
