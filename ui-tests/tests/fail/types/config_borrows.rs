use oplink::prelude::*;

#[derive(serde::Deserialize)]
pub struct Config<'a> {
    pub column: &'a str,
}

pub struct Op;

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new(config: Config<'static>) -> Result<Self> {
        let _ = config.column;
        Ok(Op)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
