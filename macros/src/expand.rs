//! Code generation for `#[operator]`: the bridge trait impl, the vtable, the descriptor, its
//! registration with the library's handshake, and compile-time checks.
//!
//! Everything generated sits inside `const _: () = { ... };` so nothing leaks into the
//! user's namespace, and names only `::core` and the runtime crate's `__private` module.
//! Set `OPLINK_DEBUG=1` while building to print each expansion to stderr.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Item, ItemImpl, LitStr};

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
        eprintln!("// oplink: expansion of #[operator] on `{}`\n{expanded}", type_name(&item));
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

fn type_name(item: &ItemImpl) -> String {
    let ty = &item.self_ty;
    quote!(#ty).to_string()
}

fn generate(model: &Operator<'_>, args: &OperatorArgs) -> TokenStream {
    let krate = &args.krate;
    let private = quote!(#krate::__private);
    let item = model.item;
    let self_ty = model.self_ty;
    let name = args.name.as_ref().map(LitStr::value).unwrap_or_default();
    let version = args.version.as_ref().map(LitStr::value).unwrap_or_default();
    let description = args.description.as_ref().map(LitStr::value).unwrap_or_else(|| doc_text(item));

    let new = model.method(Slot::New).expect("checked: `new` is present");
    let config_ty = match new.arg_types.first() {
        Some(ty) => quote!(#ty),
        None => quote!(#private::IgnoredAny),
    };
    let new_call = {
        let span = new.item.sig.output.span();
        let call = if new.arg_types.is_empty() { quote!(<#self_ty>::new()) } else { quote!(<#self_ty>::new(config)) };
        quote_spanned!(span=> ::core::result::Result::Ok(#call?))
    };
    let apply = model.method(Slot::Apply).expect("checked: `apply` is present");
    let apply_call = call(apply, self_ty, &[quote!(change)]);

    let mut optional = TokenStream::new();
    let mut implemented = Vec::new();
    for method in &model.methods {
        let body = match method.slot {
            Slot::New | Slot::Apply => continue,
            Slot::Pull => {
                let call = call(method, self_ty, &[quote!(rows)]);
                quote! {
                    fn __pull(&mut self, ctx: &mut #private::Context, rows: &[#private::RowNumber]) -> #private::Result<#private::RecordBatch> { #call }
                }
            }
            Slot::Tick => {
                let call = call(method, self_ty, &[quote!(now)]);
                quote! {
                    fn __tick(&mut self, ctx: &mut #private::Context, now: #private::Timestamp) -> #private::Result<::core::option::Option<#private::Change>> { #call }
                }
            }
            Slot::FlushState => {
                let call = call(method, self_ty, &[]);
                quote! {
                    fn __flush_state(&mut self, ctx: &mut #private::Context) -> #private::Result<()> { #call }
                }
            }
            Slot::Snapshot => {
                let call = call(method, self_ty, &[]);
                quote! {
                    fn __snapshot(&mut self) -> #private::Result<::std::vec::Vec<u8>> { #call }
                }
            }
            Slot::Restore => {
                let call = call(method, self_ty, &[quote!(snapshot)]);
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
    let implemented = if implemented.is_empty() { quote!(0) } else { quote!(#(#implemented)|*) };
    let send_check = quote_spanned!(self_ty.span()=> const _: () = #private::assert_send::<#self_ty>(););

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #[automatically_derived]
            impl #private::OperatorImpl for #self_ty {
                type Config = #config_ty;
                const NAME: &'static str = #name;

                fn __new(config: Self::Config) -> #private::Result<Self> {
                    let _ = &config;
                    #new_call
                }

                fn __apply(&mut self, ctx: &mut #private::Context, change: #private::Change) -> #private::Result<#private::Change> {
                    #apply_call
                }

                #optional
            }

            #send_check

            static __OPLINK_VTABLE: #private::abi::OperatorVTable = #private::vtable::<#self_ty>();

            static __OPLINK_DESCRIPTOR: #private::abi::OperatorDescriptor = #private::abi::OperatorDescriptor {
                size: ::core::mem::size_of::<#private::abi::OperatorDescriptor>(),
                name: #private::abi::StrView::from_static(#name),
                version: #private::abi::StrView::from_static(#version),
                description: #private::abi::StrView::from_static(#description),
                implemented: #implemented,
                reserved: 0,
                vtable: &__OPLINK_VTABLE,
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

/// A call of the user's method from the bridge trait, spanned on the user's signature so a
/// type mismatch points there. `data` are the bridge's data arguments.
fn call(method: &Method<'_>, self_ty: &syn::Type, data: &[TokenStream]) -> TokenStream {
    let ident = &method.item.sig.ident;
    let ctx = method.has_ctx.then(|| quote!(ctx,));
    let args = data.iter().zip(method.arg_types.iter()).map(|(arg, ty)| quote_spanned!(ty.span()=> #arg));
    let receiver = if method.item.sig.inputs.first().is_some_and(|a| matches!(a, syn::FnArg::Receiver(_))) {
        Some(quote!(self,))
    } else {
        None
    };
    let span = method.item.sig.output.span();
    let unused_ctx = (!method.has_ctx && method.slot.name() != "snapshot" && method.slot.name() != "restore")
        .then(|| quote!(let _ = &ctx;));
    quote_spanned! {span=>
        #unused_ctx
        ::core::result::Result::Ok(<#self_ty>::#ident(#receiver #ctx #(#args),*)?)
    }
}

/// The doc comment on the impl block, as a one-line default description.
fn doc_text(item: &ItemImpl) -> String {
    let mut lines = Vec::new();
    for attr in &item.attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value
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
        assert!(text.contains("impl :: oplink :: __private :: OperatorImpl for Threshold"), "{text}");
        assert!(text.contains("type Config = Config"), "{text}");
        assert!(text.contains("distributed_slice"), "{text}");
        assert!(text.contains("IMPLEMENTS_SNAPSHOT"), "{text}");
        assert!(!text.contains("IMPLEMENTS_PULL"), "{text}");
        assert!(text.contains("\"Keeps big rows.\""), "description defaults to the doc: {text}");
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
        assert!(text.contains("my :: sdk :: __private :: OperatorImpl"), "{text}");
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
        for needle in ["invalid version", "unknown operator attribute `colour`", "cannot be `async`", "wrong receiver", "must return a `Result`", "missing method `new`"] {
            assert!(out.contains(needle), "`{needle}` missing from {out}");
        }
        assert!(out.contains("impl X"), "the user's impl is kept: {out}");
    }
}
