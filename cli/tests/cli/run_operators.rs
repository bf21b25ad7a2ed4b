//! The operators of a run: found in the plugins or said missing, configured, and named with
//! their method when they fail.

use crate::common::{fixture, plugin_path, workspace};

use crate::helpers::{ORDERS, THRESHOLD, fails_with, failure, oplink, plugins, stderr, stdout};

#[test]
fn an_unknown_operator_lists_the_ones_found_and_suggests_the_nearest() {
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "treshold"])
            .args(plugins(&["threshold", "running-sum"])),
        &format!(
            "no plugin in `{}` and `{}` offers an operator `treshold` (did you mean `threshold`?); the operators found are `running_sum`, `threshold`",
            plugin_path("threshold").display(),
            plugin_path("running-sum").display()
        ),
    );
}

#[test]
fn an_unknown_operator_in_a_folder_counts_the_libraries_that_would_not_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_path("threshold"), dir.path().join("libthreshold.so")).unwrap();
    std::fs::copy(fixture("ABI_MAJOR"), dir.path().join("libabi3.so")).unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "sort", "--plugins"])
            .arg(dir.path()),
        &format!(
            "no plugin in `{}` offers an operator `sort`; the operators found are `threshold`; 1 library there could not be loaded (`oplink check` says why)",
            dir.path().display()
        ),
    );
}

/// A build of an operator the host cannot load (one of a newer ABI minor, as a plugin built
/// on a newer oplink is), beside an older build that it runs, is not passed over silently.
#[test]
fn a_library_passed_over_in_a_folder_is_told_when_the_chain_runs_without_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_path("threshold"), dir.path().join("libthreshold.so")).unwrap();
    let newer = dir.path().join("libthreshold_next.so");
    std::fs::copy(fixture("ABI_MINOR"), &newer).unwrap();
    let run = |quiet: bool| {
        let mut cmd = oplink();
        cmd.args([
            "run",
            ORDERS,
            "--to",
            "none",
            "--op",
            THRESHOLD,
            "--plugins",
        ])
        .arg(dir.path());
        if quiet {
            cmd.arg("--quiet");
        }
        stderr(&cmd.assert().success().get_output().clone())
    };
    let told = run(false);
    let warning = format!(
        "oplink: warning: a library of the plugin folders is passed over, and the chain's operators are looked for in the others: `{}` was built for oplink ABI 2.9 (oplink 0.9.0), newer than this host's 2.2 (oplink 0.2.0): load it with a host built on oplink 0.9.0 or newer\n",
        newer.display()
    );
    assert!(told.starts_with(&warning), "{told}");
    assert_eq!(run(true), "");
}

#[test]
fn a_folder_without_the_operator_or_with_two_offers_of_it_says_so() {
    // Nothing there at all, then only libraries that do not load.
    let dir = tempfile::tempdir().unwrap();
    let search = |dir: &std::path::Path| {
        fails_with(
            oplink()
                .args(["run", ORDERS, "--op", "sort", "--plugins"])
                .arg(dir),
            &format!(
                "no plugin in `{}` offers an operator `sort`; no operators were found there{}",
                dir.display(),
                match std::fs::read_dir(dir).unwrap().count() {
                    0 => String::new(),
                    n => format!(
                        "; {n} libraries there could not be loaded (`oplink check` says why)"
                    ),
                }
            ),
        )
    };
    search(dir.path());
    std::fs::copy(fixture("ABI_MAJOR"), dir.path().join("libone.so")).unwrap();
    std::fs::copy(fixture("BAD_MAGIC"), dir.path().join("libtwo.so")).unwrap();
    search(dir.path());

    // A folder of a crate built without `cdylib`: its `.rlib` alone.
    let rust = tempfile::tempdir().unwrap();
    std::fs::write(rust.path().join("libmine.rlib"), "!<arch>\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "mine", "--plugins"])
            .arg(rust.path()),
        &format!(
            "no plugin in `{0}` offers an operator `mine`; no operators were found there; `{0}/libmine.rlib` there is a Rust library without a shared one beside it (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in its Cargo.toml)",
            rust.path().display()
        ),
    );
    // `oplink check` and `oplink inspect` of that folder say the same.
    let output = oplink()
        .arg("check")
        .arg(rust.path())
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        format!(
            "FAILED   {0}: a folder without oplink plugins (*.so); `{0}/libmine.rlib` there is a Rust library without a shared one beside it (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in its Cargo.toml)\n",
            rust.path().display()
        )
    );
    fails_with(
        oplink().arg("inspect").arg(rust.path()),
        &format!(
            "`{0}` holds no oplink plugins; `{0}/libmine.rlib` there is a Rust library without a shared one beside it (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in its Cargo.toml)",
            rust.path().display()
        ),
    );
    // A folder of links to libraries: discovery follows none, and says so.
    let links = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        plugin_path("threshold"),
        links.path().join("libthreshold.so"),
    )
    .unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "threshold", "--plugins"])
            .arg(links.path()),
        &format!(
            "no plugin in `{}` offers an operator `threshold`; no operators were found there; 1 symbolic link there was passed over (a folder's links are not followed: name the library itself with `--plugins`)",
            links.path().display()
        ),
    );
    // Two of each are counted.
    std::os::unix::fs::symlink(
        plugin_path("running-sum"),
        links.path().join("librunning_sum.so"),
    )
    .unwrap();
    std::fs::write(links.path().join("libmine.rlib"), "!<arch>\n").unwrap();
    std::fs::write(links.path().join("libyours.rlib"), "!<arch>\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "threshold", "--plugins"])
            .arg(links.path()),
        &format!(
            "no plugin in `{}` offers an operator `threshold`; no operators were found there; 2 symbolic links there were passed over (a folder's links are not followed: name the libraries themselves with `--plugins`); 2 Rust libraries there have no shared one beside them (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in their Cargo.toml)",
            links.path().display()
        ),
    );
    fails_with(
        oplink().arg("inspect").arg(links.path()),
        &format!(
            "`{}` holds no oplink plugins (it holds 2 symbolic links, which discovery does not follow: inspect the files they point to); 2 Rust libraries there have no shared one beside them (add `crate-type = [\"cdylib\", \"rlib\"]` under `[lib]` in their Cargo.toml)",
            links.path().display()
        ),
    );

    // Two libraries of one folder offer it: the message says how to pick one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_path("toolkit"), dir.path().join("libtoolkit.so")).unwrap();
    std::fs::copy(
        plugin_path("toolkit-next"),
        dir.path().join("libtoolkit_next.so"),
    )
    .unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "tally", "--plugins"])
            .arg(dir.path()),
        &format!(
            "operator `tally` is offered by more than one library: `{}` and `{}`; name the one to use with `--plugins FILE`",
            dir.path().join("libtoolkit.so").display(),
            dir.path().join("libtoolkit_next.so").display()
        ),
    );
    // A name none offers lists those found, marking those offered twice, as the host does.
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--op", "tallly", "--plugins"])
            .arg(dir.path()),
    );
    assert!(
        text.contains(
            "offers an operator `tallly` (did you mean `tally`?); the operators found are "
        ) && text.contains(", `tally` (in 2 libraries)"),
        "{text}"
    );
}

#[test]
fn bad_json_configuration_points_at_the_problem() {
    fails_with(
        oplink()
            .args([
                "run",
                ORDERS,
                "--op",
                r#"threshold={"column": "amount" "min": 10}"#,
            ])
            .args(plugins(&["threshold"])),
        "the configuration of `threshold` (inline) is not valid JSON: expected `,` or `}` at line 1 column 21\n  {\"column\": \"amount\" \"min\": 10}\n                      ^",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("filter.json");
    std::fs::write(&file, "{\n  \"column\": \"amount\",\n  \"min\": ten\n}\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op"])
            .arg(format!("threshold=@{}", file.display()))
            .args(plugins(&["threshold"])),
        &format!(
            "the configuration of `threshold` (from `{}`) is not valid JSON: expected ident at line 3 column 11\n    \"min\": ten\n            ^",
            file.display()
        ),
    );
    // Valid JSON the operator refuses: its own message, naming the field.
    let output = oplink()
        .args(["run", ORDERS, "--op", r#"threshold={"column": "amount"}"#])
        .args(plugins(&["threshold"]))
        .assert()
        .failure()
        .get_output()
        .clone();
    let text = stderr(&output);
    assert!(
        text.starts_with("oplink: ") && text.contains("missing field `min`"),
        "{text}"
    );
}

#[test]
fn a_library_for_another_abi_or_machine_is_one_sentence() {
    let abi3 = fixture("ABI_MAJOR");
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "x", "--plugins"])
            .arg(&abi3),
        &format!(
            "`{}` was built for oplink ABI 3, but this host speaks ABI 2: load it with a host built on a newer oplink",
            abi3.display()
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let arm = dir.path().join("libarm.so");
    let mut bytes = std::fs::read(plugin_path("threshold")).unwrap();
    bytes[0x12..0x14].copy_from_slice(&183u16.to_le_bytes());
    std::fs::write(&arm, bytes).unwrap();
    fails_with(
        oplink().arg("inspect").arg(&arm),
        &format!(
            "`{}` is not a library for this host: it was built for aarch64, and this host is x86_64",
            arm.display()
        ),
    );
}

#[test]
fn a_plugin_error_or_panic_stops_the_run_naming_operator_and_method() {
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            r#"faulty={"fail_in": "apply", "how": "error"}"#,
        ])
        .args(plugins(&["faulty"]))
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    // Word for word as the README shows it (its location too: `examples/faulty`'s line).
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let text = stderr(&output);
    assert!(
        text.starts_with("oplink: operator `faulty` failed in `apply`: faulty fails in apply (at examples/faulty/src/lib.rs:"),
        "{text}"
    );
    assert!(
        readme.contains(text.as_str()),
        "the README does not show: {text}"
    );
    assert!(stdout(&output).is_empty());

    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            r#"faulty={"fail_in": "apply", "how": "panic"}"#,
        ])
        .args(plugins(&["faulty"]))
        .assert()
        .failure()
        .get_output()
        .clone();
    let text = stderr(&output);
    assert!(
        text.contains("oplink: operator `faulty` panicked in `apply`: faulty panics in apply"),
        "{text}"
    );
    assert!(
        !text.contains("RUST_BACKTRACE"),
        "no backtrace hint: {text}"
    );
}

/// Text that is not UTF-8 from an operator (what one written in C can return, and what an
/// import takes on its word) stops the run before any output format reads it: no table
/// printed from it, no file written with it.
#[test]
fn run_refuses_an_operators_output_that_is_not_valid_arrow() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    for to_file in [false, true] {
        let mut cmd = oplink();
        cmd.args([
            "run",
            ORDERS,
            "--op",
            r#"faulty={"fail_in": "apply", "how": "bad_utf8"}"#,
        ])
        .args(plugins(&["faulty"]));
        if to_file {
            cmd.args(["--output", out.to_str().unwrap()]);
        }
        fails_with(
            &mut cmd,
            "operator `faulty` returned invalid Arrow data from `apply` (a fault of the operator, for its author to mend): diff 0 of the change: its post rows: column `text`: Invalid UTF8 sequence at string index 0 (0..1): invalid utf-8 sequence of 1 bytes from index 0, on change 1 (input rows 0 to 9)",
        );
    }
    assert!(!out.exists());
    // The same from the closing tick.
    fails_with(
        oplink()
            .args([
                "run",
                ORDERS,
                "--op",
                r#"faulty={"fail_in": "tick", "how": "bad_utf8"}"#,
            ])
            .args(plugins(&["faulty"])),
        "operator `faulty` returned invalid Arrow data from `tick` (a fault of the operator, for its author to mend): diff 0 of the change: its post rows: column `text`: Invalid UTF8 sequence at string index 0 (0..1): invalid utf-8 sequence of 1 bytes from index 0, on the closing tick",
    );
}

#[test]
fn an_error_of_an_operator_named_twice_in_the_chain_says_which() {
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ])
            .args(["--op", r#"running_sum={"key": "nope", "value": "sum"}"#]),
    );
    assert!(
        text.starts_with(
            "oplink: operator `running_sum` failed in `apply`: input has no column `nope`"
        ) && text.ends_with(
            ", on change 1 (input rows 0 to 9), in the 2nd `running_sum` of the chain\n"
        ),
        "{text}"
    );
    // And when it cannot be made.
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ])
            .args(["--op", r#"running_sum={"key": "customer"}"#]),
        "invalid configuration for operator `running_sum`: missing field `value`, in the 2nd `running_sum` of the chain",
    );
}

/// A configuration the operator refuses names where it came from when that is not the
/// command line itself: the `@FILE` it was read from, or no configuration at all.
#[test]
fn a_refused_configuration_names_its_file_or_that_none_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("filter.json");
    std::fs::write(&file, r#"{"column": "amount", "min": "ten"}"#).unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["threshold"]))
            .arg("--op")
            .arg(format!("threshold=@{}", file.display())),
        &format!(
            r#"invalid configuration for operator `threshold` at `min`: invalid type: string "ten", expected i64 (the configuration read from `{}`)"#,
            file.display()
        ),
    );
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["threshold"]))
            .args(["--op", "threshold"]),
        "invalid configuration for operator `threshold`: missing field `column` (`--op threshold` gives it no configuration, read as `{}`: give one, `--op 'threshold={...}'` or `--op threshold=@FILE`)",
    );
    // Inline, the configuration is on the line already.
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none"])
            .args(plugins(&["threshold"]))
            .args(["--op", r#"threshold={"min": 1}"#]),
        "invalid configuration for operator `threshold`: missing field `column`",
    );
}

#[test]
fn services_the_command_cannot_provide_are_named() {
    fails_with(
        oplink()
            .args([
                "run",
                ORDERS,
                "--op",
                r#"lookup={"column": "customer", "table": "tiers"}"#,
            ])
            .args(plugins(&["enrich"])),
        "operator `lookup` requires the host service `oplink.Lookup`: give it its tables with `--lookup NAME=FILE`",
    );
    fails_with(
        oplink()
            .args([
                "run",
                ORDERS,
                "--op",
                r#"enrich={"customer_column": "customer"}"#,
            ])
            .args(plugins(&["enrich"])),
        "operator `enrich` requires the host service `Catalog`, which `oplink run` cannot provide (it provides the standard services and `oplink.Lookup`); run it in a host that provides `Catalog`",
    );
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            r#"lookup={"column": "customer", "table": "regions"}"#,
        ])
        .args(["--lookup", "tiers=examples/data/tiers.csv"])
        .args(plugins(&["enrich"]))
        .assert()
        .failure()
        .get_output()
        .clone();
    assert!(
        stderr(&output).contains("the host has no lookup table `regions`; it has `tiers`"),
        "{}",
        stderr(&output)
    );
}

/// `OPLINK_PLUGIN_PATH` is a list of folders like `PATH`: one that is not there is passed
/// over (with `--plugins`, it is an error: above).
#[test]
fn a_missing_folder_of_the_plugin_path_is_passed_over() {
    let folder = plugin_path("threshold").parent().unwrap().to_owned();
    let path = std::env::join_paths([std::path::Path::new("/no/such/folder"), &folder]).unwrap();
    let output = oplink()
        .env("OPLINK_PLUGIN_PATH", &path)
        .args([
            "run", ORDERS, "--to", "csv", "--emit", "inserts", "--quiet", "--op",
        ])
        .arg(r#"threshold={"column": "amount", "min": 40}"#)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&output), "customer,amount\ncarol,40\nerin,77\n");
    // None there (a misspelt variable, say): said so.
    fails_with(
        oplink().env("OPLINK_PLUGIN_PATH", "/no/such/folder").args([
            "run",
            ORDERS,
            "--op",
            "threshold",
        ]),
        "no folder of OPLINK_PLUGIN_PATH exists: `/no/such/folder`",
    );
}

/// A change of no rows that an operator fails on is named as such.
#[test]
fn an_operator_that_fails_on_a_change_of_no_rows_says_so() {
    use oplink::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.arrows");
    let batch = RecordBatch::try_from_iter([(
        "amount",
        std::sync::Arc::new(Int64Array::from(Vec::<i64>::new())) as ArrayRef,
    )])
    .unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(file, &batch.schema()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    let text = failure(
        oplink()
            .args(["run"])
            .arg(&path)
            .args(plugins(&["faulty"]))
            .args(["--op", r#"faulty={"fail_in": "apply", "how": "error"}"#]),
    );
    assert!(text.ends_with(", on change 1 (no input rows)\n"), "{text}");
}

#[test]
fn an_operator_failing_at_the_end_of_the_input_names_the_closing_step() {
    let dir = tempfile::tempdir().unwrap();
    for (method, step) in [
        ("tick", "the closing tick"),
        ("flush_state", "the closing flush"),
        ("snapshot", "the closing snapshot"),
    ] {
        // An earlier output is left as it was, and nothing is left half-written.
        let output = dir.path().join(format!("{method}.csv"));
        std::fs::write(&output, "KEEP\n").unwrap();
        let state = dir.path().join(method);
        let text = failure(
            oplink()
                .args(["run", ORDERS, "--quiet", "--state"])
                .arg(&state)
                .arg("--output")
                .arg(&output)
                .args(plugins(&["faulty"]))
                .args([
                    "--op",
                    &format!(r#"faulty={{"fail_in": "{method}", "how": "error"}}"#),
                ]),
        );
        assert!(
            text.starts_with(&format!(
                "oplink: operator `faulty` failed in `{method}`: faulty fails in {method} (at "
            )) && text.ends_with(&format!(", on {step}\n")),
            "{text}"
        );
        assert_eq!(
            std::fs::read_to_string(&output).unwrap(),
            "KEEP\n",
            "{method}"
        );
        // The state folder this run made is gone with it.
        assert!(!state.exists(), "{method}");
        let partial: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("partial"))
            .collect();
        assert!(partial.is_empty(), "{method}: {partial:?}");
    }
    // Nothing is kept before every operator closed: a failing flush or snapshot leaves
    // every store (here `tally`'s) and every snapshot as they were.
    let state = dir.path().join("two");
    let run = |fail_in: &str| {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--quiet", "--to", "none", "--state"])
            .arg(&state)
            .args(plugins(&["toolkit", "faulty"]))
            .args(["--op", r#"tally={"key": "customer"}"#])
            .args([
                "--op",
                &format!(r#"faulty={{"fail_in": "{fail_in}", "how": "error"}}"#),
            ]);
        cmd
    };
    run("never").assert().success();
    let counts = || {
        let store = oplink_host::StateStore::open(state.join("state.redb")).unwrap();
        store.entries("tally").unwrap()
    };
    let (before, snapshot) = (
        counts(),
        std::fs::read(state.join("tally.snapshot")).unwrap(),
    );
    assert!(!before.is_empty());
    for fail_in in ["snapshot", "flush_state"] {
        failure(&mut run(fail_in));
        assert_eq!(counts(), before, "the store was written ({fail_in})");
        assert_eq!(
            std::fs::read(state.join("tally.snapshot")).unwrap(),
            snapshot,
            "{fail_in}"
        );
    }
    // A panic while the instance is dropped is a warning, not a failure of the run.
    let output = oplink()
        .args(["run", ORDERS, "--quiet", "--to", "none"])
        .args(plugins(&["faulty"]))
        .args(["--op", r#"faulty={"fail_in": "drop", "how": "panic"}"#])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&output).contains(
            "destroying an operator instance failed operator=\"faulty\" error=operator `faulty` panicked in `drop`: faulty panics in drop (at "
        ),
        "{}",
        stderr(&output)
    );
}

/// An operator's failure on an input read as one column carries the warning saying which
/// delimiter to give, which `--quiet` hides.
#[test]
fn an_operator_failure_on_a_one_column_input_says_which_delimiter_to_give() {
    // With --quiet or without.
    let dir = tempfile::tempdir().unwrap();
    let semi = dir.path().join("orders.csv");
    std::fs::write(&semi, "customer;amount\nann;12\n").unwrap();
    let hint = format!(
        "; `{}` reads as one column, `customer;amount`: if its fields are separated by `;`, give `--delimiter ';'`\n",
        semi.display()
    );
    for quiet in [true, false] {
        let text = failure(
            oplink()
                .args(["run", "--to", "none"])
                .args(quiet.then_some("--quiet"))
                .arg(&semi)
                .args(plugins(&["threshold"]))
                .args(["--op", THRESHOLD]),
        );
        let error = text.lines().last().unwrap_or_default();
        assert!(
            error.starts_with(
                "oplink: operator `threshold` failed in `apply`: input has no column `amount`"
            ) && text.ends_with(&format!(", on change 1 (input rows 0 to 0){hint}")),
            "{text}"
        );
        // Said once: the warning (when shown) and the error, not the error twice.
        assert_eq!(
            text.matches("reads as one column").count(),
            2 - usize::from(quiet),
            "{text}"
        );
    }
}
