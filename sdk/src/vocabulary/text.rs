//! `&str` and `String`.

use super::{Arg, Keep, Ret, Shape};
use crate::abi::{OwnedBuf, StrView};
use crate::{Error, Result};

// SAFETY: a borrowed view of the caller's string, UTF-8 validated when read.
unsafe impl Arg for &str {
    type Abi = StrView;
    const SHAPE: Shape = Shape::of::<StrView>("str");
    fn lower(&self, _: &mut Keep) -> StrView {
        StrView::new(self)
    }
    unsafe fn lift(abi: StrView) -> Result<Self> {
        if (abi.ptr.is_null() && abi.len != 0) || abi.len > isize::MAX as usize {
            return Err(Error::unlocated(format!(
                "a string of {} arrived with a null pointer or more than memory can hold",
                crate::__private::counted(abi.len, "byte", "bytes")
            )));
        }
        // SAFETY: the view is valid for the call (caller of `lift`).
        let bytes = unsafe { abi.as_bytes() };
        std::str::from_utf8(bytes)
            .map_err(|e| Error::unlocated(format!("a string is not UTF-8: {e}")))
    }
}

// SAFETY: as for `&str`; the callee copies it into its own `String`.
unsafe impl Arg for String {
    type Abi = StrView;
    const SHAPE: Shape = <&str as Arg>::SHAPE;
    fn lower(&self, _: &mut Keep) -> StrView {
        StrView::new(self)
    }
    unsafe fn lift(abi: StrView) -> Result<String> {
        // SAFETY: forwarded.
        unsafe { <&str as Arg>::lift(abi) }.map(str::to_owned)
    }
}

// SAFETY: the callee's `Vec<u8>`, released through the callee; UTF-8 validated when read.
unsafe impl Ret for String {
    type Abi = OwnedBuf;
    const SHAPE: Shape = Shape::of::<OwnedBuf>("string");
    fn raise(self) -> OwnedBuf {
        OwnedBuf::from_vec(self.into_bytes())
    }
    unsafe fn take(mut abi: OwnedBuf) -> Result<String> {
        // SAFETY: raised by the other side, taken once (caller).
        let bytes = unsafe { abi.take_checked() }?;
        String::from_utf8(bytes)
            .map_err(|e| Error::unlocated(format!("a string is not UTF-8: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_and_bad_ones_say_why() {
        let bad_utf8 = [0xffu8, 0xfe];
        // SAFETY: the view points at a live local array for the call.
        let err = unsafe {
            <&str as Arg>::lift(StrView {
                ptr: bad_utf8.as_ptr(),
                len: bad_utf8.len(),
            })
        }
        .unwrap_err();
        assert!(
            err.to_string().starts_with("a string is not UTF-8"),
            "{err}"
        );
        // SAFETY: a null pointer with a length is rejected before anything is read.
        let err = unsafe {
            <&str as Arg>::lift(StrView {
                ptr: std::ptr::null(),
                len: 4,
            })
        }
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a string of 4 bytes arrived with a null pointer or more than memory can hold"
        );
        let null = OwnedBuf {
            ptr: std::ptr::null_mut(),
            len: 5,
            capacity: 0,
            release: None,
        };
        // SAFETY: as above.
        let err = unsafe { String::take(null) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "5 bytes arrived with a null pointer or more than memory can hold"
        );
        let raised = "héllo".to_owned().raise();
        // SAFETY: raised just above, taken once.
        assert_eq!(unsafe { String::take(raised) }.unwrap(), "héllo");
        assert_eq!(<&str as Arg>::SHAPE, <String as Arg>::SHAPE);
    }
}
