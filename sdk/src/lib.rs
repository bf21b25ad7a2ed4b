//! # oplink
//!
//! Write native dataflow-operator plugins in plain Rust. Annotate an ordinary `impl` block
//! with [`operator`] and build the crate as a `cdylib`; a host loads it with `oplink-host`.
//!
//! ```
//! use oplink::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Config { column: String, min: i64 }
//!
//! /// Keeps the rows whose `column` is at least `min`.
//! struct Threshold { cfg: Config }
//!
//! #[oplink::operator(name = "threshold", version = "1.0.0")]
//! impl Threshold {
//!     fn new(cfg: Config) -> Result<Self> {
//!         Ok(Self { cfg })
//!     }
//!
//!     fn apply(&mut self, _ctx: &mut Context, change: Change) -> Result<Change> {
//!         let mut out = change.empty_like();
//!         for diff in change.diffs {
//!             if let Diff::Insert { post } = diff {
//!                 let column = post.batch().column_by_name(&self.cfg.column)
//!                     .ok_or_else(|| Error::msg(format!("no column `{}`", self.cfg.column)))?;
//!                 let values = column.as_any().downcast_ref::<Int64Array>()
//!                     .ok_or_else(|| Error::msg("expected an Int64 column"))?;
//!                 let keep: BooleanArray = values.iter().map(|v| v.map(|v| v >= self.cfg.min)).collect();
//!                 out.diffs.push(Diff::Insert { post: post.filter(&keep)? });
//!             }
//!         }
//!         Ok(out)
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! The impl stays an ordinary impl: `Threshold::new` and `Threshold::apply` can be called
//! directly in unit tests, with a [`Context::new`].

pub mod abi;
pub mod bounds;
mod context;
mod data;
mod error;
pub mod exchange;
mod logging;
mod runtime;
pub mod service;
pub mod services;
pub mod trampoline;
mod vocabulary;

pub use context::{Context, MemoryState, StderrLog, SystemClock};
pub use data::{Change, Diff, RowNumber, Rows, Timestamp};
pub use error::{Error, Result};

/// The typed borrowed view: read a change in place, without building arrow-rs arrays.
pub use exchange::view;
pub use oplink_macros::{host_callbacks, operator};

/// `tracing`, re-exported so that plugins log through the same version the SDK forwards:
/// `oplink::tracing::info!(rows = 3, "kept")` reaches the host's subscriber.
pub use ::tracing;

/// The Arrow crates oplink is built on, re-exported so plugins use the same versions.
pub mod arrow {
    pub use arrow_array as array;
    pub use arrow_buffer as buffer;
    pub use arrow_data as data;
    pub use arrow_schema as schema;
    pub use arrow_select as select;
}

/// What an operator's code usually needs, in one `use`.
pub mod prelude {
    pub use crate::arrow::array::{
        Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
        UInt64Array,
    };
    pub use crate::arrow::schema::{DataType, Field, Schema, SchemaRef};
    pub use crate::{Change, Context, Diff, Error, Result, RowNumber, Rows, Timestamp, bail};
}

/// Not public API: what the macros' expansions name. May change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::abi;
    pub use crate::arrow::array::RecordBatch;
    pub use crate::runtime::*;
    pub use crate::service::*;
    pub use crate::services::{Clock, Log, State};
    pub use crate::view::{ChangeOut, ChangeView};
    pub use crate::{Change, Context, Error, Result, RowNumber, Timestamp};
    pub use ::linkme;

    /// `n` with its noun in words: "1 row", "3 rows" (for oplink's messages, in every
    /// crate of the workspace).
    pub fn counted(n: impl std::fmt::Display, one: &str, many: &str) -> String {
        let n = n.to_string();
        if n == "1" {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    }
}
