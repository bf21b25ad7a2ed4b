//! The table both sides share: its `#[repr(C)]` struct and layout assertions, and the
//! service's identity (name, methods, fingerprints), which the host compares with what a
//! plugin was built against.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::expand::Parts;
use super::model::Service;

/// The table's struct and its layout assertions, the proxy's function that builds a table
/// over an implementation and its descriptions of the methods, and the trait object's
/// `HostTableFor` and `Service` impls, which everything else reaches the table through.
pub fn generate(
    service: &Service<'_>,
    parts: &[Parts<'_>],
    p: &TokenStream,
    bounds: &TokenStream,
) -> TokenStream {
    let table = table_struct(parts, p);
    let table_building = table_building(service.trait_ident, parts, p, bounds);
    let host_table_for = host_table_for(service.trait_ident, p, bounds);
    let service_impl = service_impl(service, parts, p, bounds);
    quote! {
        #table
        #table_building
        #host_table_for
        #service_impl
    }
}

/// `__OplinkTable`, the `#[repr(C)]` table: a header, then one type-erased slot per method
/// `#[cfg]` keeps, in the trait's order; and const assertions that its size, alignment and
/// each slot's offset are the ABI's. All at the call site: nothing in it is the user's type.
fn table_struct(parts: &[Parts<'_>], p: &TokenStream) -> TokenStream {
    let fields = parts.iter().map(|part| {
        let Parts {
            cfg_attr,
            slot_field,
            ..
        } = part;
        // Slots are stored type-erased: the table's layout never depends on the user's
        // types, and each slot is cast back to its real type where it is called.
        quote!(#cfg_attr #slot_field: ::core::option::Option<unsafe extern "C" fn()>)
    });
    let offset_asserts = parts.iter().enumerate().map(|(index, part)| {
        let before = parts[..index].iter().map(|p| &p.cfg_test);
        let Parts {
            cfg_attr,
            slot_field,
            name: method_name,
            ..
        } = part;
        quote! {
            #cfg_attr
            ::core::assert!(
                ::core::mem::offset_of!(__OplinkTable, #slot_field)
                    == ::core::mem::size_of::<#p::abi::TableHeader>()
                        + #p::count_enabled(&[#(#before),*]) * ::core::mem::size_of::<usize>(),
                ::core::concat!("the slot of `", #method_name, "` is not where the ABI puts it"),
            );
        }
    });
    quote! {
        /// The table of `extern "C"` functions the host fills and the plugin calls: its
        /// header, then one slot per method in the trait's order.
        #[repr(C)]
        struct __OplinkTable {
            header: #p::abi::TableHeader,
            #(#fields,)*
        }

        const _: () = {
            ::core::assert!(
                ::core::mem::size_of::<__OplinkTable>()
                    == ::core::mem::size_of::<#p::abi::TableHeader>() + __OPLINK_KEPT * ::core::mem::size_of::<usize>(),
                "the service table's size is not what the ABI says",
            );
            ::core::assert!(::core::mem::align_of::<__OplinkTable>() == ::core::mem::align_of::<usize>());
            #(#offset_asserts)*
        };
    }
}

/// The proxy's inherent items: `__oplink_host_table`, which fills a table with the host
/// thunks over one implementation type, and each method's description (see
/// [`method_info`]) gathered into `__METHODS` and `__ABI_METHODS` for the `Service` impl.
/// Under the `where` bounds of the user's types, so that a type that cannot cross makes the
/// impl absent rather than failing in it (see the module doc of `expand.rs`).
fn table_building(
    trait_ident: &Ident,
    parts: &[Parts<'_>],
    p: &TokenStream,
    bounds: &TokenStream,
) -> TokenStream {
    let slot_inits = parts.iter().map(slot_init);
    let infos = parts.iter().map(|part| method_info(part, p));
    let info_names = parts.iter().map(|part| &part.info);
    quote! {
        impl __OplinkProxy #bounds {
            /// The table over an implementation of type `__OplinkImpl`: its thunks call
            /// that type's methods directly.
            fn __oplink_host_table<__OplinkImpl: ?::core::marker::Sized + #trait_ident + 'static>(
                implementation: ::std::sync::Arc<__OplinkImpl>,
            ) -> #p::HostTable {
                #p::HostTable::new(implementation, |context| __OplinkTable {
                    header: #p::abi::TableHeader {
                        size: ::core::mem::size_of::<__OplinkTable>(),
                        context,
                    },
                    #(#slot_inits,)*
                })
            }

            #(#infos)*
            const __METHODS: [#p::MethodInfo; __OPLINK_KEPT] =
                #p::kept_methods::<__OPLINK_KEPT>(&[#(Self::#info_names),*]);
            const __ABI_METHODS: [#p::ServiceMethod; __OPLINK_KEPT] = #p::abi_methods(&Self::__METHODS);
        }
    }
}

/// One slot of a new table: the method's host thunk over `__OplinkImpl`, cast to the
/// slot's erased type.
fn slot_init(part: &Parts<'_>) -> TokenStream {
    let Parts {
        cfg_attr,
        slot_field,
        thunk,
        fn_type,
        ..
    } = part;
    quote! {
        #cfg_attr
        // SAFETY: a function pointer cast to another function pointer type, and cast
        // back to its real type before every call (in the proxy).
        #slot_field: ::core::option::Option::Some(unsafe {
            ::core::mem::transmute::<#fn_type, unsafe extern "C" fn()>(__OplinkProxy::#thunk::<__OplinkImpl>)
        })
    }
}

/// A method's description (name, signature, fingerprint), `None` in a build whose `#[cfg]`
/// removes the method. The fingerprint is made of each type's `SHAPE`, read at the type as
/// the user wrote it (its lifetimes made `'static`).
fn method_info(part: &Parts<'_>, p: &TokenStream) -> TokenStream {
    let Parts {
        method,
        cfg_attr,
        cfg_not,
        info,
        name: method_name,
        abi_params,
        ret_trait,
        ..
    } = part;
    let signature = &method.signature;
    let none = method.cfg.is_some().then(|| {
        quote! {
            #cfg_not
            const #info: ::core::option::Option<#p::MethodInfo> = ::core::option::Option::None;
        }
    });
    let shapes = abi_params.iter().zip(&method.params).map(|(_, param)| {
        let statik: syn::Lifetime = syn::parse_quote!('static);
        let ty = crate::common::types::with_lifetimes(param.ty, &statik);
        crate::common::span::qualified(
            &ty,
            quote!(as #p::Arg>::SHAPE),
            crate::common::span::first(param.ty),
        )
    });
    quote! {
        #cfg_attr
        const #info: ::core::option::Option<#p::MethodInfo> = ::core::option::Option::Some(#p::MethodInfo {
            name: #method_name,
            signature: #signature,
            fingerprint: #p::method_fingerprint(#method_name, &[#(#shapes),*], #ret_trait::SHAPE),
        });
        #none
    }
}

/// `HostTableFor<I> for dyn Trait`: a table over any implementation `I` of the trait, with
/// thunks that call `I`'s methods directly (no `dyn` call in between).
fn host_table_for(trait_ident: &Ident, p: &TokenStream, bounds: &TokenStream) -> TokenStream {
    quote! {
        // SAFETY: the table `Service` describes, over any implementation of the trait.
        unsafe impl<__OplinkImpl: ?::core::marker::Sized + #trait_ident + 'static> #p::HostTableFor<__OplinkImpl> for dyn #trait_ident #bounds {
            fn __host_table_for(implementation: ::std::sync::Arc<__OplinkImpl>) -> #p::HostTable {
                __OplinkProxy::__oplink_host_table::<__OplinkImpl>(implementation)
            }
        }
    }
}

/// `Service for dyn Trait`: the service's identity (name, methods, fingerprint and the
/// requirement a plugin declares), a table over a host value, the proxy over a host's table
/// (refused when a slot is empty, see [`slot_check`]), and the methods as C declarations
/// for the header (see [`c_method`]).
fn service_impl(
    service: &Service<'_>,
    parts: &[Parts<'_>],
    p: &TokenStream,
    bounds: &TokenStream,
) -> TokenStream {
    let trait_ident = service.trait_ident;
    let name = &service.name;
    let slot_checks = parts.iter().map(|part| slot_check(part, name, p));
    let c_methods = parts.iter().map(|part| c_method(part, p));
    quote! {
        // SAFETY: the constants describe the table the functions build and read.
        unsafe impl #p::Service for dyn #trait_ident #bounds {
            const NAME: &'static str = #name;
            const METHODS: &'static [#p::MethodInfo] = &__OplinkProxy::__METHODS;
            const FINGERPRINT: u64 = #p::service_fingerprint(#name, &__OplinkProxy::__METHODS);
            const REQUIREMENT: #p::ServiceRequirement = #p::service_requirement(
                #name,
                <Self as #p::Service>::FINGERPRINT,
                &__OplinkProxy::__ABI_METHODS,
            );

            fn __host_table(implementation: ::std::sync::Arc<Self>) -> #p::HostTable {
                __OplinkProxy::__oplink_host_table::<Self>(implementation)
            }

            unsafe fn __proxy(table: *const ::core::ffi::c_void) -> #p::Result<::std::sync::Arc<Self>> {
                // SAFETY: forwarded from the caller: a table of this service.
                unsafe { #p::check_table(table, #name, ::core::mem::size_of::<__OplinkTable>()) }?;
                // SAFETY: checked above to be aligned and at least as large as our table.
                let table = unsafe { &*table.cast::<__OplinkTable>() };
                #(#slot_checks)*
                ::core::result::Result::Ok(::std::sync::Arc::new(__OplinkProxy { table }))
            }

            fn __c_methods() -> ::std::vec::Vec<#p::CMethod> {
                let mut methods = ::std::vec::Vec::new();
                #(#c_methods)*
                methods
            }
        }
    }
}

/// The proxy's refusal of a host table whose slot for this method is empty, naming the
/// service and the method, so that a call never finds it empty.
fn slot_check(part: &Parts<'_>, name: &str, p: &TokenStream) -> TokenStream {
    let Parts {
        cfg_attr,
        slot_field,
        name: method_name,
        ..
    } = part;
    quote! {
        #cfg_attr
        if table.#slot_field.is_none() {
            return ::core::result::Result::Err(#p::Error::unlocated(::std::format!(
                "the host's `{}` table has no function for `{}`", #name, #method_name
            )));
        }
    }
}

/// The method as the C header declares it: its parameters' C declarations, its result's C
/// type, and the C types those depend on.
fn c_method(part: &Parts<'_>, p: &TokenStream) -> TokenStream {
    let Parts {
        method,
        cfg_attr,
        name: method_name,
        abi_params,
        out_abi,
        ..
    } = part;
    // C names for the parameters: distinct from the table function's own `context`,
    // `out` and `err`, and from each other (`_` is numbered); C and C++ keywords get a
    // `_` at run time (`c_field`).
    let param_names =
        method
            .params
            .iter()
            .enumerate()
            .map(|(i, param)| match param.name.as_str() {
                "_" => format!("arg{i}"),
                "context" | "out" | "err" => format!("{}_", param.name),
                other => other.to_owned(),
            });
    let abi_params = abi_params.iter();
    let abi_params_again = abi_params.clone();
    quote! {
        #cfg_attr
        methods.push(#p::CMethod {
            name: #method_name,
            params: ::std::vec![#(<#abi_params as #p::abi::decl::CType>::c_decl(&#p::abi::header::c_field(#param_names))),*],
            out: <#out_abi as #p::abi::decl::CType>::c_name(),
            dependencies: {
                let mut dependencies = ::std::vec::Vec::new();
                #(<#abi_params_again as #p::abi::decl::CType>::c_dependencies(&mut dependencies);)*
                <#out_abi as #p::abi::decl::CType>::c_dependencies(&mut dependencies);
                dependencies
            },
        });
    }
}
