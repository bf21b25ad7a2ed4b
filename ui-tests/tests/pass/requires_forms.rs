//! The forms of `requires` next to the ones refused: paths from `crate`, `self` and the
//! root, a comma at the end, an empty list, and a service or a whole list passed in from a
//! `macro_rules!` fragment.
use oplink::prelude::*;

pub mod services {
    #[oplink::host_callbacks]
    pub trait Echo {
        fn echo(&self, text: &str) -> String;
    }
}

#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: &str) -> Option<String>;
}

macro_rules! operator {
    ($ty:ident, $name:literal, [$($service:path),*], $list:expr) => {
        pub struct $ty;

        #[oplink::operator(name = $name, version = "1.0.0", requires = [$($service),*])]
        impl $ty {
            fn new() -> Result<Self> {
                Ok($ty)
            }

            fn apply(&mut self, change: Change) -> Result<Change> {
                Ok(change)
            }
        }

        const _: () = {
            pub struct Whole;

            #[oplink::operator(name = "whole", version = "1.0.0", requires = $list)]
            impl Whole {
                fn new() -> Result<Self> {
                    Ok(Whole)
                }

                fn apply(&mut self, change: Change) -> Result<Change> {
                    Ok(change)
                }
            }
        };
    };
}

operator!(
    Forwarded,
    "forwarded",
    [crate::Catalog, services::Echo],
    [Catalog, oplink::services::State]
);

pub struct Paths;

#[oplink::operator(
    name = "paths",
    version = "1.0.0",
    requires = [crate::services::Echo, self::Catalog, ::oplink::services::Clock,],
)]
impl Paths {
    fn new() -> Result<Self> {
        Ok(Paths)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

pub struct Nothing;

#[oplink::operator(name = "nothing", version = "1.0.0", requires = [])]
impl Nothing {
    fn new() -> Result<Self> {
        Ok(Nothing)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}

fn main() {}
