//! The configuration an instance is created with: JSON from the host, read into the type
//! `new` takes.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};

use crate::{Error, Result};

/// The configuration of an operator whose `new` takes none: `null` or `{}`, and nothing
/// else, so a configuration meant for another operator is not silently dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoConfig;

impl<'de> serde::Deserialize<'de> for NoConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NoConfig, D::Error> {
        struct Nothing;
        impl<'de> Visitor<'de> for Nothing {
            type Value = NoConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("no configuration (`null` or `{}`), since its `new` takes none")
            }
            fn visit_unit<E: de::Error>(self) -> Result<NoConfig, E> {
                Ok(NoConfig)
            }
            fn visit_none<E: de::Error>(self) -> Result<NoConfig, E> {
                Ok(NoConfig)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoConfig, A::Error> {
                match map.next_key::<String>()? {
                    None => Ok(NoConfig),
                    Some(key) => Err(de::Error::custom(format_args!(
                        "unexpected key `{key}`: the operator takes no configuration, since its `new` takes none (pass `null` or `{{}}`)"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(Nothing)
    }
}

/// Reads `json` into the configuration type `C` as a host does before it calls the `new` of
/// operator `operator`, with the error it would report: for a unit test of what your
/// operator accepts and refuses, where `serde_json::from_str` would read `null`, a list or
/// a misplaced value otherwise and say it in other words (`null` reads as `{}` for a struct;
/// an error names the operator and the field).
///
/// ```
/// #[derive(Debug, serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Config { column: String, min: i64 }
///
/// let config: Config = oplink::read_config("threshold", r#"{"column": "amount", "min": 10}"#)?;
/// assert_eq!((config.column.as_str(), config.min), ("amount", 10));
/// let err = oplink::read_config::<Config>("threshold", r#"{"column": "amount", "min": "ten"}"#).unwrap_err();
/// assert_eq!(
///     err.message(),
///     "invalid configuration for operator `threshold` at `min`: invalid type: string \"ten\", expected i64"
/// );
/// let err = oplink::read_config::<Config>("threshold", "null").unwrap_err();
/// assert_eq!(
///     err.message(),
///     "invalid configuration for operator `threshold`: missing field `column` (the configuration given was `null`)"
/// );
/// # Ok::<(), oplink::Error>(())
/// ```
///
/// # Errors
///
/// When `json` does not read as a `C`, in the words the host reports (its
/// `Error::InvalidConfig`); the error has no location, as the host's has none. What `new`
/// itself refuses is its own error: call `new` with the configuration this returns.
pub fn read_config<C: DeserializeOwned>(operator: &str, json: &str) -> Result<C> {
    parse(operator, json.as_bytes())
}

/// Reads the configuration of operator `operator` from the host's JSON.
pub(crate) fn parse<C: DeserializeOwned>(operator: &str, config: &[u8]) -> Result<C> {
    let text = std::str::from_utf8(config).map_err(|e| {
        Error::unlocated(format!(
            "the configuration of operator `{operator}` is not UTF-8: {e}"
        ))
    })?;
    // `null` is no configuration: a struct whose fields all have defaults reads it as `{}`
    // (an `Option` reads it as `None`, and a struct with a field it needs says which).
    if text.trim() == "null"
        && serde_json::from_str::<C>("null").is_err()
        && struct_fields::<C>().is_some()
    {
        return parse::<C>(operator, b"{}")
            .map_err(|e| Error::unlocated(format!("{e} (the configuration given was `null`)")));
    }
    // serde reads a struct from a list too, as its fields in order, past
    // `deny_unknown_fields` and whatever the fields are called: a list is refused for a
    // configuration that is a struct, naming the fields it takes.
    if text.trim_start().starts_with('[')
        && let Some(fields) = struct_fields::<C>()
    {
        let named: Vec<String> = fields.iter().map(|f| format!("\"{f}\": …")).collect();
        return Err(Error::unlocated(format!(
            "invalid configuration for operator `{operator}`: it is a JSON list, but the operator takes an object that names its fields: `{{{}}}`",
            named.join(", ")
        )));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let config: C = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // (A value of the wrong type, not text that is no JSON: `tru`, `"abc`.)
        let of_another_type = inner.is_data();
        let inner = without_position(&inner);
        // A string, a number or a boolean where a struct was wanted (`"column=amount"`):
        // serde's words name the author's type (`expected struct Config`), not the fields
        // a host writes.
        if path == "."
            && of_another_type
            && let Some(kind) = scalar_kind(text)
            && let Some(fields) = struct_fields::<C>()
        {
            let named: Vec<String> = fields.iter().map(|f| format!("\"{f}\": …")).collect();
            return Error::unlocated(format!(
                "invalid configuration for operator `{operator}`: it is the JSON {kind} `{}`, but the operator takes an object that names its fields: `{{{}}}`",
                cut(text.trim(), 80),
                named.join(", ")
            ));
        }
        if path == "." {
            Error::unlocated(format!(
                "invalid configuration for operator `{operator}`: {inner}"
            ))
        } else {
            Error::unlocated(format!(
                "invalid configuration for operator `{operator}` at `{path}`: {inner}"
            ))
        }
    })?;
    de.end().map_err(|e| {
        Error::unlocated(format!(
            "invalid configuration for operator `{operator}`: {}",
            without_position(&e)
        ))
    })?;
    Ok(config)
}

/// `text` (JSON, so on one line) up to its `max`th character, and `…` when it goes on.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// What JSON value `text` is when it is a string, a number or a boolean.
fn scalar_kind(text: &str) -> Option<&'static str> {
    match text.trim_start().bytes().next()? {
        b'"' => Some("string"),
        b't' | b'f' => Some("boolean"),
        b'-' | b'0'..=b'9' => Some("number"),
        _ => None,
    }
}

/// The fields of `C` when it is read as a struct (what `#[derive(Deserialize)]` makes of a
/// struct with named fields), also inside an `Option` or a newtype, asked of its
/// `Deserialize` through a deserializer that only notes what it is asked for; `None` for
/// any other type (a map, a list, a tuple struct, an untagged enum, which may take a list).
/// Asked only when a list was given.
fn struct_fields<C: DeserializeOwned>() -> Option<&'static [&'static str]> {
    /// What `C` asked the probe for: the fields of a struct, or nothing.
    #[derive(Debug)]
    struct Asked(Option<&'static [&'static str]>);
    impl fmt::Display for Asked {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("probed")
        }
    }
    impl std::error::Error for Asked {}
    impl de::Error for Asked {
        fn custom<T: fmt::Display>(_: T) -> Asked {
            Asked(None)
        }
    }
    struct Probe;
    impl<'de> Deserializer<'de> for Probe {
        type Error = Asked;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Asked> {
            Err(Asked(None))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Asked> {
            Err(Asked(Some(fields)))
        }
        // Through an `Option` or a newtype to what it holds.
        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Asked> {
            visitor.visit_some(self)
        }
        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            visitor: V,
        ) -> Result<V::Value, Asked> {
            visitor.visit_newtype_struct(self)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf unit unit_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    match C::deserialize(Probe) {
        Err(Asked(fields)) => fields,
        Ok(_) => None,
    }
}

/// serde_json's message without its " at line L column C": the host wrote the JSON from a
/// value, so a position in that text means nothing to the person who wrote the value (the
/// path says where the problem is).
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Config {
        min: i64,
    }

    #[test]
    fn configurations_are_read_with_the_path_of_what_is_wrong() {
        assert_eq!(parse::<Config>("t", br#"{"min": 3}"#).unwrap().min, 3);
        let err = parse::<Config>("t", br#"{"min": "ten"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t` at `min`: invalid type: string \"ten\", expected i64"
        );
        assert!(err.location().is_none());
        let err = parse::<Config>("t", br#"{"min": 3} x"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid configuration for operator `t`: trailing characters"),
            "{err}"
        );
    }

    /// `null` reads as `{}` for a struct (and as `None` for an `Option` of one).
    #[test]
    fn null_is_no_configuration() {
        #[derive(Debug, Default, PartialEq, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Defaults {
            #[serde(default)]
            keep: u64,
        }
        assert_eq!(
            parse::<Defaults>("t", b" null ").unwrap(),
            Defaults::default()
        );
        assert_eq!(parse::<Option<Defaults>>("t", b"null").unwrap(), None);
        let err = parse::<Config>("t", b"null").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t`: missing field `min` (the configuration given was `null`)"
        );
    }

    #[test]
    fn a_list_for_a_struct_is_refused_naming_its_fields_and_a_list_for_a_list_is_read() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Two {
            column: String,
            min: i64,
        }
        // serde alone would read `["amount", 3]` as the fields in order, past
        // `deny_unknown_fields`.
        for list in [&br#"["amount", 3]"#[..], br#" ["ten"]"#, b"[]"] {
            let err = parse::<Two>("t", list).unwrap_err();
            assert_eq!(
                err.to_string(),
                "invalid configuration for operator `t`: it is a JSON list, but the operator takes an object that names its fields: `{\"column\": …, \"min\": …}`"
            );
        }
        assert_eq!(parse::<Config>("t", br#"{"min": 3}"#).unwrap().min, 3);
        // Inside an `Option` or a newtype, too.
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Wrapped(Two);
        for err in [
            parse::<Option<Two>>("t", br#"["amount", 3]"#).unwrap_err(),
            parse::<Wrapped>("t", br#"["amount", 3]"#).unwrap_err(),
        ] {
            assert!(err.to_string().contains("it is a JSON list"), "{err}");
        }
        assert!(parse::<Option<Two>>("t", b"null").unwrap().is_none());
        // Types that take a list: read as serde reads them.
        let err = parse::<Vec<i64>>("t", br#"["ten"]"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t` at `[0]`: invalid type: string \"ten\", expected i64"
        );
        #[derive(Debug, serde::Deserialize, PartialEq)]
        struct Pair(i64, String);
        assert_eq!(
            parse::<Pair>("t", br#"[1, "a"]"#).unwrap(),
            Pair(1, "a".into())
        );
        #[derive(Debug, serde::Deserialize, PartialEq)]
        #[serde(untagged)]
        enum Either {
            List(Vec<i64>),
            Object { min: i64 },
        }
        assert_eq!(
            parse::<Either>("t", b"[1, 2]").unwrap(),
            Either::List(vec![1, 2])
        );
        assert_eq!(
            parse::<Either>("t", br#"{"min": 1}"#).unwrap(),
            Either::Object { min: 1 }
        );
        assert_eq!(
            parse::<std::collections::BTreeMap<String, i64>>("t", br#"{"a": 1}"#).unwrap()["a"],
            1
        );
    }

    #[test]
    fn a_string_number_or_boolean_for_a_struct_is_refused_naming_its_fields() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Two {
            column: String,
            min: i64,
        }
        let fields =
            "but the operator takes an object that names its fields: `{\"column\": …, \"min\": …}`";
        for (text, said) in [
            (
                &br#" "column=amount" "#[..],
                r#"the JSON string `"column=amount"`"#,
            ),
            (b"10", "the JSON number `10`"),
            (b"-1.5", "the JSON number `-1.5`"),
            (b"true", "the JSON boolean `true`"),
        ] {
            assert_eq!(
                parse::<Two>("t", text).unwrap_err().to_string(),
                format!("invalid configuration for operator `t`: it is {said}, {fields}")
            );
        }
        let long = format!("\"{}\"", "x".repeat(100));
        assert_eq!(
            parse::<Option<Two>>("t", long.as_bytes())
                .unwrap_err()
                .to_string(),
            format!(
                "invalid configuration for operator `t`: it is the JSON string `\"{}…`, {fields}",
                "x".repeat(79)
            )
        );
        // Text that is no JSON is not called a string, number or boolean.
        for (text, said) in [
            (&b"tru"[..], "EOF while parsing a value"),
            (b"fals e", "expected ident"),
            (b"\"abc", "EOF while parsing a string"),
            (b"-", "EOF while parsing a value"),
        ] {
            assert_eq!(
                parse::<Two>("t", text).unwrap_err().to_string(),
                format!("invalid configuration for operator `t`: {said}")
            );
        }
        // A type that reads a string is given one as serde reads it.
        assert_eq!(parse::<String>("t", br#""a""#).unwrap(), "a");
        let err = parse::<i64>("t", br#""a""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t`: invalid type: string \"a\", expected i64"
        );
    }

    #[test]
    fn an_operator_without_configuration_refuses_one() {
        for ok in ["null", "{}", " { } "] {
            parse::<NoConfig>("t", ok.as_bytes()).unwrap();
        }
        let err = parse::<NoConfig>("t", br#"{"column": "amount"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t`: unexpected key `column`: the operator takes no configuration, since its `new` takes none (pass `null` or `{}`)"
        );
        let err = parse::<NoConfig>("t", b"7").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t`: invalid type: integer `7`, expected no configuration (`null` or `{}`), since its `new` takes none"
        );
    }

    /// The path goes as far as serde reads the JSON itself: through an enum tagged the
    /// default way, not into an internally tagged one (or an untagged one, or a
    /// `#[serde(flatten)]` field), which serde reads from a copy it buffered (README,
    /// "Plugin author's guide").
    #[test]
    fn the_path_stops_where_serde_buffers() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        #[serde(rename_all = "snake_case")]
        enum External {
            Fixed { value: i64 },
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            mode: External,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        #[serde(tag = "mode", rename_all = "snake_case")]
        enum Internal {
            Fixed { value: i64 },
        }
        let err = parse::<Outer>("t", br#"{"mode": {"fixed": {"value": "3"}}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t` at `mode.fixed.value`: invalid type: string \"3\", expected i64"
        );
        let err = parse::<Internal>("t", br#"{"mode": "fixed", "value": "3"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t`: invalid type: string \"3\", expected i64"
        );
    }
}
