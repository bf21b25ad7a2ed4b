//! The guard around every call, as a plugin's code meets it: a panic in the author's code
//! keeps its location (one in oplink's own code has none: see the unit tests).

use oplink::trampoline::{FailureKind, guard, install_panic_hook};

#[test]
fn a_panic_in_the_authors_code_becomes_a_failure_located_there() {
    install_panic_hook();
    let line = line!() + 1;
    let failure = guard(&mut || panic!("boom {}", 7)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Panic);
    assert_eq!(failure.message, "boom 7");
    let location = failure.location().expect("located");
    assert!(
        location.starts_with(&format!("{}:{line}:", file!())),
        "{location}"
    );
}
