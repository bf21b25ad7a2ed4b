//! The command line itself: help, usage errors, exit codes, how messages are written.

use crate::common::plugin_path;

use crate::helpers::{ORDERS, fails_with, failure, oplink, plugins, stderr, stdout};

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in ["inspect", "check", "run", "new"] {
        let output = oplink()
            .args([sub, "--help"])
            .assert()
            .success()
            .get_output()
            .clone();
        let text = stdout(&output);
        assert!(text.contains("Examples:"), "{sub} --help:\n{text}");
        assert!(
            text.contains(&format!("oplink {sub}")),
            "{sub} --help:\n{text}"
        );
    }
    let output = oplink()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(stdout(&output).contains("oplink run examples/data/orders.csv"));
}

/// `--op t={"column":"amount","min":10}` without single quotes reaches the command as
/// `--op t=column:amount t=min:10` (the shell removes the quotes and expands the braces at
/// the comma): clap refuses the second word, and a tip says how to quote the option.
#[test]
fn a_configuration_the_shell_split_gets_a_tip_on_quoting() {
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            "threshold=column:amount",
            "threshold=min:10",
        ])
        .assert()
        .failure()
        .code(2)
        .get_output()
        .clone();
    let text = stderr(&output);
    assert!(
        text.starts_with("error: unexpected argument 'threshold=min:10' found")
            && text.ends_with("\n  tip: `threshold=min:10` looks like part of the configuration of `threshold`, split by the shell at a comma (with its braces and quotes taken away): put the whole option in single quotes, --op 'threshold={\"key\": \"value\", \"other\": 1}'\n"),
        "{text}"
    );
    // `--op threshold={"column": "amount", "min": 10}` without quotes: split at each space
    // too, its first piece leaving its brace open.
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--op",
            "threshold={column:",
            "amount,",
            "min:",
            "10}",
        ])
        .assert()
        .failure()
        .code(2)
        .get_output()
        .clone();
    let text = stderr(&output);
    assert!(
        text.starts_with("error: unexpected argument 'amount,' found")
            && text.ends_with("\n  tip: `amount,` looks like part of the configuration of `threshold`, split by the shell at a space: put the whole option in single quotes, --op 'threshold={\"key\": \"value\", \"other\": 1}'\n"),
        "{text}"
    );
    // Another argument clap refuses gets clap's message alone.
    let output = oplink()
        .args(["run", ORDERS, "--op", "threshold", "other=a:b"])
        .assert()
        .failure()
        .code(2)
        .get_output()
        .clone();
    assert!(!stderr(&output).contains("tip: `"), "{}", stderr(&output));
}

/// A path an option names that does not exist is said to be that option's; `-` without a
/// format is refused as standard input.
#[test]
fn a_missing_path_names_the_option_that_gave_it() {
    fails_with(
        oplink().args(["run", ORDERS, "--plugins", "/no/such/plugins", "--op", "x"]),
        "--plugins `/no/such/plugins` does not exist",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--lookup", "tiers=/no/such/tiers.csv"]),
        "--lookup `tiers`: `/no/such/tiers.csv` does not exist",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--lookup", "tiers"]),
        "--lookup `tiers` is not `NAME=FILE`: give the table's name, as the operator asks for it, and the file to read it from, such as `--lookup tiers=tiers.csv`",
    );
    fails_with(
        oplink()
            .args(["run", ORDERS, "--lookup", "tiers=examples/data/tiers.csv"])
            .args(["--lookup", "tiers=examples/data/tiers.csv"]),
        "--lookup names the table `tiers` twice; give each table once, or the second another name",
    );
    fails_with(
        oplink().args(["run", "-"]),
        "`oplink run` does not read standard input (`-`): it reads its input more than once, so save the stream to a file first",
    );
}

#[test]
fn usage_errors_are_one_sentence() {
    fails_with(
        oplink().args(["run", ORDERS, "--op", "threshold"]),
        "no plugin folder given: pass `--plugins DIR` (a folder or a library file; repeatable) or set OPLINK_PLUGIN_PATH",
    );
    fails_with(
        oplink().args([
            "run",
            ORDERS,
            "--op",
            "threshold",
            "--plugins",
            "no/such/dir",
        ]),
        "--plugins `no/such/dir` does not exist",
    );
    // A library named without cargo's `lib` prefix: the file meant is named.
    let unprefixed = plugin_path("threshold").with_file_name("threshold.so");
    let meant = plugin_path("threshold");
    fails_with(
        oplink().args(["inspect", unprefixed.to_str().unwrap()]),
        &format!(
            "`{}` does not exist (did you mean `{}`?)",
            unprefixed.display(),
            meant.display()
        ),
    );
    let checked = oplink()
        .arg("check")
        .arg(&unprefixed)
        .assert()
        .failure()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&checked),
        format!(
            "FAILED   {}: does not exist (did you mean `{}`?)\n",
            unprefixed.display(),
            meant.display()
        )
    );
    fails_with(
        oplink()
            .args(["run", ORDERS, "--op", "threshold", "--plugins"])
            .arg(&unprefixed),
        &format!(
            "--plugins `{}` does not exist (did you mean `{}`?)",
            unprefixed.display(),
            meant.display()
        ),
    );
    fails_with(
        oplink().args(["run", "Cargo.toml"]),
        "cannot tell the format of `Cargo.toml` from its extension; name it with `--format csv|tsv|jsonl|ipc|parquet`",
    );
    // No file by a name without a data file's extension: said as such, as is any other
    // reason the system gives.
    fails_with(
        oplink().args(["run", "no-such-input"]),
        "`no-such-input` does not exist",
    );
    fails_with(
        oplink().args(["run", &format!("{ORDERS}/inside")]),
        &format!("cannot read `{ORDERS}/inside`: Not a directory"),
    );

    fails_with(
        oplink().args(["run", ORDERS, "--batch-size", "0"]),
        "--batch-size must be at least 1, not 0",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", ".."]),
        "--output `..` is a folder; name a file",
    );
    // A folder that is not there cannot be written either.
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", "no/such/.."]),
        "--output `no/such/..` names a folder (it ends in `..`); name a file",
    );
    // So does one ending in `.` or `/`, said before the run rather than when its output
    // cannot be renamed into place at the end.
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", "no/such/."]),
        "--output `no/such/.` names a folder (it ends in `.`); name a file",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", "no-such-out.csv/"]),
        "--output `no-such-out.csv/` names a folder (it ends in `/`); name a file",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--to", "csv", "--output", "no/such/./"]),
        "--output `no/such/./` names a folder (it ends in `/`); name a file",
    );
    fails_with(
        oplink().args(["run", ORDERS, "--output", "no/such/dir/out.csv"]),
        "cannot create `no/such/dir/out.csv`: its folder `no/such/dir` does not exist",
    );
    fails_with(
        oplink().args(["new", "Bad Name"]),
        "`Bad Name` is not a usable plugin name: use lowercase letters, digits, `-` and `_`, starting with a letter (at most 64)",
    );
}

/// What an error or a warning quotes (an operator's message, a column, a file name, a
/// value) reaches the terminal with its control characters as escapes: no escape sequence
/// recolours or retitles it, and no line break splits the one-line message.
#[test]
fn messages_show_control_characters_as_escapes() {
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--quiet"])
            .args(plugins(&["threshold"]))
            .args([
                "--op",
                r#"threshold={"column": "a\u001b]0;title\u0007b\nline", "min": 1}"#,
            ]),
    );
    assert!(
        text.starts_with(
            "oplink: operator `threshold` failed in `apply`: input has no column `a\\u{1b}]0;title\\u{7}b\\nline` (at "
        ) && text.matches('\n').count() == 1,
        "{text}"
    );
    // A value of the data file, in a reader's error.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("escapes.csv");
    std::fs::write(&path, "a\n\x1b[31m\n").unwrap();
    let text = failure(
        oplink()
            .args(["run", "--quiet", "--schema", "a:int64"])
            .arg(&path),
    );
    assert!(
        text.contains("`\\u{1b}[31m`") && !text.contains('\x1b'),
        "{text}"
    );
}

/// Every error of oplink's own exits 1; an argument clap refuses (an unknown flag, a value
/// outside a flag's choices, a `--log` filter it cannot read, an unknown subcommand) exits
/// 2, with clap's `error: `, as the README says.
#[test]
fn arguments_clap_refuses_exit_2_and_oplinks_own_errors_exit_1() {
    for args in [
        &["run", ORDERS, "--no-such-flag"][..],
        &["run", ORDERS, "--to", "xml"][..],
        &["run", ORDERS, "--log", "a=b=c"][..],
        &["frobnicate"][..],
    ] {
        let output = oplink()
            .args(args)
            .assert()
            .failure()
            .code(2)
            .get_output()
            .clone();
        assert!(
            stderr(&output).starts_with("error: "),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    fails_with(
        oplink().args(["run", ORDERS, "--batch-size", "0"]),
        "--batch-size must be at least 1, not 0",
    );
}
