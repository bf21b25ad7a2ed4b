#[oplink::host_callbacks]
pub trait Files {
    fn size(&self, path: &str) -> Result<u64, std::io::Error>;
}

fn main() {}
