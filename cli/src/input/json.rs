//! Opening a JSON lines file: its schema, read from its first lines (its keys in the file's
//! order, whole numbers past `i64` kept whole, and the `--schema` keys no line has), and its
//! reader.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use oplink::arrow::schema::{DataType, Field, Schema};

use crate::error::{CliError, Result};

use super::file::{AfterBom, Counting};
use super::json_errors::json_error;
use super::messages::arrow_words;
use super::schema::text_for_null;
use super::strict::{StrictText, whole_text};
use super::{INFER_RECORDS, Opened, Progress, rows_per_batch, unplaced};

/// Opens the JSON lines file `path` (`file`, of `size` bytes, read past a byte-order mark)
/// to read batches of up to `batch_size` rows: with `schema`, warning of its keys none of
/// the first lines has, or else with the one inferred from its first [`INFER_RECORDS`]
/// lines, when a key no line inference read has is an error.
pub(super) fn open_jsonl(
    path: &Path,
    file: File,
    size: u64,
    schema: Option<Schema>,
    batch_size: usize,
) -> Result<Opened> {
    let data = |reason: String| unplaced(path, reason);
    let inferred = schema.is_none();
    let read = Arc::new(AtomicU64::new(0));
    let mut warning = None;
    let mut left_out = Vec::new();
    let mut buffered =
        BufReader::new(AfterBom::new(file).map_err(|e| CliError::io("read", path, e))?);
    let schema = match schema {
        Some(schema) => {
            (warning, left_out) = keys_never_seen(&schema, &mut buffered);
            buffered
                .rewind()
                .map_err(|e| CliError::io("read", path, e))?;
            schema
        }
        None => {
            match arrow_json::reader::infer_json_schema_from_seekable(
                &mut buffered,
                Some(INFER_RECORDS),
            ) {
                Ok((schema, _)) => text_for_null(
                    in_file_order(schema, &mut buffered)
                        .and_then(|schema| whole_numbers(schema, &mut buffered))
                        .map_err(|e| CliError::io("read", path, e))?,
                ),
                Err(error) => {
                    return Err(json_error(path, None, error));
                }
            }
        }
    };
    if schema.fields().is_empty() {
        return Err(data(
            "it holds no JSON objects with fields, so it names no columns: give them with `--schema`, such as `--schema 'id:int64,amount:float64'`"
                .to_owned(),
        ));
    }
    let schema = Arc::new(schema);
    // Integer columns are read as their text, and parsed strictly below: arrow-json gives
    // `1.9` to an integer column as 1, dropping the fraction without a word.
    let strict = StrictText::new(&schema);
    // A number where the schema has text is read as its text (JSON lines often mix `"7"`
    // and `8` in one field).
    // A key the inferred schema lacks (first seen after the lines inference read) is an
    // error, not dropped; `--schema` chooses the keys to read.
    let reader = arrow_json::ReaderBuilder::new(strict.read_schema.clone())
        .with_batch_size(rows_per_batch(batch_size, schema.fields().len()))
        .with_coerce_primitive(true)
        .with_strict_mode(inferred)
        .build(BufReader::new(Counting {
            inner: buffered.into_inner(),
            read: read.clone(),
            quotes: None,
        }))
        .map_err(|e| data(arrow_words(&e.to_string())))?;
    Ok(Opened {
        schema,
        progress: Progress::Bytes(read, size),
        batches: strict.over(reader),
        warning,
        left_out,
        quotes: None,
    })
}

/// The keys of the JSON object `text`, in order and as often as they are written (a parsed
/// object keeps one of each, sorted); `None` when `text` is no JSON object.
pub(crate) fn object_keys(text: &str) -> Option<Vec<String>> {
    /// The keys of one JSON object, in order.
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Keys>(text)
        .ok()
        .map(|Keys(keys)| keys)
}

/// A warning naming the keys of `--schema` that none of the first lines of a JSON lines
/// file has (each would read as a column of nulls: a typo, or a key of another case, which
/// JSON tells apart). Only a warning: a line that cannot be read ends the look (the reading
/// proper says what is wrong with it), and it looks at no more than the lines inference
/// reads, nor past 64 MiB. The caller rewinds the reader. With it, of a changelog's keys
/// `op` and `row`, those the lines have and `schema` leaves out.
pub(super) fn keys_never_seen<R: BufRead>(
    schema: &Schema,
    reader: &mut R,
) -> (Option<String>, Vec<&'static str>) {
    const MOST_BYTES: usize = 64 << 20;
    let mut seen = std::collections::HashSet::new();
    let mut line = Vec::new();
    let (mut lines, mut bytes) = (0, 0);
    for _ in 0..INFER_RECORDS {
        line.clear();
        match reader
            .by_ref()
            .take((MOST_BYTES - bytes) as u64)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes += n,
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            break;
        };
        if let Some(keys) = object_keys(text) {
            lines += 1;
            seen.extend(keys);
        }
        if bytes >= MOST_BYTES {
            break;
        }
    }
    let missing: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name())
        .filter(|name| !seen.contains(*name))
        .map(
            |name| match seen.iter().find(|key| key.eq_ignore_ascii_case(name)) {
                Some(near) => format!("`{name}` (the lines have `{near}`)"),
                None => format!("`{name}`"),
            },
        )
        .collect();
    let left_out: Vec<&'static str> = [crate::run::changelog::OP, crate::run::changelog::ROW]
        .into_iter()
        .filter(|key| seen.contains(*key) && schema.field_with_name(key).is_err())
        .collect();
    if missing.is_empty() || lines == 0 {
        return (None, left_out);
    }
    let (what, named) = match missing.split_last() {
        Some((last, [])) => ("a key", last.clone()),
        Some((last, rest)) => ("keys", format!("{} and {last}", rest.join(", "))),
        None => unreachable!("checked above"),
    };
    let warning = format!(
        "--schema names {what} that none of the first {} has, read as nulls: {named}",
        crate::counted(lines, "line", "lines"),
    );
    (Some(warning), left_out)
}

/// `schema` with its fields in the order the keys first appear in the file (arrow-json
/// infers them sorted by name); the reader is left at the start.
pub(super) fn in_file_order<R: BufRead + Seek>(
    schema: Schema,
    reader: &mut R,
) -> std::io::Result<Schema> {
    // Each key's place among the keys first seen (a map: a wide file has many thousands).
    let mut order: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut line = String::new();
    for _ in 0..INFER_RECORDS {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        if let Some(keys) = object_keys(&line) {
            for key in keys {
                let next = order.len();
                order.entry(key).or_insert(next);
            }
        }
    }
    reader.rewind()?;
    let position = |name: &str| order.get(name).copied().unwrap_or(usize::MAX);
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.sort_by_cached_key(|f| position(f.name()));
    Ok(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `schema` with an integer type for each `Float64` column that holds only whole numbers in
/// the lines inference read: arrow-json infers `Float64` for a number past `i64`'s range (a
/// 64-bit hash, an unsigned id), which would round every value of the column to 53 bits.
/// All of them at least 0 and within `u64`: `UInt64`; otherwise `Decimal128(20, 0)` while
/// every one has at most 20 digits, `Decimal128(38, 0)` up to 38. Longer ones stay `Float64`
/// (no Arrow integer holds them). Numbers are judged by their text, since `serde_json`
/// reads a whole number past both ranges as a float. The reader is left at the start.
pub(super) fn whole_numbers<R: BufRead + Seek>(
    schema: Schema,
    reader: &mut R,
) -> std::io::Result<Schema> {
    use serde_json::value::RawValue;
    /// Of a column whose values read so far are all whole numbers: whether one is
    /// negative or past `u64`, and the most digits of one.
    #[derive(Clone, Copy, Default)]
    struct Whole {
        beyond_u64: bool,
        digits: usize,
    }
    let floats: Vec<&str> = schema
        .fields()
        .iter()
        .filter(|f| f.data_type() == &DataType::Float64)
        .map(|f| f.name().as_str())
        .collect();
    if floats.is_empty() {
        return Ok(schema);
    }
    let mut whole: std::collections::HashMap<&str, Option<Whole>> = floats
        .iter()
        .map(|name| (*name, Some(Whole::default())))
        .collect();
    let mut line = String::new();
    // The records inference read: blank lines are none.
    let mut records = 0;
    while records < INFER_RECORDS {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        records += 1;
        let Ok(object) =
            serde_json::from_str::<std::collections::HashMap<String, &RawValue>>(&line)
        else {
            continue;
        };
        for (name, kind) in whole.iter_mut() {
            let Some(seen) = kind else { continue };
            let text = match object.get(*name) {
                None => continue,
                Some(raw) if raw.get() == "null" => continue,
                Some(raw) => raw.get(),
            };
            if !whole_text(text) {
                *kind = None;
                continue;
            }
            let magnitude = text.strip_prefix('-').unwrap_or(text);
            seen.digits = seen.digits.max(magnitude.len());
            seen.beyond_u64 |= text.starts_with('-') || magnitude.parse::<u64>().is_err();
        }
    }
    reader.rewind()?;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| {
            let typed = |data_type| field.as_ref().clone().with_data_type(data_type);
            match whole.get(field.name().as_str()) {
                // A column without a value in the lines read here stays as inferred.
                Some(Some(w)) if w.digits == 0 => field.as_ref().clone(),
                Some(Some(w)) if !w.beyond_u64 => typed(DataType::UInt64),
                Some(Some(w)) if w.digits <= 20 => typed(DataType::Decimal128(20, 0)),
                Some(Some(w)) if w.digits <= 38 => typed(DataType::Decimal128(38, 0)),
                _ => field.as_ref().clone(),
            }
        })
        .collect();
    Ok(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
