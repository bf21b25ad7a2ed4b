//! UI tests of `#[oplink::operator]`: see `tests/ui.rs`, `tests/pass/` and `tests/fail/`.
