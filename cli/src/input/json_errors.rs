//! A JSON lines reader's error turned into the file's line and column: arrow-json says
//! neither, so the file is read again to find the line, and the key, at fault.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use oplink::arrow::schema::{ArrowError, SchemaRef};

use crate::error::CliError;

use super::INFER_RECORDS;
use super::file::{AfterBom, without_bom};
use super::messages::{INFERRED_HINT, NOT_UTF8, shortened, without_position};
use super::strict::BadValue;

/// [`BadValue`] located in `path`: its line (the row's, blank lines skipped) and where its
/// key is on it.
pub(super) fn located(path: &Path, bad: &BadValue, inferred: bool) -> CliError {
    let (line, column) = match row_text(path, bad.row) {
        Some((line, text)) => (
            Some(line),
            key_column(&text, std::slice::from_ref(&bad.key))
                .map(|at| format!("{at} (`{}`)", bad.key)),
        ),
        None => (None, None),
    };
    CliError::Data {
        path: path.to_owned(),
        line,
        column,
        reason: format!(
            "{}{}",
            bad.reason,
            if inferred { INFERRED_HINT } else { "" }
        ),
    }
}

/// The line (from 1) of `path`'s row `row` (counting from 0, blank lines skipped), and its
/// text; `None` when the file cannot be read again that far.
fn row_text(path: &Path, row: u64) -> Option<(u64, String)> {
    let lines = File::open(path)
        .map(BufReader::new)
        .into_iter()
        .flat_map(BufRead::lines);
    match lines
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .nth(usize::try_from(row).ok()?)
    {
        Some((index, Ok(text))) => Some((index as u64 + 1, text)),
        _ => None,
    }
}

/// The line (from 1) of `path`'s row `row` (counting from 0, blank lines skipped).
pub(super) fn row_line(path: &Path, row: u64) -> Option<u64> {
    row_text(path, row).map(|(line, _)| line)
}

/// A JSON lines reader's error, with the line and the field's column where they can be
/// found: arrow-json does not say where, so the file is read again line by line to find the
/// first line that is not valid JSON, or that does not decode with the schema on its own.
/// `schema` is the one the file is read with, and whether it was inferred (then a key it
/// lacks is an error). Each kind of error is told by a function of its own, tried in turn;
/// arrow-json's own message when none is found.
pub(super) fn json_error(
    path: &Path,
    schema: Option<(&SchemaRef, bool)>,
    error: ArrowError,
) -> CliError {
    let fallback = || CliError::Data {
        path: path.to_owned(),
        line: None,
        column: None,
        reason: shortened(&error.to_string()),
    };
    let Ok(file) = File::open(path) else {
        return fallback();
    };
    // The lines inference reads, each valid JSON on its own, kept to find the first one
    // whose type disagrees with those before it (below).
    let mut read: Vec<(usize, String)> = Vec::new();
    let mut decoder: Option<arrow_json::reader::Decoder> = None;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        // A byte-order mark is no part of the first line's JSON (the reader skips it).
        let line = line.map(|l| if index == 0 { without_bom(l) } else { l });
        let Ok(line) = line else {
            return not_utf8(path, index);
        };
        if line.trim().is_empty() {
            continue;
        }
        let value = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(value) => value,
            Err(bad) if let Some(error) = several_lines(path, index, &bad, read.is_empty()) => {
                return error;
            }
            Err(bad) => return not_json(path, index, &bad),
        };
        if !value.is_object() {
            return not_an_object(path, index, &value);
        }
        let Some((schema, inferred)) = schema else {
            read.push((index, line));
            if read.len() == INFER_RECORDS {
                break; // inference reads no further
            }
            continue;
        };
        // Read as the run reads it (numbers taken as text where the schema has text), one
        // decoder for every line.
        let decoder = match &mut decoder {
            Some(decoder) => decoder,
            None => match arrow_json::ReaderBuilder::new(schema.clone())
                .with_coerce_primitive(true)
                .with_strict_mode(inferred)
                .build_decoder()
            {
                Ok(made) => decoder.insert(made),
                Err(_) => return fallback(),
            },
        };
        let decoded = decoder
            .decode(line.as_bytes())
            .and_then(|_| decoder.decode(b"\n"))
            .and_then(|_| decoder.flush());
        if let Err(bad) = decoded {
            let text = bad.to_string();
            return key_not_inferred(path, index, &line, &text)
                .or_else(|| list_expected(path, index, &line, &text, inferred))
                .unwrap_or_else(|| not_decoded(path, index, &line, &text, inferred));
        }
    }
    if schema.is_none()
        && let Some((index, why)) = first_disagreeing(&read)
    {
        return types_disagree(path, &read, index, &why);
    }
    fallback()
}

/// A line that does not read as text (as a rule, not UTF-8: [`BufRead::lines`] fails):
/// reports the line and [`NOT_UTF8`].
fn not_utf8(path: &Path, index: usize) -> CliError {
    CliError::Data {
        path: path.to_owned(),
        line: Some(index as u64 + 1),
        column: None,
        reason: NOT_UTF8.to_owned(),
    }
}

/// JSON documents over several lines (pretty-printed), which are no JSON lines: serde_json's
/// error is that a document ends early ([`serde_json::Error::is_eof`]) on a line before
/// which no line was kept for inference (`none_kept`: any line when a schema is given), and
/// the whole file reads as documents one after another. Reports the line and "one JSON
/// document over several lines, ..." or "N JSON documents written over several lines, ...",
/// saying how `jq` converts them. `None` otherwise.
fn several_lines(
    path: &Path,
    index: usize,
    bad: &serde_json::Error,
    none_kept: bool,
) -> Option<CliError> {
    if !(bad.is_eof() && none_kept) {
        return None;
    }
    let (n, arrays) = documents(path)?;
    let reason = match n {
        1 => "one JSON document over several lines, where JSON lines hold one object per line (it converts with `jq -c '.[]'` for an array of objects, `jq -c .` for one object)".to_owned(),
        n => format!(
            "{n} JSON documents written over several lines, where JSON lines hold one object per line (they convert with {})",
            if arrays { "`jq -c '.[]'`, being arrays" } else { "`jq -c .`" }
        ),
    };
    Some(CliError::Data {
        path: path.to_owned(),
        line: Some(index as u64 + 1),
        column: None,
        reason,
    })
}

/// A line serde_json does not read as JSON (any error but [`several_lines`]'s): reports the
/// line, serde_json's column, and "not valid JSON: " with serde_json's message (its position
/// left out).
fn not_json(path: &Path, index: usize, bad: &serde_json::Error) -> CliError {
    CliError::Data {
        path: path.to_owned(),
        line: Some(index as u64 + 1),
        column: Some(bad.column().to_string()),
        reason: format!("not valid JSON: {}", without_position(&bad.to_string())),
    }
}

/// A line of JSON that is no object: reports the line and "a JSON array where JSON lines
/// hold one object per line (...)", saying how `jq` converts a file of one array, or what
/// the value is ("a number", "`true` or `false`", ...) "where JSON lines hold one object per
/// line".
fn not_an_object(path: &Path, index: usize, value: &serde_json::Value) -> CliError {
    let reason = if value.is_array() {
        "a JSON array where JSON lines hold one object per line (a file of one array converts with `jq -c '.[]'`)".to_owned()
    } else {
        format!(
            "{} where JSON lines hold one object per line",
            json_kind(value)
        )
        .replace("true or false where", "`true` or `false` where")
    };
    CliError::Data {
        path: path.to_owned(),
        line: Some(index as u64 + 1),
        column: None,
        reason,
    }
}

/// arrow-json's "column 'K' missing from schema" (strict, with an inferred schema: a key
/// the first lines do not hold): reports the line, the key's column, and "the key `K` is not
/// among the columns inferred from the first lines; give `--schema` ...". `None` for
/// another message.
fn key_not_inferred(path: &Path, index: usize, line: &str, text: &str) -> Option<CliError> {
    let (_, rest) = text.split_once("column '")?;
    let (key, _) = rest.split_once("' missing from schema")?;
    Some(CliError::Data {
        path: path.to_owned(),
        line: Some(index as u64 + 1),
        column: key_column(line, &[key.to_owned()]).map(|at| at.to_string()),
        reason: format!(
            "the key `{key}` is not among the columns inferred from the first lines; give `--schema` to name the columns to read"
        ),
    })
}

/// The field an arrow-json decoding error names ("field 'K'"), and its column on `line`
/// with its name, where found.
fn named_field(line: &str, text: &str) -> (Option<String>, Option<String>) {
    let field = text
        .split_once("field '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(name, _)| name.to_owned());
    let column = field.as_ref().and_then(|name| {
        key_column(line, std::slice::from_ref(name)).map(|at| format!("{at} (`{name}`)"))
    });
    (field, column)
}

/// arrow-json's "whilst decoding field 'K': expected [ ..." with an inferred schema, on a
/// line where top-level key K holds a plain value (not null) and an earlier line of those
/// inference reads holds a list: reports the line, the key's column, and "the key `K` holds
/// a number here, and a list on line L: a column holds one type (make every value of the key
/// a list)". `None` otherwise.
fn list_expected(
    path: &Path,
    index: usize,
    line: &str,
    text: &str,
    inferred: bool,
) -> Option<CliError> {
    let (field, column) = named_field(line, text);
    // A key inference took for a list (a list on some line, a plain value on
    // others), read here as a plain value: said with the line of a list.
    let value_here = field.as_ref().and_then(|key| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line)
            .ok()
            .and_then(|mut object| object.remove(key))
    });
    if inferred
        && let Some(key) = &field
        && text.contains(&format!("whilst decoding field '{key}': expected ["))
        && value_here
            .as_ref()
            .is_some_and(|v| !v.is_array() && !v.is_null())
        && let Some(list_line) = first_list_of(path, key)
    {
        let here = value_here.as_ref().map(json_kind);
        return Some(CliError::Data {
            path: path.to_owned(),
            line: Some(index as u64 + 1),
            column,
            reason: format!(
                "the key `{key}` holds {} here, and a list on line {list_line}: a column holds one type (make every value of the key a list)",
                here.unwrap_or("a plain value")
            ),
        });
    }
    None
}

/// Any other arrow-json decoding error (as a rule "Json error: whilst decoding field 'K':
/// ..."): reports the line, the column of the key it names where found, and arrow-json's
/// message past "Json error: ", shortened (with a hint when the schema was inferred).
fn not_decoded(path: &Path, index: usize, line: &str, text: &str, inferred: bool) -> CliError {
    let (_, column) = named_field(line, text);
    CliError::Data {
        path: path.to_owned(),
        line: Some(index as u64 + 1),
        column,
        reason: format!(
            "{}{}",
            shortened(text.strip_prefix("Json error: ").unwrap_or(text)),
            if inferred { INFERRED_HINT } else { "" }
        ),
    }
}

/// arrow-json's inference failing (no schema given) on line `index` (numbered from 0), the
/// first of `read` (the lines inference reads) at which it fails, with its error `why`, as
/// [`first_disagreeing`] finds them: reports the line and, where the key at fault is found,
/// its column and "the key `K` holds a number here, and a string on line L: a column holds
/// one type (make the values of the key agree)" (or "... before it on this line", "... and
/// other values before it", or "... here whose elements disagree in JSON type: ..." for a
/// list whose own elements disagree); else "a field's JSON type here disagrees with the
/// values before it (why)".
fn types_disagree(path: &Path, read: &[(usize, String)], index: usize, why: &str) -> CliError {
    let at = read.iter().position(|(i, _)| *i == index).unwrap_or(0);
    let line = &read[at].1;
    let (reason, column) = match disagreeing_key(&read[..at], (index, line)) {
        Some(found) => (
            match found.before {
                Against::Itself => format!(
                    "the key `{}` holds {} here whose elements disagree in JSON type: a list's elements make one column, which holds one type (make them agree)",
                    found.path(),
                    found.here
                ),
                before => format!(
                    "the key `{}` holds {} here, and {}: a column holds one type (make the values of the key agree)",
                    found.path(),
                    found.here,
                    match before {
                        Against::Value(before, kind) if before == index + 1 => {
                            format!("{kind} before it on this line")
                        }
                        Against::Value(before, kind) => format!("{kind} on line {before}"),
                        _ => "other values before it".to_owned(),
                    }
                ),
            },
            key_column(line, &found.keys).map(|at| at.to_string()),
        ),
        None => (
            format!(
                "a field's JSON type here disagrees with the values before it ({})",
                shortened(why.strip_prefix("Json error: ").unwrap_or(why))
            ),
            None,
        ),
    };
    CliError::Data {
        path: path.to_owned(),
        line: Some(index as u64 + 1),
        column,
        reason,
    }
}

/// How many JSON documents the file at `path` (past a byte-order mark) holds one after
/// another, however many lines each spans, when it is nothing else: asked only of a file
/// whose first line is not JSON on its own (`jq .` writes a stream of objects so).
/// With the count, whether every document is an array (of objects, as a rule).
fn documents(path: &Path) -> Option<(usize, bool)> {
    let file = File::open(path).and_then(AfterBom::new).ok()?;
    let (mut count, mut arrays) = (0, true);
    for document in
        serde_json::Deserializer::from_reader(BufReader::new(file)).into_iter::<serde_json::Value>()
    {
        arrays &= document.ok()?.is_array();
        count += 1;
    }
    (count > 0).then_some((count, arrays))
}

/// The line (from 1) of the first of the lines inference reads whose top-level `key` holds
/// a list.
fn first_list_of(path: &Path, key: &str) -> Option<usize> {
    let file = File::open(path).and_then(AfterBom::new).ok()?;
    BufReader::new(file)
        .lines()
        .take(INFER_RECORDS)
        .map_while(std::result::Result::ok)
        .position(|line| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line)
                .is_ok_and(|object| object.get(key).is_some_and(serde_json::Value::is_array))
        })
        .map(|index| index + 1)
}

/// What a JSON value is, in words: `a number`.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "true or false",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A value whose JSON type disagrees with the values before it in its column, found by
/// [`disagreeing_key`].
struct Disagreement {
    /// The keys of the path, from the line's object (`[]` for an array's elements).
    keys: Vec<String>,
    /// The value here, in words.
    here: &'static str,
    /// What it disagrees with.
    before: Against,
}

/// What a value disagrees with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Against {
    /// The nearest earlier value that disagrees with it: its line (from 1) and its kind in
    /// words.
    Value(usize, &'static str),
    /// The earlier values, only together.
    Together,
    /// Its own elements, whichever came before (an array that infers as no column alone).
    Itself,
}

/// What in `line` (numbered from 0 in the file) arrow-json's inference cannot take for the
/// same column as the lines of `before` gave it (or the values before it on the line, in an
/// array): what a failed inference means. `None` when nothing is found to disagree (or
/// `line` is no JSON serde_json reads).
fn disagreeing_key(
    before: &[(usize, String)],
    (index, line): (usize, &str),
) -> Option<Disagreement> {
    let values: Vec<(usize, serde_json::Value)> = before
        .iter()
        .map(|(index, line)| (*index, line.as_str()))
        .chain([(index, line)])
        .filter_map(|(index, line)| Some((index + 1, serde_json::from_str(line).ok()?)))
        .collect();
    let values: Vec<(usize, &serde_json::Value)> = values.iter().map(|(n, v)| (*n, v)).collect();
    let (mut keys, here, before) = disagreeing_in(&values).filter(|(path, ..)| !path.is_empty())?;
    keys.reverse();
    Some(Disagreement { keys, here, before })
}

impl Disagreement {
    /// The key's path from the line's object: `a`, `a.b` (a key inside objects that agree),
    /// `a[]` (the elements of the arrays of key `a`).
    fn path(&self) -> String {
        let mut words = String::new();
        for key in &self.keys {
            if !words.is_empty() && key != "[]" {
                words.push('.');
            }
            words.push_str(key);
        }
        words
    }
}

/// The column (from 1, in bytes) of the first key of `keys` in `line`, or of the innermost
/// key before an array's elements (which element is not known here): each key searched
/// as a key (its JSON string followed by `:`) after the one before it, so that a value
/// that reads as the key is passed over. `None` when one is not found so (a key written
/// with escapes other than serde_json's).
fn key_column(line: &str, keys: &[String]) -> Option<usize> {
    let mut at = None;
    for key in keys.iter().take_while(|key| *key != "[]") {
        let quoted = serde_json::to_string(key).ok()?;
        let mut from = at.map_or(0, |at: usize| at + 1);
        at = loop {
            let found = from + line.get(from..)?.find(&quoted)?;
            let after = found + quoted.len();
            if line[after..].trim_start().starts_with(':') {
                break Some(found);
            }
            from = after;
        };
    }
    at.map(|at| at + 1)
}

/// Whether `values` (of one column, with their line numbers) infer as one column.
fn one_column(values: &[(usize, &serde_json::Value)]) -> bool {
    let text: String = values
        .iter()
        .map(|(_, value)| format!("{{\"k\":{value}}}\n"))
        .collect();
    arrow_json::reader::infer_json_schema(BufReader::new(text.as_bytes()), None).is_ok()
}

/// What [`disagreeing_in`] finds: the path's keys (from the innermost), the value in words,
/// the nearest earlier value that disagrees.
type Found = (Vec<String>, &'static str, Against);

/// The first value of the column `values` (in file order, with their line numbers) that
/// disagrees with those before it, as [`disagreeing_key`] gives it (the path's keys from the
/// innermost). Inside objects, the key that disagrees; inside arrays, the element. Each
/// inference is of one column's values, and only the failing key's column is searched
/// further, so the whole costs a few times inferring the lines.
fn disagreeing_in(values: &[(usize, &serde_json::Value)]) -> Option<Found> {
    use serde_json::Value;
    let values: Vec<(usize, &Value)> = values
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_null())
        .collect();
    if one_column(&values) {
        return None;
    }
    // Invariant: the first `good` values infer as one column; the first `bad` do not.
    let (mut good, mut bad) = (0, values.len());
    while bad - good > 1 {
        let middle = good + (bad - good) / 2;
        if one_column(&values[..middle]) {
            good = middle;
        } else {
            bad = middle;
        }
    }
    let (line, value) = values[bad - 1];
    let earlier = &values[..bad - 1];
    match value {
        // Objects before it: the key of it that disagrees.
        Value::Object(object) if earlier.iter().all(|(_, v)| v.is_object()) => {
            for (key, inner) in object {
                let column: Vec<(usize, &Value)> = earlier
                    .iter()
                    .filter_map(|(line, v)| Some((*line, v.get(key)?)))
                    .chain([(line, inner)])
                    .collect();
                if let Some((mut path, here, before)) = disagreeing_in(&column) {
                    path.push(key.clone());
                    return Some((path, here, before));
                }
            }
        }
        // Arrays (or plain values, which inference takes for one-element lists) before it:
        // the element of it that disagrees.
        Value::Array(items) if earlier.iter().all(|(_, v)| !v.is_object()) => {
            let column: Vec<(usize, &Value)> = earlier
                .iter()
                .flat_map(|(line, v)| match v {
                    Value::Array(items) => items.iter().map(|item| (*line, item)).collect(),
                    other => vec![(*line, *other)],
                })
                .chain(items.iter().map(|item| (line, item)))
                .collect();
            if let Some((mut path, here, before)) = disagreeing_in(&column) {
                path.push("[]".to_owned());
                return Some((path, here, before));
            }
        }
        _ => {}
    }
    // A value that is no column alone (`[1, [2]]`: inside a list, a plain value and a list
    // do not mix, where one key's do) disagrees with itself, whatever came before.
    if value.is_array() && !one_column(&[(line, value)]) {
        return Some((Vec::new(), json_kind(value), Against::Itself));
    }
    let nearest = earlier
        .iter()
        .rev()
        .take(1_000)
        .find(|one| !one_column(&[**one, (line, value)]))
        .map(|(line, was)| (*line, json_kind(was)));
    Some((
        Vec::new(),
        json_kind(value),
        nearest.map_or(Against::Together, |(line, kind)| Against::Value(line, kind)),
    ))
}

/// The first of `lines` (numbered from 0 in the file) at which inferring a schema from the
/// lines up to it fails, with the failure: inference fails from there on, so a binary search
/// over the prefixes finds it.
fn first_disagreeing(lines: &[(usize, String)]) -> Option<(usize, String)> {
    let infer = |count: usize| {
        let text: String = lines[..count]
            .iter()
            .map(|(_, line)| format!("{line}\n"))
            .collect();
        arrow_json::reader::infer_json_schema(BufReader::new(text.as_bytes()), None)
            .err()
            .map(|e| e.to_string())
    };
    let why = infer(lines.len())?;
    // Invariant: the first `good` lines infer; the first `bad` lines do not.
    let (mut good, mut bad, mut last) = (0, lines.len(), why);
    while bad - good > 1 {
        let middle = good + (bad - good) / 2;
        match infer(middle) {
            Some(why) => (bad, last) = (middle, why),
            None => good = middle,
        }
    }
    Some((lines[bad - 1].0, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disagreeing key's column is that of the key, not of a value that reads as it, and
    /// a key holding a `.` is one key.
    #[test]
    fn a_disagreeing_key_is_found_as_a_key() {
        let keys = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        let line = r#"{"x":"a", "a" :{"b":"b","c":{"b":1}}}"#;
        assert_eq!(key_column(line, &keys(&["a"])), Some(11));
        assert_eq!(key_column(line, &keys(&["a", "b"])), Some(17));
        assert_eq!(key_column(line, &keys(&["a", "c", "[]", "d"])), Some(25));
        assert_eq!(key_column(line, &keys(&["z"])), None);
        let before = [(0, r#"{"a.b":{"c":1}}"#.to_owned())];
        let found = disagreeing_key(&before, (1, r#"{"x":"a.b","a.b":5}"#)).unwrap();
        assert_eq!(
            (
                found.path().as_str(),
                &found.keys[..],
                found.here,
                found.before
            ),
            (
                "a.b",
                &keys(&["a.b"])[..],
                "a number",
                Against::Value(1, "an object")
            )
        );
        assert_eq!(key_column(r#"{"x":"a.b","a.b":5}"#, &found.keys), Some(12));
    }
}
