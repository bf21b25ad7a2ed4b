// A module's `type Result = …` without parameters hides the `Ok` type that oplink reads:
// told to write it out.
mod api {
    pub type Result = std::result::Result<u64, String>;
}

#[oplink::host_callbacks]
pub trait Catalog {
    fn customers_in(&self, region: &str) -> api::Result;
}

fn main() {}
