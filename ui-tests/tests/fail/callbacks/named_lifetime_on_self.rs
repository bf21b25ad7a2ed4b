#[oplink::host_callbacks]
pub trait Geo {
    fn country<'a>(&'a self, code: &'a str) -> String;
}

fn main() {}
