//! Where the output goes: standard output, a device or named pipe, or a file written under a
//! temporary `.partial` name and put in place when complete ([`Sink::create`] opens it, and
//! [`Written::commit`] renames it).

use std::fs::File;
use std::path::{Path, PathBuf};

use super::Writer;
use super::sink::Sink;
use crate::args::OutputFormat;
use crate::error::{CliError, Result};

/// Where the output goes.
#[derive(Debug)]
pub enum Destination {
    /// Standard output, or a device or named pipe (written to as it is).
    Stream,
    /// A file, written under a temporary name and renamed into place when complete, so a
    /// failed run leaves any earlier file as it was.
    File {
        /// The final path.
        path: PathBuf,
        /// The temporary path being written.
        partial: PathBuf,
        /// The temporary file, to sync to the disk once written.
        file: File,
    },
}

/// How `path` ends when its text names a folder rather than a file: `/`, `.` or `..`.
fn folder_ending(path: &Path) -> Option<&'static str> {
    let text = path.as_os_str().as_encoded_bytes();
    let last = text.rsplit(|&byte| byte == b'/').next().unwrap_or_default();
    match last {
        _ if text.ends_with(b"/") => Some("/"),
        b"." => Some("."),
        b".." => Some(".."),
        _ => None,
    }
}

/// The file `--output` writes: the path itself, or, for a symbolic link, the file it names
/// (the link stays a link, and what it names gets the output).
pub(crate) fn written_path(given: &Path) -> Result<PathBuf> {
    let is_link = std::fs::symlink_metadata(given).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(given.to_owned());
    }
    if let Ok(target) = std::fs::canonicalize(given) {
        return Ok(target);
    }
    // A link to nothing yet (through any number of links): the file at the end is created.
    let mut at = given.to_owned();
    for _ in 0..40 {
        if !std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Ok(at);
        }
        let target = std::fs::read_link(&at).map_err(|e| CliError::io("read", given, e))?;
        at = match at.parent() {
            Some(folder) if target.is_relative() => folder.join(target),
            _ => target,
        };
    }
    Err(CliError::Usage(format!(
        "--output `{}` is a chain of links that does not end",
        given.display()
    )))
}

/// Whether `path` (of metadata `meta`) lies in a sticky folder, which lets only a file's
/// owner, the folder's owner or root remove or replace it, and this process is none of them.
fn sticky_and_not_ours(path: &Path, meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let folder = folder_of(path);
    let Ok(dir) = std::fs::metadata(folder) else {
        return false;
    };
    // SAFETY: asks for this process's effective user id, nothing else.
    let me = unsafe { libc::geteuid() };
    dir.mode() & libc::S_ISVTX != 0 && me != 0 && meta.uid() != me && dir.uid() != me
}

/// Why this process may not write the existing file `path`, in words, or `None` when it may
/// (`access(W_OK)`: its mode, owner and any access list, as the kernel would judge an
/// `open` for writing). A question that cannot be asked counts as "it may": the write
/// itself then says what is wrong.
fn not_writable(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::access(name.as_ptr(), libc::W_OK) } == 0 {
        return None;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EACCES) => {
            Some("is a file you may not write (read-only): make it writable or name another file")
        }
        Some(libc::EROFS) => Some("is on a read-only file system: name another file"),
        Some(libc::EPERM) => Some("may not be written (an immutable file?): name another file"),
        _ => None,
    }
}

/// A descriptor of standard output, when `meta` is the file standard output writes to.
fn standard_output_if_same(meta: &std::fs::Metadata) -> Option<File> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let out = File::from(std::io::stdout().as_fd().try_clone_to_owned().ok()?);
    let its = out.metadata().ok()?;
    (its.dev() == meta.dev() && its.ino() == meta.ino()).then_some(out)
}

/// The folder `path` is in (`.` for a bare name).
pub(crate) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

impl Sink {
    /// A sink writing `format` to `output` (standard output when `None`).
    pub fn create(format: OutputFormat, output: Option<&Path>) -> Result<Sink> {
        let (destination, out): (Destination, Writer) = match output {
            None => (Destination::Stream, Box::new(std::io::stdout())),
            Some(given) => {
                // What the path names, links followed by the kernel: a link such as
                // `/dev/stdout` names a pipe that has no path of its own.
                let named = std::fs::metadata(given);
                let path = match &named {
                    Ok(meta) if !meta.is_file() => given.to_owned(),
                    _ => written_path(given)?,
                };
                let stdout = named.as_ref().ok().and_then(standard_output_if_same);
                match named {
                    // Standard output by another name (`-o /dev/stdout` with standard
                    // output redirected to a file): written through its descriptor, where
                    // it stands (`>>` appends), not replaced.
                    Ok(_) if let Some(stdout) = stdout => (
                        Destination::Stream,
                        Box::new(std::io::BufWriter::with_capacity(1 << 16, stdout)),
                    ),
                    Ok(meta) if meta.is_dir() => {
                        return Err(CliError::Usage(format!(
                            "--output `{}` is a folder; name a file",
                            given.display()
                        )));
                    }
                    // Another user's file in a sticky folder (`/tmp`): the rename would be
                    // refused at the end of the run, after all its work.
                    Ok(meta) if meta.is_file() && sticky_and_not_ours(&path, &meta) => {
                        return Err(CliError::Usage(format!(
                            "--output `{}` is another user's file in a folder that keeps each file to its owner (sticky, as `/tmp`): name another file",
                            given.display()
                        )));
                    }
                    // A file its permissions keep us from writing is not replaced either
                    // (the temporary file's rename would not ask them), as a shell's `>`.
                    Ok(meta)
                        if meta.is_file()
                            && let Some(why) = not_writable(&path) =>
                    {
                        return Err(CliError::Usage(format!(
                            "--output `{}` {why}",
                            given.display()
                        )));
                    }
                    // A device or a named pipe (`/dev/null`, a FIFO): written to as it is,
                    // never replaced by a file.
                    Ok(meta) if !meta.is_file() => {
                        let file = File::options()
                            .write(true)
                            .open(&path)
                            .map_err(|e| CliError::io("write", given, e))?;
                        (
                            Destination::Stream,
                            Box::new(std::io::BufWriter::with_capacity(1 << 16, file)),
                        )
                    }
                    _ => {
                        // A path ending in `/`, `.` or `..` names a folder, there or not:
                        // `Path::file_name` reads `out/.` as `out`, and the file written
                        // beside it could not be renamed to it at the end of the run.
                        let folder_ending = folder_ending(given);
                        let name = path
                            .file_name()
                            .filter(|_| folder_ending.is_none())
                            .ok_or_else(|| {
                                CliError::Usage(format!(
                                    "--output `{}` names a folder (it ends in `{}`); name a file",
                                    given.display(),
                                    folder_ending.unwrap_or("..")
                                ))
                            })?
                            .to_string_lossy();
                        // This process's own: two runs writing one file do not share it.
                        let partial =
                            path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
                        // What runs killed while they wrote it left.
                        oplink_host::load::remove_stale(folder_of(&path), &name, ".partial");
                        // Listed before it exists (a signal in between finds nothing to
                        // remove), by its absolute path.
                        let partial = std::path::absolute(&partial).unwrap_or(partial);
                        crate::interrupt::remove_on_interrupt(&partial);
                        let file = File::create(&partial).map_err(|e| {
                            crate::interrupt::forget(&partial);
                            match path.parent().filter(|p| !p.as_os_str().is_empty()) {
                                Some(folder)
                                    if e.kind() == std::io::ErrorKind::NotFound
                                        && !folder.exists() =>
                                {
                                    CliError::Usage(format!(
                                        "cannot create `{}`: its folder `{}` does not exist",
                                        given.display(),
                                        folder.display()
                                    ))
                                }
                                // The file is written beside its name and renamed: it is
                                // the folder that must take a new file.
                                _ if e.kind() == std::io::ErrorKind::PermissionDenied => {
                                    let folder = folder_of(&path);
                                    CliError::Usage(format!(
                                        "cannot write `{}`: its folder `{}` takes no new file from you (the output is written beside it under a temporary name, then renamed)",
                                        given.display(),
                                        folder.display()
                                    ))
                                }
                                _ => CliError::io("create", given, e),
                            }
                        })?;
                        // The file replaced keeps its permissions (one made private stays so).
                        if let Ok(meta) = std::fs::metadata(&path) {
                            let _ = file.set_permissions(meta.permissions());
                        }
                        let synced = file.try_clone().map_err(|e| {
                            crate::interrupt::remove(&partial);
                            CliError::io("create", given, e)
                        })?;
                        (
                            Destination::File {
                                path,
                                partial,
                                file: synced,
                            },
                            Box::new(std::io::BufWriter::with_capacity(1 << 16, file)),
                        )
                    }
                }
            }
        };
        Ok(Sink::new(format, destination, out))
    }
}

/// Renames the complete file `partial`, already synced to the disk by its writer, to
/// `path`, then syncs the folder so that the rename reaches the disk before any state kept
/// after it: a power cut leaves the old file or the new one whole, never the new name over
/// missing data. A folder this process may not open, or a file system that does not sync
/// folders, leaves the rename as it is; a sync that fails otherwise (an I/O error) is an
/// error, so that no state is kept after an output that may not be on the disk.
pub(crate) fn put_in_place(partial: &Path, path: &Path) -> Result<()> {
    std::fs::rename(partial, path).map_err(|e| CliError::io("write", path, e))?;
    sync_folder_of(path)
}

/// Syncs the folder of `path`, so that its entry (a file made or renamed there) is on the
/// disk: a folder this process may not open, or that does not sync, is left as it is.
pub(crate) fn sync_folder_of(path: &Path) -> Result<()> {
    let folder = folder_of(path);
    let Ok(folder) = File::open(folder) else {
        return Ok(());
    };
    match folder.sync_all() {
        Err(e)
            if !matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Err(CliError::io("write", path, e))
        }
        _ => Ok(()),
    }
}

/// An output written whole, a file still under its temporary name until
/// [`Written::commit`] (dropped uncommitted, it removes that file).
#[derive(Debug)]
pub struct Written {
    pub(super) destination: Destination,
    pub(super) rows: u64,
    pub(super) committed: bool,
}

impl Written {
    /// The file this output goes to, and the device and inode of what it writes there
    /// (which the file has once it is in place); `None` for standard output or a device.
    pub fn file(&self) -> Option<(&Path, (u64, u64))> {
        use std::os::unix::fs::MetadataExt;
        match &self.destination {
            Destination::File { path, file, .. } => {
                let meta = file.metadata().ok()?;
                Some((path, (meta.dev(), meta.ino())))
            }
            Destination::Stream => None,
        }
    }

    /// Puts a file into place; returns the rows written.
    pub fn commit(mut self) -> Result<u64> {
        if let Destination::File { path, partial, .. } = &self.destination {
            put_in_place(partial, path)?;
            crate::interrupt::forget(partial);
        }
        self.committed = true;
        Ok(self.rows)
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        if let (false, Destination::File { partial, .. }) = (self.committed, &self.destination) {
            crate::interrupt::remove(partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_put_in_place_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (partial, path) = (
            dir.path().join(".out.csv.1.partial"),
            dir.path().join("out.csv"),
        );
        std::fs::write(&path, "old\n").unwrap();
        std::fs::write(&partial, "new\n").unwrap();
        put_in_place(&partial, &path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert!(!partial.exists());
        // A partial file gone before its turn: the error names the file it was to become,
        // which stays as it was.
        let err = put_in_place(&partial, &path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot write `{}`", path.display())),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }
}
