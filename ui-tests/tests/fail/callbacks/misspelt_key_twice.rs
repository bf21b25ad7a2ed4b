// A misspelt key given twice is misspelt twice, not a duplicate.
#[oplink::host_callbacks(nam = "acme.Geo", nam = "acme.Country")]
pub trait Geo {
    fn country(&self, code: &str) -> String;
}

fn main() {}
