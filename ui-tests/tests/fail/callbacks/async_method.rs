#[oplink::host_callbacks]
pub trait Lookup {
    async fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
