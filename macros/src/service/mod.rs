//! `#[host_callbacks]`: parse and check a trait into one [`model::Service`], then write both
//! sides from it: the `#[repr(C)]` table and the service's identity (`table`), the host-side
//! thunks (`host`), the plugin-side proxy (`plugin`), and one check per user type.

mod args;
mod check;
mod expand;
mod host;
mod model;
mod plugin;
mod table;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{ItemTrait, TypeParamBound};

use crate::common::errors::Errors;

/// Entry point of `#[host_callbacks]`.
pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(args, &mut errors);
    let mut item: ItemTrait = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let message = "#[oplink::host_callbacks] goes on a trait: `#[oplink::host_callbacks] pub trait Catalog { fn row_count(&self, table: &str) -> Result<u64>; }`";
            let mut tokens = input.into_iter();
            let first = tokens.next();
            let span = first.as_ref().map_or_else(Span::call_site, |t| t.span());
            let error = syn::Error::new(span, message).into_compile_error();
            let rest: TokenStream = first.into_iter().chain(tokens).collect();
            return quote!(#error #rest);
        }
    };
    let service = model::Service::parse(&item, &args, &mut errors);
    let generated = errors.is_empty().then(|| expand::generate(&service));
    drop(service);
    let expanded = match generated {
        Some(generated) => {
            add_thread_safety(&mut item);
            quote!(#item #generated)
        }
        None => {
            let errors = errors.into_compile_errors();
            quote!(#errors #item)
        }
    };
    crate::common::debug::print("host_callbacks", &item.ident.to_string(), expanded)
}

/// Makes the trait require `Send + Sync`: one host value serves every instance, from any
/// thread, and the plugin's proxy is kept in an operator that is `Send`.
fn add_thread_safety(item: &mut ItemTrait) {
    for bound in ["Send", "Sync"] {
        let present = item.supertraits.iter().any(|b| match b {
            TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == bound),
            _ => false,
        });
        if !present {
            let ident = proc_macro2::Ident::new(bound, Span::call_site());
            item.supertraits
                .push(syn::parse_quote!(::core::marker::#ident));
            if item.colon_token.is_none() {
                item.colon_token = Some(Default::default());
            }
        }
    }
}
