#[oplink::host_callbacks]
pub trait Lookup {
    const LIMIT<T>: u32;
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
