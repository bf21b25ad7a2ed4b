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
