//! The receiving side. Everything here treats what arrives as untrusted: a malformed change
//! is an `Err`, and every array it carried is released whatever happens.

use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi_and_data_type};
use arrow_array::{Array, RecordBatch, RecordBatchOptions, StructArray, UInt64Array};
use arrow_data::ArrayData;
use arrow_schema::{DataType, Schema, SchemaRef};

use super::SchemaInbox;
use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT, DIFF_REMOVE, DIFF_UPDATE};
use crate::data::{Change, Diff, Rows, Timestamp};
use crate::{Error, Result};

/// Takes a change laid out by the other side.
///
/// # Safety
/// `abi` must describe `diff_count` diffs whose arrays are valid C Data Interface arrays
/// (or released ones) not taken yet, with non-null schemas alive for this call.
pub unsafe fn import_change(abi: &AbiChange, inbox: &mut SchemaInbox) -> Result<Change> {
    let diffs: &mut [AbiDiff] = if abi.diff_count == 0 {
        &mut []
    } else if abi.diffs.is_null() || !abi.diffs.is_aligned() {
        return Err(Error::unlocated(format!(
            "a change lists {} diffs but its diff array is null or misaligned",
            abi.diff_count
        )));
    } else {
        // SAFETY: the caller guarantees `diff_count` valid diffs at `diffs`, not aliased.
        unsafe { std::slice::from_raw_parts_mut(abi.diffs, abi.diff_count) }
    };
    // First take every array, so that all of them are released whatever happens next.
    let mut taken = Vec::with_capacity(diffs.len());
    for diff in diffs.iter_mut() {
        // SAFETY: the arrays of an exported diff are valid and not taken yet (caller).
        let (pre, post) = unsafe { (take_rows(&mut diff.pre), take_rows(&mut diff.post)) };
        taken.push((diff.kind, diff.reserved, pre, post));
    }
    let mut out = Vec::with_capacity(taken.len());
    // Then read them in order: a schema slot may be refilled by a later diff.
    for (index, (kind, reserved, pre, post)) in taken.into_iter().enumerate() {
        let diff = (|| {
            if reserved != 0 {
                return Err(Error::unlocated(format!(
                    "its reserved field is {reserved}, not 0"
                )));
            }
            Ok(match kind {
                DIFF_INSERT => Diff::Insert {
                    // SAFETY: schemas of this change are alive for the call (caller).
                    post: unsafe { inbox.rows(post, "post") }?,
                },
                DIFF_UPDATE => Diff::Update {
                    // SAFETY: as above.
                    pre: unsafe { inbox.rows(pre, "pre") }?,
                    // SAFETY: as above.
                    post: unsafe { inbox.rows(post, "post") }?,
                },
                DIFF_REMOVE => Diff::Remove {
                    // SAFETY: as above.
                    pre: unsafe { inbox.rows(pre, "pre") }?,
                },
                other => {
                    return Err(Error::unlocated(format!(
                        "its kind is {other}, not 1, 2 or 3"
                    )));
                }
            })
        })()
        .map_err(|e| e.context(format!("diff {index} of the change")))?;
        out.push(diff);
    }
    Ok(Change {
        version: abi.version,
        changed_at: Timestamp(abi.changed_at),
        diffs: out,
    })
}

/// Takes a batch laid out by `Outgoing::export_batch`.
///
/// # Safety
/// As for [`import_change`], for one `AbiRows`.
pub unsafe fn import_batch(rows: &mut AbiRows, inbox: &mut SchemaInbox) -> Result<RecordBatch> {
    // SAFETY: forwarded from the caller.
    let taken = unsafe { take_rows(rows) };
    // SAFETY: forwarded from the caller.
    unsafe { inbox.batch(taken) }
}

/// Takes a batch that crossed with its own schema (a service argument or return value).
///
/// # Safety
/// `array` is a valid C Data Interface array (or a released one); `schema` is a valid
/// schema alive for the call.
pub unsafe fn import_standalone_batch(
    array: FFI_ArrowArray,
    schema: &FFI_ArrowSchema,
) -> Result<RecordBatch> {
    if array.is_released() {
        return Err(Error::unlocated("a batch arrived without its array"));
    }
    let schema = Arc::new(read_schema(schema)?);
    let data_type = DataType::Struct(schema.fields().clone());
    batch_from(array, &schema, &data_type)
}

/// Arrays moved out of an `AbiRows`; dropping them releases them on the exporter's side.
#[derive(Debug)]
struct TakenRows {
    schema_id: u64,
    schema: *const FFI_ArrowSchema,
    columns: FFI_ArrowArray,
    row_numbers: FFI_ArrowArray,
}

/// # Safety
/// The arrays in `rows` must be valid C Data Interface arrays (or released ones).
unsafe fn take_rows(rows: &mut AbiRows) -> TakenRows {
    TakenRows {
        schema_id: rows.schema_id,
        schema: rows.schema,
        // SAFETY: valid arrays (caller); `from_raw` leaves released arrays behind, so the
        // other side sees them as taken.
        columns: unsafe { FFI_ArrowArray::from_raw(&mut rows.columns) },
        // SAFETY: as above.
        row_numbers: unsafe { FFI_ArrowArray::from_raw(&mut rows.row_numbers) },
    }
}

fn read_schema(ffi: &FFI_ArrowSchema) -> Result<Schema> {
    Schema::try_from(ffi).map_err(|e| Error::unlocated(format!("unreadable schema: {e}")))
}

/// Imports one array as `data_type`. arrow-rs asserts (panics) where an array's shape
/// disagrees with its type, for instance a struct with fewer children than fields; such an
/// array from the other side is an error here, never a panic in the caller.
fn import_array(array: FFI_ArrowArray, data_type: &DataType) -> Result<ArrayData> {
    let mut array = Some(array);
    let mut data = None;
    let outcome = crate::trampoline::guard(&mut || {
        if let Some(array) = array.take() {
            // SAFETY: a valid C Data Interface array of the schema registered under its id
            // (the exporter's contract); the type comes from our own cache.
            data = Some(unsafe { from_ffi_and_data_type(array, data_type.clone()) }?);
        }
        Ok(())
    });
    match (outcome, data) {
        (Ok(()), Some(data)) => Ok(data),
        (Err(failure), _) => Err(Error::unlocated(format!(
            "an array does not match its type {data_type}: {}",
            failure.message
        ))),
        (Ok(()), None) => Err(Error::unlocated("an array could not be imported")),
    }
}

fn batch_from(
    array: FFI_ArrowArray,
    schema: &SchemaRef,
    data_type: &DataType,
) -> Result<RecordBatch> {
    let data = import_array(array, data_type)?;
    let columns = StructArray::from(data);
    let rows = columns.len();
    let (_, arrays, nulls) = columns.into_parts();
    if nulls.is_some_and(|n| n.null_count() > 0) {
        return Err(Error::unlocated(
            "a batch's struct array must not have null rows",
        ));
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(schema.clone(), arrays, &options)
        .map_err(|e| Error::unlocated(format!("the batch does not fit its schema: {e}")))
}

impl SchemaInbox {
    /// Stores the schema an `AbiRows` carries, then reads its batch.
    ///
    /// # Safety
    /// `taken.schema` must be null or point to a valid `FFI_ArrowSchema`.
    unsafe fn batch(&mut self, taken: TakenRows) -> Result<RecordBatch> {
        if !taken.schema.is_null() {
            if !taken.schema.is_aligned() {
                return Err(Error::unlocated("a schema pointer is misaligned"));
            }
            // SAFETY: non-null and valid (caller).
            let schema = read_schema(unsafe { &*taken.schema })?;
            self.store(taken.schema_id, Arc::new(schema))?;
        }
        let (schema, data_type) = self.get(taken.schema_id)?;
        if taken.columns.is_released() {
            return Err(Error::unlocated("a batch has no columns array"));
        }
        batch_from(taken.columns, schema, data_type)
    }

    /// # Safety
    /// As for [`SchemaInbox::batch`].
    unsafe fn rows(&mut self, taken: TakenRows, side: &str) -> Result<Rows> {
        let TakenRows {
            schema_id,
            schema,
            columns,
            row_numbers,
        } = taken;
        if row_numbers.is_released() {
            return Err(Error::unlocated(format!(
                "its {side} rows have no row numbers"
            )));
        }
        let numbers = import_array(row_numbers, &DataType::UInt64)?;
        // SAFETY: forwarded.
        let batch = unsafe {
            self.batch(TakenRows {
                schema_id,
                schema,
                columns,
                row_numbers: FFI_ArrowArray::empty(),
            })
        }?;
        Rows::new(UInt64Array::from(numbers), batch)
            .map_err(|e| Error::unlocated(format!("its {side} rows: {}", e.message())))
    }
}
