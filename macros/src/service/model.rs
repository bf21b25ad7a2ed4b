//! The model of a service: its trait, parsed and checked into what both sides are written
//! from.

use proc_macro2::{Ident, TokenStream};
use syn::{FnArg, ItemTrait, LitStr, Pat, ReturnType, TraitItem, TraitItemFn, Type};

use super::args::Args;
use super::check;
use crate::common::errors::Errors;
use crate::common::types::{self, result_parts};

/// The parsed and checked trait.
pub struct Service<'a> {
    pub trait_ident: &'a Ident,
    /// The service's name (`name = "…"`, or the trait's).
    pub name: String,
    pub krate: syn::Path,
    pub methods: Vec<Method<'a>>,
}

pub struct Method<'a> {
    pub ident: &'a Ident,
    /// The `#[cfg]` conditions on the method, combined.
    pub cfg: Option<TokenStream>,
    /// `fn name(&self, a: A) -> R`, tidied, for messages.
    pub signature: String,
    pub params: Vec<Param<'a>>,
    /// The return type as written (`()` when absent).
    pub output: Type,
    /// For a `Result` return: its `Ok` type and, when written, its error type.
    pub fallible: Option<(Type, Option<Type>)>,
}

pub struct Param<'a> {
    /// The name in the signature, for messages (`_` when it is not a plain identifier).
    pub name: String,
    pub ty: &'a Type,
}

impl<'a> Service<'a> {
    pub fn parse(item: &'a ItemTrait, args: &Args, errors: &mut Errors) -> Service<'a> {
        check::trait_item(item, errors);
        let methods = item
            .items
            .iter()
            .filter_map(|entry| match entry {
                TraitItem::Fn(method) => Method::parse(method, errors),
                TraitItem::Type(ty) => {
                    errors.at(ty, associated_type(&ty.ident.to_string()));
                    None
                }
                TraitItem::Const(c) => {
                    errors.at(
                        c,
                        associated_const(&c.ident.to_string(), &crate::common::types::text(&c.ty)),
                    );
                    None
                }
                TraitItem::Macro(call) => {
                    errors.at(
                        call,
                        format!(
                            "host service traits cannot hold a macro call (`{}!`): `#[host_callbacks]` sees it unexpanded, so write out the methods it would give",
                            crate::common::types::text(&call.mac.path)
                        ),
                    );
                    None
                }
                // syn keeps an item it cannot model as tokens: one with `pub` or `default`
                // in front (`pub fn get`, `pub const LIMIT`), or a generic constant.
                TraitItem::Verbatim(tokens) => {
                    errors.at(tokens, verbatim(tokens));
                    None
                }
                other => {
                    errors.at(
                        other,
                        format!(
                            "`{}` cannot appear in a host service trait: only methods (`fn name(&self, …) -> …`) cross the C ABI between plugin and host",
                            crate::common::types::text(other)
                        ),
                    );
                    None
                }
            })
            .collect::<Vec<_>>();
        // Two methods of one name (outside `#[cfg]` choosing one per build) would be two
        // slots of one name in the table: rustc reports the trait's own error, and the
        // expansion is left out rather than add a cascade about its own items.
        let mut seen: Vec<(&Ident, bool)> = Vec::new();
        for entry in &item.items {
            let TraitItem::Fn(method) = entry else {
                continue;
            };
            let ident = &method.sig.ident;
            let conditional = crate::common::cfg::predicate(&method.attrs).is_some();
            if seen.iter().any(|(other, other_conditional)| {
                *other == ident && !(conditional && *other_conditional)
            }) {
                errors.at(
                    ident,
                    format!(
                        "`{ident}` is declared twice in `{}`: a host service method is known by its name; to change a method, add one under a new name (`{ident}_v2`) and mark the old one `#[deprecated]`, or put `#[cfg(...)]` on each version so that one is compiled",
                        item.ident
                    ),
                );
            }
            seen.push((ident, conditional));
        }
        if methods.is_empty() && errors.is_empty() {
            errors.at(
                &item.ident,
                format!(
                    "host service `{}` has no methods: declare at least one `fn …(&self, …)`",
                    item.ident
                ),
            );
        }
        Service {
            trait_ident: &item.ident,
            name: args
                .name
                .as_ref()
                .map_or_else(|| item.ident.to_string(), LitStr::value),
            krate: args.krate.clone(),
            methods,
        }
    }
}

impl<'a> Method<'a> {
    fn parse(method: &'a TraitItemFn, errors: &mut Errors) -> Option<Method<'a>> {
        let before = errors.len();
        check::method(method, errors);
        let sig = &method.sig;
        let lifetimes_reported = sig.generics.lifetimes().next().is_some();
        let mut params = Vec::new();
        for input in &sig.inputs {
            let FnArg::Typed(typed) = input else { continue };
            let name = match &*typed.pat {
                Pat::Ident(ident) => crate::common::unraw(&ident.ident),
                _ => "_".to_owned(),
            };
            check::param(&typed.ty, &name, &sig.ident, lifetimes_reported, errors);
            params.push(Param {
                name,
                ty: &typed.ty,
            });
        }
        let output: Type = match &sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        check::output(&output, &sig.ident, lifetimes_reported, errors);
        if errors.len() > before {
            return None;
        }
        let fallible = result_parts(&output).map(|(ok, err)| (ok.clone(), err.cloned()));
        Some(Method {
            ident: &sig.ident,
            cfg: crate::common::cfg::predicate(&method.attrs),
            signature: signature_text(method),
            params,
            output,
            fallible,
        })
    }
}

/// `fn name(&self, a: &str) -> Result<u64>`: the signature as written, spacing tidied.
pub fn signature_text(method: &TraitItemFn) -> String {
    let sig = &method.sig;
    let params: Vec<String> = sig
        .inputs
        .iter()
        .map(|input| match input {
            FnArg::Receiver(_) => "&self".to_owned(),
            FnArg::Typed(typed) => {
                format!("{}: {}", types::text(&typed.pat), types::text(&typed.ty))
            }
        })
        .collect();
    let output = match &sig.output {
        ReturnType::Default => String::new(),
        ReturnType::Type(_, ty) => format!(" -> {}", types::text(ty)),
    };
    format!("fn {}({}){output}", sig.ident, params.join(", "))
}

fn associated_type(name: &str) -> String {
    format!(
        "host service traits cannot have associated types (`type {name}`): both sides must agree on every type at compile time; name the concrete type in the method signatures"
    )
}

fn associated_const(name: &str, ty: &str) -> String {
    format!(
        "host service traits cannot have associated constants (`const {name}`): a constant cannot be called across the boundary; make it a method (`fn {}(&self) -> {ty}`)",
        name.to_lowercase()
    )
}

/// The message for an item syn kept as tokens, naming it by its keyword and name:
/// `pub fn get` or `default fn get` (a method with a qualifier a trait item cannot have),
/// `pub const LIMIT` or `const LIMIT<T>` (a constant), `pub type Output` (a type).
fn verbatim(tokens: &TokenStream) -> String {
    use proc_macro2::TokenTree;
    // The item's top-level words in order; attributes and `pub(crate)` are groups, skipped.
    let words: Vec<String> = tokens
        .clone()
        .into_iter()
        .filter_map(|token| match token {
            TokenTree::Ident(ident) => Some(ident.to_string()),
            _ => None,
        })
        .collect();
    // The item's kind is its first keyword: `pub const F: fn(u8)` is a constant.
    let kind = words
        .iter()
        .position(|word| matches!(word.as_str(), "fn" | "type" | "const"));
    // `pub const fn get` is a method.
    let kind = kind.map(|at| match words.get(at + 1) {
        Some(next) if words[at] == "const" && next == "fn" => at + 1,
        _ => at,
    });
    if let Some(at) = kind
        && let Some(name) = words.get(at + 1)
    {
        match words[at].as_str() {
            "fn" => {
                let mut written = Vec::new();
                let mut reasons = Vec::new();
                for word in &words[..at] {
                    match word.as_str() {
                        "pub" => reasons.push("a trait's methods take the trait's visibility"),
                        "default" => reasons.push("it belongs on an item of a specializing impl"),
                        _ => continue,
                    }
                    written.push(word.as_str());
                }
                if !written.is_empty() {
                    let written = written.join(" ");
                    return format!(
                        "`{written} fn {name}` in a host service trait: remove `{written}` ({}) and write `fn {name}(&self, …)`",
                        reasons.join("; ")
                    );
                }
            }
            "type" => return associated_type(name),
            _ => return associated_const(name, "…"),
        }
    }
    format!(
        "`{}` cannot appear in a host service trait: only methods (`fn name(&self, …) -> …`) cross the C ABI between plugin and host",
        crate::common::types::text(tokens)
    )
}
