//! `OPLINK_DEBUG=1 cargo build` prints the expansions of the crate's own macros, and a
//! later build without it prints none. The expansion reads `OPLINK_DEBUG` with
//! `option_env!`, so cargo rebuilds the crate when the variable changes; before, a crate
//! built once with it had cargo replay the dump (and oplink's own) on every later build,
//! and one already built printed nothing when it was set. The crate is written to
//! `target/fixture-crates` and built in the workspace's target folder, so only the crate
//! itself is compiled.

#[path = "../../host/tests/common/folders.rs"]
mod folders;

use std::path::Path;
use std::process::Command;

const MANIFEST: &str = r#"[package]
name = "oplink-debug-fixture"
version = "0.1.0"
edition = "2024"

[dependencies]
oplink = { path = "SDK" }

[workspace]
"#;

const SOURCE: &str = r#"use oplink::prelude::*;

pub struct Shown;

#[oplink::operator(name = "shown", version = "0.1.0")]
impl Shown {
    fn new() -> Result<Self> {
        Ok(Shown)
    }

    fn apply(&mut self, change: Change) -> Result<Change> {
        Ok(change)
    }
}
"#;

/// `cargo build` of the crate in `dir`, with `OPLINK_DEBUG=1` or without it: its stderr.
fn build(dir: &Path, debug: bool) -> String {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(dir)
        .args(["build", "--quiet", "--lib"])
        .env("CARGO_TARGET_DIR", folders::target_dir())
        .env_remove("OPLINK_DEBUG");
    if debug {
        cargo.env("OPLINK_DEBUG", "1");
    }
    let out = cargo.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "building the fixture failed:\n{stderr}"
    );
    stderr
}

#[test]
fn oplink_debug_prints_the_crates_expansions_while_it_is_set() {
    let root = folders::workspace();
    let dir = root.join("target/fixture-crates/oplink-debug");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = MANIFEST.replace("SDK", &root.join("sdk").display().to_string());
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/lib.rs"), SOURCE).unwrap();
    // The workspace's lock file, so the dependencies resolve to the artifacts already built.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

    let shown = "// oplink: expansion of #[operator] on `Shown`";
    let stderr = build(&dir, true);
    assert!(stderr.contains(shown), "{stderr}");
    // oplink's own standard services are not the author's.
    assert!(!stderr.contains("#[host_callbacks] on `Log`"), "{stderr}");
    let stderr = build(&dir, false);
    assert!(!stderr.contains("expansion of"), "{stderr}");
    let stderr = build(&dir, true);
    assert!(stderr.contains(shown), "{stderr}");
}
