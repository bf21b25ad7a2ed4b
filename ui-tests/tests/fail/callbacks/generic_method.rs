#[oplink::host_callbacks]
pub trait Lookup {
    fn get<K: AsRef<str>>(&self, key: K) -> Option<String>;
}

fn main() {}
