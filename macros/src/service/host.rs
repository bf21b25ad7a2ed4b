//! The host side: one `extern "C"` thunk per method, which lifts the arguments, calls the
//! host's implementation under the trampoline, and raises the result.

use proc_macro2::TokenStream;
use quote::quote;

use super::expand::Parts;
use super::model::Service;

pub fn generate(
    service: &Service<'_>,
    parts: &[Parts<'_>],
    p: &TokenStream,
    bounds: &TokenStream,
) -> TokenStream {
    let trait_ident = service.trait_ident;
    let name = &service.name;
    let thunks = parts.iter().map(|part| {
        let Parts {
            method,
            cfg_attr,
            thunk,
            name: method_name,
            args,
            arg_traits,
            abi_params,
            ret_trait,
            out_abi,
            ..
        } = part;
        let ident = method.ident;
        let output = &method.output;
        let lifts =
            method
                .params
                .iter()
                .zip(args)
                .zip(arg_traits)
                .map(|((param, arg), arg_trait)| {
                    let param_name = &param.name;
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
                });
        let finish = method.fallible.as_ref().map(|_| {
            quote! {
                let value = match <#output as #p::Fallible>::into_result(value) {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(error) => {
                        return ::core::result::Result::Err(#p::host_error(error));
                    }
                };
            }
        });
        quote! {
            #cfg_attr
            unsafe extern "C" fn #thunk<__OplinkImpl: ?::core::marker::Sized + #trait_ident>(
                context: *const ::core::ffi::c_void,
                #(#args: #abi_params,)*
                out: *mut #out_abi,
                err: *mut #p::abi::ErrorOut,
            ) -> #p::abi::Status {
                let mut body = |__oplink_bad_input: &mut bool| -> #p::Result<()> {
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
                };
                if out.is_null() {
                    // The plugin's mistake: nothing is called.
                    // SAFETY: `err` is writable (the ABI's contract).
                    return unsafe { #p::bad_out(err) };
                }
                // SAFETY: `err` is writable (the ABI's contract).
                unsafe { #p::serve(err, &mut body) }
            }
        }
    });
    quote! {
        impl __OplinkProxy #bounds {
            #(#thunks)*
        }
    }
}
