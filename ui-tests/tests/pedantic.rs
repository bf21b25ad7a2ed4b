//! An operator with the signatures oplink asks for, as simple as can be, under clippy's
//! pedantic and nursery lints (`cargo clippy --all-targets` checks this file) and strict
//! rustc lints: the lints that would push its author toward a signature the macro refuses
//! stay quiet, and the expansion adds nothing they would flag.
#![deny(clippy::pedantic, clippy::nursery, missing_docs, unsafe_code, warnings)]

use oplink::prelude::*;

/// Forwards nothing.
#[derive(Debug)]
pub struct Forward;

/// An operator that returns an empty change.
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
