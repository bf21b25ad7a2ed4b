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
/// `TARGET/PROFILE/deps`, or `TARGET/TRIPLE/PROFILE/deps` with `--target`), so the plugins
/// are built beside it however that folder was chosen: `--target-dir`, `CARGO_TARGET_DIR`
/// (relative ones included) or the default. A binary run from elsewhere (copied out of its
/// folder) falls back to `CARGO_TARGET_DIR` or `target` in the workspace.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let built_in = exe.as_deref().and_then(|exe| {
        let deps = exe.parent()?;
        if deps.file_name()? != "deps" {
            return None;
        }
        let above = deps.parent()?.parent()?;
        // A triple's folder (`x86_64-unknown-linux-gnu`) inside a target folder: cargo
        // marks both with a `CACHEDIR.TAG`.
        let triple = above.file_name()?.to_str()?;
        let in_triple = triple.starts_with(std::env::consts::ARCH)
            && triple.contains('-')
            && above
                .parent()
                .is_some_and(|target| target.join("CACHEDIR.TAG").is_file());
        Some(match above.parent() {
            Some(target) if in_triple => target.to_path_buf(),
            _ => above.to_path_buf(),
        })
    });
    built_in.unwrap_or_else(|| {
        let root = workspace();
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), |dir| root.join(dir))
    })
}
