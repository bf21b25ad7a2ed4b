//! The `oplink.Lookup` host service as `oplink run` provides it: named tables of text read
//! from files given with `--lookup NAME=FILE` (a CSV file's first two columns, or a JSON
//! object).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use oplink::arrow::array::{Array, StringArray};
use oplink::services::Lookup;

use crate::args::InputFormat;
use crate::error::{CliError, Result};
use crate::input::{Input, csv_header};

/// The host's `oplink.Lookup` tables.
#[derive(Debug, Default)]
pub struct Tables(BTreeMap<String, HashMap<String, String>>);

impl Lookup for Tables {
    fn get(&self, table: &str, key: &str) -> oplink::Result<Option<String>> {
        match self.0.get(table) {
            Some(rows) => Ok(rows.get(key).cloned()),
            None => Err(oplink::Error::msg(format!(
                "the host has no lookup table `{table}`; it has {}",
                self.0
                    .keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

impl Tables {
    /// Whether no table was given (then the service is not provided at all).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads the tables of `--lookup NAME=FILE` arguments.
    pub fn read(specs: &[String]) -> Result<Tables> {
        let mut tables = BTreeMap::new();
        for spec in specs {
            let Some((name, file)) = spec
                .split_once('=')
                .filter(|(name, file)| !name.trim().is_empty() && !file.is_empty())
            else {
                return Err(CliError::Usage(format!(
                    "--lookup `{spec}` is not `NAME=FILE`: give the table's name, as the operator asks for it, and the file to read it from, such as `--lookup tiers=tiers.csv`"
                )));
            };
            let name = name.trim();
            if tables.contains_key(name) {
                return Err(CliError::Usage(format!(
                    "--lookup names the table `{name}` twice; give each table once, or the second another name"
                )));
            }
            let path = Path::new(file);
            // Read more than once (to tell JSON from CSV, then its header, then its rows):
            // a pipe would be empty the second time.
            if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
                return Err(CliError::Usage(format!(
                    "--lookup `{name}`: `{file}` is not a regular file, and a lookup table is read more than once; save it to a file first"
                )));
            }
            // A binary table would be read as CSV text and refused for its shape: said
            // plainly instead.
            if let Some(format @ ("parquet" | "pq" | "arrow" | "arrows" | "ipc" | "feather")) = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref()
                && path.exists()
            {
                return Err(CliError::Usage(format!(
                    "--lookup `{name}`: `{file}` is a .{format} file, and a lookup table is read from CSV, TSV or a JSON object"
                )));
            }
            let rows = if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
                || looks_like_json(path)
            {
                read_json_table(path)
            } else {
                read_csv_table(path)
            }
            .map_err(|e| e.given_by(format!("--lookup `{name}`: ")))?;
            tables.insert(name.to_owned(), rows);
        }
        Ok(Tables(tables))
    }
}

/// Whether the file starts (past a byte-order mark and blanks) with `{`: a JSON object,
/// whatever its name says (read as CSV, its header would be the object's text).
fn looks_like_json(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(read) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else {
        return false;
    };
    let head = head[..read]
        .strip_prefix(crate::input::BOM.as_bytes())
        .unwrap_or(&head[..read]);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn read_json_table(path: &Path) -> Result<HashMap<String, String>> {
    use serde_json::value::RawValue;
    let text = std::fs::read_to_string(path)
        .map(crate::input::without_bom)
        .map_err(|e| CliError::io("read", path, e))?;
    // Read without parsing its numbers: a number keeps the text it was written with
    // (parsed, `12345678901234567890123` would be rounded to a float, `1e2` become `100.0`
    // and `1e400` be refused).
    let whole: Box<RawValue> = serde_json::from_str(&text).map_err(|e| CliError::Data {
        path: path.to_owned(),
        line: Some(e.line() as u64),
        column: Some(e.column().to_string()),
        reason: format!(
            "not valid JSON: {}",
            crate::input::without_position(&e.to_string())
        ),
    })?;
    let map: HashMap<String, &RawValue> = match whole.get().trim_start().starts_with('{') {
        true => serde_json::from_str(whole.get()).ok(),
        false => None,
    }
    .ok_or_else(|| CliError::Data {
        path: path.to_owned(),
        line: None,
        column: None,
        reason: "a lookup table in JSON is one object of keys to values".to_owned(),
    })?;
    if let Some(key) = key_given_twice(&text) {
        return Err(CliError::Data {
            path: path.to_owned(),
            line: None,
            column: None,
            reason: format!(
                "the key `{key}` is given twice; a lookup table holds one value per key"
            ),
        });
    }
    // A key whose value is `null` has no value, as an empty cell of a CSV table; a string
    // is its text; anything else (a number, `true`, a list, an object) as written.
    Ok(map
        .into_iter()
        .filter_map(|(key, raw)| {
            let written = raw.get().trim();
            let value = match written.as_bytes().first() {
                _ if written == "null" => return None,
                Some(b'"') => serde_json::from_str::<String>(written).ok()?,
                _ => compact(written),
            };
            Some((key, value))
        })
        .collect())
}

/// The JSON `text` without the white space between its tokens (a list written over several
/// lines becomes one line), its numbers and strings as written.
fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

/// The first key of the JSON object `text` that appears twice in it (a parsed object keeps
/// the last silently), if any.
fn key_given_twice(text: &str) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    crate::input::object_keys(text)?
        .into_iter()
        .find(|key| !seen.insert(key.clone()))
}

fn read_csv_table(path: &Path) -> Result<HashMap<String, String>> {
    // Every column as text: the header's names, read with Utf8 fields.
    let mut delimiter = match crate::input::input_format(path, None) {
        Ok(InputFormat::Tsv) => b'\t',
        _ => b',',
    };
    let mut text_schema = csv_header(path, delimiter)?;
    // A header of one column that holds a `;`, a tab or a `|` (and no comma): the table is
    // separated by that (there is no option to say so, and one column is no table).
    if let [field] = &text_schema.fields()[..]
        && let Some(other) = [b';', b'\t', b'|']
            .into_iter()
            .find(|&c| field.name().contains(c as char))
    {
        let again = csv_header(path, other)?;
        if again.fields().len() >= 2 {
            (delimiter, text_schema) = (other, again);
        }
    }
    if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        return Err(CliError::Data {
            path: path.to_owned(),
            line: None,
            column: None,
            reason: "it is empty: a lookup table is a header line, then a key and a value a row"
                .to_owned(),
        });
    }
    if text_schema.fields().len() < 2 {
        return Err(CliError::Data {
            path: path.to_owned(),
            line: Some(1),
            column: None,
            reason: "a lookup table needs two columns, a key and a value".to_owned(),
        });
    }
    let mut input = Input::open(
        path,
        InputFormat::Csv,
        Some(text_schema),
        8192,
        Some(delimiter),
    )?;
    // Each key's row (counted from 1 under the header) and value.
    let mut rows: HashMap<String, (u64, String)> = HashMap::new();
    let mut row = 0u64;
    while let Some(batch) = input.next_batch()? {
        let strings = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("read as Utf8")
                .clone()
        };
        let (keys, values) = (strings(0), strings(1));
        for i in 0..batch.num_rows() {
            row += 1;
            if keys.is_valid(i) && values.is_valid(i) {
                let key = keys.value(i);
                if let Some((first, _)) = rows.get(key) {
                    // Rows count from 1 under the header; records, from the header's 1.
                    let line = |row: u64| crate::input::record_line(path, delimiter, row + 1);
                    return Err(CliError::Data {
                        path: path.to_owned(),
                        line: None,
                        column: None,
                        reason: format!(
                            "the key `{key}` is on lines {} and {}; a lookup table holds one value per key",
                            line(*first),
                            line(row)
                        ),
                    });
                }
                rows.insert(key.to_owned(), (row, values.value(i).to_owned()));
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|(key, (_, value))| (key, value))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_table_names_the_missing_table() {
        let tables = Tables(BTreeMap::from([("tiers".to_owned(), HashMap::new())]));
        assert_eq!(tables.get("tiers", "ann").unwrap(), None);
        assert_eq!(
            tables.get("regions", "ann").unwrap_err().to_string(),
            "the host has no lookup table `regions`; it has `tiers`"
        );
        for spec in ["tiers", "=tiers.csv", "tiers="] {
            assert_eq!(
                Tables::read(&[spec.into()]).unwrap_err().to_string(),
                format!(
                    "--lookup `{spec}` is not `NAME=FILE`: give the table's name, as the operator asks for it, and the file to read it from, such as `--lookup tiers=tiers.csv`"
                )
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("tiers.json");
        std::fs::write(
            &json,
            r#"{"ann": "gold", "bob": null, "cy": 3, "dee": 12345678901234567890123, "eve": 1e2,
                "fay": 0.1000000000000000055511151231257827, "gus": [1, 2.50], "hal": true,
                "ivy": 1e400, "jo": {
                    "a b": [ 1e400, "x \" y" ]
                }}"#,
        )
        .unwrap();
        let spec = format!("tiers={}", json.display());
        let tables = Tables::read(std::slice::from_ref(&spec)).unwrap();
        assert_eq!(tables.get("tiers", "ann").unwrap().as_deref(), Some("gold"));
        assert_eq!(
            tables.get("tiers", "bob").unwrap(),
            None,
            "null is no value"
        );
        assert_eq!(tables.get("tiers", "cy").unwrap().as_deref(), Some("3"));
        // A number is its text as written, never rounded; a list or an object its JSON on
        // one line, its numbers as written.
        for (key, text) in [
            ("dee", "12345678901234567890123"),
            ("eve", "1e2"),
            ("fay", "0.1000000000000000055511151231257827"),
            ("gus", "[1,2.50]"),
            ("jo", r#"{"a b":[1e400,"x \" y"]}"#),
            ("ivy", "1e400"),
            ("hal", "true"),
        ] {
            assert_eq!(tables.get("tiers", key).unwrap().as_deref(), Some(text));
        }
        assert_eq!(
            Tables::read(&[spec.clone(), spec]).unwrap_err().to_string(),
            "--lookup names the table `tiers` twice; give each table once, or the second another name"
        );
        // A binary file, by its extension (one that is not there is said to be missing).
        let parquet = dir.path().join("tiers.Parquet");
        std::fs::write(&parquet, "PAR1").unwrap();
        assert_eq!(
            Tables::read(&[format!("tiers={}", parquet.display())])
                .unwrap_err()
                .to_string(),
            format!(
                "--lookup `tiers`: `{}` is a .parquet file, and a lookup table is read from CSV, TSV or a JSON object",
                parquet.display()
            )
        );
        assert_eq!(
            Tables::read(&["tiers=no-such.parquet".into()])
                .unwrap_err()
                .to_string(),
            "--lookup `tiers`: `no-such.parquet` does not exist"
        );
        // A pipe, which a second reading would find empty.
        assert_eq!(
            Tables::read(&["tiers=/dev/null".into()])
                .unwrap_err()
                .to_string(),
            "--lookup `tiers`: `/dev/null` is not a regular file, and a lookup table is read more than once; save it to a file first"
        );

        // A table that is not JSON: the place once, in the error's own words.
        std::fs::write(&json, "{\"ann\": gold}").unwrap();
        let spec = format!("tiers={}", json.display());
        assert_eq!(
            Tables::read(&[spec]).unwrap_err().to_string(),
            format!(
                "cannot read `{}` at line 1, column 9: not valid JSON: expected value",
                json.display()
            )
        );
    }
}
