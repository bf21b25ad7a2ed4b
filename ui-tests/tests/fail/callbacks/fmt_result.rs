// `fmt::Result` is named `Result` but hides its `Ok` type, and its error type cannot cross:
// told what to write (before: "`Result<(), std::fmt::Error>` cannot be returned …, so
// name it `Result`", which it is).
use std::fmt;

#[oplink::host_callbacks]
pub trait Printer {
    fn print(&self, text: &str) -> fmt::Result;
}

fn main() {}
