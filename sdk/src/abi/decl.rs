//! The machinery behind the one declaration of the ABI (`types.rs`).
//!
//! Each ABI struct is written once, inside `abi_struct!`. From that one place come the
//! Rust struct, its description ([`StructDecl`]: fields, C spelling, the minor that added
//! each field), its C layout on every data model computed by the rules of C
//! ([`struct_layout`]), compile-time assertions that rustc lays it out the same way, its
//! entry in the layout fingerprint, the typed field handles the host reads it with
//! ([`Field`], [`View`]), the C header and the tables of `docs/abi.md`.
//!
//! The C layout is computed here rather than taken from rustc so that the assertions check
//! rustc against C's rules (and the C header's `_Static_assert`s check the C compiler
//! against the same numbers).

use core::ffi::c_void;
use core::marker::PhantomData;

/// The data models the ABI is laid out for. `LP64`: 64-bit pointers (every 64-bit Unix and
/// Windows target). `ILP32`: 32-bit pointers with 8-byte aligned 64-bit integers (ARM,
/// wasm32, MIPS). `I386`: 32-bit pointers with 4-byte aligned 64-bit integers inside
/// structs (32-bit x86 System V).
pub const MODELS: [&str; 3] = ["LP64", "ILP32", "I386"];

/// Index into [`MODELS`] of the target being compiled for.
pub const TARGET_MODEL: usize = if size_of::<usize>() == 8 {
    0
} else if align_of::<u64>() == 8 {
    1
} else {
    2
};

/// Size and alignment of a C type on one data model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CLayout {
    /// `sizeof`.
    pub size: usize,
    /// `_Alignof`.
    pub align: usize,
}

impl CLayout {
    /// The same size and alignment on every model.
    pub const fn fixed(size: usize) -> [CLayout; 3] {
        [CLayout { size, align: size }; 3]
    }
}

/// Pointers and `size_t`.
const POINTER: [CLayout; 3] = [
    CLayout { size: 8, align: 8 },
    CLayout { size: 4, align: 4 },
    CLayout { size: 4, align: 4 },
];

/// 64-bit integers and `double`.
const WIDE: [CLayout; 3] = [
    CLayout { size: 8, align: 8 },
    CLayout { size: 8, align: 8 },
    CLayout { size: 8, align: 4 },
];

/// A type with a C spelling and a C layout. Implemented for the primitives, pointers and
/// arrays here, and for every declared struct and function type by the declaration macros.
pub trait CType {
    /// Size and alignment on each of [`MODELS`].
    const LAYOUT: [CLayout; 3];
    /// The C name of the type, e.g. `uint32_t`, `OplinkStrView`.
    fn c_name() -> String;
    /// A C declaration of `name` with this type, e.g. `uint32_t size`, `uint8_t magic[8]`.
    fn c_decl(name: &str) -> String {
        format!("{} {name}", Self::c_name())
    }
    /// C definitions this type needs that the header does not declare on its own (the
    /// instantiations of generic vocabulary types), in dependency order.
    fn c_dependencies(out: &mut Vec<String>) {
        let _ = out;
    }
}

macro_rules! primitive {
    ($($t:ty => $c:literal, $layout:expr;)*) => {$(
        impl CType for $t {
            const LAYOUT: [CLayout; 3] = $layout;
            fn c_name() -> String {
                $c.to_owned()
            }
        }
    )*};
}

primitive! {
    u8 => "uint8_t", CLayout::fixed(1);
    i8 => "int8_t", CLayout::fixed(1);
    u16 => "uint16_t", CLayout::fixed(2);
    i16 => "int16_t", CLayout::fixed(2);
    u32 => "uint32_t", CLayout::fixed(4);
    i32 => "int32_t", CLayout::fixed(4);
    f32 => "float", CLayout::fixed(4);
    u64 => "uint64_t", WIDE;
    i64 => "int64_t", WIDE;
    f64 => "double", WIDE;
    usize => "size_t", POINTER;
    isize => "ptrdiff_t", POINTER;
}

impl CType for c_void {
    const LAYOUT: [CLayout; 3] = CLayout::fixed(1);
    fn c_name() -> String {
        "void".to_owned()
    }
}

impl CType for () {
    const LAYOUT: [CLayout; 3] = [CLayout { size: 0, align: 1 }; 3];
    fn c_name() -> String {
        "void".to_owned()
    }
}

impl<T: CType + ?Sized> CType for *const T {
    const LAYOUT: [CLayout; 3] = POINTER;
    fn c_name() -> String {
        format!("{} const *", T::c_name())
    }
    fn c_decl(name: &str) -> String {
        format!("{}{name}", Self::c_name())
    }
}

impl<T: CType + ?Sized> CType for *mut T {
    const LAYOUT: [CLayout; 3] = POINTER;
    fn c_name() -> String {
        format!("{} *", T::c_name())
    }
    fn c_decl(name: &str) -> String {
        format!("{}{name}", Self::c_name())
    }
}

impl<T: CType, const N: usize> CType for [T; N] {
    const LAYOUT: [CLayout; 3] = {
        let mut out = T::LAYOUT;
        let mut i = 0;
        while i < 3 {
            out[i].size *= N;
            i += 1;
        }
        out
    };
    fn c_name() -> String {
        format!("{}[{N}]", T::c_name())
    }
    fn c_decl(name: &str) -> String {
        format!("{} {name}[{N}]", T::c_name())
    }
}

/// A nullable function pointer: the C typedef of the function type, which may be `NULL`.
impl<F: FnType> CType for Option<F> {
    const LAYOUT: [CLayout; 3] = POINTER;
    fn c_name() -> String {
        F::c_name()
    }
}

/// A function type declared with `abi_fn!`: a `#[repr(transparent)]` newtype of an
/// `extern "C"` function pointer, so that each one has a C name of its own.
pub trait FnType: CType {
    /// The C typedef, e.g. `typedef OplinkStatus (*OplinkDestroyFn)(…);`.
    fn c_typedef() -> String;
}

/// The C layout of a struct with these fields on each model, by the rules of C: each field
/// at the next offset aligned for it, the struct aligned for its most aligned field and
/// padded to a multiple of that.
pub const fn struct_layout(fields: &[[CLayout; 3]]) -> [CLayout; 3] {
    let mut out = [CLayout { size: 0, align: 1 }; 3];
    let mut model = 0;
    while model < 3 {
        let mut offset = 0;
        let mut align = 1;
        let mut i = 0;
        while i < fields.len() {
            let field = fields[i][model];
            offset = round_up(offset, field.align) + field.size;
            if field.align > align {
                align = field.align;
            }
            i += 1;
        }
        out[model] = CLayout {
            size: round_up(offset, align),
            align,
        };
        model += 1;
    }
    out
}

/// The C offset of field `index` on `model`.
pub const fn field_offset(fields: &[FieldDecl], index: usize, model: usize) -> usize {
    let mut offset = 0;
    let mut i = 0;
    loop {
        let field = fields[i].layout[model];
        offset = round_up(offset, field.align);
        if i == index {
            return offset;
        }
        offset += field.size;
        i += 1;
    }
}

const fn round_up(offset: usize, align: usize) -> usize {
    offset.div_ceil(align) * align
}

/// One field of a declared struct.
#[derive(Clone, Copy, Debug)]
pub struct FieldDecl {
    /// The field's name, the same in Rust and C.
    pub name: &'static str,
    /// The field's Rust type as written in the declaration.
    pub rust_type: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// The ABI minor that appended it (0 for fields of the frozen prefix).
    pub since: u16,
    /// Its C layout on each model.
    pub layout: [CLayout; 3],
    /// Where rustc put it on this target.
    pub rust_offset: usize,
    /// Its C declaration.
    pub c_decl: fn(&str) -> String,
    /// Its C type's name.
    pub c_name: fn() -> String,
}

/// A declared struct: what `abi_struct!` knows about it.
#[derive(Clone, Copy, Debug)]
pub struct StructDecl {
    /// The Rust name; the C name is this with an `Oplink` prefix.
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// Its fields, in order.
    pub fields: &'static [FieldDecl],
    /// Its C layout on each model.
    pub layout: [CLayout; 3],
    /// `size_of` on this target.
    pub rust_size: usize,
    /// `align_of` on this target.
    pub rust_align: usize,
}

impl StructDecl {
    /// The C name, e.g. `OplinkPluginHeader`.
    pub fn c_name(&self) -> String {
        format!("Oplink{}", self.name)
    }

    /// The C offset of every field on `model`.
    pub fn offsets(&self, model: usize) -> Vec<usize> {
        (0..self.fields.len())
            .map(|i| field_offset(self.fields, i, model))
            .collect()
    }

    /// The size of the struct as a writer of ABI minor `minor` lays it out on `model`:
    /// the end of the last field that minor knows, padded to the struct's alignment.
    pub const fn size_at_minor(&self, minor: u16, model: usize) -> usize {
        let mut end = 0;
        let mut i = 0;
        while i < self.fields.len() {
            if self.fields[i].since <= minor {
                end = field_offset(self.fields, i, model) + self.fields[i].layout[model].size;
            }
            i += 1;
        }
        round_up(end, self.layout[model].align)
    }

    /// Panics at compile time unless rustc laid the struct out as C does on this target,
    /// and unless appended fields all follow the frozen ones.
    pub const fn assert_c_layout(&self) {
        assert!(
            self.rust_size == self.layout[TARGET_MODEL].size,
            "an ABI struct's size differs from its C layout"
        );
        assert!(
            self.rust_align == self.layout[TARGET_MODEL].align,
            "an ABI struct's alignment differs from its C layout"
        );
        let mut i = 0;
        let mut appended = false;
        while i < self.fields.len() {
            assert!(
                self.fields[i].rust_offset == field_offset(self.fields, i, TARGET_MODEL),
                "an ABI struct's field sits at another offset than in its C layout"
            );
            if self.fields[i].since > 0 {
                appended = true;
            } else {
                assert!(
                    !appended,
                    "a field of the frozen prefix follows an appended field"
                );
            }
            i += 1;
        }
    }

    /// FNV-1a of the struct's name and of the name and type of each field of the frozen
    /// prefix: what the layout fingerprint is made of. Independent of the target.
    pub const fn fingerprint(&self) -> u64 {
        let mut hash = fnv1a(FNV_OFFSET, self.name.as_bytes());
        let mut i = 0;
        while i < self.fields.len() {
            if self.fields[i].since == 0 {
                hash = fnv1a(hash, b"\0");
                hash = fnv1a(hash, self.fields[i].name.as_bytes());
                hash = fnv1a(hash, b":");
                hash = fnv1a(hash, self.fields[i].rust_type.as_bytes());
            }
            i += 1;
        }
        hash
    }
}

/// A declared function type.
#[derive(Clone, Copy, Debug)]
pub struct FnDecl {
    /// The Rust name; the C name is this with an `Oplink` prefix.
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// The C typedef.
    pub c_typedef: fn() -> String,
}

/// FNV-1a's 64-bit offset basis: the hash every fingerprint starts from.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a (64 bits) of `bytes`, continuing from `hash` (start from [`FNV_OFFSET`]): the hash
/// behind every fingerprint of the ABI (`docs/abi.md` gives the recipes), usable in `const`
/// contexts.
///
/// ```
/// use oplink::abi::decl::{FNV_OFFSET, fnv1a};
/// assert_eq!(fnv1a(FNV_OFFSET, b""), FNV_OFFSET);
/// assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
/// // In parts or whole, the same hash.
/// assert_eq!(fnv1a(fnv1a(FNV_OFFSET, b"ab"), b"c"), fnv1a(FNV_OFFSET, b"abc"));
/// ```
pub const fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// A typed handle on one field of a declared struct, for reading it out of bytes written
/// by the other side: `view.get(OperatorDescriptor::name)`.
pub struct Field<S, T> {
    index: usize,
    _types: PhantomData<fn() -> (S, T)>,
}

impl<S, T> Clone for Field<S, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, T> Copy for Field<S, T> {}

impl<S, T> core::fmt::Debug for Field<S, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Field({})", self.index)
    }
}

impl<S, T> Field<S, T> {
    #[doc(hidden)]
    pub const fn new(index: usize) -> Self {
        Field {
            index,
            _types: PhantomData,
        }
    }
}

/// A declared struct that crosses the boundary.
pub trait Declared: CType + Sized {
    /// Its declaration.
    const DECL: StructDecl;
}

/// A value that can be read out of the bytes of a struct written by the other side,
/// without trusting anything in them: integers as they are, pointers as plain addresses,
/// nested structs as [`View`]s.
pub trait Decode: CType {
    /// What reading gives.
    type Raw<'a>;
    /// Reads a value from exactly `size_of::<Self>()` bytes.
    fn decode(bytes: &[u8]) -> Self::Raw<'_>;
}

macro_rules! decode_int {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            type Raw<'a> = $t;
            fn decode(bytes: &[u8]) -> $t {
                let mut raw = [0u8; size_of::<$t>()];
                raw.copy_from_slice(&bytes[..size_of::<$t>()]);
                <$t>::from_ne_bytes(raw)
            }
        }
    )*};
}

decode_int!(u8, u16, u32, u64, i64, usize);

impl<const N: usize> Decode for [u8; N] {
    type Raw<'a> = [u8; N];
    fn decode(bytes: &[u8]) -> [u8; N] {
        let mut raw = [0u8; N];
        raw.copy_from_slice(&bytes[..N]);
        raw
    }
}

/// An address read from the other side's memory: never dereferenced as it is, only
/// checked against the library's segments and read through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr(pub usize);

impl Addr {
    /// Whether it is null.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

impl<T: CType + ?Sized> Decode for *const T {
    type Raw<'a> = Addr;
    fn decode(bytes: &[u8]) -> Addr {
        Addr(usize::decode(bytes))
    }
}

impl<T: CType + ?Sized> Decode for *mut T {
    type Raw<'a> = Addr;
    fn decode(bytes: &[u8]) -> Addr {
        Addr(usize::decode(bytes))
    }
}

impl<F: FnType> Decode for Option<F> {
    type Raw<'a> = Addr;
    fn decode(bytes: &[u8]) -> Addr {
        Addr(usize::decode(bytes))
    }
}

/// The bytes of a struct `S` as its writer laid them out: at most our own size, fewer when
/// the writer is of an older minor. Fields are read by handle; a field beyond the writer's
/// size reads as absent.
pub struct View<'a, S> {
    bytes: &'a [u8],
    _struct: PhantomData<fn() -> S>,
}

impl<S> Clone for View<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for View<'_, S> {}

impl<S: Declared> core::fmt::Debug for View<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "View<{}>({} bytes)", S::DECL.name, self.bytes.len())
    }
}

impl<'a, S: Declared> View<'a, S> {
    /// A view of the bytes a writer wrote for `S` (its declared size, or our size if
    /// smaller).
    pub fn new(bytes: &'a [u8]) -> View<'a, S> {
        View {
            bytes: &bytes[..bytes.len().min(size_of::<S>())],
            _struct: PhantomData,
        }
    }

    /// How many bytes of `S` the view covers.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether it covers nothing.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The field, or `None` when the writer's struct ends before it.
    pub fn get<T: Decode>(&self, field: Field<S, T>) -> Option<T::Raw<'a>> {
        let decl = &S::DECL.fields[field.index];
        let start = decl.rust_offset;
        let end = start + size_of::<T>();
        self.bytes.get(start..end).map(T::decode)
    }
}

impl<S: Declared> Decode for S {
    type Raw<'a> = View<'a, S>;
    fn decode(bytes: &[u8]) -> View<'_, S> {
        View::new(&bytes[..size_of::<S>()])
    }
}

/// Declares one ABI struct; see the module's documentation. Fields appended in a minor
/// carry `#[since = N]` after their documentation.
macro_rules! abi_struct {
    (
        $(#[doc = $doc:literal])*
        $(#[derive($($derive:ident),*)])?
        pub struct $name:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $(#[since = $since:literal])?
                pub $field:ident : $fty:ty
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[repr(C)]
        #[derive(Debug $($(, $derive)*)?)]
        pub struct $name {
            $(
                $(#[doc = $fdoc])*
                pub $field: $fty,
            )*
        }

        impl $crate::abi::decl::CType for $name {
            const LAYOUT: [$crate::abi::decl::CLayout; 3] =
                $crate::abi::decl::struct_layout(&[$(<$fty as $crate::abi::decl::CType>::LAYOUT),*]);
            fn c_name() -> ::std::string::String {
                ::std::string::String::from(concat!("Oplink", stringify!($name)))
            }
        }

        impl $crate::abi::decl::Declared for $name {
            const DECL: $crate::abi::decl::StructDecl = $crate::abi::decl::StructDecl {
                name: stringify!($name),
                doc: concat!($($doc, "\n"),*),
                fields: &[$(
                    $crate::abi::decl::FieldDecl {
                        name: stringify!($field),
                        rust_type: stringify!($fty),
                        doc: concat!($($fdoc, "\n"),*),
                        since: abi_struct!(@since $($since)?),
                        layout: <$fty as $crate::abi::decl::CType>::LAYOUT,
                        rust_offset: ::core::mem::offset_of!($name, $field),
                        c_decl: <$fty as $crate::abi::decl::CType>::c_decl,
                        c_name: <$fty as $crate::abi::decl::CType>::c_name,
                    }
                ),*],
                layout: <$name as $crate::abi::decl::CType>::LAYOUT,
                rust_size: ::core::mem::size_of::<$name>(),
                rust_align: ::core::mem::align_of::<$name>(),
            };
        }

        #[allow(non_upper_case_globals)]
        impl $name {
            abi_struct!(@fields $name; 0; $($field : $fty,)*);
        }

        const _: () = <$name as $crate::abi::decl::Declared>::DECL.assert_c_layout();
    };
    (@since) => { 0 };
    (@since $since:literal) => { $since };
    (@fields $name:ident; $index:expr; ) => {};
    (@fields $name:ident; $index:expr; $field:ident : $fty:ty, $($rest:tt)*) => {
        #[doc = concat!("The handle of `", stringify!($name), "::", stringify!($field), "`, for [`View::get`](crate::abi::decl::View::get).")]
        pub const $field: $crate::abi::decl::Field<$name, $fty> = $crate::abi::decl::Field::new($index);
        abi_struct!(@fields $name; $index + 1; $($rest)*);
    };
}

/// Declares one ABI function type: a `#[repr(transparent)]` newtype of the `extern "C"`
/// function pointer (call it with `(f.0)(…)`), with its C typedef.
macro_rules! abi_fn {
    (
        $(#[doc = $doc:literal])*
        pub fn $name:ident ( $($arg:ident : $aty:ty),* $(,)? ) -> $ret:ty;
    ) => {
        $(#[doc = $doc])*
        #[repr(transparent)]
        #[derive(Clone, Copy, Debug)]
        #[allow(clippy::unused_unit)]
        pub struct $name(pub unsafe extern "C" fn($($arg: $aty),*) -> $ret);

        impl $crate::abi::decl::CType for $name {
            const LAYOUT: [$crate::abi::decl::CLayout; 3] = <*const u8 as $crate::abi::decl::CType>::LAYOUT;
            fn c_name() -> ::std::string::String {
                ::std::string::String::from(concat!("Oplink", stringify!($name)))
            }
        }

        impl $crate::abi::decl::FnType for $name {
            fn c_typedef() -> ::std::string::String {
                let args: ::std::vec::Vec<::std::string::String> =
                    ::std::vec![$(<$aty as $crate::abi::decl::CType>::c_decl(stringify!($arg))),*];
                ::std::format!(
                    "typedef {} (*Oplink{})({});",
                    <$ret as $crate::abi::decl::CType>::c_name(),
                    stringify!($name),
                    if args.is_empty() { "void".to_owned() } else { args.join(", ") },
                )
            }
        }

        impl $name {
            /// Its declaration.
            pub const DECL: $crate::abi::decl::FnDecl = $crate::abi::decl::FnDecl {
                name: stringify!($name),
                doc: concat!($($doc, "\n"),*),
                c_typedef: <$name as $crate::abi::decl::FnType>::c_typedef,
            };
        }
    };
}

pub(crate) use {abi_fn, abi_struct};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_layout_follows_the_rules_of_c() {
        // struct { uint8_t a; uint64_t b; uint32_t c; }
        let fields = [u8::LAYOUT, u64::LAYOUT, u32::LAYOUT];
        let [lp64, ilp32, i386] = struct_layout(&fields);
        assert_eq!((lp64.size, lp64.align), (24, 8));
        assert_eq!((ilp32.size, ilp32.align), (24, 8));
        assert_eq!((i386.size, i386.align), (16, 4));
        assert_eq!(<*const u8>::c_decl("p"), "uint8_t const *p");
        assert_eq!(<[u8; 8]>::c_decl("magic"), "uint8_t magic[8]");
        assert_eq!(<*const *const u32>::c_name(), "uint32_t const * const *");
    }
}
