//! An operator with the signatures oplink asks for, private and as simple as can be, under
//! clippy's pedantic and nursery lints (`cargo clippy --all-targets` checks this file): the
//! lints that would push its author toward a signature the macro refuses stay quiet.
#![deny(clippy::pedantic, clippy::nursery)]

use oplink::prelude::*;

struct Forward;

#[oplink::operator(name = "forward", version = "1.0.0")]
impl Forward {
    fn new() -> Result<Self> {
        Ok(Self)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change.empty_like())
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        let _ = snapshot;
        Ok(())
    }
}

#[test]
fn the_operator_runs() {
    let mut op = Forward::new().unwrap();
    assert!(op.apply(Change::default()).unwrap().diffs.is_empty());
    assert!(op.snapshot().unwrap().is_empty());
    op.restore(&[]).unwrap();
}
