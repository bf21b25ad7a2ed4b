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
    // The standard services' names are the SDK's own (`crate = crate`, inside it): a trait
    // elsewhere named so would never be reached, since every host answers that name itself.
    if let Some(name) = &out.name
        && STANDARD_NAMES.contains(&name.value().as_str())
        && !out.krate.is_ident("crate")
    {
        errors.at(
            name,
            format!(
                "`{}` is the name of a standard service, which every host provides itself: a trait of yours named so could never be provided (`provide` refuses it) nor reached; give it a name of its own, such as `acme.{}`",
                name.value(),
                name.value().trim_start_matches("oplink.")
            ),
        );
    }
    out
}

/// The names of the standard services (`oplink::services`), which every host answers itself.
const STANDARD_NAMES: [&str; 4] = ["oplink.Log", "oplink.State", "oplink.Clock", "oplink.Spans"];

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
