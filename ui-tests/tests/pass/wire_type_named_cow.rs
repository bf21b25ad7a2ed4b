//! A `Wire` type of the user's named `Cow` crosses like any other: only std's `Cow<…>`
//! (always written with its arguments) is refused outside a `Json`.
use oplink::prelude::*;
use oplink::service::Wire;

/// A type of the user's that happens to be called `Cow`.
pub struct Cow(pub u8);

impl Wire for Cow {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.0);
    }
    fn decode(bytes: &[u8]) -> Result<Cow> {
        bytes
            .first()
            .map(|b| Cow(*b))
            .ok_or_else(|| Error::msg("a Cow is one byte"))
    }
}

#[oplink::host_callbacks]
pub trait Farm {
    fn feed(&self, cow: Cow) -> Cow;
    fn herd(&self, cows: Option<Cow>) -> oplink::Result<Option<Cow>>;
}

fn main() {}
