//! `#[operator]`: parse the arguments and the impl block into one model, check it, then
//! write the bridge to the runtime, the vtable, the descriptor and its registration.

mod args;
mod check;
mod expand;
mod model;

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, Item, ItemImpl, Type};

use crate::common::errors::Errors;
use model::Operator;

/// Entry point of `#[operator]`.
pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(args, &mut errors);
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Impl(item)) => item,
        Ok(other) => {
            errors.at(
                expand::item_head(&other),
                "#[oplink::operator] goes on an `impl` block of the operator type, such as `impl Threshold { ... }`",
            );
            let mut out = errors.into_compile_errors();
            out.extend(input);
            return out;
        }
        Err(error) => {
            let mut out = error.into_compile_error();
            out.extend(input);
            return out;
        }
    };
    let model = Operator::from_syn(&item, &mut errors);
    let expanded = if errors.is_empty() {
        expand::generate(&model, &args)
    } else {
        // Keep the user's impl so that its methods still resolve: the user sees our errors
        // and not a cascade of "no function named `new`" after them.
        let mut out = errors.into_compile_errors();
        let kept = without_trait_visibility(without_context_by_value(item.clone()));
        out.extend(quote!(#kept));
        out
    };
    crate::common::debug::print(
        "operator",
        &crate::common::types::text(&item.self_ty),
        expanded,
    )
}

/// A trait impl (refused, with the advice to write an inherent impl) kept without `pub` on
/// its items: `pub fn new` is right in the inherent impl the user is told to write, and
/// rustc's "visibility qualifiers are not permitted here" would tell them to remove it.
fn without_trait_visibility(mut item: ItemImpl) -> ItemImpl {
    if item.trait_.is_none() {
        return item;
    }
    for entry in &mut item.items {
        match entry {
            ImplItem::Fn(method) => method.vis = syn::Visibility::Inherited,
            ImplItem::Const(constant) => constant.vis = syn::Visibility::Inherited,
            ImplItem::Type(ty) => ty.vis = syn::Visibility::Inherited,
            _ => {}
        }
    }
    item
}

/// The user's impl as it is kept after our errors, with a `Context` taken by value (which
/// the check has reported) taken as `&mut Context`: `Context` is unsized, so rustc would
/// report that parameter again, less clearly.
fn without_context_by_value(mut item: ItemImpl) -> ItemImpl {
    for entry in &mut item.items {
        let ImplItem::Fn(method) = entry else {
            continue;
        };
        for input in &mut method.sig.inputs {
            if let FnArg::Typed(arg) = input
                && let Type::Path(path) = &*arg.ty
                && path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Context")
            {
                let ty = &arg.ty;
                let borrowed: Type = syn::parse_quote_spanned!(ty.span()=> &mut #ty);
                *arg.ty = borrowed;
            }
        }
    }
    item
}
