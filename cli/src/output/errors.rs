//! The writers' errors, worded for the user: an error or a panic of a writer as an output
//! error, said of the file when the output goes to one, and a closed standard output as no
//! failure.

use std::path::PathBuf;

use oplink::arrow::schema::ArrowError;

use super::destination::Destination;
use super::format::format_name;
use crate::args::OutputFormat;
use crate::error::CliError;

/// `error`, naming the file when the output goes to one.
pub(super) fn naming_file(error: CliError, destination: &Destination) -> CliError {
    match destination {
        Destination::File { path, .. } => in_file(error, path.clone()),
        Destination::Stream => error,
    }
}

/// An error writing the output, said of the file `path` it was written to.
pub(super) fn in_file(error: CliError, path: PathBuf) -> CliError {
    match error {
        CliError::Output(reason) => CliError::OutputFile { path, reason },
        other => other,
    }
}

/// The error of a writer that panicked.
pub(super) fn writer_panicked(format: OutputFormat, message: &str) -> CliError {
    let name = match format {
        OutputFormat::Table => "table",
        other => format_name(other),
    };
    CliError::Output(format!(
        "the {name} writer cannot write these columns ({message}); write another format"
    ))
}

/// The Parquet writer's error; a closed standard output is not a failure (the writer wraps
/// the I/O error it met).
pub(super) fn parquet_write(error: parquet::errors::ParquetError) -> CliError {
    use parquet::errors::ParquetError;
    match &error {
        ParquetError::External(inner) => {
            if let Some(io) = inner.downcast_ref::<std::io::Error>() {
                return CliError::write(std::io::Error::new(io.kind(), io.to_string()));
            }
        }
        // Its last flush, in words only.
        ParquetError::General(words) if words.contains(&broken_pipe_words()) => {
            return CliError::BrokenPipe;
        }
        _ => {}
    }
    CliError::Output(error.to_string())
}

/// An arrow writer's error; a closed standard output is not a failure.
pub(super) fn arrow_write(error: ArrowError) -> CliError {
    match error {
        ArrowError::IoError(_, io) => CliError::write(io),
        // The CSV writer keeps only the words of the I/O error it met.
        ArrowError::CsvError(words) if words.contains(&broken_pipe_words()) => CliError::BrokenPipe,
        // Its words (an I/O error's, as a rule) without "Csv error:" and "(os error N)".
        ArrowError::CsvError(words) => CliError::Output(
            words
                .split(" (os error")
                .next()
                .unwrap_or(&words)
                .to_owned(),
        ),
        other => CliError::Output(other.to_string()),
    }
}

/// How the system words a write to a closed pipe (`EPIPE`, 32 on Linux and macOS).
fn broken_pipe_words() -> String {
    const EPIPE: i32 = 32;
    let text = std::io::Error::from_raw_os_error(EPIPE).to_string();
    text.split(" (os error").next().unwrap_or(&text).to_owned()
}
