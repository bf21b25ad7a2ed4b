#[oplink::host_callbacks]
pub trait Filler {
    fn fill(&self, buffer: &mut Vec<u8>) -> u64;
}

fn main() {}
