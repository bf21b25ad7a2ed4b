//! Two operators in one file (one library): both register.

use oplink::prelude::*;

struct First;

#[oplink::operator(name = "first", version = "1.0.0")]
impl First {
    fn new() -> Result<Self> {
        Ok(First)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

#[derive(serde::Deserialize)]
struct SecondConfig {
    #[allow(dead_code)]
    label: String,
}

struct Second {
    config: SecondConfig,
}

#[oplink::operator(name = "second", version = "2.0.0")]
impl Second {
    fn new(config: SecondConfig) -> Result<Self> {
        Ok(Second { config })
    }

    fn apply(&mut self, _ctx: &mut Context, change: Change) -> Result<Change> {
        let _ = &self.config;
        Ok(change)
    }
}

fn main() {
    let mut names: Vec<&str> = oplink::__private::OPERATORS
        .iter()
        // SAFETY: descriptor names are views of `'static` strings.
        .map(|r| std::str::from_utf8(unsafe { r.0.name.as_bytes() }).unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["first", "second"]);
}
