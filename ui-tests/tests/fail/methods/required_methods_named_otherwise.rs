use oplink::prelude::*;

#[derive(serde::Deserialize)]
struct Config {
    min: i64,
}

struct Op {
    min: i64,
}

// `new` and `apply` under names of other frameworks: each is pointed at by its form, and not
// reported again as missing.
#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn init(config: Config) -> Result<Self> {
        Ok(Op { min: config.min })
    }

    fn process(&mut self, change: Change) -> Result<Change> {
        let _ = self.min;
        Ok(change)
    }
}

fn main() {}
