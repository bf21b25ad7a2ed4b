// A module's `type Result = …` without parameters hides the `Ok` type that oplink reads:
// refused as a type that cannot be returned, the note saying to write the `Ok` type (the
// macro cannot tell `api::Result` from a type of the user's named `Result`, which crosses:
// pass/wire_type_named_result.rs).
mod api {
    pub type Result = std::result::Result<u64, String>;
}

#[oplink::host_callbacks]
pub trait Catalog {
    fn customers_in(&self, region: &str) -> api::Result;
}

fn main() {}
