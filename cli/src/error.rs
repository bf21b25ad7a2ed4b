//! Every error the command line reports: one sentence each (a configuration error adds the
//! offending text and a caret), no backtrace. `main` prints it after `oplink: ` and exits
//! with status 1.

use std::path::{Path, PathBuf};

/// An error of the `oplink` command line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A file or folder named on the command line does not exist.
    #[error("{given_by}`{}` does not exist{}", path.display(), hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Missing {
        /// The option that named it, with what follows it in the message (`--plugins `),
        /// or nothing for the input.
        given_by: String,
        /// The path as given.
        path: PathBuf,
        /// For a library: the file most likely meant, or what cargo lacks to build it.
        hint: Option<String>,
    },
    /// A file could not be read or written.
    #[error("cannot {action} `{}`: {}", path.display(), plain(source))]
    Io {
        /// What was being done: `read`, `create`, `write`, ….
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// No plugin on the plugin path offers the operator asked for.
    #[error(
        "no plugin in {searched} offers an operator `{name}`{}; {}{}",
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        if available.is_empty() {
            "no operators were found there".to_owned()
        } else {
            format!("the operators found are {}", available.iter().map(|(a, offers)| match offers {
                1 => format!("`{a}`"),
                n => format!("`{a}` (in {n} libraries)"),
            }).collect::<Vec<_>>().join(", "))
        },
        passed_over,
    )]
    UnknownOperator {
        /// The name asked for.
        name: String,
        /// The folders and files searched, in words.
        searched: String,
        /// The operators that exist there, each with how many libraries offer it (one
        /// that more than one offers is used from none).
        available: Vec<(String, usize)>,
        /// The nearest of them, when one is near.
        suggestion: Option<String>,
        /// What the folders searched held that was not loaded, in words (`; 1 library
        /// there could not be loaded …`), or nothing: libraries rejected, symbolic links
        /// passed over, Rust libraries without their shared one.
        passed_over: String,
    },
    /// An operator's configuration is not valid JSON, or holds what would not reach the
    /// operator as written.
    #[error("the configuration of `{operator}` {source_text} {reason}{}", excerpt.as_ref().map(|e| format!("\n{e}")).unwrap_or_default())]
    BadConfig {
        /// The operator.
        operator: String,
        /// Where the configuration came from: `(inline)` or `(from config.json)`.
        source_text: String,
        /// What is wrong, with the line and column: `is not valid JSON: …` and what
        /// serde_json said.
        reason: String,
        /// The offending line and a caret under the column.
        excerpt: Option<String>,
    },
    /// A data file could not be read as the format it claims to be.
    #[error("cannot read `{}`{}: {reason}", path.display(), place(*line, column.as_deref()))]
    Data {
        /// The file.
        path: PathBuf,
        /// The line (1-based) where reading failed, when known.
        line: Option<u64>,
        /// The column (a field's name or a 1-based position), when known.
        column: Option<String>,
        /// What was wrong.
        reason: String,
    },
    /// Standard output was closed by its reader (`oplink inspect ... | head`): not a
    /// failure, `main` exits quietly.
    #[error("the output was closed")]
    BrokenPipe,
    /// Standard output was closed by its reader before a run with `--state` ended: a
    /// failure, since the state was not kept.
    #[error("the output was closed before the run ended, so `--state` was not saved")]
    ClosedBeforeStateSaved,
    /// The output could not be written as asked.
    #[error("cannot write the output: {0}")]
    Output(String),
    /// The output file given by `--output` could not be written as asked.
    #[error("cannot write `{}`: {reason}", path.display())]
    OutputFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An argument is not usable (an unknown format, a malformed schema, ...).
    #[error("{0}")]
    Usage(String),
    /// The plugin path is empty.
    #[error(
        "no plugin folder given: pass `--plugins DIR` (a folder or a library file; repeatable) or set OPLINK_PLUGIN_PATH"
    )]
    NoPluginPath,
    /// Some libraries failed `oplink check`.
    #[error("{failed} of {total} {} failed the check{}", match (*total == 1, *folders || !missing.is_empty()) {
        (true, false) => "library",
        (false, false) => "libraries",
        (true, true) => "path",
        (false, true) => "paths",
    }, match missing.as_slice() {
        [] => String::new(),
        [path] => format!("; `{path}` does not exist"),
        more => format!("; {} of them do not exist", more.len()),
    })]
    CheckFailed {
        /// How many failed.
        failed: usize,
        /// How many were checked.
        total: usize,
        /// Whether a folder is among the failures (one without plugins), so that they are
        /// not all libraries.
        folders: bool,
        /// The paths given that are not there (as shown): no libraries either.
        missing: Vec<String>,
    },
    /// An operator failed or panicked during the run: the run stops.
    #[error("{source}, on {when}")]
    Stage {
        /// The error, naming the operator, the method and the message.
        source: Box<oplink_host::Error>,
        /// When: which change (and input rows), or the closing tick, flush or snapshot.
        when: String,
    },
    /// An operator returned arrays that are not valid Arrow data (text that is not UTF-8,
    /// offsets that go back, dictionary keys out of range): what an import takes on its
    /// producer's word, checked before anything reads it.
    #[error(
        "operator `{operator}` returned invalid Arrow data from `{method}` (a fault of the operator, for its author to mend): {reason}, on {when}"
    )]
    InvalidOutput {
        /// The operator's name.
        operator: String,
        /// The method that returned it.
        method: &'static str,
        /// What is wrong, naming the diff, its side and the column.
        reason: String,
        /// When: which change (and input rows), or the closing tick.
        when: String,
    },
    /// An operator refused the snapshot `--state` kept for it.
    #[error("{source}, on restoring `{}` ({advice})", path.display())]
    Restore {
        /// The snapshot file.
        path: PathBuf,
        /// What to do: remove the snapshot, which starts the operator afresh unless the
        /// store holds its other part of the state.
        advice: String,
        /// What the operator said.
        source: Box<oplink_host::Error>,
    },
    /// An error of `oplink-host`: loading, instantiating or calling a plugin.
    #[error(transparent)]
    Host(#[from] oplink_host::Error),
}

/// `Result<T, CliError>`.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    /// An I/O error on `path`, or [`CliError::Missing`] when the path does not exist.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> CliError {
        if source.kind() == std::io::ErrorKind::NotFound && action == "read" {
            CliError::Missing {
                given_by: String::new(),
                path: path.to_owned(),
                hint: None,
            }
        } else {
            CliError::Io {
                action,
                path: path.to_owned(),
                source,
            }
        }
    }
}

impl CliError {
    /// Creates the folder `dir` (and the folders above it); a dangling symbolic link in its
    /// place is said to be one (the system says only "File exists").
    pub fn create_dir(dir: &Path) -> Result<(), CliError> {
        std::fs::create_dir_all(dir).map_err(|e| match std::fs::read_link(dir) {
            Ok(target) if !dir.exists() => CliError::Usage(format!(
                "`{}` is a symbolic link to `{}`, which does not exist",
                dir.display(),
                target.display()
            )),
            _ => CliError::io("create", dir, e),
        })
    }

    /// [`CliError::io`] for a library's path: a missing one names the file most likely
    /// meant ([`oplink_host::load::library_path_hint`]).
    pub fn library_io(path: &Path, source: std::io::Error) -> CliError {
        match CliError::io("read", path, source) {
            CliError::Missing { path, given_by, .. } => CliError::Missing {
                given_by,
                hint: oplink_host::load::library_path_hint(&path),
                path,
            },
            other => other,
        }
    }

    /// This error, when it is [`CliError::Missing`], saying which option named the path
    /// (`by` is the words before it: `--plugins `).
    pub fn given_by(self, by: impl Into<String>) -> CliError {
        match self {
            CliError::Missing { path, hint, .. } => CliError::Missing {
                given_by: by.into(),
                path,
                hint,
            },
            other => other,
        }
    }

    /// An error writing the output.
    pub fn write(error: std::io::Error) -> CliError {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Output(plain(&error))
        }
    }
}

/// An I/O error's words without the "(os error N)" suffix.
fn plain(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn place(line: Option<u64>, column: Option<&str>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" at line {line}, column {column}"),
        (Some(line), None) => format!(" at line {line}"),
        (None, Some(column)) => format!(" in column {column}"),
        (None, None) => String::new(),
    }
}

/// The nearest of `candidates` to `name`, when it is near enough to be a likely typo; case
/// counts for nothing (`THRESHOLD` means `threshold`).
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(distance, c)| *distance <= (name.len().max(c.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c.to_owned())
}

/// A list of paths in words: "`a` and `b`".
pub fn paths_in_words(paths: &[PathBuf]) -> String {
    let quoted: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
    match quoted.as_slice() {
        [] => "no folder".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_names_a_likely_typo_and_nothing_else() {
        let names = ["threshold", "running_sum", "lookup"];
        assert_eq!(nearest("treshold", names).as_deref(), Some("threshold"));
        assert_eq!(nearest("runing_sum", names).as_deref(), Some("running_sum"));
        assert_eq!(nearest("sort", names), None);
        assert_eq!(nearest("THRESHOLD", names).as_deref(), Some("threshold"));
        assert_eq!(
            nearest("Running-Sum", names).as_deref(),
            Some("running_sum")
        );
    }

    #[test]
    fn a_missing_file_is_one_sentence_without_the_os_error_number() {
        let error = CliError::io(
            "read",
            Path::new("nope.csv"),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(error.to_string(), "`nope.csv` does not exist");
        let error = CliError::io(
            "create",
            Path::new("/out.csv"),
            std::io::Error::from_raw_os_error(13),
        );
        assert_eq!(
            error.to_string(),
            "cannot create `/out.csv`: Permission denied"
        );
    }
}
