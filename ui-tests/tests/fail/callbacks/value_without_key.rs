// The service's name without its key: told to write `name = "..."`.
#[oplink::host_callbacks("acme.Catalog")]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Option<String>;
}

fn main() {}
