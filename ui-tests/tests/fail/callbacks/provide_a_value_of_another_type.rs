use std::sync::Arc;

use oplink::service::{Implementation, Service};

#[oplink::host_callbacks]
pub trait Catalog {
    fn tier(&self, customer: &str) -> u32;
}

struct NotACatalog;

/// What `oplink_host::HostBuilder::provide` asks of its argument.
fn provide<S: Service + ?Sized>(_implementation: Arc<impl Implementation<S> + ?Sized>) {}

fn main() {
    provide::<dyn Catalog>(Arc::new(NotACatalog));
}
