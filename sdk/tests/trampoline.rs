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

/// An error made by the author's code is located at their line; one made by a function
/// passed by name (`map_err(Error::msg)`) has its caller in Rust's own library, and so no
/// location rather than a path there.
#[test]
fn an_error_made_through_a_function_passed_by_name_has_no_location_in_std() {
    let line = line!() + 1;
    let direct = oplink::Error::msg("x");
    let location = direct.location().expect("located");
    assert_eq!((location.file(), location.line()), (file!(), line));
    // Through a function, as user code gets its `Result`s.
    let failing = |e| -> Result<(), _> { Err(std::hint::black_box(e)) };
    let by_name = failing("x").map_err(oplink::Error::msg).unwrap_err();
    assert!(by_name.location().is_none(), "{:?}", by_name.location());
    let from = failing("y")
        .map_err(|_| std::fmt::Error)
        .map_err(oplink::Error::from)
        .unwrap_err();
    assert!(from.location().is_none(), "{:?}", from.location());
}
