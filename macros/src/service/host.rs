//! The host side: one `extern "C"` thunk per method, which lifts the arguments, calls the
//! host's implementation under the trampoline, and raises the result.

use proc_macro2::TokenStream;
use quote::quote;

use super::expand::Parts;
use super::model::Service;

/// The proxy's inherent impl that holds the host thunks, one per method (see [`thunk`]),
/// under the `where` bounds of the user's types; `table.rs` puts them in a table's slots.
pub fn generate(
    service: &Service<'_>,
    parts: &[Parts<'_>],
    p: &TokenStream,
    bounds: &TokenStream,
) -> TokenStream {
    let thunks = parts.iter().map(|part| thunk(service, part, p));
    quote! {
        impl __OplinkProxy #bounds {
            #(#thunks)*
        }
    }
}

/// `__oplink_thunk_<method>`: the method's `extern "C"` function over an implementation
/// type `__OplinkImpl`, with the table's signature (the context, the lowered arguments,
/// `out` and `err`). It refuses a null `out` (the plugin's mistake) without calling
/// anything, and otherwise runs [`body`] under the trampoline (`serve`), which makes a
/// panic or an error a failure status written to `err`. At the call site, but for the
/// user's trait and the types of the signature (spanned at each type, see `Parts`).
fn thunk(service: &Service<'_>, part: &Parts<'_>, p: &TokenStream) -> TokenStream {
    let trait_ident = service.trait_ident;
    let Parts {
        cfg_attr,
        thunk,
        args,
        abi_params,
        out_abi,
        ..
    } = part;
    let body = body(service, part, p);
    quote! {
        #cfg_attr
        unsafe extern "C" fn #thunk<__OplinkImpl: ?::core::marker::Sized + #trait_ident>(
            context: *const ::core::ffi::c_void,
            #(#args: #abi_params,)*
            out: *mut #out_abi,
            err: *mut #p::abi::ErrorOut,
        ) -> #p::abi::Status {
            let mut body = #body;
            if out.is_null() {
                // The plugin's mistake: nothing is called.
                // SAFETY: `err` is writable (the ABI's contract).
                return unsafe { #p::bad_out(err) };
            }
            // SAFETY: `err` is writable (the ABI's contract).
            unsafe { #p::serve(err, &mut body) }
        }
    }
}

/// The closure the trampoline runs for one call: the host's implementation behind the
/// context, each argument lifted (see [`lift_argument`]), the trait's method called on them,
/// a `Result`'s error returned as the host's (see [`ok_value`]), and the value raised into
/// `out`. A value that cannot cross back is the host's failure, naming the service and the
/// method. At the call site, but for the user's trait, method and types (`ret_trait` is
/// spanned at the return type).
fn body(service: &Service<'_>, part: &Parts<'_>, p: &TokenStream) -> TokenStream {
    let trait_ident = service.trait_ident;
    let name = &service.name;
    let Parts {
        method,
        name: method_name,
        args,
        ret_trait,
        ..
    } = part;
    let ident = method.ident;
    let lifts = (0..method.params.len()).map(|index| lift_argument(part, index, name, p));
    let finish = ok_value(part, p);
    quote! {
        |__oplink_bad_input: &mut bool| -> #p::Result<()> {
            // SAFETY: the context of a table that `__oplink_host_table` built
            // over an `Arc<__OplinkImpl>`; the host keeps it alive while plugins
            // call.
            let implementation = unsafe { #p::implementation::<__OplinkImpl>(context) };
            #(#lifts)*
            let value = #trait_ident::#ident(implementation, #(#args),*);
            #finish
            let value = match #ret_trait::try_raise(value) {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(e) => {
                    return ::core::result::Result::Err(
                        #p::unsendable_result(#name, #method_name, e),
                    );
                }
            };
            // SAFETY: `out` is non-null (checked before the call) and writable for
            // this call (the ABI's contract); it may be misaligned.
            unsafe { out.write_unaligned(value) };
            ::core::result::Result::Ok(())
        }
    }
}

/// `let arg = ...;`: argument number `index` lifted from what the plugin lowered. One that
/// cannot be read is the plugin's mistake, not the host's failure: it sets
/// `__oplink_bad_input` (so `serve` returns `INVALID_INPUT`) and fails the call naming the
/// service, the method and the parameter. At the call site, but for `arg_trait` (spanned at
/// the parameter's type).
fn lift_argument(part: &Parts<'_>, index: usize, name: &str, p: &TokenStream) -> TokenStream {
    let Parts {
        method,
        name: method_name,
        args,
        arg_traits,
        ..
    } = part;
    let (arg, arg_trait) = (&args[index], &arg_traits[index]);
    let param_name = &method.params[index].name;
    quote! {
        // SAFETY: lowered by the plugin's proxy for this call, as the same type
        // (the fingerprints agree); `relabel` only renames its lifetime.
        let #arg = match unsafe { #arg_trait::lift(#p::relabel(#arg)) } {
            ::core::result::Result::Ok(value) => value,
            ::core::result::Result::Err(e) => {
                // Not the host's failure: the plugin sent what cannot be read.
                *__oplink_bad_input = true;
                return ::core::result::Result::Err(
                    #p::bad_argument(#name, #method_name, #param_name, e),
                );
            }
        };
    }
}

/// For a method that returns a `Result` (or an alias of one): `value` made its `Ok` value,
/// and an `Err` returned as the host's error (`host_error`). Nothing for any other method.
/// At the call site, but for the return type as the user wrote it.
fn ok_value(part: &Parts<'_>, p: &TokenStream) -> Option<TokenStream> {
    let method = part.method;
    let output = &method.output;
    method.fallible.as_ref().map(|_| {
        quote! {
            let value = match <#output as #p::Fallible>::into_result(value) {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(error) => {
                    return ::core::result::Result::Err(#p::host_error(error));
                }
            };
        }
    })
}
