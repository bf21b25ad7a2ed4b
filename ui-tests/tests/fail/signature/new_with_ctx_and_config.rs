use oplink::prelude::*;

#[derive(serde::Deserialize)]
pub struct Config {
    pub min: i64,
}

pub struct Op;

// `ctx` first, as the other methods take it: refused at the `ctx` (before: "`new` takes
// at most one argument, its configuration", at the configuration).
#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new(ctx: &mut Context, config: Config) -> Result<Self> {
        let _ = (ctx, config.min);
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
