//! Discovery over a folder of good, foreign, broken and hostile libraries, and checked
//! loading: every file is reported for what it is, and the host lives through all of them.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{fixture, plugin_path};
use oplink_host::{Discovery, Error, Outcome, Plugin};

/// A fresh folder under `target/` for one test.
fn folder(name: &str) -> PathBuf {
    let dir = common::workspace()
        .join("target")
        .join("discovery-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy(from: &Path, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(from, &to).unwrap();
    to
}

fn outcome_of<'a>(found: &'a oplink_host::Found, name: &str) -> &'a Outcome {
    &found
        .entries()
        .iter()
        .find(|entry| entry.path.file_name().unwrap() == name)
        .unwrap_or_else(|| panic!("no entry for {name}: {:#?}", found.entries()))
        .outcome
}

#[test]
fn a_checked_load_survives_a_constructor_that_aborts_exits_or_hangs() {
    let aborts = fixture("CTOR_ABORT");
    let err = Plugin::load_checked(&aborts).unwrap_err();
    assert!(matches!(err, Error::CheckFailed { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` was not loaded: the check process was killed by signal 6 (SIGABRT) while opening it",
            aborts.display()
        )
    );

    let exits = fixture("CTOR_EXIT");
    assert_eq!(
        Plugin::load_checked(&exits).unwrap_err().to_string(),
        format!(
            "`{}` was not loaded: the library ended the check process with exit status 3 while it was being opened",
            exits.display()
        )
    );

    // Exit status 0 is no success when the check did not get through.
    let exits = fixture("CTOR_EXIT0");
    assert_eq!(
        Plugin::load_checked(&exits).unwrap_err().to_string(),
        format!(
            "`{}` was not loaded: the library ended the check process (status 0) while it was being opened",
            exits.display()
        )
    );

    let hangs = fixture("CTOR_HANG");
    assert_eq!(
        Plugin::load_checked_within(&hangs, Duration::from_millis(300))
            .unwrap_err()
            .to_string(),
        format!(
            "`{}` was not loaded: the check process did not finish within 0.3 s and was killed",
            hangs.display()
        )
    );

    // A deadline under 0.1 s is said in as many decimals as it takes.
    assert_eq!(
        Plugin::load_checked_within(&hangs, Duration::from_millis(50))
            .unwrap_err()
            .to_string(),
        format!(
            "`{}` was not loaded: the check process did not finish within 0.05 s and was killed",
            hangs.display()
        )
    );

    // A constructor that closes the check's pipe before it hangs: the deadline holds for
    // the wait as well.
    let closes = fixture("CTOR_CLOSE_HANG");
    assert_eq!(
        Plugin::load_checked_within(&closes, Duration::from_millis(300))
            .unwrap_err()
            .to_string(),
        format!(
            "`{}` was not loaded: the check process did not finish within 0.3 s and was killed",
            closes.display()
        )
    );
}

/// A constructor that forks a process which lives on (holding the check's pipe): the check
/// ends when the check process has reported, not at its deadline, and the forked process
/// ends with it (it is in the check's process group).
#[test]
fn a_checked_load_ends_what_the_constructor_forked() {
    let forks = fixture("CTOR_FORK");
    let pidfile = PathBuf::from(format!("{}.pid", forks.display()));
    let _ = std::fs::remove_file(&pidfile);
    let started = std::time::Instant::now();
    let plugin = Plugin::load_checked_within(&forks, Duration::from_secs(30)).unwrap();
    assert!(plugin.operator("c_op").is_some());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited for the forked process: {:?}",
        started.elapsed()
    );
    ends_soon(&pidfile);
}

/// The same constructor, failing after it forked: the failure is said at once, not the
/// deadline's, and the forked process ends too.
#[test]
fn a_checked_load_says_at_once_how_a_forking_constructor_failed() {
    let forks = fixture("CTOR_FORK_ABORT");
    let pidfile = PathBuf::from(format!("{}.pid", forks.display()));
    let _ = std::fs::remove_file(&pidfile);
    let started = std::time::Instant::now();
    let err = Plugin::load_checked_within(&forks, Duration::from_secs(30)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` was not loaded: the check process was killed by signal 6 (SIGABRT) while opening it",
            forks.display()
        )
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    ends_soon(&pidfile);
}

/// Asserts that the process whose id `pidfile` holds ends within 5 s (gone, or a zombie
/// left for whoever adopted it), then removes the file.
fn ends_soon(pidfile: &Path) {
    let pid: u32 = std::fs::read_to_string(pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
    };
    let waited = std::time::Instant::now();
    while alive() && waited.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(),
        "the process the constructor forked ({pid}) lives on"
    );
    let _ = std::fs::remove_file(pidfile);
}

#[test]
fn a_checked_load_with_a_timeout_past_any_clock_waits_for_the_check() {
    let plugin = Plugin::load_checked_within(plugin_path("toolkit"), Duration::MAX).unwrap();
    assert!(plugin.operator("passthrough").is_some());
}

#[test]
fn a_checked_load_of_a_good_plugin_loads_it_and_of_a_bad_one_gives_the_usual_error() {
    let plugin = Plugin::load_checked(plugin_path("toolkit")).unwrap();
    assert!(plugin.operator("passthrough").is_some());
    let valid = fixture("VALID");
    assert!(Plugin::load_checked(&valid).is_ok());
    // A refusal the child got through is the same error an unchecked load gives.
    let bad = fixture("BAD_MAGIC");
    assert_eq!(
        Plugin::load_checked(&bad).unwrap_err().to_string(),
        Plugin::load(&bad).unwrap_err().to_string()
    );
}

#[test]
fn discovery_reports_every_file_and_a_name_offered_twice_is_a_conflict() {
    let dir = folder("mixed");
    copy(&plugin_path("toolkit"), &dir, "libtoolkit.so");
    copy(&plugin_path("threshold"), &dir, "libthreshold.so");
    // The same operators again under another name: a conflict, not a pick.
    copy(&plugin_path("threshold"), &dir, "libthreshold_copy.so");
    copy(&fixture("NOT_PLUGIN"), &dir, "libforeign.so");
    copy(&fixture("BAD_MAGIC"), &dir, "libbroken.so");
    copy(&fixture("CTOR_ABORT"), &dir, "libaborts.so");
    std::os::unix::fs::symlink(plugin_path("enrich"), dir.join("liblinked.so")).unwrap();
    std::fs::write(dir.join("README.txt"), "not a library").unwrap();
    std::fs::write(dir.join("libempty.so"), b"").unwrap();
    std::fs::create_dir_all(dir.join("libfolder.so")).unwrap();

    let found = Discovery::new([&dir]).scan();
    let lines: Vec<String> = found.entries().iter().map(ToString::to_string).collect();
    assert_eq!(found.entries().len(), 9, "{lines:#?}");
    match outcome_of(&found, "libfolder.so") {
        Outcome::Skipped(reason) => assert_eq!(
            reason,
            "a folder named like a library (discovery searches no subfolders)"
        ),
        other => panic!("{other:?}"),
    }

    assert!(
        matches!(outcome_of(&found, "libtoolkit.so"), Outcome::Loaded(names) if names.len() == 6)
    );
    assert!(matches!(
        outcome_of(&found, "libthreshold.so"),
        Outcome::Loaded(_)
    ));
    assert!(matches!(
        outcome_of(&found, "libthreshold_copy.so"),
        Outcome::Loaded(_)
    ));
    match outcome_of(&found, "libforeign.so") {
        Outcome::Skipped(reason) => assert_eq!(
            reason,
            "a library, but not an oplink plugin (no `oplink_plugin_v2` symbol)"
        ),
        other => panic!("{other:?}"),
    }
    match outcome_of(&found, "liblinked.so") {
        Outcome::Skipped(reason) => assert_eq!(reason, "a symbolic link (discovery follows none)"),
        other => panic!("{other:?}"),
    }
    match outcome_of(&found, "libbroken.so") {
        Outcome::Rejected(error) => assert!(matches!(error, Error::BadMagic { .. }), "{error:?}"),
        other => panic!("{other:?}"),
    }
    match outcome_of(&found, "libaborts.so") {
        Outcome::Rejected(Error::CheckFailed { reason, .. }) => {
            assert!(reason.contains("SIGABRT"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        outcome_of(&found, "libempty.so"),
        Outcome::Rejected(_)
    ));

    let conflicts: Vec<_> = found.conflicts().collect();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].0, "threshold");
    let err = found.plugin_for("threshold").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "operator `threshold` is offered by more than one library: `{}` and `{}`; load the one to use by its path with `Plugin::load`, or take the others out of the folders searched",
            dir.join("libthreshold.so").display(),
            dir.join("libthreshold_copy.so").display()
        )
    );
    assert_eq!(
        found.plugin_for("passthrough").unwrap().path(),
        dir.join("libtoolkit.so")
    );
    let err = found.plugin_for("nope").unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "no plugin found offers operator `nope`; found: `delay`, `passthrough`, `passthrough_view`, `sink`, `tag`, `tally`, `threshold` (in 2 libraries); rejected: `{}` was not loaded: ",
            dir.join("libaborts.so").display()
        )),
        "{err}"
    );
    // Nothing found at all.
    let empty = folder("empty");
    assert_eq!(
        Discovery::new([&empty])
            .scan()
            .plugin_for("nope")
            .unwrap_err()
            .to_string(),
        "no plugin found offers operator `nope`; found: none"
    );
    // No folder at all: said why.
    assert_eq!(
        Discovery::new(Vec::<PathBuf>::new())
            .scan()
            .plugin_for("nope")
            .unwrap_err()
            .to_string(),
        "no plugin found offers operator `nope`; found: none (no folder was given to search)"
    );
    // A library that was refused may be the one meant: it is named, with why.
    let refused = folder("refused-only");
    std::fs::copy(fixture("ABI_MINOR"), refused.join("libnewer.so")).unwrap();
    assert_eq!(
        Discovery::new([&refused])
            .checked(false)
            .scan()
            .plugin_for("c_op")
            .unwrap_err()
            .to_string(),
        format!(
            "no plugin found offers operator `c_op`; found: none; rejected: `{}` was built for oplink ABI 2.9 (oplink 0.9.0), newer than this host's 2.2 (oplink 0.2.0): load it with a host built on oplink 0.9.0 or newer",
            refused.join("libnewer.so").display()
        )
    );
    // Of many refused, three are named and the others counted.
    let many = folder("refused-many");
    for name in ["a", "b", "c", "d", "e"] {
        std::fs::copy(fixture("ABI_MINOR"), many.join(format!("lib{name}.so"))).unwrap();
    }
    let refusal = |name: &str| {
        format!(
            "`{}` was built for oplink ABI 2.9 (oplink 0.9.0), newer than this host's 2.2 (oplink 0.2.0): load it with a host built on oplink 0.9.0 or newer",
            many.join(format!("lib{name}.so")).display()
        )
    };
    assert_eq!(
        Discovery::new([&many])
            .checked(false)
            .scan()
            .plugin_for("c_op")
            .unwrap_err()
            .to_string(),
        format!(
            "no plugin found offers operator `c_op`; found: none; rejected: {}; {}; {}; and 2 more libraries",
            refusal("a"),
            refusal("b"),
            refusal("c")
        )
    );
    // A library behind a symbolic link is passed over: said, since it may be the one meant.
    let linked = folder("linked-only");
    std::os::unix::fs::symlink(plugin_path("threshold"), linked.join("libthreshold.so")).unwrap();
    assert_eq!(
        Discovery::new([&linked])
            .scan()
            .plugin_for("threshold")
            .unwrap_err()
            .to_string(),
        "no plugin found offers operator `threshold`; found: none; skipped: 1 symbolic link (discovery follows none)"
    );
    let unique: Vec<&str> = found.operators().map(|(op, _)| op.name()).collect();
    assert_eq!(unique, common::TOOLKIT_OPERATORS);
    assert_eq!(found.plugins().len(), 3);
    // Each loaded file comes with its own plugin; every other file with none.
    for (entry, plugin) in found.entries_with_plugins() {
        match (&entry.outcome, plugin) {
            (Outcome::Loaded(_), Some(plugin)) => assert_eq!(plugin.path(), entry.path),
            (Outcome::Loaded(_), None) => panic!("{} loaded without a plugin", entry),
            (_, plugin) => assert!(plugin.is_none(), "{entry}"),
        }
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("rejected ") && l.contains("libaborts.so"))
    );
}

#[test]
fn discovery_reads_its_folders_from_oplink_plugin_path_and_reports_an_unreadable_one() {
    // In a process that runs only this test: no other thread reads the environment while
    // it is written (the other tests here load libraries, and `dlopen` reads it).
    common::in_child(
        "discovery_reads_its_folders_from_oplink_plugin_path_and_reports_an_unreadable_one",
        plugin_path_from_the_environment,
    );
}

fn plugin_path_from_the_environment() {
    let dir = folder("from-env");
    copy(&plugin_path("threshold"), &dir, "libthreshold.so");
    let missing = dir.join("missing");
    let value = std::env::join_paths([dir.clone(), PathBuf::new(), missing.clone()]).unwrap();
    // SAFETY: this process runs only this test (`in_child`), on one thread.
    unsafe { std::env::set_var(oplink_host::PLUGIN_PATH_VAR, &value) };
    let discovery = Discovery::from_env();
    assert_eq!(discovery.folders(), [dir.clone(), missing.clone()]);
    let found = discovery.checked(false).scan();
    assert!(matches!(
        outcome_of(&found, "libthreshold.so"),
        Outcome::Loaded(_)
    ));
    match outcome_of(&found, "missing") {
        Outcome::Rejected(error) => assert_eq!(
            error.to_string(),
            format!(
                "cannot search `{}` for plugins: No such file or directory",
                missing.display()
            )
        ),
        other => panic!("{other:?}"),
    }
    // A library given as a folder: what to give instead.
    let library = dir.join("libthreshold.so");
    let found = Discovery::new([&library]).checked(false).scan();
    match outcome_of(&found, "libthreshold.so") {
        Outcome::Rejected(error) => assert_eq!(
            error.to_string(),
            format!(
                "cannot search `{}` for plugins: it is a file, not a folder (give its folder, or load the library by its path with `Plugin::load`)",
                library.display()
            )
        ),
        other => panic!("{other:?}"),
    }
    // A path through that library is no file: the system's words.
    let through = library.join("plugins");
    let found = Discovery::new([&through]).checked(false).scan();
    match outcome_of(&found, "plugins") {
        Outcome::Rejected(error) => assert_eq!(
            error.to_string(),
            format!(
                "cannot search `{}` for plugins: Not a directory",
                through.display()
            )
        ),
        other => panic!("{other:?}"),
    }
    // Unset, or empty: no folder, and the error of a lookup says why.
    for value in [None, Some("")] {
        // SAFETY: as above.
        unsafe {
            match value {
                Some(value) => std::env::set_var(oplink_host::PLUGIN_PATH_VAR, value),
                None => std::env::remove_var(oplink_host::PLUGIN_PATH_VAR),
            }
        }
        let discovery = Discovery::from_env();
        assert!(discovery.folders().is_empty());
        assert_eq!(
            discovery
                .scan()
                .plugin_for("threshold")
                .unwrap_err()
                .to_string(),
            "no plugin found offers operator `threshold`; found: none (`OPLINK_PLUGIN_PATH` is unset or empty, so no folder was searched: set it to the folders to search, separated by `:`)"
        );
    }
}

#[test]
fn a_folder_given_relative_is_reported_with_absolute_paths_as_plugins_name_theirs() {
    let dir = folder("relative");
    copy(&plugin_path("toolkit"), &dir, "libtoolkit.so");
    // The tests run in the crate's folder, one below the workspace.
    let cwd = std::env::current_dir().unwrap();
    let relative = Path::new("..").join(dir.strip_prefix(cwd.parent().unwrap()).unwrap());
    let found = Discovery::new([&relative]).checked(false).scan();
    let [entry] = found.entries() else {
        panic!("{:#?}", found.entries());
    };
    assert!(entry.path.is_absolute(), "{entry}");
    let plugin = found.plugin_for("passthrough").unwrap();
    assert_eq!(entry.path, plugin.path());
    assert!(
        entry
            .to_string()
            .starts_with(&format!("loaded   {}: ", plugin.path().display()))
    );
}

/// The entries come folder by folder, in the order given, each folder's files by name; an
/// operator offered in two folders is a conflict (no folder takes precedence, as in `PATH`).
#[test]
fn entries_come_by_folder_then_by_name_and_no_folder_takes_precedence() {
    let dir = folder("order");
    let (first, second) = (dir.join("first"), dir.join("second"));
    std::fs::create_dir(&first).unwrap();
    std::fs::create_dir(&second).unwrap();
    copy(&plugin_path("threshold"), &first, "libz.so");
    copy(&plugin_path("scale"), &first, "liba.so");
    copy(&plugin_path("scale"), &second, "libm.so");
    let found = Discovery::new([&first, &second]).checked(false).scan();
    let paths: Vec<&Path> = found.entries().iter().map(|e| e.path.as_path()).collect();
    assert_eq!(
        paths,
        [
            first.join("liba.so"),
            first.join("libz.so"),
            second.join("libm.so")
        ]
    );
    let err = found.plugin_for("scale").unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let conflicts: Vec<(&str, Vec<&Path>)> = found.conflicts().collect();
    let both = [first.join("liba.so"), second.join("libm.so")];
    let both: Vec<&Path> = both.iter().map(PathBuf::as_path).collect();
    assert_eq!(conflicts, [("scale", both.clone()), ("scale_batch", both)]);
    let once: Vec<&str> = found.operators().map(|(op, _)| op.name()).collect();
    assert_eq!(once, ["threshold"]);
}

#[test]
fn a_file_reached_twice_is_loaded_once() {
    let dir = folder("twice");
    copy(&plugin_path("threshold"), &dir, "libthreshold.so");
    // A hard link in the same folder, and the folder listed twice.
    std::fs::hard_link(
        dir.join("libthreshold.so"),
        dir.join("libthreshold_link.so"),
    )
    .unwrap();
    let found = Discovery::new([&dir, &dir]).scan();
    assert_eq!(found.plugins().len(), 1);
    assert_eq!(found.conflicts().count(), 0);
    assert_eq!(
        found.plugin_for("threshold").unwrap().path(),
        dir.join("libthreshold.so")
    );
    let skipped: Vec<String> = found
        .entries()
        .iter()
        .filter_map(|entry| match &entry.outcome {
            Outcome::Skipped(reason) => Some(reason.clone()),
            _ => None,
        })
        .collect();
    let same = |why: &str| {
        format!(
            "the same file as `{}`, found already ({why})",
            dir.join("libthreshold.so").display()
        )
    };
    assert_eq!(
        skipped,
        [
            same("a hard link"),
            same("its folder is listed twice"),
            same("a hard link")
        ]
    );
}

/// The file a checked load loads is the one its check opened: one renamed into place
/// meanwhile (here by the checked library's own constructor, with one whose constructor
/// aborts) is refused, not loaded unchecked.
#[test]
fn a_file_replaced_while_it_was_checked_is_not_loaded() {
    common::in_child("a_file_replaced_while_it_was_checked_is_not_loaded", || {
        let dir = folder("replaced-while-checked");
        let path = copy(&fixture("CTOR_SWAP"), &dir, "libswap.so");
        copy(&fixture("CTOR_ABORT"), &dir, "libswap.so.next");
        let err = Plugin::load_checked(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`{}` was not loaded: the file was replaced while it was being checked (by a new build?); load it again",
                path.display()
            )
        );
    });
}

/// A path whose file was removed since this process loaded from it is an error naming it,
/// where the dynamic loader would have handed back the library it still has.
#[test]
fn a_path_whose_file_was_removed_since_it_was_loaded_is_an_error() {
    let dir = folder("removed-since-loaded");
    let path = dir.join("libgone.so");
    std::fs::copy(plugin_path("threshold"), &path).unwrap();
    assert!(Plugin::load(&path).unwrap().operator("threshold").is_some());
    std::fs::remove_file(&path).unwrap();
    let err = Plugin::load(&path).unwrap_err();
    assert!(matches!(err, Error::Unreadable { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` cannot be read: No such file or directory (the library loaded from it earlier is still loaded, but the file is gone)",
            path.display()
        )
    );
}

/// A checked load of a file this process loaded already, not replaced since, opens
/// nothing new, so it forks no check (a zero timeout, which refuses every check, shows
/// it): a host that scans its folders again pays the check for new files only.
#[test]
fn a_checked_load_of_a_file_loaded_already_checks_nothing_again() {
    let dir = folder("checked-again");
    let path = copy(&plugin_path("threshold"), &dir, "libv.so");
    let err = Plugin::load_checked_within(&path, Duration::ZERO).unwrap_err();
    assert!(matches!(err, Error::CheckFailed { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` was not loaded: the check process did not finish within 0 s and was killed",
            path.display()
        )
    );
    let first = Plugin::load(&path).unwrap();
    assert_eq!(
        Plugin::load_checked_within(&path, Duration::ZERO).unwrap(),
        first
    );
    let found = Discovery::new([&dir]).check_timeout(Duration::ZERO).scan();
    assert_eq!(found.plugin_for("threshold").unwrap(), &first);
    // A new build put there is checked.
    std::fs::copy(plugin_path("toolkit"), dir.join("v.partial")).unwrap();
    std::fs::rename(dir.join("v.partial"), &path).unwrap();
    let found = Discovery::new([&dir])
        .check_timeout(Duration::ZERO)
        .fresh_when_replaced(true)
        .scan();
    assert!(
        matches!(
            outcome_of(&found, "libv.so"),
            Outcome::Rejected(Error::CheckFailed { .. })
        ),
        "{:?}",
        outcome_of(&found, "libv.so")
    );
}

/// Nor does a checked load of a file checked already, not replaced since, that did not
/// load: a library that is no plugin, one the host refuses (the load in this process then
/// refuses it again, with the same error); and what the pre-flight refuses (a file cut
/// short) is refused before any check. A library whose check ran none of its code is
/// checked again. So a host that scans a folder again forks for none
/// of them (a zero timeout, which refuses every check, shows it).
#[test]
fn a_checked_load_of_a_file_checked_already_checks_nothing_again() {
    let dir = folder("checked-already");
    let foreign = copy(&fixture("NOT_PLUGIN"), &dir, "libforeign.so");
    let refused = copy(&fixture("BAD_MAGIC"), &dir, "librefused.so");
    let bytes = std::fs::read(plugin_path("threshold")).unwrap();
    let cut = dir.join("libcut.so");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let refusal = Plugin::load(&refused).unwrap_err().to_string();
    let cut_refusal = Plugin::load(&cut).unwrap_err().to_string();
    assert!(
        cut_refusal.contains("is truncated or damaged"),
        "{cut_refusal}"
    );

    // Checked once, with time to finish.
    let found = Discovery::new([&dir]).scan();
    assert!(matches!(
        outcome_of(&found, "libforeign.so"),
        Outcome::Skipped(_)
    ));
    // Then never again: each scan gives the same outcomes with no time for a check.
    for _ in 0..3 {
        let found = Discovery::new([&dir]).check_timeout(Duration::ZERO).scan();
        assert!(
            matches!(outcome_of(&found, "libforeign.so"), Outcome::Skipped(_)),
            "{:?}",
            outcome_of(&found, "libforeign.so")
        );
        for (name, words) in [("librefused.so", &refusal), ("libcut.so", &cut_refusal)] {
            match outcome_of(&found, name) {
                Outcome::Rejected(error) => assert_eq!(&error.to_string(), words),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
    let err = Plugin::load_checked_within(&foreign, Duration::ZERO).unwrap_err();
    assert!(matches!(err, Error::NotAPlugin { .. }), "{err:?}");

    // A library the loader could not open (a symbol it needs is missing) ran none of its
    // constructors: it is checked again, as a later load may get that far.
    let unresolved = copy(&fixture("UNDEFINED_SYMBOL"), &dir, "libunresolved.so");
    let err = Plugin::load_checked(&unresolved).unwrap_err();
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
    let err = Plugin::load_checked_within(&unresolved, Duration::ZERO).unwrap_err();
    assert!(matches!(err, Error::CheckFailed { .. }), "{err:?}");

    // A new file put at the path is checked.
    let partial = dir.join("foreign.partial");
    std::fs::copy(fixture("NOT_PLUGIN"), &partial).unwrap();
    std::fs::rename(&partial, &foreign).unwrap();
    let err = Plugin::load_checked_within(&foreign, Duration::ZERO).unwrap_err();
    assert!(matches!(err, Error::CheckFailed { .. }), "{err:?}");
}

/// A file written over in place (same inode) with content of the same size, its
/// modification time set back as `cp -p` or `touch -r` set it, is checked again: it may be
/// another library, whose constructors no check ran. Its change time tells it.
#[test]
fn a_file_written_over_in_place_with_its_size_and_time_kept_is_checked_again() {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    let dir = folder("written-over");
    let path = copy(&fixture("BAD_MAGIC"), &dir, "librefused.so");
    let refusal = Plugin::load_checked(&path).unwrap_err();
    assert!(matches!(refusal, Error::BadMagic { .. }), "{refusal:?}");
    // Checked: not again.
    let again = Plugin::load_checked_within(&path, Duration::ZERO).unwrap_err();
    assert!(matches!(again, Error::BadMagic { .. }), "{again:?}");

    let before = std::fs::metadata(&path).unwrap();
    // Past the clock's tick, so that the write's change time is another.
    std::thread::sleep(Duration::from_millis(50));
    let bytes = std::fs::read(&path).unwrap();
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all(&bytes).unwrap();
    file.set_modified(before.modified().unwrap()).unwrap();
    drop(file);
    let after = std::fs::metadata(&path).unwrap();
    let id = |m: &std::fs::Metadata| (m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec());
    assert_eq!(id(&after), id(&before), "the same inode, size and time");

    let err = Plugin::load_checked_within(&path, Duration::ZERO).unwrap_err();
    assert!(matches!(err, Error::CheckFailed { .. }), "{err:?}");
}

/// A host that scans again reloads only when it found another build than the one an
/// instance runs on: two `Plugin`s are equal when they are the same mapped build (clones,
/// loads of one unchanged file), and a new build at the same path is not equal to the old.
#[test]
fn plugins_are_equal_when_they_are_the_same_build() {
    let dir = folder("same-build");
    let path = dir.join("libw.so");
    std::fs::copy(plugin_path("toolkit"), &path).unwrap();
    let scan = || Discovery::new([&dir]).fresh_when_replaced(true).scan();
    let first = Plugin::load(&path).unwrap();
    assert_eq!(first, first.clone());
    assert_eq!(first, Plugin::load(&path).unwrap());
    let found = scan();
    assert_eq!(
        found.plugin_for("tally").unwrap(),
        &first,
        "an unchanged file"
    );
    let live = oplink_host::LiveInstance::new(
        &first,
        "tally",
        serde_json::json!({"key": "customer"}),
        &oplink_host::Host::default(),
        None,
    )
    .unwrap();
    assert_eq!(live.plugin(), first);
    // Another copy of the same bytes is another build, as is a new build at the path.
    let copy = Plugin::load_fresh(&path).unwrap();
    assert_ne!(copy, first);
    std::fs::copy(plugin_path("toolkit-next"), dir.join("w.partial")).unwrap();
    std::fs::rename(dir.join("w.partial"), &path).unwrap();
    let again = scan();
    let new = again.plugin_for("tally").unwrap();
    assert_ne!(new, &live.plugin(), "a new build at the same path");
    live.reload(new).unwrap();
    assert_eq!(&live.plugin(), scan().plugin_for("tally").unwrap());
    let builds: std::collections::HashSet<Plugin> =
        [first.clone(), first, copy, new.clone(), live.plugin()].into();
    assert_eq!(builds.len(), 3);
}

/// Once `Plugin::load_fresh` loaded the new build put at a path, that build is what a
/// load of the path gives (`Plugin::load`, a checked load, a scan), not `Error::Replaced`
/// with advice to load it afresh once more, which would map another copy of it; a build put
/// there after it is refused again.
#[test]
fn a_path_loaded_fresh_gives_that_build_to_every_load_after() {
    let dir = folder("loaded-fresh-then-loaded");
    let path = dir.join("libz.so");
    let put = |from: PathBuf| {
        let partial = dir.join("z.partial");
        std::fs::copy(from, &partial).unwrap();
        std::fs::rename(&partial, &path).unwrap();
    };
    put(plugin_path("threshold"));
    assert!(Plugin::load(&path).unwrap().operator("threshold").is_some());
    put(plugin_path("toolkit"));
    let fresh = Plugin::load_fresh(&path).unwrap();
    // A live instance that may run on this build only: a reload to another copy of it is
    // refused, one to this build maps nothing and is not.
    let live = oplink_host::LiveInstance::new(
        &fresh,
        "passthrough",
        serde_json::Value::Null,
        &oplink_host::Host::default(),
        None,
    )
    .unwrap()
    .with_max_generations(1);
    let scan = Discovery::new([&dir]).scan();
    for (how, again) in [
        ("Plugin::load", Plugin::load(&path)),
        ("Plugin::load_checked", Plugin::load_checked(&path)),
        ("a scan", scan.plugin_for("passthrough").cloned()),
    ] {
        let again = again.unwrap_or_else(|e| panic!("{how}: {e}"));
        assert_eq!(again.path(), path, "{how}");
        live.reload(&again)
            .unwrap_or_else(|e| panic!("{how} gave another copy of the build: {e}"));
    }
    put(plugin_path("threshold"));
    let err = Plugin::load(&path).unwrap_err();
    assert!(matches!(err, Error::Replaced { .. }), "{err:?}");
}

/// A path whose file was replaced since this process loaded from it (a new build renamed
/// into place) is refused, saying how to load the new build, where the dynamic loader
/// would have handed back the first one; a discovery scan says the same of it.
#[test]
fn a_path_whose_file_was_replaced_since_it_was_loaded_is_refused() {
    let dir = folder("replaced-since-loaded");
    let path = dir.join("libx.so");
    let put = |from: PathBuf| {
        let partial = dir.join("x.partial");
        std::fs::copy(from, &partial).unwrap();
        std::fs::rename(&partial, &path).unwrap();
    };
    put(plugin_path("threshold"));
    let first = Plugin::load(&path).unwrap();
    assert!(first.operator("threshold").is_some());
    // The same file again is the same library.
    assert!(Plugin::load(&path).unwrap().operator("threshold").is_some());
    put(plugin_path("toolkit"));
    let said = format!(
        "`{}` is not the file this process loaded from that path before (a new build replaced it, or it was written over in place?), and the dynamic loader keeps serving the first under that name: load the new one with `Plugin::load_fresh` (and put new builds in place by renaming them: a library overwritten in place changes under the instances running from it)",
        path.display()
    );
    let err = Plugin::load(&path).unwrap_err();
    assert!(matches!(err, Error::Replaced { .. }), "{err:?}");
    assert_eq!(err.to_string(), said);
    let found = Discovery::new([&dir]).scan();
    assert!(
        matches!(outcome_of(&found, "libx.so"), Outcome::Rejected(e) if e.to_string() == said),
        "{:?}",
        outcome_of(&found, "libx.so")
    );
    let fresh = Plugin::load_fresh(&path).unwrap();
    assert!(fresh.operator("passthrough").is_some());
    // A host that scans again for new builds asks for them to be loaded afresh.
    let again = Discovery::new([&dir]).fresh_when_replaced(true).scan();
    assert!(
        matches!(outcome_of(&again, "libx.so"), Outcome::Loaded(names) if names.contains(&"passthrough".to_owned())),
        "{:?}",
        outcome_of(&again, "libx.so")
    );
    assert!(again.plugin_for("passthrough").is_ok());
    // Scanning the unchanged folder again gives the same build, not another copy: a live
    // instance reloaded from each scan's build runs on two builds, not three.
    let live = oplink_host::LiveInstance::new(
        &Plugin::load(plugin_path("toolkit")).unwrap(),
        "passthrough",
        serde_json::Value::Null,
        &oplink_host::Host::default(),
        None,
    )
    .unwrap()
    .with_max_generations(2);
    live.reload(again.plugin_for("passthrough").unwrap())
        .unwrap();
    let third = Discovery::new([&dir]).fresh_when_replaced(true).scan();
    live.reload(third.plugin_for("passthrough").unwrap())
        .unwrap();

    // A file written over in place keeps its inode: what else `stat` says tells it apart,
    // before the loader reads what is now mapped (here the same bytes, written again, so
    // that this process's mapping stays whole; other bytes would change it under us).
    let inplace = dir.join("libinplace.so");
    std::fs::copy(plugin_path("threshold"), &inplace).unwrap();
    assert!(Plugin::load(&inplace).is_ok());
    // What only moves the change time leaves it the same file: a `chmod`, a hard link, a
    // rename away and back.
    let mode = std::fs::metadata(&inplace).unwrap().permissions();
    std::fs::set_permissions(&inplace, mode).unwrap();
    std::fs::hard_link(&inplace, dir.join("libinplace_link.so")).unwrap();
    std::fs::rename(&inplace, dir.join("away.so")).unwrap();
    std::fs::rename(dir.join("away.so"), &inplace).unwrap();
    assert!(Plugin::load(&inplace).is_ok(), "the same file, untouched");
    let modified = std::fs::metadata(&inplace).unwrap().modified().unwrap();
    let bytes = std::fs::read(&inplace).unwrap();
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&inplace)
            .unwrap();
        file.write_all(&bytes).unwrap();
        // A later modification time, whatever the clock's resolution on this filesystem.
        file.set_modified(modified + std::time::Duration::from_secs(2))
            .unwrap();
    }
    assert!(
        matches!(Plugin::load(&inplace).unwrap_err(), Error::Replaced { .. }),
        "a library written over in place is refused"
    );
    // A build that was refused is not kept: the fixed one put in its place loads.
    let refused = dir.join("liby.so");
    std::fs::copy(fixture("ABI_MINOR"), dir.join("y.partial")).unwrap();
    std::fs::rename(dir.join("y.partial"), &refused).unwrap();
    assert!(matches!(
        Plugin::load(&refused).unwrap_err(),
        Error::AbiMinor { .. }
    ));
    std::fs::copy(plugin_path("threshold"), dir.join("y.partial")).unwrap();
    std::fs::rename(dir.join("y.partial"), &refused).unwrap();
    assert!(
        Plugin::load(&refused)
            .unwrap()
            .operator("threshold")
            .is_some()
    );
}
