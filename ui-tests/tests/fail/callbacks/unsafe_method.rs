#[oplink::host_callbacks]
pub trait Lookup {
    unsafe fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
