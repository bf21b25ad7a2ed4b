//! `oplink new`: a new plugin that builds, tests and passes the check.

use crate::common::workspace;

use crate::helpers::{ORDERS, fails_with, oplink, stdout};

/// `oplink new`'s next steps name the library where cargo will put it: under
/// `CARGO_TARGET_DIR` when that is set.
#[test]
fn a_new_plugins_next_steps_follow_cargo_target_dir() {
    let dir = tempfile::tempdir().unwrap();
    let said = |target: Option<&str>, name: &str| {
        let mut cmd = oplink();
        cmd.current_dir(dir.path()).args(["new", name]);
        match target {
            Some(target) => cmd.env("CARGO_TARGET_DIR", target),
            None => cmd.env_remove("CARGO_TARGET_DIR"),
        };
        stdout(&cmd.assert().success().get_output().clone())
    };
    assert!(said(None, "plain").ends_with("  oplink check target/debug/libplain.so\n"));
    assert!(
        said(Some("/srv/build dir"), "moved")
            .ends_with("  oplink check '/srv/build dir'/debug/libmoved.so\n")
    );
}

/// `oplink new`, then build the crate, run its test and check the library, as its README
/// says; and the same for a C operator with make.
#[test]
fn a_new_plugin_builds_tests_and_passes_the_check() {
    let dir = tempfile::tempdir().unwrap();
    oplink()
        .current_dir(dir.path())
        .args(["new", "my-filter"])
        .assert()
        .success();
    let crate_dir = dir.path().join("my-filter");
    for file in ["Cargo.toml", "src/lib.rs", "README.md", ".gitignore"] {
        assert!(crate_dir.join(file).is_file(), "{file}");
    }
    let cargo_toml = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains(r#"crate-type = ["cdylib", "rlib"]"#));
    // The workspace's lock file pins the same dependency versions (no new downloads), and
    // a target folder of its own keeps the new library out of the workspace's.
    std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let target = workspace().join("target").join("oplink-new-test");
    for step in [&["build", "--quiet"][..], &["test", "--quiet"][..]] {
        let status = std::process::Command::new(env!("CARGO"))
            .args(step)
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(status.success(), "cargo {step:?} in the new crate");
    }
    let library = target.join("debug").join("libmy_filter.so");
    let output = oplink()
        .arg("check")
        .arg(&library)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        format!("ok       {}: my_filter 0.1.0\n", library.display())
    );
    // It runs as its README says.
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--quiet",
            "--emit",
            "inserts",
            "--to",
            "csv",
            "--plugins",
        ])
        .arg(&library)
        .args(["--op", r#"my_filter={"column": "amount", "min": 40}"#])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "customer,amount\ncarol,40\nerin,77\n");

    // Names whose type would be one the crate already uses (its `Config`, oplink's
    // `Rows`) build and test too.
    for name in ["config", "rows"] {
        oplink()
            .current_dir(dir.path())
            .args(["new", name])
            .assert()
            .success();
        let crate_dir = dir.path().join(name);
        std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
        let status = std::process::Command::new(env!("CARGO"))
            .args(["test", "--quiet"])
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(status.success(), "cargo test in the new crate `{name}`");
    }

    // Not over an existing folder.
    fails_with(
        oplink().current_dir(dir.path()).args(["new", "my-filter"]),
        "`my-filter` already exists and is not empty; choose another name or `--path`",
    );
    // Nor over a file, empty or not.
    std::fs::write(dir.path().join("taken"), "").unwrap();
    fails_with(
        oplink().current_dir(dir.path()).args(["new", "taken"]),
        "`taken` already exists and is a file, not a folder; choose another name or `--path`",
    );

    // C.
    fails_with(
        oplink()
            .current_dir(dir.path())
            .args(["new", "--lang", "c", "counter", "--oplink", "0.2"]),
        "--oplink sets a Rust crate's dependency on oplink; a C operator has none (it gets `oplink.h` copied in): drop --oplink",
    );
    oplink()
        .current_dir(dir.path())
        .args(["new", "--lang", "c", "counter"])
        .assert()
        .success();
    // A Rust keyword is a fine name for a C operator, whose name is no identifier.
    oplink()
        .current_dir(dir.path())
        .args(["new", "--lang", "c", "type"])
        .assert()
        .success();
    assert!(dir.path().join("type").join("type.c").is_file());
    let c_dir = dir.path().join("counter");
    // The header and the contract in words come with it; no placeholder link.
    for file in ["oplink.h", "ABI.md", "README.md", "counter.c", "Makefile"] {
        assert!(c_dir.join(file).is_file(), "{file}");
    }
    let readme = std::fs::read_to_string(c_dir.join("README.md")).unwrap();
    assert!(
        readme.contains("`ABI.md`") && !readme.contains("example.invalid"),
        "{readme}"
    );
    let status = std::process::Command::new("make")
        .arg("--quiet")
        .current_dir(&c_dir)
        .status()
        .unwrap();
    assert!(status.success(), "make in the new C operator");
    let library = c_dir.join("libcounter.so");
    oplink().arg("check").arg(&library).assert().success();
    let shown = oplink()
        .arg("inspect")
        .arg(&library)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&shown).contains("\nstandard services: none listed (every host provides them)\n"),
        "{}",
        stdout(&shown)
    );
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--quiet",
            "--to",
            "csv",
            "--batch-size",
            "4",
            "--plugins",
        ])
        .arg(&library)
        .args(["--op", "counter"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output).lines().count(),
        11,
        "the header and every row"
    );
    // Like a Rust operator whose `new` takes nothing, it refuses a configuration.
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--plugins"])
            .arg(&library)
            .args(["--op", r#"counter={"min": 1}"#]),
        r#"invalid configuration for operator `counter`: it takes no configuration (pass `null` or `{}`), but was given {"min":1}"#,
    );
}

/// `oplink new --oplink VERSION --registry NAME` depends on oplink from that registry
/// (oplink is not on crates.io; without `--registry` the Cargo.toml says so above the
/// dependency); `--registry` goes with a version only, and not with `--lang c`; a relative
/// `--oplink PATH` is written as the absolute path, since cargo would read it from the new
/// crate's folder.
#[test]
fn a_new_plugin_takes_oplink_from_a_registry_or_an_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let manifest =
        |name: &str| std::fs::read_to_string(dir.path().join(name).join("Cargo.toml")).unwrap();
    oplink()
        .current_dir(dir.path())
        .args([
            "new",
            "from-registry",
            "--oplink",
            "0.2",
            "--registry",
            "mine",
        ])
        .assert()
        .success();
    assert!(
        manifest("from-registry")
            .contains("\noplink = { version = \"0.2\", registry = \"mine\" }\n"),
        "{}",
        manifest("from-registry")
    );
    oplink()
        .current_dir(dir.path())
        .args(["new", "replaced", "--oplink", "0.2"])
        .assert()
        .success();
    let text = manifest("replaced");
    assert!(
        text.contains("# oplink is not on crates.io: ")
            && text.contains(
                "\n# `oplink = { version = \"0.2\", registry = \"NAME\" }` (as `oplink new --registry NAME` does).\noplink = \"0.2\"\n"
            ),
        "{text}"
    );
    fails_with(
        oplink()
            .current_dir(dir.path())
            .args(["new", "by-path", "--registry", "mine"]),
        "--registry names where `--oplink VERSION` comes from, but without a version the crate depends on oplink by path: give `--oplink 0.2` with it, or drop --registry",
    );
    fails_with(
        oplink().current_dir(dir.path()).args([
            "new",
            "--lang",
            "c",
            "counter",
            "--registry",
            "mine",
        ]),
        "--registry sets a Rust crate's dependency on oplink; a C operator has none (it gets `oplink.h` copied in): drop --registry",
    );
    // Relative to where the command runs (the workspace), written absolute.
    oplink()
        .args(["new", "relative", "--oplink", "sdk", "--path"])
        .arg(dir.path().join("relative"))
        .assert()
        .success();
    let sdk = workspace().join("sdk").canonicalize().unwrap();
    assert!(
        manifest("relative").contains(&format!("\noplink = {{ path = \"{}\" }}\n", sdk.display())),
        "{}",
        manifest("relative")
    );
}
