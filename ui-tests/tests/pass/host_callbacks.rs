//! A service using the whole vocabulary, a host implementation, an operator that requires
//! it, and a unit test of the operator with a fake service: all plain Rust.

use std::sync::Arc;

use oplink::prelude::*;
use oplink::service::{Json, Wire};

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Customer {
    pub id: String,
}

/// A type with its own encoding.
pub struct Code(pub u16);

impl Wire for Code {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }
    fn decode(bytes: &[u8]) -> Result<Code> {
        let bytes: [u8; 2] = bytes
            .try_into()
            .map_err(|_| Error::msg("a Code is two bytes"))?;
        Ok(Code(u16::from_le_bytes(bytes)))
    }
}

/// Every kind of type a method may take and return.
#[oplink::host_callbacks(name = "acme.Everything")]
pub trait Everything {
    fn numbers(&self, a: i8, b: u16, c: i32, d: u64, e: f32, f: f64, g: usize) -> isize;
    fn flags(&self, on: bool, letter: char) -> Option<char>;
    fn text(&self, borrowed: &str, owned: String) -> String;
    fn bytes(&self, borrowed: &[u8], owned: Vec<u8>, floats: &[f64]) -> Vec<i64>;
    fn maybe(&self, key: Option<&str>) -> Option<Vec<u8>>;
    fn fallible(&self) -> Result<u64>;
    fn fallible_string(&self) -> std::result::Result<(), String>;
    fn boxed(&self) -> std::result::Result<bool, Box<dyn std::error::Error + Send + Sync>>;
    fn nothing(&self);
    fn batch(&self, input: RecordBatch) -> Result<RecordBatch>;
    fn json(&self, customer: Json<Customer>) -> Option<Json<Customer>>;
    fn custom(&self, code: Code) -> Code;
}

struct Host;

impl Everything for Host {
    fn numbers(&self, _: i8, _: u16, _: i32, _: u64, _: f32, _: f64, _: usize) -> isize {
        0
    }
    fn flags(&self, _: bool, letter: char) -> Option<char> {
        Some(letter)
    }
    fn text(&self, borrowed: &str, owned: String) -> String {
        format!("{borrowed}{owned}")
    }
    fn bytes(&self, _: &[u8], _: Vec<u8>, _: &[f64]) -> Vec<i64> {
        Vec::new()
    }
    fn maybe(&self, _: Option<&str>) -> Option<Vec<u8>> {
        None
    }
    fn fallible(&self) -> Result<u64> {
        Ok(1)
    }
    fn fallible_string(&self) -> std::result::Result<(), String> {
        Ok(())
    }
    fn boxed(&self) -> std::result::Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        Ok(true)
    }
    fn nothing(&self) {}
    fn batch(&self, input: RecordBatch) -> Result<RecordBatch> {
        Ok(input)
    }
    fn json(&self, customer: Json<Customer>) -> Option<Json<Customer>> {
        Some(customer)
    }
    fn custom(&self, code: Code) -> Code {
        code
    }
}

struct Op;

#[oplink::operator(name = "op", version = "1.0.0", requires = [Everything])]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let everything = ctx.service::<dyn Everything>()?;
        let _ = everything.text("a", "b".to_owned());
        Ok(change)
    }
}

fn main() {
    let mut ctx =
        Context::new("op").with_service::<dyn Everything>(Arc::new(Host));
    Op.apply(&mut ctx, Change::default()).unwrap();
}
