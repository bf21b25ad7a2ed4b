#[oplink::host_callbacks]
pub trait Lookup {
    type Key;
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
