//! A live operator instance behind a safe handle.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use oplink::abi::{
    AbiChange, AbiRows, BytesView, ErrorOut, HostApi, OpaqueInstance, OwnedBuf, Status, StrView,
};
use oplink::arrow::array::RecordBatch;
use oplink::exchange::{self, Outgoing, SchemaInbox, SchemaOutbox};
use oplink::trampoline::{Failure, FailureKind};

use oplink::{Change, RowNumber, Timestamp};

use crate::error::{Error, Result};
use crate::host::{Attachment, Host};
use crate::logging::PluginCall;
use crate::plugin::{Library, OperatorInfo};
use crate::state::{HostEntry, ScopedState, StateStore, Writes};

/// An instance of an operator, created by [`Plugin::instantiate`](crate::Plugin::instantiate).
///
/// Every call returns `Err` when the operator returns an error or panics; a panic also
/// poisons the instance (as do an unknown status and an output whose diffs the host could
/// not trust), which then refuses every call with [`Error::Poisoned`]. Other
/// instances, other plugins and the host go on. Dropping the instance destroys it in the
/// plugin.
///
/// An `Instance` is `Send` (it may move to another thread) but not `Sync`: its calls take
/// `&mut self`. To share one between threads, wrap it in a
/// [`LiveInstance`](crate::LiveInstance), which serializes calls.
///
/// ```compile_fail
/// fn shared_between_threads<T: Sync>() {}
/// shared_between_threads::<oplink_host::Instance>();
/// ```
pub struct Instance {
    raw: *mut OpaqueInstance,
    info: OperatorInfo,
    /// The method that poisoned the instance, and what did.
    poisoned: Option<(&'static str, &'static str)>,
    /// The slot in which the [`LiveInstance`](crate::LiveInstance) that took it keeps the
    /// [`Instance::key`] of the instance it holds now: while that is this one's, its
    /// [`Error::Poisoned`] says to call `recover()`; taken out of it (through `with`), it is
    /// a plain instance again.
    pub(crate) holder: Option<Arc<AtomicUsize>>,
    outbox: SchemaOutbox,
    inbox: SchemaInbox,
    outgoing: Outgoing,
    // Must outlive `raw`: the plugin keeps pointers to its `HostApi` and service tables.
    attachment: Attachment,
    /// The instance's state: the host's, handed to the next instance on a reload.
    state: Arc<ScopedState>,
    _host: Host,
    // Keeps the library (and every pointer into it above) owned while the instance lives.
    _library: Arc<Library>,
}

// SAFETY: operators are `Send` (the macro checks it), and the instance's pointers are owned by
// this handle alone; nothing in it is shared with another handle.
unsafe impl Send for Instance {}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("operator", &self.info.name())
            .field("id", &self.attachment.api.instance_id)
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

impl Instance {
    pub(crate) fn create(
        library: Arc<Library>,
        info: OperatorInfo,
        config: &str,
        host: &Host,
        state: Arc<ScopedState>,
    ) -> Result<Instance> {
        let attachment = host.attach(info.name(), info.requires(), state.clone());
        let mut raw: *mut OpaqueInstance = std::ptr::null_mut();
        let mut err = ErrorOut::EMPTY;
        let status = {
            let _call = PluginCall::begin();
            // SAFETY: `create` is a validated entry point of a loaded library; `attachment`
            // is boxed and outlives the instance (we own both); `config` is valid for the
            // call.
            unsafe {
                (info.slots.create.0)(&*attachment.api, StrView::new(config), &mut raw, &mut err)
            }
        };
        if status != Status::OK {
            // SAFETY: the plugin wrote `err` for a non-OK status.
            return Err(unsafe { failure_error(status, &mut err, info.name(), "new") });
        }
        if raw.is_null() {
            return Err(Error::Data {
                operator: info.name().to_owned(),
                method: "new",
                message: "the plugin reported success but returned no instance".to_owned(),
            });
        }
        Ok(Instance {
            raw,
            info,
            poisoned: None,
            holder: None,
            outbox: SchemaOutbox::default(),
            inbox: SchemaInbox::recognizing_own(),
            outgoing: Outgoing::answered(),
            attachment,
            state,
            _host: host.clone(),
            _library: library,
        })
    }

    /// The operator's name.
    pub fn name(&self) -> &str {
        self.info.name()
    }

    /// The operator this is an instance of.
    pub fn info(&self) -> &OperatorInfo {
        &self.info
    }

    /// The host's id of this instance.
    pub fn id(&self) -> u64 {
        self.attachment.api.instance_id
    }

    /// Whether this instance is poisoned: by a panic, an unknown status, or an output it
    /// could not trust (a diff array whose headers no sender writes).
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    /// Runs one entry point: refuses when poisoned, turns a non-OK status into an error and
    /// poisons the instance on a panic.
    fn call(
        &mut self,
        method: &'static str,
        f: impl FnOnce(*mut OpaqueInstance, *mut ErrorOut) -> Status,
    ) -> Result<()> {
        self.refuse_if_poisoned(method)?;
        let mut err = ErrorOut::EMPTY;
        let status = {
            let _call = PluginCall::begin();
            f(self.raw, &mut err)
        };
        if status == Status::OK {
            return Ok(());
        }
        if status == Status::PANIC {
            self.poisoned = Some((method, "a panic"));
        } else if !matches!(status, Status::ERROR | Status::INVALID_INPUT) {
            self.poisoned = Some((method, "an unknown status"));
        }
        // SAFETY: the plugin wrote `err` for a non-OK status (or left it empty).
        Err(unsafe { failure_error(status, &mut err, self.info.name(), method) })
    }

    pub(crate) fn refuse_if_poisoned(&self, method: &'static str) -> Result<()> {
        match self.poisoned {
            Some((panicked_in, cause)) => Err(Error::Poisoned {
                operator: self.info.name().to_owned(),
                state: self.state_name().map(str::to_owned),
                live: self.is_held_live(),
                method,
                panicked_in,
                cause,
            }),
            None => Ok(()),
        }
    }

    fn data_error(&self, method: &'static str, error: oplink::Error) -> Error {
        Error::Data {
            operator: self.info.name().to_owned(),
            method,
            message: error.to_string(),
        }
    }

    /// Sends a change through the operator and returns what it emits.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when the operator returns an error, [`Error::Panicked`] when it
    /// panics (which poisons the instance), [`Error::Poisoned`] once it is poisoned, and
    /// [`Error::Data`] when the input cannot be laid out or the output cannot be read (an
    /// output the host cannot trust poisons the instance too).
    pub fn apply(&mut self, change: Change) -> Result<Change> {
        // A change with no diffs has nothing to lay out, and so nothing to release after
        // (and `call` refuses a poisoned instance); any other is laid out only for a live one.
        let laid_out = !change.diffs.is_empty();
        let mut input = if laid_out {
            self.refuse_if_poisoned("apply")?;
            self.outgoing
                .export_change(change, &mut self.outbox)
                .map_err(|e| self.data_error("apply", e.context("its input cannot be laid out")))?
        } else {
            AbiChange::without_diffs(change.version, change.changed_at.as_nanos())
        };
        let mut out = AbiChange::EMPTY;
        let apply = self.info.slots.apply;
        let result = self.call("apply", |raw, err| {
            // SAFETY: a validated entry point, called with our live instance, an input that
            // stays alive for the call and writable out-parameters.
            unsafe { (apply.0)(raw, &mut input, &mut out, err) }
        });
        if !laid_out {
            result?;
            // Our diff array holds no diffs now, but keeps its room: an output in it (an
            // earlier call's array, given back) is an overrun too.
            if let Some(within) = self.outgoing.overrun_by(&out) {
                return Err(self.overrun(&out, within));
            }
            // SAFETY: on OK the plugin wrote `out`, valid until our next call on the instance.
            return unsafe { self.take_change(&out, "apply") };
        }
        if let Err(error) = result {
            // Whatever the plugin did not take is released here, on our side.
            self.outgoing.clear();
            self.outbox.rollback();
            return Err(error);
        }
        self.outbox.commit();
        // An output that claims more of the input's own diff array than there is: reading
        // it would read past our allocation. Nothing of it is read; the input's arrays are
        // released here, and the instance, which broke the protocol, is poisoned.
        if let Some(within) = self.outgoing.overrun_by(&out) {
            self.outgoing.clear();
            return Err(self.overrun(&out, within));
        }
        // An output that is the input itself (its diff array, ABI 2.2): the operator
        // returned its input, each array back in its place. Then the change is ours again,
        // taken back whole; read as any output otherwise (before the input is cleared,
        // since its arrays are the output's).
        // (Judged by our own record of the input's diff array: the plugin may have written
        // over `input`.)
        let returned = self.outgoing.is_laid_out(&out);
        if returned && let Some(diffs) = self.outgoing.take_back() {
            let (version, changed_at) = out.version_and_time();
            return Ok(Change::new(version, Timestamp(changed_at), diffs));
        }
        // SAFETY: on OK the plugin wrote `out`, valid until our next call on the instance
        // (when it is the input, until `clear` below).
        let change = unsafe { self.take_change(&out, "apply") };
        // Whatever the plugin did not take is released here, on our side.
        self.outgoing.clear();
        change
    }

    /// An `apply` output that lists more of its input's diff array than it holds from where
    /// it starts (`within`): nothing of it is read, and the instance, which broke the
    /// protocol, is poisoned.
    #[cold]
    #[inline(never)]
    fn overrun(&mut self, out: &AbiChange, within: usize) -> Error {
        self.poisoned = Some(("apply", "an output the host could not trust"));
        self.data_error(
            "apply",
            oplink::Error::unlocated(format!(
                "the change it returned lists {} in the host's own diff array (its input's, or the room kept past it), which holds {within} from where it starts: nothing of it was read; the instance is now poisoned",
                oplink::__private::counted(out.diff_count, "diff", "diffs"),
            )),
        )
    }

    /// The change the plugin wrote into `out`; one without diffs is taken without the
    /// importer.
    ///
    /// # Safety
    /// `out` was written by the plugin for the call that just returned OK.
    unsafe fn take_change(&mut self, out: &AbiChange, method: &'static str) -> Result<Change> {
        if out.diff_count == 0 {
            let (version, changed_at) = out.version_and_time();
            return Ok(Change::new(version, Timestamp(changed_at), Vec::new()));
        }
        // Read beside the input, while it is pinned (an `apply`'s, until `clear`): columns
        // that come back as they were sent are taken as the host's own.
        // SAFETY: forwarded from the caller; the sent diffs are alive while pinned.
        unsafe { exchange::import_answer(out, &mut self.inbox, self.outgoing.sent()) }.map_err(
            |e| {
                let e = e.context("the change it returned cannot be read");
                // A diff array with headers no sender writes: nothing more from this instance
                // can be trusted (and the schemas it sent are forgotten).
                if self.inbox.lost_trust() {
                    self.poisoned = Some((method, "an output the host could not trust"));
                    let message = format!("{}; the instance is now poisoned", e.message());
                    return self.data_error(method, oplink::Error::unlocated(message));
                }
                self.data_error(method, e)
            },
        )
    }

    /// Asks the operator for the rows with these numbers, one output row per number.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when the operator returns an error (as one without `pull` does),
    /// [`Error::Panicked`] when it panics (which poisons the instance), [`Error::Poisoned`]
    /// once it is poisoned, and [`Error::Data`] when the rows it returns cannot be read or
    /// are not one per number.
    pub fn pull(&mut self, rows: &[RowNumber]) -> Result<RecordBatch> {
        let mut out = AbiRows::absent();
        let pull = self.info.slots.pull;
        self.call("pull", |raw, err| {
            // SAFETY: a validated entry point; `rows` is valid for the call.
            unsafe { (pull.0)(raw, rows.as_ptr(), rows.len(), &mut out, err) }
        })?;
        // SAFETY: on OK the plugin wrote `out`, valid until our next call.
        let batch = unsafe { exchange::import_batch(&mut out, &mut self.inbox) }.map_err(|e| {
            self.data_error("pull", e.context("the rows it returned cannot be read"))
        })?;
        if batch.num_rows() != rows.len() {
            return Err(Error::Data {
                operator: self.info.name().to_owned(),
                method: "pull",
                message: format!(
                    "it returned {} for {} (a fault of the operator: `pull` returns one row \
                     per number, in their order)",
                    oplink::__private::counted(batch.num_rows(), "row", "rows"),
                    oplink::__private::counted(rows.len(), "row number", "row numbers"),
                ),
            });
        }
        Ok(batch)
    }

    /// Lets time pass; the operator may emit a change (`None` when it emits none).
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when the operator returns an error, [`Error::Panicked`] when it
    /// panics (which poisons the instance), [`Error::Poisoned`] once it is poisoned, and
    /// [`Error::Data`] when the change it emits cannot be read.
    pub fn tick(&mut self, now: Timestamp) -> Result<Option<Change>> {
        let mut out = AbiChange::EMPTY;
        let mut produced = 0u32;
        let tick = self.info.slots.tick;
        self.call("tick", |raw, err| {
            // SAFETY: a validated entry point with writable out-parameters.
            unsafe { (tick.0)(raw, now.as_nanos(), &mut out, &mut produced, err) }
        })?;
        if produced == 0 {
            return Ok(None);
        }
        // SAFETY: `produced` says the plugin wrote `out`, valid until our next call.
        let change = unsafe { self.take_change(&out, "tick") };
        if produced != 1 {
            // What it wrote is taken (and released with `change`) all the same, and the
            // bad `produced` is the error even when `out` could not be read.
            drop(change);
            return Err(self.data_error(
                "tick",
                oplink::Error::unlocated(format!(
                    "it set `produced` to {produced}: 0 for no change, 1 for a change in `out`"
                )),
            ));
        }
        change.map(Some)
    }

    /// Asks the operator to persist pending state, then writes everything it put in its
    /// `ctx.state()` since the last flush to the host's store, in one transaction: a crash
    /// before this returns loses those writes, never part of them. When the operator's
    /// `flush_state` fails, nothing is written (the writes stay pending).
    ///
    /// It is [`Instance::prepare_flush`] then [`Instance::commit_state`]; call those two
    /// apart to take snapshots (or close other instances) in between, so that a failure
    /// there leaves the store as it was.
    ///
    /// # Errors
    ///
    /// Those of [`Instance::prepare_flush`] and [`Instance::commit_state`].
    pub fn flush_state(&mut self) -> Result<()> {
        self.prepare_flush()?;
        self.commit_state()
    }

    /// Asks the operator to persist pending state (its `flush_state`): what it writes to its
    /// `ctx.state()` stays pending, in this instance, until [`Instance::commit_state`].
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when the operator returns an error, [`Error::Panicked`] when it
    /// panics (which poisons the instance), [`Error::Poisoned`] once it is poisoned.
    pub fn prepare_flush(&mut self) -> Result<()> {
        let flush = self.info.slots.flush_state;
        // SAFETY: a validated entry point called with our live instance.
        self.call("flush_state", |raw, err| unsafe { (flush.0)(raw, err) })
    }

    /// Writes everything the operator put in its `ctx.state()` since the last commit to the
    /// host's store, in one transaction (a crash before this returns loses those writes,
    /// never part of them). A poisoned instance refuses it, as every call: its pending
    /// writes may be those of the call that panicked, half done.
    ///
    /// # Errors
    ///
    /// [`Error::Poisoned`] for a poisoned instance, [`Error::State`] when the store cannot be
    /// written (the writes stay pending).
    pub fn commit_state(&mut self) -> Result<()> {
        self.refuse_if_poisoned("commit_state")?;
        self.state.flush()
    }

    /// [`Instance::commit_state`] for several instances at once: those whose state is in one
    /// store (the instances of one [`Host`]) commit in one transaction, so a failure (a full
    /// disk, say) keeps the writes of all of them or of none, and leaves them pending. A
    /// poisoned instance among them refuses the whole commit before anything is written.
    /// Instances of different stores commit one store after another.
    ///
    /// # Errors
    ///
    /// [`Error::Poisoned`] for a poisoned instance among them, [`Error::State`] when a store
    /// cannot be written.
    ///
    /// ```no_run
    /// # fn main() -> oplink_host::Result<()> {
    /// use oplink_host::{Host, Instance, Plugin, StateStore};
    ///
    /// let host = Host::builder().state_store(StateStore::open("state.redb")?).build();
    /// let plugin = Plugin::load("target/debug/libtoolkit.so")?;
    /// let config = |key| serde_json::json!({ "key": key });
    /// let mut counts = plugin.instantiate_named("tally", config("customer"), &host, "counts")?;
    /// let mut again = plugin.instantiate_named("tally", config("region"), &host, "regions")?;
    /// // … apply changes to both …
    /// counts.prepare_flush()?;
    /// again.prepare_flush()?;
    /// Instance::commit_states([&mut counts, &mut again])?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn commit_states<'a>(instances: impl IntoIterator<Item = &'a mut Instance>) -> Result<()> {
        Instance::commit_together(instances, None)
    }

    /// [`Instance::commit_states`], with entries of the host's own written to `store` in the
    /// same transaction as the states of the instances it keeps: what a host records beside
    /// its operators' state (the position reached in its input, a mark of the run) is kept
    /// with that state or not at all. (Instances of other stores commit in their own
    /// transactions, as with `commit_states`; with none of `store`, the entries are written
    /// last, once every other store is kept.) Each entry is `(scope, key, value)`, a `None` value
    /// removing the key; `StateStore::entries(scope)` reads them back. The scope starts with
    /// `#`, which `instantiate_named` refuses, so that no instance's state shares it
    /// ([`Error::State`] otherwise, before anything is written).
    ///
    /// # Errors
    ///
    /// Those of [`Instance::commit_states`], and [`Error::State`] for a scope that does not
    /// start with `#`.
    ///
    /// ```no_run
    /// # fn main() -> oplink_host::Result<()> {
    /// use oplink_host::{Host, Instance, Plugin, StateStore};
    ///
    /// let store = StateStore::open("state.redb")?;
    /// let host = Host::builder().state_store(store.clone()).build();
    /// let plugin = Plugin::load("target/debug/libtoolkit.so")?;
    /// let mut counts = plugin.instantiate_named("tally", serde_json::json!({"key": "customer"}), &host, "counts")?;
    /// // … apply the changes read up to offset 4096 of the input …
    /// counts.prepare_flush()?;
    /// Instance::commit_states_with([&mut counts], &store, &[("#input", b"offset", Some(&4096u64.to_le_bytes()[..]))])?;
    /// assert_eq!(store.entries("#input")?, [(b"offset".to_vec(), 4096u64.to_le_bytes().to_vec())]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn commit_states_with<'a>(
        instances: impl IntoIterator<Item = &'a mut Instance>,
        store: &StateStore,
        entries: &[HostEntry<'_>],
    ) -> Result<()> {
        let mut by_scope: std::collections::BTreeMap<&str, Writes> = Default::default();
        for &(scope, key, value) in entries {
            by_scope
                .entry(scope)
                .or_default()
                .insert(key.to_vec(), value.map(<[u8]>::to_vec));
        }
        let writes: Vec<(String, Writes)> = by_scope
            .into_iter()
            .map(|(scope, writes)| (scope.to_owned(), writes))
            .collect();
        Instance::commit_together(instances, Some((store, &writes)))
    }

    /// The instances' pending writes (and the host's, if any) committed, one transaction per
    /// store; a poisoned instance among them refuses it before anything is written.
    fn commit_together<'a>(
        instances: impl IntoIterator<Item = &'a mut Instance>,
        host: Option<(&StateStore, &[(String, Writes)])>,
    ) -> Result<()> {
        let instances: Vec<&'a mut Instance> = instances.into_iter().collect();
        for instance in &instances {
            instance.refuse_if_poisoned("commit_state")?;
        }
        let states: Vec<&ScopedState> = instances.iter().map(|i| &*i.state).collect();
        ScopedState::flush_together(&states, host)
    }

    /// The name of this instance's state in the host's store, if it was created with
    /// [`Plugin::instantiate_named`](crate::Plugin::instantiate_named).
    pub fn state_name(&self) -> Option<&str> {
        self.state.scope()
    }

    /// This instance's identity while it lives: the address of its boxed `HostApi`, which
    /// is its own and does not move.
    pub(crate) fn key(&self) -> usize {
        std::ptr::from_ref::<HostApi>(&*self.attachment.api) as usize
    }

    /// Whether a [`LiveInstance`](crate::LiveInstance) holds it now.
    fn is_held_live(&self) -> bool {
        // Relaxed: the slot is written under the live instance's lock, and an instance taken
        // out reaches another thread only through a synchronizing hand-over.
        self.holder
            .as_ref()
            .is_some_and(|slot| slot.load(Ordering::Relaxed) == self.key())
    }

    pub(crate) fn state(&self) -> &Arc<ScopedState> {
        &self.state
    }

    /// The operator's state as bytes (for a hot-reload handoff): what its `snapshot`
    /// returns (empty when it has none).
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when the operator returns an error, [`Error::Panicked`] when it
    /// panics (which poisons the instance), [`Error::Poisoned`] once it is poisoned, and
    /// [`Error::Data`] when the bytes it returns cannot be taken.
    pub fn snapshot(&mut self) -> Result<Vec<u8>> {
        let mut out = OwnedBuf::EMPTY;
        let snapshot = self.info.slots.snapshot;
        // SAFETY: a validated entry point with a writable out-parameter.
        self.call("snapshot", |raw, err| unsafe {
            (snapshot.0)(raw, &mut out, err)
        })?;
        // SAFETY: on OK the plugin wrote `out` with its own release function. A buffer no
        // writer can have made is an error, never an empty snapshot (which would hand the
        // next instance no state).
        unsafe { out.take_checked() }.map_err(|e| self.data_error("snapshot", e))
    }

    /// Restores state written by [`Instance::snapshot`].
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] when the operator returns an error, [`Error::Panicked`] when it
    /// panics (which poisons the instance), [`Error::Poisoned`] once it is poisoned. An
    /// operator without `restore` accepts only an empty snapshot, and refuses any other
    /// with an error.
    pub fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        let restore = self.info.slots.restore;
        // SAFETY: a validated entry point; `snapshot` is valid for the call.
        self.call("restore", |raw, err| unsafe {
            (restore.0)(raw, BytesView::new(snapshot), err)
        })
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let mut err = ErrorOut::EMPTY;
        let status = {
            let _call = PluginCall::begin();
            // SAFETY: `raw` is our live instance, destroyed exactly once, here.
            unsafe { (self.info.slots.destroy.0)(self.raw, &mut err) }
        };
        if status != Status::OK {
            // SAFETY: the plugin wrote `err` for a non-OK status.
            let error = unsafe { failure_error(status, &mut err, self.info.name(), "drop") };
            tracing::warn!(operator = self.info.name(), %error, "destroying an operator instance failed");
        }
    }
}

/// Turns what the plugin wrote for a failed call into an [`Error`].
///
/// # Safety
/// `err` was written by the plugin for this call (or is still empty).
unsafe fn failure_error(
    status: Status,
    err: &mut ErrorOut,
    operator: &str,
    method: &'static str,
) -> Error {
    // SAFETY: forwarded from the caller.
    let Some(failure) = (unsafe { Failure::read_from(status, err) }) else {
        return Error::Data {
            operator: operator.to_owned(),
            method,
            message: "the plugin reported a failure with status OK".to_owned(),
        };
    };
    let location = failure.location();
    let operator = operator.to_owned();
    match failure.kind {
        FailureKind::Error => Error::Failed {
            operator,
            method,
            message: failure.message,
            location,
        },
        FailureKind::Panic => Error::Panicked {
            operator,
            method,
            message: failure.message,
            location,
        },
        FailureKind::InvalidInput if method == "new" => Error::InvalidConfig {
            operator,
            message: failure.message_or_note(),
        },
        FailureKind::InvalidInput => Error::Data {
            operator,
            method,
            message: format!(
                "it refused the input the host sent (a fault of the input, not of the \
                 operator): {}",
                failure.message_or_note()
            ),
        },
        FailureKind::Unknown(status) => Error::Data {
            operator,
            method,
            message: if method == "new" {
                format!(
                    "the plugin returned unknown status {status} (a fault of the plugin: it must return an `OPLINK_STATUS_*`, 0 to 3)"
                )
            } else {
                format!(
                    "the plugin returned unknown status {status} (a fault of the plugin: it must return an `OPLINK_STATUS_*`, 0 to 3); the instance is now poisoned"
                )
            },
        },
    }
}
