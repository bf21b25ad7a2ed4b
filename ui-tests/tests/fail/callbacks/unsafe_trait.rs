#[oplink::host_callbacks]
pub unsafe trait Catalog {
    fn price(&self, sku: &str) -> Option<i64>;
}

fn main() {}
