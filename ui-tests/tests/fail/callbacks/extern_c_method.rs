#[oplink::host_callbacks]
pub trait Catalog {
    extern "C" fn price(&self, sku: &str) -> Option<i64>;
}

fn main() {}
