// `name` alone: told it needs a value.
#[oplink::host_callbacks(name)]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Option<String>;
}

fn main() {}
