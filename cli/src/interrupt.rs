//! Temporary files that an interrupted run removes. `oplink run` writes its output and
//! snapshots under temporary names and renames them into place when complete; a run ended
//! by Ctrl-C, `SIGTERM` or `SIGHUP` would leave those behind, one more per run. Each is
//! listed here while it exists, and a handler for those signals removes whatever is listed,
//! then lets the signal end the process as it would have (so the exit status still tells a
//! shell which signal it was).
//!
//! The handler may only do what is safe in a signal handler: it reads the list through
//! atomics and calls `unlink`, `signal` and `raise`. So a path is never freed once listed
//! (a handler on another thread could be reading it): a run lists a handful.

use std::ffi::{CStr, CString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::null_mut;
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, Ordering};

/// How many files may be listed at once (an output and a snapshot per operator); a file
/// past that is simply not removed on a signal.
const SLOTS: usize = 64;

static LISTED: [AtomicPtr<c_char>; SLOTS] = [const { AtomicPtr::new(null_mut()) }; SLOTS];

static INSTALL: Once = Once::new();

/// Lists `path` for removal if the process is interrupted (and installs the handler the
/// first time).
pub fn remove_on_interrupt(path: &Path) {
    INSTALL.call_once(install);
    let Ok(path) = CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    let raw = path.into_raw();
    for slot in &LISTED {
        if slot
            .compare_exchange(null_mut(), raw, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
    // SAFETY: made by `into_raw` above and listed nowhere.
    drop(unsafe { CString::from_raw(raw) });
}

/// Takes `path` off the list: call it once the file is renamed into place or removed.
pub fn forget(path: &Path) {
    let bytes = path.as_os_str().as_bytes();
    for slot in &LISTED {
        let listed = slot.load(Ordering::Acquire);
        // SAFETY: a listed pointer is a `CString`'s, never freed (see the module notes).
        if !listed.is_null() && unsafe { CStr::from_ptr(listed) }.to_bytes() == bytes {
            let _ = slot.compare_exchange(listed, null_mut(), Ordering::AcqRel, Ordering::Relaxed);
            return;
        }
    }
}

/// Removes `path`, a listed temporary file that will not be kept, and takes it off the list.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
    forget(path);
}

extern "C" fn on_signal(signal: c_int) {
    for slot in &LISTED {
        let listed = slot.load(Ordering::Acquire);
        if !listed.is_null() {
            // SAFETY: a NUL-terminated path that is never freed; `unlink` is
            // async-signal-safe.
            unsafe { libc::unlink(listed) };
        }
    }
    // SAFETY: both are async-signal-safe; the default action then ends the process.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed `sigaction` is a valid value of the type.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: with a null new action, `sigaction` only reads the current one into `old`.
        let read = unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) };
        if read != 0 || old.sa_sigaction == libc::SIG_IGN {
            // A signal the caller ignores (`nohup`) stays ignored.
            continue;
        }
        // SAFETY: a zeroed `sigaction` is a valid one with no flags and an empty mask; the
        // handler is an `extern "C" fn(c_int)`, as `sa_sigaction` without `SA_SIGINFO`
        // expects.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}
