//! Without `description = ...`, the description is the first paragraph of the impl's doc
//! comment, joined into one line.

use oplink::prelude::*;

struct Documented;

/// Passes every change
/// through unchanged.
///
/// This second paragraph is not part of the description.
#[oplink::operator(name = "documented", version = "1.0.0")]
impl Documented {
    fn new() -> Result<Self> {
        Ok(Documented)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {
    let [registration] = &oplink::__private::OPERATORS[..] else {
        panic!("expected one operator")
    };
    // SAFETY: descriptor strings are views of `'static` strings.
    let description = unsafe { registration.0.description.as_bytes() };
    assert_eq!(
        std::str::from_utf8(description).unwrap(),
        "Passes every change through unchanged."
    );
}
