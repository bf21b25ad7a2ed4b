use oplink::prelude::*;

#[derive(serde::Deserialize)]
struct Config {
    min: i64,
}

struct Op {
    min: i64,
}

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new(config: &Config) -> Result<Self> {
        Ok(Op { min: config.min })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        let _ = self.min;
        Ok(change)
    }
}

fn main() {}
