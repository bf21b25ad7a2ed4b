// An operator that moves its host's context out of the call (to keep it in a static, or
// on a thread of its own) would keep pointers into tables the host frees with the
// instance: a `Context` is unsized, so it can only be borrowed.
use std::sync::Mutex;

use oplink::prelude::*;

static KEPT: Mutex<Option<Box<Context>>> = Mutex::new(None);

struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let stolen = std::mem::replace(ctx, *Context::new("op"));
        *KEPT.lock().unwrap() = Some(Box::new(stolen));
        Ok(change)
    }
}

fn main() {}
