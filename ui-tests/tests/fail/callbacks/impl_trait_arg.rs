#[oplink::host_callbacks]
pub trait Lookup {
    fn get(&self, key: impl AsRef<str>) -> Option<String>;
}

fn main() {}
