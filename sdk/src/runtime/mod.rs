//! What `#[oplink::operator]` expands to calls into: the bridge trait, the generic thunks,
//! the descriptor constructor, the registry of operators and the library's entry symbol.
//! Reached through [`crate::__private`]; not public API.

mod attach;
mod config;
mod entry;
mod registry;
mod thunks;

pub use crate::bounds::{OperatorConfig, OperatorError, TheOperator};
pub use attach::{NOT_A_SERVICE, NOT_A_SERVICE_ABI, Requirement, requirement};
pub use config::NoConfig;
pub(crate) use config::parse as parse_config;
pub use config::read_config;
pub use entry::oplink_plugin_v2;
pub(crate) use registry::declared_services;
pub use registry::{
    OPERATORS, PLACEHOLDER_DESCRIPTOR, PLACEHOLDER_VTABLE, Registration, descriptor, vtable,
};

use arrow_array::RecordBatch;

use crate::view::{ChangeOut, ChangeView};
use crate::{Change, Context, Error, Result, RowNumber, Timestamp};

/// Why [`OperatorImpl::__new`] made no operator.
#[derive(Debug)]
pub enum NewFailure {
    /// The configuration did not parse: the host's input.
    Config(Error),
    /// `new` returned an error.
    New(Error),
}

/// The bridge from an operator's inherent methods to the thunks. Implemented by the
/// `#[operator]` expansion only; the provided methods are the defaults of absent methods.
pub trait OperatorImpl: Sized + Send + 'static {
    /// The operator's name.
    const NAME: &'static str;
    /// The host services the operator declared in `requires = [..]`.
    const REQUIRES: &'static [Requirement] = &[];

    /// Reads the configuration `new` takes from its JSON (none when it takes none), and
    /// calls `new`. (The configuration's type is not named here: it may be private to the
    /// operator's crate.)
    fn __new(config: &[u8]) -> core::result::Result<Self, NewFailure>;
    /// Whether `apply` takes a [`ChangeView`] (the thunk then reads the change in place and
    /// calls [`OperatorImpl::__apply_view`]).
    const VIEW: bool = false;

    /// Calls `apply` (through a view laid out from `change`, for a view operator).
    fn __apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change>;
    /// Calls an `apply` that takes a [`ChangeView`]; by default, through `__apply`.
    fn __apply_view(&mut self, ctx: &mut Context, change: ChangeView) -> Result<ChangeOut> {
        Ok(self.__apply(ctx, change.into_change()?)?.into())
    }
    /// Calls `pull`; by default, an error saying the operator has none.
    fn __pull(&mut self, _ctx: &mut Context, _rows: &[RowNumber]) -> Result<RecordBatch> {
        // The host names the operator and the method: said once, there.
        Err(Error::unlocated("it does not implement `pull`"))
    }
    /// Calls `tick`; by default, nothing happens.
    fn __tick(&mut self, _ctx: &mut Context, _now: Timestamp) -> Result<Option<Change>> {
        Ok(None)
    }
    /// Calls `flush_state`; by default, nothing to flush.
    fn __flush_state(&mut self, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }
    /// Calls `snapshot`; by default, an empty snapshot (a stateless operator).
    fn __snapshot(&mut self, _ctx: &mut Context) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
    /// Calls `restore`; by default, accepts only the empty snapshot.
    fn __restore(&mut self, _ctx: &mut Context, snapshot: &[u8]) -> Result<()> {
        if snapshot.is_empty() {
            return Ok(());
        }
        Err(Error::unlocated(format!(
            "it does not implement `restore`, so it cannot accept a snapshot of {}",
            crate::__private::counted(snapshot.len(), "byte", "bytes")
        )))
    }
}
