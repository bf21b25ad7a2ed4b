//! A CSV reader's error turned into the file's line and column: records counted as the
//! readers count them, found again in the file.

use std::io::{BufReader, Read};
use std::path::Path;

use oplink::arrow::schema::{ArrowError, Schema};

use crate::error::CliError;

use super::messages::{INFERRED_HINT, NOT_UTF8};
use super::quotes::{UNCLOSED_QUOTE, unclosed_quote};
use super::strict::BadValue;

/// [`BadValue`] of a CSV file, located: its line (the header is record 1) and column.
pub(super) fn csv_located(
    path: &Path,
    delimiter: u8,
    schema: &Schema,
    bad: &BadValue,
    inferred: bool,
) -> CliError {
    CliError::Data {
        path: path.to_owned(),
        line: Some(record_line(path, delimiter, bad.row + 2)),
        column: schema
            .index_of(&bad.key)
            .ok()
            .map(|index| format!("{} (`{}`)", index + 1, bad.key)),
        reason: format!(
            "{}{}",
            bad.reason,
            if inferred { INFERRED_HINT } else { "" }
        ),
    }
}

/// A reader of every record of `path` as written, the header included and any number of
/// fields a record; `None` when the file cannot be opened again.
fn every_record(path: &Path, delimiter: u8) -> Option<csv::Reader<std::fs::File>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .ok()
}

/// Where CSV record `record` of `path` starts (counted from 1 with the header, blank lines
/// left out, as arrow-csv counts them), in bytes: where the reader stood before the blank
/// lines ahead of it; and whether it is the file's last. `None` when the file cannot be
/// read again.
pub(super) fn record_start(path: &Path, delimiter: u8, record: u64) -> Option<(u64, bool)> {
    let mut reader = every_record(path, delimiter)?;
    let mut row = csv::ByteRecord::new();
    // The csv crate leaves blank lines out as arrow-csv does (both read with csv-core); a
    // line of `""` (an empty value of a one-column file) is a record to both.
    for _ in 0..record {
        if !matches!(reader.read_byte_record(&mut row), Ok(true)) {
            return None;
        }
    }
    let start = row.position().map(csv::Position::byte)?;
    let last = matches!(reader.read_byte_record(&mut row), Ok(false));
    Some((start, last))
}

/// The line of `path` on which its CSV record `record` (the header is record 1) starts:
/// blank lines and quoted line breaks make the two differ. `record` itself when the file
/// cannot be read again.
pub(crate) fn record_line(path: &Path, delimiter: u8, record: u64) -> u64 {
    // The csv crate's own line count leaves blank lines out, and a record's position is
    // where the reader stood before the blank lines ahead of it: count the line breaks up to
    // there, and those of the blank lines after.
    let Some((start, _)) = record_start(path, delimiter, record) else {
        return record;
    };
    // Read up to the record only (a bad value early in a large file), in chunks.
    let Ok(file) = std::fs::File::open(path) else {
        return record;
    };
    let mut bytes = BufReader::new(file).bytes();
    let mut line = 1;
    for _ in 0..start {
        match bytes.next() {
            Some(Ok(b'\n')) => line += 1,
            Some(Ok(_)) => {}
            _ => return record,
        }
    }
    for byte in bytes {
        match byte {
            Ok(b'\n') => line += 1,
            Ok(b'\r') => {}
            _ => break,
        }
    }
    line
}

/// The first CSV record of `path` (counted as [`record_start`] counts) for which `bad`
/// holds, given the record and the first one (the header): the record of an error the csv
/// crate gives while inferring, whose line is where its reader stood before the record
/// (ahead of blank lines, or of a `\r\n`'s `\n`), which names no record surely.
fn first_record(
    path: &Path,
    delimiter: u8,
    bad: impl Fn(&csv::ByteRecord, &csv::ByteRecord) -> bool,
) -> Option<u64> {
    let mut reader = every_record(path, delimiter)?;
    let (mut header, mut row) = (csv::ByteRecord::new(), csv::ByteRecord::new());
    if !reader.read_byte_record(&mut header).ok()? {
        return None;
    }
    if bad(&header, &header) {
        return Some(1);
    }
    let mut record = 1;
    while let Ok(true) = reader.read_byte_record(&mut row) {
        record += 1;
        if bad(&row, &header) {
            return Some(record);
        }
    }
    None
}

/// Whether a CSV record holds a field that is not UTF-8.
fn not_utf8(row: &csv::ByteRecord, _: &csv::ByteRecord) -> bool {
    row.iter().any(|field| std::str::from_utf8(field).is_err())
}

/// Whether a CSV record has another number of fields than the header.
fn other_length(row: &csv::ByteRecord, header: &csv::ByteRecord) -> bool {
    row.len() != header.len()
}

/// The number after `word ` in `text`.
fn number_after(text: &str, word: &str) -> Option<u64> {
    let at = text.find(word)? + word.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A CSV reader's error, with the line (of the file, the header being line 1) and the
/// column's name when the message gives them: each kind of message it knows is read by a
/// function of its own, tried in turn; another message is said as it is.
pub(super) fn csv_error(
    path: &Path,
    delimiter: u8,
    schema: Option<&Schema>,
    error: ArrowError,
    inferred: bool,
) -> CliError {
    let message = match &error {
        ArrowError::ParseError(m) | ArrowError::CsvError(m) => m.clone(),
        other => other.to_string(),
    };
    // arrow-csv's `at line N` counts data records from 1 after the header; its `for line N`
    // counts the file's lines. Both are turned into the file's line.
    let (line, column, reason) = bad_value(path, delimiter, &message, inferred)
        .or_else(|| incorrect_number(path, delimiter, &message))
        .or_else(|| unequal_lengths(path, delimiter, &message))
        .or_else(|| invalid_utf8(path, delimiter, &message))
        .or_else(|| utf8_error(path, delimiter, &message))
        .or_else(|| column_error(path, delimiter, &message, inferred))
        .unwrap_or((None, None, message));
    let column = column.map(|index| {
        let name = schema.and_then(|s| s.fields().get(index as usize));
        match name {
            Some(field) => format!("{} (`{}`)", index + 1, field.name()),
            None => (index + 1).to_string(),
        }
    });
    CliError::Data {
        path: path.to_owned(),
        line,
        column,
        reason,
    }
}

/// What a kind of CSV reader's error gives: the file's line, the column's index (from 0),
/// and the reason.
type Located = (Option<u64>, Option<u64>, String);

/// arrow-csv's "Error while parsing value 'V' as type 'T' for column C at line N. Row data:
/// ..." (a value of another type than its column's): the line of record N, column C, and
/// "`V` is not a valid T" (with a hint when the schema was inferred). `None` for another
/// message.
fn bad_value(path: &Path, delimiter: u8, message: &str, inferred: bool) -> Option<Located> {
    let (value, rest) = message
        .strip_prefix("Error while parsing value '")
        .and_then(|rest| rest.split_once("' as type '"))?;
    let ty = rest.split('\'').next().unwrap_or_default();
    let hint = if inferred { INFERRED_HINT } else { "" };
    Some((
        // Records from 1 after the header: the header is record 1.
        number_after(message, "at line ").map(|record| record_line(path, delimiter, record + 1)),
        number_after(message, "for column "),
        format!("`{value}` is not a valid {ty}{hint}"),
    ))
}

/// A record of `got` fields (counted, "3 fields") where the header has `expected`, and
/// what to do: with more fields than the header (`more`), the usual cause is a value
/// holding the separator, unquoted; with fewer, a value left out.
fn ragged(got: &str, expected: &str, more: bool, delimiter: u8) -> String {
    let separator = shown_separator(delimiter);
    let advice = if more {
        let holding = match delimiter {
            b'\t' => "a tab".to_owned(),
            _ => format!("`{separator}`"),
        };
        format!("a value holding {holding} is quoted (`\"1{separator}5\"`)")
    } else {
        format!("an empty value is an empty field (`1{separator}`)")
    };
    format!(
        "{got} where the header has {expected}: each line holds one field per column of the header, and {advice}"
    )
}

/// A separator as a message shows it: itself when printable, else escaped (`\t`,
/// `\u{1f}`).
fn shown_separator(delimiter: u8) -> String {
    char::from(delimiter).escape_default().to_string()
}

/// What a CSV or TSV file with no header line is told (`empty`: it holds nothing at all,
/// else only blank lines): what its first line must be, in its own separator.
pub(super) fn no_header(empty: bool, delimiter: u8) -> String {
    let separator = shown_separator(delimiter);
    if empty {
        format!(
            "it is empty: it needs a first line naming the columns, such as `id{separator}amount`"
        )
    } else {
        format!(
            "it has no header line, only blank lines: the first line must name the columns, such as `id{separator}amount`"
        )
    }
}

/// arrow-csv's "incorrect number of fields for line N, expected E got G" (or "got more than
/// G"), while reading: the line of record N (counted from 1 with the header), and "G fields
/// where the header has E", or [`UNCLOSED_QUOTE`] when the record opens a quote never
/// closed. `None` for another message.
fn incorrect_number(path: &Path, delimiter: u8, message: &str) -> Option<Located> {
    if !message.starts_with("incorrect number of fields") {
        return None;
    }
    let expected = number_after(message, "expected ");
    let got = message
        .rsplit("got ")
        .next()
        .map(str::to_owned)
        .unwrap_or_default();
    let record = number_after(message, "for line ");
    Some((
        record.map(|record| record_line(path, delimiter, record)),
        None,
        if record.is_some_and(|record| unclosed_quote(path, delimiter, record)) {
            UNCLOSED_QUOTE.to_owned()
        } else {
            ragged(
                &crate::counted(&got, "field", "fields"),
                &expected.map_or("another number".to_owned(), |e| e.to_string()),
                // "more than G" when arrow-csv stopped counting.
                got.parse::<u64>()
                    .map_or(true, |got| expected.is_none_or(|e| got > e)),
                delimiter,
            )
        },
    ))
}

/// The csv crate's "Encountered unequal lengths between records on CSV file. Expected E
/// records, found F records at line L" (in arrow-csv's words), while inferring: the line of
/// the first record whose number of fields is not the header's (L when none is found
/// again), and "F fields where the header has E", or [`UNCLOSED_QUOTE`] when that record
/// opens a quote never closed. `None` for another message.
fn unequal_lengths(path: &Path, delimiter: u8, message: &str) -> Option<Located> {
    if !message.starts_with("Encountered unequal lengths") {
        return None;
    }
    // The csv crate's own words, while inferring: its line is where its reader stood
    // before the record, so the record is found again.
    let at = number_after(message, "at line ");
    let record = first_record(path, delimiter, other_length);
    Some((
        record
            .map(|record| record_line(path, delimiter, record))
            .or(at),
        None,
        if record.is_some_and(|record| unclosed_quote(path, delimiter, record)) {
            UNCLOSED_QUOTE.to_owned()
        } else {
            {
                let (found, expected) = (
                    number_after(message, "found "),
                    number_after(message, "Expected "),
                );
                ragged(
                    &crate::counted(
                        found.map_or("another number".to_owned(), |n| n.to_string()),
                        "field",
                        "fields",
                    ),
                    &expected.map_or("another number".to_owned(), |n| n.to_string()),
                    found.zip(expected).is_none_or(|(found, e)| found > e),
                    delimiter,
                )
            }
        },
    ))
}

/// arrow-csv's "Encountered invalid UTF-8 data for line N and field F", while reading: the
/// line of record N, column F, and [`NOT_UTF8`]. `None` for another message.
fn invalid_utf8(path: &Path, delimiter: u8, message: &str) -> Option<Located> {
    if !message.starts_with("Encountered invalid UTF-8") {
        return None;
    }
    // While reading: records counted from 1 with the header, fields from 1.
    Some((
        number_after(message, "for line ").map(|record| record_line(path, delimiter, record)),
        number_after(message, "and field ").map(|f| f.saturating_sub(1)),
        NOT_UTF8.to_owned(),
    ))
}

/// The csv crate's "Encountered UTF-8 error while reading CSV file: invalid utf-8: invalid
/// UTF-8 in field F near byte index I at line L" (in arrow-csv's words), while inferring:
/// the line of the first record holding a field that is not UTF-8 (L when none is found
/// again), column F, and [`NOT_UTF8`]. `None` for another message.
fn utf8_error(path: &Path, delimiter: u8, message: &str) -> Option<Located> {
    if !message.starts_with("Encountered UTF-8 error") {
        return None;
    }
    // While inferring (the csv crate's words, the record found again as for unequal
    // lengths, in [`unequal_lengths`]): fields counted from 0.
    let at = number_after(message, "at line ");
    Some((
        first_record(path, delimiter, not_utf8)
            .map(|record| record_line(path, delimiter, record))
            .or(at),
        number_after(message, "in field "),
        NOT_UTF8.to_owned(),
    ))
}

/// arrow-csv's "Error parsing column C at line N: ..." (a timestamp or date it cannot
/// read): the line of record N, column C, and "`V` is not a valid timestamp: why" when the
/// rest reads "Error parsing timestamp from 'V': why", else the rest as it is (with a hint
/// when the schema was inferred). `None` for another message.
fn column_error(path: &Path, delimiter: u8, message: &str, inferred: bool) -> Option<Located> {
    if !message.starts_with("Error parsing column") {
        return None;
    }
    // "Error parsing column C at line R: Parser error: Error parsing timestamp from
    // 'V': why" (records counted as in [`bad_value`]).
    let reason = message
        .split_once(": ")
        .map(|(_, r)| r.trim_start_matches("Parser error: "))
        .unwrap_or(message);
    let reason = reason
        .strip_prefix("Error parsing ")
        .and_then(|rest| rest.split_once(" from '"))
        .and_then(|(what, rest)| {
            let (value, why) = rest.split_once("': ")?;
            Some(format!("`{value}` is not a valid {what}: {why}"))
        })
        .unwrap_or_else(|| reason.to_owned());
    let reason = if inferred {
        format!("{reason}{INFERRED_HINT}")
    } else {
        reason
    };
    Some((
        number_after(message, "at line ").map(|record| record_line(path, delimiter, record + 1)),
        number_after(message, "Error parsing column "),
        reason,
    ))
}

#[cfg(test)]
mod tests {
    use crate::args::InputFormat;
    use crate::input::Input;

    /// The error of reading `text` as a CSV file (with `--schema` when `schema` is given),
    /// the file named `data.csv`.
    fn error_of(text: &[u8], schema: Option<&str>) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.csv");
        std::fs::write(&path, text).unwrap();
        let schema = schema.map(|spec| crate::input::parse_schema(spec).unwrap());
        let error = Input::open(&path, InputFormat::Csv, schema, 8192, None)
            .and_then(|mut input| {
                while input.next_batch()?.is_some() {}
                Ok(())
            })
            .unwrap_err();
        error
            .to_string()
            .replace(&path.display().to_string(), "data.csv")
    }

    /// Found by `damaged_csv_fails_or_reads_whole` (src/input/proptests.rs): in a file of
    /// one column, a line `""` (an empty value, as CSV writers write one there) was taken
    /// for a blank line, so an error further on named a line too far.
    #[test]
    fn an_error_past_empty_quoted_lines_names_its_line() {
        assert_eq!(
            error_of(b"a\n\"\"\nx\n1\n1\n", Some("a:int64")),
            "cannot read `data.csv` at line 3, column 1 (`a`): `x` is not a valid Int64"
        );
        assert_eq!(
            error_of(b"a\n\"\"\n1,2\n3\n", None),
            "cannot read `data.csv` at line 3: 2 fields where the header has 1: each line holds one field per column of the header, and a value holding `,` is quoted (`\"1,5\"`)"
        );
    }

    /// Found by `damaged_tsv_fails_or_reads_whole` and `damaged_csv_fails_or_reads_whole`:
    /// while inferring, the csv crate's errors give the line where its reader stood before
    /// the record (quoted line breaks counted, ahead of blank lines, before the `\n` of a
    /// `\r\n`), which was taken for a record's number, so an error past a quoted line
    /// break, blank lines or in a file of `\r\n` named another line.
    #[test]
    fn an_error_while_inferring_names_its_line() {
        let not_utf8 = "the text is not valid UTF-8 (text in another encoding can be converted first, e.g. `iconv -f latin1 -t utf-8`)";
        assert_eq!(
            error_of(b"a,b\n\"x\ny\",1\n1,2\n3,4,5\n6,7\n", None),
            "cannot read `data.csv` at line 5: 3 fields where the header has 2: each line holds one field per column of the header, and a value holding `,` is quoted (`\"1,5\"`)"
        );
        assert_eq!(
            error_of(b"a,b\r\n1,2\r\n3,4,5\r\n6,7\r\n", None),
            "cannot read `data.csv` at line 3: 3 fields where the header has 2: each line holds one field per column of the header, and a value holding `,` is quoted (`\"1,5\"`)"
        );
        assert_eq!(
            error_of(b"a,b\n1,2\n\n\nb\xffb,3\n", None),
            format!("cannot read `data.csv` at line 5, column 1 (`a`): {not_utf8}")
        );
        assert_eq!(
            error_of(b"a,b\r\nx\xc5,2\r\n3,4\r\n", None),
            format!("cannot read `data.csv` at line 2, column 1 (`a`): {not_utf8}")
        );
    }
}
