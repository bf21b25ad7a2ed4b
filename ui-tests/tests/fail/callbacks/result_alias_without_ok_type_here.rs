// A `type Result = …` without parameters in the trait's own module, used as `Result`: the
// macro cannot tell it from a `Result` written without its types, so rustc refuses it as a
// type that cannot be returned, and the note says to write the `Ok` type (before: "so name
// it `Result`", which it is).
type Result = std::result::Result<u64, String>;

#[oplink::host_callbacks]
pub trait Catalog {
    fn customers(&self, region: &str) -> Result;
}

fn main() {}
