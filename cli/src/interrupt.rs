//! Temporary files that an interrupted run removes. `oplink run` writes its output and
//! snapshots under temporary names and renames them into place when complete; a run ended
//! by Ctrl-C, `SIGTERM` or `SIGHUP` would leave those behind, one more per run. Each is
//! listed here while it exists, and a handler for those signals removes whatever is listed,
//! then lets the signal end the process as it would have (so the exit status still tells a
//! shell which signal it was).
//!
//! The handler may only do what is safe in a signal handler: it reads the list through
//! atomics and calls `write` (a note saying what was left as it was), `unlink`, `signal`
//! and `raise`. So a path is never freed once listed
//! (a handler on another thread could be reading it): a run lists a handful. A path taken
//! off the list is kept in [`RETIRED`], so that it stays reachable: a leak checker
//! (`valgrind --leak-check=full`, LeakSanitizer), run on `oplink run --state` to check a
//! C operator, then counts it as still reachable rather than lost, and so reports nothing
//! that is oplink's.

use std::ffi::{CStr, CString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};
use std::sync::{Mutex, Once};

/// How many files may be listed at once (an output and a snapshot per operator); a file
/// past that is simply not removed on a signal.
const SLOTS: usize = 64;

static LISTED: [AtomicPtr<c_char>; SLOTS] = [const { AtomicPtr::new(null_mut()) }; SLOTS];

static INSTALL: Once = Once::new();

/// The paths taken off [`LISTED`] and [`FOLDERS`]: never freed (see the module notes), but
/// held here rather than lost.
static RETIRED: Mutex<Vec<AtomicPtr<c_char>>> = Mutex::new(Vec::new());

/// Keeps `path`, taken off a list, reachable for the rest of the process.
fn retire(path: *mut c_char) {
    if path.is_null() {
        return;
    }
    let mut retired = RETIRED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    retired.push(AtomicPtr::new(path));
}

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
            if slot
                .compare_exchange(listed, null_mut(), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                retire(listed);
            }
            return;
        }
    }
}

/// The folders a run made (for `--state`), deepest first: removed on a signal after the
/// files, each while it is empty.
static FOLDERS: [AtomicPtr<c_char>; 16] = [const { AtomicPtr::new(null_mut()) }; 16];

/// Lists `folders`, which the run made (the deepest first), for removal if the process is
/// interrupted before [`forget_folders`]; a folder past the list's room is left.
pub fn remove_folders_on_interrupt(folders: &[std::path::PathBuf]) {
    INSTALL.call_once(install);
    for (slot, folder) in FOLDERS.iter().zip(folders) {
        let Ok(path) = CString::new(folder.as_os_str().as_bytes()) else {
            return;
        };
        // Never freed (see the module notes); a slot listed before is left as it was.
        let raw = path.into_raw();
        if slot
            .compare_exchange(null_mut(), raw, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: made by `into_raw` above and listed nowhere.
            drop(unsafe { CString::from_raw(raw) });
            return;
        }
    }
}

/// Takes every folder off the list: the run keeps its state in them.
pub fn forget_folders() {
    for slot in &FOLDERS {
        retire(slot.swap(null_mut(), Ordering::AcqRel));
    }
}

/// Removes `path`, a listed temporary file that will not be kept, and takes it off the list.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
    forget(path);
}

/// What the handler writes to standard error before a signal ends the run (set by
/// [`note_on_stop`]; never freed, as the paths are not): the text and its length, behind
/// one pointer, so that the handler reads the two together.
static STOP_NOTE: AtomicPtr<&'static [u8]> = AtomicPtr::new(null_mut());

/// Whether the handler writes [`STOP_NOTE`]: cleared, rather than the note, once it would no
/// longer be true, so that the note stays reachable (a leak checker counts it as such, as
/// it does the paths).
static STOP_NOTE_ON: AtomicBool = AtomicBool::new(false);

/// Notes set before the last, by earlier runs in this process: kept reachable, as
/// [`RETIRED`] keeps paths.
static OLD_NOTES: Mutex<Vec<AtomicPtr<&'static [u8]>>> = Mutex::new(Vec::new());

/// Has a signal that ends the run before it keeps anything say `note` (a line, its
/// newline included) on standard error first: what was left as it was, and to run it
/// again. Once the run starts keeping what it wrote ([`hold`]) the note is dropped, since
/// it would no longer be true. (Installs the handler the first time.)
pub fn note_on_stop(note: String) {
    INSTALL.call_once(install);
    let text: &'static [u8] = Box::leak(note.into_bytes().into_boxed_slice());
    // A note set before, by an earlier run in this process, is never freed (the handler of
    // another thread may be reading it), but kept reachable.
    let old = STOP_NOTE.swap(Box::leak(Box::new(text)), Ordering::SeqCst);
    if !old.is_null() {
        let mut notes = OLD_NOTES.lock().unwrap_or_else(|e| e.into_inner());
        notes.push(AtomicPtr::new(old));
    }
    STOP_NOTE_ON.store(true, Ordering::SeqCst);
}

/// Set while the run keeps what it wrote (the output renamed into place, then each store,
/// then the snapshots): a signal then waits for [`Held`] to be dropped, since stopping half
/// way would keep some operators' state and not others' (and a run again would count the
/// kept part twice).
static HOLDING: AtomicBool = AtomicBool::new(false);

/// The signal that came while [`HOLDING`], if any (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);

/// Set when the hold lasts to the end of the process ([`Held::until_exit`]): nothing is
/// cut short by a signal then, so a second one (the work left, a plugin's `destroy`, say,
/// hangs) ends the process at once.
static UNTIL_EXIT: AtomicBool = AtomicBool::new(false);

/// Holds off `SIGINT`, `SIGTERM` and `SIGHUP` until dropped; one that came meanwhile then
/// takes effect. (`SIGKILL` cannot be held.)
pub struct Held(());

/// Holds off the signals that end a run, while it keeps what it wrote.
pub fn hold() -> Held {
    INSTALL.call_once(install);
    // What the note says (nothing was kept) is no longer sure from here.
    STOP_NOTE_ON.store(false, Ordering::SeqCst);
    HOLDING.store(true, Ordering::SeqCst);
    Held(())
}

impl Held {
    /// Keeps holding the signals to the end of the process, whose last act is
    /// [`release_at_exit`]: for a run that has kept all it wrote, which a signal can no
    /// longer cut short, but whose status would then say it failed.
    pub fn until_exit(self) {
        UNTIL_EXIT.store(true, Ordering::SeqCst);
        std::mem::forget(self);
    }
}

/// The name of signal number `signal`, for a message.
fn named(signal: c_int) -> &'static str {
    match signal {
        libc::SIGINT => "an interrupt (SIGINT)",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Lets go of signals held to the end of the process ([`Held::until_exit`]): one that came
/// meanwhile is named with `said` (what was complete when it came) before it takes effect.
pub fn release_at_exit(said: &dyn Fn(&str) -> String) {
    if !HOLDING.swap(false, Ordering::SeqCst) {
        return;
    }
    let signal = PENDING.swap(0, Ordering::SeqCst);
    if signal != 0 {
        crate::say!("{}", said(named(signal)));
        on_signal(signal);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HOLDING.store(false, Ordering::SeqCst);
        let signal = PENDING.swap(0, Ordering::SeqCst);
        if signal != 0 {
            on_signal(signal);
        }
    }
}

extern "C" fn on_signal(signal: c_int) {
    // Atomics only: what a signal handler may do.
    if HOLDING.load(Ordering::SeqCst)
        && !(UNTIL_EXIT.load(Ordering::SeqCst) && PENDING.load(Ordering::SeqCst) != 0)
    {
        PENDING.store(signal, Ordering::SeqCst);
        return;
    }
    let note = STOP_NOTE.load(Ordering::SeqCst);
    if STOP_NOTE_ON.swap(false, Ordering::SeqCst) && !note.is_null() {
        // SAFETY: `note` points at a leaked slice reference, never freed, to leaked bytes;
        // `write` is async-signal-safe (what it fails to write is left unwritten).
        unsafe {
            let text: &[u8] = *note;
            libc::write(2, text.as_ptr().cast(), text.len());
        }
    }
    for slot in &LISTED {
        let listed = slot.load(Ordering::Acquire);
        if !listed.is_null() {
            // SAFETY: a NUL-terminated path that is never freed; `unlink` is
            // async-signal-safe.
            unsafe { libc::unlink(listed) };
        }
    }
    for slot in &FOLDERS {
        let listed = slot.load(Ordering::Acquire);
        // SAFETY: as above; `rmdir` is async-signal-safe, and removes only an empty folder.
        if listed.is_null() || unsafe { libc::rmdir(listed) } != 0 {
            break;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    /// A path taken off the lists stays reachable (in `RETIRED`), so that a leak checker run
    /// on `oplink run --state` finds no block of oplink's lost: it found five, every one a
    /// path listed here and forgotten.
    #[test]
    fn a_forgotten_path_stays_reachable() {
        let retired = |path: &std::path::Path| {
            super::RETIRED.lock().unwrap().iter().any(|kept| {
                // SAFETY: a retired pointer is a listed `CString`'s, never freed.
                let kept = unsafe { std::ffi::CStr::from_ptr(kept.load(Ordering::Relaxed)) };
                kept.to_bytes() == std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str())
            })
        };
        let file = std::path::Path::new("/nonexistent/oplink-retired-test.partial");
        super::remove_on_interrupt(file);
        assert!(!retired(file));
        super::forget(file);
        assert!(
            retired(file),
            "a forgotten file's path is lost, not retired"
        );
        let folder = std::path::PathBuf::from("/nonexistent/oplink-retired-folder");
        super::remove_folders_on_interrupt(std::slice::from_ref(&folder));
        super::forget_folders();
        assert!(
            retired(&folder),
            "a forgotten folder's path is lost, not retired"
        );
    }

    /// A signal that comes while the run keeps its output and state waits until that is
    /// done, then ends the process as it would have. Run in a child process of the test
    /// binary, which the signal ends.
    #[test]
    fn a_signal_while_held_ends_the_process_once_released() {
        const CHILD: &str = "OPLINK_TEST_HELD_SIGNAL";
        if let Ok(marker) = std::env::var(CHILD) {
            // This test is about a signal that is not ignored: one ignored since the test
            // started (the tests run as a background job of a shell without job control,
            // or under `nohup`) would stay ignored, as it should in a real run.
            // SAFETY: sets the default action of a signal, which no other thread of this
            // child relies on.
            unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
            let held = super::hold();
            // SAFETY: `raise` sends the signal to this process; the handler records it.
            unsafe { libc::raise(libc::SIGINT) };
            // Still here: the work that must not be cut goes on.
            std::fs::write(&marker, "kept").unwrap();
            if std::env::var_os("OPLINK_TEST_HELD_UNTIL_EXIT").is_some() {
                // Held on to the end: said, then ended by it.
                held.until_exit();
                std::fs::write(&marker, "kept, held on").unwrap();
                super::release_at_exit(&|signal| format!("{signal} came; all is kept"));
            } else {
                drop(held);
            }
            unreachable!("the held signal ends the process on release");
        }
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("marker");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "interrupt::tests::a_signal_while_held_ends_the_process_once_released",
                "--nocapture",
            ])
            .env(CHILD, &marker)
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "kept");
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "interrupt::tests::a_signal_while_held_ends_the_process_once_released",
                "--nocapture",
            ])
            .env(CHILD, &marker)
            .env("OPLINK_TEST_HELD_UNTIL_EXIT", "1")
            .output()
            .unwrap();
        assert_eq!(output.status.signal(), Some(libc::SIGINT), "{output:?}");
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "kept, held on");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            said.contains("an interrupt (SIGINT) came; all is kept\n"),
            "{said}"
        );
    }
}
