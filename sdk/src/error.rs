//! The error type of operator code.

use core::fmt;
use std::panic::Location;

/// An operator's error: a message and, when it was made by the operator's own code, the
/// place in that code.
///
/// Any `std::error::Error` converts into it with `?`, keeping its chain of sources in the
/// message, so operator code reads like ordinary Rust:
///
/// ```
/// use oplink::{Error, Result};
///
/// fn parse(text: &str) -> Result<i64> {
///     let n: i64 = text.parse()?; // ParseIntError -> Error, located on this line
///     if n < 0 {
///         return Err(Error::msg(format!("{n} is negative")));
///     }
///     Ok(n)
/// }
/// assert_eq!(parse("-3").unwrap_err().to_string(), "-3 is negative");
/// assert!(parse("x").unwrap_err().to_string().contains("invalid digit"));
/// assert!(parse("-3").unwrap_err().location().is_some());
/// ```
///
/// The location is where the error was made in *your* code: errors that oplink makes on
/// its own account (a configuration that does not parse, a service call that failed on the
/// other side) carry none, rather than a path inside oplink.
///
/// It is one pointer wide, so that a `Result<T>` adds at most a word to `T` (nothing where
/// `T` has a spare bit pattern, as an `Arc` does) and moves in registers where `T` is
/// small: a `Result<()>` or a `Result<ArrayRef>` is returned in one or two registers. The
/// error path pays one allocation instead.
pub struct Error(Box<Inner>);

/// What an [`Error`] holds.
struct Inner {
    message: String,
    location: Option<&'static Location<'static>>,
}

impl Error {
    fn new(message: String, location: Option<&'static Location<'static>>) -> Error {
        Error(Box::new(Inner { message, location }))
    }
}

/// `Result<T, oplink::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// The folder of oplink's own sources, as locations inside it are spelled.
pub(crate) fn is_inside_oplink(location: &Location<'_>) -> bool {
    let ours = Location::caller();
    let folder = ours
        .file()
        .rsplit_once(['/', '\\'])
        .map_or("", |(folder, _)| folder);
    !folder.is_empty()
        && location
            .file()
            .strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with(['/', '\\']))
}

/// Whether `location` is in Rust's own library (`core`, `alloc`, `std`): `map_err(Error::msg)`
/// passes the function by name, so the caller `#[track_caller]` sees is `FnOnce::call_once`
/// there. Where that library's sources are said to be depends on the toolchain (`/rustc/
/// <commit>/library/` for rustup's, `/usr/src/rustc-<version>/library/` for some
/// distributions'), so it is asked once: a location inside `Iterator::map`.
pub(crate) fn is_inside_std(location: &Location<'_>) -> bool {
    static LIBRARY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let library = LIBRARY.get_or_init(|| {
        #[track_caller]
        fn caller(_: ()) -> &'static Location<'static> {
            Location::caller()
        }
        let inside = std::iter::once(()).map(caller).next()?.file();
        // `…/library/core/src/iter/adapters/map.rs`: what comes before `core/`.
        let at = inside.rfind("library")?;
        Some(inside[..at + "library".len()].to_owned())
    });
    let file = location.file();
    match library {
        Some(library) => file
            .strip_prefix(library.as_str())
            .is_some_and(|rest| rest.starts_with(['/', '\\'])),
        None => file.starts_with("/rustc/"),
    }
}

fn user_location(location: &'static Location<'static>) -> Option<&'static Location<'static>> {
    (!is_inside_oplink(location) && !is_inside_std(location)).then_some(location)
}

impl Error {
    /// An error with this message, located at the caller.
    #[track_caller]
    pub fn msg(message: impl fmt::Display) -> Error {
        Error::new(message.to_string(), user_location(Location::caller()))
    }

    /// An error with this message and no location, for errors that belong to no line of
    /// yours (what another component reported, say).
    pub fn unlocated(message: impl fmt::Display) -> Error {
        Error::new(message.to_string(), None)
    }

    /// The message, without the location.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Where the error was made, if it was made by code outside oplink.
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.0.location
    }

    /// This error located at `location` when it has no location yet and `location` lies
    /// outside oplink.
    pub(crate) fn at(mut self, location: &'static Location<'static>) -> Error {
        if self.0.location.is_none() {
            self.0.location = user_location(location);
        }
        self
    }

    /// This error with `context` put in front of its message: `"{context}: {message}"`.
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.0.message = format!("{context}: {}", self.0.message);
        self
    }
}

impl<E: std::error::Error> From<E> for Error {
    #[track_caller]
    fn from(error: E) -> Error {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Error::new(message, user_location(Location::caller()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.location {
            Some(location) => write!(f, "{} (at {location})", self.0.message),
            None => write!(f, "{}", self.0.message),
        }
    }
}

/// Returns early with an [`Error`] built from a format string, located at the macro's call.
///
/// ```
/// fn check(n: i64) -> oplink::Result<()> {
///     if n < 0 {
///         oplink::bail!("{n} is negative");
///     }
///     Ok(())
/// }
/// assert_eq!(check(-1).unwrap_err().to_string(), "-1 is negative");
/// ```
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return ::core::result::Result::Err($crate::Error::msg(::std::format!($($arg)*)))
    };
}

/// Carries an [`Error`] where a `std::error::Error` is wanted (`Box<dyn Error>`).
#[derive(Debug)]
struct Boxed(Error);

impl fmt::Display for Boxed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Boxed {}

impl From<Error> for Box<dyn std::error::Error + Send + Sync + 'static> {
    fn from(error: Error) -> Self {
        Box::new(Boxed(error))
    }
}

impl From<Error> for Box<dyn std::error::Error + 'static> {
    fn from(error: Error) -> Self {
        Box::new(Boxed(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_one_pointer_wide_and_adds_nothing_to_an_arrays_result() {
        // What the type's documentation promises (a test, not a compile-time assertion:
        // how `Result` uses a spare bit pattern is the compiler's choice, not a guarantee).
        assert_eq!(size_of::<Error>(), size_of::<usize>());
        assert_eq!(size_of::<Result<()>>(), size_of::<usize>());
        assert_eq!(
            size_of::<Result<arrow_array::ArrayRef>>(),
            size_of::<arrow_array::ArrayRef>()
        );
    }

    #[test]
    fn errors_made_inside_oplink_carry_no_location() {
        // Made here, inside oplink's own sources: no location.
        assert!(Error::msg("x").location().is_none());
        assert!(Error::from(std::fmt::Error).location().is_none());
        assert!(Error::unlocated("x").location().is_none());
        assert!(is_inside_oplink(Location::caller()));
    }

    #[test]
    fn the_standard_librarys_locations_are_known_wherever_its_sources_are_said_to_be() {
        #[track_caller]
        fn caller(_: u8) -> &'static Location<'static> {
            Location::caller()
        }
        let inside = [1u8].into_iter().map(caller).next().unwrap();
        assert!(is_inside_std(inside), "{inside}");
        assert!(!is_inside_std(Location::caller()));
    }
}
