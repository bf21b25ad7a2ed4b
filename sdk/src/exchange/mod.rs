//! Moving changes and batches across the boundary through the Arrow C Data Interface,
//! zero-copy for every buffer worth sharing.
//!
//! Both sides use the same code: the host to send inputs and receive outputs, the plugin the
//! other way round, and service calls that pass a `RecordBatch`. Each instance keeps, per
//! direction, a [`SchemaOutbox`] on the sending side and a [`SchemaInbox`] on the receiving
//! side (see [`schema`]). The exporter lays a change's arrays out in one block that keeps the
//! change's Rust values alive, copying nothing (the `export` module's notes). The importer
//! shares one owner per batch among the buffers it builds, so the exporter's release runs
//! when the last of them is dropped (`import`'s notes), except that a buffer of at most
//! 256 bytes of the common types is copied into a block the inbox reuses, while the
//! change's block has room, which costs less than sharing it (`small`'s notes); a batch
//! whose buffers were all copied (none imported by arrow-rs) is released as soon as it is
//! read. `docs/abi.md` describes both.

/// How deep a schema that crosses may nest: its columns are at depth 1, a list's items or a
/// struct's fields one deeper than the list or struct. Schemas and arrays are read and laid
/// out by recursion (arrow-rs's and oplink's own), so this bounds the stack a crossing
/// takes: sixteen levels fit a 2 MiB thread with room to spare in a debug build (where
/// frames are largest), and real data nests far less. The sender refuses a deeper schema
/// before laying anything out; the receiver refuses one a sender of its own sent.
pub const MAX_SCHEMA_DEPTH: usize = 16;

/// How an error names the type of a primitive arrow-rs type read or built (its
/// `DATA_TYPE`): as arrow-rs displays it, but a decimal without the precision and scale
/// `DATA_TYPE` carries (`Decimal128Type`'s is `Decimal128(38, 10)`), since a column of any
/// precision and scale fits it.
#[cold]
pub(crate) fn primitive_type_name(data_type: &arrow_schema::DataType) -> String {
    use arrow_schema::DataType;
    match data_type {
        DataType::Decimal32(..) => "Decimal32".to_owned(),
        DataType::Decimal64(..) => "Decimal64".to_owned(),
        DataType::Decimal128(..) => "Decimal128".to_owned(),
        DataType::Decimal256(..) => "Decimal256".to_owned(),
        other => other.to_string(),
    }
}

mod built;
mod export;
mod import;
mod raw;
pub mod schema;
mod small;
pub mod view;

pub use export::{Outgoing, export_batch};
pub(crate) use import::same_numbers;
pub use import::{import_answer, import_batch, import_change, import_standalone_batch};
pub use schema::{SchemaInbox, SchemaOutbox};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod conformance;

#[cfg(test)]
mod generate;

#[cfg(test)]
mod view_tests;

#[cfg(test)]
mod built_tests;
