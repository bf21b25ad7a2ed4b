//! Instances for long-running hosts: shared between threads, reloaded from a new build of
//! their library while data flows, and recreated after a panic.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use oplink::arrow::array::RecordBatch;
use oplink::{Change, RowNumber, Timestamp};

use crate::error::{Error, Result};
use crate::host::Host;
use crate::instance::Instance;
use crate::plugin::Plugin;
use crate::state::ScopedState;

/// How many builds a [`LiveInstance`] may run on unless told otherwise: each new build a
/// reload brings maps one more copy of a library for good (libraries are never unloaded).
/// Recoveries, and reloads to a build it ran on before, count nothing.
pub const DEFAULT_MAX_GENERATIONS: u64 = 64;

/// An instance that several threads can use (calls are serialized), that can be reloaded
/// from a new build of its library without losing its state, and recreated after a panic.
///
/// ```no_run
/// use oplink_host::{Host, LiveInstance, Plugin};
///
/// let host = Host::default();
/// let plugin = Plugin::load("target/debug/libtoolkit.so")?;
/// let live = LiveInstance::new(&plugin, "tally", serde_json::json!({"key": "customer"}), &host, Some("tally-1"))?;
/// // ... threads call live.apply(change) ...
/// let rebuilt = Plugin::load_fresh("target/debug/libtoolkit.so")?; // a unique copy
/// live.reload(&rebuilt)?; // snapshot, new instance, restore, swap; or rollback
/// assert_eq!(live.generation(), 2);
/// # Ok::<(), oplink_host::Error>(())
/// ```
///
/// A `LiveInstance` is a handle: its clones share one instance (cheaply, through an
/// `Arc`), so a reload through one is seen through all, and [`reload_all`] takes clones.
/// It is `Send` and `Sync`: share it across threads by cloning it.
#[derive(Clone, Debug)]
pub struct LiveInstance {
    inner: Arc<Mutex<Live>>,
    /// The operator's name (every build it runs on has it), for an error that cannot take
    /// the lock.
    operator: Arc<str>,
    /// Closed while a [`reload_all`] wants this instance: new calls from threads that hold
    /// no live instance wait (a bounded time) so that it can take them all at once.
    gate: Arc<Gate>,
}

/// Holds back new calls on an instance while a [`reload_all`] is trying to take it with
/// the others: without it, traffic that takes the instances back as soon as they are let
/// go can starve `reload_all` for as long as it flows.
#[derive(Debug, Default)]
struct Gate {
    /// How many `reload_all`s want the instance.
    wanted: AtomicUsize,
    mutex: Mutex<()>,
    opened: Condvar,
}

/// How long a call waits at a closed gate at most: a call from a thread a plugin spawned
/// inside a call of an instance `reload_all` waits for holds nothing itself, and must not
/// wait forever for a `reload_all` that waits for its caller.
const GATE_WAIT: Duration = Duration::from_millis(100);

impl Gate {
    /// Waits (at most [`GATE_WAIT`]) while a `reload_all` wants the instance, unless this
    /// thread holds a live instance already (a call from inside another's call, which the
    /// `reload_all` may be waiting for).
    fn pass(&self) {
        if self.wanted.load(Ordering::Acquire) == 0 || HELD.with(|held| !held.borrow().is_empty()) {
            return;
        }
        let deadline = Instant::now() + GATE_WAIT;
        let mut guard = self.mutex.lock().unwrap_or_else(|e| e.into_inner());
        while self.wanted.load(Ordering::Acquire) > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            guard = self
                .opened
                .wait_timeout(guard, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The gates of the instances a `reload_all` wants, closed until it is dropped.
struct Closed<'a>(Vec<&'a Gate>);

impl<'a> Closed<'a> {
    fn close(gates: Vec<&'a Gate>) -> Closed<'a> {
        for gate in &gates {
            gate.wanted.fetch_add(1, Ordering::AcqRel);
        }
        Closed(gates)
    }
}

impl Drop for Closed<'_> {
    fn drop(&mut self) {
        for gate in &self.0 {
            gate.wanted.fetch_sub(1, Ordering::AcqRel);
            let _guard = gate.mutex.lock().unwrap_or_else(|e| e.into_inner());
            gate.opened.notify_all();
        }
    }
}

/// So that [`reload_all`] takes instances, references and `Arc`s of them alike.
impl AsRef<LiveInstance> for LiveInstance {
    fn as_ref(&self) -> &LiveInstance {
        self
    }
}

thread_local! {
    /// The live instances this thread holds (their lock's address): a call into one of them
    /// from inside its own call (a host service it called, calling back) is an error, not a
    /// thread waiting for itself forever.
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// A live instance's lock, held by this thread, and listed in [`HELD`] while it is.
struct Held<'a> {
    guard: MutexGuard<'a, Live>,
    key: usize,
}

impl<'a> Held<'a> {
    /// `guard`, listed in [`HELD`] as this thread's until it is dropped.
    fn listed(guard: MutexGuard<'a, Live>, key: usize) -> Held<'a> {
        HELD.with(|held| held.borrow_mut().push(key));
        Held { guard, key }
    }
}

impl std::ops::Deref for Held<'_> {
    type Target = Live;
    fn deref(&self) -> &Live {
        &self.guard
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Live {
        &mut self.guard
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let key = self.key;
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            if let Some(at) = held.iter().rposition(|&k| k == key) {
                held.swap_remove(at);
            }
        });
    }
}

#[derive(Debug)]
struct Live {
    instance: Instance,
    /// The [`Instance::key`] of `instance`, shared with it: an instance taken out through
    /// [`LiveInstance::with`] sees another key there, and knows it is no longer held.
    holding: Arc<AtomicUsize>,
    plugin: Plugin,
    host: Host,
    config: serde_json::Value,
    generation: u64,
    max_generations: u64,
    /// The builds (mapped copies of a library) it has run on, each once: held, so that no
    /// later copy can take the place (and the address) of one of them.
    builds: Vec<Plugin>,
    /// What [`LiveInstance::recover`] returns to: the last snapshot taken (by a reload or
    /// [`LiveInstance::checkpoint`]), or the instance's start.
    last_good: Recovery,
}

/// A point a poisoned instance is recovered to: the operator's snapshot (none: its start)
/// and the state's pending writes as they were then, with the flushes made by then.
#[derive(Debug)]
struct Recovery {
    snapshot: Option<Vec<u8>>,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    flushes: u64,
}

impl Recovery {
    /// Now, for `instance`, with `snapshot`.
    fn now(instance: &Instance, snapshot: Option<Vec<u8>>) -> Recovery {
        Recovery::of(instance.state(), snapshot)
    }

    /// Now, for an instance on `state` that `snapshot` is to be restored into.
    fn of(state: &ScopedState, snapshot: Option<Vec<u8>>) -> Recovery {
        Recovery {
            snapshot,
            pending: state.pending(),
            flushes: state.flushes(),
        }
    }

    /// The pending writes `state` goes back to with this recovery point: those it had then
    /// if nothing was flushed since; none if something was (a flush cannot be undone, and
    /// every write pending now came after it, so after this point).
    fn pending_for(&self, state: &ScopedState) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        if state.flushes() == self.flushes {
            self.pending.clone()
        } else {
            BTreeMap::new()
        }
    }
}

impl LiveInstance {
    /// Creates an instance of `operator`, with its state named `state` in the host's store
    /// (see [`Plugin::instantiate_named`]) or, with `None`, its own in memory.
    ///
    /// # Errors
    ///
    /// Those of [`Plugin::instantiate`] and [`Plugin::instantiate_named`].
    pub fn new(
        plugin: &Plugin,
        operator: &str,
        config: impl serde::Serialize,
        host: &Host,
        state: Option<&str>,
    ) -> Result<LiveInstance> {
        let config = serde_json::to_value(config).map_err(|source| Error::Config {
            operator: operator.to_owned(),
            source,
        })?;
        let instance = match state {
            Some(state) => plugin.instantiate_named(operator, &config, host, state)?,
            None => plugin.instantiate(operator, &config, host)?,
        };
        let last_good = Recovery::now(&instance, None);
        let mut live = Live {
            instance,
            holding: Arc::default(),
            plugin: plugin.clone(),
            host: host.clone(),
            config,
            generation: 1,
            max_generations: DEFAULT_MAX_GENERATIONS,
            builds: vec![plugin.clone()],
            last_good,
        };
        live.hold();
        Ok(LiveInstance {
            gate: Arc::default(),
            operator: Arc::from(operator),
            inner: Arc::new(Mutex::new(live)),
        })
    }

    /// Refuses reloads to a new build once it has run on `max` builds (default
    /// [`DEFAULT_MAX_GENERATIONS`]); recoveries and reloads to a build it ran on before are
    /// not counted. The build it was created from counts: 1 refuses every reload to a new
    /// build.
    ///
    /// # Panics
    ///
    /// When `max` is 0 (an instance runs on one build at least), and when called from
    /// inside one of the instance's own calls (see [`Error::Reentrant`]).
    #[track_caller]
    pub fn with_max_generations(self, max: u64) -> LiveInstance {
        assert!(
            max > 0,
            "`LiveInstance::with_max_generations(0)`: an instance runs on one build at least (the one it was created from); give 1 to refuse every reload to a new build"
        );
        self.held("LiveInstance::with_max_generations")
            .max_generations = max;
        self
    }

    /// Takes the instance for `method`; [`Error::Reentrant`] if this thread holds it already
    /// (a call from inside one of its own calls), which waiting would never end.
    fn lock(&self, method: &'static str) -> Result<Held<'_>> {
        let key = self.not_held(method)?;
        self.gate.pass();
        self.lock_ungated(key)
    }

    /// [`LiveInstance::lock`] past a closed gate (for `reload_all`, which closed it).
    fn lock_ungated(&self, key: usize) -> Result<Held<'_>> {
        // A panic inside a plugin is caught in the plugin; one in this module's own code
        // leaves the instance as consistent as before the call, so the lock is taken back.
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Ok(Held::listed(guard, key))
    }

    /// [`LiveInstance::lock`] without waiting: `None` when another thread holds it.
    fn try_lock(&self, method: &'static str) -> Result<Option<Held<'_>>> {
        let key = self.not_held(method)?;
        let guard = match self.inner.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(None),
        };
        Ok(Some(Held::listed(guard, key)))
    }

    /// The instance's key in [`HELD`]; [`Error::Reentrant`] if this thread holds it already
    /// (a call from inside one of its own calls).
    fn not_held(&self, method: &'static str) -> Result<usize> {
        let key = Arc::as_ptr(&self.inner) as usize;
        if HELD.with(|held| held.borrow().contains(&key)) {
            return Err(Error::Reentrant {
                operator: self.operator.to_string(),
                method,
            });
        }
        Ok(key)
    }

    /// [`LiveInstance::lock`] for the methods that return no `Result`: a call from inside
    /// one of the instance's own calls panics with the error (in a host service, the panic
    /// becomes the service call's error), where it would wait forever.
    #[track_caller]
    fn held(&self, method: &'static str) -> Held<'_> {
        match self.lock(method) {
            Ok(held) => held,
            Err(error) => panic!("{error}"),
        }
    }

    /// Runs `f` on the current instance, holding it for the call (other threads wait).
    /// Panics when called from inside one of this instance's own calls (see
    /// [`Error::Reentrant`]). `f` calls the instance's methods; putting another instance in
    /// its place (`std::mem::replace`) leaves the `LiveInstance` describing the old one (its
    /// plugin, state name and configuration): replace it with [`LiveInstance::reload`]. An
    /// instance taken out so is a plain one again (its [`Error::Poisoned`] says to drop it).
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&mut Instance) -> R) -> R {
        let mut live = self.held("LiveInstance::with");
        let result = f(&mut live.instance);
        // An instance `f` put in its place is this one's now (its errors say so), and one it
        // took out is no longer.
        live.hold();
        result
    }

    /// [`Instance::apply`] on the current instance.
    ///
    /// # Errors
    ///
    /// Those of [`Instance::apply`], and [`Error::Reentrant`] when called from inside one of the
    /// instance's own calls.
    pub fn apply(&self, change: Change) -> Result<Change> {
        self.lock("LiveInstance::apply")?.instance.apply(change)
    }

    /// [`Instance::tick`] on the current instance.
    ///
    /// # Errors
    ///
    /// Those of [`Instance::tick`], and [`Error::Reentrant`] when called from inside one of the
    /// instance's own calls.
    pub fn tick(&self, now: Timestamp) -> Result<Option<Change>> {
        self.lock("LiveInstance::tick")?.instance.tick(now)
    }

    /// [`Instance::pull`] on the current instance.
    ///
    /// # Errors
    ///
    /// Those of [`Instance::pull`], and [`Error::Reentrant`] when called from inside one of the
    /// instance's own calls.
    pub fn pull(&self, rows: &[RowNumber]) -> Result<RecordBatch> {
        self.lock("LiveInstance::pull")?.instance.pull(rows)
    }

    /// [`Instance::flush_state`] on the current instance.
    ///
    /// # Errors
    ///
    /// Those of [`Instance::flush_state`], and [`Error::Reentrant`] when called from inside one of
    /// the instance's own calls.
    pub fn flush_state(&self) -> Result<()> {
        self.lock("LiveInstance::flush_state")?
            .instance
            .flush_state()
    }

    /// Flushes the state (the operator's `flush_state`, then its writes to the store),
    /// takes a snapshot and keeps it as the point [`LiveInstance::recover`] returns to, all
    /// under one hold of the instance: so no call, and no flush from another thread, comes
    /// between, and the store and the snapshot are of one moment. The operator's own
    /// `flush_state` comes before the snapshot, as in `oplink run`.
    ///
    /// # Errors
    ///
    /// Those of [`Instance::flush_state`] and [`Instance::snapshot`] (nothing is written to
    /// the store when the snapshot fails, and the recovery point stays as it was), and
    /// [`Error::Reentrant`] when called from inside one of the instance's own calls.
    pub fn flush_and_checkpoint(&self) -> Result<()> {
        let mut live = self.lock("LiveInstance::flush_and_checkpoint")?;
        // Refused under its own name (not that of the first call it makes).
        live.instance.refuse_if_poisoned("flush_and_checkpoint")?;
        live.instance.prepare_flush()?;
        let snapshot = live.instance.snapshot()?;
        live.instance.commit_state()?;
        live.last_good = Recovery::now(&live.instance, Some(snapshot));
        Ok(())
    }

    /// Takes a snapshot and keeps it, with the state's pending writes, as the point
    /// [`LiveInstance::recover`] returns to. Flush first to keep the store in step with it
    /// ([`LiveInstance::flush_and_checkpoint`] does both at once).
    ///
    /// # Errors
    ///
    /// Those of [`Instance::snapshot`] (the recovery point then stays as it was), and
    /// [`Error::Reentrant`] when called from inside one of the instance's own calls.
    pub fn checkpoint(&self) -> Result<()> {
        let mut live = self.lock("LiveInstance::checkpoint")?;
        live.instance.refuse_if_poisoned("checkpoint")?;
        let snapshot = live.instance.snapshot()?;
        live.last_good = Recovery::now(&live.instance, Some(snapshot));
        Ok(())
    }

    /// Restores a snapshot the host kept (from an earlier process, say) into the current
    /// instance, and makes it the point [`LiveInstance::recover`] returns to: a recovery
    /// then creates the instance again and restores this snapshot on the state as it was
    /// before this call (a `restore` through [`LiveInstance::with`] sets no such point, so
    /// a recovery after it would start from scratch). When the operator refuses the
    /// snapshot, the recovery point stays as it was.
    ///
    /// # Errors
    ///
    /// Those of [`Instance::restore`], and [`Error::Reentrant`] when called from inside one of the
    /// instance's own calls.
    pub fn restore(&self, snapshot: &[u8]) -> Result<()> {
        let mut live = self.lock("LiveInstance::restore")?;
        live.instance.refuse_if_poisoned("restore")?;
        let point = Recovery::now(&live.instance, Some(snapshot.to_vec()));
        live.instance.restore(snapshot)?;
        live.last_good = point;
        Ok(())
    }

    /// The generation of the current instance: 1, then one more per reload or recovery.
    /// Panics when called from inside one of this instance's own calls.
    #[track_caller]
    pub fn generation(&self) -> u64 {
        self.held("LiveInstance::generation").generation
    }

    /// The library the current instance comes from. Panics when called from inside one of
    /// this instance's own calls.
    #[track_caller]
    pub fn plugin(&self) -> Plugin {
        self.held("LiveInstance::plugin").plugin.clone()
    }

    /// Whether the current instance is poisoned (by a panic, an unknown status or an output
    /// it could not trust): see [`LiveInstance::recover`]. Panics when called from inside
    /// one of this instance's own calls.
    #[track_caller]
    pub fn is_poisoned(&self) -> bool {
        self.held("LiveInstance::is_poisoned")
            .instance
            .is_poisoned()
    }

    /// Replaces the instance with one of the same operator from `new` (load it with
    /// [`Plugin::load_fresh`], which copies the file first: the dynamic loader would hand
    /// back the old build for the same path). Waits for the call in flight, takes a
    /// `snapshot`, creates the new instance with the same configuration and the same
    /// `ctx.state()` (pending writes included), `restore`s the snapshot into it and swaps.
    /// Returns the new generation.
    ///
    /// A poisoned instance (see [`LiveInstance::recover`]) is replaced the same way, from
    /// its last good snapshot instead (from scratch when it has none): a fixed build takes
    /// the place of one that panicked in one call. As with `recover`, the state's pending
    /// writes go back to what they were at that snapshot.
    ///
    /// If anything fails (`new` lacks the operator or the host's services, the old
    /// instance's `snapshot` errs, `new`'s constructor or `restore` errs or panics, the bound
    /// of builds is reached) nothing changes: the old instance keeps serving, untouched, and
    /// the error names the operator and the reason ([`Error::Reload`]). A poisoned instance
    /// stays poisoned, and one whose `snapshot` panics just now (or answers an unknown
    /// status) is poisoned by it: the error is then [`Error::StillPoisoned`].
    ///
    /// # Errors
    ///
    /// [`Error::Reload`] or [`Error::StillPoisoned`], as above, and [`Error::Reentrant`] when
    /// called from inside one of the instance's own calls.
    pub fn reload(&self, new: &Plugin) -> Result<u64> {
        let mut live = self.lock("LiveInstance::reload")?;
        let (next, point) = prepare(&mut live, new)?;
        live.swap(next, point, new);
        Ok(live.generation)
    }

    /// Recreates a poisoned instance from the same library: from the last good snapshot
    /// (taken by the last [`LiveInstance::checkpoint`], [`LiveInstance::flush_and_checkpoint`],
    /// [`LiveInstance::restore`] or successful [`LiveInstance::reload`], whichever came last)
    /// when there is one, else from scratch. A host that replays the changes applied since
    /// that point empties its log of them after a reload too, not only after a checkpoint. Its `ctx.state()` goes back with it: the writes pending at that point
    /// are pending again, and those made since (the call that panicked's among them) are
    /// dropped; what a flush since then wrote stays (a flush cannot be undone), and only
    /// the writes after it are dropped. Returns the new generation.
    ///
    /// An instance that is not poisoned (another thread recovered it first, say) is left as
    /// it is, and its generation returned: so `if live.is_poisoned() { live.recover()?; }`
    /// from several threads recovers once and loses no change applied since.
    ///
    /// # Errors
    ///
    /// [`Error::StillPoisoned`] when the instance cannot be created again or its last good
    /// snapshot cannot be restored (it stays poisoned), and [`Error::Reentrant`] when called from
    /// inside one of the instance's own calls.
    pub fn recover(&self) -> Result<u64> {
        let mut live = self.lock("LiveInstance::recover")?;
        if !live.instance.is_poisoned() {
            return Ok(live.generation);
        }
        let (next, _) = recreate(
            &live,
            &live.plugin,
            live.last_good.snapshot.as_deref(),
            &failure(&live, "recovering"),
            (
                "it could not be created again",
                "its last good snapshot could not be restored",
            ),
        )?;
        live.instance = next;
        live.hold();
        live.generation += 1;
        Ok(live.generation)
    }
}

/// Reloads every instance in `instances` from `new`, all or nothing: each is prepared as
/// [`LiveInstance::reload`] prepares one (snapshot, new instance, restore) while all are
/// held, and the new instances are swapped in only when every one is ready. If any step
/// fails for any of them, none changes, and the error names that operator. Returns how
/// many were reloaded.
///
/// `instances` is anything that lists them: `&[a, b]` or `&vec` of [`LiveInstance`]s,
/// `[&a, &b]`, or `Arc`s of them (by value or by reference).
///
/// # Errors
///
/// The first error of [`LiveInstance::reload`] among them, and [`Error::Reentrant`] when
/// called from inside a call of one of them.
pub fn reload_all<L: AsRef<LiveInstance>>(
    instances: impl IntoIterator<Item = L>,
    new: &Plugin,
) -> Result<usize> {
    let instances: Vec<L> = instances.into_iter().collect();
    // An instance listed twice is locked once.
    let mut order: Vec<&LiveInstance> = instances.iter().map(AsRef::as_ref).collect();
    order.sort_by_key(|live| Arc::as_ptr(&live.inner) as usize);
    order.dedup_by_key(|live| Arc::as_ptr(&live.inner) as usize);
    let mut held = {
        // New calls from threads that hold no instance wait while it takes them all (once
        // it holds them, they wait for their locks).
        let _closed = Closed::close(order.iter().map(|live| &*live.gate).collect());
        lock_all(&order)?
    };
    // What a new instance writes to the state while it is prepared is undone for every
    // instance if any fails (each `prepare` undoes its own).
    let before: Vec<_> = held
        .iter()
        .map(|live| live.instance.state().pending())
        .collect();
    let mut ready = Vec::with_capacity(held.len());
    for live in &mut held {
        match prepare(live, new) {
            Ok(next) => ready.push(next),
            Err(error) => {
                drop(ready);
                for (live, writes) in held.iter().zip(before) {
                    live.instance.state().put_back(writes);
                }
                return Err(none_reloaded(error, held.len()));
            }
        }
    }
    for (live, (next, point)) in held.iter_mut().zip(ready) {
        live.swap(next, point, new);
    }
    Ok(held.len())
}

/// `reload_all`'s error for the instance that could not be prepared, saying that the
/// others given with it were not reloaded either (a reader of one operator's failure would
/// otherwise take the rest for reloaded).
fn none_reloaded(mut error: Error, count: usize) -> Error {
    if let Error::Reload { reason, .. } | Error::StillPoisoned { reason, .. } = &mut error
        && count > 1
    {
        reason.push_str(&format!(
            "; so none of the {count} instances given to `reload_all` was reloaded"
        ));
    }
    error
}

/// Every instance of `order`, held together. No lock is waited for while another is held:
/// one is waited for, the others are tried, and when one is busy all are let go and that
/// one is waited for first. So `reload_all` cannot deadlock with any order in which other
/// threads take the same instances (two `reload_all`s, or a host service that calls one
/// instance from inside a call of another).
fn lock_all<'a>(order: &[&'a LiveInstance]) -> Result<Vec<Held<'a>>> {
    const METHOD: &str = "oplink_host::reload_all";
    if order.is_empty() {
        return Ok(Vec::new());
    }
    let mut first = 0;
    loop {
        let mut held: Vec<Option<Held<'a>>> = order.iter().map(|_| None).collect();
        let key = order[first].not_held(METHOD)?;
        held[first] = Some(order[first].lock_ungated(key)?);
        let mut busy = None;
        for (index, live) in order.iter().enumerate() {
            if index == first {
                continue;
            }
            match live.try_lock(METHOD)? {
                Some(guard) => held[index] = Some(guard),
                None => {
                    busy = Some(index);
                    break;
                }
            }
        }
        match busy {
            None => return Ok(held.into_iter().flatten().collect()),
            Some(index) => {
                drop(held);
                first = index;
                std::thread::yield_now();
            }
        }
    }
}

impl Live {
    /// Whether it has run on the build (the mapped copy of a library) of `plugin`.
    fn ran_on(&self, plugin: &Plugin) -> bool {
        let id = plugin.library_id();
        self.builds.iter().any(|seen| seen.library_id() == id)
    }

    /// Puts `next`, made from `new` and restored from `point`'s snapshot, in the old one's
    /// place; `point` (the snapshot, and the state as it was before `next` was made) is
    /// what a recovery goes back to, when there is a snapshot.
    /// Marks the current instance as held by this live instance (see [`Live::holding`]).
    fn hold(&mut self) {
        self.holding.store(self.instance.key(), Ordering::Relaxed);
        self.instance.holder = Some(self.holding.clone());
    }

    fn swap(&mut self, next: Instance, mut point: Recovery, new: &Plugin) {
        let state = self.instance.state().clone();
        // The old instance goes, and its `destroy` may write to the state: those writes
        // belong to the point too (they were made before any call on the new instance).
        state.writes_during(|| self.instance = next, &mut point.pending);
        self.hold();
        self.plugin = new.clone();
        self.generation += 1;
        if !self.ran_on(new) {
            self.builds.push(new.clone());
        }
        if point.snapshot.is_some() {
            self.last_good = point;
        }
    }
}

/// The new instance for `live` from `new`, restored from a snapshot of the old one, and
/// the recovery point it makes: that snapshot, with the state as it was before the new
/// instance was made (a recovery makes one again and restores it, as the reload did, so
/// what `new` and `restore` wrote is not there twice). The old instance is left as it was.
fn prepare(live: &mut Live, new: &Plugin) -> Result<(Instance, Recovery)> {
    let operator = live.instance.name().to_owned();
    let failed = failure(live, "reloading");
    // A build without the operator is the first thing to say: raising the bound of builds
    // would not help it.
    if new.operator(&operator).is_none() {
        return Err(failed(format!(
            "the new build `{}` has no operator `{operator}`; it has: {}",
            new.path().display(),
            names(new)
        )));
    }
    let new_build = !live.ran_on(new);
    if new_build && live.builds.len() as u64 >= live.max_generations {
        return Err(failed(format!(
            "it has run on {}, its bound (each new build keeps one more copy of a library mapped); raise it with `with_max_generations`",
            oplink::__private::counted(live.builds.len(), "build", "builds")
        )));
    }
    // A poisoned instance cannot take a snapshot: the new build starts from the last good
    // one, as a recovery would (a fixed build replacing one that panicked).
    let poisoned = live.instance.is_poisoned();
    let (snapshot, which) = if poisoned {
        (live.last_good.snapshot.clone(), "the last good snapshot")
    } else {
        match live.instance.snapshot() {
            Ok(snapshot) => (Some(snapshot), "the snapshot"),
            // A panic (or an unknown status) in `snapshot` has poisoned it just now: said so.
            Err(e) => {
                let what = match &e {
                    Error::Panicked { .. } => "panicked, which poisoned it",
                    _ if live.instance.is_poisoned() => "poisoned it",
                    _ => "failed",
                };
                return Err(failure(live, "reloading")(format!(
                    "the old instance's snapshot {what}: {e}"
                )));
            }
        }
    };
    let refused = format!("the new build's `restore` refused {which}");
    let (next, mut point) = recreate(
        live,
        new,
        snapshot.as_deref(),
        &failed,
        ("the new build could not create it", &refused),
    )?;
    point.snapshot = snapshot;
    Ok((next, point))
}

/// A new instance of `live`'s operator from `plugin`, on the same state, restored from
/// `snapshot`. A poisoned instance's state goes back to the last good point first, with its
/// memory: the writes made since (those of the call that panicked among them) are dropped.
/// If it fails, whatever the new instance wrote is undone, and the error is `failed`'s,
/// saying which of `what` (creating, restoring) failed. Also returns the state as it was
/// just before the new instance was made (without a snapshot).
fn recreate(
    live: &Live,
    plugin: &Plugin,
    snapshot: Option<&[u8]>,
    failed: &dyn Fn(String) -> Error,
    what: (&str, &str),
) -> Result<(Instance, Recovery)> {
    let state = live.instance.state().clone();
    undone_on_failure(&state, || {
        if live.instance.is_poisoned() {
            state.put_back(live.last_good.pending_for(&state));
        }
        let before = Recovery::of(&state, None);
        let mut next = plugin
            .create(
                live.instance.name(),
                &live.config,
                &live.host,
                state.clone(),
            )
            .map_err(|e| failed(format!("{}: {e}", what.0)))?;
        if let Some(snapshot) = snapshot {
            next.restore(snapshot)
                .map_err(|e| failed(format!("{}: {e}", what.1)))?;
        }
        Ok((next, before))
    })
}

/// The error of a failed reload or recovery (`action`) of `live`'s instance: it keeps
/// serving ([`Error::Reload`]), or it is poisoned, from before or by the reload's own
/// `snapshot` ([`Error::StillPoisoned`]).
fn failure(live: &Live, action: &'static str) -> impl Fn(String) -> Error + use<> {
    let operator = live.instance.name().to_owned();
    let state = live.instance.state_name().map(str::to_owned);
    let poisoned = live.instance.is_poisoned();
    move |reason| {
        if poisoned {
            Error::StillPoisoned {
                operator: operator.clone(),
                state: state.clone(),
                action,
                reason,
            }
        } else {
            Error::Reload {
                operator: operator.clone(),
                state: state.clone(),
                reason,
            }
        }
    }
}

/// Runs `make`, which creates a new instance on `state`; if it fails, what the new instance
/// wrote to the state (in its constructor, `restore` or `destroy`) is undone, so the old
/// instance's state is as it was. The new instance is dropped before that.
fn undone_on_failure<T>(state: &Arc<ScopedState>, make: impl FnOnce() -> Result<T>) -> Result<T> {
    let before = state.pending();
    let made = make();
    if made.is_err() {
        state.put_back(before);
    }
    made
}

fn names(plugin: &Plugin) -> String {
    let names: Vec<String> = plugin
        .operators()
        .map(|o| format!("`{}`", o.name()))
        .collect();
    if names.is_empty() {
        "no operators".to_owned()
    } else {
        names.join(", ")
    }
}

impl Plugin {
    /// Loads a copy of the file at `path` (made in a folder of its own under the system's
    /// temporary folder, which only this user can enter), with a checked load: what a reload
    /// needs, since the dynamic loader hands back the library it already mapped for a path it
    /// has seen. The copy and its folder are removed once loaded (the mapping stays). Errors,
    /// [`Plugin::path`] and the errors of its instances name `path` (absolute), not the copy.
    /// Each call maps a copy of its own; a [`Plugin::load`] of a replaced path (or a scan)
    /// after it gives the build it loaded last from the file now there, mapping nothing.
    ///
    /// # Errors
    ///
    /// Those of [`Plugin::load_checked`], and [`Error::CopyFailed`] when the copy cannot be
    /// made.
    pub fn load_fresh(path: impl AsRef<Path>) -> Result<Plugin> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::EmptyPath);
        }
        // Copying a named pipe or a device would wait on it, or never end.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Err(Error::NotAFile {
                path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            });
        }
        let original = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let id = crate::load::file_id(&original);
        let copy_failed = |e: std::io::Error| Error::CopyFailed {
            path: original.clone(),
            reason: crate::error::io_words(&e),
        };
        let dir = private_folder().map_err(copy_failed)?;
        let name = path.file_name().unwrap_or(std::ffi::OsStr::new("library"));
        let copy: PathBuf = dir.join(name);
        let loaded = std::fs::copy(path, &copy)
            .map_err(copy_failed)
            .and_then(|_| Plugin::load_checked(&copy).map_err(|e| e.naming(&copy, &original)));
        let _ = std::fs::remove_file(&copy);
        let _ = std::fs::remove_dir(&dir);
        let plugin = loaded?.named(original);
        // Kept for the loads of the path after this one only when the file is the same
        // after the copy as before it: a build copied from a file replaced in between
        // would be kept under the identity of the build it replaced.
        if let Some(id) = id
            && crate::load::file_id(plugin.path()) == Some(id)
        {
            crate::load::remember_fresh(plugin.path(), id, &plugin);
        }
        Ok(plugin)
    }
}

/// A new folder under the system's temporary folder that only this user may enter: created
/// here (never one that was there already, which someone else could have made).
fn private_folder() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    static FOLDERS: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.subsec_nanos());
        let n = FOLDERS.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!(
            "oplink-reload-{}-{n}-{nanos:08x}",
            std::process::id()
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}
