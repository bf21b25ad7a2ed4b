//! Which format the output is written in (`--to`, else `--output`'s extension, else a
//! table), what an extension that disagrees says, and the formats' names for messages.

use std::path::Path;

use crate::args::OutputFormat;
use crate::error::{CliError, Result};
use crate::input::extension;

/// The output format: the one given, else `--output`'s extension's, else a table.
pub fn output_format(path: Option<&Path>, given: Option<OutputFormat>) -> Result<OutputFormat> {
    if let Some(format) = given {
        return Ok(format);
    }
    let Some(path) = path else {
        return Ok(OutputFormat::Table);
    };
    if let Some((compression, tool, _)) = compressed_extension(path) {
        return Err(CliError::Usage(format!(
            "`{}` is named as {compression}, but `oplink run` writes no compressed files; write to standard output with `--to csv` (or another format) and pipe it through `{tool}`",
            path.display()
        )));
    }
    by_extension(path).ok_or_else(|| {
        CliError::Usage(format!(
            "cannot tell the format to write `{}` in from its extension; name it with `--to table|csv|tsv|jsonl|ipc|ipc-stream|parquet`",
            path.display()
        ))
    })
}

/// The format an output file's extension names, if it names one.
fn by_extension(path: &Path) -> Option<OutputFormat> {
    Some(match extension(path).as_str() {
        "csv" => OutputFormat::Csv,
        "tsv" | "tab" => OutputFormat::Tsv,
        "jsonl" | "ndjson" | "json" => OutputFormat::Jsonl,
        "arrow" | "ipc" | "feather" => OutputFormat::Ipc,
        "arrows" => OutputFormat::IpcStream,
        "parquet" | "pq" => OutputFormat::Parquet,
        "txt" | "table" => OutputFormat::Table,
        _ => return None,
    })
}

/// The compression an extension names (`out.csv.gz`: gzip), the tool that makes it and the
/// one that undoes it: `oplink run` neither reads nor writes compressed files, so an output
/// of such a name would hold what it does not say, and an input is decompressed first.
pub(crate) fn compressed_extension(
    path: &Path,
) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match extension(path).as_str() {
        "gz" | "gzip" => ("gzip", "gzip", "gunzip"),
        "zst" | "zstd" => ("Zstandard", "zstd", "unzstd"),
        "bz2" => ("bzip2", "bzip2", "bunzip2"),
        "xz" => ("xz", "xz", "unxz"),
        "zip" => ("a zip archive", "zip", "unzip"),
        _ => return None,
    })
}

/// A warning for `--to` naming another format than `--output`'s extension does (`-o
/// out.csv --to parquet` writes Parquet, which whatever opens `out.csv` next will not read).
pub fn extension_disagrees(path: &Path, given: OutputFormat) -> Option<String> {
    if let Some((compression, tool, _)) = compressed_extension(path) {
        return Some(format!(
            "`{}` is written as {}, uncompressed, though its extension says {compression}: `oplink run` writes no compressed files (pipe standard output through `{tool}`)",
            path.display(),
            format_name(given),
        ));
    }
    let named = by_extension(path).filter(|&named| named != given)?;
    Some(format!(
        "`{}` is written as {}, as `--to` says, though its extension says {}",
        path.display(),
        format_name(given),
        format_name(named)
    ))
}

/// The format's name, for messages.
pub fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Table => "a table",
        OutputFormat::Csv => "CSV",
        OutputFormat::Tsv => "TSV",
        OutputFormat::Jsonl => "JSON lines",
        OutputFormat::Ipc => "Arrow IPC",
        OutputFormat::IpcStream => "Arrow IPC (stream)",
        OutputFormat::Parquet => "Parquet",
        OutputFormat::None => "nothing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_comes_from_the_extension_or_a_clear_error() {
        assert_eq!(output_format(None, None).unwrap(), OutputFormat::Table);
        assert_eq!(
            output_format(Some(Path::new("out.xlsx")), None)
                .unwrap_err()
                .to_string(),
            "cannot tell the format to write `out.xlsx` in from its extension; name it with `--to table|csv|tsv|jsonl|ipc|ipc-stream|parquet`"
        );
    }
}
