//! The plugin side: a proxy that implements the trait by calling through the host's table,
//! lowering each argument for the call and taking the result back.

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
    let methods = parts.iter().map(|part| {
        let Parts {
            method,
            cfg_attr,
            slot_field,
            name: method_name,
            args,
            arg_traits,
            abi_params,
            ret_trait,
            out_abi,
            fn_type,
            ..
        } = part;
        let ident = method.ident;
        let output = &method.output;
        let params = method.params.iter().zip(args).map(|(param, arg)| {
            let ty = param.ty;
            quote!(#arg: #ty)
        });
        let lowered: Vec<proc_macro2::Ident> = args
            .iter()
            .map(|arg| quote::format_ident!("{}_abi", arg))
            .collect();
        let lowers = args
            .iter()
            .zip(&lowered)
            .zip(arg_traits.iter().zip(abi_params))
            .zip(&method.params)
            .map(|(((arg, low), (arg_trait, abi)), param)| {
                let param_name = &param.name;
                // An argument that cannot cross (a batch no crossing takes, a `Json` value
                // serde cannot write) fails the call before it is made, saying why.
                let unsendable = if method.fallible.is_some() {
                    quote! {
                        return #p::fallible_failed::<#output>(
                            #p::unsendable_argument(#name, #method_name, #param_name, e),
                        );
                    }
                } else {
                    quote! {
                        #p::infallible_failed(
                            #name,
                            #method_name,
                            &#p::unsendable_argument(#name, #method_name, #param_name, e),
                        )
                    }
                };
                quote! {
                    let #low = match #arg_trait::try_lower(&#arg, &mut keep) {
                        // SAFETY: the same type under another lifetime; `keep` and the
                        // argument outlive the call, so what the value points to stays
                        // valid for it.
                        ::core::result::Result::Ok(abi) => unsafe { #p::relabel::<_, #abi>(abi) },
                        ::core::result::Result::Err(e) => {
                            // Nothing unwinds with `keep` alive (so no landing pad drops it).
                            keep.release();
                            #unsendable
                        }
                    };
                }
            });
        let (failed, took) = if method.fallible.is_some() {
            (
                quote! {
                    // SAFETY: the host writes `err` whole for a failure status (and it is
                    // read for no other, ABI 2.2).
                    return unsafe { #p::fallible_call_failed::<#output>(status, err.as_mut_ptr(), #name, #method_name) };
                },
                quote! {
                    ::core::result::Result::Ok(value) => <#output as #p::Fallible>::from_result(::core::result::Result::Ok(value)),
                    ::core::result::Result::Err(e) => #p::fallible_failed::<#output>(#p::bad_return(#name, #method_name, e)),
                },
            )
        } else {
            (
                quote! {
                    // SAFETY: as above.
                    unsafe { #p::infallible_call_failed(status, err.as_mut_ptr(), #name, #method_name) }
                },
                quote! {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(e) => #p::infallible_failed(#name, #method_name, &#p::bad_return(#name, #method_name, e)),
                },
            )
        };
        quote! {
            #cfg_attr
            fn #ident(&self, #(#params),*) -> #output {
                let mut keep = #p::Keep::default();
                #(#lowers)*
                let mut out = ::core::mem::MaybeUninit::<#out_abi>::uninit();
                let mut err = ::core::mem::MaybeUninit::<#p::abi::ErrorOut>::uninit();
                // SAFETY: `__proxy` checked that the table is this service's, large enough,
                // and that this slot is filled; the host keeps it alive for the instance.
                let table = unsafe { &*self.table };
                let ::core::option::Option::Some(f) = table.#slot_field else {
                    // Nothing unwinds with `keep` alive (so no landing pad drops it).
                    keep.release();
                    ::core::unreachable!("checked when the proxy was made")
                };
                // SAFETY: the slot holds the host's thunk for this method, whose type is this
                // one (the fingerprints promise the same signature on both sides); the
                // arguments are lowered for it, and `keep` holds what they point to.
                let status = unsafe {
                    let f = ::core::mem::transmute::<unsafe extern "C" fn(), #fn_type>(f);
                    f(table.header.context, #(#lowered,)* out.as_mut_ptr(), err.as_mut_ptr())
                };
                keep.release();
                // A failure is handled out of line, so the call itself saves no registers.
                if status != #p::abi::Status::OK {
                    #failed
                }
                // SAFETY: an OK status means the host wrote `out`, once.
                match unsafe { #ret_trait::take(out.assume_init()) } {
                    #took
                }
            }
        }
    });
    quote! {
        // Not a candidate a compiler message should suggest: the proxy is internal.
        #[diagnostic::do_not_recommend]
        impl #trait_ident for __OplinkProxy #bounds {
            #(#methods)*
        }
    }
}
