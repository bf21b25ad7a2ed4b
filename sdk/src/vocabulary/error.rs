//! `Result<T, E>` as a return type: `T` crosses, failures of the call become `E`.

use std::fmt;

use super::Ret;
use crate::Error;

/// An error type that a host service method may use in `Result<T, E>`: the host side turns
/// it into the error that crosses, the plugin side makes one from the message it gets.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error type of a host service method",
    note = "use `oplink::Error` (as in `oplink::Result<T>`), `String` or `Box<dyn std::error::Error + Send + Sync>`, or implement `oplink::service::ServiceError` for `{Self}`"
)]
pub trait ServiceError: fmt::Display + Sized {
    #[doc(hidden)]
    const CHECKED: () = ();
    /// The error the plugin's caller sees for a failure with this message.
    fn from_message(message: String) -> Self;
    /// The error that crosses to the plugin (an `oplink::Error` keeps its location).
    fn into_error(self) -> Error {
        Error::unlocated(self)
    }
}

impl ServiceError for Error {
    fn from_message(message: String) -> Error {
        Error::unlocated(message)
    }
    fn into_error(self) -> Error {
        self
    }
}

impl ServiceError for String {
    fn from_message(message: String) -> String {
        message
    }
}

impl ServiceError for Box<dyn std::error::Error + Send + Sync> {
    fn from_message(message: String) -> Self {
        message.into()
    }
}

/// `Result<T, E>` as the return type of a service method: `T` crosses, `E` reports.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result` that a host service method can return",
    note = "a method's `Result` must be `core::result::Result<T, E>` (or an alias of it such as `oplink::Result<T>`)"
)]
pub trait Fallible {
    /// The success type.
    type Ok: Ret;
    /// The error type.
    type Err: ServiceError;
    /// As a `Result`.
    fn into_result(self) -> core::result::Result<Self::Ok, Self::Err>;
    /// From a `Result`.
    fn from_result(result: core::result::Result<Self::Ok, Self::Err>) -> Self;
}

impl<T: Ret, E: ServiceError> Fallible for core::result::Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Self {
        self
    }
    fn from_result(result: Self) -> Self {
        result
    }
}
