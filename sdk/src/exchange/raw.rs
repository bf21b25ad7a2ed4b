//! The Arrow C Data Interface's `struct ArrowArray`, with its fields visible: arrow-rs keeps
//! them private in `FFI_ArrowArray`, whose layout is the same (asserted below), so oplink's
//! exporter and importer read and write this one and hand arrow-rs the other where it needs
//! it.

use core::ffi::c_void;

use arrow_array::ffi::FFI_ArrowArray;

/// `struct ArrowArray`, exactly as the specification declares it.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct RawArray {
    pub length: i64,
    pub null_count: i64,
    pub offset: i64,
    pub n_buffers: i64,
    pub n_children: i64,
    pub buffers: *mut *const c_void,
    pub children: *mut *mut RawArray,
    pub dictionary: *mut RawArray,
    pub release: Option<unsafe extern "C" fn(*mut RawArray)>,
    pub private_data: *mut c_void,
}

const _: () = {
    assert!(size_of::<RawArray>() == size_of::<FFI_ArrowArray>());
    assert!(align_of::<RawArray>() == align_of::<FFI_ArrowArray>());
};

impl RawArray {
    /// A released array: what a moved-from slot holds.
    pub const RELEASED: RawArray = RawArray {
        length: 0,
        null_count: 0,
        offset: 0,
        n_buffers: 0,
        n_children: 0,
        buffers: core::ptr::null_mut(),
        children: core::ptr::null_mut(),
        dictionary: core::ptr::null_mut(),
        release: None,
        private_data: core::ptr::null_mut(),
    };

    /// Moves the array out of `slot`, leaving a released array behind (the C Data
    /// Interface's "move": the slot's owner no longer releases it).
    ///
    /// # Safety
    /// `slot` points to a valid array.
    pub unsafe fn take(slot: *mut RawArray) -> RawArray {
        // SAFETY: a valid array (caller); the slot is overwritten with a released one, so
        // exactly one copy stays live.
        unsafe { core::ptr::replace(slot, RawArray::RELEASED) }
    }

    /// Whether the array was released (or moved out).
    pub fn is_released(&self) -> bool {
        self.release.is_none()
    }

    /// As arrow-rs's type, which owns it from now on.
    pub const fn into_ffi(self) -> FFI_ArrowArray {
        // SAFETY: the same `#[repr(C)]` layout (asserted above); arrow-rs's type releases
        // the array when dropped, as the one owner.
        unsafe { core::mem::transmute::<RawArray, FFI_ArrowArray>(self) }
    }

    /// From arrow-rs's type.
    pub fn from_ffi(array: FFI_ArrowArray) -> RawArray {
        // SAFETY: the same layout; the one owner moves from arrow-rs's type to this one.
        unsafe { core::mem::transmute::<FFI_ArrowArray, RawArray>(array) }
    }

    /// Buffer `index`, or null when the array has no such buffer.
    ///
    /// # Safety
    /// `buffers` holds `n_buffers` readable pointers.
    pub unsafe fn buffer(&self, index: usize) -> *const c_void {
        if index as i64 >= self.n_buffers || self.buffers.is_null() {
            return core::ptr::null();
        }
        // SAFETY: `index` is within `n_buffers` (checked) of a readable list (caller).
        unsafe { *self.buffers.add(index) }
    }

    /// Child `index`, or null.
    ///
    /// # Safety
    /// `children` holds `n_children` readable pointers.
    pub unsafe fn child(&self, index: usize) -> *mut RawArray {
        if index as i64 >= self.n_children || self.children.is_null() {
            return core::ptr::null_mut();
        }
        // SAFETY: `index` is within `n_children` (checked) of a readable list (caller).
        unsafe { *self.children.add(index) }
    }
}

/// `struct ArrowSchema`, exactly as the specification declares it: read (never written) to
/// check a schema's tree before arrow-rs walks it.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct RawSchema {
    pub format: *const core::ffi::c_char,
    pub name: *const core::ffi::c_char,
    pub metadata: *const core::ffi::c_char,
    pub flags: i64,
    pub n_children: i64,
    pub children: *mut *mut RawSchema,
    pub dictionary: *mut RawSchema,
    pub release: Option<unsafe extern "C" fn(*mut RawSchema)>,
    pub private_data: *mut c_void,
}

const _: () = {
    use arrow_array::ffi::FFI_ArrowSchema;
    assert!(size_of::<RawSchema>() == size_of::<FFI_ArrowSchema>());
    assert!(align_of::<RawSchema>() == align_of::<FFI_ArrowSchema>());
};

/// An array the receiver took: releases it through its producer when dropped.
#[derive(Debug)]
pub(crate) struct Taken(pub RawArray);

impl Drop for Taken {
    fn drop(&mut self) {
        if let Some(release) = self.0.release {
            // SAFETY: the producer's release, called once on the array it produced (it sets
            // `release` to null itself; the array is not used afterwards).
            unsafe { release(&mut self.0) };
        }
    }
}

// SAFETY: an array moved to the receiver belongs to it alone; the C Data Interface lets the
// consumer release it from any thread.
unsafe impl Send for Taken {}
// SAFETY: nothing of it is written through a shared reference.
unsafe impl Sync for Taken {}
