//! # oplink-host
//!
//! Load oplink operator plugins, validate them, and run their operators behind safe handles.
//! A panic or an error in a plugin is an `Err` here, never a crash; a bad library is a typed
//! [`Error`] with one readable sentence.
//!
//! ```no_run
//! use oplink_host::{Host, Plugin};
//! use serde_json::json;
//!
//! let plugin = Plugin::load("target/debug/libthreshold.so")?;
//! let host = Host::builder().build();
//! let mut op = plugin.instantiate("threshold", json!({"column": "amount", "min": 10}), &host)?;
//! # let input = oplink::Change::default();
//! let output = op.apply(input)?;
//! # Ok::<(), oplink_host::Error>(())
//! ```

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
