//! A thread an operator spawns logs as its instance through `ctx.log_handle()`, until the
//! instance goes. A test binary of its own: the plugin's worker thread reaches the host's
//! global subscriber (a scoped one is the test thread's only), which is set once here.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Captured, Visitor, insert, plugin_path};
use oplink_host::{Host, Plugin};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

/// Every event, with the names of the spans it is in (innermost first) as a field `spans`.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Captured>>>);

impl<S> tracing_subscriber::Layer<S> for Events
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Vec::new();
        event.record(&mut Visitor(&mut fields));
        let spans: Vec<String> = ctx
            .event_scope(event)
            .map(|scope| scope.map(|span| span.name().to_owned()).collect())
            .unwrap_or_default();
        fields.push(("spans".to_owned(), spans.join(",")));
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
}

#[test]
fn a_thread_the_operator_spawns_logs_as_its_instance_until_the_instance_goes() {
    let layer = Events::default();
    let events = layer.0.clone();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();
    let count = |message: &str| {
        let events = events.lock().unwrap();
        events
            .iter()
            .filter(|e| e.field("message") == Some(message))
            .count()
    };
    let plugin = Plugin::load(plugin_path("enrich")).unwrap();
    let host = Host::default();

    // The worker logs once and `apply` waits for it: its event is the instance's.
    // `null` is no configuration: the defaults.
    let mut op = plugin
        .instantiate("background", json!(null), &host)
        .unwrap();
    op.apply(insert(1, &[1, 2])).unwrap();
    {
        let events = events.lock().unwrap();
        let event = events
            .iter()
            .find(|e| e.field("message") == Some("from the worker"))
            .unwrap_or_else(|| panic!("the worker's event reached the host: {events:?}"));
        assert_eq!(event.target, "enrich");
        assert_eq!(event.field("operator"), Some("background"));
        assert_eq!(event.field("instance"), Some(op.id().to_string().as_str()));
        assert_eq!(event.field("diffs"), Some("1"));
        assert_eq!(
            event.field("spans"),
            Some("worker"),
            "inside the worker's span"
        );
    }
    drop(op);

    // The worker goes on logging after `apply` returns, and after the instance goes: what
    // it logs then goes nowhere (the instance's tables are gone), and nothing crashes.
    let mut op = plugin
        .instantiate("background", json!({"keep_logging_ms": 300}), &host)
        .unwrap();
    op.apply(insert(1, &[1])).unwrap();
    let start = Instant::now();
    while count("still working") < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the worker's events reach the host while the instance is there"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(op);
    let at_drop = count("still working");
    assert!(at_drop < 300, "the instance went while the worker logged");
    // The worker logs for at most 300 ms more; the plugin stays loaded meanwhile.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        count("still working"),
        at_drop,
        "nothing after the instance went"
    );
    drop(plugin);
}
