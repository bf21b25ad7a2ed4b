//! `apply` may take the typed borrowed view, `ChangeView`, and return a `ChangeOut` (its
//! input forwarded, or a change it built) or a plain `Change`.

use oplink::prelude::*;
use oplink::view::{ChangeOut, ChangeView};

struct Forward;

#[oplink::operator(name = "forward", version = "1.0.0")]
impl Forward {
    fn new() -> Result<Self> {
        Ok(Forward)
    }

    fn apply(&mut self, ctx: &mut Context, change: ChangeView) -> Result<ChangeOut> {
        let _ = ctx;
        for rows in change.rows() {
            rows.column(0)?.i64s()?;
        }
        Ok(change.forward())
    }
}

/// Reads its input in place and emits nothing.
struct Drain;

#[oplink::operator(name = "drain", version = "1.0.0")]
impl Drain {
    fn new() -> Result<Self> {
        Ok(Drain)
    }

    fn apply(&self, change: ChangeView) -> Result<Change> {
        let rows: usize = change.rows().map(|rows| rows.num_rows()).sum();
        oplink::tracing::debug!(rows, "drained");
        Ok(Change::new(change.version(), change.changed_at(), vec![]))
    }
}

fn main() {}
