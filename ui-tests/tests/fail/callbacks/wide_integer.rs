#[oplink::host_callbacks]
pub trait Ids {
    fn next(&self) -> u128;
}

fn main() {}
