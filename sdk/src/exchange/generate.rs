//! Generated batches of every Arrow type arrow-rs supports, alone and nested, with nulls,
//! slices at non-zero offsets (of the batch and of nested children) and field and schema
//! metadata: what the exchange's property tests cross (`conformance`), and what the host's
//! tests send through a loaded plugin (`host/tests/plugins.rs` includes this file).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryViewBuilder, Int32Builder, MapBuilder, StringBuilder, StringViewBuilder,
};
use arrow_array::types::*;
use arrow_array::*;
use arrow_buffer::{ArrowNativeType, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer, i256};
use arrow_schema::{DataType, Field, Fields, Schema, UnionFields};

/// A small deterministic generator (xorshift64*): the property test draws its seed. Any
/// seed but 0, whose state stays 0 (every draw 0).
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        debug_assert_ne!(
            self.0, 0,
            "a `Gen` seeded with 0 draws only 0: seed it otherwise"
        );
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// `Some(value)` three times in four.
    pub fn maybe<T>(&mut self, value: impl FnOnce(&mut Gen) -> T) -> Option<T> {
        (self.below(4) != 0).then(|| value(self))
    }
    pub fn text(&mut self) -> String {
        // Some longer than 12 bytes, so that view arrays get data buffers.
        let len = self.below(20);
        (0..len)
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }
    pub fn validity(&mut self, len: usize) -> Option<NullBuffer> {
        let valid: Vec<bool> = (0..len).map(|_| self.below(4) != 0).collect();
        Some(NullBuffer::from(valid)).filter(|n| n.null_count() > 0)
    }
}

/// The number of column kinds [`column`] makes.
pub const KINDS: usize = 51;

/// The kinds of [`column`] that other kinds and the tests name.
pub mod kind {
    pub const INT32: usize = 2;
    pub const INT64: usize = 3;
    pub const BOOLEAN: usize = 21;
    pub const UTF8: usize = 22;
    pub const LARGE_UTF8: usize = 23;
    pub const LARGE_BINARY: usize = 25;
    pub const UTF8_VIEW: usize = 26;
    pub const BINARY_VIEW: usize = 27;
    pub const NULL: usize = 29;
    pub const LIST: usize = 30;
    pub const STRUCT: usize = 34;
    pub const DICTIONARY: usize = 36;
    pub const TIMESTAMP: usize = 42;
}

/// A column of kind `kind` and `len` rows: 0 to 37 one per Arrow type family (one unit or
/// key type each); 38 to 48 the other decimals, times, timestamps (every unit, with and
/// without a time zone), durations and intervals, large list views, dictionaries with keys
/// of every integer type over values of several (a dictionary among them), run ends of
/// every type, a struct without fields; 49 and 50 [`nested`] types, 1 to 2 and 1 to 4
/// levels deep. View arrays hold short values inline and long ones in one or several data
/// buffers; a union's type ids are its children's indices or not. `conformance`'s
/// `census` checks that these make every type arrow-rs has.
pub fn column(g: &mut Gen, kind: usize, len: usize) -> ArrayRef {
    macro_rules! primitive {
        ($t:ty, $value:expr) => {
            Arc::new(PrimitiveArray::<$t>::from_iter(
                (0..len).map(|_| g.maybe($value)),
            )) as ArrayRef
        };
    }
    let texts =
        |g: &mut Gen| -> Vec<Option<String>> { (0..len).map(|_| g.maybe(Gen::text)).collect() };
    match kind {
        0 => primitive!(Int8Type, |g| g.next() as i8),
        1 => primitive!(Int16Type, |g| g.next() as i16),
        kind::INT32 => primitive!(Int32Type, |g| g.next() as i32),
        kind::INT64 => primitive!(Int64Type, |g| g.next() as i64),
        4 => primitive!(UInt8Type, |g| g.next() as u8),
        5 => primitive!(UInt16Type, |g| g.next() as u16),
        6 => primitive!(UInt32Type, |g| g.next() as u32),
        7 => primitive!(UInt64Type, |g| g.next()),
        8 => {
            let bits: Vec<u16> = (0..len).map(|_| g.next() as u16 & 0x3bff).collect();
            Arc::new(Float16Array::new(
                ScalarBuffer::new(Buffer::from_vec(bits), 0, len),
                g.validity(len),
            ))
        }
        9 => primitive!(Float32Type, |g| g.next() as f32 / 7.0),
        10 => primitive!(Float64Type, |g| g.next() as f64 / 3.0),
        11 => Arc::new(
            PrimitiveArray::<Decimal128Type>::from_iter(
                (0..len).map(|_| g.maybe(|g| g.next() as i128 % 10_i128.pow(18))),
            )
            .with_precision_and_scale(20, 3)
            .unwrap(),
        ),
        12 => Arc::new(
            PrimitiveArray::<Decimal256Type>::from_iter(
                (0..len).map(|_| g.maybe(|g| i256::from_i128(g.next() as i128))),
            )
            .with_precision_and_scale(60, 10)
            .unwrap(),
        ),
        13 => primitive!(Date32Type, |g| g.next() as i32 % 100_000),
        14 => primitive!(Date64Type, |g| g.next() as i64 % 10_000_000_000),
        15 => primitive!(Time32SecondType, |g| (g.next() % 86_400) as i32),
        16 => primitive!(Time64NanosecondType, |g| (g.next() % 86_400_000_000_000)
            as i64),
        17 => Arc::new(
            PrimitiveArray::<TimestampMicrosecondType>::from_iter(
                (0..len).map(|_| g.maybe(|g| g.next() as i64 >> 8)),
            )
            .with_timezone("+02:00"),
        ),
        18 => primitive!(DurationMillisecondType, |g| g.next() as i64),
        19 => primitive!(IntervalMonthDayNanoType, |g| IntervalMonthDayNano::new(
            g.next() as i32,
            3,
            g.next() as i64
        )),
        20 => primitive!(IntervalYearMonthType, |g| g.next() as i32),
        kind::BOOLEAN => Arc::new(BooleanArray::from_iter(
            (0..len).map(|_| g.maybe(|g| g.below(2) == 0)),
        )),
        kind::UTF8 => Arc::new(StringArray::from(texts(g))),
        kind::LARGE_UTF8 => Arc::new(LargeStringArray::from(texts(g))),
        24 => Arc::new(BinaryArray::from_iter(texts(g))),
        kind::LARGE_BINARY => Arc::new(LargeBinaryArray::from_iter(texts(g))),
        // Half the time in blocks of 16 to 40 bytes: several data buffers, some values in
        // one and some in another (and short values inline, in none).
        kind::UTF8_VIEW => {
            let texts = texts(g);
            if g.below(2) == 0 {
                Arc::new(StringViewArray::from_iter(texts))
            } else {
                let block = 16 + g.below(25) as u32;
                let mut builder = StringViewBuilder::new().with_fixed_block_size(block);
                texts
                    .iter()
                    .for_each(|t| builder.append_option(t.as_deref()));
                Arc::new(builder.finish())
            }
        }
        kind::BINARY_VIEW => {
            let texts = texts(g);
            if g.below(2) == 0 {
                Arc::new(BinaryViewArray::from_iter(texts))
            } else {
                let block = 16 + g.below(25) as u32;
                let mut builder = BinaryViewBuilder::new().with_fixed_block_size(block);
                texts
                    .iter()
                    .for_each(|t| builder.append_option(t.as_deref()));
                Arc::new(builder.finish())
            }
        }
        28 => Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                (0..len).map(|_| g.maybe(|g| (g.next() as u32).to_le_bytes())),
                4,
            )
            .unwrap(),
        ),
        kind::NULL => Arc::new(NullArray::new(len)),
        kind::LIST => Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
            (0..len).map(|_| {
                g.maybe(|g| {
                    (0..g.below(4))
                        .map(|_| g.maybe(|g| g.next() as i32))
                        .collect::<Vec<_>>()
                })
            }),
        )),
        31 => {
            let values = column(g, kind::UTF8, len * 2);
            let offsets = OffsetBuffer::<i64>::from_lengths((0..len).map(|_| 2));
            let field = Arc::new(Field::new_list_field(DataType::Utf8, true));
            Arc::new(LargeListArray::new(field, offsets, values, g.validity(len)))
        }
        32 => Arc::new(FixedSizeListArray::from_iter_primitive::<Int16Type, _, _>(
            (0..len).map(|_| g.maybe(|g| vec![g.maybe(|g| g.next() as i16), Some(1)])),
            2,
        )),
        33 => {
            let values = column(g, kind::INT32, len * 2);
            let offsets: Vec<i32> = (0..len as i32)
                .map(|i| (2 * len as i32 - 2 - 2 * i).max(0))
                .collect();
            let sizes: Vec<i32> = (0..len).map(|_| g.below(3) as i32).collect();
            let field = Arc::new(Field::new_list_field(DataType::Int32, true));
            Arc::new(ListViewArray::new(
                field,
                offsets.into(),
                sizes.into(),
                values,
                g.validity(len),
            ))
        }
        kind::STRUCT => {
            let fields = Fields::from(vec![
                Field::new("a", DataType::Int32, true),
                Field::new("b", DataType::Utf8, true)
                    .with_metadata(HashMap::from([("k".into(), "v".into())])),
            ]);
            Arc::new(StructArray::new(
                fields,
                vec![column(g, kind::INT32, len), column(g, kind::UTF8, len)],
                g.validity(len),
            ))
        }
        35 => {
            let mut builder = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
            for _ in 0..len {
                for _ in 0..g.below(3) {
                    builder.keys().append_value(g.text());
                    builder.values().append_option(g.maybe(|g| g.next() as i32));
                }
                builder.append(g.below(4) != 0).unwrap();
            }
            Arc::new(builder.finish())
        }
        kind::DICTIONARY => {
            let words = ["red", "green", "blue"];
            Arc::new(DictionaryArray::<Int16Type>::from_iter(
                (0..len).map(|_| g.maybe(|g| words[g.below(3)])),
            ))
        }
        37 => {
            let words = ["x", "y"];
            let values: Vec<Option<&str>> =
                (0..len).map(|_| g.maybe(|g| words[g.below(2)])).collect();
            if g.below(2) == 0 {
                Arc::new(values.into_iter().collect::<RunArray<Int32Type>>())
            } else {
                union(g, len)
            }
        }
        38 => Arc::new(
            PrimitiveArray::<Decimal32Type>::from_iter(
                (0..len).map(|_| g.maybe(|g| g.next() as i32 % 1_000_000_000)),
            )
            .with_precision_and_scale(9, 2)
            .unwrap(),
        ),
        39 => Arc::new(
            PrimitiveArray::<Decimal64Type>::from_iter(
                (0..len).map(|_| g.maybe(|g| g.next() as i64 % 10_i64.pow(18))),
            )
            .with_precision_and_scale(18, 4)
            .unwrap(),
        ),
        40 => primitive!(Time32MillisecondType, |g| (g.next() % 86_400_000) as i32),
        41 => primitive!(Time64MicrosecondType, |g| (g.next() % 86_400_000_000)
            as i64),
        kind::TIMESTAMP => {
            // Every unit, with and without a time zone (an offset or a name).
            let zones = [None, Some("+02:00"), Some("UTC"), Some("Europe/Paris")];
            let zone: Option<Arc<str>> = zones[g.below(zones.len())].map(Into::into);
            let values: Vec<Option<i64>> = (0..len)
                .map(|_| g.maybe(|g| g.next() as i64 >> 12))
                .collect();
            match g.below(4) {
                0 => Arc::new(TimestampSecondArray::from(values).with_timezone_opt(zone)),
                1 => Arc::new(TimestampMillisecondArray::from(values).with_timezone_opt(zone)),
                2 => Arc::new(TimestampMicrosecondArray::from(values).with_timezone_opt(zone)),
                _ => Arc::new(TimestampNanosecondArray::from(values).with_timezone_opt(zone)),
            }
        }
        43 => match g.below(3) {
            0 => primitive!(DurationSecondType, |g| g.next() as i64),
            1 => primitive!(DurationMicrosecondType, |g| g.next() as i64),
            _ => primitive!(DurationNanosecondType, |g| g.next() as i64),
        },
        44 => primitive!(IntervalDayTimeType, |g| IntervalDayTime::new(
            g.next() as i32,
            g.next() as i32
        )),
        45 => {
            let values = child(g, len * 2, &mut |g, n| column(g, kind::UTF8, n));
            let (offsets, sizes) = views_into(g, len, values.len());
            let field = Arc::new(Field::new_list_field(DataType::Utf8, true));
            let offsets: Vec<i64> = offsets.into_iter().map(|o| o as i64).collect();
            let sizes: Vec<i64> = sizes.into_iter().map(|s| s as i64).collect();
            Arc::new(LargeListViewArray::new(
                field,
                offsets.into(),
                sizes.into(),
                values,
                g.validity(len),
            ))
        }
        46 => {
            // Keys of any integer type, over values of a few types (with nulls of their own),
            // a dictionary among them.
            let n = 1 + g.below(4);
            let values = child(g, n, &mut |g, n| {
                use kind::*;
                let kinds = [
                    INT32,
                    INT64,
                    UTF8,
                    LARGE_UTF8,
                    UTF8_VIEW,
                    BINARY_VIEW,
                    LARGE_BINARY,
                    BOOLEAN,
                    DICTIONARY,
                ];
                let kind = kinds[g.below(kinds.len())];
                column(g, kind, n)
            });
            dictionary(g, len, values)
        }
        47 => {
            use kind::*;
            let kinds = [INT64, UTF8, BOOLEAN, UTF8_VIEW, NULL, TIMESTAMP, DICTIONARY];
            let kind = kinds[g.below(kinds.len())];
            run_ends(g, len, &mut |g, n| column(g, kind, n))
        }
        48 => Arc::new(StructArray::new_empty_fields(len, g.validity(len))),
        49 => nested(g, 2, len),
        50 => nested(g, 4, len),
        _ => unreachable!("{KINDS} kinds"),
    }
}

/// A dense or sparse union of Int32 and Utf8, whose type ids are the children's indices or
/// not (out of order, far apart).
fn union(g: &mut Gen, len: usize) -> ArrayRef {
    let ids = [[0, 1], [1, 0], [5, 127]][g.below(3)];
    let fields = UnionFields::try_new(
        ids,
        [
            Field::new("i", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
        ],
    )
    .unwrap();
    let which: Vec<usize> = (0..len).map(|_| g.below(2)).collect();
    let type_ids: Vec<i8> = which.iter().map(|&w| ids[w]).collect();
    if g.below(2) == 0 {
        let children = vec![column(g, kind::INT32, len), column(g, kind::UTF8, len)];
        Arc::new(UnionArray::try_new(fields, type_ids.into(), None, children).unwrap())
    } else {
        let count = |w| which.iter().filter(|i| **i == w).count();
        let (ints, texts) = (count(0), count(1));
        let mut seen = [0i32; 2];
        let offsets: Vec<i32> = which
            .iter()
            .map(|&w| {
                seen[w] += 1;
                seen[w] - 1
            })
            .collect();
        let children = vec![column(g, kind::INT32, ints), column(g, kind::UTF8, texts)];
        let offsets = Some(offsets.into());
        Arc::new(UnionArray::try_new(fields, type_ids.into(), offsets, children).unwrap())
    }
}

/// A batch of `kinds` columns and `len` rows, with schema and field metadata.
pub fn batch(g: &mut Gen, kinds: &[usize], len: usize) -> RecordBatch {
    let columns: Vec<ArrayRef> = kinds.iter().map(|kind| column(g, *kind, len)).collect();
    let fields: Vec<Field> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let field = Field::new(format!("c{i}"), column.data_type().clone(), true);
            if i % 3 == 0 {
                field.with_metadata(HashMap::from([("origin".into(), format!("gen {i}"))]))
            } else {
                field
            }
        })
        .collect();
    let schema = Schema::new(fields).with_metadata(HashMap::from([("table".into(), "t".into())]));
    RecordBatch::try_new_with_options(
        Arc::new(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(len)),
    )
    .unwrap()
}

/// Kinds of [`column`] that nest nothing deeper than one level: what [`nested`] puts at its
/// leaves.
pub const FLAT: std::ops::Range<usize> = 0..49;

/// `make(g, skip + len + extra)` sliced to `len` rows from row `skip`: a child at a
/// non-zero offset (or not), with rows past its end (or not).
fn child(g: &mut Gen, len: usize, make: &mut dyn FnMut(&mut Gen, usize) -> ArrayRef) -> ArrayRef {
    let skip = g.below(3);
    let extra = g.below(2);
    make(g, skip + len + extra).slice(skip, len)
}

/// Offsets and sizes of `len` list views into `values` values, in any order, overlapping.
fn views_into(g: &mut Gen, len: usize, values: usize) -> (Vec<i32>, Vec<i32>) {
    (0..len)
        .map(|_| {
            let size = g.below(values.min(3) + 1);
            let offset = g.below(values - size + 1);
            (offset as i32, size as i32)
        })
        .unzip()
}

/// A dictionary of `len` keys (some null) of a random integer type into `values` (not empty).
fn dictionary(g: &mut Gen, len: usize, values: ArrayRef) -> ArrayRef {
    let n = values.len();
    macro_rules! keyed {
        ($t:ty) => {{
            let keys: PrimitiveArray<$t> = (0..len)
                .map(|_| {
                    g.maybe(|g| {
                        <<$t as ArrowPrimitiveType>::Native as ArrowNativeType>::usize_as(
                            g.below(n),
                        )
                    })
                })
                .collect();
            Arc::new(DictionaryArray::<$t>::try_new(keys, values).unwrap()) as ArrayRef
        }};
    }
    match g.below(8) {
        0 => keyed!(Int8Type),
        1 => keyed!(Int16Type),
        2 => keyed!(Int32Type),
        3 => keyed!(Int64Type),
        4 => keyed!(UInt8Type),
        5 => keyed!(UInt16Type),
        6 => keyed!(UInt32Type),
        _ => keyed!(UInt64Type),
    }
}

/// `len` rows run-end encoded, in runs of one to three, with run ends of a random type
/// (Int16, Int32 or Int64) and values from `values`, one per run.
fn run_ends(
    g: &mut Gen,
    len: usize,
    values: &mut dyn FnMut(&mut Gen, usize) -> ArrayRef,
) -> ArrayRef {
    let mut ends = Vec::new();
    let mut at = 0;
    while at < len {
        at = (at + 1 + g.below(3)).min(len);
        ends.push(at as i64);
    }
    let values = child(g, ends.len(), values);
    match g.below(3) {
        0 => {
            let ends = Int16Array::from_iter_values(ends.iter().map(|e| *e as i16));
            Arc::new(RunArray::<Int16Type>::try_new(&ends, &values).unwrap())
        }
        1 => {
            let ends = Int32Array::from_iter_values(ends.iter().map(|e| *e as i32));
            Arc::new(RunArray::<Int32Type>::try_new(&ends, &values).unwrap())
        }
        _ => Arc::new(RunArray::<Int64Type>::try_new(&Int64Array::from(ends), &values).unwrap()),
    }
}

/// A field for `array` named `name`, nullable, with metadata one time in three.
fn field_of(g: &mut Gen, name: &str, array: &ArrayRef) -> Field {
    let field = Field::new(name, array.data_type().clone(), true);
    if g.below(3) == 0 {
        field.with_metadata(HashMap::from([("nested".into(), name.into())]))
    } else {
        field
    }
}

/// A column of `len` rows of a random type nested one to `depth` (at least 1) levels of
/// lists (plain, large, fixed-size, views of both), structs, maps, dictionaries, run-end
/// encodings and dense and sparse unions, each with nulls where its type has them,
/// metadata on some of its fields, and its children sliced at non-zero offsets; flat kinds
/// of [`column`] at the leaves.
pub fn nested(g: &mut Gen, depth: usize, len: usize) -> ArrayRef {
    // Below the top, a leaf one time in four, and always at the bottom.
    let mut inner = |g: &mut Gen, n: usize| {
        if depth == 1 || g.below(4) == 0 {
            let kind = g.below(FLAT.end);
            column(g, kind, n)
        } else {
            nested(g, depth - 1, n)
        }
    };
    macro_rules! list {
        ($offset:ty, $array:ident) => {{
            let lengths: Vec<usize> = (0..len).map(|_| g.below(4)).collect();
            let values = child(g, lengths.iter().sum(), &mut inner);
            let item = Arc::new(field_of(g, "item", &values));
            let offsets = OffsetBuffer::<$offset>::from_lengths(lengths);
            Arc::new($array::new(item, offsets, values, g.validity(len))) as ArrayRef
        }};
    }
    match g.below(11) {
        0 => list!(i32, ListArray),
        1 => list!(i64, LargeListArray),
        2 => {
            let size = 1 + g.below(3);
            let values = child(g, len * size, &mut inner);
            let item = Arc::new(field_of(g, "item", &values));
            let nulls = g.validity(len);
            Arc::new(FixedSizeListArray::new(item, size as i32, values, nulls))
        }
        3 | 4 => {
            let n = 1 + g.below(2 * len + 1);
            let values = child(g, n, &mut inner);
            let (offsets, sizes) = views_into(g, len, values.len());
            let item = Arc::new(field_of(g, "item", &values));
            let nulls = g.validity(len);
            if g.below(2) == 0 {
                Arc::new(ListViewArray::new(
                    item,
                    offsets.into(),
                    sizes.into(),
                    values,
                    nulls,
                ))
            } else {
                let offsets: Vec<i64> = offsets.into_iter().map(|o| o as i64).collect();
                let sizes: Vec<i64> = sizes.into_iter().map(|s| s as i64).collect();
                Arc::new(LargeListViewArray::new(
                    item,
                    offsets.into(),
                    sizes.into(),
                    values,
                    nulls,
                ))
            }
        }
        5 => {
            let children: Vec<ArrayRef> = (0..1 + g.below(3))
                .map(|_| child(g, len, &mut inner))
                .collect();
            let mut fields: Vec<Field> = children
                .iter()
                .enumerate()
                .map(|(i, c)| field_of(g, &format!("f{i}"), c))
                .collect();
            let mut children = children;
            if g.below(3) == 0 {
                // A field declared without nulls, which has none.
                fields.push(Field::new("id", DataType::Int64, false));
                children.push(Arc::new(Int64Array::from_iter_values(0..len as i64)));
            }
            let nulls = g.validity(len);
            Arc::new(StructArray::new(fields.into(), children, nulls))
        }
        6 => {
            let lengths: Vec<usize> = (0..len).map(|_| g.below(3)).collect();
            let entries: usize = lengths.iter().sum();
            let keys = child(g, entries, &mut |g, n| {
                Arc::new(StringArray::from_iter_values((0..n).map(|_| g.text())))
            });
            let values = child(g, entries, &mut inner);
            let fields = Fields::from(vec![
                Field::new("keys", DataType::Utf8, false),
                field_of(g, "values", &values),
            ]);
            let entries = StructArray::new(fields.clone(), vec![keys, values], None);
            let entry = Arc::new(Field::new("entries", DataType::Struct(fields), false));
            let offsets = OffsetBuffer::<i32>::from_lengths(lengths);
            let nulls = g.validity(len);
            // Keys sorted or not (a flag of the type only: arrow-rs does not check it).
            let sorted = g.below(2) == 0;
            Arc::new(MapArray::try_new(entry, offsets, entries, nulls, sorted).unwrap())
        }
        7 => {
            let n = 1 + g.below(4);
            let values = child(g, n, &mut inner);
            dictionary(g, len, values)
        }
        8 => run_ends(g, len, &mut inner),
        _ => {
            // Type ids that are not the children's indices, some of the time.
            let ids = if g.below(2) == 0 { [0, 1] } else { [3, 7] };
            let children: Vec<ArrayRef>;
            let which: Vec<usize> = (0..len).map(|_| g.below(2)).collect();
            let offsets = if g.below(2) == 0 {
                children = (0..2).map(|_| child(g, len, &mut inner)).collect();
                None
            } else {
                let mut seen = [0i32; 2];
                let offsets: Vec<i32> = which
                    .iter()
                    .map(|&w| {
                        seen[w] += 1;
                        seen[w] - 1
                    })
                    .collect();
                children = (0..2)
                    .map(|w| child(g, seen[w] as usize, &mut inner))
                    .collect();
                Some(offsets.into())
            };
            let fields: Vec<Field> = children
                .iter()
                .enumerate()
                .map(|(i, c)| field_of(g, &format!("u{i}"), c))
                .collect();
            let fields = UnionFields::try_new(ids, fields).unwrap();
            let type_ids: Vec<i8> = which.iter().map(|&w| ids[w]).collect();
            Arc::new(UnionArray::try_new(fields, type_ids.into(), offsets, children).unwrap())
        }
    }
}
