#[oplink::host_callbacks(name = acme.Catalog)]
pub trait Catalog {
    fn price(&self, sku: &str) -> Option<i64>;
}

fn main() {}
