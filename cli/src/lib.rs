//! # oplink-cli
//!
//! The `oplink` command line, built on the public API of [`oplink_host`]:
//!
//! * `oplink inspect PATH` prints what a plugin library (or every library of a folder)
//!   declares, as a table or as JSON;
//! * `oplink check PATH...` validates libraries against this host in a child process;
//! * `oplink run DATA --op NAME=CONFIG ...` feeds a data file (CSV, JSON lines, Arrow IPC,
//!   Parquet) through a chain of operators and writes the result;
//! * `oplink new NAME` starts a plugin crate (or, with `--lang c`, a C operator).
//!
//! The binary is a thin shell over this library: each subcommand is a module with a
//! function taking its parsed arguments, so benchmarks and tests can drive a pipeline
//! without a child process.

pub mod args;
pub mod check;
pub mod error;
pub mod input;
pub mod inspect;
mod interrupt;
mod ipc_sizes;
pub mod lookup;
pub mod new;
pub mod output;
pub mod plugins;
pub mod run;

pub use error::{CliError, Result};

/// `eprintln!` that cannot panic: a standard error that is closed or full loses the line,
/// not the run (`eprintln!` panics, and a run whose state was kept would exit 101). What it
/// says is one line: its control characters, line breaks included, are written as escapes
/// ([`escape_controls`]), since it names files, columns and operators' messages.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let text = ::std::format!($($arg)*);
        let _ = ::std::writeln!(::std::io::stderr(), "{}", $crate::escape_controls(&text, &[]));
    }};
}

/// `text` with its control characters (and the bidirectional overrides and line
/// separators), but those in `kept`, written as Rust escapes (`\u{1b}`, `\n`, `\u{202e}`):
/// text from a file, a column name or an operator's message that reaches the terminal must
/// not recolour it, retitle it, move its cursor, reorder what it shows or break a one-line
/// message in two. Text without them is returned as it is.
pub fn escape_controls<'a>(text: &'a str, kept: &[char]) -> std::borrow::Cow<'a, str> {
    let escaped = |c: char| unsafe_to_show(c) && !kept.contains(&c);
    if !text.contains(escaped) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    std::borrow::Cow::Owned(shown)
}

/// Control characters, and the ones that reorder or break what a terminal shows: the
/// bidirectional overrides and isolates, and the line and paragraph separators.
fn unsafe_to_show(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `text` as one word of a POSIX shell's command line, to be run as printed: as it is when
/// it holds nothing a shell reads otherwise, in single quotes when it does, and as `$'…'`
/// with escapes when it holds characters [`escape_controls`] escapes (which bash, zsh and
/// ksh read). A word that starts with `-` gets `./` before it, so that no command takes it
/// for an option.
pub fn shell_word(text: &str) -> String {
    shell_bytes(text.as_bytes())
}

/// [`shell_word`] for a path, whose bytes need not be UTF-8 (those that are not are
/// written as `\xNN` escapes).
pub fn shell_path(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    shell_bytes(path.as_os_str().as_bytes())
}

fn shell_bytes(bytes: &[u8]) -> String {
    if bytes.starts_with(b"-") {
        let mut dotted = b"./".to_vec();
        dotted.extend_from_slice(bytes);
        return shell_bytes(&dotted);
    }
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"_./-+,:@%=".contains(b);
    if !bytes.is_empty() && bytes.iter().all(plain) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let utf8 = std::str::from_utf8(bytes).ok();
    if let Some(text) = utf8.filter(|t| !t.contains(unsafe_to_show)) {
        return format!("'{}'", text.replace('\'', r"'\''"));
    }
    let mut word = String::from("$'");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\'' => word.push_str(r"\'"),
                '\\' => word.push_str(r"\\"),
                // `\xNN` is a byte: only ASCII ones are characters of their own.
                c if unsafe_to_show(c) && c.is_ascii() => {
                    word.push_str(&format!("\\x{:02x}", c as u32));
                }
                c if unsafe_to_show(c) => word.push_str(&format!("\\u{:04x}", c as u32)),
                c => word.push(c),
            }
        }
        for b in chunk.invalid() {
            word.push_str(&format!("\\x{b:02x}"));
        }
    }
    word.push('\'');
    word
}

thread_local! {
    /// Whether a panic on this thread is one [`quiet_panics`] catches (and reports itself).
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub(crate) use oplink::__private::counted;

/// Runs `f`, turning a panic in it into its message, without the panic's report on
/// standard error: for library code that asserts on input it does not check (a reader
/// given a damaged file), whose failure the command reports as one sentence.
pub(crate) fn quiet_panics<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|quiet| quiet.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|quiet| quiet.set(was));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|message| (*message).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn a_shell_word_runs_as_printed() {
        assert_eq!(shell_word("my-filter/lib_x.so"), "my-filter/lib_x.so");
        assert_eq!(shell_word("c dir"), "'c dir'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("p\u{1b}[1mq"), r"$'p\x1b[1mq'");
        assert_eq!(shell_word("a'\\\u{202e}"), r"$'a\'\\\u202e'");
        assert_eq!(shell_word("a\u{85}b"), r"$'a\u0085b'");
        assert_eq!(shell_word("-d"), "./-d");
        assert_eq!(shell_word("-d x"), "'./-d x'");
        use std::os::unix::ffi::OsStrExt;
        let odd = std::path::Path::new(std::ffi::OsStr::from_bytes(b"z\xffz"));
        assert_eq!(super::shell_path(odd), r"$'z\xffz'");
        // Each, as bash reads it, is the text again.
        for text in [
            "c dir",
            "it's",
            "p\u{1b}[1mq",
            "a'\\b",
            "$HOME `x` \"y\"",
            "a\u{85}b",
        ] {
            let said = std::process::Command::new("bash")
                .args(["-c", &format!("printf %s {}", shell_word(text))])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(said.stdout).unwrap(), text, "{text:?}");
        }
    }
}
