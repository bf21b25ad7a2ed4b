//! Where the workspace is and where cargo builds it: shared by the tests' `common` module
//! and the benchmarks' (`host/benches/common`), which build the example plugins there.

use std::path::{Path, PathBuf};

/// The workspace's root folder.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The target folder this binary was built in (a test or a benchmark runs from
/// `TARGET/PROFILE/deps`), so the plugins are built beside it however that folder was chosen:
/// `--target-dir`, `CARGO_TARGET_DIR` (relative ones included) or the default. A binary run
/// from elsewhere (copied out of its folder) falls back to `CARGO_TARGET_DIR` or `target` in
/// the workspace.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let built_in = exe.as_deref().and_then(|exe| {
        let deps = exe.parent()?;
        (deps.file_name()? == "deps").then(|| deps.parent()?.parent().map(Path::to_path_buf))?
    });
    built_in.unwrap_or_else(|| {
        let root = workspace();
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), |dir| root.join(dir))
    })
}
