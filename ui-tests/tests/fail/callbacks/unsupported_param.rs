use std::collections::HashMap;

#[oplink::host_callbacks]
pub trait Lookup {
    fn get_many(&self, keys: HashMap<String, u32>) -> u64;
}

fn main() {}
