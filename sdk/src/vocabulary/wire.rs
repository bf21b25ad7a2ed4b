//! Types of your own, crossing as bytes: [`Wire`] and [`Json<T>`].

use super::{Arg, Keep, Ret, Shape};
use crate::abi::decl::{FNV_OFFSET, fnv1a};
use crate::abi::{BytesView, OwnedBuf};
use crate::{Error, Result};

/// A type of your own that crosses as bytes: write how to encode and decode it.
///
/// ```
/// use oplink::service::Wire;
///
/// #[derive(Debug, PartialEq)]
/// struct Point { x: i32, y: i32 }
///
/// impl Wire for Point {
///     const SCHEMA: &'static str = "Point: x i32 LE, y i32 LE";
///     fn encode(&self, out: &mut Vec<u8>) {
///         out.extend_from_slice(&self.x.to_le_bytes());
///         out.extend_from_slice(&self.y.to_le_bytes());
///     }
///     fn decode(bytes: &[u8]) -> oplink::Result<Point> {
///         let (Some(x), Some(y)) = (bytes.get(0..4), bytes.get(4..8)) else {
///             return Err(oplink::Error::msg("a Point is 8 bytes"));
///         };
///         Ok(Point { x: i32::from_le_bytes(x.try_into()?), y: i32::from_le_bytes(y.try_into()?) })
///     }
/// }
/// let mut bytes = Vec::new();
/// Point { x: 1, y: -2 }.encode(&mut bytes);
/// assert_eq!(Point::decode(&bytes).unwrap(), Point { x: 1, y: -2 });
/// ```
///
/// For a type that is `serde::Serialize` and `Deserialize` (your own, or a standard one
/// such as `HashMap<String, u64>`), [`Json<T>`] does this for you.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross between host and plugin",
    label = "not a type a host service method can take or return",
    note = "methods may use integers, floats, `bool`, `char`, `&str`, `String`, `&[T]` and `Vec<T>` of numbers, `RecordBatch`, `Option` of any of those, and return `()` or `Result<T, E>` of those",
    note = "for a serde type, use `oplink::service::Json<{Self}>`; for a type of yours, implement `oplink::service::Wire` for it; for a type of another crate that is not serde, wrap it in a type of yours"
)]
pub trait Wire: Sized + 'static {
    /// A description of the encoding, part of the fingerprint of every service method that
    /// uses the type: change it whenever the encoding changes, so that a plugin and a host
    /// built with different encodings refuse each other instead of misreading bytes.
    const SCHEMA: &'static str = "";
    /// Appends the value's bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads a value from the bytes `encode` wrote.
    fn decode(bytes: &[u8]) -> Result<Self>;
    /// [`encode`](Wire::encode), or why the value has no encoding (`Json`'s serde error).
    #[doc(hidden)]
    fn try_encode(&self, out: &mut Vec<u8>) -> Result<()> {
        self.encode(out);
        Ok(())
    }
}

const fn wire_shape<A: crate::abi::decl::CType>(schema: &str) -> Shape {
    Shape::with::<A>("wire", &[Shape(fnv1a(FNV_OFFSET, schema.as_bytes()))])
}

// SAFETY: encoded bytes held by the caller's `Keep`, borrowed for the call.
#[diagnostic::do_not_recommend]
unsafe impl<T: Wire> Arg for T {
    type Abi = BytesView;
    const SHAPE: Shape = wire_shape::<BytesView>(T::SCHEMA);
    fn lower(&self, keep: &mut Keep) -> BytesView {
        let mut bytes = Vec::new();
        self.encode(&mut bytes);
        let held = keep.hold(bytes);
        // SAFETY: `held` points into `keep`, which outlives the call.
        BytesView::new(unsafe { &*held })
    }
    fn try_lower(&self, keep: &mut Keep) -> Result<BytesView> {
        let mut bytes = Vec::new();
        self.try_encode(&mut bytes)?;
        let held = keep.hold(bytes);
        // SAFETY: `held` points into `keep`, which outlives the call.
        Ok(BytesView::new(unsafe { &*held }))
    }
    unsafe fn lift(abi: BytesView) -> Result<T> {
        if (abi.ptr.is_null() && abi.len != 0) || abi.len > isize::MAX as usize {
            return Err(Error::unlocated(format!(
                "{} arrived with a null pointer or more than memory can hold",
                crate::__private::counted(abi.len, "encoded byte", "encoded bytes")
            )));
        }
        // SAFETY: valid for the call (caller of `lift`).
        T::decode(unsafe { abi.as_slice() })
    }
}

// SAFETY: encoded bytes owned by the callee, released through it.
#[diagnostic::do_not_recommend]
unsafe impl<T: Wire> Ret for T {
    type Abi = OwnedBuf;
    const SHAPE: Shape = wire_shape::<OwnedBuf>(T::SCHEMA);
    fn raise(self) -> OwnedBuf {
        let mut bytes = Vec::new();
        self.encode(&mut bytes);
        OwnedBuf::from_vec(bytes)
    }
    fn try_raise(self) -> Result<OwnedBuf> {
        let mut bytes = Vec::new();
        self.try_encode(&mut bytes)?;
        Ok(OwnedBuf::from_vec(bytes))
    }
    unsafe fn take(mut abi: OwnedBuf) -> Result<T> {
        // SAFETY: raised by the other side, taken once (caller).
        T::decode(&unsafe { abi.take_checked() }?)
    }
}

/// What [`Json<T>`] can carry: a serde type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross as JSON",
    label = "`Json<{Self}>` needs a serde type",
    note = "add `#[derive(serde::Serialize, serde::Deserialize)]` to `{Self}`"
)]
pub trait JsonValue: Sized + 'static {
    #[doc(hidden)]
    const CHECKED: ();
    /// Appends the value as JSON, or says why serde could not write it.
    #[doc(hidden)]
    fn to_json(&self, out: &mut Vec<u8>) -> Result<()>;
    /// Reads a value from JSON.
    #[doc(hidden)]
    fn from_json(bytes: &[u8]) -> Result<Self>;
}

#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + serde::de::DeserializeOwned + 'static> JsonValue for T {
    const CHECKED: () = ();
    fn to_json(&self, out: &mut Vec<u8>) -> Result<()> {
        // Serialising into memory fails only for maps with non-string keys, a `Serialize`
        // that fails, and the like.
        serde_json::to_writer(out, self).map_err(|e| {
            Error::unlocated(format!(
                "cannot encode {} as JSON: {e}",
                short_type_name::<T>()
            ))
        })
    }
    fn from_json(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::unlocated(format!("cannot decode {}: {e}", short_type_name::<T>())))
    }
}

/// `T`'s name as a signature writes it, without module paths: `BTreeMap<(u8, u8), u8>`, not
/// `alloc::collections::btree::map::BTreeMap<(u8, u8), u8>`.
fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    // Where the path being written started: a `::` drops what came since.
    let mut segment = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.truncate(segment);
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                segment = out.len();
            }
        }
    }
    out
}

/// Any serde type, crossing as JSON: `fn customer(&self, id: u64) -> Option<Json<Customer>>`.
/// Read and write the value through `.0`.
///
/// The fingerprint of a method sees that a `Json` crosses, not what is inside it: when the
/// fields of `T` change incompatibly, version the method (or the service) yourself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Json<T>(pub T);

impl<T: JsonValue> Wire for Json<T> {
    const SCHEMA: &'static str = "json";
    fn encode(&self, out: &mut Vec<u8>) {
        // What was written before a failure is left for the receiver to refuse; the
        // generated code calls `try_encode`, which says why.
        let _ = self.0.to_json(out);
    }
    fn try_encode(&self, out: &mut Vec<u8>) -> Result<()> {
        self.0.to_json(out)
    }
    fn decode(bytes: &[u8]) -> Result<Self> {
        T::from_json(bytes).map(Json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_in_messages_have_no_module_paths() {
        assert_eq!(
            short_type_name::<std::collections::BTreeMap<(u8, u8), Option<String>>>(),
            "BTreeMap<(u8, u8), Option<String>>"
        );
        assert_eq!(short_type_name::<[&str; 2]>(), "[&str; 2]");
        let err = Json(std::collections::BTreeMap::from([((1u8, 2u8), 3u8)]))
            .try_encode(&mut Vec::new())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot encode BTreeMap<(u8, u8), u8> as JSON: key must be a string"
        );
    }

    #[test]
    fn json_round_trips_and_bad_bytes_say_why() {
        let raised = Some(Json(vec![1u8, 2])).raise();
        // SAFETY: raised just above, taken once.
        let back = unsafe { <Option<Json<Vec<u8>>> as Ret>::take(raised) };
        assert_eq!(back.unwrap(), Some(Json(vec![1, 2])));
        // SAFETY: a null pointer with a length is rejected before anything is read.
        let err = unsafe {
            <Json<Vec<u8>> as Arg>::lift(BytesView {
                ptr: std::ptr::null(),
                len: 3,
            })
        }
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "3 encoded bytes arrived with a null pointer or more than memory can hold"
        );
        let err = Json::<Vec<u8>>::decode(b"{").unwrap_err();
        assert!(
            err.to_string().starts_with("cannot decode Vec<u8>: "),
            "{err}"
        );
    }
}
