//! What both macros share.

pub mod attr;
pub mod cfg;
pub mod debug;
pub mod errors;
pub mod sig;
pub mod span;
pub mod suggest;
pub mod types;

/// A name as Rust reads it: `apply` for `r#apply`, `type` for `r#type` (in messages, on the
/// wire and in C).
pub fn unraw(ident: &proc_macro2::Ident) -> String {
    syn::ext::IdentExt::unraw(ident).to_string()
}
