//! What `#[oplink::operator]` expands to calls into: the generic thunks, the registry of
//! operators and the library's entry symbol. Reached through [`crate::__private`].

use std::any::Any;
use std::ffi::c_void;
use std::sync::{Arc, OnceLock};

use arrow_array::RecordBatch;
use serde::de::DeserializeOwned;

use crate::abi::{
    self, AbiChange, AbiRows, BytesView, ErrorOut, HostApi, OpaqueInstance, OperatorDescriptor,
    OperatorVTable, OwnedBuf, PluginHeader, Status, StrView,
};
use crate::exchange::{self, Outgoing, SchemaInbox, SchemaOutbox};
use crate::service::Service;
use crate::services::{Clock, Log, State};
use crate::trampoline::guard_into;
use crate::{Change, Context, Error, Result, RowNumber, Timestamp};

/// The bridge from an operator's inherent methods to the thunks. Implemented by the
/// `#[operator]` expansion only; the provided methods are the defaults of absent methods.
pub trait OperatorImpl: Sized + Send + 'static {
    /// The configuration `new` takes (`IgnoredAny` when it takes none).
    type Config: DeserializeOwned;
    /// The operator's name.
    const NAME: &'static str;
    /// The host services the operator requires, from `requires = [..]`.
    const REQUIRES: &'static [Requirement] = &[];
    /// The names of those services.
    const DECLARED: &'static [&'static str] = &[];

    /// Calls `new`.
    fn __new(config: Self::Config) -> Result<Self>;
    /// Calls `apply`.
    fn __apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change>;
    /// Calls `pull`; by default, an error saying the operator has none.
    fn __pull(&mut self, _ctx: &mut Context, _rows: &[RowNumber]) -> Result<RecordBatch> {
        Err(Error::msg(format!(
            "operator `{}` does not implement `pull`",
            Self::NAME
        )))
    }
    /// Calls `tick`; by default, nothing happens.
    fn __tick(&mut self, _ctx: &mut Context, _now: Timestamp) -> Result<Option<Change>> {
        Ok(None)
    }
    /// Calls `flush_state`; by default, nothing to flush.
    fn __flush_state(&mut self, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }
    /// Calls `snapshot`; by default, an empty snapshot (a stateless operator).
    fn __snapshot(&mut self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
    /// Calls `restore`; by default, accepts only the empty snapshot.
    fn __restore(&mut self, snapshot: &[u8]) -> Result<()> {
        if snapshot.is_empty() {
            return Ok(());
        }
        Err(Error::msg(format!(
            "operator `{}` does not implement `restore`, so it cannot take a snapshot of {} bytes",
            Self::NAME,
            snapshot.len()
        )))
    }
}

/// A live operator on the plugin side: the author's value and the per-instance caches.
struct Instance<T> {
    op: T,
    ctx: Context,
    inbox: SchemaInbox,
    outbox: SchemaOutbox,
    /// What the last call returned, kept alive until the next call (the ABI's promise).
    out: Outgoing,
}

/// # Safety
/// `instance` must come from `create::<T>` and not be destroyed; no other call on it runs.
unsafe fn instance<'a, T>(instance: *mut OpaqueInstance) -> &'a mut Instance<T> {
    // SAFETY: forwarded from the caller.
    unsafe { &mut *instance.cast::<Instance<T>>() }
}

fn parse_config<T: OperatorImpl>(config: &[u8]) -> Result<T::Config> {
    let text = std::str::from_utf8(config).map_err(|e| {
        Error::msg(format!(
            "configuration of operator `{}` is not UTF-8: {e}",
            T::NAME
        ))
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let config: T::Config = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            Error::msg(format!(
                "invalid configuration for operator `{}`: {inner}",
                T::NAME
            ))
        } else {
            Error::msg(format!(
                "invalid configuration for operator `{}` at `{path}`: {inner}",
                T::NAME
            ))
        }
    })?;
    de.end().map_err(|e| {
        Error::msg(format!(
            "invalid configuration for operator `{}`: {e}",
            T::NAME
        ))
    })?;
    Ok(config)
}

/// The `create` thunk.
///
/// # Safety
/// The ABI's contract for `create`: `host` outlives the instance, `config` is valid for the
/// call, `out` and `err` are writable.
pub unsafe extern "C" fn create<T: OperatorImpl>(
    host: *const HostApi,
    config: StrView,
    out: *mut *mut OpaqueInstance,
    err: *mut ErrorOut,
) -> Status {
    let mut body = || {
        // SAFETY: `config` is valid for this call.
        let config = parse_config::<T>(unsafe { config.as_bytes() })?;
        // SAFETY: `host` is null or outlives the instance (ABI contract).
        let host = unsafe { host.as_ref() };
        let instance_id = host.map_or(0, |h| h.instance_id);
        let mut ctx = Context::attached(T::NAME, instance_id, T::DECLARED);
        if let Some(host) = host {
            attach_services::<T>(host, &mut ctx)?;
        }
        crate::logging::install();
        let op = {
            let _log = crate::logging::enter(ctx.log.as_ref());
            T::__new(config)?
        };
        let instance = Box::new(Instance {
            op,
            ctx,
            inbox: SchemaInbox::default(),
            outbox: SchemaOutbox::default(),
            out: Outgoing::default(),
        });
        // SAFETY: `out` is writable (ABI contract).
        unsafe { out.write(Box::into_raw(instance).cast()) };
        Ok(())
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { guard_into(err, &mut body) }
}

/// A service an operator requires: its identity for the descriptor, and how to make the
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
    let has_slot = host.size >= std::mem::offset_of!(HostApi, lookup_service) + size_of::<usize>();
    let Some(lookup) = host.lookup_service.filter(|_| has_slot) else {
        return Err(Error::msg(format!(
            "this host offers no services, so it has no `{name}`"
        )));
    };
    let mut table: *const c_void = std::ptr::null();
    let mut err = ErrorOut::EMPTY;
    // SAFETY: the host's own lookup with its own `HostApi`; the name is valid for the call;
    // `table` and `err` are writable.
    let status = unsafe { lookup(host, StrView::new(name), fingerprint, &mut table, &mut err) };
    // SAFETY: `err` was written by the host for a non-OK status, or is empty.
    let failure = unsafe { crate::service::failure_message(status, &mut err, name, "lookup") };
    if let Some(message) = failure {
        return Err(Error::msg(message));
    }
    if table.is_null() {
        return Err(Error::msg(format!(
            "the host returned no table for `{name}`"
        )));
    }
    Ok(table)
}

/// The plugin side of one standard service: its proxy, or `None` when the host has none.
fn standard<S: Service + ?Sized>(host: &HostApi) -> Option<Arc<S>> {
    let table = lookup(host, S::NAME, S::FINGERPRINT).ok()?;
    // SAFETY: the host's table for `S`, alive for the instance (the host checked the
    // fingerprint in `lookup`).
    unsafe { S::__proxy(table) }.ok()
}

/// Resolves the standard services and every service `T` requires.
fn attach_services<T: OperatorImpl>(host: &HostApi, ctx: &mut Context) -> Result<()> {
    let log = standard::<dyn Log>(host).map(|log| {
        let level = log.max_level();
        (log, level)
    });
    ctx.attach_standard(
        log,
        standard::<dyn State>(host),
        standard::<dyn Clock>(host),
    );
    for requirement in T::REQUIRES {
        let table = lookup(host, requirement.name, requirement.fingerprint).map_err(|e| {
            e.context(format!(
                "operator `{}` requires service `{}`",
                T::NAME,
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

/// The `destroy` thunk.
///
/// # Safety
/// `instance` comes from `create::<T>`, is not used again, and `err` is writable.
pub unsafe extern "C" fn destroy<T: OperatorImpl>(
    instance: *mut OpaqueInstance,
    err: *mut ErrorOut,
) -> Status {
    let mut owned = Some(instance);
    let mut body = || {
        if let Some(ptr) = owned.take() {
            // SAFETY: `ptr` came from `Box::into_raw` in `create::<T>` and is dropped once.
            drop(unsafe { Box::from_raw(ptr.cast::<Instance<T>>()) });
        }
        Ok(())
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { guard_into(err, &mut body) }
}

/// The `apply` thunk.
///
/// # Safety
/// The ABI's contract for `apply`.
pub unsafe extern "C" fn apply<T: OperatorImpl>(
    instance: *mut OpaqueInstance,
    input: *mut AbiChange,
    out: *mut AbiChange,
    err: *mut ErrorOut,
) -> Status {
    let mut body = || {
        // SAFETY: a live instance of `T`, used by this call only (ABI contract).
        let this = unsafe { self::instance::<T>(instance) };
        let _log = crate::logging::enter(this.ctx.log.as_ref());
        this.out.clear();
        // SAFETY: `input` is a change exported for this call (ABI contract).
        let change = unsafe { exchange::import_change(&*input, &mut this.inbox) }?;
        let result = this.op.__apply(&mut this.ctx, change)?;
        let abi = this.out.export_change(result, &mut this.outbox)?;
        this.outbox.commit();
        // SAFETY: `out` is writable (ABI contract).
        unsafe { out.write(abi) };
        Ok(())
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { guard_into(err, &mut body) }
}

/// The `pull` thunk.
///
/// # Safety
/// The ABI's contract for `pull`.
pub unsafe extern "C" fn pull<T: OperatorImpl>(
    instance: *mut OpaqueInstance,
    rows: *const u64,
    row_count: usize,
    out: *mut AbiRows,
    err: *mut ErrorOut,
) -> Status {
    let mut body = || {
        // SAFETY: a live instance of `T` (ABI contract).
        let this = unsafe { self::instance::<T>(instance) };
        let _log = crate::logging::enter(this.ctx.log.as_ref());
        this.out.clear();
        let rows: &[u64] = if row_count == 0 {
            &[]
        } else {
            // SAFETY: `row_count` readable numbers at `rows` for this call (ABI contract).
            unsafe { std::slice::from_raw_parts(rows, row_count) }
        };
        let batch = this.op.__pull(&mut this.ctx, rows)?;
        let abi = this.out.export_batch(batch, &mut this.outbox)?;
        this.outbox.commit();
        // SAFETY: `out` is writable (ABI contract).
        unsafe { out.write(abi) };
        Ok(())
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { guard_into(err, &mut body) }
}

/// The `tick` thunk.
///
/// # Safety
/// The ABI's contract for `tick`.
pub unsafe extern "C" fn tick<T: OperatorImpl>(
    instance: *mut OpaqueInstance,
    now_nanos: i64,
    out: *mut AbiChange,
    produced: *mut u32,
    err: *mut ErrorOut,
) -> Status {
    let mut body = || {
        // SAFETY: a live instance of `T` (ABI contract).
        let this = unsafe { self::instance::<T>(instance) };
        let _log = crate::logging::enter(this.ctx.log.as_ref());
        this.out.clear();
        // SAFETY: `produced` is writable (ABI contract).
        unsafe { produced.write(0) };
        if let Some(change) = this.op.__tick(&mut this.ctx, Timestamp(now_nanos))? {
            let abi = this.out.export_change(change, &mut this.outbox)?;
            this.outbox.commit();
            // SAFETY: `out` and `produced` are writable (ABI contract).
            unsafe {
                out.write(abi);
                produced.write(1);
            }
        }
        Ok(())
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { guard_into(err, &mut body) }
}

/// The `flush_state` thunk.
///
/// # Safety
/// The ABI's contract for `flush_state`.
pub unsafe extern "C" fn flush_state<T: OperatorImpl>(
    instance: *mut OpaqueInstance,
    err: *mut ErrorOut,
) -> Status {
    let mut body = || {
        // SAFETY: a live instance of `T` (ABI contract).
        let this = unsafe { self::instance::<T>(instance) };
        let _log = crate::logging::enter(this.ctx.log.as_ref());
        this.op.__flush_state(&mut this.ctx)
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { guard_into(err, &mut body) }
}

/// The `snapshot` thunk.
///
/// # Safety
/// The ABI's contract for `snapshot`.
pub unsafe extern "C" fn snapshot<T: OperatorImpl>(
    instance: *mut OpaqueInstance,
    out: *mut OwnedBuf,
    err: *mut ErrorOut,
) -> Status {
    let mut body = || {
        // SAFETY: a live instance of `T` (ABI contract).
        let this = unsafe { self::instance::<T>(instance) };
        let _log = crate::logging::enter(this.ctx.log.as_ref());
        let bytes = this.op.__snapshot()?;
        // SAFETY: `out` is writable (ABI contract).
        unsafe { out.write(OwnedBuf::from_vec(bytes)) };
        Ok(())
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { guard_into(err, &mut body) }
}

/// The `restore` thunk.
///
/// # Safety
/// The ABI's contract for `restore`.
pub unsafe extern "C" fn restore<T: OperatorImpl>(
    instance: *mut OpaqueInstance,
    snapshot: BytesView,
    err: *mut ErrorOut,
) -> Status {
    let mut body = || {
        // SAFETY: a live instance of `T` (ABI contract).
        let this = unsafe { self::instance::<T>(instance) };
        let _log = crate::logging::enter(this.ctx.log.as_ref());
        // SAFETY: `snapshot` is valid for this call (ABI contract).
        this.op.__restore(unsafe { snapshot.as_slice() })
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { guard_into(err, &mut body) }
}

/// The vtable of `T`: every slot filled.
pub const fn vtable<T: OperatorImpl>() -> OperatorVTable {
    OperatorVTable {
        size: size_of::<OperatorVTable>(),
        create: Some(create::<T>),
        destroy: Some(destroy::<T>),
        apply: Some(apply::<T>),
        pull: Some(pull::<T>),
        tick: Some(tick::<T>),
        flush_state: Some(flush_state::<T>),
        snapshot: Some(snapshot::<T>),
        restore: Some(restore::<T>),
    }
}

/// An entry of [`OPERATORS`]: one operator's descriptor.
#[derive(Debug)]
#[repr(transparent)]
pub struct Registration(pub &'static OperatorDescriptor);

/// Every operator linked into this library, registered by the `#[operator]` expansions.
#[linkme::distributed_slice]
pub static OPERATORS: [Registration];

struct Header {
    header: PluginHeader,
    _operators: Vec<*const OperatorDescriptor>,
}

// SAFETY: built once, never written afterwards; every pointer in it targets immutable statics
// or the `Vec` it owns.
unsafe impl Sync for Header {}
// SAFETY: as above.
unsafe impl Send for Header {}

static HEADER: OnceLock<Header> = OnceLock::new();

fn build_header() -> Header {
    let operators: Vec<*const OperatorDescriptor> =
        OPERATORS.iter().map(|r| r.0 as *const _).collect();
    let header = PluginHeader {
        magic: abi::MAGIC,
        size: size_of::<PluginHeader>() as u32,
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        layout_fingerprint: abi::LAYOUT_FINGERPRINT,
        layouts: abi::LAYOUTS.as_ptr(),
        layout_count: abi::LAYOUTS.len(),
        oplink_version: StrView::from_static(env!("CARGO_PKG_VERSION")),
        rustc_version: StrView::from_static(env!("OPLINK_RUSTC_VERSION")),
        target: StrView::from_static(env!("OPLINK_TARGET")),
        profile: StrView::from_static(env!("OPLINK_PROFILE")),
        panic_strategy: if cfg!(panic = "unwind") {
            abi::PANIC_UNWIND
        } else {
            abi::PANIC_ABORT
        },
        reserved: 0,
        operators: operators.as_ptr(),
        operator_count: operators.len(),
    };
    Header {
        header,
        _operators: operators,
    }
}

/// The library's entry symbol (see [`abi::ENTRY_SYMBOL`]): returns the static header. It
/// runs no operator code, only collects the registered descriptors once.
#[unsafe(no_mangle)]
pub extern "C" fn oplink_plugin_v1() -> *const PluginHeader {
    crate::trampoline::install_panic_hook();
    &HEADER.get_or_init(build_header).header
}
