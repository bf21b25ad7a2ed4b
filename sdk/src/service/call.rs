//! What the code `#[host_callbacks]` generates calls into, on both sides of a service call.
//! Not public API.

use std::ffi::c_void;
use std::sync::Arc;

use super::{Fallible, ServiceError};
use crate::abi::{ErrorOut, Status, TableHeader};
use crate::trampoline::{Failure, FailureKind};
use crate::{Error, Result};

/// The implementation behind a table's context.
///
/// # Safety
/// `context` comes from [`HostTable::new`](super::HostTable::new) for an `Arc<S>`, and the
/// table is alive.
pub unsafe fn implementation<'a, S: ?Sized>(context: *const c_void) -> &'a S {
    // SAFETY: forwarded from the caller.
    unsafe { &*context.cast::<Arc<S>>() }
}

/// Checks that `table` is aligned and at least `size` bytes (the plugin's view of it).
///
/// # Safety
/// `table` is null or points to a table that starts with a [`TableHeader`].
pub unsafe fn check_table(table: *const c_void, service: &str, size: usize) -> Result<()> {
    let header = table.cast::<TableHeader>();
    if header.is_null() || !header.is_aligned() {
        return Err(Error::unlocated(format!(
            "the host gave a null or misaligned table for `{service}`"
        )));
    }
    // SAFETY: non-null, aligned, and starts with a header (caller).
    let have = unsafe { (*header).size };
    if have < size {
        return Err(Error::unlocated(format!(
            "the host's table for `{service}` has {have} bytes, this plugin needs {size}"
        )));
    }
    Ok(())
}

/// Runs one host-side method under the trampoline and writes its outcome. The panic hook
/// went in when the table was built ([`HostTable::new`](super::HostTable::new)).
///
/// # Safety
/// `err` is writable.
#[inline]
pub unsafe fn serve(err: *mut ErrorOut, mut body: impl FnMut(&mut bool) -> Result<()>) -> Status {
    // Set by the body when the error it returns is the caller's input, not the host's
    // failure: the same failure is written, with `INVALID_INPUT` as its status.
    let mut bad_input = false;
    // SAFETY: forwarded.
    let status = unsafe { crate::trampoline::guard_into_hooked(err, || body(&mut bad_input)) };
    if bad_input && status == Status::ERROR {
        Status::INVALID_INPUT
    } else {
        status
    }
}

/// What a host thunk returns for a null out-parameter (the plugin's mistake): the failure
/// written into `err`, and `INVALID_INPUT`.
///
/// # Safety
/// `err` is null or writable, as for any call.
#[cold]
#[inline(never)]
pub unsafe fn bad_out(err: *mut ErrorOut) -> Status {
    let error = Error::unlocated("the out-parameter is null");
    // SAFETY: forwarded from the caller.
    unsafe { crate::trampoline::Failure::invalid_input(&error).write_to(err) }
}

/// The error of an argument that does not validate, on the host side: the plugin gave it.
pub fn bad_argument(service: &str, method: &str, argument: &str, error: Error) -> Error {
    Error::unlocated(format!(
        "argument `{argument}` of `{service}::{method}` cannot be read: {}",
        error.message()
    ))
}

/// The error the host's implementation returned, as it crosses to the plugin.
pub fn host_error<E: ServiceError>(error: E) -> Error {
    error.into_error()
}

/// What a proxy's method without `Result` does when its call returned a status other
/// than `OK`: panics with the failure's message (see [`infallible_failed`]).
///
/// # Safety
/// `err` was written whole by the host for a failure status (`ERROR`, `PANIC`,
/// `INVALID_INPUT`); for any other status it is not read (the proxy does not clear it
/// before the call, ABI 2.2).
#[cold]
#[inline(never)]
pub unsafe fn infallible_call_failed(
    status: Status,
    err: *mut ErrorOut,
    service: &str,
    method: &str,
) -> ! {
    // SAFETY: forwarded from the caller.
    let message = unsafe { failed_message(status, err, service, method) };
    infallible_failed(service, method, &message)
}

/// What a proxy's method returning `Result<T, E>` returns when its call returned a status
/// other than `OK`: the failure's message as an `E`.
///
/// # Safety
/// As for [`infallible_call_failed`].
#[cold]
#[inline(never)]
pub unsafe fn fallible_call_failed<F: Fallible>(
    status: Status,
    err: *mut ErrorOut,
    service: &str,
    method: &str,
) -> F {
    // SAFETY: forwarded from the caller.
    fallible_failed(unsafe { failed_message(status, err, service, method) })
}

/// The message of a failed call to `service::method`, or `None` when it succeeded (for the
/// plugin's own calls into the host outside a proxy, such as the service lookup).
///
/// # Safety
/// As for [`infallible_call_failed`].
pub(crate) unsafe fn failure_message(
    status: Status,
    err: *mut ErrorOut,
    service: &str,
    method: &str,
) -> Option<String> {
    // SAFETY: forwarded from the caller.
    (status != Status::OK).then(|| unsafe { failed_message(status, err, service, method) })
}

/// The message of a call to `service::method` that returned `status` (not `OK`).
///
/// # Safety
/// As for [`infallible_call_failed`].
unsafe fn failed_message(
    status: Status,
    err: *mut ErrorOut,
    service: &str,
    method: &str,
) -> String {
    let kind = match Failure::kind_of(status) {
        // Nothing says the host wrote `err` for a status it does not know: not read.
        None | Some(FailureKind::Unknown(_)) => {
            return format!("`{service}::{method}` returned unknown status {}", status.0);
        }
        Some(kind) => kind,
    };
    // SAFETY: a failure status: the host wrote `err` whole (caller).
    let Some(failure) = (unsafe { Failure::read_from(status, &mut *err) }) else {
        unreachable!("a failure status has a kind")
    };
    let message = failure.message_or_note();
    match kind {
        // A Rust host's refusal names the argument and the method already
        // ([`bad_argument`]); another host's may not.
        FailureKind::InvalidInput if message.contains(&format!("`{service}::{method}`")) => {
            format!("the host could not read an argument: {message}")
        }
        FailureKind::InvalidInput => {
            format!("the host could not read the arguments of `{service}::{method}`: {message}")
        }
        FailureKind::Panic => match failure.location() {
            Some(at) => format!("the host panicked in `{service}::{method}` at {at}: {message}"),
            None => format!("the host panicked in `{service}::{method}`: {message}"),
        },
        FailureKind::Error | FailureKind::Unknown(_) => message,
    }
}

/// The message of an argument that cannot cross (a batch no crossing takes, a `Json` value
/// serde cannot write), on the plugin's side: the call is not made.
#[cold]
#[inline(never)]
pub fn unsendable_argument(service: &str, method: &str, argument: &str, error: Error) -> String {
    format!(
        "argument `{argument}` of `{service}::{method}` cannot be sent to the host: {}",
        error.message()
    )
}

/// The error of a result the host's implementation returned that cannot cross: the host's
/// failure, reported as its error.
#[cold]
#[inline(never)]
pub fn unsendable_result(service: &str, method: &str, error: Error) -> Error {
    Error::unlocated(format!(
        "the host's result of `{service}::{method}` cannot be sent to the plugin: {}",
        error.message()
    ))
}

/// The message for a returned value that does not validate.
pub fn bad_return(service: &str, method: &str, error: Error) -> String {
    format!(
        "`{service}::{method}` returned a value this plugin cannot read: {}",
        error.message()
    )
}

/// What a proxy does when a method without `Result` fails: panic with the message, so the
/// operator's call fails (and its instance is poisoned) rather than go on with no value.
/// The failure carries no location: the panic's would be this line of oplink's.
pub fn infallible_failed(service: &str, method: &str, message: &str) -> ! {
    crate::trampoline::panic_without_location(format!(
        "host service call `{service}::{method}` failed and the method has no `Result` to report it (declared returning `Result` in the service's trait, it would get an `Err` instead of a panic): {message}"
    ))
}

/// The error of a failed call, for a method that returns `Result<T, E>`.
pub fn fallible_failed<F: Fallible>(message: String) -> F {
    F::from_result(Err(F::Err::from_message(message)))
}

/// Moves a value between two spellings of the same type that differ only in lifetimes:
/// inside the generated impls, `<&'a str as Arg>::Abi` and `<&'static str as Arg>::Abi` are
/// known only through a bound, so rustc cannot see that they are one type.
///
/// # Safety
/// `A` and `B` must be the same type up to lifetimes, and the caller keeps alive whatever
/// the value points to for as long as it is used.
#[inline(always)]
pub unsafe fn relabel<A: Copy, B: Copy>(value: A) -> B {
    const {
        assert!(size_of::<A>() == size_of::<B>());
        assert!(align_of::<A>() == align_of::<B>());
    }
    // SAFETY: the same type (caller), so the same size, alignment and validity.
    unsafe { std::mem::transmute_copy(&value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_tables_and_transfers_are_errors_that_say_why() {
        // SAFETY: a null table is rejected before it is read.
        let err = unsafe { check_table(std::ptr::null(), "Catalog", 32) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the host gave a null or misaligned table for `Catalog`"
        );
        let small = TableHeader {
            size: 16,
            context: std::ptr::null(),
        };
        let ptr: *const TableHeader = &small;
        // SAFETY: points at a live header.
        let err = unsafe { check_table(ptr.cast(), "Catalog", 32) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the host's table for `Catalog` has 16 bytes, this plugin needs 32"
        );

        let mut out = std::mem::MaybeUninit::<ErrorOut>::uninit();
        // SAFETY: an unknown status: the slot is not read.
        let result: std::result::Result<u64, String> =
            unsafe { fallible_call_failed(Status(9), out.as_mut_ptr(), "Catalog", "tier") };
        assert_eq!(
            result.unwrap_err(),
            "`Catalog::tier` returned unknown status 9"
        );
        assert_eq!(
            bad_return(
                "Catalog",
                "tier",
                Error::unlocated("7 is not a bool (0 or 1)")
            ),
            "`Catalog::tier` returned a value this plugin cannot read: 7 is not a bool (0 or 1)"
        );
        assert_eq!(
            bad_argument(
                "Catalog",
                "tier",
                "customer",
                Error::unlocated("a string is not UTF-8")
            )
            .to_string(),
            "argument `customer` of `Catalog::tier` cannot be read: a string is not UTF-8"
        );
    }

    /// The host's refusal of an argument, as the plugin reports it: a Rust host's names the
    /// argument and the method, which are then not said twice; another host's is named.
    #[test]
    fn an_argument_the_host_refused_is_named_once() {
        let refused = |message: Error| {
            let mut out = std::mem::MaybeUninit::<ErrorOut>::uninit();
            // SAFETY: `out` is writable; the failure is written whole and read back once.
            let result: std::result::Result<u64, String> = unsafe {
                let status = Failure::invalid_input(&message).write_to(out.as_mut_ptr());
                fallible_call_failed(status, out.as_mut_ptr(), "Kit", "floats")
            };
            result.unwrap_err()
        };
        let by_rust = bad_argument(
            "Kit",
            "floats",
            "v",
            Error::unlocated("invalid type: null, expected f64"),
        );
        assert_eq!(
            refused(by_rust),
            "the host could not read an argument: argument `v` of `Kit::floats` cannot be read: invalid type: null, expected f64"
        );
        assert_eq!(
            refused(Error::unlocated("the second number is negative")),
            "the host could not read the arguments of `Kit::floats`: the second number is negative"
        );
    }
}
