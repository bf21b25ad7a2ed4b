#[oplink::host_callbacks(name = "acme.Geo", name = "acme.Country")]
pub trait Geo {
    fn country(&self, code: &str) -> String;
}

fn main() {}
