//! Spans: generated code carries the spans of the user's tokens, so rustc's errors point
//! at what the user wrote.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;

/// The spans of the first and the last token of `tokens`. Generated code whose first token
/// has the first span and whose last token has the last makes rustc underline all of them.
pub fn range(tokens: &impl ToTokens) -> (Span, Span) {
    let mut tokens = tokens.to_token_stream().into_iter();
    let start = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let end = tokens.last().map_or(start, |t| t.span());
    (start, end)
}

/// The span of the first token of `tokens`.
pub fn first(tokens: &impl ToTokens) -> Span {
    range(tokens).0
}

/// `tokens` with every span moved to `span`, so that rustc reports a failed bound on any of
/// them at `span` (the user's type), and reports it once.
pub fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// `<ty rest` (`rest` being `as Trait>::Item`, say), with the tokens written here at `span`
/// and the user's type keeping its own spans: a failed bound is reported at `span`, and a
/// type that does not resolve (a misspelt name, `Result<u64>` of std) is one error at the
/// user's token, the same as the trait's own, which rustc shows once (respanning the type
/// too made it a second error, whose suggestion was spliced in at the wrong place).
pub fn qualified(ty: &impl ToTokens, rest: TokenStream, span: Span) -> TokenStream {
    let open = respan(quote::quote!(<), span);
    let rest = respan(rest, span);
    quote::quote!(#open #ty #rest)
}
