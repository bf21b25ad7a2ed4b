//! Builds the example plugins (once per test binary) and finds their libraries.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use oplink::{Change, Diff, Rows, Timestamp};

/// The example plugin crates the tests load.
const PLUGINS: [&str; 5] = ["threshold", "running-sum", "toolkit", "faulty", "enrich"];

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// Builds the example cdylibs with the cargo running these tests, in the same target folder
/// and profile (debug), and returns the folder holding them.
pub fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(workspace()).args(["build", "--quiet"]);
        for plugin in PLUGINS {
            cmd.args(["-p", plugin]);
        }
        let status = cmd
            .status()
            .expect("run cargo to build the example plugins");
        assert!(status.success(), "building the example plugins failed");
        target_dir().join("debug")
    })
}

/// Path of the library of crate `name` (`running-sum` -> `librunning_sum.so`).
pub fn plugin_path(name: &str) -> PathBuf {
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    plugin_dir().join(file)
}

/// A batch with an `amount` Int64 column and a `customer` Utf8 column.
pub fn batch(amounts: &[i64], customers: &[&str]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "amount",
            Arc::new(Int64Array::from(amounts.to_vec())) as ArrayRef,
        ),
        (
            "customer",
            Arc::new(StringArray::from(customers.to_vec())) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// Rows numbered from `first`.
pub fn rows(amounts: &[i64], customers: &[&str], first: u64) -> Rows {
    Rows::new(
        (first..first + amounts.len() as u64).collect::<Vec<_>>(),
        batch(amounts, customers),
    )
    .unwrap()
}

/// A change inserting `amounts`.
pub fn insert(version: u64, amounts: &[i64]) -> Change {
    let customers: Vec<&str> = amounts.iter().map(|_| "c").collect();
    Change::new(
        version,
        Timestamp(1_000),
        vec![Diff::Insert {
            post: rows(amounts, &customers, 0),
        }],
    )
}
