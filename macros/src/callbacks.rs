//! `#[host_callbacks]`: parse and check a trait into one [`Service`] model, then write both
//! sides from it — the `#[repr(C)]` table, the host-side thunks, the plugin-side proxy, the
//! service's identity and the layout assertions.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::visit_mut::VisitMut;
use syn::{
    Expr, ExprLit, FnArg, ItemTrait, Lit, LitStr, Pat, ReturnType, TraitItem, TraitItemFn, Type,
    TypeParamBound,
};

use crate::attr;
use crate::errors::Errors;

/// Entry point of `#[host_callbacks]`.
pub fn host_callbacks(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = parse_args(args, &mut errors);
    let mut item: ItemTrait = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let message = "#[oplink::host_callbacks] goes on a trait: `#[oplink::host_callbacks] pub trait Catalog { fn row_count(&self, table: &str) -> Result<u64>; }`";
            let mut tokens = input.into_iter();
            let first = tokens.next();
            let span = first.as_ref().map_or_else(Span::call_site, |t| t.span());
            let error = syn::Error::new(span, message).into_compile_error();
            let rest: TokenStream = first.into_iter().chain(tokens).collect();
            return quote!(#error #rest);
        }
    };
    let service = Service::parse(&item, &args, &mut errors);
    let expanded = if errors.is_empty() {
        add_thread_safety(&mut item);
        let generated = service.expand();
        quote!(#item #generated)
    } else {
        let errors = errors.into_compile_errors();
        quote!(#errors #item)
    };
    if std::env::var_os("OPLINK_DEBUG").is_some() {
        eprintln!(
            "// oplink: expansion of #[host_callbacks] on `{}`\n{expanded}",
            item.ident
        );
    }
    expanded
}

struct Args {
    name: Option<LitStr>,
    krate: syn::Path,
}

const KEYS: &str = "`name` or `crate`";

fn parse_args(args: TokenStream, errors: &mut Errors) -> Args {
    let mut out = Args {
        name: None,
        krate: syn::parse_quote!(::oplink),
    };
    let Some(pairs) = attr::key_values(
        args,
        errors,
        attr::Form {
            written: "`key = value`",
            example: "name = \"acme.Catalog\"",
            attribute: "host_callbacks",
            keys: KEYS,
        },
    ) else {
        return out;
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, pair) in &pairs {
        let key = key.as_str();
        if seen.contains(&key) {
            errors.at(
                &pair.path,
                format!("duplicate host_callbacks attribute `{key}`"),
            );
            continue;
        }
        seen.push(key);
        match (key, &pair.value) {
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
                errors.at(
                    path,
                    format!(
                        "unknown host_callbacks attribute `{}`; expected {KEYS}",
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
    if name.is_empty() || name.len() > 128 {
        return Err(format!(
            "invalid service name `{name}`: use 1 to 128 ASCII letters, digits, `_` and `.`"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) || !name.chars().all(valid) {
        return Err(format!(
            "invalid service name `{name}`: use ASCII letters, digits, `_` and `.`, starting with a letter"
        ));
    }
    Ok(())
}

/// The parsed and checked trait: what both sides are written from.
struct Service {
    trait_ident: Ident,
    name: String,
    krate: syn::Path,
    methods: Vec<Method>,
}

struct Method {
    ident: Ident,
    /// `fn name(&self, a: A) -> R`, tidied, for the fingerprint and for messages.
    signature: String,
    params: Vec<Param>,
    /// The return type as written (`()` when absent).
    output: Type,
    /// Whether the return type is a `Result`: failures of the call become its `Err`.
    fallible: bool,
}

struct Param {
    /// The name in the signature, for messages (`_` when it is not a plain identifier).
    name: String,
    ty: Type,
}

impl Service {
    fn parse(item: &ItemTrait, args: &Args, errors: &mut Errors) -> Service {
        check_trait(item, errors);
        let methods = item
            .items
            .iter()
            .filter_map(|entry| match entry {
                TraitItem::Fn(method) => Method::parse(method, errors),
                TraitItem::Type(ty) => {
                    errors.at(
                        ty,
                        format!(
                            "host service traits cannot have associated types (`type {}`): both sides must agree on every type at compile time; name the concrete type in the method signatures",
                            ty.ident
                        ),
                    );
                    None
                }
                TraitItem::Const(c) => {
                    errors.at(
                        c,
                        format!(
                            "host service traits cannot have associated constants (`const {}`): a constant cannot be called across the boundary; make it a method (`fn {}(&self) -> …`)",
                            c.ident,
                            c.ident.to_string().to_lowercase()
                        ),
                    );
                    None
                }
                other => {
                    errors.at(other, "only methods may appear in a host service trait");
                    None
                }
            })
            .collect::<Vec<_>>();
        if methods.is_empty() && errors.is_empty() {
            errors.at(
                &item.ident,
                format!(
                    "host service `{}` has no methods: declare at least one `fn …(&self, …)`",
                    item.ident
                ),
            );
        }
        Service {
            trait_ident: item.ident.clone(),
            name: args
                .name
                .as_ref()
                .map_or_else(|| item.ident.to_string(), LitStr::value),
            krate: args.krate.clone(),
            methods,
        }
    }
}

fn check_trait(item: &ItemTrait, errors: &mut Errors) {
    if !item.generics.params.is_empty() {
        errors.at(
            &item.generics,
            format!(
                "host service trait `{}` cannot be generic: the host and the plugin must agree on one table of concrete functions",
                item.ident
            ),
        );
    }
    if let Some(clause) = &item.generics.where_clause {
        errors.at(clause, "a host service trait cannot have a `where` clause");
    }
    if let Some(unsafety) = &item.unsafety {
        errors.at(unsafety, "a host service trait cannot be `unsafe`");
    }
    if let Some(auto) = &item.auto_token {
        errors.at(auto, "a host service trait cannot be an auto trait");
    }
    for bound in &item.supertraits {
        let allowed = match bound {
            TypeParamBound::Trait(t) => t
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Send" || s.ident == "Sync"),
            _ => false,
        };
        if !allowed {
            errors.at(
                bound,
                "a host service trait cannot have supertraits (other than `Send` and `Sync`, which it always gets): the plugin sees the service only through its own methods",
            );
        }
    }
}

impl Method {
    fn parse(method: &TraitItemFn, errors: &mut Errors) -> Option<Method> {
        let sig = &method.sig;
        let before = errors.len();
        let name = &sig.ident;
        if let Some(body) = &method.default {
            errors.at_span(
                body.brace_token.span.join(),
                format!(
                    "`{name}` has a default body, which host services do not support: the host implements every method and the plugin calls through a table; remove the body"
                ),
            );
        }
        if let Some(token) = &sig.asyncness {
            errors.at(
                token,
                format!("`{name}` cannot be `async`: host service calls are synchronous"),
            );
        }
        if let Some(token) = &sig.unsafety {
            errors.at(
                token,
                format!("`{name}` cannot be `unsafe`: every host service call is safe to make"),
            );
        }
        if let Some(token) = &sig.constness {
            errors.at(token, format!("`{name}` cannot be `const`"));
        }
        if let Some(abi) = &sig.abi {
            errors.at(
                abi,
                format!("`{name}` cannot name an ABI: oplink writes the `extern \"C\"` functions"),
            );
        }
        if let Some(variadic) = &sig.variadic {
            errors.at(variadic, format!("`{name}` cannot be variadic"));
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            errors.at(
                &sig.generics,
                format!(
                    "`{name}` cannot be generic: each method becomes one `extern \"C\"` function of concrete types"
                ),
            );
        }
        let mut inputs = sig.inputs.iter();
        match inputs.next() {
            Some(FnArg::Receiver(receiver))
                if receiver.reference.is_some()
                    && receiver.mutability.is_none()
                    && receiver.colon_token.is_none() => {}
            Some(FnArg::Receiver(receiver)) => errors.at(
                receiver,
                format!(
                    "`{name}` must take `&self`: the host serves every plugin and instance through a shared reference (keep mutable state behind a `Mutex` in the host's type)"
                ),
            ),
            _ => errors.at(
                name,
                format!(
                    "`{name}` must take `&self` as its first parameter: a host service method is called on the host's service"
                ),
            ),
        }
        let mut params = Vec::new();
        for input in sig.inputs.iter() {
            let FnArg::Typed(typed) = input else { continue };
            let param_name = match &*typed.pat {
                Pat::Ident(ident) => ident.ident.to_string(),
                _ => "_".to_owned(),
            };
            if check_type(&typed.ty, &param_name, name, errors) {
                params.push(Param {
                    name: param_name,
                    ty: (*typed.ty).clone(),
                });
            }
        }
        let output: Type = match &sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        check_type(&output, "the return value", name, errors);
        if errors.len() > before {
            return None;
        }
        let fallible = is_result(&output);
        Some(Method {
            ident: name.clone(),
            signature: signature_text(method),
            params,
            output,
            fallible,
        })
    }
}

/// Rejects what cannot appear in a table's function types whatever the vocabulary holds:
/// `impl Trait`, `Self`, named lifetimes, `&mut`. Every other type is left to the [`Arg`]
/// and [`Ret`] traits, whose messages point at it.
fn check_type(ty: &Type, what: &str, method: &Ident, errors: &mut Errors) -> bool {
    struct Finder<'a> {
        errors: &'a mut Errors,
        what: &'a str,
        method: &'a Ident,
        found: bool,
    }
    impl syn::visit::Visit<'_> for Finder<'_> {
        fn visit_type_impl_trait(&mut self, ty: &syn::TypeImplTrait) {
            self.found = true;
            self.errors.at(
                ty,
                format!(
                    "`impl Trait` cannot cross the plugin boundary ({} of `{}`): name a concrete type",
                    self.what, self.method
                ),
            );
        }
        fn visit_type_reference(&mut self, ty: &syn::TypeReference) {
            if let Some(token) = &ty.mutability {
                self.found = true;
                self.errors.at(
                    token,
                    format!(
                        "`&mut` cannot cross the plugin boundary ({} of `{}`): the other side cannot write into this side's memory; return the new value instead",
                        self.what, self.method
                    ),
                );
            }
            if let Some(lifetime) = &ty.lifetime
                && lifetime.ident != "_"
                && lifetime.ident != "static"
            {
                self.found = true;
                self.errors.at(
                        lifetime,
                        format!(
                            "named lifetimes are not supported in host service methods ({} of `{}`): borrowed parameters live for the call, so leave the lifetime out",
                            self.what, self.method
                        ),
                    );
            }
            syn::visit::visit_type_reference(self, ty);
        }
        fn visit_path(&mut self, path: &syn::Path) {
            if path.is_ident("Self") || path.segments.first().is_some_and(|s| s.ident == "Self") {
                self.found = true;
                self.errors.at(
                    path,
                    format!(
                        "`Self` cannot appear in a host service method's types ({} of `{}`): the plugin sees the service only as a table of functions",
                        self.what, self.method
                    ),
                );
            }
            syn::visit::visit_path(self, path);
        }
    }
    let mut finder = Finder {
        errors,
        what,
        method,
        found: false,
    };
    syn::visit::Visit::visit_type(&mut finder, ty);
    !finder.found
}

/// Whether the type's last path segment is `Result` (`Result<T>`, `io::Result<T>`,
/// `core::result::Result<T, E>`, …). Whether it really is one is checked by the
/// `Fallible` trait in the expansion.
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Result"),
        Type::Group(group) => is_result(&group.elem),
        Type::Paren(paren) => is_result(&paren.elem),
        _ => false,
    }
}

/// `fn name(&self, a: &str) -> Result<u64>`: the tokens of the signature with spacing tidied.
fn signature_text(method: &TraitItemFn) -> String {
    let sig = &method.sig;
    let params: Vec<String> = sig
        .inputs
        .iter()
        .map(|input| match input {
            FnArg::Receiver(_) => "&self".to_owned(),
            FnArg::Typed(typed) => format!(
                "{}: {}",
                tidy(&typed.pat.to_token_stream()),
                tidy(&typed.ty.to_token_stream())
            ),
        })
        .collect();
    let output = match &sig.output {
        ReturnType::Default => String::new(),
        ReturnType::Type(_, ty) => format!(" -> {}", tidy(&ty.to_token_stream())),
    };
    format!("fn {}({}){output}", sig.ident, params.join(", "))
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
    ] {
        while text.contains(from) {
            text = text.replace(from, to);
        }
    }
    text
}

/// Makes the trait require `Send + Sync`: one host value serves every instance, from any
/// thread, and the plugin's proxy is kept in an operator that is `Send`.
fn add_thread_safety(item: &mut ItemTrait) {
    for bound in ["Send", "Sync"] {
        let present = item.supertraits.iter().any(|b| match b {
            TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == bound),
            _ => false,
        });
        if !present {
            let ident = Ident::new(bound, Span::call_site());
            item.supertraits
                .push(syn::parse_quote!(::core::marker::#ident));
            if item.colon_token.is_none() {
                item.colon_token = Some(Default::default());
            }
        }
    }
}

/// Replaces every lifetime, written or elided, by `'static`: a table's function types cannot
/// borrow, and what crosses (`Arg::Abi`) does not depend on lifetimes.
struct Staticise;

impl VisitMut for Staticise {
    fn visit_type_reference_mut(&mut self, ty: &mut syn::TypeReference) {
        ty.lifetime = Some(syn::parse_quote!('static));
        syn::visit_mut::visit_type_reference_mut(self, ty);
    }
    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        *lifetime = syn::parse_quote!('static);
    }
}

fn staticised(ty: &Type) -> Type {
    let mut ty = ty.clone();
    Staticise.visit_type_mut(&mut ty);
    ty
}

impl Service {
    fn expand(&self) -> TokenStream {
        let krate = &self.krate;
        let p = quote!(#krate::__private);
        let trait_ident = &self.trait_ident;
        let name = &self.name;
        let table = format_ident!("__Oplink{}Table", trait_ident);
        let proxy = format_ident!("__Oplink{}Proxy", trait_ident);

        let mut fields = Vec::new();
        let mut thunks = Vec::new();
        let mut proxy_methods = Vec::new();
        let mut slot_inits = Vec::new();
        let mut slot_checks = Vec::new();
        let mut offset_asserts = Vec::new();
        let signatures: Vec<&str> = self.methods.iter().map(|m| m.signature.as_str()).collect();

        for (index, method) in self.methods.iter().enumerate() {
            let ident = &method.ident;
            // The table's field for this method: prefixed, so that no method name can
            // collide with the table's own `size` and `context`.
            let slot_field = format_ident!("fn_{}", ident);
            let method_name = ident.to_string();
            let thunk = format_ident!("__oplink_thunk_{}", ident);
            // Every path that puts a user's type through a trait of the vocabulary is spanned
            // on that type, so an unsupported one is underlined where it is written, once.
            let ret_span = param_span(&method.output);
            let output_static = staticised(&method.output);
            let output = &method.output;
            let (ok_static, ok) = if method.fallible {
                (
                    quote!(<#output_static as #p::Fallible>::Ok),
                    quote!(<#output as #p::Fallible>::Ok),
                )
            } else {
                (quote!(#output_static), quote!(#output))
            };
            let out_abi = respan(quote!(<#ok_static as #p::Ret>::Abi), ret_span);
            let ret_trait = respan(quote!(<#ok as #p::Ret>), ret_span);
            let fallible_trait = respan(quote!(<#output as #p::Fallible>), ret_span);
            let fallible_failed = respan(quote!(#p::fallible_failed::<#output>), ret_span);
            let abi_params: Vec<TokenStream> = method
                .params
                .iter()
                .map(|param| {
                    let ty = staticised(&param.ty);
                    respan(quote!(<#ty as #p::Arg>::Abi), param_span(&param.ty))
                })
                .collect();
            let arg_traits: Vec<TokenStream> = method
                .params
                .iter()
                .map(|param| {
                    let ty = &param.ty;
                    respan(quote!(<#ty as #p::Arg>), param_span(ty))
                })
                .collect();
            let fn_type = quote! {
                unsafe extern "C" fn(
                    *const ::core::ffi::c_void,
                    #(#abi_params,)*
                    *mut #out_abi,
                    *mut #p::abi::ErrorOut,
                ) -> #p::abi::Status
            };
            // Slots are stored type-erased: the table's layout never depends on the user's
            // types, so an unsupported type is reported at the type alone, not again at
            // the table. Each slot is cast back to its real type where it is called.
            fields.push(quote!(#slot_field: ::core::option::Option<unsafe extern "C" fn()>));
            slot_inits.push(quote! {
                // SAFETY: a function pointer cast to another function pointer type, and cast
                // back to `#fn_type` before every call (in the proxy).
                #slot_field: ::core::option::Option::Some(unsafe {
                    ::core::mem::transmute::<#fn_type, unsafe extern "C" fn()>(#thunk)
                })
            });
            slot_checks.push(quote! {
                if table.#slot_field.is_none() {
                    return ::core::result::Result::Err(#p::Error::msg(::std::format!(
                        "the host's `{}` table has no function for `{}`", #name, #method_name
                    )));
                }
            });
            let slot = 2 + index;
            offset_asserts.push(quote! {
                ::core::assert!(
                    ::core::mem::offset_of!(#table, #slot_field) == #slot * ::core::mem::size_of::<usize>(),
                    ::core::concat!("the slot of `", #method_name, "` is not where the ABI puts it"),
                );
            });

            // The host side: lift the arguments, call the implementation, raise the result.
            let arg_names: Vec<Ident> = (0..method.params.len())
                .map(|i| format_ident!("__oplink_a{}", i))
                .collect();
            let lifts = method.params.iter().zip(&arg_names).zip(&arg_traits).map(
                |((param, arg), arg_trait)| {
                    let param_name = &param.name;
                    quote! {
                        // SAFETY: lowered by the plugin's proxy for this call.
                        let #arg = unsafe { #arg_trait::lift(#arg) }
                            .map_err(|e| #p::bad_argument(#name, #method_name, #param_name, e))?;
                    }
                },
            );
            let finish = if method.fallible {
                quote! {
                    let value = #fallible_trait::into_result(value).map_err(#p::host_error)?;
                }
            } else {
                quote!()
            };
            thunks.push(quote! {
                unsafe extern "C" fn #thunk(
                    context: *const ::core::ffi::c_void,
                    #(#arg_names: #abi_params,)*
                    out: *mut #out_abi,
                    err: *mut #p::abi::ErrorOut,
                ) -> #p::abi::Status {
                    let mut body = || -> #p::Result<()> {
                        // SAFETY: the context of a table that `__host_table` built for
                        // `dyn #trait_ident`; the host keeps it alive while plugins call.
                        let implementation = unsafe { #p::implementation::<dyn #trait_ident>(context) };
                        #(#lifts)*
                        let value = #trait_ident::#ident(implementation, #(#arg_names),*);
                        #finish
                        // SAFETY: `out` is writable for this call (the ABI's contract).
                        unsafe { out.write(#ret_trait::raise(value)) };
                        ::core::result::Result::Ok(())
                    };
                    // SAFETY: `err` is writable and empty (the ABI's contract).
                    unsafe { #p::serve(err, &mut body) }
                }
            });

            // The plugin side: lower the arguments, call through the table, take the result.
            let proxy_params = method.params.iter().zip(&arg_names).map(|(param, arg)| {
                let ty = &param.ty;
                quote!(#arg: #ty)
            });
            let lowers = arg_names
                .iter()
                .zip(&arg_traits)
                .map(|(arg, arg_trait)| quote!(let #arg = #arg_trait::lower(&#arg, &mut keep);));
            let outcome = if method.fallible {
                quote! {
                    match failure {
                        ::core::option::Option::None => {
                            // SAFETY: an OK status means the host wrote `out`, once.
                            match unsafe { #ret_trait::take(out.assume_init()) } {
                                ::core::result::Result::Ok(value) => #fallible_trait::from_result(::core::result::Result::Ok(value)),
                                ::core::result::Result::Err(e) => #fallible_failed(#name, #method_name, #p::bad_return(#name, #method_name, e)),
                            }
                        }
                        ::core::option::Option::Some(message) => #fallible_failed(#name, #method_name, message),
                    }
                }
            } else {
                quote! {
                    match failure {
                        ::core::option::Option::None => {
                            // SAFETY: an OK status means the host wrote `out`, once.
                            match unsafe { #ret_trait::take(out.assume_init()) } {
                                ::core::result::Result::Ok(value) => value,
                                ::core::result::Result::Err(e) => #p::infallible_failed(#name, #method_name, &#p::bad_return(#name, #method_name, e)),
                            }
                        }
                        ::core::option::Option::Some(message) => #p::infallible_failed(#name, #method_name, &message),
                    }
                }
            };
            proxy_methods.push(quote! {
                fn #ident(&self, #(#proxy_params),*) -> #output {
                    let mut keep = #p::Keep::default();
                    #(#lowers)*
                    let mut out = ::core::mem::MaybeUninit::<#ret_trait::Abi>::uninit();
                    let mut err = #p::abi::ErrorOut::EMPTY;
                    // SAFETY: `__proxy` checked that the table is this service's, large enough,
                    // and that this slot is filled; the host keeps it alive for the instance.
                    let table = unsafe { &*self.table };
                    let status = match table.#slot_field {
                        // SAFETY: the slot holds the host's thunk for this method, whose type
                        // is `#fn_type` (the fingerprint promises the same signature on both
                        // sides); the arguments are lowered for it, and `keep` holds what they
                        // point to until after the call.
                        ::core::option::Option::Some(f) => unsafe {
                            let f = ::core::mem::transmute::<unsafe extern "C" fn(), #fn_type>(f);
                            f(table.context, #(#arg_names,)* out.as_mut_ptr(), &mut err)
                        },
                        ::core::option::Option::None => ::core::unreachable!("checked when the proxy was made"),
                    };
                    ::core::mem::drop(keep);
                    // SAFETY: `err` was written by the host for a non-OK status, or is empty.
                    let failure = unsafe { #p::failure_message(status, &mut err, #name, #method_name) };
                    #outcome
                }
            });
        }

        let method_count = self.methods.len();
        let table_words = 2 + method_count;
        quote! {
            #[doc(hidden)]
            #[allow(non_upper_case_globals, non_snake_case, non_camel_case_types, dead_code, clippy::all)]
            const _: () = {
                /// The table of `extern "C"` functions the host fills and the plugin calls.
                #[repr(C)]
                struct #table {
                    size: usize,
                    context: *const ::core::ffi::c_void,
                    #(#fields,)*
                }

                #(#thunks)*

                struct #proxy {
                    table: *const #table,
                }

                // SAFETY: the proxy only reads an immutable table of thunks over a host value
                // that is `Send + Sync` (the trait requires it).
                unsafe impl ::core::marker::Send for #proxy {}
                // SAFETY: as above.
                unsafe impl ::core::marker::Sync for #proxy {}

                impl #trait_ident for #proxy {
                    #(#proxy_methods)*
                }

                // SAFETY: the constants describe the table the two functions build and read.
                unsafe impl #p::Service for dyn #trait_ident {
                    const NAME: &'static str = #name;
                    const METHODS: &'static [&'static str] = &[#(#signatures),*];
                    const FINGERPRINT: u64 = #p::fingerprint(#name, &[#(#signatures),*]);
                    const REQUIREMENT: #p::ServiceRequirement = #p::ServiceRequirement::new(
                        #name,
                        <Self as #p::Service>::FINGERPRINT,
                        &[#(#p::abi::StrView::from_static(#signatures)),*],
                    );

                    fn __host_table(implementation: ::std::sync::Arc<Self>) -> #p::HostTable {
                        #p::HostTable::new(implementation, |context| #table {
                            size: ::core::mem::size_of::<#table>(),
                            context,
                            #(#slot_inits,)*
                        })
                    }

                    unsafe fn __proxy(table: *const ::core::ffi::c_void) -> #p::Result<::std::sync::Arc<Self>> {
                        // SAFETY: forwarded from the caller: a table of this service.
                        unsafe { #p::check_table(table, #name, ::core::mem::size_of::<#table>()) }?;
                        // SAFETY: checked above to be at least as large as our table.
                        let table = unsafe { &*table.cast::<#table>() };
                        #(#slot_checks)*
                        ::core::result::Result::Ok(::std::sync::Arc::new(#proxy { table }))
                    }
                }

                // The table is its size, the host's context and one pointer per method, in
                // the order of the trait: the layout the fingerprint promises.
                const _: () = {
                    ::core::assert!(
                        ::core::mem::size_of::<#table>() == #table_words * ::core::mem::size_of::<usize>(),
                        "the service table's size is not what the ABI says",
                    );
                    ::core::assert!(::core::mem::align_of::<#table>() == ::core::mem::align_of::<usize>());
                    ::core::assert!(::core::mem::offset_of!(#table, context) == ::core::mem::size_of::<usize>());
                    #(#offset_asserts)*
                };
            };
        }
    }
}

/// `tokens` with every span moved to `span`, so that rustc reports a failed bound on any of
/// them at `span` (the user's type), and reports it once.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// The span of a type's first token, where rustc's trait errors for it should point.
fn param_span(ty: &Type) -> Span {
    ty.to_token_stream()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(input: TokenStream) -> (String, String) {
        let out = host_callbacks(TokenStream::new(), input);
        let file: syn::File = syn::parse2(out.clone()).expect("expansion parses");
        (out.to_string(), quote!(#file).to_string())
    }

    #[test]
    fn signatures_are_tidy() {
        let method: TraitItemFn = syn::parse_quote! {
            fn row_count(&self, table: &str, ids: &[u64], pick: Option<Vec<u8>>) -> Result<u64, String>;
        };
        assert_eq!(
            signature_text(&method),
            "fn row_count(&self, table: &str, ids: &[u64], pick: Option<Vec<u8>>) -> Result<u64, String>"
        );
    }

    #[test]
    fn expansion_has_table_thunks_proxy_and_identity() {
        let (text, _) = expand(quote! {
            pub trait Catalog {
                fn table_exists(&self, name: &str) -> bool;
                fn row_count(&self, table: &str) -> Result<u64>;
            }
        });
        for fragment in [
            "struct __OplinkCatalogTable",
            "fn __oplink_thunk_table_exists",
            "fn __oplink_thunk_row_count",
            "impl Catalog for __OplinkCatalogProxy",
            "Service for dyn Catalog",
            "\"fn row_count(&self, table: &str) -> Result<u64>\"",
            ":: core :: marker :: Send",
        ] {
            assert!(text.contains(fragment), "missing `{fragment}` in {text}");
        }
    }

    #[test]
    fn errors_are_collected() {
        let out = host_callbacks(
            TokenStream::new(),
            quote! {
                pub trait Bad<T> {
                    type Item;
                    async fn a(&self);
                    fn b(&mut self);
                    fn c(&self, x: impl Fn());
                }
            },
        )
        .to_string();
        assert_eq!(out.matches("compile_error").count(), 5, "{out}");
    }
}
