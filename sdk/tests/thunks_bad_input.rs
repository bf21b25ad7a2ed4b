//! What a host written in another language might pass the thunks that no Rust host does: a
//! snapshot or row numbers that cannot be read are refused as invalid input, with a message,
//! and nothing is read from them.

use oplink::abi::{BytesView, ErrorOut, Status, StrView};
use oplink::prelude::*;

/// Keeps what it is given, to see that nothing was.
struct Keeper {
    restored: Option<Vec<u8>>,
}

#[oplink::operator(name = "keeper", version = "1.0.0")]
impl Keeper {
    fn new() -> Result<Self> {
        Ok(Keeper { restored: None })
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn pull(&mut self, rows: &[RowNumber]) -> Result<RecordBatch> {
        bail!("pulled {} rows", rows.len())
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        self.restored = Some(snapshot.to_vec());
        Ok(())
    }
}

/// The message of a failed call, its buffers released.
fn message(err: &mut ErrorOut) -> String {
    // SAFETY: written by the thunk that just failed, read once.
    String::from_utf8(unsafe { err.message.take() }).unwrap()
}

#[test]
fn a_snapshot_or_row_numbers_that_cannot_be_read_are_invalid_input() {
    let vtable = oplink::__private::vtable::<Keeper>();
    let mut instance = std::ptr::null_mut();
    let mut err = ErrorOut::EMPTY;
    let config = StrView::new("null");
    // SAFETY: no host (allowed), a config valid for the call, writable out-parameters.
    let status =
        unsafe { (vtable.create.unwrap().0)(std::ptr::null(), config, &mut instance, &mut err) };
    assert_eq!(status, Status::OK);

    let unreadable = BytesView {
        ptr: std::ptr::null(),
        len: 16,
    };
    // SAFETY: a live instance; the view is what is under test.
    let status = unsafe { (vtable.restore.unwrap().0)(instance, unreadable, &mut err) };
    assert_eq!(status, Status::INVALID_INPUT);
    assert_eq!(
        message(&mut err),
        "a snapshot of 16 bytes arrived with a null pointer or more than memory can hold"
    );

    let mut out = std::mem::MaybeUninit::uninit();
    // SAFETY: a live instance, a writable output; the row numbers are what is under test.
    let status = unsafe {
        (vtable.pull.unwrap().0)(instance, std::ptr::null(), 3, out.as_mut_ptr(), &mut err)
    };
    assert_eq!(status, Status::INVALID_INPUT);
    assert_eq!(
        message(&mut err),
        "3 row numbers arrived with a null or misaligned pointer"
    );

    // SAFETY: the live instance, destroyed once.
    let status = unsafe { (vtable.destroy.unwrap().0)(instance, &mut err) };
    assert_eq!(status, Status::OK);
}

/// Reads its state on every pull.
struct Stateful;

#[oplink::operator(name = "stateful", version = "1.0.0")]
impl Stateful {
    fn new() -> Result<Self> {
        Ok(Stateful)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }

    fn pull(&mut self, ctx: &mut Context, _rows: &[RowNumber]) -> Result<RecordBatch> {
        ctx.state()?.get(b"k")?;
        bail!("read the state of a host that has none")
    }
}

/// A host that offers no services passes `host` null (docs/abi.md): a call of the
/// operator's state is an error naming the operator and what the host lacks.
#[test]
fn the_state_of_an_operator_whose_host_offers_no_services_is_an_error() {
    let vtable = oplink::__private::vtable::<Stateful>();
    let mut instance = std::ptr::null_mut();
    let mut err = ErrorOut::EMPTY;
    // SAFETY: no host (allowed), a config valid for the call, writable out-parameters.
    let status = unsafe {
        (vtable.create.unwrap().0)(
            std::ptr::null(),
            StrView::new("null"),
            &mut instance,
            &mut err,
        )
    };
    assert_eq!(status, Status::OK);
    let rows = [0u64];
    let mut out = std::mem::MaybeUninit::uninit();
    // SAFETY: a live instance, valid row numbers, a writable output.
    let status =
        unsafe { (vtable.pull.unwrap().0)(instance, rows.as_ptr(), 1, out.as_mut_ptr(), &mut err) };
    assert_eq!(status, Status::ERROR);
    assert_eq!(
        message(&mut err),
        "the host of operator `stateful` provides no state service (`oplink.State`): run it in a host that does, as `oplink run` and every `oplink-host` host do"
    );
    // SAFETY: the live instance, destroyed once.
    let status = unsafe { (vtable.destroy.unwrap().0)(instance, &mut err) };
    assert_eq!(status, Status::OK);
}

/// The message of `create` for `Keeper` with `host`, which must fail.
fn create_fails(host: &oplink::abi::HostApi) -> String {
    let vtable = oplink::__private::vtable::<Keeper>();
    let mut instance = std::ptr::null_mut();
    let mut err = ErrorOut::EMPTY;
    // SAFETY: a host that outlives the call, a config valid for it, writable out-parameters.
    let status =
        unsafe { (vtable.create.unwrap().0)(host, StrView::new("null"), &mut instance, &mut err) };
    assert_eq!(status, Status::ERROR);
    assert!(instance.is_null());
    message(&mut err)
}

/// A host that finds every service but hands back no table for it.
unsafe extern "C" fn finds_no_table(
    _: *const oplink::abi::HostApi,
    _: StrView,
    _: u64,
    out: *mut *const std::ffi::c_void,
    _: *mut ErrorOut,
) -> Status {
    // SAFETY: `out` is the thunk's writable out-parameter.
    unsafe { *out = std::ptr::null() };
    Status::OK
}

/// A host (one written in C, say) whose `OplinkHostApi` has no `lookup_service`, or whose
/// lookup answers OK with no table, is refused by `create` naming the operator and the
/// standard service it cannot reach.
#[test]
fn a_host_without_a_lookup_or_whose_lookup_returns_no_table_is_refused() {
    let mut host = oplink::abi::HostApi {
        size: size_of::<oplink::abi::HostApi>() as u32,
        reserved: 0,
        instance_id: 1,
        context: std::ptr::null_mut(),
        lookup_service: None,
    };
    assert_eq!(
        create_fails(&host),
        "operator `keeper` cannot reach the standard service `oplink.Log`: this host offers no services (its `OplinkHostApi` has no `lookup_service`); a host without services passes a null `host` to `create`"
    );
    host.lookup_service = Some(oplink::abi::LookupServiceFn(finds_no_table));
    assert_eq!(
        create_fails(&host),
        "operator `keeper` cannot reach the standard service `oplink.Log`: the host's `lookup_service` answered OK for `oplink.Log` with no table: it writes the service's table to `out`, or returns ERROR saying why it has none"
    );
}
