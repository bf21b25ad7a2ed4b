//! `crate = path` names the runtime crate, for crates that re-export or rename `oplink`.

mod sdk {
    pub use ::oplink;
}

use oplink::prelude::*;

struct Plain;

#[oplink::operator(name = "plain", version = "1.0.0", crate = ::oplink)]
impl Plain {
    fn new() -> Result<Self> {
        Ok(Plain)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

struct Renamed;

#[sdk::oplink::operator(name = "renamed", version = "1.0.0", crate = "crate::sdk::oplink")]
impl Renamed {
    fn new() -> Result<Self> {
        Ok(Renamed)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
