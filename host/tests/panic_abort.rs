//! A plugin crate built alone with `-C panic=abort` (its dependencies, `oplink` included,
//! still unwind) is refused at load: the strategy is read from the crate that defines the
//! operator, not from `oplink`. The crate is written to `target/fixture-crates` and built
//! in the workspace's target folder, so only the crate itself is compiled.

mod common;

use std::process::Command;

use oplink_host::{Error, Plugin};

const MANIFEST: &str = r#"[package]
name = "abort-plugin"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
oplink = { path = "SDK" }

[workspace]
"#;

const SOURCE: &str = r#"use oplink::prelude::*;

pub struct Explodes;

#[oplink::operator(name = "explodes", version = "0.1.0")]
impl Explodes {
    fn new() -> Result<Self> {
        Ok(Explodes)
    }

    fn apply(&mut self, _change: Change) -> Result<Change> {
        panic!("this would abort the host");
    }
}
"#;

#[test]
fn a_plugin_crate_built_alone_with_panic_abort_is_refused() {
    let root = common::workspace();
    let dir = root.join("target/fixture-crates/abort-plugin");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = MANIFEST.replace("SDK", &root.join("sdk").display().to_string());
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/lib.rs"), SOURCE).unwrap();
    // The workspace's lock file, so the dependencies resolve to the artifacts already built.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let target = common::target_dir();
    let status = Command::new(env!("CARGO"))
        .current_dir(&dir)
        .args(["rustc", "--quiet", "--lib", "--", "-C", "panic=abort"])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(status.success(), "building the abort plugin failed");
    let library = target.join("debug").join(format!(
        "{}abort_plugin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let err = Plugin::load(&library).unwrap_err();
    assert!(
        matches!(&err, Error::PanicAbort { operator: Some(op), .. } if op == "explodes"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` was built with panic = \"abort\" (operator `explodes`), so any panic in it would abort this process; rebuild it with panic = \"unwind\" (in the profile, `RUSTFLAGS` and `cargo rustc` flags alike; a C library: set its `panic_strategy` to `OPLINK_PANIC_UNWIND`)",
            library.display()
        )
    );
}
