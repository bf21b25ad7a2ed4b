//! The plugin ABI, version 1: every type that crosses the library boundary.
//!
//! The contract (see `docs/abi.md` for the long form):
//!
//! * A library exports one symbol, [`ENTRY_SYMBOL`], an `extern "C" fn() -> *const
//!   PluginHeader`. Calling it runs no user code: it returns a static header.
//! * Everything here is `#[repr(C)]` and expressible in C: integers, pointers, function
//!   pointers and `(pointer, length)` views. No Rust enums, `bool`, references, `String` or
//!   `Vec`. Values are validated where they are read (the host validates the header).
//! * Every table ([`PluginHeader`], [`OperatorDescriptor`], [`OperatorVTable`], [`HostApi`])
//!   starts with its own size and is append-only within ABI major 1: a reader treats a field
//!   beyond the writer's size as absent.
//! * Every struct's size, alignment and field offsets are asserted at compile time below, and
//!   [`LAYOUT_FINGERPRINT`] is derived from the same facts. The host refuses a library whose
//!   fingerprint differs from its own and names the struct that differs.
//! * Whoever allocates frees: an [`OwnedBuf`] carries its release function; borrowed views
//!   ([`StrView`], [`BytesView`]) live for one call. Arrow arrays travel through the Arrow C
//!   Data Interface and are *moved* to the receiver, who releases them through their own
//!   `release` callback.

use core::ffi::c_void;
use core::mem::{align_of, offset_of, size_of};

pub use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};

/// Major version of the ABI. A host loads only libraries of its own major.
pub const ABI_MAJOR: u16 = 1;
/// Minor version of the ABI. Minors only append fields to tables.
pub const ABI_MINOR: u16 = 1;
/// The first eight bytes of every [`PluginHeader`].
pub const MAGIC: [u8; 8] = *b"\x7fOPLINK\0";
/// The one symbol a plugin library exports for ABI major 1.
pub const ENTRY_SYMBOL: &str = "oplink_plugin_v1";
/// Prefix of the entry symbol of every ABI major (`oplink_plugin_v2`, …).
pub const ENTRY_SYMBOL_PREFIX: &str = "oplink_plugin_v";

/// Signature of [`ENTRY_SYMBOL`].
pub type EntryFn = unsafe extern "C" fn() -> *const PluginHeader;

/// Outcome of a call across the boundary. A plain integer, validated by the reader.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u32);

impl Status {
    /// The call succeeded; its out-parameters are written.
    pub const OK: Status = Status(0);
    /// The callee returned an error; the [`ErrorOut`] is written.
    pub const ERROR: Status = Status(1);
    /// The callee panicked; the [`ErrorOut`] is written and the instance is poisoned.
    pub const PANIC: Status = Status(2);
}

/// `panic_strategy` value of a library built with `panic = "unwind"`.
pub const PANIC_UNWIND: u32 = 0;
/// `panic_strategy` value of a library built with `panic = "abort"` (refused by hosts).
pub const PANIC_ABORT: u32 = 1;

/// Bit of [`OperatorDescriptor::implemented`]: the author wrote `pull`.
pub const IMPLEMENTS_PULL: u32 = 1 << 0;
/// Bit of [`OperatorDescriptor::implemented`]: the author wrote `tick`.
pub const IMPLEMENTS_TICK: u32 = 1 << 1;
/// Bit of [`OperatorDescriptor::implemented`]: the author wrote `flush_state`.
pub const IMPLEMENTS_FLUSH_STATE: u32 = 1 << 2;
/// Bit of [`OperatorDescriptor::implemented`]: the author wrote `snapshot`.
pub const IMPLEMENTS_SNAPSHOT: u32 = 1 << 3;
/// Bit of [`OperatorDescriptor::implemented`]: the author wrote `restore`.
pub const IMPLEMENTS_RESTORE: u32 = 1 << 4;

/// [`AbiDiff::kind`] of an insert (only `post` is set).
pub const DIFF_INSERT: u32 = 1;
/// [`AbiDiff::kind`] of an update (`pre` and `post` are set).
pub const DIFF_UPDATE: u32 = 2;
/// [`AbiDiff::kind`] of a remove (only `pre` is set).
pub const DIFF_REMOVE: u32 = 3;

/// A borrowed UTF-8 string: valid for the call it is passed to, or for the life of the
/// library when it sits in a static table. The reader validates the UTF-8.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StrView {
    /// First byte; may be dangling (but not null) when `len` is 0.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

// SAFETY: a `StrView` is a read-only view; the data it points to is never written through it.
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
    /// `ptr` must point to `len` readable bytes that outlive `'a` (or be null with `len` 0).
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the caller guarantees `len` readable bytes at `ptr`, alive for 'a.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A borrowed byte slice, valid for the call it is passed to.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BytesView {
    /// First byte; may be dangling (but not null) when `len` is 0.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
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
    /// `ptr` must point to `len` readable bytes that outlive `'a` (or be null with `len` 0).
    pub unsafe fn as_slice<'a>(&self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the caller guarantees `len` readable bytes at `ptr`, alive for 'a.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// An owned byte buffer that travels with the function that frees it. The receiver reads
/// it, then calls `release` exactly once (the allocator of the side that made it frees it).
#[repr(C)]
#[derive(Debug)]
pub struct OwnedBuf {
    /// First byte (null for an empty buffer).
    pub ptr: *mut u8,
    /// Length in bytes.
    pub len: usize,
    /// Capacity of the allocation, for the releasing side.
    pub capacity: usize,
    /// Frees the buffer; null for an empty buffer, which needs no release.
    pub release: Option<unsafe extern "C" fn(buf: *mut OwnedBuf)>,
}

impl OwnedBuf {
    /// An empty buffer that owns nothing.
    pub const EMPTY: OwnedBuf = OwnedBuf {
        ptr: core::ptr::null_mut(),
        len: 0,
        capacity: 0,
        release: None,
    };

    /// Hands a vector over; the allocator of this side frees it through `release`.
    pub fn from_vec(bytes: Vec<u8>) -> OwnedBuf {
        let mut bytes = core::mem::ManuallyDrop::new(bytes);
        OwnedBuf {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            capacity: bytes.capacity(),
            release: Some(release_vec),
        }
    }

    /// Copies the bytes out and releases the buffer through its own release function.
    ///
    /// # Safety
    /// `self` must have been written by [`OwnedBuf::from_vec`] of some library that is still
    /// loaded (or be empty), and not been released yet.
    pub unsafe fn take(&mut self) -> Vec<u8> {
        let bytes = if self.ptr.is_null() || self.len == 0 {
            Vec::new()
        } else {
            // SAFETY: the writer guarantees `len` initialised bytes at `ptr`.
            unsafe { core::slice::from_raw_parts(self.ptr, self.len) }.to_vec()
        };
        if let Some(release) = self.release.take() {
            // SAFETY: `release` belongs to the writer of this buffer and runs exactly once,
            // since it was just taken out of the struct.
            unsafe { release(self) };
        }
        *self = OwnedBuf::EMPTY;
        bytes
    }
}

unsafe extern "C" fn release_vec(buf: *mut OwnedBuf) {
    // SAFETY: `buf` was written by `OwnedBuf::from_vec` on this side, so ptr/len/capacity
    // describe a live `Vec<u8>` of this allocator; the caller releases each buffer once.
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

/// What a callee writes when it returns [`Status::ERROR`] or [`Status::PANIC`]. The caller
/// passes it in empty, then reads it and releases its buffers.
#[repr(C)]
#[derive(Debug)]
pub struct ErrorOut {
    /// The error's message, UTF-8.
    pub message: OwnedBuf,
    /// The source file where the error was made or the panic happened, UTF-8; may be empty.
    pub file: OwnedBuf,
    /// Line in `file` (1-based; 0 when unknown).
    pub line: u32,
    /// Column in `file` (1-based; 0 when unknown).
    pub column: u32,
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

/// A facts-only description of one ABI struct, carried in the header so the host can say
/// *which* struct differs when fingerprints disagree.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LayoutEntry {
    /// The struct's name, e.g. `OperatorVTable`.
    pub name: StrView,
    /// `size_of` the struct.
    pub size: u32,
    /// `align_of` the struct.
    pub align: u32,
    /// FNV-1a of the name, size, alignment and every field offset.
    pub fingerprint: u64,
}

/// The static header behind [`ENTRY_SYMBOL`]. Its first 16 bytes (magic, size, major,
/// minor) are frozen across every ABI major, so any host can tell what it is looking at.
#[repr(C)]
#[derive(Debug)]
pub struct PluginHeader {
    /// Always [`MAGIC`].
    pub magic: [u8; 8],
    /// `size_of::<PluginHeader>()` of the writer.
    pub size: u32,
    /// [`ABI_MAJOR`] of the writer.
    pub abi_major: u16,
    /// [`ABI_MINOR`] of the writer.
    pub abi_minor: u16,
    /// [`LAYOUT_FINGERPRINT`] of the writer.
    pub layout_fingerprint: u64,
    /// The writer's [`LAYOUTS`].
    pub layouts: *const LayoutEntry,
    /// Number of entries at `layouts`.
    pub layout_count: usize,
    /// Version of the `oplink` crate the library was built with.
    pub oplink_version: StrView,
    /// `rustc --version` of the build.
    pub rustc_version: StrView,
    /// Target triple of the build.
    pub target: StrView,
    /// Cargo profile of the build (`debug`, `release`, …).
    pub profile: StrView,
    /// [`PANIC_UNWIND`] or [`PANIC_ABORT`].
    pub panic_strategy: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// The operators of the library.
    pub operators: *const *const OperatorDescriptor,
    /// Number of entries at `operators`.
    pub operator_count: usize,
}

// SAFETY: the header and everything it points to are immutable statics of the library.
unsafe impl Sync for PluginHeader {}
// SAFETY: a `LayoutEntry` only points to static strings.
unsafe impl Sync for LayoutEntry {}

/// One operator of a library: its identity and its vtable.
#[repr(C)]
#[derive(Debug)]
pub struct OperatorDescriptor {
    /// `size_of::<OperatorDescriptor>()` of the writer.
    pub size: usize,
    /// Unique name within the library, e.g. `threshold`.
    pub name: StrView,
    /// Semantic version of the operator, e.g. `1.0.0`.
    pub version: StrView,
    /// One-line description; may be empty.
    pub description: StrView,
    /// Bit set of `IMPLEMENTS_*`: which optional methods the author wrote.
    pub implemented: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// The operator's entry points.
    pub vtable: *const OperatorVTable,
    /// The host services the operator requires (`#[operator(requires = [..])]`), checked
    /// by the host before it creates an instance. Since ABI 1.1.
    pub requires: *const ServiceRequirement,
    /// Number of entries at `requires`. Since ABI 1.1.
    pub requires_count: usize,
}

/// A host service's identity as an operator descriptor lists it: name, fingerprint and
/// each method's signature, so a host can say which method differs.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ServiceRequirement {
    /// The service's name, e.g. `Catalog`.
    pub name: StrView,
    /// The service's fingerprint (`oplink::service::fingerprint`).
    pub fingerprint: u64,
    /// Each method's signature, in table order.
    pub methods: *const StrView,
    /// Number of entries at `methods`.
    pub method_count: usize,
}

// SAFETY: a requirement only points to static strings.
unsafe impl Sync for ServiceRequirement {}
// SAFETY: as above.
unsafe impl Send for ServiceRequirement {}

impl ServiceRequirement {
    /// A requirement over static data.
    pub const fn new(name: &'static str, fingerprint: u64, methods: &'static [StrView]) -> Self {
        ServiceRequirement {
            name: StrView::from_static(name),
            fingerprint,
            methods: methods.as_ptr(),
            method_count: methods.len(),
        }
    }
}

// SAFETY: descriptors are immutable statics that point to statics.
unsafe impl Sync for OperatorDescriptor {}

/// Opaque instance of an operator, owned by the plugin.
#[repr(C)]
#[derive(Debug)]
pub struct OpaqueInstance {
    _private: [u8; 0],
}

/// `create(host, config_json, out_instance, err)`.
pub type CreateFn = unsafe extern "C" fn(
    host: *const HostApi,
    config: StrView,
    out: *mut *mut OpaqueInstance,
    err: *mut ErrorOut,
) -> Status;
/// `destroy(instance, err)`: drops the instance; a panic while dropping is reported.
pub type DestroyFn =
    unsafe extern "C" fn(instance: *mut OpaqueInstance, err: *mut ErrorOut) -> Status;
/// `apply(instance, input, out, err)`: the arrays of `input` move to the plugin; `out`
/// stays valid until the next call on the instance, and its arrays move to the caller.
pub type ApplyFn = unsafe extern "C" fn(
    instance: *mut OpaqueInstance,
    input: *mut AbiChange,
    out: *mut AbiChange,
    err: *mut ErrorOut,
) -> Status;
/// `pull(instance, rows, row_count, out, err)`: one output row per requested row number.
pub type PullFn = unsafe extern "C" fn(
    instance: *mut OpaqueInstance,
    rows: *const u64,
    row_count: usize,
    out: *mut AbiRows,
    err: *mut ErrorOut,
) -> Status;
/// `tick(instance, now_nanos, out, produced, err)`: `*produced` is 1 when `out` is written.
pub type TickFn = unsafe extern "C" fn(
    instance: *mut OpaqueInstance,
    now_nanos: i64,
    out: *mut AbiChange,
    produced: *mut u32,
    err: *mut ErrorOut,
) -> Status;
/// `flush_state(instance, err)`.
pub type FlushStateFn =
    unsafe extern "C" fn(instance: *mut OpaqueInstance, err: *mut ErrorOut) -> Status;
/// `snapshot(instance, out, err)`: `out` is released by the caller through its `release`.
pub type SnapshotFn = unsafe extern "C" fn(
    instance: *mut OpaqueInstance,
    out: *mut OwnedBuf,
    err: *mut ErrorOut,
) -> Status;
/// `restore(instance, snapshot, err)`.
pub type RestoreFn = unsafe extern "C" fn(
    instance: *mut OpaqueInstance,
    snapshot: BytesView,
    err: *mut ErrorOut,
) -> Status;

/// The entry points of one operator. Every slot is filled (absent optional methods get a
/// generated default); `OperatorDescriptor::implemented` says which ones the author wrote.
#[repr(C)]
#[derive(Debug)]
pub struct OperatorVTable {
    /// `size_of::<OperatorVTable>()` of the writer.
    pub size: usize,
    /// Creates an instance from a JSON configuration.
    pub create: Option<CreateFn>,
    /// Destroys an instance.
    pub destroy: Option<DestroyFn>,
    /// Transforms one change.
    pub apply: Option<ApplyFn>,
    /// Returns rows by row number.
    pub pull: Option<PullFn>,
    /// Lets time pass; may emit a change.
    pub tick: Option<TickFn>,
    /// Persists pending state.
    pub flush_state: Option<FlushStateFn>,
    /// Serialises the instance's state (hot-reload handoff).
    pub snapshot: Option<SnapshotFn>,
    /// Restores state written by `snapshot`.
    pub restore: Option<RestoreFn>,
}

// SAFETY: vtables are immutable statics of function pointers.
unsafe impl Sync for OperatorVTable {}

/// Looks up a host service by name and interface fingerprint; writes the service's callback
/// table to `out` and returns [`Status::OK`], or returns [`Status::ERROR`] with `err` set.
pub type LookupServiceFn = unsafe extern "C" fn(
    host: *const HostApi,
    name: StrView,
    fingerprint: u64,
    out: *mut *const c_void,
    err: *mut ErrorOut,
) -> Status;

/// What the host hands to `create`; it outlives the instance.
#[repr(C)]
#[derive(Debug)]
pub struct HostApi {
    /// `size_of::<HostApi>()` of the writer.
    pub size: usize,
    /// Host-chosen identifier of the instance (unique within the host process).
    pub instance_id: u64,
    /// Host-private data for `lookup_service`.
    pub context: *mut c_void,
    /// Service lookup; null when the host offers no services.
    pub lookup_service: Option<LookupServiceFn>,
}

/// One batch of rows: an Arrow struct array (one child per column) and the rows' numbers
/// (an Arrow `UInt64` array of the same length, or a released array when absent).
///
/// `schema` is non-null the first time a schema crosses on an instance in one direction;
/// after that the receiver finds it in its cache by `schema_id`. The arrays are moved to the
/// receiver, who takes them with `FFI_ArrowArray::from_raw`.
#[repr(C)]
#[derive(Debug)]
pub struct AbiRows {
    /// Sender-chosen, non-zero id of the batch's schema on this instance and direction.
    pub schema_id: u64,
    /// The schema (a struct-typed `FFI_ArrowSchema`), or null when already sent.
    pub schema: *const FFI_ArrowSchema,
    /// The columns, as one struct array.
    pub columns: FFI_ArrowArray,
    /// The row numbers (`UInt64`, no nulls).
    pub row_numbers: FFI_ArrowArray,
}

/// One diff of a change: `kind` is one of `DIFF_*`; unused sides are released arrays with
/// `schema_id` 0.
#[repr(C)]
#[derive(Debug)]
pub struct AbiDiff {
    /// `DIFF_INSERT`, `DIFF_UPDATE` or `DIFF_REMOVE`.
    pub kind: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Rows before the change (update, remove).
    pub pre: AbiRows,
    /// Rows after the change (insert, update).
    pub post: AbiRows,
}

/// A change: its version, its time and its diffs. The diff list is borrowed for the call
/// (input) or until the next call on the instance (output); the arrays inside it move.
#[repr(C)]
#[derive(Debug)]
pub struct AbiChange {
    /// Monotonic version of the change.
    pub version: u64,
    /// When the change happened, in nanoseconds since the Unix epoch.
    pub changed_at: i64,
    /// First diff (may be null when `diff_count` is 0).
    pub diffs: *mut AbiDiff,
    /// Number of diffs.
    pub diff_count: usize,
}

impl AbiChange {
    /// A change with no diffs, for out-parameters.
    pub const EMPTY: AbiChange = AbiChange {
        version: 0,
        changed_at: 0,
        diffs: core::ptr::null_mut(),
        diff_count: 0,
    };
}

// ---------------------------------------------------------------------------------------
// Layout: assertions and fingerprint.

/// Describes one struct for [`LAYOUTS`]: `layout_of!(Type { field, field, … })`.
macro_rules! layout_of {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        LayoutEntry::describe(
            stringify!($ty),
            size_of::<$ty>(),
            align_of::<$ty>(),
            &[$(offset_of!($ty, $field)),*],
        )
    };
}

pub(crate) const fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

impl LayoutEntry {
    const fn describe(
        name: &'static str,
        size: usize,
        align: usize,
        offsets: &[usize],
    ) -> LayoutEntry {
        let mut hash = fnv1a(FNV_OFFSET, name.as_bytes());
        hash = fnv1a(hash, &(size as u64).to_le_bytes());
        hash = fnv1a(hash, &(align as u64).to_le_bytes());
        let mut i = 0;
        while i < offsets.len() {
            hash = fnv1a(hash, &(offsets[i] as u64).to_le_bytes());
            i += 1;
        }
        LayoutEntry {
            name: StrView::from_static(name),
            size: size as u32,
            align: align as u32,
            fingerprint: hash,
        }
    }
}

/// Layout facts of every ABI struct, in a fixed order.
pub static LAYOUTS: [LayoutEntry; 14] = LAYOUT_TABLE;

const LAYOUT_TABLE: [LayoutEntry; 14] = [
    layout_of!(StrView { ptr, len }),
    layout_of!(BytesView { ptr, len }),
    layout_of!(OwnedBuf {
        ptr,
        len,
        capacity,
        release
    }),
    layout_of!(ErrorOut {
        message,
        file,
        line,
        column
    }),
    layout_of!(LayoutEntry {
        name,
        size,
        align,
        fingerprint
    }),
    layout_of!(PluginHeader {
        magic,
        size,
        abi_major,
        abi_minor,
        layout_fingerprint,
        layouts,
        layout_count,
        oplink_version,
        rustc_version,
        target,
        profile,
        panic_strategy,
        reserved,
        operators,
        operator_count,
    }),
    layout_of!(OperatorDescriptor {
        size,
        name,
        version,
        description,
        implemented,
        reserved,
        vtable,
        requires,
        requires_count
    }),
    layout_of!(ServiceRequirement {
        name,
        fingerprint,
        methods,
        method_count
    }),
    layout_of!(OperatorVTable {
        size,
        create,
        destroy,
        apply,
        pull,
        tick,
        flush_state,
        snapshot,
        restore,
    }),
    layout_of!(HostApi {
        size,
        instance_id,
        context,
        lookup_service
    }),
    layout_of!(AbiRows {
        schema_id,
        schema,
        columns,
        row_numbers
    }),
    layout_of!(AbiDiff {
        kind,
        reserved,
        pre,
        post
    }),
    layout_of!(AbiChange {
        version,
        changed_at,
        diffs,
        diff_count
    }),
    LayoutEntry::describe(
        "FFI_ArrowArray",
        size_of::<FFI_ArrowArray>(),
        align_of::<FFI_ArrowArray>(),
        &[],
    ),
];

const fn fingerprint_of(entries: &[LayoutEntry]) -> u64 {
    let mut hash = fnv1a(FNV_OFFSET, &(ABI_MAJOR as u64).to_le_bytes());
    let mut i = 0;
    while i < entries.len() {
        hash = fnv1a(hash, &entries[i].fingerprint.to_le_bytes());
        i += 1;
    }
    hash
}

/// Fingerprint of the whole ABI layout of this build: one number for the host to compare.
pub const LAYOUT_FINGERPRINT: u64 = fingerprint_of(&LAYOUT_TABLE);

// The numbers below are the ABI on every 64-bit target. Changing any of them is an ABI
// change: bump `ABI_MAJOR` (or, for an appended field, `ABI_MINOR`) and the pinned
// fingerprint in the tests.
#[cfg(target_pointer_width = "64")]
mod assertions {
    use super::*;
    use static_assertions::{assert_eq_align, assert_eq_size, const_assert_eq};

    assert_eq_size!(StrView, [u64; 2]);
    assert_eq_size!(BytesView, [u64; 2]);
    assert_eq_size!(OwnedBuf, [u64; 4]);
    assert_eq_size!(ErrorOut, [u64; 9]);
    assert_eq_size!(LayoutEntry, [u64; 4]);
    assert_eq_size!(PluginHeader, [u64; 16]);
    assert_eq_size!(OperatorDescriptor, [u64; 11]);
    assert_eq_size!(ServiceRequirement, [u64; 5]);
    assert_eq_size!(OperatorVTable, [u64; 9]);
    assert_eq_size!(HostApi, [u64; 4]);
    assert_eq_size!(FFI_ArrowArray, [u64; 10]);
    assert_eq_size!(AbiRows, [u64; 22]);
    assert_eq_size!(AbiDiff, [u64; 45]);
    assert_eq_size!(AbiChange, [u64; 4]);
    assert_eq_align!(PluginHeader, u64);
    assert_eq_align!(AbiDiff, u64);
    assert_eq_align!(ErrorOut, u64);

    const_assert_eq!(offset_of!(OwnedBuf, release), 24);
    const_assert_eq!(offset_of!(ErrorOut, file), 32);
    const_assert_eq!(offset_of!(ErrorOut, line), 64);
    const_assert_eq!(offset_of!(ErrorOut, column), 68);
    const_assert_eq!(offset_of!(PluginHeader, size), 8);
    const_assert_eq!(offset_of!(PluginHeader, abi_major), 12);
    const_assert_eq!(offset_of!(PluginHeader, abi_minor), 14);
    const_assert_eq!(offset_of!(PluginHeader, layout_fingerprint), 16);
    const_assert_eq!(offset_of!(PluginHeader, layouts), 24);
    const_assert_eq!(offset_of!(PluginHeader, oplink_version), 40);
    const_assert_eq!(offset_of!(PluginHeader, panic_strategy), 104);
    const_assert_eq!(offset_of!(PluginHeader, operators), 112);
    const_assert_eq!(offset_of!(PluginHeader, operator_count), 120);
    const_assert_eq!(offset_of!(OperatorDescriptor, name), 8);
    const_assert_eq!(offset_of!(OperatorDescriptor, implemented), 56);
    const_assert_eq!(offset_of!(OperatorDescriptor, vtable), 64);
    const_assert_eq!(offset_of!(OperatorDescriptor, requires), 72);
    const_assert_eq!(offset_of!(OperatorDescriptor, requires_count), 80);
    const_assert_eq!(offset_of!(ServiceRequirement, fingerprint), 16);
    const_assert_eq!(offset_of!(ServiceRequirement, methods), 24);
    const_assert_eq!(offset_of!(ServiceRequirement, method_count), 32);
    const_assert_eq!(offset_of!(OperatorVTable, create), 8);
    const_assert_eq!(offset_of!(OperatorVTable, destroy), 16);
    const_assert_eq!(offset_of!(OperatorVTable, apply), 24);
    const_assert_eq!(offset_of!(OperatorVTable, pull), 32);
    const_assert_eq!(offset_of!(OperatorVTable, tick), 40);
    const_assert_eq!(offset_of!(OperatorVTable, flush_state), 48);
    const_assert_eq!(offset_of!(OperatorVTable, snapshot), 56);
    const_assert_eq!(offset_of!(OperatorVTable, restore), 64);
    const_assert_eq!(offset_of!(HostApi, instance_id), 8);
    const_assert_eq!(offset_of!(HostApi, context), 16);
    const_assert_eq!(offset_of!(HostApi, lookup_service), 24);
    const_assert_eq!(offset_of!(AbiRows, schema), 8);
    const_assert_eq!(offset_of!(AbiRows, columns), 16);
    const_assert_eq!(offset_of!(AbiRows, row_numbers), 96);
    const_assert_eq!(offset_of!(AbiDiff, pre), 8);
    const_assert_eq!(offset_of!(AbiDiff, post), 184);
    const_assert_eq!(offset_of!(AbiChange, diffs), 16);
    const_assert_eq!(offset_of!(AbiChange, diff_count), 24);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ABI guard: this number changes whenever any ABI struct's layout does. When it
    /// fails, you changed the ABI: bump `ABI_MAJOR` (or `ABI_MINOR` for an appended field),
    /// then update the number here.
    #[test]
    fn layout_fingerprint_is_pinned() {
        assert_eq!(
            LAYOUT_FINGERPRINT, 0x7fc8_1d96_585f_7cc1,
            "ABI layout changed: bump the ABI version"
        );
    }

    #[test]
    fn layout_entries_have_distinct_names() {
        let mut names: Vec<&[u8]> = LAYOUTS
            .iter()
            // SAFETY: layout names are static strings of this crate.
            .map(|e| unsafe { e.name.as_bytes() })
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), LAYOUTS.len());
    }

    #[test]
    fn owned_buf_round_trip_releases_once() {
        let mut buf = OwnedBuf::from_vec(b"hello".to_vec());
        // SAFETY: written by from_vec just above, not released yet.
        let bytes = unsafe { buf.take() };
        assert_eq!(bytes, b"hello");
        assert!(buf.release.is_none() && buf.ptr.is_null());
        // SAFETY: an empty buffer takes to an empty vector and releases nothing.
        assert!(unsafe { buf.take() }.is_empty());
    }
}
