use oplink::prelude::*;

struct Op {
    json: String,
}

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new(json: &str) -> Result<Self> {
        Ok(Op { json: json.to_owned() })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        let _ = &self.json;
        Ok(change)
    }
}

fn main() {}
