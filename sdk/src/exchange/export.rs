//! The sending side.

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{Array, RecordBatch, StructArray};
use arrow_schema::SchemaRef;

use super::SchemaOutbox;
use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT, DIFF_REMOVE, DIFF_UPDATE};
use crate::data::{Change, Diff, Rows};
use crate::{Error, Result};

/// A change or batch laid out for the other side: the ABI structs plus what they borrow.
/// Keep it alive (and unmoved) until the receiver has taken the arrays; the next export or
/// [`Outgoing::clear`] releases whatever the receiver left.
#[derive(Debug, Default)]
pub struct Outgoing {
    diffs: Vec<AbiDiff>,
    // Boxed on purpose: the ABI structs hold pointers to these schemas, which must not move
    // when the vector grows.
    #[allow(clippy::vec_box)]
    schemas: Vec<Box<FFI_ArrowSchema>>,
}

// SAFETY: `Outgoing` owns its schemas and diffs; the raw pointers inside point into its own
// boxes and into Arrow buffers that are themselves `Send`.
unsafe impl Send for Outgoing {}

impl Outgoing {
    /// Lays `change` out for the other side, reusing this buffer's allocations.
    pub fn export_change(
        &mut self,
        change: Change,
        outbox: &mut SchemaOutbox,
    ) -> Result<AbiChange> {
        self.clear();
        outbox.begin();
        self.diffs.reserve(change.diffs.len());
        for diff in change.diffs {
            let abi = match diff {
                Diff::Insert { post } => AbiDiff {
                    kind: DIFF_INSERT,
                    reserved: 0,
                    pre: AbiRows::absent(),
                    post: self.export_rows(post, outbox)?,
                },
                Diff::Update { pre, post } => AbiDiff {
                    kind: DIFF_UPDATE,
                    reserved: 0,
                    pre: self.export_rows(pre, outbox)?,
                    post: self.export_rows(post, outbox)?,
                },
                Diff::Remove { pre } => AbiDiff {
                    kind: DIFF_REMOVE,
                    reserved: 0,
                    pre: self.export_rows(pre, outbox)?,
                    post: AbiRows::absent(),
                },
            };
            self.diffs.push(abi);
        }
        Ok(AbiChange {
            version: change.version,
            changed_at: change.changed_at.0,
            diffs: if self.diffs.is_empty() {
                std::ptr::null_mut()
            } else {
                self.diffs.as_mut_ptr()
            },
            diff_count: self.diffs.len(),
        })
    }

    /// Lays a batch out for the other side (with no row numbers).
    pub fn export_batch(
        &mut self,
        batch: RecordBatch,
        outbox: &mut SchemaOutbox,
    ) -> Result<AbiRows> {
        self.clear();
        outbox.begin();
        let (schema_id, schema) = self.schema_for(&batch.schema(), outbox)?;
        Ok(AbiRows {
            schema_id,
            schema,
            columns: export_columns(batch),
            row_numbers: FFI_ArrowArray::empty(),
        })
    }

    /// Releases whatever the receiver did not take, and keeps the allocations.
    pub fn clear(&mut self) {
        self.diffs.clear();
        self.schemas.clear();
    }

    fn export_rows(&mut self, rows: Rows, outbox: &mut SchemaOutbox) -> Result<AbiRows> {
        let (schema_id, schema) = self.schema_for(&rows.schema(), outbox)?;
        let (numbers, batch) = rows.into_parts();
        Ok(AbiRows {
            schema_id,
            schema,
            columns: export_columns(batch),
            row_numbers: FFI_ArrowArray::new(&numbers.into_data()),
        })
    }

    fn schema_for(
        &mut self,
        schema: &SchemaRef,
        outbox: &mut SchemaOutbox,
    ) -> Result<(u64, *const FFI_ArrowSchema)> {
        let (id, send) = outbox.id_of(schema);
        if !send {
            return Ok((id, std::ptr::null()));
        }
        let ffi = Box::new(export_schema(schema)?);
        let ptr: *const FFI_ArrowSchema = &*ffi;
        self.schemas.push(ffi);
        Ok((id, ptr))
    }
}

impl AbiRows {
    /// The unused side of an insert or a remove.
    pub fn absent() -> AbiRows {
        AbiRows {
            schema_id: 0,
            schema: std::ptr::null(),
            columns: FFI_ArrowArray::empty(),
            row_numbers: FFI_ArrowArray::empty(),
        }
    }
}

/// A batch as one struct array, whose length is the row count (so a batch without columns
/// keeps its rows).
fn export_columns(batch: RecordBatch) -> FFI_ArrowArray {
    FFI_ArrowArray::new(&StructArray::from(batch).into_data())
}

fn export_schema(schema: &SchemaRef) -> Result<FFI_ArrowSchema> {
    FFI_ArrowSchema::try_from(schema.as_ref())
        .map_err(|e| Error::unlocated(format!("cannot export the schema {schema}: {e}")))
}

/// A batch with its own schema, for a service argument or return value.
pub fn export_batch(batch: &RecordBatch) -> Result<(FFI_ArrowArray, FFI_ArrowSchema)> {
    let schema = export_schema(&batch.schema())?;
    Ok((export_columns(batch.clone()), schema))
}
