//! The host side of the `Log` and `Spans` services. Each plugin event is re-emitted into
//! the host's `tracing` subscriber at its level and with its target, file and line,
//! carrying the fields `operator`, `instance` and `message` (when it has one) plus every
//! field the plugin wrote (one the plugin named `operator`, `instance` or `message` as
//! `plugin.operator` and so on). Each plugin span becomes a span of the host's subscriber, with the fields
//! `operator` and `instance` plus the plugin's, inside the host's span of the call, and is
//! entered, exited, recorded and closed when the plugin's is; one the plugin left entered
//! when its call returns (a forgotten guard) is exited then, so that the host's own work
//! after the call is not inside it.
//!
//! `tracing` wants `'static` metadata per call site; a plugin's events and spans arrive as
//! data, so each distinct shape (kind, name, level, target, location, field names) gets one
//! call site made at run time, registered once and kept for the life of the process.
//! Plugins written with `tracing` have a fixed set of sites; one that makes shapes without
//! end (a C operator with a table's name in its target) gets folded sites past
//! [`EXACT_SITES`], so the host's memory stays bounded.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use oplink::services::{FieldValue, Log, LogEvent, LogFields, LogSpan, Spans, level};
use tracing_core::callsite::{Callsite, register};
use tracing_core::field::{FieldSet, Value};
use tracing_core::metadata::Kind;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, Level, LevelFilter, Metadata, dispatcher, identify_callsite};

/// The `Log` service of one instance.
#[derive(Debug)]
pub(crate) struct TracingLog {
    pub(crate) operator: String,
    pub(crate) instance: u64,
}

impl Log for TracingLog {
    fn max_level(&self) -> u8 {
        level::of_filter(LevelFilter::current())
    }

    fn event(&self, event: LogEvent) {
        emit(&self.operator, self.instance, &event);
    }

    fn message(&self, level: u8, target: &str, text: &str) {
        let event = LogEvent {
            level,
            target: target.to_owned(),
            file: None,
            line: 0,
            message: text.to_owned(),
            fields: Vec::new(),
        };
        emit(&self.operator, self.instance, &event);
    }
}

/// A call site made at run time.
struct DynamicCallsite {
    metadata: OnceLock<Metadata<'static>>,
}

impl Callsite for DynamicCallsite {
    // Not kept: every event or span from a plugin asks the current subscriber's `enabled`.
    // A cached interest is what the subscribers said when the site was first met, and with
    // one dispatcher that is the default of the thread that met it (a worker thread with no
    // subscriber would make it "never" for every thread); a subscriber that filters in
    // `register_callsite` alone, with `enabled` left true, gets everything from plugins.
    fn set_interest(&self, _: Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        self.metadata
            .get()
            .expect("a dynamic call site is registered only after its metadata is set")
    }
}

#[derive(Hash, PartialEq, Eq)]
struct Shape {
    /// The span's name, or `None` for an event.
    span: Option<String>,
    /// One of the `level` numbers, `OFF` and those past `TRACE` read as `TRACE`.
    level: u8,
    target: String,
    file: Option<String>,
    line: u32,
    fields: Vec<String>,
}

impl Shape {
    fn level(&self) -> Level {
        level::to_tracing(self.level).unwrap_or(Level::TRACE)
    }
}

/// How many call sites of exact shapes a process makes for plugins. Call sites live as
/// long as the process, and a plugin could make shapes without end (a C operator that
/// puts a table's name in its target, say); past this, events and spans of new shapes share
/// a folded site per kind and level (see [`Site::Folded`]).
const EXACT_SITES: usize = 4096;

/// The call site an event or span of a plugin is given.
#[derive(Clone, Copy)]
enum Site {
    /// A site of the event's or span's own shape: its target, location and fields.
    Exact(&'static DynamicCallsite),
    /// A site shared by every shape made after [`EXACT_SITES`], with the target `plugin`:
    /// its fields are the host's own, then `plugin.target` and `plugin.fields` (the
    /// plugin's fields as `name=value` text), and a span's `plugin.name`. A folded span
    /// takes no values recorded after it opened.
    Folded(&'static DynamicCallsite),
}

impl Site {
    fn callsite(self) -> &'static DynamicCallsite {
        match self {
            Site::Exact(site) | Site::Folded(site) => site,
        }
    }
}

/// The call sites made so far.
struct Sites {
    exact: HashMap<Shape, &'static DynamicCallsite>,
    folded: HashMap<(bool, Level), &'static DynamicCallsite>,
    limit: usize,
}

impl Sites {
    fn new(limit: usize) -> Sites {
        Sites {
            exact: HashMap::new(),
            folded: HashMap::new(),
            limit,
        }
    }

    fn site(&mut self, mut shape: Shape) -> Site {
        shape.level = level::of(&shape.level());
        if let Some(site) = self.exact.get(&shape) {
            return Site::Exact(site);
        }
        let span = shape.span.is_some();
        let own = own_fields(span);
        if self.exact.len() >= self.limit {
            let site = self.folded.entry((span, shape.level())).or_insert_with(|| {
                let extra: &[&'static str] = if span {
                    &["plugin.name", "plugin.target", "plugin.fields"]
                } else {
                    &["plugin.target", "plugin.fields"]
                };
                let names = own.iter().chain(extra).copied().collect();
                make(
                    if span {
                        "span from a plugin"
                    } else {
                        "event from a plugin"
                    },
                    "plugin",
                    shape.level(),
                    None,
                    0,
                    names,
                    span,
                )
            });
            return Site::Folded(site);
        }
        let mut names: Vec<&'static str> = own.to_vec();
        names.extend(shape.fields.iter().map(|name| leak(&field_name(own, name))));
        let site = make(
            shape.span.as_deref().map_or("event from a plugin", leak),
            leak(&shape.target),
            shape.level(),
            shape.file.as_deref().map(leak),
            shape.line,
            names,
            span,
        );
        self.exact.insert(shape, site);
        Site::Exact(site)
    }
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

/// A new call site, registered with `tracing` and kept for the life of the process.
fn make(
    name: &'static str,
    target: &'static str,
    level: Level,
    file: Option<&'static str>,
    line: u32,
    names: Vec<&'static str>,
    span: bool,
) -> &'static DynamicCallsite {
    let site: &'static DynamicCallsite = Box::leak(Box::new(DynamicCallsite {
        metadata: OnceLock::new(),
    }));
    let metadata = Metadata::new(
        name,
        target,
        level,
        file,
        Some(line).filter(|&l| l > 0),
        None,
        FieldSet::new(
            Box::leak(names.into_boxed_slice()),
            identify_callsite!(site),
        ),
        if span { Kind::SPAN } else { Kind::EVENT },
    );
    let _ = site.metadata.set(metadata);
    register(site);
    site
}

/// The process's call site for `shape`.
fn callsite(shape: Shape) -> Site {
    static SITES: OnceLock<Mutex<Sites>> = OnceLock::new();
    SITES
        .get_or_init(|| Mutex::new(Sites::new(EXACT_SITES)))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .site(shape)
}

/// A plugin's fields as one text, for a folded site: `name=value`, separated by spaces.
fn fields_text<'a>(fields: impl Iterator<Item = (&'a str, Option<&'a FieldValue>)>) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    for (name, value) in fields {
        let Some(value) = value else { continue };
        if !text.is_empty() {
            text.push(' ');
        }
        let _ = match value {
            FieldValue::I64(v) => write!(text, "{name}={v}"),
            FieldValue::U64(v) => write!(text, "{name}={v}"),
            FieldValue::F64(v) => write!(text, "{name}={v}"),
            FieldValue::Bool(v) => write!(text, "{name}={v}"),
            FieldValue::Str(v) => write!(text, "{name}={v:?}"),
        };
    }
    text
}

/// The fields the host gives every event from a plugin.
const OWN_FIELDS: [&str; 3] = ["message", "operator", "instance"];

/// The fields the host gives every span from a plugin.
const OWN_SPAN_FIELDS: [&str; 2] = ["operator", "instance"];

fn own_fields(span: bool) -> &'static [&'static str] {
    if span { &OWN_SPAN_FIELDS } else { &OWN_FIELDS }
}

/// The name a plugin's field goes by in the host's event or span: its own, unless it is
/// one of the host's `own` fields, which it would repeat (`operator` becomes
/// `plugin.operator`).
fn field_name(own: &[&str], name: &str) -> String {
    if own.contains(&name) {
        format!("plugin.{name}")
    } else {
        name.to_owned()
    }
}

/// A plugin's field value as a `tracing` value.
fn value_of(value: &FieldValue) -> &dyn Value {
    match value {
        FieldValue::I64(v) => v,
        FieldValue::U64(v) => v,
        FieldValue::F64(v) => v,
        FieldValue::Bool(v) => v,
        FieldValue::Str(v) => v,
    }
}

fn emit(operator: &str, instance: u64, event: &LogEvent) {
    let site = callsite(Shape {
        span: None,
        level: event.level,
        target: event.target.clone(),
        file: event.file.clone(),
        line: event.line,
        fields: event.fields.iter().map(|(name, _)| name.clone()).collect(),
    });
    emit_at(site, operator, instance, event);
}

/// Emits `event` at `site`, made for its shape.
fn emit_at(site: Site, operator: &str, instance: u64, event: &LogEvent) {
    let metadata = site.callsite().metadata();
    if !dispatcher::get_default(|d| d.enabled(metadata)) {
        return;
    }
    let message = format_args!("{}", event.message);
    // An event the plugin wrote with no message (`info!(rows = 3)`) gets none here either,
    // rather than an empty one.
    let message = (!event.message.is_empty()).then_some(&message as &dyn Value);
    let mut values: Vec<Option<&dyn Value>> = vec![message, Some(&operator), Some(&instance)];
    let folded;
    match site {
        Site::Exact(_) => {
            values.extend(event.fields.iter().map(|(_, value)| Some(value_of(value))));
        }
        Site::Folded(_) => {
            folded = fields_text(event.fields.iter().map(|(n, v)| (n.as_str(), Some(v))));
            values.extend([Some(&event.target as &dyn Value), Some(&folded)]);
        }
    }
    let fields = metadata.fields();
    Event::dispatch(metadata, &fields.value_set_all(&values));
}

/// The `Spans` service of one instance. The spans it opened and the plugin did not close
/// are closed when it goes (with the instance).
#[derive(Debug)]
pub(crate) struct TracingSpans {
    operator: String,
    instance: u64,
    /// Unique in the process (instance numbers are unique per host only).
    owner: u64,
}

impl TracingSpans {
    pub(crate) fn new(operator: &str, instance: u64) -> TracingSpans {
        static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);
        TracingSpans {
            operator: operator.to_owned(),
            instance,
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// A plugin's span, open in the host's subscriber.
struct OpenSpan {
    dispatch: Dispatch,
    id: Id,
    site: &'static DynamicCallsite,
    /// The [`TracingSpans::owner`] that opened it.
    owner: u64,
}

/// Every plugin span open in this process, by key. Keys are the host's, not a
/// subscriber's: a plugin may enter a span under another instance's call (one kept in a
/// `static`), and a subscriber's ids are its own.
fn open_spans() -> std::sync::MutexGuard<'static, HashMap<u64, OpenSpan>> {
    static OPEN: OnceLock<Mutex<HashMap<u64, OpenSpan>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// What this thread knows of calls into plugins: how many run on it (nested calls, a host
/// service that calls another instance, count too), and how many plugin spans are entered
/// on it ([`ENTERED`]'s length). Cells only, so that every call reaches them cheaply.
struct Calls {
    running: Cell<u32>,
    entered: Cell<usize>,
}

thread_local! {
    static CALLS: Calls = const {
        Calls {
            running: Cell::new(0),
            entered: Cell::new(0),
        }
    };
    /// The plugin spans entered on this thread inside calls through [`Spans::enter`] and not
    /// exited yet, innermost last.
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's entered spans, keeping their count in [`CALLS`]. `None` when
/// the list is gone (a thread-local's destructor dropping an instance late).
fn entered<R>(f: impl FnOnce(&mut Vec<u64>) -> R) -> Option<R> {
    ENTERED
        .try_with(|entered| {
            let mut entered = entered.borrow_mut();
            let out = f(&mut entered);
            CALLS.with(|calls| calls.entered.set(entered.len()));
            out
        })
        .ok()
}

/// A call into a plugin instance running on this thread, until dropped: the plugin spans
/// entered during it and still entered when it returns are exited then (innermost first),
/// so the thread's current span is again what it was before the call. A plugin that enters
/// a span and forgets the guard, or keeps it for a later call, would otherwise leave the
/// host's thread inside its span: the host's own events and spans after the call would be
/// put in it. Not `Send`: it restores a thread-local.
pub(crate) struct PluginCall {
    /// How many spans were entered on this thread when the call began.
    from: usize,
    _not_send: PhantomData<*const ()>,
}

impl PluginCall {
    pub(crate) fn begin() -> PluginCall {
        let from = CALLS.with(|calls| {
            calls.running.set(calls.running.get() + 1);
            calls.entered.get()
        });
        PluginCall {
            from,
            _not_send: PhantomData,
        }
    }

    /// Exits what the call entered and left entered (out of line: a call rarely does).
    #[cold]
    fn exit_what_was_left(&self) {
        let left = entered(|entered| entered.split_off(self.from.min(entered.len())));
        for key in left.unwrap_or_default().into_iter().rev() {
            if let Some((dispatch, id, _)) = find(key) {
                dispatch.exit(&id);
            }
        }
    }
}

impl Drop for PluginCall {
    fn drop(&mut self) {
        let left_entered = CALLS.with(|calls| {
            calls.running.set(calls.running.get().saturating_sub(1));
            calls.entered.get() > self.from
        });
        if left_entered {
            self.exit_what_was_left();
        }
    }
}

/// Forgets that span `key` is entered on this thread (its innermost entry, or every one with
/// `all`); how many entries were forgotten.
fn forget_entered(key: u64, all: bool) -> usize {
    entered(|entered| {
        if all {
            let before = entered.len();
            entered.retain(|&k| k != key);
            before - entered.len()
        } else if let Some(at) = entered.iter().rposition(|&k| k == key) {
            entered.remove(at);
            1
        } else {
            0
        }
    })
    .unwrap_or(0)
}

/// Closes `span` in its subscriber, after exiting it as many times as it is entered on this
/// thread (a span the plugin dropped while entered, its guard forgotten).
fn close(key: u64, span: OpenSpan) {
    for _ in 0..forget_entered(key, true) {
        span.dispatch.exit(&span.id);
    }
    span.dispatch.try_close(span.id);
}

/// The subscriber and id of the open span `key` (copied out, so that the subscriber is
/// called without the lock).
fn find(key: u64) -> Option<(Dispatch, Id, &'static DynamicCallsite)> {
    let open = open_spans();
    let span = open.get(&key)?;
    Some((span.dispatch.clone(), span.id.clone(), span.site))
}

impl Spans for TracingSpans {
    fn open(&self, span: LogSpan) -> u64 {
        static NEXT_KEY: AtomicU64 = AtomicU64::new(1);
        let site = callsite(Shape {
            span: Some(span.name.clone()),
            level: span.level,
            target: span.target.clone(),
            file: span.file.clone(),
            line: span.line,
            fields: span.fields.iter().map(|(name, _)| name.clone()).collect(),
        });
        let metadata = site.callsite().metadata();
        let dispatch = dispatcher::get_default(Dispatch::clone);
        if !dispatch.enabled(metadata) {
            return 0;
        }
        let operator = self.operator.as_str();
        let mut values: Vec<Option<&dyn Value>> = vec![Some(&operator), Some(&self.instance)];
        let folded;
        match site {
            Site::Exact(_) => {
                values.extend(
                    span.fields
                        .iter()
                        .map(|(_, value)| value.as_ref().map(value_of)),
                );
            }
            Site::Folded(_) => {
                folded = fields_text(span.fields.iter().map(|(n, v)| (n.as_str(), v.as_ref())));
                values.extend([
                    Some(&span.name as &dyn Value),
                    Some(&span.target),
                    Some(&folded),
                ]);
            }
        }
        let fields = metadata.fields();
        let id = dispatch.new_span(&Attributes::new(metadata, &fields.value_set_all(&values)));
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        open_spans().insert(
            key,
            OpenSpan {
                dispatch,
                id,
                site: site.callsite(),
                owner: self.owner,
            },
        );
        key
    }

    fn record(&self, key: u64, recorded: LogFields) {
        let Some((dispatch, id, site)) = find(key) else {
            return;
        };
        let fields = site.metadata().fields();
        let mut values: Vec<Option<&dyn Value>> = vec![None; fields.len()];
        for (name, value) in &recorded.0 {
            if let Some(field) = fields.field(&field_name(&OWN_SPAN_FIELDS, name)) {
                values[field.index()] = Some(value_of(value));
            }
        }
        dispatch.record(&id, &Record::new(&fields.value_set_all(&values)));
    }

    /// Inside a call into a plugin on this thread, noted so that the call exits it, if the
    /// plugin does not, when it returns; on another thread (one the operator spawned, in a
    /// `LogHandle`'s scope: no host code runs there) entered as told.
    fn enter(&self, key: u64) {
        let Some((dispatch, id, _)) = find(key) else {
            return;
        };
        if CALLS.with(|calls| calls.running.get() > 0) {
            entered(|entered| entered.push(key));
        }
        dispatch.enter(&id);
    }

    /// Inside a call into a plugin, exited only when entered on this thread and not exited
    /// since (by the plugin, or by the end of the call that entered it); on another thread,
    /// exited as told.
    fn exit(&self, key: u64) {
        let in_call = CALLS.with(|calls| calls.running.get() > 0);
        if in_call && forget_entered(key, false) == 0 {
            return;
        }
        if let Some((dispatch, id, _)) = find(key) {
            dispatch.exit(&id);
        }
    }

    fn close(&self, key: u64) {
        let span = open_spans().remove(&key);
        if let Some(span) = span {
            close(key, span);
        }
    }
}

impl Drop for TracingSpans {
    fn drop(&mut self) {
        let left: Vec<(u64, OpenSpan)> = {
            let mut open = open_spans();
            let keys: Vec<u64> = open
                .iter()
                .filter(|(_, span)| span.owner == self.owner)
                .map(|(&key, _)| key)
                .collect();
            keys.into_iter()
                .filter_map(|key| Some((key, open.remove(&key)?)))
                .collect()
        };
        for (key, span) in left {
            close(key, span);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use oplink::services::{FieldValue, Log, LogEvent, level};

    use super::TracingLog;

    /// Records the field names and values of every event.
    #[derive(Default)]
    struct Fields(Arc<Mutex<Vec<(String, String)>>>);

    struct Visit<'a>(&'a mut Vec<(String, String)>);

    impl tracing_core::field::Visit for Visit<'_> {
        fn record_debug(&mut self, field: &tracing_core::Field, value: &dyn std::fmt::Debug) {
            self.0.push((field.name().to_owned(), format!("{value:?}")));
        }
    }

    impl tracing_core::Subscriber for Fields {
        fn enabled(&self, _: &tracing_core::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing_core::span::Attributes<'_>) -> tracing_core::span::Id {
            tracing_core::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing_core::span::Id, _: &tracing_core::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing_core::span::Id, _: &tracing_core::span::Id) {}
        fn event(&self, event: &tracing_core::Event<'_>) {
            let mut fields = self.0.lock().unwrap();
            event.record(&mut Visit(&mut fields));
        }
        fn enter(&self, _: &tracing_core::span::Id) {}
        fn exit(&self, _: &tracing_core::span::Id) {}
    }

    /// A plugin's field named as one the host sets is kept, under `plugin.NAME`, not
    /// written twice under one name.
    #[test]
    fn a_plugin_field_named_as_the_hosts_own_is_kept_apart() {
        let recorded = Fields::default();
        let fields = recorded.0.clone();
        let dispatch = tracing_core::Dispatch::new(recorded);
        tracing_core::dispatcher::with_default(&dispatch, || {
            let log = TracingLog {
                operator: "strict".to_owned(),
                instance: 7,
            };
            log.event(LogEvent {
                level: level::INFO,
                target: "strict".to_owned(),
                file: None,
                line: 0,
                message: "checked".to_owned(),
                fields: vec![
                    ("operator".to_owned(), FieldValue::Str("mine".to_owned())),
                    ("rows".to_owned(), FieldValue::U64(3)),
                ],
            });
        });
        let fields = fields.lock().unwrap().clone();
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["message", "operator", "instance", "plugin.operator", "rows"]
        );
        assert_eq!(fields[1].1, "\"strict\"");
        assert_eq!(fields[3].1, "\"mine\"");
    }

    /// An event the plugin logged with fields and no message (`info!(rows = 3)`) arrives
    /// without a `message` field, as the same event made in the host would, not with an
    /// empty one (which `fmt` prints as a blank before the fields).
    #[test]
    fn an_event_without_a_message_has_no_message_field() {
        let recorded = Fields::default();
        let fields = recorded.0.clone();
        let dispatch = tracing_core::Dispatch::new(recorded);
        tracing_core::dispatcher::with_default(&dispatch, || {
            let log = TracingLog {
                operator: "quiet".to_owned(),
                instance: 2,
            };
            log.event(LogEvent {
                level: level::INFO,
                target: "quiet".to_owned(),
                file: None,
                line: 0,
                message: String::new(),
                fields: vec![("rows".to_owned(), FieldValue::U64(3))],
            });
        });
        let fields = fields.lock().unwrap().clone();
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["operator", "instance", "rows"]);
    }

    /// Counts what a subscriber is told of spans, and can refuse them.
    #[derive(Clone, Default)]
    struct SpanCounts {
        refuse: bool,
        counts: Arc<Mutex<(usize, usize)>>,
    }

    impl tracing_core::Subscriber for SpanCounts {
        fn enabled(&self, metadata: &tracing_core::Metadata<'_>) -> bool {
            !(self.refuse && metadata.is_span())
        }
        fn new_span(&self, _: &tracing_core::span::Attributes<'_>) -> tracing_core::span::Id {
            let mut counts = self.counts.lock().unwrap();
            counts.0 += 1;
            tracing_core::span::Id::from_u64(counts.0 as u64)
        }
        fn record(&self, _: &tracing_core::span::Id, _: &tracing_core::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing_core::span::Id, _: &tracing_core::span::Id) {}
        fn event(&self, _: &tracing_core::Event<'_>) {}
        fn enter(&self, _: &tracing_core::span::Id) {}
        fn exit(&self, _: &tracing_core::span::Id) {}
        fn try_close(&self, _: tracing_core::span::Id) -> bool {
            self.counts.lock().unwrap().1 += 1;
            true
        }
    }

    fn span(name: &str) -> oplink::services::LogSpan {
        oplink::services::LogSpan {
            level: level::INFO,
            name: name.to_owned(),
            target: "t".to_owned(),
            file: None,
            line: 0,
            fields: vec![("rows".to_owned(), Some(FieldValue::U64(2)))],
        }
    }

    /// What an instance opened and the plugin never closed (a span dropped on a thread the
    /// operator spawned, say) is closed when the instance's service goes; another
    /// instance's spans stay open.
    #[test]
    fn spans_an_instance_left_open_are_closed_when_it_goes() {
        use oplink::services::Spans;

        let subscriber = SpanCounts::default();
        let counts = subscriber.counts.clone();
        let dispatch = tracing_core::Dispatch::new(subscriber);
        tracing_core::dispatcher::with_default(&dispatch, || {
            let first = super::TracingSpans::new("a", 1);
            let second = super::TracingSpans::new("b", 1);
            let closed = first.open(span("closed"));
            let left = first.open(span("left"));
            let others = second.open(span("others"));
            assert!(closed > 0 && left > 0 && others > 0);
            assert_eq!(
                std::collections::BTreeSet::from([closed, left, others]).len(),
                3
            );
            first.close(closed);
            assert_eq!(*counts.lock().unwrap(), (3, 1));
            // Keys the host does not know (closed already, or never opened) are ignored.
            first.close(closed);
            first.enter(closed);
            first.record(u64::MAX, oplink::services::LogFields(Vec::new()));
            assert_eq!(*counts.lock().unwrap(), (3, 1));
            drop(first);
            assert_eq!(
                *counts.lock().unwrap(),
                (3, 2),
                "`left` closed with its instance"
            );
            second.close(others);
            assert_eq!(*counts.lock().unwrap(), (3, 3));
        });
    }

    /// A span the host's subscriber does not want is not opened: key 0, and nothing kept.
    #[test]
    fn a_span_the_subscriber_refuses_gets_key_zero() {
        use oplink::services::Spans;

        let subscriber = SpanCounts {
            refuse: true,
            ..SpanCounts::default()
        };
        let counts = subscriber.counts.clone();
        let dispatch = tracing_core::Dispatch::new(subscriber);
        tracing_core::dispatcher::with_default(&dispatch, || {
            let spans = super::TracingSpans::new("a", 1);
            assert_eq!(spans.open(span("refused")), 0);
        });
        assert_eq!(*counts.lock().unwrap(), (0, 0));
    }

    fn shape(target: &str, level: u8) -> super::Shape {
        super::Shape {
            span: None,
            level,
            target: target.to_owned(),
            file: None,
            line: 0,
            fields: vec!["rows".to_owned()],
        }
    }

    /// Past the limit, new shapes share one site per kind and level (levels past `TRACE`
    /// are `TRACE`), and the shapes made before keep theirs.
    #[test]
    fn call_sites_past_the_limit_are_folded() {
        use super::Site;

        let mut sites = super::Sites::new(2);
        let Site::Exact(a) = sites.site(shape("a", level::INFO)) else {
            panic!("the first shape has a site of its own")
        };
        assert!(matches!(sites.site(shape("b", 6)), Site::Exact(_)));
        let Site::Folded(folded) = sites.site(shape("c", level::INFO)) else {
            panic!("a third shape is folded")
        };
        let Site::Folded(again) = sites.site(shape("d", level::INFO)) else {
            panic!("a fourth shape is folded")
        };
        assert!(
            std::ptr::eq(folded, again),
            "one folded site per kind and level"
        );
        assert!(
            matches!(sites.site(shape("a", level::INFO)), Site::Exact(s) if std::ptr::eq(s, a))
        );
        assert!(
            matches!(sites.site(shape("b", level::TRACE)), Site::Exact(_)),
            "level 6 is TRACE"
        );
        let Site::Folded(trace) = sites.site(shape("e", 200)) else {
            panic!("folded")
        };
        assert!(
            !std::ptr::eq(trace, folded),
            "another level, another folded site"
        );
        assert_eq!(sites.exact.len(), 2);
    }

    /// An event at a folded site keeps its target and fields, as text.
    #[test]
    fn an_event_at_a_folded_site_carries_its_target_and_fields() {
        let recorded = Fields::default();
        let fields = recorded.0.clone();
        let dispatch = tracing_core::Dispatch::new(recorded);
        let mut sites = super::Sites::new(0);
        let event = LogEvent {
            level: level::WARN,
            target: "orders_eu".to_owned(),
            file: None,
            line: 0,
            message: "late".to_owned(),
            fields: vec![
                ("rows".to_owned(), FieldValue::U64(3)),
                ("table".to_owned(), FieldValue::Str("eu".to_owned())),
            ],
        };
        let site = sites.site(shape("orders_eu", level::WARN));
        assert!(matches!(site, super::Site::Folded(_)));
        tracing_core::dispatcher::with_default(&dispatch, || {
            super::emit_at(site, "c_op", 4, &event);
        });
        let fields = fields.lock().unwrap().clone();
        assert_eq!(
            fields,
            [
                ("message".to_owned(), "late".to_owned()),
                ("operator".to_owned(), "\"c_op\"".to_owned()),
                ("instance".to_owned(), "4".to_owned()),
                ("plugin.target".to_owned(), "\"orders_eu\"".to_owned()),
                (
                    "plugin.fields".to_owned(),
                    "\"rows=3 table=\\\"eu\\\"\"".to_owned()
                ),
            ]
        );
    }
}
