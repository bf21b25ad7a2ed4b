#[oplink::host_callbacks]
pub trait Geo {
    fn country(&self, code: &str) -> Option<&str>;
}

fn main() {}
