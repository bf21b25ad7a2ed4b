#![deny(deprecated)]

use std::sync::Arc;

#[oplink::host_callbacks]
pub trait Catalog {
    /// Use `rows` instead.
    #[deprecated(note = "use `rows`")]
    fn row_count(&self, table: &str) -> u64;
    fn rows(&self, table: &str) -> u64;
}

struct Fixed;

impl Catalog for Fixed {
    fn row_count(&self, _: &str) -> u64 {
        1
    }
    fn rows(&self, _: &str) -> u64 {
        1
    }
}

fn main() {
    let catalog: Arc<dyn Catalog> = Arc::new(Fixed);
    // A caller of the deprecated method is warned (here: denied); the declaration is not.
    let _ = catalog.row_count("orders");
}
