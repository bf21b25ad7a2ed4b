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

/// Whether `token` is the punctuation `c`.
pub fn is_punct(token: Option<&proc_macro2::TokenTree>, c: char) -> bool {
    matches!(token, Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == c)
}
