//! Builds `host.c` with the system C compiler (`$CC`, default `cc`) into the executable
//! `c-host` in `OUT_DIR`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let include = manifest.join("../../sdk/include");
    let source = manifest.join("host.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = Command::new(&cc)
        .args(["-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(&include)
        .arg("-o")
        .arg(out.join("c-host"))
        .arg(&source)
        // dlopen lives in libdl before glibc 2.34, in libc since.
        .arg("-ldl")
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}` (set CC): {e}"));
    assert!(status.success(), "compiling {} failed", source.display());
    println!("cargo:rerun-if-changed=host.c");
    println!("cargo:rerun-if-changed=../../sdk/include/oplink.h");
    println!("cargo:rerun-if-env-changed=CC");
}
