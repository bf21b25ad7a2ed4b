//! Everything that can go wrong on the host side, one readable sentence each.

use std::borrow::Cow;
use std::path::PathBuf;

/// An error of loading, instantiating or calling a plugin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened as a shared library at all.
    #[error("cannot load `{path}` as a shared library: {reason}")]
    Open {
        /// The library's path.
        path: PathBuf,
        /// What the dynamic loader said: a missing file, a missing dependency or symbol, ….
        reason: String,
        /// The loader's error.
        #[source]
        source: libloading::Error,
    },
    /// Opening the library in a child process first (a checked load) ended that process: a
    /// constructor aborted or exited, the file crashed the loader, or the check hung.
    #[error("`{path}` was not loaded: {reason}")]
    CheckFailed {
        /// The library's path.
        path: PathBuf,
        /// How the check process ended.
        reason: String,
    },
    /// Two libraries found by discovery offer the same operator: neither is picked.
    #[error(
        "{}; load the one to use by its path with `Plugin::load`, or take the others out of the folders searched",
        crate::load::conflict_words(operator, paths)
    )]
    Conflict {
        /// The operator's name.
        operator: String,
        /// The libraries that offer it.
        paths: Vec<PathBuf>,
    },
    /// The state store cannot be opened, read or written.
    #[error("{}: {reason}", store_named(.path))]
    State {
        /// The store's file (empty for the in-memory store).
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Another live instance holds the state scope asked for.
    #[error(
        "state `{scope}` of {} is in use by a live instance of operator `{holder}`; give each instance a name of its own, or drop that one first", store_named(.path)
    )]
    StateInUse {
        /// The scope's name.
        scope: String,
        /// The operator of the live instance that holds it.
        holder: String,
        /// The store's file (empty for the in-memory store).
        path: PathBuf,
    },
    /// A [`LiveInstance`](crate::LiveInstance) was called from inside one of its own calls
    /// (a host service it called, calling back into it): the instance is busy with that
    /// call, which would wait for this one forever. Seen on the calling thread only: a
    /// thread the operator spawned, calling back while the call that spawned it waits for
    /// it, waits forever instead.
    #[error(
        "`{method}` was called on operator `{operator}` from inside one of its own calls on this thread (a host service it called, calling back, or code inside `LiveInstance::with`): it is busy with that call, so this one would wait forever"
    )]
    Reentrant {
        /// The operator's name.
        operator: String,
        /// The method called (`LiveInstance::apply`, `oplink_host::reload_all`, ...).
        method: &'static str,
    },
    /// A reload or a recovery failed; the instance that was serving still serves.
    #[error(
        "reloading operator `{operator}`{} failed, and the old instance keeps serving: {reason}",
        of_state(state)
    )]
    Reload {
        /// The operator's name.
        operator: String,
        /// The instance's state name, when it has one: which of several instances of the
        /// operator it is.
        state: Option<String>,
        /// What failed.
        reason: String,
    },
    /// A reload or a recovery of a poisoned instance failed, or a reload whose `snapshot`
    /// of the old instance panicked or answered an unknown status (which poisoned it): it
    /// is poisoned, whether it was before or became so now (call `recover` or `reload`
    /// again once the cause is fixed).
    #[error(
        "{action} operator `{operator}`{} failed, and it is poisoned: {reason}; it refuses every call until a `recover()` or `reload` succeeds (`reload` a build that fixes this, or drop it)",
        of_state(state)
    )]
    StillPoisoned {
        /// The operator's name.
        operator: String,
        /// The instance's state name, when it has one.
        state: Option<String>,
        /// `reloading` or `recovering`.
        action: &'static str,
        /// What failed.
        reason: String,
    },
    /// A library could not be copied for a fresh load.
    #[error("cannot copy `{path}` to load a fresh copy of it: {reason}")]
    CopyFailed {
        /// The library's path.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// A folder discovery was asked to search cannot be read.
    #[error("cannot search `{path}` for plugins: {reason}")]
    FolderUnreadable {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// No plugin that discovery found offers the operator.
    #[error("no plugin found offers operator `{name}`; found: {available}")]
    NotFound {
        /// The name asked for.
        name: String,
        /// The operators found, comma-separated, each offered by several libraries marked
        /// so (or "none", with why when no folder was searched), then the libraries that
        /// were rejected and why, when some were.
        available: String,
    },
    /// The file is a library for another machine.
    #[error("`{path}` is not a library for this host: {detail}")]
    WrongTarget {
        /// The library's path.
        path: PathBuf,
        /// What it was built for, and what this host is.
        detail: String,
    },
    /// The file at the path is not the one this process loaded from it before (a new build
    /// renamed into place, or a file overwritten in place, say): the dynamic loader would
    /// hand back the first under that name, so the new one is refused rather than silently
    /// served as the old (or, overwritten, read as garbage).
    #[error(
        "`{path}` is not the file this process loaded from that path before (a new build replaced it, or it was written over in place?), and the dynamic loader keeps serving the first under that name: load the new one with `Plugin::load_fresh` (and put new builds in place by renaming them: a library overwritten in place changes under the instances running from it)"
    )]
    Replaced {
        /// The path.
        path: PathBuf,
    },
    /// The path is empty: `dlopen("")` would open the host program itself.
    #[error("an empty path names no library (the loader would open this program itself)")]
    EmptyPath,
    /// The path is a folder or a device, not a library file.
    #[error(
        "`{path}` is not a file (a folder or a device): give the path of the library itself, or search a folder with `Discovery`"
    )]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file cannot be opened or read (no permission to, say).
    #[error("`{path}` cannot be read: {reason}")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// The file is shorter than its own headers say (loading it would crash the process).
    #[error(
        "`{path}` is truncated or damaged: {detail} (a copy cut short, or a file still being written? build or copy it again, and put it in place by renaming it once it is whole)"
    )]
    Truncated {
        /// The library's path.
        path: PathBuf,
        /// Where the file ends and what lies beyond.
        detail: String,
    },
    /// The library does not export any oplink entry symbol.
    #[error(
        "`{path}` is not an oplink plugin: it exports no `oplink_plugin_v2` symbol (a Rust plugin gets it from `#[oplink::operator]` in a `cdylib` crate; a C one defines it with `OPLINK_ENTRY`)"
    )]
    NotAPlugin {
        /// The library's path.
        path: PathBuf,
    },
    /// The library speaks another major version of the ABI.
    #[error(
        "`{path}` was built for oplink ABI {found}, but this host speaks ABI {expected}: {}",
        if *found < u32::from(*expected) {
            format!(
                "rebuild it against oplink {} (a C library: against this host's `oplink.h`)",
                crate::OPLINK_SERIES
            )
        } else {
            "load it with a host built on a newer oplink".to_owned()
        }
    )]
    AbiMajor {
        /// The library's path.
        path: PathBuf,
        /// The library's ABI major.
        found: u32,
        /// This host's ABI major.
        expected: u16,
    },
    /// The library was built against a newer minor version than this host knows.
    #[error(
        "`{path}` was built for oplink ABI {major}.{found}{}, newer than this host's {major}.{supported} (oplink {}): load it with a host {}",
        oplink_version.as_ref().map(|v| format!(" (oplink {v})")).unwrap_or_default(),
        env!("CARGO_PKG_VERSION"),
        match oplink_version.as_deref() {
            // Only a newer oplink than this host's can help; a library that names another
            // (a C library's header set by hand, say) is told the minor to look for.
            Some(v) if newer_than_this(v) => format!("built on oplink {v} or newer"),
            _ => format!("that speaks ABI {}.{found} or newer", oplink::abi::ABI_MAJOR),
        },
        major = oplink::abi::ABI_MAJOR,
    )]
    AbiMinor {
        /// The library's path.
        path: PathBuf,
        /// The library's ABI minor.
        found: u16,
        /// This host's ABI minor.
        supported: u16,
        /// The oplink version the library says it was built with (its header's
        /// `oplink_version`), when it is readable.
        oplink_version: Option<String>,
    },
    /// The header does not start with oplink's magic bytes.
    #[error(
        "`{path}` has a bad oplink header: its magic bytes are {found:02x?}, expected {expected:02x?}"
    )]
    BadMagic {
        /// The library's path.
        path: PathBuf,
        /// What the header starts with.
        found: [u8; 8],
        /// What it should start with.
        expected: [u8; 8],
    },
    /// The library's ABI structs are laid out differently from the host's.
    #[error("`{path}` was built with a different ABI layout than this host: {detail}")]
    Layout {
        /// The library's path.
        path: PathBuf,
        /// Which struct differs, and how.
        detail: String,
    },
    /// Something in the header or a descriptor is malformed.
    #[error("`{path}` has an invalid oplink header: {detail}")]
    InvalidHeader {
        /// The library's path.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The library, or the crate of one of its operators, was built with `panic = "abort"`.
    #[error(
        "`{path}` was built with panic = \"abort\"{}, so any panic in it would abort this process; rebuild it with panic = \"unwind\" (in the profile, `RUSTFLAGS` and `cargo rustc` flags alike; a C library: set its `panic_strategy` to `OPLINK_PANIC_UNWIND`)",
        operator.as_ref().map(|o| format!(" (operator `{o}`)")).unwrap_or_default()
    )]
    PanicAbort {
        /// The library's path.
        path: PathBuf,
        /// The operator whose crate was built so, when the SDK itself was not.
        operator: Option<String>,
    },
    /// Two operators of one library share a name: in a Rust library, two crates linked into
    /// it define an operator of that name (a plugin crate it depends on brings its operators).
    #[error(
        "`{path}` defines the operator `{name}` twice ({}): a Rust library has the operators of every crate linked into it, a plugin crate it depends on included, so two of them define that name; rename one (a C library: list each operator once)",
        duplicate_versions(versions)
    )]
    DuplicateOperator {
        /// The library's path.
        path: PathBuf,
        /// The repeated name.
        name: String,
        /// The versions of the two operators of that name, in the order the library lists them.
        versions: [String; 2],
    },
    /// `instantiate` named an operator the library does not have.
    #[error("`{path}` has no operator `{name}`; it has: {available}")]
    UnknownOperator {
        /// The library's path.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The names it has, comma-separated.
        available: String,
    },
    /// The operator requires a host service this host does not provide.
    #[error(
        "operator `{operator}` requires the host service `{service}`, which this host does not provide ({provided}); add it with {}",
        provide_hint(service)
    )]
    MissingService {
        /// The operator's name.
        operator: String,
        /// The service's name.
        service: String,
        /// What the host does provide, in words.
        provided: String,
    },
    /// The operator was built against another version of a service than the host's.
    #[error(
        "operator `{operator}` was built against another version of the host service `{service}`: {difference}; build the plugin and the host against one version of the service's trait (a host's may have more methods, appended at the end, than the plugin's)"
    )]
    ServiceMismatch {
        /// The operator's name.
        operator: String,
        /// The service's name.
        service: String,
        /// Which method differs, and how.
        difference: String,
    },
    /// The configuration could not be turned into JSON.
    #[error(
        "cannot serialise the configuration of operator `{operator}` as JSON, which is how it reaches the plugin: {source}; give a value `serde_json::to_value` takes (a map's keys must be strings)"
    )]
    Config {
        /// The operator's name.
        operator: String,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// The plugin refused the configuration (its `new` never ran). The message is the
    /// plugin's, which a Rust operator's names the operator and the field; one that does
    /// not name the operator (a C operator's, say) is said to be about it.
    #[error(
        "{}{}",
        if message.contains(&format!("`{operator}`")) {
            String::new()
        } else {
            format!("operator `{operator}` refused its configuration: ")
        },
        shown(message)
    )]
    InvalidConfig {
        /// The operator's name.
        operator: String,
        /// What is wrong, naming the operator and the field.
        message: String,
    },
    /// The operator returned an error.
    #[error(
        "operator `{operator}` failed in `{method}`: {}{}",
        or_note(message),
        at(location)
    )]
    Failed {
        /// The operator's name.
        operator: String,
        /// The method that failed.
        method: &'static str,
        /// The operator's message.
        message: String,
        /// `file:line:column` where the error was made, when known.
        location: Option<String>,
    },
    /// The operator panicked; the instance is poisoned from now on (a panic in `new`
    /// leaves no instance).
    #[error(
        "operator `{operator}` panicked in `{method}`: {}{}",
        or_note(message),
        at(location)
    )]
    Panicked {
        /// The operator's name.
        operator: String,
        /// The method that panicked.
        method: &'static str,
        /// The panic's message.
        message: String,
        /// `file:line:column` of the panic, when known.
        location: Option<String>,
    },
    /// An earlier panic (or a failure as final: an unknown status, an output that could not
    /// be trusted) poisoned the instance; it refuses every further call.
    ///
    /// What to do, the message says: an instance held by a
    /// [`LiveInstance`](crate::LiveInstance) is recreated with its `recover()`; any other is
    /// dropped and created anew.
    #[error(
        "operator `{operator}`{} is poisoned by {cause} in `{panicked_in}` and refuses `{method}`; {}",
        of_state(state),
        if *live {
            "call `recover()` on its `LiveInstance` to create it again from its last good snapshot (from scratch if it has none), or `reload` a fixed build"
        } else {
            "drop it and create a new one (a `LiveInstance` has `recover()` for that)"
        }
    )]
    Poisoned {
        /// The operator's name.
        operator: String,
        /// The instance's state name, when it has one: which of several instances of the
        /// operator it is.
        state: Option<String>,
        /// Whether the instance is held by a [`LiveInstance`](crate::LiveInstance) (which
        /// `recover()` recreates).
        live: bool,
        /// The method refused now.
        method: &'static str,
        /// The method that panicked (or failed so) earlier.
        panicked_in: &'static str,
        /// What poisoned it: `a panic`, `an unknown status`, or `an output the host could
        /// not trust` (a diff array whose headers no sender writes).
        cause: &'static str,
    },
    /// Data could not cross the boundary (either way).
    #[error("operator `{operator}` in `{method}`: {}", shown(message))]
    Data {
        /// The operator's name.
        operator: String,
        /// The method being called.
        method: &'static str,
        /// What was wrong with the data.
        message: String,
    },
}

/// `$found` with `$path` bound to the path of a variant that names a file, `$other` for
/// the rest: the one list of those variants, for shared and mutable access alike.
macro_rules! on_path {
    ($error:expr, $path:ident => $found:expr, $other:expr) => {
        match $error {
            Error::Open { path: $path, .. }
            | Error::CheckFailed { path: $path, .. }
            | Error::State { path: $path, .. }
            | Error::StateInUse { path: $path, .. }
            | Error::CopyFailed { path: $path, .. }
            | Error::Unreadable { path: $path, .. }
            | Error::FolderUnreadable { path: $path, .. }
            | Error::WrongTarget { path: $path, .. }
            | Error::NotAFile { path: $path, .. }
            | Error::Replaced { path: $path, .. }
            | Error::Truncated { path: $path, .. }
            | Error::NotAPlugin { path: $path, .. }
            | Error::AbiMajor { path: $path, .. }
            | Error::AbiMinor { path: $path, .. }
            | Error::BadMagic { path: $path, .. }
            | Error::Layout { path: $path, .. }
            | Error::InvalidHeader { path: $path, .. }
            | Error::PanicAbort { path: $path, .. }
            | Error::DuplicateOperator { path: $path, .. }
            | Error::UnknownOperator { path: $path, .. } => $found,
            // Every other variant, by name: a new one must be sorted into one arm or the other.
            Error::EmptyPath
            | Error::Conflict { .. }
            | Error::Reentrant { .. }
            | Error::Reload { .. }
            | Error::StillPoisoned { .. }
            | Error::NotFound { .. }
            | Error::MissingService { .. }
            | Error::ServiceMismatch { .. }
            | Error::Config { .. }
            | Error::InvalidConfig { .. }
            | Error::Failed { .. }
            | Error::Panicked { .. }
            | Error::Poisoned { .. }
            | Error::Data { .. } => $other,
        }
    };
}

/// The versions of two operators of one name, in words: `versions 1.0.0 and 1.1.0`, or
/// `both of version 1.0.0`.
fn duplicate_versions([first, second]: &[String; 2]) -> String {
    if first == second {
        format!("both of version {first}")
    } else {
        format!("versions {first} and {second}")
    }
}

/// A state store in words: its file, or that it is in memory.
fn store_named(path: &std::path::Path) -> String {
    if path.as_os_str().is_empty() {
        "the in-memory state store".to_owned()
    } else {
        format!("state store `{}`", path.display())
    }
}

impl Error {
    /// The file the error is about (a library, a store, a folder), if it is about one: for a
    /// host that reports errors of its own shape.
    pub fn path(&self) -> Option<&std::path::Path> {
        // An in-memory store's error has no file.
        on_path!(self, path => Some(path.as_path()), None).filter(|p| !p.as_os_str().is_empty())
    }

    /// The operator the error is about, if it is about one (the name asked for, for an
    /// operator that was not found).
    pub fn operator(&self) -> Option<&str> {
        match self {
            Error::Config { operator, .. }
            | Error::Conflict { operator, .. }
            | Error::Data { operator, .. }
            | Error::Failed { operator, .. }
            | Error::InvalidConfig { operator, .. }
            | Error::MissingService { operator, .. }
            | Error::Panicked { operator, .. }
            | Error::Poisoned { operator, .. }
            | Error::Reentrant { operator, .. }
            | Error::Reload { operator, .. }
            | Error::ServiceMismatch { operator, .. }
            | Error::StillPoisoned { operator, .. } => Some(operator),
            Error::NotFound { name, .. }
            | Error::UnknownOperator { name, .. }
            | Error::DuplicateOperator { name, .. } => Some(name),
            Error::PanicAbort { operator, .. } => operator.as_deref(),
            // Every other variant, by name: a new one must be sorted into one arm or the other.
            Error::EmptyPath
            | Error::Open { .. }
            | Error::CheckFailed { .. }
            | Error::State { .. }
            | Error::StateInUse { .. }
            | Error::CopyFailed { .. }
            | Error::FolderUnreadable { .. }
            | Error::WrongTarget { .. }
            | Error::Replaced { .. }
            | Error::NotAFile { .. }
            | Error::Unreadable { .. }
            | Error::Truncated { .. }
            | Error::NotAPlugin { .. }
            | Error::AbiMajor { .. }
            | Error::AbiMinor { .. }
            | Error::BadMagic { .. }
            | Error::Layout { .. }
            | Error::InvalidHeader { .. } => None,
        }
    }

    /// The same error, naming `to` where it named the file `from` (a reload's copy of a
    /// library, named after the file the user gave).
    pub(crate) fn naming(mut self, from: &std::path::Path, to: &std::path::Path) -> Error {
        // The loader's own words name the file it was given, too.
        if let Error::Open { reason, .. } | Error::CheckFailed { reason, .. } = &mut self {
            *reason = reason.replace(&*from.to_string_lossy(), &to.to_string_lossy());
        }
        on_path!(&mut self, path => {
            if path == from {
                *path = to.to_path_buf();
            }
        }, {});
        self
    }
}

/// How a host provides the service named `service`, in Rust: the trait's path for a
/// service of `oplink::services`, the trait named as the service when that is a Rust name, and otherwise
/// a word on which trait it is (a service renamed with `name = "…"`).
fn provide_hint(service: &str) -> String {
    let rust_name = |name: &str| {
        name.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    match service.strip_prefix("oplink.") {
        // The one service `oplink::services` declares that a host provides (the standard
        // ones are never missing, and `provide` refuses them; another trait may take an
        // `oplink.` name).
        Some("Lookup") => {
            "`Host::builder().provide::<dyn oplink::services::Lookup>(..)`".to_owned()
        }
        _ if rust_name(service) => format!("`Host::builder().provide::<dyn {service}>(..)`"),
        _ => format!(
            "`Host::builder().provide::<dyn Trait>(..)`, `Trait` being the `#[host_callbacks]` trait named `{service}`"
        ),
    }
}

fn or_note(message: &str) -> Cow<'_, str> {
    if message.trim().is_empty() {
        "(the plugin gave no message)".into()
    } else {
        shown(message)
    }
}

/// The most characters of a plugin's message an error shows (the field keeps it whole).
const MAX_SHOWN_CHARS: usize = 4_096;

/// A plugin's message as an error shows it: on one line, whatever it holds (control
/// characters, such as line breaks and a terminal's escape sequences, written as Rust
/// escapes: `\n`, `\u{1b}`), and cut past [`MAX_SHOWN_CHARS`] characters, saying how long
/// it was. The error's field keeps the message as the plugin gave it.
fn shown(message: &str) -> Cow<'_, str> {
    let cut = message
        .char_indices()
        .nth(MAX_SHOWN_CHARS)
        .map(|(at, _)| at);
    let kept = &message[..cut.unwrap_or(message.len())];
    if cut.is_none() && !kept.contains(char::is_control) {
        return message.into();
    }
    let mut text = String::with_capacity(kept.len() + 32);
    for c in kept.chars() {
        if c.is_control() {
            text.extend(c.escape_debug());
        } else {
            text.push(c);
        }
    }
    if cut.is_some() {
        text.push_str(&format!(
            "… (a message of {} bytes, cut here)",
            message.len()
        ));
    }
    text.into()
}

fn at(location: &Option<String>) -> String {
    location
        .as_ref()
        .map(|l| format!(" (at {l})"))
        .unwrap_or_default()
}

/// `Result<T, oplink_host::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// ` (state `NAME`)` for an instance with a state name; nothing for one without.
fn of_state(state: &Option<String>) -> String {
    state
        .as_deref()
        .map(|name| format!(" (state `{name}`)"))
        .unwrap_or_default()
}

/// What the system said of an I/O error, without the number Rust adds ("No such file or
/// directory", not "No such file or directory (os error 2)").
pub(crate) fn io_words(error: &std::io::Error) -> String {
    let words = error.to_string();
    match words.find(" (os error ") {
        Some(at) => words[..at].to_owned(),
        None => words,
    }
}

/// Whether the semantic version `version` is newer than this host's oplink, by
/// `MAJOR.MINOR.PATCH` (a pre-release or build ignored).
fn newer_than_this(version: &str) -> bool {
    use crate::load::validate::semantic_version;
    match (
        semantic_version(version),
        semantic_version(env!("CARGO_PKG_VERSION")),
    ) {
        (Some(theirs), Some(ours)) => theirs > ours,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::Error;

    /// A plugin's message is shown on one line, its control characters escaped, and cut
    /// past 4,096 characters; the field keeps it whole.
    #[test]
    fn a_plugin_s_message_is_shown_on_one_line_and_cut_when_long() {
        let failed = |message: String| Error::Failed {
            operator: "op".into(),
            method: "apply",
            message,
            location: None,
        };
        let error = failed("line1\nline2\r\u{1b}[31mred\u{7}\0".into());
        assert_eq!(
            error.to_string(),
            "operator `op` failed in `apply`: line1\\nline2\\r\\u{1b}[31mred\\u{7}\\0"
        );
        let long = "é".repeat(5_000);
        let error = failed(long.clone());
        assert_eq!(
            error.to_string(),
            format!(
                "operator `op` failed in `apply`: {}… (a message of 10000 bytes, cut here)",
                "é".repeat(4_096)
            )
        );
        let Error::Failed { message, .. } = error else {
            unreachable!()
        };
        assert_eq!(message, long);
        let data = Error::Data {
            operator: "op".into(),
            method: "apply",
            message: "column `a\nb`".into(),
        };
        assert_eq!(data.to_string(), "operator `op` in `apply`: column `a\\nb`");
    }

    /// A newer minor's refusal says what host to load it with: a newer oplink when the
    /// library names one, else a host of its ABI.
    #[test]
    fn a_newer_minor_is_refused_with_advice_that_can_be_followed() {
        let refusal = |oplink_version: Option<&str>| {
            Error::AbiMinor {
                path: PathBuf::from("/p/libx.so"),
                found: 3,
                supported: 2,
                oplink_version: oplink_version.map(str::to_owned),
            }
            .to_string()
        };
        let this = env!("CARGO_PKG_VERSION");
        assert_eq!(
            refusal(Some("0.9.0")),
            format!(
                "`/p/libx.so` was built for oplink ABI 2.3 (oplink 0.9.0), newer than this host's 2.2 (oplink {this}): load it with a host built on oplink 0.9.0 or newer"
            )
        );
        assert_eq!(
            refusal(Some(this)),
            format!(
                "`/p/libx.so` was built for oplink ABI 2.3 (oplink {this}), newer than this host's 2.2 (oplink {this}): load it with a host that speaks ABI 2.3 or newer"
            )
        );
        // An older oplink, or no version at all, cannot be the host to use.
        assert_eq!(
            refusal(Some("0.0.1")),
            format!(
                "`/p/libx.so` was built for oplink ABI 2.3 (oplink 0.0.1), newer than this host's 2.2 (oplink {this}): load it with a host that speaks ABI 2.3 or newer"
            )
        );
        assert_eq!(
            refusal(Some("banana")),
            format!(
                "`/p/libx.so` was built for oplink ABI 2.3 (oplink banana), newer than this host's 2.2 (oplink {this}): load it with a host that speaks ABI 2.3 or newer"
            )
        );
        assert_eq!(
            refusal(None),
            format!(
                "`/p/libx.so` was built for oplink ABI 2.3, newer than this host's 2.2 (oplink {this}): load it with a host that speaks ABI 2.3 or newer"
            )
        );
    }

    /// `path()` and `operator()` find what an error is about, whatever its variant, and
    /// `naming` renames the one path.
    #[test]
    fn an_error_says_which_file_and_operator_it_is_about() {
        let replaced = Error::Replaced {
            path: PathBuf::from("/p/libx.so"),
        };
        assert_eq!(replaced.path(), Some(Path::new("/p/libx.so")));
        assert_eq!(replaced.operator(), None);
        let renamed = replaced.naming(Path::new("/p/libx.so"), Path::new("/q/libx.so"));
        assert_eq!(renamed.path(), Some(Path::new("/q/libx.so")));
        let unknown = Error::UnknownOperator {
            path: PathBuf::from("/p/liby.so"),
            name: "tally".to_owned(),
            available: "`tag`".to_owned(),
        };
        assert_eq!(
            (unknown.path(), unknown.operator()),
            (Some(Path::new("/p/liby.so")), Some("tally"))
        );
        let failed = Error::Reentrant {
            operator: "enrich".to_owned(),
            method: "LiveInstance::apply",
        };
        assert_eq!((failed.path(), failed.operator()), (None, Some("enrich")));
        let abort = Error::PanicAbort {
            path: PathBuf::from("/p/libz.so"),
            operator: Some("strict".to_owned()),
        };
        assert_eq!(
            (abort.path(), abort.operator()),
            (Some(Path::new("/p/libz.so")), Some("strict"))
        );
    }

    /// Two operators of one name and one version (two copies of one crate linked in) are
    /// said to be so.
    #[test]
    fn a_duplicate_of_one_version_says_both_are_of_it() {
        let duplicate = |versions: [&str; 2]| {
            Error::DuplicateOperator {
                path: PathBuf::from("/p/libx.so"),
                name: "tally".to_owned(),
                versions: versions.map(str::to_owned),
            }
            .to_string()
        };
        assert!(
            duplicate(["1.0.0", "1.0.0"]).starts_with(
                "`/p/libx.so` defines the operator `tally` twice (both of version 1.0.0): "
            ),
            "{}",
            duplicate(["1.0.0", "1.0.0"])
        );
        assert!(duplicate(["1.0.0", "1.1.0"]).starts_with(
            "`/p/libx.so` defines the operator `tally` twice (versions 1.0.0 and 1.1.0): "
        ));
    }

    #[test]
    fn provide_hint_names_the_trait() {
        assert_eq!(
            super::provide_hint("Catalog"),
            "`Host::builder().provide::<dyn Catalog>(..)`"
        );
        assert_eq!(
            super::provide_hint("oplink.Lookup"),
            "`Host::builder().provide::<dyn oplink::services::Lookup>(..)`"
        );
        assert_eq!(
            super::provide_hint("oplink.Rates"),
            "`Host::builder().provide::<dyn Trait>(..)`, `Trait` being the `#[host_callbacks]` trait named `oplink.Rates`"
        );
        assert_eq!(
            super::provide_hint("acme.Catalog"),
            "`Host::builder().provide::<dyn Trait>(..)`, `Trait` being the `#[host_callbacks]` trait named `acme.Catalog`"
        );
    }
}
