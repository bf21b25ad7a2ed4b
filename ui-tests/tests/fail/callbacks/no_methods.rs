#[oplink::host_callbacks]
pub trait Lookup {}

fn main() {}
