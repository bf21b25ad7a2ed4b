#[oplink::host_callbacks]
pub trait Lookup: Clone {
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
