//! `new` may take no configuration, and every method may leave out `ctx`; the error type
//! may be any error that converts into `oplink::Error`.

use oplink::prelude::*;

struct Counter {
    seen: usize,
}

#[oplink::operator(name = "counter", version = "0.1.0")]
impl Counter {
    fn new() -> Result<Self> {
        Ok(Counter { seen: 0 })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        self.seen += change.row_count();
        Ok(change)
    }

    fn tick(&mut self, _now: Timestamp) -> Result<Option<Change>> {
        Ok(None)
    }

    fn flush_state(&mut self) -> std::result::Result<(), std::fmt::Error> {
        Ok(())
    }

    fn snapshot(&mut self) -> Result<Vec<u8>> {
        Ok(self.seen.to_le_bytes().to_vec())
    }
}

fn main() {}
