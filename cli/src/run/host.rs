//! The host of a run and the `--state` folder it opens (made, checked to take new files,
//! its store opened), and what of them a failed run removes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oplink::services::Lookup;
use oplink_host::{Host, StateStore};

use crate::args::RunArgs;
use crate::error::{CliError, Result};
use crate::lookup::Tables;

use super::keep::finish_kept;
use super::state_files::kept_any;

/// What of `--state` a run made: folders (the deepest first), a store; and whether it got
/// as far as keeping its state.
#[derive(Default)]
pub(super) struct FreshState {
    made_dirs: Vec<PathBuf>,
    pub(super) made_store: Option<PathBuf>,
    pub(super) kept: bool,
}

impl FreshState {
    /// Removes what the run made: the store (this run's own: it opened it, so no other
    /// run had it open), then each folder it made while it is empty.
    pub(super) fn undo(&self) {
        if let Some(store) = &self.made_store {
            crate::interrupt::remove(store);
        }
        for dir in &self.made_dirs {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

/// The host: the standard services, `oplink.Lookup` when tables were given, and the state
/// store of `--state`.
pub(super) fn build_host(args: &RunArgs, tables: Tables, fresh: &mut FreshState) -> Result<Host> {
    let mut builder = Host::builder();
    if !tables.is_empty() {
        builder = builder.provide::<dyn Lookup>(Arc::new(tables));
    }
    if let Some(dir) = &args.state {
        if dir.exists() && !dir.is_dir() {
            return Err(CliError::Usage(format!(
                "--state `{}` is a file; name a folder (it is created if missing)",
                dir.display()
            )));
        }
        // The folders missing (a link counts as there, even to nowhere), deepest first.
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .take_while(|p| std::fs::symlink_metadata(p).is_err())
            .map(Path::to_path_buf)
            .collect();
        // (Listed first: a folder made and then refused is removed with the run.)
        fresh.made_dirs = missing.clone();
        make_state_folder(dir, missing.last().map(PathBuf::as_path))?;
        crate::interrupt::remove_folders_on_interrupt(&missing);
        let path = dir.join("state.redb");
        // Every run with `--state` makes the store, and writes each operator's
        // configuration file beside it: a folder with such a file and no store lost it.
        if std::fs::symlink_metadata(&path).is_err() && !args.quiet && kept_any(dir) {
            crate::say!(
                "oplink: warning: the state store `{}` is gone, though a run kept its state in `{}`: the operators continue from their snapshots alone, and what they kept in the store starts afresh",
                path.display(),
                dir.display()
            );
        }
        let store = StateStore::open(&path).map_err(|e| match e {
            // The library's words ("it is open already, in this process or another") speak
            // to a host; here the other holder is another process.
            oplink_host::Error::State { reason, .. }
                if reason.starts_with(oplink_host::load::OPEN_ALREADY) =>
            {
                CliError::Usage(format!(
                    "--state `{}` is in use: its store `{}` is open in another process (another `oplink run` with this folder?); wait for it to end, or give this run another folder",
                    dir.display(),
                    path.display()
                ))
            }
            // The library asks a host for "the path of a state store"; here the path is
            // the folder's, and the store's file is this command's to name.
            oplink_host::Error::State { ref reason, .. }
                if let Some(what) = reason.strip_suffix(oplink_host::load::NOT_A_STORE) =>
            {
                CliError::Usage(format!(
                    "state store `{}`: {what}move it away to start with no state, or give `--state` another folder",
                    path.display()
                ))
            }
            other => other.into(),
        })?;
        finish_kept(dir, &store, args.quiet)?;
        // Made by this run (not by another that made it meanwhile): removed with it.
        let new = store.created();
        builder = builder.state_store(store);
        if new {
            // Gone with the run if a signal ends it before its state is kept, as it is on
            // any failure: a store left empty would stop the next run.
            crate::interrupt::remove_on_interrupt(&path);
            fresh.made_store = Some(path);
        }
    }
    Ok(builder.build())
}

/// Makes the `--state` folder `dir` (`first_missing` is the highest of its folders not
/// there) and checks that it takes new files, as every run with it writes some (the store,
/// the snapshots and their configurations' files, under temporary names, then renamed):
/// said before the run rather than once its work is done.
fn make_state_folder(dir: &Path, first_missing: Option<&Path>) -> Result<()> {
    let given = format!("--state `{}`", dir.display());
    if let Err(error) = CliError::create_dir(dir) {
        let file_above = dir
            .ancestors()
            .skip(1)
            .find(|p| !p.as_os_str().is_empty() && p.is_file());
        if let Some(file) = file_above {
            return Err(CliError::Usage(format!(
                "{given} cannot be made: `{}` is a file, not a folder; name a folder (it is created if missing)",
                file.display()
            )));
        }
        // The folder it would be made in: the deepest one there.
        let parent = match first_missing.and_then(Path::parent) {
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => return Err(error),
        };
        return Err(match closed_folder(parent) {
            Some(Closed::ToYou) => CliError::Usage(format!(
                "{given} cannot be made: its folder `{}` takes no new folder from you; make it writable, or give `--state` another folder",
                parent.display()
            )),
            Some(Closed::ReadOnly) => CliError::Usage(format!(
                "{given} cannot be made: its folder `{}` is on a read-only file system; give `--state` another folder",
                parent.display()
            )),
            None => error,
        });
    }
    match closed_folder(dir) {
        Some(Closed::ToYou) => Err(CliError::Usage(format!(
            "{given} takes no new file from you, and every run with it writes its files there (the store, the snapshots, each under a temporary name, then renamed); make it writable, or give `--state` another folder"
        ))),
        Some(Closed::ReadOnly) => Err(CliError::Usage(format!(
            "{given} is on a read-only file system, and every run with it writes its files there (the store, the snapshots); give `--state` another folder"
        ))),
        None => Ok(()),
    }
}

/// Why a folder takes no new file.
enum Closed {
    /// Its permissions (mode, owner, access list) keep this process out.
    ToYou,
    /// Its file system is mounted read-only.
    ReadOnly,
}

/// Why this process may not add files to the folder `dir`; `None` when it may, or when that
/// cannot be told (then making the file says what is wrong).
fn closed_folder(dir: &Path) -> Option<Closed> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::access(name.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        return None;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EACCES) => Some(Closed::ToYou),
        Some(libc::EROFS) => Some(Closed::ReadOnly),
        _ => None,
    }
}
