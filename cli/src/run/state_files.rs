//! The files of a `--state` folder beside its store: each operator's snapshot and the
//! fingerprint of the configuration it was kept with, and how they are written.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{CliError, Result};

pub(super) fn snapshot_path(dir: &Path, scope: &str) -> PathBuf {
    dir.join(format!("{scope}.snapshot"))
}

/// Where `--state` keeps the fingerprint of the configuration an operator's state was
/// kept with (a fingerprint, not the configuration, which may hold secrets).
pub(super) fn config_path(dir: &Path, scope: &str) -> PathBuf {
    dir.join(format!("{scope}.config"))
}

/// The fingerprint of a configuration: FNV-1a (64 bits) of its JSON text with every
/// object's keys in order (serde_json's map keeps them sorted), so that the same
/// configuration written otherwise has the same one.
pub(super) fn fingerprint(config: &Value) -> String {
    use oplink::abi::decl::{FNV_OFFSET, fnv1a};
    format!("{:016x}", fnv1a(FNV_OFFSET, config.to_string().as_bytes()))
}

/// Whether a run kept state in the folder `dir` (an operator's configuration file is there).
pub(super) fn kept_any(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.ends_with(".config"))
                && entry.file_type().is_ok_and(|t| t.is_file())
        })
}

/// What `--state` wrote of the state of `scope` when it was last kept: the fingerprint of
/// the configuration, and the operator that kept it (absent from a file of an earlier
/// oplink). It feeds warnings, the check of the snapshot's sum, and the refusal of
/// operators of one name that changed places.
pub(super) struct Kept {
    pub(super) fingerprint: String,
    pub(super) operator: Option<String>,
    /// The snapshot written with it (`snapshot LENGTH SUM`), absent from a file of an
    /// earlier oplink and for an operator without a snapshot.
    pub(super) snapshot: Option<SnapshotSum>,
}

/// A file there that cannot be read (its permissions) is an error: passed over, the
/// snapshot's sum would go unchecked.
pub(super) fn kept_config(dir: &Path, scope: &str) -> Result<Option<Kept>> {
    let path = config_path(dir, scope);
    // A named pipe there would wait for a writer: only a file is read.
    if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(|e| CliError::io("read", &path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines().map(str::trim);
    Ok(Some(Kept {
        fingerprint: lines.next().unwrap_or_default().to_owned(),
        operator: lines.next().filter(|l| !l.is_empty()).map(str::to_owned),
        snapshot: lines.next().and_then(SnapshotSum::parse),
    }))
}

/// What the configuration file records of a snapshot: its length and the FNV-1a (64 bits)
/// of its bytes, so that a snapshot damaged since it was kept (a bit flipped, a file cut
/// short at a record's end) is refused rather than restored as a different state.
#[derive(Debug, PartialEq)]
pub(super) struct SnapshotSum {
    pub(super) length: u64,
    pub(super) sum: u64,
}

impl SnapshotSum {
    pub(super) fn of(bytes: &[u8]) -> SnapshotSum {
        use oplink::abi::decl::{FNV_OFFSET, fnv1a};
        SnapshotSum {
            length: bytes.len() as u64,
            sum: fnv1a(FNV_OFFSET, bytes),
        }
    }

    /// The line `snapshot LENGTH SUM` (the sum in hexadecimal); `None` for another line.
    fn parse(line: &str) -> Option<SnapshotSum> {
        let mut parts = line.strip_prefix("snapshot ")?.split(' ');
        let length = parts.next()?.parse().ok()?;
        let sum = u64::from_str_radix(parts.next()?, 16).ok()?;
        Some(SnapshotSum { length, sum })
    }
}

impl std::fmt::Display for SnapshotSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "snapshot {} {:016x}", self.length, self.sum)
    }
}

/// Where a state file (`NAME.snapshot`, `NAME.config`) is written before it is put in
/// place: `NAME.snapshot.partial`.
pub(super) fn partial_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// An error unless `path`, where the state keeps a file, is a file or is not there: found
/// while nothing is kept yet (a folder there would refuse its rename only after the output
/// and the stores were).
pub(super) fn a_file_or_nothing(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(CliError::Usage(format!(
            "`{}` is {}, where `--state` keeps a file; remove it",
            path.display(),
            if meta.is_dir() {
                "a folder"
            } else {
                "no regular file"
            }
        ))),
        _ => Ok(()),
    }
}

/// Writes `bytes` to the new file `path` and syncs them to the disk: a state file is on the
/// disk before the output and the stores are kept, so that none of them waits on it after.
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    // A new file, never written through what is there (a link left in the folder would
    // take the bytes elsewhere): what is there is a temporary file of an earlier run.
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|e| CliError::io("write", path, e))
}
