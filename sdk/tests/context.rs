//! `Context` in a unit test, as an operator's author meets it.

use std::sync::Arc;

use oplink::Context;

mod sales {
    #[oplink::host_callbacks]
    pub trait Catalog {
        fn tier(&self, customer: &str) -> Option<String>;
    }
}

mod books {
    #[oplink::host_callbacks]
    pub trait Catalog {
        fn title(&self, isbn: u64) -> String;
    }
}

struct Tiers;

impl sales::Catalog for Tiers {
    fn tier(&self, _: &str) -> Option<String> {
        Some("gold".into())
    }
}

#[test]
fn two_services_of_one_name_are_told_apart_by_type() {
    let ctx = Context::new("shop").with_service::<dyn sales::Catalog>(Arc::new(Tiers));
    assert_eq!(
        ctx.service::<dyn sales::Catalog>().unwrap().tier("ann"),
        Some("gold".into())
    );
    let err = ctx.service::<dyn books::Catalog>().err().unwrap();
    assert_eq!(
        err.message(),
        "service `Catalog` of operator `shop` has another type than the one asked for"
    );
    // Located at this line (the caller's), not inside oplink.
    assert_eq!(err.location().map(|at| at.file()), Some(file!()));

    let err = Context::new("shop")
        .service::<dyn books::Catalog>()
        .err()
        .unwrap();
    assert_eq!(
        err.message(),
        "operator `shop` has no service `Catalog` here (in a unit test, add it with `Context::with_service`)"
    );
}
