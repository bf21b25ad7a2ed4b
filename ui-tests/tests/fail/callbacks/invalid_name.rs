#[oplink::host_callbacks(name = "2 lookups")]
pub trait Lookup {
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
