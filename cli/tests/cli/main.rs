//! The `oplink` binary, run as a user runs it: every subcommand, every input and output
//! format, and every error a person can meet, against the real example plugins.

#[path = "../../../host/tests/common/mod.rs"]
mod common;

mod check;
mod helpers;
mod inspect;
mod logs;
mod new;
mod run_changelog;
mod run_csv;
mod run_input;
mod run_json;
mod run_operators;
mod run_output;
mod state;
mod state_recovery;
mod usage;
