//! A panic of the typed view's accessors, as an operator's author meets it: located at the
//! author's call, never inside oplink.

use std::sync::Arc;

use oplink::arrow::array::{ArrayRef, RecordBatch, StringArray};
use oplink::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use oplink::trampoline::{guard, install_panic_hook};
use oplink::view::ChangeView;
use oplink::{Change, Diff, Rows, Timestamp};

/// A change of one row whose column `name` holds bytes that are not UTF-8.
fn malformed_view() -> ChangeView {
    let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0i32, 2]));
    // SAFETY: offsets and values of matching lengths; the bytes are not UTF-8 on purpose.
    let names =
        unsafe { StringArray::new_unchecked(offsets, Buffer::from(vec![0xffu8, 0xfe]), None) };
    let batch = RecordBatch::try_from_iter([("name", Arc::new(names) as ArrayRef)]).unwrap();
    let change = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: Rows::new(vec![0u64], batch).unwrap(),
        }],
    );
    ChangeView::from_change(change).unwrap()
}

#[test]
fn a_malformed_string_read_with_get_panics_at_the_authors_line() {
    let view = malformed_view();
    install_panic_hook();
    let mut line = 0;
    let failure = guard(&mut || {
        let rows = view.rows().next().expect("one side");
        let strings = rows.column(0)?.strings()?;
        line = line!() + 1;
        let _ = strings.get(0);
        Ok(())
    })
    .unwrap_err();
    assert!(
        failure
            .message
            .starts_with("column `name`: string 0 is not UTF-8"),
        "{}",
        failure.message
    );
    let location = failure.location().expect("located");
    assert!(
        location.starts_with(&format!("{}:{line}:", file!())),
        "{location}"
    );
}

/// An error of the view's accessors (a missing or mistyped column, a malformed string) is
/// located at the author's call, as an error of the author's own is.
#[test]
fn errors_of_the_views_accessors_are_located_at_the_authors_line() {
    let view = malformed_view();
    let rows = view.rows().next().expect("one side");
    let at = |err: oplink::Error| err.location().map(|l| (l.file(), l.line()));
    let line = line!() + 1;
    let err = rows.column_by_name("amount").unwrap_err();
    assert_eq!(err.message(), "no column `amount`: the columns are `name`");
    assert_eq!(at(err), Some((file!(), line)));
    let line = line!() + 1;
    let err = rows.column(0).unwrap().i64s().unwrap_err();
    assert_eq!(err.message(), "column `name`: it is Utf8, not Int64");
    assert_eq!(at(err), Some((file!(), line)));
    let strings = rows.column(0).unwrap().strings().unwrap();
    let line = line!() + 1;
    let err = strings.try_get(0).unwrap_err();
    assert!(
        err.message()
            .starts_with("column `name`: string 0 is not UTF-8")
    );
    assert_eq!(at(err), Some((file!(), line)));
}
