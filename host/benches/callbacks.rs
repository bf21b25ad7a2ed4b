//! The cost of one host-callback round trip (plugin -> host -> plugin) against a direct
//! in-process trait call, for a scalar (`Echo::u64`) and a 1 KiB string (`Echo::str`, which
//! returns an owned copy).
//!
//! Run with `cargo bench -p oplink-host --bench callbacks`. It builds the `enrich` example
//! in release mode first. Three ways, one run:
//!
//! * `direct`: `EchoBack` called through `&dyn Echo`, in-process: the baseline.
//! * `table_in_process`: the generated proxy calling the generated host thunks through the
//!   `#[repr(C)]` table, in one process: the ABI's own cost.
//! * `from_plugin`: the `echo` operator of the loaded `enrich` library making 1,000 calls
//!   into this host per `apply`; divan reports the time per call (items).

use std::sync::Arc;

use divan::{Bencher, counter::ItemsCount};
use oplink::service::{HostTableFor, Service};
use oplink_host::{Host, Plugin};
use serde_json::json;
use services::{Echo, EchoBack};

const CALLS: u64 = 1_000;

mod common;

fn main() {
    divan::main();
}

fn enrich() -> Plugin {
    common::release_plugin(&["enrich"], "enrich")
}

fn proxy() -> (oplink::service::HostTable, Arc<dyn Echo>) {
    // The table over the concrete type, as `HostBuilder::provide` makes it.
    let table = <dyn Echo as HostTableFor<EchoBack>>::__host_table_for(Arc::new(EchoBack));
    // SAFETY: the table was built just above for `dyn Echo` and outlives the proxy (both
    // are returned together and the proxy is dropped first by the callers).
    let proxy = unsafe { <dyn Echo>::__proxy(table.as_ptr()) }.unwrap();
    (table, proxy)
}

mod scalar {
    use super::*;

    #[divan::bench]
    fn direct(bencher: Bencher) {
        let echo: &dyn Echo = &EchoBack;
        let mut i = 0u64;
        bencher.bench_local(|| {
            i += 1;
            echo.u64(divan::black_box(i))
        });
    }

    #[divan::bench]
    fn table_in_process(bencher: Bencher) {
        let (_table, echo) = proxy();
        let mut i = 0u64;
        bencher.bench_local(|| {
            i += 1;
            echo.u64(divan::black_box(i))
        });
    }

    #[divan::bench]
    fn from_plugin(bencher: Bencher) {
        let host = Host::builder()
            .provide::<dyn Echo>(Arc::new(EchoBack))
            .build();
        let mut op = enrich()
            .instantiate("echo", json!({"call": "u64_loop", "times": CALLS}), &host)
            .unwrap();
        bencher
            .counter(ItemsCount::new(CALLS))
            .bench_local(|| op.apply(oplink::Change::default()).unwrap());
    }
}

mod string_1kib {
    use super::*;

    #[divan::bench]
    fn direct(bencher: Bencher) {
        let echo: &dyn Echo = &EchoBack;
        let text = "x".repeat(1024);
        bencher.bench_local(|| echo.str(divan::black_box(&text)));
    }

    #[divan::bench]
    fn table_in_process(bencher: Bencher) {
        let (_table, echo) = proxy();
        let text = "x".repeat(1024);
        bencher.bench_local(|| echo.str(divan::black_box(&text)));
    }

    #[divan::bench]
    fn from_plugin(bencher: Bencher) {
        let host = Host::builder()
            .provide::<dyn Echo>(Arc::new(EchoBack))
            .build();
        let mut op = enrich()
            .instantiate(
                "echo",
                json!({"call": "string_loop", "times": CALLS}),
                &host,
            )
            .unwrap();
        bencher
            .counter(ItemsCount::new(CALLS))
            .bench_local(|| op.apply(oplink::Change::default()).unwrap());
    }
}
