//! `&[T]` and `Vec<T>` of numbers.

use core::ffi::c_void;

use super::{Arg, Keep, Number, Ret, Shape};
use crate::abi::{OwnedVec, ReleaseVecFn, SliceView};
use crate::{Error, Result};

fn view<T>(slice: &[T]) -> SliceView {
    SliceView {
        ptr: slice.as_ptr().cast(),
        len: slice.len(),
    }
}

/// # Safety
/// `view.ptr` must point to `view.len` valid `T`s alive for `'a` (or `len` be 0).
unsafe fn slice_of<'a, T>(view: SliceView) -> Result<&'a [T]> {
    if view.len == 0 {
        return Ok(&[]);
    }
    let ptr = view.ptr.cast::<T>();
    if ptr.is_null() || !ptr.is_aligned() {
        return Err(Error::unlocated(format!(
            "a slice of {} arrived with a null or misaligned pointer",
            crate::__private::counted(view.len, "element", "elements")
        )));
    }
    if view.len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(Error::unlocated(format!(
            "a slice of {} elements is more than memory can hold",
            view.len
        )));
    }
    // SAFETY: non-null, aligned, and `len` valid elements alive for 'a (caller).
    Ok(unsafe { std::slice::from_raw_parts(ptr, view.len) })
}

// SAFETY: a borrowed view of the caller's slice.
unsafe impl<T: Number + Arg> Arg for &[T] {
    type Abi = SliceView;
    const SHAPE: Shape = Shape::with::<SliceView>("slice", &[<T as Arg>::SHAPE]);
    fn lower(&self, _: &mut Keep) -> SliceView {
        view(self)
    }
    unsafe fn lift(abi: SliceView) -> Result<Self> {
        // SAFETY: valid for the call (caller of `lift`).
        unsafe { slice_of(abi) }
    }
}

// SAFETY: as for `&[T]`; the callee copies it into its own `Vec`.
unsafe impl<T: Number + Arg> Arg for Vec<T> {
    type Abi = SliceView;
    const SHAPE: Shape = <&[T] as Arg>::SHAPE;
    fn lower(&self, _: &mut Keep) -> SliceView {
        view(self)
    }
    unsafe fn lift(abi: SliceView) -> Result<Vec<T>> {
        // SAFETY: valid for the call (caller of `lift`).
        unsafe { slice_of(abi) }.map(<[T]>::to_vec)
    }
}

/// Hands a vector over; this side's allocator frees it through `release`.
fn owned<T: Number>(vec: Vec<T>) -> OwnedVec {
    let mut vec = std::mem::ManuallyDrop::new(vec);
    OwnedVec {
        ptr: vec.as_mut_ptr().cast::<c_void>(),
        len: vec.len(),
        capacity: vec.capacity(),
        release: Some(ReleaseVecFn(release_owned_vec::<T>)),
    }
}

unsafe extern "C" fn release_owned_vec<T>(vec: *mut OwnedVec) {
    // SAFETY: written by `owned::<T>` on this side, so the fields describe a live `Vec<T>`
    // of this allocator; the receiver releases it once.
    unsafe {
        let vec = &mut *vec;
        drop(Vec::from_raw_parts(
            vec.ptr.cast::<T>(),
            vec.len,
            vec.capacity,
        ));
        vec.len = 0;
        vec.capacity = 0;
    }
}

/// Copies the elements out and releases the vector through its own release function.
///
/// # Safety
/// Written by the other side as an array of `T`, not released yet.
unsafe fn take_owned<T: Number>(mut vec: OwnedVec) -> Result<Vec<T>> {
    let ptr = vec.ptr.cast::<T>();
    let copied = if vec.len == 0 {
        Ok(Vec::new())
    } else if ptr.is_null() || !ptr.is_aligned() {
        Err(Error::unlocated(
            "a vector arrived with a null or misaligned pointer",
        ))
    } else if vec.len > isize::MAX as usize / size_of::<T>().max(1) {
        Err(Error::unlocated(format!(
            "a vector of {} elements is more than memory can hold",
            vec.len
        )))
    } else {
        // SAFETY: the writer guarantees `len` initialised elements at `ptr`.
        Ok(unsafe { std::slice::from_raw_parts(ptr, vec.len) }.to_vec())
    };
    if let Some(release) = vec.release.take() {
        // SAFETY: the writer's release function, run once (just taken out).
        unsafe { (release.0)(&mut vec) };
    }
    copied
}

// SAFETY: the callee's vector, released through the callee.
unsafe impl<T: Number + Ret> Ret for Vec<T> {
    type Abi = OwnedVec;
    const SHAPE: Shape = Shape::with::<OwnedVec>("vec", &[<T as Ret>::SHAPE]);
    fn raise(self) -> OwnedVec {
        owned(self)
    }
    unsafe fn take(abi: OwnedVec) -> Result<Vec<T>> {
        // SAFETY: raised by the other side, taken once (caller).
        unsafe { take_owned(abi) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_bad_ones_say_why() {
        let raised = vec![1i64, -2, 3].raise();
        assert_eq!(
            // SAFETY: raised just above, taken once.
            unsafe { <Vec<i64> as Ret>::take(raised) }.unwrap(),
            [1, -2, 3]
        );
        let null = SliceView {
            ptr: std::ptr::null(),
            len: 3,
        };
        // SAFETY: a null pointer with a length is rejected before anything is read.
        let err = unsafe { <&[u64] as Arg>::lift(null) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a slice of 3 elements arrived with a null or misaligned pointer"
        );
        let vec = OwnedVec {
            ptr: std::ptr::null_mut(),
            len: 2,
            capacity: 2,
            release: None,
        };
        // SAFETY: a null pointer with a length is rejected before anything is read.
        let err = unsafe { <Vec<u32> as Ret>::take(vec) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a vector arrived with a null or misaligned pointer"
        );
        let huge = [0u64; 1];
        let view = SliceView {
            ptr: huge.as_ptr().cast(),
            len: usize::MAX / 2,
        };
        // SAFETY: a length no buffer can have is rejected before anything is read.
        let err = unsafe { <&[u64] as Arg>::lift(view) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a slice of 9223372036854775807 elements is more than memory can hold"
        );
        let vec = OwnedVec {
            ptr: huge.as_ptr().cast_mut().cast(),
            len: usize::MAX / 2,
            capacity: 0,
            release: None,
        };
        // SAFETY: as above.
        let err = unsafe { <Vec<u64> as Ret>::take(vec) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a vector of 9223372036854775807 elements is more than memory can hold"
        );
        assert_ne!(<&[u8] as Arg>::SHAPE, <&[u16] as Arg>::SHAPE);
        assert_eq!(<&[u8] as Arg>::SHAPE, <Vec<u8> as Arg>::SHAPE);
    }
}
