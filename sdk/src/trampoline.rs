//! The one trampoline every generated thunk runs through, and the one way failures cross.
//!
//! [`guard`] is deliberately non-generic: `catch_unwind` is monomorphised once here rather
//! than in every generated function. It turns a panic into a [`Failure`] carrying the
//! panic's message and `file:line:column`, and it survives a panic payload whose own `Drop`
//! panics. [`Failure::write_to`] and [`Failure::read_from`] are the only code that writes
//! and reads the ABI's error slot, on either side of either kind of call.
//!
//! Each plugin library links its own copy of `std`, so the host's panic hook never sees a
//! plugin's panics. The hook installed here records the location of a panic raised inside
//! [`guard`] and prints nothing (a caught panic is an ordinary error for the caller to
//! report), unless Rust is about to abort the process for a panic it cannot contain (a
//! `Drop` that panics during unwinding): then it prints the panics it kept quiet, the only
//! clue left. Every other panic goes to the hook that was there before. Capturing no
//! backtrace keeps a caught panic cheap even when `RUST_BACKTRACE=1` is set.
//!
//! A plugin that installs a panic hook of its own must chain to the one it replaces
//! (`let previous = std::panic::take_hook(); std::panic::set_hook(Box::new(move |info| {
//! …; previous(info) }))`): otherwise the panics oplink catches lose their location, and the
//! plugin's hook prints each of them.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

use crate::Error;
use crate::abi::{ErrorOut, OwnedBuf, Status};

/// How a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The code returned `Err`.
    Error,
    /// The code panicked.
    Panic,
    /// The callee could not read what it was given.
    InvalidInput,
    /// The callee returned a status this side does not know.
    Unknown(u32),
}

/// A failed call: what the caller on the other side of the boundary gets to see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Error, panic, bad input.
    pub kind: FailureKind,
    /// The error's message or the panic's payload; empty when the callee gave none.
    pub message: String,
    /// Source file of the error or panic; empty when unknown.
    pub file: String,
    /// Line in `file`, 0 when unknown.
    pub line: u32,
    /// Column in `file`, 0 when unknown.
    pub column: u32,
}

impl Failure {
    /// The failure of an `Err`, located where the error was made (if anywhere).
    pub fn from_error(error: &Error) -> Failure {
        let (file, line, column) = error
            .location()
            .map(|l| (l.file().to_owned(), l.line(), l.column()))
            .unwrap_or_default();
        Failure {
            kind: FailureKind::Error,
            message: error.message().to_owned(),
            file,
            line,
            column,
        }
    }

    /// The failure of input the callee could not read.
    pub fn invalid_input(error: &Error) -> Failure {
        Failure {
            kind: FailureKind::InvalidInput,
            message: error.message().to_owned(),
            file: String::new(),
            line: 0,
            column: 0,
        }
    }

    /// The status that reports this failure.
    pub fn status(&self) -> Status {
        match self.kind {
            FailureKind::Error => Status::ERROR,
            FailureKind::Panic => Status::PANIC,
            FailureKind::InvalidInput => Status::INVALID_INPUT,
            FailureKind::Unknown(status) => Status(status),
        }
    }

    /// The kind a status reports, or `None` for `OK`.
    pub fn kind_of(status: Status) -> Option<FailureKind> {
        match status {
            Status::OK => None,
            Status::ERROR => Some(FailureKind::Error),
            Status::PANIC => Some(FailureKind::Panic),
            Status::INVALID_INPUT => Some(FailureKind::InvalidInput),
            Status(other) => Some(FailureKind::Unknown(other)),
        }
    }

    /// Writes the failure into `out` (overwriting it unread) and returns its status.
    ///
    /// # Safety
    /// `out` must be null or point to a writable [`ErrorOut`].
    pub unsafe fn write_to(self, out: *mut ErrorOut) -> Status {
        let status = self.status();
        if !out.is_null() {
            let written = ErrorOut {
                message: OwnedBuf::from_vec(self.message.into_bytes()),
                file: OwnedBuf::from_vec(self.file.into_bytes()),
                line: self.line,
                column: self.column,
            };
            // SAFETY: the caller guarantees `out` is writable; whatever it held is not
            // ours to release (a 2.2 caller need not zero it, and reads only what a
            // failure writes), so it is overwritten without being read.
            unsafe { out.write(written) };
        }
        status
    }

    /// Reads what the other side wrote for a call that returned `status`, releasing its
    /// buffers; `None` when the call succeeded. For a status the ABI does not define, the
    /// slot is not read (nothing says it was written): the failure has no message.
    ///
    /// # Safety
    /// For `ERROR`, `PANIC` or `INVALID_INPUT`, `out` was written by the callee of a library
    /// still loaded (or left empty), and is read once.
    pub unsafe fn read_from(status: Status, out: &mut ErrorOut) -> Option<Failure> {
        let kind = Failure::kind_of(status)?;
        if let FailureKind::Unknown(_) = kind {
            return Some(Failure {
                kind,
                message: String::new(),
                file: String::new(),
                line: 0,
                column: 0,
            });
        }
        // SAFETY: forwarded from the caller's guarantee.
        let message = unsafe { out.message.take() };
        // SAFETY: as above.
        let file = unsafe { out.file.take() };
        Some(Failure {
            kind,
            message: String::from_utf8_lossy(&message).into_owned(),
            file: String::from_utf8_lossy(&file).into_owned(),
            line: out.line,
            column: out.column,
        })
    }

    /// `file:line:column` (`file:line` when the column is 0, unknown, as C's `__LINE__`
    /// gives no column; `file` alone when the line is 0 too), or `None` when the location is
    /// unknown.
    pub fn location(&self) -> Option<String> {
        if self.file.is_empty() {
            return None;
        }
        Some(match (self.line, self.column) {
            (0, _) => self.file.clone(),
            (line, 0) => format!("{}:{line}", self.file),
            (line, column) => format!("{}:{line}:{column}", self.file),
        })
    }

    /// The message, or a sentence saying there was none.
    pub fn message_or_note(&self) -> String {
        if self.message.trim().is_empty() {
            "(the plugin gave no message)".to_owned()
        } else {
            self.message.clone()
        }
    }
}

/// What this thread's calls through the trampoline keep: one thread-local, so that a call
/// looks it up once (in a plugin, each lookup is a call into the dynamic loader).
pub(crate) struct CallState {
    /// How many `guard` frames are on this thread's stack.
    depth: Cell<u32>,
    /// The log of the plugin instance whose call runs on this thread, and its most verbose
    /// level (see `logging`).
    pub(crate) log: Cell<CurrentLog>,
}

/// The current log: a pointer to the instance's log, its level and its spans (valid while
/// its call runs).
pub(crate) type CurrentLog = Option<*const crate::logging::Sink>;

thread_local! {
    /// This thread's call state.
    pub(crate) static CALL: CallState = const {
        CallState {
            depth: Cell::new(0),
            log: Cell::new(None),
        }
    };
    /// Where the last panic inside a `guard` happened.
    static LAST_PANIC: RefCell<Option<(String, u32, u32)>> = const { RefCell::new(None) };
    /// The panics inside a `guard` on this thread that the hook kept off standard error
    /// and no `guard` has caught yet (at most [`KEPT_QUIET`], the latest), each as
    /// "`message` (at file:line:column)": what the hook prints when Rust is about to abort
    /// the process, since those panics are the only clue to why. A panic the plugin
    /// catches itself (its own `catch_unwind`) stays listed until a `guard` catches one,
    /// so the list may name such a panic from an earlier call too; forgetting them on every
    /// call that does not panic would cost each call a thread-local lookup.
    static QUIET_PANICS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// How many of the panics the hook kept quiet it remembers (see `QUIET_PANICS`).
const KEPT_QUIET: usize = 4;

/// The messages Rust's core library panics with right before it aborts the process: a
/// panic that leaves a destructor run during unwinding, and one that reaches a function
/// that cannot unwind; each with what happened, in words, and how the code avoids it. A
/// hook cannot ask whether a panic can unwind on stable Rust, so it knows these by their
/// words.
const ABORTING_PANICS: [(&str, &str, &str); 2] = [
    (
        "panic in a destructor during cleanup",
        "a `Drop` panicked while an earlier panic was unwinding, which Rust cannot contain",
        "a `Drop` can check `std::thread::panicking()`",
    ),
    (
        "panic in a function that cannot unwind",
        "a panic reached a function that cannot unwind (an `extern \"C\"` function of its own, say), which Rust cannot contain",
        "an `extern \"C\"` function can catch its panics with `std::panic::catch_unwind`",
    ),
];

/// Forgets the panics the hook kept quiet: one of them was caught (never panics).
fn forget_quiet_panics() {
    let _ = QUIET_PANICS.try_with(|quiet| {
        if let Ok(mut quiet) = quiet.try_borrow_mut() {
            quiet.clear();
        }
    });
}

/// What the hook prints before Rust aborts the process for a panic inside a call (`why`
/// and `avoid` from [`ABORTING_PANICS`]): the panics it kept quiet on this thread, first
/// to last.
fn aborting_words(why: &str, avoid: &str) -> String {
    let quiet = QUIET_PANICS
        .try_with(|quiet| quiet.try_borrow().map(|q| q.clone()).unwrap_or_default())
        .unwrap_or_default();
    let earlier = if quiet.is_empty() {
        String::new()
    } else {
        format!(
            "; the plugin's panics before it, first to last: {}",
            quiet.join("; ")
        )
    };
    format!(
        "oplink: the process aborts: in a call of a plugin, {why}{earlier}. Make that code not panic ({avoid}); see the README's \"Trust\""
    )
}

static INSTALL_HOOK: Once = Once::new();

/// Takes the location recorded for the last panic inside a [`guard`], if any. Never panics:
/// the slot is gone once the thread's thread-locals are torn down (a plugin's instance
/// dropped by a host's own thread-local destructor is called then), and this runs where no
/// panic may unwind.
fn take_last_panic() -> Option<(String, u32, u32)> {
    LAST_PANIC
        .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut slot| slot.take()))
        .ok()
        .flatten()
}

/// Records `location` as the last panic's (see [`take_last_panic`]; never panics).
fn put_last_panic(location: Option<(String, u32, u32)>) {
    let _ = LAST_PANIC.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = location;
        }
    });
}

/// Runs `f`, whose failure nobody can act on (forwarding a log event), so that a panic in
/// it goes no further: not into the operator's call (it would poison the instance for a
/// log line), and not out of a destructor run while another panic unwinds (the process
/// would abort). The location recorded for a panic already on its way is kept.
pub(crate) fn contained(f: impl FnOnce()) {
    let recorded = take_last_panic();
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        drop_payload(payload);
    }
    put_last_panic(recorded);
}

/// Whether this thread is inside a guarded call (a plugin's thunk, or a service's).
pub(crate) fn in_call() -> bool {
    CALL.with(|call| call.depth.get()) > 0
}

/// Runs `f` (the freeing a `release` does, called from C or from the other side of the
/// boundary), so that a panic in it goes no further: outside a call the hook prints it, as
/// any panic; inside one it is not the call's failure. Unlike [`contained`], no
/// thread-local is touched unless `f` panics (a plugin pays a call into the dynamic loader
/// for each), at the price of the location recorded for a panic already on its way, which
/// a panic in `f` replaces.
#[inline]
pub(crate) fn unwinding_nowhere(f: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        drop_payload(payload);
    }
}

/// Panics with `message` on behalf of oplink (a host call that failed where the method has
/// no `Result`): inside a [`guard`], without running the panic hook, so the failure carries
/// no location (the panic's own would be a line of oplink's, which would send the reader
/// away from their code); outside one, as any panic.
#[cold]
pub(crate) fn panic_without_location(message: String) -> ! {
    if CALL.with(|call| call.depth.get()) == 0 {
        panic!("{message}");
    }
    // A location recorded for a panic caught earlier in this call is not this one's.
    take_last_panic();
    panic::resume_unwind(Box::new(message))
}

/// Installs the panic hook that records locations of panics inside [`guard`] (idempotent;
/// after the first call, one load and a branch, inlined into every guard).
#[inline]
pub fn install_panic_hook() {
    if !INSTALL_HOOK.is_completed() {
        install_panic_hook_once();
    }
}

#[cold]
#[inline(never)]
fn install_panic_hook_once() {
    INSTALL_HOOK.call_once(|| {
        // Where the standard library's sources are said to be is worked out here, not in
        // the hook.
        let _ = crate::error::is_inside_std(std::panic::Location::caller());
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if CALL.with(|call| call.depth.get()) == 0 {
                return previous(info);
            }
            // Rust aborts the process after this hook: the panics kept quiet are the only
            // clue to why, so they are printed, and this one as any panic.
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if let Some((_, why, avoid)) =
                ABORTING_PANICS.iter().find(|(m, ..)| Some(*m) == message)
            {
                let _ = writeln!(std::io::stderr(), "{}", aborting_words(why, avoid));
                return previous(info);
            }
            // A line of oplink's own is no place to send a reader (as for errors): none. Nor
            // is one of the standard library's, such as `/rustc/<commit>/library/...`, a
            // file on no user's machine ("capacity overflow", say).
            let location = info
                .location()
                .filter(|l| !crate::error::is_inside_oplink(l) && !crate::error::is_inside_std(l))
                .map(|l| (l.file().to_owned(), l.line(), l.column()));
            let _ = QUIET_PANICS.try_with(|quiet| {
                if let Ok(mut quiet) = quiet.try_borrow_mut() {
                    if quiet.len() == KEPT_QUIET {
                        quiet.remove(0);
                    }
                    // On one line, and not endless: it is printed only before an abort.
                    let text: String = message
                        .unwrap_or("a panic with a non-string payload")
                        .chars()
                        .take(1024)
                        .flat_map(char::escape_debug)
                        .collect();
                    quiet.push(match &location {
                        Some((file, line, column)) => {
                            format!("`{text}` (at {file}:{line}:{column})")
                        }
                        None => format!("`{text}`"),
                    });
                }
            });
            // `try_with`/`try_borrow_mut`: a hook must never panic itself.
            let _ = LAST_PANIC.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = location;
                }
            });
        }));
    });
}

/// Runs `body`, turning an `Err` or a panic into a [`Failure`]. Never unwinds.
pub fn guard(body: &mut dyn FnMut() -> Result<(), Error>) -> Result<(), Failure> {
    install_panic_hook();
    settle(guarded(AssertUnwindSafe(body)))
}

/// [`guard_into`] for the hottest thunks (host services): generic, so that the body is
/// inlined into the thunk, with everything but success handled out of line; the panic hook
/// is known to be installed already (the service's table installed it, see
/// [`HostTable::new`](crate::service::HostTable::new)), so it is not checked per call.
///
/// # Safety
/// As for [`guard_into`].
#[inline]
pub(crate) unsafe fn guard_into_hooked<F: FnMut() -> Result<(), Error>>(
    err: *mut ErrorOut,
    mut body: F,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { status_of(err, guarded(AssertUnwindSafe(&mut body))) }
}

/// `body` under `catch_unwind`, counted in the call depth (one lookup of the thread-local for
/// both the count and the discount: a panic is caught inside, so the discount always runs).
#[inline(always)]
fn guarded<R>(body: impl FnOnce() -> R + panic::UnwindSafe) -> std::thread::Result<R> {
    CALL.with(|call| {
        call.depth.set(call.depth.get() + 1);
        let outcome = panic::catch_unwind(body);
        call.depth.set(call.depth.get() - 1);
        outcome
    })
}

/// [`guard_into_hooked`] with `log` marked as the thread's current log for the call (and
/// the previous one restored after), in the same lookup of the thread-local. For the
/// operator thunks: `create` installs the panic hook before its first guarded call, and
/// every other runs on an instance `create` made.
///
/// # Safety
/// As for [`guard_into`]; `log`, when set, stays valid for the call.
#[inline]
pub(crate) unsafe fn guard_into_logged<F: FnMut() -> Result<(), Error>>(
    err: *mut ErrorOut,
    log: CurrentLog,
    mut body: F,
) -> Status {
    let outcome = CALL.with(|call| {
        call.depth.set(call.depth.get() + 1);
        let previous = call.log.replace(log);
        let outcome = panic::catch_unwind(AssertUnwindSafe(&mut body));
        call.log.set(previous);
        call.depth.set(call.depth.get() - 1);
        outcome
    });
    // SAFETY: forwarded from the caller.
    unsafe { status_of(err, outcome) }
}

/// A guarded body's outcome as a status: success inline, a failure written into `err` out
/// of line.
///
/// # Safety
/// As for [`guard_into`].
#[inline(always)]
unsafe fn status_of(err: *mut ErrorOut, outcome: std::thread::Result<Result<(), Error>>) -> Status {
    match outcome {
        Ok(Ok(())) => Status::OK,
        // SAFETY: forwarded from the caller's guarantee about `err`.
        other => unsafe { write_failure(err, other) },
    }
}

/// The failure of a guarded body, written into `err`.
///
/// # Safety
/// As for [`guard_into`].
#[cold]
#[inline(never)]
unsafe fn write_failure(
    err: *mut ErrorOut,
    outcome: std::thread::Result<Result<(), Error>>,
) -> Status {
    match settle(outcome) {
        Ok(()) => Status::OK,
        // SAFETY: forwarded from the caller.
        Err(failure) => unsafe { failure.write_to(err) },
    }
}

/// What a guarded body's outcome means: its `Err` or its panic as a [`Failure`].
fn settle(outcome: std::thread::Result<Result<(), Error>>) -> Result<(), Failure> {
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(Failure::from_error(&error)),
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            let (file, line, column) = take_last_panic().unwrap_or_default();
            drop_payload(payload);
            // Caught: the panics kept quiet so far are this failure's, reported with it.
            forget_quiet_panics();
            Err(Failure {
                kind: FailureKind::Panic,
                message,
                file,
                line,
                column,
            })
        }
    }
}

/// Runs `body` under [`guard`] and reports through `err`: the shape every thunk takes.
///
/// # Safety
/// `err` must be null or point to a writable, empty [`ErrorOut`].
pub unsafe fn guard_into(
    err: *mut ErrorOut,
    body: &mut dyn FnMut() -> Result<(), Error>,
) -> Status {
    match guard(body) {
        Ok(()) => Status::OK,
        // SAFETY: forwarded from the caller's guarantee about `err`.
        Err(failure) => unsafe { failure.write_to(err) },
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(e) = payload.downcast_ref::<Error>() {
        e.message().to_owned()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Drops a panic payload; a payload whose `Drop` panics in turn is forgotten, not rethrown.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = guarded(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
    take_last_panic();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_and_err_pass_through() {
        assert_eq!(guard(&mut || Ok(())), Ok(()));
        let failure = guard(&mut || Err(Error::unlocated("nope"))).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Error);
        assert_eq!(failure.message, "nope");
        assert_eq!(failure.location(), None);
    }

    #[test]
    fn a_panic_in_oplinks_own_code_becomes_a_failure_without_location() {
        // (`sdk/tests/trampoline.rs` has a panic of the user's code, with its location.)
        install_panic_hook();
        let failure = guard(&mut || panic!("boom {}", 7)).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Panic);
        assert_eq!(failure.message, "boom 7");
        assert_eq!(failure.location(), None);
        assert_eq!(failure.status(), Status::PANIC);
    }

    #[test]
    fn a_panic_inside_the_standard_library_becomes_a_failure_without_location() {
        install_panic_hook();
        let failure = guard(&mut || {
            // "capacity overflow", raised in `alloc`'s own sources.
            let v: Vec<u64> = Vec::with_capacity(usize::MAX / 4);
            drop(v);
            Ok(())
        })
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Panic);
        assert_eq!(failure.message, "capacity overflow");
        assert_eq!(failure.location(), None);
    }

    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("payload drop panicked");
        }
    }

    #[test]
    fn panicking_payload_drop_does_not_abort() {
        let failure = guard(&mut || std::panic::panic_any(Bomb)).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Panic);
        assert_eq!(failure.message, "panic with a non-string payload");
    }

    #[test]
    fn failure_crosses_through_error_out() {
        let failure = guard(&mut || panic!("crossing")).unwrap_err();
        let mut out = ErrorOut::EMPTY;
        // SAFETY: `out` is a local, empty ErrorOut.
        let status = unsafe { failure.clone().write_to(&mut out) };
        assert_eq!(status, Status::PANIC);
        // SAFETY: written just above by this library.
        let read = unsafe { Failure::read_from(status, &mut out) }.unwrap();
        assert_eq!(read, failure);
        assert!(out.message.release.is_none());
        // SAFETY: an OK status reads nothing.
        assert!(unsafe { Failure::read_from(Status::OK, &mut out) }.is_none());
    }

    #[test]
    fn a_contained_panic_during_another_goes_no_further_and_keeps_its_location() {
        /// Logs when dropped, through a log that panics (a host's failing log service).
        struct LogsOnDrop;
        impl Drop for LogsOnDrop {
            fn drop(&mut self) {
                contained(|| panic!("the host's log failed"));
            }
        }
        install_panic_hook();
        let failure = guard(&mut || {
            let _logs = LogsOnDrop;
            panic!("the operator's own panic")
        })
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Panic);
        assert_eq!(failure.message, "the operator's own panic");
        // The location recorded for the panic on its way is what `contained` puts back.
        // (Panics in this file are oplink's own, recorded without one, so it is set here.)
        let recorded = Some(("src/op.rs".to_owned(), 3, 9));
        LAST_PANIC.with(|slot| *slot.borrow_mut() = recorded.clone());
        contained(|| panic!("the host's log failed"));
        assert_eq!(LAST_PANIC.with(|slot| slot.borrow_mut().take()), recorded);
        // Outside any panic, a contained one is lost too, and the call goes on.
        assert!(
            guard(&mut || {
                contained(|| panic!("the host's log failed"));
                Ok(())
            })
            .is_ok()
        );
    }

    #[test]
    fn a_guard_run_while_the_threads_locals_are_torn_down_still_settles() {
        // A host's thread-local that drops an instance at the thread's end: it is torn down
        // after the panic slot when the slot was made later (destructors run in reverse),
        // and calling into the plugin then must not panic where nothing can unwind (it
        // aborted the process when the slot was read with `with`).
        struct DropsAnInstance;
        impl Drop for DropsAnInstance {
            fn drop(&mut self) {
                // What this test is about: the slot is gone by now.
                assert!(
                    LAST_PANIC.try_with(|_| ()).is_err(),
                    "the slot is still there"
                );
                let failure = guard(&mut || panic!("the operator's `Drop` panics")).unwrap_err();
                assert_eq!(failure.kind, FailureKind::Panic);
                assert_eq!(failure.message, "the operator's `Drop` panics");
                contained(|| panic!("and so does its log"));
            }
        }
        thread_local!(static HOST: std::cell::RefCell<Option<DropsAnInstance>> =
            const { std::cell::RefCell::new(None) });
        install_panic_hook();
        std::thread::spawn(|| {
            HOST.with(|host| *host.borrow_mut() = Some(DropsAnInstance));
            // The panic slot is made (and its destructor registered) after the host's.
            assert!(guard(&mut || panic!("an earlier call's panic")).is_err());
        })
        .join()
        .expect("the thread ends without a panic");
    }

    #[test]
    fn statuses_map_to_kinds_and_an_empty_message_says_so() {
        // An unknown status leaves the slot alone: here one that holds a message.
        let mut out = ErrorOut::EMPTY;
        out.message = OwnedBuf::from_vec(b"not to be read".to_vec());
        // SAFETY: nothing is read for an unknown status.
        let failure = unsafe { Failure::read_from(Status(9), &mut out) }.unwrap();
        assert_eq!(failure.kind, FailureKind::Unknown(9));
        assert_eq!(failure.message_or_note(), "(the plugin gave no message)");
        assert!(out.message.release.is_some(), "the slot was not read");
        // SAFETY: the buffer made above, released once.
        drop(unsafe { out.message.take() });
        assert_eq!(
            Failure::kind_of(Status::INVALID_INPUT),
            Some(FailureKind::InvalidInput)
        );
    }
}
