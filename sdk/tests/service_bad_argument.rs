//! A host service's argument that cannot be read (a C plugin's string that is not UTF-8) is
//! the plugin's mistake: the host's thunk reports `INVALID_INPUT`, naming the argument, and
//! does not call the implementation.

use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use oplink::abi::{ErrorOut, Status, StrView, TableHeader};
use oplink::service::HostTableFor;
use oplink::services::{Log, LogEvent};

/// Counts the messages it is given.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Log for Counting {
    fn max_level(&self) -> u8 {
        5
    }
    fn event(&self, _: LogEvent) {}
    fn message(&self, _: u8, _: &str, _: &str) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// `OplinkLogTable`, as `oplink.h` declares it.
#[repr(C)]
struct LogTable {
    header: TableHeader,
    max_level: unsafe extern "C" fn(*const c_void, *mut u8, *mut ErrorOut) -> Status,
    event: *const c_void,
    message:
        unsafe extern "C" fn(*const c_void, u8, StrView, StrView, *mut u8, *mut ErrorOut) -> Status,
}

#[test]
fn an_argument_that_cannot_be_read_is_invalid_input() {
    let log = Arc::new(Counting::default());
    let table = <dyn Log as HostTableFor<Counting>>::__host_table_for(log.clone());
    // SAFETY: the table of `oplink.Log`, laid out as `LogTable`, alive while `table` is.
    let table = unsafe { &*table.as_ptr().cast::<LogTable>() };
    let not_utf8 = [0xffu8, 0xfe];
    let (mut out, mut err) = (0u8, ErrorOut::EMPTY);
    let target = StrView {
        ptr: not_utf8.as_ptr(),
        len: not_utf8.len(),
    };
    // SAFETY: the table's own context, views valid for the call, writable out-parameters.
    let status = unsafe {
        (table.message)(
            table.header.context,
            3,
            target,
            StrView::new("text"),
            &mut out,
            &mut err,
        )
    };
    assert_eq!(status, Status::INVALID_INPUT);
    // SAFETY: written by the thunk that just failed, read once.
    let message = String::from_utf8(unsafe { err.message.take() }).unwrap();
    assert!(
        message.starts_with(
            "argument `target` of `oplink.Log::message` cannot be read: a string is not UTF-8"
        ),
        "{message}"
    );
    assert_eq!(
        log.0.load(Ordering::Relaxed),
        0,
        "the implementation was not called"
    );
    // SAFETY: as above, with readable strings.
    let status = unsafe {
        (table.message)(
            table.header.context,
            3,
            StrView::new("target"),
            StrView::new("text"),
            &mut out,
            &mut err,
        )
    };
    assert_eq!(status, Status::OK);
    assert_eq!(log.0.load(Ordering::Relaxed), 1);
    // SAFETY: as above, but with no out-parameter: refused before the call.
    let status = unsafe {
        (table.message)(
            table.header.context,
            3,
            StrView::new("target"),
            StrView::new("text"),
            std::ptr::null_mut(),
            &mut err,
        )
    };
    assert_eq!(status, Status::INVALID_INPUT);
    // SAFETY: as above.
    let message = String::from_utf8(unsafe { err.message.take() }).unwrap();
    assert_eq!(message, "the out-parameter is null");
    assert_eq!(log.0.load(Ordering::Relaxed), 1, "not called");
}
