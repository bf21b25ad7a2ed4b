//! `RecordBatch`: through the Arrow C Data Interface, with the same exporter and importer
//! as changes (`crate::exchange`).

use arrow_array::RecordBatch;
use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};

use super::{Arg, Keep, Ret, Shape};
use crate::abi::{AbiBatch, AbiBatchRef};
use crate::exchange::{export_batch, import_standalone_batch};
use crate::{Error, Result};

fn export_or_released(batch: &RecordBatch) -> (FFI_ArrowArray, FFI_ArrowSchema) {
    // A batch no crossing takes (a type the C Data Interface cannot express, a column
    // nested too deep) crosses released here; the generated code calls `try_lower` and
    // `try_raise` instead, which say why.
    export_batch(batch).unwrap_or_else(|_| (FFI_ArrowArray::empty(), FFI_ArrowSchema::empty()))
}

/// Why a batch cannot cross, as an argument or a result.
#[cold]
#[inline(never)]
fn cannot_cross(error: Error) -> Error {
    Error::unlocated(format!("a batch cannot cross: {}", error.message()))
}

// SAFETY: the batch crosses through the Arrow C Data Interface; the callee moves the array
// out, and an array it did not take is released with the caller's `Keep`.
unsafe impl Arg for RecordBatch {
    type Abi = AbiBatchRef;
    const SHAPE: Shape = Shape::of::<AbiBatchRef>("record batch");
    fn lower(&self, keep: &mut Keep) -> AbiBatchRef {
        let (array, schema) = export_or_released(self);
        AbiBatchRef {
            array: keep.hold(array),
            schema: keep.hold(schema),
        }
    }
    fn try_lower(&self, keep: &mut Keep) -> Result<AbiBatchRef> {
        let (array, schema) = export_batch(self).map_err(cannot_cross)?;
        Ok(AbiBatchRef {
            array: keep.hold(array),
            schema: keep.hold(schema),
        })
    }
    unsafe fn lift(abi: AbiBatchRef) -> Result<RecordBatch> {
        if abi.array.is_null()
            || abi.schema.is_null()
            || !abi.array.is_aligned()
            || !abi.schema.is_aligned()
        {
            return Err(Error::unlocated(
                "a batch arrived with a null or misaligned array or schema",
            ));
        }
        // SAFETY: valid for the call (caller); `from_raw` leaves a released array behind.
        let array = unsafe { FFI_ArrowArray::from_raw(abi.array) };
        // SAFETY: the schema is valid for the call (caller).
        unsafe { import_standalone_batch(array, &*abi.schema) }
    }
}

// SAFETY: as above; the receiver owns and releases both structs.
unsafe impl Ret for RecordBatch {
    type Abi = AbiBatch;
    const SHAPE: Shape = Shape::of::<AbiBatch>("record batch");
    fn raise(self) -> AbiBatch {
        let (array, schema) = export_or_released(&self);
        AbiBatch { array, schema }
    }
    fn try_raise(self) -> Result<AbiBatch> {
        let (array, schema) = export_batch(&self).map_err(cannot_cross)?;
        Ok(AbiBatch { array, schema })
    }
    unsafe fn take(abi: AbiBatch) -> Result<RecordBatch> {
        // SAFETY: raised by the other side (caller).
        unsafe { import_standalone_batch(abi.array, &abi.schema) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_batches_say_why() {
        let null = AbiBatchRef {
            array: std::ptr::null_mut(),
            schema: std::ptr::null(),
        };
        // SAFETY: null pointers are rejected before they are read.
        let err = unsafe { RecordBatch::lift(null) }.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a batch arrived with a null or misaligned array or schema"
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
