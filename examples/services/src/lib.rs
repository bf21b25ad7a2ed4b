//! Host services shared by a host and its plugins. Both sides depend on this crate: the
//! host implements the traits, plugins call them through `ctx.service::<dyn Catalog>()`.

use oplink::Result;
use oplink::arrow::array::RecordBatch;
use oplink::service::Json;

/// What the host knows about customers: a lookup table for enrichment.
#[oplink::host_callbacks]
pub trait Catalog {
    /// The tier (`gold`, `silver`, …) of a customer, if the catalog knows them.
    fn tier(&self, customer: &str) -> Option<String>;
    /// How many customers the catalog holds in `region`; an error for an unknown region.
    fn customers_in(&self, region: &str) -> Result<u64>;
}

/// A customer record, crossing as JSON.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Customer {
    /// The customer's id.
    pub id: String,
    /// Their tier.
    pub tier: String,
    /// Orders so far.
    pub orders: u32,
}

/// Returns what it is given, for every type of the vocabulary: a plugin calls each method
/// and checks that the value came back unchanged, so every type crosses both ways.
#[oplink::host_callbacks]
pub trait Echo {
    fn i8(&self, v: i8) -> i8;
    fn i16(&self, v: i16) -> i16;
    fn i32(&self, v: i32) -> i32;
    fn i64(&self, v: i64) -> i64;
    fn u8(&self, v: u8) -> u8;
    fn u16(&self, v: u16) -> u16;
    fn u32(&self, v: u32) -> u32;
    fn u64(&self, v: u64) -> u64;
    fn usize(&self, v: usize) -> usize;
    fn isize(&self, v: isize) -> isize;
    fn f32(&self, v: f32) -> f32;
    fn f64(&self, v: f64) -> f64;
    fn bool(&self, v: bool) -> bool;
    fn char(&self, v: char) -> char;
    fn str(&self, v: &str) -> String;
    fn string(&self, v: String) -> String;
    fn bytes(&self, v: &[u8]) -> Vec<u8>;
    fn byte_vec(&self, v: Vec<u8>) -> Vec<u8>;
    fn f64_slice(&self, v: &[f64]) -> Vec<f64>;
    fn i32_vec(&self, v: Vec<i32>) -> Vec<i32>;
    fn option(&self, v: Option<&str>) -> Option<String>;
    fn option_u64(&self, v: Option<u64>) -> Option<u64>;
    fn result(&self, v: i64) -> Result<i64>;
    fn result_string_error(&self, v: &str) -> Result<String, String>;
    fn unit(&self, v: u8);
    fn batch(&self, v: RecordBatch) -> RecordBatch;
    fn customer(&self, v: Json<Customer>) -> Json<Customer>;
    /// Fails with `message`.
    fn fail(&self, message: &str) -> Result<u64>;
    /// Panics with `message`.
    fn panic(&self, message: &str) -> Result<u64>;
    /// Panics with `message`, in a method that has no `Result` to report it.
    fn panic_plain(&self, message: &str) -> u64;
}

/// The host side of [`Echo`]: returns what it is given; `fail` and the `panic` methods do
/// what they say.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoBack;

impl Echo for EchoBack {
    fn i8(&self, v: i8) -> i8 {
        v
    }
    fn i16(&self, v: i16) -> i16 {
        v
    }
    fn i32(&self, v: i32) -> i32 {
        v
    }
    fn i64(&self, v: i64) -> i64 {
        v
    }
    fn u8(&self, v: u8) -> u8 {
        v
    }
    fn u16(&self, v: u16) -> u16 {
        v
    }
    fn u32(&self, v: u32) -> u32 {
        v
    }
    fn u64(&self, v: u64) -> u64 {
        v
    }
    fn usize(&self, v: usize) -> usize {
        v
    }
    fn isize(&self, v: isize) -> isize {
        v
    }
    fn f32(&self, v: f32) -> f32 {
        v
    }
    fn f64(&self, v: f64) -> f64 {
        v
    }
    fn bool(&self, v: bool) -> bool {
        v
    }
    fn char(&self, v: char) -> char {
        v
    }
    fn str(&self, v: &str) -> String {
        v.to_owned()
    }
    fn string(&self, v: String) -> String {
        v
    }
    fn bytes(&self, v: &[u8]) -> Vec<u8> {
        v.to_vec()
    }
    fn byte_vec(&self, v: Vec<u8>) -> Vec<u8> {
        v
    }
    fn f64_slice(&self, v: &[f64]) -> Vec<f64> {
        v.to_vec()
    }
    fn i32_vec(&self, v: Vec<i32>) -> Vec<i32> {
        v
    }
    fn option(&self, v: Option<&str>) -> Option<String> {
        v.map(str::to_owned)
    }
    fn option_u64(&self, v: Option<u64>) -> Option<u64> {
        v
    }
    fn result(&self, v: i64) -> Result<i64> {
        Ok(v)
    }
    fn result_string_error(&self, v: &str) -> std::result::Result<String, String> {
        Ok(v.to_owned())
    }
    fn unit(&self, _: u8) {}
    fn batch(&self, v: RecordBatch) -> RecordBatch {
        v
    }
    fn customer(&self, v: Json<Customer>) -> Json<Customer> {
        v
    }
    fn fail(&self, message: &str) -> Result<u64> {
        Err(oplink::Error::msg(message))
    }
    fn panic(&self, message: &str) -> Result<u64> {
        panic!("{message}")
    }
    fn panic_plain(&self, message: &str) -> u64 {
        panic!("{message}")
    }
}
