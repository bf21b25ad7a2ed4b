//! Checked loading: open and validate a library in a short-lived child process first, and
//! load it in this process only when the child finished.
//!
//! `dlopen` runs a library's constructors and applies its relocations before any check can
//! look at it, so a damaged or hostile file can end the process that opens it (a
//! constructor calling `abort()` or `exit()`, a corrupted dynamic section). The child is a
//! `fork` of this process that does exactly what [`super::load`] does, then reports that it
//! got through and exits without running any of this process's exit handlers. A child that
//! dies by a signal, exits early (a constructor's `exit`), or does not finish in time is
//! killed if need be and reported as [`Error::CheckFailed`], with the signal or the status.
//! When the child got through, the library is loaded here as usual, so every validation
//! error is the same one an unchecked load gives.
//!
//! Only the child runs the library's code before the verdict; the parent waits with a
//! timeout (a child that deadlocks on a lock another thread held at the fork is killed).

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::plugin::Plugin;

/// How long a check may take before its child is killed, unless the caller says otherwise.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// What the child writes once the load returned, whatever it returned.
const GOT_THROUGH: &[u8] = b"oplink-check-done";

/// What the child writes instead when the library is no plugin at all.
const NOT_A_PLUGIN: &[u8] = b"oplink-check-not-a-plugin";

/// Loads `path` after a child process opened and validated it; see the module notes. A
/// library that is no plugin at all (no entry symbol of any ABI) is not opened here: its
/// constructors have nothing to do in this process.
pub fn load_checked(path: &Path, timeout: Duration) -> Result<Plugin> {
    if path.as_os_str().is_empty() {
        return Err(Error::EmptyPath); // before any child is made
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // A new build this process loaded fresh already was checked then; a file it loaded
    // and that was not replaced since is mapped here, and opening it again runs nothing:
    // neither needs a child (a host that scans its folders again forks for new files only).
    if let Some(plugin) = super::loaded_already(&absolute) {
        return Ok(plugin);
    }
    let checked = checked_id(&absolute);
    // What the pre-flight refuses (a truncated file, another machine's, no ELF file at all)
    // is refused before any child is made: reading its headers runs none of its code. Under
    // the loader's lock, as every other pre-flight: the child of another thread's check
    // runs one too, and a lock of the pre-flight's held by this thread at that fork would
    // be held in the child forever (its check killed at the deadline).
    {
        let _loader = super::loader_lock();
        super::preflight::check(&absolute)?;
    }
    // A file checked before and not replaced since is not checked again: its constructors
    // would run the same way (a host that scans a folder again does not fork for the
    // libraries there that are no plugins, or that it refuses, at every scan).
    match checked.and_then(earlier_verdict) {
        Some(true) => return super::load(path),
        Some(false) => return Err(Error::NotAPlugin { path: absolute }),
        None => {}
    }
    let is_plugin = check_in_child(path, timeout)?;
    // The file loaded here is the one the child checked: one renamed into place meanwhile (a
    // new build, or anything the checked library's constructor did) is not loaded, and what
    // the check said is not kept for it.
    let unchanged = checked_id(&absolute) == checked;
    // (A path that names no file it can read, a loop of links say, has no identity: the
    // load below refuses it in the loader's words.)
    let checked = checked.filter(|_| unchanged);
    if !is_plugin {
        // The child opened it (its constructors ran) to find no entry symbol.
        if let Some(id) = checked {
            remember_verdict(id, false);
        }
        return Err(Error::NotAPlugin { path: absolute });
    }
    if !unchanged {
        return Err(Error::CheckFailed {
            path: absolute,
            reason:
                "the file was replaced while it was being checked (by a new build?); load it again"
                    .to_owned(),
        });
    }
    let loaded = super::load(path);
    // Kept only when the library was opened, here as in the check (its constructors ran): a
    // load refused before that (a library it needs is missing, say) is checked again next
    // time, when it may get as far as running them.
    if let Some(id) = checked
        && opened(&loaded)
    {
        remember_verdict(id, true);
    }
    loaded
}

/// Whether a load got as far as opening the library: it loaded, or what its header says was
/// refused.
fn opened(loaded: &Result<Plugin>) -> bool {
    matches!(
        loaded,
        Ok(_)
            | Err(Error::NotAPlugin { .. }
                | Error::BadMagic { .. }
                | Error::AbiMajor { .. }
                | Error::AbiMinor { .. }
                | Error::Layout { .. }
                | Error::InvalidHeader { .. }
                | Error::PanicAbort { .. }
                | Error::DuplicateOperator { .. })
    )
}

/// The identity of the file at `path` that a check's verdict is kept for: its
/// [`FileId`](super::FileId) and its change time, which every write moves and no program can
/// set back short of the system's clock (a file written over in place, of the same size,
/// its modification time set back as `cp -p` or `touch -r` do, is another file here, as for
/// the pre-flight); `None` when it cannot be read.
type CheckedId = (super::FileId, i64, i64);

fn checked_id(path: &Path) -> Option<CheckedId> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    Some((
        super::id_of(&metadata),
        metadata.ctime(),
        metadata.ctime_nsec(),
    ))
}

/// What the checks that got through said of each file, by the file's identity: whether it
/// is a plugin at all (a library that claims to be one, whatever its load then says). A
/// check that ended otherwise (the library ended the check process, or it was killed at its
/// deadline) is not kept, so the next load checks that file again. One entry per file
/// checked in the life of the process.
static VERDICTS: std::sync::Mutex<std::collections::BTreeMap<CheckedId, bool>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Whether the file `id` is a plugin, as its check said, when it was checked already.
fn earlier_verdict(id: CheckedId) -> Option<bool> {
    let verdicts = VERDICTS.lock().unwrap_or_else(|e| e.into_inner());
    verdicts.get(&id).copied()
}

fn remember_verdict(id: CheckedId, is_plugin: bool) {
    let mut verdicts = VERDICTS.lock().unwrap_or_else(|e| e.into_inner());
    verdicts.insert(id, is_plugin);
}

/// Opens and validates `path` in a child process; `Ok` when the child got through the load
/// (whatever the load's verdict, which the caller gets by loading it itself), with whether
/// the library is a plugin at all (`false`: it exports no entry symbol).
pub fn check_in_child(path: &Path, timeout: Duration) -> Result<bool> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let failed = |reason: String| Error::CheckFailed {
        path: path.clone(),
        reason,
    };
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(failed(format!(
            "cannot make a pipe to the check process: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: two fresh descriptors that nothing else owns.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // No other thread of ours is in the dynamic loader while the process forks.
    let loader = super::loader_lock();
    // SAFETY: `getpid` has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the child runs only `child` (no return into the caller's frames, no exit
    // handlers: it ends with `_exit`).
    let pid = unsafe { libc::fork() };
    drop(loader);
    if pid < 0 {
        return Err(failed(format!(
            "cannot start the check process: {}",
            std::io::Error::last_os_error()
        )));
    }
    if pid == 0 {
        drop(read_end);
        child(&path, write_end, parent);
    }
    // The child leads a process group of its own (it says so too: whichever runs first), so
    // that what the library starts in it ends with the check.
    // SAFETY: `setpgid` on our own child touches no memory.
    unsafe { libc::setpgid(pid, pid) };
    drop(write_end);
    let (report, status) = wait_for(pid, read_end, timeout);
    match status {
        Waited::Exited(0) if report == GOT_THROUGH => Ok(true),
        Waited::Exited(0) if report == NOT_A_PLUGIN => Ok(false),
        // A host that ignores `SIGCHLD` has its children reaped for it: the report is all
        // there is to go by, and it is complete.
        Waited::Lost(error)
            if error.raw_os_error() == Some(libc::ECHILD)
                && (report == GOT_THROUGH || report == NOT_A_PLUGIN) =>
        {
            Ok(report == GOT_THROUGH)
        }
        Waited::Exited(0) => Err(failed(
            "the library ended the check process (status 0) while it was being opened".into(),
        )),
        Waited::Exited(code) => Err(failed(format!(
            "the library ended the check process with exit status {code} while it was being opened"
        ))),
        Waited::Signaled(signal) => Err(failed(format!(
            "the check process was killed by signal {signal} ({}) while opening it",
            signal_name(signal)
        ))),
        Waited::TimedOut => Err(failed(format!(
            "the check process did not finish within {} and was killed",
            if timeout >= Duration::from_millis(100) {
                format!("{:.1} s", timeout.as_secs_f64())
            } else {
                // As many decimals as it takes: 0.05 s, 0.000000001 s, 0 s.
                let seconds = format!("{:.9}", timeout.as_secs_f64());
                format!("{} s", seconds.trim_end_matches('0').trim_end_matches('.'))
            }
        ))),
        // Reaped for the host (see above), without the report: it ended on the way, and
        // how is not known.
        Waited::Lost(error) if error.raw_os_error() == Some(libc::ECHILD) => Err(failed(
            "the check process ended while opening it (a crash, an abort or an exit; its status is lost: this process ignores `SIGCHLD`, or something else reaped the child)".into(),
        )),
        Waited::Lost(error) => Err(failed(format!(
            "cannot wait for the check process: {error}"
        ))),
    }
}

/// The child: the load, the report, `_exit`. Never returns.
fn child(path: &Path, report: OwnedFd, parent: libc::pid_t) -> ! {
    // A child whose parent is killed (a `SIGTERM` while a library's constructor hangs)
    // goes with it, not on forever; a parent gone before this line is caught after it.
    // SAFETY: `prctl` with `PR_SET_PDEATHSIG` takes a signal number and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    // A process group of its own: a process the library's constructor forks is in it, and
    // is killed with it when the check is over. In the background of a terminal, then: a
    // constructor's write to it must not stop the check (`SIGTTOU`, with `stty tostop`),
    // nor a read of its standard input (`SIGTTIN`: it reads nothing instead; one that opens
    // `/dev/tty` and reads is stopped, and killed at the deadline).
    // SAFETY: `setpgid` on this process and `signal` with `SIG_IGN` touch no memory; the
    // `open` and `dup2` move a descriptor onto 0, and on failure stdin stays.
    unsafe {
        libc::setpgid(0, 0);
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::close(null);
        }
    }
    // SAFETY: `getppid` has no preconditions.
    if unsafe { libc::getppid() } != parent {
        // SAFETY: ends the child at once, running none of the parent's exit handlers.
        unsafe { libc::_exit(1) }
    }
    // What a library's constructor prints is no part of the host's standard output (a
    // command's CSV, a `--json` report).
    // SAFETY: opens a path and moves the descriptor onto 1; on failure stdout stays.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if null >= 0 {
            libc::dup2(null, 1);
            libc::close(null);
        }
    }
    // Nothing of the parent's logging: a subscriber's lock may have been held at the fork.
    let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
    let said = match super::load_unlocked(path) {
        Err(Error::NotAPlugin { .. }) => NOT_A_PLUGIN,
        _ => GOT_THROUGH,
    };
    let mut file = std::fs::File::from(report);
    let _ = std::io::Write::write_all(&mut file, said);
    drop(file);
    // SAFETY: ends the child at once, running none of the parent's exit handlers.
    unsafe { libc::_exit(0) }
}

enum Waited {
    Exited(i32),
    Signaled(i32),
    TimedOut,
    Lost(std::io::Error),
}

/// Reads the child's report and reaps it, killing it at the deadline (none when the timeout
/// reaches past what a clock can say).
fn wait_for(pid: libc::pid_t, report: OwnedFd, timeout: Duration) -> (Vec<u8>, Waited) {
    let deadline = Instant::now().checked_add(timeout);
    let mut file = std::fs::File::from(report);
    let mut buffer = Vec::new();
    // The pipe closes when the child ends (or closes it): poll it until then.
    loop {
        let left = deadline.map_or(Duration::MAX, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            return (buffer, kill(pid));
        }
        let mut poll = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&file),
            events: libc::POLLIN,
            revents: 0,
        };
        // In slices: the child may end while a process it forked holds the pipe open.
        let millis = left.as_millis().clamp(1, 50) as i32;
        // SAFETY: one valid `pollfd`.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        if ready < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // SAFETY: `pid` is our child, not reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = reap(pid, None);
            return (buffer, Waited::Lost(error));
        }
        if ready == 0 {
            if ended(pid) {
                // What it wrote before it ended is in the pipe still: taken (a process it
                // forked may hold the pipe open, so no end of it is waited for).
                drain(&mut file, &mut buffer);
                break;
            }
            continue;
        }
        let mut chunk = [0u8; 64];
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
        // A whole report is all the child writes: a process the library forked may hold
        // the pipe open past the child's end.
        if buffer == GOT_THROUGH || buffer == NOT_A_PLUGIN {
            break;
        }
    }
    // The pipe may close before the child ends (a library that closes what it inherited):
    // the deadline holds for the wait too.
    (buffer, reap(pid, deadline))
}

/// Reads what `file` holds now, without waiting, up to a whole report.
fn drain(file: &mut std::fs::File, buffer: &mut Vec<u8>) {
    loop {
        let mut poll = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(file),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid `pollfd`, no wait.
        if unsafe { libc::poll(&mut poll, 1, 0) } != 1 || poll.revents & libc::POLLIN == 0 {
            return;
        }
        let mut chunk = [0u8; 64];
        match file.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
        if buffer == GOT_THROUGH || buffer == NOT_A_PLUGIN {
            return;
        }
    }
}

/// Whether the child has ended (it is left to be reaped).
fn ended(pid: libc::pid_t) -> bool {
    // SAFETY: a zeroed `siginfo_t` is a valid value of the type.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOWAIT | libc::WNOHANG;
    // SAFETY: `pid` is our child; `info` is writable.
    let done = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
    // SAFETY: `waitid` filled `info` (all zero when nothing has ended).
    // (Reaped for a host that ignores `SIGCHLD`: ended too.)
    done != 0 || unsafe { info.si_pid() } == pid
}

/// Kills the child (and its process group) at its deadline and reaps it.
fn kill(pid: libc::pid_t) -> Waited {
    // SAFETY: `pid` is our child, not reaped yet, and the leader of its group (or about to
    // be: then the group kill finds none, and the kill of the child does it).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
        libc::kill(pid, libc::SIGKILL);
    }
    let _ = reap(pid, None);
    Waited::TimedOut
}

/// Waits for the child to end: until `deadline`, if any, then kills it. Once it has ended,
/// and before it is reaped (while its id is still its own, and its group's), whatever is
/// left in its process group (what the library forked) is killed.
fn reap(pid: libc::pid_t, deadline: Option<Instant>) -> Waited {
    let mut pause = Duration::from_micros(20);
    loop {
        let flags =
            libc::WEXITED | libc::WNOWAIT | if deadline.is_some() { libc::WNOHANG } else { 0 };
        // SAFETY: a zeroed `siginfo_t` is a valid value of the type.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `pid` is our child; `info` is writable.
        let done = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        if done == 0 {
            // SAFETY: `waitid` filled `info` (all zero when nothing has ended).
            if unsafe { info.si_pid() } == pid {
                break;
            }
            // Still running (only with `WNOHANG`).
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return kill(pid);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
            continue;
        }
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::ECHILD) {
            // Reaped for a host that ignores `SIGCHLD`: what it forked may be left in its
            // group, whose id is no one else's while it has a member.
            // SAFETY: a group kill touches no memory.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            return Waited::Lost(error);
        }
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Waited::Lost(error);
        }
    }
    // SAFETY: the group of our child, which has ended but is not reaped: its id is not
    // anyone else's.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our ended child; `status` is writable.
        let done = unsafe { libc::waitpid(pid, &mut status, 0) };
        if done == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Waited::Lost(error);
        }
    }
    if libc::WIFEXITED(status) {
        Waited::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Waited::Signaled(libc::WTERMSIG(status))
    } else {
        Waited::Lost(std::io::Error::other(format!("wait status {status}")))
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGTRAP => "SIGTRAP",
        _ => "another signal",
    }
}
