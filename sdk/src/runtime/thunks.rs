//! The `extern "C"` entry points of an operator, generic over its [`OperatorImpl`]. Each runs
//! its body under the one trampoline, so no panic leaves them.

use crate::abi::{
    AbiChange, AbiRows, BytesView, ErrorOut, HostApi, OpaqueInstance, OwnedBuf, Status, StrView,
};
use crate::context::SizedContext;
use crate::exchange::view::{ChangeView, Origin, Spare};
use crate::exchange::{self, Outgoing, SchemaInbox, SchemaOutbox};
use crate::logging::Sink;
use crate::trampoline::{CurrentLog, Failure, guard_into, guard_into_logged};
use crate::{Change, Error, Result, Timestamp};

use super::OperatorImpl;

/// A live operator on the plugin side: its log, and the rest.
struct Instance<T> {
    /// The instance's log, apart from the rest so that a call can mark it current while the
    /// operator borrows everything else mutably.
    log: Option<Sink>,
    live: Live<T>,
}

/// The author's value and the per-instance caches.
struct Live<T> {
    op: T,
    ctx: SizedContext,
    inbox: SchemaInbox,
    outbox: SchemaOutbox,
    /// What the last call returned, kept alive until the next call (the ABI's promise).
    out: Outgoing,
    /// The box of the last view, for the next one (view operators only).
    spare: Spare,
    /// Calls of `apply` so far (view operators only): tells a view read by this call from
    /// one kept from an earlier call.
    calls: u64,
}

/// # Safety
/// `instance` must come from `create::<T>` and not be destroyed; no other call on it runs.
unsafe fn instance<'a, T>(instance: *mut OpaqueInstance) -> &'a mut Instance<T> {
    // SAFETY: forwarded from the caller.
    unsafe { &mut *instance.cast::<Instance<T>>() }
}

/// Runs a thunk's body with `log` marked as the thread's current log for the call (none
/// for `create`, which marks its new instance's own); an input the body could not read
/// (`Err` put in `bad_input`) is reported as `INVALID_INPUT`, not as the operator's
/// failure.
///
/// Generic, so that the body and the guard are inlined into each thunk, with everything
/// but success handled out of line.
///
/// # Safety
/// `err` must be writable (its old contents are overwritten unread); `log`, when set, stays
/// valid for the call.
#[inline]
unsafe fn run(
    err: *mut ErrorOut,
    log: CurrentLog,
    mut body: impl FnMut(&mut Option<Error>) -> Result<()>,
) -> Status {
    let mut bad_input = None;
    // SAFETY: forwarded from the caller.
    let status = unsafe { guard_into_logged(err, log, || body(&mut bad_input)) };
    match bad_input {
        None => status,
        // SAFETY: forwarded from the caller.
        Some(error) => unsafe { invalid_input(err, status, error) },
    }
}

/// An input the body could not read, reported as `INVALID_INPUT` unless the body failed
/// otherwise.
///
/// # Safety
/// As for [`run`].
#[cold]
#[inline(never)]
unsafe fn invalid_input(err: *mut ErrorOut, status: Status, error: Error) -> Status {
    if status != Status::OK {
        return status;
    }
    // SAFETY: the body returned `Ok` without writing `err`; forwarded from the caller.
    unsafe { Failure::invalid_input(&error).write_to(err) }
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
    // Once per process, before any guarded call: the other thunks do not check.
    crate::trampoline::install_panic_hook();
    let body = |bad_input: &mut Option<Error>| {
        // SAFETY: `host` is null or outlives the instance (ABI contract).
        let host = unsafe { host.as_ref() };
        let instance_id = host.map_or(0, |h| h.instance_id);
        let declared: Vec<&'static str> = T::REQUIRES.iter().map(|r| r.name).collect();
        let mut ctx = SizedContext::attached(T::NAME, instance_id, declared);
        if let Some(host) = host {
            super::attach::services(host, T::NAME, T::REQUIRES, &mut ctx)?;
        }
        let log = ctx.log.clone();
        crate::logging::install();
        let op = {
            let _log = crate::logging::enter(log.as_ref());
            // SAFETY: `config` is valid for this call.
            match T::__new(unsafe { config.as_bytes() }) {
                Ok(op) => op,
                Err(super::NewFailure::Config(error)) => {
                    *bad_input = Some(error);
                    return Ok(());
                }
                Err(super::NewFailure::New(error)) => return Err(error),
            }
        };
        let instance = Box::new(Instance {
            log,
            live: Live {
                op,
                ctx,
                inbox: SchemaInbox::recognizing_own(),
                outbox: SchemaOutbox::default(),
                out: Outgoing::default(),
                spare: None,
                calls: 0,
            },
        });
        // SAFETY: `out` is writable (ABI contract).
        unsafe { out.write(Box::into_raw(instance).cast()) };
        Ok(())
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { run(err, None, body) }
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
            let instance = unsafe { Box::from_raw(ptr.cast::<Instance<T>>()) };
            let log = instance.log.clone();
            let _log = crate::logging::enter(log.as_ref());
            drop(instance);
        }
        Ok(())
    };
    // SAFETY: `err` is writable (ABI contract).
    unsafe { guard_into(err, &mut body) }
}

/// Runs `body` on a live instance of `T`, with its log marked current, under the trampoline.
///
/// # Safety
/// `instance` is a live instance of `T` used by this call only, and `err` is writable (the
/// ABI's contract for every slot).
unsafe fn on<T: OperatorImpl>(
    instance: *mut OpaqueInstance,
    err: *mut ErrorOut,
    mut body: impl FnMut(&mut Live<T>, &mut Option<Error>) -> Result<()>,
) -> Status {
    // SAFETY: forwarded from the caller.
    let Instance { log, live } = unsafe { self::instance::<T>(instance) };
    let log = crate::logging::current(log.as_ref());
    // SAFETY: forwarded from the caller; the log is the instance's, alive for the call.
    unsafe { run(err, log, |bad_input| body(live, bad_input)) }
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
    let body = |this: &mut Live<T>, bad_input: &mut Option<Error>| {
        if T::VIEW {
            // SAFETY: forwarded from the caller.
            return unsafe { apply_view(this, input, out, bad_input) };
        }
        this.out.clear();
        // SAFETY: `input` is a change exported for this call (ABI contract).
        let input = unsafe { &*input };
        // A change with no diffs (a heartbeat, a punctuation) skips the exchange both ways.
        let change = if input.diff_count == 0 {
            let (version, changed_at) = input.version_and_time();
            Change::new(version, Timestamp(changed_at), Vec::new())
        } else {
            // SAFETY: as above.
            match unsafe { exchange::import_change(input, &mut this.inbox) } {
                Ok(change) => change,
                Err(error) => {
                    *bad_input = Some(error.context("cannot read the input change"));
                    return Ok(());
                }
            }
        };
        let result = this.op.__apply(&mut this.ctx, change)?;
        let abi = if result.diffs.is_empty() {
            AbiChange::without_diffs(result.version, result.changed_at.0)
        } else {
            let abi = this.out.export_change(result, &mut this.outbox)?;
            this.outbox.commit();
            abi
        };
        // SAFETY: `out` is writable (ABI contract).
        unsafe { out.write(abi) };
        Ok(())
    };
    // SAFETY: the ABI's contract for `apply`.
    unsafe { on(instance, err, body) }
}

/// The body of `apply` for an operator that reads its input in place.
///
/// # Safety
/// The ABI's contract for `apply`.
unsafe fn apply_view<T: OperatorImpl>(
    this: &mut Live<T>,
    input: *mut AbiChange,
    out: *mut AbiChange,
    bad_input: &mut Option<Error>,
) -> Result<()> {
    this.out.clear();
    this.calls += 1;
    let spare = std::mem::take(&mut this.spare);
    // SAFETY: `input` is a change exported for this call (ABI contract).
    let input = unsafe { &*input };
    let origin = Origin {
        diffs: input.diffs as usize,
        count: input.diff_count,
        call: this.calls,
    };
    // A change with no diffs skips the exchange both ways, as in `apply`.
    let view = if input.diff_count == 0 {
        let (version, changed_at) = input.version_and_time();
        ChangeView::empty(version, Timestamp(changed_at), spare)
    } else {
        // SAFETY: as above.
        match unsafe { ChangeView::import_call(input, &mut this.inbox, spare, this.calls) } {
            Ok(view) => view,
            Err(error) => {
                *bad_input = Some(error.context("cannot read the input change"));
                return Ok(());
            }
        }
    };
    let result = this.op.__apply_view(&mut this.ctx, view)?;
    let (abi, spare) = match result.into_empty() {
        Ok((version, changed_at, spare)) => {
            (AbiChange::without_diffs(version, changed_at.0), spare)
        }
        Err(result) => {
            let exported = this
                .out
                .export_out(result, &mut this.outbox, Some(origin))?;
            this.outbox.commit();
            exported
        }
    };
    if spare.is_some() {
        this.spare = spare;
    }
    // SAFETY: `out` is writable (ABI contract).
    unsafe { out.write(abi) };
    Ok(())
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
    let body = |this: &mut Live<T>, bad_input: &mut Option<Error>| {
        this.out.clear();
        let rows: &[u64] = if row_count == 0 {
            &[]
        } else if rows.is_null() || !rows.is_aligned() {
            *bad_input = Some(Error::unlocated(format!(
                "{row_count} row numbers arrived with a null or misaligned pointer"
            )));
            return Ok(());
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
    // SAFETY: the ABI's contract for `pull`.
    unsafe { on(instance, err, body) }
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
    let body = |this: &mut Live<T>, _: &mut Option<Error>| {
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
    // SAFETY: the ABI's contract for `tick`.
    unsafe { on(instance, err, body) }
}

/// The `flush_state` thunk.
///
/// # Safety
/// The ABI's contract for `flush_state`.
pub unsafe extern "C" fn flush_state<T: OperatorImpl>(
    instance: *mut OpaqueInstance,
    err: *mut ErrorOut,
) -> Status {
    let body = |this: &mut Live<T>, _: &mut Option<Error>| this.op.__flush_state(&mut this.ctx);
    // SAFETY: the ABI's contract for `flush_state`.
    unsafe { on(instance, err, body) }
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
    let body = |this: &mut Live<T>, _: &mut Option<Error>| {
        let bytes = this.op.__snapshot(&mut this.ctx)?;
        // SAFETY: `out` is writable (ABI contract).
        unsafe { out.write(OwnedBuf::from_vec(bytes)) };
        Ok(())
    };
    // SAFETY: the ABI's contract for `snapshot`.
    unsafe { on(instance, err, body) }
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
    let body = |this: &mut Live<T>, bad_input: &mut Option<Error>| {
        if (snapshot.ptr.is_null() && snapshot.len != 0) || snapshot.len > isize::MAX as usize {
            // Not an empty snapshot: one that cannot be read.
            *bad_input = Some(Error::unlocated(format!(
                "a snapshot of {} arrived with a null pointer or more than memory can hold",
                crate::__private::counted(snapshot.len, "byte", "bytes")
            )));
            return Ok(());
        }
        // SAFETY: `snapshot` is valid for this call (ABI contract).
        this.op
            .__restore(&mut this.ctx, unsafe { snapshot.as_slice() })
    };
    // SAFETY: the ABI's contract for `restore`.
    unsafe { on(instance, err, body) }
}
