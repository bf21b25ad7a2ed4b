//! `key = value` attribute arguments, as both macros take them.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Token};

use super::errors::Errors;

/// How an attribute is written, for the messages of [`key_values`].
pub struct Form {
    /// One entry, true of every key: ``"`key = value`"``.
    pub written: &'static str,
    /// A valid argument list.
    pub example: &'static str,
    /// The attribute's name in messages (`operator`, `host_callbacks`).
    pub attribute: &'static str,
    /// The keys it takes, each in its form (`` `name = "..."` or `crate = path` ``), for
    /// messages.
    pub keys: &'static str,
    /// Each key it takes with a value to show in an example: `("name", "\"threshold\"")`.
    pub values: &'static [(&'static str, &'static str)],
}

/// The entries of an attribute: its `key = value` pairs, each with its key as text, and the
/// keys of the entries written in another form (`name("op")`, a bare `name`), which were
/// reported, so that the key is not reported again as missing.
pub struct Entries {
    pub pairs: Vec<(String, syn::MetaNameValue)>,
    pub misformed: Vec<String>,
}

/// The `key = value` entries of an attribute; `None` when the list does not parse. That,
/// and each entry that is not `key = value`, is reported (an entry of the wrong form is
/// left out).
pub fn key_values(args: TokenStream, errors: &mut Errors, form: Form) -> Option<Entries> {
    let Form {
        written,
        example,
        attribute,
        keys,
        values,
    } = form;
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args.clone()) {
        Ok(metas) => metas,
        Err(error) => {
            // Mistakes of form that can be named: said at them, each. Anything else gets
            // syn's account, after the form to write.
            let before = errors.len();
            misformed_entries(args, errors, written, example);
            if errors.len() == before {
                errors.push(syn::Error::new(
                    error.span(),
                    format!(
                        "expected {written} pairs separated by commas, such as `{example}` ({error})"
                    ),
                ));
            }
            return None;
        }
    };
    let mut out = Entries {
        pairs: Vec::new(),
        misformed: Vec::new(),
    };
    for meta in metas {
        let path = meta.path();
        // `r#name` is `name`, as Rust reads it.
        let key = path.get_ident().map(super::unraw);
        let value = key
            .as_deref()
            .and_then(|key| values.iter().find(|(k, _)| *k == key))
            .map(|(_, value)| *value);
        match (&meta, key, value) {
            (Meta::NameValue(pair), key, _) => {
                out.pairs.push((key.unwrap_or_default(), pair.clone()));
            }
            // `name` alone.
            (Meta::Path(_), Some(key), Some(value)) => {
                errors.at(
                    &meta,
                    format!("`{key}` needs a value: write `{key} = {value}`"),
                );
                out.misformed.push(key);
            }
            // `name("op")`, `requires(Catalog)`.
            (Meta::List(list), Some(key), Some(value)) => {
                let inner = super::types::text(&list.tokens);
                let shown = if value.starts_with('[') {
                    format!("[{inner}]")
                } else {
                    inner
                };
                errors.at(
                    &meta,
                    format!(
                        "write `{key} = {shown}`, not `{}`: {attribute} attributes are written {written}",
                        super::types::text(&meta)
                    ),
                );
                out.misformed.push(key);
            }
            (_, key, _) => {
                let shown = super::types::text(path);
                let names: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
                let hint = key
                    .as_deref()
                    .map(|key| super::suggest::did_you_mean(key, names.iter().copied()))
                    .unwrap_or_default();
                errors.at(
                    &meta,
                    format!("unknown {attribute} attribute `{shown}`; {hint}expected {keys}"),
                );
                if let Some(key) = key {
                    out.misformed.push(key);
                }
            }
        }
    }
    Some(out)
}

/// Reports the entries of `args` (split at its commas) that are written in a form that
/// can be named: a value without its key (`"op"`), `key: value` and `key == value`.
fn misformed_entries(args: TokenStream, errors: &mut Errors, written: &str, example: &str) {
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    for entry in tokens.split(|t| super::is_punct(Some(t), ',')) {
        match entry {
            [TokenTree::Literal(literal), ..] => {
                errors.at(
                    literal,
                    format!(
                        "`{literal}` has no key: write each argument as {written}, such as `{example}`"
                    ),
                );
            }
            [TokenTree::Ident(key), TokenTree::Punct(colon), rest @ ..]
                if colon.as_char() == ':' && !super::is_punct(rest.first(), ':') =>
            {
                errors.at(
                    colon,
                    format!(
                        "write `{key} = ...`, with `=`, not `:`: arguments are written {}, such as `{}`",
                        written, example
                    ),
                );
            }
            [
                TokenTree::Ident(key),
                TokenTree::Punct(first),
                TokenTree::Punct(second),
                ..,
            ] if first.as_char() == '=' && second.as_char() == '=' => {
                let both: TokenStream = [
                    TokenTree::Punct(first.clone()),
                    TokenTree::Punct(second.clone()),
                ]
                .into_iter()
                .collect();
                errors.at(
                    both,
                    format!(
                        "write `{key} = ...`, with one `=`: arguments are written {}, such as `{}`",
                        written, example
                    ),
                );
            }
            _ => {}
        }
    }
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
