//! A host that ignores `SIGCHLD` (as many daemons do) has its children reaped by the system:
//! a checked load still takes the check's report. In a test binary of its own, since the
//! setting is the whole process's.

mod common;

use common::plugin_path;
use oplink_host::Plugin;

#[test]
fn a_checked_load_works_in_a_host_that_ignores_sigchld() {
    // Built first: building runs `cargo`, which needs its children's statuses.
    let path = plugin_path("toolkit");
    // SAFETY: sets this process's disposition of one signal; no handler runs.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let plugin = Plugin::load_checked(&path).unwrap();
    assert!(plugin.operator("passthrough").is_some());
}
