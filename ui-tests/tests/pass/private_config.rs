//! A public operator may take a configuration type private to its crate (the README asks
//! only for `serde::Deserialize`).
#![deny(warnings)]

use oplink::prelude::*;

#[derive(serde::Deserialize)]
struct Config {
    min: i64,
}

pub struct Filter {
    min: i64,
}

#[oplink::operator(name = "filter", version = "1.0.0")]
impl Filter {
    fn new(cfg: Config) -> Result<Self> {
        Ok(Filter { min: cfg.min })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        let _ = self.min;
        Ok(change)
    }
}

fn main() {}
