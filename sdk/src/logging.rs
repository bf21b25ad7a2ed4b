//! The plugin side of logging: a `tracing` subscriber that forwards each event of a plugin
//! to the [`Log`] service of the instance whose call is running on this thread.
//!
//! A plugin library links its own copy of `tracing`, so the host's subscriber never sees
//! its events directly. The first instance created installs [`Forwarder`] as the library's
//! global default; every thunk marks its instance as the current one for the length of the
//! call ([`enter`]). A thread the operator spawned reaches its instance's log while it is in
//! a [`LogHandle`]'s scope; other events raised outside any call have no instance to be
//! attributed to and are dropped. Spans go to the host's [`Spans`] service when it offers
//! one: opened, entered, recorded, exited and closed there as here, so that an event inside
//! a span is inside it in the host's subscriber too. A span is opened only where an event
//! would be forwarded (outside, it is disabled); entering it later where none would be (on a
//! thread outside any call or handle) does not reach the host, and dropping it there
//! reaches it at the next span opened where one would (the host also closes what an
//! instance left open when the instance goes).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Once, RwLock};

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, LevelFilter, Metadata, Subscriber};

use crate::services::{FieldValue, Log, LogEvent, LogFields, LogSpan, Spans, level};
use crate::trampoline::{CALL, CurrentLog};

/// Where an instance's `tracing` goes: the host's log, the most verbose level the host
/// wants, and the host's spans service when it offers one.
#[derive(Clone)]
pub(crate) struct Sink {
    pub(crate) log: Arc<dyn Log>,
    pub(crate) level: u8,
    pub(crate) spans: Option<Arc<dyn Spans>>,
}

/// Marks an instance's log as the current one until dropped. It borrows the log, so it
/// cannot outlive it, and it is neither `Send` nor `Sync` (it restores a thread-local).
/// (Calls through the thunks mark it in the trampoline's own lookup instead.)
pub(crate) struct Scope<'a> {
    previous: CurrentLog,
    _log: PhantomData<&'a Sink>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        CALL.with(|call| call.log.set(self.previous));
    }
}

/// Makes `log` the current log of this thread for the life of the scope, which borrows it.
pub(crate) fn enter(log: Option<&Sink>) -> Scope<'_> {
    Scope {
        previous: CALL.with(|call| call.log.replace(current(log))),
        _log: PhantomData,
        _not_send: PhantomData,
    }
}

/// `log` as the thread's current log.
pub(crate) fn current(log: Option<&Sink>) -> CurrentLog {
    log.map(|sink| sink as *const Sink)
}

/// The log of the instance whose call runs on this thread.
fn current_sink<'a>() -> Option<&'a Sink> {
    let sink = CALL.with(|call| call.log.get())?;
    // SAFETY: the current log is set only while a `Scope` or a guarded call is alive, and
    // both borrow the log they mark, so it outlives them; this is used within the
    // subscriber's callback, which runs inside them.
    Some(unsafe { &*sink })
}

/// An instance's log as the threads its operator spawns reach it, through [`LogHandle`]s:
/// the log until the instance goes, then nothing.
pub(crate) struct Shared {
    /// The instance's log; `None` once the instance is gone (its tables with it). A thread
    /// forwards under the read lock, so the instance's end waits for what is under way.
    sink: RwLock<Option<Sink>>,
    /// The log's level (`OFF` once closed, so that a thread that outlives the instance
    /// does not build the events it would drop) and whether it has spans, readable without
    /// the lock.
    level: AtomicU8,
    spans: bool,
}

impl Shared {
    pub(crate) fn new(sink: Option<&Sink>) -> Arc<Shared> {
        Arc::new(Shared {
            sink: RwLock::new(sink.cloned()),
            level: AtomicU8::new(sink.map_or(level::OFF, |s| s.level)),
            spans: sink.is_some_and(|s| s.spans.is_some()),
        })
    }

    /// The instance is gone: its log is reached no more.
    pub(crate) fn close(&self) {
        self.level.store(level::OFF, Ordering::Relaxed);
        *self.sink.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

thread_local! {
    /// The instance log this thread entered through a [`LogHandle`], if any. The thread holds
    /// a reference of its own, not a pointer into the handle: a guard forgotten, or dropped
    /// before one made after it, leaves the thread marked past its handle's end.
    static SPAWNED: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

/// The log entered through a handle on this thread (none once the thread's locals are gone,
/// as it ends).
fn spawned() -> Option<Arc<Shared>> {
    SPAWNED.try_with(|s| s.borrow().clone()).ok().flatten()
}

/// The most verbose level wanted on this thread now, and whether spans are forwarded.
fn wanted() -> Option<(u8, bool)> {
    match current_sink() {
        Some(sink) => Some((sink.level, sink.spans.is_some())),
        None => spawned().map(|shared| (shared.level.load(Ordering::Relaxed), shared.spans)),
    }
}

/// Runs `f` with the log this thread's events go to: the running call's instance's, else
/// that of the handle the thread entered, while its instance is there.
fn with_sink<R>(f: impl FnOnce(&Sink) -> R) -> Option<R> {
    if let Some(sink) = current_sink() {
        return Some(f(sink));
    }
    let shared = spawned()?;
    let sink = shared.sink.read().unwrap_or_else(|e| e.into_inner());
    sink.as_ref().map(f)
}

/// A handle to an operator instance's log for threads the operator spawns
/// ([`Context::log_handle`](crate::Context::log_handle)): `tracing` events and spans on a
/// thread that entered it reach the host as the instance's, as they do on the thread of a
/// call (outside any call, a plugin's events go nowhere). Cheap to clone, `Send` and
/// `Sync`. Once the instance is gone, what a thread logs through it goes nowhere.
///
/// ```
/// # let ctx = oplink::Context::new("worker");
/// let log = ctx.log_handle();
/// let worker = std::thread::spawn(move || {
///     log.in_scope(|| oplink::tracing::info!(part = 3, "prefetched"));
/// });
/// worker.join().unwrap();
/// ```
#[derive(Clone)]
pub struct LogHandle(pub(crate) Arc<Shared>);

impl fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogHandle")
            .field("live", &self.is_live())
            .finish()
    }
}

impl LogHandle {
    /// Makes this thread's `tracing` go to the instance's log until the guard is dropped
    /// (a call running on the thread still takes its own instance's). Dropping the guard
    /// puts back what the thread had entered before, so guards are dropped in the reverse
    /// order of their making; one forgotten leaves the thread in this scope for good (what
    /// it logs then goes nowhere once the instance is gone).
    pub fn enter(&self) -> LogGuard<'_> {
        LogGuard {
            previous: SPAWNED
                .try_with(|s| s.replace(Some(self.0.clone())))
                .ok()
                .flatten(),
            _handle: PhantomData,
            _not_send: PhantomData,
        }
    }

    /// Runs `f` with this thread's `tracing` going to the instance's log.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.enter();
        f()
    }

    /// Whether the instance is still there (what is logged through the handle reaches its
    /// host).
    pub fn is_live(&self) -> bool {
        self.0
            .sink
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

/// This thread's `tracing` going to an instance's log: see [`LogHandle::enter`]. Not
/// `Send`: it marks the thread that made it.
#[must_use = "the thread logs to the instance only while the guard lives"]
pub struct LogGuard<'a> {
    /// What the thread had entered before.
    previous: Option<Arc<Shared>>,
    _handle: PhantomData<&'a LogHandle>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for LogGuard<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // The log this guard marked is dropped once the thread-local is no longer borrowed.
        let _ours = SPAWNED.try_with(|s| s.replace(previous));
    }
}

impl fmt::Debug for LogGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogGuard").finish_non_exhaustive()
    }
}

/// The id of a span the host did not open (no spans service, or filtered out by the
/// host): nothing about it is forwarded. The host's keys count up from 1.
const NOT_OPENED: u64 = u64::MAX;

/// The spans the host opened that this library holds.
#[derive(Default)]
struct Handles {
    /// How many handles of each span: `tracing` clones and drops span handles, and the host
    /// hears of the span's end once, when the last goes.
    counts: HashMap<u64, usize>,
    /// Spans whose last handle went where no host service can be reached (on a thread
    /// outside any call or `LogHandle` scope): the host hears of their end at the next span
    /// opened where one can. (Otherwise an instance that hands each call's span to a thread
    /// of its own would keep them all open in the host as long as it lives.)
    unsent: Vec<u64>,
}

static HANDLES: Mutex<Option<Handles>> = Mutex::new(None);

fn handles<R>(f: impl FnOnce(&mut Handles) -> R) -> R {
    let mut handles = HANDLES.lock().unwrap_or_else(|e| e.into_inner());
    f(handles.get_or_insert_with(Handles::default))
}

/// Calls the host's spans service about a span it opened, when the current call has one.
fn to_host(id: &Id, call: impl FnOnce(&dyn Spans, u64)) {
    let key = id.into_u64();
    if key == NOT_OPENED {
        return;
    }
    with_sink(|sink| {
        if let Some(spans) = sink.spans.as_deref() {
            // What the host fails to take is lost, and nothing else is.
            crate::trampoline::contained(|| call(spans, key));
        }
    });
}

/// A span as it crosses to the host's [`Spans::open`]. Made before the log is reached: its
/// values' `Debug` is the plugin's code, which may log in turn, and a thread in a handle's
/// scope reaches the log under a read lock that it must not take twice (a `close` waiting
/// between the two would wait forever, and the thread with it).
fn describe(attributes: &Attributes<'_>) -> LogSpan {
    let metadata = attributes.metadata();
    let mut given = Fields::default();
    attributes.record(&mut given);
    LogSpan {
        level: level::of(metadata.level()),
        name: metadata.name().to_owned(),
        target: metadata.target().to_owned(),
        file: metadata.file().map(str::to_owned),
        line: metadata.line().unwrap_or(0),
        fields: metadata
            .fields()
            .iter()
            .map(|field| {
                let value = given
                    .fields
                    .iter()
                    .position(|(name, _)| name == field.name())
                    .map(|at| given.fields.swap_remove(at).1);
                (field.name().to_owned(), value)
            })
            .collect(),
    }
}

/// Opens a span in the host: its key, or 0 when the host does not want it or failed.
fn open(spans: &dyn Spans, span: LogSpan) -> u64 {
    let mut key = 0;
    // A span the host fails to open is not forwarded, and nothing else is lost.
    crate::trampoline::contained(|| key = spans.open(span));
    key
}

static INSTALL: Once = Once::new();

/// Installs the forwarder as this library's global `tracing` subscriber (once). A plugin
/// that installed a subscriber of its own keeps it.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        let _ = tracing_core::dispatcher::set_global_default(Dispatch::new(Forwarder));
    });
}

/// The plugin's `tracing` subscriber: see the module's documentation.
struct Forwarder;

impl Subscriber for Forwarder {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // Whether an event is wanted depends on the instance running at the time.
        Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        wanted().is_some_and(|(max, spans)| {
            level::of(metadata.level()) <= max && (metadata.is_event() || spans)
        })
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let span = describe(attributes);
        let key = with_sink(|sink| {
            let spans = sink.spans.as_deref()?;
            let key = open(spans, span);
            // The keys of spans dropped where no service could be reached, which any
            // instance's service closes (keys are unique in the host's process, and one it
            // closed already is ignored).
            let unsent = handles(|handles| {
                if key != 0 && key != NOT_OPENED {
                    handles.counts.insert(key, 1);
                }
                std::mem::take(&mut handles.unsent)
            });
            for unsent in unsent {
                crate::trampoline::contained(|| spans.close(unsent));
            }
            Some(key)
        });
        match key.flatten() {
            Some(key) if key != 0 && key != NOT_OPENED => Id::from_u64(key),
            _ => Id::from_u64(NOT_OPENED),
        }
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        if id.into_u64() == NOT_OPENED {
            return;
        }
        // Recorded before the log is reached, as a span's opening values are (`describe`).
        let mut fields = Fields::default();
        values.record(&mut fields);
        to_host(id, |spans, key| spans.record(key, LogFields(fields.fields)));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn clone_span(&self, id: &Id) -> Id {
        let key = id.into_u64();
        if key != NOT_OPENED {
            handles(|handles| *handles.counts.entry(key).or_insert(0) += 1);
        }
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        let key = id.into_u64();
        if key == NOT_OPENED {
            return false;
        }
        let last = handles(|handles| match handles.counts.get_mut(&key) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            _ => {
                handles.counts.remove(&key);
                true
            }
        });
        if last {
            let sent = with_sink(|sink| {
                let spans = sink.spans.as_deref()?;
                // What the host fails to take is lost, and nothing else is.
                crate::trampoline::contained(|| spans.close(key));
                Some(())
            });
            if sent.flatten().is_none() {
                handles(|handles| handles.unsent.push(key));
            }
        }
        last
    }

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let level = level::of(metadata.level());
        if wanted().is_none_or(|(max, _)| level > max) {
            return;
        }
        let mut fields = Fields::events();
        event.record(&mut fields);
        let record = LogEvent {
            level,
            target: metadata.target().to_owned(),
            file: metadata.file().map(str::to_owned),
            line: metadata.line().unwrap_or(0),
            message: fields.message,
            fields: fields.fields,
        };
        // A log line the host fails to take is lost, and nothing else is.
        with_sink(|sink| crate::trampoline::contained(|| sink.log.event(record)));
    }

    fn enter(&self, id: &Id) {
        to_host(id, |spans, key| spans.enter(key));
    }

    fn exit(&self, id: &Id) {
        to_host(id, |spans, key| spans.exit(key));
    }
}

/// The fields of an event or a span as they are recorded.
#[derive(Default)]
struct Fields {
    /// Whether a field named `message` is the event's message (for a span it is a field).
    event: bool,
    message: String,
    fields: Vec<(String, FieldValue)>,
}

impl Fields {
    fn events() -> Fields {
        Fields {
            event: true,
            ..Fields::default()
        }
    }

    fn push(&mut self, field: &Field, value: FieldValue) {
        if self.event && field.name() == "message" {
            self.message = match value {
                FieldValue::Str(s) => s,
                other => format!("{other:?}"),
            };
        } else {
            self.fields.push((field.name().to_owned(), value));
        }
    }
}

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, FieldValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, FieldValue::Str(value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, FieldValue::Str(format!("{value:?}")));
    }
    /// An error field (`error = &err as &dyn Error`) is its message followed by its
    /// sources', `outer: inner: innermost`: `tracing`'s default keeps the first alone, so
    /// the cause a wrapped error carries would not reach the host.
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.push(field, FieldValue::Str(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_not_impl_any!(Scope<'static>: Send, Sync);
    static_assertions::assert_impl_all!(super::LogHandle: Send, Sync, Clone);
    static_assertions::assert_not_impl_any!(super::LogGuard<'static>: Send, Sync);

    use std::sync::atomic::{AtomicU64, Ordering};

    /// A host's log and spans that write down what they are told.
    #[derive(Default)]
    struct Recorder {
        told: Mutex<Vec<String>>,
        /// The key the next span opened gets (keys are the process's, as a host's are).
        next: AtomicU64,
    }

    impl Recorder {
        fn told(&self) -> Vec<String> {
            self.told.lock().unwrap().clone()
        }
        fn tell(&self, what: String) {
            self.told.lock().unwrap().push(what);
        }
    }

    impl Log for Recorder {
        fn max_level(&self) -> u8 {
            level::TRACE
        }
        fn event(&self, event: LogEvent) {
            self.tell(event.message);
            for (name, value) in event.fields {
                self.tell(format!("{name}={value:?}"));
            }
        }
        fn message(&self, _: u8, _: &str, text: &str) {
            self.tell(text.to_owned());
        }
    }

    impl Spans for Recorder {
        fn open(&self, span: LogSpan) -> u64 {
            static KEYS: AtomicU64 = AtomicU64::new(1 << 40);
            self.tell(format!("open {}", span.name));
            let key = KEYS.fetch_add(1, Ordering::Relaxed);
            self.next.store(key, Ordering::Relaxed);
            key
        }
        fn record(&self, _: u64, fields: LogFields) {
            self.tell(format!("record {}", fields.0.len()));
        }
        fn enter(&self, _: u64) {}
        fn exit(&self, _: u64) {}
        fn close(&self, _: u64) {
            self.tell("close".to_owned());
        }
    }

    /// An instance's log as its context shares it with the threads its operator spawns.
    fn shared(recorder: &Arc<Recorder>) -> Arc<Shared> {
        Shared::new(Some(&Sink {
            log: recorder.clone(),
            level: level::TRACE,
            spans: Some(recorder.clone()),
        }))
    }

    /// Runs `f` with the forwarder as this thread's subscriber.
    fn forwarding(f: impl FnOnce()) {
        tracing_core::dispatcher::with_default(&Dispatch::new(Forwarder), f);
    }

    /// A guard forgotten (or dropped after a later one) leaves its thread in the handle's
    /// scope, past the handle: what the thread logs then goes to the instance while it is
    /// there, and nowhere once it is gone, never to memory freed with the last handle.
    #[test]
    fn a_forgotten_guard_keeps_its_thread_logging_as_the_instance_or_into_nothing() {
        let recorder = Arc::new(Recorder::default());
        let shared = shared(&recorder);
        let gone = Arc::downgrade(&shared);
        forwarding(|| {
            let handle = LogHandle(shared.clone());
            std::mem::forget(handle.enter());
            drop(handle);
            crate::tracing::info!("while the instance is there");
            // The instance goes: its context closes the log and drops its reference.
            shared.close();
            drop(shared);
            assert!(
                gone.upgrade().is_some(),
                "the thread still marks the log, which must stay allocated"
            );
            crate::tracing::info!("after the instance went");
        });
        assert_eq!(recorder.told(), ["while the instance is there"]);
    }

    /// An error logged as a field reaches the host with the messages of its sources, not
    /// its own message alone (`tracing`'s default for an error field).
    #[test]
    fn an_error_field_carries_its_sources() {
        #[derive(Debug)]
        struct Wrapped(std::io::Error);
        impl fmt::Display for Wrapped {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("cannot read `tiers.csv`")
            }
        }
        impl std::error::Error for Wrapped {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }

        let recorder = Arc::new(Recorder::default());
        let shared = shared(&recorder);
        forwarding(|| {
            let handle = LogHandle(shared.clone());
            let _in_scope = handle.enter();
            let error = Wrapped(std::io::Error::other("permission denied"));
            crate::tracing::warn!(error = &error as &dyn std::error::Error, "lookup failed");
        });
        assert_eq!(
            recorder.told(),
            [
                "lookup failed",
                r#"error=Str("cannot read `tiers.csv`: permission denied")"#
            ]
        );
        shared.close();
    }

    /// A span's field values, formatted by the plugin's own `Debug` (which may log in turn,
    /// or drop the last of an instance), are taken before the instance's log is locked: a
    /// thread taking its read lock a second time would wait forever behind a `close` waiting
    /// for the first.
    #[test]
    fn span_fields_are_formatted_with_the_log_unlocked() {
        struct Probe<'a>(&'a Shared, &'a Mutex<Vec<bool>>);
        impl fmt::Debug for Probe<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let unlocked = self.0.sink.try_write().is_ok();
                self.1.lock().unwrap().push(unlocked);
                f.write_str("probe")
            }
        }

        let recorder = Arc::new(Recorder::default());
        let shared = shared(&recorder);
        let unlocked = Mutex::new(Vec::new());
        forwarding(|| {
            let handle = LogHandle(shared.clone());
            let _in_scope = handle.enter();
            let span = crate::tracing::info_span!(
                "work",
                probe = ?Probe(&shared, &unlocked),
                later = crate::tracing::field::Empty
            );
            span.record(
                "later",
                crate::tracing::field::debug(Probe(&shared, &unlocked)),
            );
            drop(span);
        });
        assert_eq!(recorder.told(), ["open work", "record 1", "close"]);
        assert_eq!(*unlocked.lock().unwrap(), [true, true]);
        shared.close();
    }
}
