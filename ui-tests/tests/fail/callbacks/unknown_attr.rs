#[oplink::host_callbacks(version = "1.0.0")]
pub trait Lookup {
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
