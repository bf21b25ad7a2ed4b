#[oplink::host_callbacks]
pub trait Lookup {
    pub fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
