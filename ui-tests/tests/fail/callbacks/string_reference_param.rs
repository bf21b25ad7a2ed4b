#[oplink::host_callbacks]
pub trait Geo {
    fn country(&self, code: &String) -> Option<String>;
}

fn main() {}
