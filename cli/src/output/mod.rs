//! Writing a run's result (a table, CSV, TSV, JSON lines, Arrow IPC, Parquet, or nothing) with
//! arrow-rs's writers and pretty printer: to standard output, or to a file written under a
//! temporary name and renamed when complete.
//!
//! * `format`: which format is written (`--to`, else `--output`'s extension) and its name;
//! * `sink`: [`Sink`], writing the batches in that format;
//! * `table`: the table printed in parts, its cells cut short and escaped;
//! * `columns`: what the formats need of the columns (checks, seconds for Parquet, NaN for
//!   JSON);
//! * `destination`: where the output goes, and a file written under a `.partial` name and
//!   put in place;
//! * `errors`: the writers' errors, worded.

use std::io::Write;

mod columns;
mod destination;
mod errors;
mod format;
mod sink;
mod table;

pub use destination::{Destination, Written};
pub(crate) use destination::{folder_of, put_in_place, sync_folder_of, written_path};
pub(crate) use format::compressed_extension;
pub use format::{extension_disagrees, format_name, output_format};
pub use sink::Sink;
pub(crate) use sink::same_but_nullability;
pub use table::TABLE_PART_ROWS;

/// What the output is written to.
type Writer = Box<dyn Write + Send>;
