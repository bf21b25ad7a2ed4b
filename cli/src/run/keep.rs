//! Keeping a run's state at its end: every operator's snapshot written, then the stores
//! committed and the snapshots put in place, a mark letting the next run finish the work of
//! one killed meanwhile; and where the numbering of rows and versions goes on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use oplink_host::{Instance, StateStore};

use crate::args::RunArgs;
use crate::error::{CliError, Result};

use super::chain::{Stage, stage_error};
use super::state_files::{
    SnapshotSum, a_file_or_nothing, config_path, fingerprint, partial_of, snapshot_path,
    write_synced,
};

/// At the end, in two steps that keep nothing yet: every operator's own `flush_state`
/// (what it writes stays pending in its instance), then with `--state` every snapshot,
/// taken and written under a temporary name (which [`Snapshots::commit`] puts in place).
/// A snapshot so sees the state the flush left, as a host's snapshot after a flush does;
/// [`commit_stores`] writes the pending state once the output is in place.
pub(super) fn close_operators(
    args: &RunArgs,
    stages: &mut [Stage],
    output: Option<(&Path, (u64, u64))>,
) -> Result<Snapshots> {
    for stage in stages.iter_mut().filter(|stage| flushed(args, stage)) {
        let t = Instant::now();
        stage
            .instance
            .prepare_flush()
            .map_err(|e| stage_error(&stage.place, e, || "the closing flush".to_owned()))?;
        stage.done.time += t.elapsed();
    }
    let mut snapshots = Snapshots::default();
    for stage in stages.iter_mut() {
        let t = Instant::now();
        let mut sum = None;
        // Kept for an operator that can take it back: another's snapshot would refuse
        // the next run (above).
        if let (Some(dir), Some(scope)) = (&args.state, &stage.scope)
            && stage.instance.info().implemented().snapshot()
            && stage.instance.info().implemented().restore()
        {
            let bytes = stage
                .instance
                .snapshot()
                .map_err(|e| stage_error(&stage.place, e, || "the closing snapshot".to_owned()))?;
            let path = snapshot_path(dir, scope);
            a_file_or_nothing(&path)?;
            let partial = partial_of(&path);
            // Listed first, so that a write that fails part way is removed too.
            snapshots.pending.push((partial.clone(), path));
            crate::interrupt::remove_on_interrupt(&partial);
            write_synced(&partial, &bytes)?;
            sum = Some(SnapshotSum::of(&bytes));
        }
        if let (Some(dir), Some(scope)) = (&args.state, &stage.scope) {
            // The configuration the state is kept with, for a warning when it changes.
            let path = config_path(dir, scope);
            a_file_or_nothing(&path)?;
            let partial = partial_of(&path);
            snapshots.pending.push((partial.clone(), path));
            crate::interrupt::remove_on_interrupt(&partial);
            // The fingerprint, then the operator that kept the state, then its snapshot's
            // length and sum.
            write_synced(
                &partial,
                format!(
                    "{}\n{}\n{}",
                    fingerprint(&stage.config),
                    stage.instance.name(),
                    sum.map(|sum| format!("{sum}\n")).unwrap_or_default()
                )
                .as_bytes(),
            )?;
        }
        stage.done.time += t.elapsed();
    }
    if let Some(dir) = &args.state {
        // The mark of this run's keeping, once every file is written: the store gets it in
        // its transaction, and a run killed before the snapshots are in place is finished
        // by the next (see `finish_kept`).
        let path = dir.join(KEEPING);
        a_file_or_nothing(&path)?;
        let token = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        crate::interrupt::remove_on_interrupt(&path);
        snapshots.mark = Some((path.clone(), token.clone()));
        // The token, then the files this run puts in place, by name: only those are the
        // next run's to finish.
        let mut mark = format!("{token}\n");
        for (partial, _) in &snapshots.pending {
            if let Some(name) = partial.file_name().and_then(|n| n.to_str()) {
                mark.push_str(name);
                mark.push('\n');
            }
        }
        // The output file, which goes into place after the mark and before the store (a
        // run killed between the two leaves it new beside the state kept before), by the
        // file it will be.
        if let Some((output, (device, inode))) = output
            && let Some(output) = std::path::absolute(output)
                .ok()
                .and_then(|p| p.to_str().map(str::to_owned))
            && !output.contains('\n')
        {
            mark.push_str(&format!("{OUTPUT_LINE}{device} {inode} {output}\n"));
        }
        write_synced(&path, mark.as_bytes())?;
        // The entries of the snapshots and the mark on the disk before the store is kept.
        crate::output::sync_folder_of(&path)?;
    }
    Ok(snapshots)
}

/// Whether the run flushes this stage's state at the end: it has a `flush_state`, or
/// `--state` keeps its store.
fn flushed(args: &RunArgs, stage: &Stage) -> bool {
    stage.instance.info().implemented().flush_state() || args.state.is_some()
}

/// Every instance's pending writes committed to the store (once the output is in place), in
/// one transaction: a failure (a full disk) keeps none of them.
pub(super) fn commit_stores(
    args: &RunArgs,
    stages: &mut [Stage],
    store: &StateStore,
    snapshots: &Snapshots,
    numbered_to: Numbering,
) -> Result<()> {
    let kept = stages
        .iter_mut()
        .filter(|stage| flushed(args, stage))
        .map(|stage| &mut stage.instance);
    let committed = match &snapshots.mark {
        // With `--state`, the run's mark and where its numbering stopped in the same
        // transaction.
        Some((_, token)) => Instance::commit_states_with(
            kept,
            store,
            &[
                (RUN_SCOPE, KEPT_KEY, Some(token.as_bytes())),
                (
                    RUN_SCOPE,
                    NEXT_ROW_KEY,
                    Some(&numbered_to.rows.to_le_bytes()),
                ),
                (
                    RUN_SCOPE,
                    NEXT_CHANGE_KEY,
                    Some(&numbered_to.changes.to_le_bytes()),
                ),
            ],
        ),
        None => Instance::commit_states(kept),
    };
    committed.map_err(|source| CliError::Stage {
        source: Box::new(source),
        when: "the closing flush".to_owned(),
    })
}

/// The file that marks a run keeping its state in a `--state` folder (written once every
/// snapshot is, removed once they are all in place), and where the store keeps that mark:
/// a scope no operator can have.
const KEEPING: &str = "keeping.partial";
/// The line of the mark that names the run's output file.
const OUTPUT_LINE: &str = "output ";
const RUN_SCOPE: &str = "#oplink-run";
const KEPT_KEY: &[u8] = b"kept";
/// Where the store keeps the number of the next run's first row, and the version its
/// first change follows.
const NEXT_ROW_KEY: &[u8] = b"next-row";
const NEXT_CHANGE_KEY: &[u8] = b"next-change";

/// Where a run's numbering starts: row numbers and change versions go on from the last
/// run that kept its state in the `--state` folder (from 0 and 1 without one).
#[derive(Clone, Copy, Default)]
pub(super) struct Numbering {
    /// The first row's number.
    pub(super) rows: u64,
    /// The version before the first change's.
    pub(super) changes: u64,
}

impl Numbering {
    /// Where the last run kept in `store` stopped (a store of an earlier oplink, without
    /// the entries: from the start).
    pub(super) fn kept(store: &StateStore) -> Result<Numbering> {
        let entries = store.entries(RUN_SCOPE).map_err(CliError::Host)?;
        let read = |key: &[u8]| -> u64 {
            entries
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, value)| value.as_slice().try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        Ok(Numbering {
            rows: read(NEXT_ROW_KEY),
            changes: read(NEXT_CHANGE_KEY),
        })
    }
}

/// Finishes what a run killed while it kept its state in `dir` left, by the files its mark
/// names: when the store holds that run's mark, the store was kept and its snapshots were
/// not all put in place, so they are now; otherwise the store was not kept, and they are
/// removed (what no mark names is removed by [`instantiate`], with a warning, for the
/// operators of the chain). Says which, unless `quiet`.
///
/// [`instantiate`]: super::restore::instantiate
pub(super) fn finish_kept(dir: &Path, store: &StateStore, quiet: bool) -> Result<()> {
    let mark = dir.join(KEEPING);
    let Ok(meta) = std::fs::symlink_metadata(&mark) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Err(CliError::Usage(format!(
            "`{}` is {}, where `--state` keeps a file of its own while it keeps the state; remove it",
            mark.display(),
            match meta.file_type() {
                t if t.is_dir() => "a folder",
                t if t.is_symlink() => "a symbolic link",
                _ => "no regular file",
            }
        )));
    }
    let text = std::fs::read_to_string(&mark).map_err(|e| CliError::io("read", &mark, e))?;
    let mut lines = text.lines();
    let token = lines.next().unwrap_or_default();
    let kept = store
        .entries(RUN_SCOPE)
        .map_err(CliError::Host)?
        .into_iter()
        .any(|(key, value)| key == KEPT_KEY && value == token.as_bytes());
    // The files the mark names that are still there: temporary state files of the folder.
    let left: Vec<PathBuf> = lines
        .filter(|name| {
            !name.contains('/')
                && (name.ends_with(".snapshot.partial") || name.ends_with(".config.partial"))
        })
        .map(|name| dir.join(name))
        .filter(|path| std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()))
        .collect();
    for partial in &left {
        if kept {
            crate::output::put_in_place(partial, &partial.with_extension(""))?;
        } else {
            std::fs::remove_file(partial).map_err(|e| CliError::io("remove", partial, e))?;
        }
    }
    std::fs::remove_file(&mark).map_err(|e| CliError::io("remove", &mark, e))?;
    if !quiet && !left.is_empty() {
        let files = crate::counted(left.len(), "temporary file", "temporary files");
        if kept {
            crate::say!(
                "oplink: warning: the last run with `--state {}` kept its store but did not put its snapshots in place (it was stopped, or failed): its {files} {} put in place now",
                dir.display(),
                if left.len() == 1 { "was" } else { "were" }
            );
        } else {
            let output = output_put_in_place(&text).map(|output| format!(
                "; its output `{}` was put in place all the same, and holds rows this state does not count: run that input again",
                output.display()
            ));
            crate::say!(
                "oplink: warning: the last run with `--state {}` was stopped, or failed, before it kept its state: its {files} {} removed, and the state is the one kept before it{}",
                dir.display(),
                if left.len() == 1 { "was" } else { "were" },
                output.unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// The output file a run's mark (`text`) names, when it is the file that run wrote: it
/// went into place.
fn output_put_in_place(text: &str) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    text.lines().find_map(|line| {
        let mut parts = line.strip_prefix(OUTPUT_LINE)?.splitn(3, ' ');
        let device: u64 = parts.next()?.parse().ok()?;
        let inode: u64 = parts.next()?.parse().ok()?;
        let path = PathBuf::from(parts.next()?);
        let now = std::fs::metadata(&path).ok()?;
        ((now.dev(), now.ino()) == (device, inode)).then_some(path)
    })
}

/// Snapshots written under temporary names: dropped before [`Snapshots::commit`], they are
/// removed.
#[derive(Default)]
pub(super) struct Snapshots {
    pending: Vec<(PathBuf, PathBuf)>,
    /// With `--state`: the file that marks this run keeping its state, and the mark.
    mark: Option<(PathBuf, String)>,
}

impl Snapshots {
    /// Called once the store is kept: a file that cannot be put in place leaves it, the
    /// files after it and the mark for the next run, which finishes the work.
    pub(super) fn commit(mut self) -> Result<()> {
        // One at a time off the list, in the order they were written (each snapshot before
        // its configuration's fingerprint).
        while let Some((partial, path)) = self.pending.first().cloned() {
            if let Err(error) = crate::output::put_in_place(&partial, &path) {
                for (left, _) in std::mem::take(&mut self.pending) {
                    crate::interrupt::forget(&left);
                }
                let Some((mark, _)) = self.mark.take() else {
                    return Err(error);
                };
                crate::interrupt::forget(&mark);
                return Err(CliError::Usage(format!(
                    "{error}; the state store was kept, and the next run with `--state {}` puts the snapshots in place",
                    crate::output::folder_of(&mark).display()
                )));
            }
            self.pending.remove(0);
            crate::interrupt::forget(&partial);
        }
        // Every file in place: nothing left for a next run to finish.
        if let Some((mark, _)) = self.mark.take() {
            crate::interrupt::remove(&mark);
        }
        Ok(())
    }

    /// Called when the store's commit failed: whether it was kept is unknown, so the
    /// temporary files and the mark are left for the next run to settle by the store
    /// (see [`finish_kept`]), and the error says so.
    pub(super) fn leave_for_next_run(mut self, error: CliError, output: Option<&Path>) -> CliError {
        let Some((mark, _)) = self.mark.take() else {
            return error;
        };
        for (left, _) in std::mem::take(&mut self.pending) {
            crate::interrupt::forget(&left);
        }
        crate::interrupt::forget(&mark);
        let output = output.map(|output| {
            format!(
                " (the output `{}` is in place: when the next run says the state was not kept, run this input again)",
                output.display()
            )
        });
        CliError::Usage(format!(
            "{error}; the next run with `--state {}` finds whether the store kept this run's state, and keeps the snapshots with it or removes them{}",
            crate::output::folder_of(&mark).display(),
            output.unwrap_or_default()
        ))
    }
}

impl Drop for Snapshots {
    fn drop(&mut self) {
        for (partial, _) in &self.pending {
            crate::interrupt::remove(partial);
        }
        if let Some((mark, _)) = &self.mark {
            crate::interrupt::remove(mark);
        }
    }
}
