#[oplink::host_callbacks]
pub trait Lookup {
    fn get(&self, key: &str) -> Option<String> {
        let _ = key;
        None
    }
}

fn main() {}
