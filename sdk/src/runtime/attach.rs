//! Connecting a new instance to its host's services.

use std::any::Any;
use std::ffi::c_void;
use std::sync::Arc;

use crate::abi::{ErrorOut, HostApi, ServiceRequirement, StrView};
use crate::service::Service;
use crate::service::call::failure_message;
use crate::services::{Clock, Log, Spans, State};
use crate::{Context, Error, Result};

/// A service an operator declared in `requires`: its identity, and how to make the
/// plugin-side proxy from the host's table.
#[derive(Debug)]
pub struct Requirement {
    /// The service's name.
    pub name: &'static str,
    /// The service's fingerprint.
    pub fingerprint: u64,
    /// Makes the proxy (an `Arc<dyn Service>`, boxed) from the host's table.
    pub resolve: unsafe fn(*const c_void) -> Result<Box<dyn Any + Send + Sync>>,
}

/// The stand-in the expansion uses for a `requires` entry that is not a service (the
/// expansion's check reports it at the path, so this is never compiled into a library).
pub const NOT_A_SERVICE: Requirement = Requirement {
    name: "",
    fingerprint: 0,
    resolve: not_a_service,
};

/// The ABI form of [`NOT_A_SERVICE`].
pub const NOT_A_SERVICE_ABI: ServiceRequirement = ServiceRequirement {
    name: StrView::from_static(""),
    fingerprint: 0,
    methods: std::ptr::null(),
    method_count: 0,
};

unsafe fn not_a_service(_: *const c_void) -> Result<Box<dyn Any + Send + Sync>> {
    Err(Error::unlocated("not a service"))
}

/// The requirement of service `S`.
pub const fn requirement<S: Service + ?Sized>() -> Requirement {
    Requirement {
        name: S::NAME,
        fingerprint: S::FINGERPRINT,
        resolve: resolve::<S>,
    }
}

/// # Safety
/// `table` is the host's table of `S` (same fingerprint), alive for the instance.
unsafe fn resolve<S: Service + ?Sized>(table: *const c_void) -> Result<Box<dyn Any + Send + Sync>> {
    // SAFETY: forwarded from the caller.
    let proxy: Arc<S> = unsafe { S::__proxy(table) }?;
    Ok(Box::new(proxy))
}

/// Asks the host for the table of service `name` with `fingerprint`.
fn lookup(host: &HostApi, name: &str, fingerprint: u64) -> Result<*const c_void> {
    let Some(lookup) = host.lookup_service else {
        return Err(Error::unlocated(
            "this host offers no services (its `OplinkHostApi` has no `lookup_service`); a host without services passes a null `host` to `create`",
        ));
    };
    let mut table: *const c_void = std::ptr::null();
    let mut err = ErrorOut::EMPTY;
    // SAFETY: the host's own lookup with its own `HostApi`; the name is valid for the call;
    // `table` and `err` are writable.
    let status = unsafe { (lookup.0)(host, StrView::new(name), fingerprint, &mut table, &mut err) };
    // SAFETY: `err` was written by the host for a failure status, or is empty.
    if let Some(message) = unsafe { failure_message(status, &mut err, name, "lookup") } {
        return Err(Error::unlocated(message));
    }
    if table.is_null() {
        return Err(Error::unlocated(format!(
            "the host's `lookup_service` answered OK for `{name}` with no table: it writes the service's table to `out`, or returns ERROR saying why it has none"
        )));
    }
    Ok(table)
}

/// The plugin side of one standard service.
fn standard<S: Service + ?Sized>(host: &HostApi, operator: &str) -> Result<Arc<S>> {
    let table = lookup(host, S::NAME, S::FINGERPRINT).map_err(|e| {
        e.context(format!(
            "operator `{operator}` cannot reach the standard service `{}`",
            S::NAME
        ))
    })?;
    // SAFETY: the host's table for `S`, alive for the instance (the host checked the
    // fingerprint in `lookup`).
    unsafe { S::__proxy(table) }
}

/// The standard services and every service `requires` lists, resolved from the host.
pub(crate) fn services(
    host: &HostApi,
    operator: &'static str,
    requires: &[Requirement],
    ctx: &mut Context,
) -> Result<()> {
    let log = standard::<dyn Log>(host, operator)?;
    let level = log.max_level();
    // Not required: a host that does not offer it gets the plugin's events, not its spans.
    let spans = lookup(host, <dyn Spans>::NAME, <dyn Spans>::FINGERPRINT)
        .ok()
        // SAFETY: the host's table for `Spans` (it checked the fingerprint), alive for the
        // instance.
        .and_then(|table| unsafe { <dyn Spans>::__proxy(table) }.ok());
    ctx.attach_standard(
        Some(crate::logging::Sink { log, level, spans }),
        Some(standard::<dyn State>(host, operator)?),
        Some(standard::<dyn Clock>(host, operator)?),
    );
    for requirement in requires {
        if crate::services::is_standard(requirement.name) {
            continue;
        }
        let table = lookup(host, requirement.name, requirement.fingerprint).map_err(|e| {
            e.context(format!(
                "operator `{operator}` requires service `{}`",
                requirement.name
            ))
        })?;
        // SAFETY: the host's table for this service (fingerprint checked by the host),
        // alive for the instance.
        let proxy = unsafe { (requirement.resolve)(table) }?;
        ctx.attach_service(requirement.name, proxy);
    }
    Ok(())
}
