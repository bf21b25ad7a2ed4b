#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Option<String>;
    fn tier(&self, customer: &str, region: &str) -> Option<String>;
}

fn main() {}
