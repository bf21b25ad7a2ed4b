//! A `Wire` type of the user's named `Result` in a module of theirs (a search's result)
//! crosses like any other, written with its path: only a `Result` written with its types is
//! a method that can fail, and only `fmt::Result` is refused for hiding them.
use oplink::prelude::*;
use oplink::service::Wire;

pub mod search {
    /// One hit of a search.
    pub struct Result(pub u8);
}

impl Wire for search::Result {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.0);
    }
    fn decode(bytes: &[u8]) -> Result<search::Result> {
        bytes
            .first()
            .map(|b| search::Result(*b))
            .ok_or_else(|| Error::msg("a result is one byte"))
    }
}

#[oplink::host_callbacks]
pub trait Search {
    fn best(&self, query: &str) -> search::Result;
    fn first(&self, query: &str) -> oplink::Result<search::Result>;
}

fn main() {}
