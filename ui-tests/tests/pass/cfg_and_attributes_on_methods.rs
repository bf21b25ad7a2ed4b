//! `#[cfg]` on operator methods and service methods is honoured, and other attributes
//! (`#[allow]`, `#[doc]`, `#[inline]`, `#[deprecated]`) keep working.
#![deny(warnings)]

use oplink::prelude::*;

pub struct Op {
    seen: u64,
}

#[oplink::operator(name = "op", version = "1.0.0")]
impl Op {
    /// Creates it.
    #[inline]
    fn new() -> Result<Self> {
        Ok(Op { seen: 0 })
    }

    #[cfg(all())]
    #[allow(clippy::needless_pass_by_value)]
    fn apply(&mut self, change: Change) -> Result<Change> {
        self.seen += 1;
        Ok(change)
    }

    #[cfg(any())]
    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change.empty_like())
    }

    /// Compiled out: the operator has no snapshot in this build.
    #[cfg(any())]
    fn snapshot(&self) -> Result<Vec<u8>> {
        Ok(self.seen.to_le_bytes().to_vec())
    }
}

#[oplink::host_callbacks]
pub trait Catalog {
    /// Kept for old plugins.
    #[deprecated(note = "use `rows`")]
    fn row_count(&self, table: &str) -> u64;
    fn rows(&self, table: &str) -> u64;
    #[cfg(any())]
    fn only_sometimes(&self, table: &str) -> u64;
}

struct Fixed;

impl Catalog for Fixed {
    fn row_count(&self, _: &str) -> u64 {
        1
    }
    fn rows(&self, _: &str) -> u64 {
        2
    }
}

fn main() {
    use oplink::service::Service;
    assert_eq!(<dyn Catalog>::METHODS.len(), 2);
    let mut op = Op::new().unwrap();
    op.apply(Change::default()).unwrap();
    assert_eq!(op.seen, 1);
    assert_eq!(Fixed.rows("t"), 2);
}
