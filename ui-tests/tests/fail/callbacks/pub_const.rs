#[oplink::host_callbacks]
pub trait Lookup {
    pub const LIMIT: u32;
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
