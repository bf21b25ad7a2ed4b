#[oplink::host_callbacks(nam = "acme.Geo")]
pub trait Geo {
    fn country(&self, code: &str) -> String;
}

fn main() {}
