//! # oplink
//!
//! Write native dataflow-operator plugins in plain Rust. Annotate an ordinary `impl` block
//! with [`operator`] and build the crate as a `cdylib`; a host loads it with `oplink-host`
//! (or runs it with the `oplink` command). The repository's README has the whole guide;
//! this page is its summary.
//!
//! ```
//! use oplink::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)] // a misspelled key is an error, not ignored
//! struct Config { column: String, min: i64 }
//!
//! struct Threshold { cfg: Config }
//!
//! /// Keeps the rows whose `column` is at least `min`.
//! ///
//! /// (The first paragraph of the doc comment on the `impl` is the operator's description.)
//! #[oplink::operator(name = "threshold", version = "1.0.0")]
//! impl Threshold {
//!     fn new(cfg: Config) -> Result<Self> {
//!         Ok(Self { cfg })
//!     }
//!
//!     fn apply(&mut self, _ctx: &mut Context, change: Change) -> Result<Change> {
//!         // Every diff: an insert keeps its passing rows, a remove its passing old rows,
//!         // an update is split so that downstream sees a consistent filtered view.
//!         change.filter(|rows| {
//!             let column = rows.batch().column_by_name(&self.cfg.column)
//!                 .ok_or_else(|| Error::msg(format!("no column `{}`", self.cfg.column)))?;
//!             let values = column.as_any().downcast_ref::<Int64Array>()
//!                 .ok_or_else(|| Error::msg("expected an Int64 column"))?;
//!             Ok(values.iter().map(|v| Some(v.is_some_and(|v| v >= self.cfg.min))).collect())
//!         })
//!     }
//! }
//!
//! # fn main() -> Result<()> {
//! // The impl stays an ordinary impl: a unit test calls its methods directly.
//! let mut op = Threshold::new(Config { column: "amount".into(), min: 10 })?;
//! let amounts: ArrayRef = std::sync::Arc::new(Int64Array::from(vec![5, 50]));
//! let batch = RecordBatch::try_from_iter([("amount", amounts)])?;
//! let post = Rows::new(vec![7, 8], batch)?;
//! let input = Change::new(1, Timestamp(0), vec![Diff::Insert { post }]);
//! let output = op.apply(&mut Context::new("threshold"), input)?;
//! let [Diff::Insert { post }] = &output.diffs[..] else { panic!("one insert") };
//! assert_eq!(post.row_numbers().values(), &[8]); // 50 passes, 5 does not
//! # Ok(())
//! # }
//! ```
//!
//! Build the crate as a `cdylib` and the `threshold` operator is loadable: see `oplink-host`
//! for hosts, and the repository's README for the whole guide (the typed view, services,
//! state, the command line, C operators) and `docs/abi.md` for the ABI.
//!
//! ## The methods of an operator
//!
//! | method | required | default when absent |
//! |---|---|---|
//! | `fn new(config: C) -> Result<Self>` (or `fn new()`) | yes | — |
//! | `fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change>` (or `change: ChangeView` → `Result<ChangeOut>` or `Result<Change>`: [`view`]) | yes | — |
//! | `fn pull(&mut self, ctx: &mut Context, rows: &[RowNumber]) -> Result<RecordBatch>` | no | an error saying the operator has no `pull` |
//! | `fn tick(&mut self, ctx: &mut Context, now: Timestamp) -> Result<Option<Change>>` | no | `Ok(None)` |
//! | `fn flush_state(&mut self, ctx: &mut Context) -> Result<()>` | no | `Ok(())` |
//! | `fn snapshot(&self, ctx: &mut Context) -> Result<Vec<u8>>` | no | an empty snapshot |
//! | `fn restore(&mut self, ctx: &mut Context, snapshot: &[u8]) -> Result<()>` | no | accepts only an empty snapshot |
//!
//! `ctx` may be left out of any method that takes it; `apply`, `pull`, `tick` and
//! `snapshot` may take `&self`. `C` is any `serde::Deserialize` type. Any other method
//! belongs in a separate `impl`; a mistake in these signatures is a compile error naming
//! the method and the form it takes.
//!
//! ## Changes
//!
//! A [`Change`] holds [`Diff`]s (insert, update, remove) of [`Rows`]: a `RecordBatch` and
//! one row number per row, which a row keeps for its whole life. [`Change::filter`] drops
//! rows, [`Change::map`] adds, computes or drops columns, both keeping every row's number
//! and diff. [`Change::validate`] checks arrays from a producer you do not trust in full.
//!
//! ## State and services
//!
//! [`Context::state`] is a key-value store the host keeps: writes are pending until the
//! host's `flush_state`, after the operator's own. A snapshot holds what `snapshot`
//! returns, not the store: keep each piece of state in one place, or have `snapshot`
//! carry both. Host services are traits declared with [`host_callbacks`] and listed in
//! `requires`; [`services`] holds the standard ones (log, state, clock), and log events
//! from [`tracing`] reach the host.

#![warn(missing_docs)]

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
mod show;
pub mod trampoline;
mod vocabulary;

pub use context::{BorrowedOnly, Context, MemoryState, StderrLog, SystemClock};
pub use data::{Change, Diff, RowNumber, Rows, Timestamp};
pub use error::{Error, Result};
pub use logging::{LogGuard, LogHandle};
pub use runtime::read_config;

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
    /// The native type of a `Float16` column (`primitive::<Float16Type>()`'s values), as
    /// arrow-rs uses it.
    pub use half::f16;
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

    /// Whether two names are the same, at compile time (for the check that two services an
    /// operator requires do not share one).
    pub const fn same_name(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

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

    /// Whether `name` follows the rule of operator names, which hosts check at load: 1 to
    /// 64 ASCII letters, digits, `_`, `-` or `.`, starting with a letter (the macros check
    /// the same rule in their own crate).
    pub fn is_operator_name(name: &str) -> bool {
        name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    }

    /// `1st`, `2nd`, `3rd`, `4th`, … `11th`, … `21st` (for oplink's messages, in every crate
    /// of the workspace).
    pub fn ordinal(n: usize) -> String {
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        format!("{n}{suffix}")
    }

    #[cfg(test)]
    #[test]
    fn ordinals_are_english() {
        let said: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .map(ordinal)
            .into();
        assert_eq!(
            said,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }
}
