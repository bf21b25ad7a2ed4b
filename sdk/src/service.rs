//! Host services: what `#[oplink::host_callbacks]` builds on.
//!
//! A service is an ordinary trait that a host implements and plugins call. The macro turns
//! each method into a slot of a `#[repr(C)]` table; the values of its signature cross the
//! boundary through the two traits of this module's *vocabulary*:
//!
//! * [`Arg`]: a parameter. The caller *lowers* it into a C-expressible value that borrows
//!   from the caller for the one call; the callee *lifts* it back, validating as it reads.
//! * [`Ret`]: a return value. The callee *raises* it into a C-expressible value that owns
//!   what it points to (with the callee's release function); the caller *takes* it, copying
//!   what it keeps and releasing the rest through the callee.
//!
//! | type | as a parameter | as a return value |
//! |---|---|---|
//! | integers, `f32`, `f64` | by value | by value |
//! | `bool`, `char` | `u8`, `u32`, validated | `u8`, `u32`, validated |
//! | `()` | — | `u8` |
//! | `&str`, `String` | borrowed view, UTF-8 validated | `String`: owned buffer |
//! | `&[T]`, `Vec<T>` of numbers (`&[u8]`, `Vec<u8>` included) | borrowed view | `Vec<T>`: owned buffer |
//! | `Option<T>` | flag and value | flag and value |
//! | `Result<T, E>` | — | `Ok` as `T`; `Err` as the error of the call |
//! | `RecordBatch` | Arrow C Data Interface, moved | Arrow C Data Interface, moved |
//! | a type implementing [`Wire`] (e.g. [`Json<T>`]) | encoded bytes, borrowed | encoded bytes, owned |
//!
//! A method that returns `Result<T, E>` sees a failure of the other side (an `Err`, a panic,
//! a value that does not validate) as an `Err`; `E` is any type implementing [`ServiceError`]
//! (`oplink::Error`, `String`, `Box<dyn std::error::Error + Send + Sync>`). A method that
//! returns a plain value has no way to report one, so the plugin-side proxy panics with the
//! failure's message: the operator's call fails as a panic and its instance is poisoned.
//! Give every method that can fail a `Result`.

use std::any::Any;
use std::ffi::c_void;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi};
use arrow_array::{Array, RecordBatch, StructArray};

pub use crate::abi::ServiceRequirement;
use crate::abi::{ErrorOut, OwnedBuf, Status, StrView};
use crate::trampoline::{Failure, FailureKind};
use crate::{Error, Result};

// ---------------------------------------------------------------------------------------
// ABI shapes of the vocabulary.

/// A borrowed slice of numbers, valid for one call.
#[repr(C)]
#[derive(Debug)]
pub struct SliceView<T> {
    /// First element; dangling (never null) when `len` is 0.
    pub ptr: *const T,
    /// Number of elements.
    pub len: usize,
}

impl<T> Clone for SliceView<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SliceView<T> {}

impl<T> SliceView<T> {
    fn new(slice: &[T]) -> SliceView<T> {
        SliceView {
            ptr: slice.as_ptr(),
            len: slice.len(),
        }
    }

    /// # Safety
    /// `ptr` must point to `len` valid elements alive for `'a` (or `len` be 0).
    unsafe fn as_slice<'a>(self) -> Result<&'a [T]> {
        if self.len == 0 {
            return Ok(&[]);
        }
        if self.ptr.is_null() || !self.ptr.is_aligned() {
            return Err(Error::msg(format!(
                "a slice of {} elements arrived with a null or misaligned pointer",
                self.len
            )));
        }
        // SAFETY: non-null, aligned, and `len` valid elements alive for 'a (caller).
        Ok(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
    }
}

/// An owned vector of numbers that travels with the function that frees it.
#[repr(C)]
#[derive(Debug)]
pub struct OwnedVec<T> {
    /// First element (dangling when `capacity` is 0).
    pub ptr: *mut T,
    /// Number of elements.
    pub len: usize,
    /// Capacity of the allocation, for the releasing side.
    pub capacity: usize,
    /// Frees the vector; called exactly once by the receiver.
    pub release: Option<unsafe extern "C" fn(vec: *mut OwnedVec<T>)>,
}

impl<T: Number> OwnedVec<T> {
    fn from_vec(vec: Vec<T>) -> OwnedVec<T> {
        let mut vec = std::mem::ManuallyDrop::new(vec);
        OwnedVec {
            ptr: vec.as_mut_ptr(),
            len: vec.len(),
            capacity: vec.capacity(),
            release: Some(release_owned_vec::<T>),
        }
    }

    /// Copies the elements out and releases the vector through its own release function.
    ///
    /// # Safety
    /// Written by [`OwnedVec::from_vec`] of a library still loaded, not released yet.
    unsafe fn take(mut self) -> Result<Vec<T>> {
        let copied = if self.len == 0 {
            Ok(Vec::new())
        } else if self.ptr.is_null() || !self.ptr.is_aligned() {
            Err(Error::msg(
                "a vector arrived with a null or misaligned pointer",
            ))
        } else {
            // SAFETY: the writer guarantees `len` initialised elements at `ptr`.
            Ok(unsafe { std::slice::from_raw_parts(self.ptr, self.len) }.to_vec())
        };
        if let Some(release) = self.release.take() {
            // SAFETY: the writer's release function, run once (just taken out).
            unsafe { release(&mut self) };
        }
        copied
    }
}

unsafe extern "C" fn release_owned_vec<T>(vec: *mut OwnedVec<T>) {
    // SAFETY: written by `OwnedVec::from_vec` on this side, so the fields describe a live
    // `Vec<T>` of this allocator; the receiver releases it once.
    unsafe {
        let vec = &mut *vec;
        drop(Vec::from_raw_parts(vec.ptr, vec.len, vec.capacity));
        vec.len = 0;
        vec.capacity = 0;
    }
}

/// An optional value: `present` is 1 when `value` is written, 0 when it is not.
#[repr(C)]
#[derive(Debug)]
pub struct AbiOption<A> {
    /// 1 for `Some`, 0 for `None`; any other value is rejected where it is read.
    pub present: u8,
    /// The value when `present` is 1.
    pub value: MaybeUninit<A>,
}

impl<A: Copy> Clone for AbiOption<A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A: Copy> Copy for AbiOption<A> {}

/// A batch passed as a parameter: the receiver moves the array out (leaving it released);
/// the schema is borrowed for the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AbiBatchRef {
    /// The batch as a struct array.
    pub array: *mut FFI_ArrowArray,
    /// The batch's schema, as a struct type.
    pub schema: *const FFI_ArrowSchema,
}

/// A batch returned by value: the receiver takes both and releases them.
#[repr(C)]
#[derive(Debug)]
pub struct AbiBatch {
    /// The batch as a struct array.
    pub array: FFI_ArrowArray,
    /// The batch's schema, as a struct type.
    pub schema: FFI_ArrowSchema,
}

/// What a caller keeps alive for the length of one call: encoded arguments and exported
/// arrays that the lowered values point into.
#[derive(Default)]
pub struct Keep {
    held: Vec<Box<dyn Any>>,
}

impl fmt::Debug for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keep")
            .field("held", &self.held.len())
            .finish()
    }
}

impl Keep {
    /// Holds `value` until the call returns and gives a pointer to it that stays put.
    pub fn hold<T: 'static>(&mut self, value: T) -> *mut T {
        let mut boxed = Box::new(value);
        let ptr: *mut T = &mut *boxed;
        self.held.push(boxed);
        ptr
    }
}

// ---------------------------------------------------------------------------------------
// The vocabulary.

mod sealed {
    pub trait Number {}
}

/// The numeric types that cross by value, alone or in slices and vectors.
pub trait Number: sealed::Number + Copy + Send + Sync + 'static {}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl sealed::Number for $t {}
        impl Number for $t {}

        // SAFETY: a number is its own C representation.
        unsafe impl Arg for $t {
            type Abi = $t;
            fn lower(&self, _: &mut Keep) -> $t { *self }
            unsafe fn lift(abi: $t) -> Result<$t> { Ok(abi) }
        }

        // SAFETY: as above.
        unsafe impl Ret for $t {
            type Abi = $t;
            fn raise(self) -> $t { self }
            unsafe fn take(abi: $t) -> Result<$t> { Ok(abi) }
        }
    )*};
}

numbers!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

/// A type that can be a parameter of a host service method.
///
/// # Safety
/// `Abi` must be a C-expressible type, and `lift` must accept what `lower` produces, reading
/// only what the lowered value points to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of a host service method",
    label = "oplink cannot pass this type between host and plugin",
    note = "parameters may be integers, floats, `bool`, `char`, `&str`, `String`, `&[T]` or `Vec<T>` of numbers, `Option` of those, `RecordBatch`, or a type that implements `oplink::service::Wire` (for instance `oplink::service::Json<T>`)"
)]
pub unsafe trait Arg: Sized {
    /// What crosses.
    type Abi: Copy;
    /// Lays the value out for one call; what it points to lives in `self` or in `keep`.
    fn lower(&self, keep: &mut Keep) -> Self::Abi;
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
    note = "return values may be integers, floats, `bool`, `char`, `()`, `String`, `Vec<T>` of numbers, `Option` of those, `RecordBatch`, `Result<T, E>` of those, or a type that implements `oplink::service::Wire`; return owned values (`String`, not `&str`)"
)]
pub unsafe trait Ret: Sized {
    /// What crosses.
    type Abi;
    /// Hands the value over; what it owns is released by `take` through this side.
    fn raise(self) -> Self::Abi;
    /// Takes a raised value, releasing what it owns.
    ///
    /// # Safety
    /// `abi` was raised by the other side and is taken once.
    unsafe fn take(abi: Self::Abi) -> Result<Self>;
}

// SAFETY: `bool` crosses as a `u8` that is validated when read.
unsafe impl Arg for bool {
    type Abi = u8;
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
    fn raise(self) -> u8 {
        u8::from(self)
    }
    unsafe fn take(abi: u8) -> Result<bool> {
        bool_from(abi)
    }
}

fn bool_from(abi: u8) -> Result<bool> {
    match abi {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::msg(format!("{other} is not a bool (0 or 1)"))),
    }
}

// SAFETY: `char` crosses as a `u32` that is validated when read.
unsafe impl Arg for char {
    type Abi = u32;
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
    fn raise(self) -> u32 {
        u32::from(self)
    }
    unsafe fn take(abi: u32) -> Result<char> {
        char_from(abi)
    }
}

fn char_from(abi: u32) -> Result<char> {
    char::from_u32(abi).ok_or_else(|| Error::msg(format!("{abi:#x} is not a Unicode scalar value")))
}

// SAFETY: `()` crosses as a `u8` that is ignored.
unsafe impl Ret for () {
    type Abi = u8;
    fn raise(self) -> u8 {
        0
    }
    unsafe fn take(_: u8) -> Result<()> {
        Ok(())
    }
}

// SAFETY: a borrowed view of the caller's string, UTF-8 validated when read.
unsafe impl Arg for &str {
    type Abi = StrView;
    fn lower(&self, _: &mut Keep) -> StrView {
        StrView::new(self)
    }
    unsafe fn lift(abi: StrView) -> Result<Self> {
        // SAFETY: the view is valid for the call (caller of `lift`).
        let bytes = unsafe { abi.as_bytes() };
        std::str::from_utf8(bytes).map_err(|e| Error::msg(format!("a string is not UTF-8: {e}")))
    }
}

// SAFETY: as for `&str`; the callee copies it into its own `String`.
unsafe impl Arg for String {
    type Abi = StrView;
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
    fn raise(self) -> OwnedBuf {
        OwnedBuf::from_vec(self.into_bytes())
    }
    unsafe fn take(mut abi: OwnedBuf) -> Result<String> {
        // SAFETY: raised by the other side, taken once (caller).
        let bytes = unsafe { abi.take() };
        String::from_utf8(bytes).map_err(|e| Error::msg(format!("a string is not UTF-8: {e}")))
    }
}

// SAFETY: a borrowed view of the caller's slice.
unsafe impl<T: Number> Arg for &[T] {
    type Abi = SliceView<T>;
    fn lower(&self, _: &mut Keep) -> SliceView<T> {
        SliceView::new(self)
    }
    unsafe fn lift(abi: SliceView<T>) -> Result<Self> {
        // SAFETY: valid for the call (caller of `lift`).
        unsafe { abi.as_slice() }
    }
}

// SAFETY: as for `&[T]`; the callee copies it into its own `Vec`.
unsafe impl<T: Number> Arg for Vec<T> {
    type Abi = SliceView<T>;
    fn lower(&self, _: &mut Keep) -> SliceView<T> {
        SliceView::new(self)
    }
    unsafe fn lift(abi: SliceView<T>) -> Result<Vec<T>> {
        // SAFETY: valid for the call (caller of `lift`).
        unsafe { abi.as_slice() }.map(<[T]>::to_vec)
    }
}

// SAFETY: the callee's vector, released through the callee.
unsafe impl<T: Number> Ret for Vec<T> {
    type Abi = OwnedVec<T>;
    fn raise(self) -> OwnedVec<T> {
        OwnedVec::from_vec(self)
    }
    unsafe fn take(abi: OwnedVec<T>) -> Result<Vec<T>> {
        // SAFETY: raised by the other side, taken once (caller).
        unsafe { abi.take() }
    }
}

// SAFETY: a flag validated when read, and the inner type's own representation.
unsafe impl<T: Arg> Arg for Option<T> {
    type Abi = AbiOption<T::Abi>;
    fn lower(&self, keep: &mut Keep) -> Self::Abi {
        match self {
            Some(value) => AbiOption {
                present: 1,
                value: MaybeUninit::new(value.lower(keep)),
            },
            None => AbiOption {
                present: 0,
                value: MaybeUninit::uninit(),
            },
        }
    }
    unsafe fn lift(abi: Self::Abi) -> Result<Self> {
        match abi.present {
            0 => Ok(None),
            // SAFETY: `present` is 1, so the writer initialised `value`; forwarded.
            1 => unsafe { T::lift(abi.value.assume_init()) }.map(Some),
            other => Err(Error::msg(format!(
                "{other} is not an option flag (0 or 1)"
            ))),
        }
    }
}

// SAFETY: as above.
unsafe impl<T: Ret> Ret for Option<T> {
    type Abi = AbiOption<T::Abi>;
    fn raise(self) -> Self::Abi {
        match self {
            Some(value) => AbiOption {
                present: 1,
                value: MaybeUninit::new(value.raise()),
            },
            None => AbiOption {
                present: 0,
                value: MaybeUninit::uninit(),
            },
        }
    }
    unsafe fn take(abi: Self::Abi) -> Result<Self> {
        match abi.present {
            0 => Ok(None),
            // SAFETY: `present` is 1, so the writer initialised `value`; forwarded.
            1 => unsafe { T::take(abi.value.assume_init()) }.map(Some),
            other => Err(Error::msg(format!(
                "{other} is not an option flag (0 or 1)"
            ))),
        }
    }
}

fn export_batch(batch: &RecordBatch) -> Result<(FFI_ArrowArray, FFI_ArrowSchema)> {
    let schema = FFI_ArrowSchema::try_from(batch.schema().as_ref())?;
    let array = FFI_ArrowArray::new(&StructArray::from(batch.clone()).into_data());
    Ok((array, schema))
}

/// # Safety
/// `array` is a valid C Data Interface array of the struct type `schema` describes.
unsafe fn import_batch(array: FFI_ArrowArray, schema: &FFI_ArrowSchema) -> Result<RecordBatch> {
    // SAFETY: forwarded from the caller.
    let data = unsafe { from_ffi(array, schema) }?;
    let columns = StructArray::from(data);
    if columns.null_count() > 0 {
        return Err(Error::msg("a batch's struct array must not have null rows"));
    }
    Ok(RecordBatch::from(columns))
}

// SAFETY: the batch crosses through the Arrow C Data Interface; the callee moves the array
// out, and an array it did not take is released with the caller's `Keep`.
unsafe impl Arg for RecordBatch {
    type Abi = AbiBatchRef;
    fn lower(&self, keep: &mut Keep) -> AbiBatchRef {
        // Exporting a batch of a valid schema does not fail in practice; if it ever did, the
        // callee sees a released array and reports it.
        let (array, schema) = export_batch(self)
            .unwrap_or_else(|_| (FFI_ArrowArray::empty(), FFI_ArrowSchema::empty()));
        AbiBatchRef {
            array: keep.hold(array),
            schema: keep.hold(schema),
        }
    }
    unsafe fn lift(abi: AbiBatchRef) -> Result<RecordBatch> {
        if abi.array.is_null() || abi.schema.is_null() {
            return Err(Error::msg("a batch arrived with a null array or schema"));
        }
        // SAFETY: valid for the call (caller); `from_raw` leaves a released array behind.
        let array = unsafe { FFI_ArrowArray::from_raw(abi.array) };
        if array.is_released() {
            return Err(Error::msg("a batch arrived without its array"));
        }
        // SAFETY: exported by `lower` from a batch of this schema.
        unsafe { import_batch(array, &*abi.schema) }
    }
}

// SAFETY: as above; the receiver owns and releases both structs.
unsafe impl Ret for RecordBatch {
    type Abi = AbiBatch;
    fn raise(self) -> AbiBatch {
        let (array, schema) = export_batch(&self)
            .unwrap_or_else(|_| (FFI_ArrowArray::empty(), FFI_ArrowSchema::empty()));
        AbiBatch { array, schema }
    }
    unsafe fn take(abi: AbiBatch) -> Result<RecordBatch> {
        if abi.array.is_released() {
            return Err(Error::msg("a batch arrived without its array"));
        }
        // SAFETY: raised by the other side from a batch of this schema.
        unsafe { import_batch(abi.array, &abi.schema) }
    }
}

/// A type of your own that crosses as bytes: write how to encode and decode it.
///
/// ```
/// use oplink::service::Wire;
///
/// #[derive(Debug, PartialEq)]
/// struct Point { x: i32, y: i32 }
///
/// impl Wire for Point {
///     fn encode(&self, out: &mut Vec<u8>) {
///         out.extend_from_slice(&self.x.to_le_bytes());
///         out.extend_from_slice(&self.y.to_le_bytes());
///     }
///     fn decode(bytes: &[u8]) -> oplink::Result<Point> {
///         let [x, y] = <[[u8; 4]; 2]>::try_from(bytes.chunks(4).map(|c| c.try_into()).collect::<Result<Vec<[u8; 4]>, _>>()?)
///             .map_err(|_| oplink::Error::msg("a Point is 8 bytes"))?;
///         Ok(Point { x: i32::from_le_bytes(x), y: i32::from_le_bytes(y) })
///     }
/// }
/// let mut bytes = Vec::new();
/// Point { x: 1, y: -2 }.encode(&mut bytes);
/// assert_eq!(Point::decode(&bytes).unwrap(), Point { x: 1, y: -2 });
/// ```
///
/// For a type that is `serde::Serialize` and `Deserialize`, [`Json<T>`] does this for you.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross between host and plugin",
    label = "not a type a host service method can take or return",
    note = "methods may use integers, floats, `bool`, `char`, `&str`, `String`, `&[T]` and `Vec<T>` of numbers, `Option` of those, `RecordBatch`, and return `()` or `Result<T, E>` of those",
    note = "for a type of your own, implement `oplink::service::Wire` for `{Self}`, or wrap a serde type: `oplink::service::Json<{Self}>`",
    note = "return owned values: `String` rather than `&str`, `Vec<T>` rather than `&[T]`"
)]
pub trait Wire: Sized + 'static {
    /// Appends the value's bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads a value from the bytes `encode` wrote.
    fn decode(bytes: &[u8]) -> Result<Self>;
}

// SAFETY: encoded bytes held by the caller's `Keep`, borrowed for the call.
unsafe impl<T: Wire> Arg for T {
    type Abi = SliceView<u8>;
    fn lower(&self, keep: &mut Keep) -> SliceView<u8> {
        let mut bytes = Vec::new();
        self.encode(&mut bytes);
        let held = keep.hold(bytes);
        // SAFETY: `held` points into `keep`, which is alive here.
        SliceView::new(unsafe { &*held })
    }
    unsafe fn lift(abi: SliceView<u8>) -> Result<T> {
        // SAFETY: valid for the call (caller of `lift`).
        T::decode(unsafe { abi.as_slice() }?)
    }
}

// SAFETY: encoded bytes owned by the callee, released through it.
unsafe impl<T: Wire> Ret for T {
    type Abi = OwnedBuf;
    fn raise(self) -> OwnedBuf {
        let mut bytes = Vec::new();
        self.encode(&mut bytes);
        OwnedBuf::from_vec(bytes)
    }
    unsafe fn take(mut abi: OwnedBuf) -> Result<T> {
        // SAFETY: raised by the other side, taken once (caller).
        T::decode(&unsafe { abi.take() })
    }
}

/// Any `serde` type, crossing as JSON: `fn customer(&self, id: u64) -> Option<Json<Customer>>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize + serde::de::DeserializeOwned + 'static> Wire for Json<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        // Serialising into memory fails only for maps with non-string keys and the like; the
        // receiver then reports the empty input it gets.
        let _ = serde_json::to_writer(out, &self.0);
    }
    fn decode(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map(Json)
            .map_err(|e| Error::msg(format!("cannot decode {}: {e}", std::any::type_name::<T>())))
    }
}

// ---------------------------------------------------------------------------------------
// Errors.

/// An error type that a host service method may use in `Result<T, E>`: it must display
/// itself (for the other side) and be made from a message (on the plugin's side).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error type of a host service method",
    note = "use `oplink::Error` (as in `oplink::Result<T>`), `String` or `Box<dyn std::error::Error + Send + Sync>`, or implement `oplink::service::ServiceError` for `{Self}`"
)]
pub trait ServiceError: fmt::Display + Sized {
    /// The error the caller sees for a failure with this message.
    fn from_message(message: String) -> Self;
}

impl ServiceError for Error {
    fn from_message(message: String) -> Error {
        Error::msg(message)
    }
}

impl ServiceError for String {
    fn from_message(message: String) -> String {
        message
    }
}

impl ServiceError for Box<dyn std::error::Error + Send + Sync> {
    fn from_message(message: String) -> Self {
        message.into()
    }
}

/// `Result<T, E>` as the return type of a service method: `T` crosses, `E` reports.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result` that a host service method can return",
    note = "a method's `Result` must be `core::result::Result<T, E>` (or an alias of it such as `oplink::Result<T>`)"
)]
pub trait Fallible {
    /// The success type.
    type Ok: Ret;
    /// The error type.
    type Err: ServiceError;
    /// As a `Result`.
    fn into_result(self) -> core::result::Result<Self::Ok, Self::Err>;
    /// From a `Result`.
    fn from_result(result: core::result::Result<Self::Ok, Self::Err>) -> Self;
}

impl<T: Ret, E: ServiceError> Fallible for core::result::Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Self {
        self
    }
    fn from_result(result: Self) -> Self {
        result
    }
}

// ---------------------------------------------------------------------------------------
// Services.

/// A host service declared with `#[oplink::host_callbacks]`; implemented by the macro for
/// `dyn YourTrait`. The host provides one with `HostBuilder::provide::<dyn YourTrait>`, an
/// operator lists it in `#[operator(requires = [YourTrait])]` and reaches it with
/// [`Context::service`](crate::Context::service).
///
/// # Safety
/// Implemented only by the macro: the constants describe the table its functions build and
/// read.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a host service",
    label = "not declared with `#[oplink::host_callbacks]`",
    note = "a service is a trait marked `#[oplink::host_callbacks]`; list the trait itself, as in `requires = [Catalog]`"
)]
pub unsafe trait Service: Send + Sync + 'static {
    /// The service's name, e.g. `Catalog`.
    const NAME: &'static str;
    /// Each method's signature as written, in table order.
    const METHODS: &'static [&'static str];
    /// A hash of the name, the signatures and the table layout.
    const FINGERPRINT: u64;
    /// The service's identity as an operator descriptor carries it.
    const REQUIREMENT: ServiceRequirement;

    /// The host side: a table of thunks over `implementation`.
    #[doc(hidden)]
    fn __host_table(implementation: Arc<Self>) -> HostTable;

    /// The plugin side: a proxy that calls through `table`.
    ///
    /// # Safety
    /// `table` is a table of this service (same fingerprint) that outlives the proxy.
    #[doc(hidden)]
    unsafe fn __proxy(table: *const c_void) -> Result<Arc<Self>>;
}

/// The fingerprint of a service: FNV-1a over its name, each method's signature and the
/// size of its table.
pub const fn fingerprint(name: &str, methods: &[&str]) -> u64 {
    let mut hash = crate::abi::fnv1a(crate::abi::FNV_OFFSET, b"oplink-service-v1\0");
    hash = crate::abi::fnv1a(hash, name.as_bytes());
    let mut i = 0;
    while i < methods.len() {
        hash = crate::abi::fnv1a(hash, b"\0");
        hash = crate::abi::fnv1a(hash, methods[i].as_bytes());
        i += 1;
    }
    let table_size = (2 + methods.len()) * std::mem::size_of::<usize>();
    crate::abi::fnv1a(hash, &(table_size as u64).to_le_bytes())
}

/// A host-side service table and what it points into. Keep it alive while any plugin may
/// call through the table.
pub struct HostTable {
    table: *const c_void,
    _owner: Box<dyn Any>,
}

// SAFETY: the owner is the implementation (`Send + Sync`) and the table, immutable once
// built: function pointers and a pointer to the implementation.
unsafe impl Send for HostTable {}
// SAFETY: as above.
unsafe impl Sync for HostTable {}

impl fmt::Debug for HostTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostTable")
            .field("table", &self.table)
            .finish()
    }
}

impl HostTable {
    /// Builds the table of `implementation`: `make` gets a stable pointer to the
    /// implementation (the table's context) and returns the table.
    #[doc(hidden)]
    pub fn new<S: ?Sized + Send + Sync + 'static, T: 'static>(
        implementation: Arc<S>,
        make: impl FnOnce(*const c_void) -> T,
    ) -> HostTable {
        let implementation = Box::new(implementation);
        let context: *const Arc<S> = &*implementation;
        let table = Box::new(make(context.cast()));
        let ptr: *const T = &*table;
        HostTable {
            table: ptr.cast(),
            _owner: Box::new((implementation, table)),
        }
    }

    /// The table, as the host hands it to a plugin.
    pub fn as_ptr(&self) -> *const c_void {
        self.table
    }
}

/// The implementation behind a table's context.
///
/// # Safety
/// `context` comes from [`HostTable::new`] for an `Arc<S>` and the table is alive.
#[doc(hidden)]
pub unsafe fn implementation<'a, S: ?Sized>(context: *const c_void) -> &'a S {
    // SAFETY: forwarded from the caller.
    unsafe { &*context.cast::<Arc<S>>() }
}

/// The start of every service table: its size, then the host's context.
#[repr(C)]
#[derive(Debug)]
pub struct TableHeader {
    /// `size_of` the table, as the host built it.
    pub size: usize,
    /// The host's context for the thunks.
    pub context: *const c_void,
}

/// Checks that `table` is at least `size` bytes (the plugin's view of the table).
///
/// # Safety
/// `table` is null or points to a table starting with a [`TableHeader`].
#[doc(hidden)]
pub unsafe fn check_table(table: *const c_void, service: &str, size: usize) -> Result<()> {
    if table.is_null() {
        return Err(Error::msg(format!(
            "the host gave a null table for `{service}`"
        )));
    }
    // SAFETY: non-null and starts with a header (caller).
    let header = unsafe { &*table.cast::<TableHeader>() };
    if header.size < size {
        return Err(Error::msg(format!(
            "the host's table for `{service}` has {} bytes, this plugin needs {size}",
            header.size
        )));
    }
    Ok(())
}

/// Runs one host-side method under the trampoline and writes its outcome.
///
/// # Safety
/// `err` is writable and empty.
#[doc(hidden)]
pub unsafe fn serve(err: *mut ErrorOut, body: &mut dyn FnMut() -> Result<()>) -> Status {
    // SAFETY: forwarded.
    unsafe { crate::trampoline::guard_into(err, body) }
}

/// Turns the status and error of a call from `service.method` into a message, or `None`
/// when the call succeeded.
///
/// # Safety
/// `err` was written by the callee for a non-OK status (or is empty).
#[doc(hidden)]
pub unsafe fn failure_message(
    status: Status,
    err: &mut ErrorOut,
    service: &str,
    method: &str,
) -> Option<String> {
    if status == Status::OK {
        return None;
    }
    // SAFETY: forwarded from the caller.
    let failure = unsafe { Failure::read_from(status, err) };
    Some(match failure.kind {
        FailureKind::Error if status == Status::ERROR => failure.message,
        FailureKind::Error => format!("`{service}::{method}` returned unknown status {}", status.0),
        FailureKind::Panic => match failure.location() {
            Some(at) => format!(
                "the host panicked in `{service}::{method}` at {at}: {}",
                failure.message
            ),
            None => format!(
                "the host panicked in `{service}::{method}`: {}",
                failure.message
            ),
        },
    })
}

/// What a proxy does when a method without `Result` fails: panic with the message, so the
/// operator's call fails (and its instance is poisoned) rather than go on with no value.
#[doc(hidden)]
#[track_caller]
pub fn infallible_failed(service: &str, method: &str, message: &str) -> ! {
    panic!(
        "host service call `{service}::{method}` failed and the method has no `Result` to report it: {message}"
    )
}

/// The error of a failed call, for a method that returns `Result<T, E>`.
#[doc(hidden)]
pub fn fallible_failed<F: Fallible>(service: &str, method: &str, message: String) -> F {
    let _ = (service, method);
    F::from_result(Err(F::Err::from_message(message)))
}

/// The message for a returned value that does not validate.
#[doc(hidden)]
pub fn bad_return(service: &str, method: &str, error: Error) -> String {
    format!(
        "`{service}::{method}` returned a value this plugin cannot read: {}",
        error.message()
    )
}

/// The message for an argument that does not validate.
#[doc(hidden)]
pub fn bad_argument(service: &str, method: &str, argument: &str, error: Error) -> Error {
    Error::msg(format!(
        "argument `{argument}` of `{service}::{method}` cannot be read: {}",
        error.message()
    ))
}

/// The message for an `Err` the host's implementation returned.
#[doc(hidden)]
#[track_caller]
pub fn host_error(error: impl fmt::Display) -> Error {
    Error::msg(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_do_not_validate_are_errors_that_say_why() {
        assert_eq!(
            bool_from(7).unwrap_err().to_string(),
            "7 is not a bool (0 or 1)"
        );
        assert_eq!(
            char_from(0xD800).unwrap_err().to_string(),
            "0xd800 is not a Unicode scalar value"
        );
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
        let flag = AbiOption::<u64> {
            present: 2,
            value: MaybeUninit::uninit(),
        };
        // SAFETY: a flag of 2 is rejected before the value is read.
        let err = unsafe { <Option<u64> as Arg>::lift(flag) }.unwrap_err();
        assert_eq!(err.to_string(), "2 is not an option flag (0 or 1)");
        let null = SliceView::<u64> {
            ptr: std::ptr::null(),
            len: 3,
        };
        // SAFETY: a null pointer with a length is rejected before anything is read.
        let err = unsafe { <&[u64] as Arg>::lift(null) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a slice of 3 elements arrived with a null or misaligned pointer"
        );
        let err = Json::<Vec<u8>>::decode(b"{").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot decode alloc::vec::Vec<u8>: "),
            "{err}"
        );
    }

    #[test]
    fn owned_returns_are_taken_and_released_once() {
        let raised = vec![1i64, -2, 3].raise();
        // SAFETY: raised just above, taken once.
        let back = unsafe { <Vec<i64> as Ret>::take(raised) };
        assert_eq!(back.unwrap(), [1, -2, 3]);
        let raised = "héllo".to_owned().raise();
        // SAFETY: as above.
        let back = unsafe { String::take(raised) };
        assert_eq!(back.unwrap(), "héllo");
        let raised = Some(Json(vec![1u8, 2])).raise();
        // SAFETY: as above.
        let back = unsafe { <Option<Json<Vec<u8>>> as Ret>::take(raised) };
        assert_eq!(back.unwrap(), Some(Json(vec![1, 2])));
    }

    #[test]
    fn broken_tables_and_transfers_are_errors_that_say_why() {
        // SAFETY: a null table is rejected before it is read.
        let err = unsafe { check_table(std::ptr::null(), "Catalog", 32) }.unwrap_err();
        assert_eq!(err.to_string(), "the host gave a null table for `Catalog`");
        let small = TableHeader {
            size: 16,
            context: std::ptr::null(),
        };
        let ptr: *const TableHeader = &small;
        // SAFETY: points at a live header.
        let err = unsafe { check_table(ptr.cast(), "Catalog", 32) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the host's table for `Catalog` has 16 bytes, this plugin needs 32"
        );

        let mut out = ErrorOut::EMPTY;
        // SAFETY: an empty error slot.
        let message = unsafe { failure_message(Status(9), &mut out, "Catalog", "tier") };
        assert_eq!(
            message.as_deref(),
            Some("`Catalog::tier` returned unknown status 9")
        );
        assert_eq!(
            bad_return("Catalog", "tier", Error::msg("7 is not a bool (0 or 1)")),
            "`Catalog::tier` returned a value this plugin cannot read: 7 is not a bool (0 or 1)"
        );
        assert_eq!(
            bad_argument(
                "Catalog",
                "tier",
                "customer",
                Error::msg("a string is not UTF-8")
            )
            .to_string(),
            "argument `customer` of `Catalog::tier` cannot be read: a string is not UTF-8"
        );

        let vec = OwnedVec::<u32> {
            ptr: std::ptr::null_mut(),
            len: 2,
            capacity: 2,
            release: None,
        };
        // SAFETY: a null pointer with a length is rejected before anything is read.
        let err = unsafe { vec.take() }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a vector arrived with a null or misaligned pointer"
        );

        let null = AbiBatchRef {
            array: std::ptr::null_mut(),
            schema: std::ptr::null(),
        };
        // SAFETY: null pointers are rejected before they are read.
        let err = unsafe { RecordBatch::lift(null) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a batch arrived with a null array or schema"
        );
        let mut released = FFI_ArrowArray::empty();
        let schema = FFI_ArrowSchema::empty();
        let taken = AbiBatchRef {
            array: &mut released,
            schema: &schema,
        };
        // SAFETY: valid (released) structs, alive for the call.
        let err = unsafe { RecordBatch::lift(taken) }.unwrap_err();
        assert_eq!(err.to_string(), "a batch arrived without its array");
    }
}
