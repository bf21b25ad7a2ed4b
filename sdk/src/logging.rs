//! The plugin side of logging: a `tracing` subscriber that forwards each event of a plugin
//! to the [`Log`] service of the instance whose call is running on this thread.
//!
//! A plugin library links its own copy of `tracing`, so the host's subscriber never sees
//! its events directly. The first instance created installs [`Forwarder`] as the library's
//! global default; every thunk marks its instance as the current one for the length of the
//! call ([`enter`]). Events raised outside any call (on a thread the plugin spawned, say)
//! have no instance to be attributed to and are dropped. Spans go to the host's
//! [`Spans`] service when it offers one: opened, entered, recorded, exited and closed there
//! as here, so that an event inside a span is inside it in the host's subscriber too. A span
//! is opened only inside a call (outside, it is disabled, as events are); what happens to it
//! later outside any call (entered or dropped on a thread the operator spawned) does not
//! reach the host, which closes what an instance left open when the instance goes.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, Once};

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

/// The id of a span the host did not open (no spans service, or filtered out by the
/// host): nothing about it is forwarded. The host's keys count up from 1.
const NOT_OPENED: u64 = u64::MAX;

/// How many handles of each span the host opened this library holds: `tracing` clones and
/// drops span handles, and the host hears of the span's end once, when the last goes.
static HANDLES: Mutex<Option<HashMap<u64, usize>>> = Mutex::new(None);

fn handles<R>(f: impl FnOnce(&mut HashMap<u64, usize>) -> R) -> R {
    let mut handles = HANDLES.lock().unwrap_or_else(|e| e.into_inner());
    f(handles.get_or_insert_with(HashMap::new))
}

/// Calls the host's spans service about a span it opened, when the current call has one.
fn to_host(id: &Id, call: impl FnOnce(&dyn Spans, u64)) {
    let key = id.into_u64();
    if key == NOT_OPENED {
        return;
    }
    if let Some(spans) = current_sink().and_then(|sink| sink.spans.as_deref()) {
        // What the host fails to take is lost, and nothing else is.
        crate::trampoline::contained(|| call(spans, key));
    }
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
        current_sink().is_some_and(|sink| {
            level::of(metadata.level()) <= sink.level
                && (metadata.is_event() || sink.spans.is_some())
        })
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let Some(spans) = current_sink().and_then(|sink| sink.spans.as_deref()) else {
            return Id::from_u64(NOT_OPENED);
        };
        let metadata = attributes.metadata();
        let mut given = Fields::default();
        attributes.record(&mut given);
        let span = LogSpan {
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
        };
        let mut key = 0;
        // A span the host fails to open is not forwarded, and nothing else is lost.
        crate::trampoline::contained(|| key = spans.open(span));
        if key == 0 || key == NOT_OPENED {
            return Id::from_u64(NOT_OPENED);
        }
        handles(|handles| handles.insert(key, 1));
        Id::from_u64(key)
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        to_host(id, |spans, key| {
            let mut fields = Fields::default();
            values.record(&mut fields);
            spans.record(key, LogFields(fields.fields));
        });
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn clone_span(&self, id: &Id) -> Id {
        let key = id.into_u64();
        if key != NOT_OPENED {
            handles(|handles| *handles.entry(key).or_insert(0) += 1);
        }
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        let key = id.into_u64();
        if key == NOT_OPENED {
            return false;
        }
        let last = handles(|handles| match handles.get_mut(&key) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            _ => {
                handles.remove(&key);
                true
            }
        });
        if last {
            to_host(&id, |spans, key| spans.close(key));
        }
        last
    }

    fn event(&self, event: &Event<'_>) {
        let Some(sink) = current_sink() else {
            return;
        };
        let metadata = event.metadata();
        let level = level::of(metadata.level());
        if level > sink.level {
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
        crate::trampoline::contained(|| sink.log.event(record));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_not_impl_any!(Scope<'static>: Send, Sync);
}
