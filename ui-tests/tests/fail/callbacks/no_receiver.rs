#[oplink::host_callbacks]
pub trait Counter {
    fn start(at: u64) -> u64;
}

fn main() {}
