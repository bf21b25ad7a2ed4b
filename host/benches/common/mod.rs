//! Builds example plugins in release mode (once per benchmark binary) and loads them.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use oplink_host::Plugin;

#[path = "../../tests/common/folders.rs"]
mod folders;
pub use folders::{target_dir, workspace};

/// Loads the library `name` after building the example crates `crates` in release mode
/// with the cargo running the benchmark (only the first call builds).
#[allow(dead_code)]
pub fn release_plugin(crates: &[&str], name: &str) -> Plugin {
    Plugin::load(release_path(crates, name)).expect("load plugin")
}

/// The path of library `name` after building the example crates `crates` in release mode
/// (only the first call builds).
pub fn release_path(crates: &[&str], name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(workspace())
            .args(["build", "--quiet", "--release", "--target-dir"])
            .arg(target_dir());
        for krate in crates {
            cmd.args(["-p", krate]);
        }
        let status = cmd.status().expect("run cargo");
        assert!(status.success(), "building the example plugins failed");
        target_dir().join("release")
    });
    let file = format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    dir.join(file)
}
