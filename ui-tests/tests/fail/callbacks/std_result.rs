// `Result` here is std's (no `use oplink::prelude::*`): rustc's one error, at the type, with
// its suggestion where it belongs (before: a second copy whose `, E` landed mid-path).
#[oplink::host_callbacks]
pub trait Catalog {
    fn customers_in(&self, region: &str) -> Result<u64>;
}

fn main() {}
