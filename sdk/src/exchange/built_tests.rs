//! Outputs built from typed values: what crosses, what arrow-rs reads of it, and the errors.

use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowArray, from_ffi_and_data_type};
use arrow_array::types::{Int32Type, TimestampMillisecondType};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch,
    RecordBatchOptions, StringArray, StructArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::view::{ChangeOut, ChangeView, ColumnOut, DiffOut, DiffView, RowsOut};
use super::*;
use crate::data::{Change, Diff, Rows, Timestamp};

/// A schema of every kind of column a `ColumnOut` builds.
fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("price", DataType::Float64, true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Millisecond, Some("+01:00".into())),
            true,
        ),
        Field::new("count", DataType::Int32, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("blob", DataType::Binary, true),
        Field::new("ok", DataType::Boolean, true),
    ]))
}

/// Rows `first..first + 4` of [`schema`], built from typed values, with ids from `base`.
fn typed(schema: &SchemaRef, first: u64, base: i64) -> RowsOut {
    let present = validity_bytes(&[true, true, false, true]);
    RowsOut::new(
        schema.clone(),
        (first..first + 4).collect(),
        vec![
            ColumnOut::i64s((base..base + 4).collect()),
            ColumnOut::f64s(vec![0.5, 1.5, 2.5, -2.0])
                .with_validity(Some(validity(&present, 4)))
                .unwrap(),
            ColumnOut::new::<TimestampMillisecondType>(vec![10, 20, 30, 40]),
            ColumnOut::from_options::<Int32Type>([Some(1), None, None, Some(4)]),
            ColumnOut::strings([Some("ä"), Some(""), None, Some("long")]),
            ColumnOut::binaries([None, Some(&b"\x00\xff"[..]), Some(b""), Some(b"x")]),
            ColumnOut::booleans([Some(true), Some(false), None, Some(true)]),
        ],
    )
    .unwrap()
}

/// The same rows as [`typed`], built by arrow-rs.
fn expected(schema: &SchemaRef, first: u64, base: i64) -> Rows {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(base..base + 4)),
        Arc::new(Float64Array::from(vec![
            Some(0.5),
            Some(1.5),
            None,
            Some(-2.0),
        ])),
        Arc::new(TimestampMillisecondArray::from(vec![10, 20, 30, 40]).with_timezone("+01:00")),
        Arc::new(Int32Array::from(vec![Some(1), None, None, Some(4)])),
        Arc::new(StringArray::from(vec![
            Some("ä"),
            Some(""),
            None,
            Some("long"),
        ])),
        Arc::new(BinaryArray::from(vec![
            None,
            Some(&b"\x00\xff"[..]),
            Some(b""),
            Some(b"x"),
        ])),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
        ])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    Rows::new((first..first + 4).collect::<Vec<_>>(), batch).unwrap()
}

/// The bytes of a validity as a view reads one in place, starting at bit 3 (as an array at
/// an offset does), so that copying it must shift the bits: see [`validity`].
fn validity_bytes(present: &[bool]) -> Vec<u8> {
    let mut bytes = vec![0u8; (present.len() + 3).div_ceil(8)];
    for (i, _) in present.iter().enumerate().filter(|(_, p)| **p) {
        bytes[(i + 3) / 8] |= 1 << ((i + 3) % 8);
    }
    bytes
}

/// The validity of `len` values in `bytes` (from [`validity_bytes`]).
fn validity(bytes: &[u8], len: usize) -> super::view::Validity<'_> {
    super::view::Validity::at(bytes, 3, len)
}

/// An output of every diff kind built from typed values, and the change arrow-rs would
/// have built.
fn every_kind() -> (ChangeOut, Change) {
    let schema = schema();
    let out = ChangeOut::new(
        5,
        Timestamp(6),
        vec![
            DiffOut::Insert {
                post: typed(&schema, 0, 0),
            },
            DiffOut::Update {
                pre: typed(&schema, 10, 10),
                post: typed(&schema, 10, 20),
            },
            DiffOut::Remove {
                pre: typed(&schema, 30, 30),
            },
        ],
    );
    let change = Change::new(
        5,
        Timestamp(6),
        vec![
            Diff::Insert {
                post: expected(&schema, 0, 0),
            },
            Diff::Update {
                pre: expected(&schema, 10, 10),
                post: expected(&schema, 10, 20),
            },
            Diff::Remove {
                pre: expected(&schema, 30, 30),
            },
        ],
    );
    (out, change)
}

/// What a view operator's output looks like to the host: exported by the thunk's path,
/// imported as the host does.
fn across(out: ChangeOut, outgoing: &mut Outgoing, outbox: &mut SchemaOutbox) -> Change {
    let (abi, _spare) = outgoing.export_out(out, outbox, None).unwrap();
    // SAFETY: laid out just above, alive in `outgoing`.
    unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap()
}

#[test]
fn typed_values_cross_as_the_batches_arrow_rs_would_build() {
    let (out, change) = every_kind();
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    assert_eq!(across(out, &mut outgoing, &mut outbox), change);
    // In process, the same values become the same arrow-rs arrays.
    assert_eq!(every_kind().0.into_change().unwrap(), change);
}

#[test]
fn arrow_rs_reads_what_was_laid_out_from_typed_values() {
    let (out, change) = every_kind();
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let (abi, _spare) = outgoing.export_out(out, &mut outbox, None).unwrap();
    // SAFETY: laid out just above, alive in `outgoing`; each array is taken once.
    let diffs = unsafe { std::slice::from_raw_parts_mut(abi.diffs, abi.diff_count) };
    let sides = diffs
        .iter_mut()
        .flat_map(|diff| [&mut diff.pre, &mut diff.post])
        .filter(|rows| rows.schema_id != 0);
    let expected = change.diffs.iter().flat_map(|diff| match diff {
        Diff::Insert { post } => vec![post],
        Diff::Update { pre, post } => vec![pre, post],
        Diff::Remove { pre } => vec![pre],
    });
    let mut read = 0;
    for (side, rows) in sides.zip(expected) {
        let columns = std::mem::replace(&mut side.columns, FFI_ArrowArray::empty());
        let numbers = std::mem::replace(&mut side.row_numbers, FFI_ArrowArray::empty());
        let struct_type = DataType::Struct(rows.batch().schema().fields().clone());
        // SAFETY: arrays of ours, valid and unreleased, of these types.
        let (columns, numbers) = unsafe {
            (
                from_ffi_and_data_type(columns, struct_type).unwrap(),
                from_ffi_and_data_type(numbers, DataType::UInt64).unwrap(),
            )
        };
        columns.validate_full().unwrap();
        let batch = RecordBatch::from(StructArray::from(columns));
        assert_eq!(&batch, rows.batch());
        assert_eq!(
            arrow_array::make_array(numbers).as_ref(),
            rows.row_numbers() as &dyn Array
        );
        read += 1;
    }
    assert_eq!(read, 4);
}

#[test]
fn no_rows_and_no_columns_cross_too() {
    let no_rows = RowsOut::new(
        schema(),
        Vec::new(),
        vec![
            ColumnOut::i64s(Vec::new()),
            ColumnOut::f64s(Vec::new()),
            ColumnOut::new::<TimestampMillisecondType>(Vec::new()),
            ColumnOut::from_options::<Int32Type>([]),
            ColumnOut::strings::<&str>([]),
            ColumnOut::binaries::<&[u8]>([]),
            ColumnOut::booleans([]),
        ],
    )
    .unwrap();
    let no_columns = RowsOut::new(Arc::new(Schema::empty()), vec![4, 5, 6], vec![]).unwrap();
    let out = ChangeOut::new(
        1,
        Timestamp(2),
        vec![
            DiffOut::Insert { post: no_rows },
            DiffOut::Remove { pre: no_columns },
        ],
    );
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let back = across(out, &mut outgoing, &mut outbox);
    let empty = RecordBatch::new_empty(schema());
    let columnless = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(3)),
    )
    .unwrap();
    assert_eq!(
        back,
        Change::new(
            1,
            Timestamp(2),
            vec![
                Diff::Insert {
                    post: Rows::new(Vec::<u64>::new(), empty).unwrap()
                },
                Diff::Remove {
                    pre: Rows::new(vec![4u64, 5, 6], columnless).unwrap()
                },
            ]
        )
    );
    // With no diffs at all, nothing is laid out.
    let (abi, _spare) = outgoing
        .export_out(ChangeOut::new(7, Timestamp(8), vec![]), &mut outbox, None)
        .unwrap();
    assert_eq!((abi.diff_count, abi.version, abi.changed_at), (0, 7, 8));
    assert_eq!(
        ChangeOut::new(7, Timestamp(8), vec![])
            .into_change()
            .unwrap(),
        Change::new(7, Timestamp(8), vec![])
    );
}

#[test]
fn a_schema_kept_in_one_arc_crosses_once_and_blocks_mix_with_built_changes() {
    let schema = schema();
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let mut inbox = SchemaInbox::default();
    let built = Change::new(
        1,
        Timestamp(1),
        vec![Diff::Insert {
            post: expected(&schema, 100, 7),
        }],
    );
    // Typed, built, typed, built again through the same sender: the held block is reused
    // whatever laid it out last, and each change arrives whole.
    for round in 0..6u64 {
        let abi = if round % 2 == 0 {
            let out = ChangeOut::new(
                1,
                Timestamp(1),
                vec![DiffOut::Insert {
                    post: typed(&schema, 100, 7),
                }],
            );
            outgoing.export_out(out, &mut outbox, None).unwrap().0
        } else {
            outgoing.export_change(built.clone(), &mut outbox).unwrap()
        };
        // SAFETY: a diff laid out just above.
        let sent_schema = unsafe { (*abi.diffs).post.schema };
        assert_eq!(
            sent_schema.is_null(),
            round > 0,
            "the schema travels with the first change only (round {round})"
        );
        // SAFETY: laid out just above, alive in `outgoing`.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        // The call returned: the receiver has the schemas sent with it.
        outbox.commit();
        assert_eq!(back, built, "round {round}");
    }
}

/// A column built as another type than its field's is told how to build one that fits.
#[test]
fn a_column_of_another_type_is_told_how_to_build_its_field() {
    let said = |field: DataType, column: ColumnOut| {
        let schema = Arc::new(Schema::new(vec![Field::new("t", field, true)]));
        RowsOut::new(schema, vec![1], vec![column])
            .unwrap_err()
            .to_string()
    };
    let zoned = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    assert_eq!(
        said(zoned, ColumnOut::i64s(vec![1])),
        "column `t` was built as Int64, but its field is Timestamp(µs, \"UTC\") (build it with `ColumnOut::new::<TimestampMicrosecondType>`, or `ColumnOut::from_options::<TimestampMicrosecondType>` for nulls)"
    );
    assert_eq!(
        said(DataType::Float64, ColumnOut::booleans([Some(true)])),
        "column `t` was built as Boolean, but its field is Float64 (build it with `ColumnOut::f64s`, or `ColumnOut::from_options::<Float64Type>` for nulls)"
    );
    assert_eq!(
        said(DataType::Boolean, ColumnOut::i64s(vec![1])),
        "column `t` was built as Int64, but its field is Boolean (build it with `ColumnOut::booleans`)"
    );
    // A decimal is named without the precision and scale `Decimal128Type` defaults to:
    // a column built of it fits any.
    assert_eq!(
        said(
            DataType::Decimal256(40, 2),
            ColumnOut::new::<arrow_array::types::Decimal128Type>(vec![1])
        ),
        "column `t` was built as Decimal128, but its field is Decimal256(40, 2) (build it with `ColumnOut::new::<Decimal256Type>`, or `ColumnOut::from_options::<Decimal256Type>` for nulls)"
    );
    let list = DataType::new_list(DataType::Int64, true);
    assert_eq!(
        said(list, ColumnOut::i64s(vec![1])),
        "column `t` was built as Int64, but its field is List(Int64) (a column of that type is not built from typed values: build the change with arrow-rs and return it, `.into()`)"
    );
}

#[test]
fn rows_that_do_not_fit_their_schema_are_errors_naming_the_column() {
    fn message<T: std::fmt::Debug>(result: crate::Result<T>) -> String {
        result.unwrap_err().to_string()
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    let rows = |columns| RowsOut::new(schema.clone(), vec![1, 2], columns);
    let names = || ColumnOut::strings([Some("a"), None]);
    assert_eq!(
        message(rows(vec![ColumnOut::i64s(vec![1, 2])])),
        "1 column for a schema of 2 fields"
    );
    assert_eq!(
        message(rows(vec![ColumnOut::i64s(vec![1, 2, 3]), names()])),
        "column `id` has 3 values for 2 row numbers"
    );
    assert_eq!(
        message(rows(vec![ColumnOut::f64s(vec![1.0, 2.0]), names()])),
        "column `id` was built as Float64, but its field is Int64 (build it with `ColumnOut::i64s`, or `ColumnOut::from_options::<Int64Type>` for nulls)"
    );
    assert_eq!(
        message(rows(vec![
            ColumnOut::i64s(vec![1, 2]),
            ColumnOut::binaries([Some(b"a")])
                .with_validity(None)
                .unwrap(),
        ])),
        "column `name` has 1 value for 2 row numbers"
    );
    assert_eq!(
        message(rows(vec![
            ColumnOut::i64s(vec![1, 2]),
            ColumnOut::binaries([Some(b"a"), None]),
        ])),
        "column `name` was built as Binary, but its field is Utf8 (build it with `ColumnOut::strings`)"
    );
    assert_eq!(
        message(rows(vec![
            ColumnOut::from_options::<arrow_array::types::Int64Type>([Some(1), None]),
            names(),
        ])),
        "column `id` has 1 null but its field is not nullable: make the field nullable (`Field::new(\"id\", .., true)`) or build the column without nulls"
    );
    let three = validity_bytes(&[true, false, true]);
    assert_eq!(
        message(ColumnOut::i64s(vec![1, 2]).with_validity(Some(validity(&three, 3)))),
        "a validity of 3 values for a column of 2: take the validity of a column of the rows this one is built for, one value per row"
    );
    // Strings past what 32-bit offsets reach (2 GiB) get 64-bit ones, which a Utf8 field
    // cannot take: made here without the memory.
    let mut huge = names();
    if let super::built::Values::Bytes { offsets, .. } = huge.values_mut() {
        offsets.widen();
    }
    assert_eq!(
        message(rows(vec![ColumnOut::i64s(vec![1, 2]), huge])),
        "column `name` holds more than 2147483647 bytes, more than a Utf8 column can (a LargeUtf8 field takes them)"
    );
}

#[test]
fn a_validity_added_to_a_column_with_nulls_keeps_both_its_nulls() {
    // Nulls at 1 (the column's own) and 2 (the validity's); the bits start within a byte.
    let bytes = validity_bytes(&[true, true, false, true, false]);
    let column = ColumnOut::from_options::<arrow_array::types::Int64Type>([
        Some(1),
        None,
        Some(3),
        Some(4),
        Some(5),
    ])
    .with_validity(Some(validity(&bytes, 5)))
    .unwrap();
    assert_eq!(column.null_count(), 3);
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, true)]));
    let rows = RowsOut::new(schema, vec![0, 1, 2, 3, 4], vec![column])
        .unwrap()
        .into_rows()
        .unwrap();
    let values = rows.batch().column(0);
    let values = values.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(
        values.iter().collect::<Vec<_>>(),
        [Some(1), None, None, Some(4), None]
    );
    // A validity with no nulls leaves the column's own.
    let all = validity_bytes(&[true; 3]);
    let column = ColumnOut::strings([Some("a"), None, Some("c")])
        .with_validity(Some(validity(&all, 3)))
        .unwrap();
    assert_eq!(column.null_count(), 1);
}

#[test]
fn a_view_operator_building_typed_values_runs_in_process() {
    // As the guide's example does: the input's values doubled, with the input's nulls.
    let input = Change::new(
        4,
        Timestamp(5),
        vec![Diff::Insert {
            post: Rows::new(
                vec![7u64, 8, 9],
                RecordBatch::try_from_iter([(
                    "amount",
                    Arc::new(Int64Array::from(vec![Some(5), None, Some(-1)])) as _,
                )])
                .unwrap(),
            )
            .unwrap(),
        }],
    );
    let view = ChangeView::from_change(input).unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new(
        "doubled",
        DataType::Int64,
        true,
    )]));
    let DiffView::Insert { post } = view.diff(0).unwrap() else {
        unreachable!()
    };
    let amounts = post.column(0).unwrap().i64s().unwrap();
    let doubled = ColumnOut::i64s(amounts.values().iter().map(|v| v * 2).collect())
        .with_validity(amounts.validity())
        .unwrap();
    let rows = RowsOut::new(
        schema.clone(),
        post.row_numbers().unwrap().to_vec(),
        vec![doubled],
    )
    .unwrap();
    let out = ChangeOut::new(
        view.version(),
        view.changed_at(),
        vec![DiffOut::Insert { post: rows }],
    );
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(Int64Array::from(vec![Some(10), None, Some(-2)]))],
    )
    .unwrap();
    assert_eq!(
        out.into_change().unwrap(),
        Change::new(
            4,
            Timestamp(5),
            vec![Diff::Insert {
                post: Rows::new(vec![7u64, 8, 9], batch).unwrap()
            }]
        )
    );
}

#[test]
fn map_builds_every_side_of_every_diff_and_keeps_numbers_and_kinds() {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "amount",
        DataType::Int64,
        true,
    )]));
    let amounts = |values: Vec<Option<i64>>, first: u64| {
        let column = Arc::new(Int64Array::from(values.clone())) as ArrayRef;
        let batch = RecordBatch::try_new(schema.clone(), vec![column]).unwrap();
        Rows::new(
            (first..first + values.len() as u64).collect::<Vec<_>>(),
            batch,
        )
        .unwrap()
    };
    let input = Change::new(
        3,
        Timestamp(4),
        vec![
            Diff::Insert {
                post: amounts(vec![Some(1), None], 0),
            },
            Diff::Update {
                pre: amounts(vec![Some(2)], 5),
                post: amounts(vec![Some(3)], 5),
            },
            Diff::Remove {
                pre: amounts(vec![None, Some(4), Some(5)], 8),
            },
        ],
    );
    let schema = Arc::new(Schema::new(vec![Field::new(
        "amount",
        DataType::Int64,
        true,
    )]));
    let view = ChangeView::from_change(input).unwrap();
    let out = view
        .map(&schema, |rows| {
            let values = rows.column(0)?.i64s()?;
            let tenfold = values.values().iter().map(|v| v * 10).collect();
            Ok(vec![
                ColumnOut::i64s(tenfold).with_validity(values.validity())?,
            ])
        })
        .unwrap();
    let expected = Change::new(
        3,
        Timestamp(4),
        vec![
            Diff::Insert {
                post: amounts(vec![Some(10), None], 0),
            },
            Diff::Update {
                pre: amounts(vec![Some(20)], 5),
                post: amounts(vec![Some(30)], 5),
            },
            Diff::Remove {
                pre: amounts(vec![None, Some(40), Some(50)], 8),
            },
        ],
    );
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    assert_eq!(across(out, &mut outgoing, &mut outbox), expected);
    // The closure's errors and columns that do not fit are the result.
    let failed = view.map(&schema, |rows| {
        rows.column_by_name("nope")?;
        Ok(vec![])
    });
    assert_eq!(
        failed.unwrap_err().to_string(),
        "no column `nope`: the columns are `amount`"
    );
    let unfit = view.map(&schema, |_| Ok(vec![]));
    assert_eq!(
        unfit.unwrap_err().to_string(),
        "diff 0 of the output, its post rows: 0 columns for a schema of 1 field"
    );
}

#[test]
fn strings_and_bytes_fit_large_fields_too() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::LargeUtf8, true),
        Field::new("blob", DataType::LargeBinary, false),
    ]));
    let rows = RowsOut::new(
        schema.clone(),
        vec![1, 2, 3],
        vec![
            ColumnOut::strings([Some("ä"), None, Some("long")]),
            ColumnOut::binaries([Some(&b"x"[..]), Some(b""), Some(b"yz")]),
        ],
    )
    .unwrap();
    let out = ChangeOut::new(1, Timestamp(2), vec![DiffOut::Insert { post: rows }]);
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let columns: Vec<ArrayRef> = vec![
        Arc::new(arrow_array::LargeStringArray::from(vec![
            Some("ä"),
            None,
            Some("long"),
        ])),
        Arc::new(arrow_array::LargeBinaryArray::from(vec![
            &b"x"[..],
            b"",
            b"yz",
        ])),
    ];
    let batch = RecordBatch::try_new(schema, columns).unwrap();
    assert_eq!(
        across(out, &mut outgoing, &mut outbox),
        Change::new(
            1,
            Timestamp(2),
            vec![Diff::Insert {
                post: Rows::new(vec![1u64, 2, 3], batch).unwrap()
            }]
        )
    );
}

#[test]
fn an_update_whose_sides_carry_other_row_numbers_is_an_error_naming_the_diff() {
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, true)]));
    let side = |numbers: Vec<u64>| {
        RowsOut::new(schema.clone(), numbers, vec![ColumnOut::i64s(vec![1, 2])]).unwrap()
    };
    let out = || {
        ChangeOut::new(
            1,
            Timestamp(1),
            vec![
                DiffOut::Insert {
                    post: side(vec![0, 1]),
                },
                DiffOut::Update {
                    pre: side(vec![1, 2]),
                    post: side(vec![1, 4]),
                },
            ],
        )
    };
    let expected = "diff 1 of the output: an update's pre and post rows must carry the same row numbers in the same order, but its row 1 is number 2 in pre and 4 in post";
    assert_eq!(out().into_change().unwrap_err().to_string(), expected);
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let error = outgoing.export_out(out(), &mut outbox, None).unwrap_err();
    assert_eq!(error.to_string(), expected);
    // Nothing was laid out: the sender goes on with the next change.
    let (out, change) = every_kind();
    assert_eq!(across(out, &mut outgoing, &mut outbox), change);
}

#[test]
fn a_typed_change_between_changes_written_in_place_is_laid_out_anew() {
    // built, built (written over the held block in place), typed (laid out anew, in the
    // same block), built (laid out anew: the typed change left no template), built (in
    // place again): each arrives whole.
    let schema = schema();
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let mut inbox = SchemaInbox::default();
    let built = Change::new(
        1,
        Timestamp(1),
        vec![Diff::Insert {
            post: expected(&schema, 100, 7),
        }],
    );
    let mut refills = Vec::new();
    for round in 0..5 {
        let abi = if round == 2 {
            let post = typed(&schema, 100, 7);
            let out = ChangeOut::new(1, Timestamp(1), vec![DiffOut::Insert { post }]);
            outgoing.export_out(out, &mut outbox, None).unwrap().0
        } else {
            outgoing.export_change(built.clone(), &mut outbox).unwrap()
        };
        // SAFETY: laid out just above, alive in `outgoing`.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        outbox.commit();
        assert_eq!(back, built, "round {round}");
        drop(back);
        refills.push(outgoing.refills());
    }
    assert_eq!(refills, [0, 1, 1, 1, 2]);
}

#[test]
fn a_long_validity_is_copied_word_by_word_from_any_bit() {
    // 130 values from bit 3: two whole 64-bit words and a remainder, each shifted.
    let present: Vec<bool> = (0..130).map(|i| i % 7 != 0).collect();
    let bytes = validity_bytes(&present);
    let own: Vec<Option<i64>> = (0..130).map(|i| (i % 5 != 0).then_some(i)).collect();
    let column = ColumnOut::from_options::<arrow_array::types::Int64Type>(own)
        .with_validity(Some(validity(&bytes, 130)))
        .unwrap();
    let expected: Vec<Option<i64>> = (0..130i64)
        .map(|i| (i % 5 != 0 && i % 7 != 0).then_some(i))
        .collect();
    assert_eq!(
        column.null_count(),
        expected.iter().filter(|v| v.is_none()).count()
    );
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, true)]));
    let rows = RowsOut::new(schema, (0..130).collect(), vec![column]).unwrap();
    let out = ChangeOut::new(1, Timestamp(1), vec![DiffOut::Insert { post: rows }]);
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let back = across(out, &mut outgoing, &mut outbox);
    let Diff::Insert { post } = &back.diffs[0] else {
        unreachable!()
    };
    let values = post.batch().column(0);
    let values = values.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(values.iter().collect::<Vec<_>>(), expected);
}

#[test]
fn wide_and_sixteen_byte_values_cross_and_arrow_rs_reads_no_rows() {
    use arrow_array::types::{Decimal128Type, IntervalMonthDayNanoType};
    use arrow_buffer::IntervalMonthDayNano;
    let schema = Arc::new(Schema::new(vec![
        Field::new("d", DataType::Decimal128(10, 2), true),
        Field::new(
            "i",
            DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano),
            false,
        ),
    ]));
    let decimals = || (0..40).map(|i| (i % 3 != 0).then_some(i as i128 * 1000));
    let interval = IntervalMonthDayNano::new(1, 2, 3);
    let rows = RowsOut::new(
        schema.clone(),
        (0..40).collect(),
        vec![
            ColumnOut::from_options::<Decimal128Type>(decimals()),
            ColumnOut::new::<IntervalMonthDayNanoType>(vec![interval; 40]),
        ],
    )
    .unwrap();
    let out = ChangeOut::new(1, Timestamp(1), vec![DiffOut::Insert { post: rows }]);
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            arrow_array::Decimal128Array::from_iter(decimals())
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
        Arc::new(arrow_array::IntervalMonthDayNanoArray::from(vec![
            interval;
            40
        ])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let expected = Change::new(
        1,
        Timestamp(1),
        vec![Diff::Insert {
            post: Rows::new((0..40u64).collect::<Vec<_>>(), batch).unwrap(),
        }],
    );
    assert_eq!(across(out, &mut outgoing, &mut outbox), expected);

    // No rows, read by arrow-rs: every buffer of an empty vector is valid to it.
    let rows = RowsOut::new(
        schema.clone(),
        vec![],
        vec![
            ColumnOut::new::<Decimal128Type>(vec![]),
            ColumnOut::new::<IntervalMonthDayNanoType>(vec![]),
        ],
    )
    .unwrap();
    let out = ChangeOut::new(1, Timestamp(1), vec![DiffOut::Insert { post: rows }]);
    let (abi, _spare) = outgoing.export_out(out, &mut outbox, None).unwrap();
    // SAFETY: laid out just above, alive in `outgoing`; the array is taken once.
    let columns =
        unsafe { std::mem::replace(&mut (*abi.diffs).post.columns, FFI_ArrowArray::empty()) };
    // SAFETY: an array of ours, valid and unreleased, of this type.
    let data =
        unsafe { from_ffi_and_data_type(columns, DataType::Struct(schema.fields().clone())) }
            .unwrap();
    data.validate_full().unwrap();
    assert_eq!(data.len(), 0);
}

#[test]
fn a_column_shows_its_type_length_and_nulls_when_debugged() {
    let column = ColumnOut::strings([Some("a"), None]);
    assert_eq!(
        format!("{column:?}"),
        "ColumnOut { built_as: Utf8, len: 2, null_count: 1, .. }"
    );
}

#[test]
fn strings_and_bytes_fit_view_fields_and_arrow_rs_reads_their_views() {
    use arrow_array::{BinaryViewArray, StringViewArray};
    let long = "a string of more than twelve bytes";
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8View, true),
        Field::new("blob", DataType::BinaryView, false),
    ]));
    let built = || {
        let rows = RowsOut::new(
            schema.clone(),
            vec![1, 2, 3, 4],
            vec![
                ColumnOut::strings([Some("ä"), None, Some(long), Some("")]),
                ColumnOut::binaries([&b"x"[..], b"", b"twelve bytes", &[9u8; 30]].map(Some)),
            ],
        )
        .unwrap();
        ChangeOut::new(1, Timestamp(2), vec![DiffOut::Insert { post: rows }])
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringViewArray::from(vec![
            Some("ä"),
            None,
            Some(long),
            Some(""),
        ])),
        Arc::new(BinaryViewArray::from(vec![
            &b"x"[..],
            b"",
            b"twelve bytes",
            &[9u8; 30],
        ])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let expected = Change::new(
        1,
        Timestamp(2),
        vec![Diff::Insert {
            post: Rows::new(vec![1u64, 2, 3, 4], batch.clone()).unwrap(),
        }],
    );
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    assert_eq!(across(built(), &mut outgoing, &mut outbox), expected);
    // In process, arrow-rs builds (and validates) the same views over the same memory.
    assert_eq!(built().into_change().unwrap(), expected);
    // arrow-rs's own importer reads the views, the data buffer and its size as laid out.
    let (abi, _spare) = outgoing.export_out(built(), &mut outbox, None).unwrap();
    // SAFETY: laid out just above, alive in `outgoing`; its arrays are taken once.
    let side = unsafe { &mut (*abi.diffs).post };
    let columns = std::mem::replace(&mut side.columns, FFI_ArrowArray::empty());
    // SAFETY: an array of ours, valid and unreleased, of this type.
    let columns = unsafe {
        from_ffi_and_data_type(columns, DataType::Struct(schema.fields().clone())).unwrap()
    };
    columns.validate_full().unwrap();
    assert_eq!(RecordBatch::from(StructArray::from(columns)), batch);
}

#[test]
fn view_fields_take_what_their_plain_forms_take() {
    fn message<T: std::fmt::Debug>(result: crate::Result<T>) -> String {
        result.unwrap_err().to_string()
    }
    let schema = |data_type| Arc::new(Schema::new(vec![Field::new("x", data_type, true)]));
    assert_eq!(
        message(RowsOut::new(
            schema(DataType::BinaryView),
            vec![0],
            vec![ColumnOut::strings([Some("a")])],
        )),
        "column `x` was built as Utf8, but its field is BinaryView (build it with `ColumnOut::binaries`)"
    );
    assert_eq!(
        message(RowsOut::new(
            schema(DataType::Utf8View),
            vec![0],
            vec![ColumnOut::i64s(vec![1])],
        )),
        "column `x` was built as Int64, but its field is Utf8View (build it with `ColumnOut::strings`)"
    );
    // Past 2 GiB (64-bit offsets): a view's offset has 32 bits; made here without the
    // memory, as in `rows_that_do_not_fit_their_schema_are_errors_naming_the_column`.
    let mut huge = ColumnOut::strings([Some("a")]);
    if let super::built::Values::Bytes { offsets, .. } = huge.values_mut() {
        offsets.widen();
    }
    assert_eq!(
        message(RowsOut::new(
            schema(DataType::Utf8View),
            vec![0],
            vec![huge]
        )),
        "column `x` holds more than 2147483647 bytes, more than the one data buffer oplink lays out for a Utf8View column can hold (a LargeUtf8 field takes them)"
    );
}

/// A column built for a field of `data_type` (a view type), as arrow-rs's own importer
/// reads it (fully validated) and as `into_change` builds it in process.
fn view_round_trip(
    data_type: DataType,
    make: &dyn Fn() -> ColumnOut,
    rows: usize,
) -> (ArrayRef, ArrayRef) {
    let schema = Arc::new(Schema::new(vec![Field::new("v", data_type, true)]));
    let built = || {
        let rows = RowsOut::new(schema.clone(), (0..rows as u64).collect(), vec![make()]).unwrap();
        ChangeOut::new(1, Timestamp(2), vec![DiffOut::Insert { post: rows }])
    };
    let (mut outgoing, mut outbox) = (Outgoing::default(), SchemaOutbox::default());
    let (abi, _spare) = outgoing.export_out(built(), &mut outbox, None).unwrap();
    // SAFETY: laid out just above.
    let side = unsafe { &mut (*abi.diffs).post };
    let columns = std::mem::replace(&mut side.columns, FFI_ArrowArray::empty());
    // SAFETY: an array of ours.
    let columns = unsafe {
        from_ffi_and_data_type(columns, DataType::Struct(schema.fields().clone())).unwrap()
    };
    columns.validate_full().unwrap();
    let imported = StructArray::from(columns).column(0).clone();
    let change = built().into_change().unwrap();
    let in_process = match &change.diffs[0] {
        Diff::Insert { post } => post.batch().column(0).clone(),
        _ => unreachable!(),
    };
    (imported, in_process)
}

#[test]
fn view_fields_of_no_rows_nulls_inline_values_and_empty_data_cross() {
    use arrow_array::{BinaryViewArray, StringViewArray};
    let cases: Vec<(Vec<Option<&str>>, &str)> = vec![
        (vec![], "zero rows"),
        (vec![None, None, None], "all null"),
        (
            vec![Some("a"), Some("twelve bytes"), Some("")],
            "all inline",
        ),
        (vec![Some(""), Some(""), None], "empty data"),
        (
            vec![Some("thirteen byte"), Some("ab")],
            "non-inline at offset 0, 13 bytes",
        ),
    ];
    for (values, what) in cases {
        let expected = StringViewArray::from(values.clone());
        let (imported, in_process) = view_round_trip(
            DataType::Utf8View,
            &|| ColumnOut::strings(values.clone()),
            values.len(),
        );
        let imported = imported.as_any().downcast_ref::<StringViewArray>().unwrap();
        let in_process = in_process
            .as_any()
            .downcast_ref::<StringViewArray>()
            .unwrap();
        assert_eq!(imported, &expected, "{what}");
        assert_eq!(in_process, &expected, "{what}");
        // The views of inline values are bit-for-bit what arrow-rs makes.
        for (i, v) in values.iter().enumerate() {
            if v.is_none_or(|v| v.len() <= 12) {
                assert_eq!(imported.views()[i], expected.views()[i], "{what}: view {i}");
            }
        }
        // Binary too.
        let bytes: Vec<Option<&[u8]>> = values.iter().map(|v| v.map(str::as_bytes)).collect();
        let (imported, _) = view_round_trip(
            DataType::BinaryView,
            &|| ColumnOut::binaries(bytes.clone()),
            bytes.len(),
        );
        assert_eq!(
            imported.as_any().downcast_ref::<BinaryViewArray>().unwrap(),
            &BinaryViewArray::from(bytes.clone()),
            "{what}"
        );
    }
}

#[test]
fn a_view_fields_long_value_nulled_by_a_validity_crosses_as_a_null() {
    use arrow_array::StringViewArray;
    let present = validity_bytes(&[true, false]);
    let (imported, in_process) = view_round_trip(
        DataType::Utf8View,
        &|| {
            ColumnOut::strings([
                Some("a long string, past twelve"),
                Some("another long string"),
            ])
            .with_validity(Some(validity(&present, 2)))
            .unwrap()
        },
        2,
    );
    let expected = StringViewArray::from(vec![Some("a long string, past twelve"), None]);
    assert_eq!(
        imported.as_any().downcast_ref::<StringViewArray>().unwrap(),
        &expected
    );
    assert_eq!(
        in_process
            .as_any()
            .downcast_ref::<StringViewArray>()
            .unwrap(),
        &expected
    );
}

#[test]
fn a_view_field_whose_values_all_fit_their_views_has_no_data_buffer() {
    use arrow_array::StringViewArray;
    let (imported, in_process) = view_round_trip(
        DataType::Utf8View,
        &|| ColumnOut::strings([Some("abc"), Some("defgh")]),
        2,
    );
    for array in [imported, in_process] {
        let array = array.as_any().downcast_ref::<StringViewArray>().unwrap();
        assert_eq!(array, &StringViewArray::from(vec!["abc", "defgh"]));
        assert!(array.data_buffers().is_empty());
    }
    // One longer value: the column's data is its one data buffer, as built.
    let (imported, _) = view_round_trip(
        DataType::Utf8View,
        &|| ColumnOut::strings([Some("abc"), Some("thirteen byte")]),
        2,
    );
    let imported = imported.as_any().downcast_ref::<StringViewArray>().unwrap();
    assert_eq!(imported.data_buffers().len(), 1);
    assert_eq!(imported.data_buffers()[0].as_slice(), b"abcthirteen byte");
}

#[test]
fn binaries_do_not_fit_a_utf8view_field_nor_huge_ones_a_binaryview_one() {
    fn message<T: std::fmt::Debug>(result: crate::Result<T>) -> String {
        result.unwrap_err().to_string()
    }
    let schema = |data_type| Arc::new(Schema::new(vec![Field::new("x", data_type, true)]));
    assert_eq!(
        message(RowsOut::new(
            schema(DataType::Utf8View),
            vec![0],
            vec![ColumnOut::binaries([Some(b"a")])]
        )),
        "column `x` was built as Binary, but its field is Utf8View (build it with `ColumnOut::strings`)"
    );
    let mut huge = ColumnOut::binaries([Some(b"a")]);
    if let super::built::Values::Bytes { offsets, .. } = huge.values_mut() {
        offsets.widen();
    }
    assert_eq!(
        message(RowsOut::new(
            schema(DataType::BinaryView),
            vec![0],
            vec![huge]
        )),
        "column `x` holds more than 2147483647 bytes, more than the one data buffer oplink lays out for a BinaryView column can hold (a LargeBinary field takes them)"
    );
}
