//! The `State` service behind instances: in memory by default, or in an embedded on-disk
//! store (redb) when the host asks for one. Each named instance gets a scope of its own;
//! writes are held by the scope and reach the store at `flush_state`, in one transaction.
//!
//! Why redb: a pure-Rust embedded key-value store with ACID transactions, copy-on-write
//! B-trees and a crash-safe commit (a commit is durable when it returns, a crash never
//! leaves half of one), one file, no C toolchain, and a small API. sled is unmaintained in
//! its stable line; RocksDB and LMDB need C libraries; SQLite would bring SQL for what is a
//! sorted map.

// redb's error type is large (160 bytes); it is only ever the failure path of a disk
// operation, turned into a message at once.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use oplink::services::{Entries, State};

use crate::error::{Error, Result};
use crate::load::NOT_A_STORE;

/// Keys are `(scope, key)`; values are bytes.
const TABLE: redb::TableDefinition<(&str, &[u8]), &[u8]> = redb::TableDefinition::new("state");

/// Where the state of named instances lives. Cheap to clone (one store, shared).
#[derive(Clone, Debug)]
pub struct StateStore {
    inner: Arc<StoreInner>,
}

#[derive(Debug)]
struct StoreInner {
    backing: Backing,
    /// Scopes held by a live instance, with the instance's operator: one instance per
    /// scope at a time.
    live: Mutex<BTreeMap<String, String>>,
}

/// The in-memory store: `(scope, key)` to value.
type MemoryMap = BTreeMap<(String, Vec<u8>), Vec<u8>>;

enum Backing {
    Memory(Mutex<MemoryMap>),
    Disk {
        path: PathBuf,
        /// Whether opening it made the file.
        created: bool,
        db: std::sync::RwLock<Opened>,
    },
}

/// The on-disk database as last opened: or why it could not be reopened (tried again at the
/// next use), and how many times it was reopened (so two threads that met one I/O error
/// reopen it once).
struct Opened {
    db: std::result::Result<redb::Database, String>,
    reopened: u64,
}

/// Opens (or creates) the database at `path` with its table, under a guard: redb asserts on
/// some damaged files instead of returning an error. Says whether this call made the file.
fn open_database(path: &Path) -> std::result::Result<(redb::Database, bool), String> {
    // redb makes a new store of an empty file: one that was truncated would lose every
    // state it held without a word.
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty())
        && !folder.exists()
    {
        return Err(format!(
            "its folder `{}` does not exist (a store's file is created, not its folder)",
            folder.display()
        ));
    }
    if path.is_dir() {
        return Err(
            "it is a folder, not a file: give the path of the store's file (in that folder, say; it is created when missing)"
                .to_owned(),
        );
    }
    if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        return Err(
            "the file is empty, as no store ever is (was it truncated?); remove it to start with no state"
                .to_owned(),
        );
    }
    let created = if std::fs::symlink_metadata(path).is_err() {
        create_whole(path)?
    } else {
        // What a process killed after it linked a new store left (see `create_whole`).
        remove_stale_new(path);
        false
    };
    let opened = quietly(|| -> std::result::Result<_, redb::Error> {
        let db = redb::Database::create(path)?;
        // The table exists from the start, so that readers never meet its absence.
        let tx = db.begin_write()?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        Ok(db)
    });
    match opened {
        Ok(opened) => opened.map(|db| (db, created)).map_err(|e| match e {
            redb::Error::DatabaseAlreadyOpen => format!("{}, in this process or another (hosts of one process share a store by cloning its `StateStore`)", crate::load::OPEN_ALREADY),
            redb::Error::Io(e) => match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    format!("the file is damaged or is not a state store (it ends early); {NOT_A_STORE}")
                }
                std::io::ErrorKind::InvalidData => {
                    format!("the file is damaged or is not a state store; {NOT_A_STORE}")
                }
                _ => crate::error::io_words(&e),
            },
            other => other.to_string(),
        }),
        Err(payload) => Err(damaged(payload.as_ref())),
    }
}

/// What a redb error says: an I/O error in the system's words alone ("No space left on
/// device", not redb's "I/O error: No space left on device (os error 28)"), as the errors
/// of opening a store give it.
fn redb_words(error: redb::Error) -> String {
    match error {
        redb::Error::Io(e) => crate::error::io_words(&e),
        other => other.to_string(),
    }
}

/// Makes a new store at `path` whole before its name appears: redb writes a new file in
/// place, so a process killed (or a disk that fills) while it does would leave an empty or
/// half-written file that every later open refuses as truncated or damaged, and a second
/// process opening the path meanwhile would find it empty. The store is made under a
/// temporary name beside it (`.NAME.PID-N.new`, one per call) and linked to `path` once
/// complete, which fails rather than replace a store another process made meanwhile (that
/// one is then opened). Where the file system has no links, the store is made in place.
/// Says whether this call made the file at `path`.
fn create_whole(path: &Path) -> std::result::Result<bool, String> {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(true);
    };
    let folder = path.parent().filter(|f| !f.as_os_str().is_empty());
    let temporary = path.with_file_name(format!(
        ".{name}.{}-{}.new",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    remove_stale_new(path);
    let made = quietly(|| -> std::result::Result<(), redb::Error> {
        let db = redb::Database::create(&temporary)?;
        let tx = db.begin_write()?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        Ok(())
    });
    let linked = match made {
        Ok(Ok(())) => std::fs::hard_link(&temporary, path),
        Ok(Err(e)) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(match e {
                redb::Error::Io(e) => crate::error::io_words(&e),
                other => other.to_string(),
            });
        }
        Err(payload) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(damaged(payload.as_ref()));
        }
    };
    let _ = std::fs::remove_file(&temporary);
    match linked {
        // Made by another process (or thread) meanwhile: that store is the one opened.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // No links here: made in place by the caller.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::Unsupported | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            Ok(true)
        }
        Err(e) => Err(crate::error::io_words(&e)),
        Ok(()) => {
            // The new name on the disk before any state is kept in it.
            if let Ok(folder) = std::fs::File::open(folder.unwrap_or(Path::new("."))) {
                let _ = folder.sync_all();
            }
            Ok(true)
        }
    }
}

/// Removes what processes killed while they made a new store at `path` left beside it.
fn remove_stale_new(path: &Path) {
    if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
        let folder = path.parent().filter(|f| !f.as_os_str().is_empty());
        crate::load::remove_stale(folder.unwrap_or(Path::new(".")), name, ".new");
    }
}

/// Runs `f` (a call into redb) under `catch_unwind`, with its panics kept off standard
/// error: redb panics on some damaged files, which the caller reports as an error, so the
/// panic's own message would only repeat it in a form meant for Rust programmers. The
/// first call installs a panic hook that stays quiet for such calls and passes every other
/// panic to the hook it replaced.
fn quietly<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> std::thread::Result<R> {
    use std::cell::Cell;
    thread_local!(static QUIET: Cell<bool> = const { Cell::new(false) });
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // `try_with`: a hook must not panic, even while the thread's locals go. Quiet
            // only for redb's own panics: one of oplink's (a bug) is printed.
            let in_redb = info.location().is_some_and(|l| l.file().contains("redb"));
            if !(in_redb && QUIET.try_with(Cell::get).unwrap_or(false)) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|quiet| quiet.replace(true));
    let outcome = std::panic::catch_unwind(f);
    QUIET.with(|quiet| quiet.set(was));
    outcome
}

/// The reason for a panic of redb's: the file is damaged.
fn damaged(payload: &(dyn std::any::Any + Send)) -> String {
    let said = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("the file is damaged (redb: {said}); {NOT_A_STORE}")
}

impl std::fmt::Debug for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backing::Memory(_) => f.write_str("Memory"),
            Backing::Disk { path, .. } => write!(f, "Disk({})", path.display()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section below is a single map operation: a panic cannot leave one
    // half-done.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl StateStore {
    /// A store in memory: state survives a reload, not a restart.
    pub fn in_memory() -> StateStore {
        StateStore::with(Backing::Memory(Mutex::new(BTreeMap::new())))
    }

    /// The store in the file at `path`, created if missing (its folder must exist). State
    /// flushed to it survives a crash and a restart.
    ///
    /// # Errors
    ///
    /// [`Error::State`] when the file cannot be created or opened as a store: its folder is
    /// missing, it is empty, damaged or no store, or it is open already (in this process or
    /// another: hosts of one process share a store by cloning its `StateStore`).
    pub fn open(path: impl AsRef<Path>) -> Result<StateStore> {
        let path = path.as_ref().to_path_buf();
        let failed = |reason: String| Error::State {
            path: path.clone(),
            reason,
        };
        let (db, created) = open_database(&path).map_err(failed)?;
        Ok(StateStore::with(Backing::Disk {
            path,
            created,
            db: std::sync::RwLock::new(Opened {
                db: Ok(db),
                reopened: 0,
            }),
        }))
    }

    fn with(backing: Backing) -> StateStore {
        StateStore {
            inner: Arc::new(StoreInner {
                backing,
                live: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The file of an on-disk store.
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.backing {
            Backing::Memory(_) => None,
            Backing::Disk { path, .. } => Some(path),
        }
    }

    /// Whether opening this store made its file (it did not exist; `false` for the
    /// in-memory store): a host that removes what a failed start made removes only this.
    pub fn created(&self) -> bool {
        matches!(self.inner.backing, Backing::Disk { created: true, .. })
    }

    /// Every flushed entry of `scope`, in key order (what a restarted instance would see).
    ///
    /// # Errors
    ///
    /// [`Error::State`] when an on-disk store cannot be read.
    pub fn entries(&self, scope: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan(scope, b"")
    }

    /// Whether `scope` holds any flushed entry (reading at most one).
    ///
    /// # Errors
    ///
    /// [`Error::State`] when an on-disk store cannot be read.
    pub fn has_entries(&self, scope: &str) -> Result<bool> {
        Ok(!self.scan_at_most(scope, b"", 1)?.is_empty())
    }

    /// Claims `scope` for a new instance of `operator`: an error while another live
    /// instance holds it.
    pub(crate) fn claim(&self, scope: &str, operator: &str) -> Result<Arc<ScopedState>> {
        if scope.is_empty() {
            return Err(self.disk_error("an instance's state needs a name, and `\"\"` is none; give it one, or create the instance with `instantiate` to keep its state in memory, dropped with it"));
        }
        if scope.starts_with('#') {
            return Err(self.disk_error(format_args!(
                "the state name `{scope}` starts with `#`, which keeps a host's own entries (`Instance::commit_states_with`) apart from its instances' states; give the instance a name that does not"
            )));
        }
        match lock(&self.inner.live).entry(scope.to_owned()) {
            Entry::Occupied(holder) => {
                return Err(Error::StateInUse {
                    scope: scope.to_owned(),
                    holder: holder.get().clone(),
                    path: self.path().map(Path::to_path_buf).unwrap_or_default(),
                });
            }
            Entry::Vacant(free) => {
                free.insert(operator.to_owned());
            }
        }
        Ok(Arc::new(ScopedState {
            store: Some(self.clone()),
            scope: scope.to_owned(),
            pending: Mutex::new(BTreeMap::new()),
            flushes: AtomicU64::new(0),
            captured: Mutex::new(None),
            capturing: AtomicBool::new(false),
        }))
    }

    fn disk_error(&self, reason: impl std::fmt::Display) -> Error {
        Error::State {
            path: self.path().map(Path::to_path_buf).unwrap_or_default(),
            reason: reason.to_string(),
        }
    }

    /// Runs `work` on the on-disk database, under a guard (redb asserts on some damaged
    /// files). After an I/O error redb refuses every later write until the database is
    /// reopened: then it is reopened here (by one thread, however many met the error), and
    /// `work` tried again once, so that a full disk made free again does not leave the store
    /// unusable for the rest of the process. A reopen that fails is tried again at the next
    /// use, and its reason given meanwhile.
    fn on_disk<T>(
        &self,
        work: impl Fn(&redb::Database) -> std::result::Result<T, redb::Error>,
    ) -> Result<T> {
        let Backing::Disk { path, db, .. } = &self.inner.backing else {
            unreachable!("called for an on-disk store")
        };
        // `Err(Some(n))`: redb asks to be reopened, and it had been reopened `n` times.
        let attempt = || -> std::result::Result<T, (String, Option<u64>)> {
            let opened = db.read().unwrap_or_else(|e| e.into_inner());
            let database = match &opened.db {
                Ok(database) => database,
                Err(why) => {
                    return Err((
                        format!("the database could not be reopened after an I/O error: {why}"),
                        Some(opened.reopened),
                    ));
                }
            };
            match quietly(std::panic::AssertUnwindSafe(|| work(database))) {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(redb::Error::PreviousIo)) => {
                    Err((redb::Error::PreviousIo.to_string(), Some(opened.reopened)))
                }
                Ok(Err(other)) => Err((redb_words(other), None)),
                Err(payload) => Err((damaged(payload.as_ref()), None)),
            }
        };
        match attempt() {
            Ok(value) => Ok(value),
            Err((_, Some(seen))) => {
                let mut opened = db.write().unwrap_or_else(|e| e.into_inner());
                if opened.reopened == seen {
                    // Closed before it is opened again: redb refuses a second handle.
                    opened.db = Err("closed to be reopened".to_owned());
                    opened.db = open_database(path).map(|(db, _)| db);
                    opened.reopened += 1;
                }
                drop(opened);
                attempt().map_err(|(why, _)| self.disk_error(why))
            }
            Err((why, None)) => Err(self.disk_error(why)),
        }
    }

    fn get(&self, scope: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match &self.inner.backing {
            Backing::Memory(map) => Ok(lock(map).get(&(scope.to_owned(), key.to_vec())).cloned()),
            Backing::Disk { .. } => self.on_disk(|db| {
                let tx = db.begin_read()?;
                let table = tx.open_table(TABLE)?;
                let value = table.get((scope, key))?;
                Ok(value.map(|v| v.value().to_vec()))
            }),
        }
    }

    fn scan(&self, scope: &str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_at_most(scope, prefix, usize::MAX)
    }

    /// The first `limit` entries of `scope` under `prefix`, in key order.
    fn scan_at_most(
        &self,
        scope: &str,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        match &self.inner.backing {
            Backing::Memory(map) => Ok(lock(map)
                .range((scope.to_owned(), prefix.to_vec())..)
                .take_while(|((s, k), _)| s == scope && k.starts_with(prefix))
                .take(limit)
                .map(|((_, k), v)| (k.clone(), v.clone()))
                .collect()),
            Backing::Disk { .. } => self.on_disk(|db| {
                let tx = db.begin_read()?;
                let table = tx.open_table(TABLE)?;
                let mut out = Vec::new();
                for entry in table.range((scope, prefix)..)?.take(limit) {
                    let (key, value) = entry?;
                    let (s, k) = key.value();
                    if s != scope || !k.starts_with(prefix) {
                        break;
                    }
                    out.push((k.to_vec(), value.value().to_vec()));
                }
                Ok(out)
            }),
        }
    }

    /// Applies each scope's `writes` at once: one transaction on disk for all of them.
    fn commit(&self, parts: &[(&str, &Writes)]) -> Result<()> {
        match &self.inner.backing {
            Backing::Memory(map) => {
                let mut map = lock(map);
                for &(scope, writes) in parts {
                    for (key, value) in writes {
                        let key = (scope.to_owned(), key.clone());
                        match value {
                            Some(value) => map.insert(key, value.clone()),
                            None => map.remove(&key),
                        };
                    }
                }
                Ok(())
            }
            Backing::Disk { .. } => self.on_disk(|db| {
                let tx = db.begin_write()?;
                {
                    let mut table = tx.open_table(TABLE)?;
                    for &(scope, writes) in parts {
                        for (key, value) in writes {
                            match value {
                                Some(value) => table
                                    .insert((scope, key.as_slice()), value.as_slice())
                                    .map(drop),
                                None => table.remove((scope, key.as_slice())).map(drop),
                            }?;
                        }
                    }
                }
                Ok(tx.commit()?)
            }),
        }
    }

    fn same(&self, other: &StateStore) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// Writes not flushed yet: `Some(value)` puts, `None` deletes.
pub(crate) type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// One write: a key and its value, `None` for a delete.
type Write = (Vec<u8>, Option<Vec<u8>>);

/// An entry of the host's own for [`Instance::commit_states_with`](crate::Instance::commit_states_with):
/// `(scope, key, value)`, a `None` value removing the key. The scope starts with `#`
/// (`"#input"`), which no instance's state name does.
pub type HostEntry<'a> = (&'a str, &'a [u8], Option<&'a [u8]>);

/// The state of one instance: its scope of a store (or, unnamed, a store of its own), and
/// the writes not flushed yet. Moves to the new instance on a reload.
#[derive(Debug)]
pub(crate) struct ScopedState {
    /// `None` for an unnamed instance: its state lives in `pending` only.
    store: Option<StateStore>,
    scope: String,
    /// Writes since the last flush: `Some(value)` puts, `None` deletes.
    pending: Mutex<Writes>,
    /// Flushes that wrote something to the store: a recovery point taken before the last
    /// of them can no longer be returned to whole.
    flushes: AtomicU64,
    /// The writes made while [`ScopedState::writes_during`] runs, in order (`None`
    /// otherwise; `capturing` says which, without a lock on every write).
    captured: Mutex<Option<Vec<Write>>>,
    capturing: AtomicBool,
}

impl ScopedState {
    /// The state of an instance the host gave no name: in memory, its own.
    pub(crate) fn unnamed() -> Arc<ScopedState> {
        Arc::new(ScopedState {
            store: None,
            scope: String::new(),
            pending: Mutex::new(BTreeMap::new()),
            flushes: AtomicU64::new(0),
            captured: Mutex::new(None),
            capturing: AtomicBool::new(false),
        })
    }

    /// The scope's name, if the instance has one.
    pub(crate) fn scope(&self) -> Option<&str> {
        self.store.as_ref().map(|_| self.scope.as_str())
    }

    /// Writes what is pending to the store, at once.
    pub(crate) fn flush(&self) -> Result<()> {
        ScopedState::flush_together(&[self], None)
    }

    /// Writes what is pending in each of `states` to its store: one transaction per store,
    /// so that the states sharing a store are all kept or none is. A store that fails
    /// leaves its states' writes pending; those of stores written before it are kept.
    /// `host`: the host's own writes to a store, by scope, committed in the transaction of
    /// that store's states (alone when none of `states` is in it); a scope that does not
    /// start with `#` is refused before anything is written.
    pub(crate) fn flush_together(
        states: &[&ScopedState],
        host: Option<(&StateStore, &[(String, Writes)])>,
    ) -> Result<()> {
        // The host's scopes start with `#`, which no instance's state name does
        // (`instantiate_named` refuses it): the host's entries and an instance's state never
        // share a scope, now or later.
        if let Some((store, writes)) = host
            && let Some((scope, _)) = writes.iter().find(|(scope, _)| !scope.starts_with('#'))
        {
            let shown = if scope.is_empty() {
                "`\"\"`".to_owned()
            } else {
                format!("`{scope}`")
            };
            return Err(store.disk_error(format_args!(
                "the scope {shown} of the host's entries does not start with `#`; give them one that does (no instance's state can)"
            )));
        }
        let host_parts = |store: &StateStore| -> Vec<(&str, &Writes)> {
            match host {
                Some((to, writes)) if to.same(store) => writes
                    .iter()
                    .filter(|(_, w)| !w.is_empty())
                    .map(|(scope, w)| (scope.as_str(), w))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut done = vec![false; states.len()];
        for first in 0..states.len() {
            let Some(store) = states[first].store.as_ref().filter(|_| !done[first]) else {
                continue;
            };
            // The states of this store, each once however often it was given.
            let mut group_states: Vec<&ScopedState> = Vec::new();
            for i in first..states.len() {
                if states[i].store.as_ref().is_some_and(|s| s.same(store)) {
                    done[i] = true;
                    if !group_states.iter().any(|s| std::ptr::eq(*s, states[i])) {
                        group_states.push(states[i]);
                    }
                }
            }
            let mut pending: Vec<_> = group_states.iter().map(|s| lock(&s.pending)).collect();
            let mut parts: Vec<(&str, &Writes)> = group_states
                .iter()
                .zip(&pending)
                .filter(|(_, writes)| !writes.is_empty())
                .map(|(state, writes)| (state.scope.as_str(), &**writes))
                .collect();
            parts.extend(host_parts(store));
            if parts.is_empty() {
                continue;
            }
            store.commit(&parts)?;
            for (state, writes) in group_states.iter().zip(&mut pending) {
                if !writes.is_empty() {
                    writes.clear();
                    state.flushes.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        // The host's entries in a store none of the states is in: last, once every state
        // is kept.
        if let Some((store, _)) = host
            && !states
                .iter()
                .any(|state| state.store.as_ref().is_some_and(|s| s.same(store)))
        {
            let parts = host_parts(store);
            if !parts.is_empty() {
                store.commit(&parts)?;
            }
        }
        Ok(())
    }

    /// How many flushes wrote to the store so far.
    pub(crate) fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// The writes not flushed yet: what [`ScopedState::put_back`] restores when what was
    /// tried with this state (a reload's new instance) fails.
    pub(crate) fn pending(&self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        lock(&self.pending).clone()
    }

    /// Makes `writes` the writes not flushed yet, undoing any made since they were taken.
    pub(crate) fn put_back(&self, writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        *lock(&self.pending) = writes;
    }

    /// Runs `work` (the drop of an instance, whose `destroy` may write) and applies the
    /// writes made meanwhile to `onto` too, as they were applied to the pending ones.
    pub(crate) fn writes_during(&self, work: impl FnOnce(), onto: &mut Writes) {
        *lock(&self.captured) = Some(Vec::new());
        self.capturing.store(true, Ordering::SeqCst);
        work();
        self.capturing.store(false, Ordering::SeqCst);
        for (key, value) in lock(&self.captured).take().unwrap_or_default() {
            match value {
                // An unnamed instance's delete drops the key (there is no store to delete
                // it from), as `delete` does to the pending writes.
                None if self.store.is_none() => {
                    onto.remove(&key);
                }
                value => {
                    onto.insert(key, value);
                }
            }
        }
    }

    /// Notes a write for [`ScopedState::writes_during`], while it runs.
    fn capture(&self, key: &[u8], value: Option<&[u8]>) {
        if self.capturing.load(Ordering::SeqCst)
            && let Some(captured) = lock(&self.captured).as_mut()
        {
            captured.push((key.to_vec(), value.map(<[u8]>::to_vec)));
        }
    }

    /// Refuses at `put` what an on-disk store could never keep (a value of `value_len`
    /// bytes under `key`; [`too_big_for_disk`]), naming the key: redb would refuse the
    /// whole flush otherwise, every time, with a message that names no key.
    fn fits_on_disk(&self, path: &Path, key: &[u8], value_len: usize) -> oplink::Result<()> {
        let Some(what) = too_big_for_disk(self.scope.len(), key.len(), value_len) else {
            return Ok(());
        };
        // Keys are bytes: shown as ASCII with escapes (`\xff`), cut past 64 bytes.
        let mut shown = key[..key.len().min(64)].escape_ascii().to_string();
        if key.len() > 64 {
            shown.push('…');
        }
        Err(oplink::Error::msg(format!(
            "cannot put the key `{shown}` in state `{}` of state store `{}`: {what} an on-disk store keeps under one key; split it across several keys",
            self.scope,
            path.display()
        )))
    }

    fn to_service(error: Error) -> oplink::Error {
        oplink::Error::msg(error.to_string())
    }
}

/// What is too big in a key of `key_len` bytes (in a state named with `scope_len` bytes)
/// with a value of `value_len` bytes for redb, which takes a value of at most 3 GiB, a key
/// of at most 3 GiB (the state's name and its length, a `u32`, are part of it) and the two
/// together of at most 3.75 GiB; `None` when it fits.
fn too_big_for_disk(scope_len: usize, key_len: usize, value_len: usize) -> Option<String> {
    const GIB: usize = 1 << 30;
    let stored_key = scope_len + key_len + size_of::<u32>();
    if value_len > 3 * GIB {
        Some(format!(
            "its value is {value_len} bytes, more than the 3 GiB"
        ))
    } else if stored_key > 3 * GIB {
        Some(format!(
            "the key is {key_len} bytes, more than the 3 GiB (less the state name's length)"
        ))
    } else if stored_key + value_len > 3 * GIB + 3 * GIB / 4 {
        Some(format!(
            "the key and its value are {} bytes together, more than the 3.75 GiB",
            key_len + value_len
        ))
    } else {
        None
    }
}

impl Drop for ScopedState {
    fn drop(&mut self) {
        if let Some(store) = &self.store {
            let unflushed = lock(&self.pending).len();
            if unflushed > 0 {
                // As a transaction dropped uncommitted: what a host that gives up a run
                // means, so not a warning; said for whoever looks for the writes.
                tracing::debug!(
                    state = %self.scope,
                    unflushed,
                    "an instance's state was dropped with writes never flushed; they are dropped too"
                );
            }
            lock(&store.inner.live).remove(&self.scope);
        }
    }
}

impl State for ScopedState {
    fn get(&self, key: &[u8]) -> oplink::Result<Option<Vec<u8>>> {
        if let Some(value) = lock(&self.pending).get(key) {
            return Ok(value.clone());
        }
        match &self.store {
            Some(store) => store.get(&self.scope, key).map_err(Self::to_service),
            None => Ok(None),
        }
    }

    fn put(&self, key: &[u8], value: &[u8]) -> oplink::Result<()> {
        if let Some(path) = self.store.as_ref().and_then(StateStore::path) {
            self.fits_on_disk(path, key, value.len())?;
        }
        lock(&self.pending).insert(key.to_vec(), Some(value.to_vec()));
        self.capture(key, Some(value));
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> oplink::Result<bool> {
        let existed = self.get(key)?.is_some();
        let mut pending = lock(&self.pending);
        if self.store.is_some() {
            pending.insert(key.to_vec(), None);
        } else {
            pending.remove(key);
        }
        drop(pending);
        self.capture(key, None);
        Ok(existed)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> oplink::Result<Entries> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = match &self.store {
            Some(store) => store
                .scan(&self.scope, prefix)
                .map_err(Self::to_service)?
                .into_iter()
                .collect(),
            None => BTreeMap::new(),
        };
        for (key, value) in lock(&self.pending)
            .range(prefix.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
        {
            match value {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        Ok(Entries(merged.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    /// A store that cannot be written (a full disk) says so in the system's words, without
    /// redb's "I/O error:" and Rust's "(os error 28)".
    #[test]
    fn a_write_s_io_error_is_in_the_system_s_words() {
        let full = redb::Error::Io(std::io::Error::from_raw_os_error(28));
        assert_eq!(super::redb_words(full), "No space left on device");
    }

    /// What an on-disk store cannot keep is refused at `put`, naming the key and what to
    /// do, rather than failing every flush after it with a message that names no key; the
    /// limits are redb's, to the byte (told by the lengths alone: nothing of gigabytes is
    /// allocated).
    #[test]
    fn a_value_too_large_for_the_disk_is_refused_at_put() {
        use oplink::services::State;
        const GIB: usize = 1 << 30;
        let dir = std::env::temp_dir().join(format!("oplink-state-limit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.redb");
        let _ = std::fs::remove_file(&path);
        let store = super::StateStore::open(&path).unwrap();
        let state = store.claim("big", "tally").unwrap();
        assert_eq!(
            state
                .fits_on_disk(&path, b"blob\xff", 3 * GIB + 1)
                .unwrap_err()
                .to_string(),
            format!(
                "cannot put the key `blob\\xff` in state `big` of state store `{}`: its value is 3221225473 bytes, more than the 3 GiB an on-disk store keeps under one key; split it across several keys",
                path.display()
            )
        );
        state.fits_on_disk(&path, b"blob", 3 * GIB).unwrap();
        // The key with the state's name (3 bytes) and its length (4).
        assert_eq!(super::too_big_for_disk(3, 3 * GIB - 7, 0), None);
        assert_eq!(
            super::too_big_for_disk(3, 3 * GIB - 6, 0).unwrap(),
            format!(
                "the key is {} bytes, more than the 3 GiB (less the state name's length)",
                3 * GIB - 6
            )
        );
        assert_eq!(super::too_big_for_disk(3, GIB - 7, 3 * GIB - GIB / 4), None);
        assert_eq!(
            super::too_big_for_disk(3, GIB - 6, 3 * GIB - GIB / 4).unwrap(),
            format!(
                "the key and its value are {} bytes together, more than the 3.75 GiB",
                GIB - 6 + 3 * GIB - GIB / 4
            )
        );
        // What fits goes in, and flushes.
        state.put(b"small", b"1").unwrap();
        state.flush().unwrap();
        drop((state, store));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
