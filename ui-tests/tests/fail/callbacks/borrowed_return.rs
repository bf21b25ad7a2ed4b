#[oplink::host_callbacks]
pub trait Lookup {
    fn get(&self, key: &str) -> &str;
}

fn main() {}
