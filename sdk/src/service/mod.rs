//! Host services: traits a host implements and plugins call, declared with
//! `#[oplink::host_callbacks]`.
//!
//! The macro turns each method into a slot of a `#[repr(C)]` table that starts with a
//! [`TableHeader`](crate::abi::TableHeader); the values of its signature cross through the
//! vocabulary's [`Arg`] and [`Ret`] (see their table below). A service is identified by
//! its name and a fingerprint of its methods: each method's name and the [`Shape`] of its
//! types, so parameter names and the spelling of a type do not matter, while what crosses
//! does.
//!
//! A method that returns `Result<T, E>` sees a failure of the other side (an `Err`, a panic,
//! a value that does not validate) as an `Err`; `E` is any type implementing
//! [`ServiceError`] (`oplink::Error`, `String`, `Box<dyn std::error::Error + Send + Sync>`).
//! A method that returns a plain value has no way to report one, so the plugin-side proxy
//! panics with the failure's message: the operator's call fails as a panic and its instance
//! is poisoned. Give every method that can fail a `Result`.
#![doc = include_str!("../vocabulary/table.md")]

pub(crate) mod call;

use std::any::Any;
use std::ffi::c_void;
use std::fmt;
use std::sync::Arc;

#[doc(hidden)]
pub use call::*;

use crate::Result;
use crate::abi::StrView;
use crate::abi::decl::{FNV_OFFSET, fnv1a};
pub use crate::abi::{ServiceMethod, ServiceRequirement};
pub use crate::vocabulary::{
    AbiOption, Arg, Fallible, Json, JsonValue, Keep, Number, Ret, ServiceError, Shape, Wire,
};

/// A host service declared with `#[oplink::host_callbacks]`; implemented by the macro for
/// `dyn YourTrait`. The host provides one with `HostBuilder::provide::<dyn YourTrait>`, an
/// operator lists it in `#[operator(requires = [YourTrait])]` and reaches it with
/// [`Context::service`](crate::Context::service).
///
/// # Safety
/// Implemented only by the macro: the constants describe the table its functions build and
/// read.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a host service",
    label = "not declared with `#[oplink::host_callbacks]`",
    note = "a service is a trait marked `#[oplink::host_callbacks]`; list the trait itself, as in `requires = [Catalog]`"
)]
pub unsafe trait Service: Send + Sync + 'static {
    /// The service's name, e.g. `Catalog`.
    const NAME: &'static str;
    /// Its methods, in table order.
    const METHODS: &'static [MethodInfo];
    /// The fingerprint of its name and methods.
    const FINGERPRINT: u64;
    /// The service's identity as an operator descriptor carries it.
    const REQUIREMENT: ServiceRequirement;

    /// The host side: a table of thunks over `implementation`.
    #[doc(hidden)]
    fn __host_table(implementation: Arc<Self>) -> HostTable;

    /// The plugin side: a proxy that calls through `table`.
    ///
    /// # Safety
    /// `table` is a table of this service (same fingerprint) that outlives the proxy.
    #[doc(hidden)]
    unsafe fn __proxy(table: *const c_void) -> Result<Arc<Self>>;

    /// The C declaration of the service's table, for headers.
    #[doc(hidden)]
    fn __c_methods() -> Vec<CMethod>;
}

/// A table of `S` over an implementation of type `T`, whose thunks call `T`'s methods
/// directly (static dispatch: a host that provides a concrete type gets its methods
/// inlined into the thunks). Implemented by `#[host_callbacks]` for every `T` that
/// implements the trait, `dyn Trait` included.
///
/// # Safety
/// Implemented only by the macro, with the table [`Service`] describes.
pub unsafe trait HostTableFor<T: ?Sized>: Service {
    /// The host side: a table of thunks over `implementation`.
    #[doc(hidden)]
    fn __host_table_for(implementation: Arc<T>) -> HostTable;
}

/// A value that can serve as the host's implementation of the service `S`: any type that
/// implements the service's trait, or `dyn Trait` itself. What
/// `HostBuilder::provide::<dyn Trait>(Arc::new(value))` takes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement the host service `{S}`",
    label = "this value does not implement the service's trait",
    note = "`provide::<dyn Trait>(Arc::new(value))` takes a value whose type implements `Trait`"
)]
pub trait Implementation<S: ?Sized + Service>: Send + Sync + 'static {
    /// The table of `S` over this value.
    #[doc(hidden)]
    fn __table(self: Arc<Self>) -> HostTable;
}

impl<S, T> Implementation<S> for T
where
    S: ?Sized + HostTableFor<T>,
    T: ?Sized + Send + Sync + 'static,
{
    fn __table(self: Arc<Self>) -> HostTable {
        S::__host_table_for(self)
    }
}

/// One method of a service, as the host compares it with what a plugin was built against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodInfo {
    /// The method's name.
    pub name: &'static str,
    /// Its signature as written, for messages.
    pub signature: &'static str,
    /// The fingerprint of its name and of the shapes of its types.
    pub fingerprint: u64,
}

impl MethodInfo {
    const EMPTY: MethodInfo = MethodInfo {
        name: "",
        signature: "",
        fingerprint: 0,
    };
}

/// The fingerprint of a method: its name, the shape of each parameter, and the shape of
/// what it returns (for a `Result`, of its `Ok` type).
pub const fn method_fingerprint(name: &str, params: &[Shape], returns: Shape) -> u64 {
    let mut hash = fnv1a(FNV_OFFSET, b"oplink-method\0");
    hash = fnv1a(hash, name.as_bytes());
    let mut i = 0;
    while i < params.len() {
        hash = fnv1a(hash, b"\0");
        hash = fnv1a(hash, &params[i].0.to_le_bytes());
        i += 1;
    }
    hash = fnv1a(hash, b"->");
    fnv1a(hash, &returns.0.to_le_bytes())
}

/// The fingerprint of a service: its name and its methods' fingerprints, in order.
pub const fn service_fingerprint(name: &str, methods: &[MethodInfo]) -> u64 {
    let mut hash = fnv1a(FNV_OFFSET, b"oplink-service-v2\0");
    hash = fnv1a(hash, name.as_bytes());
    let mut i = 0;
    while i < methods.len() {
        hash = fnv1a(hash, &methods[i].fingerprint.to_le_bytes());
        i += 1;
    }
    hash
}

/// [`service_fingerprint`] of a service named `name` whose methods have these
/// fingerprints: what a host checks a library's declared fingerprint against.
pub fn fingerprint_of(name: &str, method_fingerprints: impl IntoIterator<Item = u64>) -> u64 {
    let mut hash = fnv1a(FNV_OFFSET, b"oplink-service-v2\0");
    hash = fnv1a(hash, name.as_bytes());
    for fingerprint in method_fingerprints {
        hash = fnv1a(hash, &fingerprint.to_le_bytes());
    }
    hash
}

/// How many of `enabled` are true (the methods a `#[cfg]` keeps).
#[doc(hidden)]
pub const fn count_enabled(enabled: &[bool]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < enabled.len() {
        if enabled[i] {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The methods a `#[cfg]` keeps, in order.
#[doc(hidden)]
pub const fn kept_methods<const N: usize>(all: &[Option<MethodInfo>]) -> [MethodInfo; N] {
    let mut out = [MethodInfo::EMPTY; N];
    let mut n = 0;
    let mut i = 0;
    while i < all.len() {
        if let Some(method) = all[i] {
            out[n] = method;
            n += 1;
        }
        i += 1;
    }
    assert!(n == N, "the kept methods do not match their count");
    out
}

/// The ABI form of `methods`.
#[doc(hidden)]
pub const fn abi_methods<const N: usize>(methods: &[MethodInfo; N]) -> [ServiceMethod; N] {
    let empty = ServiceMethod {
        name: StrView::from_static(""),
        signature: StrView::from_static(""),
        fingerprint: 0,
    };
    let mut out = [empty; N];
    let mut i = 0;
    while i < N {
        out[i] = ServiceMethod {
            name: StrView::from_static(methods[i].name),
            signature: StrView::from_static(methods[i].signature),
            fingerprint: methods[i].fingerprint,
        };
        i += 1;
    }
    out
}

/// The requirement of a service, for an operator descriptor.
#[doc(hidden)]
pub const fn service_requirement(
    name: &'static str,
    fingerprint: u64,
    methods: &'static [ServiceMethod],
) -> ServiceRequirement {
    ServiceRequirement {
        name: StrView::from_static(name),
        fingerprint,
        methods: methods.as_ptr(),
        method_count: methods.len(),
    }
}

/// A host-side service table and what it points into. Keep it alive while any plugin may
/// call through the table.
pub struct HostTable {
    table: *const c_void,
    _owner: Box<dyn Any>,
}

// SAFETY: the owner is the implementation (`Send + Sync`) and the table, immutable once
// built: function pointers and a pointer to the implementation.
unsafe impl Send for HostTable {}
// SAFETY: as above.
unsafe impl Sync for HostTable {}

impl fmt::Debug for HostTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostTable")
            .field("table", &self.table)
            .finish()
    }
}

impl HostTable {
    /// Builds the table of `implementation`: `make` gets a stable pointer to the
    /// implementation (the table's context) and returns the table.
    #[doc(hidden)]
    pub fn new<S: ?Sized + Send + Sync + 'static, T: 'static>(
        implementation: Arc<S>,
        make: impl FnOnce(*const c_void) -> T,
    ) -> HostTable {
        // The thunks' panics are caught with their location: the hook that records it goes
        // in now, before any call, so that the thunks need not check for it each time.
        crate::trampoline::install_panic_hook();
        let implementation = Box::new(implementation);
        let context: *const Arc<S> = &*implementation;
        let table = Box::new(make(context.cast()));
        let ptr: *const T = &*table;
        HostTable {
            table: ptr.cast(),
            _owner: Box::new((implementation, table)),
        }
    }

    /// The table, as the host hands it to a plugin.
    pub fn as_ptr(&self) -> *const c_void {
        self.table
    }
}

/// One method of a service's C table: its name, its C parameters after the context, and
/// the C type of its out-parameter.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct CMethod {
    /// The method's name.
    pub name: &'static str,
    /// Each parameter's C declaration.
    pub params: Vec<String>,
    /// The out-parameter's C type.
    pub out: String,
    /// Definitions the types need (generic instantiations), in dependency order.
    pub dependencies: Vec<String>,
}

/// Everything a C operator needs to call service `S`, for a header included after
/// `oplink.h`: the table ([`c_table`]), then `OPLINK_{C_NAME}_NAME`, `_FINGERPRINT`,
/// `_METHOD_COUNT` and `_METHODS` (an initializer of `OplinkServiceMethod`s) for the
/// operator's `requires_` entry. `oplink.h` carries these for the standard services and
/// `oplink.Lookup`; a service of one's own gets them from here, e.g. in a test or a build
/// script: `std::fs::write("geo.h", c_declarations::<dyn Geo>("Geo"))`.
pub fn c_declarations<S: Service + ?Sized>(c_name: &str) -> String {
    let upper = c_name.to_uppercase();
    // Guarded as a whole, so that two headers may each include it.
    let mut out = format!("#ifndef OPLINK_{upper}_DECLARED\n#define OPLINK_{upper}_DECLARED\n");
    out.push_str(&c_table::<S>(c_name));
    out.push_str(&format!(
        "#define OPLINK_{upper}_NAME \"{}\"\n#define OPLINK_{upper}_FINGERPRINT 0x{:016x}ull\n#define OPLINK_{upper}_METHOD_COUNT {}\n#define OPLINK_{upper}_METHODS {{ \\\n",
        S::NAME,
        S::FINGERPRINT,
        S::METHODS.len()
    ));
    for method in S::METHODS {
        out.push_str(&format!(
            "    {{ OPLINK_STR(\"{}\"), OPLINK_STR(\"{}\"), 0x{:016x}ull }}, \\\n",
            method.name,
            method.signature.replace('\\', "\\\\").replace('"', "\\\""),
            method.fingerprint
        ));
    }
    out.push_str("}\n#endif\n");
    out
}

/// The C declaration of the table of service `S`: its struct and the definitions its types
/// need. The struct is named `Oplink{c_name}Table`.
pub fn c_table<S: Service + ?Sized>(c_name: &str) -> String {
    let methods = S::__c_methods();
    let mut out = String::new();
    let mut dependencies: Vec<String> = Vec::new();
    for method in &methods {
        for dependency in &method.dependencies {
            if !dependencies.contains(dependency) {
                dependencies.push(dependency.clone());
            }
        }
    }
    for dependency in dependencies {
        out.push_str(&dependency);
        out.push('\n');
    }
    out.push_str(&format!(
        "/* The table of the host service `{}` (fingerprint 0x{:016x}). */\ntypedef struct Oplink{c_name}Table {{\n    OplinkTableHeader header;\n",
        S::NAME,
        S::FINGERPRINT
    ));
    for method in &methods {
        let mut params = vec!["void const *context".to_owned()];
        params.extend(method.params.iter().cloned());
        params.push(format!("{} *out", method.out));
        params.push("OplinkErrorOut *err".to_owned());
        out.push_str(&format!(
            "    OplinkStatus (*{})({});\n",
            crate::abi::header::c_field(method.name),
            params.join(", ")
        ));
    }
    out.push_str(&format!("}} Oplink{c_name}Table;\n"));
    out
}
