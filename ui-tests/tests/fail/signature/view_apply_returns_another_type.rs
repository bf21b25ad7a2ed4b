use oplink::prelude::*;
use oplink::view::ChangeView;

/// Not a change: reported at `Mine` in the signature, not at the attribute.
pub struct Mine;

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, change: ChangeView) -> Result<Mine> {
        let _ = change;
        Ok(Mine)
    }
}

fn main() {}
