//! `Rows`' errors, as an operator's author meets them: in plain words, located at the
//! author's line (not inside oplink); and what `filter` shares.

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
    assert_eq!(
        err.message(),
        "1 row number for a batch of 0 rows: `Rows::new` takes one number per row"
    );
    let at = err.location().expect("located");
    assert_eq!((at.file(), at.line()), (file!(), line));

    let err = Rows::new(UInt64Array::from(vec![Some(1), None]), batch(vec![1, 2])).unwrap_err();
    assert_eq!(
        err.message(),
        "row numbers must not be null, but row 1's is null: `Rows::new` takes one number per row"
    );
    // A sliced array of numbers names the row of the slice.
    let numbers = UInt64Array::from(vec![None, Some(1), Some(2), None]).slice(1, 3);
    let err = Rows::new(numbers, batch(vec![1, 2, 3])).unwrap_err();
    assert_eq!(
        err.message(),
        "row numbers must not be null, but row 2's is null: `Rows::new` takes one number per row"
    );

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
        "diff 0 of the change: the filter's mask has 1 flag for 2 pre rows: it needs one flag per row"
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
        "diff 0 of the change: an update's pre and post rows must carry the same row numbers in the same order, but pre has 1 row and post 2 rows"
    );
    // Or other row numbers; the error names the diff (here the second).
    let renumbered = Change::new(
        1,
        Timestamp(0),
        vec![
            Diff::Insert {
                post: Rows::new(vec![9u64], batch(vec![9])).unwrap(),
            },
            Diff::Update {
                pre: Rows::new(vec![1u64, 2], batch(vec![1, 2])).unwrap(),
                post: Rows::new(vec![3u64, 4], batch(vec![3, 4])).unwrap(),
            },
        ],
    );
    let line = line!() + 2;
    let err = renumbered
        .filter(|rows| Ok(BooleanArray::from(vec![true; rows.len()])))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "diff 1 of the change: an update's pre and post rows must carry the same row numbers in the same order, but its row 0 is number 1 in pre and 3 in post"
    );
    assert_eq!(err.location().map(|at| at.line()), Some(line));
    // Nothing passes: no diff is left.
    let out = update()
        .filter(|rows| Ok(BooleanArray::from(vec![None; rows.len()])))
        .unwrap();
    assert!(out.diffs.is_empty());
}

/// `ChangeView::filter`, with flags read from the view, gives what `Change::filter` gives.
#[test]
fn a_views_filter_is_the_changes_filter() {
    use oplink::view::{ChangeView, RowsView};
    use oplink::{Change, Diff, Result, Timestamp};
    let amounts = |first: u64, values: Vec<Option<i64>>| {
        let numbers: Vec<u64> = (first..).take(values.len()).collect();
        let batch =
            RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(values)) as ArrayRef)])
                .unwrap();
        // Sliced, so that neither the batch nor the numbers start at 0.
        let len = batch.num_rows();
        let rows = Rows::new(numbers, batch).unwrap();
        let (numbers, batch) = rows.into_parts();
        Rows::new(numbers.slice(1, len - 1), batch.slice(1, len - 1)).unwrap()
    };
    let change = Change::new(
        4,
        Timestamp(9),
        vec![
            Diff::Insert {
                post: amounts(10, vec![Some(0), Some(50), None, Some(5), Some(70)]),
            },
            Diff::Update {
                pre: amounts(
                    20,
                    vec![Some(0), Some(50), Some(50), Some(1), Some(1), None],
                ),
                post: amounts(
                    20,
                    vec![Some(0), Some(60), Some(5), Some(15), Some(2), Some(30)],
                ),
            },
            Diff::Remove {
                pre: amounts(30, vec![Some(0), Some(40), Some(4)]),
            },
        ],
    );
    let from_rows = |rows: &Rows| -> Result<BooleanArray> {
        let x = rows.batch().column(0);
        let x = x.as_any().downcast_ref::<Int64Array>().unwrap();
        Ok(x.iter().map(|v| v.map(|v| v >= 10)).collect())
    };
    let from_view = |rows: &RowsView<'_>| -> Result<BooleanArray> {
        let x = rows.column(0)?.i64s()?;
        Ok(x.iter().map(|v| v.map(|v| v >= 10)).collect())
    };
    let expected = change.clone().filter(from_rows).unwrap();
    assert_eq!(expected.diffs.len(), 5, "{expected:?}");
    let view = ChangeView::from_change(change).unwrap();
    let out = view.filter(from_view).unwrap();
    assert_eq!(out, expected);
    assert_eq!((out.version, out.changed_at), (4, Timestamp(9)));
}

/// `ChangeView::filter`'s failures: an error of `keep` is the result, and a mask of the
/// wrong length is refused at the caller's line.
#[test]
fn a_views_filter_refuses_what_changes_filter_refuses() {
    use oplink::view::{ChangeView, RowsView};
    use oplink::{Change, Diff, Error, Result, Timestamp};
    let view = || {
        let change = Change::new(
            1,
            Timestamp(0),
            vec![Diff::Insert {
                post: Rows::new(vec![1u64, 2], batch(vec![5, 50])).unwrap(),
            }],
        );
        ChangeView::from_change(change).unwrap()
    };
    let err = view()
        .filter(|_: &RowsView<'_>| -> Result<BooleanArray> { Err(Error::msg("no column `y`")) })
        .unwrap_err();
    assert_eq!(err.message(), "no column `y`");
    let line = line!() + 2;
    let err = view()
        .filter(|_: &RowsView<'_>| Ok(BooleanArray::from(vec![true])))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "diff 0 of the change: the filter's mask has 1 flag for 2 post rows: it needs one flag per row"
    );
    assert_eq!(err.location().map(|at| at.line()), Some(line));
}

/// `validate` finds what a producer outside Rust can get wrong and an import takes on its
/// word: text that is not UTF-8, offsets that go back; the error names the diff, the side
/// and the column.
#[test]
fn validate_names_the_diff_side_and_column_of_an_invalid_array() {
    use oplink::arrow::array::StringArray;
    use oplink::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
    use oplink::{Change, Diff, Timestamp};

    let text = |offsets: Vec<i32>, bytes: &[u8]| -> ArrayRef {
        // SAFETY: not upheld on purpose: offsets in order are what `validate` checks. They
        // stay within the data, so building the array reads nothing out of bounds.
        let offsets = unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)) };
        // SAFETY: not upheld on purpose (UTF-8, offsets in order): what `validate` checks.
        let text =
            unsafe { StringArray::new_unchecked(offsets, Buffer::from(bytes.to_vec()), None) };
        Arc::new(text)
    };
    let rows = |name: ArrayRef| {
        let batch = RecordBatch::try_from_iter([
            ("x", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("name", name),
        ])
        .unwrap();
        Rows::new(vec![1u64, 2], batch).unwrap()
    };
    let good = rows(text(vec![0, 1, 3], b"abc"));
    good.validate().unwrap();

    let not_utf8 = rows(text(vec![0, 1, 2], b"a\xff"));
    let change = Change::new(
        1,
        Timestamp(0),
        vec![
            Diff::Insert { post: good.clone() },
            Diff::Update {
                pre: good.clone(),
                post: not_utf8,
            },
        ],
    );
    let err = change.validate().unwrap_err();
    assert!(
        err.message().starts_with(
            "diff 1 of the change: its post rows: column `name`: Invalid UTF8 sequence"
        ),
        "{}",
        err.message()
    );

    let backwards = rows(text(vec![0, 2, 1], b"abc"));
    let change = Change::new(1, Timestamp(0), vec![Diff::Remove { pre: backwards }]);
    let err = change.validate().unwrap_err();
    assert_eq!(
        err.message(),
        "diff 0 of the change: its pre rows: column `name`: Offset invariant failure: non-monotonic offset at slot 1: 2 > 1"
    );
    Change::new(1, Timestamp(0), vec![Diff::Insert { post: good }])
        .validate()
        .unwrap();
}

/// An update whose sides carry other row numbers cannot cross: `validate` says so before a
/// host sends it.
#[test]
fn validate_refuses_an_update_whose_sides_carry_other_row_numbers() {
    use oplink::{Change, Diff, Timestamp};

    let rows = |numbers: Vec<u64>| Rows::new(numbers, batch(vec![5])).unwrap();
    let update = |pre, post| {
        Change::new(
            1,
            Timestamp(0),
            vec![
                Diff::Insert {
                    post: rows(vec![1]),
                },
                Diff::Update {
                    pre: rows(pre),
                    post: rows(post),
                },
            ],
        )
    };
    update(vec![9], vec![9]).validate().unwrap();
    assert_eq!(
        update(vec![9], vec![10]).validate().unwrap_err().message(),
        "diff 1 of the change: an update's pre and post rows must carry the same row numbers in the same order, but its row 0 is number 9 in pre and 10 in post"
    );
}

/// `Change::map` maps every side of every diff, keeping each row's number and diff; a batch
/// that changes its row count is an error at the caller's line.
#[test]
fn change_map_keeps_numbers_and_diffs_and_refuses_a_new_row_count_at_the_callers_line() {
    use oplink::{Change, Diff, Timestamp};

    let rows = |numbers: Vec<u64>, values: Vec<i64>| Rows::new(numbers, batch(values)).unwrap();
    let change = Change::new(
        3,
        Timestamp(9),
        vec![
            Diff::Insert {
                post: rows(vec![1, 2], vec![10, 20]),
            },
            Diff::Update {
                pre: rows(vec![5], vec![1]),
                post: rows(vec![5], vec![2]),
            },
            Diff::Remove {
                pre: rows(vec![6], vec![7]),
            },
        ],
    );
    let negated = |b: &RecordBatch| -> oplink::Result<RecordBatch> {
        let x = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        Ok(batch(x.values().iter().map(|v| -v).collect()))
    };
    let out = change.clone().map(negated).unwrap();
    let expected = Change::new(
        3,
        Timestamp(9),
        vec![
            Diff::Insert {
                post: rows(vec![1, 2], vec![-10, -20]),
            },
            Diff::Update {
                pre: rows(vec![5], vec![-1]),
                post: rows(vec![5], vec![-2]),
            },
            Diff::Remove {
                pre: rows(vec![6], vec![-7]),
            },
        ],
    );
    assert_eq!(out, expected);

    let line = line!() + 1;
    let err = change.clone().map(|_| Ok(batch(vec![]))).unwrap_err();
    assert_eq!(
        err.message(),
        "diff 0 of the change, its post rows: `map` keeps every row and its number, but the batch of 2 rows became one of 0 rows; drop rows with `filter`"
    );
    let at = err.location().expect("located");
    assert_eq!((at.file(), at.line()), (file!(), line));
    // The error names the diff and the side that came back short: here the update's `pre`
    // (a batch of 1 row made 2), the insert before it having kept its count.
    let err = change
        .clone()
        .map(|b| {
            Ok(batch(if b.num_rows() == 1 {
                vec![1, 2]
            } else {
                vec![0; b.num_rows()]
            }))
        })
        .unwrap_err();
    assert_eq!(
        err.message(),
        "diff 1 of the change, its pre rows: `map` keeps every row and its number, but the batch of 1 row became one of 2 rows; drop rows with `filter`"
    );
    // An error of the function is the result as it was made, with nothing in front.
    let err = change
        .map(|_| Err(oplink::Error::msg("no column `amount`")))
        .unwrap_err();
    assert_eq!(err.message(), "no column `amount`");
}

/// The README's Trust section: `validate` checks "every column in full", dictionary keys in
/// range and text nested below the top level among it; the error names the top-level
/// column.
#[test]
fn validate_finds_a_key_past_its_dictionary_and_bad_text_inside_a_list() {
    use oplink::arrow::array::types::Int32Type;
    use oplink::arrow::array::{
        Array, DictionaryArray, Int32Array, ListArray, StringArray, StructArray,
    };
    use oplink::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
    use oplink::arrow::schema::{DataType, Field};

    let with = |column: ArrayRef| {
        let batch = RecordBatch::try_from_iter([
            ("x", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("tag", column),
        ])
        .unwrap();
        Rows::new(vec![1u64, 2], batch).unwrap()
    };
    let values = Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef;
    let keys = |last: i32| Int32Array::from(vec![0, last]);
    // SAFETY: keys in range.
    let good = unsafe { DictionaryArray::<Int32Type>::new_unchecked(keys(1), values.clone()) };
    with(Arc::new(good)).validate().unwrap();
    // SAFETY: not upheld on purpose: key 2 is past the two values, which `validate` checks;
    // nothing here reads the values through it.
    let past = unsafe { DictionaryArray::<Int32Type>::new_unchecked(keys(2), values) };
    let err = with(Arc::new(past)).validate().unwrap_err();
    assert_eq!(
        err.message(),
        "column `tag`: Value at position 1 out of bounds: 2 (should be in [0, 1])"
    );

    // A list of text whose one value is not UTF-8.
    // SAFETY: not upheld on purpose (UTF-8), which `validate` checks; the offsets are good.
    let text = unsafe {
        StringArray::new_unchecked(
            OffsetBuffer::new(ScalarBuffer::from(vec![0, 1, 2])),
            Buffer::from(b"a\xff".to_vec()),
            None,
        )
    };
    let item = Arc::new(Field::new_list_field(DataType::Utf8, false));
    let lists = ListArray::new(
        item,
        OffsetBuffer::from_lengths([1, 1]),
        Arc::new(text),
        None,
    );
    let err = with(Arc::new(lists.clone())).validate().unwrap_err();
    // arrow-rs's words, without the kind it puts before the child's ("Invalid argument
    // error: "), as before the top level's.
    assert_eq!(
        err.message(),
        "column `tag`: List(non-null Utf8) child #0 invalid: Invalid UTF8 sequence at string index 1 (1..2): invalid utf-8 sequence of 1 bytes from index 0"
    );

    // The same list one level deeper, in a struct whose field's name holds arrow-rs's
    // words for the kind: each quoted child's kind goes, the name stays whole.
    let name = "note: Invalid argument error: kept";
    let fields = vec![Field::new(name, lists.data_type().clone(), true)];
    let nested = StructArray::new(fields.into(), vec![Arc::new(lists) as ArrayRef], None);
    let err = with(Arc::new(nested)).validate().unwrap_err();
    assert_eq!(
        err.message(),
        "column `tag`: Struct(\"note: Invalid argument error: kept\": List(non-null Utf8)) child #0 invalid: List(non-null Utf8) child #0 invalid: Invalid UTF8 sequence at string index 1 (1..2): invalid utf-8 sequence of 1 bytes from index 0"
    );
}

/// A null count that disagrees with its bitmap (what a producer declares and an import
/// takes on its word) is found in a column of numbers too.
#[test]
fn validate_finds_a_null_count_that_disagrees_with_the_bitmap() {
    use oplink::arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};

    let bits = BooleanBuffer::from(vec![true, false, true]);
    // SAFETY: not upheld on purpose: the count (2) disagrees with the bitmap (1 null),
    // which is what `validate` checks; nothing reads past the buffers.
    let nulls = unsafe { NullBuffer::new_unchecked(bits, 2) };
    let amounts = Int64Array::new(ScalarBuffer::from(vec![1, 2, 3]), Some(nulls));
    let batch = RecordBatch::try_from_iter([("amount", Arc::new(amounts) as ArrayRef)]).unwrap();
    let err = Rows::new(vec![0u64, 1, 2], batch)
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(
        err.message(),
        "column `amount`: its null count is 2, but its validity bitmap marks 1 row null"
    );
}

/// A filter that keeps every row shares the rows' arrays; one that drops any copies what
/// it keeps, and a null flag drops its row.
#[test]
fn a_filter_that_keeps_every_row_shares_its_arrays() {
    use oplink::{Change, Diff, Timestamp};
    let rows = Rows::new(vec![7u64, 8, 9], batch(vec![1, 2, 3])).unwrap();
    let all = rows.filter(&BooleanArray::from(vec![true; 3])).unwrap();
    assert_eq!(all, rows);
    assert!(Arc::ptr_eq(all.batch().column(0), rows.batch().column(0)));
    assert_eq!(
        all.row_numbers().values().as_ptr(),
        rows.row_numbers().values().as_ptr()
    );
    let some = rows
        .filter(&BooleanArray::from(vec![Some(true), None, Some(true)]))
        .unwrap();
    assert_eq!(some.row_numbers(), &UInt64Array::from(vec![7, 9]));
    assert_eq!(
        some.batch().column(0).as_ref(),
        &Int64Array::from(vec![1, 3]) as &dyn oplink::arrow::array::Array
    );
    assert!(!Arc::ptr_eq(some.batch().column(0), rows.batch().column(0)));
    // Through `Change::filter` too.
    let change = Change::new(1, Timestamp(0), vec![Diff::Insert { post: rows.clone() }]);
    let out = change
        .filter(|rows| Ok(BooleanArray::from(vec![true; rows.len()])))
        .unwrap();
    let [Diff::Insert { post }] = &out.diffs[..] else {
        panic!("{out:?}")
    };
    assert!(Arc::ptr_eq(post.batch().column(0), rows.batch().column(0)));
}
