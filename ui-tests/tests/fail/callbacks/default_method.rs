#[oplink::host_callbacks]
pub trait Lookup {
    default fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
