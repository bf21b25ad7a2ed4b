//! Numbers, `bool`, `char` and `()`: values that cross as themselves.

use super::{Arg, Keep, Ret, Shape};
use crate::{Error, Result};

mod sealed {
    pub trait Number {}
}

/// The numeric types that cross by value, alone or in slices and vectors.
pub trait Number: sealed::Number + Copy + Send + Sync + 'static + crate::abi::decl::CType {}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl sealed::Number for $t {}
        impl Number for $t {}

        // SAFETY: a number is its own C representation.
        unsafe impl Arg for $t {
            type Abi = $t;
            const SHAPE: Shape = Shape::of::<$t>(stringify!($t));
            fn lower(&self, _: &mut Keep) -> $t { *self }
            unsafe fn lift(abi: $t) -> Result<$t> { Ok(abi) }
        }

        // SAFETY: as above.
        unsafe impl Ret for $t {
            type Abi = $t;
            const SHAPE: Shape = Shape::of::<$t>(stringify!($t));
            fn raise(self) -> $t { self }
            unsafe fn take(abi: $t) -> Result<$t> { Ok(abi) }
        }
    )*};
}

numbers!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

// SAFETY: `bool` crosses as a `u8` that is validated when read.
unsafe impl Arg for bool {
    type Abi = u8;
    const SHAPE: Shape = Shape::of::<u8>("bool");
    fn lower(&self, _: &mut Keep) -> u8 {
        u8::from(*self)
    }
    unsafe fn lift(abi: u8) -> Result<bool> {
        bool_from(abi)
    }
}

// SAFETY: as above.
unsafe impl Ret for bool {
    type Abi = u8;
    const SHAPE: Shape = Shape::of::<u8>("bool");
    fn raise(self) -> u8 {
        u8::from(self)
    }
    unsafe fn take(abi: u8) -> Result<bool> {
        bool_from(abi)
    }
}

pub(super) fn bool_from(abi: u8) -> Result<bool> {
    match abi {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::unlocated(format!("{other} is not a bool (0 or 1)"))),
    }
}

// SAFETY: `char` crosses as a `u32` that is validated when read.
unsafe impl Arg for char {
    type Abi = u32;
    const SHAPE: Shape = Shape::of::<u32>("char");
    fn lower(&self, _: &mut Keep) -> u32 {
        u32::from(*self)
    }
    unsafe fn lift(abi: u32) -> Result<char> {
        char_from(abi)
    }
}

// SAFETY: as above.
unsafe impl Ret for char {
    type Abi = u32;
    const SHAPE: Shape = Shape::of::<u32>("char");
    fn raise(self) -> u32 {
        u32::from(self)
    }
    unsafe fn take(abi: u32) -> Result<char> {
        char_from(abi)
    }
}

pub(super) fn char_from(abi: u32) -> Result<char> {
    char::from_u32(abi)
        .ok_or_else(|| Error::unlocated(format!("{abi:#x} is not a Unicode scalar value")))
}

// SAFETY: `()` crosses as a `u8` that is ignored.
unsafe impl Ret for () {
    type Abi = u8;
    const SHAPE: Shape = Shape::of::<u8>("unit");
    fn raise(self) -> u8 {
        0
    }
    unsafe fn take(_: u8) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_do_not_validate_say_why() {
        assert_eq!(
            bool_from(7).unwrap_err().to_string(),
            "7 is not a bool (0 or 1)"
        );
        assert_eq!(
            char_from(0xD800).unwrap_err().to_string(),
            "0xd800 is not a Unicode scalar value"
        );
    }

    #[test]
    fn shapes_tell_types_apart_but_not_spellings() {
        assert_ne!(<u64 as Arg>::SHAPE, <i64 as Arg>::SHAPE);
        assert_ne!(<u8 as Arg>::SHAPE, <bool as Arg>::SHAPE);
        assert_eq!(<u64 as Arg>::SHAPE, <core::primitive::u64 as Ret>::SHAPE);
    }
}
