//! # oplink-cli
//!
//! The `oplink` command line, built on the public API of [`oplink_host`]:
//!
//! * `oplink inspect PATH` prints what a plugin library (or every library of a folder)
//!   declares, as a table or as JSON;
//! * `oplink check PATH...` validates libraries against this host in a child process;
//! * `oplink run DATA --op NAME=CONFIG ...` feeds a data file (CSV, JSON lines, Arrow IPC,
//!   Parquet) through a chain of operators and writes the result;
//! * `oplink new NAME` starts a plugin crate (or, with `--lang c`, a C operator).
//!
//! The binary is a thin shell over this library: each subcommand is a module with a
//! function taking its parsed arguments, so benchmarks and tests can drive a pipeline
//! without a child process.

pub mod args;
pub mod check;
pub mod error;
pub mod input;
pub mod inspect;
pub mod lookup;
pub mod new;
pub mod output;
pub mod plugins;
pub mod run;

pub use error::{CliError, Result};
