//! `oplink run --state` when a run fails or is killed: nothing half kept, and what a killed
//! run left finished or undone by the next.

use assert_cmd::Command;

use crate::common::workspace;

use crate::helpers::{ORDERS, fails_with, oplink, plugins, stderr, stdout};

/// A run that fails before its state is kept (an operator no plugin offers, a
/// configuration refused, an operator's error) leaves no state folder or store that it
/// made, and one that was there as it was.
#[test]
fn a_run_that_fails_before_its_state_is_kept_leaves_none_it_made() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let refused = |op: &str| {
        oplink()
            .args(["run", ORDERS, "--quiet", "--to", "none", "--state"])
            .arg(&state)
            .args(plugins(&["running-sum"]))
            .args(["--op", op])
            .assert()
            .failure()
            .code(1);
    };
    refused("no_such_op");
    assert!(!state.exists());
    refused(r#"running_sum={"key": 7}"#);
    assert!(!state.exists());
    // Nor one that fails on its first change, before the state is kept.
    refused(r#"running_sum={"key": "nope", "value": "amount"}"#);
    assert!(!state.exists());
    // Folders made on the way to it go too; those that were there stay.
    let nested = dir.path().join("a/b/state");
    oplink()
        .args(["run", ORDERS, "--quiet", "--to", "none", "--state"])
        .arg(&nested)
        .args(plugins(&["running-sum"]))
        .args(["--op", "no_such_op"])
        .assert()
        .failure()
        .code(1);
    assert!(!dir.path().join("a").exists() && dir.path().is_dir());
    std::fs::create_dir(&state).unwrap();
    refused("no_such_op");
    assert!(state.is_dir() && !state.join("state.redb").exists());
    // A store that was there stays.
    oplink()
        .args(["run", ORDERS, "--quiet", "--to", "none", "--state"])
        .arg(&state)
        .args(plugins(&["running-sum"]))
        .args([
            "--op",
            r#"running_sum={"key": "customer", "value": "amount"}"#,
        ])
        .assert()
        .success();
    let snapshot = state.join("running_sum.snapshot");
    let kept = std::fs::read(&snapshot).unwrap();
    refused("no_such_op");
    assert!(state.join("state.redb").is_file());
    assert!(
        std::fs::read(&snapshot).unwrap() == kept,
        "the snapshot changed"
    );
}

/// A state file a run killed before it kept its state left (its snapshot's temporary file)
/// is said and removed.
#[test]
fn a_state_file_a_killed_run_left_is_said_and_removed() {
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
    let left = dir.path().join("tally.snapshot.partial");
    std::fs::write(&left, b"half").unwrap();
    let output = run().assert().success().get_output().clone();
    assert_eq!(
        stderr(&output).lines().next().unwrap(),
        format!(
            "oplink: warning: `{}` is left by a run stopped before it kept its state, and is removed: operator `tally` continues from the state kept before that run",
            left.display()
        )
    );
    assert!(!left.exists());
    // Said once: the next run finds nothing left.
    let again = run().assert().success().get_output().clone();
    assert!(
        !stderr(&again).contains("is left by a run"),
        "{}",
        stderr(&again)
    );
}

/// A run killed after it kept its store and before it put its snapshots in place (its mark
/// in the store, and in `keeping.partial` with the files it names) is finished by the next
/// run, which puts those files in place and no others; killed before it kept its store (the
/// mark not the store's), the files it names are removed, and the state is the one kept
/// before it. A mark that is no file is refused before anything is read.
#[test]
fn a_run_killed_while_it_kept_its_state_is_finished_or_undone_by_the_next() {
    let root = tempfile::tempdir().unwrap();
    let command = |dir: &std::path::Path| {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(dir)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]);
        cmd
    };
    let run = |dir: &std::path::Path| command(dir).assert().success().get_output().clone();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    };
    let read = |path: std::path::PathBuf| std::fs::read(path).unwrap();
    let partials = |dir: &std::path::Path| -> Vec<String> {
        let mut left: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".partial"))
            .collect();
        left.sort();
        left
    };
    // The state after one run, and after two.
    let (one, two) = (root.path().join("one"), root.path().join("two"));
    run(&one);
    copy(&one, &two);
    let said = run(&two);
    assert!(!stderr(&said).contains("warning"), "{}", stderr(&said));
    assert!(
        partials(&two).is_empty(),
        "nothing left by a run that ended"
    );
    assert_ne!(
        read(one.join("tally.snapshot")),
        read(two.join("tally.snapshot"))
    );
    let token = {
        let store = oplink_host::StateStore::open(two.join("state.redb")).unwrap();
        let (_, token) = store
            .entries("#oplink-run")
            .unwrap()
            .into_iter()
            .find(|(key, _)| key == b"kept")
            .unwrap();
        String::from_utf8(token).unwrap()
    };
    let mark = |token: &str| format!("{token}\ntally.snapshot.partial\ntally.config.partial\n");
    // The second run as if killed after it kept its store: the store of two, the snapshots
    // of one, the second's snapshots under their temporary names, the mark; and another
    // operator's temporary file, which the mark does not name.
    let killed = root.path().join("killed");
    copy(&one, &killed);
    std::fs::copy(two.join("state.redb"), killed.join("state.redb")).unwrap();
    for name in ["tally.snapshot", "tally.config"] {
        std::fs::copy(two.join(name), killed.join(format!("{name}.partial"))).unwrap();
    }
    std::fs::write(killed.join("keeping.partial"), mark(&token)).unwrap();
    std::fs::write(killed.join("other.snapshot.partial"), b"not this run's").unwrap();
    // The next run finishes it first, then runs as after the second.
    let said = run(&killed);
    assert_eq!(
        stderr(&said).lines().next().unwrap(),
        format!(
            "oplink: warning: the last run with `--state {}` kept its store but did not put its snapshots in place (it was stopped, or failed): its 2 temporary files were put in place now",
            killed.display()
        )
    );
    let third = root.path().join("third");
    copy(&two, &third);
    run(&third);
    assert_eq!(
        read(killed.join("tally.snapshot")),
        read(third.join("tally.snapshot"))
    );
    assert_eq!(partials(&killed), ["other.snapshot.partial"]);
    assert!(!killed.join("other.snapshot").exists());
    // Killed before it kept its store: the mark is not the store's, so the files it names
    // are removed and the state is the first run's.
    let undone = root.path().join("undone");
    copy(&one, &undone);
    for name in ["tally.snapshot", "tally.config"] {
        std::fs::copy(two.join(name), undone.join(format!("{name}.partial"))).unwrap();
    }
    std::fs::write(undone.join("keeping.partial"), mark("not-this-store's")).unwrap();
    let said = run(&undone);
    assert_eq!(
        stderr(&said).lines().next().unwrap(),
        format!(
            "oplink: warning: the last run with `--state {}` was stopped, or failed, before it kept its state: its 2 temporary files were removed, and the state is the one kept before it",
            undone.display()
        )
    );
    assert!(partials(&undone).is_empty());
    assert_eq!(
        read(undone.join("tally.snapshot")),
        read(two.join("tally.snapshot"))
    );
    // Killed after its output went into place (after the mark) and before its store: the
    // warning names the output, whose rows the state does not count; an output that is
    // not the file the run wrote (never put in place) is not named.
    let out = root.path().join("out.csv");
    let written = root.path().join(".out.csv.1.partial");
    for replaced in [false, true] {
        use std::os::unix::fs::MetadataExt;
        let undone = root.path().join(format!("undone-{replaced}"));
        copy(&one, &undone);
        for name in ["tally.snapshot", "tally.config"] {
            std::fs::copy(two.join(name), undone.join(format!("{name}.partial"))).unwrap();
        }
        std::fs::write(&out, "the earlier output\n").unwrap();
        std::fs::write(&written, "the killed run's output\n").unwrap();
        let file = std::fs::metadata(&written).unwrap();
        std::fs::write(
            undone.join("keeping.partial"),
            format!(
                "{}output {} {} {}\n",
                mark("not-this-store's"),
                file.dev(),
                file.ino(),
                out.display()
            ),
        )
        .unwrap();
        if replaced {
            std::fs::rename(&written, &out).unwrap();
        }
        let said = stderr(&run(&undone));
        let first = said.lines().next().unwrap();
        let stopped = format!(
            "oplink: warning: the last run with `--state {}` was stopped, or failed, before it kept its state: its 2 temporary files were removed, and the state is the one kept before it",
            undone.display()
        );
        if replaced {
            assert_eq!(
                first,
                format!(
                    "{stopped}; its output `{}` was put in place all the same, and holds rows this state does not count: run that input again",
                    out.display()
                )
            );
        } else {
            assert_eq!(first, stopped);
        }
    }
    // A mark that is a link (never written through) or a folder: refused at once.
    let victim = root.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let linked = root.path().join("linked");
    copy(&one, &linked);
    std::os::unix::fs::symlink(&victim, linked.join("keeping.partial")).unwrap();
    fails_with(
        &mut command(&linked),
        &format!(
            "`{}` is a symbolic link, where `--state` keeps a file of its own while it keeps the state; remove it",
            linked.join("keeping.partial").display()
        ),
    );
    std::fs::remove_file(linked.join("keeping.partial")).unwrap();
    std::fs::create_dir(linked.join("keeping.partial")).unwrap();
    fails_with(
        &mut command(&linked),
        &format!(
            "`{}` is a folder, where `--state` keeps a file of its own while it keeps the state; remove it",
            linked.join("keeping.partial").display()
        ),
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

/// Whether `strace` is here (`.ci/run` installs it); says that the test skips when not.
fn strace_installed() -> bool {
    let here = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok();
    if !here {
        eprintln!("skipped: strace is not installed (`.ci/run` installs it)");
    }
    here
}

/// `oplink`, run under strace so that its `when`-th call of `syscall` fails with `EIO`.
fn oplink_failing(syscall: &str, when: u32) -> Command {
    let mut cmd = Command::new("strace");
    cmd.current_dir(workspace())
        .env_remove("OPLINK_PLUGIN_PATH")
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={syscall}"))
        .arg("-e")
        .arg(format!("inject={syscall}:error=EIO:when={when}"))
        .arg(env!("CARGO_BIN_EXE_oplink"));
    cmd
}

/// A snapshot that cannot be put in place once the store is kept (an I/O error, injected
/// with `strace`) leaves it and the run's mark for the next run, which finishes the work;
/// the error says so.
#[test]
fn a_snapshot_that_cannot_be_put_in_place_is_left_for_the_next_run() {
    if !strace_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let args = |cmd: &mut Command| {
        cmd.args(["run", ORDERS, "--to", "none", "--state"])
            .arg(&state)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]);
    };
    let mut first = oplink();
    args(&mut first);
    first.assert().success();
    // The first rename of the second run (`--to none` writes no file) fails.
    let mut failing = oplink_failing("rename", 1);
    args(&mut failing);
    let output = failing.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        format!(
            "oplink: cannot write `{}`: Input/output error; the state store was kept, and the next run with `--state {}` puts the snapshots in place\n",
            state.join("tally.snapshot").display(),
            state.display()
        )
    );
    assert!(state.join("tally.snapshot.partial").exists());
    assert!(state.join("keeping.partial").exists());
    let mut next = oplink();
    args(&mut next);
    let said = next.assert().success().get_output().clone();
    assert!(
        stderr(&said).starts_with(&format!(
            "oplink: warning: the last run with `--state {}` kept its store but did not put its snapshots in place (it was stopped, or failed): its 2 temporary files were put in place now",
            state.display()
        )),
        "{}",
        stderr(&said)
    );
    assert!(!state.join("tally.snapshot.partial").exists());
}

/// A store commit whose `fdatasync` fails (an I/O error, injected with `strace`) may have
/// reached the store all the same: the next process reads it. The snapshots and the mark
/// stay for the next run, which keeps them with the store; removing them made a store that
/// counted the run beside snapshots that did not (`tally`'s store 30 rows, its snapshot 20).
#[test]
fn a_store_commit_that_fails_is_settled_by_the_next_run() {
    if !strace_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out = dir.path().join("out.csv");
    let args = |cmd: &mut Command| {
        cmd.args(["run", ORDERS, "--quiet", "--output"])
            .arg(&out)
            .arg("--state")
            .arg(&state)
            .args(plugins(&["toolkit"]))
            .args(["--op", r#"tally={"key": "customer"}"#]);
    };
    let mut first = oplink();
    args(&mut first);
    first.assert().success();
    // The second run's third `fdatasync` (two at opening the store) is its commit's.
    let mut failing = oplink_failing("fdatasync", 3);
    args(&mut failing);
    let output = failing.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).ends_with(&format!(
            "; the next run with `--state {}` finds whether the store kept this run's state, and keeps the snapshots with it or removes them (the output `{}` is in place: when the next run says the state was not kept, run this input again)\n",
            state.display(),
            out.display()
        )),
        "{}",
        stderr(&output)
    );
    // The mark names the output by the file the run wrote, which is now in place.
    let mark = std::fs::read_to_string(state.join("keeping.partial")).unwrap();
    let file = std::fs::metadata(&out).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert!(
        mark.ends_with(&format!(
            "\noutput {} {} {}\n",
            file.dev(),
            file.ino(),
            out.display()
        )),
        "{mark}"
    );
    let mut next = oplink();
    args(&mut next);
    next.assert().success();
    let store = oplink_host::StateStore::open(state.join("state.redb")).unwrap();
    let counted: u64 = store
        .entries("tally")
        .unwrap()
        .iter()
        .map(|(_, v)| u64::from_le_bytes(v.as_slice().try_into().unwrap()))
        .sum();
    let snapshot = std::fs::read(state.join("tally.snapshot")).unwrap();
    let rows = u64::from_le_bytes(snapshot[..8].try_into().unwrap());
    assert_eq!(counted, rows, "the store and the snapshot disagree");
}

#[test]
fn a_run_whose_output_fails_keeps_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let run = |output: &str| {
        let mut cmd = oplink();
        cmd.args(["run", ORDERS, "--quiet", "--to", "csv", "--state"])
            .arg(dir.path())
            .args(plugins(&["running-sum"]))
            .args([
                "--op",
                r#"running_sum={"key": "customer", "value": "amount"}"#,
            ]);
        if !output.is_empty() {
            cmd.args(["--output", output]);
        }
        cmd
    };
    // A link to nowhere where the folder should be, for `--state` and `new --path` alike.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let said = format!(
        "`{}` is a symbolic link to `{}`, which does not exist",
        dangling.display(),
        dir.path().join("nowhere").display()
    );
    fails_with(
        oplink()
            .args(["run", ORDERS, "--to", "none", "--state"])
            .arg(&dangling),
        &said,
    );
    fails_with(
        oplink().args(["new", "linked", "--path"]).arg(&dangling),
        &said,
    );
    // A file where the folder should be.
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "").unwrap();
    fails_with(
        oplink().args(["run", ORDERS, "--state"]).arg(&file),
        &format!(
            "--state `{}` is a file; name a folder (it is created if missing)",
            file.display()
        ),
    );
    // A file above the folder to make: named, rather than the system's "Not a directory".
    let below = file.join("state");
    fails_with(
        oplink().args(["run", ORDERS, "--state"]).arg(&below),
        &format!(
            "--state `{}` cannot be made: `{}` is a file, not a folder; name a folder (it is created if missing)",
            below.display(),
            file.display()
        ),
    );
    // Every row is processed, then the output cannot be written (a full device).
    fails_with(
        &mut run("/dev/full"),
        "cannot write the output: No space left on device",
    );
    // Every format says so in the same words (the CSV writer's were "Csv error: … (os
    // error 28)", the IPC and Parquet writers' "Io error: …" where they start a file).
    for format in ["csv", "tsv", "jsonl", "ipc", "parquet", "table"] {
        fails_with(
            oplink().args([
                "run",
                ORDERS,
                "--quiet",
                "--output",
                "/dev/full",
                "--to",
                format,
            ]),
            "cannot write the output: No space left on device",
        );
    }
    assert!(!dir.path().join("running_sum.snapshot").exists());
    // So the next run starts afresh: inserts, no updates of sums counted once already.
    let output = run("").assert().success().get_output().clone();
    let text = stdout(&output);
    assert!(text.contains("+I,ann,47") && !text.contains("-U"), "{text}");
}
