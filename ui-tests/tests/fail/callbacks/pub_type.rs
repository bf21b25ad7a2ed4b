#[oplink::host_callbacks]
pub trait Lookup {
    pub type Output;
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
