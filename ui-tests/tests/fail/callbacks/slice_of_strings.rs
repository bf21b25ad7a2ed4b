#[oplink::host_callbacks]
pub trait Catalog {
    fn tiers(&self, customers: &[String]) -> u64;
}

fn main() {}
