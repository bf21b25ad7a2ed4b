//! # oplink-host
//!
//! Load oplink operator plugins, validate them, and run their operators behind safe handles.
//! A panic or an error in a plugin is an `Err` here, never a crash; a bad library is a typed
//! [`Error`] with one readable sentence.
//!
//! ```no_run
//! use oplink_host::oplink::{Change, Diff, Rows, Timestamp};
//! use oplink_host::oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch};
//! use oplink_host::{Host, Plugin};
//! use serde_json::json;
//!
//! let plugin = Plugin::load("target/debug/libthreshold.so")?;
//! let host = Host::builder().build();
//! let mut op = plugin.instantiate("threshold", json!({"column": "amount", "min": 10}), &host)?;
//!
//! let amounts: ArrayRef = std::sync::Arc::new(Int64Array::from(vec![5, 50]));
//! let post = Rows::new(vec![0, 1], RecordBatch::try_from_iter([("amount", amounts)])?)?;
//! let output = op.apply(Change::new(1, Timestamp::now(), vec![Diff::Insert { post }]))?;
//! op.flush_state()?;
//! # let _ = output;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Where to go next
//!
//! - [`Plugin`]: load a library ([`Plugin::load`], [`Plugin::load_checked`] in a child
//!   process first, [`Plugin::load_fresh`] for a new build), list its operators, create
//!   instances ([`Plugin::instantiate`], [`Plugin::instantiate_named`] for state kept in the
//!   host's [`StateStore`]).
//! - [`Instance`]: `apply`, `pull`, `tick`, `flush_state`, `snapshot` and `restore`; a panic
//!   poisons it ([`Error::Poisoned`]).
//! - [`Host`] and [`HostBuilder`]: the services operators may call, the standard ones and
//!   those given to [`HostBuilder::provide`], and where named state is kept.
//! - [`LiveInstance`] and [`reload_all`]: an instance shared between threads, reloaded from a
//!   new build without losing its state, recovered after a panic.
//! - [`Discovery`]: every plugin in a list of folders (`OPLINK_PLUGIN_PATH`).
//!
//! The repository's README has the host guide (what each check of a load refuses, state,
//! reloads, services, trust and costs) and `docs/abi.md` the ABI; the SDK is re-exported as
//! [`oplink`].

#![warn(missing_docs)]

mod discover;
mod error;
mod host;
mod instance;
mod live;
#[doc(hidden)]
pub mod load;
mod logging;
mod plugin;
mod state;

pub use discover::{Discovery, Entry, Found, Outcome, PLUGIN_PATH_VAR};
pub use error::{Error, Result};
pub use host::{Host, HostBuilder};
pub use instance::Instance;
pub use live::{DEFAULT_MAX_GENERATIONS, LiveInstance, reload_all};
pub use plugin::{BuildInfo, Implemented, OperatorInfo, Plugin, RequiredMethod, RequiredService};
pub use state::{HostEntry, StateStore};

/// The release series of oplink this host belongs to, for messages ("rebuild it against
/// oplink 0.2").
pub(crate) const OPLINK_SERIES: &str = {
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    let mut dots = 0;
    let mut end = 0;
    while end < version.len() {
        if version[end] == b'.' {
            dots += 1;
            if dots == 2 {
                break;
            }
        }
        end += 1;
    }
    match std::str::from_utf8(version.split_at(end).0) {
        Ok(series) => series,
        Err(_) => env!("CARGO_PKG_VERSION"),
    }
};

/// The SDK the host shares with its plugins (data model, ABI).
pub use oplink;

/// Compiles and runs the code blocks of the README, so the guides stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
