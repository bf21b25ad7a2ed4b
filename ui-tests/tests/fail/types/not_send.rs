use oplink::prelude::*;

struct Op {
    shared: std::rc::Rc<u8>,
}

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op {
            shared: std::rc::Rc::new(0),
        })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        let _ = &self.shared;
        Ok(change)
    }
}

fn main() {}
