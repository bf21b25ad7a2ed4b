//! Deliberately broken libraries, each rejected with its own message. They are built from
//! `fixtures/broken.c` with the system C compiler (`$CC`, default `cc`), one library per
//! variant, so every byte of the header is under the test's control.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use oplink_host::{Error, Plugin};

fn fixture(variant: &str) -> PathBuf {
    let dir = common::workspace().join("target").join("broken-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!(
        "lib{}{}",
        variant.to_lowercase(),
        std::env::consts::DLL_SUFFIX
    ));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O0", "-o"])
        .arg(&out)
        .arg(format!("-D{variant}"))
        .arg(format!(
            "-DOPLINK_FINGERPRINT={:#x}ULL",
            oplink::abi::LAYOUT_FINGERPRINT
        ))
        .arg(&source)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(status.success(), "compiling the {variant} fixture failed");
    out
}

fn load_err(variant: &str) -> (Error, String) {
    let path = fixture(variant);
    let err = Plugin::load(&path).expect_err(variant);
    let text = err.to_string();
    let prefix = format!("`{}` ", path.display());
    assert!(text.starts_with(&prefix), "{text}");
    (err, text[prefix.len()..].to_owned())
}

#[test]
fn a_valid_header_written_in_c_loads() {
    let plugin = Plugin::load(fixture("VALID")).unwrap();
    let op = plugin.operator("c_op").unwrap();
    assert_eq!((op.version(), op.description()), ("1.0.0", "written in C"));
    assert_eq!(plugin.build().rustc_version, "cc");
}

#[test]
fn a_library_that_is_not_a_plugin() {
    let (err, text) = load_err("NOT_PLUGIN");
    assert!(matches!(err, Error::NotAPlugin { .. }));
    assert_eq!(
        text,
        "is not an oplink plugin: it exports no `oplink_plugin_v1` symbol"
    );
}

#[test]
fn a_plugin_of_another_abi_major_by_symbol() {
    let (_, text) = load_err("ENTRY_V2");
    assert_eq!(
        text,
        "was built for oplink ABI 2, but this host speaks ABI 1; rebuild the plugin against a matching oplink"
    );
}

#[test]
fn a_plugin_of_another_abi_major_by_header() {
    let (err, _) = load_err("ABI_MAJOR");
    assert!(
        matches!(
            err,
            Error::AbiMajor {
                found: 2,
                expected: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_plugin_of_a_newer_minor() {
    let (_, text) = load_err("ABI_MINOR");
    assert_eq!(
        text,
        "was built for oplink ABI 1.9, newer than this host's 1.1; upgrade the host"
    );
}

#[test]
fn wrong_magic() {
    let (_, text) = load_err("BAD_MAGIC");
    assert_eq!(
        text,
        "has a bad oplink header: its magic bytes are [4e, 4f, 54, 4f, 50, 4c, 4e, 4b], expected [7f, 4f, 50, 4c, 49, 4e, 4b, 00]"
    );
}

#[test]
fn mismatched_layout_names_the_struct() {
    let (_, text) = load_err("LAYOUT");
    assert_eq!(
        text,
        "was built with a different ABI layout than this host: `OperatorVTable` is 64 bytes aligned to 8 in the plugin but 72 bytes aligned to 8 in this host"
    );
}

#[test]
fn panic_abort_builds_are_refused() {
    let (_, text) = load_err("PANIC_ABORT");
    assert_eq!(
        text,
        "was built with panic = \"abort\", so any panic in it would abort this process; rebuild it with panic = \"unwind\""
    );
}

#[test]
fn duplicate_operator_names() {
    let (_, text) = load_err("DUPLICATE");
    assert_eq!(text, "defines the operator `c_op` more than once");
}

#[test]
fn null_vtable() {
    let (_, text) = load_err("NULL_VTABLE");
    assert_eq!(
        text,
        "has an invalid oplink header: operator `c_op` has a null vtable"
    );
}

#[test]
fn invalid_utf8_in_a_name() {
    let (_, text) = load_err("BAD_UTF8");
    assert!(
        text.starts_with("has an invalid oplink header: the name of operator 0 is not valid UTF-8"),
        "{text}"
    );
}

#[test]
fn null_header() {
    let (_, text) = load_err("NULL_HEADER");
    assert_eq!(
        text,
        "has an invalid oplink header: the entry symbol returned a null header"
    );
}

#[test]
fn truncated_and_missing_files() {
    let real = std::fs::read(common::plugin_path("threshold")).unwrap();
    let dir = common::workspace().join("target").join("broken-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let truncated = dir.join("libtruncated.so");
    std::fs::write(&truncated, &real[..real.len().min(4096)]).unwrap();
    let err = Plugin::load(&truncated).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "`{}` is truncated or damaged: ",
            truncated.display()
        )),
        "{err}"
    );

    let garbage = dir.join("libgarbage.so");
    std::fs::write(&garbage, b"this is not a library").unwrap();
    let err = Plugin::load(&garbage).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "cannot load `{}` as a shared library: ",
            garbage.display()
        )),
        "{err}"
    );

    let err = Plugin::load(&dir).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("`{}` is not a file", dir.display())
    );

    let err = Plugin::load(dir.join("no-such-file.so")).unwrap_err();
    assert!(
        err.to_string()
            .contains("no-such-file.so` as a shared library"),
        "{err}"
    );
}
