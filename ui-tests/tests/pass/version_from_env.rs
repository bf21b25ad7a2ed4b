//! `version = env!("CARGO_PKG_VERSION")` gives the operator its crate's version (the one
//! macro the attribute reads).

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

fn main() {
    let registration = &oplink::__private::OPERATORS[0];
    // SAFETY: descriptor strings are views of `'static` strings.
    let version = unsafe { registration.0.version.as_bytes() };
    assert_eq!(version, env!("CARGO_PKG_VERSION").as_bytes());
}
