//! The table both sides share: its `#[repr(C)]` struct and layout assertions, and the
//! service's identity (name, methods, fingerprints), which the host compares with what a
//! plugin was built against.

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
    let infos = parts.iter().map(|part| {
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
    });
    let info_names = parts.iter().map(|part| &part.info);
    let slot_inits = parts.iter().map(|part| {
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
    });
    let slot_checks = parts.iter().map(|part| {
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
    });
    let c_methods = parts.iter().map(|part| {
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
        let param_names = method.params.iter().enumerate().map(|(i, param)| {
            match param.name.as_str() {
                "_" => format!("arg{i}"),
                "context" | "out" | "err" => format!("{}_", param.name),
                other => other.to_owned(),
            }
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

        // SAFETY: the table `Service` describes, over any implementation of the trait.
        unsafe impl<__OplinkImpl: ?::core::marker::Sized + #trait_ident + 'static> #p::HostTableFor<__OplinkImpl> for dyn #trait_ident #bounds {
            fn __host_table_for(implementation: ::std::sync::Arc<__OplinkImpl>) -> #p::HostTable {
                __OplinkProxy::__oplink_host_table::<__OplinkImpl>(implementation)
            }
        }

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
