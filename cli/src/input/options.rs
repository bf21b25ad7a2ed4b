//! The reading options written on the command line: `--delimiter` and `--schema`.

use std::path::Path;

use oplink::arrow::schema::{DataType, Field, Schema, TimeUnit};

use crate::args::InputFormat;
use crate::error::{CliError, Result};

/// Parses `--delimiter`: one ASCII character (not a quote or a line break), or `tab` / `\t`.
pub fn parse_delimiter(spec: &str) -> Result<u8> {
    match spec {
        "tab" | "\\t" => return Ok(b'\t'),
        "\"" | "\n" | "\r" => {
            return Err(CliError::Usage(format!(
                "--delimiter cannot be `{}`: it quotes or ends CSV records",
                spec.escape_default()
            )));
        }
        _ => {}
    }
    match spec.as_bytes() {
        [byte] if byte.is_ascii() => Ok(*byte),
        _ => Err(CliError::Usage(format!(
            "--delimiter must be one ASCII character, or `tab`, not `{spec}`"
        ))),
    }
}

/// The field separator `format` reads with: `given`, else the format's own; an error when
/// one is given for a format that has none.
pub(super) fn delimiter_for(path: &Path, format: InputFormat, given: Option<u8>) -> Result<u8> {
    match (format, given) {
        (InputFormat::Csv, given) => Ok(given.unwrap_or(b',')),
        (InputFormat::Tsv, given) => Ok(given.unwrap_or(b'\t')),
        (_, None) => Ok(b','),
        (format, Some(_)) => Err(CliError::Usage(format!(
            "--delimiter is for CSV and TSV input; `{}` is read as {}",
            path.display(),
            match format {
                InputFormat::Jsonl => "JSON lines",
                InputFormat::Ipc => "Arrow IPC",
                _ => "Parquet",
            }
        ))),
    }
}

/// Parses a schema written as `name:type,...`; every field may hold nulls.
pub fn parse_schema(spec: &str) -> Result<Schema> {
    let mut fields = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, ty)) = part.rsplit_once(':') else {
            return Err(CliError::Usage(format!(
                "--schema: `{part}` is not `name:type` (for example `amount:int64`)"
            )));
        };
        let data_type = match ty.trim().to_ascii_lowercase().as_str() {
            "utf8" | "string" | "str" => DataType::Utf8,
            "int8" => DataType::Int8,
            "int16" => DataType::Int16,
            "int32" => DataType::Int32,
            "int64" | "int" => DataType::Int64,
            "uint8" => DataType::UInt8,
            "uint16" => DataType::UInt16,
            "uint32" => DataType::UInt32,
            "uint64" => DataType::UInt64,
            "float32" => DataType::Float32,
            "float64" | "float" | "double" => DataType::Float64,
            "bool" | "boolean" => DataType::Boolean,
            "date32" | "date" => DataType::Date32,
            "timestamp_ms" => DataType::Timestamp(TimeUnit::Millisecond, None),
            "timestamp_us" | "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
            other => {
                return Err(CliError::Usage(format!(
                    "--schema: unknown type `{other}` for `{}`; use one of utf8, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool, date32, timestamp_ms, timestamp_us",
                    name.trim()
                )));
            }
        };
        if fields.iter().any(|f: &Field| f.name() == name.trim()) {
            return Err(CliError::Usage(format!(
                "--schema names the column `{}` twice",
                name.trim()
            )));
        }
        fields.push(Field::new(name.trim(), data_type, true));
    }
    if fields.is_empty() {
        return Err(CliError::Usage(
            "--schema is empty; write it as `name:type,...`".to_owned(),
        ));
    }
    Ok(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_spec_names_every_field_and_refuses_unknown_types() {
        let schema = parse_schema("customer:utf8, amount:int64,price:float64").unwrap();
        assert_eq!(schema.field(1).data_type(), &DataType::Int64);
        assert_eq!(schema.fields().len(), 3);
        assert_eq!(
            parse_schema("amount:money").unwrap_err().to_string(),
            "--schema: unknown type `money` for `amount`; use one of utf8, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool, date32, timestamp_ms, timestamp_us"
        );
        assert_eq!(
            parse_schema("amount").unwrap_err().to_string(),
            "--schema: `amount` is not `name:type` (for example `amount:int64`)"
        );
        assert_eq!(
            parse_schema(" , ").unwrap_err().to_string(),
            "--schema is empty; write it as `name:type,...`"
        );
        // A name may hold a `:`: the type is after the last one.
        let schema = parse_schema("time:utc:timestamp_ms").unwrap();
        assert_eq!(schema.field(0).name(), "time:utc");
    }
}
