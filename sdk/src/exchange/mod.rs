//! Moving changes and batches across the boundary through the Arrow C Data Interface,
//! zero-copy.
//!
//! Both sides use the same code: the host to send inputs and receive outputs, the plugin the
//! other way round, and service calls that pass a `RecordBatch`. Each instance keeps, per
//! direction, a [`SchemaOutbox`] on the sending side and a [`SchemaInbox`] on the receiving
//! side (see [`schema`]). Buffers are never copied: the exporter lays a change's arrays out in
//! one block that keeps the change's Rust values alive (the `export` module's notes), and the importer
//! shares one owner per batch among the buffers it builds, so the exporter's release runs
//! when the last of them is dropped (`import`'s notes). `docs/abi.md` describes both.

mod export;
mod import;
mod raw;
pub mod schema;
pub mod view;

pub use export::{Outgoing, export_batch};
pub(crate) use import::same_numbers;
pub use import::{import_batch, import_change, import_standalone_batch};
pub use schema::{SchemaInbox, SchemaOutbox};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod conformance;

#[cfg(test)]
mod view_tests;
