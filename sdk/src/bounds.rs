//! The bounds `#[oplink::operator]` puts on the types of an operator's methods, each with a
//! message that says what to do when a type does not meet it. You do not implement these
//! traits: they hold for every type that qualifies.

use serde::de::DeserializeOwned;

use crate::Error;

/// What the configuration `new` takes must be: a type serde can read (the host's
/// configuration arrives as JSON).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the configuration of an operator",
    label = "`new` takes this, but it is not `serde::Deserialize`",
    note = "the host's configuration arrives as JSON and is read into this type: add `#[derive(serde::Deserialize)]` to `{Self}` if it is a type of yours (a change or a batch reaches `apply`, not `new`)"
)]
pub trait OperatorConfig: Sized {
    #[doc(hidden)]
    const CHECKED: ();
    /// Reads the configuration of operator `operator` from the host's JSON.
    #[doc(hidden)]
    fn from_json(operator: &str, json: &[u8]) -> crate::Result<Self>;
}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> OperatorConfig for T {
    const CHECKED: () = ();
    fn from_json(operator: &str, json: &[u8]) -> crate::Result<Self> {
        crate::runtime::parse_config(operator, json)
    }
}

/// What the error of an operator method's `Result` must be: convertible into
/// [`oplink::Error`](crate::Error), as every `std::error::Error` is.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error type of an operator method",
    label = "this error does not convert into `oplink::Error`",
    note = "return `oplink::Result<T>` and make errors with `Error::msg(\"...\")` or `bail!(\"...\")`; any `std::error::Error` converts with `?` (an `anyhow::Error` is none: convert it with `.map_err(|e| Error::msg(format!(\"{{e:#}}\")))`)"
)]
pub trait OperatorError {
    /// The error as the host will see it. Not `#[track_caller]`: a converted error has no
    /// line of the operator's to point at, while an `oplink::Error` keeps its own.
    fn into_error(self) -> Error;
}

#[diagnostic::do_not_recommend]
impl<E> OperatorError for E
where
    Error: From<E>,
{
    fn into_error(self) -> Error {
        Error::from(self)
    }
}

/// What `new` must make: the operator itself (`Result<Self>`), whatever alias names it.
#[diagnostic::on_unimplemented(
    message = "`new` must return `Result<Self>` (the operator `{Op}`), not a `Result` of `{Self}`",
    label = "not the operator's type",
    note = "`new` makes the operator the macro is on, as in `Ok(Self {{ .. }})`"
)]
pub trait TheOperator<Op> {
    /// The operator.
    #[doc(hidden)]
    fn into_operator(self) -> Op;
}

#[diagnostic::do_not_recommend]
impl<Op> TheOperator<Op> for Op {
    fn into_operator(self) -> Op {
        self
    }
}
