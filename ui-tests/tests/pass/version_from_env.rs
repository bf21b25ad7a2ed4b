//! `version = env!("CARGO_PKG_VERSION")` (or `std::env!`, `core::env!`) gives the operator
//! its crate's version: the one macro the attribute reads.

use oplink::prelude::*;

struct Versioned;

#[oplink::operator(name = "versioned", version = env!("CARGO_PKG_VERSION"))]
impl Versioned {
    fn new() -> Result<Self> {
        Ok(Versioned)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

struct Qualified;

#[oplink::operator(name = "qualified", version = std::env!("CARGO_PKG_VERSION"))]
impl Qualified {
    fn new() -> Result<Self> {
        Ok(Qualified)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {
    assert_eq!(oplink::__private::OPERATORS.len(), 2);
    for registration in oplink::__private::OPERATORS {
        // SAFETY: descriptor strings are views of `'static` strings.
        let version = unsafe { registration.0.version.as_bytes() };
        assert_eq!(version, env!("CARGO_PKG_VERSION").as_bytes());
    }
}
