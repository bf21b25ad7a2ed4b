//! Raw identifiers: `fn r#apply` is the method `apply` (Rust reads them as one name), and a
//! service's methods and parameters may be spelt raw, keywords included (`r#type`, `r#in`),
//! and so may the keys of the attributes (`r#name`).
#![deny(warnings)]

use oplink::prelude::*;

pub struct Op;

#[oplink::operator(r#name = "raw", r#version = "1.0.0", r#requires = [Raw])]
impl Op {
    fn r#new() -> Result<Self> {
        Ok(Op)
    }

    fn r#apply(&mut self, r#change: Change) -> Result<Change> {
        Ok(r#change)
    }

    fn r#snapshot(&self) -> Result<Vec<u8>> {
        Ok(vec![1])
    }
}

#[oplink::host_callbacks(r#name = "acme.Raw")]
pub trait Raw {
    fn r#type(&self, r#in: u64, r#match: &str) -> u64;
    fn r#fn(&self) -> oplink::Result<String>;
}

struct Host;

impl Raw for Host {
    fn r#type(&self, r#in: u64, r#match: &str) -> u64 {
        r#in + r#match.len() as u64
    }
    fn r#fn(&self) -> oplink::Result<String> {
        Ok("fn".to_owned())
    }
}

fn main() {
    let mut op = Op::new().unwrap();
    assert_eq!(op.snapshot().unwrap(), [1]);
    let _ = op.apply(Change::default()).unwrap();
    assert_eq!(Host.r#type(1, "ab"), 3);
    assert_eq!(Host.r#fn().unwrap(), "fn");
}
