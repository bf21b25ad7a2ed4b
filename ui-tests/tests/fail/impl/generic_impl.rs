use oplink::prelude::*;

struct Op<T> {
    value: T,
}

#[oplink::operator(name = "op", version = "1.0.0")]
impl<T: Default + Send + 'static> Op<T> {
    fn new() -> Result<Self> {
        Ok(Op {
            value: T::default(),
        })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        let _ = &self.value;
        Ok(change)
    }
}

fn main() {}
