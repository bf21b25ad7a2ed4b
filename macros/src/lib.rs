//! Procedural macros of [oplink](https://docs.rs/oplink). Use them through the `oplink`
//! crate (`#[oplink::operator]`), which re-exports them; the code they generate names only
//! `::core`, `::std` and `::oplink::__private`.
//!
//! The work is split by phase, one file each: `attr` parses the attribute's arguments,
//! `model` parses and checks the impl block into one model, `expand` writes the code.
//! Every phase collects its errors (see `errors`), so a user with three mistakes sees three
//! errors in one build.

mod attr;
mod callbacks;
mod errors;
mod expand;
mod model;

use proc_macro::TokenStream;

/// Turns an inherent `impl` block into a loadable operator.
///
/// See the `oplink` crate for the full guide. In short:
///
/// ```ignore
/// #[oplink::operator(name = "threshold", version = "1.0.0", description = "…")]
/// impl Threshold {
///     fn new(cfg: Config) -> Result<Self> { … }
///     fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> { … }
/// }
/// ```
#[proc_macro_attribute]
pub fn operator(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::operator(args.into(), input.into()).into()
}

/// Turns a trait into a host service: a `#[repr(C)]` table of `extern "C"` functions that
/// the host fills from any value implementing the trait, and a proxy through which plugins
/// call it as ordinary Rust.
///
/// See `oplink::service` for the types a method may take and return. In short:
///
/// ```ignore
/// #[oplink::host_callbacks]
/// pub trait Catalog {
///     fn table_exists(&self, name: &str) -> bool;
///     fn row_count(&self, table: &str) -> oplink::Result<u64>;
/// }
/// ```
#[proc_macro_attribute]
pub fn host_callbacks(args: TokenStream, input: TokenStream) -> TokenStream {
    callbacks::host_callbacks(args.into(), input.into()).into()
}
