//! What every test of the binary uses: running it, and reading what it wrote.

use assert_cmd::Command;

use crate::common::{plugin_path, workspace};

/// The `oplink` binary, run from the workspace.
pub(crate) fn oplink() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oplink"));
    cmd.current_dir(workspace())
        .env_remove("OPLINK_PLUGIN_PATH");
    cmd
}

/// `--plugins` arguments naming the libraries of these example crates.
pub(crate) fn plugins(crates: &[&str]) -> Vec<String> {
    crates
        .iter()
        .flat_map(|c| ["--plugins".to_owned(), plugin_path(c).display().to_string()])
        .collect()
}

pub(crate) fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What a command that fails with status 1 writes to standard error.
pub(crate) fn failure(cmd: &mut Command) -> String {
    stderr(&cmd.assert().failure().code(1).get_output().clone())
}

/// Runs `cmd`, expecting it to fail with status 1 and exactly one line on stderr:
/// `oplink: {message}`.
pub(crate) fn fails_with(cmd: &mut Command, message: &str) {
    let output = cmd.assert().failure().code(1).get_output().clone();
    assert_eq!(stderr(&output), format!("oplink: {message}\n"));
}

/// `oplink run --quiet --to csv --emit inserts FILE`, which must succeed: what it printed.
pub(crate) fn inserts_csv(path: &std::path::Path) -> std::process::Output {
    oplink()
        .args(["run", "--quiet", "--to", "csv", "--emit", "inserts"])
        .arg(path)
        .assert()
        .success()
        .get_output()
        .clone()
}

pub(crate) const ORDERS: &str = "examples/data/orders.csv";
pub(crate) const THRESHOLD: &str = r#"threshold={"column": "amount", "min": 10}"#;
