//! Builds `filter.c` with the system C compiler (`$CC`, default `cc`) into two shared
//! libraries in `OUT_DIR`: one against the current minor of the ABI and one against minor 0,
//! the proof that a library of an older minor keeps loading.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let include = manifest.join("../../sdk/include");
    let source = manifest.join("filter.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let target = std::env::var("TARGET").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    for (file, minor) in [("libc_filter.so", None), ("libc_filter_v2_0.so", Some(0))] {
        let mut command = Command::new(&cc);
        command
            .args([
                "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
            ])
            .arg(format!("-DOPLINK_TARGET=\"{target}\""))
            .arg(format!("-DOPLINK_PROFILE=\"{profile}\""))
            .arg("-I")
            .arg(&include)
            .arg("-o")
            .arg(out.join(file))
            .arg(&source);
        if let Some(minor) = minor {
            command.arg(format!("-DOPLINK_BUILD_MINOR={minor}"));
        }
        let status = command
            .status()
            .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}` (set CC): {e}"));
        assert!(status.success(), "compiling {} failed", source.display());
    }
    println!("cargo:rerun-if-changed=filter.c");
    println!("cargo:rerun-if-changed=../../sdk/include/oplink.h");
    println!("cargo:rerun-if-env-changed=CC");
}
