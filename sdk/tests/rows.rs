//! `Rows`' errors, as an operator's author meets them: in plain words, located at the
//! author's line (not inside oplink).

use std::sync::Arc;

use oplink::Rows;
use oplink::arrow::array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, UInt64Array};

fn batch(values: Vec<i64>) -> RecordBatch {
    RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(values)) as ArrayRef)]).unwrap()
}

#[test]
fn rows_refuse_numbers_that_do_not_fit_the_batch_at_the_callers_line() {
    let line = line!() + 1;
    let err = Rows::new(vec![1u64], batch(vec![])).unwrap_err();
    assert_eq!(err.message(), "1 row number for a batch of 0 rows");
    let at = err.location().expect("located");
    assert_eq!((at.file(), at.line()), (file!(), line));

    let err = Rows::new(UInt64Array::from(vec![Some(1), None]), batch(vec![1, 2])).unwrap_err();
    assert_eq!(err.message(), "row numbers must not be null");

    let rows = Rows::new(vec![1u64, 2], batch(vec![1, 2])).unwrap();
    let line = line!() + 2; // the method call's line
    let err = rows
        .filter(&BooleanArray::from(vec![true, false, true]))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "the filter's mask has 3 flags for 2 rows: it needs one flag per row"
    );
    assert_eq!(err.location().map(|at| at.line()), Some(line));
}

#[test]
fn change_filter_refuses_a_mask_of_the_wrong_length_at_the_callers_line() {
    use oplink::{Change, Diff, Error, Timestamp};
    let update = || {
        Change::new(
            1,
            Timestamp(0),
            vec![Diff::Update {
                pre: Rows::new(vec![1u64, 2], batch(vec![1, 2])).unwrap(),
                post: Rows::new(vec![1u64, 2], batch(vec![3, 4])).unwrap(),
            }],
        )
    };
    let line = line!() + 3;
    let err = update()
        // One flag short on every side.
        .filter(|_| Ok(BooleanArray::from(vec![true])))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "the filter's mask has 1 flag for 2 pre rows: it needs one flag per row"
    );
    assert_eq!(err.location().map(|at| at.line()), Some(line));
    // An error of `keep` is the result, as it was made.
    let err = update()
        .filter(|_| Err(Error::msg("no column `amount`")))
        .unwrap_err();
    assert_eq!(err.message(), "no column `amount`");
    // An update whose sides differ (one built by hand) is an error, not a panic.
    let lopsided = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Update {
            pre: Rows::new(vec![1u64], batch(vec![1])).unwrap(),
            post: Rows::new(vec![1u64, 2], batch(vec![3, 4])).unwrap(),
        }],
    );
    let err = lopsided
        .filter(|rows| Ok(BooleanArray::from(vec![true; rows.len()])))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "an update's pre and post rows must carry the same row numbers in the same order, but pre has 1 row and post 2 rows"
    );
    // Or other row numbers.
    let renumbered = Change::new(
        1,
        Timestamp(0),
        vec![Diff::Update {
            pre: Rows::new(vec![1u64, 2], batch(vec![1, 2])).unwrap(),
            post: Rows::new(vec![3u64, 4], batch(vec![3, 4])).unwrap(),
        }],
    );
    let line = line!() + 2;
    let err = renumbered
        .filter(|rows| Ok(BooleanArray::from(vec![true; rows.len()])))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "an update's pre and post rows must carry the same row numbers in the same order, but its row 0 is number 1 in pre and 3 in post"
    );
    assert_eq!(err.location().map(|at| at.line()), Some(line));
    // Nothing passes: no diff is left.
    let out = update()
        .filter(|rows| Ok(BooleanArray::from(vec![None; rows.len()])))
        .unwrap();
    assert!(out.diffs.is_empty());
}
