use oplink::prelude::*;

struct Op {
    state: String,
}

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op { state: String::new() })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn snapshot(&self) -> Result<String> {
        Ok(self.state.clone())
    }
}

fn main() {}
