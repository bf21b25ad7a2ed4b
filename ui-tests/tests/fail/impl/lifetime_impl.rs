use oplink::prelude::*;

pub struct Op<'a> {
    label: &'a str,
}

#[oplink::operator(name = "op", version = "1.0.0")]
impl<'a> Op<'a> {
    fn new() -> Result<Self> {
        Ok(Op { label: "op" })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        let _ = self.label;
        Ok(change)
    }
}

fn main() {}
