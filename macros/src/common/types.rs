//! Reading types as the user wrote them: their shape, their text, their lifetimes.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit_mut::VisitMut;
use syn::{GenericArgument, PathArguments, Type};

/// The type inside any parentheses or invisible groups.
pub fn bare(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => bare(&group.elem),
        Type::Paren(paren) => bare(&paren.elem),
        other => other,
    }
}

/// The last segment's name of a path type: `Result` for `std::result::Result<u8>`.
pub fn last_ident(ty: &Type) -> Option<String> {
    match bare(ty) {
        Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map(|s| s.ident.to_string())
        }
        _ => None,
    }
}

/// The type arguments of a path type's last segment: `[u8, E]` for `Result<u8, E>`.
pub fn type_args(ty: &Type) -> Vec<&Type> {
    let Type::Path(path) = bare(ty) else {
        return Vec::new();
    };
    let Some(last) = path.path.segments.last() else {
        return Vec::new();
    };
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return Vec::new();
    };
    args.args
        .iter()
        .filter_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .collect()
}

/// Whether the type is `Result<…>` (by its last segment: `io::Result<T>` counts).
pub fn is_result(ty: &Type) -> bool {
    last_ident(ty).as_deref() == Some("Result")
}

/// `Ok` and `Err` types of a `Result<T>` or `Result<T, E>`.
pub fn result_parts(ty: &Type) -> Option<(&Type, Option<&Type>)> {
    if !is_result(ty) {
        return None;
    }
    let args = type_args(ty);
    let ok = *args.first()?;
    Some((ok, args.get(1).copied()))
}

/// The user's tokens as readable text: `Option<&str>`, not `Option < & str >`.
pub fn text(tokens: &impl ToTokens) -> String {
    tidy(&tokens.to_token_stream())
}

fn tidy(tokens: &TokenStream) -> String {
    let mut text = tokens.to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        (":: ", "::"),
        (" ::", "::"),
        ("& ", "&"),
        ("[ ", "["),
        (" ]", "]"),
        ("( ", "("),
        (" )", ")"),
        (" ;", ";"),
        ("' ", "'"),
        ("# ", "#"),
    ] {
        while text.contains(from) {
            text = text.replace(from, to);
        }
    }
    // A call, a tuple struct or a macro as rustfmt writes them: `Catalog::new()`,
    // `vec![1]` and `m! { }`, not `Catalog::new ()`, `vec ! [1]` and `m ! { }` (a tuple
    // after `->`, `=>` or a keyword keeps its space: `-> (A, B)`, `for (A, B)`).
    const KEYWORDS: [&str; 17] = [
        "as", "break", "const", "dyn", "else", "for", "if", "impl", "in", "let", "match", "move",
        "mut", "ref", "return", "static", "where",
    ];
    let word_end = |p: char| p.is_alphanumeric() || p == '_';
    let mut tidy = String::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let (before, after) = (&text[..at], &text[at + 1..]);
        let call = c == ' '
            && after.starts_with('(')
            && before.ends_with(|p: char| word_end(p) || p == '!' || p == '>')
            && !before.ends_with("->")
            && !before.ends_with("=>")
            && !before
                .rsplit(|p: char| !word_end(p))
                .next()
                .is_some_and(|word| KEYWORDS.contains(&word));
        // `name ! (`, `name ! [`, `name ! {`: the space before the `!` of a macro call,
        // and the one after it before a bracket.
        let macro_name = |before: &str| before.ends_with(word_end);
        let bang = c == ' '
            && ["! (", "! [", "! {"].iter().any(|b| after.starts_with(b))
            && macro_name(before);
        let after_bang = c == ' '
            && after.starts_with('[')
            && before
                .strip_suffix(" !")
                .or_else(|| before.strip_suffix('!'))
                .is_some_and(macro_name);
        if !call && !bang && !after_bang {
            tidy.push(c);
        }
    }
    tidy
}

/// `ty` with the lifetime of every reference (written or elided) set to `lifetime`.
pub fn with_lifetimes(ty: &Type, lifetime: &syn::Lifetime) -> Type {
    struct Set<'a>(&'a syn::Lifetime);
    impl VisitMut for Set<'_> {
        fn visit_type_reference_mut(&mut self, ty: &mut syn::TypeReference) {
            ty.lifetime = Some(self.0.clone());
            syn::visit_mut::visit_type_reference_mut(self, ty);
        }
        fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
            *lifetime = self.0.clone();
        }
    }
    let mut ty = ty.clone();
    Set(lifetime).visit_type_mut(&mut ty);
    ty
}

/// Whether the type mentions a reference anywhere.
pub fn has_reference(ty: &Type) -> bool {
    struct Find(bool);
    impl<'ast> syn::visit::Visit<'ast> for Find {
        fn visit_type_reference(&mut self, _: &'ast syn::TypeReference) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    syn::visit::Visit::visit_type(&mut find, ty);
    find.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_text() {
        let ty: Type = syn::parse_quote!(std::result::Result<Option<&'static str>, String>);
        let (ok, err) = result_parts(&ty).unwrap();
        assert_eq!(text(ok), "Option<&'static str>");
        assert_eq!(text(&err.unwrap()), "String");
        let ty: Type = syn::parse_quote!(&mut Context);
        assert_eq!(text(&ty), "&mut Context");
        let ty: Type = syn::parse_quote!(Option<&str>);
        let lt: syn::Lifetime = syn::parse_quote!('static);
        assert_eq!(text(&with_lifetimes(&ty, &lt)), "Option<&'static str>");
        assert!(has_reference(&ty));
        let call: syn::Expr = syn::parse_quote!(Catalog::new(Vec::<u8>::new(), f!(1)));
        assert_eq!(text(&call), "Catalog::new(Vec::<u8>::new(), f!(1))");
        let ty: Type = syn::parse_quote!(fn(u8) -> (u8, &mut (u16,)));
        assert_eq!(text(&ty), "fn(u8) -> (u8, &mut (u16,))");
        let call = quote::quote!(f(vec![1], m! {}, g(x => (1, 2))));
        assert_eq!(text(&call), "f(vec![1], m! { }, g(x => (1, 2)))");
        let item: syn::ItemImpl = syn::parse_quote!(impl Tr for (u8, u16) {});
        assert_eq!(text(&item), "impl Tr for (u8, u16) { }");
    }
}
