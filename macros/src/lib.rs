//! Procedural macros of [oplink](https://docs.rs/oplink). Use them through the `oplink`
//! crate (`#[oplink::operator]`), which re-exports them; the code they generate names only
//! `::core`, `::std` and `::oplink::__private`.
//!
//! The work is split by phase, one file each: `attr` parses the attribute's arguments,
//! `model` parses and checks the impl block into one model, `expand` writes the code.
//! Every phase collects its errors (see `errors`), so a user with three mistakes sees three
//! errors in one build.

mod attr;
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
