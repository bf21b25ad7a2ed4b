//! What the service macro checks: the trait, each method's form, and each type a method
//! takes or returns, where its shape shows it cannot cross (a borrowed return value, a
//! `&String`, a `u128`). Every other type is left to the vocabulary's traits, checked once at
//! the type by the expansion.

use proc_macro2::Ident;
use syn::visit::Visit;
use syn::{FnArg, ItemTrait, TraitItemFn, Type, TypeParamBound};

use crate::common::errors::Errors;
use crate::common::sig::{self, Place};
use crate::common::types::{bare, last_ident, text, type_args};

pub fn trait_item(item: &ItemTrait, errors: &mut Errors) {
    if !item.generics.params.is_empty() {
        errors.at(
            &item.generics,
            format!(
                "host service trait `{}` cannot be generic: the host and the plugin must agree on one table of concrete functions",
                item.ident
            ),
        );
    }
    let name = &item.ident;
    if let Some(clause) = &item.generics.where_clause {
        errors.at(
            clause,
            format!("host service trait `{name}` cannot have a `where` clause: the host and the plugin must agree on one table of concrete functions"),
        );
    }
    if let Some(unsafety) = &item.unsafety {
        errors.at(
            unsafety,
            format!("host service trait `{name}` cannot be `unsafe`: every host service call is safe to make"),
        );
    }
    if let Some(auto) = &item.auto_token {
        errors.at(
            auto,
            format!("host service trait `{name}` cannot be an auto trait: it is a table of functions the host provides"),
        );
    }
    for bound in &item.supertraits {
        let allowed = match bound {
            TypeParamBound::Trait(t) => t
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Send" || s.ident == "Sync"),
            TypeParamBound::Lifetime(lifetime) => lifetime.ident == "static",
            _ => false,
        };
        if !allowed {
            errors.at(
                bound,
                "a host service trait cannot have supertraits (other than `Send`, `Sync` and `'static`, which it always has): the plugin sees the service only through its own methods",
            );
        }
    }
}

/// `&self`, however it is written: `&self`, `&'_ self`, `self: &Self`, `self: &'_ Self`;
/// and `&'a self` for a lifetime `'a` the method declares (reported on its own).
fn shared_self(receiver: &syn::Receiver, generics: &syn::Generics) -> bool {
    let declared = |lifetime: &syn::Lifetime| {
        generics
            .lifetimes()
            .any(|param| param.lifetime.ident == lifetime.ident)
    };
    let anonymous =
        |lifetime: Option<&syn::Lifetime>| lifetime.is_none_or(|l| l.ident == "_" || declared(l));
    if receiver.colon_token.is_none() {
        return receiver.mutability.is_none()
            && receiver
                .reference
                .as_ref()
                .is_some_and(|(_, lifetime)| anonymous(lifetime.as_ref()));
    }
    match &*receiver.ty {
        syn::Type::Reference(reference) => {
            reference.mutability.is_none()
                && anonymous(reference.lifetime.as_ref())
                && matches!(&*reference.elem, syn::Type::Path(path) if path.qself.is_none() && path.path.is_ident("Self"))
        }
        _ => false,
    }
}

pub fn method(method: &TraitItemFn, errors: &mut Errors) {
    let sig = &method.sig;
    let name = &sig.ident;
    if let Some(body) = &method.default {
        errors.at_span(
            body.brace_token.span.join(),
            format!(
                "`{name}` has a default body, which host services do not support: the host implements every method and the plugin calls through a table; remove the body"
            ),
        );
    }
    sig::check_flavor(sig, Place::Service, errors);
    sig::check_generics(sig, "", errors);
    match sig.inputs.first() {
        // `&'a self` of a method that declares `'a`: the lifetime is the one error.
        Some(FnArg::Receiver(receiver)) if shared_self(receiver, &sig.generics) => {}
        Some(FnArg::Receiver(receiver)) => errors.at(
            receiver,
            format!(
                "`{name}` must take `&self`: the host serves every plugin and instance through a shared reference (keep mutable state behind a `Mutex` in the host's type)"
            ),
        ),
        _ => errors.at(
            name,
            format!(
                "`{name}` must take `&self` as its first parameter: a host service method is called on the host's service"
            ),
        ),
    }
}

/// What no type may hold, wherever it appears: `impl Trait`, `Self`, `&mut`, a named
/// lifetime, a 128-bit integer.
fn forbidden(
    ty: &Type,
    what: &str,
    method: &Ident,
    lifetimes_reported: bool,
    errors: &mut Errors,
) -> bool {
    struct Finder<'a> {
        errors: &'a mut Errors,
        what: &'a str,
        method: &'a Ident,
        lifetimes_reported: bool,
        found: bool,
        /// How many `Json<..>` the visit is inside.
        in_json: usize,
    }
    impl Visit<'_> for Finder<'_> {
        fn visit_type_impl_trait(&mut self, ty: &syn::TypeImplTrait) {
            self.found = true;
            self.errors.at(
                ty,
                format!(
                    "`impl Trait` cannot cross the plugin boundary ({} of `{}`): name a concrete type",
                    self.what, self.method
                ),
            );
        }
        fn visit_type_reference(&mut self, ty: &syn::TypeReference) {
            if let Some(token) = &ty.mutability {
                self.found = true;
                self.errors.at(
                    token,
                    format!(
                        "`&mut` cannot cross the plugin boundary ({} of `{}`): the other side cannot write into this side's memory; return the new value instead",
                        self.what, self.method
                    ),
                );
            }
            if let Some(lifetime) = &ty.lifetime
                && lifetime.ident != "_"
            {
                self.found = true;
                if self.lifetimes_reported {
                    return syn::visit::visit_type_reference(self, ty);
                }
                self.errors.at(
                    lifetime,
                    format!(
                        "`{lifetime}` cannot be named here ({} of `{}`): a borrowed parameter lives for the one call, so leave the lifetime out (`&str`, not `&{lifetime} str`)",
                        self.what, self.method
                    ),
                );
            }
            syn::visit::visit_type_reference(self, ty);
        }
        fn visit_path(&mut self, path: &syn::Path) {
            // `Cow<str>`: a borrow or an owned value, the choice made at run time. Left to the
            // vocabulary's traits, its hidden lifetime makes rustc suggest the expansion's own.
            // Inside a `Json`, serde reads it (owned: `Json<Cow<'static, str>>` is fine).
            // std's `Cow` is always written with its arguments: a plain `Cow` is a type of
            // the user's of that name (a `Wire` type, say), left to the vocabulary's traits.
            if let Some(cow) = path.segments.last().filter(|s| {
                s.ident == "Cow"
                    && matches!(s.arguments, syn::PathArguments::AngleBracketed(_))
                    && self.in_json == 0
            }) {
                self.found = true;
                let inner = match &cow.arguments {
                    syn::PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|arg| match arg {
                            syn::GenericArgument::Type(ty) => Some(ty.clone()),
                            _ => None,
                        })
                    }
                    _ => None,
                }
                .unwrap_or_else(|| syn::parse_quote!(str));
                let borrowed: Type = syn::parse_quote!(&#inner);
                let advice = if self.what.starts_with("parameter") {
                    format!(
                        "take `{}` (it crosses as a view, without a copy) or `{}`",
                        text(&borrowed),
                        owned(&borrowed)
                    )
                } else {
                    format!("use `{}` in its place", owned(&borrowed))
                };
                self.errors.at(
                    path,
                    format!(
                        "`Cow` cannot cross the plugin boundary ({} of `{}`): {advice}",
                        self.what, self.method
                    ),
                );
                return;
            }
            if path.segments.first().is_some_and(|s| s.ident == "Self") {
                self.found = true;
                self.errors.at(
                    path,
                    format!(
                        "`Self` cannot appear in a host service method's types ({} of `{}`): the plugin sees the service only as a table of functions",
                        self.what, self.method
                    ),
                );
            }
            if let Some(wide) = path
                .get_ident()
                .filter(|ident| *ident == "u128" || *ident == "i128")
            {
                self.found = true;
                self.errors.at(
                    path,
                    format!(
                        "`{wide}` cannot cross the plugin boundary ({} of `{}`): C has no portable 128-bit integer; use a 64-bit integer, two of them, or the value's bytes (`[u8; 16]` as `Vec<u8>`)",
                        self.what, self.method
                    ),
                );
            }
            let json = path.segments.last().is_some_and(|s| s.ident == "Json");
            self.in_json += usize::from(json);
            syn::visit::visit_path(self, path);
            self.in_json -= usize::from(json);
        }
    }
    let mut finder = Finder {
        errors,
        what,
        method,
        lifetimes_reported,
        found: false,
        in_json: 0,
    };
    finder.visit_type(ty);
    finder.found
}

/// A parameter: borrowed strings and slices cross as views; any other borrow is refused
/// with the form to use instead.
/// `lifetimes_reported`: the method's own lifetime parameters were reported already.
pub fn param(ty: &Type, name: &str, method: &Ident, lifetimes_reported: bool, errors: &mut Errors) {
    let what = format!("parameter `{name}`");
    if forbidden(ty, &what, method, lifetimes_reported, errors) {
        return;
    }
    // What a `Json` carries is read into a value of its own on the other side: `Json<&str>`
    // would be refused by serde ("not general enough"), at the attribute.
    if let Some(json) = borrowing_json(ty) {
        errors.at(
            json,
            format!(
                "`{}` cannot cross the plugin boundary ({what} of `{method}`): what a `Json` carries is read back into a value of its own on the other side, so it owns its data; write `{}`",
                text(json),
                owned(json)
            ),
        );
        return;
    }
    struct Borrows<'a> {
        errors: &'a mut Errors,
        what: &'a str,
        method: &'a Ident,
    }
    impl Visit<'_> for Borrows<'_> {
        fn visit_type_reference(&mut self, reference: &syn::TypeReference) {
            // `&&str`, `&&[u8]`: one borrow too many; advise from the innermost type, once.
            let mut target = bare(&reference.elem);
            let mut nested = false;
            while let Type::Reference(inner) = target {
                target = bare(&inner.elem);
                nested = true;
            }
            let advice = match target {
                _ if nested
                    && (matches!(target, Type::Slice(_))
                        || last_ident(target).as_deref() == Some("str")) =>
                {
                    Some(format!("write `&{}` in its place, with one `&`", text(target)))
                }
                Type::Slice(_) => None,
                Type::TraitObject(_) | Type::BareFn(_) | Type::ImplTrait(_) => Some(
                    "code cannot cross, only data: the other side cannot call a closure or a trait object of this side; pass the values the host needs and return what it computes".to_owned(),
                ),
                _ if last_ident(target).as_deref() == Some("str") => None,
                Type::Array(array) => Some(format!(
                    "write a slice, `&[{}]`, in its place, or `Vec<{0}>` by value",
                    text(&array.elem)
                )),
                _ => Some(match last_ident(target).as_deref() {
                    Some("String") => "write `&str` in its place".to_owned(),
                    Some("Vec") => format!(
                        "write a slice, `&[{}]`, in its place",
                        type_args(target)
                            .first()
                            .map_or_else(|| "T".to_owned(), text)
                    ),
                    Some("RecordBatch") => {
                        "write `RecordBatch` in its place, by value (cloning a batch copies no data)".to_owned()
                    }
                    // Unsized: there is no by value; their text crosses.
                    Some("Path") => {
                        "write `&str` in its place, the path's text (`path.to_str()`; `Path::new(text)` on the other side)".to_owned()
                    }
                    Some(name @ ("OsStr" | "CStr")) => format!(
                        "write `&str` in its place, the text of the `{name}` (`.to_str()`)"
                    ),
                    _ => format!("write `{}` in its place, by value", text(target)),
                }),
            };
            if let Some(advice) = advice {
                self.errors.at(
                    reference,
                    format!(
                        "`{}` cannot cross the plugin boundary ({} of `{}`): only `&str` and slices of numbers cross borrowed; {advice}",
                        text(reference),
                        self.what,
                        self.method
                    ),
                );
            }
            if nested {
                // The inner borrows are this one's; only what they point at is looked into.
                syn::visit::visit_type(self, target);
                return;
            }
            syn::visit::visit_type_reference(self, reference);
        }
    }
    Borrows {
        errors,
        what: &what,
        method,
    }
    .visit_type(ty);
}

/// The first `Json<T>` in `ty` whose `T` borrows.
fn borrowing_json(ty: &Type) -> Option<&Type> {
    if last_ident(ty).as_deref() == Some("Json") {
        return type_args(ty)
            .first()
            .is_some_and(|inner| crate::common::types::has_reference(inner))
            .then_some(ty);
    }
    match bare(ty) {
        Type::Reference(reference) => borrowing_json(&reference.elem),
        Type::Slice(slice) => borrowing_json(&slice.elem),
        other => type_args(other).into_iter().find_map(borrowing_json),
    }
}

/// A return value: it must own what it holds.
pub fn output(ty: &Type, method: &Ident, lifetimes_reported: bool, errors: &mut Errors) {
    // A borrow with its lifetime written (`&'static str`, `Option<&'a str>`) is refused as a
    // borrow: leaving the lifetime out, the advice for a parameter, would only lead to the
    // same refusal. (A `&mut` is refused as that, below.)
    let borrows = crate::common::types::has_reference(ty);
    let refuse_borrow = |errors: &mut Errors| {
        errors.at(
            ty,
            format!(
                "`{method}` returns `{}`, which borrows: a return value must own its data, so return `{}`",
                text(ty),
                owned(ty)
            ),
        );
    };
    if borrows && !has_mut_reference(ty) && !lifetimes(ty).is_empty() {
        refuse_borrow(errors);
        return;
    }
    if forbidden(ty, "the return value", method, lifetimes_reported, errors) {
        return;
    }
    if borrows {
        refuse_borrow(errors);
        return;
    }
    unwritten_ok_type(ty, method, errors);
}

/// `fmt::Result`, a `Result` whose types the alias hides, and whose error type cannot cross:
/// refused with what to write. Left alone, it would be checked as a plain value and refused
/// as a type that cannot be returned, "name it `Result`", which it already is. Another
/// `path::Result` without arguments is left to that check: it may be a type of the user's
/// named `Result` (`search::Result`, a `Wire` type), which crosses, or an alias that hides
/// its `Ok` type, of which the note of that check speaks.
fn unwritten_ok_type(ty: &Type, method: &Ident, errors: &mut Errors) {
    let Type::Path(path) = bare(ty) else {
        return;
    };
    let segments = &path.path.segments;
    let fmt_result = path.qself.is_none()
        && segments.len() >= 2
        && segments[segments.len() - 1].ident == "Result"
        && segments[segments.len() - 2].ident == "fmt"
        && type_args(ty).is_empty();
    if fmt_result {
        errors.at(
            ty,
            format!(
                "`{method}` returns `{}`, that is `Result<(), fmt::Error>` with its types hidden, and `fmt::Error` cannot be a service's error type: write `Result<(), String>` or `oplink::Result<()>` (a `Result` is written with its `Ok` type, as `Result<T, E>` or an alias that takes it, such as `oplink::Result<T>`)",
                text(ty)
            ),
        );
    }
}

/// Whether `ty` holds a `&mut` anywhere.
fn has_mut_reference(ty: &Type) -> bool {
    struct Find(bool);
    impl Visit<'_> for Find {
        fn visit_type_reference(&mut self, reference: &syn::TypeReference) {
            self.0 |= reference.mutability.is_some();
            syn::visit::visit_type_reference(self, reference);
        }
    }
    let mut find = Find(false);
    find.visit_type(ty);
    find.0
}

/// The lifetimes `ty`'s references name (`'static` in `Option<&'static str>`), `'_` aside.
fn lifetimes(ty: &Type) -> Vec<&syn::Lifetime> {
    struct Find<'a>(Vec<&'a syn::Lifetime>);
    impl<'a> Visit<'a> for Find<'a> {
        fn visit_type_reference(&mut self, reference: &'a syn::TypeReference) {
            self.0
                .extend(reference.lifetime.iter().filter(|l| l.ident != "_"));
            syn::visit::visit_type_reference(self, reference);
        }
    }
    let mut find = Find(Vec::new());
    find.visit_type(ty);
    find.0
}

/// `ty` with every borrow replaced by its owned form: `&str` by `String`, `&[T]` and
/// `&[T; N]` by `Vec<T>` (an array does not cross), any other `&T` by `T`.
fn owned(ty: &Type) -> String {
    struct Own;
    impl syn::visit_mut::VisitMut for Own {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            syn::visit_mut::visit_type_mut(self, ty);
            if let Type::Reference(reference) = ty {
                let target = (*reference.elem).clone();
                *ty = match bare(&target) {
                    Type::Slice(syn::TypeSlice { elem, .. })
                    | Type::Array(syn::TypeArray { elem, .. }) => {
                        syn::parse_quote!(Vec<#elem>)
                    }
                    other if last_ident(other).as_deref() == Some("str") => {
                        syn::parse_quote!(String)
                    }
                    _ => target,
                };
            }
        }
    }
    let mut ty = ty.clone();
    syn::visit_mut::VisitMut::visit_type_mut(&mut Own, &mut ty);
    text(&ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_forms() {
        let ty: Type = syn::parse_quote!(Option<&str>);
        assert_eq!(owned(&ty), "Option<String>");
        let ty: Type = syn::parse_quote!(Result<&[u8], String>);
        assert_eq!(owned(&ty), "Result<Vec<u8>, String>");
        let ty: Type = syn::parse_quote!(Option<&[u8; 4]>);
        assert_eq!(owned(&ty), "Option<Vec<u8>>");
    }
}
