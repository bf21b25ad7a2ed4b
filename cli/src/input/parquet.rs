//! Opening a Parquet file: its first and last bytes checked, then its reader, which reads
//! the footer at the file's end first.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use oplink::arrow::array::RecordBatchReader;
use oplink::arrow::schema::Schema;

use crate::error::Result;

use super::messages::arrow_words;
use super::sniff::parquet_magic;
use super::{Opened, Progress, unplaced};

/// Opens the Parquet file `path` (`file`) to read batches of `batch_size` rows, its
/// progress counted in rows, of the total its footer gives.
pub(super) fn open_parquet(path: &Path, file: File, batch_size: usize) -> Result<Opened> {
    let data = |reason: String| unplaced(path, reason);
    parquet_magic(&file).map_err(data)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| data(arrow_words(&e.to_string())))?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    // The builder's schema has the file schema's metadata; the reader's, and its batches',
    // do not.
    let file_schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(batch_size)
        .build()
        .map_err(|e| data(arrow_words(&e.to_string())))?;
    let reader_schema = Arc::new(Schema::new_with_metadata(
        reader.schema().fields().clone(),
        file_schema.metadata().clone(),
    ));
    // Give the batches that metadata, so that the output keeps it.
    let schema = reader_schema.clone();
    let batches = reader.map(move |batch| match batch {
        Ok(batch) if batch.schema_ref().metadata() != schema.metadata() => {
            let fields = batch.schema_ref().fields().clone();
            let with = Schema::new_with_metadata(fields, schema.metadata().clone());
            batch.with_schema(Arc::new(with))
        }
        other => other,
    });
    Ok(Opened {
        schema: reader_schema,
        progress: Progress::Rows(rows),
        batches: Box::new(batches),
        warning: None,
        left_out: Vec::new(),
        quotes: None,
    })
}
