#[oplink::host_callbacks]
pub trait Geo {
    fn country(&self, code: Option<&String>) -> Option<String>;
}

fn main() {}
