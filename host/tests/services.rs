//! Host services through real loaded libraries: every type of the vocabulary both ways,
//! failures of host code reaching the plugin as errors, requirements checked at
//! `instantiate`, and plugin `tracing` events arriving in the host's subscriber.

mod common;

use std::sync::Arc;

use common::{Recorder, Visitor, insert, plugin_path, rows};
use oplink::Diff;
use oplink::arrow::array::{Array, StringArray};
use oplink_host::{Error, Host, Plugin};
use serde_json::json;
use services::{Catalog, Echo, EchoBack};

struct Customers;

impl Catalog for Customers {
    fn tier(&self, customer: &str) -> Option<String> {
        match customer {
            "ada" => Some("gold".into()),
            "bob" => Some("silver".into()),
            _ => None,
        }
    }
    fn customers_in(&self, region: &str) -> oplink::Result<u64> {
        match region {
            "eu" => Ok(2),
            other => Err(oplink::Error::msg(format!("no region `{other}`"))),
        }
    }
}

fn echo_host() -> Host {
    Host::builder()
        .provide::<dyn Echo>(Arc::new(EchoBack))
        .build()
}

fn plugin() -> Plugin {
    Plugin::load(plugin_path("enrich")).unwrap()
}

#[test]
fn the_descriptor_lists_required_services() {
    let plugin = plugin();
    let enrich = plugin.operator("enrich").unwrap();
    let names: Vec<&str> = enrich.requires().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["oplink.Log", "oplink.State", "oplink.Clock", "Catalog"]
    );
    let catalog = &enrich.requires()[3];
    let signatures: Vec<&str> = catalog
        .methods
        .iter()
        .map(|m| m.signature.as_str())
        .collect();
    assert_eq!(
        signatures,
        [
            "fn tier(&self, customer: &str) -> Option<String>",
            "fn customers_in(&self, region: &str) -> Result<u64>",
        ]
    );
    assert_eq!(
        catalog.fingerprint,
        <dyn Catalog as oplink::service::Service>::FINGERPRINT
    );
    let undeclared = plugin.operator("undeclared").unwrap().requires();
    assert_eq!(undeclared.len(), 3, "only the standard services");
}

#[test]
fn every_type_of_the_vocabulary_round_trips_both_ways() {
    let mut op = plugin()
        .instantiate("echo", json!({}), &echo_host())
        .unwrap();
    let input = insert(1, &[1, 2, 3]);
    // The plugin checks every value that comes back and fails naming the type otherwise.
    let output = op.apply(input.clone()).unwrap();
    assert_eq!(output, input);
}

/// The README: a service is lent for the call, and threads the operator spawns inside it
/// (`std::thread::scope`) call it as the call's own thread does.
#[test]
fn threads_spawned_inside_a_call_reach_the_service() {
    let mut op = plugin()
        .instantiate("echo", json!({"call": "on_threads"}), &echo_host())
        .unwrap();
    let input = insert(1, &[1, 2, 3]);
    assert_eq!(op.apply(input.clone()).unwrap(), input);
}

#[test]
fn an_err_in_host_code_reaches_the_plugin_as_an_err() {
    let host = echo_host();
    let mut op = plugin()
        .instantiate("echo", json!({"call": "fail"}), &host)
        .unwrap();
    let err = op.apply(insert(1, &[1])).unwrap_err();
    let Error::Failed { location, .. } = &err else {
        panic!("{err:?}")
    };
    // The error was made by the host, not by a line of the plugin: no location, rather
    // than one inside oplink.
    assert_eq!(location, &None);
    assert_eq!(
        err.to_string(),
        "operator `echo` failed in `apply`: the host says no"
    );
    // The instance and the host go on.
    assert!(!op.is_poisoned());
    let mut fine = plugin().instantiate("echo", json!({}), &host).unwrap();
    fine.apply(insert(2, &[2])).unwrap();
}

#[test]
fn a_panic_in_host_code_reaches_the_plugin_as_an_err() {
    let host = echo_host();
    let mut op = plugin()
        .instantiate("echo", json!({"call": "panic"}), &host)
        .unwrap();
    let err = op.apply(insert(1, &[1])).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Failed { .. }), "{err:?}");
    assert!(
        text.starts_with("operator `echo` failed in `apply`: the host panicked in `Echo::panic` at examples/services/src/lib.rs:"),
        "{text}"
    );
    assert!(text.contains(": the host fell over"), "{text}");
    assert!(!op.is_poisoned());
    let mut fine = plugin().instantiate("echo", json!({}), &host).unwrap();
    fine.apply(insert(2, &[2])).unwrap();
}

#[test]
fn a_panic_in_a_host_method_without_result_fails_the_call_as_a_panic() {
    let mut op = plugin()
        .instantiate("echo", json!({"call": "panic_plain"}), &echo_host())
        .unwrap();
    let err = op.apply(insert(1, &[1])).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Panicked { .. }), "{err:?}");
    assert!(
        text.starts_with("operator `echo` panicked in `apply`: host service call `Echo::panic_plain` failed and the method has no `Result` to report it (declared returning `Result` in the service's trait, it would get an `Err` instead of a panic): the host panicked in `Echo::panic_plain` at examples/services/src/lib.rs:"),
        "{text}"
    );
    // The host's line is in the message; the failure itself has no location (oplink's own
    // line would be all there is to give).
    let Error::Panicked { location, .. } = &err else {
        unreachable!()
    };
    assert_eq!(location, &None, "{text}");
    assert!(!text.contains("sdk/src"), "{text}");
    assert!(op.is_poisoned());
}

#[test]
fn a_missing_service_is_rejected_at_instantiate() {
    let err = plugin()
        .instantiate(
            "enrich",
            json!({"customer_column": "customer"}),
            &echo_host(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::MissingService { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "operator `enrich` requires the host service `Catalog`, which this host does not provide (it provides `Echo` besides the standard services); add it with `Host::builder().provide::<dyn Catalog>(..)`"
    );
    let err = plugin()
        .instantiate(
            "enrich",
            json!({"customer_column": "customer"}),
            &Host::default(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "operator `enrich` requires the host service `Catalog`, which this host does not provide (it provides only the standard services `oplink.Log`, `oplink.State`, `oplink.Clock` and `oplink.Spans`); add it with `Host::builder().provide::<dyn Catalog>(..)`"
    );
    // A service named otherwise than its trait is named by the trait's Rust path.
    let err = plugin()
        .instantiate(
            "lookup",
            json!({"column": "customer", "table": "tiers", "into": "tier"}),
            &Host::default(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "operator `lookup` requires the host service `oplink.Lookup`, which this host does not provide (it provides only the standard services `oplink.Log`, `oplink.State`, `oplink.Clock` and `oplink.Spans`); add it with `Host::builder().provide::<dyn oplink::services::Lookup>(..)`"
    );
}

/// A host built against another version of the catalog: `customers_in` returns `i64`.
mod other_version {
    #[oplink::host_callbacks(name = "Catalog")]
    pub trait Catalog {
        fn tier(&self, customer: &str) -> Option<String>;
        fn customers_in(&self, region: &str) -> oplink::Result<i64>;
    }

    pub struct Old;

    impl Catalog for Old {
        fn tier(&self, _: &str) -> Option<String> {
            None
        }
        fn customers_in(&self, _: &str) -> oplink::Result<i64> {
            Ok(0)
        }
    }
}

#[test]
fn a_mismatched_service_is_rejected_at_instantiate_naming_the_method() {
    let host = Host::builder()
        .provide::<dyn other_version::Catalog>(Arc::new(other_version::Old))
        .build();
    let err = plugin()
        .instantiate("enrich", json!({"customer_column": "customer"}), &host)
        .unwrap_err();
    assert!(matches!(err, Error::ServiceMismatch { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "operator `enrich` was built against another version of the host service `Catalog`: method `customers_in` differs: the plugin expects `fn customers_in(&self, region: &str) -> Result<u64>`, the host has `fn customers_in(&self, region: &str) -> Result<i64>`; build the plugin and the host against one version of the service's trait (a host's may have more methods, appended at the end, than the plugin's)"
    );
}

#[test]
fn asking_for_an_undeclared_service_is_an_err_not_a_crash() {
    let host = Host::builder()
        .provide::<dyn Catalog>(Arc::new(Customers))
        .build();
    let mut op = plugin()
        .instantiate("undeclared", json!(null), &host)
        .unwrap();
    let err = op.apply(insert(1, &[1])).unwrap_err();
    let Error::Failed { location, .. } = &err else {
        panic!("{err:?}")
    };
    // Located at the operator's call of `ctx.service`, not inside oplink.
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.starts_with("examples/enrich/src/lib.rs:")),
        "{location:?}"
    );
    assert!(
        err.to_string().starts_with(
            "operator `undeclared` failed in `apply`: the service `Catalog` is not in this operator's `requires`: add it to `#[operator(requires = [..])]` (at examples/enrich/src/lib.rs:"
        ),
        "{err}"
    );
    assert!(!op.is_poisoned());
}

#[test]
fn enrich_calls_the_catalog_keeps_state_per_instance_and_logs_into_the_host() {
    let recorder = Recorder::default();
    let events = recorder.0.clone();
    tracing::subscriber::with_default(recorder, || {
        let host = Host::builder()
            .provide::<dyn Catalog>(Arc::new(Customers))
            .build();
        let plugin = plugin();
        let config = json!({"customer_column": "customer"});
        let mut first = plugin.instantiate("enrich", &config, &host).unwrap();
        let mut second = plugin.instantiate("enrich", &config, &host).unwrap();

        let change = oplink::Change::new(
            1,
            oplink::Timestamp(0),
            vec![Diff::Insert {
                post: rows(&[1, 2, 3], &["ada", "bob", "eve"], 0),
            }],
        );
        let out = first.apply(change).unwrap();
        let Diff::Insert { post } = &out.diffs[0] else {
            panic!("expected an insert")
        };
        let tiers = post
            .batch()
            .column_by_name("tier")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .iter()
            .map(|t| t.map(str::to_owned))
            .collect::<Vec<_>>();
        assert_eq!(
            tiers,
            [Some("gold".to_owned()), Some("silver".to_owned()), None]
        );
        second
            .apply(oplink::Change::new(
                1,
                oplink::Timestamp(0),
                vec![Diff::Insert {
                    post: rows(&[1], &["ada"], 0),
                }],
            ))
            .unwrap();
        first.flush_state().unwrap();
        second.flush_state().unwrap();

        let events = events.lock().unwrap().clone();
        let warn = events
            .iter()
            .find(|e| e.level == tracing::Level::WARN)
            .expect("the warning about unknown customers");
        assert_eq!(warn.target, "enrich");
        assert_eq!(
            warn.field("message"),
            Some("customers missing from the catalog")
        );
        assert_eq!(warn.field("operator"), Some("enrich"));
        assert_eq!(
            warn.field("instance"),
            Some(first.id().to_string().as_str())
        );
        assert_eq!(warn.field("unknown"), Some("1"));
        assert_eq!(warn.field("column"), Some("customer"));

        // State is per instance: the first saw three customers, the second one.
        let flushed: Vec<(String, String)> = events
            .iter()
            .filter(|e| e.field("message") == Some("flushed"))
            .map(|e| {
                (
                    e.field("instance").unwrap().to_owned(),
                    e.field("seen").unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            flushed,
            [
                (first.id().to_string(), "3".to_owned()),
                (second.id().to_string(), "1".to_owned())
            ]
        );
        assert!(
            events
                .iter()
                .any(|e| e.level == tracing::Level::DEBUG && e.field("rows") == Some("3")),
            "{events:?}"
        );
    });
}

/// What a `tracing` subscriber of the host saw of spans and events: each span's name, parent,
/// fields (as opened and recorded), entries and close, and each event's span scope.
#[derive(Clone, Default)]
struct SpanLog(Arc<std::sync::Mutex<Seen>>);

#[derive(Default, Debug)]
struct Seen {
    spans: Vec<SeenSpan>,
    /// Each event's message and the names of the spans it is in, innermost first.
    events: Vec<(String, Vec<String>)>,
}

#[derive(Debug)]
struct SeenSpan {
    id: u64,
    name: String,
    parent: Option<String>,
    fields: Vec<(String, String)>,
    entered: usize,
    exited: usize,
    closed: bool,
}

impl SpanLog {
    fn with_span(&self, id: &tracing::span::Id, f: impl FnOnce(&mut SeenSpan)) {
        let mut seen = self.0.lock().unwrap();
        let span = seen.spans.iter_mut().rev().find(|s| s.id == id.into_u64());
        f(span.expect("a span the subscriber opened"));
    }
}

impl<S> tracing_subscriber::Layer<S> for SpanLog
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attributes: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Vec::new();
        attributes.record(&mut Visitor(&mut fields));
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .map(|parent| parent.name().to_owned());
        self.0.lock().unwrap().spans.push(SeenSpan {
            id: id.into_u64(),
            name: attributes.metadata().name().to_owned(),
            parent,
            fields,
            entered: 0,
            exited: 0,
            closed: false,
        });
    }
    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        self.with_span(id, |span| values.record(&mut Visitor(&mut span.fields)));
    }
    fn on_enter(&self, id: &tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
        self.with_span(id, |span| span.entered += 1);
    }
    fn on_exit(&self, id: &tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
        self.with_span(id, |span| span.exited += 1);
    }
    fn on_close(&self, id: tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
        self.with_span(&id, |span| span.closed = true);
    }
    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Vec::new();
        event.record(&mut Visitor(&mut fields));
        let message = fields
            .into_iter()
            .find(|(name, _)| name == "message")
            .map_or_else(String::new, |(_, m)| m);
        let scope = ctx
            .event_scope(event)
            .map(|scope| scope.map(|span| span.name().to_owned()).collect())
            .unwrap_or_default();
        self.0.lock().unwrap().events.push((message, scope));
    }
}

#[test]
fn a_plugins_spans_are_spans_of_the_hosts_subscriber_with_its_events_inside() {
    use tracing_subscriber::layer::SubscriberExt;

    let log = SpanLog::default();
    let subscriber = tracing_subscriber::registry().with(log.clone());
    let instance = tracing::subscriber::with_default(subscriber, || {
        let host = Host::builder()
            .provide::<dyn Catalog>(Arc::new(Customers))
            .build();
        let plugin = plugin();
        let config = json!({"customer_column": "customer"});
        let mut op = plugin.instantiate("enrich", &config, &host).unwrap();
        let change = oplink::Change::new(
            1,
            oplink::Timestamp(0),
            vec![Diff::Insert {
                post: rows(&[1, 2], &["ada", "eve"], 0),
            }],
        );
        tracing::info_span!("engine_batch", batch = 7)
            .in_scope(|| op.apply(change))
            .unwrap();
        op.flush_state().unwrap();
        op.id()
    });

    let seen = log.0.lock().unwrap();
    let plugin_spans: Vec<&SeenSpan> = seen
        .spans
        .iter()
        .filter(|s| s.name == "enrich_rows")
        .collect();
    assert_eq!(plugin_spans.len(), 1, "{seen:?}");
    let span = plugin_spans[0];
    assert_eq!(
        span.parent.as_deref(),
        Some("engine_batch"),
        "inside the host's span of the call"
    );
    let fields: Vec<(&str, &str)> = span
        .fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let instance = instance.to_string();
    assert_eq!(
        fields,
        [
            ("operator", "enrich"),
            ("instance", instance.as_str()),
            ("column", "customer"),
            ("unknown", "1"),
        ],
        "the fields given at the opening, then the one recorded later"
    );
    assert_eq!((span.entered, span.exited), (1, 1));
    assert!(span.closed, "closed when the plugin dropped it");

    let scope_of = |message: &str| {
        seen.events
            .iter()
            .find(|(m, _)| m == message)
            .map(|(_, scope)| scope.clone())
            .unwrap_or_else(|| panic!("no event `{message}` in {seen:?}"))
    };
    assert_eq!(
        scope_of("customers missing from the catalog"),
        ["enrich_rows", "engine_batch"]
    );
    assert_eq!(
        scope_of("flushed"),
        Vec::<String>::new(),
        "outside any span"
    );
}

/// A plugin span entered in a call and never exited there (its guard forgotten) is exited
/// in the host when the call returns: the host's events after the call are not inside it,
/// and the next call's span is not opened inside the last one's.
#[test]
fn a_plugin_span_left_entered_is_exited_in_the_host_when_the_call_returns() {
    use tracing_subscriber::layer::SubscriberExt;

    let log = SpanLog::default();
    let subscriber = tracing_subscriber::registry().with(log.clone());
    tracing::subscriber::with_default(subscriber, || {
        let host = Host::default();
        let mut op = plugin()
            .instantiate("strays", json!({"mode": "forget"}), &host)
            .unwrap();
        for version in 1..=2 {
            tracing::info_span!("engine_batch", batch = version)
                .in_scope(|| op.apply(insert(version, &[1])))
                .unwrap();
            assert!(
                tracing::Span::current().is_none(),
                "the host is in no span after the call"
            );
            tracing::info!("the engine goes on");
        }
        drop(op);
        tracing::info!("the engine dropped it");
    });

    let seen = log.0.lock().unwrap();
    let strays: Vec<&SeenSpan> = seen.spans.iter().filter(|s| s.name == "stray").collect();
    assert_eq!(strays.len(), 2, "{seen:?}");
    for span in strays {
        assert_eq!(span.parent.as_deref(), Some("engine_batch"), "{seen:?}");
        assert_eq!((span.entered, span.exited), (1, 1), "{seen:?}");
        assert!(span.closed, "closed with the instance");
    }
    for (message, scope) in &seen.events {
        let expected: &[&str] = match message.as_str() {
            "inside the stray span" => &["stray", "engine_batch"],
            "the engine goes on" | "the engine dropped it" => &[],
            _ => continue,
        };
        assert_eq!(scope, expected, "`{message}` in {seen:?}");
    }
}

/// A plugin span dropped on a thread the operator spawned, outside any call, is closed in
/// the host by the time the plugin opens its next span in a call, not only when the
/// instance goes: a long-lived instance that hands each call's span to a thread of its own
/// does not keep them all open.
#[test]
fn a_plugin_span_dropped_on_its_own_thread_is_closed_before_the_instance_goes() {
    use tracing_subscriber::layer::SubscriberExt;

    let log = SpanLog::default();
    let subscriber = tracing_subscriber::registry().with(log.clone());
    tracing::subscriber::with_default(subscriber, || {
        let host = Host::default();
        let mut op = plugin()
            .instantiate("strays", json!({"mode": "thread"}), &host)
            .unwrap();
        for version in 1..=5 {
            op.apply(insert(version, &[1])).unwrap();
        }
        let (opened, open) = {
            let seen = log.0.lock().unwrap();
            let open = seen.spans.iter().filter(|s| !s.closed).count();
            (seen.spans.len(), open)
        };
        // The last call's may be closed too: the library is shared with the other tests of
        // this process, and any instance's next span (theirs included) sends it.
        assert_eq!(opened, 5);
        assert!(open <= 1, "at most the last call's is open, not {open}");
        drop(op);
    });
    let seen = log.0.lock().unwrap();
    assert!(seen.spans.iter().all(|s| s.closed), "{seen:?}");
}

#[test]
fn a_standard_service_listed_in_requires_is_provided_like_any_other() {
    let plugin = plugin();
    let counter = plugin.operator("counter").unwrap();
    let names: Vec<&str> = counter.requires().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["oplink.Log", "oplink.State", "oplink.Clock"],
        "listed once"
    );
    let mut op = plugin
        .instantiate("counter", json!(null), &Host::default())
        .unwrap();
    for version in 1..=3 {
        op.apply(insert(version, &[1])).unwrap();
    }
}

#[test]
fn an_operator_without_configuration_refuses_one() {
    let plugin = plugin();
    plugin
        .instantiate("counter", json!({}), &Host::default())
        .unwrap();
    let err = plugin
        .instantiate(
            "counter",
            json!({"customer_column": "customer"}),
            &Host::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid configuration for operator `counter`: unexpected key `customer_column`: the operator takes no configuration, since its `new` takes none (pass `null` or `{}`)"
    );
    let err = plugin
        .instantiate("counter", json!("enrich"), &Host::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration for operator `counter`: invalid type: string \"enrich\", expected no configuration (`null` or `{}`), since its `new` takes none"
    );
}

/// A service that calls back into the `LiveInstance` calling it gets an error naming the
/// operator and the method, not a thread waiting for itself forever.
#[test]
fn a_service_calling_back_into_its_own_live_instance_is_an_error_not_a_deadlock() {
    use oplink_host::LiveInstance;
    use std::sync::Mutex;
    #[derive(Default)]
    struct CallsBack {
        live: Mutex<Option<LiveInstance>>,
        said: Mutex<Vec<String>>,
    }
    impl Catalog for CallsBack {
        fn tier(&self, _customer: &str) -> Option<String> {
            let live = self
                .live
                .lock()
                .unwrap()
                .clone()
                .expect("set before the call");
            let again = oplink::Change::new(9, oplink::Timestamp(0), Vec::new());
            let said = match live.apply(again) {
                Ok(_) => "went through".to_owned(),
                Err(error) => error.to_string(),
            };
            self.said.lock().unwrap().push(said);
            None
        }
        fn customers_in(&self, _region: &str) -> oplink::Result<u64> {
            Ok(0)
        }
    }
    let service = Arc::new(CallsBack::default());
    let host = Host::builder()
        .provide::<dyn Catalog>(service.clone())
        .build();
    let live = LiveInstance::new(
        &plugin(),
        "enrich",
        json!({"customer_column": "customer"}),
        &host,
        None,
    )
    .unwrap();
    *service.live.lock().unwrap() = Some(live.clone());
    let change = oplink::Change::new(
        1,
        oplink::Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1], &["ada"], 0),
        }],
    );
    let (done, waited) = std::sync::mpsc::channel();
    let caller = live.clone();
    std::thread::spawn(move || done.send(caller.apply(change).map(|_| ())).unwrap());
    let outcome = waited
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the call came back");
    outcome.unwrap();
    assert_eq!(
        service.said.lock().unwrap().as_slice(),
        [
            "`LiveInstance::apply` was called on operator `enrich` from inside one of its own calls on this thread (a host service it called, calling back, or code inside `LiveInstance::with`): it is busy with that call, so this one would wait forever"
        ]
    );
    // Outside its calls the instance serves as before.
    assert_eq!(live.generation(), 1);
}

/// `reload_all` takes its instances so that it cannot deadlock with a host service that
/// calls one instance from inside a call of another (each thread then holds one and wants
/// the other): both finish, whichever instance `reload_all` would take first. An empty
/// list reloads nothing.
#[test]
fn reload_all_cannot_deadlock_with_a_service_calling_another_instance() {
    use oplink_host::{LiveInstance, reload_all};
    use std::sync::Mutex;
    use std::sync::mpsc::{Sender, channel};
    use std::time::Duration;
    /// Calls `other` from inside a call of the instance it serves, after telling the test
    /// it is inside and giving `reload_all` time to take what it can.
    #[derive(Default)]
    struct CallsOther {
        other: Mutex<Option<LiveInstance>>,
        inside: Mutex<Option<Sender<()>>>,
    }
    impl Catalog for CallsOther {
        fn tier(&self, _customer: &str) -> Option<String> {
            if let Some(inside) = self.inside.lock().unwrap().take() {
                inside.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(200));
            }
            let other = self.other.lock().unwrap().clone()?;
            other
                .apply(oplink::Change::new(2, oplink::Timestamp(0), Vec::new()))
                .ok()
                .map(|_| "called".to_owned())
        }
        fn customers_in(&self, _region: &str) -> oplink::Result<u64> {
            Ok(0)
        }
    }
    let plugin = plugin();
    assert_eq!(reload_all(Vec::<LiveInstance>::new(), &plugin).unwrap(), 0);
    for swapped in [false, true] {
        let service = Arc::new(CallsOther::default());
        let host = Host::builder()
            .provide::<dyn Catalog>(service.clone())
            .build();
        let config = json!({"customer_column": "customer"});
        let a = LiveInstance::new(&plugin, "enrich", &config, &host, None).unwrap();
        let b = LiveInstance::new(&plugin, "enrich", &config, &host, None).unwrap();
        // Which of the two `reload_all` takes first depends on their addresses: both ways.
        let (calling, called) = if swapped { (b, a) } else { (a, b) };
        *service.other.lock().unwrap() = Some(called.clone());
        let (inside, entered) = channel();
        *service.inside.lock().unwrap() = Some(inside);
        let (done, finished) = channel();
        let caller = calling.clone();
        let applied = done.clone();
        std::thread::spawn(move || {
            let change = oplink::Change::new(
                1,
                oplink::Timestamp(0),
                vec![Diff::Insert {
                    post: rows(&[1], &["ada"], 0),
                }],
            );
            applied
                .send(("apply", caller.apply(change).map(|_| ())))
                .unwrap();
        });
        entered.recv_timeout(Duration::from_secs(30)).unwrap();
        let both = [calling.clone(), called.clone()];
        let plugin = plugin.clone();
        std::thread::spawn(move || {
            done.send(("reload_all", reload_all(&both, &plugin).map(|_| ())))
                .unwrap();
        });
        for _ in 0..2 {
            let (what, outcome) = finished
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("deadlocked (swapped: {swapped})"));
            outcome.unwrap_or_else(|e| panic!("{what}: {e}"));
        }
        assert_eq!((calling.generation(), called.generation()), (2, 2));
    }
}

/// Two traits of one name (here `Catalog`, as the example's): a host that provides both
/// is told at once, rather than keeping the last and refusing operators that need the
/// other for a version they were not built against.
mod twin {
    #[oplink::host_callbacks]
    pub trait Catalog {
        fn size(&self) -> u64;
    }
}

struct Sized42;

impl twin::Catalog for Sized42 {
    fn size(&self) -> u64 {
        42
    }
}

#[test]
fn two_services_of_one_name_are_refused_when_provided() {
    let provided = std::panic::catch_unwind(|| {
        Host::builder()
            .provide::<dyn Catalog>(Arc::new(Customers))
            .provide::<dyn twin::Catalog>(Arc::new(Sized42))
    });
    let payload = provided.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert_eq!(
        message,
        "two services named `Catalog` were provided, `dyn services::Catalog` and `dyn services::twin::Catalog`, whose methods differ: two traits share the name, and an operator could reach only one; give one a name of its own with `#[oplink::host_callbacks(name = \"...\")]`"
    );
}

/// A standard service cannot be provided: the host's own would answer, and the value
/// given would never be reached (a fake clock, say). Said at once. (A trait of one's own
/// named as a standard service is refused by `#[host_callbacks]`: ui-tests'
/// `callbacks/standard_name`.)
#[test]
fn a_standard_service_cannot_be_provided() {
    struct Fixed;
    impl oplink::services::Clock for Fixed {
        fn now_nanos(&self) -> i64 {
            7
        }
    }
    let clock = std::panic::catch_unwind(|| {
        Host::builder().provide::<dyn oplink::services::Clock>(Arc::new(Fixed))
    });
    let payload = clock.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().unwrap(),
        "`dyn oplink::services::Clock` cannot be provided: `oplink.Clock` is a standard service, which every host provides itself (the instance's state, kept in the store given to `state_store`; the system clock; logs and spans to the host's `tracing` subscriber), so operators would never reach this value; remove this `provide`"
    );
}

/// The same service provided twice: the last one answers.
#[test]
fn the_same_service_provided_twice_keeps_the_last() {
    struct Platinum;
    impl Catalog for Platinum {
        fn tier(&self, _: &str) -> Option<String> {
            Some("platinum".into())
        }
        fn customers_in(&self, _: &str) -> oplink::Result<u64> {
            Ok(0)
        }
    }
    let tiers = |host: &Host| {
        let mut op = plugin()
            .instantiate("enrich", json!({"customer_column": "customer"}), host)
            .unwrap();
        let out = op
            .apply(oplink::Change::new(
                1,
                oplink::Timestamp(0),
                vec![Diff::Insert {
                    post: rows(&[1, 2], &["ada", "eve"], 0),
                }],
            ))
            .unwrap();
        let Diff::Insert { post } = &out.diffs[0] else {
            panic!("expected an insert")
        };
        let tier = post.batch().column_by_name("tier").unwrap();
        let tier = tier.as_any().downcast_ref::<StringArray>().unwrap();
        tier.iter()
            .map(|t| t.map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let platinum = Some("platinum".to_owned());
    let last = Host::builder()
        .provide::<dyn Catalog>(Arc::new(Customers))
        .provide::<dyn Catalog>(Arc::new(Platinum))
        .build();
    assert_eq!(tiers(&last), [platinum.clone(), platinum]);
    let last = Host::builder()
        .provide::<dyn Catalog>(Arc::new(Platinum))
        .provide::<dyn Catalog>(Arc::new(Customers))
        .build();
    assert_eq!(tiers(&last), [Some("gold".to_owned()), None]);
}
