//! `#[cfg(...)]` on the methods of an operator impl or a service trait: the generated code
//! for a method carries the same conditions as the method.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Meta};

/// The conditions of `attrs`' `#[cfg(...)]` attributes, combined: `None` when there are none.
pub fn predicate(attrs: &[Attribute]) -> Option<TokenStream> {
    let predicates: Vec<&TokenStream> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .filter_map(|attr| match &attr.meta {
            Meta::List(list) => Some(&list.tokens),
            _ => None,
        })
        .collect();
    match predicates.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => Some(quote!(all(#(#many),*))),
    }
}

/// `#[cfg(predicate)]`, or nothing.
pub fn attribute(predicate: Option<&TokenStream>) -> TokenStream {
    match predicate {
        Some(predicate) => quote!(#[cfg(#predicate)]),
        None => TokenStream::new(),
    }
}

/// `#[cfg(not(predicate))]`, or nothing.
pub fn negated(predicate: Option<&TokenStream>) -> TokenStream {
    match predicate {
        Some(predicate) => quote!(#[cfg(not(#predicate))]),
        None => TokenStream::new(),
    }
}

/// `cfg!(predicate)`, or `true`.
pub fn test(predicate: Option<&TokenStream>) -> TokenStream {
    match predicate {
        Some(predicate) => quote!(::core::cfg!(#predicate)),
        None => quote!(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_combine() {
        let item: syn::ItemFn = syn::parse_quote! {
            #[cfg(feature = "a")]
            #[inline]
            #[cfg(unix)]
            fn f() {}
        };
        let p = predicate(&item.attrs).unwrap().to_string();
        assert_eq!(p, "all (feature = \"a\" , unix)");
        let item: syn::ItemFn = syn::parse_quote! { #[allow(dead_code)] fn f() {} };
        assert!(predicate(&item.attrs).is_none());
    }
}
