//! `OPLINK_DEBUG=1 cargo build` prints every expansion to stderr, so that a confusing error
//! can be read against the code it points into.

use proc_macro2::TokenStream;
use quote::quote;

/// Prints `expanded` when `OPLINK_DEBUG` is set, and returns it with a read of
/// `OPLINK_DEBUG` through `option_env!`, which rustc records in the crate's dep-info, so
/// that cargo rebuilds the crate when the variable changes: otherwise a crate built before
/// it was set would print nothing, and one built while it was set would have cargo replay
/// the dump on every later build, the variable unset. oplink's own expansions (its standard
/// services) are neither printed nor tracked: they are not the author's, and tracking them
/// would rebuild every crate that depends on oplink each time the variable changes.
pub fn print(attribute: &str, item: &str, expanded: TokenStream) -> TokenStream {
    if std::env::var("CARGO_CRATE_NAME").is_ok_and(|name| name == "oplink") {
        return expanded;
    }
    if std::env::var_os("OPLINK_DEBUG").is_some() {
        eprintln!("// oplink: expansion of #[{attribute}] on `{item}`\n{expanded}");
    }
    quote! {
        #expanded
        #[doc(hidden)]
        const _: ::core::option::Option<&str> = ::core::option_env!("OPLINK_DEBUG");
    }
}
