//! Code generation for `#[operator]`: the bridge trait impl, the vtable, the descriptor, its
//! registration with the library's handshake, and one check per user type.
//!
//! Everything generated sits inside `const _: () = { ... };` so nothing leaks into the
//! user's namespace, and names only `::core` and the runtime crate's `__private` module; the
//! one exception is a hidden, empty `#[macro_export]` macro named after the operator (see
//! [`name_claim`]), so that two operators of one name in a crate do not compile.
//! Where a user type could fail a bound, it is checked once, at the type (a `__oplink_checks`
//! function that is never called); every other use of it goes through a stand-in that
//! cannot fail, so one mistake is one error. Set `OPLINK_DEBUG=1` to print each expansion.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Item, ItemImpl, LitStr, Type};

use super::args::OperatorArgs;
use super::model::{Method, Operator, Slot};
use crate::common::{cfg, span, types};

pub fn item_head(item: &Item) -> TokenStream {
    match item {
        Item::Fn(f) => {
            let sig = &f.sig;
            quote!(#sig)
        }
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

/// What the steps of the expansion share.
struct Shared<'a> {
    /// `krate::__private`: the runtime's hidden module, the only way into the runtime.
    p: TokenStream,
    /// The operator's type, as the impl names it.
    self_ty: &'a Type,
    /// The alias of each required service (`__OplinkRequired0`, ...), in `requires`' order.
    required: Vec<Ident>,
}

/// The user's impl as written (see [`with_mandated_signatures_allowed`]), then the
/// expansion's items in one `const _: () = { ... };`, each made by the step named after it.
pub fn generate(model: &Operator<'_>, args: &OperatorArgs) -> TokenStream {
    let krate = &args.krate;
    let shared = Shared {
        p: quote!(#krate::__private),
        self_ty: model.self_ty,
        required: (0..args.requires.len())
            .map(|i| format_ident!("__OplinkRequired{}", i))
            .collect(),
    };
    let p = &shared.p;
    let env_reads = &args.env_reads;
    let item = with_mandated_signatures_allowed(model);
    let aliases = required_aliases(&args.requires, &shared.required);
    let service_identity = service_identity(p);
    let (compiled_out, stand_ins) = compiled_out(model, p);
    let operator_impl = operator_impl(model, args, &shared, &stand_ins);
    let config_checks = config_checks(model, &shared);
    let service_checks = service_checks(&args.requires, p);
    let twins = twins(&args.requires, p);
    let send_check = send_check(shared.self_ty);
    let registration = registration(model, args, &shared);
    let name_claim = args.name.as_ref().map(name_claim);

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, non_camel_case_types, dead_code, deprecated, unused_lifetimes, unit_bindings, clippy::all, clippy::pedantic)]
        const _: () = {
            #aliases
            // What the attribute read with `env!`, read here too, so that rustc rebuilds
            // the crate when it changes.
            #(const _: &str = ::core::env!(#env_reads);)*

            #service_identity
            #operator_impl

            // Never called: each line makes rustc check one of the user's types, at that type.
            fn __oplink_checks() {
                #config_checks
                #service_checks
            }
            #twins
            #send_check
            #registration
            #compiled_out
            #name_claim
        };
    }
}

/// `type __OplinkRequired0 = dyn path;` for each required service, which the rest of the
/// expansion names it by. The `dyn` is spanned on the path's first token, so that a path
/// that is not a service trait is reported there.
fn required_aliases(requires: &[syn::Path], required: &[Ident]) -> TokenStream {
    // One alias per required service, spanned on its path, so a path that is not a service
    // trait is reported there, once.
    requires
        .iter()
        .zip(required)
        .map(|(path, alias)| {
            let dyn_path = quote_spanned!(span::first(path)=> dyn #path);
            quote!(type #alias = #dyn_path;)
        })
        .collect()
}

/// `__OplinkService<S>`, whose `REQUIREMENT` and `ABI` are the service's own when `S` is a
/// service and stand-ins otherwise, so that a path that is not a service fails once (in
/// `__oplink_checks`) rather than in every use. It names no user token: all at the call site.
fn service_identity(p: &TokenStream) -> TokenStream {
    quote! {
        // Each required service's identity, or a stand-in when the path is not a service:
        // `__oplink_checks` reports that once, at the path.
        struct __OplinkService<S: ?::core::marker::Sized>(::core::marker::PhantomData<S>);
        trait __OplinkNotAService {
            const REQUIREMENT: #p::Requirement = #p::NOT_A_SERVICE;
            const ABI: #p::abi::ServiceRequirement = #p::NOT_A_SERVICE_ABI;
        }
        impl<S: ?::core::marker::Sized> __OplinkNotAService for __OplinkService<S> {}
        impl<S: #p::Service + ?::core::marker::Sized> __OplinkService<S> {
            const REQUIREMENT: #p::Requirement = #p::requirement::<S>();
            const ABI: #p::abi::ServiceRequirement = <S as #p::Service>::REQUIREMENT;
        }
    }
}

/// The bridge: `impl OperatorImpl for Self`, with the operator's name, its required
/// services, one thunk per method (see [`thunk`]) and the stand-ins of methods `#[cfg]`
/// removes (see [`compiled_out`]). The impl's own tokens are at the call site; the thunks
/// point into the user's signatures.
fn operator_impl(
    model: &Operator<'_>,
    args: &OperatorArgs,
    shared: &Shared<'_>,
    stand_ins: &TokenStream,
) -> TokenStream {
    let Shared {
        p,
        self_ty,
        required,
    } = shared;
    let name = args.name.as_ref().map(LitStr::value).unwrap_or_default();
    let config_bound = config_bound(model, p);
    let thunks: TokenStream = model.methods.iter().map(|m| thunk(m, p)).collect();
    quote! {
        // A bound under `for<..>` is checked where the impl is used, not here: a non-`Send`
        // operator gets the errors of the checks below, not one from `OperatorImpl: Send`.
        #[automatically_derived]
        impl #p::OperatorImpl for #self_ty where for<'__oplink> #self_ty: ::core::marker::Send #config_bound {
            const NAME: &'static str = #name;
            const REQUIRES: &'static [#p::Requirement] = &[#(<__OplinkService<#required>>::REQUIREMENT),*];
            #thunks
            #stand_ins
        }
    }
}

/// `, for<'__oplink> Config: OperatorConfig` for the bridge's `where` clause, when one `new`
/// takes a configuration and no `#[cfg]` chooses it: inside the impl the bound is assumed,
/// so a configuration that fails it is reported once, by [`config_checks`], at its type.
fn config_bound(model: &Operator<'_>, p: &TokenStream) -> Option<TokenStream> {
    // The configuration's bound is assumed in the impl (checked once, at the type, below),
    // unless `#[cfg]` chooses between several `new`s.
    let mut news = model.methods(Slot::New);
    match (news.next(), news.next()) {
        (Some(new), None) if new.cfg.is_none() => new
            .arg_types
            .first()
            .map(|ty| quote!(, for<'__oplink> #ty: #p::OperatorConfig)),
        _ => None,
    }
}

/// The bridge's function for one of the user's methods, under the method's `#[cfg]`: it
/// adapts the bridge's arguments and calls the method (see [`call`], which spans the call on
/// the user's signature). `new` reads its configuration from JSON first; an `apply` that
/// takes a `ChangeView` gets the view form and a `Change` form over it.
fn thunk(method: &Method<'_>, p: &TokenStream) -> TokenStream {
    let cfg_attr = cfg::attribute(method.cfg.as_ref());
    match method.slot {
        Slot::New => {
            let config_ty = match method.arg_types.first() {
                Some(ty) => quote!(#ty),
                None => quote!(#p::NoConfig),
            };
            let call = call(method, &["config"], p);
            quote! {
                #cfg_attr
                fn __new(
                    __oplink_json: &[u8],
                ) -> ::core::result::Result<Self, #p::NewFailure> {
                    let config = match <#config_ty as #p::OperatorConfig>::from_json(
                        <Self as #p::OperatorImpl>::NAME,
                        __oplink_json,
                    ) {
                        ::core::result::Result::Ok(config) => config,
                        ::core::result::Result::Err(error) => {
                            return ::core::result::Result::Err(#p::NewFailure::Config(error));
                        }
                    };
                    let _ = &config;
                    let made: #p::Result<Self> = #call;
                    made.map_err(#p::NewFailure::New)
                }
            }
        }
        Slot::Apply if takes_view(method) => {
            let call = call(method, &["change"], p);
            // The value may be a `ChangeOut` or a `Change`; both convert. Another type
            // (through an alias) is reported at the user's `Ok` type.
            let convert = quote_spanned!(span::first(method.ok)=> __oplink_out.map(::core::convert::Into::into));
            quote! {
                #cfg_attr
                const VIEW: bool = true;
                #cfg_attr
                fn __apply_view(&mut self, ctx: &mut #p::Context, change: #p::ChangeView) -> #p::Result<#p::ChangeOut> {
                    let __oplink_out = { #call };
                    #convert
                }
                #cfg_attr
                fn __apply(&mut self, ctx: &mut #p::Context, change: #p::Change) -> #p::Result<#p::Change> {
                    let change = #p::ChangeView::from_change(change)?;
                    #p::ChangeOut::into_change(<Self as #p::OperatorImpl>::__apply_view(self, ctx, change)?)
                }
            }
        }
        Slot::Apply => {
            let call = call(method, &["change"], p);
            quote! {
                #cfg_attr
                fn __apply(&mut self, ctx: &mut #p::Context, change: #p::Change) -> #p::Result<#p::Change> { #call }
            }
        }
        Slot::Pull => {
            let call = call(method, &["rows"], p);
            quote! {
                #cfg_attr
                fn __pull(&mut self, ctx: &mut #p::Context, rows: &[#p::RowNumber]) -> #p::Result<#p::RecordBatch> { #call }
            }
        }
        Slot::Tick => {
            let call = call(method, &["now"], p);
            quote! {
                #cfg_attr
                fn __tick(&mut self, ctx: &mut #p::Context, now: #p::Timestamp) -> #p::Result<::core::option::Option<#p::Change>> { #call }
            }
        }
        Slot::FlushState => {
            let call = call(method, &[], p);
            quote! {
                #cfg_attr
                fn __flush_state(&mut self, ctx: &mut #p::Context) -> #p::Result<()> { #call }
            }
        }
        Slot::Snapshot => {
            let call = call(method, &[], p);
            quote! {
                #cfg_attr
                fn __snapshot(&mut self, ctx: &mut #p::Context) -> #p::Result<::std::vec::Vec<u8>> { #call }
            }
        }
        Slot::Restore => {
            let call = call(method, &["snapshot"], p);
            quote! {
                #cfg_attr
                fn __restore(&mut self, ctx: &mut #p::Context, snapshot: &[u8]) -> #p::Result<()> { #call }
            }
        }
    }
}

/// `let () = <Config as OperatorConfig>::CHECKED;` for each `new` that takes a
/// configuration, under its `#[cfg]`: the one place a configuration type that is not one is
/// reported. The check opens at the type's first token and closes at its last, so that
/// rustc underlines the whole type.
fn config_checks(model: &Operator<'_>, shared: &Shared<'_>) -> TokenStream {
    let Shared { p, self_ty, .. } = shared;
    model
        .methods(Slot::New)
        .filter_map(|method| {
            let ty = method.arg_types.first()?;
            let cfg_attr = cfg::attribute(method.cfg.as_ref());
            let (start, end) = span::range(ty);
            let open = quote_spanned!(start=> let () = <);
            let close = quote_spanned!(end=> as #p::OperatorConfig>::CHECKED;);
            // The check sits outside the impl, where `Self` means nothing: the
            // operator's own type configures itself then.
            let checked = if types::text(ty) == "Self" {
                quote!(#self_ty)
            } else {
                quote!(#ty)
            };
            Some(quote!(#cfg_attr #open #checked #close))
        })
        .collect()
}

/// `let _ = <dyn path as Service>::NAME;` for each required service, from the path's first
/// token to its last: the one place a path that is not a service trait is reported.
fn service_checks(requires: &[syn::Path], p: &TokenStream) -> TokenStream {
    requires
        .iter()
        .map(|path| {
            let (start, end) = span::range(path);
            let open = quote_spanned!(start=> let _ = <dyn);
            let close = quote_spanned!(end=> as #p::Service>::NAME;);
            quote!(#open #path #close)
        })
        .collect()
}

/// A const assertion for each pair of required services, refusing two of one name with
/// different fingerprints. It is spanned on the later path, so the message is at the
/// second of the two, the one to rename or remove.
fn twins(requires: &[syn::Path], p: &TokenStream) -> TokenStream {
    // Two traits of one name (`a::Catalog`, `b::Catalog`) would be one service to the host:
    // refused at the second, with how to tell them apart.
    let mut twins = TokenStream::new();
    for (j, later) in requires.iter().enumerate() {
        for earlier in &requires[..j] {
            let (start, end) = span::range(later);
            let open = quote_spanned!(start=> <dyn);
            let name = quote_spanned!(end=> as #p::Service>::NAME);
            let fingerprint = quote_spanned!(end=> as #p::Service>::FINGERPRINT);
            let message = format!(
                "two services in `requires` have one name: `{}` and `{}` are named alike, and the host would take them for one service; give one a name of its own with `#[oplink::host_callbacks(name = \"...\")]`",
                quote!(#earlier).to_string().replace(' ', ""),
                quote!(#later).to_string().replace(' ', "")
            );
            // (One trait under two paths, `Catalog` and `crate::Catalog`, is one service.)
            twins.extend(quote_spanned! {start=>
                const _: () = ::core::assert!(
                    !#p::same_name(<dyn #earlier as #p::Service>::NAME, #open #later #name)
                        || <dyn #earlier as #p::Service>::FINGERPRINT == #open #later #fingerprint,
                    #message
                );
            });
        }
    }
    twins
}

/// The check that the operator's type is `Send`, twice over: a call with a `Send` bound,
/// whose error names the field that is not, and a const panic that says why it must be.
/// Both are spanned on the operator's type (the panic from its first token to its last).
fn send_check(self_ty: &Type) -> TokenStream {
    let (ty_start, ty_end) = span::range(self_ty);
    // Why `Send` matters: the headline of a non-`Send` operator's errors, on its type.
    let not_send = {
        let shown = types::text(self_ty);
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
    let send_of = {
        let open = quote_spanned!(ty_start=> <__OplinkSendOf<);
        let close = quote_spanned!(ty_end=> >>::SEND);
        quote!(#open #self_ty #close)
    };
    quote! {
        // A non-`Send` operator fails twice, both times on its type: rustc's error names
        // the field that is not `Send`, and the const panic below says why it must be.
        const fn operator_must_be_send<T: ::core::marker::Send>() {}
        const _: () = operator_must_be_send::<#self_ty>();
        struct __OplinkSendOf<T>(::core::marker::PhantomData<T>);
        trait __OplinkNotSend {
            const SEND: () = #not_send;
        }
        impl<T> __OplinkNotSend for __OplinkSendOf<T> {}
        impl<T: ::core::marker::Send> __OplinkSendOf<T> {
            const SEND: () = ();
        }
        const _: () = #send_of;
    }
}

/// The vtable, the descriptor (version, description, optional methods, required services)
/// and the descriptor's registration in the library's list of operators. The vtable and the
/// descriptor are read through `__OplinkOperatorOf<Self>`, spanned on the operator's type,
/// whose stand-ins keep a type that is not an operator from failing here a second time.
fn registration(model: &Operator<'_>, args: &OperatorArgs, shared: &Shared<'_>) -> TokenStream {
    let Shared {
        p,
        self_ty,
        required,
    } = shared;
    let version = args.version.as_ref().map(LitStr::value).unwrap_or_default();
    let description = args
        .description
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| doc_text(model.item));
    let implemented = implemented(model, p);
    let requires_count = 3 + required.len();
    let (ty_start, ty_end) = span::range(*self_ty);
    let of = |konst: TokenStream| {
        let open = quote_spanned!(ty_start=> <__OplinkOperatorOf<);
        let close = quote_spanned!(ty_end=> >>::#konst);
        quote!(#open #self_ty #close)
    };
    let vtable_of = of(quote!(VTABLE));
    let descriptor_of = of(quote!(DESCRIPTOR));
    quote! {
        // The vtable and the descriptor; for a type that is not an operator (whose error
        // is reported above), the inherent consts' bound fails and the trait's stand-ins
        // are used instead.
        struct __OplinkOperatorOf<T>(::core::marker::PhantomData<T>);
        trait __OplinkNotAnOperator {
            const VTABLE: #p::abi::OperatorVTable = #p::PLACEHOLDER_VTABLE;
            const DESCRIPTOR: #p::abi::OperatorDescriptor = #p::PLACEHOLDER_DESCRIPTOR;
        }
        impl<T> __OplinkNotAnOperator for __OplinkOperatorOf<T> {}
        impl<T: #p::OperatorImpl> __OplinkOperatorOf<T> {
            const VTABLE: #p::abi::OperatorVTable = #p::vtable::<T>();
            const DESCRIPTOR: #p::abi::OperatorDescriptor = #p::descriptor::<T>(
                #version,
                #description,
                #implemented,
                ::core::cfg!(panic = "unwind"),
                &__OPLINK_VTABLE,
                &__OPLINK_REQUIRES,
            );
        }
        static __OPLINK_VTABLE: #p::abi::OperatorVTable = #vtable_of;

        // The standard services first, then the declared ones.
        static __OPLINK_REQUIRES: [#p::abi::ServiceRequirement; #requires_count] = [
            <dyn #p::Log as #p::Service>::REQUIREMENT,
            <dyn #p::State as #p::Service>::REQUIREMENT,
            <dyn #p::Clock as #p::Service>::REQUIREMENT,
            #(<__OplinkService<#required>>::ABI),*
        ];

        static __OPLINK_DESCRIPTOR: #p::abi::OperatorDescriptor = #descriptor_of;

        #[#p::linkme::distributed_slice(#p::OPERATORS)]
        #[linkme(crate = #p::linkme)]
        static __OPLINK_REGISTRATION: #p::Registration = #p::Registration(&__OPLINK_DESCRIPTOR);
    }
}

/// The descriptor's set of optional methods: `IMPLEMENTS_*` bits or-ed together, each under
/// its method's `cfg!` (so a method `#[cfg]` removes is not announced), or `0`.
fn implemented(model: &Operator<'_>, p: &TokenStream) -> TokenStream {
    let implemented: Vec<TokenStream> = model
        .methods
        .iter()
        .filter_map(|method| {
            let bit = Ident::new(method.slot.bit()?, Span::call_site());
            let test = cfg::test(method.cfg.as_ref());
            Some(quote!((if #test { #p::abi::#bit } else { 0 })))
        })
        .collect();
    if implemented.is_empty() {
        quote!(0)
    } else {
        quote!(#(#implemented)|*)
    }
}

/// Claims the operator's name in the crate: an empty `#[macro_export]` macro named after it,
/// at its `name = ".."`, which rustc reports as "defined multiple times" (at both operators'
/// names) when another operator of this crate has the same name. A library must not offer
/// two operators of one name (the host refuses it at load, which is too late to say where).
fn name_claim(name: &LitStr) -> TokenStream {
    let value = name.value();
    if super::args::check_name(&value).is_err() {
        return TokenStream::new(); // reported at the name already
    }
    // A plain name as it is (it starts with a letter); any other after a second `_`, so that
    // no plain name can spell it: readable first (its `-` and `.` as `_`, which rustc shows
    // when a crate defines one name twice), then its bytes in hex, which tell it from every
    // other.
    let ident = if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        format!("oplink_operator_{value}")
    } else {
        let readable: String = value
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
        format!("oplink_operator__{readable}__{hex}")
    };
    let ident = Ident::new(&ident, name.span());
    // `non_local_definitions`: an operator may be defined in a function body (a test's, a
    // doc test's), where a `#[macro_export]` macro would otherwise be warned about.
    quote_spanned! {name.span()=>
        #[doc(hidden)]
        #[macro_export]
        #[allow(non_local_definitions)]
        macro_rules! #ident { () => {} }
    }
}

/// The impl as written, with clippy's lints about the signatures oplink mandates allowed on
/// the methods it recognises: `Result` where a method cannot fail, `change: Change` by
/// value, `&mut self` or `self` unused, no `const fn` (each of which the macro would refuse).
fn with_mandated_signatures_allowed(model: &Operator<'_>) -> ItemImpl {
    let mut item = model.item.clone();
    for impl_item in &mut item.items {
        if let syn::ImplItem::Fn(method) = impl_item
            && model
                .methods
                .iter()
                .any(|m| m.item.sig.ident == method.sig.ident)
        {
            // First: the author's own attributes come after it, and win.
            method.attrs.insert(
                0,
                syn::parse_quote!(
                    #[allow(
                        clippy::unnecessary_wraps,
                        clippy::needless_pass_by_value,
                        clippy::unused_self,
                        clippy::missing_const_for_fn,
                        clippy::needless_pass_by_ref_mut
                    )]
                ),
            );
        }
    }
    item
}

/// A `compile_error!` for each required method that every variant's `#[cfg]` may remove,
/// and the bridge's stand-ins for it under the same condition, so that the one error is the
/// only one (rustc would add its own about a bridge method missing, which names internal
/// items). The stand-ins are never in a library: the crate does not compile in that build.
fn compiled_out(model: &Operator<'_>, p: &TokenStream) -> (TokenStream, TokenStream) {
    let (mut errors, mut stand_ins) = (TokenStream::new(), TokenStream::new());
    for slot in [Slot::New, Slot::Apply] {
        let predicates: Option<Vec<&TokenStream>> =
            model.methods(slot).map(|m| m.cfg.as_ref()).collect();
        let Some(predicates) = predicates else {
            continue; // one variant has no condition: always there
        };
        let message = format!(
            "every `{0}` of this operator is removed by its `#[cfg]` in this build, but an operator needs `{0}`",
            slot.name()
        );
        let removed = quote!(#[cfg(not(any(#(#predicates),*)))]);
        // At the first version's name, or at the attribute when there is none.
        let at = model
            .methods(slot)
            .next()
            .map_or_else(Span::call_site, |m| m.item.sig.ident.span());
        let error = quote_spanned!(at=> ::core::compile_error!(#message););
        errors.extend(quote! {
            #removed
            #error
        });
        stand_ins.extend(match slot {
            Slot::New => quote! {
                #removed
                fn __new(_: &[u8]) -> ::core::result::Result<Self, #p::NewFailure> {
                    ::core::unreachable!()
                }
            },
            _ => quote! {
                #removed
                fn __apply(&mut self, _: &mut #p::Context, _: #p::Change) -> #p::Result<#p::Change> {
                    ::core::unreachable!()
                }
            },
        });
    }
    (errors, stand_ins)
}

/// Whether `apply` takes a `ChangeView` (the typed borrowed view) rather than a `Change`.
fn takes_view(method: &Method<'_>) -> bool {
    method
        .arg_types
        .first()
        .and_then(|ty| crate::common::types::last_ident(ty))
        .as_deref()
        == Some("ChangeView")
}

/// A call of the user's method from the bridge trait, spanned on the user's signature so
/// that rustc's errors point there: the call on the method's name, each argument on the
/// type the user wrote for it, the `Ok` value on the `Ok` type, and the conversion of the
/// error on the error type. `data` names the bridge's data arguments.
fn call(method: &Method<'_>, data: &[&str], p: &TokenStream) -> TokenStream {
    let sig = &method.item.sig;
    let ident = &sig.ident;
    let receiver =
        matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(_))).then(|| quote!(self,));
    let ctx = method.ctx_type.map(|ty| {
        let ctx = Ident::new("ctx", span::first(ty));
        quote!(#ctx,)
    });
    let args = data
        .iter()
        .zip(&method.arg_types)
        .map(|(name, ty)| Ident::new(name, span::first(ty)));
    let call = quote_spanned!(ident.span()=> Self::#ident(#receiver #ctx #(#args),*));
    let value = Ident::new("__oplink_value", span::first(method.ok));
    // An error type not written out (an alias's, `anyhow::Result<Self>`) is pointed at in
    // the return type, not at its arrow.
    let error_span = method.err.map_or_else(
        || match &sig.output {
            syn::ReturnType::Type(_, ty) => span::first(ty),
            syn::ReturnType::Default => span::first(&sig.output),
        },
        span::first,
    );
    let convert = quote_spanned!(error_span=> #p::OperatorError::into_error(__oplink_error));
    // `new` makes the operator: a value of another type is said to be one (rustc's own
    // mismatch would point into `Result`).
    let ok_value = if matches!(method.slot, Slot::New) {
        quote_spanned!(span::first(method.ok)=> #p::TheOperator::<Self>::into_operator(#value))
    } else {
        quote!(#value)
    };
    let bridge_has_ctx = method.slot.takes_ctx();
    let unused_ctx = (bridge_has_ctx && method.ctx_type.is_none()).then(|| quote!(let _ = &ctx;));
    quote! {
        #unused_ctx
        match #call {
            ::core::result::Result::Ok(#value) => ::core::result::Result::Ok(#ok_value),
            ::core::result::Result::Err(__oplink_error) => ::core::result::Result::Err(#convert),
        }
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
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            // A `///` comment is one line an attribute; a `/** */` block is many in one,
            // perhaps each after a ` * `.
            let text = s.value();
            let block = text.contains('\n');
            // (`"".lines()` is no line at all, but an empty `///` ends a paragraph.)
            for line in text.lines().chain(text.is_empty().then_some("")) {
                let line = line.trim();
                // A block's ` * ` margin, not a line's own `**bold**`.
                let line = match line.strip_prefix("* ") {
                    Some(rest) if block => rest.trim_start(),
                    _ if block && line == "*" => "",
                    _ => line,
                };
                if line.is_empty() && !lines.is_empty() {
                    return lines.join(" "); // the first paragraph is the description
                }
                if !line.is_empty() {
                    // One line: a tab or another control character is a space.
                    let line: String = line
                        .chars()
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .collect();
                    lines.push(line);
                }
            }
        }
    }
    lines.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: TokenStream, input: TokenStream) -> syn::File {
        let out = super::super::expand(args, input);
        syn::parse2(out.clone()).unwrap_or_else(|e| panic!("expansion does not parse: {e}\n{out}"))
    }

    #[test]
    fn the_description_is_the_first_paragraph_on_one_line() {
        let item: ItemImpl = syn::parse_quote! {
            /// Keeps rows
            /// over a minimum.
            ///
            /// Not this.
            impl T {}
        };
        assert_eq!(doc_text(&item), "Keeps rows over a minimum.");
        let item: ItemImpl = syn::parse_quote! {
            #[doc = "Keeps rows\n   over a minimum.\n\n   Not this."]
            impl T {}
        };
        assert_eq!(doc_text(&item), "Keeps rows over a minimum.");
        let item: ItemImpl = syn::parse_quote! {
            #[doc = "\n * Keeps rows\n * over a minimum.\n *\n * Not this.\n "]
            impl T {}
        };
        assert_eq!(doc_text(&item), "Keeps rows over a minimum.");
        let item: ItemImpl = syn::parse_quote! {
            #[doc = "\n**Keeps** rows.\n"]
            impl T {}
        };
        assert_eq!(doc_text(&item), "**Keeps** rows.");
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
        assert!(text.contains("OperatorConfig > :: from_json"), "{text}");
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
        assert!(text.contains("NoConfig"), "{text}");
        assert!(!text.contains(":: oplink ::"), "{text}");
    }

    #[test]
    fn errors_are_collected_and_the_impl_is_kept() {
        let out = super::super::expand(
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

    /// Mistakes no ui case makes, each reported in its own words: a `requires` value that is
    /// neither a list nor a path, `env!` without a name, a variadic method.
    #[test]
    fn rarer_mistakes_are_reported_in_their_own_words() {
        let errors = |args: TokenStream| {
            crate::common::errors::compile_errors(super::super::expand(
                args,
                quote! {
                    impl X {
                        fn new() -> Result<Self> { Ok(X) }
                        fn apply(&mut self, change: Change) -> Result<Change> { Ok(change) }
                    }
                },
            ))
        };
        const FORM: &str = "`requires` lists service traits by path, such as `requires = [Catalog, services::Echo]`";
        assert_eq!(
            errors(quote!(
                name = "x",
                version = "1.0.0",
                requires = (Catalog, services::Echo)
            )),
            [
                "`requires` takes a list in square brackets, not parentheses: write `requires = [Catalog, services::Echo]`"
            ]
        );
        assert_eq!(
            errors(quote!(
                name = "x",
                version = "1.0.0",
                requires = { Catalog }
            )),
            [format!(
                "`requires` takes a list in square brackets, not `{{ Catalog }}`: {FORM}"
            )]
        );
        assert_eq!(
            errors(quote!(name = "x", version = "1.0.0", requires = 3)),
            [format!(
                "`requires` takes a list of service traits, not `3`: {FORM}"
            )]
        );
        assert_eq!(
            errors(quote!(name = "x", version = env!(CARGO_PKG_VERSION))),
            [
                "`env!` takes the name of one environment variable here, such as `env!(\"CARGO_PKG_VERSION\")`"
            ]
        );
        let variadic = crate::common::errors::compile_errors(super::super::expand(
            quote!(name = "x", version = "1.0.0"),
            quote! {
                impl X {
                    fn new() -> Result<Self> { Ok(X) }
                    fn apply(&mut self, change: Change, ...) -> Result<Change> { Ok(change) }
                }
            },
        ));
        assert!(
            variadic.contains(&"`apply` cannot be variadic".to_owned()),
            "{variadic:?}"
        );
    }
}
