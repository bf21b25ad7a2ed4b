//! Opening an Arrow IPC file or stream (Feather version 2 is an Arrow IPC file): which of
//! the two it is, told by its first bytes, and its reader, its batches cut to the batch size.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use oplink::arrow::array::RecordBatch;
use oplink::arrow::schema::ArrowError;

use crate::error::{CliError, Result};

use super::file::Counting;
use super::messages::arrow_words;
use super::{Batches, Opened, Progress, contained, unplaced};

/// Opens the Arrow IPC file or stream `path` (`file`, of `size` bytes) to read batches of at
/// most `batch_size` rows; a stream that ends without its end-of-stream marker gives a
/// warning, and a Feather version 1 file an error saying how to write it again.
pub(super) fn open_ipc(
    path: &Path,
    mut file: File,
    size: u64,
    batch_size: usize,
) -> Result<Opened> {
    let data = |reason: String| unplaced(path, reason);
    let read = Arc::new(AtomicU64::new(0));
    let mut magic = [0u8; 6];
    let is_file = file.read_exact(&mut magic).is_ok() && &magic == b"ARROW1";
    if magic.starts_with(b"FEA1") {
        return Err(data(
            "it is a Feather version 1 file, which arrow-rs does not read: write it again as Feather version 2, the default since pyarrow 0.17 (`pyarrow.feather.write_feather(table, path)`)".to_owned(),
        ));
    }
    file.rewind().map_err(|e| CliError::io("read", path, e))?;
    let warning = crate::ipc_sizes::check(&file, is_file).map_err(data)?;
    let (schema, progress, batches): (_, _, Batches) = if is_file {
        let reader = contained(|| arrow_ipc::reader::FileReader::try_new(file, None))
            .map_err(data)?
            .map_err(|e| data(arrow_words(&e.to_string())))?;
        (
            reader.schema(),
            Progress::Bytes(read, 0),
            Box::new(sliced(reader, batch_size)),
        )
    } else {
        let reader = arrow_ipc::reader::StreamReader::try_new(
            BufReader::new(Counting {
                inner: file,
                read: read.clone(),
                quotes: None,
            }),
            None,
        )
        .map_err(|e| data(arrow_words(&e.to_string())))?;
        (
            reader.schema(),
            Progress::Bytes(read, size),
            Box::new(sliced(reader, batch_size)),
        )
    };
    Ok(Opened {
        schema,
        progress,
        batches,
        warning,
        left_out: Vec::new(),
        quotes: None,
    })
}

/// The batches of `batches` cut into slices of at most `rows` rows (an Arrow IPC file's
/// batches are as its writer made them; slices share their buffers, nothing is copied).
fn sliced(
    batches: impl Iterator<Item = std::result::Result<RecordBatch, ArrowError>>,
    rows: usize,
) -> impl Iterator<Item = std::result::Result<RecordBatch, ArrowError>> {
    batches.flat_map(move |batch| {
        let pieces: Vec<_> = match batch {
            Ok(batch) if batch.num_rows() > rows => (0..batch.num_rows())
                .step_by(rows)
                .map(|start| Ok(batch.slice(start, rows.min(batch.num_rows() - start))))
                .collect(),
            other => vec![other],
        };
        pieces
    })
}
