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
    /// Two versions of one method, one per build.
    #[cfg(all())]
    fn tier(&self, customer: u64) -> u32;
    #[cfg(any())]
    fn tier(&self, customer: u64) -> u64;
}

struct Fixed;

impl Catalog for Fixed {
    fn row_count(&self, _: &str) -> u64 {
        1
    }
    fn rows(&self, _: &str) -> u64 {
        2
    }
    fn tier(&self, customer: u64) -> u32 {
        customer as u32 % 3
    }
}

fn main() {
    use oplink::service::Service;
    let methods = <dyn Catalog>::METHODS;
    assert_eq!(methods.len(), 3);
    let tier = methods.iter().find(|m| m.name == "tier").unwrap();
    assert!(tier.signature.contains("-> u32"), "{}", tier.signature);
    assert_eq!(Fixed.tier(7), 1);
    let mut op = Op::new().unwrap();
    op.apply(Change::default()).unwrap();
    assert_eq!(op.seen, 1);
    assert_eq!(Fixed.rows("t"), 2);
}
