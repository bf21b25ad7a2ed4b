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
