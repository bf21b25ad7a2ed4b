#[oplink::host_callbacks]
pub trait Lookup {
    fn fork(&self) -> Option<Box<Self>>;
}

fn main() {}
