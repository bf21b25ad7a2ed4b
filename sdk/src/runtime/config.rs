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

/// Reads the configuration of operator `operator` from the host's JSON.
pub(crate) fn parse<C: DeserializeOwned>(operator: &str, config: &[u8]) -> Result<C> {
    let text = std::str::from_utf8(config).map_err(|e| {
        Error::unlocated(format!(
            "the configuration of operator `{operator}` is not UTF-8: {e}"
        ))
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let config: C = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = without_position(&e.into_inner());
        // serde reads a struct from a list too, as its fields in order: a list given for
        // a configuration that is an object is said to be the cause.
        let hint = if text.trim_start().starts_with('[') && takes_an_object::<C>() {
            " (the configuration is a JSON list, which is read as the fields in their order; give an object that names them: `{\"field\": …}`)"
        } else {
            ""
        };
        if path == "." {
            Error::unlocated(format!(
                "invalid configuration for operator `{operator}`: {inner}{hint}"
            ))
        } else {
            Error::unlocated(format!(
                "invalid configuration for operator `{operator}` at `{path}`: {inner}{hint}"
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

/// Whether `C` is read from a JSON object (a struct, a map): whether `{}` reaches it as
/// one, rather than being refused as a map (as a list or a number is). Asked only when a
/// configuration was refused.
fn takes_an_object<C: DeserializeOwned>() -> bool {
    match serde_json::from_str::<C>("{}") {
        Ok(_) => true,
        Err(e) => !e.to_string().starts_with("invalid type: map"),
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

    #[test]
    fn a_list_for_an_object_says_so_and_a_list_for_a_list_does_not() {
        let err = parse::<Config>("t", br#"["ten"]"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t` at `[0]`: invalid type: string \"ten\", expected i64 (the configuration is a JSON list, which is read as the fields in their order; give an object that names them: `{\"field\": …}`)"
        );
        // serde reads a list that fits the fields: that is no error.
        assert_eq!(parse::<Config>("t", b"[3]").unwrap().min, 3);
        let err = parse::<Vec<i64>>("t", br#"["ten"]"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for operator `t` at `[0]`: invalid type: string \"ten\", expected i64"
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
}
