//! `oplink inspect`: what a plugin library holds, as text and as JSON.

use crate::common::{fixture, plugin_path};

use crate::helpers::{fails_with, oplink, stderr, stdout};

#[test]
fn inspect_prints_the_build_and_every_operator() {
    let lib = plugin_path("enrich");
    let output = oplink()
        .arg("inspect")
        .arg(&lib)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    for expected in [
        format!("library   {}", lib.display()),
        "ABI       2.2 (layout fingerprint 0x".to_owned(),
        "oplink    0.2.0".to_owned(),
        "compiler  rustc ".to_owned(),
        "target    x86_64-".to_owned(),
        "profile   debug".to_owned(),
        "panic     unwind".to_owned(),
        "enrich      0.1.0    flush_state  Catalog        Adds each customer's tier from the host's catalog".to_owned(),
        "service Catalog 0x".to_owned(),
        "fn tier(&self, customer: &str) -> Option<String>".to_owned(),
        "standard services: oplink.Clock 0x6d72ec46c0f44dab".to_owned(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn inspect_json_has_the_same_facts() {
    let output = oplink()
        .args(["inspect", "--json"])
        .arg(plugin_path("threshold"))
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    // The fields in the order a person reads them, not sorted.
    let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap();
    assert!(
        at("path") < at("abi") && at("abi") < at("operators"),
        "{text}"
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let lib = &value[0];
    assert_eq!(lib["abi"], "2.2");
    assert_eq!(lib["panic_strategy"], "unwind");
    assert_eq!(lib["profile"], "debug");
    assert!(
        lib["layout_fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("0x")
    );
    let op = &lib["operators"][0];
    assert_eq!(op["name"], "threshold");
    assert_eq!(op["version"], "1.0.0");
    assert_eq!(op["implements"], serde_json::json!([]));
    let log = &op["requires"][0];
    assert_eq!(log["name"], "oplink.Log");
    assert_eq!(log["standard"], true);
    assert_eq!(log["methods"][0]["name"], "max_level");
}

#[test]
fn inspect_a_c_library_and_a_folder() {
    let output = oplink()
        .arg("inspect")
        .arg(c_operator::LIBRARY)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    assert!(text.contains("compiler  cc"), "{text}");
    assert!(text.contains("c_filter  1.0.0"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_path("threshold"), dir.path().join("libthreshold.so")).unwrap();
    std::fs::copy(fixture("ABI_MAJOR"), dir.path().join("libabi3.so")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a library").unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("libthreshold.so"),
        dir.path().join("liblinked.so"),
    )
    .unwrap();
    let output = oplink()
        .arg("inspect")
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    assert!(text.contains("threshold  1.0.0"), "{text}");
    // A link is passed over, as discovery passes links over, and said so.
    assert!(!text.contains("liblinked.so"), "{text}");
    assert_eq!(
        stderr(&output),
        format!(
            "oplink: warning: skipped `{}`: a symbolic link (discovery follows none)\n",
            dir.path().join("liblinked.so").display()
        )
    );
    assert!(
        text.contains("REJECTED  `") && text.contains("libabi3.so` was built for oplink ABI 3"),
        "{text}"
    );
    // Every library's path is shown alike, absolute, rejected or not, also for a folder
    // named relative to the current one.
    let relative = oplink()
        .current_dir(dir.path().parent().unwrap())
        .arg("inspect")
        .arg(dir.path().file_name().unwrap())
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&relative);
    for library in ["libabi3.so", "libthreshold.so"] {
        assert!(
            text.contains(&format!(
                "library   {}\n",
                dir.path().join(library).display()
            )),
            "{text}"
        );
    }

    let empty = tempfile::tempdir().unwrap();
    fails_with(
        oplink().arg("inspect").arg(empty.path()),
        &format!("`{}` holds no oplink plugins", empty.path().display()),
    );
    std::os::unix::fs::symlink(
        dir.path().join("libthreshold.so"),
        empty.path().join("liblinked.so"),
    )
    .unwrap();
    fails_with(
        oplink().arg("inspect").arg(empty.path()),
        &format!(
            "`{}` holds no oplink plugins (it holds 1 symbolic link, which discovery does not follow: inspect the file it points to)",
            empty.path().display()
        ),
    );
}

/// What a library says of itself reaches the terminal with its control characters as
/// escapes: a C operator's description with an escape sequence and a line break.
#[test]
fn inspect_shows_a_description_s_control_characters_as_escapes() {
    let output = oplink()
        .arg("inspect")
        .arg(fixture("DESCRIPTION_CONTROL"))
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&output);
    assert!(
        text.contains("evil \\u{1b}[31mred\\u{1b}[0m\\nnext line\n") && !text.contains('\x1b'),
        "{text}"
    );
    // `check` keeps one line per library, whatever its name holds.
    let checked = oplink()
        .args(["check", "no\nsuch.so"])
        .assert()
        .failure()
        .get_output()
        .clone();
    assert_eq!(stdout(&checked), "FAILED   no\\nsuch.so: does not exist\n");
}
