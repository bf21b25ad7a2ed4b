#[oplink::host_callbacks]
pub trait Geo {
    fn country<'a>(&self, code: &'a str) -> String;
}

fn main() {}
