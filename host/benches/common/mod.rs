//! Builds example plugins in release mode (once per benchmark binary) and loads them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use oplink_host::Plugin;

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
        cmd.current_dir(workspace_root())
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

/// The workspace's root folder.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The target folder this benchmark was built in (it runs from `TARGET/release/deps`), so
/// the plugins are built beside it however that folder was chosen: `--target-dir`,
/// `CARGO_TARGET_DIR` (relative ones included) or the default. A binary run from elsewhere
/// (copied out of its folder) falls back to `CARGO_TARGET_DIR` or `target` in the workspace.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let built_in = exe.as_deref().and_then(|exe| {
        let deps = exe.parent()?;
        (deps.file_name()? == "deps").then(|| deps.parent()?.parent().map(Path::to_path_buf))?
    });
    built_in.unwrap_or_else(|| {
        let root = workspace_root();
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), |dir| root.join(dir))
    })
}
