//! `--op NAME[=CONFIG|@FILE]`: an operator of the chain and its configuration, with a
//! configuration that is no JSON pointed at where it goes wrong.

use std::path::Path;

use serde_json::Value;

use crate::error::{CliError, Result};

/// One `--op`: an operator's name and configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct OpSpec {
    /// The operator's name.
    pub name: String,
    /// Its configuration.
    pub config: Value,
    /// Where the configuration came from, for an operator that refuses it.
    pub given: Given,
}

/// Where an `--op`'s configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Given {
    /// None: `--op NAME`, which passes `{}`.
    Nothing,
    /// After `=`.
    Inline,
    /// From `@FILE`.
    File(String),
}

/// Parses `NAME`, `NAME=JSON` or `NAME=@FILE`.
pub fn parse_op(spec: &str) -> Result<OpSpec> {
    let (name, config) = match spec.split_once('=') {
        Some((name, config)) => (name.trim(), Some(config)),
        None => (spec.trim(), None),
    };
    if name.is_empty() {
        return Err(CliError::Usage(format!(
            "--op `{spec}` names no operator; write `NAME`, `NAME=JSON` or `NAME=@FILE`"
        )));
    }
    // The rule every library's operator names follow (checked at load).
    let named = oplink::__private::is_operator_name(name);
    // A library given where its operator's name goes: a name may hold a `.`, but not a
    // `/`, and no operator is named after a file that is there.
    let library = std::path::Path::new(name);
    if library
        .extension()
        .is_some_and(|e| e == std::env::consts::DLL_EXTENSION)
        && (name.contains('/') || library.is_file())
    {
        return Err(CliError::Usage(format!(
            "--op `{spec}` names a library file, not an operator: give the library with `--plugins {name}` and the operator by its name (`oplink inspect {name}` lists them)"
        )));
    }
    if !named {
        return Err(CliError::Usage(format!(
            "--op `{spec}` names no operator: `{name}` is not an operator name (1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with a letter); write `NAME`, `NAME=JSON` or `NAME=@FILE`"
        )));
    }
    let (text, source_text, given) = match config {
        None => {
            return Ok(OpSpec {
                name: name.to_owned(),
                config: Value::Object(Default::default()),
                given: Given::Nothing,
            });
        }
        Some(config) => match config.strip_prefix('@') {
            Some("") => {
                return Err(CliError::Usage(format!(
                    "--op `{spec}`: `@` needs a file name, as in `NAME=@config.json`"
                )));
            }
            Some(file) => {
                let path = Path::new(file);
                let text = std::fs::read_to_string(path)
                    .map(crate::input::without_bom)
                    .map_err(|e| {
                        CliError::Usage(format!(
                            "--op `{spec}`: cannot read the configuration of `{name}`: {}",
                            CliError::io("read", path, e)
                        ))
                    })?;
                (
                    text,
                    format!("(from `{file}`)"),
                    Given::File(file.to_owned()),
                )
            }
            None => (config.to_owned(), "(inline)".to_owned(), Given::Inline),
        },
    };
    if text.trim().is_empty() {
        return Err(CliError::Usage(if given == Given::Inline {
            format!(
                "--op `{spec}`: the configuration of `{name}` after `=` is empty; give JSON (`{{}}` for none), or leave out `=`"
            )
        } else {
            format!(
                "--op `{spec}`: the configuration of `{name}` {source_text} is empty; write JSON in it (`{{}}` for none)"
            )
        }));
    }
    match serde_json::from_str::<Strict>(&text) {
        Ok(_) if let Some((line, column, number)) = integer_past_64_bits(&text) => {
            Err(CliError::BadConfig {
                operator: name.to_owned(),
                source_text,
                reason: format!(
                    "holds the whole number `{number}` at line {line} column {}, past what 64 bits hold: it would reach the operator as a float, rounded; write it as a string if the operator reads one",
                    text.lines()
                        .nth(line - 1)
                        .map_or(column, |l| character_column(l, column))
                ),
                excerpt: text.lines().nth(line - 1).map(|l| excerpt(l, column)),
            })
        }
        Ok(Strict(config)) => Ok(OpSpec {
            name: name.to_owned(),
            config,
            given,
        }),
        Err(error) => Err(not_json(
            name,
            &text,
            source_text,
            given == Given::Inline,
            &error,
        )),
    }
}

/// The configuration `text` of operator `name` (from `source_text`; `inline` when it was
/// on the command line) is not JSON: the line and column (in characters) of `error`, an
/// excerpt, and what to do when the shell took its quotes.
fn not_json(
    name: &str,
    text: &str,
    source_text: String,
    inline: bool,
    error: &serde_json::Error,
) -> CliError {
    let (line, column) = (error.line(), error.column());
    let excerpt = text
        .lines()
        .nth(line.saturating_sub(1))
        .map(|l| excerpt(l, column));
    // `--op t={"key":"customer"}` unquoted reaches us as `t={key:customer}` (and
    // `--op t={"a":"b","c":1}` as `t=a:b` and `t=c:1`, the braces expanded): a bare
    // word where a value or key should be, and not a quote left.
    let bare_word = excerpt.is_some()
        && text
            .lines()
            .nth(line.saturating_sub(1))
            .and_then(|l| l.get(column.saturating_sub(1)..))
            .is_some_and(|rest| {
                rest.starts_with(|c: char| c.is_ascii_alphabetic())
                    && !["true", "false", "null"]
                        .iter()
                        .any(|w| rest.starts_with(w))
            });
    let unquoted = inline && bare_word && !text.contains(['"', '\'']);
    // serde_json counts the column in bytes: said in characters, as a reader
    // counts them (the caret, placed by bytes, is right either way).
    let mut reason = error.to_string();
    if let Some(text_line) = text.lines().nth(line.saturating_sub(1))
        && !text_line.is_ascii()
        && let Some(at) = reason.rfind(" at line ")
    {
        let characters = character_column(text_line, column);
        reason.truncate(at);
        reason.push_str(&format!(" at line {line} column {characters}"));
    }
    if unquoted {
        reason.push_str(&format!(
            " (the configuration has no quotes left: did the shell take them? Put the whole option in single quotes: --op '{name}={{\"key\": \"value\"}}')"
        ));
    }
    CliError::BadConfig {
        operator: name.to_owned(),
        source_text,
        reason: format!("is not valid JSON: {reason}"),
        excerpt,
    }
}

/// A JSON value whose objects give each key once: `serde_json::Value` keeps the last of two
/// silently, and a configuration that says `"min"` twice is a mistake to point at (the
/// error is located, so the caret goes under the second).
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Strict, D::Error> {
        use serde::de::{Error, MapAccess, SeqAccess, Visitor};
        struct Strictly;
        impl<'de> Visitor<'de> for Strictly {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
                Ok(Value::from(v))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
                Ok(Value::from(v))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
                Ok(Value::from(v))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
                Ok(Value::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
                Ok(Value::String(v))
            }
            fn visit_unit<E>(self) -> std::result::Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(Strict(item)) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Value, A::Error> {
                let mut object = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if object.contains_key(&key) {
                        return Err(A::Error::custom(format!("the key `{key}` is given twice")));
                    }
                    let Strict(value) = map.next_value()?;
                    object.insert(key, value);
                }
                Ok(Value::Object(object))
            }
        }
        d.deserialize_any(Strictly).map(Strict)
    }
}

/// The column (from 1) in characters of `line`'s byte column `column` (from 1, as
/// serde_json counts): the characters that start before or at that byte, a character of
/// several bytes counting once wherever in it the column falls.
fn character_column(line: &str, column: usize) -> usize {
    line.char_indices()
        .filter(|(start, _)| *start < column)
        .count()
}

/// The first whole number of the JSON `text` that no 64-bit integer holds (serde_json reads
/// it as a float), with its line and column (bytes, from 1).
fn integer_past_64_bits(text: &str) -> Option<(usize, usize, &str)> {
    let bytes = text.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    let (mut line, mut line_start) = (1, 0);
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'\n' {
            line += 1;
            line_start = at + 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = at;
            while at < bytes.len()
                && matches!(bytes[at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                at += 1;
            }
            let number = &text[start..at];
            if !number.contains(['.', 'e', 'E'])
                && number.parse::<i64>().is_err()
                && number.parse::<u64>().is_err()
            {
                return Some((line, start - line_start + 1, number));
            }
            continue;
        }
        at += 1;
    }
    None
}

/// `line` with a caret under its `column` (serde_json's: bytes, counted from 1), cut to the
/// 80 characters around it when longer (a configuration file may be one line of
/// megabytes). Control characters are shown as escapes, and the caret counts them so.
fn excerpt(line: &str, column: usize) -> String {
    const AROUND: usize = 40;
    let byte = column.saturating_sub(1).min(line.len());
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let at = chars
        .iter()
        .position(|&(i, _)| i >= byte)
        .unwrap_or(chars.len());
    let start = at.saturating_sub(AROUND);
    let end = (at + AROUND).min(chars.len());
    let (before, after) = (
        if start > 0 { "…" } else { "" },
        if end < chars.len() { "…" } else { "" },
    );
    let shown = |c: char| crate::escape_controls(c.encode_utf8(&mut [0; 4]), &[]).into_owned();
    let text: String = chars[start..end].iter().map(|&(_, c)| shown(c)).collect();
    let indent = before.chars().count()
        + chars[start..at]
            .iter()
            .map(|&(_, c)| shown(c).chars().count())
            .sum::<usize>();
    format!("  {before}{text}{after}\n  {}^", " ".repeat(indent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_op_is_a_name_with_an_inline_or_file_configuration() {
        assert_eq!(
            parse_op("threshold={\"min\": 3}").unwrap(),
            OpSpec {
                name: "threshold".into(),
                config: serde_json::json!({"min": 3}),
                given: Given::Inline,
            }
        );
        assert_eq!(
            parse_op("passthrough").unwrap().config,
            serde_json::json!({})
        );
        assert_eq!(
            parse_op("=1").unwrap_err().to_string(),
            "--op `=1` names no operator; write `NAME`, `NAME=JSON` or `NAME=@FILE`"
        );
        assert_eq!(
            parse_op("t=@/no/such.json").unwrap_err().to_string(),
            "--op `t=@/no/such.json`: cannot read the configuration of `t`: `/no/such.json` does not exist"
        );
        assert_eq!(
            parse_op("plugins/libthreshold.so").unwrap_err().to_string(),
            "--op `plugins/libthreshold.so` names a library file, not an operator: give the library with `--plugins plugins/libthreshold.so` and the operator by its name (`oplink inspect plugins/libthreshold.so` lists them)"
        );
        // A configuration written without its name.
        assert_eq!(
            parse_op(r#"{"min":1}"#).unwrap_err().to_string(),
            r#"--op `{"min":1}` names no operator: `{"min":1}` is not an operator name (1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with a letter); write `NAME`, `NAME=JSON` or `NAME=@FILE`"#
        );
    }

    #[test]
    fn bad_json_points_at_the_problem() {
        let error = parse_op("threshold={\"column\" \"amount\"}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `threshold` (inline) is not valid JSON: expected `:` at line 1 column 11\n  {\"column\" \"amount\"}\n            ^"
        );
        // A long line is shown around the problem only.
        let long = format!(
            "threshold={{\"pad\": \"{}\", \"min\" 1}}",
            "x".repeat(100_000)
        );
        let shown = parse_op(&long).unwrap_err().to_string();
        assert!(shown.len() < 300, "{} bytes", shown.len());
        assert!(
            shown.ends_with(&format!(
                "\n  …{}\", \"min\" 1}}\n  {}^",
                "x".repeat(31),
                " ".repeat(41)
            )),
            "{shown}"
        );
        // Tabs shown as escapes and letters of several bytes: the caret stays under the
        // character serde_json names (it counts bytes), and the column is counted in
        // characters.
        let error = parse_op("t={\"c\u{e9}\u{e9}\": \"x\"\t\"min\": 1}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `t` (inline) is not valid JSON: expected `,` or `}` at line 1 column 13\n  {\"c\u{e9}\u{e9}\": \"x\"\\t\"min\": 1}\n               ^"
        );
        // A whole number past 64 bits (serde_json would make it a float) is pointed at; one
        // in a string, a float, and the largest of 64 bits are not.
        let error = parse_op(
            "t={\"n\": \"1e99 99999999999999999999\",\n \"é\": [1.5e300, -9223372036854775809]}",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `t` (inline) holds the whole number `-9223372036854775809` at line 2 column 17, past what 64 bits hold: it would reach the operator as a float, rounded; write it as a string if the operator reads one\n   \"é\": [1.5e300, -9223372036854775809]}\n                  ^"
        );
        assert!(parse_op(r#"t={"n": 18446744073709551615, "m": -9223372036854775808}"#).is_ok());
        // A key given twice, at any depth, is pointed at (serde_json would keep the last).
        // The column in characters when serde_json names a byte inside one.
        let error = parse_op(r#"t={"éé": [1, é]}"#).unwrap_err();
        assert!(
            error.to_string().contains(" at line 1 column 12\n"),
            "{error}"
        );
        let error = parse_op(r#"t={"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `t` (inline) is not valid JSON: the key `b` is given twice at line 1 column 18\n  {\"a\": {\"b\": 1, \"b\": 2}}\n                   ^"
        );
        // Quotes the shell took: said so, with how to keep them.
        let error = parse_op("count={key:customer}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the configuration of `count` (inline) is not valid JSON: key must be a string at line 1 column 2 (the configuration has no quotes left: did the shell take them? Put the whole option in single quotes: --op 'count={\"key\": \"value\"}')\n  {key:customer}\n   ^"
        );
        for taken in ["t=column:amount", "t=alice"] {
            let error = parse_op(taken).unwrap_err().to_string();
            assert!(error.contains("did the shell take them?"), "{error}");
        }
        // Not for other mistakes, nor for quotes of another kind.
        for other in [
            "t=[true, false,]",
            "t=[1e400]",
            "t={'min': 3}",
            r#"t={"a": b}"#,
        ] {
            let error = parse_op(other).unwrap_err().to_string();
            assert!(!error.contains("shell"), "{error}");
        }
        // Everything else reads as serde_json reads it.
        let spec =
            parse_op(r#"t={"n": [1, -2, 2.5, "x", null, true, {}], "big": 18446744073709551615}"#)
                .unwrap();
        assert_eq!(
            spec.config,
            serde_json::json!({"n": [1, -2, 2.5, "x", null, true, {}], "big": 18446744073709551615u64})
        );
    }
}
