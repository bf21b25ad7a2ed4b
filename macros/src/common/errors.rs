//! Error collection: every phase reports all it finds instead of stopping at the first.

use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Collects errors of one expansion.
#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Records an error pointing at `tokens`.
    pub fn at(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub fn at_span(&mut self, span: proc_macro2::Span, message: impl Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Records an already built error.
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// How many errors were recorded.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// All errors as `compile_error!` invocations.
    pub fn into_compile_errors(self) -> TokenStream {
        self.errors
            .into_iter()
            .map(|e| e.into_compile_error())
            .collect()
    }
}

/// The messages of every `compile_error!` in `tokens`, in order.
#[cfg(test)]
pub(crate) fn compile_errors(tokens: TokenStream) -> Vec<String> {
    let mut found = Vec::new();
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        match tree {
            proc_macro2::TokenTree::Ident(ident) if ident == "compile_error" => {
                // `compile_error ! { "message" }`
                let _bang = trees.next();
                if let Some(proc_macro2::TokenTree::Group(group)) = trees.next() {
                    let message: syn::LitStr = syn::parse2(group.stream()).unwrap();
                    found.push(message.value());
                }
            }
            proc_macro2::TokenTree::Group(group) => found.extend(compile_errors(group.stream())),
            _ => {}
        }
    }
    found
}
