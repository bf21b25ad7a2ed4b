//! The vocabulary of host services: which Rust types a `#[host_callbacks]` method may take
//! and return, and how each crosses the boundary.
//!
//! * [`Arg`]: a parameter. The caller *lowers* it into a C-expressible value that borrows
//!   from the caller for the one call; the callee *lifts* it back, validating as it reads.
//! * [`Ret`]: a return value. The callee *raises* it into a C-expressible value that owns
//!   what it points to (with the callee's release function); the caller *takes* it, copying
//!   what it keeps and releasing the rest through the callee.
//!
//! Each type also has a [`Shape`]: a fingerprint of its C form. A service's fingerprint is
//! made of its methods' names and the shapes of their types, so renaming a parameter or
//! spelling `std::option::Option` instead of `Option` changes nothing, while a change of
//! what crosses does.
//!
//! | type | as a parameter | as a return value |
//! |---|---|---|
//! | `i8` … `i64`, `u8` … `u64`, `isize`, `usize`, `f32`, `f64` | by value | by value |
//! | `bool`, `char` | `u8`, `u32`, validated | `u8`, `u32`, validated |
//! | `()` | — | `u8` |
//! | `&str`, `String` | borrowed view, UTF-8 validated | `String`: owned buffer |
//! | `&[T]`, `Vec<T>` of numbers (`&[u8]`, `Vec<u8>` included) | borrowed view | `Vec<T>`: owned buffer |
//! | `Option<T>` | flag and value | flag and value |
//! | `Result<T, E>` | — | `Ok` as `T`; `Err` as the error of the call |
//! | `RecordBatch` | Arrow C Data Interface, moved | Arrow C Data Interface, moved |
//! | a type implementing [`Wire`] (e.g. [`Json<T>`]) | encoded bytes, borrowed | encoded bytes, owned |
//!
//! `u128` and `i128` do not cross (C has no portable 128-bit integer).

mod batch;
mod error;
mod option;
mod scalar;
mod seq;
mod text;
mod wire;

use std::any::Any;
use std::fmt;

pub use error::{Fallible, ServiceError};
pub use option::AbiOption;
pub use scalar::Number;
pub use wire::{Json, JsonValue, Wire};

use crate::Result;
use crate::abi::decl::{CType, FNV_OFFSET, fnv1a};

/// A fingerprint of the C form of a type: its kind, its parts, and its C size and alignment
/// on every data model the ABI knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape(pub u64);

impl Shape {
    /// The shape of a type of this kind whose C form is `A`.
    pub const fn of<A: CType>(kind: &str) -> Shape {
        Shape::with::<A>(kind, &[])
    }

    /// The shape of a type of this kind made of `parts`, whose C form is `A`.
    pub const fn with<A: CType>(kind: &str, parts: &[Shape]) -> Shape {
        let mut hash = fnv1a(FNV_OFFSET, kind.as_bytes());
        let mut i = 0;
        while i < parts.len() {
            hash = fnv1a(hash, &parts[i].0.to_le_bytes());
            i += 1;
        }
        // The C layout on every data model, so that the fingerprint is the same on every
        // target (and `oplink.h` can carry it).
        let mut model = 0;
        while model < 3 {
            hash = fnv1a(hash, &(A::LAYOUT[model].size as u64).to_le_bytes());
            hash = fnv1a(hash, &(A::LAYOUT[model].align as u64).to_le_bytes());
            model += 1;
        }
        Shape(hash)
    }
}

/// A type that can be a parameter of a host service method.
///
/// # Safety
/// `Abi` must be a C-expressible type, and `lift` must accept what `lower` produces, reading
/// only what the lowered value points to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of a host service method",
    label = "oplink cannot pass this type between host and plugin",
    note = "parameters may be integers, floats, `bool`, `char`, `&str`, `String`, `&[T]` or `Vec<T>` of numbers, `RecordBatch`, a type that implements `oplink::service::Wire`, or `Option` of any of those",
    note = "for a serde type `T`, use `oplink::service::Json<T>` with `T` owned (`Json<Vec<String>>` for a list of strings, `Json<Point>` for a struct of yours); for a type of another crate that is not serde, wrap it in a type of yours and implement `oplink::service::Wire` for that"
)]
pub unsafe trait Arg: Sized {
    /// What crosses.
    type Abi: Copy + CType;
    /// The fingerprint of the C form.
    const SHAPE: Shape;
    /// Lays the value out for one call; what it points to lives in `self` or in `keep`.
    fn lower(&self, keep: &mut Keep) -> Self::Abi;
    /// [`lower`](Arg::lower), or why the value cannot cross (a batch no crossing takes, a
    /// value its encoding refuses): what a proxy calls, so that the call fails saying so
    /// rather than hand the host an empty value.
    #[inline(always)]
    fn try_lower(&self, keep: &mut Keep) -> Result<Self::Abi> {
        Ok(self.lower(keep))
    }
    /// Reads a lowered value.
    ///
    /// # Safety
    /// `abi` was lowered by the other side for this call, and what it points to outlives
    /// the returned value.
    unsafe fn lift(abi: Self::Abi) -> Result<Self>;
}

/// A type that a host service method can return.
///
/// # Safety
/// `Abi` must be a C-expressible type, and `take` must accept what `raise` produces and
/// release what it owns through the raising side's release functions.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a host service method",
    label = "oplink cannot return this type from the other side",
    note = "return values may be integers, floats, `bool`, `char`, `()`, `String`, `Vec<T>` of numbers, `RecordBatch`, a type that implements `oplink::service::Wire`, `Option` of any of those, or `Result<T, E>` of those (written `Result<…>` with its `Ok` type: an alias of another name, such as `Res<T>`, or one that hides its `Ok` type, such as a `type Result = …` without parameters, is not taken for one; write `Result<T, E>`, `oplink::Result<T>`, or an alias named `Result` that takes `T`)",
    note = "for a serde type `T`, use `oplink::service::Json<T>` with `T` owned (`Json<Vec<String>>` for a list of strings, `Json<Point>` for a struct of yours); for a type of another crate that is not serde, wrap it in a type of yours and implement `oplink::service::Wire` for that"
)]
pub unsafe trait Ret: Sized {
    /// What crosses.
    type Abi: CType;
    /// The fingerprint of the C form.
    const SHAPE: Shape;
    /// Hands the value over; what it owns is released by `take` through this side.
    fn raise(self) -> Self::Abi;
    /// [`raise`](Ret::raise), or why the value cannot cross: what a host's thunk calls, so
    /// that the call fails saying so rather than hand the plugin an empty value.
    #[inline(always)]
    fn try_raise(self) -> Result<Self::Abi> {
        Ok(self.raise())
    }
    /// Takes a raised value, releasing what it owns.
    ///
    /// # Safety
    /// `abi` was raised by the other side and is taken once.
    unsafe fn take(abi: Self::Abi) -> Result<Self>;
}

/// What a caller keeps alive for the length of one call: encoded arguments and exported
/// arrays that the lowered values point into.
#[derive(Default)]
pub struct Keep {
    /// `None` until something is held: a call that holds nothing (most) writes one word.
    held: Option<Vec<Box<dyn Any>>>,
}

impl fmt::Debug for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keep")
            .field("held", &self.held.as_ref().map_or(0, Vec::len))
            .finish()
    }
}

impl Keep {
    /// Lets go of what was held, after the call. Most calls held nothing: then there is
    /// nothing to free, and no call into `Vec`'s drop.
    #[inline]
    pub fn release(self) {
        if self.held.is_some() {
            drop(self);
        } else {
            // Nothing held: nothing to drop.
            std::mem::forget(self);
        }
    }

    /// Holds `value` until the call returns and gives a pointer to it that stays put.
    pub fn hold<T: 'static>(&mut self, value: T) -> *mut T {
        let mut boxed = Box::new(value);
        let ptr: *mut T = &mut *boxed;
        self.held.get_or_insert_with(Vec::new).push(boxed);
        ptr
    }
}
