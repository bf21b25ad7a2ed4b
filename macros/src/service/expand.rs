//! Assembles the expansion of `#[host_callbacks]` from its parts.
//!
//! Every impl that names the user's types carries them as `where for<'__oplink> T: Arg`
//! bounds. A bound under `for<..>` is assumed inside the impl rather than checked there, so
//! a type that cannot cross makes those impls absent instead of failing in each of them:
//! the one error is `__oplink_checks`', at the type, with the vocabulary's message. (Inside
//! such an impl, `<T as Arg>::Abi` is only known through the bound, and two spellings of it
//! that differ by a lifetime are different types to rustc: `relabel` moves a value between
//! them.)

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Type;

use super::model::{Method, Service};
use crate::common::{cfg, span, types};

/// What the parts of the expansion need to know about one method.
pub struct Parts<'m> {
    pub method: &'m Method<'m>,
    pub name: String,
    pub cfg_attr: TokenStream,
    pub cfg_not: TokenStream,
    /// `cfg!(…)` of the method, `true` when it has no `#[cfg]`.
    pub cfg_test: TokenStream,
    pub slot_field: Ident,
    pub thunk: Ident,
    pub info: Ident,
    /// Argument names of the generated functions.
    pub args: Vec<Ident>,
    /// `<T as Arg>` per parameter with the user's lifetimes, spanned at the type.
    pub arg_traits: Vec<TokenStream>,
    /// `<T as Arg>::Abi` per parameter with `'static` lifetimes, spanned at the type.
    pub abi_params: Vec<TokenStream>,
    /// `<ok as Ret>`, spanned at the return type.
    pub ret_trait: TokenStream,
    /// `<ok as Ret>::Abi`.
    pub out_abi: TokenStream,
    /// The type of the table's function for this method.
    pub fn_type: TokenStream,
}

pub fn generate(service: &Service<'_>) -> TokenStream {
    let krate = &service.krate;
    let p = quote!(#krate::__private);
    let parts: Vec<Parts<'_>> = service
        .methods
        .iter()
        .enumerate()
        .map(|(i, m)| parts(i, m, &p))
        .collect();
    let bounds = bounds(service, &p);
    let checks = checks(service, &p);
    let cfg_tests = parts.iter().map(|part| &part.cfg_test);
    let table = super::table::generate(service, &parts, &p, &bounds);
    let host = super::host::generate(service, &parts, &p, &bounds);
    let plugin = super::plugin::generate(service, &parts, &p, &bounds);
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, non_snake_case, non_camel_case_types, dead_code, deprecated, unused_lifetimes, unit_bindings, clippy::all, clippy::pedantic)]
        const _: () = {
            /// How many of the trait's methods this build keeps (`#[cfg]` may remove some).
            const __OPLINK_KEPT: usize = #p::count_enabled(&[#(#cfg_tests),*]);

            struct __OplinkProxy {
                table: *const __OplinkTable,
            }

            // SAFETY: the proxy only reads an immutable table of thunks over a host value
            // that is `Send + Sync` (the trait requires it).
            unsafe impl ::core::marker::Send for __OplinkProxy {}
            // SAFETY: as above.
            unsafe impl ::core::marker::Sync for __OplinkProxy {}

            #table
            #host
            #plugin

            // Never called: each line makes rustc check one of the user's types, at that type.
            fn __oplink_checks() {
                #checks
            }
        };
    }
}

/// The pieces of method number `index` (two `#[cfg]` versions of one method share a name,
/// so what must exist in every build is named after the index).
fn parts<'m>(index: usize, method: &'m Method<'m>, p: &TokenStream) -> Parts<'m> {
    let ident = method.ident;
    // `r#type` is the method `type` (on the wire, in C and in messages).
    let name = crate::common::unraw(ident);
    let statik: syn::Lifetime = syn::parse_quote!('static);
    let args: Vec<Ident> = (0..method.params.len())
        .map(|i| format_ident!("__oplink_a{}", i))
        .collect();
    let arg_traits = method
        .params
        .iter()
        .map(|param| {
            let ty = param.ty;
            span::qualified(ty, quote!(as #p::Arg>), span::first(ty))
        })
        .collect();
    let abi_params: Vec<TokenStream> = method
        .params
        .iter()
        .map(|param| {
            let ty = types::with_lifetimes(param.ty, &statik);
            span::qualified(&ty, quote!(as #p::Arg>::Abi), span::first(param.ty))
        })
        .collect();
    let output = &method.output;
    let ret_span = span::first(output);
    let ok_path = match &method.fallible {
        Some(_) => span::qualified(output, quote!(as #p::Fallible>::Ok), ret_span),
        None => quote!(#output),
    };
    let ret_trait = span::qualified(&ok_path, quote!(as #p::Ret>), ret_span);
    let out_abi = span::qualified(&ok_path, quote!(as #p::Ret>::Abi), ret_span);
    let fn_type = quote! {
        unsafe extern "C" fn(
            *const ::core::ffi::c_void,
            #(#abi_params,)*
            *mut #out_abi,
            *mut #p::abi::ErrorOut,
        ) -> #p::abi::Status
    };
    Parts {
        method,
        cfg_attr: cfg::attribute(method.cfg.as_ref()),
        cfg_not: cfg::negated(method.cfg.as_ref()),
        cfg_test: cfg::test(method.cfg.as_ref()),
        // Prefixed, so that no method name collides with the table's own `header`.
        slot_field: format_ident!("fn_{}", ident),
        thunk: format_ident!("__oplink_thunk_{}", ident),
        info: format_ident!("__oplink_info_{}_{}", index, ident),
        name,
        args,
        arg_traits,
        abi_params,
        ret_trait,
        out_abi,
        fn_type,
    }
}

/// `where` bounds for every type of the methods that no `#[cfg]` may remove (a bound
/// cannot carry a `#[cfg]`; the types of conditional methods are checked the plain way).
fn bounds(service: &Service<'_>, p: &TokenStream) -> TokenStream {
    let any: syn::Lifetime = syn::parse_quote!('__oplink);
    let mut bounds = Vec::new();
    for method in service.methods.iter().filter(|m| m.cfg.is_none()) {
        for param in &method.params {
            let ty = types::with_lifetimes(param.ty, &any);
            bounds.push(quote_spanned!(span::first(param.ty)=> for<'__oplink> #ty: #p::Arg));
        }
        let output = &method.output;
        let bound = match method.fallible {
            Some(_) => quote_spanned!(span::first(output)=> for<'__oplink> #output: #p::Fallible),
            None => quote_spanned!(span::first(output)=> for<'__oplink> #output: #p::Ret),
        };
        bounds.push(bound);
    }
    quote!(where #(#bounds),*)
}

/// One check per type a method names, spanned at it: the only place a type that cannot
/// cross is reported. A check names a constant of the trait (`<T as Arg>::SHAPE`) rather
/// than calling a function with a bound, so rustc's message is the trait's own.
fn checks(service: &Service<'_>, p: &TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    for method in &service.methods {
        let cfg_attr = cfg::attribute(method.cfg.as_ref());
        for param in &method.params {
            out.extend(check(p, &cfg_attr, param.ty, quote!(Arg), quote!(SHAPE)));
        }
        match &method.fallible {
            Some((ok, err)) => {
                out.extend(check(p, &cfg_attr, ok, quote!(Ret), quote!(SHAPE)));
                match err {
                    Some(err) => out.extend(check(
                        p,
                        &cfg_attr,
                        err,
                        quote!(ServiceError),
                        quote!(CHECKED),
                    )),
                    // `io::Result<u64>`, `anyhow::Result<u64>`: the error type is the
                    // alias's, checked here at the return type. Left to the bounds, it
                    // would make the impls absent and fail only where a plugin asks for
                    // the service, far from this trait.
                    None => out.extend(hidden_error_check(p, &cfg_attr, &method.output)),
                }
            }
            None => out.extend(check(
                p,
                &cfg_attr,
                &method.output,
                quote!(Ret),
                quote!(SHAPE),
            )),
        }
    }
    out
}

/// `ty`, a `Result` whose error type is an alias's (`io::Result<u64>`), checked as a
/// service error at `ty`: rustc names the error type (`std::io::Error cannot be the error
/// type of a host service method`) and nothing else, since the `Ok` type is checked on its
/// own.
fn hidden_error_check(p: &TokenStream, cfg_attr: &TokenStream, ty: &Type) -> TokenStream {
    let (start, end) = span::range(ty);
    // Two `<`, not one `<<`: rustc splits a `<<` and spans its second half one column in.
    let open = quote_spanned!(start=> let _ = < <);
    let close = quote_spanned!(end=> as __OplinkErrorOf>::Error as #p::ServiceError>::CHECKED;);
    quote! {
        #cfg_attr
        {
            /// The error type of a `Result`, whatever the alias it is written as.
            trait __OplinkErrorOf {
                type Error;
            }
            impl<T, E> __OplinkErrorOf for ::core::result::Result<T, E> {
                type Error = E;
            }
            #open #ty #close
        }
    }
}

fn check(
    p: &TokenStream,
    cfg_attr: &TokenStream,
    ty: &Type,
    bound: TokenStream,
    konst: TokenStream,
) -> TokenStream {
    let one = |ty: &Type, bound: TokenStream, konst: TokenStream| {
        let (start, end) = span::range(ty);
        let open = quote_spanned!(start=> let _ = <);
        let close = quote_spanned!(end=> as #p::#bound>::#konst;);
        quote!(#cfg_attr #open #ty #close)
    };
    // `Json<T>` (or `Option<Json<T>>`, …) of a `T` that is not serde is reported as that,
    // at `T`; the type around it then crosses whenever `T` is serde, so it is not checked
    // again. A `Json` inside any other type (`Vec<Json<T>>`) is not: the whole type is
    // checked, and its message says to put the `Vec` inside the `Json`.
    match json_argument(ty) {
        Some(inner) => one(inner, quote!(JsonValue), quote!(CHECKED)),
        None => one(ty, bound, konst),
    }
}

/// The `T` of `ty` when it is `Json<T>`, or `Option`s around one.
fn json_argument(ty: &Type) -> Option<&Type> {
    match types::last_ident(ty).as_deref() {
        Some("Json") => types::type_args(ty).first().copied(),
        Some("Option") => match types::type_args(ty).as_slice() {
            [inner] => json_argument(inner),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    fn expand(input: TokenStream) -> String {
        let out = super::super::expand(TokenStream::new(), input);
        let file: syn::File = syn::parse2(out.clone()).expect("the expansion parses");
        quote!(#file).to_string()
    }

    #[test]
    fn the_expansion_has_table_thunks_proxy_identity_and_checks() {
        let text = expand(quote! {
            pub trait Catalog {
                fn table_exists(&self, name: &str) -> bool;
                #[cfg(feature = "rows")]
                fn row_count(&self, table: &str) -> Result<u64>;
            }
        });
        for fragment in [
            "struct __OplinkTable",
            "fn __oplink_thunk_table_exists",
            "# [cfg (feature = \"rows\")] unsafe extern \"C\" fn __oplink_thunk_row_count",
            "impl Catalog for __OplinkProxy where for < '__oplink > & '__oplink str : :: oplink :: __private :: Arg",
            "Service for dyn Catalog",
            "\"fn row_count(&self, table: &str) -> Result<u64>\"",
            "let _ = < & str as :: oplink :: __private :: Arg > :: SHAPE",
            ":: core :: marker :: Send",
            "deprecated",
        ] {
            assert!(text.contains(fragment), "missing `{fragment}` in {text}");
        }
    }

    #[test]
    fn errors_are_collected_and_the_trait_is_kept() {
        let out = super::super::expand(
            TokenStream::new(),
            quote! {
                pub trait Bad<T> {
                    type Item;
                    async fn a(&self);
                    fn b(&mut self);
                    fn c(&self, x: impl Fn());
                    fn d(&self) -> Option<&str>;
                }
            },
        )
        .to_string();
        assert_eq!(out.matches("compile_error").count(), 6, "{out}");
        assert!(out.contains("pub trait Bad"), "{out}");
    }

    /// Mistakes no ui case makes, each reported in its own words: a lifetime the method
    /// does not declare, a macro among the trait's items.
    #[test]
    fn rarer_mistakes_are_reported_in_their_own_words() {
        let errors = |input: TokenStream| {
            crate::common::errors::compile_errors(super::super::expand(TokenStream::new(), input))
        };
        assert_eq!(
            errors(quote! {
                pub trait Catalog {
                    fn tier(&self, code: &'static str) -> bool;
                }
            }),
            [
                "`'static` cannot be named here (parameter `code` of `tier`): a borrowed parameter lives for the one call, so leave the lifetime out (`&str`, not `&'static str`)"
            ]
        );
        assert_eq!(
            errors(quote! {
                pub trait Catalog {
                    fn tier(&self, code: &str) -> bool;
                    methods!();
                }
            }),
            [
                "host service traits cannot hold a macro call (`methods!`): `#[host_callbacks]` sees it unexpanded, so write out the methods it would give"
            ]
        );
        // Items syn keeps as tokens are named by their first keyword: a constant of a
        // function pointer type is a constant, a `const fn` a method.
        assert_eq!(
            errors(quote! {
                pub trait Catalog {
                    pub const F: fn(u8) -> u8;
                    pub const fn get(&self) -> u8;
                }
            }),
            [
                "host service traits cannot have associated constants (`const F`): a constant cannot be called across the boundary; make it a method (`fn f(&self) -> …`)",
                "`pub fn get` in a host service trait: remove `pub` (a trait's methods take the trait's visibility) and write `fn get(&self, …)`",
            ]
        );
    }
}
