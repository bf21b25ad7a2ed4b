//! Moving changes across the boundary through the Arrow C Data Interface, zero-copy.
//!
//! Both sides use the same code: the host to send inputs and receive outputs, the plugin the
//! other way round. Each instance keeps, per direction, a [`SchemaOutbox`] on the sending
//! side and a [`SchemaInbox`] on the receiving side: a schema crosses once, the first time a
//! batch of that schema is sent, and later batches carry only its id. Buffers are never
//! copied: an exported array owns clones of the `Arc`s of its buffers, and the importer's
//! arrays point at them until they are dropped, which calls the exporter's release.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi_and_data_type};
use arrow_array::{Array, RecordBatch, StructArray, UInt64Array};
use arrow_data::ArrayData;
use arrow_schema::{DataType, Schema, SchemaRef};

use crate::abi::{AbiChange, AbiDiff, AbiRows, DIFF_INSERT, DIFF_REMOVE, DIFF_UPDATE};
use crate::data::{Change, Diff, Rows, Timestamp};
use crate::{Error, Result};

/// The sending side's record of which schemas the receiver already has.
#[derive(Debug, Default)]
pub struct SchemaOutbox {
    sent: Vec<(SchemaRef, u64)>,
    pending: Vec<(SchemaRef, u64)>,
    next_id: u64,
}

impl SchemaOutbox {
    /// The id of `schema`, and whether it must travel with this batch.
    fn id_of(&mut self, schema: &SchemaRef) -> (u64, bool) {
        let known = |list: &[(SchemaRef, u64)]| {
            list.iter()
                .find(|(s, _)| Arc::ptr_eq(s, schema))
                .or_else(|| list.iter().find(|(s, _)| s == schema))
                .map(|(_, id)| *id)
        };
        if let Some(id) = known(&self.sent) {
            return (id, false);
        }
        if let Some(id) = known(&self.pending) {
            return (id, true);
        }
        self.next_id += 1;
        self.pending.push((schema.clone(), self.next_id));
        (self.next_id, true)
    }

    /// The receiver has taken every schema sent so far: stop sending them.
    pub fn commit(&mut self) {
        self.sent.append(&mut self.pending);
    }

    /// The receiver may not have taken the schemas of the last send: send them again.
    pub fn rollback(&mut self) {
        self.pending.clear();
    }
}

/// The receiving side's cache of schemas by id.
#[derive(Debug, Default)]
pub struct SchemaInbox {
    known: HashMap<u64, (SchemaRef, DataType)>,
}

impl SchemaInbox {
    /// Number of schemas received so far.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether no schema was received yet.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// A change or batch laid out for the other side: the ABI structs plus what they borrow.
/// Keep it alive (and unmoved) until the receiver has taken the arrays.
#[derive(Debug, Default)]
pub struct Outgoing {
    diffs: Vec<AbiDiff>,
    // Boxed on purpose: the ABI structs hold pointers to these schemas, which must not move
    // when the vector grows.
    #[allow(clippy::vec_box)]
    schemas: Vec<Box<FFI_ArrowSchema>>,
}

impl Outgoing {
    /// Lays `change` out for the other side, reusing this buffer's allocations.
    pub fn export_change(
        &mut self,
        change: Change,
        outbox: &mut SchemaOutbox,
    ) -> Result<AbiChange> {
        self.clear();
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
            diffs: self.diffs.as_mut_ptr(),
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
        let (schema_id, schema) = self.schema_for(&batch.schema(), outbox)?;
        let columns = StructArray::from(batch).into_data();
        Ok(AbiRows {
            schema_id,
            schema,
            columns: FFI_ArrowArray::new(&columns),
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
        let columns = StructArray::from(batch).into_data();
        Ok(AbiRows {
            schema_id,
            schema,
            columns: FFI_ArrowArray::new(&columns),
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
        let ffi = Box::new(FFI_ArrowSchema::try_from(schema.as_ref())?);
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

// SAFETY: `Outgoing` owns its schemas and diffs; the raw pointers inside point into its own
// boxes and into Arrow buffers that are themselves `Send`.
unsafe impl Send for Outgoing {}

/// Takes a change laid out by the other side. Every array in it is moved out (and released
/// when dropped) even when the import fails part-way, so nothing leaks on bad input.
///
/// # Safety
/// `abi` must describe `diff_count` valid diffs written by [`Outgoing::export_change`] (of
/// either side) whose arrays were not taken yet, with non-null schemas alive for this call.
pub unsafe fn import_change(abi: &AbiChange, inbox: &mut SchemaInbox) -> Result<Change> {
    let diffs: &mut [AbiDiff] = if abi.diff_count == 0 {
        &mut []
    } else if abi.diffs.is_null() {
        return Err(Error::msg(format!(
            "change lists {} diffs but no diff array",
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
        taken.push(unsafe {
            (
                diff.kind,
                take_rows(&mut diff.pre),
                take_rows(&mut diff.post),
            )
        });
    }
    for diff in diffs.iter() {
        // SAFETY: schema pointers of this change are alive for the call (caller).
        unsafe {
            inbox.learn(&diff.pre)?;
            inbox.learn(&diff.post)?;
        }
    }
    let mut out = Vec::with_capacity(taken.len());
    for (index, (kind, pre, post)) in taken.into_iter().enumerate() {
        let diff = match kind {
            DIFF_INSERT => Diff::Insert {
                post: inbox.rows(post, "post")?,
            },
            DIFF_UPDATE => Diff::Update {
                pre: inbox.rows(pre, "pre")?,
                post: inbox.rows(post, "post")?,
            },
            DIFF_REMOVE => Diff::Remove {
                pre: inbox.rows(pre, "pre")?,
            },
            other => return Err(Error::msg(format!("diff {index} has unknown kind {other}"))),
        };
        out.push(diff);
    }
    Ok(Change {
        version: abi.version,
        changed_at: Timestamp(abi.changed_at),
        diffs: out,
    })
}

/// Takes a batch laid out by [`Outgoing::export_batch`].
///
/// # Safety
/// As for [`import_change`], for one `AbiRows`.
pub unsafe fn import_batch(rows: &mut AbiRows, inbox: &mut SchemaInbox) -> Result<RecordBatch> {
    // SAFETY: forwarded from the caller.
    let taken = unsafe { take_rows(rows) };
    // SAFETY: forwarded from the caller.
    unsafe { inbox.learn(rows)? };
    inbox.batch(taken)
}

/// Arrays moved out of an `AbiRows`; dropping them releases them on the exporter's side.
#[derive(Debug)]
struct TakenRows {
    schema_id: u64,
    columns: FFI_ArrowArray,
    row_numbers: FFI_ArrowArray,
}

/// # Safety
/// The arrays in `rows` must be valid C Data Interface arrays (or released ones).
unsafe fn take_rows(rows: &mut AbiRows) -> TakenRows {
    TakenRows {
        schema_id: rows.schema_id,
        // SAFETY: valid arrays (caller); `from_raw` leaves released arrays behind, so the
        // other side sees them as taken.
        columns: unsafe { FFI_ArrowArray::from_raw(&mut rows.columns) },
        // SAFETY: as above.
        row_numbers: unsafe { FFI_ArrowArray::from_raw(&mut rows.row_numbers) },
    }
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
        (Err(failure), _) => Err(Error::msg(format!(
            "an array does not match its type {data_type}: {}",
            failure.message
        ))),
        (Ok(()), None) => unreachable!("the guarded body always imports"),
    }
}

impl SchemaInbox {
    /// Caches the schema an `AbiRows` carries, if it carries one.
    ///
    /// # Safety
    /// `rows.schema` must be null or point to a valid `FFI_ArrowSchema`.
    unsafe fn learn(&mut self, rows: &AbiRows) -> Result<()> {
        if rows.schema.is_null() {
            return Ok(());
        }
        if rows.schema_id == 0 {
            return Err(Error::msg("a schema arrived with id 0"));
        }
        // SAFETY: non-null and valid (caller).
        let ffi = unsafe { &*rows.schema };
        let schema = Arc::new(
            Schema::try_from(ffi).map_err(|e| Error::msg(format!("unreadable schema: {e}")))?,
        );
        let data_type = DataType::Struct(schema.fields().clone());
        self.known.insert(rows.schema_id, (schema, data_type));
        Ok(())
    }

    fn batch(&self, taken: TakenRows) -> Result<RecordBatch> {
        let Some((schema, data_type)) = self.known.get(&taken.schema_id) else {
            return Err(Error::msg(format!(
                "batch refers to unknown schema id {}",
                taken.schema_id
            )));
        };
        if taken.columns.is_released() {
            return Err(Error::msg("batch has no columns array"));
        }
        let data = import_array(taken.columns, data_type)?;
        let columns = StructArray::from(data);
        let (_, arrays, nulls) = columns.into_parts();
        if nulls.is_some_and(|n| n.null_count() > 0) {
            return Err(Error::msg("a batch's struct array must not have null rows"));
        }
        Ok(RecordBatch::try_new(schema.clone(), arrays)?)
    }

    fn rows(&self, taken: TakenRows, side: &str) -> Result<Rows> {
        if taken.row_numbers.is_released() {
            return Err(Error::msg(format!(
                "the {side} rows of a diff have no row numbers"
            )));
        }
        let TakenRows {
            schema_id,
            columns,
            row_numbers,
        } = taken;
        let numbers = import_array(row_numbers, &DataType::UInt64)?;
        let batch = self.batch(TakenRows {
            schema_id,
            columns,
            row_numbers: FFI_ArrowArray::empty(),
        })?;
        Rows::new(UInt64Array::from(numbers), batch).map_err(|e| e.context(format!("{side} rows")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};

    fn rows(values: &[i64], first: u64) -> Rows {
        let batch = RecordBatch::try_from_iter([
            ("amount", Arc::new(Int64Array::from(values.to_vec())) as _),
            (
                "label",
                Arc::new(StringArray::from_iter_values(
                    values.iter().map(|v| format!("#{v}")),
                )) as _,
            ),
        ])
        .unwrap();
        Rows::new(
            (first..first + values.len() as u64).collect::<Vec<_>>(),
            batch,
        )
        .unwrap()
    }

    #[test]
    fn change_round_trips_zero_copy_and_schema_crosses_once() {
        let (mut outbox, mut inbox, mut out) = (
            SchemaOutbox::default(),
            SchemaInbox::default(),
            Outgoing::default(),
        );
        let change = Change::new(
            7,
            Timestamp(42),
            vec![
                Diff::Insert {
                    post: rows(&[1, 2, 3], 0),
                },
                Diff::Update {
                    pre: rows(&[4], 9),
                    post: rows(&[5], 9),
                },
                Diff::Remove {
                    pre: rows(&[6, 7], 20),
                },
            ],
        );
        let amount_ptr = match &change.diffs[0] {
            Diff::Insert { post } => post.batch().column(0).to_data().buffers()[0].as_ptr(),
            _ => unreachable!(),
        };
        let abi = out.export_change(change.clone(), &mut outbox).unwrap();
        assert!(
            !abi_diff(&abi, 0).post.schema.is_null(),
            "first batch carries its schema"
        );
        assert!(
            abi_diff(&abi, 2).pre.schema.is_null()
                || abi_diff(&abi, 2).pre.schema_id == abi_diff(&abi, 0).post.schema_id
        );
        // SAFETY: exported just above, arrays not taken yet.
        let back = unsafe { import_change(&abi, &mut inbox) }.unwrap();
        outbox.commit();
        assert_eq!(back, change);
        let back_ptr = match &back.diffs[0] {
            Diff::Insert { post } => post.batch().column(0).to_data().buffers()[0].as_ptr(),
            _ => unreachable!(),
        };
        assert_eq!(back_ptr, amount_ptr, "buffers must not be copied");
        assert_eq!(inbox.len(), 1);

        let abi = out.export_change(change.clone(), &mut outbox).unwrap();
        assert!(
            abi_diff(&abi, 0).post.schema.is_null(),
            "a known schema is not sent again"
        );
        // SAFETY: as above.
        assert_eq!(unsafe { import_change(&abi, &mut inbox) }.unwrap(), change);
    }

    fn abi_diff(abi: &AbiChange, i: usize) -> &AbiDiff {
        // SAFETY: tests only index diffs they exported.
        unsafe { &*abi.diffs.add(i) }
    }

    #[test]
    fn unknown_schema_id_is_an_error_and_releases_arrays() {
        let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
        let change = Change::new(
            1,
            Timestamp(0),
            vec![Diff::Insert {
                post: rows(&[1], 0),
            }],
        );
        let abi = out.export_change(change.clone(), &mut outbox).unwrap();
        outbox.commit();
        // SAFETY: exported above.
        unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap();
        // Second send omits the schema; a fresh inbox does not know it.
        let abi = out.export_change(change, &mut outbox).unwrap();
        // SAFETY: exported above.
        let err = unsafe { import_change(&abi, &mut SchemaInbox::default()) }.unwrap_err();
        assert_eq!(err.to_string(), "batch refers to unknown schema id 1");
        assert!(
            abi_diff(&abi, 0).post.columns.is_released(),
            "arrays were taken and released"
        );
    }

    #[test]
    fn rolled_back_schema_is_sent_again() {
        let (mut outbox, mut out) = (SchemaOutbox::default(), Outgoing::default());
        let change = Change::new(
            1,
            Timestamp(0),
            vec![Diff::Insert {
                post: rows(&[1], 0),
            }],
        );
        let abi = out.export_change(change.clone(), &mut outbox).unwrap();
        assert!(!abi_diff(&abi, 0).post.schema.is_null());
        outbox.rollback();
        let abi = out.export_change(change, &mut outbox).unwrap();
        assert!(!abi_diff(&abi, 0).post.schema.is_null());
    }

    #[test]
    fn array_whose_shape_disagrees_with_its_schema_is_an_error_not_a_panic() {
        let (mut inbox, mut out) = (SchemaInbox::default(), Outgoing::default());
        let two_columns = rows(&[1], 0).batch().clone();
        let mut abi = out
            .export_batch(two_columns, &mut SchemaOutbox::default())
            .unwrap();
        // SAFETY: exported above.
        unsafe { import_batch(&mut abi, &mut inbox) }.unwrap();
        // A one-column batch claiming the two-column schema's id.
        let one_column = first_column_only(rows(&[2], 0).batch());
        let mut abi = out
            .export_batch(one_column, &mut SchemaOutbox::default())
            .unwrap();
        abi.schema = std::ptr::null();
        // SAFETY: exported above; the schema id is wrong on purpose, the arrays are valid.
        let err = unsafe { import_batch(&mut abi, &mut inbox) }.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("an array does not match its type Struct(")
                && err.to_string().contains("left: 2")
                && err.to_string().contains("right: 1"),
            "{err}"
        );
    }

    fn first_column_only(batch: &RecordBatch) -> RecordBatch {
        batch.project(&[0]).unwrap()
    }

    #[test]
    fn batch_round_trips() {
        let (mut outbox, mut inbox, mut out) = (
            SchemaOutbox::default(),
            SchemaInbox::default(),
            Outgoing::default(),
        );
        let batch = rows(&[3, 4], 0).batch().clone();
        let mut abi = out.export_batch(batch.clone(), &mut outbox).unwrap();
        // SAFETY: exported above.
        let back = unsafe { import_batch(&mut abi, &mut inbox) }.unwrap();
        assert_eq!(back, batch);
    }
}
