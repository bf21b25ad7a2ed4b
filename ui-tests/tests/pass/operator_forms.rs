//! Operator forms the README allows, written unusually: an operator in a nested module with
//! `pub` methods, `new` returning the type by name, every optional method with `ctx` in
//! its forms (`&mut oplink::Context`, `&'_ mut Context`, `mut ctx`, an alias of
//! `Context`, `_`), `Result` aliases, attributes on methods, and helpers named like other
//! frameworks' (`init`, `process`) in a separate impl.
#![deny(warnings)]
use oplink::prelude::*;

type Ctx = Context;
pub type Res<T> = Result<T, oplink::Error>;

pub mod inner {
    use oplink::prelude::*;
    pub struct Op;
    #[oplink::operator(name = "inner", version = "1.0.0")]
    impl Op {
        /// new
        #[allow(clippy::unnecessary_wraps)]
        pub fn new() -> oplink::Result<Op> {
            Ok(Op)
        }
        pub fn apply(
            &mut self,
            _ctx: &mut oplink::Context,
            change: Change,
        ) -> Result<Change, oplink::Error> {
            Ok(change)
        }
        pub fn pull(&self, _: &mut Context, rows: &[RowNumber]) -> Result<RecordBatch> {
            let _ = rows;
            Err(Error::msg("no"))
        }
        pub fn tick(&mut self, mut ctx: &mut Context, now: Timestamp) -> Result<Option<Change>> {
            let _ = &mut ctx;
            let _ = now;
            Ok(None)
        }
        pub fn flush_state(&mut self, ctx: &'_ mut Context) -> Result<()> {
            let _ = ctx;
            Ok(())
        }
        pub fn snapshot(&self, ctx: &mut oplink::prelude::Context) -> Result<Vec<u8>> {
            let _ = ctx;
            Ok(vec![])
        }
        pub fn restore(&mut self, ctx: &mut Context, snapshot: &[u8]) -> Result<()> {
            let _ = (ctx, snapshot);
            Ok(())
        }
    }
    impl Op {
        pub fn init() -> Result<Self> {
            Ok(Op)
        }
        pub fn process(&mut self, change: Change) -> Result<Change> {
            Ok(change)
        }
        pub fn helper(&self) -> u8 {
            1
        }
    }
}

pub struct A;
#[oplink::operator(name = "a", version = "1.0.0")]
impl A {
    fn new() -> Res<Self> {
        Ok(A)
    }
    fn apply(&self, ctx: &mut Ctx, change: Change) -> Res<Change> {
        let _ = ctx;
        Ok(change)
    }
    fn snapshot(&self, ctx: &mut Ctx) -> Res<Vec<u8>> {
        let _ = ctx;
        Ok(vec![])
    }
}

pub struct W(u8);
#[oplink::operator(name = "w", version = "1.0.0")]
impl W {
    fn new(config: u8) -> Result<Self> {
        Ok(W(config))
    }
    fn apply(&mut self, change: oplink::Change) -> oplink::Result<oplink::Change> {
        let _ = self.0;
        Ok(change)
    }
}

fn main() {
    let mut ctx = Context::new("inner");
    let mut op = inner::Op::new().unwrap();
    op.apply(&mut ctx, Change::default()).unwrap();
    let _ = inner::Op::init();
    let _ = op.process(Change::default());
    let _ = op.helper();
}
