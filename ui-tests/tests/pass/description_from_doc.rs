//! Without `description = ...`, the description is the first paragraph of the impl's doc
//! comment, joined into one line: from `///` lines or from a `/** */` block.

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

struct Blocked;

/**
 * Passes every change
 * through, documented in a block.
 *
 * This second paragraph is not part of the description.
 */
#[oplink::operator(name = "blocked", version = "1.0.0")]
impl Blocked {
    fn new() -> Result<Self> {
        Ok(Blocked)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {
    let mut descriptions: Vec<(String, String)> = oplink::__private::OPERATORS
        .iter()
        .map(|registration| {
            // SAFETY: descriptor strings are views of `'static` strings.
            let (name, description) = unsafe {
                (
                    registration.0.name.as_bytes(),
                    registration.0.description.as_bytes(),
                )
            };
            (
                String::from_utf8(name.to_vec()).unwrap(),
                String::from_utf8(description.to_vec()).unwrap(),
            )
        })
        .collect();
    descriptions.sort();
    assert_eq!(
        descriptions,
        [
            (
                "blocked".to_owned(),
                "Passes every change through, documented in a block.".to_owned()
            ),
            (
                "documented".to_owned(),
                "Passes every change through unchanged.".to_owned()
            ),
        ]
    );
}
