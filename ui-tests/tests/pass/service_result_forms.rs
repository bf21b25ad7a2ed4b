//! The forms of a service method's `Result` the README allows: `oplink::Result<T>`,
//! `Result<T, oplink::Error>`, a user's `ServiceError` type, a module's own
//! `type Result<T> = std::result::Result<T, String>` (its error type checked through the
//! alias), `Json<Cow<'static, str>>` (serde reads the `Cow`), `#[cfg]` on such methods,
//! `crate = path`; and calls through an alias `Result` from an operator.
#![deny(warnings)]
use std::borrow::Cow;
use std::sync::Arc;

use oplink::prelude::*;
use oplink::service::{Json, ServiceError};

#[derive(Debug)]
pub struct Refused(String);
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl ServiceError for Refused {
    fn from_message(message: String) -> Self {
        Refused(message)
    }
}

pub mod strings {
    pub type Result<T> = std::result::Result<T, String>;
    #[oplink::host_callbacks]
    pub trait Local {
        fn a(&self) -> Result<u64>;
        fn b(&self) -> self::Result<()>;
        fn c(&self) -> crate::strings::Result<Option<String>>;
    }
}

pub mod renamed {
    pub use ::oplink as sdk;
    pub type Result<T> = std::result::Result<T, String>;
    #[sdk::host_callbacks(crate = crate::renamed::sdk)]
    pub trait Renamed {
        fn a(&self) -> Result<u64>;
    }
}

pub mod refused {
    pub type Result<T, E = super::Refused> = std::result::Result<T, E>;
    #[oplink::host_callbacks]
    pub trait R {
        fn a(&self) -> Result<u64>;
        fn b(&self) -> Result<u64, String>;
    }
}

#[oplink::host_callbacks]
pub trait Forms {
    fn a(&self) -> oplink::Result<u64>;
    fn b(&self) -> Result<u64, oplink::Error>;
    fn c(&self) -> std::result::Result<u64, Refused>;
    fn d(&self) -> core::result::Result<(), String>;
    fn e(&self) -> oplink::prelude::Result<Json<Cow<'static, str>>>;
    fn f(&self, x: Json<Cow<'static, str>>) -> Option<Json<Cow<'static, str>>>;
    fn g(
        &self,
        x: Option<Json<Vec<Cow<'static, str>>>>,
    ) -> oplink::Result<Option<Json<Cow<'static, [u8]>>>>;
    fn h(&self) -> Result<u64, Box<dyn std::error::Error + Send + Sync>>;
    #[cfg(all())]
    fn i(&self) -> oplink::Result<u64>;
    #[cfg(any())]
    fn i(&self) -> oplink::Result<String>;
    #[cfg(any())]
    fn j(&self) -> oplink::Result<String>;
}

pub mod api {
    pub type Result<T> = std::result::Result<T, String>;
    #[oplink::host_callbacks(name = "acme.Api")]
    pub trait Api {
        fn count(&self, key: &str) -> Result<u64>;
        fn total(&self) -> oplink::Result<u64>;
    }
}
use api::Api;

struct Impl;
impl Api for Impl {
    fn count(&self, key: &str) -> api::Result<u64> {
        if key == "x" {
            Ok(3)
        } else {
            Err(format!("no {key}"))
        }
    }
    fn total(&self) -> oplink::Result<u64> {
        Ok(9)
    }
}

pub struct Op;
#[oplink::operator(name = "cross", version = "1.0.0", requires = [api::Api])]
impl Op {
    fn new() -> Result<Self> {
        Ok(Op)
    }
    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let api = ctx.service::<dyn api::Api>()?;
        assert_eq!(api.count("x"), Ok(3));
        assert_eq!(api.count("y"), Err("no y".to_owned()));
        assert_eq!(api.total()?, 9);
        Ok(change)
    }
}

fn main() {
    let mut ctx = Context::new("cross").with_service::<dyn Api>(Arc::new(Impl));
    Op.apply(&mut ctx, Change::default()).unwrap();
}
