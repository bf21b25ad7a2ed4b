//! `OPLINK_DEBUG=1 cargo build` prints every expansion to stderr, so that a confusing error
//! can be read against the code it points into.

use proc_macro2::TokenStream;

/// Prints `expanded` when `OPLINK_DEBUG` is set.
pub fn print(attribute: &str, item: &str, expanded: &TokenStream) {
    if std::env::var_os("OPLINK_DEBUG").is_some() {
        eprintln!("// oplink: expansion of #[{attribute}] on `{item}`\n{expanded}");
    }
}
