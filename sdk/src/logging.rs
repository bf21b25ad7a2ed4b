//! The plugin side of logging: a `tracing` subscriber that forwards each event of a plugin
//! to the [`Log`] service of the instance whose call is running on this thread.
//!
//! A plugin library links its own copy of `tracing`, so the host's subscriber never sees
//! its events directly. The first instance created installs [`Forwarder`] as the library's
//! global default; every thunk marks its instance as the current one for the length of the
//! call ([`enter`]). Events raised outside any call (on a thread the plugin spawned, say)
//! have no instance to be attributed to and are dropped. Spans are not forwarded.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Once};

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, LevelFilter, Metadata, Subscriber};

use crate::services::{FieldValue, Log, LogEvent, level};
use crate::trampoline::{CALL, CurrentLog};

/// Marks an instance's log as the current one until dropped. It borrows the log, so it
/// cannot outlive it, and it is neither `Send` nor `Sync` (it restores a thread-local).
/// (Calls through the thunks mark it in the trampoline's own lookup instead.)
pub(crate) struct Scope<'a> {
    previous: CurrentLog,
    _log: PhantomData<&'a dyn Log>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        CALL.with(|call| call.log.set(self.previous));
    }
}

/// Makes `log` (with its level) the current log of this thread for the life of the scope,
/// which borrows it.
pub(crate) fn enter(log: Option<&(Arc<dyn Log>, u8)>) -> Scope<'_> {
    Scope {
        previous: CALL.with(|call| call.log.replace(current(log))),
        _log: PhantomData,
        _not_send: PhantomData,
    }
}

/// `log` as the thread's current log.
pub(crate) fn current(log: Option<&(Arc<dyn Log>, u8)>) -> CurrentLog {
    log.map(|(log, level)| (Arc::as_ptr(log), *level))
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
        metadata.is_event()
            && CALL
                .with(|call| call.log.get())
                .is_some_and(|(_, max)| level::of(metadata.level()) <= max)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let Some((log, max)) = CALL.with(|call| call.log.get()) else {
            return;
        };
        let metadata = event.metadata();
        let level = level::of(metadata.level());
        if level > max {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let record = LogEvent {
            level,
            target: metadata.target().to_owned(),
            file: metadata.file().map(str::to_owned),
            line: metadata.line().unwrap_or(0),
            message: fields.message,
            fields: fields.fields,
        };
        // SAFETY: the current log is set only while a `Scope` or a guarded call is alive, and
        // both borrow the log they mark, so the log outlives them.
        let log = unsafe { &*log };
        // A log line the host fails to take is lost, and nothing else is.
        crate::trampoline::contained(|| log.event(record));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(String, FieldValue)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: FieldValue) {
        if field.name() == "message" {
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
