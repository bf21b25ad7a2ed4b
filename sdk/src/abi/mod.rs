//! The plugin ABI, major 2: every type that crosses the library boundary.
//!
//! Everything here is declared once, in `types.rs`, through the macros of [`decl`]; the C
//! header `oplink.h` and the tables of `docs/abi.md` are generated from the same
//! declaration ([`header`]) and a test fails when a checked-in copy is stale. The contract,
//! in short (`docs/abi.md` has the long form):
//!
//! * A library exports one symbol, [`ENTRY_SYMBOL`], an [`EntryFn`] returning a static
//!   [`PluginHeader`]. Calling it runs none of the operators' code.
//! * Everything that crosses is `#[repr(C)]` and expressible in C: integers, pointers,
//!   function pointers and `(pointer, length)` views; no Rust enums, `bool`, references,
//!   `String` or `Vec`. Values are validated where they are read.
//! * Every table starts with its own size and is append-only within a major: a field a
//!   minor appended is read only when the writer's size covers it, and has its default
//!   otherwise. [`LAYOUT_FINGERPRINT`] covers the frozen prefix of every struct, so it is the
//!   same for every minor of the major.
//! * Whoever allocates frees: an [`OwnedBuf`] carries its release function; borrowed views
//!   live for one call. Arrow arrays move to the receiver through the Arrow C Data Interface.

pub mod decl;
pub mod header;
mod types;

pub use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
pub use types::*;

use decl::{Declared, FNV_OFFSET, fnv1a};

/// Prefix of the entry symbol of every ABI major (`oplink_plugin_v1`, `oplink_plugin_v2`, …),
/// so a host can name the major of a library built for another one.
pub const ENTRY_SYMBOL_PREFIX: &str = "oplink_plugin_v";

const fn layout_table<const N: usize>(structs: &[decl::StructDecl]) -> [LayoutEntry; N] {
    let empty = LayoutEntry {
        name: StrView::from_static(""),
        size: 0,
        align: 0,
        fingerprint: 0,
    };
    let mut out = [empty; N];
    let mut i = 0;
    while i < N {
        let decl = &structs[i];
        out[i] = LayoutEntry {
            name: StrView::from_static(decl.name),
            size: decl.rust_size as u32,
            align: decl.rust_align as u32,
            fingerprint: decl.fingerprint(),
        };
        i += 1;
    }
    out
}

const STRUCT_COUNT: usize = STRUCTS.len();

/// The layout facts of every declared struct, in declaration order; a plugin's header points
/// at its own copy, so a host can name the struct that differs.
pub static LAYOUTS: [LayoutEntry; STRUCT_COUNT] = layout_table(STRUCTS);

/// The fingerprint of the whole ABI of this major: FNV-1a of the major and of every struct's
/// frozen prefix (names and types of its fields). The same on every target and every minor.
pub const LAYOUT_FINGERPRINT: u64 = {
    let mut hash = fnv1a(FNV_OFFSET, &(ABI_MAJOR as u64).to_le_bytes());
    let mut i = 0;
    while i < STRUCTS.len() {
        hash = fnv1a(hash, &STRUCTS[i].fingerprint().to_le_bytes());
        i += 1;
    }
    hash
};

/// The size of struct `S` as a writer of ABI minor `minor` lays it out on this target.
pub const fn size_at_minor<S: Declared>(minor: u16) -> usize {
    S::DECL.size_at_minor(minor, decl::TARGET_MODEL)
}

// SAFETY: a `StrView` is a read-only view; nothing is written through it.
unsafe impl Sync for StrView {}
// SAFETY: as above; moving the view to another thread moves no ownership.
unsafe impl Send for StrView {}

impl StrView {
    /// A view of a `'static` string, usable in statics.
    pub const fn from_static(s: &'static str) -> StrView {
        StrView {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// A view of `s`, valid while `s` is.
    pub fn new(s: &str) -> StrView {
        StrView {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// The bytes behind the view.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that outlive `'a` (or `len` be 0).
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.len == 0 || self.ptr.is_null() {
            return &[];
        }
        // SAFETY: the caller guarantees `len` readable bytes at `ptr`, alive for 'a.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl BytesView {
    /// A view of `bytes`, valid while `bytes` is.
    pub fn new(bytes: &[u8]) -> BytesView {
        BytesView {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The bytes behind the view.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that outlive `'a` (or `len` be 0).
    pub unsafe fn as_slice<'a>(&self) -> &'a [u8] {
        if self.len == 0 || self.ptr.is_null() {
            return &[];
        }
        // SAFETY: the caller guarantees `len` readable bytes at `ptr`, alive for 'a.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl OwnedBuf {
    /// An empty buffer that owns nothing.
    pub const EMPTY: OwnedBuf = OwnedBuf {
        ptr: core::ptr::null_mut(),
        len: 0,
        capacity: 0,
        release: None,
    };

    /// Hands a vector over; this side's allocator frees it through `release`.
    pub fn from_vec(bytes: Vec<u8>) -> OwnedBuf {
        let mut bytes = core::mem::ManuallyDrop::new(bytes);
        OwnedBuf {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            capacity: bytes.capacity(),
            release: Some(ReleaseBufFn(release_vec)),
        }
    }

    /// [`OwnedBuf::take_checked`] for bytes read as well as can be (an error's message and
    /// file): a buffer no writer can have made gives none.
    ///
    /// # Safety
    /// As for [`OwnedBuf::take_checked`].
    pub unsafe fn take(&mut self) -> Vec<u8> {
        // SAFETY: forwarded from the caller.
        unsafe { self.take_checked() }.unwrap_or_default()
    }

    /// Copies the bytes out and releases the buffer through its own release function; an
    /// error for a buffer no writer can have made (a null pointer with a length, a length
    /// past what memory can hold), released all the same. What must arrive whole (a
    /// snapshot, a service's argument or result) is taken so.
    ///
    /// # Safety
    /// `self` must have been written by the other side (by [`OwnedBuf::from_vec`] or a C
    /// writer keeping the same promises) of a library still loaded, or be empty, and not be
    /// released yet.
    pub unsafe fn take_checked(&mut self) -> crate::Result<Vec<u8>> {
        let bytes = if self.len == 0 {
            Ok(Vec::new())
        } else if self.ptr.is_null() || self.len > isize::MAX as usize {
            Err(crate::Error::unlocated(format!(
                "{} arrived with a null pointer or more than memory can hold",
                crate::__private::counted(self.len, "byte", "bytes")
            )))
        } else {
            // SAFETY: the writer guarantees `len` initialised bytes at `ptr`.
            Ok(unsafe { core::slice::from_raw_parts(self.ptr, self.len) }.to_vec())
        };
        if let Some(release) = self.release.take() {
            // SAFETY: the writer's release function, run exactly once: it was just taken out.
            unsafe { (release.0)(self) };
        }
        *self = OwnedBuf::EMPTY;
        bytes
    }
}

unsafe extern "C" fn release_vec(buf: *mut OwnedBuf) {
    // SAFETY: `buf` was written by `OwnedBuf::from_vec` on this side, so ptr/len/capacity
    // describe a live `Vec<u8>` of this allocator; the receiver releases each buffer once.
    unsafe {
        let buf = &mut *buf;
        if !buf.ptr.is_null() {
            drop(Vec::from_raw_parts(buf.ptr, buf.len, buf.capacity));
        }
        buf.ptr = core::ptr::null_mut();
        buf.len = 0;
        buf.capacity = 0;
    }
}

impl ErrorOut {
    /// An empty error slot for a callee to write into.
    pub const EMPTY: ErrorOut = ErrorOut {
        message: OwnedBuf::EMPTY,
        file: OwnedBuf::EMPTY,
        line: 0,
        column: 0,
    };
}

impl AbiChange {
    /// A change with no diffs, for out-parameters.
    pub const EMPTY: AbiChange = AbiChange {
        version: 0,
        changed_at: 0,
        diffs: core::ptr::null_mut(),
        diff_count: 0,
    };

    /// A change with no diffs, of this version and time.
    pub const fn without_diffs(version: u64, changed_at: i64) -> AbiChange {
        AbiChange {
            version,
            changed_at,
            ..AbiChange::EMPTY
        }
    }

    /// Its version and time, read one field at a time. The other side wrote them as it
    /// liked, often as two 8-byte stores; a 16-byte load of both (which the compiler makes
    /// when it copies them on) cannot be forwarded from two stores and waits for them to
    /// reach the cache, which costs a change without diffs a tenth of its crossing.
    #[inline]
    pub fn version_and_time(&self) -> (u64, i64) {
        // SAFETY: two fields of `self`, read by value (volatile only so that the two loads
        // stay two).
        unsafe {
            (
                core::ptr::read_volatile(&raw const self.version),
                core::ptr::read_volatile(&raw const self.changed_at),
            )
        }
    }
}

// SAFETY: descriptors, vtables and requirements are immutable statics that point only to
// other immutable statics.
unsafe impl Sync for OperatorDescriptor {}
// SAFETY: as above.
unsafe impl Sync for OperatorVTable {}
// SAFETY: as above.
unsafe impl Sync for ServiceRequirement {}
// SAFETY: as above.
unsafe impl Sync for ServiceMethod {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ABI guard: this number changes whenever the frozen part of any ABI struct does.
    /// When it fails, you changed the ABI: an appended field needs `#[since = N]` and a minor
    /// bump; anything else is a new major. Then update the number here and regenerate
    /// `oplink.h` (`cargo run -p oplink --example abi-header`).
    #[test]
    fn layout_fingerprint_is_pinned() {
        assert_eq!(
            LAYOUT_FINGERPRINT, 0xf1c2_5135_918a_5e53,
            "ABI layout changed: bump the ABI version"
        );
    }

    #[test]
    fn layout_entries_have_distinct_names() {
        let mut names: Vec<&str> = STRUCTS.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), STRUCTS.len());
    }

    #[test]
    fn appended_fields_shrink_older_minors() {
        let v20 = size_at_minor::<OperatorDescriptor>(0);
        let v21 = size_at_minor::<OperatorDescriptor>(1);
        assert!(
            v20 < v21 && v21 == size_of::<OperatorDescriptor>(),
            "{v20} {v21}"
        );
        assert_eq!(size_at_minor::<PluginHeader>(0), size_of::<PluginHeader>());
    }

    #[test]
    fn owned_buf_round_trip_releases_once() {
        let mut buf = OwnedBuf::from_vec(b"hello".to_vec());
        // SAFETY: written by from_vec just above, not released yet.
        let bytes = unsafe { buf.take_checked() }.unwrap();
        assert_eq!(bytes, b"hello");
        assert!(buf.release.is_none() && buf.ptr.is_null());
        // SAFETY: an empty buffer takes to an empty vector and releases nothing.
        assert!(unsafe { buf.take_checked() }.unwrap().is_empty());
    }
}
