//! The table printed with `--to table`: in parts of at most [`TABLE_PART_ROWS`] rows, each
//! cell cut to `MAX_CELL_CHARS` characters and its control characters shown as escapes.

use std::io::Write;

use oplink::arrow::array::RecordBatch;
use oplink::arrow::schema::Schema;

use super::Writer;
use crate::error::{CliError, Result};

/// The most rows one table holds: a longer output is printed as it comes, in tables of
/// this many rows, so that a long run neither waits to the end nor holds every row as text
/// (arrow-rs's table takes ~100 times the rows' size in memory).
pub const TABLE_PART_ROWS: usize = 10_000;

/// How a table shows values: arrow-rs's way, but a null as `null` (arrow-rs leaves its cell
/// empty, as it does for empty text), at the top level and inside lists and structs.
const OPTIONS: arrow_cast::display::FormatOptions<'static> =
    arrow_cast::display::FormatOptions::new().with_null("null");

/// The part of a table being gathered: batches of the same columns.
#[derive(Default)]
pub(super) struct TablePart {
    batches: Vec<RecordBatch>,
    /// Their rows, at most [`TABLE_PART_ROWS`].
    rows: usize,
    /// Whether a part of these columns was printed already (so a batch of no rows needs
    /// no header of its own).
    shown: bool,
}

impl TablePart {
    /// Adds `batch`, printing the part first when the columns change and whenever it is
    /// full (a batch split where it must).
    pub(super) fn add(&mut self, out: &mut Writer, batch: &RecordBatch) -> Result<()> {
        if self
            .batches
            .first()
            .is_some_and(|first| first.schema().fields() != batch.schema().fields())
        {
            self.print(out)?;
            self.shown = false;
        }
        let mut at = 0;
        while at < batch.num_rows() {
            let take = (TABLE_PART_ROWS - self.rows).min(batch.num_rows() - at);
            self.batches.push(batch.slice(at, take));
            (at, self.rows) = (at + take, self.rows + take);
            if self.rows == TABLE_PART_ROWS {
                self.print(out)?;
            }
        }
        if batch.num_rows() == 0 && self.batches.is_empty() && !self.shown {
            // A batch of no rows still gives its columns a header, once.
            self.batches.push(batch.clone());
        }
        Ok(())
    }

    /// Prints the part as one table, unless it is empty, and empties it.
    pub(super) fn print(&mut self, out: &mut Writer) -> Result<()> {
        if !self.batches.is_empty() {
            let shown: Vec<RecordBatch> = self.batches.iter().map(printable).collect();
            let table = arrow_cast::pretty::pretty_format_batches_with_options(&shown, &OPTIONS)
                .map_err(|e| CliError::Output(e.to_string()))?;
            writeln!(out, "{table}").map_err(CliError::write)?;
            self.batches.clear();
            self.rows = 0;
            self.shown = true;
        }
        Ok(())
    }
}

/// The most characters of a value a table shows: the rest is cut, and said. (A table lays
/// out each cell in time that grows with the square of its length: a cell of a few
/// megabytes took minutes. Any other format writes values whole.)
const MAX_CELL_CHARS: usize = 1_000;

/// `text`, cut to [`MAX_CELL_CHARS`] characters with how many there were, when longer.
fn cut_short(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        Some((at, _)) => {
            let all = text.chars().count();
            format!(
                "{}… ({all} characters; the table shows {MAX_CELL_CHARS})",
                &text[..at]
            )
            .into()
        }
        None => text.into(),
    }
}

/// `batch` as a table shows it: control characters in its text columns and column names
/// (an escape sequence that would recolour or move the terminal's cursor, a line break that
/// would break the table) written as Rust escapes (`\u{1b}`, `\n`). Other columns, and
/// text without such characters, are shown as they are (shared, not copied).
fn printable(batch: &RecordBatch) -> RecordBatch {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use oplink::arrow::array::{Array, ArrayRef, StringArray};
    use oplink::arrow::schema::{DataType, Field};

    let escaped = |text: &str| match crate::escape_controls(text, &[]) {
        std::borrow::Cow::Owned(shown) => Some(shown),
        std::borrow::Cow::Borrowed(_) => None,
    };
    let column = |array: &ArrayRef| -> Option<ArrayRef> {
        // A dictionary of text is shown as its text; a nested value (a list, a struct, a
        // map) as the text the table shows for it, which may hold text of its own, or be
        // long.
        let cast;
        let array = match array.data_type() {
            DataType::Dictionary(_, values)
                if matches!(
                    **values,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                cast = arrow_cast::cast(array, &DataType::Utf8).ok()?;
                &cast
            }
            // Bytes too, shown in hex, and the other dictionaries and run-end encoded
            // columns, as their values: a long value is cut as long text is.
            shown_as_text
                if shown_as_text.is_nested()
                    || matches!(
                        shown_as_text,
                        DataType::Binary
                            | DataType::LargeBinary
                            | DataType::BinaryView
                            | DataType::FixedSizeBinary(_)
                            | DataType::Dictionary(_, _)
                            | DataType::RunEndEncoded(_, _)
                    ) =>
            {
                let shown = arrow_cast::display::ArrayFormatter::try_new(array, &OPTIONS).ok()?;
                let text: StringArray = (0..array.len())
                    .map(|i| array.is_valid(i).then(|| shown.value(i).to_string()))
                    .collect();
                cast = Arc::new(text) as ArrayRef;
                &cast
            }
            _ => array,
        };
        let values: Vec<Option<&str>> = match array.data_type() {
            DataType::Utf8 => array.as_string::<i32>().iter().collect(),
            DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
            DataType::Utf8View => array.as_string_view().iter().collect(),
            _ => return None,
        };
        if !values
            .iter()
            .flatten()
            .any(|v| v.len() > MAX_CELL_CHARS || v.contains(char::is_control))
        {
            return None;
        }
        let shown: StringArray = values
            .iter()
            .map(|v| {
                v.map(|v| {
                    // Cut first: the count is the value's, and no escape is cut in two.
                    let cut = cut_short(v);
                    escaped(&cut).unwrap_or_else(|| cut.into_owned())
                })
            })
            .collect();
        Some(Arc::new(shown))
    };
    let schema = batch.schema();
    let changed: Vec<Option<ArrayRef>> = batch.columns().iter().map(column).collect();
    let renamed = schema
        .fields()
        .iter()
        .any(|f| f.name().contains(char::is_control));
    if !renamed && changed.iter().all(Option::is_none) {
        return batch.clone();
    }
    let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .zip(changed)
        .map(|((field, array), shown)| {
            let name = escaped(field.name()).unwrap_or_else(|| field.name().clone());
            match shown {
                Some(shown) => (Field::new(name, DataType::Utf8, true), shown),
                None => (field.as_ref().clone().with_name(name), array.clone()),
            }
        })
        .unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap_or_else(|_| batch.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer into a buffer the test keeps.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_table_shows_control_characters_as_escapes() {
        use std::sync::Arc;

        use oplink::arrow::array::types::Int8Type;
        use oplink::arrow::array::{Array, ArrayRef, DictionaryArray, Int64Array, StringArray};
        let batch = RecordBatch::try_from_iter([
            (
                "note\x07",
                Arc::new(StringArray::from(vec![
                    Some("\x1b[31mred"),
                    None,
                    Some("two\nlines"),
                ])) as ArrayRef,
            ),
            (
                "plain",
                Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
            ),
            (
                "dict",
                Arc::new(
                    ["x\ty", "x\ty", "z"]
                        .into_iter()
                        .collect::<DictionaryArray<Int8Type>>(),
                ) as ArrayRef,
            ),
            ("n", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ])
        .unwrap();
        let shown = printable(&batch);
        assert_eq!(shown.schema().field(0).name(), "note\\u{7}");
        let notes = shown
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(notes.value(0), "\\u{1b}[31mred");
        assert!(notes.is_null(1));
        assert_eq!(notes.value(2), "two\\nlines");
        // A dictionary of text, as its text.
        let dict = shown
            .column(2)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(dict.value(0), "x\\ty");
        assert_eq!(dict.value(2), "z");
        // Columns without such characters are the batch's own.
        assert!(Arc::ptr_eq(shown.column(1), batch.column(1)));
        assert!(Arc::ptr_eq(shown.column(3), batch.column(3)));
        // Text inside a list, as the table shows the list.
        let mut lists = oplink::arrow::array::builder::ListBuilder::new(
            oplink::arrow::array::builder::StringBuilder::new(),
        );
        lists.values().append_value("a\x1b[2J");
        lists.values().append_value("b");
        lists.append(true);
        lists.append_null();
        let nested =
            RecordBatch::try_from_iter([("l", Arc::new(lists.finish()) as ArrayRef)]).unwrap();
        let shown = printable(&nested);
        let text = shown
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(text.value(0), "[a\\u{1b}[2J, b]");
        assert!(text.is_null(1));
        // A batch without any is itself.
        let plain = batch.project(&[1, 3]).unwrap();
        assert!(Arc::ptr_eq(printable(&plain).column(0), plain.column(0)));
    }

    /// A batch of no rows gives its columns a header only when no part of them was
    /// printed: after a full part, nothing more.
    #[test]
    fn a_table_part_prints_a_header_for_no_rows_only_once() {
        use oplink::arrow::array::{ArrayRef, Int64Array};
        let batch = |rows: i64| {
            RecordBatch::try_from_iter([(
                "n",
                std::sync::Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
            )])
            .unwrap()
        };
        let tables = |batches: &[RecordBatch]| {
            let shared = Shared::default();
            let mut out: Writer = Box::new(shared.clone());
            let mut part = TablePart::default();
            for b in batches {
                part.add(&mut out, b).unwrap();
            }
            part.print(&mut out).unwrap();
            let text = String::from_utf8(shared.0.lock().unwrap().clone()).unwrap();
            text.matches("| n ").count()
        };
        assert_eq!(tables(&[batch(0)]), 1, "a header for no rows");
        assert_eq!(tables(&[batch(0), batch(0)]), 1);
        let full = TABLE_PART_ROWS as i64;
        assert_eq!(
            tables(&[batch(full), batch(0)]),
            1,
            "no header-only table after it"
        );
        assert_eq!(tables(&[batch(full), batch(1)]), 2);
    }
}
