use oplink::prelude::*;
use oplink::view::{ChangeOut, RowsView};

struct Op;

// A view operator written for one side's rows: one error, at the argument, showing the view
// form (not a second one at `ChangeOut`, which is right for that form).
#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, rows: RowsView) -> Result<ChangeOut> {
        let _ = rows;
        bail!("no")
    }
}

fn main() {}
