//! The plugin side: a proxy that implements the trait by calling through the host's table,
//! lowering each argument for the call and taking the result back.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::expand::Parts;
use super::model::Service;

/// The trait implemented for `__OplinkProxy`, one method per method of the trait (see
/// [`proxy_method`]), under the `where` bounds of the user's types.
pub fn generate(
    service: &Service<'_>,
    parts: &[Parts<'_>],
    p: &TokenStream,
    bounds: &TokenStream,
) -> TokenStream {
    let trait_ident = service.trait_ident;
    let methods = parts
        .iter()
        .map(|part| proxy_method(part, &service.name, p));
    quote! {
        // Not a candidate a compiler message should suggest: the proxy is internal.
        #[diagnostic::do_not_recommend]
        impl #trait_ident for __OplinkProxy #bounds {
            #(#methods)*
        }
    }
}

/// One method of the proxy, with the trait's signature: it lowers each argument (see
/// [`lower_argument`]), calls the host's function in the method's slot, and takes the
/// result back (see [`outcome`]). `keep` holds what the lowered arguments point to until
/// the call returns, and is released before anything can unwind.
fn proxy_method(part: &Parts<'_>, name: &str, p: &TokenStream) -> TokenStream {
    let Parts {
        method,
        cfg_attr,
        slot_field,
        args,
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
    let lowered: Vec<Ident> = args
        .iter()
        .map(|arg| quote::format_ident!("{}_abi", arg))
        .collect();
    let lowers = lowered
        .iter()
        .enumerate()
        .map(|(index, low)| lower_argument(part, index, low, name, p));
    let (failed, took) = outcome(part, name, p);
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
}

/// `let low = ...;`: argument number `index` lowered for the call, into `keep` for what it
/// points to. An argument that cannot cross fails the call before it is made, in the
/// method's own way (see [`outcome`]), naming the service, the method and the parameter.
fn lower_argument(
    part: &Parts<'_>,
    index: usize,
    low: &Ident,
    name: &str,
    p: &TokenStream,
) -> TokenStream {
    let Parts {
        method,
        name: method_name,
        args,
        arg_traits,
        abi_params,
        ..
    } = part;
    let (arg, arg_trait, abi) = (&args[index], &arg_traits[index], &abi_params[index]);
    let output = &method.output;
    let param_name = &method.params[index].name;
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
}

/// What the proxy does after the call: on a failure status, and with the value the host
/// wrote (the arms of a `match` on taking it back). A method that returns a `Result`
/// returns the failure as its error; any other panics with it, as the call cannot return
/// one.
fn outcome(part: &Parts<'_>, name: &str, p: &TokenStream) -> (TokenStream, TokenStream) {
    let Parts {
        method,
        name: method_name,
        ..
    } = part;
    let output = &method.output;
    if method.fallible.is_some() {
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
    }
}
