//! `key = value` attribute arguments, as both macros take them.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Token};

use super::errors::Errors;

/// How an attribute is written, for the messages of [`key_values`].
pub struct Form {
    /// One entry, e.g. ``"`key = \"value\"`"``.
    pub written: &'static str,
    /// A valid argument list.
    pub example: &'static str,
    /// The attribute's name in messages (`operator`, `host_callbacks`).
    pub attribute: &'static str,
    /// The keys it takes, for messages.
    pub keys: &'static str,
}

/// The `key = value` entries of an attribute, each with its key as text; `None` when the
/// list does not parse. That, and each entry that is not `key = value`, is reported (an
/// entry of the wrong form is left out).
pub fn key_values(
    args: TokenStream,
    errors: &mut Errors,
    form: Form,
) -> Option<Vec<(String, syn::MetaNameValue)>> {
    let Form {
        written,
        example,
        attribute,
        keys,
    } = form;
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(error) => {
            errors.push(syn::Error::new(
                error.span(),
                format!(
                    "expected {written} pairs separated by commas, such as `{example}` ({error})"
                ),
            ));
            return None;
        }
    };
    let mut pairs = Vec::new();
    for meta in metas {
        let Meta::NameValue(pair) = meta else {
            errors.at(
                &meta,
                format!("expected {written}; {attribute} attributes are {keys}"),
            );
            continue;
        };
        let key = pair
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        pairs.push((key, pair));
    }
    Some(pairs)
}

/// `expr` without the invisible groups (and parentheses) around it: a value passed in from
/// a `macro_rules!` fragment (`name = $name`) arrives wrapped in one.
pub fn ungrouped(mut expr: &Expr) -> &Expr {
    loop {
        match expr {
            Expr::Group(group) => expr = &group.expr,
            Expr::Paren(paren) => expr = &paren.expr,
            _ => return expr,
        }
    }
}

/// The value of `crate = path`: a path, or a string literal holding one.
pub fn crate_path(value: &Expr, errors: &mut Errors) -> Option<syn::Path> {
    const HELP: &str = "`crate` takes a path, such as `crate = ::oplink`";
    match ungrouped(value) {
        Expr::Path(path) => Some(path.path.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => s.parse::<syn::Path>().map_err(|_| errors.at(s, HELP)).ok(),
        other => {
            errors.at(other, HELP);
            None
        }
    }
}
