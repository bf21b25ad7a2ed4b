//! The host side of the `Log` service: each plugin event is re-emitted into the host's
//! `tracing` subscriber at its level and with its target, file and line, carrying the
//! fields `operator`, `instance` and `message` plus every field the plugin wrote (one the
//! plugin named `operator`, `instance` or `message` as `plugin.operator` and so on).
//!
//! `tracing` wants `'static` metadata per call site; a plugin's events arrive as data, so
//! each distinct shape (level, target, location, field names) gets one call site made at
//! run time, registered once and kept for the life of the process. Plugins have a fixed
//! set of event sites, so this set stays small.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use oplink::services::{FieldValue, Log, LogEvent, level};
use tracing_core::callsite::{Callsite, register};
use tracing_core::field::{FieldSet, Value};
use tracing_core::metadata::Kind;
use tracing_core::subscriber::Interest;
use tracing_core::{Event, Level, LevelFilter, Metadata, dispatcher, identify_callsite};

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
    fn set_interest(&self, _: Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        self.metadata
            .get()
            .expect("a dynamic call site is registered only after its metadata is set")
    }
}

#[derive(Hash, PartialEq, Eq)]
struct Shape {
    level: u8,
    target: String,
    file: Option<String>,
    line: u32,
    fields: Vec<String>,
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

fn callsite(shape: Shape) -> &'static DynamicCallsite {
    static SITES: OnceLock<Mutex<HashMap<Shape, &'static DynamicCallsite>>> = OnceLock::new();
    let mut sites = SITES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(site) = sites.get(&shape) {
        return site;
    }
    let site: &'static DynamicCallsite = Box::leak(Box::new(DynamicCallsite {
        metadata: OnceLock::new(),
    }));
    let mut names: Vec<&'static str> = OWN_FIELDS.to_vec();
    names.extend(shape.fields.iter().map(|name| leak(&field_name(name))));
    let level = level::to_tracing(shape.level).unwrap_or(Level::TRACE);
    let metadata = Metadata::new(
        "event from a plugin",
        leak(&shape.target),
        level,
        shape.file.as_deref().map(leak),
        Some(shape.line).filter(|&l| l > 0),
        None,
        FieldSet::new(
            Box::leak(names.into_boxed_slice()),
            identify_callsite!(site),
        ),
        Kind::EVENT,
    );
    let _ = site.metadata.set(metadata);
    register(site);
    sites.insert(shape, site);
    site
}

/// The fields the host gives every event from a plugin.
const OWN_FIELDS: [&str; 3] = ["message", "operator", "instance"];

/// The name a plugin's field goes by in the host's event: its own, unless it is one of
/// [`OWN_FIELDS`], which it would repeat (`operator` becomes `plugin.operator`).
fn field_name(name: &str) -> String {
    if OWN_FIELDS.contains(&name) {
        format!("plugin.{name}")
    } else {
        name.to_owned()
    }
}

fn emit(operator: &str, instance: u64, event: &LogEvent) {
    let site = callsite(Shape {
        level: event.level,
        target: event.target.clone(),
        file: event.file.clone(),
        line: event.line,
        fields: event.fields.iter().map(|(name, _)| name.clone()).collect(),
    });
    let metadata = site.metadata();
    if !dispatcher::get_default(|d| d.enabled(metadata)) {
        return;
    }
    let message = format_args!("{}", event.message);
    let mut values: Vec<Option<&dyn Value>> =
        vec![Some(&message), Some(&operator), Some(&instance)];
    values.extend(event.fields.iter().map(|(_, value)| {
        Some(match value {
            FieldValue::I64(v) => v as &dyn Value,
            FieldValue::U64(v) => v as &dyn Value,
            FieldValue::F64(v) => v as &dyn Value,
            FieldValue::Bool(v) => v as &dyn Value,
            FieldValue::Str(v) => v as &dyn Value,
        })
    }));
    let fields = metadata.fields();
    Event::dispatch(metadata, &fields.value_set_all(&values));
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
}
