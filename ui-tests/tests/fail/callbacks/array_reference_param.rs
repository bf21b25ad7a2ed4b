#[oplink::host_callbacks]
pub trait Checksums {
    fn verify(&self, digest: &[u8; 4]) -> bool;
    fn digest(&self, key: &str) -> &[u8; 4];
}

fn main() {}
