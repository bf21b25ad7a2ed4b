//! `oplink check`: good libraries pass, each bad one is reported.

use crate::common::{fixture, plugin_path};

use crate::helpers::{ORDERS, THRESHOLD, fails_with, oplink, stderr, stdout};

#[test]
fn check_passes_good_libraries_and_exits_zero() {
    let output = oplink()
        .arg("check")
        .arg(plugin_path("threshold"))
        .arg(c_operator::LIBRARY)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        format!(
            "ok       {}: threshold 1.0.0\nok       {}: c_filter 1.0.0\n",
            plugin_path("threshold").display(),
            c_operator::LIBRARY
        )
    );
}

/// A folder of one good library and every kind of bad one: each gets its line, the
/// command survives the library whose constructor aborts, and exits 1.
#[test]
fn check_reports_each_bad_library_and_exits_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(plugin_path("threshold"), d.join("libgood.so")).unwrap();
    std::fs::copy(fixture("ABI_MAJOR"), d.join("libabi3.so")).unwrap();
    std::fs::copy(fixture("CTOR_ABORT"), d.join("libctor.so")).unwrap();
    let mut arm = std::fs::read(plugin_path("threshold")).unwrap();
    arm[0x12..0x14].copy_from_slice(&183u16.to_le_bytes());
    std::fs::write(d.join("libarm.so"), arm).unwrap();
    let output = oplink()
        .arg("check")
        .arg(d)
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    let text = stdout(&output);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no line for {name} in:\n{text}"))
            .to_owned()
    };
    let path = |name: &str| d.join(name).display().to_string();
    assert_eq!(
        line("libabi3.so"),
        format!(
            "FAILED   {}: `{}` was built for oplink ABI 3, but this host speaks ABI 2: load it with a host built on a newer oplink",
            path("libabi3.so"),
            path("libabi3.so")
        )
    );
    assert_eq!(
        line("libarm.so"),
        format!(
            "FAILED   {}: `{}` is not a library for this host: it was built for aarch64, and this host is x86_64",
            path("libarm.so"),
            path("libarm.so")
        )
    );
    assert!(line("libctor.so").starts_with("FAILED   "), "{text}");
    assert!(line("libctor.so").contains("SIGABRT"), "{text}");
    assert_eq!(
        line("libgood.so"),
        format!("ok       {}: threshold 1.0.0", path("libgood.so"))
    );
    assert_eq!(
        stderr(&output),
        "oplink: 3 of 4 libraries failed the check\n"
    );
    // A library named by itself and in its folder is said once.
    let output = oplink()
        .arg("check")
        .arg(d.join("libgood.so"))
        .arg(d)
        .assert()
        .failure()
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output).matches("libgood.so").count(),
        1,
        "{}",
        stdout(&output)
    );
    // A link to a library in its folder is skipped, and hides not the library's verdict.
    let linked = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("ABI_MAJOR"), linked.path().join("libabi3.so")).unwrap();
    std::os::unix::fs::symlink("libabi3.so", linked.path().join("a.so")).unwrap();
    let output = oplink()
        .arg("check")
        .arg(linked.path())
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert!(
        stdout(&output).starts_with(&format!(
            "FAILED   {}",
            linked.path().join("libabi3.so").display()
        )),
        "{}",
        stdout(&output)
    );
    // A loop of links is no missing file.
    let looped = tempfile::tempdir().unwrap();
    let (one, two) = (
        looped.path().join("libone.so"),
        looped.path().join("libtwo.so"),
    );
    std::os::unix::fs::symlink(&two, &one).unwrap();
    std::os::unix::fs::symlink(&one, &two).unwrap();
    let output = oplink()
        .arg("check")
        .arg(&one)
        .assert()
        .failure()
        .get_output()
        .clone();
    assert!(
        stdout(&output).ends_with("Too many levels of symbolic links\n"),
        "{}",
        stdout(&output)
    );

    // A path that is not there, and a folder with no plugin: each a FAILED line.
    let empty = tempfile::tempdir().unwrap();
    let output = oplink()
        .args(["check", "no/such.so"])
        .arg(empty.path())
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(
        stdout(&output),
        format!(
            "FAILED   no/such.so: does not exist\nFAILED   {}: a folder without oplink plugins (*.so)\n",
            empty.path().display()
        )
    );
    assert_eq!(
        stderr(&output),
        "oplink: 2 of 2 paths failed the check; `no/such.so` does not exist\n"
    );
    // A path that is not there is no library: the summary counts paths, and says which is
    // not there (or how many).
    fails_with(
        oplink().args(["check", "/nonexistent"]),
        "1 of 1 path failed the check; `/nonexistent` does not exist",
    );
    fails_with(
        oplink()
            .args(["check", "no/such.so", "/nonexistent"])
            .arg(plugin_path("threshold")),
        "2 of 3 paths failed the check; 2 of them do not exist",
    );
}

/// A library is first opened in a check process: what its constructor prints does not reach
/// the command's output, and a check process whose parent is killed (while a constructor
/// hangs) does not live on.
#[test]
fn a_check_process_neither_prints_into_the_output_nor_outlives_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_path("threshold"), dir.path().join("libthreshold.so")).unwrap();
    std::fs::copy(fixture("CTOR_PRINT"), dir.path().join("libtalks.so")).unwrap();
    let output = oplink()
        .args([
            "run",
            ORDERS,
            "--quiet",
            "--to",
            "csv",
            "--emit",
            "inserts",
            "--plugins",
        ])
        .arg(dir.path())
        .args(["--op", THRESHOLD])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&output).starts_with("customer,amount\n"),
        "{}",
        stdout(&output)
    );
    assert!(
        !stdout(&output).contains("constructor"),
        "{}",
        stdout(&output)
    );

    // The pids whose parent is `pid`.
    let children = |pid: u32| -> Vec<u32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| {
                let stat = std::fs::read_to_string(entry.ok()?.path().join("stat")).ok()?;
                // pid (comm) state ppid ...: the command may hold spaces and parentheses.
                let after = &stat[stat.rfind(')')? + 2..];
                let ppid: u32 = after.split(' ').nth(1)?.parse().ok()?;
                (ppid == pid).then(|| stat.split(' ').next()?.parse().ok())?
            })
            .collect()
    };
    let mut check = std::process::Command::new(env!("CARGO_BIN_EXE_oplink"))
        .args(["check", "--timeout", "60"])
        .arg(fixture("CTOR_HANG"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let probe = loop {
        if let Some(&probe) = children(check.id()).first() {
            break probe;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "no check process appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    check.kill().unwrap();
    check.wait().unwrap();
    let gone = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |stat| stat.contains(") Z "))
    };
    while !gone(probe) {
        assert!(
            started.elapsed().as_secs() < 30,
            "the check process {probe} outlived its parent"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
