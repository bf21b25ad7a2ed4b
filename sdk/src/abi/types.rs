//! The ABI, declared once. Every struct, function type, constant and status code that
//! crosses the library boundary is written here and nowhere else: the Rust types, their
//! layout assertions, the layout fingerprint, the host's field handles, the C header
//! `oplink.h` and the tables of `docs/abi.md` are all made from this file.
//!
//! Rules for changing it: a field appended to the end of a table in a new minor carries
//! `#[since = N]` and bumps [`ABI_MINOR`]; anything else (a field moved, removed, retyped, or
//! added in the middle) is a new major. `abi::tests` pins the fingerprint so neither happens
//! by accident.

use core::ffi::c_void;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};

use super::decl::{CLayout, CType, abi_fn, abi_struct};

/// One constant of the ABI, for the C header and the docs.
#[derive(Clone, Copy, Debug)]
pub struct ConstDecl {
    /// The Rust name; the C name is `OPLINK_` followed by it.
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// Its value as C spells it.
    pub c_value: &'static str,
}

macro_rules! abi_consts {
    ($(
        $(#[doc = $doc:literal])*
        pub const $name:ident : $ty:ty = $value:expr => $c:expr;
    )*) => {
        $(
            $(#[doc = $doc])*
            pub const $name: $ty = $value;
        )*

        /// Every constant of the ABI, in declaration order.
        pub const CONSTANTS: &[ConstDecl] = &[$(
            ConstDecl { name: stringify!($name), doc: concat!($($doc, "\n"),*), c_value: $c },
        )*];
    };
}

abi_consts! {
    /// Major version of the ABI. A host loads only libraries of its own major.
    pub const ABI_MAJOR: u16 = 2 => "2";
    /// Minor version of the ABI. Minors append fields to tables or allow one side more
    /// (2.2: `apply` may return its input; a caller need not zero the error slot); a host
    /// reads a library of its own or an older minor.
    pub const ABI_MINOR: u16 = 2 => "2";
    /// The version of the oplink SDK that wrote this declaration (and `oplink.h`).
    pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION") => concat!("\"", env!("CARGO_PKG_VERSION"), "\"");
    /// The one symbol a plugin library exports for this major, as text.
    pub const ENTRY_SYMBOL: &str = "oplink_plugin_v2" => "\"oplink_plugin_v2\"";
    /// The first eight bytes of every plugin header, of every major.
    pub const MAGIC: [u8; 8] = *b"\x7fOPLINK\0" => "{ 0x7f, 'O', 'P', 'L', 'I', 'N', 'K', 0x00 }";
    /// `panic_strategy` of code built with `panic = "unwind"`.
    pub const PANIC_UNWIND: u32 = 0 => "0u";
    /// `panic_strategy` of code built with `panic = "abort"`; hosts refuse such libraries,
    /// since a panic in them would end the host's process.
    pub const PANIC_ABORT: u32 = 1 => "1u";
    /// Bit of the descriptor's `implemented`: the author wrote `pull`.
    pub const IMPLEMENTS_PULL: u32 = 1 << 0 => "(1u << 0)";
    /// Bit of the descriptor's `implemented`: the author wrote `tick`.
    pub const IMPLEMENTS_TICK: u32 = 1 << 1 => "(1u << 1)";
    /// Bit of the descriptor's `implemented`: the author wrote `flush_state`.
    pub const IMPLEMENTS_FLUSH_STATE: u32 = 1 << 2 => "(1u << 2)";
    /// Bit of the descriptor's `implemented`: the author wrote `snapshot`.
    pub const IMPLEMENTS_SNAPSHOT: u32 = 1 << 3 => "(1u << 3)";
    /// Bit of the descriptor's `implemented`: the author wrote `restore`.
    pub const IMPLEMENTS_RESTORE: u32 = 1 << 4 => "(1u << 4)";
    /// Every bit `implemented` may have; any other is refused.
    pub const IMPLEMENTS_ALL: u32 = 0x1f => "0x1fu";
    /// An `AbiDiff`'s `kind` for an insert (only `post` is set).
    pub const DIFF_INSERT: u32 = 1 => "1u";
    /// An `AbiDiff`'s `kind` for an update (`pre` and `post` are set, with the same row numbers).
    pub const DIFF_UPDATE: u32 = 2 => "2u";
    /// An `AbiDiff`'s `kind` for a remove (only `pre` is set).
    pub const DIFF_REMOVE: u32 = 3 => "3u";
    /// The largest schema id a sender may use: ids are slots of the receiver's schema
    /// cache, so a cache never holds more schemas than this.
    pub const MAX_SCHEMA_ID: u64 = 1024 => "1024u";
}

/// Outcome of a call across the boundary: one of the `Status::*` constants, validated by
/// the reader (an unknown value is an error, never trusted).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Status(pub u32);

impl Status {
    /// The call succeeded; its out-parameters are written.
    pub const OK: Status = Status(0);
    /// The callee returned an error; the `ErrorOut` is written.
    pub const ERROR: Status = Status(1);
    /// The callee panicked; the `ErrorOut` is written and the instance is poisoned.
    pub const PANIC: Status = Status(2);
    /// The callee could not read its input (a malformed change, a bad argument); the
    /// `ErrorOut` is written. The fault is the caller's data, not the callee's code.
    pub const INVALID_INPUT: Status = Status(3);

    /// Every status, with its C name, for the header and the docs.
    pub const ALL: [(Status, &'static str, &'static str); 4] = [
        (
            Status::OK,
            "OK",
            "The call succeeded; its out-parameters are written.",
        ),
        (
            Status::ERROR,
            "ERROR",
            "The callee returned an error; the error slot is written.",
        ),
        (
            Status::PANIC,
            "PANIC",
            "The callee panicked; the error slot is written. An operator that panicked is poisoned (its host calls it no more); a host service that panicked poisons nothing: the call failed, as with `ERROR`.",
        ),
        (
            Status::INVALID_INPUT,
            "INVALID_INPUT",
            "The callee could not read its input; the error slot is written.",
        ),
    ];
}

impl CType for Status {
    const LAYOUT: [CLayout; 3] = u32::LAYOUT;
    fn c_name() -> String {
        "OplinkStatus".to_owned()
    }
}

/// An operator instance, opaque to everyone but the plugin that made it.
#[repr(C)]
#[derive(Debug)]
pub struct OpaqueInstance {
    _private: [u8; 0],
}

impl CType for OpaqueInstance {
    const LAYOUT: [CLayout; 3] = CLayout::fixed(1);
    fn c_name() -> String {
        "OplinkInstance".to_owned()
    }
}

/// The Arrow C Data Interface's `struct ArrowArray`, exactly as the specification declares it.
impl CType for FFI_ArrowArray {
    const LAYOUT: [CLayout; 3] = super::decl::struct_layout(&[
        i64::LAYOUT,
        i64::LAYOUT,
        i64::LAYOUT,
        i64::LAYOUT,
        i64::LAYOUT,
        <*const c_void>::LAYOUT,
        <*const c_void>::LAYOUT,
        <*const c_void>::LAYOUT,
        <*const c_void>::LAYOUT,
        <*const c_void>::LAYOUT,
    ]);
    fn c_name() -> String {
        "struct ArrowArray".to_owned()
    }
}

/// The Arrow C Data Interface's `struct ArrowSchema`, exactly as the specification declares it.
impl CType for FFI_ArrowSchema {
    const LAYOUT: [CLayout; 3] = super::decl::struct_layout(&[
        <*const c_void>::LAYOUT,
        <*const c_void>::LAYOUT,
        <*const c_void>::LAYOUT,
        i64::LAYOUT,
        i64::LAYOUT,
        <*const c_void>::LAYOUT,
        <*const c_void>::LAYOUT,
        <*const c_void>::LAYOUT,
        <*const c_void>::LAYOUT,
    ]);
    fn c_name() -> String {
        "struct ArrowSchema".to_owned()
    }
}

const _: () = {
    let model = super::decl::TARGET_MODEL;
    assert!(size_of::<FFI_ArrowArray>() == FFI_ArrowArray::LAYOUT[model].size);
    assert!(size_of::<FFI_ArrowSchema>() == FFI_ArrowSchema::LAYOUT[model].size);
};

abi_struct! {
    /// A borrowed UTF-8 string: valid for the call it is passed to, or for the life of the
    /// library when it sits in a static table. The reader validates the UTF-8.
    #[derive(Clone, Copy)]
    pub struct StrView {
        /// First byte; when `len` is 0, dangling or null (readers accept both).
        pub ptr: *const u8,
        /// Length in bytes.
        pub len: usize,
    }
}

abi_struct! {
    /// A borrowed byte string, valid for the call it is passed to.
    #[derive(Clone, Copy)]
    pub struct BytesView {
        /// First byte; when `len` is 0, dangling or null (readers accept both).
        pub ptr: *const u8,
        /// Length in bytes.
        pub len: usize,
    }
}

abi_struct! {
    /// A borrowed array of numbers, valid for the call it is passed to; the element type is
    /// the one the signature names.
    #[derive(Clone, Copy)]
    pub struct SliceView {
        /// First element, aligned for its type; when `len` is 0, dangling or null (readers
        /// accept both).
        pub ptr: *const c_void,
        /// Number of elements.
        pub len: usize,
    }
}

abi_fn! {
    /// Frees an `OwnedBuf`; called exactly once, by the receiver.
    pub fn ReleaseBufFn(buf: *mut OwnedBuf) -> ();
}

abi_struct! {
    /// An owned byte buffer that travels with the function that frees it: the receiver reads
    /// it, then calls `release` once, so the allocator that made it frees it.
    pub struct OwnedBuf {
        /// First byte; when `len` is 0, dangling or null.
        pub ptr: *mut u8,
        /// Length in bytes.
        pub len: usize,
        /// Capacity of the allocation, for the releasing side.
        pub capacity: usize,
        /// Frees the buffer; null when there is nothing to free. When not null, the
        /// receiver calls it exactly once, whatever `len` is.
        pub release: Option<ReleaseBufFn>,
    }
}

abi_fn! {
    /// Frees an `OwnedVec`; called exactly once, by the receiver.
    pub fn ReleaseVecFn(vec: *mut OwnedVec) -> ();
}

abi_struct! {
    /// An owned array of numbers that travels with the function that frees it; the element
    /// type is the one the signature names.
    pub struct OwnedVec {
        /// First element (null or dangling when `capacity` is 0).
        pub ptr: *mut c_void,
        /// Number of elements.
        pub len: usize,
        /// Capacity of the allocation in elements, for the releasing side.
        pub capacity: usize,
        /// Frees the array; null when there is nothing to free. When not null, the receiver
        /// calls it exactly once, whatever `len` is.
        pub release: Option<ReleaseVecFn>,
    }
}

abi_struct! {
    /// What a callee writes, every field of it, when it returns `ERROR`, `PANIC` or
    /// `INVALID_INPUT`; the caller then reads it and releases its buffers. Since 2.2 a
    /// caller need not zero it first (the host still does for plugins, whose older
    /// minors may write only some fields); for any other status it is not read.
    pub struct ErrorOut {
        /// The message, UTF-8. An empty message means the callee gave none.
        pub message: OwnedBuf,
        /// The source file where the error was made or the panic happened, UTF-8; empty when
        /// unknown.
        pub file: OwnedBuf,
        /// Line in `file` (1-based; 0 when unknown).
        pub line: u32,
        /// Column in `file` (1-based; 0 when unknown).
        pub column: u32,
    }
}

abi_struct! {
    /// The layout facts of one ABI struct, carried in the header so that a host can say which
    /// struct differs when fingerprints disagree.
    #[derive(Clone, Copy)]
    pub struct LayoutEntry {
        /// The struct's name, e.g. `OperatorVTable`.
        pub name: StrView,
        /// Its size in the writer.
        pub size: u32,
        /// Its alignment in the writer.
        pub align: u32,
        /// The fingerprint of its frozen prefix (names and types of its fields).
        pub fingerprint: u64,
    }
}

abi_fn! {
    /// The library's entry symbol, `oplink_plugin_v2`: returns its static header. It runs
    /// none of the operators' code.
    pub fn EntryFn() -> *const PluginHeader;
}

abi_struct! {
    /// The static header behind the entry symbol. Its first 16 bytes (magic, size, major,
    /// minor) are the same in every major, so any host can tell what it is looking at.
    pub struct PluginHeader {
        /// Always `OPLINK_MAGIC`.
        pub magic: [u8; 8],
        /// The writer's `sizeof(OplinkPluginHeader)`.
        pub size: u32,
        /// `OPLINK_ABI_MAJOR` of the writer.
        pub abi_major: u16,
        /// `OPLINK_ABI_MINOR` of the writer.
        pub abi_minor: u16,
        /// The fingerprint of the writer's ABI layout (`OPLINK_LAYOUT_FINGERPRINT`).
        pub layout_fingerprint: u64,
        /// The layout entries behind the fingerprint (may be null when `layout_count` is 0).
        pub layouts: *const LayoutEntry,
        /// Number of layout entries.
        pub layout_count: usize,
        /// Version of the oplink SDK (or of `oplink.h`) the library was built with.
        pub oplink_version: StrView,
        /// The compiler that built the library (`rustc --version`, or a C compiler's name).
        pub rustc_version: StrView,
        /// Target triple of the build.
        pub target: StrView,
        /// Build profile (`debug`, `release`, …).
        pub profile: StrView,
        /// `OPLINK_PANIC_UNWIND` or `OPLINK_PANIC_ABORT`, as the SDK was compiled.
        pub panic_strategy: u32,
        /// Reserved, zero.
        pub reserved: u32,
        /// The operator descriptors (may be null when `operator_count` is 0).
        pub operators: *const *const OperatorDescriptor,
        /// Number of operators.
        pub operator_count: usize,
    }
}

abi_struct! {
    /// One operator of a library: its identity, its entry points and what it requires.
    pub struct OperatorDescriptor {
        /// The writer's `sizeof(OplinkOperatorDescriptor)`: fields beyond it are absent.
        pub size: u32,
        /// Which optional methods the author wrote: `OPLINK_IMPLEMENTS_*` bits.
        pub implemented: u32,
        /// The operator's name: 1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with
        /// a letter; unique within the library.
        pub name: StrView,
        /// Its semantic version.
        pub version: StrView,
        /// A one-line description (may be empty).
        pub description: StrView,
        /// Its entry points.
        pub vtable: *const OperatorVTable,
        /// The host services it requires (may be null when `requires_count` is 0).
        pub requires: *const ServiceRequirement,
        /// Number of required services.
        pub requires_count: usize,
        /// The panic strategy of the code that defines the operator (ABI 2.1): a plugin crate
        /// built alone with `-C panic=abort` says so here even when the SDK was not. Absent
        /// in 2.0 descriptors, which the header's strategy covers.
        #[since = 1]
        pub panic_strategy: u32,
        /// Reserved, zero (ABI 2.1).
        #[since = 1]
        pub reserved: u32,
    }
}

abi_struct! {
    /// One method of a host service as a plugin was built against it.
    #[derive(Clone, Copy)]
    pub struct ServiceMethod {
        /// The method's name.
        pub name: StrView,
        /// Its signature as written in the trait, for messages.
        pub signature: StrView,
        /// The fingerprint of its name and of the C form of its parameter and return types.
        pub fingerprint: u64,
    }
}

abi_struct! {
    /// A host service an operator requires: the host checks it before creating the instance.
    #[derive(Clone, Copy)]
    pub struct ServiceRequirement {
        /// The service's name, e.g. `oplink.Log`.
        pub name: StrView,
        /// The fingerprint of the whole service (name and every method's fingerprint).
        pub fingerprint: u64,
        /// Its methods, in table order.
        pub methods: *const ServiceMethod,
        /// Number of methods.
        pub method_count: usize,
    }
}

abi_fn! {
    /// Creates an instance from a JSON configuration; `host` outlives the instance.
    pub fn CreateFn(host: *const HostApi, config: StrView, out: *mut *mut OpaqueInstance, err: *mut ErrorOut) -> Status;
}
abi_fn! {
    /// Destroys an instance; a panic while dropping it is reported, not raised.
    pub fn DestroyFn(instance: *mut OpaqueInstance, err: *mut ErrorOut) -> Status;
}
abi_fn! {
    /// Transforms one change. The arrays of `input` move to the callee, which may also write
    /// over `*input` itself: the caller finds what is left of its input (to release it) and
    /// recognises it given back by its own record of the diff array. `out`, which the
    /// caller passes zeroed (a callee that answers `OK` without writing it returned no
    /// diffs), stays valid until the next call on the instance, and its arrays move to the
    /// caller. Since 2.2 an
    /// operator may return its input unchanged: `out` then has the input's diff array and
    /// count, with every array moved back into the slot it came from.
    pub fn ApplyFn(instance: *mut OpaqueInstance, input: *mut AbiChange, out: *mut AbiChange, err: *mut ErrorOut) -> Status;
}
abi_fn! {
    /// Returns one row per requested row number, in order.
    pub fn PullFn(instance: *mut OpaqueInstance, rows: *const u64, row_count: usize, out: *mut AbiRows, err: *mut ErrorOut) -> Status;
}
abi_fn! {
    /// Lets time pass; `*produced` is 1 when `out` is written. The caller passes `out` zeroed
    /// and `*produced` 0.
    pub fn TickFn(instance: *mut OpaqueInstance, now_nanos: i64, out: *mut AbiChange, produced: *mut u32, err: *mut ErrorOut) -> Status;
}
abi_fn! {
    /// Persists pending state.
    pub fn FlushStateFn(instance: *mut OpaqueInstance, err: *mut ErrorOut) -> Status;
}
abi_fn! {
    /// Serialises the instance's state; the caller releases `out` through its `release`.
    pub fn SnapshotFn(instance: *mut OpaqueInstance, out: *mut OwnedBuf, err: *mut ErrorOut) -> Status;
}
abi_fn! {
    /// Restores state written by `snapshot`.
    pub fn RestoreFn(instance: *mut OpaqueInstance, snapshot: BytesView, err: *mut ErrorOut) -> Status;
}

abi_struct! {
    /// The entry points of one operator. Every slot is filled: absent optional methods get
    /// defaults, and the descriptor's `implemented` says which ones the author wrote.
    pub struct OperatorVTable {
        /// The writer's `sizeof(OplinkOperatorVTable)`.
        pub size: u32,
        /// Reserved, zero.
        pub reserved: u32,
        /// `new`.
        pub create: Option<CreateFn>,
        /// Dropping the instance.
        pub destroy: Option<DestroyFn>,
        /// `apply`.
        pub apply: Option<ApplyFn>,
        /// `pull`.
        pub pull: Option<PullFn>,
        /// `tick`.
        pub tick: Option<TickFn>,
        /// `flush_state`.
        pub flush_state: Option<FlushStateFn>,
        /// `snapshot`.
        pub snapshot: Option<SnapshotFn>,
        /// `restore`.
        pub restore: Option<RestoreFn>,
    }
}

abi_fn! {
    /// Finds a host service by name and fingerprint: writes its table to `out` and returns
    /// `OK`, or returns `ERROR` with `err` saying why (`INVALID_INPUT` for a null or misaligned
    /// `out`).
    pub fn LookupServiceFn(host: *const HostApi, name: StrView, fingerprint: u64, out: *mut *const c_void, err: *mut ErrorOut) -> Status;
}

abi_struct! {
    /// What the host hands to `create`; it outlives the instance.
    pub struct HostApi {
        /// The writer's `sizeof(OplinkHostApi)`.
        pub size: u32,
        /// Reserved, zero.
        pub reserved: u32,
        /// Host-chosen identifier of the instance, unique within the host process.
        pub instance_id: u64,
        /// Host-private data for `lookup_service`.
        pub context: *mut c_void,
        /// Service lookup.
        pub lookup_service: Option<LookupServiceFn>,
    }
}

abi_struct! {
    /// The start of every host service table: its size, then the host's context for the
    /// table's functions, then one function per method in the trait's order.
    pub struct TableHeader {
        /// The writer's size of the whole table, in bytes.
        pub size: usize,
        /// The host's context, passed first to every function of the table.
        pub context: *const c_void,
    }
}

abi_struct! {
    /// A batch passed as a service argument: the callee moves the array out (leaving it
    /// released); the schema is borrowed for the call.
    #[derive(Clone, Copy)]
    pub struct AbiBatchRef {
        /// The batch as a struct array.
        pub array: *mut FFI_ArrowArray,
        /// The batch's schema, as a struct type.
        pub schema: *const FFI_ArrowSchema,
    }
}

abi_struct! {
    /// A batch returned from a service: the receiver owns and releases both.
    pub struct AbiBatch {
        /// The batch as a struct array.
        pub array: FFI_ArrowArray,
        /// The batch's schema, as a struct type.
        pub schema: FFI_ArrowSchema,
    }
}

abi_struct! {
    /// One batch of rows: an Arrow struct array (one child per column, its length the row
    /// count, no nulls) and the rows' numbers (a `UInt64` array of the same length without
    /// nulls, or a released array where a call has none).
    ///
    /// `schema_id` names a slot (1 to `OPLINK_MAX_SCHEMA_ID`) of the receiver's schema cache
    /// for this instance and direction. When `schema` is not null, the receiver stores it in
    /// that slot (replacing what was there) before reading the batch; when it is null, the
    /// slot must already hold the batch's schema. The receiver stores what it read, not the
    /// pointer: an output's schema lives only until the next call on the instance, and a
    /// later batch may name its slot. The arrays move to the receiver.
    pub struct AbiRows {
        /// The schema's slot, 1 to `OPLINK_MAX_SCHEMA_ID`; 0 only for an absent side.
        pub schema_id: u64,
        /// The schema (a struct type, one child per column), or null: borrowed for the call
        /// in an input; in an output, until the next call on the instance or its `destroy`.
        pub schema: *const FFI_ArrowSchema,
        /// The columns, as one struct array.
        pub columns: FFI_ArrowArray,
        /// The row numbers.
        pub row_numbers: FFI_ArrowArray,
    }
}

abi_struct! {
    /// One diff of a change: `kind` is an `OPLINK_DIFF_*`; the unused side of an insert or
    /// a remove has schema id 0 and released arrays.
    pub struct AbiDiff {
        /// `OPLINK_DIFF_INSERT`, `OPLINK_DIFF_UPDATE` or `OPLINK_DIFF_REMOVE`.
        pub kind: u32,
        /// Reserved, zero.
        pub reserved: u32,
        /// The rows before the change (update, remove).
        pub pre: AbiRows,
        /// The rows after the change (insert, update).
        pub post: AbiRows,
    }
}

abi_struct! {
    /// A change. The diff array is borrowed for the call (input) or until the next call on
    /// the instance (output); the Arrow arrays inside it move to the receiver, which reads
    /// the diffs in order (a schema slot may be reused by a later diff of the same change).
    pub struct AbiChange {
        /// Monotonic version of the change.
        pub version: u64,
        /// When it happened, in nanoseconds since the Unix epoch.
        pub changed_at: i64,
        /// First diff (may be null when `diff_count` is 0).
        pub diffs: *mut AbiDiff,
        /// Number of diffs.
        pub diff_count: usize,
    }
}

/// Every declared struct, in the order of the layout fingerprint and of the header.
pub const STRUCTS: &[super::decl::StructDecl] = {
    use super::decl::Declared;
    &[
        StrView::DECL,
        BytesView::DECL,
        SliceView::DECL,
        OwnedBuf::DECL,
        OwnedVec::DECL,
        ErrorOut::DECL,
        LayoutEntry::DECL,
        PluginHeader::DECL,
        OperatorDescriptor::DECL,
        ServiceMethod::DECL,
        ServiceRequirement::DECL,
        OperatorVTable::DECL,
        HostApi::DECL,
        TableHeader::DECL,
        AbiBatchRef::DECL,
        AbiBatch::DECL,
        AbiRows::DECL,
        AbiDiff::DECL,
        AbiChange::DECL,
    ]
};

/// Every declared function type, in header order (each after the structs it names).
pub const FUNCTIONS: &[super::decl::FnDecl] = &[
    ReleaseBufFn::DECL,
    ReleaseVecFn::DECL,
    EntryFn::DECL,
    CreateFn::DECL,
    DestroyFn::DECL,
    ApplyFn::DECL,
    PullFn::DECL,
    TickFn::DECL,
    FlushStateFn::DECL,
    SnapshotFn::DECL,
    RestoreFn::DECL,
    LookupServiceFn::DECL,
];
