//! The standard services may be listed in `requires` (they are always there).
use oplink::prelude::*;
use oplink::services::{Clock, State};

struct Op;

#[oplink::operator(name = "op", version = "1.0.0", requires = [State, oplink::services::Clock])]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        ctx.service::<dyn State>()?.put(b"k", b"v")?;
        let _ = ctx.service::<dyn Clock>()?.now_nanos();
        Ok(change)
    }
}

fn main() {
    let mut ctx = Context::new("op");
    Op::new().unwrap().apply(&mut ctx, Change::default()).unwrap();
    assert_eq!(ctx.state().unwrap().get(b"k").unwrap(), Some(b"v".to_vec()));
}
