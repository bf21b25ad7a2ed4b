//! The arguments of `#[operator(...)]`: `name`, `version`, `description`, `requires` and
//! `crate`.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{Expr, ExprLit, Lit, LitStr};

use crate::common::attr::{Form, crate_path, key_values};
use crate::common::errors::Errors;

/// The parsed arguments. Missing required ones are reported and left `None`.
pub struct OperatorArgs {
    pub name: Option<LitStr>,
    pub version: Option<LitStr>,
    pub description: Option<LitStr>,
    /// Path of the runtime crate, `::oplink` unless `crate = path` says otherwise.
    pub krate: syn::Path,
    /// The host services the operator requires: `requires = [Catalog, acme::Lookup]`.
    pub requires: Vec<syn::Path>,
    /// The variables of `env!("VAR")` values, which the expansion reads with `env!` too
    /// so that rustc rebuilds the crate when one changes (a macro's own read is not
    /// tracked).
    pub env_reads: Vec<LitStr>,
}

const KEYS: &str = "`name`, `version`, `description`, `requires` or `crate`";
/// The keys [`KEYS`] lists, for matching and "did you mean".
const KEY_NAMES: [&str; 5] = ["name", "version", "description", "requires", "crate"];

pub fn parse(args: TokenStream, errors: &mut Errors) -> OperatorArgs {
    let mut out = OperatorArgs {
        name: None,
        version: None,
        description: None,
        krate: syn::parse_quote!(::oplink),
        requires: Vec::new(),
        env_reads: Vec::new(),
    };
    // `requires = [dyn Catalog]` (as `ctx.service::<dyn Catalog>()` is written) is no
    // expression: said plainly, at the `dyn`, rather than as a malformed attribute.
    if let Some(dyn_token) = dyn_in_requires(&args) {
        errors.at_span(
            dyn_token.span(),
            "list the service traits in `requires` without `dyn`: `requires = [Catalog]` (`dyn` goes in `ctx.service::<dyn Catalog>()`)",
        );
        return out;
    }
    // Keys written at least once, valid or not: a key with a bad value is reported once, as
    // a bad value, and not again as missing.
    let mut seen: Vec<String> = Vec::new();
    let Some(pairs) = key_values(
        args,
        errors,
        Form {
            written: "`key = \"value\"`",
            example: "name = \"threshold\", version = \"1.0.0\"",
            attribute: "operator",
            keys: KEYS,
        },
    ) else {
        return out;
    };
    for (key, pair) in &pairs {
        let key = key.clone();
        let known = KEY_NAMES.contains(&key.as_str());
        if known && seen.contains(&key) {
            errors.at(&pair.path, format!("duplicate operator attribute `{key}`"));
            continue;
        }
        seen.push(key.clone());
        let slot = match key.as_str() {
            "name" => &mut out.name,
            "version" => &mut out.version,
            "description" => &mut out.description,
            "requires" => {
                parse_requires(&pair.value, &mut out.requires, errors);
                continue;
            }
            "crate" => {
                if let Some(path) = crate_path(&pair.value, errors) {
                    out.krate = path;
                }
                continue;
            }
            _ => {
                let shown = pair.path.clone();
                let hint = crate::common::suggest::did_you_mean(&key, KEY_NAMES);
                errors.at(
                    &pair.path,
                    format!(
                        "unknown operator attribute `{}`; {hint}expected {KEYS}",
                        quote::quote!(#shown)
                    ),
                );
                continue;
            }
        };
        let value = match crate::common::attr::ungrouped(&pair.value) {
            Expr::Lit(ExprLit {
                lit: Lit::Str(value),
                ..
            }) => value.clone(),
            // `version = env!("CARGO_PKG_VERSION")`: the one macro read here.
            Expr::Macro(call) if is_env(&call.mac.path) => match env_value(&call.mac) {
                Ok((name, value)) => {
                    out.env_reads.push(name);
                    value
                }
                Err(why) => {
                    errors.at(&call.mac, why);
                    continue;
                }
            },
            Expr::Macro(_) => {
                errors.at(
                    &pair.value,
                    format!(
                        "`{key}` takes a string literal, such as `{key} = \"...\"`, or `env!(\"VAR\")`: other macros are not expanded inside the attribute"
                    ),
                );
                continue;
            }
            _ => {
                errors.at(
                    &pair.value,
                    format!("`{key}` takes a string literal, such as `{key} = \"...\"`"),
                );
                continue;
            }
        };
        *slot = Some(value);
    }
    if let Some(name) = &out.name {
        if let Err(why) = check_name(&name.value()) {
            errors.at(name, why);
        }
    } else if !written_as(&seen, "name") {
        errors.at_span(Span::call_site(), "missing `name = \"...\"`: every operator needs a name, e.g. `#[oplink::operator(name = \"threshold\", version = \"1.0.0\")]`");
    }
    if let Some(description) = &out.description
        && let Some(control) = description.value().chars().find(|c| c.is_control())
    {
        errors.at(
            description,
            format!(
                "the description is one line of text, without control characters, and this one holds `{}`: a line break, tab or escape would reach the terminals that show it",
                control.escape_debug()
            ),
        );
    }
    if let Some(version) = &out.version {
        if let Err(why) = check_version(&version.value()) {
            errors.at(version, why);
        }
    } else if !written_as(&seen, "version") {
        errors.at_span(Span::call_site(), "missing `version = \"...\"`: every operator needs a semantic version, e.g. `version = \"1.0.0\"`");
    }
    out
}

/// The value of `env!("VAR")` (`CARGO_PKG_VERSION`, say) as cargo set it for the crate
/// being compiled, as a literal at the macro's place.
fn env_value(mac: &syn::Macro) -> Result<(LitStr, LitStr), String> {
    let name: LitStr = mac.parse_body().map_err(|_| {
        "`env!` takes the name of one environment variable here, such as `env!(\"CARGO_PKG_VERSION\")`".to_owned()
    })?;
    let value = std::env::var(name.value()).map_err(|_| {
        format!(
            "the environment variable `{}` is not set (or not Unicode) while this crate compiles",
            name.value()
        )
    })?;
    let value = LitStr::new(&value, name.span());
    Ok((name, value))
}

/// `env`, `std::env` or `core::env` (with or without a leading `::`).
fn is_env(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match names.as_slice() {
        [env] => env == "env" && path.leading_colon.is_none(),
        [krate, env] => env == "env" && (krate == "std" || krate == "core"),
        _ => false,
    }
}

/// The first `dyn` in the list after `requires =`, if any.
fn dyn_in_requires(args: &TokenStream) -> Option<proc_macro2::Ident> {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = args.clone().into_iter().collect();
    tokens.windows(3).find_map(|w| match (&w[0], &w[1], &w[2]) {
        (TokenTree::Ident(key), TokenTree::Punct(eq), TokenTree::Group(list))
            if key == "requires" && eq.as_char() == '=' =>
        {
            list.stream().into_iter().find_map(|t| match t {
                TokenTree::Ident(word) if word == "dyn" => Some(word),
                _ => None,
            })
        }
        _ => None,
    })
}

const REQUIRES_HELP: &str =
    "`requires` takes a list of host service traits, such as `requires = [Catalog, acme::Lookup]`";

fn parse_requires(value: &Expr, out: &mut Vec<syn::Path>, errors: &mut Errors) {
    let Expr::Array(array) = value else {
        errors.at(value, REQUIRES_HELP);
        return;
    };
    for element in &array.elems {
        match element {
            Expr::Path(path) if path.qself.is_none() => {
                let written = path.path.to_token_stream().to_string();
                if out
                    .iter()
                    .any(|p| p.to_token_stream().to_string() == written)
                {
                    errors.at(
                        element,
                        format!("service `{written}` is listed twice in `requires`"),
                    );
                } else {
                    out.push(path.path.clone());
                }
            }
            Expr::Lit(ExprLit {
                lit: Lit::Str(name),
                ..
            }) => errors.at(
                element,
                format!(
                    "`requires` lists the service traits themselves, not their names: write `{}` (the trait's path), not a string",
                    name.value()
                ),
            ),
            other => errors.at(other, REQUIRES_HELP),
        }
    }
}

/// Operator names: 1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with a letter.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() {
        return Err("operator name is empty".into());
    }
    if name.len() > 64 {
        return Err(format!("operator name `{name}` is longer than 64 bytes"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) || !name.chars().all(valid_char) {
        return Err(format!(
            "invalid operator name `{name}`: use ASCII letters, digits, `_`, `-` and `.`, starting with a letter"
        ));
    }
    Ok(())
}

/// Semantic versions: `MAJOR.MINOR.PATCH`, with an optional `-pre` and `+build`.
pub fn check_version(version: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "invalid version `{version}`: expected a semantic version such as `1.0.0` or `0.3.1-beta.2`"
        )
    };
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &&str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
    };
    if parts.len() != 3 || !parts.iter().all(numeric) {
        return Err(bad());
    }
    let rest = &version[core.len()..];
    let ident_ok = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let (pre, build) = match rest.split_once('+') {
        Some((pre, build)) => (pre, Some(build)),
        None => (rest, None),
    };
    if let Some(pre) = pre.strip_prefix('-') {
        if !ident_ok(pre) {
            return Err(bad());
        }
    } else if !pre.is_empty() {
        return Err(bad());
    }
    if build.is_some_and(|b| !ident_ok(b)) {
        return Err(bad());
    }
    Ok(())
}

/// Whether `key` was written, or a misspelling of it that was reported as unknown (the
/// one error then; "missing" would be a second about the same token).
fn written_as(seen: &[String], key: &str) -> bool {
    seen.iter().any(|written| {
        written == key
            || (!KEY_NAMES.contains(&written.as_str())
                && crate::common::suggest::closest(written, KEY_NAMES) == Some(key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for ok in ["1.0.0", "0.3.1-beta.2", "10.20.30+build.5", "1.0.0-rc-1+x"] {
            assert_eq!(check_version(ok), Ok(()), "{ok}");
        }
        for bad in [
            "1.0", "01.0.0", "1.0.0-", "1.0.0+", "v1.0.0", "1.0.0.0", "1.x.0", "",
        ] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(check_name("running-sum.v2"), Ok(()));
        assert!(check_name("2fast").is_err());
        assert!(check_name("has space").is_err());
        assert!(check_name("").is_err());
    }
}
