//! Checks of a method's signature that both macros make: what kind of `fn` it is, and its
//! generics.

use syn::{GenericParam, Signature};

use super::errors::Errors;

/// Where a method sits, for the wording of messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A method of an `#[operator]` impl.
    Operator,
    /// A method of a `#[host_callbacks]` trait.
    Service,
}

/// Reports `async`, `unsafe`, `const`, `extern` and variadic methods.
pub fn check_flavor(sig: &Signature, place: Place, errors: &mut Errors) {
    let name = &sig.ident;
    if let Some(token) = &sig.asyncness {
        let why = match place {
            Place::Operator => "operator methods are called synchronously by the host",
            Place::Service => "host service calls are synchronous",
        };
        errors.at(token, format!("`{name}` cannot be `async`: {why}"));
    }
    if let Some(token) = &sig.unsafety {
        let why = match place {
            Place::Operator => "the host calls it with no extra promises",
            Place::Service => "every host service call is safe to make",
        };
        errors.at(token, format!("`{name}` cannot be `unsafe`: {why}"));
    }
    if let Some(token) = &sig.constness {
        errors.at(token, format!("`{name}` cannot be `const`"));
    }
    if let Some(abi) = &sig.abi {
        errors.at(
            abi,
            format!("`{name}` must be a plain Rust fn: oplink writes the `extern \"C\"` side"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(variadic, format!("`{name}` cannot be variadic"));
    }
}

/// Reports generics. Lifetime parameters alone get their own advice: borrowed parameters
/// live for the one call, so the lifetime can be left out.
pub fn check_generics(sig: &Signature, expected: &str, errors: &mut Errors) {
    let generics = &sig.generics;
    if generics.params.is_empty() && generics.where_clause.is_none() {
        return;
    }
    let name = &sig.ident;
    // `Generics` prints its parameters only: a `where` clause alone has no tokens there, and
    // an error at them would land on the attribute.
    if generics.params.is_empty()
        && let Some(clause) = &generics.where_clause
    {
        errors.at(
            clause,
            format!(
                "`{name}` cannot have a `where` clause: each method becomes one `extern \"C\"` function of concrete types, so there is nothing for it to bound (remove it){expected}"
            ),
        );
        return;
    }
    let only_lifetimes = generics
        .params
        .iter()
        .all(|p| matches!(p, GenericParam::Lifetime(_)))
        && generics.where_clause.is_none();
    if only_lifetimes {
        errors.at(
            generics,
            format!(
                "`{name}` cannot name lifetimes: a borrowed parameter lives for the one call, so leave the lifetime out (`&str`, not `&'a str`){expected}"
            ),
        );
    } else {
        errors.at(
            generics,
            format!("`{name}` cannot be generic: each method becomes one `extern \"C\"` function of concrete types{expected}"),
        );
    }
}
