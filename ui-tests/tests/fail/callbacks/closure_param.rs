#[oplink::host_callbacks]
pub trait Catalog {
    fn each_customer(&self, visit: &dyn Fn(&str) -> bool) -> u64;
}

fn main() {}
