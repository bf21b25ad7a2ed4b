//! A host that ignores `SIGCHLD` (as many daemons do) has its children reaped by the system:
//! a checked load still takes the check's report. In a test binary of its own, since the
//! setting is the whole process's.

mod common;

use common::{fixture, plugin_path};
use oplink_host::Plugin;

#[test]
fn checked_loads_work_and_refuse_in_a_host_that_ignores_sigchld() {
    // Built first: building runs `cargo` and the C compiler, which need their children's
    // statuses.
    let path = plugin_path("toolkit");
    let aborts = fixture("CTOR_ABORT");
    // SAFETY: sets this process's disposition of one signal; no handler runs.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let plugin = Plugin::load_checked(&path).unwrap();
    assert!(plugin.operator("passthrough").is_some());

    // A library that ends the check process: refused all the same, and said so, although
    // its status is lost.
    let err = Plugin::load_checked(&aborts).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "`{}` was not loaded: the check process ended while opening it (a crash, an abort or an exit; its status is lost: this process ignores `SIGCHLD`, or something else reaped the child)",
            std::path::absolute(&aborts).unwrap().display()
        )
    );
}
