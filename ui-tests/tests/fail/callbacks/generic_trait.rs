#[oplink::host_callbacks]
pub trait Lookup<T> {
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
