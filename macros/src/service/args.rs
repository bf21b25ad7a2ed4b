//! The arguments of `#[host_callbacks(...)]`: `name` and `crate`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, ExprLit, Lit, LitStr};

use crate::common::attr;
use crate::common::errors::Errors;

pub struct Args {
    pub name: Option<LitStr>,
    pub krate: syn::Path,
}

/// The keys, each in the form it is written, for messages.
const KEYS: &str = "`name = \"...\"` or `crate = path`";
/// The keys [`KEYS`] lists, for "did you mean".
const KEY_NAMES: [&str; 2] = ["name", "crate"];

pub fn parse(args: TokenStream, errors: &mut Errors) -> Args {
    let mut out = Args {
        name: None,
        krate: syn::parse_quote!(::oplink),
    };
    let Some(entries) = attr::key_values(
        args,
        errors,
        attr::Form {
            written: "`key = value`",
            example: "name = \"acme.Catalog\"",
            attribute: "host_callbacks",
            keys: KEYS,
            values: &[("name", "\"acme.Catalog\""), ("crate", "::oplink")],
        },
    ) else {
        return out;
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, pair) in &entries.pairs {
        let key = key.as_str();
        // An unknown key is reported as unknown each time, not as given twice.
        let known = KEY_NAMES.contains(&key);
        if known && seen.contains(&key) {
            errors.at(
                &pair.path,
                format!("host_callbacks attribute `{key}` given twice: give `{key}` once"),
            );
            continue;
        }
        seen.push(key);
        match (key, crate::common::attr::ungrouped(&pair.value)) {
            (
                "name",
                Expr::Lit(ExprLit {
                    lit: Lit::Str(name),
                    ..
                }),
            ) => match check_service_name(&name.value()) {
                Ok(()) => out.name = Some(name.clone()),
                Err(why) => errors.at(name, why),
            },
            ("name", other) => errors.at(
                other,
                "`name` takes a string literal, such as `name = \"acme.Catalog\"`",
            ),
            ("crate", value) => {
                if let Some(path) = attr::crate_path(value, errors) {
                    out.krate = path;
                }
            }
            _ => {
                let path = &pair.path;
                let hint = crate::common::suggest::did_you_mean(key, KEY_NAMES);
                errors.at(
                    path,
                    format!(
                        "unknown host_callbacks attribute `{}`; {hint}expected {KEYS}",
                        quote!(#path)
                    ),
                );
            }
        }
    }
    out
}

/// Service names: 1 to 128 ASCII letters, digits, `_` or `.`, starting with a letter.
fn check_service_name(name: &str) -> Result<(), String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.');
    if name.is_empty()
        || name.len() > 128
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.chars().all(valid)
    {
        return Err(format!(
            "invalid service name `{name}`: use 1 to 128 ASCII letters, digits, `_` and `.`, starting with a letter"
        ));
    }
    Ok(())
}
