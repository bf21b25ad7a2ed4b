//! `oplink run --state`: operators' state kept across runs, and the states refused rather
//! than restored wrong.

use assert_cmd::Command;

use crate::common::{plugin_path, workspace};

use crate::helpers::{ORDERS, THRESHOLD, fails_with, failure, oplink, plugins, stderr, stdout};

#[test]
fn run_keeps_state_across_runs_in_a_state_folder() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let output = oplink()
            .args(["run", ORDERS, "--quiet", "--to", "csv", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        stdout(&output)
    };
    let first = run();
    assert!(first.contains("+I,ann,47"), "{first}");
    assert!(dir.path().join("state.redb").is_file());
    assert!(dir.path().join("running_sum.snapshot").is_file());
    // The second run starts from the sums of the first: every key is an update, each old
    // row just before its new one.
    let second = run();
    assert!(second.contains("-U,ann,47\n+U,ann,94\n"), "{second}");
    assert!(!second.contains("+I"), "{second}");
    // The configuration's fingerprint is kept beside the state (not the configuration,
    // which may hold secrets).
    // So is the operator that kept it, and the length and sum of its snapshot.
    let kept = std::fs::read_to_string(dir.path().join("running_sum.config")).unwrap();
    let lines: Vec<&str> = kept.lines().collect();
    assert_eq!(lines.len(), 3, "{kept}");
    assert_eq!(lines[0].len(), 16, "{kept}");
    assert_eq!(lines[1], "running_sum");
    let snapshot = std::fs::read(dir.path().join("running_sum.snapshot")).unwrap();
    assert!(
        lines[2].starts_with(&format!("snapshot {} ", snapshot.len())),
        "{kept}"
    );
    // The same configuration written otherwise: no warning.
    let same = oplink()
        .args(["run", ORDERS, "--to", "none", "--state"])
        .arg(dir.path())
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"value":"amount", "key":"customer"}"#,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!stderr(&same).contains("warning"), "{}", stderr(&same));
    // (Its snapshot, and so the sum recorded, changed with the sums.)
    let kept = std::fs::read_to_string(dir.path().join("running_sum.config")).unwrap();
    // State kept with another configuration: used, with a warning that says so (here
    // before the run fails on it).
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "amount", "value": "amount"}"#,
            ]),
    );
    assert!(
        text.starts_with(&format!(
            "oplink: warning: operator `running_sum` continues from its state `running_sum` in `{}`, which was kept with another configuration; give `--state` another folder to start afresh\n",
            dir.path().display()
        )),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("running_sum.config")).unwrap(),
        kept,
        "a failed run keeps nothing"
    );
    // State another operator kept under this name (a numbered state, `tally.2`, of a chain
    // that named `tally` twice, met by an operator named `tally.2`): said.
    std::fs::write(
        dir.path().join("running_sum.config"),
        format!("{}\nrunning_total\n", lines[0]),
    )
    .unwrap();
    let other = oplink()
        .args(["run", ORDERS, "--to", "none", "--state"])
        .arg(dir.path())
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"key": "customer", "value": "amount"}"#,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stderr(&other).lines().next().unwrap(),
        format!(
            "oplink: warning: operator `running_sum` continues from the state `running_sum` in `{}`, which operator `running_total` kept; give `--state` another folder to start afresh",
            dir.path().display()
        )
    );
    // A file of an earlier oplink, with the fingerprint alone, is read as before.
    std::fs::write(
        dir.path().join("running_sum.config"),
        format!("{}\n", lines[0]),
    )
    .unwrap();
    let earlier = oplink()
        .args(["run", ORDERS, "--to", "none", "--state"])
        .arg(dir.path())
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"key": "customer", "value": "amount"}"#,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        !stderr(&earlier).contains("warning"),
        "{}",
        stderr(&earlier)
    );
    // An operator without state: another configuration is no cause for a warning.
    for min in ["10", "20"] {
        let run = oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["threshold"]))
            .args([
                "--op",
                &format!(r#"threshold={{"column": "amount", "min": {min}}}"#),
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        assert!(!stderr(&run).contains("warning"), "{}", stderr(&run));
    }
    // A snapshot damaged since it was kept (one byte changed, or cut short at a record's
    // end, which the operator would read as fewer keys) is refused before it is restored.
    let snapshot = dir.path().join("running_sum.snapshot");
    let kept = std::fs::read(&snapshot).unwrap();
    let mut flipped = kept.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let damaged = |bytes: &[u8]| {
        std::fs::write(&snapshot, bytes).unwrap();
        failure(
            oplink()
                .args(["run", ORDERS, "--quiet", "--to", "csv", "--state"])
                .arg(dir.path())
                .args(plugins(&["running-sum"]))
                .args([
                    "--op",
                    r#"running_sum={"key": "customer", "value": "amount"}"#,
                ]),
        )
    };
    for bytes in [&flipped[..], &kept[..kept.len() - 1]] {
        let text = damaged(bytes);
        let config = std::fs::read_to_string(dir.path().join("running_sum.config")).unwrap();
        let sum = config.lines().nth(2).unwrap().rsplit(' ').next().unwrap();
        assert_eq!(
            text,
            format!(
                "oplink: cannot read `{}`: operator `running_sum`'s snapshot is not what the run that kept it wrote, by `{}` ({} bytes, sum {sum}; it holds {} bytes): one of the two was changed since; restore the folder from a backup, or remove it to start afresh\n",
                snapshot.display(),
                dir.path().join("running_sum.config").display(),
                kept.len(),
                bytes.len(),
            )
        );
        // Nothing was changed by the refusal.
        assert_eq!(std::fs::read(&snapshot).unwrap(), bytes);
    }
    std::fs::write(&snapshot, &kept).unwrap();
    // A snapshot the operator cannot read stops the run, naming the file (kept by an
    // oplink that wrote no sum of its snapshots, which is not checked).
    forget_snapshot_sum(&dir.path().join("running_sum.config"));
    std::fs::write(&snapshot, b"\x01").unwrap();
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "csv", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ]),
    );
    assert!(
        text.starts_with("oplink: operator `running_sum` failed in `restore`: ")
            && text.ends_with(&format!(
                ", on restoring `{}` (remove it to start afresh)\n",
                snapshot.display()
            )),
        "{text}"
    );
    // Removed (as the message says): the operator starts afresh, and the run says so.
    std::fs::remove_file(&snapshot).unwrap();
    let run = oplink()
        .args(["run", ORDERS, "--to", "none", "--state"])
        .arg(dir.path())
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"key": "customer", "value": "amount"}"#,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&run).starts_with(&format!(
            "oplink: warning: operator `running_sum` starts afresh: its snapshot `{}` is gone, though a run kept its state in `{}`\n",
            snapshot.display(),
            dir.path().display()
        )),
        "{}",
        stderr(&run)
    );
}

/// Leaves `config` (an operator's `NAME.config` in a `--state` folder) as an oplink that
/// recorded no sum of its snapshot wrote it: the snapshot is then restored unchecked.
fn forget_snapshot_sum(config: &std::path::Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let kept: String = text
        .lines()
        .take(2)
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(kept, text, "no sum in {text:?}");
    std::fs::write(config, kept).unwrap();
}

/// With `--state`, row numbers and change versions go on from the last run that kept its
/// state: a row keeps its number for its whole life, and the next run's rows are others
/// (they started from 0 and 1 again, so an operator keeping state by row number met the
/// last run's numbers on new rows). A run that fails keeps nothing of its numbering.
#[test]
fn row_numbers_and_versions_go_on_across_runs_with_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let run = |extra: &[&str]| {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--quiet", "--to", "csv", "--emit", "inserts"])
            .args(["--batch-size", "4", "--state"])
            .arg(&state)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tag={"column": "at", "numbered": true}"#])
            .args(extra);
        cmd
    };
    let labels = |output: &std::process::Output| -> Vec<String> {
        stdout(output)
            .lines()
            .skip(1)
            .map(|line| line.rsplit(',').next().unwrap().to_owned())
            .collect()
    };
    let first = run(&[]).assert().success().get_output().clone();
    assert_eq!(
        labels(&first),
        [
            "1:0", "1:1", "1:2", "1:3", "2:4", "2:5", "2:6", "2:7", "3:8", "3:9"
        ]
    );
    // A run that fails (here on an operator not found) keeps nothing, its numbering too.
    failure(&mut run(&["--op", "no_such_operator"]));
    let second = run(&[]).assert().success().get_output().clone();
    assert_eq!(
        labels(&second),
        [
            "4:10", "4:11", "4:12", "4:13", "5:14", "5:15", "5:16", "5:17", "6:18", "6:19"
        ]
    );
    // An operator's error names the change by its version and its rows both by their
    // positions in the file and by the numbers the operators saw (it said the positions
    // alone, which an operator's own message about row 20 did not match); and it keeps
    // nothing of its numbering either.
    let error = failure(&mut run(&["--op", r#"tally={"key": "amount"}"#]));
    assert!(
        error.ends_with(", on change 7 (input rows 0 to 3, numbered 20 to 23)\n"),
        "{error}"
    );
    let third = run(&[]).assert().success().get_output().clone();
    assert_eq!(labels(&third)[0], "7:20");
    // Without `--state`, every run starts from row 0 and version 1.
    let alone = oplink()
        .args(["run", ORDERS, "--quiet", "--to", "csv", "--emit", "inserts"])
        .args(plugins(&["toolkit"]))
        .args(["--op", r#"tag={"column": "at", "numbered": true}"#])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(labels(&alone)[0], "1:0");
}

/// An operator that keeps state both in the store and in a snapshot (`tally`): the advice
/// on a snapshot it refuses, and the warning when it is gone, say that the store's part
/// stays.
#[test]
fn removing_a_snapshot_keeps_the_part_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]);
        cmd
    };
    run().assert().success();
    let snapshot = dir.path().join("tally.snapshot");
    forget_snapshot_sum(&dir.path().join("tally.config"));
    std::fs::write(&snapshot, b"\x01").unwrap();
    let text = failure(&mut run());
    assert!(
        text.starts_with("oplink: operator `tally` failed in `restore`: a snapshot of 1 byte;")
            && text.ends_with(&format!(
                ", on restoring `{}` (remove it to let the operator start from its store `tally` alone, or give `--state` another folder to start afresh)\n",
                snapshot.display()
            )),
        "{text}"
    );
    std::fs::remove_file(&snapshot).unwrap();
    let again = run().assert().success().get_output().clone();
    assert_eq!(
        stderr(&again).lines().next().unwrap(),
        format!(
            "oplink: warning: operator `tally` starts from its store `tally` alone: its snapshot `{}` is gone, though a run kept its state in `{}`",
            snapshot.display(),
            dir.path().display()
        ),
    );
    // The store removed: said too, as its part of the state starts afresh.
    std::fs::remove_file(dir.path().join("state.redb")).unwrap();
    let again = run().assert().success().get_output().clone();
    assert_eq!(
        stderr(&again).lines().next().unwrap(),
        format!(
            "oplink: warning: the state store `{}` is gone, though a run kept its state in `{}`: the operators continue from their snapshots alone, and what they kept in the store starts afresh",
            dir.path().join("state.redb").display(),
            dir.path().display()
        ),
    );
}

/// A snapshot kept for an operator whose build has no `restore` (an earlier build had it)
/// stops the run before anything, naming the file: it is not dropped without a word, nor
/// left behind for a later build to restore out of date.
#[test]
fn a_snapshot_an_operator_cannot_take_back_is_refused_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("threshold.snapshot");
    // What a build of `threshold` that kept a snapshot would have left.
    std::fs::write(&snapshot, b"state of an earlier build").unwrap();
    let run = || {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["threshold"]))
            .args(["--op", THRESHOLD]);
        cmd
    };
    fails_with(
        &mut run(),
        &format!(
            "operator `threshold` has no `restore`, so it cannot take back the 25 bytes of state in `{}`, kept by a build of it that had `restore` or by another operator of its name; run that build, or remove the file to run without that state",
            snapshot.display()
        ),
    );
    assert_eq!(
        std::fs::read(&snapshot).unwrap(),
        b"state of an earlier build"
    );
    // An empty one holds nothing to lose.
    std::fs::write(&snapshot, b"").unwrap();
    run().assert().success();
}

/// A snapshot kept for an operator whose build has `restore` and no `snapshot` (an earlier
/// build had both) stops the run, naming the file: restored at every run and never
/// updated, it would start every run from that same state, without a word.
#[test]
fn a_snapshot_an_operator_cannot_update_is_refused_not_restored_at_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("restore_only.snapshot");
    // What a build of `restore_only` that had `snapshot` would have left.
    std::fs::write(&snapshot, b"state of an earlier build").unwrap();
    let run = || {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["faulty"]))
            .args(["--op", "restore_only"]);
        cmd
    };
    let refusal = format!(
        "operator `restore_only` has no `snapshot`, so the 25 bytes of state in `{}` (kept by a build of it that had `snapshot`, or by another operator of its name) would be restored at every run and never updated, each run starting from that same state; run the build that kept it, or remove the file to run without that state",
        snapshot.display()
    );
    fails_with(&mut run(), &refusal);
    // Refused every time, and nothing changed: no store made, the file as it was.
    fails_with(&mut run(), &refusal);
    assert_eq!(
        std::fs::read(&snapshot).unwrap(),
        b"state of an earlier build"
    );
    assert!(!dir.path().join("state.redb").exists());
    // An empty one holds nothing to start from, and so no run from stale state.
    std::fs::write(&snapshot, b"").unwrap();
    let output = run().assert().success().get_output().clone();
    assert!(!stderr(&output).contains("oplink:"), "{}", stderr(&output));
    // Removed, as the refusal says: the operator runs without it, and no run writes one.
    std::fs::remove_file(&snapshot).unwrap();
    let output = run().assert().success().get_output().clone();
    assert!(!stderr(&output).contains("oplink:"), "{}", stderr(&output));
    assert!(!snapshot.exists());
}

/// Snapshots are written only for operators that can take them back: one with `snapshot`
/// and no `restore` leaves no `NAME.snapshot` in the `--state` folder (the next run would
/// have to refuse it), and says nothing of it, run after run.
#[test]
fn no_snapshot_is_kept_for_an_operator_that_cannot_take_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["faulty"]))
            .args(["--op", "snapshot_only"])
            .assert()
            .success()
            .get_output()
            .clone()
    };
    for _ in 0..2 {
        let output = run();
        assert!(!stderr(&output).contains("oplink:"), "{}", stderr(&output));
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["snapshot_only.config", "state.redb"]);
    }
    // One an earlier oplink kept (it kept the snapshots of such operators too, never
    // handing them back) is refused with word of that oplink, rather than dropped.
    std::fs::write(dir.path().join("snapshot_only.snapshot"), b"x").unwrap();
    let text = failure(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["faulty"]))
            .args(["--op", "snapshot_only"]),
    );
    assert!(
        text.starts_with("oplink: operator `snapshot_only` has no `restore`")
            && text.contains("or by an earlier oplink"),
        "{text}"
    );
}

/// A `--state` folder this user may not add files to is refused before the run (it ran
/// to its end, then failed on its first snapshot, or named the store alone), and so is one
/// that cannot be made there; a `NAME.config` that cannot be read is an error, not passed
/// over (the snapshot's sum went unchecked). Run as `nobody` when the tests run as root,
/// whom nothing stops.
#[test]
fn a_state_folder_one_may_not_write_or_read_is_refused_before_the_run() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(dir.path(), 0o777);
    // The input and the library beside it, where `nobody` may read them.
    std::fs::copy(workspace().join(ORDERS), dir.path().join("orders.csv")).unwrap();
    let library = dir.path().join("librunning_sum.so");
    std::fs::copy(plugin_path("running-sum"), &library).unwrap();
    let run = |state: &std::path::Path| {
        let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"));
        run.current_dir(dir.path())
            .args(["run", "orders.csv", "--quiet", "--to", "none", "--plugins"])
            .arg(&library)
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
                "--state",
            ])
            .arg(state);
        // SAFETY: asks for this process's effective user id, nothing else.
        if unsafe { libc::geteuid() } == 0 {
            run.uid(65534).gid(65534);
        }
        Command::from_std(run)
    };
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    mode(&state, 0o777);
    if !run(&state).output().is_ok_and(|out| out.status.success()) {
        eprintln!(
            "skipped: `nobody` cannot run {}",
            env!("CARGO_BIN_EXE_oplink")
        );
        return;
    }
    let snapshot = std::fs::read(state.join("running_sum.snapshot")).unwrap();
    mode(&state, 0o555);
    fails_with(
        &mut run(&state),
        &format!(
            "--state `{}` takes no new file from you, and every run with it writes its files there (the store, the snapshots, each under a temporary name, then renamed); make it writable, or give `--state` another folder",
            state.display()
        ),
    );
    assert_eq!(
        std::fs::read(state.join("running_sum.snapshot")).unwrap(),
        snapshot
    );
    // Nor can it be made in a folder that takes no new folder.
    let inner = state.join("inner");
    fails_with(
        &mut run(&inner),
        &format!(
            "--state `{}` cannot be made: its folder `{}` takes no new folder from you; make it writable, or give `--state` another folder",
            inner.display(),
            state.display()
        ),
    );
    mode(&state, 0o777);
    // SAFETY: as above.
    if unsafe { libc::geteuid() } != 0 {
        return; // the file below must be another user's, unreadable: root makes it
    }
    let config = state.join("running_sum.config");
    let kept = std::fs::read(&config).unwrap();
    std::os::unix::fs::chown(&config, Some(0), Some(0)).unwrap();
    mode(&config, 0o600);
    fails_with(
        &mut run(&state),
        &format!("cannot read `{}`: Permission denied", config.display()),
    );
    assert_eq!(std::fs::read(&config).unwrap(), kept);
}

/// Two operators of one name keep their states as `NAME` and `NAME.2`: a chain where they
/// changed places (or the first was removed) would continue each from the other's state,
/// mixed for good, so it is refused, naming the state kept with the configuration; the
/// state is as it was, and the chain put back runs without a word.
#[test]
fn operators_of_one_name_that_changed_places_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    std::fs::write(&input, "customer,region\nann,eu\nbob,us\nann,us\n").unwrap();
    let state = dir.path().join("state");
    let run = |ops: &[&str]| {
        let mut cmd = oplink();
        cmd.args(["run", "--to", "none"])
            .arg(&input)
            .arg("--state")
            .arg(&state)
            .args(plugins(&["toolkit"]));
        for op in ops {
            cmd.args(["--op", op]);
        }
        cmd
    };
    let (customer, region) = (r#"tally={"key": "customer"}"#, r#"tally={"key": "region"}"#);
    run(&[customer, region]).assert().success();
    let files = |name: &str| std::fs::read(state.join(name)).unwrap();
    let kept = [files("tally.snapshot"), files("tally.2.config")];
    // Changed places: the state `tally` is the other operator's, so removing it is no way.
    fails_with(
        &mut run(&[region, customer]),
        &format!(
            "the 1st `tally` of the chain would continue from the state `tally` in `{dir}`, kept with another configuration, while the state `tally.2` there was kept with its configuration: the chain's `tally` operators changed places, or one was removed; put the chain back as it was, or give `--state` another folder to start afresh",
            dir = state.display()
        ),
    );
    // The first removed: its state is wanted by none, but lives in the store too.
    fails_with(
        &mut run(&[region]),
        &format!(
            "operator `tally` would continue from the state `tally` in `{dir}`, kept with another configuration, while the state `tally.2` there was kept with its configuration: the chain's `tally` operators changed places, or one was removed; put the chain back as it was, or give `--state` another folder to start afresh (removing the files of the state `tally`, `{dir}/tally.snapshot` and `{dir}/tally.config`, would not do: its part in the store `{dir}/state.redb` would stay, and a state's part in the store cannot be removed by hand)",
            dir = state.display()
        ),
    );
    assert_eq!([files("tally.snapshot"), files("tally.2.config")], kept);
    let again = run(&[customer, region])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!stderr(&again).contains("oplink:"), "{}", stderr(&again));
    // One whose configuration changed to that of another still in its place is no move:
    // said in a warning, as any change of configuration.
    let changed = run(&[customer, customer])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&changed).starts_with(&format!(
            "oplink: warning: operator `tally` continues from its state `tally.2` in `{}`, which was kept with another configuration;",
            state.display()
        )),
        "{}",
        stderr(&changed)
    );
}

/// An operator of a name the chain ran twice whose state is all in its snapshot (none in
/// the store): when the operator that kept it was removed, the refusal offers a third way,
/// removing the files of the state no longer wanted, and a run after that starts that
/// operator afresh without a word; when they changed places, the state is wanted, and it
/// does not.
#[test]
fn operators_of_one_name_that_changed_places_may_drop_a_state_kept_in_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    std::fs::write(
        &input,
        "customer,amount,sum\nann,1,10\nbob,2,20\nann,3,30\n",
    )
    .unwrap();
    let state = dir.path().join("state");
    let run = |ops: &[&str]| {
        let mut cmd = oplink();
        cmd.args(["run", "--to", "none"])
            .arg(&input)
            .arg("--state")
            .arg(&state)
            .args(plugins(&["running-sum"]));
        for op in ops {
            cmd.args(["--op", op]);
        }
        cmd
    };
    // The second adds up the first's sums (the input has a `sum` too, for it alone).
    let amount = r#"running_sum={"key": "customer", "value": "amount"}"#;
    let sum = r#"running_sum={"key": "customer", "value": "sum"}"#;
    run(&[amount, sum]).assert().success();
    let refusal = |place: &str| {
        format!(
            "{place} would continue from the state `running_sum` in `{dir}`, kept with another configuration, while the state `running_sum.2` there was kept with its configuration: the chain's `running_sum` operators changed places, or one was removed; put the chain back as it was, give `--state` another folder to start afresh, or remove the files of the state `running_sum` if it is no longer wanted, `{dir}/running_sum.snapshot` and `{dir}/running_sum.config`, for this operator to start afresh",
            dir = state.display()
        )
    };
    // Changed places: the state `running_sum` is the second's, wanted; removing its files
    // would let the second continue from the first's state with a mere warning.
    fails_with(
        &mut run(&[sum, amount]),
        &format!(
            "the 1st `running_sum` of the chain would continue from the state `running_sum` in `{dir}`, kept with another configuration, while the state `running_sum.2` there was kept with its configuration: the chain's `running_sum` operators changed places, or one was removed; put the chain back as it was, or give `--state` another folder to start afresh",
            dir = state.display()
        ),
    );
    // The first removed: its state is no longer wanted; removed as said, the other starts
    // afresh in its place, and nothing is said.
    fails_with(&mut run(&[sum]), &refusal("operator `running_sum`"));
    std::fs::remove_file(state.join("running_sum.snapshot")).unwrap();
    std::fs::remove_file(state.join("running_sum.config")).unwrap();
    let afresh = run(&[sum]).assert().success().get_output().clone();
    assert!(!stderr(&afresh).contains("oplink:"), "{}", stderr(&afresh));
}

/// A `--state` folder whose store another process has open (another run with it) is
/// refused in the command's words, and nothing of it is touched.
#[test]
fn a_state_folder_in_use_by_another_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.redb");
    let held = oplink_host::StateStore::open(&store).unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ]),
        &format!(
            "--state `{}` is in use: its store `{}` is open in another process (another `oplink run` with this folder?); wait for it to end, or give this run another folder",
            dir.path().display(),
            store.display()
        ),
    );
    drop(held);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["state.redb"]);
}

/// A folder where `--state` keeps a file (a configuration's fingerprint, a snapshot) is
/// refused before anything is kept: the output, the store and the snapshots stay as they
/// were, rather than some being kept and the rename failing after.
#[test]
fn a_folder_where_state_keeps_a_file_is_refused_before_anything_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (state, output) = (dir.path().join("state"), dir.path().join("out.csv"));
    std::fs::create_dir_all(state.join("tally.config")).unwrap();
    std::fs::write(&output, "KEEP\n").unwrap();
    fails_with(
        oplink()
            .args(["run", ORDERS, "--quiet", "--state"])
            .arg(&state)
            .arg("--output")
            .arg(&output)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]),
        &format!(
            "`{}` is a folder, where `--state` keeps a file; remove it",
            state.join("tally.config").display()
        ),
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "KEEP\n");
    assert!(!state.join("tally.snapshot").exists());
    let store = oplink_host::StateStore::open(state.join("state.redb")).unwrap();
    assert!(store.entries("tally").unwrap().is_empty());
    drop(store);
    // A named pipe there, neither file nor folder.
    std::fs::remove_dir(state.join("tally.config")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(state.join("tally.config"))
        .status()
        .unwrap();
    assert!(made.success());
    fails_with(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(&state)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]),
        &format!(
            "`{}` is no regular file, where `--state` keeps a file; remove it",
            state.join("tally.config").display()
        ),
    );
}

#[test]
fn a_damaged_state_store_is_one_line_of_error_not_a_panic_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--quiet", "--to", "none", "--op"])
            .arg(r#"running_sum={"key": "customer", "value": "amount"}"#)
            .args(plugins(&["running-sum"]))
            .arg("--state")
            .arg(dir.path());
        cmd
    };
    run().assert().success();
    // Cut short where redb asserts rather than returns an error.
    let store = dir.path().join("state.redb");
    std::fs::File::options()
        .write(true)
        .open(&store)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let text = failure(&mut run());
    assert!(
        text.starts_with(&format!(
            "oplink: state store `{}`: the file is damaged (redb: ",
            store.display()
        )) && text.ends_with(
            "); move it away to start with no state, or give `--state` another folder\n"
        ) && text.lines().count() == 1,
        "{text}"
    );
    // A file that is no store at all, in the command line's words (`--state` takes a
    // folder, not "the path of a state store").
    std::fs::write(&store, "op,customer,amount\n+I,ann,12\n").unwrap();
    assert_eq!(
        failure(&mut run()),
        format!(
            "oplink: state store `{}`: the file is damaged or is not a state store; move it away to start with no state, or give `--state` another folder\n",
            store.display()
        )
    );
}

/// `--state` compares configurations by a fingerprint of their JSON: the same one written
/// otherwise (keys in another order, other spacing, from an `@FILE`) continues its state
/// without the warning of another configuration.
#[test]
fn the_same_configuration_written_otherwise_continues_its_state_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("sum.json");
    std::fs::write(
        &config,
        "{\n  \"value\": \"amount\",\n  \"key\": \"customer\"\n}\n",
    )
    .unwrap();
    let run = |op: &str| {
        let output = oplink()
            .args(["run", ORDERS, "--to", "none"])
            .args(plugins(&["running-sum"]))
            .args(["--op", op, "--state"])
            .arg(&state)
            .assert()
            .success()
            .get_output()
            .clone();
        stderr(&output)
    };
    let first = run(r#"running_sum={"key": "customer", "value": "amount"}"#);
    assert!(!first.contains("warning"), "{first}");
    for same in [
        r#"running_sum={"value":"amount","key":"customer"}"#.to_owned(),
        format!("running_sum=@{}", config.display()),
    ] {
        let text = run(&same);
        assert!(!text.contains("warning"), "{same}: {text}");
    }
}
