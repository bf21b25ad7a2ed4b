//! The arguments of `#[operator(...)]`: `name`, `version`, `description`, `requires` and
//! `crate`.

use std::collections::VecDeque;

use proc_macro2::{Delimiter, Group, Punct, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Expr, ExprLit, Lit, LitStr};

use crate::common::attr::{Form, crate_path, key_values};
use crate::common::errors::Errors;
use crate::common::is_punct;

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

/// The keys, each in the form it is written, for messages.
const KEYS: &str = "`name = \"...\"`, `version = \"...\"`, `description = \"...\"`, `requires = [Service, ..]` or `crate = path`";
/// The keys [`KEYS`] lists, for matching and "did you mean".
const KEY_NAMES: [&str; 5] = ["name", "version", "description", "requires", "crate"];
/// Each key with a value to show in an example.
const VALUES: [(&str, &str); 5] = [
    ("name", "\"threshold\""),
    ("version", "\"1.0.0\""),
    ("description", "\"...\""),
    ("requires", "[Catalog]"),
    ("crate", "::oplink"),
];

pub fn parse(args: TokenStream, errors: &mut Errors) -> OperatorArgs {
    let mut out = OperatorArgs {
        name: None,
        version: None,
        description: None,
        krate: syn::parse_quote!(::oplink),
        requires: Vec::new(),
        env_reads: Vec::new(),
    };
    // The lists of `requires = [..]` are read here, entry by entry, and left empty for the
    // parse of the other keys: syn reads a list as an expression, in which `Catalog<u8>`
    // is a chained comparison and `&Catalog` or `dyn Catalog` something else again.
    let (args, mut requires_lists) = take_requires_lists(args, errors);
    // Keys written at least once, valid or not: a key with a bad value is reported once, as
    // a bad value, and not again as missing.
    let mut seen: Vec<String> = Vec::new();
    let Some(entries) = key_values(
        args,
        errors,
        Form {
            written: "`key = value`",
            example: "name = \"threshold\", version = \"1.0.0\"",
            attribute: "operator",
            keys: KEYS,
            values: &VALUES,
        },
    ) else {
        return out;
    };
    for (key, pair) in &entries.pairs {
        let key = key.clone();
        // The list taken out of this `requires = [..]`, in the order written.
        let list = (key == "requires" && matches!(pair.value, Expr::Array(_)))
            .then(|| requires_lists.pop_front())
            .flatten();
        let known = KEY_NAMES.contains(&key.as_str());
        if known && seen.contains(&key) {
            let fix = if key == "requires" {
                "list every service in one `requires = [..]`".to_owned()
            } else {
                format!("give `{key}` once")
            };
            errors.at(
                &pair.path,
                format!("operator attribute `{key}` given twice: {fix}"),
            );
            continue;
        }
        seen.push(key.clone());
        let slot = match key.as_str() {
            "name" => &mut out.name,
            "version" => &mut out.version,
            "description" => &mut out.description,
            "requires" => {
                match (crate::common::attr::ungrouped(&pair.value), list) {
                    (Expr::Array(_), Some(list)) => {
                        parse_requires(list, &mut out.requires, errors);
                    }
                    // A list passed in whole from a `macro_rules!` fragment
                    // (`requires = $list`), which syn has read.
                    (Expr::Array(array), None) => {
                        let list = Group::new(Delimiter::Bracket, array.elems.to_token_stream());
                        parse_requires(list, &mut out.requires, errors);
                    }
                    (value, _) => not_a_list(value, errors),
                }
                continue;
            }
            "crate" => {
                if let Some(path) = crate_path(&pair.value, errors) {
                    out.krate = path;
                }
                continue;
            }
            _ => {
                let hint = crate::common::suggest::did_you_mean(&key, KEY_NAMES);
                errors.at(
                    &pair.path,
                    format!(
                        "unknown operator attribute `{}`; {hint}expected {KEYS}",
                        crate::common::types::text(&pair.path)
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
            // `name = threshold`, `version = 1.0`, `version = 1.0.0` (a field of `1.0` to
            // syn): what was written, in quotes.
            value @ (Expr::Path(_) | Expr::Lit(_) | Expr::Field(_)) => {
                let written = match value {
                    Expr::Lit(ExprLit {
                        lit: Lit::ByteStr(bytes),
                        ..
                    }) => String::from_utf8_lossy(&bytes.value()).into_owned(),
                    Expr::Lit(ExprLit {
                        lit: Lit::Char(c), ..
                    }) => c.value().to_string(),
                    Expr::Field(_) => crate::common::types::text(value).replace(' ', ""),
                    other => crate::common::types::text(other),
                };
                // Suggested only when it is valid: `name = 5` is not told to write `"5"`.
                let valid = match key.as_str() {
                    "name" => check_name(&written).is_ok(),
                    "version" => check_version(&written).is_ok(),
                    _ => true,
                };
                let message = if valid {
                    format!(
                        "`{key}` takes a string literal: write `{key} = \"{}\"`",
                        written.escape_default()
                    )
                } else {
                    format!("`{key}` takes a string literal, such as `{key} = \"...\"`")
                };
                errors.at(value, message);
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
    // Keys written in another form (`name("op")`) were reported as that: not missing.
    seen.extend(entries.misformed);
    // Neither key (a bare `#[oplink::operator]`): one error for the two.
    let neither = out.name.is_none()
        && out.version.is_none()
        && !written_as(&seen, "name")
        && !written_as(&seen, "version");
    if let Some(name) = &out.name {
        if let Err(why) = check_name(&name.value()) {
            errors.at(name, why);
        }
    } else if neither {
        errors.at_span(Span::call_site(), "missing `name = \"...\"` and `version = \"...\"`: every operator needs a name and a semantic version, e.g. `#[oplink::operator(name = \"threshold\", version = \"1.0.0\")]`");
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
    } else if !neither && !written_as(&seen, "version") {
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

/// `args` with the list of every `requires = [..]` at its top level emptied (`requires =
/// []`, the brackets keeping their span), and those lists, in order. Paths written without
/// the brackets (`requires = Catalog, services::Echo`) are reported, and read as the list
/// they were meant to be, so that they are not reported again as keys.
fn take_requires_lists(args: TokenStream, errors: &mut Errors) -> (TokenStream, VecDeque<Group>) {
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(tokens.len());
    let mut lists = VecDeque::new();
    let mut i = 0;
    while i < tokens.len() {
        // `requires =` beginning an entry: the first tokens, or the ones after a comma.
        let key = (i == 0 || is_punct(tokens.get(i - 1), ','))
            && matches!(&tokens[i], TokenTree::Ident(key) if crate::common::unraw(key) == "requires")
            && is_punct(tokens.get(i + 1), '=')
            && !is_punct(tokens.get(i + 2), '=');
        if !key {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        let list = match tokens.get(i + 2) {
            // A list that is the whole value: one followed by more (`[Catalog] + 1`) is left
            // to the expression's parse, to be shown as written.
            Some(TokenTree::Group(list))
                if list.delimiter() == Delimiter::Bracket
                    && (i + 3 == tokens.len() || is_punct(tokens.get(i + 3), ',')) =>
            {
                Some((list.clone(), i + 3))
            }
            Some(TokenTree::Group(list)) if list.delimiter() == Delimiter::Bracket => None,
            Some(_) => unbracketed(&tokens, i + 2, errors),
            None => None,
        };
        let Some((list, end)) = list else {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        };
        let mut empty = Group::new(Delimiter::Bracket, TokenStream::new());
        empty.set_span(list.span());
        out.extend([
            tokens[i].clone(),
            tokens[i + 1].clone(),
            TokenTree::Group(empty),
        ]);
        lists.push_back(list);
        i = end;
    }
    (out.into_iter().collect(), lists)
}

/// The value of `requires` starting at `start` when it is paths without their brackets,
/// up to the next `key =` (reported, and returned in brackets with where it ends). A word
/// alone after a comma that is no service trait (`requires = Catalog, description`: a key
/// without its value, or a lowercase word) ends it too, left to be reported as itself.
fn unbracketed(tokens: &[TokenTree], start: usize, errors: &mut Errors) -> Option<(Group, usize)> {
    let mut end = start;
    let mut depth = 0usize;
    while end < tokens.len() {
        match &tokens[end] {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => depth = depth.saturating_sub(1),
            TokenTree::Punct(p) if p.as_char() == ',' && depth == 0 => {
                let next_is_key = matches!(tokens.get(end + 1), Some(TokenTree::Ident(_)))
                    && is_punct(tokens.get(end + 2), '=');
                let stray_word = match tokens.get(end + 1) {
                    Some(TokenTree::Ident(word))
                        if tokens.get(end + 2).is_none() || is_punct(tokens.get(end + 2), ',') =>
                    {
                        let word = crate::common::unraw(word);
                        KEY_NAMES.contains(&word.as_str())
                            || word.starts_with(|c: char| c.is_lowercase())
                    }
                    _ => false,
                };
                if next_is_key || stray_word {
                    break;
                }
            }
            _ => {}
        }
        end += 1;
    }
    let mut run = &tokens[start..end];
    if is_punct(run.last(), ',') {
        run = &run[..run.len() - 1];
    }
    let run: TokenStream = run.iter().cloned().collect();
    let parts = entries(run.clone());
    let all_paths = !parts.is_empty()
        && parts.iter().all(|entry| {
            matches!(entry, Entry::Written(entry) if syn::parse2::<syn::Path>(entry.clone()).is_ok())
        });
    if !all_paths {
        return None;
    }
    let written = crate::common::types::text(&run);
    let message = if parts.len() == 1 {
        format!(
            "`requires` takes a list in brackets, even of one service: write `requires = [{written}]`"
        )
    } else {
        format!("`requires` takes a list in brackets: write `requires = [{written}]`")
    };
    errors.at(&run, message);
    let mut list = Group::new(Delimiter::Bracket, run);
    list.set_span(tokens[start].span());
    Some((list, end))
}

/// How `requires` is written, for the messages about one.
const REQUIRES_FORM: &str =
    "`requires` lists service traits by path, such as `requires = [Catalog, services::Echo]`";

/// `requires = Catalog` and the like: a value that is not a list in brackets.
fn not_a_list(value: &Expr, errors: &mut Errors) {
    let written = crate::common::types::text(value);
    let message = match value {
        Expr::Path(path) if path.qself.is_none() => format!(
            "`requires` takes a list in brackets, even of one service: write `requires = [{written}]`"
        ),
        Expr::Lit(ExprLit {
            lit: Lit::Str(name),
            ..
        }) if name.parse::<syn::Path>().is_ok() => format!(
            "`requires` takes a list of the service traits themselves, in brackets, not their names: write `requires = [{}]`",
            name.value()
        ),
        // `requires = (Catalog, Echo)`: the list in the wrong brackets.
        Expr::Tuple(tuple)
            if !tuple.elems.is_empty()
                && tuple
                    .elems
                    .iter()
                    .all(|e| matches!(e, Expr::Path(p) if p.qself.is_none())) =>
        {
            let paths: Vec<String> = tuple.elems.iter().map(crate::common::types::text).collect();
            format!(
                "`requires` takes a list in square brackets, not parentheses: write `requires = [{}]`",
                paths.join(", ")
            )
        }
        Expr::Tuple(_) | Expr::Paren(_) | Expr::Block(_) => {
            format!("`requires` takes a list in square brackets, not `{written}`: {REQUIRES_FORM}")
        }
        _ => format!("`requires` takes a list of service traits, not `{written}`: {REQUIRES_FORM}"),
    };
    errors.at(value, message);
}

/// The entries of the list of `requires = [..]`, each a path to a service trait.
fn parse_requires(list: Group, out: &mut Vec<syn::Path>, errors: &mut Errors) {
    for entry in entries(list.stream()) {
        let entry = match entry {
            Entry::Written(entry) => entry,
            Entry::Empty(comma) => {
                errors.at(
                    comma,
                    format!(
                        "two commas with no service between them in `requires`: {REQUIRES_FORM}"
                    ),
                );
                continue;
            }
        };
        let path = match requires_entry(&entry) {
            Ok(path) => path,
            Err(why) => {
                errors.at(&entry, why);
                continue;
            }
        };
        let written = path.to_token_stream().to_string();
        if out
            .iter()
            .any(|p| p.to_token_stream().to_string() == written)
        {
            errors.at(
                &path,
                format!(
                    "service `{}` is listed twice in `requires`: list it once",
                    crate::common::types::text(&path)
                ),
            );
        } else {
            out.push(path);
        }
    }
}

/// One entry of a list: its tokens, or the comma after an empty one.
enum Entry {
    Written(TokenStream),
    Empty(Punct),
}

/// The entries of a comma-separated list; a comma inside `<..>` (`Catalog<u8, u16>`) is
/// not a separator. A comma at the end ends the list.
fn entries(list: TokenStream) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut entry = TokenStream::new();
    let mut depth = 0usize;
    for token in list {
        match &token {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => depth = depth.saturating_sub(1),
            TokenTree::Punct(p) if p.as_char() == ',' && depth == 0 => {
                if entry.is_empty() {
                    out.push(Entry::Empty(p.clone()));
                } else {
                    out.push(Entry::Written(std::mem::take(&mut entry)));
                }
                continue;
            }
            _ => {}
        }
        entry.extend([token]);
    }
    if !entry.is_empty() {
        out.push(Entry::Written(entry));
    }
    out
}

/// The path an entry of `requires` names, or why it names none.
fn requires_entry(entry: &TokenStream) -> Result<syn::Path, String> {
    // A path passed in from a `macro_rules!` fragment (`requires = [$service]`) arrives in an
    // invisible group.
    let mut one = entry.clone().into_iter();
    if let (Some(TokenTree::Group(group)), None) = (one.next(), one.next())
        && group.delimiter() == Delimiter::None
    {
        return requires_entry(&group.stream());
    }
    let written = crate::common::types::text(entry);
    let tokens: Vec<TokenTree> = entry.clone().into_iter().collect();
    let inner = || trait_inside(&tokens);
    let has_dyn = tokens
        .iter()
        .any(|t| matches!(t, TokenTree::Ident(word) if word == "dyn"));
    if let Ok(path) = syn::parse2::<syn::Path>(entry.clone()) {
        if path.segments.iter().all(|s| s.arguments.is_none()) {
            return Ok(path);
        }
        // `Box<dyn Catalog>`, `Arc<dyn Catalog>`: the trait is the one inside.
        if let Some(inner) = inner().filter(|_| has_dyn) {
            return Err(format!(
                "`{written}` in `requires` is not a service trait: list the trait itself, `{inner}`; {REQUIRES_FORM}"
            ));
        }
        return Err(format!(
            "`{written}` in `requires` has generic arguments, which a service trait does not take: write `{}`; {REQUIRES_FORM}",
            crate::common::types::text(&without_arguments(path))
        ));
    }
    let first = tokens.first();
    let last_two = &tokens[tokens.len().saturating_sub(2)..];
    let message = match first {
        Some(TokenTree::Literal(literal)) => match syn::parse2::<LitStr>(literal.to_token_stream())
        {
            Ok(name) if name.parse::<syn::Path>().is_ok() => format!(
                "`requires` lists the service traits themselves, not their names: write `{}` (the trait's path), not a string",
                name.value()
            ),
            Ok(_) => format!(
                "`{written}` in `requires` is a string: `requires` lists the service traits themselves, by path, not their names, such as `requires = [Catalog, services::Echo]`"
            ),
            Err(_) => format!("`{written}` in `requires` is not a service trait: {REQUIRES_FORM}"),
        },
        Some(TokenTree::Ident(word)) if word == "dyn" => format!(
            "list the service traits in `requires` without `dyn`: write `{}` (`dyn` goes in `ctx.service::<dyn {0}>()`)",
            inner().unwrap_or_else(|| "Catalog".to_owned())
        ),
        Some(TokenTree::Ident(word)) if word == "impl" => format!(
            "list the service traits in `requires` without `impl`: write `{}`; {REQUIRES_FORM}",
            inner().unwrap_or_else(|| "Catalog".to_owned())
        ),
        Some(TokenTree::Punct(p)) if p.as_char() == '&' => match inner() {
            Some(path) => format!(
                "`{written}` in `requires` is a reference: list the trait itself, `{path}`; {REQUIRES_FORM}"
            ),
            None => format!(
                "`{written}` in `requires` is not a path to a service trait: {REQUIRES_FORM}"
            ),
        },
        _ if last_two.len() == 2
            && is_punct(last_two.first(), ':')
            && is_punct(last_two.get(1), ':') =>
        {
            format!(
                "`{written}` in `requires` ends in `::`: end the path with the trait's name; {REQUIRES_FORM}"
            )
        }
        _ => match inner() {
            Some(path) if has_dyn => format!(
                "`{written}` in `requires` is not a service trait: list the trait itself, `{path}`; {REQUIRES_FORM}"
            ),
            _ => format!(
                "`{written}` in `requires` is not a path to a service trait: {REQUIRES_FORM}"
            ),
        },
    };
    Err(message)
}

/// The trait inside `&Catalog`, `&dyn Catalog`, `Box<dyn Catalog + Send>`, `impl Catalog`,
/// `&(dyn Catalog + Send)`: the path after the last `&`, `mut`, `dyn`, `impl` or `<`, up to
/// its other bounds, its arguments left out.
fn trait_inside(tokens: &[TokenTree]) -> Option<String> {
    let start = tokens.iter().rposition(|t| match t {
        TokenTree::Ident(word) => word == "dyn" || word == "impl" || word == "mut",
        TokenTree::Punct(p) => p.as_char() == '&' || p.as_char() == '<',
        _ => false,
    })?;
    let mut rest: Vec<TokenTree> = tokens[start + 1..].to_vec();
    if let [TokenTree::Group(group)] = rest.as_slice()
        && group.delimiter() == Delimiter::Parenthesis
    {
        let within: Vec<TokenTree> = group.stream().into_iter().collect();
        return trait_inside(&within);
    }
    if let Some(plus) = rest.iter().position(|t| is_punct(Some(t), '+')) {
        rest.truncate(plus);
    }
    while is_punct(rest.last(), '>') {
        rest.pop();
    }
    let path = syn::parse2::<syn::Path>(rest.into_iter().collect()).ok()?;
    Some(crate::common::types::text(&without_arguments(path)))
}

/// `path` without the generic arguments of its segments: `Catalog` for `Catalog<u8>`.
fn without_arguments(mut path: syn::Path) -> syn::Path {
    for segment in &mut path.segments {
        segment.arguments = syn::PathArguments::None;
    }
    path
}

/// Operator names: 1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with a letter.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() {
        return Err(
            "the operator name is empty: write a name of ASCII letters, digits, `_`, `-` and `.`, starting with a letter, such as `name = \"threshold\"`"
                .into(),
        );
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
        // `v1.0.0`, `1.0`: said with the version to write.
        if let Some(bare) = version.strip_prefix(['v', 'V'])
            && check_version(bare).is_ok()
        {
            return Err(format!(
                "invalid version `{version}`: write `{bare}`, without the `{}`",
                &version[..1]
            ));
        }
        if parts.len() == 2 && parts.iter().all(numeric) && core.len() == version.len() {
            return Err(format!(
                "invalid version `{version}`: a semantic version has three numbers, such as `{version}.0`"
            ));
        }
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
    fn requires_lists_are_taken_where_requires_is_the_key() {
        let mut errors = Errors::default();
        let args = quote::quote!(name = "op", r#requires = [A<u8>], x::requires = [B]);
        let (rest, lists) = take_requires_lists(args, &mut errors);
        assert_eq!(lists.len(), 1);
        assert_eq!(lists[0].stream().to_string(), "A < u8 >");
        assert!(rest.to_string().contains("r#requires = []"), "{rest}");
        assert!(rest.to_string().contains("x :: requires = [B]"), "{rest}");
        assert!(errors.is_empty());
    }

    #[test]
    fn a_list_followed_by_more_is_left_as_written() {
        let mut errors = Errors::default();
        let args = quote::quote!(name = "op", requires = [A] + 1, version = "1.0.0");
        let (rest, lists) = take_requires_lists(args.clone(), &mut errors);
        assert!(lists.is_empty());
        assert_eq!(rest.to_string(), args.to_string());
        assert!(errors.is_empty());
    }

    #[test]
    fn a_stray_word_after_an_unbracketed_list_is_reported_as_itself() {
        // Two mistakes: the list without brackets, then a key without its value (or a word
        // that is no service trait). Each is reported, and the word is not in the list.
        for (args, expected, listed) in [
            (
                quote::quote!(
                    name = "op",
                    version = "1.0.0",
                    requires = Catalog,
                    description
                ),
                [
                    "`requires` takes a list in brackets, even of one service: write `requires = [Catalog]`",
                    "`description` needs a value: write `description = \"...\"`",
                ],
                1,
            ),
            (
                quote::quote!(
                    name = "op",
                    requires = Catalog,
                    services::Echo,
                    colour,
                    version = "1.0.0"
                ),
                [
                    "`requires` takes a list in brackets: write `requires = [Catalog, services::Echo]`",
                    "unknown operator attribute `colour`; expected `name = \"...\"`, `version = \"...\"`, `description = \"...\"`, `requires = [Service, ..]` or `crate = path`",
                ],
                2,
            ),
        ] {
            let mut errors = Errors::default();
            let parsed = parse(args, &mut errors);
            let found = crate::common::errors::compile_errors(errors.into_compile_errors());
            assert_eq!(found, expected);
            assert_eq!(parsed.requires.len(), listed, "{found:?}");
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
