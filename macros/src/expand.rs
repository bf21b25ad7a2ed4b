//! Code generation for `#[operator]`: the bridge trait impl, the vtable, the descriptor, its
//! registration with the library's handshake, and compile-time checks.
//!
//! Everything generated sits inside `const _: () = { ... };` so nothing leaks into the
//! user's namespace, and names only `::core` and the runtime crate's `__private` module.
//! Set `OPLINK_DEBUG=1` while building to print each expansion to stderr.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Item, ItemImpl, LitStr, ReturnType};

use crate::attr::{self, OperatorArgs};
use crate::errors::Errors;
use crate::model::{Method, Operator, Slot};

/// Entry point of `#[operator]`.
pub fn operator(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = attr::parse(args, &mut errors);
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Impl(item)) => item,
        Ok(other) => {
            errors.at(
                item_head(&other),
                "#[oplink::operator] goes on an `impl` block of the operator type, such as `impl Threshold { ... }`",
            );
            let mut out = errors.into_compile_errors();
            out.extend(input);
            return out;
        }
        Err(error) => {
            let mut out = error.into_compile_error();
            out.extend(input);
            return out;
        }
    };
    let model = Operator::from_syn(&item, &mut errors);
    let expanded = if errors.is_empty() {
        generate(&model, &args)
    } else {
        // Keep the user's impl so that its methods still resolve: the user sees our errors
        // and not a cascade of "no function named `new`" after them.
        let mut out = errors.into_compile_errors();
        out.extend(quote!(#item));
        out
    };
    if std::env::var_os("OPLINK_DEBUG").is_some() {
        eprintln!(
            "// oplink: expansion of #[operator] on `{}`\n{expanded}",
            type_name(&item)
        );
    }
    expanded
}

fn item_head(item: &Item) -> TokenStream {
    match item {
        Item::Fn(f) => quote!(#f.sig),
        Item::Struct(s) => {
            let (kw, ident) = (&s.struct_token, &s.ident);
            quote!(#kw #ident)
        }
        Item::Enum(e) => {
            let (kw, ident) = (&e.enum_token, &e.ident);
            quote!(#kw #ident)
        }
        Item::Trait(t) => {
            let (kw, ident) = (&t.trait_token, &t.ident);
            quote!(#kw #ident)
        }
        other => quote!(#other),
    }
}

/// The operator type as the user wrote it: `a::B<u8>`, not `a :: B < u8 >`.
fn type_name(item: &ItemImpl) -> String {
    let ty = &item.self_ty;
    let mut name = quote!(#ty).to_string();
    for (spaced, tight) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
    ] {
        name = name.replace(spaced, tight);
    }
    name
}

fn generate(model: &Operator<'_>, args: &OperatorArgs) -> TokenStream {
    let krate = &args.krate;
    let private = quote!(#krate::__private);
    let item = model.item;
    let self_ty = model.self_ty;
    let name = args.name.as_ref().map(LitStr::value).unwrap_or_default();
    let version = args.version.as_ref().map(LitStr::value).unwrap_or_default();
    let description = args
        .description
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| doc_text(item));

    // Each required service as `dyn Path`, spanned on the path so that a path that is not a
    // service is underlined where it is written.
    let services: Vec<TokenStream> = args
        .requires
        .iter()
        .map(|path| {
            let (start, _) = span_range(path);
            quote_spanned!(start=> dyn #path)
        })
        .collect();
    let requires_count = services.len();

    let new = model.method(Slot::New).expect("checked: `new` is present");
    let config_ty = match new.arg_types.first() {
        Some(ty) => quote!(#ty),
        None => quote!(#private::IgnoredAny),
    };
    let new_call = call(new, &["config"]);
    let apply = model
        .method(Slot::Apply)
        .expect("checked: `apply` is present");
    let apply_call = call(apply, &["change"]);

    let mut optional = TokenStream::new();
    let mut implemented = Vec::new();
    for method in &model.methods {
        let body = match method.slot {
            Slot::New | Slot::Apply => continue,
            Slot::Pull => {
                let call = call(method, &["rows"]);
                quote! {
                    fn __pull(&mut self, ctx: &mut #private::Context, rows: &[#private::RowNumber]) -> #private::Result<#private::RecordBatch> { #call }
                }
            }
            Slot::Tick => {
                let call = call(method, &["now"]);
                quote! {
                    fn __tick(&mut self, ctx: &mut #private::Context, now: #private::Timestamp) -> #private::Result<::core::option::Option<#private::Change>> { #call }
                }
            }
            Slot::FlushState => {
                let call = call(method, &[]);
                quote! {
                    fn __flush_state(&mut self, ctx: &mut #private::Context) -> #private::Result<()> { #call }
                }
            }
            Slot::Snapshot => {
                let call = call(method, &[]);
                quote! {
                    fn __snapshot(&mut self) -> #private::Result<::std::vec::Vec<u8>> { #call }
                }
            }
            Slot::Restore => {
                let call = call(method, &["snapshot"]);
                quote! {
                    fn __restore(&mut self, snapshot: &[u8]) -> #private::Result<()> { #call }
                }
            }
        };
        optional.extend(body);
        let bit = match method.slot {
            Slot::Pull => quote!(IMPLEMENTS_PULL),
            Slot::Tick => quote!(IMPLEMENTS_TICK),
            Slot::FlushState => quote!(IMPLEMENTS_FLUSH_STATE),
            Slot::Snapshot => quote!(IMPLEMENTS_SNAPSHOT),
            _ => quote!(IMPLEMENTS_RESTORE),
        };
        implemented.push(quote!(#private::abi::#bit));
    }
    let implemented = if implemented.is_empty() {
        quote!(0)
    } else {
        quote!(#(#implemented)|*)
    };
    let (ty_start, ty_end) = span_range(self_ty);
    // Why `Send` matters: the headline of a non-`Send` operator's errors, on its type.
    let not_send = {
        let shown = type_name(item);
        let message = format!(
            "operator `{shown}` is not `Send`: a host may call an operator instance from any \
             thread, so every field of `{shown}` must be `Send` (use `Arc` instead of `Rc`, \
             owned data instead of raw pointers)"
        );
        let message = LitStr::new(&message.replace('{', "{{").replace('}', "}}"), ty_start);
        let path = quote_spanned!(ty_start=> ::core::panic!);
        let args = quote_spanned!(ty_end=> (#message));
        quote!(#path #args)
    };
    let vtable_of = {
        let open = quote_spanned!(ty_start=> <__OplinkVTableOf<);
        let close = quote_spanned!(ty_end=> >>::VTABLE);
        quote!(#open #self_ty #close)
    };

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code, clippy::all)]
        const _: () = {
            // A bound under `for<..>` is checked where the impl is used, not here: a non-`Send`
            // operator gets the errors of the checks below, not one from `OperatorImpl: Send`.
            #[automatically_derived]
            impl #private::OperatorImpl for #self_ty where for<'__oplink> #self_ty: ::core::marker::Send {
                type Config = #config_ty;
                const NAME: &'static str = #name;
                const REQUIRES: &'static [#private::Requirement] = &[#(#private::requirement::<#services>()),*];
                const DECLARED: &'static [&'static str] = &[#(<#services as #private::Service>::NAME),*];

                fn __new(config: Self::Config) -> #private::Result<Self> {
                    let _ = &config;
                    #new_call
                }

                fn __apply(&mut self, ctx: &mut #private::Context, change: #private::Change) -> #private::Result<#private::Change> {
                    #apply_call
                }

                #optional
            }

            // A non-`Send` operator fails twice, both times on its type: rustc's error names
            // the field that is not `Send`, and the const panic below says why it must be.
            const fn operator_must_be_send<T: ::core::marker::Send>() {}
            const _: () = operator_must_be_send::<#self_ty>();

            // The vtable; for a type that is not an operator (not `Send`), the inherent const's
            // bound fails and the trait's const, a panic with the headline, is used instead.
            struct __OplinkVTableOf<T>(::core::marker::PhantomData<T>);
            trait __OplinkNotSend {
                const VTABLE: #private::abi::OperatorVTable = #not_send;
            }
            impl<T> __OplinkNotSend for __OplinkVTableOf<T> {}
            impl<T: #private::OperatorImpl> __OplinkVTableOf<T> {
                const VTABLE: #private::abi::OperatorVTable = #private::vtable::<T>();
            }
            static __OPLINK_VTABLE: #private::abi::OperatorVTable = #vtable_of;

            static __OPLINK_REQUIRES: [#private::abi::ServiceRequirement; #requires_count] =
                [#(<#services as #private::Service>::REQUIREMENT),*];

            static __OPLINK_DESCRIPTOR: #private::abi::OperatorDescriptor = #private::abi::OperatorDescriptor {
                size: ::core::mem::size_of::<#private::abi::OperatorDescriptor>(),
                name: #private::abi::StrView::from_static(#name),
                version: #private::abi::StrView::from_static(#version),
                description: #private::abi::StrView::from_static(#description),
                implemented: #implemented,
                reserved: 0,
                vtable: &__OPLINK_VTABLE,
                requires: __OPLINK_REQUIRES.as_ptr(),
                requires_count: #requires_count,
            };

            #[#private::linkme::distributed_slice(#private::OPERATORS)]
            #[linkme(crate = #private::linkme)]
            static __OPLINK_REGISTRATION: #private::Registration = #private::Registration(&__OPLINK_DESCRIPTOR);

            // The vtable this expansion fills is the one this macro version knows: size and
            // eight slots, each a pointer. A mismatched `oplink`/`oplink-macros` pair fails here.
            #private::static_assertions::assert_eq_size!(#private::abi::OperatorVTable, [usize; 9]);
            #private::static_assertions::assert_eq_align!(#private::abi::OperatorDescriptor, usize);
        };
    }
}

/// A call of the user's method from the bridge trait, `Ok(match Self::method(self, ctx,
/// data) { r => r }?)` (the `match` only carries a span), spanned on the user's signature so that rustc's errors point there:
/// the `match` and its `?` on the return type (a wrong `Ok` type, or an error type that does
/// not convert, is underlined there), the call on the method's name, and each argument on
/// the type the user wrote for it. `data` names the bridge's data arguments.
fn call(method: &Method<'_>, data: &[&str]) -> TokenStream {
    let sig = &method.item.sig;
    let ident = &sig.ident;
    let (start, end) = match &sig.output {
        ReturnType::Type(_, ty) => span_range(ty),
        ReturnType::Default => (ident.span(), ident.span()),
    };
    let receiver =
        matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(_))).then(|| quote!(self,));
    let ctx = method.ctx_type.map(|ty| {
        let ctx = Ident::new("ctx", span_range(ty).0);
        quote!(#ctx,)
    });
    let args = data
        .iter()
        .zip(&method.arg_types)
        .map(|(name, ty)| Ident::new(name, span_range(ty).0));
    let call = quote_spanned!(ident.span()=> Self::#ident(#receiver #ctx #(#args),*));
    let match_ = quote_spanned!(start=> match);
    let arms_and_try = quote_spanned!(end=> { __oplink_result => __oplink_result }?);
    let bridge_has_ctx = matches!(
        method.slot,
        Slot::Apply | Slot::Pull | Slot::Tick | Slot::FlushState
    );
    let unused_ctx = (bridge_has_ctx && !method.has_ctx).then(|| quote!(let _ = &ctx;));
    quote! {
        #unused_ctx
        ::core::result::Result::Ok(#match_ #call #arms_and_try)
    }
}

/// The spans of the first and the last token of `tokens`. Generated code whose first token
/// has the first span and whose last token has the last makes rustc underline all of `tokens`.
fn span_range(tokens: &impl ToTokens) -> (Span, Span) {
    let mut tokens = tokens.to_token_stream().into_iter();
    let start = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let end = tokens.last().map_or(start, |t| t.span());
    (start, end)
}

/// The doc comment on the impl block, as a one-line default description.
fn doc_text(item: &ItemImpl) -> String {
    let mut lines = Vec::new();
    for attr in &item.attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            let line = s.value().trim().to_owned();
            if line.is_empty() && !lines.is_empty() {
                break; // the first paragraph is the description
            }
            if !line.is_empty() {
                lines.push(line);
            }
        }
    }
    lines.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: TokenStream, input: TokenStream) -> syn::File {
        let out = operator(args, input);
        syn::parse2(out.clone()).unwrap_or_else(|e| panic!("expansion does not parse: {e}\n{out}"))
    }

    #[test]
    fn expansion_parses_and_registers_the_descriptor() {
        let file = expand(
            quote!(name = "threshold", version = "1.0.0"),
            quote! {
                /// Keeps big rows.
                impl Threshold {
                    fn new(cfg: Config) -> Result<Self> { Ok(Self { cfg }) }
                    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> { Ok(change) }
                    fn snapshot(&self) -> Result<Vec<u8>> { Ok(vec![]) }
                }
            },
        );
        let text = quote!(#file).to_string();
        assert!(
            text.contains("impl :: oplink :: __private :: OperatorImpl for Threshold"),
            "{text}"
        );
        assert!(text.contains("type Config = Config"), "{text}");
        assert!(text.contains("distributed_slice"), "{text}");
        assert!(
            text.contains("operator_must_be_send :: < Threshold >"),
            "a non-`Send` operator is reported on its type: {text}"
        );
        assert!(text.contains("IMPLEMENTS_SNAPSHOT"), "{text}");
        assert!(!text.contains("IMPLEMENTS_PULL"), "{text}");
        assert!(
            text.contains("\"Keeps big rows.\""),
            "description defaults to the doc: {text}"
        );
        assert!(!text.contains("compile_error"), "{text}");
    }

    #[test]
    fn crate_path_is_overridable_and_new_may_take_no_config() {
        let file = expand(
            quote!(name = "x", version = "0.1.0", crate = my::sdk),
            quote! {
                impl X {
                    fn new() -> Result<Self> { Ok(X) }
                    fn apply(&mut self, change: Change) -> Result<Change> { Ok(change) }
                }
            },
        );
        let text = quote!(#file).to_string();
        assert!(
            text.contains("my :: sdk :: __private :: OperatorImpl"),
            "{text}"
        );
        assert!(text.contains("IgnoredAny"), "{text}");
        assert!(!text.contains(":: oplink ::"), "{text}");
    }

    #[test]
    fn errors_are_collected_and_the_impl_is_kept() {
        let out = operator(
            quote!(name = "x", version = "1.0", colour = "red"),
            quote! {
                impl X {
                    async fn apply(self, change: Change) -> Change { change }
                }
            },
        )
        .to_string();
        for needle in [
            "invalid version",
            "unknown operator attribute `colour`",
            "cannot be `async`",
            "wrong receiver",
            "must return a `Result`",
            "missing method `new`",
        ] {
            assert!(out.contains(needle), "`{needle}` missing from {out}");
        }
        assert!(out.contains("impl X"), "the user's impl is kept: {out}");
    }
}
