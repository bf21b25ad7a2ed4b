//! Opening a Parquet file: its first and last bytes checked, then its reader, which reads
//! the footer at the file's end first.

use std::fs::File;
use std::path::Path;

use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use oplink::arrow::array::RecordBatchReader;

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
    let reader = builder
        .with_batch_size(batch_size)
        .build()
        .map_err(|e| data(arrow_words(&e.to_string())))?;
    Ok(Opened {
        schema: reader.schema(),
        progress: Progress::Rows(rows),
        batches: Box::new(reader),
        warning: None,
        left_out: Vec::new(),
        quotes: None,
    })
}
