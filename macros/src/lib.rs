//! Procedural macros of [oplink](https://docs.rs/oplink). Use them through the `oplink`
//! crate (`#[oplink::operator]`, `#[oplink::host_callbacks]`), which re-exports them; the
//! code they generate names only `::core`, `::std` and `::oplink::__private`.
//!
//! One folder per macro, one file per phase: `args` parses the attribute, `model` parses
//! the item into one model that keeps the user's tokens, `check` reports what is wrong with
//! it, and `expand` (for services: `table`, `host`, `plugin`) writes the code. What both
//! macros share lives in `common`: error collection, attribute parsing, signature checks,
//! spans, `#[cfg]` handling and the `OPLINK_DEBUG` hook. Every phase collects its errors, so
//! a user with three mistakes sees three errors in one build.

#![warn(missing_docs)]

mod common;
mod operator;
mod service;

use proc_macro::TokenStream;

/// Turns an inherent `impl` block into a loadable operator.
///
/// See the `oplink` crate for the full guide. In short:
///
/// ```text
/// #[oplink::operator(name = "threshold", version = "1.0.0", description = "…")]
/// impl Threshold {
///     fn new(cfg: Config) -> Result<Self> { … }
///     fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> { … }
/// }
/// ```
#[proc_macro_attribute]
pub fn operator(args: TokenStream, input: TokenStream) -> TokenStream {
    operator::expand(args.into(), input.into()).into()
}

/// Turns a trait into a host service: a `#[repr(C)]` table of `extern "C"` functions that
/// the host fills from any value implementing the trait, and a proxy through which plugins
/// call it as ordinary Rust.
///
/// See `oplink::service` for the types a method may take and return. In short:
///
/// ```text
/// #[oplink::host_callbacks]
/// pub trait Catalog {
///     fn table_exists(&self, name: &str) -> bool;
///     fn row_count(&self, table: &str) -> oplink::Result<u64>;
/// }
/// ```
#[proc_macro_attribute]
pub fn host_callbacks(args: TokenStream, input: TokenStream) -> TokenStream {
    service::expand(args.into(), input.into()).into()
}
