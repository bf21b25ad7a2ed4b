//! Signatures written in other ways that mean the same: an alias of `Result`, a boxed error
//! type, `self: &mut Self`, attribute values passed in from `macro_rules!`, an operator
//! defined in a function body (as a test may); and no warning from the expansion, with
//! lints that are off by default turned on.
#![deny(warnings, unused_lifetimes, unit_bindings)]

use oplink::prelude::*;

type OpResult<T> = oplink::Result<T>;

#[derive(serde::Deserialize)]
pub struct Config {
    pub min: i64,
}

pub struct Op {
    min: i64,
}

macro_rules! operator {
    ($name:literal, $version:expr) => {
        #[oplink::operator(name = $name, version = $version, description = "made by a macro")]
        impl Op {
            fn new(cfg: Config) -> OpResult<Self> {
                Ok(Op { min: cfg.min })
            }

            fn apply(self: &mut Self, change: Change) -> Result<Change, Box<std::io::Error>> {
                let _ = self.min;
                Ok(change)
            }
        }
    };
}

operator!("op", "1.0.0");

/// An operator that is its own configuration.
#[derive(serde::Deserialize)]
pub struct SelfConfigured {
    pub min: i64,
}

#[oplink::operator(name = "self_configured", version = "1.0.0")]
impl SelfConfigured {
    fn new(config: Self) -> Result<Self> {
        Ok(config)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        let _ = self.min;
        Ok(change)
    }
}

// The bounds every service has anyway, written out.
#[oplink::host_callbacks(name = "acme.Rates")]
pub trait Rates: Send + Sync + 'static {
    fn rate(&self, currency: &str) -> f64;
    // An error type written out, and JSON both ways.
    fn refresh(&self) -> Result<(), String>;
    fn quotes(&self, currencies: oplink::service::Json<Vec<String>>) -> oplink::service::Json<Vec<f64>>;
    // `&self` written out, or with its lifetime elided.
    fn spread(self: &Self, currency: &str) -> f64;
    fn source(&'_ self) -> String;
}

fn main() {
    // An operator local to a function, as a unit test may define one.
    struct Local;

    #[oplink::operator(name = "local", version = "1.0.0")]
    impl Local {
        fn new() -> Result<Self> {
            Ok(Local)
        }

        fn apply(&mut self, change: Change) -> Result<Change> {
            Ok(change)
        }
    }

    let mut local = Local::new().unwrap();
    assert!(local.apply(Change::default()).unwrap().diffs.is_empty());
}
