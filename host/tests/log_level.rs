//! The level a plugin instance forwards is asked once, when the instance is created: one
//! created before any subscriber forwards nothing, a filter made more verbose reaches the
//! instances created after it, and one made less verbose takes effect at once. (Alone in
//! its test binary: it installs the process's global subscriber.)

mod common;

use std::sync::{Arc, Mutex};

use common::{plugin_path, rows};
use oplink::{Change, Diff, Timestamp};
use oplink_host::{Host, Instance, Plugin};
use serde_json::json;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

/// The messages of the plugin events that reached the subscriber.
#[derive(Clone, Default)]
struct Messages(Arc<Mutex<Vec<String>>>);

impl Messages {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Messages {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target().starts_with("oplink_host") {
            return;
        }
        let mut fields = Vec::new();
        event.record(&mut common::Visitor(&mut fields));
        if let Some((_, message)) = fields.into_iter().find(|(name, _)| name == "message") {
            self.0.lock().unwrap().push(message);
        }
    }
}

/// Only unknown customers: `enrich` logs the batch at `debug` and the unknown ones at `warn`.
fn unknown_customers() -> Change {
    Change::new(
        1,
        Timestamp(0),
        vec![Diff::Insert {
            post: rows(&[1], &["zed"], 0),
        }],
    )
}

struct NoOne;

impl services::Catalog for NoOne {
    fn tier(&self, _: &str) -> Option<String> {
        None
    }
    fn customers_in(&self, _: &str) -> oplink::Result<u64> {
        Ok(0)
    }
}

#[test]
fn an_instance_forwards_the_levels_wanted_when_it_was_created_and_no_finer() {
    let host = Host::builder()
        .provide::<dyn services::Catalog>(Arc::new(NoOne))
        .build();
    let plugin = Plugin::load(plugin_path("enrich")).unwrap();
    let create = || -> Instance {
        plugin
            .instantiate("enrich", json!({"customer_column": "customer"}), &host)
            .unwrap()
    };
    const DEBUG: &str = "enriched a batch";
    const WARN: &str = "customers missing from the catalog";

    // Created before any subscriber.
    let mut before = create();

    let messages = Messages::default();
    let (filter, level) = tracing_subscriber::reload::Layer::new(LevelFilter::WARN);
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(messages.clone());
    tracing::subscriber::set_global_default(subscriber).unwrap();

    before.apply(unknown_customers()).unwrap();
    assert_eq!(
        messages.take(),
        Vec::<String>::new(),
        "not even its warnings"
    );

    let mut at_warn = create();
    at_warn.apply(unknown_customers()).unwrap();
    assert_eq!(messages.take(), [WARN]);

    // More verbose: only the instances created after it.
    level.reload(LevelFilter::DEBUG).unwrap();
    at_warn.apply(unknown_customers()).unwrap();
    assert_eq!(messages.take(), [WARN]);
    let mut at_debug = create();
    at_debug.apply(unknown_customers()).unwrap();
    assert_eq!(messages.take(), [DEBUG, WARN]);

    // Less verbose: at once, for every instance.
    level.reload(LevelFilter::ERROR).unwrap();
    at_debug.apply(unknown_customers()).unwrap();
    at_warn.apply(unknown_customers()).unwrap();
    assert_eq!(messages.take(), Vec::<String>::new());
}
