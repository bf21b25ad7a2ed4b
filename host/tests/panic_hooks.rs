//! A plugin that installs a panic hook of its own: chained to the one it replaces, the
//! panics oplink catches keep their location; replacing it loses the location (the message
//! stays). Each case in a child process, since a panic hook is global to the library.

mod common;

use common::{in_child, insert, plugin_path};
use oplink_host::{Error, Host, Plugin};
use serde_json::json;

fn panic_location(hook: &str) -> (String, Option<String>) {
    let plugin = Plugin::load(plugin_path("faulty")).unwrap();
    let mut op = plugin
        .instantiate(
            "faulty",
            json!({"fail_in": "apply", "how": "panic", "hook": hook}),
            &Host::default(),
        )
        .unwrap();
    match op.apply(insert(1, &[1])).unwrap_err() {
        Error::Panicked {
            message, location, ..
        } => (message, location),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_chained_panic_hook_keeps_the_location() {
    in_child("a_chained_panic_hook_keeps_the_location", || {
        let (message, location) = panic_location("chain");
        assert_eq!(message, "faulty panics in apply");
        assert!(
            location.is_some_and(|l| l.starts_with("examples/faulty/src/lib.rs:")),
            "the location survives a chained hook"
        );
    });
}

#[test]
fn a_replaced_panic_hook_loses_the_location_but_not_the_message() {
    in_child(
        "a_replaced_panic_hook_loses_the_location_but_not_the_message",
        || {
            let (message, location) = panic_location("replace");
            assert_eq!(message, "faulty panics in apply");
            assert_eq!(
                location, None,
                "documented: replacing oplink's hook loses it"
            );
        },
    );
}

/// The line oplink's hook prints before the process aborts in `faulty`'s `apply`, configured
/// to fail `how`, with line and column numbers as `N`.
fn aborting_line(test: &str, how: &str) -> String {
    const CHILD: &str = "OPLINK_TEST_ABORT_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let plugin = Plugin::load(plugin_path("faulty")).unwrap();
        let mut op = plugin
            .instantiate(
                "faulty",
                json!({"fail_in": "apply", "how": how}),
                &Host::default(),
            )
            .unwrap();
        let _ = op.apply(insert(1, &[1]));
        unreachable!("the process aborts in `apply`");
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(output.status.signal(), Some(6), "SIGABRT: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("oplink: the process aborts"))
        .unwrap_or_else(|| panic!("no line of oplink's before the abort:\n{stderr}"));
    let mut numbered = String::new();
    for c in line.chars() {
        if !c.is_ascii_digit() {
            numbered.push(c);
        } else if !numbered.ends_with('N') {
            numbered.push('N');
        }
    }
    numbered
}

/// A `Drop` that panics while an operator's panic unwinds aborts the process (Rust cannot
/// contain it, README "Trust"); oplink's hook, which keeps the panics it catches off
/// standard error, prints them before the abort, since nothing else says why the host died.
#[test]
fn an_abort_for_a_panic_during_unwinding_names_the_plugins_panics() {
    assert_eq!(
        aborting_line(
            "an_abort_for_a_panic_during_unwinding_names_the_plugins_panics",
            "drop_while_unwinding"
        ),
        "oplink: the process aborts: in a call of a plugin, a `Drop` panicked while an earlier panic was unwinding, which Rust cannot contain; the plugin's panics before it, first to last: `faulty panics in apply, with a value that panics in its drop` (at examples/faulty/src/lib.rs:N:N); `faulty panics in a drop during unwinding` (at examples/faulty/src/lib.rs:N:N). Make that code not panic (a `Drop` can check `std::thread::panicking()`); see the README's \"Trust\""
    );
}

/// A panic that reaches an `extern "C"` function of the plugin's own aborts the process as
/// well; the line before says so, with the panic and how such a function avoids it.
#[test]
fn an_abort_for_a_panic_in_an_extern_c_function_names_it() {
    assert_eq!(
        aborting_line(
            "an_abort_for_a_panic_in_an_extern_c_function_names_it",
            "panic_in_extern_c"
        ),
        "oplink: the process aborts: in a call of a plugin, a panic reached a function that cannot unwind (an `extern \"C\"` function of its own, say), which Rust cannot contain; the plugin's panics before it, first to last: `faulty panics in an extern C function` (at examples/faulty/src/lib.rs:N:N). Make that code not panic (an `extern \"C\"` function can catch its panics with `std::panic::catch_unwind`); see the README's \"Trust\""
    );
}
