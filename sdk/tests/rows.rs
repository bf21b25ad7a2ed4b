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
    assert_eq!(err.message(), "1 row numbers for a batch of 0 rows");
    let at = err.location().expect("located");
    assert_eq!((at.file(), at.line()), (file!(), line));

    let err = Rows::new(UInt64Array::from(vec![Some(1), None]), batch(vec![1, 2])).unwrap_err();
    assert_eq!(err.message(), "row numbers must not be null");

    let rows = Rows::new(vec![1u64, 2], batch(vec![1, 2])).unwrap();
    let line = line!() + 2; // the method call's line
    let err = rows
        .filter(&BooleanArray::from(vec![true, false, true]))
        .unwrap_err();
    assert!(
        err.message()
            .contains("predicate of length 3 is larger than target array of length 2"),
        "{}",
        err.message()
    );
    assert_eq!(err.location().map(|at| at.line()), Some(line));
}
