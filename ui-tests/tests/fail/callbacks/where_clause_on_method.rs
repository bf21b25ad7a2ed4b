#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Option<String>
    where
        Self: Sized;
}

fn main() {}
