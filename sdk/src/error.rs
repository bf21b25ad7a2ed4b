//! The error type of operator code.

use core::fmt;
use std::panic::Location;

/// An operator's error: a message and the place in the source where it was made.
///
/// Any `std::error::Error` converts into it with `?`, keeping its chain of sources in the
/// message, so operator code reads like ordinary Rust:
///
/// ```
/// use oplink::{Error, Result};
///
/// fn parse(text: &str) -> Result<i64> {
///     let n: i64 = text.parse()?; // ParseIntError -> Error, location recorded here
///     if n < 0 {
///         return Err(Error::msg(format!("{n} is negative")));
///     }
///     Ok(n)
/// }
/// assert_eq!(parse("-3").unwrap_err().to_string(), "-3 is negative");
/// assert!(parse("x").unwrap_err().to_string().contains("invalid digit"));
/// ```
pub struct Error {
    message: String,
    location: &'static Location<'static>,
}

/// `Result<T, oplink::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// An error with this message, located at the caller.
    #[track_caller]
    pub fn msg(message: impl fmt::Display) -> Error {
        Error {
            message: message.to_string(),
            location: Location::caller(),
        }
    }

    /// The message, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where the error was made.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// This error with `context` put in front of its message: `"{context}: {message}"`.
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.message = format!("{context}: {}", self.message);
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
        Error {
            message,
            location: Location::caller(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {})", self.message, self.location)
    }
}

/// Returns early with an [`Error`] built from a format string.
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
