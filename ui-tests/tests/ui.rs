//! Compiles every case under `tests/pass/` (must build) and `tests/fail/` (must fail with
//! the message in the `.stderr` next to it). Regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test -p oplink-ui-tests`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
    t.compile_fail("tests/fail/*/*.rs");
}
